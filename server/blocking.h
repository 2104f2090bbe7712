// Blocking commands (BLPOP, BLMOVE, BZPOPMIN...): the keys clients wait on,
// and who to wake when a write makes one of them ready.
//
// Protocol (no lost wake-up): a blocking command that finds nothing to take
// registers its client (Wait) while its handler still holds the stripes of
// its keys (KeyLocks). A writer of one of those keys holds the key's stripe
// from its read to its Commit, so it either committed before the
// registration (the blocked command saw its data and did not block) or
// takes the stripe after it; Txn::Put then sees HasWaiters() and records the
// key, and Txn::Commit calls Signal for it once the write is applied. A
// woken client runs its command again (and, finding nothing, registers
// again, under its stripes).
//
// First come, first served: Signal wakes only the oldest waiter of the key.
// If it takes an element and the key still holds more, its own write (the
// collection's metadata, Put) signals the key again and wakes the next; if
// the key is left empty (deleted) there is nothing for the next one. A woken
// client that cannot take its turn (it disconnected) passes the wake-up on
// by signalling its keys again (Connection::OnWake).
//
// Keys are data keys (value_codec.h: database and user key), so a client
// blocked in one database is not woken by writes in another.
//
// Thread safety: every method is thread-safe. Wakers run on the thread that
// calls Signal or Cancel-free paths (never under the registry's lock); they
// must only post work elsewhere (a connection's strand), never block.
#ifndef LSMKV_SERVER_BLOCKING_H_
#define LSMKV_SERVER_BLOCKING_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

class BlockingKeys {
 public:
  using Waker = std::function<void()>;

  BlockingKeys() = default;
  BlockingKeys(const BlockingKeys&) = delete;
  BlockingKeys& operator=(const BlockingKeys&) = delete;

  // Registers a waiter on keys (data keys; duplicates are ignored); wake is
  // called once, by the first Signal of any of them, unless Cancel runs
  // first. Returns a ticket (> 0) for Cancel. REQUIRES: keys non-empty.
  uint64_t Wait(const std::vector<std::string>& keys, Waker wake) EXCLUDES(mu_);
  // Forgets the waiter (timeout, disconnect, or its command ran again); a
  // no-op if it was already woken or cancelled. True if it was still
  // waiting (then its waker will never be called).
  bool Cancel(uint64_t ticket) EXCLUDES(mu_);
  // Wakes the oldest waiter of key (if any) and forgets it on every key.
  void Signal(std::string_view key) EXCLUDES(mu_);
  // Wakes (and forgets) every waiter: after FLUSHALL/FLUSHDB, so that a
  // blocked XREADGROUP sees its stream gone; the others find nothing and
  // wait on.
  void SignalAll() EXCLUDES(mu_);

  // Signals every key waited on (the oldest waiter of each): for changes
  // that make keys ready without writing them, such as SWAPDB, which gives
  // a database another's contents. A woken client that finds nothing
  // registers again, so waking too many costs only a retry.
  void SignalEvery() EXCLUDES(mu_);
  // True if anyone waits: writers record the keys they write only then.
  bool HasWaiters() const { return waiters_.load(std::memory_order_acquire) > 0; }
  // Waiters registered now (INFO blocked_clients).
  uint64_t waiters() const { return waiters_.load(std::memory_order_acquire); }

 private:
  struct Waiter {
    std::vector<std::string> keys;
    Waker wake;
  };
  // Removes ticket from every key's list. REQUIRES: the waiter exists.
  void Forget(uint64_t ticket, const Waiter& waiter) REQUIRES(mu_);

  mutable Mutex mu_;
  uint64_t next_ticket_ GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, Waiter> waiters_by_ticket_ GUARDED_BY(mu_);
  // Per key, its waiters' tickets in registration order (tickets grow).
  std::unordered_map<std::string, std::vector<uint64_t>> by_key_ GUARDED_BY(mu_);
  std::atomic<uint64_t> waiters_{0};
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_BLOCKING_H_
