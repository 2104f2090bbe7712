// KeyLocks: striped locks that make every command atomic with respect to the
// keys it names.
//
// Every write, and every read of several keys, holds the stripes of its keys
// for its whole read-modify-write and commit; stripes are always taken in
// ascending order (Guard sorts them), so commands never deadlock. FLUSHDB and
// EXEC of keyspace-wide commands take every stripe.
//
// WATCH is not here: it is an engine transaction's tracked reads
// (dispatcher.cc, ExecuteTransaction). EXEC holds the stripes of its watched
// keys from the moment it validates them until its commit, so a write to a
// watched key either commits before the validation (EXEC aborts) or waits
// until after the EXEC.
//
// A stripe found taken is first spun on, briefly, then slept on (SpinPolicy):
// a pipeline batch holds its stripes for tens of microseconds, about what a
// futex sleep and wake-up cost, so a second io thread that wants the same
// key (clients of one queue) takes the stripe the moment it is released
// instead of sleeping through the hand-over. At most SpinPolicy::max_spinners
// threads spin at once (by default one fewer than the CPUs this process may
// run on, so spinners alone never take every CPU from the holder), each for
// at most SpinPolicy::budget. The lock is not fair: a sleeper woken by a
// release may find the stripe taken again by a spinner, and sleeps until the
// next release (it is woken at every release while it waits).
//
// Locking annotations (util/thread_annotations.h): which stripes a Guard
// holds is decided at run time, which the static analysis cannot follow, so
// the functions that take and drop stripes for a Guard are
// NO_THREAD_SAFETY_ANALYSIS.
//
// Thread safety: all methods are thread-safe given the REQUIRES clauses.
#ifndef LSMKV_SERVER_KEY_LOCKS_H_
#define LSMKV_SERVER_KEY_LOCKS_H_

#include <atomic>
#include <bitset>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/check.h"
#include "util/futex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

// A stripe's lock: a futex-style mutex on one atomic word (0 free, 1 held,
// 2 held with waiters; waiting is a futex sleep, util/futex.h). Unlike std::mutex,
// one thread may hold hundreds of these (a pipeline batch over many keys,
// FLUSHDB's every stripe) without tripping ThreadSanitizer's deadlock
// detector, which tracks at most 64 mutexes per thread; TSan still sees the
// acquire/release ordering of the atomic. Deadlock freedom comes from
// KeyLocks' ascending acquisition order. Meets BasicLockable.
class CAPABILITY("mutex") StripeMutex {
 public:
  void lock() ACQUIRE() {
    uint32_t state = 0;
    if (state_.compare_exchange_strong(state, 1, std::memory_order_acquire)) return;
    if (state != 2) state = state_.exchange(2, std::memory_order_acquire);
    while (state != 0) {
      FutexWait(&state_, 2);
      state = state_.exchange(2, std::memory_order_acquire);
    }
  }
  bool try_lock() TRY_ACQUIRE(true) {
    uint32_t state = 0;
    return state_.compare_exchange_strong(state, 1, std::memory_order_acquire);
  }
  // Whether the lock looked free a moment ago (a spinner's cheap read before
  // try_lock; no ordering).
  bool looks_free() const { return state_.load(std::memory_order_relaxed) == 0; }
  void unlock() RELEASE() {
    if (state_.exchange(0, std::memory_order_release) == 2) FutexWakeOne(&state_);
  }
  // For the analysis: the caller holds this stripe (through a Guard). At run
  // time it can only check that someone holds it.
  void AssertHeld() const ASSERT_CAPABILITY(this) {
    DCHECK(state_.load(std::memory_order_relaxed) != 0);
  }

 private:
  std::atomic<uint32_t> state_{0};
};

class KeyLocks {
 public:
  static constexpr size_t kStripes = 1024;

  // How a thread that finds a stripe taken waits for it: it spins (pausing,
  // re-reading the lock) for at most budget while fewer than max_spinners
  // threads spin, then sleeps on the futex until woken. budget 0 or
  // max_spinners 0: never spin.
  struct SpinPolicy {
    std::chrono::nanoseconds budget{0};
    size_t max_spinners = 0;
  };
  // The default: a 50 µs budget (a pipeline batch of 16 list pops holds its
  // stripe about 20-40 µs on this project's reference machine,
  // docs/BENCHMARKS.md) and one spinner fewer than the CPUs in this
  // thread's affinity mask (sched_getaffinity; none on one CPU).
  static SpinPolicy DefaultSpinPolicy();

