// Read faults at the DB level: failed reads (EIO), short reads (fewer bytes
// than asked, with OK status, as at the end of a file) and corrupted buffers
// (one bit flipped) while Get, iterators and compaction read tables, and
// while Open replays the WAL. The property: a read never returns OK with
// wrong data. A Get returns the model's value (or NotFound for an absent
// key) or a non-OK status; an iterator yields exactly a prefix of the
// model's entries (in its direction) and, if it stops early, ends with a
// non-OK status(); a compaction that read damaged bytes fails instead of
// writing them into a new table. Once the faults stop, every read is right
// again, and so after a reopen.
#include <map>

#include "db/model_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using test::ModelState;

enum class ReadFault { kEIO, kShortRead, kCorruptBuffer };

const char* FaultName(ReadFault f) {
  switch (f) {
    case ReadFault::kEIO:
      return "EIO";
    case ReadFault::kShortRead:
      return "ShortRead";
    case ReadFault::kCorruptBuffer:
      return "CorruptBuffer";
  }
  return "?";
}

constexpr int kKeys = 400;
constexpr char kDbName[] = "/readfault";

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%05d", i);
  return buf;
}

// Tables on several levels and in L0, small blocks, a tiny block cache and
// few open tables, so that nearly every read goes to the Env.
Options ReadOptionsFor(Env* env) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.write_buffer_size = 32 * 1024;
  o.block_size = 256;
  o.block_cache_size = 4 * 1024;
  o.max_open_files = 3;
  o.level0_file_limit = 4;
  o.target_file_size = 16 * 1024;
  o.max_bytes_for_level_base = 48 * 1024;
  o.level_size_multiplier = 2;
  return o;
}

// Counts of outcomes over a whole test, printed at the end.
struct Tally {
  uint64_t gets_right = 0, gets_error = 0;
  uint64_t scans_complete = 0, scans_error = 0;
  uint64_t compactions_ok = 0, compactions_error = 0;
  uint64_t injected = 0;
};

