// OptimisticTransaction: lsmkv/transaction.h over the LSM engine. Reads go to
// the DB at the transaction's snapshot (DBImpl::BeginTransactionView), writes
// are buffered in a sorted map, and Commit hands the batch with what to
// validate to the DB's write group (DBImpl::CommitTransaction), which checks
// it against the conflict tracker in commit order (docs/transactions.md).
#include <algorithm>
#include <iterator>
#include <map>
#include <utility>

#include "db/db_impl.h"
#include "lsmkv/transaction.h"
#include "txn/txn_iterator.h"

namespace lsmkv {

namespace {

Status FinishedError() {
  return Status::InvalidArgument("transaction is finished (Commit or Rollback ran)");
}

class OptimisticTransaction final : public Transaction {
 public:
  OptimisticTransaction(DBImpl* db, const WriteOptions& write_options,
                        const TransactionOptions& options)
      : db_(db),
        write_options_(write_options),
        options_(options),
        writes_(ComparatorLess(db->options().comparator)) {
    begin_micros_ = db_->options().env->NowMicros();
    init_status_ = db_->BeginTransactionView(&view_);
    sink_.ranges = &ranges_;
    sink_.may_add = [this] { return MayTrack(); };
  }

  ~OptimisticTransaction() override { db_->EndTransactionView(&view_); }

  Status Get(const ReadOptions& options, std::string_view key, std::string* value) override {
    return Read(options, key, value, serializable(), /*for_update=*/false);
  }

  Status GetForUpdate(const ReadOptions& options, std::string_view key,
                      std::string* value) override {
    return Read(options, key, value, /*track=*/true, /*for_update=*/true);
  }

  Status Put(std::string_view key, std::string_view value) override {
    return Buffer(key, std::optional<std::string_view>(value));
  }

  Status Delete(std::string_view key) override { return Buffer(key, std::nullopt); }

  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override {
    Status s = Usable();
    if (s.ok() && options.snapshot != nullptr) s = SnapshotGiven();
    if (!s.ok()) return std::unique_ptr<Iterator>(NewEmptyIterator(s));
    ReadOptions read = options;
    read.snapshot = view_.snapshot;
    RangeSink sink = sink_;
    sink.since = view_.sequence;  // the ranges it covers are read at this snapshot
    return NewTxnIterator(db_->NewIterator(read), &writes_, options.lower_bound,
                          options.upper_bound, serializable() ? &sink : nullptr);
  }

  Status Commit() override {
    Status s = Usable();
    if (!s.ok()) return s;
    finished_ = true;
    if (writes_.empty()) {
      // Read-only: its reads come from one snapshot, so it serializes at its
      // start whatever committed since — except that GetForUpdate asked for
      // its keys to be checked: those are validated, nothing is written.
      TxnValidation validation;
      validation.start = view_.sequence;
      validation.level = serializable() ? "serializable" : "snapshot";
      validation.expired = &view_.expired;
      for (const auto& [key, read] : read_keys_) {
        if (read.for_update) validation.keys_since.push_back({key, read.since, read.absent});
      }
      if (!validation.keys_since.empty()) s = db_->ValidateTransactionNow(&validation);
      db_->EndTransactionView(&view_);
      return s;
    }
    WriteBatch batch;
    for (const auto& [key, value] : writes_) {
      if (value) {
        batch.Put(key, *value);
      } else {
        batch.Delete(key);
      }
    }
    TxnValidation validation;
    validation.start = view_.sequence;
    validation.expired = &view_.expired;
    validation.level = serializable() ? "serializable" : "snapshot";
    validation.keys.reserve(writes_.size());
    for (const auto& entry : writes_) validation.keys.push_back(entry.first);
    validation.keys_since.reserve(read_keys_.size());
    for (const auto& [key, read] : read_keys_) {
      validation.keys_since.push_back({key, read.since, read.absent});
    }
    validation.ranges = std::move(ranges_);
    s = db_->CommitTransaction(write_options_, &batch, &validation, &view_);  // ends view_
    if (s.ok()) commit_sequence_ = validation.commit_sequence;
    return s;
  }

