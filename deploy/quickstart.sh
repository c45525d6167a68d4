#!/usr/bin/env bash
# From a fresh Debian 12 machine: install dependencies, build canaryd, and run it.
# Starts `canaryd serve` on deploy/canaryd.example.yaml, sends it 5 seconds of realistic
# remote-write traffic with canaryd-loadgen, shows what it counted on /metrics, and keeps serving
# in the foreground (Ctrl-C stops it gracefully).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh --no-peers
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target canaryd canaryd-loadgen

bin=build/release/src/app/canaryd
addr=127.0.0.1:9464
"$bin" serve --config deploy/canaryd.example.yaml --data-dir build/data &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://$addr/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "== sending 5 s of remote-write traffic (cAdvisor-style series) =="
build/release/bench/canaryd-loadgen --url "http://$addr/api/v1/write" --duration 5s \
  --connections 2 --total-series 20000
echo "== what canaryd counted (http://$addr/metrics) =="
curl -fsS "http://$addr/metrics" | grep -E '^canaryd_(remote_write_(requests|samples)_total|series_active)'
echo
echo "canaryd is serving on http://$addr (remote-write: /api/v1/write). Point Prometheus at it:"
echo "  remote_write: [{url: http://$addr/api/v1/write}]"
echo "Press Ctrl-C to stop."
trap - EXIT
wait $pid
