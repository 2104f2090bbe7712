# The linearizability checker (docs/lincheck.md): the library lsmkv_lincheck
# (linked by replication.cmake's tests), the command-line tool lsmkv-lincheck
# (target lsmkv_lincheck_cli, as lsmkv_cli is the lsmkv tool) and their tests. Included by
# replication/replication.cmake. Needs nothing beyond the standard library
# (and CLI11 for the tool, found by the top CMakeLists.txt).
add_library(lsmkv_lincheck STATIC ${PROJECT_SOURCE_DIR}/replication/lincheck.cc)
target_include_directories(lsmkv_lincheck PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})

add_executable(lsmkv_lincheck_cli ${PROJECT_SOURCE_DIR}/replication/lincheck_main.cc)
set_target_properties(lsmkv_lincheck_cli PROPERTIES OUTPUT_NAME lsmkv-lincheck)
target_include_directories(lsmkv_lincheck_cli PRIVATE ${CLI11_INCLUDE_DIR})
target_link_libraries(lsmkv_lincheck_cli PRIVATE lsmkv_lincheck)

if(LSMKV_BUILD_TESTS)
  find_package(GTest REQUIRED)
  add_executable(replication_lincheck_test ${PROJECT_SOURCE_DIR}/replication/lincheck_test.cc)
  # The recorded histories are looked up in $LSMKV_PORCUPINE_DIR, then beside the source tree.
  target_compile_definitions(replication_lincheck_test
    PRIVATE LSMKV_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(replication_lincheck_test
    PRIVATE lsmkv_lincheck GTest::gtest GTest::gtest_main)
  add_test(NAME replication_lincheck_test COMMAND replication_lincheck_test
           --gtest_filter=-LincheckRecordedTest.*)
  set_tests_properties(replication_lincheck_test PROPERTIES TIMEOUT 300)
  # The checker against Porcupine's recorded histories and their verdicts
  # (../shared/porcupine, never copied into this tree). Where they are absent
  # the test skips, and ctest reports it Skipped, never Passed.
  add_test(NAME replication_lincheck_recorded COMMAND replication_lincheck_test
           --gtest_filter=LincheckRecordedTest.*)
  set_tests_properties(replication_lincheck_recorded PROPERTIES TIMEOUT 300
    SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")

  # Porcupine's recorded verdicts through the CLI, when the data is present
  # (replication_lincheck_test skips, saying where it looked, when it is not).
  set(LSMKV_PORCUPINE_DIR "${PROJECT_SOURCE_DIR}/../shared/porcupine")
  if(DEFINED ENV{LSMKV_PORCUPINE_DIR})
    set(LSMKV_PORCUPINE_DIR "$ENV{LSMKV_PORCUPINE_DIR}")
  elseif(NOT EXISTS "${LSMKV_PORCUPINE_DIR}/VERDICTS")
    set(LSMKV_PORCUPINE_DIR "/work/shared/porcupine")
  endif()
  if(EXISTS "${LSMKV_PORCUPINE_DIR}/VERDICTS")
    add_test(NAME replication_lincheck_verdicts
      COMMAND lsmkv_lincheck_cli --verdicts ${LSMKV_PORCUPINE_DIR})
    set_tests_properties(replication_lincheck_verdicts PROPERTIES TIMEOUT 300)
  endif()
endif()
