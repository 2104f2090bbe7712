// The engine-neutral suite: every test here runs against each storage engine
// (Options::engine: the LSM, the B+tree, Bitcask) through include/lsmkv/db.h
// only, on an in-memory filesystem wrapped in FaultInjectionEnv. What it
// proves for every engine:
//   - model runs against std::map: puts, deletes, atomic batches (with range
//     deletions), snapshots, iterators with bounds in both directions, flushes,
//     compactions and reopens in between;
//   - the tombstone scenario: a deleted key stays deleted across flushes,
//     compactions and reopens while a snapshot still sees the old value;
//   - simulated power loss: after a crash the database shows a prefix of the
//     acknowledged writes that includes every synced one;
//   - an I/O-error sweep: each filesystem call of each kind fails in turn;
//     the database never shows a wrong value and keeps every write it
//     acknowledged after a reopen;
//   - byte flips in every file: with paranoid_checks a damaged database
//     either refuses to open or answers each read correctly or with an error;
//   - the engine switch: the ENGINE file records the engine, another engine
//     is refused by name, DestroyDB removes everything;
//   - a custom comparator orders keys everywhere;
//   - the limits and the closed state.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db/engine_file.h"
#include "db/model_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/comparator.h"
#include "lsmkv/db.h"
#include "util/random.h"

namespace lsmkv {
namespace {

using test::ModelState;

constexpr StorageEngine kAllEngines[] = {StorageEngine::kLsm, StorageEngine::kBTree,
                                         StorageEngine::kBitcask};

std::string EngineParamName(const ::testing::TestParamInfo<StorageEngine>& info) {
  return StorageEngineName(info.param);
}

// Reverse bytewise order (the shortening helpers leave keys alone).
class ReverseComparator final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    return BytewiseComparator()->Compare(b, a);
  }
  const char* Name() const override { return "test.engine-neutral.reverse"; }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}
};

class EngineTest : public ::testing::TestWithParam<StorageEngine> {
 protected:
  EngineTest() : mem_(NewMemEnv(Env::Default())), env_(mem_.get()) {}
  ~EngineTest() override { db_.reset(); }

  Options Opts() const {
    Options o;
    o.engine = GetParam();
    o.env = const_cast<FaultInjectionEnv*>(&env_);
    o.create_if_missing = true;
    // Small buffers so that the LSM flushes and compacts within the tests
    // (the other engines ignore LSM-only options).
    o.write_buffer_size = 64 << 10;
    o.target_file_size = 64 << 10;
    o.max_bytes_for_level_base = 256 << 10;
    return o;
  }

  Status Open(const Options& o) {
    db_.reset();
    return DB::Open(o, kDbName, &db_);
  }
  void OpenOrDie() { ASSERT_TRUE(Open(Opts()).ok()) << Open(Opts()).ToString(); }
  void Reopen() {
    ASSERT_TRUE(db_->Close().ok());
    OpenOrDie();
  }

  // Everything the DB shows by a forward scan with ReadOptions ro.
  static ModelState Scan(DB* db, const ReadOptions& ro, Status* status) {
    ModelState out;
    std::unique_ptr<Iterator> it = db->NewIterator(ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) out[std::string(it->key())] = it->value();
    *status = it->status();
    return out;
  }

  static constexpr const char* kDbName = "/db";
  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
  std::unique_ptr<DB> db_;
};

// ---------------------------------------------------------------- the switch

TEST_P(EngineTest, EngineFileRecordsTheEngineAndOthersAreRefused) {
  OpenOrDie();
  ASSERT_TRUE(db_->Put(WriteOptions(), "a", "1").ok());
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  StorageEngine recorded;
  bool present = false;
  ASSERT_TRUE(ReadEngineFile(&env_, kDbName, &recorded, &present).ok());
  ASSERT_TRUE(present);
  EXPECT_EQ(recorded, GetParam());
  for (StorageEngine other : kAllEngines) {
    if (other == GetParam()) continue;
    Options o = Opts();
    o.engine = other;
    Status s = Open(o);
    ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.ToString().find(StorageEngineName(GetParam())), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find(StorageEngineName(other)), std::string::npos) << s.ToString();
  }
  OpenOrDie();
  std::string value;
  ASSERT_TRUE(db_->Get(ReadOptions(), "a", &value).ok());
  EXPECT_EQ(value, "1");
  // DestroyDB refuses an open database, then removes everything.
  EXPECT_FALSE(DestroyDB(kDbName, Opts()).ok());
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  ASSERT_TRUE(DestroyDB(kDbName, Opts()).ok());
  std::vector<std::string> children;
  if (env_.GetChildren(kDbName, &children).ok()) {
    EXPECT_TRUE(children.empty()) << children.front();
  }
  Options o = Opts();
  o.create_if_missing = false;
  EXPECT_FALSE(Open(o).ok());
}

