#!/usr/bin/env bash
# tsa.sh: clang's thread-safety analysis over the library and the server
# (docs/design.md, "Locking").
#
#   scripts/tsa.sh [--self-test] [--jobs N]
#
# Compiles every non-test .cc of src/ and server/ with clang++ -fsyntax-only
# -Wthread-safety -Wthread-safety-beta -Werror (-std=c++20, the include
# directories the CMake build uses), N files at a time (default 2), and prints
# one summary line. -Wthread-safety-beta adds the lock-order check
# (ACQUIRED_AFTER / ACQUIRED_BEFORE). Exit 0 if
# every file compiles without a warning; otherwise 1, printing the
# diagnostics of each failing file. Fails (exit 1) when clang++ is missing:
# scripts/bootstrap.sh installs it.
#
# --self-test first checks that the check can fail: small programs using the
# real annotated lock types, each with one known locking mistake, must be
# rejected, and their correct twin accepted. Then runs the real check.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
jobs=2
self_test=0

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --self-test) self_test=1; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "tsa: unknown argument $1" >&2; usage ;;
  esac
done
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "tsa: --jobs needs a positive number" >&2
  exit 2
fi

CXX=${TSA_CXX:-}
if [[ -z $CXX ]]; then
  for candidate in clang++ clang++-14 clang++-15 clang++-16; do
    if command -v "$candidate" >/dev/null 2>&1; then
      CXX=$(command -v "$candidate")
      break
    fi
  done
fi
if [[ -z $CXX ]] || ! "$CXX" --version 2>/dev/null | grep -q clang; then
  echo "tsa: FAILED: clang++ not found (scripts/bootstrap.sh installs clang)" >&2
  exit 1
fi

flags=(-std=c++20 -fsyntax-only -Wthread-safety -Wthread-safety-beta -Werror)
src_includes=(-I"$repo/include" -I"$repo/src")
server_includes=(-I"$repo" -I"$repo/include" -I"$repo/src" -DASIO_STANDALONE)
# server/scripting.cc includes Lua 5.1's headers (liblua5.1-0-dev).
if lua_cflags=$(pkg-config --cflags lua5.1 2>/dev/null); then
  read -r -a lua_flags <<<"$lua_cflags"
  server_includes+=("${lua_flags[@]}")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Compiles stdin-less file $1 with the library's include directories; output
# to $2. Exit status of the compiler.
compile_snippet() {
  "$CXX" "${flags[@]}" "${src_includes[@]}" "$1" >"$2" 2>&1
}

if [[ $self_test -eq 1 ]]; then
  # Each case: a body (inside a class with an InstrumentedMutex mu_, a Mutex
  # leaf_ ACQUIRED_AFTER(mu_), fields a_ GUARDED_BY(mu_) and b_
  # GUARDED_BY(leaf_)) that must be rejected, and its fixed twin that must be
  # accepted.
  cases=(
    "unguarded write|void F() { a_ = 1; }|void F() { InstrumentedMutexLock l(&mu_); a_ = 1; }"
    "write after the scoped lock's Unlock|void F() { InstrumentedMutexLock l(&mu_); l.Unlock(); a_ = 1; l.Lock(); }|void F() { InstrumentedMutexLock l(&mu_); l.Unlock(); l.Lock(); a_ = 1; }"
    "REQUIRES not met|void G() REQUIRES(mu_) { a_++; } void F() { G(); }|void G() REQUIRES(mu_) { a_++; } void F() { InstrumentedMutexLock l(&mu_); G(); }"
    "condition wait without the mutex|InstrumentedCondVar cv_; void F() { cv_.Wait(&mu_); }|InstrumentedCondVar cv_; void F() { InstrumentedMutexLock l(&mu_); while (a_ == 0) cv_.Wait(&mu_); }"
    "wrong lock for a Mutex field|void F() { InstrumentedMutexLock l(&mu_); b_ = 1; }|void F() { MutexLock l(&leaf_); b_ = 1; }"
    "lock order (leaf_ is ACQUIRED_AFTER mu_)|void F() { MutexLock l(&leaf_); InstrumentedMutexLock m(&mu_); a_ = b_; }|void F() { InstrumentedMutexLock m(&mu_); MutexLock l(&leaf_); a_ = b_; }"
    "EXCLUDES violated|void G() EXCLUDES(mu_) { InstrumentedMutexLock l(&mu_); } void F() { InstrumentedMutexLock l(&mu_); G(); }|void G() EXCLUDES(mu_) { InstrumentedMutexLock l(&mu_); } void F() { G(); }"
  )
  failures=0
  for c in "${cases[@]}"; do
    IFS='|' read -r name bad good <<<"$c"
    for variant in bad good; do
      body=${!variant}
      cat >"$work/self_test.cc" <<EOF
