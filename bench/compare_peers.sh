#!/usr/bin/env bash
# One run that drives canaryd, vmagent and VictoriaMetrics with the same remote-write load
# (canaryd-loadgen, same requests, same connections, same duration) and prints samples accepted
# per receiver CPU-second, and canaryd's ratio to each peer.
#
# Each receiver is pinned to CPU 1 and the load generator to CPU 0, so the receiver's CPU time is
# its own work. CPU time comes from /proc/<pid>/stat (user + system) over the load window.
# vmagent gets an unreachable remote URL, so it only ingests (and queues to its disk buffer).
#
# Usage: bench/compare_peers.sh [BUILD_DIR] [DURATION_S] [extra canaryd-loadgen flags...]
#   defaults: build/release, 20 s, 2000 series x 1 sample per request, 100k series, 4 connections
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
duration="${2:-20}"
shift $(( $# > 2 ? 2 : $# )) || true
extra=("$@")

canaryd="$build/src/app/canaryd"
loadgen="$build/bench/canaryd-loadgen"
for bin in "$canaryd" "$loadgen" /usr/bin/vmagent /usr/bin/victoria-metrics; do
  [ -x "$bin" ] || { echo "compare_peers: missing $bin (build release; deploy/install-deps.sh)" >&2; exit 1; }
done

work="$(mktemp -d /tmp/canaryd-compare.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {  # a loopback port nobody listens on
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_http() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "compare_peers: $1 did not come up" >&2
  return 1
}

hz=$(getconf CLK_TCK)
results=()

run_one() {  # name port path pid protocol
  local name=$1 port=$2 path=$3 pid=$4 protocol=$5
  local before after out
  # Warm-up (first sight of every series), not measured.
  taskset -c 0 "$loadgen" --url "http://127.0.0.1:$port$path" --duration 3s --protocol "$protocol" \
    --series-per-request 2000 --total-series 100000 --connections 4 "${extra[@]}" >/dev/null 2>&1 || true
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 0 "$loadgen" --url "http://127.0.0.1:$port$path" --duration "${duration}s" \
    --protocol "$protocol" --series-per-request 2000 --total-series 100000 --connections 4 \
    "${extra[@]}" 2>/dev/null | grep '^RESULT')
  after=$(cpu_ticks "$pid")
  local samples cpu
  samples=$(sed -E 's/.*samples_ok=([0-9]+).*/\1/' <<<"$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')
  local per_cpu
  per_cpu=$(awk -v s="$samples" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? s / c : 0)}')
  results+=("$name|$samples|$cpu|$per_cpu|$(rss_kb "$pid")|$(sed -E 's/.*codes=//' <<<"$out")")
  echo "$name: $out; receiver cpu ${cpu}s" >&2
}

# canaryd, one io thread on CPU 1.
p=$(free_port)
taskset -c 1 "$canaryd" serve --listen-address "127.0.0.1:$p" --threads 1 --log.level warn &
pids+=($!); cpid=$!
wait_http "http://127.0.0.1:$p/-/ready"
run_one "canaryd (1.0)" "$p" /api/v1/write "$cpid" 1
run_one "canaryd (2.0)" "$p" /api/v1/write "$cpid" 2

# vmagent: ingest only (remote URL unreachable).
p=$(free_port)
GOMAXPROCS=1 taskset -c 1 /usr/bin/vmagent -httpListenAddr="127.0.0.1:$p" \
  -remoteWrite.url=http://127.0.0.1:9/api/v1/write -remoteWrite.tmpDataPath="$work/vmagent" \
  -loggerLevel=ERROR >"$work/vmagent.log" 2>&1 &
pids+=($!); vpid=$!
wait_http "http://127.0.0.1:$p/metrics"
run_one "vmagent" "$p" /api/v1/write "$vpid" 1

# VictoriaMetrics single node.
p=$(free_port)
GOMAXPROCS=1 taskset -c 1 /usr/bin/victoria-metrics -httpListenAddr="127.0.0.1:$p" \
  -storageDataPath="$work/vm" -loggerLevel=ERROR >"$work/vm.log" 2>&1 &
pids+=($!); mpid=$!
wait_http "http://127.0.0.1:$p/metrics"
run_one "victoria-metrics" "$p" /api/v1/write "$mpid" 1

echo
printf "%-18s %14s %10s %18s %10s  %s\n" receiver samples cpu_s samples_per_cpu_s rss_kb codes
for r in "${results[@]}"; do
  IFS='|' read -r name samples cpu per rss codes <<<"$r"
  printf "%-18s %14s %10s %18s %10s  %s\n" "$name" "$samples" "$cpu" "$per" "$rss" "$codes"
done
per_of() { IFS='|' read -r _ _ _ per _ <<<"$1"; echo "$per"; }
v1=$(per_of "${results[0]}")
v2=$(per_of "${results[1]}")
echo
awk -v a="$v2" -v b="$v1" 'BEGIN {if (b > 0) printf "canaryd 2.0 / canaryd 1.0 = %.2fx\n", a / b}'
for r in "${results[@]:2}"; do
  IFS='|' read -r name _ _ per _ <<<"$r"
  awk -v a="$v1" -v b="$per" -v n="$name" 'BEGIN {if (b > 0) printf "canaryd 1.0 / %s = %.2fx\n", n, a / b}'
done