TEST_P(EngineTest, ErrorIfExistsAndMissingDirectory) {
  Options o = Opts();
  o.create_if_missing = false;
  EXPECT_FALSE(Open(o).ok());
  OpenOrDie();
  ASSERT_TRUE(db_->Close().ok());
  o = Opts();
  o.error_if_exists = true;
  EXPECT_TRUE(Open(o).IsInvalidArgument());
}

// ---------------------------------------------------------------- limits, closed

TEST_P(EngineTest, LimitsPropertiesAndClose) {
  Options o = Opts();
  o.max_key_size = 1000;
  o.max_value_size = 5000;
  ASSERT_TRUE(Open(o).ok());
  EXPECT_TRUE(db_->Put(WriteOptions(), std::string(1001, 'k'), "v").IsInvalidArgument());
  EXPECT_TRUE(db_->Put(WriteOptions(), "k", std::string(5001, 'v')).IsInvalidArgument());
  WriteBatch batch;
  batch.Put("ok", "v");
  batch.Put(std::string(1001, 'k'), "v");
  EXPECT_TRUE(db_->Write(WriteOptions(), &batch).IsInvalidArgument());
  std::string value;
  EXPECT_TRUE(db_->Get(ReadOptions(), "ok", &value).IsNotFound()) << "a refused batch wrote";
  // The largest key and value allowed work, also across a reopen.
  const std::string big_key(1000, 'K');
  const std::string big_value(5000, 'V');
  ASSERT_TRUE(db_->Put(WriteOptions(), big_key, big_value).ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "", "empty key").ok());
  ASSERT_TRUE(db_->Close().ok());
  ASSERT_TRUE(Open(o).ok());
  ASSERT_TRUE(db_->Get(ReadOptions(), big_key, &value).ok());
  EXPECT_EQ(value, big_value);
  ASSERT_TRUE(db_->Get(ReadOptions(), "", &value).ok());
  EXPECT_EQ(value, "empty key");
  EXPECT_TRUE(db_->GetProperty("lsmkv.stats", &value));
  EXPECT_FALSE(value.empty());
  EXPECT_TRUE(db_->GetProperty("lsmkv.error-state", &value));
  EXPECT_EQ(value, "none");
  EXPECT_FALSE(db_->GetProperty("lsmkv.no-such-property", &value));
  ASSERT_TRUE(db_->Close().ok());
  EXPECT_TRUE(db_->Close().ok()) << "Close is idempotent";
  EXPECT_TRUE(db_->Put(WriteOptions(), "a", "b").IsInvalidArgument());
  EXPECT_TRUE(db_->Get(ReadOptions(), "ok", &value).IsInvalidArgument());
  EXPECT_EQ(db_->GetSnapshot(), nullptr);
}

// ---------------------------------------------------------------- model runs

// A random key over a small space so that keys are overwritten and deleted
// often; every 50th value is large (overflow pages, big records).
struct RandomWorkload {
  explicit RandomWorkload(uint64_t seed) : rnd(seed) {}
  std::string Key() {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "key%04u", rnd.Uniform(400));
    return buf;
  }
  std::string Value(int serial) {
    std::string v = "v" + std::to_string(serial) + ":";
    const size_t size = rnd.OneIn(50) ? 20000 + rnd.Uniform(60000) : rnd.Uniform(300);
    v.resize(v.size() + size, static_cast<char>('a' + serial % 26));
    return v;
  }
  Random rnd;
};

void ApplyDeleteRange(ModelState* model, const std::string& begin, const std::string& end) {
  model->erase(model->lower_bound(begin), model->lower_bound(end));
}

