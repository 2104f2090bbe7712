# The layering check (docs/design.md, "Layers"): no include from a lower layer
# into a higher one or between siblings.
add_test(NAME layering_check COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/check_layers.sh)
# Clang's thread-safety analysis over src/ and server/ (scripts/tsa.sh): first a
# self-test (known locking mistakes must be rejected), then every non-test .cc with
# -Wthread-safety -Werror. Fails when clang++ is missing (bootstrap installs it).
add_test(NAME tsa_check COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/tsa.sh --self-test --jobs 2)
set_tests_properties(tsa_check PROPERTIES TIMEOUT 600)
# The formatting check: every C++ file as clang-format writes it (.clang-format).
add_test(NAME format_check COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/check_format.sh)
# Tests of the tools and the installed package (shell scripts driven by ctest).
add_test(NAME cli_test COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cli_test.sh $<TARGET_FILE:lsmkv_cli>)
add_test(NAME install_test
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}
                 "${LSMKV_SANITIZE_FLAGS}")
set_tests_properties(install_test PROPERTIES TIMEOUT 300)
if(LSMKV_BUILD_BENCH)
  add_test(NAME bench_smoke COMMAND lsmkv_bench --num=10000 --sync_num=400 --db=${PROJECT_BINARY_DIR}/bench_smoke_db)
  set_tests_properties(bench_smoke PROPERTIES TIMEOUT 300)
endif()
if(TARGET lsmkv_engines_bench)
  # Every workload once on each engine and LMDB, 2,000 entries; an engine not in this
  # build yet (NotSupported at open) is skipped and the output says so.
  add_test(NAME engines_bench_smoke
           COMMAND lsmkv_engines_bench --num=2000 --rounds=1
                   --db=${PROJECT_BINARY_DIR}/engines_bench_smoke_db)
  set_tests_properties(engines_bench_smoke PROPERTIES TIMEOUT 120)
  # Bitcask's start-up with hint files and scanning its data, each open checked.
  add_test(NAME engines_bench_bitcask_startup_smoke
           COMMAND lsmkv_engines_bench --bitcask_startup=2000,5000 --rounds=1
                   --db=${PROJECT_BINARY_DIR}/engines_bench_startup_smoke_db)
  set_tests_properties(engines_bench_bitcask_startup_smoke PROPERTIES TIMEOUT 120)
endif()
if(TARGET lsmkv_peer_bench)
  # Every workload once on lsmkv, RocksDB and LevelDB, 10,000 entries.
  add_test(NAME peer_bench_smoke
           COMMAND lsmkv_peer_bench --num=10000 --sync_num=400 --runs=1 --machine_mb=16
                   --db=${PROJECT_BINARY_DIR}/peer_bench_smoke_db
                   --report=${PROJECT_BINARY_DIR}/peer_bench_smoke.md)
  set_tests_properties(peer_bench_smoke PROPERTIES TIMEOUT 300)
  # The transaction benchmark, every engine and distribution, briefly.
  add_test(NAME txn_bench_smoke
           COMMAND lsmkv_txn_bench --keys=2000 --seconds=0.2 --runs=1 --threads=1,4
                   --db=${PROJECT_BINARY_DIR}/txn_bench_smoke_db
                   --report=${PROJECT_BINARY_DIR}/txn_bench_smoke.md)
  set_tests_properties(txn_bench_smoke PROPERTIES TIMEOUT 120)
endif()
# Kill -9 loop over lsmkv_stress (docs/RELIABILITY.md): 20 cycles with short kill delays.
add_test(NAME crashtest_smoke
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/crashtest.sh --cycles 20 --max-sleep 1 --seconds 240
                 --build-dir $<TARGET_FILE_DIR:lsmkv_stress>)
set_tests_properties(crashtest_smoke PROPERTIES TIMEOUT 300)
# lsmkv_stress --engine and crashtest.sh --engine: the flags, their errors, the ENGINE file.
add_test(NAME stress_engine_test
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/stress_engine_test.sh
                 $<TARGET_FILE_DIR:lsmkv_stress> ${PROJECT_SOURCE_DIR})
set_tests_properties(stress_engine_test PROPERTIES TIMEOUT 120)
# The same loop on the B+tree and Bitcask engines (lsmkv_stress --engine), shorter. Skipped
# (exit 77) only while DB::Open answers NotSupported for the engine (not in this build yet).
foreach(engine btree bitcask)
  add_test(NAME crashtest_smoke_${engine}
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/crashtest.sh --engine ${engine} --skip-unsupported
                   --cycles 10 --max-sleep 1 --seconds 120 --keys 4000
                   --build-dir $<TARGET_FILE_DIR:lsmkv_stress>)
  set_tests_properties(crashtest_smoke_${engine} PROPERTIES TIMEOUT 200 SKIP_RETURN_CODE 77)
endforeach()
# Kill points (src/env/kill_point_env.h): every point once just before and once just after its
# step, reopen and verify after each kill; prints how many points were hit.
add_test(NAME crashtest_killpoints
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/crashtest.sh --kill-points --keys 2000
                 --build-dir $<TARGET_FILE_DIR:lsmkv_stress>)
set_tests_properties(crashtest_killpoints PROPERTIES TIMEOUT 300)
# The same for the B+tree engine's points: the directory, the page file, the logs.
add_test(NAME crashtest_killpoints_btree
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/crashtest.sh --kill-points --engine btree
                 --keys 2000 --build-dir $<TARGET_FILE_DIR:lsmkv_stress>)
set_tests_properties(crashtest_killpoints_btree PROPERTIES TIMEOUT 300)
# libFuzzer targets (scripts/fuzz.sh, docs/RELIABILITY.md): built with clang, 10 s each. Not
# defined in the sanitizer builds (the fuzz build is ASan+UBSan already). Without clang the
# script exits 77 and ctest reports the test as Skipped (not Passed); scripts/bootstrap.sh
# installs clang.
if(LSMKV_SANITIZE STREQUAL "")
  add_test(NAME fuzz_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/fuzz.sh --seconds-per-target 10
                   --build-dir ${PROJECT_BINARY_DIR}/fuzz --allow-missing-clang)
  set_tests_properties(fuzz_smoke PROPERTIES TIMEOUT 1200 SKIP_RETURN_CODE 77)
endif()
