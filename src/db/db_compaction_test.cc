// Leveled compaction: the tombstone scenario, snapshots, a model test that
// fills every level with invariant checks, and CompactRange.
#include <map>
#include <thread>

#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

class CompactionTest : public test::DBTestBase<> {
 protected:
  void SetUp() override {
    dbname_ = "/compact";
    // Tiny sizes so that every level fills.
    options_.write_buffer_size = 16 * 1024;
    options_.target_file_size = 8 * 1024;
    options_.max_bytes_for_level_base = 32 * 1024;
    options_.level_size_multiplier = 4;
    options_.block_size = 512;
    ASSERT_TRUE(Reopen().ok());
  }
  int FilesAtLevel(int level) {
    std::string text;
    EXPECT_TRUE(db_->GetProperty("lsmkv.levels", &text));
    const std::string tag = "L" + std::to_string(level) + " ";
    const size_t at = text.find("\n" + tag);
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + 1 + tag.size()));
  }
  int TotalFiles() {
    std::string live;
    EXPECT_TRUE(db_->GetProperty("lsmkv.live-files", &live));
    if (live.empty()) return 0;
    return static_cast<int>(std::count(live.begin(), live.end(), ' ')) + 1;
  }
  void Fill(int n, const std::string& prefix, const std::string& value) {
    for (int i = 0; i < n; i++) {
      char key[32];
      std::snprintf(key, sizeof(key), "%s%06d", prefix.c_str(), i);
      ASSERT_TRUE(db_->Put(WriteOptions(), key, value).ok());
    }
  }
};

// The scenario that resurrected deleted keys in the Python store: X lives in
// a deep level, is deleted, the tombstone is flushed and compacted into L1 —
// X must stay deleted through every compaction, and a full CompactRange must
// remove both the tombstone and the old value.
TEST_F(CompactionTest, DeletedKeyStaysDeletedThroughEveryCompaction) {
  ASSERT_TRUE(db_->Put(WriteOptions(), "X", "old value").ok());
  Fill(2000, "filler", std::string(50, 'f'));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  int deepest = 0;
  for (int level = 1; level < kNumLevels; level++) {
    if (FilesAtLevel(level) > 0) deepest = level;
  }
  ASSERT_GE(deepest, 2) << "X should have been pushed to a deep level";
  ASSERT_EQ("old value", Get("X"));

  ASSERT_TRUE(db_->Delete(WriteOptions(), "X").ok());
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ("NOT_FOUND", Get("X"));
  // More data: automatic compactions move the tombstone down level by level.
  for (int round = 0; round < 5; round++) {
    Fill(1500, "more" + std::to_string(round) + "-", std::string(50, 'm'));
    ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
    ASSERT_EQ("NOT_FOUND", Get("X")) << "round " << round;
    ASSERT_TRUE(impl()->TEST_CheckInvariants().ok());
  }
  const std::string x = "X";
  ASSERT_TRUE(db_->CompactRange(&x, &x).ok());
  EXPECT_EQ("NOT_FOUND", Get("X"));
  ASSERT_TRUE(Reopen().ok());
  EXPECT_EQ("NOT_FOUND", Get("X"));

  // After a full compaction nothing of X remains on disk: an iterator over
  // the internal data would show it; check that no table range holds "X"
  // other than by its neighbours, using a DB with only X in it.
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("NOT_FOUND", Get("X"));
}

