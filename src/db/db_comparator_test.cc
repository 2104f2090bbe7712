// User comparators (Options::comparator): a database in another order reads,
// scans, seeks, flushes, compacts, reopens, repairs and verifies in that
// order, checked against a std::map model in the same order; the comparator's
// name is recorded and a mismatch fails Open with both names; reserved names
// are refused. Also DB::GetApproximateSizes in either order.
#include <map>
#include <memory>
#include <string>

#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/comparator.h"
#include "lsmkv/db.h"
#include "lsmkv/tools.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

// Reverse bytewise order. Leaves keys alone in the shortening helpers (always
// correct) so that the engine's index keys are the full keys.
class ReverseComparator final : public Comparator {
 public:
  explicit ReverseComparator(const char* name = "test.reverse") : name_(name) {}
  int Compare(std::string_view a, std::string_view b) const override { return b.compare(a); }
  const char* Name() const override { return name_; }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}

 private:
  const char* name_;
};

// Orders keys as unsigned decimal numbers ("9" < "10"), with a separator
// helper that really shortens, to exercise index keys the comparator chose.
class NumericComparator final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b);
  }
  const char* Name() const override { return "test.numeric"; }
  void FindShortestSeparator(std::string* start, std::string_view limit) const override {
    // A shorter number is smaller: if limit is longer, the start stays (any
    // shortening must keep *start <= s < limit; keeping start is simplest).
    (void)start;
    (void)limit;
  }
  void FindShortSuccessor(std::string* key) const override {
    // The smallest number with one more digit is above every key of this
    // length: "1" followed by zeros.
    *key = "1" + std::string(key->size(), '0');
  }
};

using ReverseModel = std::map<std::string, std::string, std::greater<>>;

class ComparatorTest : public test::DBTestBase<> {
 protected:
  void SetUp() override {
    options_.comparator = &reverse_;
    options_.write_buffer_size = 8 * 1024;
    options_.target_file_size = 8 * 1024;
    options_.max_bytes_for_level_base = 32 * 1024;
    ASSERT_TRUE(Reopen().ok());
  }

  // A forward and a backward scan show exactly model, in its order.
  void ExpectScans(const ReverseModel& model) {
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    auto m = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, model.end()) << "extra key " << it->key();
      ASSERT_EQ(m->first, it->key());
      ASSERT_EQ(m->second, it->value());
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(m, model.end());
    auto r = model.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
      ASSERT_NE(r, model.rend());
      ASSERT_EQ(r->first, it->key());
    }
    ASSERT_EQ(r, model.rend());
  }

  ReverseComparator reverse_;
};

std::string Key(Random* rnd) { return "k" + std::to_string(rnd->Uniform(600)); }

TEST_F(ComparatorTest, ReverseOrderMatchesAModelThroughFlushesCompactionsAndReopen) {
  Random rnd(test::TestSeed());
  ReverseModel model;
  for (int i = 0; i < 6000; i++) {
    const std::string key = Key(&rnd);
    if (rnd.OneIn(5)) {
      ASSERT_TRUE(Delete(key).ok());
      model.erase(key);
    } else {
      const std::string value = "v" + std::to_string(i) + std::string(rnd.Uniform(60), 'x');
      ASSERT_TRUE(Put(key, value).ok());
      model[key] = value;
    }
    if (i == 3000) {
      ASSERT_TRUE(Reopen().ok());
    }
  }
  std::string levels;
  ASSERT_TRUE(db_->GetProperty("lsmkv.levels", &levels));
  ASSERT_NO_FATAL_FAILURE(ExpectScans(model));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectScans(model));
  ASSERT_TRUE(Reopen().ok());
  ASSERT_NO_FATAL_FAILURE(ExpectScans(model));

  // Point reads and seeks in the comparator's order.
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  for (int i = 0; i < 600; i++) {
    const std::string key = "k" + std::to_string(i);
    const auto m = model.find(key);
    EXPECT_EQ(m == model.end() ? "NOT_FOUND" : m->second, Get(key)) << key;
    it->Seek(key);
    const auto lb = model.lower_bound(key);  // first key not before `key` in reverse order
    ASSERT_EQ(lb != model.end(), it->Valid()) << key;
    if (lb != model.end()) {
      EXPECT_EQ(lb->first, it->key());
    }
  }

  // Bounds are in the comparator's order too: [k5, k3) in reverse order is
  // every key from "k5" down to (not including) "k3".
  ReadOptions bounded;
  bounded.lower_bound = "k5";
  bounded.upper_bound = "k3";
  ReverseModel expected(model.lower_bound("k5"), model.lower_bound("k3"));
  it = db_->NewIterator(bounded);
  auto m = expected.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
    ASSERT_NE(m, expected.end());
    ASSERT_EQ(m->first, it->key());
  }
  EXPECT_EQ(m, expected.end());
  EXPECT_TRUE(it->status().ok());
}