#include "util/instrumented_mutex.h"
#include "util/mutex.h"
namespace lsmkv {
class SelfTest {
  InstrumentedMutex mu_;
  Mutex leaf_ ACQUIRED_AFTER(mu_);
  int a_ GUARDED_BY(mu_) = 0;
  int b_ GUARDED_BY(leaf_) = 0;
  $body
};
}  // namespace lsmkv
EOF
      compile_snippet "$work/self_test.cc" "$work/self_test.out"
      rc=$?
      if [[ $variant == bad ]]; then
        if [[ $rc -eq 0 ]] || ! grep -q 'Wthread-safety' "$work/self_test.out"; then
          echo "tsa: self-test FAILED: '$name' was not rejected by -Wthread-safety" >&2
          cat "$work/self_test.out" >&2
          failures=$((failures + 1))
        fi
      elif [[ $rc -ne 0 ]]; then
        echo "tsa: self-test FAILED: the fixed form of '$name' was rejected" >&2
        cat "$work/self_test.out" >&2
        failures=$((failures + 1))
      fi
    done
  done
  if [[ $failures -ne 0 ]]; then
    echo "tsa: self-test: $failures of $((2 * ${#cases[@]})) checks failed" >&2
    exit 1
  fi
  echo "tsa: self-test: ${#cases[@]} known violations rejected, their fixes accepted"
fi

# The translation units: what CMake compiles into the library and the server.
mapfile -t src_files < <(cd "$repo" && find src -name '*.cc' \
  ! -name '*_test.cc' ! -name '*_fuzz.cc' ! -name '*testutil*.cc' | sort)
# replication/ (RaftNode's queue lock) is checked with the server's include paths.
mapfile -t server_files < <(cd "$repo" && find server replication -maxdepth 1 -name '*.cc' \
  ! -name '*_test.cc' | sort)

export CXX repo work
export FLAGS="${flags[*]}" SRC_INCLUDES="${src_includes[*]}" SERVER_INCLUDES="${server_includes[*]}"
check_one() {
  local file=$1 includes
  case $file in
    server/* | replication/*) includes=$SERVER_INCLUDES ;;
    *) includes=$SRC_INCLUDES ;;
  esac
  local log="$work/$(echo "$file" | tr '/' '_').log"
  # shellcheck disable=SC2086  # word splitting of the flag lists is intended
  if ! (cd "$repo" && "$CXX" $FLAGS $includes "$file") >"$log" 2>&1; then
    echo "$file" >>"$work/failed"
  else
    rm -f "$log"
  fi
}
export -f check_one

start=$(date +%s)
printf '%s\n' "${src_files[@]}" "${server_files[@]}" | xargs -P "$jobs" -I{} bash -c 'check_one "$1"' _ {}
elapsed=$(($(date +%s) - start))
total=$((${#src_files[@]} + ${#server_files[@]}))

if [[ -s $work/failed ]]; then
  failed=$(sort "$work/failed")
  for f in $failed; do
    echo "---- $f"
    cat "$work/$(echo "$f" | tr '/' '_').log"
  done
  count=$(echo "$failed" | wc -l)
  warnings=$(cat "$work"/*.log | grep -c 'warning:\|error:')
  echo "tsa: FAILED: $count of $total files (${#src_files[@]} src, ${#server_files[@]} server) with $warnings diagnostics, ${elapsed}s"
  exit 1
fi
echo "tsa: OK: $total files (${#src_files[@]} src, ${#server_files[@]} server) clean under -Wthread-safety -Wthread-safety-beta -Werror, ${elapsed}s"
