#!/usr/bin/env bash
# crashtest.sh: kill -9 loop over lsmkv_stress (docs/RELIABILITY.md).
#
#   scripts/crashtest.sh [--seconds S] [--cycles N] [--build-dir DIR]
#                        [--max-sleep SECS] [--keys K] [--threads T] [--seed N]
#                        [--no-kill-odds] [--engine E [--skip-unsupported]]
#   scripts/crashtest.sh --kill-points [--rounds R] [--build-dir DIR]
#                        [--keys K] [--threads T] [--seed N]
#
# Each cycle runs lsmkv_stress with a new seed on the same database and
# expected-state file, kills it with SIGKILL after a random 0.2..max seconds,
# then reopens and verifies every key (lsmkv_stress --verify-only). The max
# grows from 1 s to --max-sleep (default min(120, S/10)). Every other cycle
# the workload also kills itself at a random kill point (--kill_odds, odds
# 1/1000 .. 1/100000 per step) unless --no-kill-odds. Stops after S seconds
# or N cycles, whichever comes first (0: no bound; at least one is required).
# The database is restarted from empty when it holds more than 3000 tables or
# 2 GiB (each restart is printed).
#
# --kill-points: R rounds (default 1) over every kill point of
# lsmkv_stress --list_kill_points, each once just before and once just after
# its step, at a random hit 1..K of the point (K: 2 for rare steps, 200 for
# appends), with a MANIFEST limit of 2..16 KiB so that MANIFEST and CURRENT
# switches happen during the workload; a point not reached is retried at its
# first hit. After each kill the database is reopened and verified. Fails if
# a point is never reached.
#
# --engine lsm|btree|bitcask (default lsm) runs the loop on that storage
# engine (lsmkv_stress --engine). --kill-points runs the points of
# lsmkv_stress --list_kill_points --engine E: the LSM's files, or the
# directory and the B+tree's page file and logs; bitcask has none. Before the loop a verify-only run opens the empty
# database; if DB::Open answers NotSupported (lsmkv_stress exit 4: the engine
# is not in this build), --skip-unsupported prints SKIPPED and exits 77 (ctest's
# SKIP_RETURN_CODE), otherwise it fails.
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
kill_odds=1
kill_points=0
rounds=1
max_tables=3000
max_db_kib=$((2 * 1024 * 1024))

engine=lsm
skip_unsupported=0

usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --cycles) cycles=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --max-sleep) max_sleep=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seed) base_seed=$2; shift 2 ;;
    --no-kill-odds) kill_odds=0; shift ;;
    --kill-points) kill_points=1; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --engine) engine=$2; shift 2 ;;
    --skip-unsupported) skip_unsupported=1; shift ;;
    -h|--help) usage ;;
    *) echo "crashtest: unknown argument $1" >&2; usage ;;
  esac
done
if [[ $kill_points -eq 0 && $seconds -eq 0 && $cycles -eq 0 ]]; then
  echo "crashtest: give --seconds or --cycles" >&2
  exit 2
fi
case $engine in
  lsm | btree | bitcask) ;;
  *) echo "crashtest: --engine must be lsm, btree or bitcask, not '$engine'" >&2; exit 2 ;;
esac
if [[ $kill_points -eq 1 && $engine == bitcask ]]; then
  echo "crashtest: --kill-points: the bitcask engine's files have no kill points; use the kill loop" >&2
  exit 2
fi
stress_bin=$build_dir/lsmkv_stress
if [[ ! -x $stress_bin ]]; then
  echo "crashtest: $stress_bin not found (build the lsmkv_stress target first)" >&2
  exit 2
fi
# Every lsmkv_stress command of the run, with the engine.
stress="$stress_bin --engine $engine"
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

# Reopens and verifies after a kill; adds to keys_verified and sets verified
# and inflight for the cycle's line.
verify_after_kill() {
  verify_log=$work/verify.log
  verify_cmd="$stress --db $db --expected $expected --seed $seed --keys $keys --verify-only"
  if ! $verify_cmd >"$verify_log" 2>&1; then
    fail "verification after the kill failed" "$verify_log" "$verify_cmd"
  fi
  verified=$(sed -n 's/.*verified \([0-9]*\) keys.*/\1/p' "$verify_log" | tail -n 1)
  keys_verified=$((keys_verified + ${verified:-0}))
  inflight=$(sed -n 's/.*in-flight writes: \(.*\)) in \(.*\) s$/\1; verify \2 s/p' "$verify_log" | tail -n 1)
}

