#include "util/prefetch.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "util/random.h"

namespace lsmkv {
namespace {

// A writer advancing through a buffer in random steps is given every line
// from `distance` past its start to `distance` past where it stopped once,
// in ascending order, and nothing else.
TEST(PrefetchTest, EachLineAheadOfASequentialWriterIsGivenOnce) {
  alignas(64) static char buffer[1 << 16];
  Random rng(301);
  for (size_t distance :
       {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{512}, size_t{1000}}) {
    for (size_t start : {size_t{0}, size_t{1}, size_t{63}, size_t{100}}) {
      std::vector<uintptr_t> given;
      const char* cursor = buffer + start;
      const char* const limit = buffer + sizeof(buffer) / 2;
      while (cursor < limit) {
        const char* next = cursor + rng.Uniform(300);  // steps of 0 included
        ForEachLineAhead(cursor, next, distance, [&](const char* line) {
          given.push_back(reinterpret_cast<uintptr_t>(line));
        });
        cursor = next;
      }
      const uintptr_t lo = reinterpret_cast<uintptr_t>(buffer + start) + distance;
      const uintptr_t hi = reinterpret_cast<uintptr_t>(cursor) + distance;
      std::vector<uintptr_t> expected;
      for (uintptr_t line = (lo + 63) & ~uintptr_t{63}; line < hi; line += 64) {
        expected.push_back(line);
      }
      EXPECT_EQ(expected, given) << "distance " << distance << " start " << start;
    }
  }
}

TEST(PrefetchTest, AnEmptyStepGivesNothing) {
  alignas(64) static char buffer[256];
  int calls = 0;
  for (size_t offset = 0; offset < 128; offset++) {
    ForEachLineAhead(buffer + offset, buffer + offset, 64, [&](const char*) { calls++; });
  }
  EXPECT_EQ(0, calls);
}

// The writers prefetch past the end of what they own (an arena chunk, a
// mapped window before the file grows): that must never fault.
TEST(PrefetchTest, PrefetchingPastTheEndOfAMappingDoesNotFault) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* mem = mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(MAP_FAILED, mem);
  char* base = static_cast<char*>(mem);
  ASSERT_EQ(0, mprotect(base + page, page, PROT_NONE));  // a guard page
  ASSERT_EQ(0, munmap(base + 2 * page, page));           // and nothing mapped after it
  for (size_t distance : {size_t{64}, size_t{512}, page, 2 * page}) {
    PrefetchAheadOfWrites(base + page - 256, base + page, distance);
  }
  base[page - 1] = 1;  // the writable page is intact
  EXPECT_EQ(1, base[page - 1]);
  ASSERT_EQ(0, munmap(base, 2 * page));
}

}  // namespace
}  // namespace lsmkv
