// InstrumentedMutex: a std::mutex that measures how long callers wait to
// acquire it and how long each holder keeps it, into two histograms (in
// nanoseconds: most holds are far below a microsecond). Used for the DB mutex, whose contention "lsmkv.stats" reports.
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
#include <mutex>

#include "util/histogram.h"

namespace lsmkv {

class InstrumentedMutex {
 public:
  InstrumentedMutex() = default;
  InstrumentedMutex(const InstrumentedMutex&) = delete;
  InstrumentedMutex& operator=(const InstrumentedMutex&) = delete;

  void lock() {
    const auto start = Clock::now();
    mu_.lock();
    acquired_ = Clock::now();
    wait_nanos_.Add(Nanos(acquired_ - start));
  }
  bool try_lock() {
    if (!mu_.try_lock()) return false;
    acquired_ = Clock::now();
    wait_nanos_.Add(0);
    return true;
  }
  void unlock() {
    hold_nanos_.Add(Nanos(Clock::now() - acquired_));
    mu_.unlock();
  }

  // cv.wait(lock) for a lock on this mutex. REQUIRES: lock owns this mutex.
  void Wait(std::condition_variable& cv, std::unique_lock<InstrumentedMutex>& lock) {
    hold_nanos_.Add(Nanos(Clock::now() - acquired_));
    std::unique_lock<std::mutex> inner(mu_, std::adopt_lock);
    cv.wait(inner);
    inner.release();
    acquired_ = Clock::now();
    (void)lock;
  }
  // As Wait, returning after at most timeout.
  template <typename Rep, typename Period>
  void WaitFor(std::condition_variable& cv, std::unique_lock<InstrumentedMutex>& lock,
               std::chrono::duration<Rep, Period> timeout) {
    hold_nanos_.Add(Nanos(Clock::now() - acquired_));
    std::unique_lock<std::mutex> inner(mu_, std::adopt_lock);
    cv.wait_for(inner, timeout);
    inner.release();
    acquired_ = Clock::now();
    (void)lock;
  }

  // REQUIRES: the mutex is held by the caller.
  const Histogram& wait_nanos() const { return wait_nanos_; }
  const Histogram& hold_nanos() const { return hold_nanos_; }

 private:
  using Clock = std::chrono::steady_clock;
  static double Nanos(Clock::duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }

  std::mutex mu_;
  Clock::time_point acquired_{};  // when the current holder acquired mu_
  Histogram wait_nanos_;
  Histogram hold_nanos_;
};

// The DB mutex's lock type.
using MutexLock = std::unique_lock<InstrumentedMutex>;

}  // namespace lsmkv

#endif  // LSMKV_UTIL_INSTRUMENTED_MUTEX_H_
