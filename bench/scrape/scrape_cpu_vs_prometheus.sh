#!/usr/bin/env bash
# CPU time per scrape of the same large exposition, scraped by canaryd and by a real Prometheus
# 2.42 in one run (target: canaryd <= 1/3 of Prometheus's CPU per scrape).
#
# canaryd-exposition-server serves SERIES samples (200 families, 3-6 labels per series, values
# changing between scrapes; text 0.0.4, or gzip with GZIP=1) on loopback. canaryd (`canaryd serve`,
# one scrape_configs job) and /usr/bin/prometheus (the same job, TSDB in a temp dir) scrape it at
# the same 10 s interval, at the same time, each from its own process.
#
# Pinning: the exposition server (and this script's curl/awk) on CPU 0; canaryd and Prometheus on
# CPU 1 (canaryd: one HTTP thread, one scrape thread; Prometheus: GOMAXPROCS=1). Their scrapes
# are at different phases of the interval, so they rarely overlap; when they do they share CPU 1,
# which stretches wall time but not CPU time.
#
# Measurement: after a warm-up of 3 scrapes each (series creation), the script reads each
# scraper's phase and last scrape duration from its /api/v1/targets and picks, per scraper, a
# quiet instant in the interval (after its scrape has finished). CPU (utime+stime from
# /proc/<pid>/stat) is read at two such instants INTERVAL x K apart, so the window holds exactly K
# whole scrapes, and no HTTP query of the script falls inside it (counters are read just before
# the first CPU reading and just after the second). Scrape counts in the window:
#   canaryd:    canaryd_scrapes_total{job="bench",result="success"} (and all results: no failures)
#   Prometheus: prometheus_target_interval_length_seconds_count{interval="10s"} (one per scrape
#               attempt) and sum_over_time(up{job="bench"}[window]) at the end of the window
#               (successful scrapes)
# Also checked: both scraped all SERIES samples (canaryd /api/v1/targets lastSamples, health up;
# Prometheus scrape_samples_scraped and up); peak RSS is VmHWM at the end.
#
# Usage: [GZIP=1] [INTERVAL=10] [PERF=1] bench/scrape/scrape_cpu_vs_prometheus.sh BUILD_DIR [SERIES] [SECONDS]
#   defaults: build/release, 100000 samples, 120 s measured (12 scrapes each at 10 s)
#   PERF=1 records canaryd with `perf record -e cpu-clock -g` over its window and prints the top
#   of `perf report` (perf's own cost is not in the CPU numbers: it is another process).
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/release}"
series="${2:-100000}"
seconds="${3:-120}"
interval="${INTERVAL:-10}"
gzip="${GZIP:-0}"
job=bench
canaryd="$build/src/app/canaryd"
server="$build/bench/canaryd-exposition-server"
prometheus=/usr/bin/prometheus
for bin in "$canaryd" "$server" "$prometheus"; do
  [ -x "$bin" ] || { echo "scrape_cpu_vs_prometheus: missing $bin (build the release preset; Prometheus from Debian)" >&2; exit 1; }
done
scrapes=$(( (seconds + interval - 1) / interval ))