TEST_F(CompactionTest, FullCompactionRemovesTombstoneAndOldValueFromDisk) {
  ASSERT_TRUE(db_->Put(WriteOptions(), "X", "value").ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_GT(TotalFiles(), 0);
  ASSERT_TRUE(db_->Delete(WriteOptions(), "X").ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("NOT_FOUND", Get("X"));
  EXPECT_EQ(0, TotalFiles()) << "the tombstone and the value it deleted must both be gone";
}

TEST_F(CompactionTest, SnapshotsKeepTheVersionsTheyNeed) {
  ASSERT_TRUE(db_->Put(WriteOptions(), "X", "v1").ok());
  const Snapshot* s1 = db_->GetSnapshot();
  ASSERT_TRUE(db_->Put(WriteOptions(), "X", "v2").ok());
  const Snapshot* s2 = db_->GetSnapshot();
  ASSERT_TRUE(db_->Delete(WriteOptions(), "X").ok());
  const Snapshot* s3 = db_->GetSnapshot();
  for (int round = 0; round < 3; round++) {
    Fill(1000, "pad" + std::to_string(round), std::string(60, 'p'));
    ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
    EXPECT_EQ("v1", Get("X", s1));
    EXPECT_EQ("v2", Get("X", s2));
    EXPECT_EQ("NOT_FOUND", Get("X", s3));
    EXPECT_EQ("NOT_FOUND", Get("X"));
  }
  db_->ReleaseSnapshot(s1);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("v2", Get("X", s2));
  db_->ReleaseSnapshot(s2);
  db_->ReleaseSnapshot(s3);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("NOT_FOUND", Get("X"));
  ASSERT_TRUE(impl()->TEST_CheckInvariants().ok());
}

// Random puts, deletes, batches, flushes, compactions and reopens against a
// std::map; every level fills; invariants checked after compactions.
TEST_F(CompactionTest, ModelFillsEveryLevelAndKeepsInvariants) {
  const uint32_t seeds[] = {test::TestSeed(1), test::TestSeed(1) + 1, test::TestSeed(1) + 2};
  const int threads[] = {1, 2, 4};  // max_background_compactions per seed
  for (int run = 0; run < 3; run++) {
    const uint32_t seed = seeds[run];
    options_.max_background_compactions = threads[run];
    // The last seed also runs read-triggered compaction (the verification
    // reads below then push the data down into one level); the others keep
    // it off so that data spans several levels.
    const bool read_compaction = run == 2;
    options_.read_compaction_bytes_per_seek = read_compaction ? 16 * 1024 : 0;
    SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(threads[run]) +
                 " compaction threads" + (read_compaction ? ", read-triggered compaction" : ""));
    ASSERT_TRUE(DestroyDB("/compact", options_).ok() || true);
    db_.reset();
    ASSERT_TRUE(DestroyDB("/compact", options_).ok());
    ASSERT_TRUE(Reopen().ok());
    impl()->TEST_CheckInvariantsAfterEveryCompaction(true);
    uint64_t checks = 0;  // summed over the reopens of this seed
    auto collect_checks = [&] {
      Status violation;
      checks += impl()->TEST_InvariantChecks(&violation);
      ASSERT_TRUE(violation.ok()) << "after a compaction: " << violation.ToString();
    };
    Random rnd(seed);
    std::map<std::string, std::string> model;
    for (int i = 1; i <= 100000; i++) {
      const std::string key = "k" + std::to_string(rnd.Uniform(8000));
      const uint32_t op = rnd.Uniform(100);
      if (op < 60) {
        const std::string v = rnd.RandomBytes(rnd.Uniform(80));
        ASSERT_TRUE(db_->Put(WriteOptions(), key, v).ok());
        model[key] = v;
      } else if (op < 85) {
        ASSERT_TRUE(db_->Delete(WriteOptions(), key).ok());
        model.erase(key);
      } else if (op < 99) {
        WriteBatch batch;
        for (int j = 0; j < 3; j++) {
          const std::string k = "k" + std::to_string(rnd.Uniform(8000));
          batch.Put(k, "b" + std::to_string(i));
          model[k] = "b" + std::to_string(i);
        }
        ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
      } else if (rnd.OneIn(20)) {
        const std::string a = "k" + std::to_string(rnd.Uniform(8000));
        const std::string b = "k" + std::to_string(rnd.Uniform(8000));
        ASSERT_TRUE(db_->CompactRange(&std::min(a, b), &std::max(a, b)).ok());
      } else if (rnd.OneIn(10)) {
        ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
        collect_checks();
        ASSERT_TRUE(Reopen().ok());
        impl()->TEST_CheckInvariantsAfterEveryCompaction(true);
      }
      if (i % 25000 == 0) {
        ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
        Status inv = impl()->TEST_CheckInvariants();
        ASSERT_TRUE(inv.ok()) << inv.ToString();
        for (int k = 0; k < 8000; k++) {
          const std::string key2 = "k" + std::to_string(k);
          auto it = model.find(key2);
          ASSERT_EQ(it == model.end() ? "NOT_FOUND" : it->second, Get(key2)) << key2;
        }
      }
    }
    ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
    collect_checks();
    EXPECT_GT(checks, 100u) << "invariants are checked after every compaction";
    std::printf("seed %u: invariants checked after %llu compactions\n", seed,
                static_cast<unsigned long long>(checks));
    int levels_used = 0;
    for (int level = 1; level < kNumLevels; level++) levels_used += FilesAtLevel(level) > 0;
    std::string stats;
    ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
    if (read_compaction) {
      EXPECT_EQ(std::string::npos, stats.find(" started (0 read-triggered,")) << stats;
    } else {
      EXPECT_GE(levels_used, 2) << "data should span several levels";
    }
    EXPECT_NE(std::string::npos, stats.find("write amplification")) << stats;
  }
}

class ConcurrentCompactionTest : public CompactionTest,
                                 public ::testing::WithParamInterface<int> {};

INSTANTIATE_TEST_SUITE_P(Threads, ConcurrentCompactionTest, ::testing::Values(1, 4));

TEST_P(ConcurrentCompactionTest, ConcurrentWritersReadersAndCompactions) {
  options_.max_background_compactions = GetParam();
  ASSERT_TRUE(Reopen().ok());
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15000; i++) {
        const std::string key = "w" + std::to_string(t) + "-" + std::to_string(i % 3000);
        Status s = db_->Put(WriteOptions(), key, std::to_string(i));
        if (!s.ok()) {
          ADD_FAILURE() << "put: " << s.ToString();
          errors++;
        }
      }
    });
  }
  threads.emplace_back([&] {
    Random rnd(3);
    while (!stop.load()) {
      std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
      std::string last;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (!last.empty() && std::string(it->key()) <= last) {
          ADD_FAILURE() << "order: " << last << " then " << it->key();
          errors++;
        }
        last = it->key();
      }
      if (!it->status().ok()) {
        ADD_FAILURE() << "iterator: " << it->status().ToString();
        errors++;
      }
      std::string v;
      Status s = db_->Get(ReadOptions(), "w0-" + std::to_string(rnd.Uniform(3000)), &v);
      if (!s.ok() && !s.IsNotFound()) {
        ADD_FAILURE() << "get: " << s.ToString();
        errors++;
      }
    }
  });
  threads[0].join();
  threads[1].join();
  stop = true;
  threads[2].join();
  EXPECT_EQ(0, errors.load());
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  ASSERT_TRUE(impl()->TEST_CheckInvariants().ok());
  for (int t = 0; t < 2; t++) {
    for (int k = 0; k < 3000; k++) {
      ASSERT_EQ(std::to_string(12000 + k), Get("w" + std::to_string(t) + "-" + std::to_string(k)));
    }
  }
}