class ReadFaultTest : public ::testing::TestWithParam<ReadFault> {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv(Env::Default());
    env_ = std::make_unique<FaultInjectionEnv>(mem_.get());
  }
  void TearDown() override {
    db_.reset();
    env_.reset();
  }

  // Writes versions, deletions, flushes and compactions: data on L1+, in L0
  // tables and in the memtable.
  void Build(uint32_t seed) {
    ASSERT_TRUE(DB::Open(ReadOptionsFor(env_.get()), kDbName, &db_).ok());
    Random rnd(seed);
    for (int round = 0; round < 4; round++) {
      for (int i = 0; i < 300; i++) {
        const int k = static_cast<int>(rnd.Uniform(kKeys));
        if (rnd.OneIn(6)) {
          ASSERT_TRUE(db_->Delete(WriteOptions(), Key(k)).ok());
          model_.erase(Key(k));
        } else {
          std::string value = "r" + std::to_string(round) + "-" + std::to_string(i) + "-";
          value.resize(30 + rnd.Uniform(120), static_cast<char>('a' + i % 26));
          ASSERT_TRUE(db_->Put(WriteOptions(), Key(k), value).ok());
          model_[Key(k)] = value;
        }
      }
      ASSERT_TRUE(db_->Flush().ok());
      if (round == 1) {
        ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
      }
    }
    ASSERT_TRUE(db_->Put(WriteOptions(), Key(1), "in the memtable").ok());
    model_[Key(1)] = "in the memtable";
    std::string levels;
    ASSERT_TRUE(db_->GetProperty("lsmkv.levels", &levels));
    SCOPED_TRACE(levels);
  }

  void Arm(double probability, uint64_t seed) {
    switch (GetParam()) {
      case ReadFault::kEIO:
        env_->FailRandomly(FaultOp::kRead, probability, seed);
        break;
      case ReadFault::kShortRead:
        env_->ShortReads(probability, seed);
        break;
      case ReadFault::kCorruptBuffer:
        env_->CorruptReads(probability, seed);
        break;
    }
  }

  // Every Get returns the model's answer or an error.
  void CheckGets(const ReadOptions& ro, Tally* tally) {
    for (int i = 0; i < kKeys; i++) {
      std::string value;
      Status s = db_->Get(ro, Key(i), &value);
      auto it = model_.find(Key(i));
      if (s.ok()) {
        ASSERT_TRUE(it != model_.end()) << Key(i) << " is absent, Get returned a value";
        ASSERT_EQ(it->second, value) << "Get(" << Key(i) << ") returned a wrong value";
        tally->gets_right++;
      } else if (s.IsNotFound()) {
        ASSERT_TRUE(it == model_.end())
            << "Get(" << Key(i) << ") returned NotFound for a present key";
        tally->gets_right++;
      } else {
        tally->gets_error++;
      }
    }
  }

  // An iterator from a random start in a random direction: what it yields is
  // exactly the model from that start; if it ends early, status() says so.
  void CheckScan(const ReadOptions& ro, Random* rnd, Tally* tally) {
    std::unique_ptr<Iterator> it = db_->NewIterator(ro);
    const bool forward = rnd->OneIn(2);
    const std::string start = Key(static_cast<int>(rnd->Uniform(kKeys)));
    const bool from_edge = rnd->OneIn(3);
    std::vector<std::pair<std::string, std::string>> expect;
    if (forward) {
      for (auto m = from_edge ? model_.begin() : model_.lower_bound(start); m != model_.end();
           ++m) {
        expect.emplace_back(*m);
      }
      from_edge ? it->SeekToFirst() : it->Seek(start);
    } else {
      auto m = from_edge ? model_.end() : model_.upper_bound(start);
      while (m != model_.begin()) {
        --m;
        expect.emplace_back(*m);
      }
      from_edge ? it->SeekToLast() : it->SeekForPrev(start);
    }
    size_t n = 0;
    for (; it->Valid(); forward ? it->Next() : it->Prev()) {
      ASSERT_LT(n, expect.size()) << "scan yielded an entry past the model's last";
      ASSERT_EQ(expect[n].first, it->key()) << "scan skipped or invented a key";
      ASSERT_EQ(expect[n].second, it->value())
          << "scan returned a wrong value for " << expect[n].first;
      n++;
    }
    if (it->status().ok()) {
      ASSERT_EQ(expect.size(), n) << "scan ended early with OK status";
      tally->scans_complete++;
    } else {
      tally->scans_error++;
    }
  }

  // With the faults gone everything reads right, through this DB and after
  // a reopen.
  void CheckAllRight() {
    env_->ClearFaults();
    for (int pass = 0; pass < 2; pass++) {
      SCOPED_TRACE(pass == 0 ? "after the faults stopped" : "after reopen");
      const test::DbContents c = test::ReadContents(db_.get(), KeyList());
      ASSERT_TRUE(c.ok) << c.error;
      EXPECT_EQ(model_, c.by_get) << test::DescribeDifference(model_, c.by_get);
      EXPECT_EQ(model_, c.by_scan) << test::DescribeDifference(model_, c.by_scan);
      EXPECT_TRUE(c.backward_matches);
      if (pass == 0) {
        db_.reset();
        Status s = DB::Open(ReadOptionsFor(env_.get()), kDbName, &db_);
        ASSERT_TRUE(s.ok()) << s.ToString();
      }
    }
  }

  static std::vector<std::string> KeyList() {
    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; i++) keys.push_back(Key(i));
    return keys;
  }

  static void Print(const char* what, const Tally& t) {
    std::printf(
        "%-40s gets right %llu / error %llu; scans complete %llu / error %llu; "
        "compactions ok %llu / error %llu; faults injected %llu\n",
        what, static_cast<unsigned long long>(t.gets_right),
        static_cast<unsigned long long>(t.gets_error),
        static_cast<unsigned long long>(t.scans_complete),
        static_cast<unsigned long long>(t.scans_error),
        static_cast<unsigned long long>(t.compactions_ok),
        static_cast<unsigned long long>(t.compactions_error),
        static_cast<unsigned long long>(t.injected));
  }

  uint64_t FaultsSoFar() const {
    return env_->InjectedCount() + env_->ShortenedReadCount() + env_->CorruptedReadCount();
  }

  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultInjectionEnv> env_;
  std::unique_ptr<DB> db_;
  ModelState model_;
};

