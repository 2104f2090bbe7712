#!/usr/bin/env bash
# The formatting check: every C++ file of the repository is as clang-format
# (with .clang-format at the top) would write it. Lists the files that are not
# and exits 1; `--fix` rewrites them in place. Needs clang-format (bootstrap
# installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
[[ "${1:-}" == "--fix" ]] && fix=1
if ! command -v clang-format >/dev/null; then
  echo "check_format: clang-format is missing (scripts/bootstrap.sh installs it)"
  exit 1
fi

list_sources() {
  local dirs=(src include server tools bench fuzz examples tests bindings replication)
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- "${dirs[@]}"
  else
    find "${dirs[@]}" -type f 2>/dev/null
  fi | grep -E '\.(h|cc|c|cpp|hpp)$' | sort
}

bad=0
total=0
while IFS= read -r file; do
  total=$((total + 1))
  if ! clang-format --dry-run -Werror "$file" >/dev/null 2>&1; then
    if (( fix )); then
      clang-format -i "$file"
      echo "formatted $file"
    else
      echo "$file: not formatted (scripts/check_format.sh --fix)"
      bad=$((bad + 1))
    fi
  fi
done < <(list_sources)

if (( bad > 0 )); then
  echo "check_format: $bad of $total files differ from .clang-format"
  exit 1
fi
echo "check_format: $total files follow .clang-format"
