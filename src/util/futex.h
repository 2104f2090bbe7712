// FutexWait, FutexWakeOne: sleeping on a 32-bit atomic word until another
// thread changes it — what C++20's std::atomic<uint32_t>::wait/notify offer,
// without their spin. libstdc++ 12 spins before it sleeps, and four of its
// spins are sched_yield system calls: with more waiting threads than cores
// (sixteen sync writers on two cores) the yields hand the CPU around among
// threads that have nothing to do, and perf showed a third of fillsync16's
// CPU time in them. Here a waiter checks the word a few times with the CPU's
// pause instruction (a hand-over between two running threads takes well
// under a microsecond) and then sleeps in the kernel; a waker's system call
// is the caller's to avoid (the lock and the writer queue that use these
// keep a "somebody may sleep" state and wake only then).
//
// Linux: the futex system call on the word's address, process-private.
// Elsewhere: std::atomic's wait/notify. Thread safety: these are
// synchronisation primitives; the ordering comes from the atomic operations
// on the word (a waiter re-reads it after waking), never from the system
// call.
#ifndef LSMKV_UTIL_FUTEX_H_
#define LSMKV_UTIL_FUTEX_H_

#include <atomic>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
// The system call, where there is one of that name (32-bit targets with
// only 64-bit time, such as riscv32, have futex_time64 instead: they use
// the portable path).
#if defined(__linux__) && defined(SYS_futex)
#define LSMKV_HAVE_FUTEX_SYSCALL 1
#else
#define LSMKV_HAVE_FUTEX_SYSCALL 0
#endif

namespace lsmkv {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "the futex word is the atomic's own storage");

// One pause of a spin-wait loop: tells the CPU this is a spin (less power, no
// memory-order mis-speculation when the word changes).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Returns once *word != expected, or maybe earlier (spuriously, or woken
// for an older change): callers re-check the word in a loop. Spins
// kFutexSpins pauses first, then sleeps while the word still holds
// expected. Never returns early because of a signal alone without the
// caller's loop seeing it (EINTR is a spurious return).
inline constexpr int kFutexSpins = 64;
inline void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int spins = kFutexSpins) {
  for (int i = 0; i < spins; i++) {
    if (word->load(std::memory_order_relaxed) != expected) return;
    CpuRelax();
  }
#if LSMKV_HAVE_FUTEX_SYSCALL
  // The kernel compares the word with expected under its own lock, so a
  // change (and its wake-up) between the load above and the sleep is never
  // missed: the call returns at once (EAGAIN).
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr,
            nullptr, 0);
#else
  word->wait(expected, std::memory_order_relaxed);
#endif
}

// Wakes one thread sleeping in FutexWait on word (none: a no-op system
// call). word may belong to an object that has just ended — a woken writer
// may return as soon as it sees its word change — the kernel wakes by
// address and wakes nobody, or somebody who re-checks.
inline void FutexWakeOne(std::atomic<uint32_t>* word) {
#if LSMKV_HAVE_FUTEX_SYSCALL
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
            0);
#else
  word->notify_one();
#endif
}

}  // namespace lsmkv

#endif  // LSMKV_UTIL_FUTEX_H_
