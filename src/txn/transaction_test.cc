// Transactions: the API's semantics, Hermitage's anomaly list at both
// isolation levels, serializable range tracking, conflicts with plain writes,
// the limits, the properties that show what open transactions pin, and the
// transaction iterator against a std::map model.
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/transaction.h"

namespace lsmkv::test {
namespace {

constexpr IsolationLevel kSI = IsolationLevel::kSnapshot;
constexpr IsolationLevel kSER = IsolationLevel::kSerializable;

class TransactionTest : public DBTestBase<::testing::Test> {
 protected:
  TransactionTest() : clock_(env_.get()) {
    options_.env = &clock_;
    options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;
    EXPECT_TRUE(Reopen().ok());
  }
  void TearDown() override { db_.reset(); }  // before clock_, which it uses

  std::unique_ptr<Transaction> Begin(IsolationLevel level, TransactionOptions to = {}) {
    to.isolation = level;
    return db_->BeginTransaction(WriteOptions(), to);
  }
  static std::string TGet(Transaction* t, std::string_view key) {
    std::string value;
    Status s = t->Get(ReadOptions(), key, &value);
    if (s.IsNotFound()) return "NOT_FOUND";
    if (!s.ok()) return "ERROR: " + s.ToString();
    return value;
  }
  // Every key = value pair a transaction iterator shows, forward.
  static std::string Scan(Transaction* t, const ReadOptions& ro = ReadOptions()) {
    std::string out;
    auto it = t->NewIterator(ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out += std::string(it->key()) + "=" + std::string(it->value()) + " ";
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }
  uint64_t Property(const std::string& name) {
    std::string value;
    EXPECT_TRUE(db_->GetProperty(name, &value)) << name;
    return std::stoull(value);
  }
  // Hermitage's starting state: rows 1 = 10 and 2 = 20.
  void SeedRows() {
    ASSERT_TRUE(Put("1", "10").ok());
    ASSERT_TRUE(Put("2", "20").ok());
  }

  ManualClockEnv clock_;
};

TEST_F(TransactionTest, ReadsOwnWritesAndItsSnapshot) {
  SeedRows();
  auto t = Begin(kSI);
  EXPECT_EQ("10", TGet(t.get(), "1"));
  ASSERT_TRUE(Put("1", "later").ok());  // after the start: invisible to t
  EXPECT_EQ("10", TGet(t.get(), "1"));
  ASSERT_TRUE(t->Put("3", "30").ok());
  ASSERT_TRUE(t->Delete("2").ok());
  EXPECT_EQ("30", TGet(t.get(), "3"));
  EXPECT_EQ("NOT_FOUND", TGet(t.get(), "2"));
  EXPECT_EQ("1=10 3=30 ", Scan(t.get()));
  EXPECT_EQ("NOT_FOUND", Get("3"));  // not visible before commit
  EXPECT_EQ(2u, t->GetNumWrites());
  ASSERT_TRUE(t->Commit().ok());
  EXPECT_EQ("30", Get("3"));
  EXPECT_EQ("NOT_FOUND", Get("2"));
  EXPECT_EQ("later", Get("1"));
  EXPECT_GT(t->GetCommitSequence(), t->GetReadSequence());
  EXPECT_TRUE(t->Put("4", "x").IsInvalidArgument());  // finished
  EXPECT_TRUE(t->Commit().IsInvalidArgument());
}

TEST_F(TransactionTest, RollbackAndDestructionWriteNothing) {
  auto t = Begin(kSI);
  ASSERT_TRUE(t->Put("a", "1").ok());
  ASSERT_TRUE(t->Rollback().ok());
  EXPECT_EQ("NOT_FOUND", Get("a"));
  {
    auto u = Begin(kSER);
    ASSERT_TRUE(u->Put("b", "1").ok());
  }
  EXPECT_EQ("NOT_FOUND", Get("b"));
  EXPECT_EQ(0u, Property("lsmkv.txn-running"));
}

TEST_F(TransactionTest, CommitSequenceIsTheLastWriteOfTheBatch) {
  auto t = Begin(kSI);
  ASSERT_TRUE(t->Put("a", "1").ok());
  ASSERT_TRUE(t->Put("b", "2").ok());
  const uint64_t before = Property("lsmkv.last-sequence");
  ASSERT_TRUE(t->Commit().ok());
  EXPECT_EQ(before + 2, t->GetCommitSequence());
  EXPECT_EQ(before + 2, Property("lsmkv.last-sequence"));
  auto r = Begin(kSER);  // read-only: commits without a sequence
  EXPECT_EQ("1", TGet(r.get(), "a"));
  ASSERT_TRUE(r->Commit().ok());
  EXPECT_EQ(0u, r->GetCommitSequence());
}

TEST_F(TransactionTest, SavePoints) {
  auto t = Begin(kSI);
  ASSERT_TRUE(t->Put("a", "1").ok());
  t->SetSavePoint();
  ASSERT_TRUE(t->Put("a", "2").ok());
  ASSERT_TRUE(t->Put("b", "2").ok());
  t->SetSavePoint();
  ASSERT_TRUE(t->Delete("a").ok());
  EXPECT_EQ("NOT_FOUND", TGet(t.get(), "a"));
  ASSERT_TRUE(t->RollbackToSavePoint().ok());
  EXPECT_EQ("2", TGet(t.get(), "a"));
  ASSERT_TRUE(t->RollbackToSavePoint().ok());
  EXPECT_EQ("1", TGet(t.get(), "a"));
  EXPECT_EQ("NOT_FOUND", TGet(t.get(), "b"));
  EXPECT_TRUE(t->RollbackToSavePoint().IsNotFound());
  ASSERT_TRUE(t->Commit().ok());
  EXPECT_EQ("1", Get("a"));
  EXPECT_EQ("NOT_FOUND", Get("b"));
}

TEST_F(TransactionTest, RefusedWithSkipAnyCorruptedRecovery) {
  options_.wal_recovery_mode = WalRecoveryMode::kSkipAnyCorrupted;
  ASSERT_TRUE(Reopen().ok());
  auto t = Begin(kSI);
  ASSERT_NE(nullptr, t);
  Status s = t->Put("a", "1");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("kPointInTime")) << s.ToString();
  EXPECT_TRUE(t->Commit().IsInvalidArgument());
  EXPECT_EQ("NOT_FOUND", Get("a"));
}

TEST_F(TransactionTest, SnapshotGivenIsRefused) {
  auto t = Begin(kSI);
  ReadOptions ro;
  const Snapshot* snap = db_->GetSnapshot();
  ro.snapshot = snap;
  std::string v;
  EXPECT_TRUE(t->Get(ro, "a", &v).IsInvalidArgument());
  EXPECT_TRUE(t->NewIterator(ro)->status().IsInvalidArgument());
  db_->ReleaseSnapshot(snap);
}

TEST_F(TransactionTest, BadKeysAndSizeLimits) {
  options_.max_key_size = 8;
  options_.max_value_size = 16;
  ASSERT_TRUE(Reopen().ok());
  TransactionOptions to;
  to.max_write_bytes = 40;
  to.max_tracked_reads = 3;
  auto t = Begin(kSER, to);
  EXPECT_TRUE(t->Put("123456789", "v").IsInvalidArgument());
  EXPECT_TRUE(t->Put("k", std::string(17, 'v')).IsInvalidArgument());
  ASSERT_TRUE(t->Put("k1", std::string(16, 'v')).ok());  // 18 bytes
  ASSERT_TRUE(t->Put("k2", std::string(16, 'v')).ok());  // 36 bytes
  Status s = t->Put("k3", "vvv");                        // 41 > 40
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("max_write_bytes"));
  ASSERT_TRUE(t->Put("k2", "v").ok());  // replacing shrinks the total
  ASSERT_TRUE(t->Put("k3", "vvv").ok());
  std::string v;
  EXPECT_TRUE(t->Get(ReadOptions(), "r1", &v).IsNotFound());
  EXPECT_TRUE(t->Get(ReadOptions(), "r2", &v).IsNotFound());
  EXPECT_TRUE(t->Get(ReadOptions(), "r1", &v).IsNotFound());  // already tracked
  EXPECT_EQ(2u, t->GetNumTrackedReads());
  auto it = t->NewIterator(ReadOptions());
  it->SeekToFirst();  // the third tracked read
  EXPECT_TRUE(it->status().ok());
  it->Seek("k");  // a fourth: refused
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsInvalidArgument()) << it->status().ToString();
  s = t->Get(ReadOptions(), "r3", &v);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("max_tracked_reads"));
  it.reset();
  ASSERT_TRUE(t->Commit().ok());
  EXPECT_EQ("vvv", Get("k3"));
}

