# The lsmkv Python module (bindings/python, docs/python.md), built with
# Debian's pybind11 for Debian's interpreter /usr/bin/python3 (where
# python3-pytest and python3-plyvel are installed; a pyenv python3 earlier on
# PATH is not used). Included from the top-level CMakeLists.txt.
set(LSMKV_PYTHON "/usr/bin/python3" CACHE FILEPATH "The Python interpreter the lsmkv module is built for")
option(LSMKV_BUILD_PYTHON "Build the lsmkv Python module" ON)

if(LSMKV_BUILD_PYTHON)
  set(PYTHON_EXECUTABLE ${LSMKV_PYTHON})
  set(Python_EXECUTABLE ${LSMKV_PYTHON})
  find_package(pybind11 CONFIG QUIET
               HINTS /usr/lib/python3/dist-packages/pybind11/share/cmake/pybind11)
  if(NOT pybind11_FOUND)
    message(WARNING "lsmkv Python module skipped: pybind11 not found (python3-pybind11, scripts/bootstrap.sh)")
  else()
    file(GLOB LSMKV_PY_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bindings/python/*.cc)
    pybind11_add_module(lsmkv_python MODULE ${LSMKV_PY_SOURCES})
    set_target_properties(lsmkv_python PROPERTIES OUTPUT_NAME lsmkv
                          LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/python)
    target_compile_definitions(lsmkv_python PRIVATE LSMKV_PY_VERSION="${PROJECT_VERSION}")
    # Public headers only; the engine is linked statically into the module.
    target_link_libraries(lsmkv_python PRIVATE lsmkv_static)
    message(STATUS "lsmkv Python module: for ${PYTHON_EXECUTABLE} (Python ${PYTHON_VERSION_STRING}${Python_VERSION}), "
                   "extension ${PYTHON_MODULE_EXTENSION}, built in ${PROJECT_BINARY_DIR}/python")
    # make install: the module goes to Debian's site directory for
    # /usr/bin/python3 under CMAKE_INSTALL_PREFIX (lib/python3/dist-packages).
    set(LSMKV_PY_INSTALL_DIR "lib/python3/dist-packages" CACHE STRING
        "Where make install puts the Python module (relative to the prefix)")
    install(TARGETS lsmkv_python LIBRARY DESTINATION ${LSMKV_PY_INSTALL_DIR})
    install(FILES ${PROJECT_SOURCE_DIR}/bindings/python/lsmkv.pyi DESTINATION ${LSMKV_PY_INSTALL_DIR})

    if(LSMKV_BUILD_TESTS AND LSMKV_SANITIZE STREQUAL "thread")
      # TSan cannot follow an uninstrumented CPython's threads and locks.
      message(STATUS "python_tests not registered in a ThreadSanitizer build")
    elseif(LSMKV_BUILD_TESTS)
      add_test(NAME python_tests
               COMMAND ${LSMKV_PYTHON} -m pytest -p no:cacheprovider -q
                       ${PROJECT_SOURCE_DIR}/bindings/python/tests)
      set(py_test_env "PYTHONPATH=${PROJECT_BINARY_DIR}/python;LSMKV_PY_EXPECT_DIR=${PROJECT_BINARY_DIR}/python")
      if(LSMKV_SANITIZE STREQUAL "address")
        # An ASan-built module in an uninstrumented interpreter: the runtime
        # must be loaded first; CPython's own allocations at exit are not
        # ours to report, so leak detection is off for this test only.
        execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so
                        OUTPUT_VARIABLE asan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
        execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libubsan.so
                        OUTPUT_VARIABLE ubsan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
        list(APPEND py_test_env "LD_PRELOAD=${asan_runtime}:${ubsan_runtime}"
             "ASAN_OPTIONS=detect_leaks=0")
      endif()
      set_tests_properties(python_tests PROPERTIES ENVIRONMENT "${py_test_env}" TIMEOUT 600)
      # plyvel's own test suite (`make plyvel-suite` fetches its file from
      # plyvel's source package, which Debian's archive as these machines
      # reach it does not serve: 404, docs/python.md). make test runs it when
      # the file is in the peer cache and reports it Skipped when it is not
      # (not in the ASan build: its runtime would be preloaded into bash).
      if(NOT LSMKV_SANITIZE STREQUAL "address")
        add_test(NAME python_plyvel_suite
                 COMMAND bash ${PROJECT_SOURCE_DIR}/bindings/python/run_plyvel_suite.sh
                         --cached-only --module-dir ${PROJECT_BINARY_DIR}/python --min-pass 52)
        set_tests_properties(python_plyvel_suite PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
      endif()
    endif()
  endif()
endif()
