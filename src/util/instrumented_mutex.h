// InstrumentedMutex: a std::mutex that measures how long callers wait to
// acquire it and how long each holder keeps it, into two histograms (in
// nanoseconds: most holds are far below a microsecond). Used for the DB mutex, whose contention
// "lsmkv.stats" reports.
//
// It satisfies Lockable, so std::unique_lock<InstrumentedMutex> and
// std::lock_guard<InstrumentedMutex> work. Waiting on a condition variable
// goes through Wait/WaitFor, which end the current hold before sleeping and
// start a new one when the mutex is reacquired (time asleep is neither wait
// nor hold time).
//
// Thread safety: the histograms are written only by the holder of the mutex,
// so they need no lock of their own; read them with the mutex held.
#ifndef LSMKV_UTIL_INSTRUMENTED_MUTEX_H_
#define LSMKV_UTIL_INSTRUMENTED_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "util/histogram.h"

namespace lsmkv {

// Timestamps cheap enough to take on every lock and unlock: the CPU's
// time-stamp counter on x86-64 (constant-rate on every CPU this runs on:
// "constant_tsc"; a few nanoseconds to read, where a clock_gettime costs
// tens), steady_clock elsewhere. Thread safe.
class MutexClock {
 public:
  static uint64_t Now() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
  }
  // Nanoseconds per tick of Now(), measured once per process (a 1 ms spin
  // against steady_clock on x86-64).
  static double NanosPerTick() {
    static const double factor = Calibrate();
    return factor;
  }

 private:
  static double Calibrate() {
#if defined(__x86_64__)
    // Each clock reading is bracketed by two counter readings; a trial in
    // which the thread was descheduled inside a bracket has a wide one and
    // loses to the trial with the narrowest brackets.
    using Clock = std::chrono::steady_clock;
    double best = 1.0;
    uint64_t best_slack = UINT64_MAX;
    for (int trial = 0; trial < 5; trial++) {
      const uint64_t a0 = __rdtsc();
      const auto t0 = Clock::now();
      const uint64_t b0 = __rdtsc();
      while (Clock::now() - t0 < std::chrono::milliseconds(1)) {
      }
      const uint64_t a1 = __rdtsc();
      const auto t1 = Clock::now();
      const uint64_t b1 = __rdtsc();
      if (a1 <= b0) continue;
      const uint64_t slack = (b0 - a0) + (b1 - a1);
      if (slack >= best_slack) continue;
      const double ns = static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      // t0 lies in [a0, b0] and t1 in [a1, b1]: midpoint to midpoint.
      const double ticks = 0.5 * static_cast<double>(a1 + b1) - 0.5 * static_cast<double>(a0 + b0);
      best = ns / ticks;
      best_slack = slack;
      if (slack * 1000 < b1 - a0) break;  // brackets under 0.1 % of the interval
    }
    return best;
#else
    return 1e9 * std::chrono::steady_clock::period::num / std::chrono::steady_clock::period::den;
#endif
  }
};

class InstrumentedMutex {
 public:
  InstrumentedMutex() : nanos_per_tick_(MutexClock::NanosPerTick()) {}
  InstrumentedMutex(const InstrumentedMutex&) = delete;
  InstrumentedMutex& operator=(const InstrumentedMutex&) = delete;

  void lock() {
    if (mu_.try_lock()) {  // uncontended: no wait to time
      acquired_ = MutexClock::Now();
      wait_nanos_.Add(0);
      return;
    }
    const uint64_t start = MutexClock::Now();
    mu_.lock();
    acquired_ = MutexClock::Now();
    wait_nanos_.Add(Nanos(start, acquired_));
  }
  bool try_lock() {
    if (!mu_.try_lock()) return false;
    acquired_ = MutexClock::Now();
    wait_nanos_.Add(0);
    return true;
  }
  void unlock() {
    hold_nanos_.Add(Nanos(acquired_, MutexClock::Now()));
    mu_.unlock();
  }

  // cv.wait(lock) for a lock on this mutex. REQUIRES: lock owns this mutex.
  void Wait(std::condition_variable& cv, std::unique_lock<InstrumentedMutex>& lock) {
    hold_nanos_.Add(Nanos(acquired_, MutexClock::Now()));
    std::unique_lock<std::mutex> inner(mu_, std::adopt_lock);
    cv.wait(inner);
    inner.release();
    acquired_ = MutexClock::Now();
    (void)lock;
  }
  // As Wait, returning after at most timeout.
  template <typename Rep, typename Period>
  void WaitFor(std::condition_variable& cv, std::unique_lock<InstrumentedMutex>& lock,
               std::chrono::duration<Rep, Period> timeout) {
    hold_nanos_.Add(Nanos(acquired_, MutexClock::Now()));
    std::unique_lock<std::mutex> inner(mu_, std::adopt_lock);
    cv.wait_for(inner, timeout);
    inner.release();
    acquired_ = MutexClock::Now();
    (void)lock;
  }

  // REQUIRES: the mutex is held by the caller.
  const Histogram& wait_nanos() const { return wait_nanos_; }
  const Histogram& hold_nanos() const { return hold_nanos_; }

 private:
  double Nanos(uint64_t from, uint64_t to) const {
    return to > from ? static_cast<double>(to - from) * nanos_per_tick_ : 0.0;
  }

  std::mutex mu_;
  const double nanos_per_tick_;
  uint64_t acquired_ = 0;  // MutexClock::Now() when the current holder acquired mu_
  Histogram wait_nanos_;
  Histogram hold_nanos_;
};

// The DB mutex's lock type.
using MutexLock = std::unique_lock<InstrumentedMutex>;

}  // namespace lsmkv

#endif  // LSMKV_UTIL_INSTRUMENTED_MUTEX_H_