TEST_F(TransactionTest, LifetimeLimitExpiresAndReleasesPins) {
  TransactionOptions to;
  to.max_lifetime_micros = 5'000'000;
  auto t = Begin(kSI, to);
  ASSERT_TRUE(t->Put("a", "1").ok());
  ASSERT_TRUE(Put("x", "1").ok());
  EXPECT_EQ(1u, Property("lsmkv.txn-running"));
  EXPECT_EQ(1u, Property("lsmkv.txn-pinned-sequences"));
  clock_.Advance(4'000'000);
  EXPECT_EQ(4'000'000u, Property("lsmkv.txn-oldest-age-micros"));
  ASSERT_TRUE(t->Put("b", "1").ok());
  clock_.Advance(2'000'000);
  Status s = t->Commit();
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("expired"));
  EXPECT_EQ(0u, Property("lsmkv.txn-running"));  // released at once, not at destruction
  EXPECT_EQ("NOT_FOUND", Get("a"));
  EXPECT_TRUE(t->Rollback().IsAborted());
}

TEST_F(TransactionTest, TrackerShrinksWhenTransactionsEnd) {
  auto old = Begin(kSI);
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put("k" + std::to_string(i), "v").ok());
  EXPECT_EQ(100u, Property("lsmkv.txn-tracked-keys"));
  EXPECT_EQ(100u, Property("lsmkv.txn-pinned-sequences"));
  EXPECT_GT(Property("lsmkv.txn-tracker-bytes"), 100u * 8);
  auto young = Begin(kSI);
  for (int i = 0; i < 10; i++) ASSERT_TRUE(Put("y" + std::to_string(i), "v").ok());
  EXPECT_EQ(110u, Property("lsmkv.txn-tracked-keys"));
  ASSERT_TRUE(old->Rollback().ok());  // only the young one's writes remain needed
  EXPECT_EQ(10u, Property("lsmkv.txn-tracked-keys"));
  young.reset();
  EXPECT_EQ(0u, Property("lsmkv.txn-tracked-keys"));
  EXPECT_EQ(0u, Property("lsmkv.txn-tracker-bytes"));
  EXPECT_EQ(0u, Property("lsmkv.txn-pinned-sequences"));
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put("z" + std::to_string(i), "v").ok());
  EXPECT_EQ(0u, Property("lsmkv.txn-tracked-keys"));  // nothing recorded with none running
}