TEST_F(ComparatorTest, ANumericOrderWithItsOwnSuccessorKeysWorks) {
  NumericComparator numeric;
  options_.comparator = &numeric;
  dbname_ = "/numeric";
  ASSERT_TRUE(Reopen().ok());
  for (int i = 0; i < 3000; i++) ASSERT_TRUE(Put(std::to_string(i), std::to_string(i * 7)).ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  int expect = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), expect++) {
    ASSERT_EQ(std::to_string(expect), it->key());
  }
  EXPECT_EQ(3000, expect);
  it->Seek("999");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("999", it->key());
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("1000", it->key()) << "numeric order: 999 < 1000";
  for (int i = 0; i < 3000; i += 97) EXPECT_EQ(std::to_string(i * 7), Get(std::to_string(i)));
}

TEST_F(ComparatorTest, OpeningWithAnotherComparatorFailsNamingBoth) {
  ASSERT_TRUE(Put("a", "1").ok());
  ASSERT_TRUE(db_->Flush().ok());
  db_.reset();

  options_.comparator = nullptr;  // bytewise
  Status s = Reopen();
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("test.reverse")) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("lsmkv.BytewiseComparator")) << s.ToString();

  ReverseComparator renamed("test.reverse2");
  options_.comparator = &renamed;
  s = Reopen();
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("test.reverse2")) << s.ToString();

  // A bytewise database refuses the reverse comparator the same way.
  options_.comparator = nullptr;
  dbname_ = "/bytewise";
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(Put("a", "1").ok());
  db_.reset();
  options_.comparator = &reverse_;
  s = Reopen();
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();

  // The right comparator still opens both, with their data.
  options_.comparator = nullptr;
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("1", Get("a"));
  dbname_ = "/db";
  options_.comparator = &reverse_;
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("1", Get("a"));
}

TEST_F(ComparatorTest, ReservedAndEmptyNamesAreRefused) {
  db_.reset();
  ReverseComparator reserved("lsmkv.Reverse");
  options_.comparator = &reserved;
  dbname_ = "/reserved";
  Status s = Reopen();
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("reserved")) << s.ToString();
  ReverseComparator empty("");
  options_.comparator = &empty;
  s = Reopen();
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_FALSE(env_->FileExists(dbname_ + "/CURRENT")) << "nothing created";
}

// A transaction's iterator merges its buffered writes with the snapshot in
// the comparator's order, in both directions, with bounds and seeks.
TEST_F(ComparatorTest, TransactionIteratorsMergeInTheComparatorsOrder) {
  options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;
  ASSERT_TRUE(Reopen().ok());
  ReverseModel model;
  for (int i = 0; i < 200; i += 2) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(Put(key, "db" + std::to_string(i)).ok());
    model[key] = "db" + std::to_string(i);
  }
  ASSERT_TRUE(db_->Flush().ok());
  std::unique_ptr<Transaction> txn = db_->BeginTransaction(WriteOptions(), TransactionOptions());
  Random rnd(test::TestSeed());
  for (int i = 0; i < 150; i++) {
    const std::string key = "k" + std::to_string(rnd.Uniform(220));
    if (rnd.OneIn(3)) {
      ASSERT_TRUE(txn->Delete(key).ok());
      model.erase(key);
    } else {
      ASSERT_TRUE(txn->Put(key, "txn" + std::to_string(i)).ok());
      model[key] = "txn" + std::to_string(i);
    }
  }
  for (int round = 0; round < 3; round++) {
    ReadOptions ro;
    ReverseModel view = model;
    if (round == 1) {  // [k7, k3) in reverse order
      ro.lower_bound = "k7";
      ro.upper_bound = "k3";
      view = ReverseModel(model.lower_bound("k7"), model.lower_bound("k3"));
    }
    std::unique_ptr<Iterator> it = txn->NewIterator(ro);
    auto m = view.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, view.end());
      ASSERT_EQ(m->first, it->key());
      ASSERT_EQ(m->second, it->value());
    }
    ASSERT_EQ(m, view.end());
    auto r = view.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
      ASSERT_NE(r, view.rend());
      ASSERT_EQ(r->first, it->key());
    }
    ASSERT_EQ(r, view.rend());
    for (int i = 0; i < 220; i += 7) {
      const std::string target = "k" + std::to_string(i);
      it->Seek(target);
      auto lb = view.lower_bound(target);
      ASSERT_EQ(lb != view.end(), it->Valid()) << target;
      if (lb != view.end()) {
        EXPECT_EQ(lb->first, it->key()) << target;
      }
      it->SeekForPrev(target);
      auto ub = view.upper_bound(target);
      ASSERT_EQ(ub != view.begin(), it->Valid()) << target;
      if (ub != view.begin()) {
        EXPECT_EQ(std::prev(ub)->first, it->key()) << target;
      }
    }
    ASSERT_TRUE(it->status().ok());
  }
  ASSERT_TRUE(txn->Commit().ok());
  ASSERT_NO_FATAL_FAILURE(ExpectScans(model));
}

