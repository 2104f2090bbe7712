#!/usr/bin/env bash
# build_release_peers.sh: release builds of the peers lsmkv is compared with,
# from Debian's own source packages (issue 15, "Honest peers").
#
#   scripts/build_release_peers.sh [--cache DIR] [--jobs N] [--only leveldb|rocksdb]
#
# Debian's libleveldb and librocksdb are compiled without -DNDEBUG (their
# assertions stay on), so comparing against them flatters lsmkv. This script
# fetches the source packages Debian builds them from (leveldb 1.23-4,
# rocksdb 7.8.3-2, Debian's patches applied), adding a deb-src entry for
# bookworm if the machine has none, and builds each with CMake's Release
# flags (-O3 -DNDEBUG; RocksDB PORTABLE=1, without tools, tests, gflags or
# compression libraries, as the benchmark uses none), statically, into
#   DIR/<package>-<version>/{include,lib}
# (default DIR: $LSMKV_PEER_CACHE, else ~/.cache/lsmkv-peers). A finished
# build is recorded by DIR/<package>-<version>/.done and not repeated, so
# this is cheap after the first run; it prints how long each build took
# (RocksDB: tens of minutes on 2 cores). Needs root (or sudo) for the
# deb-src entry and build-essential, cmake; installs nothing else.
# Prints, last, the CMake cache arguments that point lsmkv's peer benchmark
# at these builds.
set -euo pipefail

cache=${LSMKV_PEER_CACHE:-$HOME/.cache/lsmkv-peers}
jobs=$(nproc 2>/dev/null || echo 2)
only=""
usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --cache) cache=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "build_release_peers: unknown argument $1" >&2; usage ;;
  esac
done

readonly leveldb_version=1.23-4
readonly rocksdb_version=7.8.3-2

# shellcheck source=deb_src.sh
source "$(dirname "$0")/deb_src.sh"

# build <package> <debian version> <cmake arguments...>
build() {
  local package=$1 version=$2
  shift 2
  local upstream=${version%-*}
  local prefix=$cache/$package-$version
  if [[ -f $prefix/.done ]]; then
    echo "build_release_peers: $package $version already built in $prefix"
    return
  fi
  ensure_deb_src build_release_peers leveldb "$leveldb_version"
  local work
  work=$(mktemp -d)
  local start=$SECONDS
  (cd "$work" && apt-get source -qq "$package=$version" >/dev/null 2>&1) ||
    { echo "build_release_peers: apt-get source $package=$version failed" >&2; exit 1; }
  local src=$work/$package-$upstream
  echo "build_release_peers: building $package $version (Release) with $jobs jobs..."
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON "$@" >"$work/configure.log" 2>&1 ||
    { tail -20 "$work/configure.log"; exit 1; }
  cmake --build "$work/build" -j "$jobs" >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log"; exit 1; }
  rm -rf "$prefix"
  cmake --install "$work/build" >"$work/install.log" 2>&1 || { tail -20 "$work/install.log"; exit 1; }
  grep -m1 -o -- '-O3[^"]*' "$work/build/CMakeCache.txt" >"$prefix/flags" 2>/dev/null || true
  echo "$((SECONDS - start))" >"$prefix/.done"
  rm -rf "$work"
  echo "build_release_peers: $package $version built in $((SECONDS - start)) s into $prefix"
}

mkdir -p "$cache"
if [[ -z $only || $only == leveldb ]]; then
  build leveldb "$leveldb_version" -DLEVELDB_BUILD_TESTS=OFF -DLEVELDB_BUILD_BENCHMARKS=OFF \
    -DBUILD_SHARED_LIBS=OFF
fi
if [[ -z $only || $only == rocksdb ]]; then
  build rocksdb "$rocksdb_version" -DPORTABLE=1 -DWITH_TESTS=OFF -DWITH_TOOLS=OFF \
    -DWITH_CORE_TOOLS=OFF -DWITH_BENCHMARK_TOOLS=OFF -DWITH_GFLAGS=OFF -DROCKSDB_BUILD_SHARED=OFF \
    -DFAIL_ON_WARNINGS=OFF -DWITH_SNAPPY=OFF -DWITH_LZ4=OFF -DWITH_ZSTD=OFF -DWITH_ZLIB=OFF \
    -DWITH_BZ2=OFF -DWITH_LIBURING=OFF -DWITH_JEMALLOC=OFF
fi

lib_dir() { if [[ -d $1/lib64 ]]; then echo "$1/lib64"; else echo "$1/lib"; fi; }
l=$cache/leveldb-$leveldb_version
r=$cache/rocksdb-$rocksdb_version
echo "build_release_peers: CMake arguments for lsmkv's peer benchmark:"
echo "  -DLEVELDB_LIBRARY=$(lib_dir "$l")/libleveldb.a -DLEVELDB_INCLUDE_DIR=$l/include" \
     "-DROCKSDB_LIBRARY=$(lib_dir "$r")/librocksdb.a -DROCKSDB_INCLUDE_DIR=$r/include"