TEST_P(ReadFaultTest, GetsAndScansNeverReturnWrongData) {
  ASSERT_NO_FATAL_FAILURE(Build(test::TestSeed(17)));
  Tally tally;
  Random rnd(test::TestSeed(18));
  int trials = 0;
  for (double p : {0.01, 0.05, 0.2, 0.5}) {
    for (uint64_t seed = 1; seed <= 6; seed++) {
      SCOPED_TRACE(std::string(FaultName(GetParam())) + " p=" + std::to_string(p) + " seed " +
                   std::to_string(seed));
      Arm(p, seed);
      ReadOptions ro;
      ro.fill_cache = seed % 2 == 0;
      ASSERT_NO_FATAL_FAILURE(CheckGets(ro, &tally));
      for (int s = 0; s < 10; s++) ASSERT_NO_FATAL_FAILURE(CheckScan(ro, &rnd, &tally));
      trials++;
    }
  }
  tally.injected = FaultsSoFar();
  EXPECT_GT(tally.gets_error, 0u) << "the faults never reached a Get";
  EXPECT_GT(tally.gets_right, 0u);
  EXPECT_GT(tally.scans_error, 0u);
  ASSERT_NO_FATAL_FAILURE(CheckAllRight());
  Print((std::string(FaultName(GetParam())) + " Get/scan, " + std::to_string(trials) + " trials")
            .c_str(),
        tally);
}

// A compaction reading through the faults either fails or writes exactly
// the data (never a damaged block re-checksummed into a new table).
TEST_P(ReadFaultTest, CompactionNeverWritesDamagedData) {
  Tally tally;
  int trials = 0;
  for (double p : {0.02, 0.1, 0.3}) {
    for (uint64_t seed = 1; seed <= 5; seed++) {
      SCOPED_TRACE(std::string(FaultName(GetParam())) + " p=" + std::to_string(p) + " seed " +
                   std::to_string(seed));
      db_.reset();
      model_.clear();
      mem_ = NewMemEnv(Env::Default());
      env_ = std::make_unique<FaultInjectionEnv>(mem_.get());
      ASSERT_NO_FATAL_FAILURE(Build(static_cast<uint32_t>(seed * 101)));
      Arm(p, seed);
      Status s = db_->CompactRange(nullptr, nullptr);
      (s.ok() ? tally.compactions_ok : tally.compactions_error)++;
      tally.injected += FaultsSoFar();
      ASSERT_NO_FATAL_FAILURE(CheckAllRight());
      trials++;
    }
  }
  EXPECT_GT(tally.compactions_error, 0u) << "the faults never reached a compaction";
  Print((std::string(FaultName(GetParam())) + " compaction, " + std::to_string(trials) + " trials")
            .c_str(),
        tally);
}

INSTANTIATE_TEST_SUITE_P(Faults, ReadFaultTest,
                         ::testing::Values(ReadFault::kEIO, ReadFault::kShortRead,
                                           ReadFault::kCorruptBuffer),
                         [](const auto& info) { return FaultName(info.param); });

// WAL replay at Open through failing reads: Open fails, or it recovers
// every acknowledged write — a failed read is not the end of the log.
TEST(ReadFaultWalReplayTest, FailedReadsNeverShortenRecovery) {
  int opened = 0, failed = 0;
  uint64_t n = 1;
  for (;; n++) {
    SCOPED_TRACE("read " + std::to_string(n) + " fails");
    auto mem = NewMemEnv(Env::Default());
    FaultInjectionEnv env(mem.get());
    Options options = ReadOptionsFor(&env);
    options.write_buffer_size = 1 << 20;  // everything stays in the WAL
    ModelState model;
    {
      std::unique_ptr<DB> db;
      ASSERT_TRUE(DB::Open(options, kDbName, &db).ok());
      for (int i = 0; i < 2000; i++) {
        const std::string value = "value" + std::to_string(i) + std::string(40, 'w');
        ASSERT_TRUE(db->Put(WriteOptions(), Key(i % kKeys), value).ok());
        model[Key(i % kKeys)] = value;
      }
      // A crash: nothing more is written (the log's records are all there).
      env.SetFilesystemActive(false);
      db.reset();
      env.SetFilesystemActive(true);
    }
    env.FailNth(FaultOp::kRead, n);
    std::unique_ptr<DB> db;
    Status s = DB::Open(options, kDbName, &db);
    const bool fired = env.InjectedCount() > 0;
    env.ClearFaults();
    if (!fired) break;  // Open made fewer than n reads
    if (!s.ok()) {
      ASSERT_TRUE(fired) << s.ToString();
      failed++;
      s = DB::Open(options, kDbName, &db);
      ASSERT_TRUE(s.ok()) << s.ToString();
    } else if (fired) {
      opened++;  // the failed read was retried or not needed
    }
    const test::DbContents c = test::ReadContents(db.get(), [] {
      std::vector<std::string> keys;
      for (int i = 0; i < kKeys; i++) keys.push_back(Key(i));
      return keys;
    }());
    ASSERT_TRUE(c.ok) << c.error;
    ASSERT_EQ(model, c.by_get) << "recovery lost acknowledged writes: "
                               << test::DescribeDifference(model, c.by_get);
  }
  std::printf(
      "WAL replay with the Nth read failing (N=1..%llu): Open failed %d, "
      "opened with the fault fired %d\n",
      static_cast<unsigned long long>(n - 1), failed, opened);
  EXPECT_GT(failed, 0);
}

