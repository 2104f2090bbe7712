# lsmkv-server: the Redis-protocol server (server/) and its tests.
# Included by the top-level CMakeLists.txt. Needs standalone Asio (Debian
# libasio-dev), prometheus-cpp (prometheus-cpp-dev), Lua 5.1 with lua-cjson and
# lua-bitop (liblua5.1-0-dev, lua-cjson-dev, lua-bitop-dev: EVAL) and OpenSSL's libcrypto (libssl-dev:
# script SHA1s), all installed by scripts/bootstrap.sh.
find_path(ASIO_INCLUDE_DIR NAMES asio.hpp)
find_package(prometheus-cpp CONFIG QUIET)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(LUA51 QUIET IMPORTED_TARGET lua5.1)
  pkg_check_modules(LUA51_CJSON QUIET IMPORTED_TARGET lua5.1-cjson)
  pkg_check_modules(LUA51_BITOP QUIET IMPORTED_TARGET lua5.1-bitop)
endif()
find_package(OpenSSL QUIET COMPONENTS Crypto)
if(NOT ASIO_INCLUDE_DIR OR NOT prometheus-cpp_FOUND OR NOT LUA51_FOUND OR NOT LUA51_CJSON_FOUND
   OR NOT LUA51_BITOP_FOUND OR NOT OpenSSL_FOUND)
  message(STATUS "lsmkv-server skipped: libasio-dev, prometheus-cpp-dev, liblua5.1-0-dev, lua-cjson-dev, lua-bitop-dev and libssl-dev are needed (scripts/bootstrap.sh)")
  return()
endif()

