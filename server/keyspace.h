// Keyspace: the Redis keyspace (every database) on an lsmkv DB, and Txn, the
// unit in which commands read and change it.
//
// Databases: a client selects a *logical* database (SELECT); the keys carry
// a *physical* one (value_codec.h, DbKeyPrefix). The map between them is
// the identity until SWAPDB exchanges two entries; it is stored (the 'm'
// key "db-map") and read by LoadDatabaseMap.
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

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lsmkv/db.h"
#include "lsmkv/write_batch.h"
#include "server/blocking.h"
#include "server/clock.h"
#include "server/durable_view.h"
#include "server/key_locks.h"
#include "server/notify.h"
#include "server/value_codec.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

enum class FsyncPolicy { kAlways, kEverySec, kNo };

// Where a replicated server's writes go instead of the engine (cluster.h):
// Replicate returns once the batch is applied to the engine by replication,
// or with the error to reply.
class WriteReplicator {
 public:
  virtual ~WriteReplicator() = default;
  virtual Status Replicate(const WriteBatch& batch) = 0;
  // Grows with every write replication applied here (whoever proposed it).
  virtual uint64_t applied_index() const = 0;
  // True while this node may write (it leads): background writers (the
  // expiry sweep) skip their work otherwise.
  virtual bool Leading() const = 0;
  // The term this node leads in, once every entry committed before the term
  // is applied here; 0 when it does not lead. Each term's leader hands out
  // collection versions from the replicated floor (NewCollectionVersion).
  virtual uint64_t LeadingTerm() const = 0;
};

// A live value as a command sees it.
struct Entry {
  ValueType type = ValueType::kString;
  int64_t deadline_ms = 0;  // 0 = none
  std::string payload;
};

class Keyspace {
 public:
  // durable (may be null): where SyncIfDirty publishes the durable state for
  // the compaction filter (durable_view.h, ExpiryFilter::durable_view()).
  // REQUIRES: db, clock and durable outlive the Keyspace.
  Keyspace(DB* db, const Clock* clock, DurableView* durable = nullptr);
  // Clears the durable view (its iterator must not outlive the DB's Close).
  ~Keyspace();
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  DB* db() { return db_; }
  KeyLocks& locks() { return locks_; }
  // Replication (may be null: standalone). Set before the first command;
  // not owned. With one, Apply hands batches to it, SwapDatabases is refused
  // and write_generation() also counts the writes it applied.
  void set_replicator(WriteReplicator* replicator) { replicator_ = replicator; }
  WriteReplicator* replicator() const { return replicator_; }
  // The clients blocked on keys of this keyspace (blocking.h); Txn::Commit
  // wakes those waiting on the keys it wrote.
  BlockingKeys& blocking() { return blocking_; }
  // The clock every expiry decision on this keyspace uses.
  const Clock* clock() const { return clock_; }

  void set_fsync_policy(FsyncPolicy policy) { policy_.store(policy, std::memory_order_relaxed); }
  FsyncPolicy fsync_policy() const { return policy_.load(std::memory_order_relaxed); }

  // Reads the stored database map (the identity if none was stored). Called
  // once after construction, before any command. Errors: the engine's, or
  // Corruption for an undecodable map.
  Status LoadDatabaseMap();
  // The physical database of logical database db. REQUIRES: 0 <= db <
  // kMaxDatabases.
  int PhysicalDb(int db) const { return db_map_[db].load(std::memory_order_acquire); }
  // SWAPDB: exchanges the physical databases of logical a and b, stored
  // with sync before it takes effect. Errors: the engine's (nothing
  // changes). REQUIRES: all stripes held (KeyLocks::LockAll).
  Status SwapDatabases(int a, int b) EXCLUDES(db_map_mu_);
  // Bumped by every SWAPDB: a WATCH taken before one fails its EXEC (the
  // engine's conflict check sees no key written: only the map changed).
  uint64_t database_epoch() const { return database_epoch_.load(std::memory_order_acquire); }

  // Reads user_key of physical database db as of now_ms. *found is false if
  // it is absent or expired.
  // Errors: the engine's (Corruption, IOError), or Corruption if the stored
  // value is not a valid encoding.
  // The calling thread's read buffer is kept for its next read only up to
  // 1 MiB; a larger value's buffer is released after the read.
  Status Read(int db, std::string_view user_key, int64_t now_ms, Entry* out, bool* found);
  // The stored (encoded, value_codec.h) value of user_key in physical
  // database db, whatever its deadline; *present is false if there is none.
  // Errors: the engine's.
  Status ReadStored(int db, std::string_view user_key, std::string* stored, bool* present);
  // For tests: the capacity of the calling thread's read buffer.
  static size_t TEST_ReadBufferCapacity();

