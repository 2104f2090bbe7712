#include "stress/worker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stress/describe.h"
#include "util/random.h"

namespace lsmkv::stress {

namespace {

// Collects the first error of any thread; later ones are counted only.
class Failure {
 public:
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  void Set(int code, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.load(std::memory_order_relaxed)) {
      code_ = code;
      message_ = message;
      failed_.store(true, std::memory_order_release);
    }
  }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  int code_ = 0;
  std::string message_;
};

// Operations done by all threads (ops: started, when --ops bounds the run).
struct Counters {
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> puts{0};
  std::atomic<uint64_t> deletes{0};
  std::atomic<uint64_t> range_deletes{0};
  std::atomic<uint64_t> range_delete_keys{0};
  std::atomic<uint64_t> range_deletes_busy{0};  // refused: max_range_tombstones live
  // Flush/CompactRange/DeleteRange answered NotSupported by an engine other
  // than the LSM (config.h, EngineHasTransactions).
  std::atomic<uint64_t> not_supported{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> batch_keys{0};
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> flushes{0};
  std::atomic<uint64_t> compactions{0};
  std::atomic<uint64_t> scans{0};
  std::atomic<uint64_t> scan_keys{0};
  std::atomic<uint64_t> snapshot_checks{0};
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> long_transactions{0};
};

// One thread of the workload: writes and reads the keys [begin, end).
class Worker {
 public:
  Worker(const Config& config, uint32_t thread_index, uint32_t begin, uint32_t end, lsmkv::DB* db,
         ExpectedState* expected, Counters* counters, Failure* failure)
      : config_(config),
        rnd_(config.seed * 0x100000001b3ull + thread_index + 1),
        begin_(begin),
        end_(end),
        db_(db),
        expected_(expected),
        counters_(counters),
        failure_(failure) {}

  void Run(std::chrono::steady_clock::time_point deadline) {
    if (begin_ == end_) return;
    while (!failure_->failed()) {
      if (config_.seconds > 0 && std::chrono::steady_clock::now() >= deadline) return;
      if (config_.ops > 0 && counters_->ops.fetch_add(1) >= config_.ops) return;
      if (rnd_.OneIn(config_.flush_one_in)) {
        DoFlush();
        continue;
      }
      if (rnd_.OneIn(config_.compact_one_in)) {
        DoCompactRange();
        continue;
      }
      const uint32_t r = rnd_.Uniform(100);
      if (r < 36) {
        DoSingleWrite(true);
      } else if (r < 48) {
        DoSingleWrite(false);
      } else if (r < 50) {
        DoRangeDelete();
      } else if (r < 64) {
        // Half the batches are transactions where the recovery mode allows
        // them (lsmkv/transaction.h).
        if (TransactionsAllowed() && rnd_.OneIn(2)) {
          DoTransaction();
        } else {
          DoBatch();
        }
      } else if (r < 88) {
        DoGet();
      } else if (r < 98) {
        DoScan();
      } else {
        DoSnapshotCheck();
      }
      if (long_txn_ != nullptr && --long_txn_ops_left_ == 0) EndLongTransaction();
    }
    if (long_txn_ != nullptr) EndLongTransaction();
  }

 private:
  lsmkv::WriteOptions NextWriteOptions() {
    lsmkv::WriteOptions wo;
    wo.sync = rnd_.Uniform(100) < config_.sync_percent;
    return wo;
  }

  uint32_t PickKey() { return begin_ + rnd_.Uniform(end_ - begin_); }

  // want distinct keys of this thread's slice. REQUIRES: want <= slice size.
  std::vector<uint32_t> PickDistinctKeys(uint32_t want) {
    std::vector<uint32_t> keys;
    while (keys.size() < want) {
      const uint32_t index = PickKey();
      if (std::find(keys.begin(), keys.end(), index) == keys.end()) keys.push_back(index);
    }
    return keys;
  }

  // A nonzero id marking the keys of one batch (or transaction) pending.
  uint32_t NewBatchId() {
    uint32_t batch_id = 0;
    while (batch_id == 0) batch_id = rnd_.Next();
    return batch_id;
  }

  bool SetSlot(uint32_t index, const Slot& slot) {
    std::string error;
    if (expected_->Set(index, slot, &error)) return true;
    failure_->Set(kExitUsage, error);
    return false;
  }

