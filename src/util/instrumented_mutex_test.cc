// InstrumentedMutex: every acquisition is counted, hold and wait times are
// measured in nanoseconds with the cheap clock, and condition-variable waits
// split holds instead of counting the sleep.
#include "util/instrumented_mutex.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "util/testutil.h"

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

TEST(TickHistogramTest, BucketsAreContiguousFourToAnOctave) {
  EXPECT_EQ(0, TickHistogram::BucketFor(0));
  EXPECT_EQ(TickHistogram::kNumBuckets - 1, TickHistogram::BucketFor(UINT64_MAX));
  for (int b = 0; b < TickHistogram::kNumBuckets; b++) {
    const uint64_t lo = TickHistogram::BucketLowerBound(b);
    EXPECT_EQ(b, TickHistogram::BucketFor(lo)) << b;
    if (b + 1 < TickHistogram::kNumBuckets) {
      const uint64_t next = TickHistogram::BucketLowerBound(b + 1);
      ASSERT_GT(next, lo) << b;
      EXPECT_EQ(b, TickHistogram::BucketFor(next - 1)) << b;
      // A bucket spans at most a quarter of its lower bound (one tick below 4).
      EXPECT_LE(next - lo, std::max<uint64_t>(1, lo / 4)) << b;
    }
  }
}

TEST(TickHistogramTest, PercentilesWithinAnEighthCountsAndExtremesExact) {
  std::mt19937_64 rng(test::TestSeed());
  TickHistogram ticks;
  std::vector<double> values;
  for (int i = 0; i < 20000; i++) {
    // Spread over many octaves, as lock holds are: 1 to ~2^30 ticks.
    const uint64_t t = (rng() >> (34 + rng() % 30)) + 1;
    ticks.Add(t);
    values.push_back(static_cast<double>(t) * 0.5);
  }
  std::sort(values.begin(), values.end());
  const Histogram h = ticks.ToNanos(0.5);
  EXPECT_EQ(values.size(), h.Count());
  EXPECT_EQ(values.size(), ticks.Count());
  EXPECT_EQ(values.front(), h.Min());
  EXPECT_EQ(values.back(), h.Max());
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) {
    const double truth = values[static_cast<size_t>(p / 100.0 * (values.size() - 1))];
    // The Histogram's own buckets (about 1.2x apart) add their interpolation
    // to the 1/8 of the tick buckets.
    EXPECT_NEAR(truth, h.Percentile(p), 0.15 * truth) << p;
  }
  EXPECT_EQ(0u, TickHistogram().ToNanos(1.0).Count());
  TickHistogram one;
  one.Add(1000);
  EXPECT_EQ(1u, one.ToNanos(2.0).Count());
  EXPECT_EQ(2000.0, one.ToNanos(2.0).Max());
  EXPECT_EQ(2000.0, one.ToNanos(2.0).Min());
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