// Serializable validation checks the ranges an iterator covered in the
// comparator's order: a write inside them conflicts, one outside does not.
TEST_F(ComparatorTest, SerializableRangesAreInTheComparatorsOrder) {
  options_.wal_recovery_mode = WalRecoveryMode::kPointInTime;
  ASSERT_TRUE(Reopen().ok());
  for (int i = 0; i < 10; i++) ASSERT_TRUE(Put("k" + std::to_string(i), "v").ok());
  TransactionOptions serializable;
  serializable.isolation = IsolationLevel::kSerializable;

  // Each case: the reader scans [k7, k3) in reverse order (k7, k6, k5, k4),
  // or seeks back from k5 (SeekForPrev covers k5 itself and what it meets
  // going down to k4), then a writer commits `key`, then the reader commits.
  struct Case {
    bool seek_for_prev;
    std::string key;
    bool conflict;
  };
  const Case cases[] = {
      {false, "k45", true},  // between k5 and k4: inside, bytewise too
      {false, "k7", true},   // the inclusive lower bound
      {false, "k3", false},  // the exclusive upper bound
      {false, "k8", false},  // before the range in reverse order
      {false, "k2", false},  // after it
      {true, "k5", true},    // SeekForPrev's target is covered
      {true, "k51", false},  // > k5 in reverse order: not reached
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key + (c.seek_for_prev ? " (SeekForPrev)" : " (scan)"));
    std::unique_ptr<Transaction> reader = db_->BeginTransaction(WriteOptions(), serializable);
    ReadOptions ro;
    ro.lower_bound = "k7";
    ro.upper_bound = "k3";
    std::unique_ptr<Iterator> it = reader->NewIterator(ro);
    int seen = 0;
    if (c.seek_for_prev) {
      it->SeekForPrev("k5");
      ASSERT_TRUE(it->Valid());
      EXPECT_EQ("k5", it->key());
    } else {
      for (it->SeekToFirst(); it->Valid(); it->Next()) seen++;
      EXPECT_EQ(4, seen);
    }
    ASSERT_TRUE(it->status().ok());
    it.reset();
    ASSERT_TRUE(Put(c.key, "w").ok());
    ASSERT_TRUE(reader->Put("out", "x").ok());
    Status s = reader->Commit();
    EXPECT_EQ(c.conflict, s.IsBusy()) << s.ToString();
    // Restore the ten keys for the next case.
    const bool original = c.key.size() == 2;
    ASSERT_TRUE((original ? Put(c.key, "v") : Delete(c.key)).ok());
  }

  // Snapshot isolation: first committer wins on a key, in any order.
  std::unique_ptr<Transaction> a = db_->BeginTransaction(WriteOptions(), TransactionOptions());
  std::unique_ptr<Transaction> b = db_->BeginTransaction(WriteOptions(), TransactionOptions());
  ASSERT_TRUE(a->Put("k1", "a").ok());
  ASSERT_TRUE(b->Put("k1", "b").ok());
  ASSERT_TRUE(a->Commit().ok());
  EXPECT_TRUE(b->Commit().IsBusy());
  EXPECT_EQ("a", Get("k1"));
}