// Several compactions run at once when a level is far over its budget, and
// the tree stays consistent.
TEST_F(CompactionTest, CompactionsRunInParallel) {
  // Build a large level 1 first (a generous budget), then shrink the budget:
  // many level-1 files become due at once.
  options_.max_bytes_for_level_base = 64ull << 20;
  ASSERT_TRUE(Reopen().ok());
  std::map<std::string, std::string> model;
  for (int i = 0; i < 20000; i++) {
    char key[32];
    std::snprintf(key, sizeof(key), "key%07d", (i * 7919) % 20000);
    const std::string value = std::string(40, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(db_->Put(WriteOptions(), key, value).ok());
    model[key] = value;
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_GT(FilesAtLevel(1), 20);
  options_.max_bytes_for_level_base = 16 * 1024;
  options_.max_background_compactions = 4;
  options_.rate_limit_bytes_per_sec = 4 << 20;  // slow enough that they overlap in time
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  const size_t at = stats.find("(peak ");
  ASSERT_NE(std::string::npos, at) << stats;
  EXPECT_GE(std::stoi(stats.substr(at + 6)), 2) << stats;
  Status inv = impl()->TEST_CheckInvariants();
  ASSERT_TRUE(inv.ok()) << inv.ToString();
  for (const auto& [key, value] : model) ASSERT_EQ(value, Get(key)) << key;
  EXPECT_GT(FilesAtLevel(2), 0);
}

// Read-triggered compaction: three overlapping level-0 files, below the
// level-0 limit, so no size budget asks for a compaction.
class ReadCompactionTest : public CompactionTest {
 protected:
  void Build(uint64_t bytes_per_seek) {
    options_.write_buffer_size = 1 << 20;
    options_.level0_file_limit = 100;
    options_.level0_slowdown_writes_trigger = 200;
    options_.level0_stop_writes_trigger = 300;
    options_.read_compaction_bytes_per_seek = bytes_per_seek;
    ASSERT_TRUE(Reopen().ok());
    for (int file = 0; file < 3; file++) {
      for (int i = file; i < 3000; i += 3) {
        char key[32];
        std::snprintf(key, sizeof(key), "key%06d", i);
        ASSERT_TRUE(db_->Put(WriteOptions(), key, "v" + std::to_string(i)).ok());
      }
      ASSERT_TRUE(db_->Flush().ok());
    }
    ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
    ASSERT_EQ(3, FilesAtLevel(0));
  }
  uint64_t ReadTriggered() {
    std::string stats;
    EXPECT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
    const std::string tag = " started (";
    const size_t at = stats.find(tag);
    EXPECT_NE(std::string::npos, at) << stats;
    return at == std::string::npos ? 0 : std::stoull(stats.substr(at + tag.size()));
  }
  void ExpectEveryKey() {
    for (int i = 0; i < 3000; i++) {
      char key[32];
      std::snprintf(key, sizeof(key), "key%06d", i);
      ASSERT_EQ("v" + std::to_string(i), Get(key)) << key;
    }
  }
};

TEST_F(ReadCompactionTest, PointLookupsThatLookPastAFileCompactIt) {
  Build(16 * 1024);
  // Keys of the oldest file: every lookup consults the two newer files first.
  for (int round = 0; round < 3 && FilesAtLevel(0) != 0; round++) {
    for (int i = 0; i < 3000; i += 3) {
      char key[32];
      std::snprintf(key, sizeof(key), "key%06d", i);
      ASSERT_EQ("v" + std::to_string(i), Get(key));
    }
    ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  }
  EXPECT_EQ(0, FilesAtLevel(0));
  EXPECT_GT(FilesAtLevel(1), 0);
  EXPECT_GE(ReadTriggered(), 1u);
  ExpectEveryKey();
  Status inv = impl()->TEST_CheckInvariants();
  ASSERT_TRUE(inv.ok()) << inv.ToString();
}

TEST_F(ReadCompactionTest, IteratorSeeksThatLookPastAFileCompactIt) {
  Build(16 * 1024);
  for (int round = 0; round < 3 && FilesAtLevel(0) != 0; round++) {
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    for (int i = 0; i < 1000; i++) {
      char key[32];
      std::snprintf(key, sizeof(key), "key%06d", (i * 7) % 3000);
      it->Seek(key);
      ASSERT_TRUE(it->Valid()) << it->status().ToString();
      ASSERT_EQ(key, it->key());
    }
    it.reset();
    ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  }
  EXPECT_EQ(0, FilesAtLevel(0));
  EXPECT_GE(ReadTriggered(), 1u);
  ExpectEveryKey();
}

TEST_F(ReadCompactionTest, OffWhenBytesPerSeekIsZero) {
  Build(0);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 3000; i += 3) {
      char key[32];
      std::snprintf(key, sizeof(key), "key%06d", i);
      ASSERT_EQ("v" + std::to_string(i), Get(key));
    }
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    for (int i = 0; i < 1000; i++) it->Seek("key" + std::to_string(100000 + i));
  }
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(3, FilesAtLevel(0));
  EXPECT_EQ(0u, ReadTriggered());
}

