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
  python3-redis                      # RedisCluster, the cluster client of the replication tests (replication/cluster_test.py)
  python3-plyvel python3-lmdb        # peers of the Python module's tests and benchmark
  liblmdb-dev                        # LMDB, the peer of the three-engine benchmark (bench/engines_bench.cc)
  libuv1-dev                         # the event loop of libraft's I/O (replication/)
)
# libraft-dev comes from bookworm-backports (0.22.1, the maintained cowsql line): bookworm's own
# 0.15 predates fixes to Raft safety bugs (docs/replication.md). The backports source is added for
# that one package; nothing else is taken from it.
raft_min_version="0.22.1"
if [[ "${1:-}" == "--bench" ]]; then
  :  # nothing extra any more: the peers are in the default list
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
raft_ok() {  # libraft-dev installed at raft_min_version or later
  local v
  v=$(dpkg-query -W -f='${Status} ${Version}' libraft-dev 2>/dev/null) || return 1
  [[ "$v" == "install ok installed "* ]] || return 1
  dpkg --compare-versions "${v##* }" ge "$raft_min_version"
}
need_raft=0
raft_ok || need_raft=1
if [[ ${#missing[@]} -eq 0 && $need_raft -eq 0 ]]; then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
backports=/etc/apt/sources.list.d/lsmkv-backports.sources
if [[ $need_raft -eq 1 && ! -f $backports ]]; then
  echo "bootstrap: adding bookworm-backports ($backports) for libraft-dev"
  $SUDO tee "$backports" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
$SUDO apt-get update -qq
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bootstrap: installing ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ $need_raft -eq 1 ]]; then
  echo "bootstrap: installing libraft-dev from bookworm-backports"
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports libraft-dev
  raft_ok || { echo "bootstrap: libraft-dev >= $raft_min_version is not installed" >&2; exit 1; }
fi
