// InstrumentedMutex: every acquisition is counted, hold and wait times are
// measured in nanoseconds with the cheap clock, and condition-variable waits
// split holds instead of counting the sleep.
#include "util/instrumented_mutex.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace lsmkv {
namespace {

void SpinFor(std::chrono::microseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

TEST(MutexClockTest, TicksConvertToWallTime) {
  const uint64_t t0 = MutexClock::Now();
  SpinFor(std::chrono::milliseconds(20));
  const double ns = static_cast<double>(MutexClock::Now() - t0) * MutexClock::NanosPerTick();
  EXPECT_GT(ns, 19e6);
  EXPECT_LT(ns, 200e6);  // generous: the machine may deschedule us
}

TEST(InstrumentedMutexTest, CountsEveryAcquisitionAndMeasuresHolds) {
  InstrumentedMutex mu;
  for (int i = 0; i < 100; i++) {
    std::lock_guard<InstrumentedMutex> guard(mu);
  }
  {
    std::lock_guard<InstrumentedMutex> guard(mu);
    SpinFor(std::chrono::milliseconds(5));
  }
  std::lock_guard<InstrumentedMutex> guard(mu);
  EXPECT_EQ(101u, mu.hold_nanos().Count());
  EXPECT_EQ(102u, mu.wait_nanos().Count());  // the current acquisition included
  EXPECT_GT(mu.hold_nanos().Max(), 4.5e6);
  EXPECT_LT(mu.hold_nanos().Median(), 1e6);
}

TEST(InstrumentedMutexTest, MeasuresContendedWaits) {
  InstrumentedMutex mu;
  std::unique_lock<InstrumentedMutex> lock(mu);
  std::atomic<bool> started{false};
  std::thread waiter([&] {
    started = true;
    std::lock_guard<InstrumentedMutex> guard(mu);
  });
  while (!started) std::this_thread::yield();
  SpinFor(std::chrono::milliseconds(10));
  lock.unlock();
  waiter.join();
  lock.lock();
  EXPECT_GT(mu.wait_nanos().Max(), 5e6) << "the waiter waited about 10 ms";
}

TEST(InstrumentedMutexTest, ConditionWaitSplitsTheHold) {
  InstrumentedMutex mu;
  InstrumentedCondVar cv;
  bool ready = false;
  std::thread signaller([&] {
    SpinFor(std::chrono::milliseconds(20));
    std::lock_guard<InstrumentedMutex> guard(mu);
    ready = true;
    cv.Signal();
  });
  {
    InstrumentedMutexLock lock(&mu);
    while (!ready) cv.Wait(&mu);
  }
  signaller.join();
  std::lock_guard<InstrumentedMutex> guard(mu);
  // The 20 ms asleep in Wait is neither a hold nor a wait.
  EXPECT_LT(mu.hold_nanos().Max(), 10e6);
}

}  // namespace
}  // namespace lsmkv