  // Marks key index pending with a new value id; returns the pending slot.
  Slot MakePending(uint32_t index, bool put, uint32_t batch_id) {
    Slot slot = expected_->Get(index);
    slot.pending_value_id = slot.value_id + 1;
    slot.batch_id = batch_id;
    slot.flags = static_cast<uint8_t>((slot.flags & Slot::kExists) | Slot::kPending |
                                      (put ? Slot::kPendingExists : 0));
    return slot;
  }

  static Slot Committed(const Slot& pending) {
    Slot slot;
    slot.value_id = pending.pending_value_id;
    slot.flags = pending.pending_exists() ? Slot::kExists : 0;
    return slot;
  }

  void DbError(const char* op, uint32_t index, const lsmkv::Status& s) {
    failure_->Set(kExitDbError, std::string(op) + " of " + KeyName(index) + " failed: " +
                                    s.ToString() + " [seed " + std::to_string(config_.seed) + "]");
  }

  void DoSingleWrite(bool put) {
    const uint32_t index = PickKey();
    const Slot pending = MakePending(index, put, 0);
    if (!SetSlot(index, pending)) return;
    const lsmkv::WriteOptions wo = NextWriteOptions();
    const std::string key = KeyFor(index);
    lsmkv::Status s =
        put ? db_->Put(wo, key, ValueFor(index, pending.pending_value_id)) : db_->Delete(wo, key);
    if (!s.ok()) return DbError(put ? "Put" : "Delete", index, s);
    if (!SetSlot(index, Committed(pending))) return;
    (put ? counters_->puts : counters_->deletes).fetch_add(1, std::memory_order_relaxed);
  }

  void DoBatch() {
    const uint32_t slice = end_ - begin_;
    const uint32_t want = std::min(slice, 2 + rnd_.Uniform(config_.batch_keys_max - 1));
    const std::vector<uint32_t> keys = PickDistinctKeys(want);
    const uint32_t batch_id = NewBatchId();
    lsmkv::WriteBatch batch;
    std::vector<Slot> pending;
    for (uint32_t index : keys) {
      const bool put = rnd_.Uniform(4) != 0;
      pending.push_back(MakePending(index, put, batch_id));
      if (!SetSlot(index, pending.back())) return;
      if (put) {
        batch.Put(KeyFor(index), ValueFor(index, pending.back().pending_value_id));
      } else {
        batch.Delete(KeyFor(index));
      }
    }
    lsmkv::Status s = db_->Write(NextWriteOptions(), &batch);
    if (!s.ok()) return DbError("Write (batch)", keys[0], s);
    for (size_t i = 0; i < keys.size(); i++) {
      if (!SetSlot(keys[i], Committed(pending[i]))) return;
    }
    counters_->batches.fetch_add(1, std::memory_order_relaxed);
    counters_->batch_keys.fetch_add(keys.size(), std::memory_order_relaxed);
  }

  // DeleteRange over up to 16 consecutive keys of this thread's slice: like
  // a batch deleting each of them (all pending with one batch id, so that
  // after a crash they show all old or all deleted). Refused with Busy when
  // max_range_tombstones are live: nothing was written, the keys go back to
  // their committed state, and a compaction of the slice retires tombstones.
  void DoRangeDelete() {
    const uint32_t a = PickKey();
    const uint32_t b = a + 1 + rnd_.Uniform(std::min<uint32_t>(16, end_ - a));
    const uint32_t batch_id = NewBatchId();
    std::vector<Slot> pending;
    for (uint32_t index = a; index < b; index++) {
      pending.push_back(MakePending(index, /*put=*/false, batch_id));
      if (!SetSlot(index, pending.back())) return;
    }
    lsmkv::Status s = db_->DeleteRange(NextWriteOptions(), KeyPrefix(a), KeyPrefix(b));
    if (s.IsBusy() || Unsupported(s)) {
      for (uint32_t index = a; index < b; index++) {
        Slot slot = pending[index - a];
        slot.flags &= Slot::kExists;
        slot.pending_value_id = 0;
        slot.batch_id = 0;
        if (!SetSlot(index, slot)) return;
      }
      if (!s.IsBusy()) return;  // counted by Unsupported
      counters_->range_deletes_busy.fetch_add(1, std::memory_order_relaxed);
      const std::string lo = KeyPrefix(begin_), hi = KeyPrefix(end_);
      s = db_->CompactRange(&lo, &hi);
      if (!s.ok()) return DbError("CompactRange (after a refused DeleteRange)", a, s);
      return;
    }
    if (!s.ok()) return DbError("DeleteRange", a, s);
    for (uint32_t index = a; index < b; index++) {
      if (!SetSlot(index, Committed(pending[index - a]))) return;
    }
    counters_->range_deletes.fetch_add(1, std::memory_order_relaxed);
    counters_->range_delete_keys.fetch_add(b - a, std::memory_order_relaxed);
  }