# Runs the workload (command in run_cmd) in the background, so that the INT
# trap can run, and waits for it to end; sets rc.
run_to_end() {
  $run_cmd >"$run_log" 2>&1 &
  pid=$!
  wait "$pid" 2>/dev/null  # no "Killed" notice from the shell
  rc=$?
  pid=""
}

done_cycles=0
keys_verified=0
restarts=0

# The engine must open (see --skip-unsupported above): a verify-only run on
# the empty database.
seed=$base_seed
probe_log=$work/probe.log
probe_cmd="$stress --db $db --expected $expected --seed $seed --keys $keys --verify-only"
$probe_cmd >"$probe_log" 2>&1
rc=$?
if [[ $rc -eq 4 && $skip_unsupported -eq 1 ]]; then
  echo "crashtest: SKIPPED: the $engine engine cannot be opened in this build:" \
       "$(grep -m1 'cannot open' "$probe_log" | sed 's/.*: Not supported: //')"
  exit 77
fi
[[ $rc -eq 0 ]] || fail "the $engine engine does not open (exit $rc)" "$probe_log" "$probe_cmd"

if [[ $kill_points -eq 1 ]]; then
  mapfile -t points < <($stress --list_kill_points)
  if [[ ${#points[@]} -eq 0 ]]; then
    echo "crashtest: $stress --list_kill_points listed nothing" >&2
    exit 2
  fi
  echo "crashtest: kill points: ${#points[@]} points x 2 (before, after) x $rounds round(s), base seed" \
       "$base_seed, keys $keys, threads $threads, work dir $work"
  run_log=$work/run.log
  attempts=0
  retries=0
  declare -A kills_at=()  # point -> kills there
  for ((round = 1; round <= rounds; round++)); do
    for point in "${points[@]}"; do
      for timing in after before; do
        case $point in
          *.append | btree.write) max_hit=200 ;;
          btree.sync | btree.wal.*) max_hit=10 ;;
          wal.sync | dir.sync | manifest.sync | table.*) max_hit=20 ;;
          *) max_hit=2 ;;
        esac
        hit=$((1 + RANDOM % max_hit))
        flag=""
        [[ $timing == before ]] && flag=" --kill_before"
        reached=0
        for run_seconds in 3 15; do
          seed=$((base_seed + attempts))
          attempts=$((attempts + 1))
          run_cmd="$stress --db $db --expected $expected --seed $seed --threads $threads --keys $keys"
          # A small MANIFEST limit: MANIFEST and CURRENT switches happen while
          # the workload runs, not only at open.
          run_cmd+=" --max_manifest_file_size $((2048 << RANDOM % 4))"
          run_cmd+=" --seconds $run_seconds --kill_point $point --kill_after $hit$flag"
          # The B+tree syncs its log only for synced writes (a checkpoint
          # syncs the page file instead): make sure the run has some.
          [[ $point == btree.wal.sync ]] && run_cmd+=" --sync_percent 10"
          run_to_end
          if [[ $rc -eq 137 ]] && grep -q "^kill point $point ($timing hit" "$run_log"; then
            reached=1
            break
          fi
          if [[ $rc -ne 0 ]]; then
            fail "lsmkv_stress exited with code $rc, not killed at $point" "$run_log" "$run_cmd"
          fi
          # The run ended before that hit: retry at the point's first hit.
          retries=$((retries + 1))
          hit=1
        done
        if [[ $reached -eq 0 ]]; then
          fail "kill point $point was never reached" "$run_log" "$run_cmd"
        fi
        done_cycles=$((done_cycles + 1))
        kills_at[$point]=$(( ${kills_at[$point]:-0} + 1 ))
        verify_after_kill
        echo "crashtest: cycle $done_cycles: killed $timing hit $hit of $point (seed $seed):" \
             "verified ${verified:-0} keys (in-flight: $inflight)"
      done
    done
  done
  total_s=$(awk -v ms="$(elapsed_ms)" 'BEGIN { printf "%.1f", ms / 1000 }')
  echo "crashtest: PASSED: kill points: ${#kills_at[@]} of ${#points[@]} points hit, each before and" \
       "after its step, $rounds round(s): $done_cycles kills in ${total_s} s ($retries retries at a first" \
       "hit), $keys_verified keys verified"
  exit 0
