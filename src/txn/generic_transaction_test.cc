// Generic transactions (txn/generic_transaction.h) over a stand-in engine: an
// LSM database whose writes are serialised by one mutex, offering WriteIf.
// The same transactions run on the B+tree and Bitcask engines in
// src/engines/engine_neutral_test.cc; this file pins down their semantics
// independently of those engines.
#include "txn/generic_transaction.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/random.h"

namespace lsmkv {
namespace {

// Writes of every kind go through one mutex; WriteIf checks under it.
class SerialisedDB final : public ConditionalWriter {
 public:
  explicit SerialisedDB(DB* db) : db_(db) {}
  Status Put(std::string_view k, std::string_view v) {
    WriteBatch b;
    b.Put(k, v);
    return WriteIf(WriteOptions(), &b, nullptr);
  }
  Status WriteIf(const WriteOptions& options, WriteBatch* batch,
                 const std::function<Status()>& check) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (check) {
      Status s = check();
      if (!s.ok()) return s;
    }
    if (batch->Count() == 0) return Status::OK();
    return db_->Write(options, batch);
  }

 private:
  DB* const db_;
  std::mutex mu_;
};

// An Env whose clock the test sets.
class ManualClockEnv : public EnvWrapper {
 public:
  explicit ManualClockEnv(Env* target) : EnvWrapper(target) {}
  uint64_t NowMicros() override { return now_.load(); }
  std::atomic<uint64_t> now_{1'000'000};
};

class GenericTransactionTest : public ::testing::Test {
 protected:
  GenericTransactionTest() : mem_(NewMemEnv(Env::Default())), env_(mem_.get()) {
    options_.env = &env_;
    options_.create_if_missing = true;
    EXPECT_TRUE(DB::Open(options_, "/db", &db_).ok());
    writer_ = std::make_unique<SerialisedDB>(db_.get());
  }

  std::unique_ptr<Transaction> Begin(IsolationLevel level = IsolationLevel::kSnapshot,
                                     uint64_t lifetime = 0) {
    TransactionOptions to;
    to.isolation = level;
    to.max_lifetime_micros = lifetime;
    return NewGenericTransaction(db_.get(), writer_.get(), options_, WriteOptions(), to);
  }
  std::string Read(std::string_view key) {
    std::string v;
    Status s = db_->Get(ReadOptions(), key, &v);
    return s.ok() ? v : s.IsNotFound() ? "<none>" : s.ToString();
  }

