#!/usr/bin/env bash
# soak.sh: memory soak of the stress workload (docs/RELIABILITY.md).
#
#   scripts/soak.sh [--seconds S] [--build-dir DIR] [--warmup W] [--interval I]
#                   [--max-growth MB_PER_HOUR] [--seed N] [--keys K] [--threads T]
#                   [--block-cache-size B] [--write-buffer-size B]
#
# Runs one lsmkv_stress process for S seconds (default 1800) on a fresh
# database: puts, deletes, batches, transactions (read-modify-write ones and,
# now and then, one held open for up to 2,000 operations; lsmkv_stress
# --transactions), gets, scans, snapshots, flushes and compactions over K keys (default 10000) with T threads (default 4), options
# drawn from the seed (printed; default: from the clock) except the block
# cache and the write buffer, 256 KiB each by default: the bounded consumers
# of memory then fill within seconds, so what still grows after the warm-up
# is a leak, not a cache filling up (with 32 MiB caches that takes longer
# than a short soak). Every I seconds
# (default 5) it samples the process's resident set (VmRSS in /proc/PID/status).
# After a warm-up of W seconds (default: a fifth of S, at least 60, at most
# 600), when the memtables, the block cache and the table cache have filled,
# it takes the lowest sample of each 60 s window (the baseline, without the
# short spikes of compactions and scans) and reports the least-squares
# growth of that baseline in MB/hour, the baseline at the start and at the
# end, the maximum, and the slope through all samples with its standard error.
# Fails (exit 1) if the growth exceeds --max-growth (default 1 MB/hour) or if
# the workload fails (its final verification included). Keeps the samples in
# <build-dir>/soak_rss.csv.
set -uo pipefail

seconds=1800
build_dir=build
warmup=""
interval=5
max_growth=1
seed=""
keys=10000
threads=4
block_cache_size=262144
write_buffer_size=262144

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --max-growth) max_growth=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --block-cache-size) block_cache_size=$2; shift 2 ;;
    --write-buffer-size) write_buffer_size=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "soak: unknown argument $1" >&2; usage ;;
  esac
done
stress=$build_dir/lsmkv_stress
if [[ ! -x $stress ]]; then
  echo "soak: $stress not found (build the lsmkv_stress target first)" >&2
  exit 2
fi
if [[ -z $warmup ]]; then
  warmup=$((seconds / 5))
  [[ $warmup -lt 60 ]] && warmup=60
  [[ $warmup -gt 600 ]] && warmup=600
fi
if [[ $warmup -ge $seconds ]]; then
  echo "soak: the warm-up ($warmup s) must be shorter than the run ($seconds s)" >&2
  exit 2
fi
[[ -z $seed ]] && seed=$(( $(date +%s) * 1000 + RANDOM % 1000 ))

work=$(mktemp -d "${TMPDIR:-/tmp}/lsmkv_soak.XXXXXX")
csv=$build_dir/soak_rss.csv
log=$work/stress.log
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "soak: interrupted"; exit 130' INT TERM

cmd="$stress --db $work/db --expected $work/expected --seed $seed --threads $threads --keys $keys --seconds $seconds"
cmd+=" --block_cache_size $block_cache_size --write_buffer_size $write_buffer_size --transactions"
echo "soak: $seconds s, warm-up $warmup s, a sample every $interval s, limit $max_growth MB/hour"
echo "soak: $cmd"
$cmd >"$log" 2>&1 &
pid=$!
start=$(date +%s%3N)
echo "seconds,rss_kib" >"$csv"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  now=$(date +%s%3N)
  # Only samples of the workload itself: the final reopen and verification
  # (after S seconds) are not part of the steady state.
  if [[ -n $rss ]] && (( now - start < seconds * 1000 )); then
    echo "$(awk -v ms=$((now - start)) 'BEGIN { printf "%.1f", ms / 1000 }'),$rss" >>"$csv"
  fi
  sleep "$interval" &
  wait $! 2>/dev/null
done
wait "$pid"
rc=$?
pid=""
sed -n '1,4p' "$log" | sed 's/^/soak: /'
grep -E 'workload:|verification' "$log" | sed 's/^/soak: /'
if [[ $rc -ne 0 ]]; then
  echo "soak: FAILED: lsmkv_stress exited with code $rc [seed $seed]"
  tail -n 20 "$log"
  exit 1
fi

# Growth after the warm-up, in MB/hour. The RSS has short upward spikes
# (compactions, scans and snapshots hold buffers for a moment), so the
# verdict uses the baseline: the lowest sample of each 60 s window, and the
# least-squares slope through those minima. The slope through every sample
# and its standard error (from the residuals; the samples are not
# independent, so it is understated) are printed as well, to show the noise.
result=$(awk -F, -v warmup="$warmup" -v limit="$max_growth" '
  function fit(n, x, y,    i, mx, my, sxx, sxy, slope, r, ssr) {
    mx = 0; my = 0; sxx = 0; sxy = 0; ssr = 0
    for (i = 1; i <= n; i++) { mx += x[i]; my += y[i] }
    mx /= n; my /= n
    for (i = 1; i <= n; i++) { sxx += (x[i] - mx) ^ 2; sxy += (x[i] - mx) * (y[i] - my) }
    slope = sxy / sxx
    for (i = 1; i <= n; i++) { r = y[i] - my - slope * (x[i] - mx); ssr += r * r }
    fit_se = (n > 2) ? sqrt(ssr / (n - 2) / sxx) : 0
    return slope
  }
  NR == 1 { next }
  { if ($2 > max) max = $2 }
  $1 >= warmup {
    n++; x[n] = $1; y[n] = $2
    w = int(($1 - warmup) / 60) + 1
    if (!(w in wmin) || $2 < wmin[w]) wmin[w] = $2
    if (w > windows) windows = w
  }
  END {
    if (n < 3 || windows < 3) { print "too-few-samples"; exit }
    all = fit(n, x, y) * 3600 / 1024; all_se = fit_se * 3600 / 1024
    m = 0
    for (w = 1; w <= windows; w++) if (w in wmin) { m++; wx[m] = warmup + (w - 0.5) * 60; wy[m] = wmin[w] }
    base = fit(m, wx, wy) * 3600 / 1024
    printf "%.3f %.3f %.3f %d %d %.1f %.1f %.1f %s\n", base, all, all_se, m, n, wy[1] / 1024,
           wy[m] / 1024, max / 1024, (base > limit) ? "FAIL" : "PASS"
  }' "$csv")
if [[ $result == too-few-samples ]]; then
  echo "soak: FAILED: fewer than 3 windows of 60 s after the warm-up (see $csv)"
  exit 1
fi
read -r growth growth_all growth_se windows samples rss_warm rss_end rss_max verdict <<<"$result"
echo "soak: baseline RSS (lowest per 60 s) after warm-up ${rss_warm} MiB, at the end ${rss_end} MiB," \
     "maximum ${rss_max} MiB; growth of the baseline after warm-up ${growth} MB/hour over $windows" \
     "windows (limit $max_growth); slope through all $samples samples ${growth_all} MB/hour" \
     "(standard error ${growth_se}) [seed $seed]"
echo "soak: samples in $csv"
if [[ $verdict != PASS ]]; then
  echo "soak: FAILED: RSS grows ${growth} MB/hour after the warm-up (limit $max_growth) [seed $seed]"
  exit 1
fi
echo "soak: PASSED"
