#include "txn/generic_transaction.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "txn/txn_iterator.h"
#include "util/comparator.h"

namespace lsmkv {

namespace {

class GenericTransaction final : public Transaction {
 public:
  GenericTransaction(DB* db, ConditionalWriter* writer, const Options& db_options,
                     const WriteOptions& write_options, const TransactionOptions& options)
      : db_(db),
        writer_(writer),
        env_(db_options.env != nullptr ? db_options.env : Env::Default()),
        comparator_(db_options.comparator != nullptr ? db_options.comparator
                                                     : BytewiseComparator()),
        max_key_size_(db_options.max_key_size),
        max_value_size_(db_options.max_value_size),
        write_options_(write_options),
        options_(options),
        writes_(ComparatorLess(comparator_)),
        read_keys_(ComparatorLess(comparator_)) {
    begin_micros_ = env_->NowMicros();
    const Snapshot* snapshot = db_->GetSnapshot();
    if (snapshot == nullptr) {
      init_status_ = Status::InvalidArgument("closed");
    } else {
      snapshots_.push_back(snapshot);
    }
    sink_.ranges = &ranges_;
    sink_.may_add = [this] { return MayTrack(); };
  }

  ~GenericTransaction() override { ReleaseSnapshots(); }

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
    read.snapshot = snapshots_.back();
    RangeSink sink = sink_;
    sink.since = snapshots_.size() - 1;  // the index of the snapshot it reads at
    return NewTxnIterator(db_->NewIterator(read), &writes_, options.lower_bound,
                          options.upper_bound, serializable() ? &sink : nullptr);
  }

  Status Commit() override {
    Status s = Usable();
    if (!s.ok()) return s;
    finished_ = true;
    WriteBatch batch;
    for (const auto& [key, value] : writes_) {
      if (value) {
        batch.Put(key, *value);
      } else {
        batch.Delete(key);
      }
    }
    bool check_needed = !writes_.empty();
    for (const auto& [key, read] : read_keys_) check_needed |= read.for_update;
    if (!check_needed) {
      // Read-only without GetForUpdate: its reads come from one snapshot
      // each and it writes nothing, so it serializes at its start.
      ReleaseSnapshots();
      return Status::OK();
    }
    const bool read_only = writes_.empty();
    s = writer_->WriteIf(write_options_, &batch, [&] { return Validate(read_only); });
    ReleaseSnapshots();
    writes_.clear();
    return s;
  }

  Status Rollback() override {
    Status s = Usable();
    if (!s.ok()) return s;
    finished_ = true;
    writes_.clear();
    ReleaseSnapshots();
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
    // Older snapshots stay pinned: tracked reads are checked from them.
    const Snapshot* snapshot = db_->GetSnapshot();
    if (snapshot == nullptr) return Status::InvalidArgument("closed");
    snapshots_.push_back(snapshot);
    return Status::OK();
  }

  uint64_t GetReadSequence() const override { return 0; }
  uint64_t GetCommitSequence() const override { return 0; }
  size_t GetNumWrites() const override { return writes_.size(); }
  size_t GetNumTrackedReads() const override { return read_keys_.size() + ranges_.size(); }

 private:
  struct TrackedRead {
    size_t snapshot;  // index into snapshots_: the snapshot it was first read at
    bool for_update;  // by GetForUpdate: checked even if nothing is written
  };
  struct SavePoint {
    TxnWriteMap writes;
    size_t write_bytes;
  };

  bool serializable() const { return options_.isolation == IsolationLevel::kSerializable; }
  const char* level() const { return serializable() ? "serializable" : "snapshot"; }

  static Status SnapshotGiven() {
    return Status::InvalidArgument("a transaction reads at its own snapshot: leave snapshot unset");
  }

  void ReleaseSnapshots() {
    for (const Snapshot* s : snapshots_) db_->ReleaseSnapshot(s);
    snapshots_.clear();
  }

  // OK if the transaction may still be used; expires it when it has
  // outlived max_lifetime_micros (and releases its snapshots).
  Status Usable() {
    if (!init_status_.ok()) return init_status_;
    if (expired_) return ExpiredError();
    if (finished_) {
      return Status::InvalidArgument("transaction is finished (Commit or Rollback ran)");
    }
    if (options_.max_lifetime_micros != 0 &&
        env_->NowMicros() - begin_micros_ > options_.max_lifetime_micros) {
      expired_ = true;
      writes_.clear();
      ReleaseSnapshots();
      return ExpiredError();
    }
    return Status::OK();
  }

  Status ExpiredError() const {
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
    if (track) {
      auto tracked = read_keys_.find(key);
      if (tracked == read_keys_.end()) {
        s = MayTrack();
        if (!s.ok()) return s;
        tracked =
            read_keys_.emplace(std::string(key), TrackedRead{snapshots_.size() - 1, false}).first;
      }
      tracked->second.for_update |= for_update;
    }
    auto it = writes_.find(key);
    if (it != writes_.end()) {
      if (!it->second) return Status::NotFound("deleted in this transaction");
      *value = *it->second;
      return Status::OK();
    }
    ReadOptions read = options;
    read.snapshot = snapshots_.back();
    return db_->Get(read, key, value);
  }

