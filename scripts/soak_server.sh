#!/usr/bin/env bash
# soak_server.sh: lsmkv-server under ordinary load and hostile clients at once
# (docs/RELIABILITY.md, "Server soak").
#
#   scripts/soak_server.sh [--seconds S] [--build-dir DIR] [--max-ping-ms MS]
#                          [--max-p99-ms MS] [--max-growth-mb MB] [--max-rss-mb MB]
#                          [--allow-missing-tools]
#
# Starts DIR/lsmkv-server (default build) on a fresh data directory and, for S
# seconds (default 600): redis-benchmark in a loop (SET, GET, INCR, MSET;
# alternately without and with a pipeline of 16; 20 clients), and
# DIR/lsmkv-abuse (server/abuse_main.cc: slowloris, a million-argument
# request, 60k-key WATCHes, 20k-command MULTI queues left behind, readers
# that stall on a 16 MB reply, wrong-AUTH pipelines, KEYS *) with its PING
# prober. Samples the server's resident set (VmRSS) every 2 s.
# Fails (exit 1) if: a PING took more than --max-ping-ms (default 2000) or
# the 99th percentile more than --max-p99-ms (default 250); a PING failed;
# the resident set grew more than --max-growth-mb (default 64) from the
# median of the samples just after the first fifth of the run to the median
# of the last samples; it ever exceeded --max-rss-mb (default 1536); a
# redis-benchmark run reported errors; or the server did not shut down
# cleanly on SHUTDOWN. Without redis-benchmark it exits 1, or 77 ("skipped")
# with --allow-missing-tools (the ctest smoke passes it).
set -uo pipefail

seconds=600
build_dir=build
max_ping_ms=2000
max_p99_ms=250
max_growth_mb=64
max_rss_mb=1536
allow_missing=0

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --max-ping-ms) max_ping_ms=$2; shift 2 ;;
    --max-p99-ms) max_p99_ms=$2; shift 2 ;;
    --max-growth-mb) max_growth_mb=$2; shift 2 ;;
    --max-rss-mb) max_rss_mb=$2; shift 2 ;;
    --allow-missing-tools) allow_missing=1; shift ;;
    -h|--help) usage ;;
    *) echo "soak-server: unknown argument $1" >&2; usage ;;
  esac
done
for n in "$seconds" "$max_ping_ms" "$max_p99_ms" "$max_growth_mb" "$max_rss_mb"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "soak-server: not a number: $n" >&2; exit 2; }
done
server_bin=$build_dir/lsmkv-server
abuse_bin=$build_dir/lsmkv-abuse
for f in "$server_bin" "$abuse_bin"; do
  [[ -x $f ]] || { echo "soak-server: $f not built" >&2; exit 1; }
done
if ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "soak-server: redis-benchmark and redis-cli are needed (Debian redis-tools)" >&2
  if [[ $allow_missing -eq 1 ]]; then echo "soak-server: SKIPPED, nothing ran"; exit 77; fi
  exit 1
fi

work=$(mktemp -d)
server_pid=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$server_bin" --port 0 --dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 500); do
  grep -q "listening on" "$work/server.log" && break
  sleep 0.02
done
port=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$work/server.log" | head -1)
[[ -n $port ]] || { echo "soak-server: the server did not start"; cat "$work/server.log"; exit 1; }
echo "soak-server: lsmkv-server pid $server_pid on port $port for ${seconds}s"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null; }

# Ordinary load: redis-benchmark mixes until the time is up.
deadline=$(( $(date +%s) + seconds ))
(
  round=0
  while (( $(date +%s) < deadline )); do
    pipeline=$(( round % 2 == 0 ? 1 : 16 ))
    redis-benchmark -p "$port" -c 20 -n 20000 -r 100000 -d 100 -P "$pipeline" \
      -t set,get,incr,mset -q >>"$work/bench.log" 2>&1 || echo "BENCH-FAILED round $round" >>"$work/bench.log"
    round=$((round + 1))
  done
) &
pids+=($!)
"$abuse_bin" --port "$port" --seconds "$seconds" >"$work/abuse.log" 2>&1 &
abuse_pid=$!
pids+=($abuse_pid)

