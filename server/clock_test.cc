#include "server/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace lsmkv::server {
namespace {

TEST(ClockTest, MicrosToMillisRoundsDown) {
  EXPECT_EQ(Clock::MicrosToMillis(0), 0);
  EXPECT_EQ(Clock::MicrosToMillis(999), 0);
  EXPECT_EQ(Clock::MicrosToMillis(1000), 1);
  EXPECT_EQ(Clock::MicrosToMillis(1700000000123999), 1700000000123);
  // Before the epoch: towards minus infinity, never ahead of the microseconds.
  EXPECT_EQ(Clock::MicrosToMillis(-1), -1);
  EXPECT_EQ(Clock::MicrosToMillis(-999), -1);
  EXPECT_EQ(Clock::MicrosToMillis(-1000), -1);
  EXPECT_EQ(Clock::MicrosToMillis(-1001), -2);
}

TEST(ClockTest, ManualClockStandsStillUntilMoved) {
  ManualClock clock(1700000000000500);
  EXPECT_EQ(clock.NowUs(), 1700000000000500);
  EXPECT_EQ(clock.NowMs(), 1700000000000);
  EXPECT_EQ(clock.NowMs(), 1700000000000);  // reading does not move it
  EXPECT_EQ(clock.AdvanceUs(499), 1700000000000999);
  EXPECT_EQ(clock.NowMs(), 1700000000000);
  EXPECT_EQ(clock.AdvanceUs(1), 1700000000001000);
  EXPECT_EQ(clock.NowMs(), 1700000000001);
  EXPECT_EQ(clock.AdvanceMs(99), 1700000000100);
  EXPECT_EQ(clock.NowUs(), 1700000000100000);
  // Backwards, as a stepped wall clock may go.
  EXPECT_EQ(clock.AdvanceMs(-200), 1699999999900);
  clock.SetUs(42);
  EXPECT_EQ(clock.NowUs(), 42);
  EXPECT_EQ(clock.NowMs(), 0);
}

TEST(ClockTest, ManualClockAdvancesAreNotLostAcrossThreads) {
  ManualClock clock(0);
  constexpr int kThreads = 4;
  constexpr int kSteps = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSteps; i++) clock.AdvanceUs(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(clock.NowUs(), kThreads * kSteps);
}

TEST(ClockTest, SystemClockIsOneWallClock) {
  const Clock* clock = SystemClock();
  EXPECT_EQ(clock, SystemClock());
  // Unix time, in microseconds: after 2020-01-01.
  EXPECT_GT(clock->NowUs(), int64_t{1577836800} * 1000000);
  EXPECT_GT(clock->NowMs(), int64_t{1577836800} * 1000);
}

}  // namespace
}  // namespace lsmkv::server
