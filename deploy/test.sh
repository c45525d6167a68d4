#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is needed, builds the
# release preset, runs `canaryd demo` twice as a smoke test (a latency regression must fail, no
# regression must pass), runs every test (unit, end-to-end server tables, fuzz corpus replay, and
# integration tests against real Prometheus, vmagent and node_exporter), then the same suite
# under ASan+UBSan.
#   deploy/test.sh            everything (what CI runs)
#   deploy/test.sh --quick    release build and unit tests only
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-full}"
jobs="$(nproc)"

deploy/install-deps.sh

echo "== release build =="
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"

if [ "$mode" = "--quick" ]; then
  ctest --preset release -L unit -j"$jobs"
  exit 0
fi

echo "== canaryd demo: the latency regression must FAIL, no regression must PASS =="
# Each exits 0 only when the verdict is the one its regression should produce.
build/release/src/app/canaryd demo --regression latency --output build/demo-latency.json
build/release/src/app/canaryd demo --regression none --output build/demo-none.json

echo "== release tests (unit, fuzz replay, integration) =="
# Select by -L: the presets already exclude the `bench` label, and a preset's exclude filter
# replaces a command-line -LE rather than adding to it.
# Integration tests start real servers on loopback; run them one at a time.
ctest --preset release -L "unit|fuzz" -j"$jobs"
ctest --preset release -L integration

echo "== ASan + UBSan build and tests =="
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$jobs"
ctest --preset asan -L "unit|fuzz" -j"$jobs"

echo "deploy/test.sh: all tests passed"
