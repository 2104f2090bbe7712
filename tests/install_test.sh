#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds examples/hello.cc
# against it three ways: find_package (shared and static) and pkg-config.
set -euo pipefail
build_dir=$1
source_dir=$2
extra_flags=${3:-}  # sanitizer flags of a sanitizer build: consumers must use them too
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
for f in include/lsmkv/db.h include/lsmkv/c.h lib/liblsmkv.a lib/liblsmkv.so bin/lsmkv \
         lib/cmake/lsmkv/lsmkvConfig.cmake lib/pkgconfig/lsmkv.pc; do
  [[ -e "$prefix/$f" ]] || { echo "install_test: missing $f"; exit 1; }
done
cmake -S "$source_dir/tests/install_consumer" -B "$work/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" -DEXAMPLE_SOURCE="$source_dir/examples/hello.cc" \
  -DCMAKE_CXX_FLAGS="$extra_flags" -DCMAKE_EXE_LINKER_FLAGS="$extra_flags" >/dev/null
cmake --build "$work/consumer" -j 2 >/dev/null
LD_LIBRARY_PATH="$prefix/lib" "$work/consumer/hello_shared" "$work/db1" | grep -q 'hello -> world'
"$work/consumer/hello_static" "$work/db2" | grep -q 'hello -> world'
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
g++ -std=c++20 $extra_flags "$source_dir/examples/hello.cc" -o "$work/hello_pc" \
  $(pkg-config --cflags lsmkv) $(pkg-config --static --libs lsmkv)
LD_LIBRARY_PATH="$prefix/lib" "$work/hello_pc" "$work/db3" | grep -q 'hello -> world'
# The C API from C: bindings/c/c_test.c (C99, -pedantic) against the installed header and
# liblsmkv.so, with nothing but pkg-config's flags.
cc -std=c99 -pedantic -Wall -Werror $extra_flags "$source_dir/bindings/c/c_test.c" -o "$work/c_test" \
  $(pkg-config --cflags lsmkv) $(pkg-config --libs lsmkv)
LD_LIBRARY_PATH="$prefix/lib" TEST_TMPDIR="$work/c_test_dir" "$work/c_test" 2>&1 | tail -1 | grep -qx PASS ||
  { echo "install_test: the C API test failed against the installed package"; exit 1; }
pkg-config --static --libs lsmkv | grep -q -- '-lzstd' || { echo "install_test: --static lacks private deps"; exit 1; }
echo "install_test: headers, libraries, tool, CMake package, pkg-config and the C API all work"