  std::unique_ptr<Env> mem_;
  ManualClockEnv env_;
  Options options_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<SerialisedDB> writer_;
};

TEST_F(GenericTransactionTest, ReadYourWritesCommitRollbackSavepoints) {
  ASSERT_TRUE(writer_->Put("a", "1").ok());
  auto t = Begin();
  std::string v;
  ASSERT_TRUE(t->Get(ReadOptions(), "a", &v).ok());
  EXPECT_EQ(v, "1");
  ASSERT_TRUE(t->Put("a", "2").ok());
  ASSERT_TRUE(t->Put("b", "3").ok());
  ASSERT_TRUE(t->Get(ReadOptions(), "a", &v).ok());
  EXPECT_EQ(v, "2");
  EXPECT_EQ(Read("a"), "1") << "visible before commit";
  t->SetSavePoint();
  ASSERT_TRUE(t->Delete("b").ok());
  EXPECT_TRUE(t->Get(ReadOptions(), "b", &v).IsNotFound());
  ASSERT_TRUE(t->RollbackToSavePoint().ok());
  EXPECT_TRUE(t->RollbackToSavePoint().IsNotFound());
  ASSERT_TRUE(t->Get(ReadOptions(), "b", &v).ok());
  // The iterator merges own writes over the snapshot.
  auto it = t->NewIterator(ReadOptions());
  std::string seen;
  for (it->SeekToFirst(); it->Valid(); it->Next())
    seen += std::string(it->key()) + "=" += it->value();
  EXPECT_EQ(seen, "a=2b=3");
  it.reset();
  EXPECT_EQ(t->GetNumWrites(), 2u);
  ASSERT_TRUE(t->Commit().ok());
  EXPECT_EQ(Read("a"), "2");
  EXPECT_EQ(Read("b"), "3");
  EXPECT_TRUE(t->Put("c", "4").IsInvalidArgument()) << "finished";
  auto r = Begin();
  ASSERT_TRUE(r->Put("c", "5").ok());
  ASSERT_TRUE(r->Rollback().ok());
  EXPECT_EQ(Read("c"), "<none>");
  ReadOptions with_snapshot;
  with_snapshot.snapshot = db_->GetSnapshot();
  auto s = Begin();
  EXPECT_TRUE(s->Get(with_snapshot, "a", &v).IsInvalidArgument());
  db_->ReleaseSnapshot(with_snapshot.snapshot);
}

TEST_F(GenericTransactionTest, FirstCommitterWinsOnWrittenKeys) {
  ASSERT_TRUE(writer_->Put("x", "0").ok());
  auto t1 = Begin();
  auto t2 = Begin();
  ASSERT_TRUE(t1->Put("x", "t1").ok());
  ASSERT_TRUE(t2->Put("x", "t2").ok());
  ASSERT_TRUE(t2->Commit().ok());
  Status s = t1->Commit();
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(s.ToString().find("'x'"), std::string::npos) << s.ToString();
  EXPECT_EQ(Read("x"), "t2");
  // A non-transactional write conflicts too.
  auto t3 = Begin();
  ASSERT_TRUE(t3->Put("x", "t3").ok());
  ASSERT_TRUE(writer_->Put("x", "plain").ok());
  EXPECT_TRUE(t3->Commit().IsBusy());
  EXPECT_EQ(Read("x"), "plain");
}

TEST_F(GenericTransactionTest, WriteSkewAllowedAtSnapshotPreventedAtSerializable) {
  for (IsolationLevel level : {IsolationLevel::kSnapshot, IsolationLevel::kSerializable}) {
    ASSERT_TRUE(writer_->Put("on-call-a", "yes").ok());
    ASSERT_TRUE(writer_->Put("on-call-b", "yes").ok());
    auto t1 = Begin(level);
    auto t2 = Begin(level);
    std::string v;
    ASSERT_TRUE(t1->Get(ReadOptions(), "on-call-b", &v).ok());
    ASSERT_TRUE(t2->Get(ReadOptions(), "on-call-a", &v).ok());
    ASSERT_TRUE(t1->Put("on-call-a", "no").ok());
    ASSERT_TRUE(t2->Put("on-call-b", "no").ok());
    ASSERT_TRUE(t1->Commit().ok());
    Status s = t2->Commit();
    if (level == IsolationLevel::kSnapshot) {
      EXPECT_TRUE(s.ok()) << "write skew is allowed at kSnapshot: " << s.ToString();
    } else {
      EXPECT_TRUE(s.IsBusy()) << s.ToString();
      EXPECT_NE(s.ToString().find("serializable"), std::string::npos) << s.ToString();
    }
  }
}

TEST_F(GenericTransactionTest, PhantomInIteratedRangeConflictsAtSerializable) {
  ASSERT_TRUE(writer_->Put("item-1", "a").ok());
  ASSERT_TRUE(writer_->Put("item-3", "c").ok());
  auto t = Begin(IsolationLevel::kSerializable);
  ReadOptions ro;
  ro.lower_bound = "item-";
  ro.upper_bound = "item-~";
  auto it = t->NewIterator(ro);
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  EXPECT_EQ(n, 2);
  it.reset();
  ASSERT_TRUE(writer_->Put("item-2", "b").ok());  // a phantom
  ASSERT_TRUE(writer_->Put("other", "x").ok());   // outside: no conflict by itself
  ASSERT_TRUE(t->Put("count", "2").ok());
  Status s = t->Commit();
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(s.ToString().find("range"), std::string::npos) << s.ToString();
  EXPECT_EQ(Read("count"), "<none>");
  // Without the phantom the same transaction commits.
  auto t2 = Begin(IsolationLevel::kSerializable);
  auto it2 = t2->NewIterator(ro);
  for (it2->SeekToFirst(); it2->Valid(); it2->Next()) {
  }
  it2.reset();
  ASSERT_TRUE(writer_->Put("other", "y").ok());
  ASSERT_TRUE(t2->Put("count", "3").ok());
  EXPECT_TRUE(t2->Commit().ok());
}

TEST_F(GenericTransactionTest, ReadOnlyCommitsUnlessGetForUpdateSawAChange) {
  ASSERT_TRUE(writer_->Put("k", "1").ok());
  auto reader = Begin(IsolationLevel::kSerializable);
  std::string v;
  ASSERT_TRUE(reader->Get(ReadOptions(), "k", &v).ok());
  ASSERT_TRUE(writer_->Put("k", "2").ok());
  EXPECT_TRUE(reader->Commit().ok()) << "a read-only transaction serialises at its start";
  auto locker = Begin();
  ASSERT_TRUE(locker->GetForUpdate(ReadOptions(), "k", &v).ok());
  EXPECT_EQ(v, "2");
  ASSERT_TRUE(writer_->Put("k", "3").ok());
  EXPECT_TRUE(locker->Commit().IsBusy());
  // Rewritten to the value it had: no conflict (validation is by value).
  auto aba = Begin();
  ASSERT_TRUE(aba->GetForUpdate(ReadOptions(), "k", &v).ok());
  ASSERT_TRUE(writer_->Put("k", "9").ok());
  ASSERT_TRUE(writer_->Put("k", "3").ok());
  ASSERT_TRUE(aba->Put("k", "4").ok());
  EXPECT_TRUE(aba->Commit().ok());
  EXPECT_EQ(Read("k"), "4");
}

TEST_F(GenericTransactionTest, SetSnapshotMovesReadsForward) {
  ASSERT_TRUE(writer_->Put("w", "1").ok());
  auto t = Begin();
  std::string v;
  ASSERT_TRUE(t->GetForUpdate(ReadOptions(), "w", &v).ok());  // WATCH w
  ASSERT_TRUE(writer_->Put("other", "new").ok());
  EXPECT_TRUE(t->Get(ReadOptions(), "other", &v).IsNotFound());
  ASSERT_TRUE(t->SetSnapshot().ok());
  ASSERT_TRUE(t->Get(ReadOptions(), "other", &v).ok());
  EXPECT_EQ(v, "new");
  ASSERT_TRUE(t->Put("other", "mine").ok());
  EXPECT_TRUE(t->Commit().ok());
  // A watched key changed before SetSnapshot still conflicts after it.
  auto t2 = Begin();
  ASSERT_TRUE(t2->GetForUpdate(ReadOptions(), "w", &v).ok());
  ASSERT_TRUE(writer_->Put("w", "2").ok());
  ASSERT_TRUE(t2->SetSnapshot().ok());
  ASSERT_TRUE(t2->Put("x", "y").ok());
  EXPECT_TRUE(t2->Commit().IsBusy());
}

TEST_F(GenericTransactionTest, LimitsAndExpiry) {
  TransactionOptions to;
  to.max_write_bytes = 100;
  to.max_tracked_reads = 2;
  to.isolation = IsolationLevel::kSerializable;
  auto t = NewGenericTransaction(db_.get(), writer_.get(), options_, WriteOptions(), to);
  EXPECT_TRUE(t->Put("k", std::string(200, 'v')).IsInvalidArgument());
  EXPECT_TRUE(t->Put(std::string(options_.max_key_size + 1, 'k'), "v").IsInvalidArgument());
  std::string v;
  EXPECT_TRUE(t->Get(ReadOptions(), "a", &v).IsNotFound());
  EXPECT_TRUE(t->Get(ReadOptions(), "b", &v).IsNotFound());
  EXPECT_TRUE(t->Get(ReadOptions(), "c", &v).IsInvalidArgument()) << "third tracked read";
  auto old = Begin(IsolationLevel::kSnapshot, /*lifetime=*/1000);
  ASSERT_TRUE(old->Put("e", "1").ok());
  env_.now_ += 1001;
  Status s = old->Commit();
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_TRUE(old->Put("e", "2").IsAborted());
  EXPECT_EQ(Read("e"), "<none>");
}

// Transfers between accounts from several threads at kSerializable, with
// retries on Busy: the total never changes, and a reader transaction always
// sees it whole.
TEST_F(GenericTransactionTest, ConcurrentTransfersKeepTheTotal) {
  constexpr int kAccounts = 8, kThreads = 4, kTransfers = 300;
  for (int i = 0; i < kAccounts; i++)
    ASSERT_TRUE(writer_->Put("acct" + std::to_string(i), "100").ok());
  std::atomic<int> busy{0}, bad_totals{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Random rnd(t + 1);
      for (int n = 0; n < kTransfers; n++) {
        const std::string from = "acct" + std::to_string(rnd.Uniform(kAccounts));
        const std::string to = "acct" + std::to_string(rnd.Uniform(kAccounts));
        while (true) {
          auto txn = Begin(IsolationLevel::kSerializable);
          std::string a, b;
          if (!txn->Get(ReadOptions(), from, &a).ok() || !txn->Get(ReadOptions(), to, &b).ok()) {
            bad_totals++;
            break;
          }
          std::this_thread::yield();  // widen the window between read and commit
          if (from != to) {
            txn->Put(from, std::to_string(std::stoi(a) - 1)).PermitUncheckedError();
            txn->Put(to, std::to_string(std::stoi(b) + 1)).PermitUncheckedError();
          }
          Status s = txn->Commit();
          if (s.ok()) break;
          if (!s.IsBusy()) {
            bad_totals++;
            break;
          }
          busy++;
        }
        if (n % 50 == 0) {
          auto reader = Begin(IsolationLevel::kSnapshot);
          auto it = reader->NewIterator(ReadOptions());
          int total = 0;
          for (it->SeekToFirst(); it->Valid(); it->Next())
            total += std::stoi(std::string(it->value()));
          if (total != kAccounts * 100) bad_totals++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad_totals.load(), 0);
  int total = 0;
  for (int i = 0; i < kAccounts; i++) total += std::stoi(Read("acct" + std::to_string(i)));
  EXPECT_EQ(total, kAccounts * 100);
  std::printf("generic transactions: %d transfers, %d Busy retries\n", kThreads * kTransfers,
              busy.load());
}

}  // namespace
}  // namespace lsmkv
