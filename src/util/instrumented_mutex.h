// InstrumentedMutex: a std::mutex that measures how long callers wait to
// acquire it and how long each holder keeps it, into two histograms (in
// nanoseconds: most holds are far below a microsecond). Used for the DB mutex, whose contention
// "lsmkv.stats" reports.
//
// It is a CAPABILITY for clang's thread-safety analysis (`make tsa`): take it
// with InstrumentedMutexLock (or Lock/Unlock), wait on it with
// InstrumentedCondVar::Wait(&mu), which ends the current hold before sleeping
// and starts a new one when the mutex is reacquired (time asleep is neither
// wait nor hold time). It also satisfies Lockable (std::lock_guard works),
// but the analysis does not follow std lock types.
//
// Thread safety: the histograms are written only by the holder of the mutex,
// so they need no lock of their own; read them with the mutex held.
#ifndef LSMKV_UTIL_INSTRUMENTED_MUTEX_H_
#define LSMKV_UTIL_INSTRUMENTED_MUTEX_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "util/histogram.h"
#include "util/thread_annotations.h"

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

// Durations in MutexClock ticks, counted four buckets to a power of two
// (bucket b >= 4 holds [(4 + b % 4) << (b / 4 - 1), the next bucket's lower
// bound): so cheap to record that the DB mutex can time every acquisition and
// every hold (a bit scan, two compares and an increment, where Histogram::Add
// searches its bucket table and updates running moments: about 130
// instructions, four times per DB::Put, some 7 % of a sequential fill). Read
// as a Histogram in nanoseconds (ToNanos): each bucket's values at its middle,
// so a percentile is within 1/8 of the true value; count, minimum and
// maximum are exact. Not thread safe: the mutex's holder writes it.
class TickHistogram {
 public:
  static constexpr int kNumBuckets = 252;  // the bucket of UINT64_MAX is the last

  void Add(uint64_t ticks) {
    buckets_[BucketFor(ticks)]++;
    if (count_++ == 0 || ticks < min_) min_ = ticks;
    if (ticks > max_) max_ = ticks;
  }
  uint64_t Count() const { return count_; }

  static int BucketFor(uint64_t ticks) {
    if (ticks < 4) return static_cast<int>(ticks);
    const int msb = 63 - __builtin_clzll(ticks);  // >= 2
    return 4 * (msb - 1) + static_cast<int>((ticks >> (msb - 2)) & 3);
  }
  // The smallest tick count bucket b holds. REQUIRES: 0 <= b < kNumBuckets.
  static uint64_t BucketLowerBound(int b) {
    if (b < 4) return static_cast<uint64_t>(b);
    return (uint64_t{4} + static_cast<uint64_t>(b % 4)) << (b / 4 - 1);
  }

  // The recorded durations in nanoseconds, at nanos_per_tick: each bucket's
  // values at its middle (clamped to the exact minimum and maximum, which
  // are each recorded once as they are).
  Histogram ToNanos(double nanos_per_tick) const {
    Histogram h;
    if (count_ == 0) return h;
    const int lo = BucketFor(min_), hi = BucketFor(max_);
    for (int b = lo; b <= hi; b++) {
      uint64_t n = buckets_[b];
      if (n == 0) continue;
      if (b == lo) {
        h.Add(static_cast<double>(min_) * nanos_per_tick);
        n--;
      }
      if (b == hi && n > 0) {
        h.Add(static_cast<double>(max_) * nanos_per_tick);
        n--;
      }
      const double first = static_cast<double>(BucketLowerBound(b));
      const double width =
          b + 1 < kNumBuckets ? static_cast<double>(BucketLowerBound(b + 1)) - first : first;
      const double middle =
          std::clamp(first + (width - 1) / 2, static_cast<double>(min_), static_cast<double>(max_));
      h.Add(middle * nanos_per_tick, n);
    }
    return h;
  }

 private:
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  uint64_t buckets_[kNumBuckets] = {};
};

// The DB mutex: a capability for the thread-safety analysis (fields marked
// GUARDED_BY(mu_) may be touched only with it held; `make tsa`).
class CAPABILITY("mutex") InstrumentedMutex {
 public:
  InstrumentedMutex() : nanos_per_tick_(MutexClock::NanosPerTick()) {}
  InstrumentedMutex(const InstrumentedMutex&) = delete;
  InstrumentedMutex& operator=(const InstrumentedMutex&) = delete;

