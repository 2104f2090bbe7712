#include "server/key_locks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace lsmkv::server {
namespace {

TEST(KeyLocksTest, LockExcludesOtherHolders) {
  KeyLocks locks;
  KeyLocks::Guard guard = locks.Lock({"a", "b", "a"});
  std::atomic<bool> got{false};
  EXPECT_EQ(locks.waiters(), 0u);
  std::thread other([&] {
    KeyLocks::Guard g = locks.LockOne("b");
    got = true;
  });
  // The other thread has found "b" taken and waits (or is about to).
  while (locks.waiters() == 0) std::this_thread::yield();
  EXPECT_FALSE(got.load());
  guard.Release();
  other.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(locks.waiters(), 0u);
}

TEST(KeyLocksTest, WaitersCountsEveryBlockedLocker) {
  KeyLocks locks;
  KeyLocks::Guard all = locks.LockAll();
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    KeyLocks::Guard g = locks.LockOne("x");
    done++;
  });
  threads.emplace_back([&] {
    KeyLocks::Guard g = locks.Lock({"y", "z"});
    done++;
  });
  threads.emplace_back([&] {
    KeyLocks::Guard g = locks.LockAll();
    done++;
  });
  while (locks.waiters() < 3) std::this_thread::yield();
  EXPECT_EQ(locks.waiters(), 3u);
  EXPECT_EQ(done.load(), 0);
  // Uncontended locking never counts as waiting.
  KeyLocks other;
  KeyLocks::Guard free = other.Lock({"a", "b"});
  EXPECT_EQ(other.waiters(), 0u);
  all.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 3);
  EXPECT_EQ(locks.waiters(), 0u);
}

TEST(KeyLocksTest, TryExtendNeverBlocksAndUndoesOnFailure) {
  KeyLocks locks;
  KeyLocks::Guard mine;
  ASSERT_TRUE(locks.TryExtend(&mine, {"x", "y"}));
  EXPECT_FALSE(mine.empty());
  ASSERT_TRUE(locks.TryExtend(&mine, {"x"}));  // already held: nothing to take
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  std::thread other([&] {
    KeyLocks::Guard g = locks.LockOne("busy");
    holding = true;
    while (!release) std::this_thread::yield();
  });
  while (!holding) std::this_thread::yield();
  // "fresh" would be taken, "busy" cannot: neither is kept.
  EXPECT_FALSE(locks.TryExtend(&mine, {"fresh", "busy"}));
  release = true;
  other.join();
  mine.Release();
  // Nothing leaked: every stripe can be taken again.
  KeyLocks::Guard all = locks.LockAll();
  EXPECT_TRUE(all.holds_all());
}

}  // namespace
}  // namespace lsmkv::server
