// DB: the engine-neutral interface of an lsmkv database.
//
// Thread safety: every DB method may be called concurrently from any number
// of threads without external synchronisation.
//
// Errors: every fallible call returns Status; no exception crosses the API.
// After Close() every call returns an error status (InvalidArgument "closed").
#ifndef LSMKV_INCLUDE_DB_H_
#define LSMKV_INCLUDE_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsmkv/comparator.h"
#include "lsmkv/env.h"
#include "lsmkv/filter_policy.h"
#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "lsmkv/transaction.h"
#include "lsmkv/write_batch.h"

namespace lsmkv {

// A point-in-time view of the database, from DB::GetSnapshot. Reads with
// ReadOptions::snapshot see exactly the writes acknowledged before it was
// taken, however many flushes happen meanwhile. Release it with
// DB::ReleaseSnapshot (the DB keeps old versions alive until then).
class Snapshot {
 protected:
  virtual ~Snapshot() = default;
};

// A range of user keys [start, limit) for DB::GetApproximateSizes.
struct Range {
  std::string_view start;
  std::string_view limit;
};

class DB {
 public:
  // Opens the database at path with the engine of options.engine (the LSM
  // by default; docs/engines.md). A directory made by another engine is
  // refused with InvalidArgument naming both (its ENGINE file says which).
  // Opens the database at path. On success *out holds it; on failure *out is
  // reset and the Status says why (e.g. IOError "lock ... held by another
  // opener" when the directory is already open in this or another process).
  static Status Open(const Options& options, const std::string& path, std::unique_ptr<DB>* out);

  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;
  // Runs Close() if it has not run.
  virtual ~DB() = default;

  // Sets key to value. InvalidArgument if key or value exceeds the size
  // limits of Options (nothing is written then).
  virtual Status Put(const WriteOptions& options, std::string_view key, std::string_view value) = 0;
  // Removes key; OK even if key is absent.
  virtual Status Delete(const WriteOptions& options, std::string_view key) = 0;
  // Removes every key in [begin, end) (begin inclusive, end exclusive, in the
  // order of Options::comparator) in O(1): one range tombstone, whatever the
  // number of keys, honoured by Get, iterators and snapshots (a snapshot
  // taken before still sees the keys) and atomic across a crash. Compaction
  // drops the covered data once no snapshot needs it, and the tombstone with
  // it (docs/design.md, "Range deletions"). OK if nothing is in the range;
  // InvalidArgument unless begin < end or if a key exceeds max_key_size;
  // Busy if Options::max_range_tombstones tombstones are live (compact the
  // ranges, e.g. with CompactRange, to retire them).
  virtual Status DeleteRange(const WriteOptions& options, std::string_view begin,
                             std::string_view end) {
    WriteBatch batch;
    batch.DeleteRange(begin, end);
    return Write(options, &batch);
  }
  // Applies batch atomically. After a crash either all of it or none is visible.
  virtual Status Write(const WriteOptions& options, WriteBatch* batch) = 0;
  // Reads key. NotFound if absent (or deleted); *value is set on OK.
  virtual Status Get(const ReadOptions& options, std::string_view key, std::string* value) = 0;

  // An iterator over the database as of options.snapshot (or of this call),
  // within [options.lower_bound, options.upper_bound). It streams (memory
  // does not grow with the range) and pins the memtables and table files it
  // reads until destroyed; destroy it before the DB. Errors met while
  // iterating (e.g. Corruption) show in status(), never as skipped data.
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  // A snapshot of the current state; release it with ReleaseSnapshot.
  // Returns nullptr after Close().
  virtual const Snapshot* GetSnapshot() = 0;
  // REQUIRES: snapshot came from this DB's GetSnapshot and is released once.
  virtual void ReleaseSnapshot(const Snapshot* snapshot) = 0;

