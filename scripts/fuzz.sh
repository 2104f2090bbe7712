#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets of fuzz/ with clang and runs each one
# (docs/RELIABILITY.md, "Fuzzing").
#
#   scripts/fuzz.sh [--seconds-per-target N] [--build-dir DIR] [--target NAME]
#                   [--allow-missing-clang]
#
# Configures and builds fuzz/ into DIR (default build-fuzz), then runs every
# target (or only NAME) for N seconds (default 60) on a fresh copy of its seed
# corpus fuzz/corpus/<target>, and prints per target the executions run and
# the coverage reached (libFuzzer's final "cov" edges and "ft" features).
# Exit 0 if no target crashed, leaked or timed out; otherwise 1, naming each
# failing target, its log and the input that fails (under DIR/runs/<target>/).
# Without a working clang++ -fsanitize=fuzzer it exits 1, or 77 ("skipped":
# nothing was fuzzed) with --allow-missing-clang, which the fuzz_smoke test
# passes so that ctest reports it Skipped (SKIP_RETURN_CODE 77), never Passed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=60
build_dir=$repo/build-fuzz
only_target=""
allow_missing_clang=0
targets=(wal_reader_fuzz write_batch_fuzz block_fuzz table_fuzz version_edit_fuzz resp_fuzz dispatcher_fuzz
  bitcask_record_fuzz btree_page_fuzz)

# The exit status meaning "skipped, nothing ran" (the Automake convention;
# tests/tests.cmake gives fuzz_smoke SKIP_RETURN_CODE 77).
readonly kSkipped=77

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds-per-target) seconds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --target) only_target=$2; shift 2 ;;
    --allow-missing-clang) allow_missing_clang=1; shift ;;
    -h|--help) usage ;;
    *) echo "fuzz: unknown argument $1" >&2; usage ;;
  esac
done
if ! [[ $seconds =~ ^[0-9]+$ ]] || [[ $seconds -lt 1 ]]; then
  echo "fuzz: --seconds-per-target needs a positive number of seconds" >&2
  exit 2
fi
if [[ -n $only_target ]]; then
  if [[ ! -f $repo/fuzz/$only_target.cc ]]; then
    echo "fuzz: no target $only_target (targets: ${targets[*]})" >&2
    exit 2
  fi
  targets=("$only_target")
fi
mkdir -p "$build_dir" && build_dir=$(cd "$build_dir" && pwd)

# ---------------------------------------------------------------- clang
missing_clang() {
  echo "fuzz: $1" >&2
  echo "fuzz: libFuzzer needs clang (Debian: apt-get install clang libclang-rt-14-dev, or scripts/bootstrap.sh)" >&2
  if [[ $allow_missing_clang -eq 1 ]]; then
    echo "fuzz: SKIPPED, nothing was fuzzed (--allow-missing-clang; exit $kSkipped)"
    exit $kSkipped
  fi
  exit 1
}
command -v clang >/dev/null && command -v clang++ >/dev/null || missing_clang "clang/clang++ not found"
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe_dir/probe.cc"
clang++ -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cc" -o "$probe_dir/probe" \
  >"$probe_dir/log" 2>&1 || missing_clang "clang++ -fsanitize=fuzzer does not link: $(head -3 "$probe_dir/log")"

# ---------------------------------------------------------------- build
start=$(date +%s)
if ! CC=clang CXX=clang++ cmake -S "$repo/fuzz" -B "$build_dir" >"$build_dir/configure.log" 2>&1; then
  cat "$build_dir/configure.log" >&2
  echo "fuzz: configuring fuzz/ failed" >&2
  exit 1
fi
if ! cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}" >"$build_dir/build.log" 2>&1; then
  grep -E "error|Error" "$build_dir/build.log" | head -40 >&2
  echo "fuzz: building the fuzz targets failed (full log: $build_dir/build.log)" >&2
  exit 1
fi
echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s ($build_dir)"

# ---------------------------------------------------------------- run
failed=()
printf '%-20s %12s %10s %10s %8s  %s\n' target executions "cov edges" features "corpus" result
for target in "${targets[@]}"; do
  run_dir=$build_dir/runs/$target
  rm -rf "$run_dir"
  mkdir -p "$run_dir/corpus" "$run_dir/artifacts"
  cp "$repo/fuzz/corpus/$target/"* "$run_dir/corpus/" 2>/dev/null
  log=$run_dir/fuzz.log
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$build_dir/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$run_dir/artifacts/" "$run_dir/corpus" >"$log" 2>&1
  rc=$?
  # The last status line: "#<execs> DONE|pulse|NEW ... cov: <edges> ft: <features> corp: <n>/<size> ...".
  status_line=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  [[ -z $execs ]] && execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$status_line")
  cov=$(grep -oE 'cov: [0-9]+' <<<"$status_line" | grep -oE '[0-9]+')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$status_line" | grep -oE '[0-9]+')
  corp=$(grep -oE 'corp: [0-9]+' <<<"$status_line" | grep -oE '[0-9]+')
  artifact=$(ls "$run_dir/artifacts/" 2>/dev/null | head -1)
  if [[ $rc -eq 0 && -z $artifact ]]; then
    result=ok
  else
    result="FAILED (exit $rc)"
    failed+=("$target")
  fi
  printf '%-20s %12s %10s %10s %8s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$result"
  if [[ $result != ok ]]; then
    echo "---- $target: last lines of $log"
    grep -E 'ERROR|SUMMARY|invariant violated|runtime error|#[0-9]+ 0x' "$log" | head -20
    if [[ -n $artifact ]]; then
      echo "---- $target: failing input: $run_dir/artifacts/$artifact"
      echo "     reproduce: $build_dir/$target $run_dir/artifacts/$artifact"
    fi
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds} s each without a crash, leak or timeout"
exit 0