TEST_F(TransactionTest, TrackerCapExpiresTheOldestTransaction) {
  options_.max_transaction_tracker_bytes = 16 * 1024;  // ~140 tracked keys
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(Put("a", "old").ok());
  auto forgotten = Begin(kSER);
  EXPECT_EQ("old", TGet(forgotten.get(), "a"));
  ASSERT_TRUE(forgotten->Put("b", "1").ok());
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put("k" + std::to_string(i), "v").ok());
  auto young = Begin(kSER);
  ASSERT_TRUE(young->Put("c", "1").ok());
  EXPECT_EQ(2u, Property("lsmkv.txn-running"));
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put("m" + std::to_string(i), "v").ok());
  // Over the cap: the oldest went, the young one stays and is enough.
  EXPECT_EQ(1u, Property("lsmkv.txn-running"));
  EXPECT_LE(Property("lsmkv.txn-tracker-bytes"), 16u * 1024);
  EXPECT_EQ(100u, Property("lsmkv.txn-tracked-keys"));
  std::string v;
  Status s = forgotten->Get(ReadOptions(), "a", &v);
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("max_transaction_tracker_bytes")) << s.ToString();
  EXPECT_TRUE(forgotten->Commit().IsAborted());
  EXPECT_EQ("NOT_FOUND", Get("b"));
  ASSERT_TRUE(young->Commit().ok());
  EXPECT_EQ("1", Get("c"));
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_NE(std::string::npos, stats.find("transactions expired")) << stats;
  forgotten.reset();  // ending an expired transaction is harmless
  EXPECT_EQ(0u, Property("lsmkv.txn-tracked-keys"));
}

TEST_F(TransactionTest, ReadOnlyWithGetForUpdateIsValidated) {
  SeedRows();
  for (IsolationLevel level : {kSI, kSER}) {
    auto t = Begin(level);
    std::string v;
    ASSERT_TRUE(t->GetForUpdate(ReadOptions(), "1", &v).ok());
    ASSERT_TRUE(Put("1", "changed").ok());
    Status s = t->Commit();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    // Plain reads only: a read-only transaction commits whatever changed.
    auto u = Begin(level);
    EXPECT_EQ("changed", TGet(u.get(), "1"));
    ASSERT_TRUE(Put("1", "again").ok());
    EXPECT_TRUE(u->Commit().ok());
  }
}