  // Starts an optimistic transaction (lsmkv/transaction.h) reading as of
  // now; Commit writes with options. Never nullptr: when no transaction can
  // start (the DB is closed, or was opened with
  // WalRecoveryMode::kSkipAnyCorrupted) every call of the returned
  // transaction fails with the reason (InvalidArgument). The B+tree and
  // Bitcask engines run the same interface with validation by value at
  // commit (docs/transactions.md, "On the B+tree and Bitcask engines").
  virtual std::unique_ptr<Transaction> BeginTransaction(const WriteOptions& options,
                                                        const TransactionOptions& txn_options) = 0;

  // Flushes the memtable, then compacts every level's files overlapping the
  // user-key range [*begin, *end] (nullptr = unbounded on that side) down to
  // the deepest level holding data in the range, and waits. Afterwards old
  // versions and deletions in the range that no snapshot needs are gone.
  // With Options::compaction_filter set, the deepest level's files in the
  // range are rewritten as well, so the filter sees every value of the range.
  virtual Status CompactRange(const std::string* begin, const std::string* end) = 0;

  // For each i in [0, n): sizes[i] = the approximate bytes of table files
  // holding keys in ranges[i] (start inclusive, limit exclusive, in the
  // database's key order). Data still only in memtables is not counted, so
  // recent writes may show as 0 until flushed. Returns OK, or InvalidArgument
  // if the DB is closed (sizes then all 0).
  virtual Status GetApproximateSizes(const Range* ranges, int n, uint64_t* sizes) = 0;

  // Freezes the active memtable (if it holds anything), writes it and every
  // older frozen memtable to tables, and waits until they are installed.
  virtual Status Flush() = 0;

  // Reads a property into *value; false if the name is unknown (or the DB is
  // closed). Known: "lsmkv.stats", "lsmkv.levels",
  // "lsmkv.num-entries-active-mem-table", "lsmkv.cur-size-active-mem-table",
  // "lsmkv.num-immutable-mem-table", "lsmkv.last-sequence", "lsmkv.live-files"
  // (numbers of the table files in use, ascending, space separated),
  // "lsmkv.open-tables" (tables the table cache holds open, at most
  // max_open_files while no more are in use at once), "lsmkv.pinned-tables"
  // (of those, the ones kept open for point reads by their file's metadata:
  // at most max_open_files / 2, released when the file leaves every
  // version),
  // "lsmkv.error-state" ("none", "recoverable": writes refused until space
  // is back, retried automatically; "fatal": writes refused until reopen),
  // "lsmkv.background-error" ("OK" or the error that put the DB in its
  // error state), and for transactions "lsmkv.txn-running",
  // "lsmkv.txn-oldest-age-micros", "lsmkv.txn-pinned-sequences" (writes
  // since the oldest running transaction's start), "lsmkv.txn-tracked-keys"
  // and "lsmkv.txn-tracker-bytes" (the conflict tracker's size),
  // "lsmkv.txn-commit-waits" (commits that waited for another commit of the
  // same key to be published before validating), and
  // "lsmkv.range-tombstones" (live range tombstones, DeleteRange).
  virtual bool GetProperty(std::string_view name, std::string* value) = 0;

  // Stops background work, makes every acknowledged write recoverable and
  // releases the directory lock. Returns the first error met, including the
  // background error of a DB in its error state. Idempotent.
  virtual Status Close() = 0;

  // Error states. A write, flush or compaction that fails puts the DB in an
  // error state where writes are refused with that error (reads go on).
  // A no-space error is recoverable: the DB retries by itself (on later
  // writes and on a background thread, with a backoff) and resumes writes
  // once space is available, with nothing acknowledged lost; a compaction
  // that runs out of space only backs off. Any other error (an EIO from
  // fsync, corruption) is fatal until the DB is reopened.
  // Resume attempts recovery now, ignoring the backoff: OK if the DB
  // accepts writes on return, else the error that still holds.
  virtual Status Resume() = 0;
};

// Removes the database at path and everything lsmkv created in it (RepairDB's
// lost/ directory included; files lsmkv did not create are left, and so is
// a directory holding them). Fails if the database is open.
Status DestroyDB(const std::string& path, const Options& options);

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_DB_H_
