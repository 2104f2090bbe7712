#include "util/striped_counter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <thread>
#include <vector>

namespace lsmkv {
namespace {

TEST(StripedCounterTest, SumsEveryOperator) {
  StripedCounter c;
  EXPECT_EQ(0u, c.load());
  c++;
  ++c;
  c += 40;
  c.fetch_add(58);
  EXPECT_EQ(100u, c.load());
  const uint64_t as_number = c;
  EXPECT_EQ(100u, as_number);
}

// Counts from many threads (more than there are cells, so some share one)
// all arrive, and a reader running meanwhile never sees the sum go down or
// past the total.
TEST(StripedCounterTest, ConcurrentAddsAllCount) {
  constexpr int kThreads = 2 * static_cast<int>(StripedCounter::kStripes) + 3;
  constexpr uint64_t kAdds = 20000;
  StripedCounter c;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      const uint64_t now = c.load();
      ASSERT_GE(now, last);
      ASSERT_LE(now, kThreads * kAdds * 2);
      last = now;
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; t++) {
    writers.emplace_back([&c, t] {
      for (uint64_t i = 0; i < kAdds; i++) {
        if (t % 2 == 0) {
          c++;
          c += 1;
        } else {
          c.fetch_add(2);
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(kThreads * kAdds * 2, c.load());
}

// Threads get different cells while there are cells to go round, and one
// thread keeps its cell.
TEST(StripedCounterTest, ThreadsAreSpreadOverTheCells) {
  std::vector<size_t> stripes(StripedCounter::kStripes);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < stripes.size(); i++) {
    threads.emplace_back([&stripes, i] {
      stripes[i] = StripedCounter::ThreadStripe();
      EXPECT_EQ(stripes[i], StripedCounter::ThreadStripe());
    });
  }
  for (std::thread& t : threads) t.join();
  // Cells are handed out round robin and no other thread of this binary
  // takes one meanwhile, so kStripes new threads use every cell once.
  const std::set<size_t> distinct(stripes.begin(), stripes.end());
  EXPECT_EQ(StripedCounter::kStripes, distinct.size());
  for (size_t s : stripes) EXPECT_LT(s, StripedCounter::kStripes);
}

}  // namespace
}  // namespace lsmkv
