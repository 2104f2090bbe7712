# lsmkv — every workflow starts here. `make run` and `make test` work on a
# fresh Debian machine: they install what is missing, build and run.
BUILD_DIR ?= build
# `make test` builds apart from the release build: same -O2, assertions on.
TEST_BUILD_DIR ?= build-check
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local
DATA_DIR ?= ./data
CRASHTEST_SECONDS ?= 1800
# Entries of make bench's three-engine comparison with LMDB (scripts/engines_bench.sh).
ENGINES_BENCH_NUM ?= 1000000
# The storage engine of make crashtest's kill loop: lsm, btree or bitcask.
CRASHTEST_ENGINE ?= lsm
KILLPOINT_ROUNDS ?= 3
TXN_CRASH_CYCLES ?= 2000
SOAK_SECONDS ?= 1800
SOAK_SERVER_SECONDS ?= 600
# Release builds of LevelDB and RocksDB (scripts/build_release_peers.sh), kept
# outside the build directories so they are made once.
PEER_CACHE ?= $(HOME)/.cache/lsmkv-peers
FUZZ_SECONDS ?= 60
METAMORPHIC_SECONDS ?= 600
METAMORPHIC_OPS ?= 3000
# Consecutive seeds from here; the default differs per run (the time), and each
# seed is printed, so a failure reruns with METAMORPHIC_SEED=<seed>.
METAMORPHIC_SEED_BASE ?= $(shell date +%s)
# Redis's own test suite (scripts/redis_suite.sh): the units it runs, and the
# lsmkv/redis ratio of passed tests below which it fails (empty: never).
REDIS_SUITE_UNITS ?= type/string type/incr expire keyspace multi scan type/hash type/list type/set type/zset pubsub
REDIS_SUITE_REQUIRE_RATIO ?=
# make jepsen: seconds of faults per run (three runs).
JEPSEN_SECONDS ?= 300

.PHONY: all bootstrap build run demo test asan tsan tsa install bench crashtest clean

all: build

bootstrap:
	@bash scripts/bootstrap.sh

# Release build (-O2) with tests, tools and the benchmark driver.
build: bootstrap
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Builds and starts lsmkv-server (Redis protocol) in the foreground on
# 127.0.0.1:6380 with the data directory DATA_DIR (created if missing).
# Talk to it with redis-cli -p 6380; stop it with Ctrl-C (a clean shutdown).
run: build
	@$(BUILD_DIR)/lsmkv-server --bind 127.0.0.1 --port 6380 --dir $(DATA_DIR)

# Runs the lsmkv tool on the data directory: a put, a get and the database
# statistics, so a newcomer sees the engine work without a server.
demo: build
	@bash scripts/run_demo.sh $(BUILD_DIR)/lsmkv $(DATA_DIR)

# Every test: unit, integration, crash smoke, the layering check, built as
# CMAKE_BUILD_TYPE=Check (-O2 without NDEBUG: assert and DCHECK on).
# Prints ctest's summary line.
.PHONY: build-check
build-check: bootstrap
	@cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Check $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TEST_BUILD_DIR) -j $(JOBS)

