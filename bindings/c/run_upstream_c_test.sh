#!/usr/bin/env bash
# run_upstream_c_test.sh: LevelDB 1.23's own C API test (db/c_test.c) against lsmkv's C API.
#
#   bindings/c/run_upstream_c_test.sh --include DIR --lib-dir DIR [--cc CC] [--cxx CXX]
#                                     [--flags "FLAGS"] [--work DIR] [--cache DIR]
#
# Takes db/c_test.c from Debian's source package leveldb 1.23-4 (fetched once with
# apt-get source, adding a deb-src entry for bookworm if the machine has none, like
# scripts/build_release_peers.sh; cached in DIR/leveldb-src-1.23-4/, default DIR:
# $LSMKV_PEER_CACHE, else ~/.cache/lsmkv-peers), and rewrites only names:
#   leveldb_ -> lsmkv_, "leveldb/c.h" -> "lsmkv/c.h", "leveldb.stats" -> "lsmkv.stats",
# and the version check `leveldb_major_version() >= 1` -> `>= 0` (lsmkv is at 0.x; the
# check is about the function working, and the minor version is still checked >= 1).
# Compiles it as C99 with CC against the header in --include, links it with CXX to
# liblsmkv.so in --lib-dir (the shared library C programs link with -llsmkv) and runs it
# with TEST_TMPDIR in --work. FLAGS (a sanitizer build's) go to both steps.
#
# Exits 0 only if the program ran and printed PASS. Exits 1 loudly otherwise, including
# when the source cannot be fetched or a rewrite did not apply: it never skips.
set -euo pipefail

cache=${LSMKV_PEER_CACHE:-$HOME/.cache/lsmkv-peers}
include_dir=""
lib_dir=""
cc=cc
cxx=c++
flags=""
work=""
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --include) include_dir=$2; shift 2 ;;
    --lib-dir) lib_dir=$2; shift 2 ;;
    --cc) cc=$2; shift 2 ;;
    --cxx) cxx=$2; shift 2 ;;
    --flags) flags=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run_upstream_c_test: unknown argument $1" >&2; usage ;;
  esac
done
fail() { echo "run_upstream_c_test: FAILED: $*" >&2; exit 1; }
[[ -n $include_dir && -f $include_dir/lsmkv/c.h ]] || fail "--include must name the directory holding lsmkv/c.h"
[[ -n $lib_dir && -e $lib_dir/liblsmkv.so ]] || fail "no liblsmkv.so in --lib-dir '$lib_dir' (build lsmkv_shared)"

readonly version=1.23-4
readonly upstream=1.23
src=$cache/leveldb-src-$version
testfile=$src/db/c_test.c

# shellcheck source=../../scripts/deb_src.sh
source "$(dirname "$0")/../../scripts/deb_src.sh"

if [[ ! -f $testfile ]]; then
  fetch_deb_src_files run_upstream_c_test leveldb "$version" "$src" db/c_test.c LICENSE || exit 1
  echo "run_upstream_c_test: cached leveldb $upstream's db/c_test.c in $src"
fi

[[ -n $work ]] || work=$(mktemp -d)
rm -rf "$work"
mkdir -p "$work/tmp"
sed -e 's/leveldb_/lsmkv_/g' -e 's|"leveldb/c\.h"|"lsmkv/c.h"|' -e 's/"leveldb\.stats"/"lsmkv.stats"/' \
  -e 's/lsmkv_major_version() >= 1/lsmkv_major_version() >= 0/' "$testfile" >"$work/c_test.c"
grep -q '#include "lsmkv/c.h"' "$work/c_test.c" || fail "the include rewrite did not apply"
grep -q '"lsmkv.stats"' "$work/c_test.c" || fail "the property rewrite did not apply"
grep -q 'lsmkv_major_version() >= 0' "$work/c_test.c" || fail "the version rewrite did not apply"
! grep -q 'leveldb' "$work/c_test.c" || fail "a name still says leveldb: $(grep -n leveldb "$work/c_test.c" | head -3)"

# shellcheck disable=SC2086  # flags is a list of compiler flags
"$cc" -std=c99 -Wall -Wno-unused-parameter $flags -I"$include_dir" -c "$work/c_test.c" -o "$work/c_test.o" ||
  fail "c_test.c does not compile against lsmkv/c.h"
# shellcheck disable=SC2086
"$cxx" $flags "$work/c_test.o" -o "$work/c_test" -L"$lib_dir" -Wl,-rpath,"$lib_dir" -llsmkv ||
  fail "c_test does not link against liblsmkv.so"

set +e
(cd "$work" && TEST_TMPDIR="$work/tmp/db" ./c_test) >"$work/out.txt" 2>&1
rc=$?
set -e
cat "$work/out.txt"
[[ $rc -eq 0 ]] || fail "c_test exited with $rc"
tail -1 "$work/out.txt" | grep -qx PASS || fail "c_test did not print PASS"
echo "run_upstream_c_test: LevelDB $upstream's db/c_test.c passed against lsmkv's C API"