  // Applies batch (one atomic engine write) with the current fsync policy:
  // always = synced before returning; everysec = synced within about a second
  // by SyncIfDirty; no = left to the operating system (and to SyncIfDirty's
  // syncs for the durable view, below).
  Status Apply(WriteBatch* batch);

  // The background thread's once-a-second durability point, in every fsync
  // policy. If any write since the last call was not synced, or (with a
  // durable view) anything was written or the DB's table files changed since
  // the view was last published, or none is published yet: creates an
  // iterator over the current state (if the view needs one; it pins the
  // memtables and files it reads until replaced), then writes a synced
  // record, which makes every acknowledged write before it durable, and
  // after that succeeds publishes the iterator as the durable state
  // (DurableView::Publish). On error nothing is published and the unsynced
  // writes stay counted for the next call. Calls are serialised (sync_mu_),
  // so views are published in the order they were created. With appendfsync
  // no this still syncs the log about once a second when there were writes
  // (docs/REDIS_COMPAT.md).
  Status SyncIfDirty() EXCLUDES(sync_mu_);

  // Deletes every key of the keyspace — data and metadata records, expiry
  // hints, collection elements: every prefix of kKeyspacePrefixes — in one
  // atomic engine write of one range deletion per prefix, so it costs the
  // same whatever the keyspace holds, and a crash leaves all of it or none.
  // Server state ('m' keys: the collection-version floor, the sync marker)
  // is kept. Like any write it goes through Apply (fsync policy, generation:
  // CountKeys' cache is invalidated). Every WATCH taken before it then fails
  // its EXEC, whether or not its key existed: the engine's conflict check
  // treats a range deletion as a write of every key in the range.
  // On success, asks for the space to be reclaimed (TakeReclaimRequest).
  // Errors: the engine's; Busy if Options::max_range_tombstones range
  // deletions are still live (nothing is deleted then).
  // REQUIRES: all stripes held (KeyLocks::LockAll).
  Status FlushAll();
  // Like FlushAll, for the keys of physical database db only (one range
  // deletion per prefix of that database).
  Status FlushDb(int db);

  // True once after each successful FlushAll (then false until the next):
  // the background worker then flushes the memtable (DB::Flush) so that the
  // range deletions reach the version, where the engine's own compactions
  // for range deletions reclaim the data. Done off the command path: the
  // client's FLUSHALL never waits for it.
  bool TakeReclaimRequest() {
    return reclaim_requested_.exchange(false, std::memory_order_acq_rel);
  }

  // A collection version (collection.h) never handed out before on this
  // database, also across restarts and wall-clock steps back: a counter
  // seeded from the clock that stays below a floor stored, synced, in the
  // engine ('m' key); the floor is raised 2^32 versions at a time (one
  // synced write at the first call after startup and every 2^32 calls).
  // Replicated (a replicator is set), the floor is a replicated write and is
  // read again at the first call of every term this node leads, so a new
  // leader's versions start above every version an earlier leader handed out
  // (its floor was committed before those versions were used, and is
  // applied here before the term is ready), whatever the nodes' clocks.
  // Errors: the engine's, from reading or writing the floor, or the
  // replicator's.
  Status NewCollectionVersion(uint64_t* version) EXCLUDES(version_mu_);

  // Live keys and keys with a deadline in physical database db, from a
  // full scan of its data keys; cached while no write happened and no
  // counted deadline has passed.
  Status CountKeys(int db, int64_t now_ms, uint64_t* keys, uint64_t* with_deadline)
      EXCLUDES(count_mu_);

  // Bumped by every applied write (cache invalidation, INFO), replicated
  // ones included.
  uint64_t write_generation() const {
    return generation_.load(std::memory_order_acquire) +
           (replicator_ != nullptr ? replicator_->applied_index() : 0);
  }

