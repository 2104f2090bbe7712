# Tests of the tools and the installed package (shell scripts driven by ctest).
add_test(NAME cli_test COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cli_test.sh $<TARGET_FILE:lsmkv_cli>)
add_test(NAME install_test
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(install_test PROPERTIES TIMEOUT 300)
if(LSMKV_BUILD_BENCH)
  add_test(NAME bench_smoke COMMAND lsmkv_bench --num=10000 --sync_num=400 --db=${PROJECT_BINARY_DIR}/bench_smoke_db)
  set_tests_properties(bench_smoke PROPERTIES TIMEOUT 300)
endif()