// WATCH-style use: keys tracked early stay checked from when they were read;
// after SetSnapshot reads see newer commits and written keys are checked
// from the new snapshot only.
TEST_F(TransactionTest, SetSnapshotKeepsEarlierKeysCheckedFromTheirRead) {
  SeedRows();
  auto t = Begin(kSI);
  std::string v;
  ASSERT_TRUE(t->GetForUpdate(ReadOptions(), "1", &v).ok());
  const uint64_t first = t->GetReadSequence();
  ASSERT_TRUE(Put("2", "21").ok());  // a key t will write, before SetSnapshot
  EXPECT_EQ("20", TGet(t.get(), "2"));
  ASSERT_TRUE(t->SetSnapshot().ok());
  EXPECT_GT(t->GetReadSequence(), first);
  EXPECT_EQ("21", TGet(t.get(), "2"));
  ASSERT_TRUE(t->Put("2", "22").ok());
  EXPECT_TRUE(t->Commit().ok());  // "2" changed before the new snapshot: no conflict
  EXPECT_EQ("22", Get("2"));

  auto w = Begin(kSI);
  ASSERT_TRUE(w->GetForUpdate(ReadOptions(), "1", &v).ok());
  ASSERT_TRUE(Put("1", "11").ok());  // the watched key, before SetSnapshot
  ASSERT_TRUE(w->SetSnapshot().ok());
  EXPECT_EQ("11", TGet(w.get(), "1"));  // reads see it...
  ASSERT_TRUE(w->Put("2", "23").ok());
  Status s = w->Commit();  // ...but it was tracked before: conflict
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ("22", Get("2"));

  // Serializable: an iterator's range keeps its own snapshot too.
  auto r = Begin(kSER);
  EXPECT_EQ("1=11 2=22 ", Scan(r.get()));
  ASSERT_TRUE(Put("15", "x").ok());
  ASSERT_TRUE(r->SetSnapshot().ok());
  ASSERT_TRUE(r->Put("3", "30").ok());
  EXPECT_TRUE(r->Commit().IsBusy());
}

TEST_F(TransactionTest, PlainWritesConflictToo) {
  SeedRows();
  auto t = Begin(kSI);
  ASSERT_TRUE(t->Put("1", "11").ok());
  ASSERT_TRUE(Put("1", "plain").ok());
  Status s = t->Commit();
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("'1'")) << s.ToString();
  EXPECT_EQ("plain", Get("1"));
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  EXPECT_NE(std::string::npos, stats.find("transaction conflicts")) << stats;
}

// An Env whose WAL appends block while the gate is armed: a commit stopped
// in the middle of its write group, after validation and before publication.
class WalGateEnv : public EnvWrapper {
 public:
  explicit WalGateEnv(Env* target) : EnvWrapper(target) {}
  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    return Wrap(f, target()->NewWritableFile(f, r), r);
  }
  Status NewAppendableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    return Wrap(f, target()->NewAppendableFile(f, r), r);
  }
  void Arm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
  }
  // Returns once an append is held at the gate.
  void WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return held_ > 0; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
    cv_.notify_all();
  }

 private:
  class GatedFile : public WritableFile {
   public:
    GatedFile(WalGateEnv* env, std::unique_ptr<WritableFile> base)
        : env_(env), base_(std::move(base)) {}
    Status Append(std::string_view data) override {
      {
        std::unique_lock<std::mutex> lock(env_->mu_);
        if (env_->armed_) {
          env_->held_++;
          env_->cv_.notify_all();
          env_->cv_.wait(lock, [&] { return !env_->armed_; });
        }
      }
      return base_->Append(data);
    }
    Status Flush() override { return base_->Flush(); }
    Status Sync() override { return base_->Sync(); }
    Status Close() override { return base_->Close(); }

   private:
    WalGateEnv* const env_;
    std::unique_ptr<WritableFile> base_;
  };
  Status Wrap(const std::string& f, Status s, std::unique_ptr<WritableFile>* r) {
    if (s.ok() && f.ends_with(".log")) *r = std::make_unique<GatedFile>(this, std::move(*r));
    return s;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  int held_ = 0;
};

