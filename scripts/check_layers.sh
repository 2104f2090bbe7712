#!/usr/bin/env bash
# The layering check (docs/design.md, "Layers"): a file may include headers of
# its own component, of the public API (include/lsmkv/) and of components in
# lower layers, never of a component beside it or above it.
#
#   rank 0  util
#   rank 1  base
#   rank 2  env
#   rank 3  wal | memtable | table      (siblings: none includes another)
#   rank 4  db
#   rank 5  admin | txn | btree | bitcask   (the engines beside db and the layers on it)
#   rank 6  engines (the engine switch: DB::Open and DestroyDB by Options::engine)
#   rank 7  replication/ (the Raft-replicated state machine and node)
#   rank 8  tools/ | server/ | bench/ | bindings/   (clients; a replicated server runs a Raft node)
#   rank 9  fuzz/ (fuzz targets over any layer, the server's parser included)
#
# Tests (*_test.cc, *testutil*) obey the same rule. Prints every violation as
# file:line: and exits 1 if there is any; prints a one-line summary otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

rank_of() {  # component name -> rank, or nothing if unknown
  case "$1" in
    util) echo 0 ;;
    base) echo 1 ;;
    env) echo 2 ;;
    wal|memtable|table) echo 3 ;;
    db) echo 4 ;;
    admin|txn|btree|bitcask) echo 5 ;;
    engines) echo 6 ;;
    replication) echo 7 ;;
    tools|server|bench|bindings) echo 8 ;;
    fuzz) echo 9 ;;
  esac
}

list_sources() {  # the C++ sources of every layer, as paths from the top
  local dirs=(src tools server bench fuzz bindings replication)
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- "${dirs[@]/%//*}"
  else
    find "${dirs[@]}" -type f 2>/dev/null
  fi | grep -E '\.(h|cc)$' | sort
}

violations=0
files=0
while IFS= read -r file; do
  files=$((files + 1))
  # The component a file belongs to: src/<component>/..., or the top folder.
  case "$file" in
    src/*) from=$(echo "$file" | cut -d/ -f2) ;;
    *) from=$(echo "$file" | cut -d/ -f1) ;;
  esac
  from_rank=$(rank_of "$from")
  if [[ -z "$from_rank" ]]; then
    echo "$file: component '$from' has no layer (add it to scripts/check_layers.sh and docs/design.md)"
    violations=$((violations + 1))
    continue
  fi
  while IFS=: read -r line target; do
    to=${target%%/*}
    [[ "$to" == "lsmkv" || "$to" == "$from" ]] && continue
    to_rank=$(rank_of "$to")
    [[ -z "$to_rank" ]] && continue  # a third-party header (gtest/..., rocksdb/...)
    if (( to_rank >= from_rank )); then
      echo "$file:$line: includes \"$target\" ($to, layer $to_rank) from $from (layer $from_rank)"
      violations=$((violations + 1))
    fi
  done < <(grep -n '^#include "[^"]*/[^"]*"' "$file" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1:\2/')
done < <(list_sources)

if (( violations > 0 )); then
  echo "check_layers: $violations include(s) against the layer order in $files files"
  exit 1
fi
echo "check_layers: $files files, every include follows the layer order"
