#!/usr/bin/env bash
# run_plyvel_suite.sh: plyvel's own test suite against the lsmkv module (issue 17).
#
#   bindings/python/run_plyvel_suite.sh [--module-dir DIR] [--against lsmkv|plyvel]
#                                       [--min-pass N] [--cache DIR] [--cached-only]
#
# Fetches Debian's source package plyvel 1.5.0-1 (python3-plyvel) (once; cached in
# DIR/plyvel-1.5.0-1/, default DIR: $LSMKV_PEER_CACHE, else
# ~/.cache/lsmkv-peers, like scripts/build_release_peers.sh; adds a deb-src
# entry for bookworm if the machine has none), copies its test/test_plyvel.py
# to a temporary directory and, for --against lsmkv (the default), rewrites
# `import plyvel` to `import lsmkv as plyvel` and the property prefix
# `leveldb.` to `lsmkv.`. Then runs it with /usr/bin/python3 -m pytest
# (Debian's interpreter: python3-pytest and python3-plyvel live there), with
# PYTHONPATH=DIR for --module-dir (the directory holding the built lsmkv
# module). --against plyvel runs the unmodified file against Debian's plyvel,
# which is how the reference count in docs/python.md was measured.
#
# Prints pytest's summary and one line "plyvel suite (<against>): P passed,
# F failed, E errors, S skipped of T". Exits 0 only if the file ran and
# passed at least --min-pass tests (default: every test it collected) with
# no error; exits 1 loudly otherwise, including when the source package
# cannot be fetched or pytest cannot run. With --cached-only (make test's
# python_plyvel_suite) it fetches nothing: without a cached file it says so
# and exits 77, which CTest reports as Skipped; it never skips otherwise.
set -euo pipefail

cache=${LSMKV_PEER_CACHE:-$HOME/.cache/lsmkv-peers}
module_dir=""
against=lsmkv
min_pass=""
cached_only=0
python=/usr/bin/python3
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --module-dir) module_dir=$2; shift 2 ;;
    --against) against=$2; shift 2 ;;
    --min-pass) min_pass=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --cached-only) cached_only=1; shift ;;
    -h|--help) usage ;;
    *) echo "run_plyvel_suite: unknown argument $1" >&2; usage ;;
  esac
done
fail() { echo "run_plyvel_suite: FAILED: $*" >&2; exit 1; }
[[ $against == lsmkv || $against == plyvel ]] || fail "--against must be lsmkv or plyvel"
[[ -x $python ]] || fail "$python not found (Debian's python3; scripts/bootstrap.sh installs it)"
"$python" -c 'import pytest' 2>/dev/null || fail "pytest is missing for $python (python3-pytest)"

readonly version=1.5.0-1
readonly upstream=1.5.0
src=$cache/plyvel-$version
testfile=$src/test/test_plyvel.py

# shellcheck source=../../scripts/deb_src.sh
source "$(dirname "$0")/../../scripts/deb_src.sh"

if [[ ! -f $testfile && $cached_only -eq 1 ]]; then
  echo "run_plyvel_suite: SKIPPED: no $testfile (make plyvel-suite fetches it from Debian's source package)"
  exit 77
fi
if [[ ! -f $testfile ]]; then
  fetch_deb_src_files run_plyvel_suite plyvel "$version" "$src" test/test_plyvel.py || exit 1
  echo "run_plyvel_suite: cached plyvel $version's test/test_plyvel.py in $src"
fi

run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
if [[ $against == lsmkv ]]; then
  [[ -n $module_dir ]] || fail "--module-dir is required with --against lsmkv"
  module_dir=$(cd "$module_dir" && pwd)
  ls "$module_dir"/lsmkv*.so >/dev/null 2>&1 || fail "no lsmkv module in $module_dir"
  sed -e 's/^import plyvel$/import lsmkv as plyvel/' -e "s/'leveldb\./'lsmkv./g" \
    -e 's/"leveldb\./"lsmkv./g' "$testfile" >"$run/test_plyvel.py"
  grep -qx 'import lsmkv as plyvel' "$run/test_plyvel.py" || fail "the import rewrite did not apply"
  export PYTHONPATH=$module_dir${PYTHONPATH:+:$PYTHONPATH}
  # The module must be the one just built, not an installed one.
  where=$(cd "$run" && "$python" -c 'import lsmkv; print(lsmkv.__file__)') || fail "cannot import lsmkv from $module_dir"
  [[ $where == "$module_dir"/* ]] || fail "imported lsmkv from $where, not from $module_dir"
else
  cp "$testfile" "$run/test_plyvel.py"
  (cd "$run" && "$python" -c 'import plyvel') || fail "python3-plyvel is not installed for $python"
fi

set +e
(cd "$run" && "$python" -m pytest -p no:cacheprovider -q -rfE test_plyvel.py) | tee "$run/out.txt"
set -e
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped).* in [0-9.]+s' "$run/out.txt" | tail -1) ||
  fail "pytest printed no summary (it did not run)"
count() { echo "$summary" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed); failed=$(count failed); errors=$(count 'errors?'); skipped=$(count skipped)
total=$((passed + failed + errors + skipped))
echo "plyvel suite ($against): $passed passed, $failed failed, $errors errors, $skipped skipped of $total"
[[ $total -gt 0 ]] || fail "no test ran"
[[ -n $min_pass ]] || min_pass=$total
[[ $passed -ge $min_pass ]] || fail "$passed passed, fewer than the $min_pass required"
[[ $errors -eq 0 ]] || fail "$errors errors"
exit 0