  // Ways a taken stripe was acquired (counters since construction).
  struct WaitStats {
    uint64_t spun = 0;       // taken while spinning
    uint64_t slept = 0;      // taken in the futex path (sleeping there if still taken)
    uint64_t spins_out = 0;  // spins whose budget ran out (then the futex path)
    uint64_t no_place = 0;   // no spinner place was free (straight to the futex path)
  };

  // Holds a set of stripes until destroyed (or Release()).
  class Guard {
   public:
    Guard() = default;
    Guard(Guard&& other) noexcept;
    Guard& operator=(Guard&& other) noexcept;
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() { Release(); }
    void Release() NO_THREAD_SAFETY_ANALYSIS;  // drops stripes chosen at run time
    bool holds_all() const { return all_; }
    bool empty() const { return stripes_.empty(); }

   private:
    friend class KeyLocks;
    KeyLocks* owner_ = nullptr;
    std::vector<size_t> stripes_;  // unique; ascending unless extended by TryExtend
    std::bitset<kStripes> held_;
    bool all_ = false;
  };

  explicit KeyLocks(SpinPolicy spin = DefaultSpinPolicy());

  size_t StripeOf(std::string_view key) const;
  // Locks the stripes of keys (any order, duplicates allowed). The Lock*
  // functions and TryExtend leave stripes held in the returned Guard, which
  // the analysis cannot follow: NO_THREAD_SAFETY_ANALYSIS.
  Guard Lock(const std::vector<std::string_view>& keys) NO_THREAD_SAFETY_ANALYSIS;
  Guard LockOne(std::string_view key) NO_THREAD_SAFETY_ANALYSIS;
  Guard LockAll() NO_THREAD_SAFETY_ANALYSIS;
  // Adds the stripes of keys that guard lacks, without blocking: if any is
  // taken by someone else, nothing is added and false is returned (the
  // caller then releases everything and blocks in Lock, so lock order never
  // inverts). REQUIRES: guard came from this KeyLocks (or is empty).
  bool TryExtend(Guard* guard, const std::vector<std::string_view>& keys) NO_THREAD_SAFETY_ANALYSIS;

  // Threads blocked (or about to block) waiting for a stripe someone else
  // holds: tests use it to know that a thread has reached a lock it cannot
  // take, instead of sleeping.
  size_t waiters() const { return waiters_.load(std::memory_order_acquire); }
  // Threads spinning on a taken stripe right now (never above
  // SpinPolicy::max_spinners); tests use it like waiters().
  size_t spinners() const { return spinners_.load(std::memory_order_acquire); }
  WaitStats wait_stats() const {
    return {spun_.load(std::memory_order_relaxed), slept_.load(std::memory_order_relaxed),
            spins_out_.load(std::memory_order_relaxed), no_place_.load(std::memory_order_relaxed)};
  }

 private:
  struct alignas(64) Stripe {
    StripeMutex mu;
  };

  // Takes stripe s, counting this thread in waiters_ while it must wait.
  void LockStripe(size_t s) NO_THREAD_SAFETY_ANALYSIS;
  // Spins on mu within spin_ (if a spinner's place is free); true if it took
  // mu, false if the budget ran out or no place was free (mu not taken).
  bool SpinToLock(StripeMutex& mu) NO_THREAD_SAFETY_ANALYSIS;
  void LockStripes(std::vector<size_t>* stripes) NO_THREAD_SAFETY_ANALYSIS;

  const SpinPolicy spin_;
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<size_t> waiters_{0};
  std::atomic<size_t> spinners_{0};
  std::atomic<uint64_t> spun_{0};
  std::atomic<uint64_t> slept_{0};
  std::atomic<uint64_t> spins_out_{0};
  std::atomic<uint64_t> no_place_{0};
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_KEY_LOCKS_H_