  Status Buffer(std::string_view key, std::optional<std::string_view> value) {
    Status s = Usable();
    if (!s.ok()) return s;
    if (key.size() > max_key_size_) {
      return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                     " bytes exceeds max_key_size (" +
                                     std::to_string(max_key_size_) + " bytes)");
    }
    if (value && value->size() > max_value_size_) {
      return Status::InvalidArgument("value of " + std::to_string(value->size()) +
                                     " bytes exceeds max_value_size (" +
                                     std::to_string(max_value_size_) + " bytes)");
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

  // key's value at snapshot (nullptr: now): nullopt if absent. Errors other
  // than NotFound in *error.
  std::optional<std::string> ValueAt(const Snapshot* snapshot, std::string_view key,
                                     Status* error) {
    ReadOptions read;
    read.snapshot = snapshot;
    std::string value;
    Status s = db_->Get(read, key, &value);
    if (s.ok()) return value;
    if (!s.IsNotFound()) *error = s;
    return std::nullopt;
  }

  Status KeyChanged(std::string_view key) const {
    return Status::Busy("transaction conflict", std::string("key '") + std::string(key) +
                                                    "' was written after it was read (" + level() +
                                                    ")");
  }

  // Runs inside WriteIf: no write lands until the batch does. Busy on the
  // first key or range whose contents differ now from the snapshot the
  // transaction depends on; an I/O error as it is.
  Status Validate(bool read_only) {
    Status error;
    for (const auto& [key, read] : read_keys_) {
      if (read_only && !read.for_update) continue;
      if (ValueAt(snapshots_[read.snapshot], key, &error) != ValueAt(nullptr, key, &error)) {
        return error.ok() ? KeyChanged(key) : error;
      }
      if (!error.ok()) return error;
    }
    // Written keys: first committer wins, from the newest snapshot (or the
    // older one the key was read at, checked above).
    for (const auto& entry : writes_) {
      if (read_keys_.count(entry.first) != 0) continue;
      if (ValueAt(snapshots_.back(), entry.first, &error) !=
          ValueAt(nullptr, entry.first, &error)) {
        return error.ok() ? KeyChanged(entry.first) : error;
      }
      if (!error.ok()) return error;
    }
    for (const KeyRange& range : ranges_) {
      Status s = RangeUnchanged(range);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  // The range's keys and values at the snapshot it was read at equal those
  // now.
  Status RangeUnchanged(const KeyRange& range) {
    const ComparatorLess less(comparator_);
    ReadOptions then_options;
    then_options.snapshot = snapshots_[range.since];
    std::unique_ptr<Iterator> then = db_->NewIterator(then_options);
    std::unique_ptr<Iterator> now = db_->NewIterator(ReadOptions());
    if (range.lo) {
      then->Seek(*range.lo);
      now->Seek(*range.lo);
    } else {
      then->SeekToFirst();
      now->SeekToFirst();
    }
    auto in_range = [&](Iterator* it) { return it->Valid() && range.BeforeHi(it->key(), less); };
    while (true) {
      const bool a = in_range(then.get()), b = in_range(now.get());
      if (!a && !b) break;
      if (a != b || (a && (then->key() != now->key() || then->value() != now->value()))) {
        if (!then->status().ok()) return then->status();
        if (!now->status().ok()) return now->status();
        return Status::Busy(
            "transaction conflict",
            "a key in the range ['" + range.lo.value_or("") + "', '" + range.hi.value_or("<end>") +
                "'" + (range.hi_inclusive ? "]" : ")") +
                " read by an iterator was written after it was read (" + level() + ")");
      }
      then->Next();
      now->Next();
    }
    if (!then->status().ok()) return then->status();
    return now->status();
  }

  DB* const db_;
  ConditionalWriter* const writer_;
  Env* const env_;
  const Comparator* const comparator_;
  const size_t max_key_size_;
  const size_t max_value_size_;
  const WriteOptions write_options_;
  const TransactionOptions options_;
  Status init_status_;
  uint64_t begin_micros_ = 0;
  bool finished_ = false;
  bool expired_ = false;
  // Pinned until the transaction finishes: the first from the start, one
  // more per SetSnapshot; reads use the newest.
  std::vector<const Snapshot*> snapshots_;
  TxnWriteMap writes_;
  size_t write_bytes_ = 0;
  std::map<std::string, TrackedRead, ComparatorLess> read_keys_;
  std::vector<KeyRange> ranges_;  // since = index into snapshots_
  RangeSink sink_;
  std::vector<SavePoint> savepoints_;
};

}  // namespace

std::unique_ptr<Transaction> NewGenericTransaction(DB* db, ConditionalWriter* writer,
                                                   const Options& db_options,
                                                   const WriteOptions& write_options,
                                                   const TransactionOptions& options) {
  return std::make_unique<GenericTransaction>(db, writer, db_options, write_options, options);
}

}  // namespace lsmkv