  // Counters for INFO stats.
  std::atomic<uint64_t> keyspace_hits{0};
  std::atomic<uint64_t> keyspace_misses{0};
  std::atomic<uint64_t> expired_keys{0};
  std::atomic<uint64_t> syncs{0};
  std::atomic<int64_t> last_sync_error_ms{0};
  // False after DEBUG SET-ACTIVE-EXPIRE 0: the background expiry sweep
  // (background.h) is skipped; expired keys are still invisible to reads.
  std::atomic<bool> active_expire{true};

 private:
  DB* const db_;
  const Clock* const clock_;
  WriteReplicator* replicator_ = nullptr;
  KeyLocks locks_;
  BlockingKeys blocking_;
  std::atomic<FsyncPolicy> policy_{FsyncPolicy::kEverySec};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> unsynced_writes_{0};
  std::atomic<bool> reclaim_requested_{false};  // set by FlushAll
  DurableView* const durable_;                  // null: no durable view to publish

  // Serialises SyncIfDirty (held across its synced write).
  Mutex sync_mu_;
  // write_generation() read before the published view's iterator was made:
  // the view may miss writes counted after it, never writes counted before.
  uint64_t durable_generation_ GUARDED_BY(sync_mu_) = 0;
  // The DB's live table files when that view was made ("lsmkv.live-files").
  std::string durable_files_ GUARDED_BY(sync_mu_);

  // CountKeys' cache, per physical database; held during the scan, so
  // concurrent DBSIZE/INFO callers wait for one scan instead of each running
  // their own.
  struct KeyCount {
    bool valid = false;
    uint64_t generation = 0;
    int64_t valid_until_ms = 0;  // earliest counted deadline
    uint64_t keys = 0;
    uint64_t with_deadline = 0;
  };
  Mutex count_mu_;
  std::array<KeyCount, kMaxDatabases> counts_ GUARDED_BY(count_mu_);

  // Logical -> physical database (PhysicalDb). Written under db_map_mu_
  // (and every key stripe, SwapDatabases' caller), read without it.
  Mutex db_map_mu_;
  std::array<std::atomic<uint8_t>, kMaxDatabases> db_map_;
  std::atomic<uint64_t> database_epoch_{0};

  Mutex version_mu_;
  uint64_t next_version_ GUARDED_BY(version_mu_) = 0;
  uint64_t version_limit_ GUARDED_BY(version_mu_) = 0;  // stored floor; 0 = not read yet
  uint64_t version_term_ GUARDED_BY(version_mu_) = 0;   // replicated: the term it was read in
};

