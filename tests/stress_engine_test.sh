#!/usr/bin/env bash
# stress_engine_test.sh: lsmkv_stress --engine and scripts/crashtest.sh
# --engine reach DB::Open: the database's ENGINE file names the engine, or
# the engine is not in this build and the tool exits 4 (NotSupported at
# open), which crashtest.sh --skip-unsupported turns into 77.
#
#   tests/stress_engine_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=${1:?build dir}
src=${2:?source dir}
stress=$build/lsmkv_stress
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
checks=0
fail() { echo "stress_engine_test: FAIL: $*"; exit 1; }
ok() { checks=$((checks + 1)); }

"$stress" --db "$dir/bad" --expected "$dir/bad.exp" --engine lmdb --ops 10 >"$dir/out" 2>&1
[[ $? -eq 2 ]] || fail "--engine lmdb: not a usage error"; ok
grep -q 'lsm,btree,bitcask' "$dir/out" || fail "--engine lmdb: the choices are not listed"; ok
bash "$src/scripts/crashtest.sh" --engine lmdb --cycles 1 --build-dir "$build" >"$dir/out" 2>&1
[[ $? -eq 2 ]] || fail "crashtest.sh --engine lmdb accepted"; ok
bash "$src/scripts/crashtest.sh" --engine bitcask --kill-points --build-dir "$build" >"$dir/out" 2>&1
[[ $? -eq 2 ]] || fail "crashtest.sh --kill-points on bitcask accepted"; ok
grep -q 'no kill points' "$dir/out" || fail "crashtest.sh --kill-points on bitcask: no reason given"; ok
"$stress" --list_kill_points --engine bitcask >"$dir/out" 2>&1
[[ $? -eq 2 ]] || fail "--list_kill_points --engine bitcask: not a usage error"; ok
[[ $("$stress" --list_kill_points --engine btree | grep -c '^btree\.') -eq 9 ]] ||
  fail "--list_kill_points --engine btree: not the nine btree points"; ok

for engine in lsm btree bitcask; do
  "$stress" --db "$dir/$engine" --expected "$dir/$engine.exp" --engine "$engine" --seed 7 \
    --keys 500 --threads 2 --ops 3000 >"$dir/out" 2>&1
  code=$?
  if [[ $code -eq 4 && $engine != lsm ]]; then
    grep -q 'not implemented yet' "$dir/out" || fail "$engine: exit 4 without NotSupported"; ok
    bash "$src/scripts/crashtest.sh" --engine "$engine" --skip-unsupported --cycles 1 \
      --build-dir "$build" >"$dir/out" 2>&1
    [[ $? -eq 77 ]] || fail "crashtest.sh --skip-unsupported on $engine: not 77"; ok
    continue
  fi
  [[ $code -eq 0 ]] || fail "$engine: exit $code: $(tail -n 5 "$dir/out")"; ok
  grep -q "run engine=$engine " "$dir/out" || fail "$engine: the config line lacks the engine"; ok
  [[ $(sed -n 2p "$dir/$engine/ENGINE") == "$engine" ]] || fail "$engine: ENGINE file"; ok
  # The other engines refuse the directory.
  other=lsm
  [[ $engine == lsm ]] && other=bitcask
  "$stress" --db "$dir/$engine" --expected "$dir/$engine.exp" --engine "$other" --seed 7 \
    --keys 500 --verify-only >"$dir/out" 2>&1
  [[ $? -eq 3 ]] || fail "$engine opened as $other"; ok
done
echo "stress_engine_test: $checks checks passed"