// lsmkv.stats carries the observability figures the issue asks for.
TEST_F(CompactionTest, StatsReportContentionPendingBytesAndCompactions) {
  Fill(3000, "s", std::string(50, 'x'));
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
  for (const char* needle :
       {"pending compaction bytes: ", "db mutex wait ns: count ", "db mutex hold ns: count ",
        "compactions: ", "write stops: ", "stall micros: ", "write amplification"}) {
    EXPECT_NE(std::string::npos, stats.find(needle)) << needle << "\n" << stats;
  }
  const std::string hold = "db mutex hold ns: count ";
  const size_t at = stats.find(hold);
  ASSERT_NE(std::string::npos, at);
  EXPECT_GT(std::stoull(stats.substr(at + hold.size())), 3000u) << "every write holds the DB mutex";
  std::string levels;
  ASSERT_TRUE(db_->GetProperty("lsmkv.levels", &levels));
  EXPECT_NE(std::string::npos, levels.find("compacting")) << levels;
}

// A background compaction that fails (the disk refuses its table writes)
// puts the DB in its error state: writes fail, nothing acknowledged is lost,
// and a reopen without faults finds everything and a consistent tree.
TEST(CompactionErrorTest, BackgroundCompactionErrorEntersErrorStateWithoutLoss) {
  for (FaultOp op : {FaultOp::kAppend, FaultOp::kSync, FaultOp::kOpen}) {
    SCOPED_TRACE(std::string(FaultOpName(op)));
    auto mem = NewMemEnv(Env::Default());
    FaultInjectionEnv env(mem.get());
    Options options;
    options.env = &env;
    options.create_if_missing = true;
    options.write_buffer_size = 16 * 1024;
    options.level0_file_limit = 100;  // no automatic compaction
    options.level0_slowdown_writes_trigger = 200;
    options.level0_stop_writes_trigger = 300;
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, "/bg-error", &db).ok());
    std::map<std::string, std::string> model;
    for (int i = 0; i < 3000; i++) {
      const std::string key = "key" + std::to_string(i % 1500);
      const std::string value = std::to_string(i) + std::string(30, 'v');
      ASSERT_TRUE(db->Put(WriteOptions(), key, value).ok());
      model[key] = value;
    }
    ASSERT_TRUE(db->Flush().ok());
    ASSERT_TRUE(db->Close().ok());
    db.reset();
    ASSERT_TRUE(DB::Open(options, "/bg-error", &db).ok());
    // From now on every call of op fails: the compaction (run on a
    // background thread, as every compaction is) cannot write its outputs.
    env.ResetCounts();
    env.FailFrom(op, 1);
    Status compact = db->CompactRange(nullptr, nullptr);
    EXPECT_TRUE(compact.IsIOError()) << compact.ToString();
    Status put = db->Put(WriteOptions(), "after", "error");
    EXPECT_TRUE(put.IsIOError()) << "a write must fail in the error state: " << put.ToString();
    db.reset();
    EXPECT_GT(env.InjectedCount(), 0u);
    env.ClearFaults();
    ASSERT_TRUE(DB::Open(options, "/bg-error", &db).ok());
    auto* impl = static_cast<DBImpl*>(db.get());
    ASSERT_TRUE(impl->TEST_WaitForBackgroundWork().ok());
    ASSERT_TRUE(impl->TEST_CheckInvariants().ok());
    for (const auto& [key, value] : model) {
      std::string got;
      ASSERT_TRUE(db->Get(ReadOptions(), key, &got).ok()) << key;
      ASSERT_EQ(value, got) << key;
    }
    std::string missing;
    EXPECT_TRUE(db->Get(ReadOptions(), "after", &missing).IsNotFound());
  }
}

// Invalid compaction options are refused at Open, naming the option.
TEST_F(CompactionTest, BadCompactionOptionsAreRefused) {
  Options bad = options_;
  bad.max_background_compactions = 0;
  std::unique_ptr<DB> db;
  Status s = DB::Open(bad, "/compact-bad", &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("max_background_compactions"));
  bad = options_;
  bad.compaction_soft_limit = 0;
  s = DB::Open(bad, "/compact-bad", &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

}  // namespace
}  // namespace lsmkv