# Everything but main() and the tests, shared by the binary and the tests.
file(GLOB LSMKV_SERVER_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/server/*.cc)
list(FILTER LSMKV_SERVER_SOURCES EXCLUDE REGEX "(_test|_main)\\.cc$")
add_library(lsmkv_server_lib STATIC ${LSMKV_SERVER_SOURCES})
# server/ headers use src/util (Mutex, thread-safety annotations, CHECK/DCHECK).
target_include_directories(lsmkv_server_lib PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/src)
target_include_directories(lsmkv_server_lib SYSTEM PUBLIC ${ASIO_INCLUDE_DIR})
target_compile_definitions(lsmkv_server_lib PUBLIC ASIO_STANDALONE)
# Replicated servers run a Raft node (server/cluster.h, replication/).
target_link_libraries(lsmkv_server_lib PUBLIC lsmkv_static lsmkv_replication prometheus-cpp::pull Threads::Threads)
target_link_libraries(lsmkv_server_lib PRIVATE PkgConfig::LUA51_CJSON PkgConfig::LUA51_BITOP PkgConfig::LUA51 OpenSSL::Crypto)
if(LSMKV_SANITIZE STREQUAL "thread")
  # g++ 12 warns (-Wtsan) that Asio's std::atomic_thread_fence is invisible to
  # ThreadSanitizer; the warning is about Asio's headers, not our code.
  target_compile_options(lsmkv_server_lib PUBLIC -Wno-tsan)
endif()

add_executable(lsmkv_server server/server_main.cc)
set_target_properties(lsmkv_server PROPERTIES OUTPUT_NAME lsmkv-server)
target_link_libraries(lsmkv_server PRIVATE lsmkv_server_lib)
# The hostile clients of scripts/soak_server.sh (not installed).
add_executable(lsmkv_abuse server/abuse_main.cc)
set_target_properties(lsmkv_abuse PROPERTIES OUTPUT_NAME lsmkv-abuse)
target_link_libraries(lsmkv_abuse PRIVATE lsmkv_server_lib)
include(GNUInstallDirs)
install(TARGETS lsmkv_server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

if(LSMKV_BUILD_TESTS)
  find_package(GTest REQUIRED)
  # Unit tests: parser, replies, glob, value encoding, config, command logic.
  file(GLOB LSMKV_SERVER_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/server/*_test.cc)
  list(FILTER LSMKV_SERVER_TESTS EXCLUDE REGEX "(server_integration_test|server_full_disk_test|server_blocking_e2e_test)\\.cc$")
  foreach(test_source ${LSMKV_SERVER_TESTS})
    get_filename_component(test_name ${test_source} NAME_WE)
    add_executable(server_${test_name} ${test_source})
    target_link_libraries(server_${test_name} PRIVATE lsmkv_server_lib GTest::gtest GTest::gtest_main)
    add_test(NAME server_${test_name} COMMAND server_${test_name})
    set_tests_properties(server_${test_name} PROPERTIES TIMEOUT 120)
  endforeach()
  # The command tests again on a replicated node's key layout (hash slot
  # after the database head: value_codec.h), through CommandsTest's
  # LSMKV_TEST_KEY_LAYOUT.
  foreach(test_name commands_test commands_hash_test commands_list_test commands_set_test
          commands_zset_test commands_stream_test commands_sort_test commands_bits_test
          databases_test blocking_test)
    add_test(NAME server_${test_name}_slotted COMMAND server_${test_name})
    set_tests_properties(server_${test_name}_slotted PROPERTIES TIMEOUT 120
      ENVIRONMENT "LSMKV_TEST_KEY_LAYOUT=slotted")
  endforeach()

  # Integration: starts lsmkv-server processes on free loopback ports and
  # drives them with a RESP client (and redis-server, when installed, as the
  # reference for exact replies).
  add_executable(server_integration_test server/server_integration_test.cc server/test_client.cc)
  target_link_libraries(server_integration_test PRIVATE lsmkv_server_lib GTest::gtest GTest::gtest_main)
  add_test(NAME server_integration_test COMMAND server_integration_test)
  set_tests_properties(server_integration_test PROPERTIES TIMEOUT 300
    ENVIRONMENT "LSMKV_SERVER_BIN=$<TARGET_FILE:lsmkv_server>")

  # Blocking commands end to end: a real server process and RESP clients.
  add_executable(server_blocking_e2e_test server/server_blocking_e2e_test.cc server/test_client.cc)
  target_link_libraries(server_blocking_e2e_test PRIVATE lsmkv_server_lib GTest::gtest GTest::gtest_main)
  add_test(NAME server_blocking_e2e_test COMMAND server_blocking_e2e_test)
  set_tests_properties(server_blocking_e2e_test PROPERTIES TIMEOUT 180
    ENVIRONMENT "LSMKV_SERVER_BIN=$<TARGET_FILE:lsmkv_server>")

  # A real full disk: mounts a small tmpfs (root only; exits 77, reported as
  # skipped, without the right to mount) and fills it through the server.
  add_executable(server_full_disk_test server/server_full_disk_test.cc server/test_client.cc)
  target_link_libraries(server_full_disk_test PRIVATE lsmkv_server_lib lsmkv_testutil GTest::gtest)
  add_test(NAME server_full_disk_test COMMAND server_full_disk_test)
  set_tests_properties(server_full_disk_test PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77
    ENVIRONMENT "LSMKV_SERVER_BIN=$<TARGET_FILE:lsmkv_server>")

  # A short run of make soak-server (scripts/soak_server.sh): bounds loose
  # enough for a loaded machine and the Check build; exits 77 (skipped)
  # without redis-tools.
  add_test(NAME server_soak_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/soak_server.sh --seconds 20
                   --build-dir ${PROJECT_BINARY_DIR} --max-ping-ms 5000 --max-p99-ms 1000
                   --max-growth-mb 512 --allow-missing-tools)
  set_tests_properties(server_soak_smoke PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)

  # A short run of make redis-suite (scripts/redis_suite.sh): Redis's own
  # type/incr, pubsub and multi units (a few seconds each) against this
  # lsmkv-server and redis-server. Never downloads the suite: exits 77
  # (skipped) unless `make redis-suite` has cached it. Fails if the run
  # breaks, or if lsmkv-server passes less than 0.9 of what redis-server
  # passes in any of them (today: 23/23, 29/29, 30/32).
  add_test(NAME server_redis_suite_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/redis_suite.sh --cached-only
                   --build-dir ${PROJECT_BINARY_DIR} --units "type/incr pubsub multi"
                   --unit-timeout 100
                   --logs ${PROJECT_BINARY_DIR}/redis-suite-smoke
                   --require-ratio 0.9)
  set_tests_properties(server_redis_suite_smoke PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)

  # Replication (docs/replication.md): three replicated lsmkv-server processes
  # on loopback under client load while leaders are killed (SIGKILL), paused
  # (SIGSTOP) and partitioned (a proxy per node) and followers killed; small snapshot settings make
  # restarted nodes catch up by snapshot installs. Checks identical replicas,
  # every acknowledged append present, a linearizable history (with a negative
  # control) and redis-py's RedisCluster. make jepsen runs it longer.
  add_test(NAME server_cluster_smoke
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/server/cluster_test.py
                   --server $<TARGET_FILE:lsmkv_server>
                   --lincheck $<TARGET_FILE:lsmkv_lincheck_cli>
                   --nodes 3 --seconds 60 --snapshot-threshold 512 --snapshot-trailing 256)
  set_tests_properties(server_cluster_smoke PROPERTIES TIMEOUT 600)
  add_test(NAME server_cluster_connection_test
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/server/cluster_connection_test.py
                   --server $<TARGET_FILE:lsmkv_server>)
  set_tests_properties(server_cluster_connection_test PROPERTIES TIMEOUT 120)

  # redis-cli and redis-benchmark against the server (Debian redis-tools).
  add_test(NAME server_cli_test
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/server_cli_test.sh $<TARGET_FILE:lsmkv_server>)
  set_tests_properties(server_cli_test PROPERTIES TIMEOUT 300)
endif()
