#include "util/mutex.h"

#include <gtest/gtest.h>

#include <thread>

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
  bool other_got_it = true;  // the mutex is held again on return
  std::thread([&] {
    other_got_it = mu.TryLock();
    if (other_got_it) mu.Unlock();
  }).join();
  EXPECT_FALSE(other_got_it);
}

TEST(MutexTest, TryLockFailsWhileHeld) {
  Mutex mu;
  ASSERT_TRUE(mu.TryLock());
  bool other_got_it = true;
  std::thread([&] {
    other_got_it = mu.TryLock();
    if (other_got_it) mu.Unlock();
  }).join();
  EXPECT_FALSE(other_got_it);
  mu.Unlock();
}

}  // namespace
}  // namespace lsmkv
