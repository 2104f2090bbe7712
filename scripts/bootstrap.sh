#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent: packages already present are not touched and apt is not run at all
# when nothing is missing. Usage: scripts/bootstrap.sh [--bench]
set -euo pipefail

packages=(
  build-essential g++ cmake make pkg-config
  libgtest-dev libgmock-dev          # unit tests
  libcli11-dev                       # command-line parsing
  libsnappy-dev liblz4-dev libzstd-dev  # block compression
  clang libclang-rt-14-dev           # libFuzzer and sanitizer runtimes, make tsa
  clang-format                       # the formatting check (scripts/check_format.sh)
  librocksdb-dev libleveldb-dev      # peers of the comparison benchmark (and its smoke test)
  gnuplot-nox                        # benchmark charts (docs/BENCHMARKS-peers.md)
  libasio-dev                        # lsmkv-server's event loop (standalone Asio)
  prometheus-cpp-dev                 # lsmkv-server's --metrics-port
  nlohmann-json3-dev                 # `lsmkv load` of JSON lines
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev  # lsmkv-server's EVAL (Lua 5.1, as Redis), cjson and bit
  libssl-dev                         # lsmkv-server: SHA1 of scripts (libcrypto)
  redis-tools redis-server           # server tests (redis-cli) and the redis-benchmark comparison
  tcl                                # tclsh for Redis's own test suite (make redis-suite)
  python3-dev python3-pybind11       # the Python module (bindings/python), for /usr/bin/python3
  python3-setuptools python3-pip     # `python3 -m pip install --no-build-isolation .`
  python3-pytest                     # the Python module's tests
  python3-plyvel python3-lmdb        # peers of the Python module's tests and benchmark
  liblmdb-dev                        # LMDB, the peer of the three-engine benchmark (bench/engines_bench.cc)
)
if [[ "${1:-}" == "--bench" ]]; then
  :  # nothing extra any more: the peers are in the default list
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
echo "bootstrap: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