// A bit flipped in one read of the WAL during replay looks like damage on
// disk: kAbsoluteConsistency and kTolerateCorruptedTail fail Open with
// Corruption naming the log (and a later clean open recovers everything);
// kPointInTime recovers a prefix of the writes; kSkipAnyCorrupted loses only
// the damaged records. Never a changed value.
TEST(ReadFaultWalReplayTest, CorruptedReadIsTreatedAsDamage) {
  for (WalRecoveryMode mode :
       {WalRecoveryMode::kAbsoluteConsistency, WalRecoveryMode::kTolerateCorruptedTail,
        WalRecoveryMode::kPointInTime, WalRecoveryMode::kSkipAnyCorrupted}) {
    int failed = 0, opened = 0;
    uint64_t lost_total = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
      SCOPED_TRACE("mode " + std::to_string(static_cast<int>(mode)) + " seed " +
                   std::to_string(seed));
      auto mem = NewMemEnv(Env::Default());
      FaultInjectionEnv env(mem.get());
      Options options = ReadOptionsFor(&env);
      options.write_buffer_size = 1 << 20;
      options.wal_recovery_mode = mode;
      std::vector<std::pair<std::string, std::string>> writes;  // one key each
      {
        std::unique_ptr<DB> db;
        ASSERT_TRUE(DB::Open(options, kDbName, &db).ok());
        for (int i = 0; i < 2000; i++) {
          writes.emplace_back("w" + std::to_string(100000 + i), "value" + std::to_string(i));
          ASSERT_TRUE(db->Put(WriteOptions(), writes.back().first, writes.back().second).ok());
        }
        env.SetFilesystemActive(false);
        db.reset();
        env.SetFilesystemActive(true);
      }
      env.SetReadDamageFilter(".log");  // CURRENT and the MANIFEST read intact
      env.CorruptReads(0.5, seed);
      std::unique_ptr<DB> db;
      Status s = DB::Open(options, kDbName, &db);
      if (env.CorruptedReadCount() == 0) {
        env.ClearFaults();
        continue;  // no WAL read was damaged with this seed
      }
      env.ClearFaults();
      if (!s.ok()) {
        EXPECT_TRUE(s.IsCorruption()) << s.ToString();
        EXPECT_NE(std::string::npos, s.ToString().find(".log")) << s.ToString();
        failed++;
        s = DB::Open(options, kDbName, &db);
        ASSERT_TRUE(s.ok()) << s.ToString();
        for (const auto& [key, value] : writes) {
          std::string got;
          ASSERT_TRUE(db->Get(ReadOptions(), key, &got).ok()) << key;
          ASSERT_EQ(value, got);
        }
        continue;
      }
      opened++;
      size_t present = 0, first_missing = writes.size();
      for (size_t i = 0; i < writes.size(); i++) {
        std::string got;
        Status g = db->Get(ReadOptions(), writes[i].first, &got);
        if (g.ok()) {
          ASSERT_EQ(writes[i].second, got) << "a changed value was recovered";
          present++;
        } else {
          ASSERT_TRUE(g.IsNotFound()) << g.ToString();
          first_missing = std::min(first_missing, i);
        }
      }
      if (mode == WalRecoveryMode::kPointInTime) {
        EXPECT_EQ(first_missing, present) << "point-in-time recovery is not a prefix";
      }
      lost_total += writes.size() - present;
    }
    std::printf(
        "WAL replay with corrupted reads, mode %d: Open failed %d, opened %d, "
        "writes lost %llu of %d\n",
        static_cast<int>(mode), failed, opened, static_cast<unsigned long long>(lost_total),
        opened * 2000);
    if (mode == WalRecoveryMode::kAbsoluteConsistency ||
        mode == WalRecoveryMode::kTolerateCorruptedTail) {
      EXPECT_EQ(0, opened) << "damage in the middle of the log must fail Open in this mode";
    }
  }
}

}  // namespace
}  // namespace lsmkv
