#include "server/key_locks.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
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

// A policy that spins as long as it takes: the spinner cannot fall back to
// sleeping, so which path took the stripe is known.
KeyLocks::SpinPolicy SpinForever(size_t spinners) {
  KeyLocks::SpinPolicy p;
  p.budget = std::chrono::hours(1);
  p.max_spinners = spinners;
  return p;
}

// Holds "k" while one other thread locks it, runs while_held (which waits
// for the state the test checks) before releasing, and returns the counters
// once the other thread has had the stripe.
template <typename WhileHeld>
KeyLocks::WaitStats ContendOnce(KeyLocks& locks, WhileHeld while_held) {
  KeyLocks::Guard held = locks.LockOne("k");
  std::thread other([&] { KeyLocks::Guard g = locks.LockOne("k"); });
  while_held();
  held.Release();
  other.join();
  return locks.wait_stats();
}

TEST(KeyLocksSpinTest, AWaiterSpinsAndTakesTheStripeWhenReleased) {
  KeyLocks locks(SpinForever(1));
  const KeyLocks::WaitStats st = ContendOnce(locks, [&] {
    while (locks.spinners() == 0) std::this_thread::yield();
    EXPECT_EQ(locks.waiters(), 1u);  // a spinner counts as waiting
  });
  EXPECT_EQ(st.spun, 1u);
  EXPECT_EQ(st.slept, 0u);
  EXPECT_EQ(st.spins_out, 0u);
  EXPECT_EQ(st.no_place, 0u);
  EXPECT_EQ(locks.spinners(), 0u);
  EXPECT_EQ(locks.waiters(), 0u);
}

TEST(KeyLocksSpinTest, SpinnersAreCappedAndTheOthersSleep) {
  KeyLocks locks(SpinForever(1));
  KeyLocks::Guard held = locks.LockOne("k");
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; i++) threads.emplace_back([&] { KeyLocks::Guard g = locks.LockOne("k"); });
  // One spins (until it has the stripe, which stays held meanwhile); the
  // other two find no place to spin and go to the futex.
  while (locks.wait_stats().no_place < 2) std::this_thread::yield();
  EXPECT_EQ(locks.spinners(), 1u);
  EXPECT_EQ(locks.waiters(), 3u);
  held.Release();
  for (auto& t : threads) t.join();
  const KeyLocks::WaitStats st = locks.wait_stats();
  EXPECT_EQ(st.spun, 1u);
  EXPECT_EQ(st.slept, 2u);
  EXPECT_EQ(st.no_place, 2u);
  EXPECT_EQ(st.spins_out, 0u);
}

TEST(KeyLocksSpinTest, ASpinThatRunsOutSleepsUntilWoken) {
  KeyLocks::SpinPolicy p;
  p.budget = std::chrono::microseconds(1);
  p.max_spinners = 1;
  KeyLocks locks(p);
  // The stripe stays held until the spin has given up: the waiter then
  // takes it in the futex path.
  const KeyLocks::WaitStats st = ContendOnce(locks, [&] {
    while (locks.wait_stats().spins_out == 0) std::this_thread::yield();
  });
  EXPECT_EQ(st.spun, 0u);
  EXPECT_EQ(st.slept, 1u);
  EXPECT_EQ(st.spins_out, 1u);
}

TEST(KeyLocksSpinTest, NoSpinningPolicyOnlySleeps) {
  KeyLocks locks(KeyLocks::SpinPolicy{});
  const KeyLocks::WaitStats st = ContendOnce(locks, [&] {
    while (locks.waiters() == 0) std::this_thread::yield();
    EXPECT_EQ(locks.spinners(), 0u);
  });
  EXPECT_EQ(st.spun, 0u);
  EXPECT_EQ(st.slept, 1u);
  EXPECT_EQ(st.spins_out, 0u);
  EXPECT_EQ(st.no_place, 0u);  // no spinning at all, not a place refused
}

TEST(KeyLocksSpinTest, TheDefaultLeavesACpuToTheHolder) {
  const KeyLocks::SpinPolicy p = KeyLocks::DefaultSpinPolicy();
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const size_t cpus = static_cast<size_t>(CPU_COUNT(&set));
  EXPECT_EQ(p.max_spinners, cpus > 1 ? cpus - 1 : 0u);
  EXPECT_GT(p.budget.count(), 0);
  EXPECT_LE(p.budget, std::chrono::milliseconds(1));
}

// Spinners and sleepers together never let two threads into one stripe.
TEST(KeyLocksSpinTest, SpinningKeepsMutualExclusion) {
  KeyLocks::SpinPolicy p;
  p.budget = std::chrono::microseconds(50);
  p.max_spinners = 2;
  KeyLocks locks(p);
  constexpr int kThreads = 6, kRounds = 3000;
  int64_t counter = 0;  // not atomic: the stripe is its only protection
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; i++) {
        KeyLocks::Guard g = locks.LockOne("queue");
        if (inside.fetch_add(1) != 0) overlaps++;
        counter++;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(counter, int64_t{kThreads} * kRounds);
  const KeyLocks::WaitStats st = locks.wait_stats();
  EXPECT_EQ(locks.spinners(), 0u);
  EXPECT_EQ(locks.waiters(), 0u);
  // Every wait that did not end spinning went to the futex path after its
  // spin ran out or for want of a place to spin.
  EXPECT_EQ(st.slept, st.spins_out + st.no_place);
}

}  // namespace
}  // namespace lsmkv::server