  bool TransactionsAllowed() const {
    return EngineHasTransactions(config_.engine) &&
           config_.options.wal_recovery_mode != lsmkv::WalRecoveryMode::kSkipAnyCorrupted;
  }

  // True (and counted) if s is NotSupported from an engine other than the
  // LSM: the operation did nothing and is skipped. The LSM supports every
  // operation the workload runs, so there it stays an error.
  bool Unsupported(const lsmkv::Status& s) {
    if (!s.IsNotSupported() || config_.engine == lsmkv::StorageEngine::kLsm) return false;
    counters_->not_supported.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // A read-modify-write transaction over keys of this thread's slice: each
  // key is read (and checked: only this thread writes it) and rewritten or
  // deleted, at a random isolation level. Nobody else writes these keys, so
  // the commit must succeed: a conflict is a failure. Now and then a
  // transaction is left open for a while (up to 2,000 of this thread's
  // operations) holding its snapshot, then checked and committed: the
  // versions and conflict-tracker entries it pins must be released.
  void DoTransaction() {
    const uint32_t slice = end_ - begin_;
    const uint32_t want = std::min(slice, 1 + rnd_.Uniform(config_.batch_keys_max));
    const std::vector<uint32_t> keys = PickDistinctKeys(want);
    const uint32_t batch_id = NewBatchId();
    lsmkv::TransactionOptions to;
    to.isolation =
        rnd_.OneIn(2) ? lsmkv::IsolationLevel::kSerializable : lsmkv::IsolationLevel::kSnapshot;
    std::unique_ptr<lsmkv::Transaction> txn = db_->BeginTransaction(NextWriteOptions(), to);
    std::vector<Slot> pending;
    for (uint32_t index : keys) {
      const Slot slot = expected_->Get(index);
      std::string value;
      lsmkv::Status s = txn->Get(lsmkv::ReadOptions(), KeyFor(index), &value);
      if (!s.ok() && !s.IsNotFound()) return DbError("Transaction::Get", index, s);
      if (slot.exists() ? !(s.ok() && value == ValueFor(index, slot.value_id)) : !s.IsNotFound()) {
        failure_->Set(kExitMismatch, "MISMATCH (transaction read) " + KeyName(index) +
                                         ": expected " +
                                         DescribeState(index, slot.exists(), slot.value_id) +
                                         ", found " + DescribeFound(index, slot, s.ok(), value) +
                                         " [seed " + std::to_string(config_.seed) + "]");
        return;
      }
      const bool put = rnd_.Uniform(4) != 0;
      pending.push_back(MakePending(index, put, batch_id));
      if (!SetSlot(index, pending.back())) return;
      s = put ? txn->Put(KeyFor(index), ValueFor(index, pending.back().pending_value_id))
              : txn->Delete(KeyFor(index));
      if (!s.ok()) return DbError("Transaction::Put/Delete", index, s);
    }
    lsmkv::Status s = txn->Commit();
    if (!s.ok()) return DbError("Transaction::Commit", keys[0], s);
    for (size_t i = 0; i < keys.size(); i++) {
      if (!SetSlot(keys[i], Committed(pending[i]))) return;
    }
    counters_->transactions.fetch_add(1, std::memory_order_relaxed);
    counters_->batch_keys.fetch_add(keys.size(), std::memory_order_relaxed);
    if (long_txn_ == nullptr && rnd_.OneIn(50)) StartLongTransaction();
  }

  void StartLongTransaction() {
    long_txn_ = db_->BeginTransaction(lsmkv::WriteOptions(), lsmkv::TransactionOptions());
    long_txn_key_ = PickKey();
    const Slot slot = expected_->Get(long_txn_key_);
    long_txn_exists_ = slot.exists();
    long_txn_value_id_ = slot.value_id;
    long_txn_ops_left_ = 1 + rnd_.Uniform(2000);
  }

  // Reads the key noted at the start: the snapshot must still show it as it
  // was, however much this thread wrote since.
  void EndLongTransaction() {
    std::unique_ptr<lsmkv::Transaction> txn = std::move(long_txn_);
    std::string value;
    lsmkv::Status s = txn->Get(lsmkv::ReadOptions(), KeyFor(long_txn_key_), &value);
    if (!s.ok() && !s.IsNotFound()) return DbError("Transaction::Get (long)", long_txn_key_, s);
    const bool ok = long_txn_exists_
                        ? s.ok() && value == ValueFor(long_txn_key_, long_txn_value_id_)
                        : s.IsNotFound();
    if (!ok) {
      failure_->Set(kExitMismatch,
                    "MISMATCH (long transaction's snapshot) " + KeyName(long_txn_key_) +
                        ": expected " +
                        DescribeState(long_txn_key_, long_txn_exists_, long_txn_value_id_) +
                        " [seed " + std::to_string(config_.seed) + "]");
      return;
    }
    s = txn->Commit();  // read-only
    if (!s.ok()) return DbError("Transaction::Commit (long)", long_txn_key_, s);
    counters_->long_transactions.fetch_add(1, std::memory_order_relaxed);
  }

  // Only this thread writes the key, so its expected state is exact.
  void DoGet() {
    const uint32_t index = PickKey();
    const Slot& slot = expected_->Get(index);
    std::string value;
    lsmkv::Status s = db_->Get(lsmkv::ReadOptions(), KeyFor(index), &value);
    if (!s.ok() && !s.IsNotFound()) return DbError("Get", index, s);
    const bool ok =
        slot.exists() ? s.ok() && value == ValueFor(index, slot.value_id) : s.IsNotFound();
    if (!ok) {
      failure_->Set(kExitMismatch, "MISMATCH (while running) " + KeyName(index) + ": expected " +
                                       DescribeState(index, slot.exists(), slot.value_id) +
                                       ", found " + DescribeFound(index, slot, s.ok(), value) +
                                       " [seed " + std::to_string(config_.seed) + "]");
      return;
    }
    counters_->gets.fetch_add(1, std::memory_order_relaxed);
  }

  void DoFlush() {
    lsmkv::Status s = db_->Flush();
    if (Unsupported(s)) return;
    if (!s.ok()) {
      failure_->Set(kExitDbError, "Flush failed: " + s.ToString() + " [seed " +
                                      std::to_string(config_.seed) + "]");
      return;
    }
    counters_->flushes.fetch_add(1, std::memory_order_relaxed);
  }

  // CompactRange over a random range of all keys (other threads' included:
  // compaction changes no visible state), unbounded on either side at times.
  void DoCompactRange() {
    const uint32_t a = rnd_.Uniform(config_.keys);
    const uint32_t b = a + 1 + rnd_.Uniform(config_.keys - a);
    const std::string begin = KeyPrefix(a), end = KeyPrefix(b);
    lsmkv::Status s =
        db_->CompactRange(rnd_.OneIn(4) ? nullptr : &begin, rnd_.OneIn(4) ? nullptr : &end);
    if (Unsupported(s)) return;
    if (!s.ok()) {
      failure_->Set(kExitDbError, "CompactRange failed: " + s.ToString() + " [seed " +
                                      std::to_string(config_.seed) + "]");
      return;
    }
    counters_->compactions.fetch_add(1, std::memory_order_relaxed);
  }

  // A random range [*a, *b) of this thread's keys, at most scan_keys_max long.
  void PickRange(uint32_t* a, uint32_t* b) {
    const uint32_t slice = end_ - begin_;
    const uint32_t len = 1 + rnd_.Uniform(std::min(slice, config_.scan_keys_max));
    *a = begin_ + rnd_.Uniform(slice - len + 1);
    *b = *a + len;
  }

  // Reads [a, b) with an iterator (forward or backward, from a Seek inside
  // the range at times) and compares it with want[0..b-a): only this thread
  // writes those keys, so the expected state is exact. Returns false after
  // reporting a mismatch or an error.
  bool CheckRange(const lsmkv::ReadOptions& base, uint32_t a, uint32_t b,
                  const std::vector<Slot>& want, const char* what) {
    lsmkv::ReadOptions ro = base;
    ro.lower_bound = KeyPrefix(a);
    ro.upper_bound = KeyPrefix(b);
    std::vector<uint32_t> expect;  // existing keys of the range, ascending
    for (uint32_t i = a; i < b; i++) {
      if (want[i - a].exists()) expect.push_back(i);
    }
    const bool forward = rnd_.OneIn(2);
    // Start at a key of the range (exact or a prefix that sorts before it).
    const uint32_t from = a + rnd_.Uniform(b - a);
    const bool seek = rnd_.OneIn(3);
    std::unique_ptr<lsmkv::Iterator> it = db_->NewIterator(ro);
    if (forward) {
      if (seek) {
        it->Seek(KeyPrefix(from));
        expect.erase(expect.begin(), std::lower_bound(expect.begin(), expect.end(), from));
      } else {
        it->SeekToFirst();
      }
    } else {
      if (seek) {
        it->SeekForPrev(KeyFor(from));
        expect.erase(std::upper_bound(expect.begin(), expect.end(), from), expect.end());
      } else {
        it->SeekToLast();
      }
      std::reverse(expect.begin(), expect.end());
    }
    size_t n = 0;
    for (; it->Valid(); forward ? it->Next() : it->Prev()) {
      const std::string key(it->key());
      if (n >= expect.size() || key != KeyFor(expect[n])) {
        const std::string wanted = n < expect.size() ? KeyName(expect[n]) : "the end";
        return RangeMismatch(
            what, a, b, forward,
            "found key '" + ToHex(key, 40) + "' where " + wanted + " was expected");
      }
      const Slot& slot = want[expect[n] - a];
      if (it->value() != ValueFor(expect[n], slot.value_id)) {
        return RangeMismatch(what, a, b, forward,
                             KeyName(expect[n]) + " expected " +
                                 DescribeState(expect[n], true, slot.value_id) + ", found " +
                                 DescribeFound(expect[n], slot, true, std::string(it->value())));
      }
      n++;
    }
    if (!it->status().ok()) {
      failure_->Set(kExitDbError, std::string(what) +
                                      " iterator failed: " + it->status().ToString() + " [seed " +
                                      std::to_string(config_.seed) + "]");
      return false;
    }
    if (n != expect.size()) {
      return RangeMismatch(what, a, b, forward,
                           "ended before " + KeyName(expect[n]) + " (" +
                               std::to_string(expect.size() - n) + " keys missing)");
    }
    counters_->scan_keys.fetch_add(n, std::memory_order_relaxed);
    return true;
  }

  bool RangeMismatch(const char* what, uint32_t a, uint32_t b, bool forward,
                     const std::string& text) {
    failure_->Set(kExitMismatch, std::string("MISMATCH (") + what + ", keys " + std::to_string(a) +
                                     ".." + std::to_string(b - 1) +
                                     (forward ? ", forward" : ", backward") + ") " + text +
                                     " [seed " + std::to_string(config_.seed) + "]");
    return false;
  }

  std::vector<Slot> CurrentSlots(uint32_t a, uint32_t b) const {
    std::vector<Slot> slots;
    for (uint32_t i = a; i < b; i++) slots.push_back(expected_->Get(i));
    return slots;
  }

  void DoScan() {
    uint32_t a, b;
    PickRange(&a, &b);
    if (CheckRange(lsmkv::ReadOptions(), a, b, CurrentSlots(a, b), "scan")) {
      counters_->scans.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Takes a snapshot, writes more (single writes and atomic batches, at
  // times a flush or a compaction of the range), then reads the range at
  // the snapshot with an iterator and with Gets: it must show exactly the
  // state when the snapshot was taken, so a batch written after it is wholly
  // invisible and one written before it wholly visible.
  void DoSnapshotCheck() {
    uint32_t a, b;
    PickRange(&a, &b);
    const std::vector<Slot> then = CurrentSlots(a, b);
    const lsmkv::Snapshot* snapshot = db_->GetSnapshot();
    const int writes = 1 + static_cast<int>(rnd_.Uniform(6));
    for (int i = 0; i < writes && !failure_->failed(); i++) {
      const uint32_t r = rnd_.Uniform(100);
      if (r < 40) {
        DoSingleWrite(true);
      } else if (r < 55) {
        DoSingleWrite(false);
      } else if (r < 90) {
        DoBatch();
      } else if (r < 97) {
        DoFlush();
      } else {
        const std::string begin = KeyPrefix(a), end = KeyPrefix(b);
        lsmkv::Status s = db_->CompactRange(&begin, &end);
        if (!s.ok() && !Unsupported(s)) {
          failure_->Set(kExitDbError, "CompactRange failed: " + s.ToString() + " [seed " +
                                          std::to_string(config_.seed) + "]");
        }
      }
    }
    lsmkv::ReadOptions ro;
    ro.snapshot = snapshot;
    bool ok = !failure_->failed() && CheckRange(ro, a, b, then, "snapshot scan");
    for (int i = 0; ok && i < 3; i++) {
      const uint32_t index = a + rnd_.Uniform(b - a);
      const Slot& slot = then[index - a];
      std::string value;
      lsmkv::Status s = db_->Get(ro, KeyFor(index), &value);
      if (!s.ok() && !s.IsNotFound()) {
        DbError("Get at a snapshot", index, s);
        ok = false;
      } else if (slot.exists() ? !(s.ok() && value == ValueFor(index, slot.value_id))
                               : !s.IsNotFound()) {
        failure_->Set(kExitMismatch, "MISMATCH (Get at a snapshot) " + KeyName(index) +
                                         ": expected " +
                                         DescribeState(index, slot.exists(), slot.value_id) +
                                         ", found " + DescribeFound(index, slot, s.ok(), value) +
                                         " [seed " + std::to_string(config_.seed) + "]");
        ok = false;
      }
    }
    db_->ReleaseSnapshot(snapshot);
    if (ok) counters_->snapshot_checks.fetch_add(1, std::memory_order_relaxed);
  }

  const Config& config_;
  lsmkv::Random rnd_;
  const uint32_t begin_;
  const uint32_t end_;
  lsmkv::DB* const db_;
  ExpectedState* const expected_;
  Counters* const counters_;
  Failure* const failure_;
  // A transaction this thread keeps open across operations (see
  // DoTransaction), the key it checks at the end and what it expects.
  std::unique_ptr<lsmkv::Transaction> long_txn_;
  uint32_t long_txn_key_ = 0;
  bool long_txn_exists_ = false;
  uint32_t long_txn_value_id_ = 0;
  uint32_t long_txn_ops_left_ = 0;
};

}  // namespace

int RunWorkload(const Config& config, lsmkv::DB* db, ExpectedState* expected) {
  Counters counters;
  Failure failure;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(config.seconds));
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < config.threads; t++) {
    const auto begin = static_cast<uint32_t>(uint64_t{config.keys} * t / config.threads);
    const auto end = static_cast<uint32_t>(uint64_t{config.keys} * (t + 1) / config.threads);
    workers.push_back(
        std::make_unique<Worker>(config, t, begin, end, db, expected, &counters, &failure));
  }
  for (auto& w : workers) threads.emplace_back([&w, deadline] { w->Run(deadline); });
  for (auto& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("lsmkv_stress: workload: %" PRIu64 " puts, %" PRIu64 " deletes, %" PRIu64
              " range deletes (%" PRIu64 " keys, %" PRIu64
              " refused: too many tombstones), %" PRIu64 " batches + %" PRIu64
              " transactions (%" PRIu64 " keys), %" PRIu64 " long transactions, %" PRIu64
              " gets, %" PRIu64 " scans (%" PRIu64 " keys), %" PRIu64 " snapshot checks, %" PRIu64
              " flushes, %" PRIu64 " compactions, %" PRIu64
              " skipped (NotSupported by the engine) in %.2f s\n",
              counters.puts.load(), counters.deletes.load(), counters.range_deletes.load(),
              counters.range_delete_keys.load(), counters.range_deletes_busy.load(),
              counters.batches.load(), counters.transactions.load(), counters.batch_keys.load(),
              counters.long_transactions.load(), counters.gets.load(), counters.scans.load(),
              counters.scan_keys.load(), counters.snapshot_checks.load(), counters.flushes.load(),
              counters.compactions.load(), counters.not_supported.load(), secs);
  std::fflush(stdout);
  if (failure.failed()) {
    std::fprintf(stderr, "lsmkv_stress: FAILED: %s\n", failure.message().c_str());
    return failure.code();
  }
  return 0;
}

}  // namespace lsmkv::stress
