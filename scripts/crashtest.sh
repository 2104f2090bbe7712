#!/usr/bin/env bash
# crashtest.sh: kill -9 loop over lsmkv_stress (docs/RELIABILITY.md).
#
#   scripts/crashtest.sh [--seconds S] [--cycles N] [--build-dir DIR]
#                        [--max-sleep SECS] [--keys K] [--threads T] [--seed N]
#
# Each cycle runs lsmkv_stress with a new seed on the same database and
# expected-state file, kills it with SIGKILL after a random 0.2..max seconds,
# then reopens and verifies every key (lsmkv_stress --verify-only). The max
# grows from 1 s to --max-sleep (default min(120, S/10)). Stops after S seconds
# or N cycles, whichever comes first (0: no bound; at least one is required).
# Because compaction does not exist yet, the database is restarted from empty
# when it holds more than 3000 tables or 2 GiB (each restart is printed).
#
# Exit 0 if every verification passed; otherwise 1, with the seed, the command
# that reproduces the failing step, and the kept work directory.
set -uo pipefail

seconds=0
cycles=0
build_dir=build
max_sleep=""
keys=10000
threads=4
base_seed=""
max_tables=3000
max_db_kib=$((2 * 1024 * 1024))

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --cycles) cycles=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --max-sleep) max_sleep=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seed) base_seed=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "crashtest: unknown argument $1" >&2; usage ;;
  esac
done
if [[ $seconds -eq 0 && $cycles -eq 0 ]]; then
  echo "crashtest: give --seconds or --cycles" >&2
  exit 2
fi
stress=$build_dir/lsmkv_stress
if [[ ! -x $stress ]]; then
  echo "crashtest: $stress not found (build the lsmkv_stress target first)" >&2
  exit 2
fi
if [[ -z $max_sleep ]]; then
  max_sleep=120
  if [[ $seconds -gt 0 && $((seconds / 10)) -lt $max_sleep ]]; then max_sleep=$((seconds / 10)); fi
  if [[ $max_sleep -lt 1 ]]; then max_sleep=1; fi
fi
max_sleep_ms=$(awk -v s="$max_sleep" 'BEGIN { printf "%d", s * 1000 }')
[[ $max_sleep_ms -lt 200 ]] && max_sleep_ms=200
[[ -z $base_seed ]] && base_seed=$(( $(date +%s) * 1000 + RANDOM % 1000 ))

work=$(mktemp -d "${TMPDIR:-/tmp}/lsmkv_crashtest.XXXXXX")
db=$work/db
expected=$work/expected
pid=""
sleep_pid=""
keep_work=0
cleanup() {
  [[ -n $sleep_pid ]] && kill "$sleep_pid" 2>/dev/null
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  if [[ $keep_work -eq 0 ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "crashtest: interrupted"; exit 130' INT TERM

now_ms() { date +%s%3N; }
start_ms=$(now_ms)
elapsed_ms() { echo $(( $(now_ms) - start_ms )); }

fail() {  # fail MESSAGE LOG COMMAND
  keep_work=1
  echo "crashtest: FAILED after $done_cycles kill cycles: $1"
  echo "crashtest: seed $seed; reproduce (on the kept state in $work):"
  echo "  $3"
  echo "----- output of the failing step ($2) -----"
  tail -n 40 "$2"
  exit 1
}

echo "crashtest: base seed $base_seed, keys $keys, threads $threads, max sleep ${max_sleep}s," \
     "bound: ${seconds}s / ${cycles} cycles, work dir $work"
done_cycles=0
keys_verified=0
restarts=0
cur_max_ms=1000
[[ $cur_max_ms -gt $max_sleep_ms ]] && cur_max_ms=$max_sleep_ms
while :; do
  if [[ $cycles -gt 0 && $done_cycles -ge $cycles ]]; then break; fi
  remaining_ms=$(( seconds * 1000 - $(elapsed_ms) ))
  if [[ $seconds -gt 0 && $remaining_ms -le 200 ]]; then break; fi

  seed=$((base_seed + done_cycles))
  run_log=$work/run.log
  run_cmd="$stress --db $db --expected $expected --seed $seed --threads $threads --keys $keys --seconds 100000"
  $run_cmd >"$run_log" 2>&1 &
  pid=$!
  sleep_ms=$(( 200 + ((RANDOM << 15) | RANDOM) % (cur_max_ms - 200 + 1) ))
  if [[ $seconds -gt 0 && $sleep_ms -gt $remaining_ms ]]; then sleep_ms=$remaining_ms; fi
  # In the background: a trap runs during wait, not during a foreground sleep.
  sleep "$(awk -v ms="$sleep_ms" 'BEGIN { printf "%.3f", ms / 1000 }')" &
  sleep_pid=$!
  wait "$sleep_pid"
  sleep_pid=""
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    rc=$?
    pid=""
    fail "lsmkv_stress exited by itself with code $rc before the kill" "$run_log" "$run_cmd"
  fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
  done_cycles=$((done_cycles + 1))

  verify_log=$work/verify.log
  verify_cmd="$stress --db $db --expected $expected --seed $seed --keys $keys --verify-only"
  if ! $verify_cmd >"$verify_log" 2>&1; then
    fail "verification after the kill failed" "$verify_log" "$verify_cmd"
  fi
  verified=$(sed -n 's/.*verified \([0-9]*\) keys.*/\1/p' "$verify_log" | tail -n 1)
  keys_verified=$((keys_verified + ${verified:-0}))
  inflight=$(sed -n 's/.*in-flight writes: \(.*\)) in \(.*\) s$/\1; verify \2 s/p' "$verify_log" | tail -n 1)
  echo "crashtest: cycle $done_cycles seed $seed killed after ${sleep_ms} ms: verified ${verified:-0} keys (in-flight: $inflight)"

  tables=$(find "$db" -name '*.sst' | wc -l)
  db_kib=$(du -sk "$db" | cut -f1)
  if [[ $tables -gt $max_tables || $db_kib -gt $max_db_kib ]]; then
    "$stress" --db "$db" --expected "$expected" --destroy >/dev/null || fail "--destroy failed" /dev/null "$stress --db $db --expected $expected --destroy"
    restarts=$((restarts + 1))
    echo "crashtest: database restarted from empty ($tables tables, $db_kib KiB; no compaction yet)"
  fi
  cur_max_ms=$(( cur_max_ms * 3 / 2 ))
  [[ $cur_max_ms -gt $max_sleep_ms ]] && cur_max_ms=$max_sleep_ms
done

total_s=$(awk -v ms="$(elapsed_ms)" 'BEGIN { printf "%.1f", ms / 1000 }')
echo "crashtest: PASSED: $done_cycles kill cycles in ${total_s} s, $keys_verified keys verified," \
     "$restarts database restarts"