  Status Rollback() override {
    Status s = Usable();
    if (!s.ok()) return s;
    finished_ = true;
    writes_.clear();
    db_->EndTransactionView(&view_);
    return Status::OK();
  }

  void SetSavePoint() override { savepoints_.push_back({writes_, write_bytes_}); }

  Status RollbackToSavePoint() override {
    Status s = Usable();
    if (!s.ok()) return s;
    if (savepoints_.empty()) return Status::NotFound("no savepoint to roll back to");
    writes_ = std::move(savepoints_.back().writes);
    write_bytes_ = savepoints_.back().write_bytes;
    savepoints_.pop_back();
    return Status::OK();
  }

  Status SetSnapshot() override {
    Status s = Usable();
    if (!s.ok()) return s;
    db_->RefreshTransactionView(&view_);
    return Status::OK();
  }

  uint64_t GetReadSequence() const override { return view_.sequence; }
  uint64_t GetCommitSequence() const override { return commit_sequence_; }
  size_t GetNumWrites() const override { return writes_.size(); }
  size_t GetNumTrackedReads() const override { return read_keys_.size() + ranges_.size(); }

 private:
  bool serializable() const { return options_.isolation == IsolationLevel::kSerializable; }

  static Status SnapshotGiven() {
    return Status::InvalidArgument("a transaction reads at its own snapshot: leave snapshot unset");
  }

  // OK if the transaction may still be used; expires it when it has
  // outlived max_lifetime_micros (and releases what it pins).
  Status Usable() {
    if (!init_status_.ok()) return init_status_;
    if (expired_) return ExpiredError();
    if (finished_) return FinishedError();
    if (view_.expired.load(std::memory_order_acquire)) return ExpireNow(/*by_tracker=*/true);
    if (options_.max_lifetime_micros != 0 &&
        db_->options().env->NowMicros() - begin_micros_ > options_.max_lifetime_micros) {
      db_->NoteTransactionExpired();
      return ExpireNow(/*by_tracker=*/false);
    }
    return Status::OK();
  }

  // Finishes an expired transaction (by its lifetime limit, or by the DB
  // bounding its conflict tracker) and returns the error every call gives.
  Status ExpireNow(bool by_tracker) {
    expired_ = true;
    expired_by_tracker_ = by_tracker;
    db_->EndTransactionView(&view_);
    writes_.clear();
    return ExpiredError();
  }

  Status ExpiredError() const {
    if (expired_by_tracker_) {
      return Status::Aborted("transaction expired",
                             "the conflict tracker outgrew max_transaction_tracker_bytes while it "
                             "ran, and it was the oldest; retry");
    }
    return Status::Aborted("transaction expired", "older than max_lifetime_micros (" +
                                                      std::to_string(options_.max_lifetime_micros) +
                                                      " us); roll back and retry");
  }

  Status MayTrack() const {
    if (read_keys_.size() + ranges_.size() >= options_.max_tracked_reads) {
      return Status::InvalidArgument(
          "transaction tracks too many reads",
          "max_tracked_reads is " + std::to_string(options_.max_tracked_reads));
    }
    return Status::OK();
  }

