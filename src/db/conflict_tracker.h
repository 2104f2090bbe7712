// ConflictTracker: what optimistic transactions validate against — the keys
// written since the start of the oldest running transaction, each with the
// sequence number of its latest write (docs/transactions.md, "Conflict
// detection").
//
// The DB records every published write group while at least one transaction
// is registered; nothing is recorded otherwise. A transaction registers its
// start sequence S under the same lock the DB publishes sequences under, so
// every write with a sequence above S is recorded. Entries at or below the
// oldest registered start can never decide a conflict and are pruned as
// transactions end: memory is bounded by the writes made during the oldest
// running transaction's life.
//
// Each key's latest write is found by hashing when keys are compared
// bytewise (equal keys are equal bytes), through a map ordered by the
// comparator otherwise (a user comparator may call keys with different bytes
// equal). A transaction holds a handful of keys but the tracker can hold
// thousands while a slow transaction runs: a hash probe costs a cache miss or
// two where a tree walk costs one per level. Key ranges (serializable
// iterators) are checked against the writes recorded after the range was read,
// in sequence order.
//
// Not thread-safe: the DB guards it with its mutex.
#ifndef LSMKV_DB_CONFLICT_TRACKER_H_
#define LSMKV_DB_CONFLICT_TRACKER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/dbformat.h"
#include "lsmkv/status.h"
#include "util/comparator.h"
#include "util/hash.h"

namespace lsmkv {

// A user-key range [lo, hi) — [lo, hi] with hi_inclusive — in the order of
// the database's comparator: an absent lo is the smallest key, an absent hi
// the end of the key space.
struct KeyRange {
  std::optional<std::string> lo;
  std::optional<std::string> hi;
  bool hi_inclusive = false;
  // Validation: a write in the range after this sequence conflicts.
  SequenceNumber since = 0;
  // key is not past hi.
  bool BeforeHi(std::string_view key, const ComparatorLess& less) const {
    return !hi || (hi_inclusive ? !less(*hi, key) : less(key, *hi));
  }
  bool Contains(std::string_view key, const ComparatorLess& less) const {
    return (!lo || !less(key, *lo)) && BeforeHi(key, less);
  }
};

// Keys written by the members of a write group, in the database's order.
// (A batch holding a range deletion never shares its group with a
// transaction's commit: DBImpl::BuildBatchGroup.)
using GroupKeys = std::set<std::string_view, ComparatorLess>;

// What a transaction's commit must validate: nothing in keys or ranges may
// have been written after start. Filled by the transaction; result and
// commit_sequence are set by the write path.
struct TxnValidation {
  SequenceNumber start = 0;
  std::vector<std::string> keys;  // written keys (checked since start), sorted, distinct
  // A tracked point read: checked since the snapshot it was read at
  // (earlier than start after Transaction::SetSnapshot). absent: every read
  // of the key found no value at its snapshot. A range deletion cannot change
  // that, so only point writes (and writes of the same group) conflict with
  // an absent read — a FLUSHALL does not abort a WATCH of a missing key. A
  // point write after since still conflicts even when a range deletion
  // removed it again, so at commit the key is still absent: the read's
  // result holds at the commit point.
  struct TrackedKey {
    std::string key;
    SequenceNumber since = 0;
    bool absent = false;
  };
  std::vector<TrackedKey> keys_since;
  std::vector<KeyRange> ranges;    // checked since their own sequence
  const char* level = "snapshot";  // named in conflict messages
  // Set (under the tracker's lock) when the tracker expired the
  // transaction: validation then fails with Aborted.
  const std::atomic<bool>* expired = nullptr;
  Status result;  // Busy on a conflict, Aborted if expired
  SequenceNumber commit_sequence = 0;
};

class ConflictTracker {
 public:
  // Keys ordered by user comparator ucmp (which must outlive the tracker).
  explicit ConflictTracker(const Comparator* ucmp = BytewiseComparator())
      : less_(ucmp), hashed_keys_(less_.bytewise), ordered_(less_) {}
  const ComparatorLess& less() const { return less_; }

  // A registered transaction: when it began, and the flag ExpireOldest
  // sets (owned by the transaction, which outlives its registration).
  struct Registration {
    uint64_t begin_micros;
    std::atomic<bool>* expired;
  };
  // A transaction starting at sequence start, at begin_micros. Returns a
  // handle for Unregister.
  using Handle = std::multimap<SequenceNumber, Registration>::iterator;
  Handle Register(SequenceNumber start, uint64_t begin_micros, std::atomic<bool>* expired);
  // Ends a registration and prunes what no registered transaction needs.
  // REQUIRES: the registration was not expired (its flag is false).
  void Unregister(Handle handle);
  // While the tracker holds more than max_bytes (0: no limit) and a
  // transaction is registered, expires the oldest one: sets its flag, drops
  // its registration and prunes. Returns how many were expired.
  size_t ExpireOldestOver(size_t max_bytes);
  bool active() const { return !running_.empty(); }
  size_t running() const { return running_.size(); }
  // The oldest registered start and begin time (0 when none).
  SequenceNumber OldestStart() const;
  // The newest registered start (0 when none).
  SequenceNumber NewestStart() const {
    return running_.empty() ? 0 : std::prev(running_.end())->first;
  }
  uint64_t OldestBeginMicros() const;