work="$(mktemp -d /tmp/canaryd-scrapebench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # a loopback port nobody listens on
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
wait_http() {  # url seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "scrape_cpu_vs_prometheus: $1 did not come up" >&2
  return 1
}
now() { date +%s.%N; }
sleep_until() { local d; d=$(awk -v t="$1" -v n="$(now)" 'BEGIN {d = t - n; print (d > 0 ? d : 0)}'); sleep "$d"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
metric() {  # port name-with-labels: value of that line of /metrics (0 if absent)
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {v = $2} END {print (v == "" ? 0 : v)}'
}
prom_query() {  # port promql [time]: the first result's value ("" if none)
  local args=(--data-urlencode "query=$2")
  [ -n "${3:-}" ] && args+=(--data-urlencode "time=$3")
  curl -fsS -G "http://127.0.0.1:$1/api/v1/query" "${args[@]}" | jq -r '.data.result[0].value[1] // ""'
}
c_success() { metric "$cport" "canaryd_scrapes_total{job=\"$job\",result=\"success\"}"; }
c_all() {
  curl -fsS "http://127.0.0.1:$cport/metrics" |
    awk -v j="job=\"$job\"" '$1 ~ /^canaryd_scrapes_total\{/ && index($1, j) {s += $2} END {print s + 0}'
}
p_attempts() { metric "$pport" "prometheus_target_interval_length_seconds_count{interval=\"${interval}s\"}"; }

# --- start everything -------------------------------------------------------------------------
sport=$(free_port)
server_args=(--port "$sport" --series "$series" --threads 1)
[ "$gzip" = 1 ] && server_args+=(--gzip)
taskset -c 0 "$server" "${server_args[@]}" >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
for _ in $(seq 1 600); do grep -q '^ready' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$work/server.out" || { echo "exposition server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
echo "exposition: $(cat "$work/server.out") (http://127.0.0.1:$sport/metrics, gzip=$gzip)"
# Prometheus has no body size limit by default; canaryd's default is 16 MiB, so both get the
# same explicit one (the exposition must fit whatever it is).
job_yaml="  - job_name: $job
    scrape_interval: ${interval}s
    scrape_timeout: ${interval}s
    body_size_limit: 256MiB
    static_configs:
      - targets: ['127.0.0.1:$sport']"

cport=$(free_port)
mkdir -p "$work/canaryd-data"
cat >"$work/canaryd.yaml" <<EOF
log: {level: info}
server: {listen_address: 127.0.0.1:$cport, threads: 1}
data_dir: $work/canaryd-data
scrape_configs:
$job_yaml
EOF
pport=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: ${interval}s, scrape_timeout: ${interval}s}
scrape_configs:
$job_yaml
EOF
taskset -c 1 "$canaryd" serve --config "$work/canaryd.yaml" >"$work/canaryd.log" 2>&1 &
pids+=($!); cpid=$!
GOMAXPROCS=1 taskset -c 1 "$prometheus" --config.file="$work/prometheus.yml" \
  --storage.tsdb.path="$work/prometheus-data" --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
pids+=($!); ppid_=$!
wait_http "http://127.0.0.1:$cport/-/ready" 30 || { cat "$work/canaryd.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$pport/-/ready" 60 || { tail -20 "$work/prometheus.log" >&2; exit 1; }
echo "canaryd pid $cpid on 127.0.0.1:$cport; prometheus $($prometheus --version 2>&1 | head -1 | awk '{print $3}') pid $ppid_ on 127.0.0.1:$pport"

# --- warm-up: 3 scrapes each (series creation) -----------------------------------------------
deadline=$(( $(date +%s) + 4 * interval + 60 ))
while :; do
  cs=$(c_success); pa=$(p_attempts)
  # The interval histogram is observed from the second scrape attempt on.
  [ "${cs%.*}" -ge 3 ] && [ "${pa%.*}" -ge 2 ] && break
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "warm-up: no 3 scrapes in time (canaryd successes $cs, prometheus intervals $pa)" >&2
    grep -iE 'warn|error' "$work/canaryd.log" | tail -5 >&2 || true
    curl -fsS "http://127.0.0.1:$pport/api/v1/targets" | jq -c '.data.activeTargets[] | {health, lastError}' >&2 || true
    exit 1
  fi
  sleep 0.5
done
echo "warm-up done: canaryd $cs successful scrapes, prometheus $(( ${pa%.*} + 1 )) scrapes"

# --- phases -----------------------------------------------------------------------------------
ctarget=$(curl -fsS "http://127.0.0.1:$cport/api/v1/targets" | jq -c ".data.activeTargets[] | select(.labels.job == \"$job\")")
ptarget=$(curl -fsS "http://127.0.0.1:$pport/api/v1/targets" | jq -c ".data.activeTargets[] | select(.labels.job == \"$job\")")
c_last=$(date -d "$(jq -r .lastScrape <<<"$ctarget")" +%s.%N); c_dur=$(jq -r .lastScrapeDuration <<<"$ctarget")
p_last=$(date -d "$(jq -r .lastScrape <<<"$ptarget")" +%s.%N); p_dur=$(jq -r .lastScrapeDuration <<<"$ptarget")
# A quiet instant: the scrape has ended (twice its last duration plus 1 s after its start, at most
# 60 % into the interval), the next one has not begun.
quiet() {  # last_start duration -> first quiet instant at least 1 s from now
  awk -v l="$1" -v d="$2" -v i="$interval" -v n="$(now)" 'BEGIN {
    g = 2 * d + 1; if (g > 0.6 * i) g = 0.6 * i; q = l + g
    while (q < n + 1) q += i
    printf "%.3f\n", q }'
}
c_t0=$(quiet "$c_last" "$c_dur"); p_t0=$(quiet "$p_last" "$p_dur")
c_t1=$(awk -v t="$c_t0" -v i="$interval" -v k="$scrapes" 'BEGIN {printf "%.3f\n", t + i * k}')
p_t1=$(awk -v t="$p_t0" -v i="$interval" -v k="$scrapes" 'BEGIN {printf "%.3f\n", t + i * k}')
echo "phases: canaryd last scrape $(jq -r .lastScrape <<<"$ctarget") (${c_dur}s), prometheus $(jq -r .lastScrape <<<"$ptarget") (${p_dur}s); measuring $scrapes intervals each"

