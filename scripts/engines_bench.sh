#!/usr/bin/env bash
# engines_bench.sh: make bench's three-engine comparison: lsmkv's lsm, btree
# and bitcask engines against LMDB (bench/engines_bench.cc), in the release
# build, report in docs/BENCHMARKS-engines.md.
#
#   scripts/engines_bench.sh [--build-dir DIR] [--num N] [--rounds R]
#                            [--report FILE] [--time-limit DURATION]
#                            [--bitcask-startup N1,N2 | --bitcask-startup ""]
#
# Then Bitcask's start-up with hint files for the sizes of --bitcask-startup
# (default 1,000,000 and 10,000,000 keys; "" skips it), added to the report.
# Defaults: build, 1,000,000 entries, 3 rounds, docs/BENCHMARKS-engines.md,
# 30m (timeout(1) syntax; the run fails when it is exceeded). Engines not in
# the build yet are skipped and named in the output. Without liblmdb-dev the
# driver is not built: the script says so and exits 0 (as make bench does for
# a missing peer benchmark).
set -uo pipefail

build_dir=build
num=1000000
rounds=3
report=docs/BENCHMARKS-engines.md
time_limit=30m
bitcask_startup=1000000,10000000
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --num) num=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --time-limit) time_limit=$2; shift 2 ;;
    --bitcask-startup) bitcask_startup=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "engines_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bin=$build_dir/lsmkv_engines_bench
if [[ ! -x $bin ]]; then
  echo "engines_bench: SKIPPED: $bin not built (liblmdb-dev missing? scripts/bootstrap.sh installs it)"
  exit 0
fi
work=$build_dir/engines_bench_db
rm -rf "$work"
timeout "$time_limit" "$bin" --num="$num" --rounds="$rounds" --db="$work" --report="$report"
rc=$?
if [[ $rc -eq 0 && -n $bitcask_startup ]]; then
  timeout "$time_limit" "$bin" --bitcask_startup="$bitcask_startup" --rounds="$rounds" --db="$work" \
    --report="$report"
  rc=$?
fi
rm -rf "$work"
if [[ $rc -eq 124 ]]; then
  echo "engines_bench: FAILED: exceeded the time limit $time_limit" >&2
fi
exit $rc