// Two commits of the same key: the second waits for the first's key stripe
// before it validates or joins the write queue, then fails on the first's
// published write. A commit of another key does not wait.
TEST_F(TransactionTest, CommitsOfOneKeyMeetBeforeTheWriteQueue) {
  WalGateEnv gate(&clock_);
  options_.env = &gate;
  ASSERT_TRUE(Reopen().ok());
  SeedRows();
  auto t1 = Begin(kSI);
  auto t2 = Begin(kSI);
  EXPECT_EQ("10", TGet(t1.get(), "1"));
  EXPECT_EQ("10", TGet(t2.get(), "1"));
  ASSERT_TRUE(t1->Put("1", "11").ok());
  ASSERT_TRUE(t2->Put("1", "12").ok());
  EXPECT_EQ(0u, Property("lsmkv.txn-commit-waits"));

  gate.Arm();
  Status s1, s2;
  std::thread first([&] { s1 = t1->Commit(); });
  gate.WaitEntered();  // t1 validated, holds key 1's stripe, stopped in its WAL append
  std::thread second([&] { s2 = t2->Commit(); });
  // t2 takes no part in the write queue until t1 is published: it is
  // counted as waiting for the stripe (then blocks on it).
  while (Property("lsmkv.txn-commit-waits") == 0) std::this_thread::yield();
  gate.Open();
  first.join();
  second.join();
  EXPECT_TRUE(s1.ok()) << s1.ToString();
  EXPECT_TRUE(s2.IsBusy()) << s2.ToString();
  EXPECT_NE(std::string::npos, s2.ToString().find("key '1' written at sequence")) << s2.ToString();
  EXPECT_EQ("11", Get("1"));

  auto t3 = Begin(kSI);  // another key: no wait
  ASSERT_TRUE(t3->Put("2", "22").ok());
  ASSERT_TRUE(t3->Commit().ok());
  EXPECT_EQ(1u, Property("lsmkv.txn-commit-waits"));
  t1.reset();
  t2.reset();
  t3.reset();
  db_.reset();  // before gate, which it uses
}

TEST_F(TransactionTest, GetForUpdateIsCheckedUnderSnapshotIsolation) {
  SeedRows();
  auto t1 = Begin(kSI);
  std::string v;
  ASSERT_TRUE(t1->GetForUpdate(ReadOptions(), "1", &v).ok());
  ASSERT_TRUE(t1->Put("2", "x").ok());
  auto t2 = Begin(kSI);
  ASSERT_TRUE(t2->Put("1", "11").ok());
  ASSERT_TRUE(t2->Commit().ok());
  EXPECT_TRUE(t1->Commit().IsBusy());
  // A plain Get under SI is not checked: the same interleaving commits.
  auto t3 = Begin(kSI);
  ASSERT_TRUE(t3->Get(ReadOptions(), "1", &v).ok());
  ASSERT_TRUE(t3->Put("2", "y").ok());
  ASSERT_TRUE(Put("1", "12").ok());
  EXPECT_TRUE(t3->Commit().ok());
}

// ---- Hermitage (github.com/ept/hermitage): rows 1 = 10, 2 = 20. ----

// G0 (dirty write): both levels abort the second writer.
TEST_F(TransactionTest, HermitageG0) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    ASSERT_TRUE(t1->Put("1", "11").ok());
    ASSERT_TRUE(t2->Put("1", "12").ok());
    ASSERT_TRUE(t1->Put("2", "21").ok());
    ASSERT_TRUE(t1->Commit().ok());
    ASSERT_TRUE(t2->Put("2", "22").ok());
    EXPECT_TRUE(t2->Commit().IsBusy());
    EXPECT_EQ("11", Get("1"));
    EXPECT_EQ("21", Get("2"));
  }
}

// G1a (aborted read): an aborted write is never seen.
TEST_F(TransactionTest, HermitageG1a) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    ASSERT_TRUE(t1->Put("1", "101").ok());
    ASSERT_TRUE(t1->Put("2", "101").ok());
    EXPECT_EQ("1=10 2=20 ", Scan(t2.get()));
    ASSERT_TRUE(t1->Rollback().ok());
    EXPECT_EQ("1=10 2=20 ", Scan(t2.get()));
    EXPECT_TRUE(t2->Commit().ok());
  }
}

// G1b (intermediate read): only final committed values are seen.
TEST_F(TransactionTest, HermitageG1b) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    ASSERT_TRUE(t1->Put("1", "101").ok());
    EXPECT_EQ("10", TGet(t2.get(), "1"));
    ASSERT_TRUE(t1->Put("1", "11").ok());
    ASSERT_TRUE(t1->Commit().ok());
    EXPECT_EQ("10", TGet(t2.get(), "1"));
    EXPECT_TRUE(t2->Commit().ok());
  }
}

// G1c (circular information flow): neither sees the other's write.
TEST_F(TransactionTest, HermitageG1c) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    ASSERT_TRUE(t1->Put("1", "11").ok());
    ASSERT_TRUE(t2->Put("2", "22").ok());
    EXPECT_EQ("20", TGet(t1.get(), "2"));
    EXPECT_EQ("10", TGet(t2.get(), "1"));
    ASSERT_TRUE(t1->Commit().ok());
    // At SI both commit (no cycle: each read the other's old version). At
    // serializable t2 read 1, which t1 wrote after t2's start: aborted.
    Status s = t2->Commit();
    if (level == kSI) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      EXPECT_TRUE(s.IsBusy()) << s.ToString();
    }
  }
}