# --- measured windows (one per scraper, in parallel) ------------------------------------------
measure_canaryd() {
  sleep_until "$c_t0"
  local s0 a0 t0 t1 s1 a1
  s0=$(c_success); a0=$(c_all); t0=$(cpu_ticks "$cpid")
  if [ "${PERF:-0}" = 1 ]; then
    timeout $(( scrapes * interval )) perf record -q -e cpu-clock -g -p "$cpid" -o "$work/perf.canaryd.data" \
      >/dev/null 2>&1 &
  fi
  sleep_until "$c_t1"
  t1=$(cpu_ticks "$cpid"); s1=$(c_success); a1=$(c_all)
  echo "$t0 $t1 $s0 $s1 $a0 $a1" >"$work/canaryd.result"
}
measure_prometheus() {
  sleep_until "$p_t0"
  local a0 t0 t1 a1 up
  a0=$(p_attempts); t0=$(cpu_ticks "$ppid_")
  sleep_until "$p_t1"
  t1=$(cpu_ticks "$ppid_"); a1=$(p_attempts)
  # Successful scrapes whose timestamps lie in the window (scrape start times).
  up=$(prom_query "$pport" "sum_over_time(up{job=\"$job\"}[$(( scrapes * interval ))s])" "$p_t1")
  echo "$t0 $t1 $a0 $a1 ${up:-0}" >"$work/prometheus.result"
}
measure_canaryd & mc=$!
measure_prometheus & mp=$!
wait "$mc" "$mp"
[ "${PERF:-0}" = 1 ] && sleep 2  # perf writes its file

read -r ct0 ct1 cs0 cs1 ca0 ca1 <"$work/canaryd.result"
read -r pt0 pt1 pa0 pa1 pup <"$work/prometheus.result"
c_n=$(awk -v a="$cs1" -v b="$cs0" 'BEGIN {printf "%d", a - b}')
c_fail=$(awk -v a="$ca1" -v b="$ca0" -v s="$c_n" 'BEGIN {printf "%d", a - b - s}')
p_n=$(awk -v a="$pa1" -v b="$pa0" 'BEGIN {printf "%d", a - b}')
p_ok=$(awk -v u="$pup" 'BEGIN {printf "%d", u}')
c_cpu_ms=$(( (ct1 - ct0) * 1000 / hz )); p_cpu_ms=$(( (pt1 - pt0) * 1000 / hz ))

