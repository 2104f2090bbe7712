// Helpers shared by the tests (linked into test binaries only).
#ifndef LSMKV_UTIL_TESTUTIL_H_
#define LSMKV_UTIL_TESTUTIL_H_

#include <cstdint>
#include <string>

namespace lsmkv::test {

// A fresh, empty directory under $TMPDIR (or /tmp) whose name contains tag.
// The directory is not removed automatically.
std::string NewTempDir(const std::string& tag);

// Removes path and everything below it (best effort, for test cleanup).
void RemoveTree(const std::string& path);

// A seed for randomized tests: $LSMKV_TEST_SEED if set, else a fixed default.
// Tests print the seed they use so that a failure can be reproduced.
uint32_t TestSeed(uint32_t default_seed = 301);

}  // namespace lsmkv::test

#endif  // LSMKV_UTIL_TESTUTIL_H_