// OTV (observed transaction vanishes).
TEST_F(TransactionTest, HermitageOTV) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    ASSERT_TRUE(t1->Put("1", "11").ok());
    ASSERT_TRUE(t1->Put("2", "19").ok());
    ASSERT_TRUE(t2->Put("1", "12").ok());
    ASSERT_TRUE(t1->Commit().ok());
    auto t3 = Begin(level);
    EXPECT_EQ("11", TGet(t3.get(), "1"));
    ASSERT_TRUE(t2->Put("2", "18").ok());
    EXPECT_EQ("19", TGet(t3.get(), "2"));
    EXPECT_TRUE(t2->Commit().IsBusy());
    EXPECT_EQ("19", TGet(t3.get(), "2"));
    EXPECT_EQ("11", TGet(t3.get(), "1"));
    EXPECT_TRUE(t3->Commit().ok());
  }
}

// PMP (predicate-many-preceders), read variant: a predicate read repeated
// inside a transaction gives the same answer.
TEST_F(TransactionTest, HermitagePMPRead) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    EXPECT_EQ("1=10 2=20 ", Scan(t1.get()));
    auto t2 = Begin(level);
    ASSERT_TRUE(t2->Put("3", "30").ok());
    ASSERT_TRUE(t2->Commit().ok());
    EXPECT_EQ("1=10 2=20 ", Scan(t1.get()));
    EXPECT_TRUE(t1->Commit().ok());  // read-only
    ASSERT_TRUE(Delete("3").ok());
  }
}

// PMP, write variant: T1 adds 10 to every row, T2 deletes the row whose
// value is 20: the second to commit aborts.
TEST_F(TransactionTest, HermitagePMPWrite) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    {
      auto it = t1->NewIterator(ReadOptions());
      std::map<std::string, std::string> rows;
      for (it->SeekToFirst(); it->Valid(); it->Next()) rows[std::string(it->key())] = it->value();
      for (const auto& [k, v] : rows)
        ASSERT_TRUE(t1->Put(k, std::to_string(std::stoi(v) + 10)).ok());
    }
    {
      auto it = t2->NewIterator(ReadOptions());
      std::vector<std::string> doomed;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->value() == "20") doomed.emplace_back(it->key());
      }
      for (const auto& k : doomed) ASSERT_TRUE(t2->Delete(k).ok());
    }
    ASSERT_TRUE(t1->Commit().ok());
    EXPECT_TRUE(t2->Commit().IsBusy());
    EXPECT_EQ("20", Get("1"));
    EXPECT_EQ("30", Get("2"));
    ASSERT_TRUE(Put("1", "10").ok());
    ASSERT_TRUE(Put("2", "20").ok());
  }
}

// P4 (lost update): the second read-modify-write aborts.
TEST_F(TransactionTest, HermitageP4) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    EXPECT_EQ("10", TGet(t1.get(), "1"));
    EXPECT_EQ("10", TGet(t2.get(), "1"));
    ASSERT_TRUE(t1->Put("1", "11").ok());
    ASSERT_TRUE(t2->Put("1", "11").ok());
    ASSERT_TRUE(t1->Commit().ok());
    EXPECT_TRUE(t2->Commit().IsBusy());
  }
}

// G-single (read skew): T1 sees 1 and 2 from one snapshot.
TEST_F(TransactionTest, HermitageGSingle) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    EXPECT_EQ("10", TGet(t1.get(), "1"));
    EXPECT_EQ("10", TGet(t2.get(), "1"));
    EXPECT_EQ("20", TGet(t2.get(), "2"));
    ASSERT_TRUE(t2->Put("1", "12").ok());
    ASSERT_TRUE(t2->Put("2", "18").ok());
    ASSERT_TRUE(t2->Commit().ok());
    EXPECT_EQ("20", TGet(t1.get(), "2"));
    EXPECT_TRUE(t1->Commit().ok());  // read-only
  }
}

// G-single, write variant: T1 deletes the row it read as 20, which T2
// changed meanwhile: aborted at both levels.
TEST_F(TransactionTest, HermitageGSingleWrite) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    EXPECT_EQ("10", TGet(t1.get(), "1"));
    ASSERT_TRUE(t2->Put("1", "12").ok());
    ASSERT_TRUE(t2->Put("2", "18").ok());
    ASSERT_TRUE(t2->Commit().ok());
    EXPECT_EQ("20", TGet(t1.get(), "2"));
    ASSERT_TRUE(t1->Delete("2").ok());
    EXPECT_TRUE(t1->Commit().IsBusy());
  }
}

