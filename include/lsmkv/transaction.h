// Optimistic transactions (docs/transactions.md).
//
// A transaction reads the database as of its start (a snapshot) plus its own
// writes, buffers its writes, and validates at Commit: if another writer
// committed something the transaction depends on after its start, Commit
// returns Status::Busy naming the key or range, and nothing is written; the
// caller retries the whole transaction. A commit is one atomic WriteBatch in
// the WAL, durable per WriteOptions::sync, and commits of concurrent
// transactions share the write group (group commit).
//
//   kSnapshot      first-committer-wins on the keys written (and on keys read
//                  with GetForUpdate). Prevents G0, G1a, G1b, G1c, OTV, PMP,
//                  P4 (lost update) and G-single (read skew); allows write skew
//                  (G2-item) and predicate anti-dependency cycles (G2).
//   kSerializable  additionally fails if any key read (found or not) or any
//                  key range an iterator covered was written after the start:
//                  every committed history is serializable in commit order.
//
// Conflicts are detected against every write committed after the start,
// transactional or not (DB::Put, DB::Write). Read-only transactions always
// commit (unless they used GetForUpdate). A database must be opened with a prefix-keeping
// Options::wal_recovery_mode (not kSkipAnyCorrupted) to begin transactions:
// recovery then never keeps a transaction whose inputs a damaged log lost.
#ifndef LSMKV_INCLUDE_TRANSACTION_H_
#define LSMKV_INCLUDE_TRANSACTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"

namespace lsmkv {

enum class IsolationLevel { kSnapshot, kSerializable };

struct TransactionOptions {
  IsolationLevel isolation = IsolationLevel::kSnapshot;
  // Bytes of buffered writes (keys + values) a transaction may hold; a Put or
  // Delete past it fails with InvalidArgument and buffers nothing.
  // Default: 64 MiB.
  size_t max_write_bytes = 64u << 20;
  // Keys and iterator ranges a transaction may track for validation (reads
  // at kSerializable, GetForUpdate at both levels); past it the read fails
  // with InvalidArgument. Default: 1,000,000.
  size_t max_tracked_reads = 1'000'000;
  // A transaction older than this (Env::NowMicros, from its start) fails
  // every further call with Aborted ("transaction expired") and releases the
  // versions it pins. 0 = no limit. Default: 0.
  uint64_t max_lifetime_micros = 0;
};

// One transaction. Use it from one thread at a time; destroy it (and every
// iterator it created) before the DB.
class Transaction {
 public:
  Transaction() = default;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back if neither Commit nor Rollback ran.
  virtual ~Transaction() = default;

  // Reads key as of the start, or the transaction's own latest write of it.
  // options.snapshot must be nullptr (the transaction has its own).
  // At kSerializable the key is tracked (found or not).
  virtual Status Get(const ReadOptions& options, std::string_view key, std::string* value) = 0;
  // Get, and the key is tracked at either level: Commit fails if another
  // writer committed key after the snapshot it was read at — also when the
  // transaction writes nothing. Use it to make a read that decides a write
  // conflict-checked under snapshot isolation.
  virtual Status GetForUpdate(const ReadOptions& options, std::string_view key,
                              std::string* value) = 0;
  // Buffer a write; visible to this transaction's reads at once, to others
  // after Commit. InvalidArgument for keys/values over the DB's limits.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Delete(std::string_view key) = 0;

  // An iterator over the start snapshot merged with the transaction's own
  // writes, within options' bounds; options.snapshot must be nullptr. At
  // kSerializable the key ranges it covers (from each seek to the last
  // position reached, or to the bound when it runs off the end) are tracked.
  // It sees own writes made before it was created and after (it reads the
  // write buffer live). Destroy it before the transaction; don't use it
  // after Commit or Rollback.
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  // Validates and writes. OK: every write is in the database as one batch.
  // Busy: a conflict (the message names the key or range and the level);
  // nothing was written; retry the whole transaction. Aborted: expired.
  // Other errors come from the write path (e.g. NoSpace, IOError); then too
  // nothing of the transaction is visible. After Commit (whatever it
  // returned) the transaction is finished: every call fails with
  // InvalidArgument.
  virtual Status Commit() = 0;
  // Drops the buffered writes and finishes the transaction.
  virtual Status Rollback() = 0;

  // Savepoints: SetSavePoint remembers the buffered writes;
  // RollbackToSavePoint restores the newest one and removes it (NotFound if
  // there is none). Reads tracked since stay tracked (conservative: at worst
  // an abort that was not needed). Iterators created before a
  // RollbackToSavePoint must not be used after it.
  virtual void SetSavePoint() = 0;
  virtual Status RollbackToSavePoint() = 0;

  // Moves the transaction's snapshot to now: later reads (and iterators
  // created later) see what committed meanwhile. Keys and ranges tracked so
  // far stay checked from the snapshot they were read at; written keys are
  // checked from the newest snapshot. (The pattern of Redis's WATCH: track
  // keys early with GetForUpdate, SetSnapshot, then read and write.)
  virtual Status SetSnapshot() = 0;

  // The sequence number the transaction reads at (its snapshot), and after
  // a successful Commit the sequence number of its last write (0 before, or
  // for a read-only transaction).
  virtual uint64_t GetReadSequence() const = 0;
  virtual uint64_t GetCommitSequence() const = 0;
  // Buffered writes (distinct keys) and tracked reads (keys + ranges).
  virtual size_t GetNumWrites() const = 0;
  virtual size_t GetNumTrackedReads() const = 0;
};

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_TRANSACTION_H_
