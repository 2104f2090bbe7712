#include "util/mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace lsmkv {
namespace {

// A counter handed between two threads through a CondVar: each waits for its
// turn, so every increment happens under the mutex in strict alternation.
struct PingPong {
  Mutex mu;
  CondVar turn_changed;
  int turn GUARDED_BY(mu) = 0;
  int count GUARDED_BY(mu) = 0;

  void Play(int me, int rounds) {
    for (int i = 0; i < rounds; i++) {
      MutexLock lock(&mu);
      while (turn != me) turn_changed.Wait(&mu);
      count++;
      turn = 1 - me;
      turn_changed.SignalAll();
    }
  }
};

// Whether a TryLock from another thread succeeds (it unlocks again if so).
template <typename M>
bool AnotherThreadGetsIt(M& mu) NO_THREAD_SAFETY_ANALYSIS {
  bool got_it = false;
  std::thread([&] {
    got_it = mu.TryLock();
    if (got_it) mu.Unlock();
  }).join();
  return got_it;
}

TEST(MutexTest, CondVarHandsTurnsBetweenThreads) {
  PingPong p;
  std::thread other([&p] { p.Play(1, 1000); });
  p.Play(0, 1000);
  other.join();
  MutexLock lock(&p.mu);
  EXPECT_EQ(2000, p.count);
  EXPECT_EQ(0, p.turn);
}

TEST(MutexTest, WaitForTimesOutWithTheMutexHeld) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  EXPECT_FALSE(cv.WaitFor(&mu, std::chrono::milliseconds(1)));
  EXPECT_FALSE(AnotherThreadGetsIt(mu));  // the mutex is held again on return
}

TEST(MutexTest, TryLockFailsWhileHeld) {
  Mutex mu;
  ASSERT_TRUE(mu.TryLock());
  EXPECT_FALSE(AnotherThreadGetsIt(mu));
  mu.Unlock();
}

}  // namespace
// SpinMutex excludes: more threads than this machine has cores bump a plain
// counter and a pair that must stay equal under it; every increment counts.
TEST(SpinMutexTest, ExcludesUnderContention) {
  SpinMutex mu;
  uint64_t count = 0;  // a, b and count: only under mu
  uint64_t a = 0;
  uint64_t b = 0;
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  std::atomic<bool> torn{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; i++) {
        SpinMutexLock lock(&mu);
        if (a != b) torn = true;
        a++;
        count++;
        b++;
      }
    });
  }
  for (auto& t : threads) t.join();
  SpinMutexLock lock(&mu);
  EXPECT_EQ(count, uint64_t{kThreads} * kIncrements);
  EXPECT_FALSE(torn.load());
}

// WordMutex excludes as SpinMutex must, with threads sleeping on it (more
// threads than cores, and a critical section long enough to be preempted in).
TEST(WordMutexTest, ExcludesUnderContention) {
  WordMutex mu;
  uint64_t a = 0;  // a and b: only under mu
  uint64_t b = 0;
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  std::atomic<bool> torn{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; i++) {
        mu.Lock();
        if (a != b) torn = true;
        a++;
        if (i % 1000 == 0) std::this_thread::yield();  // give others a chance to sleep on it
        b++;
        mu.Unlock();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(a, uint64_t{kThreads} * kIncrements);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(torn.load());
}

TEST(WordMutexTest, TryLockFailsWhileHeldAndAWaiterWakes) {
  WordMutex mu;
  ASSERT_TRUE(mu.TryLock());
  EXPECT_FALSE(AnotherThreadGetsIt(mu));
  // A thread in Lock (asleep on it, or not there yet) gets it once the
  // holder unlocks; a lost wake-up hangs here.
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    mu.Lock();
    acquired = true;
    mu.Unlock();
  });
  mu.Unlock();
  waiter.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_TRUE(mu.TryLock());
  mu.Unlock();
}

}  // namespace lsmkv