// G2-item (write skew): allowed (both commit) at SI, prevented at
// serializable.
TEST_F(TransactionTest, HermitageG2Item) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    EXPECT_EQ("10", TGet(t1.get(), "1"));
    EXPECT_EQ("20", TGet(t1.get(), "2"));
    EXPECT_EQ("10", TGet(t2.get(), "1"));
    EXPECT_EQ("20", TGet(t2.get(), "2"));
    ASSERT_TRUE(t1->Put("1", "11").ok());
    ASSERT_TRUE(t2->Put("2", "21").ok());
    ASSERT_TRUE(t1->Commit().ok());
    Status s = t2->Commit();
    if (level == kSI) {
      EXPECT_TRUE(s.ok()) << s.ToString();  // no spurious abort
      EXPECT_EQ("21", Get("2"));
    } else {
      EXPECT_TRUE(s.IsBusy()) << s.ToString();
      EXPECT_NE(std::string::npos, s.ToString().find("serializable")) << s.ToString();
      EXPECT_EQ("20", Get("2"));
    }
  }
}

// G2 (anti-dependency cycle over a predicate): each reads "rows whose value
// is a multiple of 3" (none), then inserts one. SI commits both;
// serializable aborts the second (its scan covered the first's insert).
TEST_F(TransactionTest, HermitageG2) {
  for (IsolationLevel level : {kSI, kSER}) {
    SeedRows();
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    auto multiples_of_3 = [](Transaction* t) {
      int n = 0;
      auto it = t->NewIterator(ReadOptions());
      for (it->SeekToFirst(); it->Valid(); it->Next())
        n += std::stoi(std::string(it->value())) % 3 == 0;
      return n;
    };
    EXPECT_EQ(0, multiples_of_3(t1.get()));
    EXPECT_EQ(0, multiples_of_3(t2.get()));
    ASSERT_TRUE(t1->Put("3", "30").ok());
    ASSERT_TRUE(t2->Put("4", "42").ok());
    ASSERT_TRUE(t1->Commit().ok());
    Status s = t2->Commit();
    if (level == kSI) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      EXPECT_TRUE(s.IsBusy()) << s.ToString();
      EXPECT_NE(std::string::npos, s.ToString().find("range")) << s.ToString();
    }
    ASSERT_TRUE(Delete("3").ok());
    ASSERT_TRUE(Delete("4").ok());
  }
}

// ---- serializable range tracking is precise about what was covered ----

TEST_F(TransactionTest, SerializableRangeCoversOnlyWhatTheIteratorSaw) {
  for (const char* k : {"a", "c", "e", "g"}) ASSERT_TRUE(Put(k, "v").ok());
  struct Case {
    const char* write;  // committed by another writer after the start
    bool conflict;
  };
  // The iterator seeks to "b" and reads two keys (c, e): covered [b, e].
  for (const Case& c : {Case{"a", false}, Case{"b", true}, Case{"d", true}, Case{"e", true},
                        Case{"e\x01", false}, Case{"f", false}}) {
    auto t = Begin(kSER);
    {
      auto it = t->NewIterator(ReadOptions());
      it->Seek("b");
      ASSERT_TRUE(it->Valid());
      EXPECT_EQ("c", it->key());
      it->Next();
      EXPECT_EQ("e", it->key());
    }
    ASSERT_TRUE(t->Put("zz", "1").ok());
    ASSERT_TRUE(Put(c.write, "new").ok());
    Status s = t->Commit();
    EXPECT_EQ(c.conflict, s.IsBusy()) << c.write << ": " << s.ToString();
    ASSERT_TRUE(Delete(c.write).ok());
    if (std::string(c.write) == "a" || std::string(c.write) == "e") {
      ASSERT_TRUE(Put(c.write, "v").ok());
    }
  }
}