  // Records that key was written at sequence. REQUIRES: sequences are
  // recorded in increasing order.
  void Record(std::string_view key, SequenceNumber sequence);

  // Records that [begin, end) was deleted (DB::DeleteRange) at sequence.
  // REQUIRES: as Record.
  void RecordRange(std::string_view begin, std::string_view end, SequenceNumber sequence);
  // The sequence of the latest recorded range deletion covering key that is
  // after since, or 0.
  SequenceNumber RangeDeletedAfter(std::string_view key, SequenceNumber since) const;
  // A recorded range deletion after since that overlaps range: its sequence
  // (and *begin, its start), or 0.
  SequenceNumber RangeDeletionOverlapping(const KeyRange& range, SequenceNumber since,
                                          std::string* begin) const;

  // The sequence of key's latest recorded write, or 0.
  SequenceNumber LastWrite(std::string_view key) const;
  // Some key in range written after start: sets *key to the first such
  // write's key (in sequence order) and returns true. Costs one step per
  // write recorded after start.
  bool WrittenInRangeAfter(const KeyRange& range, SequenceNumber start, std::string* key) const;

  size_t tracked_keys() const { return hashed_keys_ ? table_used_ : ordered_.size(); }
  // Approximate heap bytes held.
  size_t ApproximateMemory() const { return memory_; }

 private:
  // One recorded write. Its key's bytes are a copy in the key arena, made
  // for this write (so a key's latest entry never refers to bytes that an
  // earlier, pruned write owned).
  struct LogEntry {
    SequenceNumber sequence;
    const char* key;
    size_t size;
    std::string_view key_view() const { return {key, size}; }
  };
  // A slot of the open-addressing table of latest writes (hashed_keys_).
  // hash 0 marks an empty slot (a key hashing to 0 is stored as 1).
  struct Slot {
    uint64_t hash = 0;
    SequenceNumber sequence = 0;
    const char* key = nullptr;
    size_t size = 0;
  };

  void Prune();
  // Heap bytes one recorded write holds: its log entry and its key's copy.
  static size_t WriteBytes(size_t key_size) { return sizeof(LogEntry) + key_size; }
  // Heap bytes of one tracked key beyond its writes: two table slots (the
  // table is at most half full), or a map node with its own copy of the key
  // (stored_size: the size of that copy).
  static size_t HashedKeyBytes() { return 2 * sizeof(Slot); }
  static size_t OrderedKeyBytes(size_t stored_size) { return stored_size + 64; }
  // Copies key into the arena; the copy lives until its log entry is pruned.
  const char* CopyKey(std::string_view key);
  // Frees arena chunks no log entry refers to any more.
  void ReleaseChunks();
  static uint64_t SlotHash(std::string_view key);
  // The slot holding key, or the empty slot where it would go.
  size_t FindSlot(std::string_view key, uint64_t hash) const;
  void EraseSlot(size_t i);
  void GrowTable();

  const ComparatorLess less_;
  // The comparator is bytewise (equal keys are equal bytes): the latest
  // writes are in table_, found by hashing; otherwise in ordered_, under the
  // comparator (which may call keys with different bytes equal).
  const bool hashed_keys_;
  std::multimap<SequenceNumber, Registration> running_;  // by start
  std::vector<Slot> table_;                              // power-of-two size, at most half used
  size_t table_used_ = 0;
  std::map<std::string, SequenceNumber, ComparatorLess> ordered_;
  // Every recorded write in sequence order, from log_head_ on (a vector used
  // as a queue: the consumed front is dropped once it is the larger half).
  std::vector<LogEntry> log_;
  size_t log_head_ = 0;
  // The key bytes of the log's entries, appended in log order: chunks are
  // freed from the front as the log's front moves past them, so recording a
  // write allocates nothing in the steady state (one spare chunk is kept).
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
    size_t used = 0;
  };
  std::deque<Chunk> chunks_;
  Chunk spare_;
  struct RangeWrite {
    SequenceNumber sequence;
    std::string begin, end;
  };
  std::deque<RangeWrite> ranges_;  // recorded range deletions, in sequence order
  size_t memory_ = 0;
};

// Checks v against the tracker and against keys (sorted) written by earlier
// members of the same write group. OK, Busy naming the first conflict, or
// Aborted if the transaction was expired.
Status ValidateTransaction(const ConflictTracker& tracker, const TxnValidation& v,
                           const GroupKeys& group_keys);

// A printable form of a key for messages: escapes, at most 64 bytes.
std::string PrintableKey(std::string_view key);

}  // namespace lsmkv

#endif  // LSMKV_DB_CONFLICT_TRACKER_H_
