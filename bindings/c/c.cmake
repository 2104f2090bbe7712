# The C API (include/lsmkv/c.h, docs/c_api.md). Its code is part of the lsmkv
# library itself (C programs link -llsmkv), and its tests:
#   c_test           bindings/c/c_test.c, LevelDB's c_test rewritten for lsmkv (C99, -pedantic)
#   c_api_test       bindings/c/c_api_test.cc, the additions (gtest; the header from C++)
#   c_test_upstream  LevelDB 1.23's own db/c_test.c from Debian's source package, renamed
#                    (bindings/c/run_upstream_c_test.sh; fails when it cannot run)
target_sources(lsmkv_objects PRIVATE ${PROJECT_SOURCE_DIR}/bindings/c/c.cc)
set_source_files_properties(${PROJECT_SOURCE_DIR}/bindings/c/c.cc PROPERTIES COMPILE_DEFINITIONS
  "LSMKV_C_VERSION_MAJOR=${PROJECT_VERSION_MAJOR};LSMKV_C_VERSION_MINOR=${PROJECT_VERSION_MINOR}")

if(LSMKV_BUILD_TESTS)
  add_executable(c_test ${PROJECT_SOURCE_DIR}/bindings/c/c_test.c)
  set_target_properties(c_test PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  target_compile_options(c_test PRIVATE -pedantic -Werror)
  target_link_libraries(c_test PRIVATE lsmkv_static)
  add_test(NAME c_test COMMAND c_test)
  # Each test its own directory (lsmkv_env_get_test_directory reads TEST_TMPDIR).
  set_tests_properties(c_test PROPERTIES TIMEOUT 300
                       ENVIRONMENT "TEST_TMPDIR=${PROJECT_BINARY_DIR}/c_test_dir")

  add_executable(c_api_test ${PROJECT_SOURCE_DIR}/bindings/c/c_api_test.cc)
  target_link_libraries(c_api_test PRIVATE lsmkv_testutil GTest::gmock)
  target_compile_definitions(c_api_test PRIVATE
    LSMKV_TEST_VERSION_MAJOR=${PROJECT_VERSION_MAJOR} LSMKV_TEST_VERSION_MINOR=${PROJECT_VERSION_MINOR})
  add_test(NAME c_api_test COMMAND c_api_test)
  set_tests_properties(c_api_test PROPERTIES TIMEOUT 300
                       ENVIRONMENT "TEST_TMPDIR=${PROJECT_BINARY_DIR}/c_api_test_dir")

  # LevelDB's own c_test.c against the shared library: fetched once from Debian's
  # source package (cached in ~/.cache/lsmkv-peers), renamed, compiled, run.
  add_test(NAME c_test_upstream
           COMMAND bash ${PROJECT_SOURCE_DIR}/bindings/c/run_upstream_c_test.sh
                   --include ${PROJECT_SOURCE_DIR}/include --lib-dir $<TARGET_FILE_DIR:lsmkv_shared>
                   --cc ${CMAKE_C_COMPILER} --cxx ${CMAKE_CXX_COMPILER}
                   --flags "${LSMKV_SANITIZE_FLAGS}" --work ${PROJECT_BINARY_DIR}/c_test_upstream)
  set_tests_properties(c_test_upstream PROPERTIES TIMEOUT 300)
endif()