TEST_F(TransactionTest, SerializableScanToTheEndCoversTheRestAndBounds) {
  for (const char* k : {"a", "c"}) ASSERT_TRUE(Put(k, "v").ok());
  for (const char* write : {"d", "zzz"}) {
    auto t = Begin(kSER);
    EXPECT_EQ("a=v c=v ", Scan(t.get()));
    ASSERT_TRUE(t->Put("0", "1").ok());
    ASSERT_TRUE(Put(write, "new").ok());
    EXPECT_TRUE(t->Commit().IsBusy()) << write;  // a phantom past the last key
    ASSERT_TRUE(Delete(write).ok());
  }
  // With an upper bound the covered range stops at the bound.
  ReadOptions ro;
  ro.upper_bound = "m";
  auto t = Begin(kSER);
  EXPECT_EQ("a=v c=v ", Scan(t.get(), ro));
  ASSERT_TRUE(t->Put("0", "1").ok());
  ASSERT_TRUE(Put("m", "new").ok());
  EXPECT_TRUE(t->Commit().ok());
  ASSERT_TRUE(Delete("0").ok());
  ASSERT_TRUE(Delete("m").ok());
  // Backward scans track too.
  auto u = Begin(kSER);
  {
    auto it = u->NewIterator(ReadOptions());
    it->SeekForPrev("b");
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ("a", it->key());
    it->Prev();
    EXPECT_FALSE(it->Valid());
  }
  ASSERT_TRUE(u->Put("0", "2").ok());
  ASSERT_TRUE(Put("\x01", "new").ok());  // below "a": covered by running off the start
  EXPECT_TRUE(u->Commit().IsBusy());
}

TEST_F(TransactionTest, SnapshotIsolationDoesNotTrackRanges) {
  ASSERT_TRUE(Put("a", "v").ok());
  auto t = Begin(kSI);
  EXPECT_EQ("a=v ", Scan(t.get()));
  ASSERT_TRUE(t->Put("x", "1").ok());
  ASSERT_TRUE(Put("b", "new").ok());
  EXPECT_TRUE(t->Commit().ok());
  EXPECT_EQ(0u, t->GetNumTrackedReads());
}

TEST_F(TransactionTest, SerializableTracksMissingKeys) {
  auto t = Begin(kSER);
  EXPECT_EQ("NOT_FOUND", TGet(t.get(), "ghost"));
  ASSERT_TRUE(t->Put("x", "1").ok());
  ASSERT_TRUE(Put("ghost", "boo").ok());
  EXPECT_TRUE(t->Commit().IsBusy());
}

TEST_F(TransactionTest, ConflictsAcrossFlushesAndCompactions) {
  SeedRows();
  auto t = Begin(kSER);
  EXPECT_EQ("10", TGet(t.get(), "1"));
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(Put("1", "11").ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("10", TGet(t.get(), "1"));  // the snapshot survives compaction
  ASSERT_TRUE(t->Put("2", "x").ok());
  EXPECT_TRUE(t->Commit().IsBusy());
}

// ---- the transaction iterator against a model ----

TEST_F(TransactionTest, IteratorMatchesModelOfSnapshotPlusOwnWrites) {
  Random rnd(301);
  auto random_key = [](Random* r) { return "k" + std::to_string(r->Uniform(60)); };
  for (int round = 0; round < 30; round++) {
    std::map<std::string, std::string> model;  // what the transaction should see
    dbname_ = "/db" + std::to_string(round);   // a fresh database each round
    ASSERT_TRUE(Reopen().ok());
    for (int i = 0; i < 40; i++) {
      const std::string k = random_key(&rnd);
      if (rnd.OneIn(4)) {
        ASSERT_TRUE(Delete(k).ok());
        model.erase(k);
      } else {
        ASSERT_TRUE(Put(k, "db" + std::to_string(i)).ok());
        model[k] = "db" + std::to_string(i);
      }
    }
    if (rnd.OneIn(2)) {
      ASSERT_TRUE(db_->Flush().ok());
    }
    auto t = Begin(round % 2 == 0 ? kSI : kSER);
    for (int i = 0; i < 30; i++) {  // later plain writes: invisible to t
      ASSERT_TRUE(Put(random_key(&rnd), "late").ok());
    }
    for (int i = 0; i < 30; i++) {
      const std::string k = random_key(&rnd);
      if (rnd.OneIn(3)) {
        ASSERT_TRUE(t->Delete(k).ok());
        model.erase(k);
      } else {
        ASSERT_TRUE(t->Put(k, "txn" + std::to_string(i)).ok());
        model[k] = "txn" + std::to_string(i);
      }
    }
    ReadOptions ro;
    if (rnd.OneIn(2)) ro.lower_bound = random_key(&rnd);
    if (rnd.OneIn(2)) ro.upper_bound = random_key(&rnd);
    auto it = t->NewIterator(ro);
    ExpectIteratorMatchesModel(it.get(), model, ro, &rnd, 300, random_key);
    if (HasFatalFailure()) return;
    for (int i = 0; i < 60; i++) {
      const std::string k = "k" + std::to_string(i);
      auto m = model.find(k);
      EXPECT_EQ(m == model.end() ? "NOT_FOUND" : m->second, TGet(t.get(), k)) << k;
    }
    it.reset();
    ASSERT_TRUE(t->Rollback().ok());
  }
}

}  // namespace
}  // namespace lsmkv::test