// Checks an iterator over db (with ro's snapshot and bounds) against model
// restricted to the same bounds: a full scan both ways and random seeks.
void CheckIterator(DB* db, const ReadOptions& ro, const ModelState& full_model, Random* rnd) {
  ModelState model;
  for (const auto& [k, v] : full_model) {
    if (ro.lower_bound && k < *ro.lower_bound) continue;
    if (ro.upper_bound && k >= *ro.upper_bound) continue;
    model[k] = v;
  }
  std::unique_ptr<Iterator> it = db->NewIterator(ro);
  auto m = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
    ASSERT_NE(m, model.end()) << "extra key " << it->key();
    ASSERT_EQ(it->key(), m->first);
    ASSERT_EQ(it->value(), m->second) << "key " << m->first;
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  ASSERT_EQ(m, model.end()) << "missing key " << m->first;
  auto r = model.rbegin();
  for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
    ASSERT_NE(r, model.rend()) << "extra key (backward) " << it->key();
    ASSERT_EQ(it->key(), r->first);
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  ASSERT_EQ(r, model.rend());
  for (int i = 0; i < 20; i++) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "key%04u", rnd->Uniform(420));
    const std::string target = buf;
    it->Seek(target);
    auto want = model.lower_bound(target);
    if (want == model.end()) {
      ASSERT_FALSE(it->Valid()) << "Seek(" << target << ") found " << it->key();
    } else {
      ASSERT_TRUE(it->Valid()) << "Seek(" << target << ")";
      ASSERT_EQ(it->key(), want->first);
      ASSERT_EQ(it->value(), want->second);
      // Step both ways from a seek.
      it->Next();
      auto next = std::next(want);
      ASSERT_EQ(it->Valid(), next != model.end());
      if (it->Valid()) {
        ASSERT_EQ(it->key(), next->first);
      }
      it->Seek(target);
      it->Prev();
      if (want == model.begin()) {
        ASSERT_FALSE(it->Valid());
      } else {
        ASSERT_TRUE(it->Valid());
        ASSERT_EQ(it->key(), std::prev(want)->first);
      }
    }
    it->SeekForPrev(target);
    auto upper = model.upper_bound(target);
    if (upper == model.begin()) {
      ASSERT_FALSE(it->Valid()) << "SeekForPrev(" << target << ") found " << it->key();
    } else {
      ASSERT_TRUE(it->Valid()) << "SeekForPrev(" << target << ")";
      ASSERT_EQ(it->key(), std::prev(upper)->first);
    }
    ASSERT_TRUE(it->status().ok());
  }
}

TEST_P(EngineTest, ModelRunWithSnapshotsIteratorsAndReopens) {
  OpenOrDie();
  RandomWorkload w(301 + static_cast<int>(GetParam()));
  ModelState model;
  struct HeldSnapshot {
    const Snapshot* snapshot;
    ModelState model;
  };
  std::vector<HeldSnapshot> snapshots;
  constexpr int kOps = 3000;
  for (int i = 0; i < kOps; i++) {
    const uint32_t kind = w.rnd.Uniform(100);
    WriteOptions wo;
    wo.sync = w.rnd.OneIn(20);
    if (kind < 55) {
      const std::string k = w.Key(), v = w.Value(i);
      ASSERT_TRUE(db_->Put(wo, k, v).ok());
      model[k] = v;
    } else if (kind < 75) {
      const std::string k = w.Key();
      ASSERT_TRUE(db_->Delete(wo, k).ok());
      model.erase(k);
    } else if (kind < 92) {
      WriteBatch batch;
      const int n = 2 + static_cast<int>(w.rnd.Uniform(6));
      for (int j = 0; j < n; j++) {
        const std::string k = w.Key();
        if (w.rnd.OneIn(4)) {
          batch.Delete(k);
          model.erase(k);
        } else if (w.rnd.OneIn(8)) {
          std::string b = w.Key(), e = w.Key();
          if (e < b) std::swap(b, e);
          if (b == e) e += "\x01";
          batch.DeleteRange(b, e);
          ApplyDeleteRange(&model, b, e);
        } else {
          const std::string v = w.Value(i * 10 + j);
          batch.Put(k, v);
          model[k] = v;
        }
      }
      ASSERT_TRUE(db_->Write(wo, &batch).ok());
    } else if (kind < 95) {
      std::string b = w.Key(), e = w.Key();
      if (e < b) std::swap(b, e);
      if (b == e) continue;
      ASSERT_TRUE(db_->DeleteRange(wo, b, e).ok());
      ApplyDeleteRange(&model, b, e);
    } else if (kind < 97) {
      if (snapshots.size() < 4) snapshots.push_back({db_->GetSnapshot(), model});
    } else if (kind < 98 && !snapshots.empty()) {
      db_->ReleaseSnapshot(snapshots.front().snapshot);
      snapshots.erase(snapshots.begin());
    } else if (kind < 99) {
      ASSERT_TRUE(db_->Flush().ok());
    } else {
      ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
    }
    if (i % 97 == 0) {
      // Point reads of random keys, present or not.
      for (int j = 0; j < 30; j++) {
        const std::string k = w.Key();
        std::string value;
        Status s = db_->Get(ReadOptions(), k, &value);
        auto want = model.find(k);
        if (want == model.end()) {
          ASSERT_TRUE(s.IsNotFound()) << k << " " << s.ToString();
        } else {
          ASSERT_TRUE(s.ok()) << k << " " << s.ToString();
          ASSERT_EQ(value, want->second) << k;
        }
      }
      ReadOptions ro;
      if (w.rnd.OneIn(2)) ro.lower_bound = w.Key();
      if (w.rnd.OneIn(2)) ro.upper_bound = w.Key();
      ASSERT_NO_FATAL_FAILURE(CheckIterator(db_.get(), ro, model, &w.rnd));
      for (const HeldSnapshot& held : snapshots) {
        ReadOptions sro;
        sro.snapshot = held.snapshot;
        ASSERT_NO_FATAL_FAILURE(CheckIterator(db_.get(), sro, held.model, &w.rnd));
      }
    }
    if (i % 1000 == 999) {
      for (const HeldSnapshot& held : snapshots) db_->ReleaseSnapshot(held.snapshot);
      snapshots.clear();
      Reopen();
      ASSERT_NO_FATAL_FAILURE(CheckIterator(db_.get(), ReadOptions(), model, &w.rnd));
    }
  }
  for (const HeldSnapshot& held : snapshots) db_->ReleaseSnapshot(held.snapshot);
}

