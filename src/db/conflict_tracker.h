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
// Not thread-safe: the DB guards it with its mutex.
#ifndef LSMKV_DB_CONFLICT_TRACKER_H_
#define LSMKV_DB_CONFLICT_TRACKER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/dbformat.h"
#include "lsmkv/status.h"
#include "util/comparator.h"

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
      : less_(ucmp), latest_(less_) {}
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
  // Some key in range written after start: sets *key to it and returns true.
  bool WrittenInRangeAfter(const KeyRange& range, SequenceNumber start, std::string* key) const;

  size_t tracked_keys() const { return latest_.size(); }
  // Approximate heap bytes held.
  size_t ApproximateMemory() const { return memory_; }

 private:
  void Prune();

  const ComparatorLess less_;
  std::multimap<SequenceNumber, Registration> running_;  // by start
  std::map<std::string, SequenceNumber, ComparatorLess> latest_;
  // Every recorded write in sequence order, for pruning.
  std::deque<std::pair<SequenceNumber, const std::string*>> log_;
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