// Receives one element (engine key and value); returns false to stop.
using ElementVisitor = std::function<bool(std::string_view key, std::string_view value)>;

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
  // The physical database the Txn's Get/Peek/Put/Delete work on (0 until
  // set): the dispatcher sets it for each command from the client's
  // selected database (Keyspace::PhysicalDb). MOVE and COPY ... DB switch
  // it for their destination.
  int db() const { return db_; }
  void set_db(int db) { db_ = db; }
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
  // Buffers a deletion (Commit wakes the key's waiters, like Put's).
  // REQUIRES: the key's stripe is held.
  void Delete(std::string_view user_key);

  // Collection elements (collection.h): engine keys written as they are.
  // They are kept in key order until Commit, in every mode, so a command —
  // and the later commands of an EXEC or pipeline batch — reads its own
  // element writes. REQUIRES: the stripe of the element's user key is held.
  void PutElement(std::string_view key, std::string_view value);
  void DeleteElement(std::string_view key);
  // The value of element key: the Txn's own pending write if any, else the
  // engine's. *found is false if absent. Errors: the engine's.
  Status GetElement(std::string_view key, std::string* value, bool* found);
  // Visits the elements in [lower, upper) in key order, this Txn's pending
  // element writes merged in, until visit returns false; nothing if lower >=
  // upper. Errors: the engine's (visit may have been called before).
  Status ScanElements(std::string_view lower, std::string_view upper, const ElementVisitor& visit);
  // Like ScanElements, in descending key order: visits the elements in
  // [lower, upper) from the greatest down, pending writes merged in, until
  // visit returns false; nothing if lower >= upper. Errors: the engine's
  // (visit may have been called before).
  Status ScanElementsReverse(std::string_view lower, std::string_view upper,
                             const ElementVisitor& visit);
  // The greatest element key in [lower, upper) (pending writes merged in);
  // *found false if there is none.
  Status LastElement(std::string_view lower, std::string_view upper, std::string* key, bool* found);

  // Keyspace notifications queued by the commands run in this Txn
  // (notify.h); the dispatcher publishes them after Commit succeeds, or
  // drops them. If the flags ask for "new" or "expired", Put first reads
  // the key it writes (one read more per Put then): over a value whose
  // deadline has passed (not yet removed by the sweep) it queues
  // "expired", as Redis's lazy expiry does, and over no live value "new"
  // (each once per command and key).
  PendingEvents& events() { return events_; }

  bool has_writes() const { return pending_bytes_ > 0; }

  // Read caching, for a pipeline batch (overlay mode): while keys is set,
  // a value of one of these user keys that this Txn reads from the engine
  // is kept in the overlay and answers this Txn's later reads of the key,
  // until Commit or DropReadCache. REQUIRES: the caller holds the stripe
  // of every key in *keys from the read until that Commit or DropReadCache
  // (so no other client can write the key meanwhile), and *keys outlives
  // its setting (set nullptr after the command). Ignored on a replicated
  // server (its state machine applies writes without stripes) and for
  // values over kMaxCachedValue bytes; at most kMaxCachedBytes are kept.
  void set_cacheable_keys(const std::vector<std::string_view>* keys) { cacheable_keys_ = keys; }
  // Forgets the reads kept (the pipeline batch ends without writes; Commit
  // forgets them too).
  void DropReadCache();
  // Values read from the engine and kept (tests).
  size_t TEST_CachedReads() const;
  // Peek as of now_ms instead of the Txn's clock (0: every stored value,
  // whatever its deadline).
  Status PeekAt(std::string_view user_key, int64_t now_ms, Entry* out, bool* found);
  // Put's "expired" / "new" events for user_key (see events()), once per
  // command and key; always_new: "new" even over a live value (a command
  // that deletes its destination before writing it, as Redis's RENAME).
  // REQUIRES: the flags ask for "new" or "expired".
  void QueueReplacementEvents(std::string_view user_key, bool always_new = false);
  // Approximate bytes of the buffered writes.
  size_t pending_bytes() const { return pending_bytes_; }
  // Applies the buffered writes atomically (Keyspace::Apply) and empties the
  // Txn for reuse. On error nothing was applied (and the writes are dropped).
  // Once applied, wakes the clients blocked on a key it Put (blocking.h).
  Status Commit();

 private:
  // Transparent hashing: overlay lookups by string_view allocate nothing.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>()(key); }
  };

  // The first block element_memory_ takes from the heap (later ones grow).
  static constexpr size_t kElementMemoryChunk = 4096;

  Keyspace* keyspace_;
  int64_t now_ms_;
  int db_ = 0;
  bool use_overlay_;
  size_t pending_bytes_ = 0;
  WriteBatch batch_;  // direct writes (no overlay) and expiry hints
  // Overlay mode: per data key (AppendDataKey: database and user key), its
  // encoded value or nullopt for none, and whether it is this Txn's write
  // (dirty) or a read kept by read caching (clean: Commit skips it).
  struct OverlayEntry {
    std::optional<std::string> value;
    bool dirty = true;
  };
  using OverlayMap = std::unordered_map<std::string, OverlayEntry, KeyHash, std::equal_to<>>;
  OverlayMap overlay_;
  // Read caching (set_cacheable_keys).
  static constexpr size_t kMaxCachedValue = 256;
  static constexpr size_t kMaxCachedBytes = 1 << 20;
  const std::vector<std::string_view>* cacheable_keys_ = nullptr;
  size_t cached_bytes_ = 0;  // kept by read caching since the last Commit/DropReadCache
  bool Cacheable(std::string_view user_key) const;
  // Pending element writes, by engine key; nullopt = deleted. Their nodes
  // and strings come from element_memory_, a bump allocator that Commit
  // releases at once: a pipeline batch of pushes or pops made three heap
  // allocations and frees per element (node, key, value), about a tenth of
  // the server's instructions on LPUSH and LPOP. Declared first: it
  // outlives the map.
  std::pmr::monotonic_buffer_resource element_memory_{kElementMemoryChunk};
  std::pmr::map<std::pmr::string, std::optional<std::pmr::string>, std::less<>> elements_{
      &element_memory_};
  std::string scratch_key_;
  std::string scratch_value_;
  // Data keys Put while some client was blocked (BlockingKeys::HasWaiters):
  // Commit signals them.
  std::vector<std::string> touched_;
  PendingEvents events_;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_KEYSPACE_H_
