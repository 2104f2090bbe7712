# Replication (docs/replication.md): the linearizability checker that judges
# recorded client histories (replication/lincheck.cmake) and the Raft-replicated
# state machine on libraft + libuv (both from Debian; libraft 0.22 from
# bookworm-backports, installed by scripts/bootstrap.sh).
include(${PROJECT_SOURCE_DIR}/replication/lincheck.cmake OPTIONAL)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(RAFT QUIET IMPORTED_TARGET raft>=0.17.1)
  pkg_check_modules(LIBUV QUIET IMPORTED_TARGET libuv)
endif()
if(NOT RAFT_FOUND OR NOT LIBUV_FOUND)
  message(FATAL_ERROR "libraft-dev >= 0.17.1 (bookworm-backports) and libuv1-dev are needed by replication/ and lsmkv-server: run scripts/bootstrap.sh")
endif()

# The replicated state machine and its libraft glue.
add_library(lsmkv_replication STATIC
  ${PROJECT_SOURCE_DIR}/replication/command.cc
  ${PROJECT_SOURCE_DIR}/replication/slots.cc
  ${PROJECT_SOURCE_DIR}/replication/snapshot.cc
  ${PROJECT_SOURCE_DIR}/replication/state_machine.cc
  ${PROJECT_SOURCE_DIR}/replication/raft_fsm.cc
  ${PROJECT_SOURCE_DIR}/replication/raft_node.cc)
target_include_directories(lsmkv_replication PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/src)
# Debian ships libraft as a static archive only; it needs libuv and lz4 at link time.
target_link_libraries(lsmkv_replication PUBLIC lsmkv_static PkgConfig::RAFT PkgConfig::LIBUV PkgConfig::LZ4)

if(LSMKV_BUILD_TESTS)
  find_package(GTest REQUIRED)
  # The command format and the state machine (apply, replay, digest).
  add_executable(replication_state_machine_test ${PROJECT_SOURCE_DIR}/replication/state_machine_test.cc)
  target_link_libraries(replication_state_machine_test PRIVATE lsmkv_replication lsmkv_testutil GTest::gtest GTest::gtest_main)
  add_test(NAME replication_state_machine_test COMMAND replication_state_machine_test)
  set_tests_properties(replication_state_machine_test PROPERTIES TIMEOUT 120)
  # Redis Cluster hash slots, checked against redis-server's CLUSTER KEYSLOT answers.
  add_executable(replication_slots_test ${PROJECT_SOURCE_DIR}/replication/slots_test.cc)
  target_link_libraries(replication_slots_test PRIVATE lsmkv_replication GTest::gtest GTest::gtest_main)
  add_test(NAME replication_slots_test COMMAND replication_slots_test)
  set_tests_properties(replication_slots_test PROPERTIES TIMEOUT 60)
  # RaftNode on libraft's real disk and TCP I/O: three nodes on loopback, restarts, snapshots.
  add_executable(replication_raft_node_test ${PROJECT_SOURCE_DIR}/replication/raft_node_test.cc)
  target_link_libraries(replication_raft_node_test PRIVATE lsmkv_replication lsmkv_testutil GTest::gtest GTest::gtest_main)
  add_test(NAME replication_raft_node_test COMMAND replication_raft_node_test)
  set_tests_properties(replication_raft_node_test PROPERTIES TIMEOUT 300
    ENVIRONMENT "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/replication/lsan_libraft.supp;TSAN_OPTIONS=halt_on_error=1 second_deadlock_stack=1 suppressions=${PROJECT_SOURCE_DIR}/replication/tsan_libraft.supp")
  # Deterministic clusters of real state machines on libraft's in-memory fixture: elections,
  # leader kills, partitions, lost and delayed messages; every run checked for acknowledged
  # writes, identical replicas and linearizability.
  if(TARGET lsmkv_lincheck)
    add_executable(replication_raft_fixture_test ${PROJECT_SOURCE_DIR}/replication/raft_fixture_test.cc)
    target_link_libraries(replication_raft_fixture_test PRIVATE lsmkv_replication lsmkv_lincheck lsmkv_testutil GTest::gtest GTest::gtest_main)
    add_test(NAME replication_raft_fixture_test COMMAND replication_raft_fixture_test)
    set_tests_properties(replication_raft_fixture_test PROPERTIES TIMEOUT 300)
  endif()
endif()