  Status Read(const ReadOptions& options, std::string_view key, std::string* value, bool track,
              bool for_update) {
    Status s = Usable();
    if (!s.ok()) return s;
    if (options.snapshot != nullptr) return SnapshotGiven();
    TrackedRead* tracked_read = nullptr;
    if (track) {
      auto tracked = read_keys_.find(key);
      if (tracked == read_keys_.end()) {
        s = MayTrack();
        if (!s.ok()) return s;
        // Checked from the snapshot it is read at; a key read again after
        // SetSnapshot keeps its first (older) sequence: stricter.
        tracked =
            read_keys_.emplace(std::string(key), TrackedRead{view_.sequence, false, true}).first;
      }
      tracked->second.for_update |= for_update;
      tracked_read = &tracked->second;
    }
    auto it = writes_.find(key);
    if (it != writes_.end()) {
      // Answered by this transaction's own write: what the snapshot holds is
      // not known here, so the read is not counted as absent.
      if (tracked_read != nullptr) tracked_read->absent = false;
      if (!it->second) return Status::NotFound("deleted in this transaction");
      *value = *it->second;
      return Status::OK();
    }
    ReadOptions read = options;
    read.snapshot = view_.snapshot;
    s = db_->Get(read, key, value);
    if (tracked_read != nullptr && !s.IsNotFound()) tracked_read->absent = false;
    // Expired while reading: compactions may no longer keep the snapshot's
    // versions, so the result cannot be trusted.
    if (view_.expired.load(std::memory_order_acquire)) return ExpireNow(/*by_tracker=*/true);
    return s;
  }

  Status Buffer(std::string_view key, std::optional<std::string_view> value) {
    Status s = Usable();
    if (!s.ok()) return s;
    const Options& db_options = db_->options();
    if (key.size() > db_options.max_key_size) {
      return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                     " bytes exceeds max_key_size (" +
                                     std::to_string(db_options.max_key_size) + " bytes)");
    }
    if (value && value->size() > db_options.max_value_size) {
      return Status::InvalidArgument("value of " + std::to_string(value->size()) +
                                     " bytes exceeds max_value_size (" +
                                     std::to_string(db_options.max_value_size) + " bytes)");
    }
    auto it = writes_.find(key);
    const size_t old_bytes =
        it == writes_.end() ? 0 : it->first.size() + (it->second ? it->second->size() : 0);
    const size_t new_bytes = key.size() + (value ? value->size() : 0);
    if (write_bytes_ - old_bytes + new_bytes > options_.max_write_bytes) {
      return Status::InvalidArgument("transaction too large",
                                     "buffered writes would exceed max_write_bytes (" +
                                         std::to_string(options_.max_write_bytes) + " bytes)");
    }
    write_bytes_ = write_bytes_ - old_bytes + new_bytes;
    std::optional<std::string> stored;
    if (value) stored.emplace(*value);
    if (it == writes_.end()) {
      writes_.emplace(std::string(key), std::move(stored));
    } else {
      it->second = std::move(stored);
    }
    return Status::OK();
  }

  DBImpl* const db_;
  const WriteOptions write_options_;
  const TransactionOptions options_;
  DBImpl::TransactionView view_;
  Status init_status_;
  uint64_t begin_micros_ = 0;
  bool finished_ = false;
  bool expired_ = false;
  bool expired_by_tracker_ = false;
  TxnWriteMap writes_;
  size_t write_bytes_ = 0;
  struct TrackedRead {
    SequenceNumber since;  // the snapshot it was read at
    bool for_update;       // by GetForUpdate: validated even if nothing is written
    bool absent;           // every read of it so far found no value in the DB
  };
  std::map<std::string, TrackedRead, std::less<>> read_keys_;  // tracked point reads
  std::vector<KeyRange> ranges_;                               // tracked iterator ranges
  RangeSink sink_;
  struct SavePoint {
    TxnWriteMap writes;
    size_t write_bytes;
  };
  std::vector<SavePoint> savepoints_;
  uint64_t commit_sequence_ = 0;
};

}  // namespace

// Declared in db/db_impl.h; defined here so that db/ includes nothing of txn/.
std::unique_ptr<Transaction> DBImpl::BeginTransaction(const WriteOptions& options,
                                                      const TransactionOptions& txn_options) {
  return std::make_unique<OptimisticTransaction>(this, options, txn_options);
}

}  // namespace lsmkv