fi

echo "crashtest: engine $engine, base seed $base_seed, keys $keys, threads $threads, max sleep ${max_sleep}s," \
     "bound: ${seconds}s / ${cycles} cycles, kill odds $([[ $kill_odds -eq 1 ]] && echo "every other cycle" || echo off)," \
     "work dir $work"
self_kills=0
cur_max_ms=1000
[[ $cur_max_ms -gt $max_sleep_ms ]] && cur_max_ms=$max_sleep_ms
while :; do
  if [[ $cycles -gt 0 && $done_cycles -ge $cycles ]]; then break; fi
  remaining_ms=$(( seconds * 1000 - $(elapsed_ms) ))
  if [[ $seconds -gt 0 && $remaining_ms -le 200 ]]; then break; fi

  seed=$((base_seed + done_cycles))
  run_log=$work/run.log
  run_cmd="$stress --db $db --expected $expected --seed $seed --threads $threads --keys $keys --seconds 100000"
  if [[ $kill_odds -eq 1 && $((done_cycles % 2)) -eq 1 ]]; then
    run_cmd+=" --kill_odds $((1000 + ((RANDOM << 15) | RANDOM) % 99001))"
  fi
  $run_cmd >"$run_log" 2>&1 &
  pid=$!
  sleep_ms=$(( 200 + ((RANDOM << 15) | RANDOM) % (cur_max_ms - 200 + 1) ))
  if [[ $seconds -gt 0 && $sleep_ms -gt $remaining_ms ]]; then sleep_ms=$remaining_ms; fi
  # In the background: a trap runs during wait, not during a foreground sleep.
  sleep "$(awk -v ms="$sleep_ms" 'BEGIN { printf "%.3f", ms / 1000 }')" &
  sleep_pid=$!
  wait "$sleep_pid" 2>/dev/null  # also keeps the shell quiet about a self-killed workload
  sleep_pid=""
  how="killed after ${sleep_ms} ms"
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    rc=$?
    pid=""
    point=$(sed -n 's/^kill point \(.*\)$/\1/p' "$run_log" | tail -n 1)
    if [[ $rc -ne 137 || -z $point ]]; then
      fail "lsmkv_stress exited by itself with code $rc before the kill" "$run_log" "$run_cmd"
    fi
    how="killed itself at kill point $point"
    self_kills=$((self_kills + 1))
  else
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
  fi
  done_cycles=$((done_cycles + 1))

  verify_after_kill
  echo "crashtest: cycle $done_cycles seed $seed $how: verified ${verified:-0} keys (in-flight: $inflight)"

  tables=$(find "$db" -name '*.sst' | wc -l)
  db_kib=$(du -sk "$db" | cut -f1)
  if [[ $tables -gt $max_tables || $db_kib -gt $max_db_kib ]]; then
    $stress --db "$db" --expected "$expected" --destroy >/dev/null || fail "--destroy failed" /dev/null "$stress --db $db --expected $expected --destroy"
    restarts=$((restarts + 1))
    echo "crashtest: database restarted from empty ($tables tables, $db_kib KiB)"
  fi
  cur_max_ms=$(( cur_max_ms * 3 / 2 ))
  [[ $cur_max_ms -gt $max_sleep_ms ]] && cur_max_ms=$max_sleep_ms
done

total_s=$(awk -v ms="$(elapsed_ms)" 'BEGIN { printf "%.1f", ms / 1000 }')
echo "crashtest: PASSED: $done_cycles kill cycles ($self_kills at a random kill point) in ${total_s} s," \
     "$keys_verified keys verified, $restarts database restarts"