# --- checks -----------------------------------------------------------------------------------
ctarget=$(curl -fsS "http://127.0.0.1:$cport/api/v1/targets" | jq -c ".data.activeTargets[] | select(.labels.job == \"$job\")")
c_health=$(jq -r .health <<<"$ctarget"); c_samples=$(jq -r .lastSamples <<<"$ctarget")
c_series=$(metric "$cport" canaryd_series_active)
p_up=$(prom_query "$pport" "up{job=\"$job\"}")
p_samples=$(prom_query "$pport" "scrape_samples_scraped{job=\"$job\"}")
p_series=$(metric "$pport" prometheus_tsdb_head_series)
p_dur_now=$(prom_query "$pport" "scrape_duration_seconds{job=\"$job\"}")
c_dur_now=$(jq -r .lastScrapeDuration <<<"$ctarget")
c_hwm=$(hwm_kb "$cpid"); p_hwm=$(hwm_kb "$ppid_")
ok=1
[ "$c_health" = up ] && [ "$c_samples" = "$series" ] || { echo "CHECK FAILED: canaryd health=$c_health lastSamples=$c_samples (want up, $series)" >&2; ok=0; }
[ "$p_up" = 1 ] && [ "$p_samples" = "$series" ] || { echo "CHECK FAILED: prometheus up=$p_up scrape_samples_scraped=$p_samples (want 1, $series)" >&2; ok=0; }
[ "$c_fail" = 0 ] || { echo "CHECK FAILED: canaryd had $c_fail failed scrapes in its window" >&2; ok=0; }
[ "$p_ok" = "$p_n" ] || { echo "CHECK FAILED: prometheus made $p_n scrape attempts but $p_ok succeeded in its window" >&2; ok=0; }
[ "$c_n" -gt 0 ] && [ "$p_n" -gt 0 ] || { echo "CHECK FAILED: no scrapes counted" >&2; exit 1; }
echo "canaryd log: $(grep -ciE '\b(warn|warning|error|critical)\b' "$work/canaryd.log" || true) warning/error lines"
grep -iE '\b(warn|warning|error|critical)\b' "$work/canaryd.log" | grep -v 'no data_dir' | head -5 || true
echo "exposition server: $(curl -fsS "http://127.0.0.1:$sport/stats" | awk '$2 > 0 {printf "%s ", $0}')"

echo
printf "%-12s %8s %11s %15s %13s %10s %14s %12s\n" scraper scrapes cpu_ms cpu_ms_per_scrape last_duration_s samples series_in_head peak_rss_kB
printf "%-12s %8s %11s %15s %13s %10s %14s %12s\n" canaryd "$c_n" "$c_cpu_ms" \
  "$(awk -v c="$c_cpu_ms" -v n="$c_n" 'BEGIN {printf "%.1f", c / n}')" \
  "$(awk -v d="$c_dur_now" 'BEGIN {printf "%.3f", d}')" "$c_samples" "$c_series" "$c_hwm"
printf "%-12s %8s %11s %15s %13s %10s %14s %12s\n" prometheus "$p_n" "$p_cpu_ms" \
  "$(awk -v c="$p_cpu_ms" -v n="$p_n" 'BEGIN {printf "%.1f", c / n}')" \
  "$(awk -v d="$p_dur_now" 'BEGIN {printf "%.3f", d}')" "$p_samples" "$p_series" "$p_hwm"
awk -v c="$c_cpu_ms" -v cn="$c_n" -v p="$p_cpu_ms" -v pn="$p_n" -v g="$gzip" -v s="$series" 'BEGIN {
  r = (c / cn) / (p / pn)
  printf "RESULT series=%d gzip=%s canaryd_ms_per_scrape=%.1f prometheus_ms_per_scrape=%.1f ratio=%.3f (1/%.1f) target<=0.333 %s\n",
    s, g, c / cn, p / pn, r, 1 / r, (r <= 1 / 3 ? "MET" : "MISSED") }'
if [ "${PERF:-0}" = 1 ] && [ -f "$work/perf.canaryd.data" ]; then
  # Flat profile only: canaryd has no frame pointers and its scrape loop is a coroutine, so the
  # call chains perf gets are not useful. (`|| true`: head closes the pipe early.)
  echo; echo "perf (canaryd over its measured window), by object:"
  perf report -i "$work/perf.canaryd.data" --stdio --no-children --sort dso -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -8 || true
  echo "by symbol:"
  perf report -i "$work/perf.canaryd.data" --stdio --no-children --sort sym -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | cut -c1-160 | head -40 || true
fi
[ "$ok" = 1 ]