test: build-check
	@cd $(TEST_BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Clang's thread-safety analysis (-Wthread-safety -Werror) over every non-test
# .cc of src/ and server/: GUARDED_BY / REQUIRES / EXCLUDES are checked
# (docs/design.md, "Locking"). --self-test first proves it rejects known
# locking mistakes. Prints one summary line.
tsa: bootstrap
	@bash scripts/tsa.sh --self-test --jobs $(JOBS)

# AddressSanitizer + UndefinedBehaviorSanitizer (with LeakSanitizer), asserts on.
asan: bootstrap
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLSMKV_SANITIZE=address -DLSMKV_BUILD_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer, asserts on, optimised enough to run the concurrency tests.
tsan: bootstrap
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DLSMKV_SANITIZE=thread -DLSMKV_BUILD_BENCH=OFF >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --output-on-failure -j $(JOBS)

# Installs headers, static and shared library, the lsmkv tool, a CMake package
# config and lsmkv.pc under PREFIX (a plain cmake --install), and the Python
# module with its lsmkv.pyi in PREFIX/lib/python3/dist-packages (Debian's
# /usr/bin/python3; docs/python.md). Or, for the module alone:
# /usr/bin/python3 -m pip install --no-build-isolation .
install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# lsmkv vs RocksDB vs LevelDB, every workload, default settings (bounded at
# 25 minutes by `timeout`); writes docs/BENCHMARKS-peers.md. The write-path
# driver alone: $(BUILD_DIR)/lsmkv_bench (see docs/BENCHMARKS.md). Then
# lsmkv's lsm, btree and bitcask engines against LMDB, ENGINES_BENCH_NUM
# entries, 3 rounds (bounded at 30 minutes): docs/BENCHMARKS-engines.md.
bench: build
	@bash scripts/build_release_peers.sh --cache $(PEER_CACHE) && \
	  cmake -S . -B $(BUILD_DIR) -DLSMKV_RELEASE_PEERS_DIR=$(PEER_CACHE) >/dev/null || \
	  { echo "bench: WARNING: no release peers; comparing with Debian's builds (assertions on)"; \
	    cmake -S . -B $(BUILD_DIR) -DLSMKV_RELEASE_PEERS_DIR= >/dev/null; }
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target lsmkv_peer_bench lsmkv_txn_bench
	@bash scripts/engines_bench.sh --build-dir $(BUILD_DIR) --num $(ENGINES_BENCH_NUM) --time-limit 30m
	@timeout 25m $(BUILD_DIR)/lsmkv_peer_bench --report=docs/BENCHMARKS-peers.md
	@timeout 10m $(BUILD_DIR)/lsmkv_txn_bench --report=docs/BENCHMARKS-txn.md
	@timeout 10m /usr/bin/python3 bindings/python/bench.py --module-dir $(BUILD_DIR)/python

# plyvel's own test suite (test/test_plyvel.py of plyvel 1.5) against the
# lsmkv Python module, imports rewritten; fails unless it passes at least as
# many tests as Debian's plyvel does on the same file (52 of 55 as root).
# The file comes from plyvel's Debian source package, cached in PEER_CACHE;
# it fails loudly when it cannot be had (docs/python.md).
.PHONY: plyvel-suite
plyvel-suite: build
	@bash bindings/python/run_plyvel_suite.sh --cache $(PEER_CACHE) --module-dir $(BUILD_DIR)/python --min-pass 52

# Kill -9 loop over lsmkv_stress with full verification after every kill,
# for CRASHTEST_SECONDS, after KILLPOINT_ROUNDS rounds over every kill point
# (each before and after its step; see docs/RELIABILITY.md). The loop runs on
# CRASHTEST_ENGINE (the kill points are the LSM's).
crashtest: build
	@if [ "$(CRASHTEST_ENGINE)" = bitcask ]; then echo "crashtest: bitcask has no kill points: the kill loop only"; \
	 else bash scripts/crashtest.sh --kill-points --engine $(CRASHTEST_ENGINE) --rounds $(KILLPOINT_ROUNDS) --build-dir $(BUILD_DIR); fi
	@bash scripts/crashtest.sh --seconds $(CRASHTEST_SECONDS) --engine $(CRASHTEST_ENGINE) --build-dir $(BUILD_DIR)
	@LSMKV_TXN_CRASH_CYCLES=$(TXN_CRASH_CYCLES) $(BUILD_DIR)/transaction_crash_test

# Memory soak: the stress workload for SOAK_SECONDS with its RSS sampled;
# fails if it grows more than 1 MB/hour after the warm-up (docs/RELIABILITY.md).
.PHONY: soak
soak: build
	@bash scripts/soak.sh --seconds $(SOAK_SECONDS) --build-dir $(BUILD_DIR)

# lsmkv-server under redis-benchmark load and hostile clients for
# SOAK_SERVER_SECONDS; fails on a slow PING, RSS growth or errors
# (docs/RELIABILITY.md, "Server soak").
.PHONY: soak-server
soak-server: build
	@timeout $$(( $(SOAK_SERVER_SECONDS) + 300 )) bash scripts/soak_server.sh \
	  --seconds $(SOAK_SERVER_SECONDS) --build-dir $(BUILD_DIR)

# lsmkv-server with data larger than memory: 10M-member collections of each
# type and a memory budget against redis-server (scripts/server_bigdata.sh;
# docs/BENCHMARKS.md, "Big data"). About 15 minutes on 2 cores.
BIGDATA_MEMBERS ?= 10000000
.PHONY: server-bigdata
server-bigdata: build
	@timeout 45m bash scripts/server_bigdata.sh --build-dir $(BUILD_DIR) --members $(BIGDATA_MEMBERS)

# Replication under faults (server/cluster_test.py, docs/replication.md): a
# 3-node cluster with the default snapshot settings, a 5-node cluster, and a
# 3-node cluster whose small snapshot settings force snapshot installs, each
# for JEPSEN_SECONDS of kill -9, SIGSTOP, partitions and restarts under client load, then
# checked for identical replicas, acknowledged writes and linearizability.
.PHONY: jepsen
jepsen: build
	@/usr/bin/python3 server/cluster_test.py --server $(BUILD_DIR)/lsmkv-server \
	  --lincheck $(BUILD_DIR)/lsmkv-lincheck --nodes 3 --seconds $(JEPSEN_SECONDS)
	@/usr/bin/python3 server/cluster_test.py --server $(BUILD_DIR)/lsmkv-server \
	  --lincheck $(BUILD_DIR)/lsmkv-lincheck --nodes 5 --seconds $(JEPSEN_SECONDS) --workers 6
	@/usr/bin/python3 server/cluster_test.py --server $(BUILD_DIR)/lsmkv-server \
	  --lincheck $(BUILD_DIR)/lsmkv-lincheck --nodes 3 --seconds $(JEPSEN_SECONDS) \
	  --snapshot-threshold 256 --snapshot-trailing 128

# Redis's own test suite (tests/ of Debian's redis 7.0.15 source package,
# fetched once into ~/.cache/lsmkv-redis-suite) in external mode against a
# fresh lsmkv-server and, for reference, a fresh redis-server, per unit of
# REDIS_SUITE_UNITS; prints passed/failed per server, the ratio, and the
# exception (often an unknown command) that stopped each unit. Fails only if
# the run itself breaks, or below REDIS_SUITE_REQUIRE_RATIO when set
# (docs/REDIS_COMPAT.md, "Redis's own test suite").
.PHONY: redis-suite
redis-suite: build
	@bash scripts/redis_suite.sh --build-dir $(BUILD_DIR) --units "$(REDIS_SUITE_UNITS)" $(if \
	  $(REDIS_SUITE_REQUIRE_RATIO),--require-ratio $(REDIS_SUITE_REQUIRE_RATIO))

# libFuzzer targets over the decoders (fuzz/, built with clang into build-fuzz),
# FUZZ_SECONDS each (see docs/RELIABILITY.md).
.PHONY: fuzz
fuzz: bootstrap
	@bash scripts/fuzz.sh --seconds-per-target $(FUZZ_SECONDS)

# The metamorphic test (src/db/db_metamorphic_test.cc) for METAMORPHIC_SECONDS:
# consecutive seeds from METAMORPHIC_SEED_BASE, METAMORPHIC_OPS operations each,
# every sequence over every option set and a std::map model; a failure is
# shrunk (METAMORPHIC_SHRINK=1). `make test` runs the same binary on 4 seeds.
.PHONY: metamorphic
metamorphic: bootstrap
	@cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Check $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TEST_BUILD_DIR) -j $(JOBS) --target db_metamorphic_test
	@METAMORPHIC_SECONDS=$(METAMORPHIC_SECONDS) METAMORPHIC_OPS=$(METAMORPHIC_OPS) \
	  METAMORPHIC_SEED_BASE=$(METAMORPHIC_SEED_BASE) METAMORPHIC_SHRINK=1 \
	  $(TEST_BUILD_DIR)/db_metamorphic_test --gtest_filter='DbMetamorphicTest.SameResultsUnderEveryOptionSet'

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) build-asan build-tsan build-fuzz
