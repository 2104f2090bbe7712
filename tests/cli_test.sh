#!/usr/bin/env bash
# End-to-end test of the lsmkv command-line tool: round trips (binary via
# --hex), escaping, exit codes, error messages.
set -uo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="$dir/db"
fail() { echo "cli_test: FAIL: $*"; exit 1; }

"$bin" --db "$db" put greeting 'hello, world' || fail "put"
[[ $("$bin" --db "$db" get greeting) == 'hello, world' ]] || fail "get after put"
"$bin" --db "$db" put 'a|b' $'line1\nline2' || fail "put with separators"
[[ $("$bin" --db "$db" get 'a|b') == 'line1\x0aline2' ]] || fail "escaped newline"
"$bin" --db "$db" --hex put 00ff 000a0dff || fail "hex put"
[[ $("$bin" --db "$db" --hex get 00ff) == '000a0dff' ]] || fail "hex get"
"$bin" --db "$db" del greeting || fail "del"
"$bin" --db "$db" get greeting 2>/dev/null; [[ $? -eq 1 ]] || fail "get of deleted key must exit 1"
"$bin" --db "$db" frobnicate 2>/dev/null; [[ $? -eq 2 ]] || fail "unknown subcommand must exit 2"
"$bin" --db "$db" --hex put 0 1 2>/dev/null; [[ $? -eq 2 ]] || fail "odd hex must exit 2"
"$bin" --db "$dir/missing" --no-create get k 2>"$dir/err"; [[ $? -eq 3 ]] || fail "missing db must exit 3"
grep -q 'create_if_missing' "$dir/err" || fail "missing-db error must explain itself"
"$bin" --db "$db" stats | grep -q 'writes: ' || fail "stats"
echo "cli_test: 11 checks passed"
