#include "util/futex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace lsmkv {
namespace {

// A word that already differs: FutexWait returns without sleeping (with and
// without the spin).
TEST(FutexTest, ReturnsAtOnceWhenTheWordDiffers) {
  std::atomic<uint32_t> word{7};
  FutexWait(&word, 3);
  FutexWait(&word, 3, /*spins=*/0);
  SUCCEED();  // a sleep here would hang the test (ctest's timeout fails it)
}

// The protocol the writer queue and the locks use: a waiter loops on
// FutexWait until the word changes; the waker changes it, then wakes. No
// wake-up is lost whichever runs first: every one of many hand-overs
// between two threads completes (a lost one would hang).
TEST(FutexTest, HandOversBetweenTwoThreadsNeverLoseAWakeUp) {
  constexpr uint32_t kRounds = 20000;
  std::atomic<uint32_t> turn{0};  // even: main's turn, odd: the other's
  std::thread other([&] {
    for (uint32_t i = 0; i < kRounds; i++) {
      uint32_t t;
      while ((t = turn.load(std::memory_order_acquire)) != 2 * i + 1) {
        FutexWait(&turn, t, /*spins=*/static_cast<int>(i % 3));  // 0, 1 or 2 spins
      }
      turn.store(2 * i + 2, std::memory_order_release);
      FutexWakeOne(&turn);
    }
  });
  for (uint32_t i = 0; i < kRounds; i++) {
    uint32_t t;
    while ((t = turn.load(std::memory_order_acquire)) != 2 * i) FutexWait(&turn, t);
    turn.store(2 * i + 1, std::memory_order_release);
    FutexWakeOne(&turn);
  }
  other.join();
  EXPECT_EQ(2 * kRounds, turn.load());
}

// Many waiters on one word, each released once the word changes: those
// asleep by then by a FutexWakeOne each, those not yet asleep by the
// kernel's comparison of the word (whichever happens, none hangs).
TEST(FutexTest, EveryWakeOneReleasesASleeper) {
  constexpr int kThreads = 8;
  std::atomic<uint32_t> word{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&] {
      while (word.load(std::memory_order_acquire) == 0) FutexWait(&word, 0, /*spins=*/0);
      done.fetch_add(1);
    });
  }
  word.store(1, std::memory_order_release);
  for (int i = 0; i < kThreads; i++) FutexWakeOne(&word);
  for (auto& t : threads) t.join();
  EXPECT_EQ(kThreads, done.load());
}

}  // namespace
}  // namespace lsmkv
