// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with
// clang thread-safety annotations (util/thread_annotations.h), so that fields
// marked GUARDED_BY(mu_) and functions marked REQUIRES(mu_) are checked by
// `make tsa`. Same cost as the std types they wrap.
//
// Thread safety: these are the synchronisation primitives.
#ifndef LSMKV_UTIL_MUTEX_H_
#define LSMKV_UTIL_MUTEX_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "util/futex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis that the caller holds the mutex (it cannot be checked
  // at run time with std::mutex; use where the analysis cannot follow a lock
  // taken elsewhere, with a comment saying where).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

  // Lockable, for std::scoped_lock and friends (unchecked by the analysis:
  // prefer MutexLock).
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A lock for critical sections of a few instructions taken by many threads
// at once (copying a pointer): it spins instead of sleeping in the kernel, so
// that two threads meeting on it cost a few cache-line transfers rather than
// a futex sleep and wake-up (tens of microseconds). After a short spin it
// yields the CPU, so a holder that was preempted still gets to run. Never
// hold it across anything that may block. No condition variables.
class CAPABILITY("mutex") SpinMutex {
 public:
  SpinMutex() = default;
  SpinMutex(const SpinMutex&) = delete;
  SpinMutex& operator=(const SpinMutex&) = delete;

  void Lock() ACQUIRE() {
    for (int spins = 0;; spins++) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 100) {
          std::this_thread::yield();
        } else {
          CpuRelax();
        }
      }
    }
  }
  void Unlock() RELEASE() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// Holds a SpinMutex for its scope.
class SCOPED_CAPABILITY SpinMutexLock {
 public:
  explicit SpinMutexLock(SpinMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~SpinMutexLock() RELEASE() { mu_->Unlock(); }
  SpinMutexLock(const SpinMutexLock&) = delete;
  SpinMutexLock& operator=(const SpinMutexLock&) = delete;

 private:
  SpinMutex* const mu_;
};

// A mutex in one 32-bit word, for large arrays of locks (the commit stripes
// of transactions: tens of thousands of them cost 4 bytes each, where a
// std::mutex costs 40). Sleeps in the kernel when contended, as a Mutex
// does, on a futex (util/futex.h: no yielding spin). The word is
// 0 unlocked, 1 locked, 2 locked with possible waiters — the three-state
// futex mutex of Drepper's "Futexes Are Tricky" — so an uncontended
// Lock/Unlock pair is two atomic operations and no system call. Not
// recursive; no condition variables.
class CAPABILITY("mutex") WordMutex {
 public:
  WordMutex() = default;
  WordMutex(const WordMutex&) = delete;
  WordMutex& operator=(const WordMutex&) = delete;

  void Lock() ACQUIRE() {
    uint32_t c = kUnlocked;
    if (state_.compare_exchange_strong(c, kLocked, std::memory_order_acquire)) return;
    // Contended: mark that a waiter may sleep, and sleep while it is held.
    if (c != kContended) c = state_.exchange(kContended, std::memory_order_acquire);
    while (c != kUnlocked) {
      FutexWait(&state_, kContended);
      c = state_.exchange(kContended, std::memory_order_acquire);
    }
  }
  bool TryLock() TRY_ACQUIRE(true) {
    uint32_t c = kUnlocked;
    return state_.compare_exchange_strong(c, kLocked, std::memory_order_acquire);
  }
  void Unlock() RELEASE() {
    if (state_.exchange(kUnlocked, std::memory_order_release) == kContended) FutexWakeOne(&state_);
  }

 private:
  static constexpr uint32_t kUnlocked = 0, kLocked = 1, kContended = 2;
  std::atomic<uint32_t> state_{kUnlocked};
};
static_assert(sizeof(WordMutex) == 4);

// A condition variable. Wait* take the Mutex the caller holds (always the
// same one for one CondVar), release it while asleep and hold it again when
// they return (spurious wake-ups happen: wait in a loop on the condition).
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: ownership stays with the caller
  }
  // False if the time ran out (the mutex is held again either way).
  template <typename Rep, typename Period>
  bool WaitFor(Mutex* mu, std::chrono::duration<Rep, Period> d) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool signalled = cv_.wait_for(lock, d) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_MUTEX_H_
