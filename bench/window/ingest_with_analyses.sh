#!/usr/bin/env bash
# Ingest cost with active analyses: the same remote-write load (canaryd-loadgen, cAdvisor series,
# 100k series, 2000 series x SPS samples per request, 4 connections) against canaryd's service
# with no analyses and with 100 analyses x 10 metrics selecting about 20 % of the series, in one run.
# Prints samples accepted per receiver CPU-second for both and their ratio (target >= 0.80).
#
# The receiver is pinned to CPU 1, the load generator to CPU 0; receiver CPU time comes from
# /proc/<pid>/stat over the measured window. A warm-up first shows every series once (at the
# analyses' start); the measured run then sends fresh, increasing timestamps only (from a pool of
# pre-encoded requests big enough for the whole run: about 0.5 GB per second of load in the
# generator), so every sample of a selected series is appended to its
# window, never dropped as a repeat. The script prints the window counters to show it and fails
# if any sample came back out of order.
#
# SPS=1 (default) is Prometheus's shape (one sample per series per request); SPS=5 makes label
# work per sample 5x cheaper, so the window's share of the cost is larger (a stress case).
#
# Usage: [SPS=1] bench/window/ingest_with_analyses.sh [BUILD_DIR] [DURATION_S] [ANALYSES]
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/release}"
duration="${2:-6}"
sps="${SPS:-1}"
# Requests for the whole run at up to 5M (SPS=1) or 15M (SPS>1) samples per second.
pool=$(( duration * (sps > 1 ? 15000000 : 5000000) / (2000 * sps) ))
analyses="${3:-100}"
server="$build/bench/canaryd-bench-analyses"
loadgen="$build/bench/canaryd-loadgen"
for bin in "$server" "$loadgen"; do
  [ -x "$bin" ] || { echo "ingest_with_analyses: missing $bin (build the release preset)" >&2; exit 1; }
done

pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; }
trap cleanup EXIT
free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
metric() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
hz=$(getconf CLK_TCK)
declare -A per_cpu

# Samples are 15 s apart per series, as from a 15 s scrape, so a selected series holds as many
# samples per step as in production and steps close once per 4 samples of each series, as in
# production (the load test only runs sample time faster). Analyses start at a minute boundary
# far enough back for the whole pool; the warm-up's samples are stamped there and the measured
# run continues one interval later, so steps close at the pace the data sets (no catch-up).
span_ms=$(( pool / 50 * sps * 15000 ))
start_ms=$(( ($(date +%s%3N) - span_ms - 600000) / 60000 * 60000 ))
for n in 0 "$analyses"; do
  port=$(free_port)
  taskset -c 1 "$server" --listen-address "127.0.0.1:$port" --analyses "$n" --threads 1 \
    --start-ms "$start_ms" &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/-/ready" 2>/dev/null && break; sleep 0.1; done
  args=(--url "http://127.0.0.1:$port/api/v1/write" --protocol 1 --series-per-request 2000
        --total-series 100000 --connections 4)
  # Warm-up: first sight of every series (one round, repeated), not measured.
  taskset -c 0 "$loadgen" "${args[@]}" --duration 3s --pool 50 --start-ms "$start_ms" \
    --interval 15s >/dev/null 2>&1 || true
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  dups0=$(metric "$port" 'canaryd_window_samples_total{result="duplicate"}')
  ooo0=$(metric "$port" 'canaryd_window_samples_total{result="out_of_order"}')
  appended0=$(metric "$port" 'canaryd_window_samples_total{result="appended"}')
  # Encoding the pool takes a while; the clock starts when the first request goes out.
  out=$(taskset -c 0 "$loadgen" "${args[@]}" --duration "${duration}s" --samples-per-series "$sps" \
        --interval 15s --pool "$pool" --start-ms $((start_ms + 15000)) 2>/dev/null | grep '^RESULT')
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  samples=$(sed -E 's/.*samples_ok=([0-9]+).*/\1/' <<<"$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')
  per_cpu[$n]=$(awk -v s="$samples" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? s / c : 0)}')
  active=$(metric "$port" canaryd_series_active)
  selected=$(metric "$port" canaryd_window_series_selected_total)
  # Window counters over the measured run only (the warm-up repeats timestamps on purpose).
  delta() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN {printf "%.0f", a - b}'; }
  appended=$(delta "$(metric "$port" 'canaryd_window_samples_total{result="appended"}')" "$appended0")
  dups=$(delta "$(metric "$port" 'canaryd_window_samples_total{result="duplicate"}')" "$dups0")
  ooo=$(delta "$(metric "$port" 'canaryd_window_samples_total{result="out_of_order"}')" "$ooo0")
  if [ "${ooo:-0}" != "0" ] || [ "${dups:-0}" != "0" ]; then
    echo "ingest_with_analyses: the pool ran out ($ooo out of order, $dups repeats); use a shorter duration" >&2
    exit 1
  fi
  steps=$(metric "$port" canaryd_window_steps_closed_total)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  echo "analyses=$n: $out; receiver cpu ${cpu}s; samples/cpu-s ${per_cpu[$n]}; series $active," \
       "selected ${selected:-0}; window samples appended ${appended:-0}, duplicates ${dups:-0};" \
       "steps closed ${steps:-0};" \
       "rss ${rss} kB"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
awk -v a="${per_cpu[$analyses]}" -v b="${per_cpu[0]}" -v n="$analyses" \
  'BEGIN {printf "ratio (%d analyses / none): %.3f  (target >= 0.80)\n", n, a / b}'
