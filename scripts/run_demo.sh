#!/usr/bin/env bash
# `make demo`: shows the lsmkv tool working on the default data directory
# (`make run` starts lsmkv-server instead).
set -euo pipefail
bin=${1:?path to the lsmkv binary}
dir=${2:-./data}
echo "lsmkv demo on database directory $dir"
echo "+ lsmkv --db $dir put greeting 'hello, world'"
"$bin" --db "$dir" put greeting 'hello, world'
echo "+ lsmkv --db $dir get greeting"
"$bin" --db "$dir" get greeting
echo "+ lsmkv --db $dir del greeting"
"$bin" --db "$dir" del greeting
echo "+ lsmkv --db $dir get greeting   (exit code 1: not found)"
"$bin" --db "$dir" get greeting || echo "(exit code $?)"
echo "+ lsmkv --db $dir stats"
"$bin" --db "$dir" stats
echo
echo "Try it yourself: $bin --db $dir --help"
