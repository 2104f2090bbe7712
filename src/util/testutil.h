// Helpers shared by the tests (linked into test binaries only).
#ifndef LSMKV_UTIL_TESTUTIL_H_
#define LSMKV_UTIL_TESTUTIL_H_

#include <cstdint>
#include <string>

#include "lsmkv/comparator.h"

namespace lsmkv::test {

// Bytewise order reversed, named "test.ReverseBytewise": a comparator that
// is not the bytewise one, for the paths user comparators take. Its
// separator functions leave their arguments alone. Lives forever.
const Comparator* ReverseBytewiseComparator();

// A fresh, empty directory under $TMPDIR (or /tmp) whose name contains tag.
// The directory is not removed automatically.
std::string NewTempDir(const std::string& tag);

// Removes path and everything below it (best effort, for test cleanup).
void RemoveTree(const std::string& path);

// A seed for randomized tests: $LSMKV_TEST_SEED if set, else a fixed default.
// Tests print the seed they use so that a failure can be reproduced.
uint32_t TestSeed(uint32_t default_seed = 301);

// For tests of a real full filesystem: mounts a tmpfs of mount_options
// (e.g. "size=4m") on a fresh directory, sets *mount_dir to it, runs every
// test (REQUIRES: testing::InitGoogleTest ran), unmounts and removes it, and
// returns RUN_ALL_TESTS()'s result. Without the right to mount (not root)
// it prints SKIPPED and returns 77, which ctest reports as skipped when the
// test has SKIP_RETURN_CODE 77; other mount failures return 1.
int RunAllTestsOnTmpfs(const char* mount_options, std::string* mount_dir);

}  // namespace lsmkv::test

#endif  // LSMKV_UTIL_TESTUTIL_H_