  void Lock() ACQUIRE() {
    if (mu_.try_lock()) {  // uncontended: no wait to time
      acquired_ = MutexClock::Now();
      wait_ticks_.Add(0);
      return;
    }
    const uint64_t start = MutexClock::Now();
    mu_.lock();
    acquired_ = MutexClock::Now();
    wait_ticks_.Add(Ticks(start, acquired_));
  }
  bool TryLock() TRY_ACQUIRE(true) {
    if (!mu_.try_lock()) return false;
    acquired_ = MutexClock::Now();
    wait_ticks_.Add(0);
    return true;
  }
  void Unlock() RELEASE() {
    hold_ticks_.Add(Ticks(acquired_, MutexClock::Now()));
    mu_.unlock();
  }
  // Tells the analysis that the caller holds this mutex where it cannot see
  // the acquisition (no run-time check; say at the call where it was taken).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

  // Lockable, so std::lock_guard / std::unique_lock work (tests); the
  // analysis follows only InstrumentedMutexLock and Lock/Unlock.
  void lock() ACQUIRE() { Lock(); }
  bool try_lock() TRY_ACQUIRE(true) { return TryLock(); }
  void unlock() RELEASE() { Unlock(); }

  // Waits for and holds of the mutex so far, in nanoseconds (TickHistogram:
  // percentiles within 1/8). REQUIRES: held.
  Histogram wait_nanos() const REQUIRES(this) { return wait_ticks_.ToNanos(nanos_per_tick_); }
  Histogram hold_nanos() const REQUIRES(this) { return hold_ticks_.ToNanos(nanos_per_tick_); }

 private:
  friend class InstrumentedCondVar;

  static uint64_t Ticks(uint64_t from, uint64_t to) { return to > from ? to - from : 0; }
  // Around a condition wait: the hold ends before sleeping and a new one
  // starts on waking (time asleep is neither wait nor hold time).
  void EndHold() { hold_ticks_.Add(Ticks(acquired_, MutexClock::Now())); }
  void StartHold() { acquired_ = MutexClock::Now(); }

  std::mutex mu_;
  const double nanos_per_tick_;
  // The holder's bookkeeping: written only by the thread holding mu_ (they
  // are the mutex's own state, so not GUARDED_BY(this): the analysis would
  // demand the capability inside Lock before it is acquired).
  uint64_t acquired_ = 0;  // MutexClock::Now() when the current holder acquired mu_
  TickHistogram wait_ticks_;
  TickHistogram hold_ticks_;
};

// Holds an InstrumentedMutex for its scope. Unlock/Lock drop and retake it in
// the middle of the scope (around file I/O); the destructor releases it only
// if held.
class SCOPED_CAPABILITY InstrumentedMutexLock {
 public:
  explicit InstrumentedMutexLock(InstrumentedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~InstrumentedMutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  InstrumentedMutexLock(const InstrumentedMutexLock&) = delete;
  InstrumentedMutexLock& operator=(const InstrumentedMutexLock&) = delete;

  // REQUIRES: held.
  void Unlock() RELEASE() {
    held_ = false;
    mu_->Unlock();
  }
  // REQUIRES: not held.
  void Lock() ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  InstrumentedMutex* const mu_;
  bool held_ = true;
};

// A condition variable used with an InstrumentedMutex. Wait* take the mutex
// the caller holds, release it while asleep and hold it again when they
// return (spurious wake-ups happen: wait in a loop on the condition).
class InstrumentedCondVar {
 public:
  InstrumentedCondVar() = default;
  InstrumentedCondVar(const InstrumentedCondVar&) = delete;
  InstrumentedCondVar& operator=(const InstrumentedCondVar&) = delete;

  void Wait(InstrumentedMutex* mu) REQUIRES(mu) {
    mu->EndHold();
    std::unique_lock<std::mutex> inner(mu->mu_, std::adopt_lock);
    cv_.wait(inner);
    inner.release();  // still held: ownership stays with the caller
    mu->StartHold();
  }
  // As Wait, returning after at most timeout.
  template <typename Rep, typename Period>
  void WaitFor(InstrumentedMutex* mu, std::chrono::duration<Rep, Period> timeout) REQUIRES(mu) {
    mu->EndHold();
    std::unique_lock<std::mutex> inner(mu->mu_, std::adopt_lock);
    cv_.wait_for(inner, timeout);
    inner.release();
    mu->StartHold();
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_INSTRUMENTED_MUTEX_H_
