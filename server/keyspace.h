// Keyspace: the Redis keyspace (database 0) on an lsmkv DB, and Txn, the
// unit in which commands read and change it.
//
// A command runs in one Txn: it reads keys (expired values read as absent),
// buffers its writes in one WriteBatch, and Commit applies them atomically
// with the fsync policy (appendfsync). The caller holds the KeyLocks stripes
// of every key a Txn writes (and, for consistent multi-key reads, reads)
// from the first read until Commit returns; that is what makes INCR, APPEND,
// SET NX... atomic. EXEC runs all queued commands in one Txn, whose reads
// then see the transaction's own earlier writes.
//
// Time: every expiry decision reads the Keyspace's Clock (clock.h), once per
// command: the dispatcher builds each Txn at clock()->NowMs().
//
// Thread safety: Keyspace is thread-safe. A Txn belongs to one thread.
#ifndef LSMKV_SERVER_KEYSPACE_H_
#define LSMKV_SERVER_KEYSPACE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "lsmkv/db.h"
#include "lsmkv/write_batch.h"
#include "server/clock.h"
#include "server/key_locks.h"
#include "server/value_codec.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

enum class FsyncPolicy { kAlways, kEverySec, kNo };

// A live value as a command sees it.
struct Entry {
  ValueType type = ValueType::kString;
  int64_t deadline_ms = 0;  // 0 = none
  std::string payload;
};

class Keyspace {
 public:
  // REQUIRES: db and clock outlive the Keyspace.
  Keyspace(DB* db, const Clock* clock);
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  DB* db() { return db_; }
  KeyLocks& locks() { return locks_; }
  // The clock every expiry decision on this keyspace uses.
  const Clock* clock() const { return clock_; }

  void set_fsync_policy(FsyncPolicy policy) { policy_.store(policy, std::memory_order_relaxed); }
  FsyncPolicy fsync_policy() const { return policy_.load(std::memory_order_relaxed); }

  // Reads user_key as of now_ms. *found is false if it is absent or expired.
  // Errors: the engine's (Corruption, IOError), or Corruption if the stored
  // value is not a valid encoding.
  // The calling thread's read buffer is kept for its next read only up to
  // 1 MiB; a larger value's buffer is released after the read.
  Status Read(std::string_view user_key, int64_t now_ms, Entry* out, bool* found);
  // For tests: the capacity of the calling thread's read buffer.
  static size_t TEST_ReadBufferCapacity();

  // Applies batch (one atomic engine write) with the current fsync policy:
  // always = synced before returning; everysec = synced within about a second
  // by SyncIfDirty; no = left to the operating system.
  Status Apply(WriteBatch* batch);

  // Makes every acknowledged write durable if any write since the last call
  // was not synced (the everysec thread calls it once a second).
  Status SyncIfDirty();

  // Deletes every key (data and expiry hints) in batches (engine writes, so
  // WATCHes of keys that existed see them). REQUIRES: all stripes held
  // (KeyLocks::LockAll). A crash part-way leaves some keys; each batch is
  // atomic.
  Status FlushAll();

  // Live keys and keys with a deadline, from a full scan; cached while no
  // write happened and no counted deadline has passed.
  Status CountKeys(int64_t now_ms, uint64_t* keys, uint64_t* with_deadline) EXCLUDES(count_mu_);

  // Bumped by every applied write (cache invalidation, INFO).
  uint64_t write_generation() const { return generation_.load(std::memory_order_acquire); }

  // Counters for INFO stats.
  std::atomic<uint64_t> keyspace_hits{0};
  std::atomic<uint64_t> keyspace_misses{0};
  std::atomic<uint64_t> expired_keys{0};
  std::atomic<uint64_t> syncs{0};
  std::atomic<int64_t> last_sync_error_ms{0};

 private:
  DB* const db_;
  const Clock* const clock_;
  KeyLocks locks_;
  std::atomic<FsyncPolicy> policy_{FsyncPolicy::kEverySec};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> unsynced_writes_{0};

  // CountKeys' cache; held during the scan, so concurrent DBSIZE/INFO
  // callers wait for one scan instead of each running their own.
  Mutex count_mu_;
  bool count_valid_ GUARDED_BY(count_mu_) = false;
  uint64_t count_generation_ GUARDED_BY(count_mu_) = 0;
  int64_t count_valid_until_ms_ GUARDED_BY(count_mu_) = 0;  // earliest counted deadline
  uint64_t count_keys_ GUARDED_BY(count_mu_) = 0;
  uint64_t count_with_deadline_ GUARDED_BY(count_mu_) = 0;
};

class Txn {
 public:
  // now_ms is the command's clock: every expiry decision of this Txn uses it.
  // With overlay (EXEC, pipeline batches), writes are kept per key until
  // Commit: reads see the Txn's own earlier writes, and a key written many
  // times is written to the engine once, with its last value (the batch is
  // atomic, so no reader could have seen the others). Without overlay, writes
  // go straight to the batch and a command must not read a key after
  // writing it.
  Txn(Keyspace* keyspace, int64_t now_ms, bool overlay = false);

  int64_t now_ms() const { return now_ms_; }
  // A pipeline batch advances the clock for each command it runs.
  void set_now_ms(int64_t now_ms) { now_ms_ = now_ms; }
  Keyspace* keyspace() { return keyspace_; }

  // The live value of user_key. Counts a keyspace hit or miss.
  Status Get(std::string_view user_key, Entry* out, bool* found);
  // Same without touching the hit/miss counters (internal lookups).
  Status Peek(std::string_view user_key, Entry* out, bool* found);

  // Buffers a write of user_key (and its expiry hint if deadline_ms > 0) and
  // marks its watchers dirty. REQUIRES: the key's stripe is held.
  void Put(std::string_view user_key, ValueType type, int64_t deadline_ms,
           std::string_view payload);
  // Buffers a deletion. REQUIRES: the key's stripe is held.
  void Delete(std::string_view user_key);

  bool has_writes() const { return pending_bytes_ > 0; }
  // Approximate bytes of the buffered writes.
  size_t pending_bytes() const { return pending_bytes_; }
  // Applies the buffered writes atomically (Keyspace::Apply) and empties the
  // Txn for reuse. On error nothing was applied (and the writes are dropped).
  Status Commit();

 private:
  // Transparent hashing: overlay lookups by string_view allocate nothing.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>()(key); }
  };

  Keyspace* keyspace_;
  int64_t now_ms_;
  bool use_overlay_;
  size_t pending_bytes_ = 0;
  WriteBatch batch_;  // direct writes (no overlay) and expiry hints
  // Overlay mode: encoded value per user key, or nullopt for deleted.
  using OverlayMap =
      std::unordered_map<std::string, std::optional<std::string>, KeyHash, std::equal_to<>>;
  OverlayMap overlay_;
  std::string scratch_key_;
  std::string scratch_value_;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_KEYSPACE_H_