TEST_P(EngineTest, CustomComparatorOrdersEverything) {
  ReverseComparator reverse;
  Options o = Opts();
  o.comparator = &reverse;
  ASSERT_TRUE(Open(o).ok());
  std::map<std::string, std::string, std::greater<>> model;
  Random rnd(7);
  for (int i = 0; i < 500; i++) {
    const std::string k = "k" + std::to_string(rnd.Uniform(200));
    if (rnd.OneIn(4)) {
      ASSERT_TRUE(db_->Delete(WriteOptions(), k).ok());
      model.erase(k);
    } else {
      ASSERT_TRUE(db_->Put(WriteOptions(), k, "v" + std::to_string(i)).ok());
      model[k] = "v" + std::to_string(i);
    }
    if (i == 250) {
      ASSERT_TRUE(db_->Close().ok());
      ASSERT_TRUE(Open(o).ok());
    }
  }
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  auto m = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
    ASSERT_NE(m, model.end());
    ASSERT_EQ(it->key(), m->first);
    ASSERT_EQ(it->value(), m->second);
  }
  ASSERT_EQ(m, model.end());
  // Seek follows the comparator: the first key at or after "k5" in reverse order.
  it->Seek("k5");
  auto want = model.lower_bound("k5");
  ASSERT_EQ(it->Valid(), want != model.end());
  if (want != model.end()) {
    EXPECT_EQ(it->key(), want->first);
  }
  it.reset();
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  // The comparator is part of the database: another one is refused.
  EXPECT_FALSE(Open(Opts()).ok()) << "opened a reverse-ordered database with the bytewise order";
}

// ---------------------------------------------------------------- tombstones