: >"$work/rss.csv"
while kill -0 "$abuse_pid" 2>/dev/null; do
  echo "$(date +%s),$(rss_kb)" >>"$work/rss.csv"
  sleep 2
done
wait "$abuse_pid"
abuse_status=$?
wait "${pids[0]}" 2>/dev/null

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

report=$(tail -1 "$work/abuse.log")
echo "soak-server: $report"
[[ $abuse_status -eq 0 ]] || fail "lsmkv-abuse exited $abuse_status: $(cat "$work/abuse.log")"
field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$report"; }
ping_max=$(field ping_max_ms); ping_p99=$(field ping_p99_ms)
pings=$(field pings); ping_failed=$(field ping_failed)
[[ -n $pings && $pings -gt 0 ]] || fail "no PING answered"
[[ ${ping_failed:-1} -eq 0 ]] || fail "$ping_failed PINGs failed"
awk -v v="${ping_max:-1e9}" -v m="$max_ping_ms" 'BEGIN {exit !(v <= m)}' ||
  fail "slowest PING ${ping_max} ms > ${max_ping_ms} ms"
awk -v v="${ping_p99:-1e9}" -v m="$max_p99_ms" 'BEGIN {exit !(v <= m)}' ||
  fail "PING p99 ${ping_p99} ms > ${max_p99_ms} ms"

if grep -q "BENCH-FAILED\|ERR\|rror" "$work/bench.log"; then
  fail "redis-benchmark reported errors: $(grep -m3 'BENCH-FAILED\|ERR\|rror' "$work/bench.log")"
fi
bench_rounds=$(tr '\r' '\n' <"$work/bench.log" | grep -c "^SET: [0-9.]* requests per second")
echo "soak-server: redis-benchmark rounds: $bench_rounds"
[[ $bench_rounds -gt 0 ]] || fail "no redis-benchmark round completed"

# Resident set: the median after the warm-up (the first fifth) against the
# median of the last fifth; and the peak.
read -r start_mb end_mb peak_mb samples < <(awk -F, '
  $2 != "" {v[n++] = $2 / 1024}
  function median(a, lo, hi,   k, i, j, t, m) {
    m = 0; for (i = lo; i < hi; i++) b[m++] = a[i]
    for (i = 0; i < m; i++) for (j = i + 1; j < m; j++) if (b[j] < b[i]) {t = b[i]; b[i] = b[j]; b[j] = t}
    return b[int(m / 2)]
  }
  END {
    if (n < 5) {print 0, 0, 0, n; exit}
    w = int(n / 5); if (w < 1) w = 1
    peak = 0; for (i = 0; i < n; i++) if (v[i] > peak) peak = v[i]
    printf "%.1f %.1f %.1f %d\n", median(v, w, 2 * w), median(v, n - w, n), peak, n
  }' "$work/rss.csv")
echo "soak-server: RSS after warm-up ${start_mb} MB, at the end ${end_mb} MB, peak ${peak_mb} MB ($samples samples)"
if [[ $samples -ge 5 ]]; then
  awk -v s="$start_mb" -v e="$end_mb" -v m="$max_growth_mb" 'BEGIN {exit !(e - s <= m)}' ||
    fail "RSS grew $(awk -v s="$start_mb" -v e="$end_mb" 'BEGIN {print e - s}') MB > ${max_growth_mb} MB"
fi
awk -v p="$peak_mb" -v m="$max_rss_mb" 'BEGIN {exit !(p <= m)}' || fail "RSS peaked at ${peak_mb} MB > ${max_rss_mb} MB"

# Still serving, then a clean shutdown.
[[ $(redis-cli -p "$port" PING) == PONG ]] || fail "no PONG after the soak"
redis-cli -p "$port" SHUTDOWN >/dev/null 2>&1
for _ in $(seq 1500); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.01; done
if kill -0 "$server_pid" 2>/dev/null; then
  fail "the server did not exit within 15 s of SHUTDOWN"
else
  wait "$server_pid"; status=$?; server_pid=""
  [[ $status -eq 0 ]] || fail "the server exited $status: $(tail -5 "$work/server.log")"
fi

if [[ $failures -gt 0 ]]; then
  echo "soak-server: FAILED ($failures)"; exit 1
fi
echo "soak-server: OK"