TEST_F(ComparatorTest, RepairAndVerifyUseTheComparatorTheyAreGiven) {
  ReverseModel model;
  for (int i = 0; i < 2000; i++) {
    const std::string key = "key" + std::to_string(i % 700);
    const std::string value = "value" + std::to_string(i);
    ASSERT_TRUE(Put(key, value).ok());
    model[key] = value;
  }
  ASSERT_TRUE(db_->Flush().ok());
  db_.reset();

  VerifyOptions vo;
  vo.env = env_.get();
  vo.comparator = &reverse_;
  VerifyReport report;
  Status s = VerifyDB(dbname_, vo, &report);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << report.ToString();
  EXPECT_GT(report.tables, 0u);

  VerifyOptions bytewise_vo;
  bytewise_vo.env = env_.get();
  VerifyReport bytewise_report;
  s = VerifyDB(dbname_, bytewise_vo, &bytewise_report);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  bool named = false;
  for (const std::string& p : bytewise_report.problems) {
    named = named || p.find("written with comparator test.reverse") != std::string::npos;
  }
  EXPECT_TRUE(named) << bytewise_report.ToString();

  RepairOptions ro;
  ro.db_options = options_;
  RepairReport repair;
  s = RepairDB(dbname_, ro, &repair);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(Reopen().ok()) << "the repaired MANIFEST names the comparator it was given";
  ASSERT_NO_FATAL_FAILURE(ExpectScans(model));
}

TEST_F(ComparatorTest, ApproximateSizesFollowTheKeyOrder) {
  const std::string value(200, 'v');
  for (int i = 0; i < 4000; i++) {
    char key[16];
    snprintf(key, sizeof(key), "k%06d", i);
    ASSERT_TRUE(Put(key, value).ok());
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  // In reverse order "k9" comes first: [k9, k0) holds everything, [k0, k9)
  // nothing (start after limit), and the halves add up to about the whole.
  const Range ranges[] = {
      {"k9", "k0"}, {"k0", "k9"}, {"k9", "k002000"}, {"k002000", "k0"}, {"k002000", "k002000"}};
  uint64_t sizes[5];
  ASSERT_TRUE(db_->GetApproximateSizes(ranges, 5, sizes).ok());
  EXPECT_GT(sizes[0], 4000u * 200);
  EXPECT_EQ(0u, sizes[1]);
  EXPECT_EQ(0u, sizes[4]);
  EXPECT_GT(sizes[2], sizes[0] / 3);
  EXPECT_GT(sizes[3], sizes[0] / 3);
  EXPECT_LE(sizes[2] + sizes[3], sizes[0] + 2 * 4096) << "split at a block at most";

  db_->Close().PermitUncheckedError();
  EXPECT_TRUE(db_->GetApproximateSizes(ranges, 5, sizes).IsInvalidArgument());
  EXPECT_EQ(0u, sizes[0]);
}

TEST(ApproximateSizesTest, BytewiseRangesGrowWithTheirData) {
  std::unique_ptr<Env> env(NewMemEnv(Env::Default()));
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  options.write_buffer_size = 64 * 1024;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, "/sizes", &db).ok());
  const Range everything[] = {{"a", "z"}};
  uint64_t before = 1;
  ASSERT_TRUE(db->GetApproximateSizes(everything, 1, &before).ok());
  EXPECT_EQ(0u, before) << "an empty database";
  for (int i = 0; i < 20000; i++) {
    char key[32], value[32];
    snprintf(key, sizeof(key), "k%020d", i);
    snprintf(value, sizeof(value), "v%020d", i);
    ASSERT_TRUE(db->Put(WriteOptions(), key, value).ok());
  }
  ASSERT_TRUE(db->Flush().ok());
  const Range ranges[] = {
      {"a", "k00000000000000010000"}, {"k00000000000000010000", "z"}, {"a", "z"}, {"z", "zz"}};
  uint64_t sizes[4];
  ASSERT_TRUE(db->GetApproximateSizes(ranges, 4, sizes).ok());
  EXPECT_GT(sizes[0], 0u);
  EXPECT_GT(sizes[1], 0u);
  EXPECT_GE(sizes[2], sizes[0]);
  EXPECT_GE(sizes[2], sizes[1]);
  EXPECT_EQ(0u, sizes[3]) << "no keys after z";
  // 20000 entries of about 45 bytes: the whole is in that region.
  EXPECT_GT(sizes[2], 20000u * 30);
  EXPECT_LT(sizes[2], 20000u * 120);
}

}  // namespace
}  // namespace lsmkv