TEST_P(EngineTest, TombstoneScenario) {
  OpenOrDie();
  // Old values, made durable and compacted down.
  for (int i = 0; i < 200; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "t" + std::to_string(i), "old").ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  const Snapshot* before = db_->GetSnapshot();
  for (int i = 0; i < 200; i += 2) {
    ASSERT_TRUE(db_->Delete(WriteOptions(), "t" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  // A compaction of half the range only, then all of it, with the snapshot
  // held: it still sees every old value; current reads see none deleted.
  const std::string mid = "t5";
  ASSERT_TRUE(db_->CompactRange(nullptr, &mid).ok());
  auto check = [&](bool with_snapshot) {
    for (int i = 0; i < 200; i++) {
      const std::string k = "t" + std::to_string(i);
      std::string value;
      Status s = db_->Get(ReadOptions(), k, &value);
      if (i % 2 == 0) {
        ASSERT_TRUE(s.IsNotFound()) << k << " came back: " << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << k;
      }
      if (with_snapshot) {
        ReadOptions ro;
        ro.snapshot = before;
        ASSERT_TRUE(db_->Get(ro, k, &value).ok()) << k << " lost under the snapshot";
        ASSERT_EQ(value, "old");
      }
    }
  };
  ASSERT_NO_FATAL_FAILURE(check(true));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_NO_FATAL_FAILURE(check(true));
  db_->ReleaseSnapshot(before);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_NO_FATAL_FAILURE(check(false));
  Reopen();
  ASSERT_NO_FATAL_FAILURE(check(false));
  // A key put again after its deletion is back, and stays across a reopen.
  ASSERT_TRUE(db_->Put(WriteOptions(), "t0", "new").ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  Reopen();
  std::string value;
  ASSERT_TRUE(db_->Get(ReadOptions(), "t0", &value).ok());
  EXPECT_EQ(value, "new");
  Status s;
  ModelState all = Scan(db_.get(), ReadOptions(), &s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(all.size(), 101u);
}

// ---------------------------------------------------------------- concurrency

// A reader iterating a snapshot sees exactly the snapshot while a writer
// overwrites and deletes every key.
TEST_P(EngineTest, SnapshotIsStableUnderConcurrentWrites) {
  OpenOrDie();
  ModelState model;
  for (int i = 0; i < 300; i++) {
    const std::string k = "c" + std::to_string(1000 + i);
    ASSERT_TRUE(db_->Put(WriteOptions(), k, "base" + std::to_string(i)).ok());
    model[k] = "base" + std::to_string(i);
  }
  const Snapshot* snap = db_->GetSnapshot();
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    for (int round = 0; !stop.load() || round < 2; round++) {
      for (int i = 0; i < 300; i++) {
        const std::string k = "c" + std::to_string(1000 + i);
        Status s = (i + round) % 3 == 0 ? db_->Delete(WriteOptions(), k)
                                        : db_->Put(WriteOptions(), k, "r" + std::to_string(round));
        ASSERT_TRUE(s.ok()) << s.ToString();
        writes++;
      }
      if (round >= 50) break;
    }
  });
  ReadOptions ro;
  ro.snapshot = snap;
  for (int pass = 0; pass < 10; pass++) {
    Status s;
    ModelState seen = Scan(db_.get(), ro, &s);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(seen, model) << "pass " << pass << ":" << test::DescribeDifference(model, seen);
  }
  stop = true;
  writer.join();
  EXPECT_GT(writes.load(), 0);
  db_->ReleaseSnapshot(snap);
}

// ---------------------------------------------------------------- transactions

// Every engine runs transactions (the LSM its own, the others the generic
// ones of txn/generic_transaction.h): first committer wins, write skew is
// refused at kSerializable, and concurrent transfers keep their total.
TEST_P(EngineTest, TransactionsOnEveryEngine) {
  Options o = Opts();
  o.wal_recovery_mode = WalRecoveryMode::kPointInTime;  // the LSM's transactions need it
  ASSERT_TRUE(Open(o).ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "x", "0").ok());
  TransactionOptions si, ser;
  ser.isolation = IsolationLevel::kSerializable;
  {
    auto t1 = db_->BeginTransaction(WriteOptions(), si);
    auto t2 = db_->BeginTransaction(WriteOptions(), si);
    ASSERT_TRUE(t1->Put("x", "1").ok());
    ASSERT_TRUE(t2->Put("x", "2").ok());
    ASSERT_TRUE(t1->Commit().ok());
    Status s = t2->Commit();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
  }
  {
    auto t1 = db_->BeginTransaction(WriteOptions(), ser);
    auto t2 = db_->BeginTransaction(WriteOptions(), ser);
    std::string v;
    EXPECT_TRUE(t1->Get(ReadOptions(), "b", &v).IsNotFound());
    EXPECT_TRUE(t2->Get(ReadOptions(), "a", &v).IsNotFound());
    ASSERT_TRUE(t1->Put("a", "1").ok());
    ASSERT_TRUE(t2->Put("b", "1").ok());
    ASSERT_TRUE(t1->Commit().ok());
    Status s = t2->Commit();
    EXPECT_TRUE(s.IsBusy()) << "write skew at kSerializable: " << s.ToString();
  }
  constexpr int kAccounts = 6, kThreads = 3, kTransfers = 150;
  for (int i = 0; i < kAccounts; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "acct" + std::to_string(i), "100").ok());
  }
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Random rnd(t + 7);
      for (int n = 0; n < kTransfers; n++) {
        const std::string from = "acct" + std::to_string(rnd.Uniform(kAccounts));
        const std::string to = "acct" + std::to_string(rnd.Uniform(kAccounts));
        if (from == to) continue;
        for (;;) {
          auto txn = db_->BeginTransaction(WriteOptions(), ser);
          std::string a, b;
          if (!txn->Get(ReadOptions(), from, &a).ok() || !txn->Get(ReadOptions(), to, &b).ok()) {
            errors++;
            break;
          }
          std::this_thread::yield();
          txn->Put(from, std::to_string(std::stoi(a) - 1)).PermitUncheckedError();
          txn->Put(to, std::to_string(std::stoi(b) + 1)).PermitUncheckedError();
          Status s = txn->Commit();
          if (s.ok()) break;
          if (!s.IsBusy()) {
            errors++;
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  Reopen();
  int total = 0;
  for (int i = 0; i < kAccounts; i++) {
    std::string v;
    ASSERT_TRUE(db_->Get(ReadOptions(), "acct" + std::to_string(i), &v).ok());
    total += std::stoi(v);
  }
  EXPECT_EQ(total, kAccounts * 100);
}

// ---------------------------------------------------------------- power loss

TEST_P(EngineTest, PowerLossKeepsAPrefixWithEverySyncedWrite) {
  std::vector<test::ModelOp> ops;  // every acknowledged op, in order
  int rounds_losing_writes = 0;
  test::ModelOpGenerator gen(11 + static_cast<int>(GetParam()), 120, /*sync_percent=*/10);
  const std::vector<std::string> keys = gen.AllKeys();
  for (int round = 0; round < 12; round++) {
    OpenOrDie();
    size_t synced_prefix = ops.size();  // what a reopen already made durable
    const int n = 100 + round * 37;
    for (int i = 0; i < n; i++) {
      test::ModelOp op = gen.Next();
      ASSERT_TRUE(test::ExecuteOp(db_.get(), op).ok());
      ops.push_back(op);
      if (op.sync) synced_prefix = ops.size();
      if (i == n / 2 && round % 3 == 1) {
        ASSERT_TRUE(db_->Flush().ok());
        synced_prefix = ops.size();  // Flush makes every write durable
      }
      if (i == n / 3 && round % 4 == 2) {
        ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
        synced_prefix = ops.size();  // CompactRange flushes: all durable
      }
    }
    // The crash: nothing more reaches the disk, then unsynced data is lost.
    env_.SetFilesystemActive(false);
    db_->Close().PermitUncheckedError();
    db_.reset();
    ASSERT_TRUE(env_.DropUnsyncedData().ok());
    env_.SetFilesystemActive(true);
    OpenOrDie();
    test::DbContents got = test::ReadContents(db_.get(), keys);
    ASSERT_TRUE(got.ok) << got.error;
    ASSERT_EQ(got.by_get, got.by_scan);
    ASSERT_TRUE(got.backward_matches);
    const int match = test::MatchingPrefix(ops, synced_prefix, got.by_scan);
    ASSERT_GE(match, 0) << "round " << round << ": not a prefix of the " << ops.size()
                        << " writes that includes the " << synced_prefix << " synced ones";
    if (static_cast<size_t>(match) < ops.size()) rounds_losing_writes++;
    ops.resize(match);
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
  }
  std::printf("power loss (%s): 12 crashes, unsynced writes lost in %d\n",
              StorageEngineName(GetParam()), rounds_losing_writes);
}

// ---------------------------------------------------------------- I/O errors

// Does the model after acked ops (in order), with each failed op optionally
// applied in its place, equal state? Failed ops after the last acknowledged
// one may only apply as a prefix of them.
bool ExplainsState(const std::vector<std::pair<test::ModelOp, bool>>& attempted,
                   const ModelState& state) {
  size_t last_ack = 0;
  std::vector<size_t> optional;
  for (size_t i = 0; i < attempted.size(); i++) {
    if (attempted[i].second) last_ack = i + 1;
  }
  for (size_t i = 0; i < last_ack; i++) {
    if (!attempted[i].second) optional.push_back(i);
  }
  if (optional.size() > 10) return false;
  for (uint32_t mask = 0; mask < (1u << optional.size()); mask++) {
    ModelState model;
    size_t next_optional = 0;
    for (size_t i = 0; i < last_ack; i++) {
      if (!attempted[i].second) {
        const bool apply = (mask >> next_optional++) & 1;
        if (!apply) continue;
      }
      test::ApplyOp(attempted[i].first, &model);
    }
    for (size_t j = last_ack;; j++) {
      if (model == state) return true;
      if (j >= attempted.size()) break;
      test::ApplyOp(attempted[j].first, &model);
    }
  }
  return false;
}

TEST_P(EngineTest, IoErrorSweepNeverLosesAcknowledgedWrites) {
  int runs = 0, injected_runs = 0;
  std::set<FaultOp> injected_ops;
  for (int op_index = 0; op_index < kNumFaultOps; op_index++) {
    const FaultOp op = static_cast<FaultOp>(op_index);
    if (op == FaultOp::kLock) continue;  // only Open takes the lock
    for (uint64_t nth = 1; nth <= 6; nth++) {
      SCOPED_TRACE(std::string(FaultOpName(op)) + " call " + std::to_string(nth));
      db_.reset();
      ASSERT_TRUE(DestroyDB(kDbName, Opts()).ok());
      OpenOrDie();
      test::ModelOpGenerator gen(nth * 100 + op_index, 60, /*sync_percent=*/30);
      std::vector<std::pair<test::ModelOp, bool>> attempted;
      env_.ResetCounts();
      const uint64_t injected_before = env_.InjectedCount();
      env_.FailNth(op, nth);
      bool any_failed = false;
      for (int i = 0; i < 120; i++) {
        test::ModelOp mop = gen.Next();
        Status s = test::ExecuteOp(db_.get(), mop);
        attempted.emplace_back(mop, s.ok());
        if (!s.ok()) any_failed = true;
        if (i % 40 == 39) db_->Flush().PermitUncheckedError();
        if (!any_failed && i % 10 == 0) {
          // While nothing failed, reads are exact or an error.
          ModelState model;
          for (const auto& [m, ok] : attempted) test::ApplyOp(m, &model);
          for (const std::string& k : gen.AllKeys()) {
            std::string value;
            Status r = db_->Get(ReadOptions(), k, &value);
            if (!r.ok() && !r.IsNotFound()) continue;  // an injected read error
            auto want = model.find(k);
            ASSERT_EQ(r.ok(), want != model.end()) << k << ": " << r.ToString();
            if (r.ok()) {
              ASSERT_EQ(value, want->second) << k;
            }
          }
        }
      }
      runs++;
      if (env_.InjectedCount() > injected_before) {
        injected_runs++;
        injected_ops.insert(op);
      }
      env_.ClearFaults();
      db_->Resume().PermitUncheckedError();
      db_->Close().PermitUncheckedError();
      db_.reset();
      // Reopen on a healthy filesystem: every acknowledged write is there,
      // failed ones are all or nothing.
      OpenOrDie();
      test::DbContents got = test::ReadContents(db_.get(), gen.AllKeys());
      ASSERT_TRUE(got.ok) << got.error;
      ASSERT_EQ(got.by_get, got.by_scan);
      ASSERT_TRUE(ExplainsState(attempted, got.by_scan))
          << "the state after reopen is not the acknowledged writes plus some failed ones";
    }
  }
  std::printf("I/O-error sweep (%s): %d runs, an error injected in %d\n",
              StorageEngineName(GetParam()), runs, injected_runs);
  // Every engine appends, syncs and opens files; which other calls it makes
  // differs (Bitcask renames only its manifest, at merges; the B+tree reads
  // its files only at open, its tree being in memory).
  for (FaultOp op : {FaultOp::kAppend, FaultOp::kSync, FaultOp::kRead, FaultOp::kOpen}) {
    if (op == FaultOp::kRead && GetParam() == StorageEngine::kBTree) continue;
    EXPECT_EQ(injected_ops.count(op), 1u) << "no error was injected into " << FaultOpName(op);
  }
  EXPECT_GE(injected_runs, 16) << "the sweep injected too few errors to mean anything";
}

// ---------------------------------------------------------------- byte flips

// The database directory's files and their contents.
using DirImage = std::map<std::string, std::string>;

DirImage SaveDir(Env* env, const std::string& dir) {
  DirImage image;
  std::vector<std::string> files;
  EXPECT_TRUE(env->GetChildren(dir, &files).ok());
  for (const std::string& name : files) {
    EXPECT_TRUE(ReadFileToString(env, dir + "/" + name, &image[name]).ok()) << name;
  }
  return image;
}

// Makes dir hold exactly image again (an open may have added, removed or
// rewritten files).
void RestoreDir(Env* env, const std::string& dir, const DirImage& image) {
  std::vector<std::string> files;
  ASSERT_TRUE(env->GetChildren(dir, &files).ok());
  for (const std::string& name : files) {
    if (image.count(name) == 0) {
      ASSERT_TRUE(env->RemoveFile(dir + "/" + name).ok()) << name;
    }
  }
  for (const auto& [name, contents] : image) {
    ASSERT_TRUE(WriteStringToFile(env, contents, dir + "/" + name, true).ok()) << name;
  }
}

// With paranoid_checks a damaged database either refuses to open or answers
// every read with the right value or an error. Without, an engine may open
// around the damage (dropping what it cannot read, as the LSM's WAL replay
// and Bitcask's recovery do): then a key may be missing, but a value read is
// never wrong and a deleted key never comes back.
TEST_P(EngineTest, ByteFlipsNeverGiveAWrongValue) {
  ASSERT_TRUE(Open(Opts()).ok());
  ModelState model;
  Random rnd(99);
  for (int i = 0; i < 300; i++) {
    const std::string k = "f" + std::to_string(1000 + i);
    std::string v(rnd.OneIn(30) ? 9000 : 40 + rnd.Uniform(100), static_cast<char>('a' + i % 26));
    ASSERT_TRUE(db_->Put(WriteOptions(), k, v).ok());
    model[k] = v;
  }
  for (int i = 0; i < 300; i += 7) {
    const std::string k = "f" + std::to_string(1000 + i);
    ASSERT_TRUE(db_->Delete(WriteOptions(), k).ok());
    model.erase(k);
  }
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  const DirImage pristine = SaveDir(&env_, kDbName);
  for (const bool paranoid : {true, false}) {
    Options o = Opts();
    o.paranoid_checks = paranoid;
    int flips = 0, opened = 0, missing = 0;
    for (const auto& [name, contents] : pristine) {
      if (name == "LOCK" || name.starts_with("LOG") || contents.empty()) continue;  // not data
      const std::string path = std::string(kDbName) + "/" + name;
      const size_t step = std::max<size_t>(1, contents.size() / 24);
      for (size_t offset = rnd.Uniform(static_cast<uint32_t>(step)); offset < contents.size();
           offset += step) {
        SCOPED_TRACE(name + " byte " + std::to_string(offset) +
                     (paranoid ? " (paranoid)" : " (not paranoid)"));
        std::string damaged = contents;
        damaged[offset] ^= static_cast<char>(1 << rnd.Uniform(8));
        ASSERT_TRUE(WriteStringToFile(&env_, damaged, path, true).ok());
        flips++;
        if (Open(o).ok()) {
          opened++;
          for (int i = 0; i < 300; i++) {
            const std::string k = "f" + std::to_string(1000 + i);
            std::string value;
            Status s = db_->Get(ReadOptions(), k, &value);
            auto want = model.find(k);
            if (s.ok()) {
              ASSERT_NE(want, model.end()) << k << " resurrected";
              ASSERT_EQ(value, want->second) << k << ": wrong value";
            } else if (s.IsNotFound() && want != model.end()) {
              ASSERT_FALSE(paranoid) << k << " lost without an error";
              missing++;
            }
          }
          Status s;
          ModelState seen = Scan(db_.get(), ReadOptions(), &s);
          if (s.ok()) {
            for (const auto& [k, v] : seen) {
              auto want = model.find(k);
              ASSERT_NE(want, model.end()) << k << " resurrected (scan)";
              ASSERT_EQ(v, want->second) << k << ": wrong value (scan)";
            }
            if (paranoid) {
              ASSERT_EQ(seen.size(), model.size()) << "keys lost without an error";
            }
          }
          db_->Close().PermitUncheckedError();
          db_.reset();
        }
        ASSERT_NO_FATAL_FAILURE(RestoreDir(&env_, kDbName, pristine));
      }
    }
    std::printf("byte flips (%s, %s): %d flips, %d opened, %d key reads NotFound\n",
                StorageEngineName(GetParam()), paranoid ? "paranoid" : "not paranoid", flips,
                opened, missing);
    EXPECT_GT(flips, 20);
  }
  // The pristine files still open and hold everything.
  ASSERT_TRUE(Open(Opts()).ok());
  Status s;
  EXPECT_EQ(Scan(db_.get(), ReadOptions(), &s), model);
  EXPECT_TRUE(s.ok());
}

INSTANTIATE_TEST_SUITE_P(AllEngines, EngineTest, ::testing::ValuesIn(kAllEngines), EngineParamName);

TEST(EngineSwitchTest, UnknownEngineIsRefused) {
  std::unique_ptr<Env> mem = NewMemEnv(Env::Default());
  Options o;
  o.env = mem.get();
  o.create_if_missing = true;
  o.engine = static_cast<StorageEngine>(7);
  std::unique_ptr<DB> db;
  EXPECT_TRUE(DB::Open(o, "/db2", &db).IsInvalidArgument());
  EXPECT_EQ(db, nullptr);
}

}  // namespace
}  // namespace lsmkv
