// KillPointEnv: classification of files and steps, arming, and a real
// SIGKILL at a point (death test). The kill loop over the stress workload
// is scripts/crashtest.sh --kill-points (ctest crashtest_killpoints).
#include "env/kill_point_env.h"

#include <signal.h>

#include <set>

#include "gtest/gtest.h"
#include "lsmkv/db.h"

namespace lsmkv {
namespace {

TEST(KillPointEnvTest, ClassifiesFilesByName) {
  EXPECT_EQ(DbFileKind::kWal, ClassifyDbFile("/db/000012.log"));
  EXPECT_EQ(DbFileKind::kTable, ClassifyDbFile("/db/000012.sst"));
  EXPECT_EQ(DbFileKind::kManifest, ClassifyDbFile("/db/MANIFEST-000005"));
  EXPECT_EQ(DbFileKind::kCurrent, ClassifyDbFile("/db/CURRENT"));
  EXPECT_EQ(DbFileKind::kCurrentTemp, ClassifyDbFile("/db/000005.dbtmp"));
  EXPECT_EQ(DbFileKind::kInfoLog, ClassifyDbFile("/db/LOG"));
  EXPECT_EQ(DbFileKind::kInfoLog, ClassifyDbFile("/db/LOG.old"));
  EXPECT_EQ(DbFileKind::kLock, ClassifyDbFile("/db/LOCK"));
  EXPECT_EQ(DbFileKind::kWal, ClassifyDbFile("000001.log"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/000012.log.bak"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/"));
  EXPECT_STREQ("current.tmp", DbFileKindName(DbFileKind::kCurrentTemp));
  for (const std::string& p : KillPointEnv::AllPoints()) EXPECT_TRUE(KillPointEnv::IsPoint(p));
  EXPECT_FALSE(KillPointEnv::IsPoint("infolog.append"));
  EXPECT_FALSE(KillPointEnv::IsPoint("wal"));
}

// Small buffers, compaction at two L0 files and a tiny MANIFEST limit: a few
// hundred writes, a Flush, a CompactRange, Close and a reopen reach every step.
Options SmallOptions(Env* env) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.write_buffer_size = 16 * 1024;
  o.level0_file_limit = 2;
  o.target_file_size = 4096;
  o.max_bytes_for_level_base = 8192;
  o.max_manifest_file_size = 1024;
  return o;
}

void Workload(Env* env, const std::string& dbname) {
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(SmallOptions(env), dbname, &db).ok());
  WriteOptions sync;
  sync.sync = true;
  for (int i = 0; i < 400; i++) {
    const std::string key = "key" + std::to_string(i % 97);
    ASSERT_TRUE(db->Put(i % 10 == 0 ? sync : WriteOptions(), key, std::string(100, 'v')).ok());
    if (i % 7 == 0) {
      ASSERT_TRUE(db->Delete(WriteOptions(), key).ok());
    }
  }
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(DB::Open(SmallOptions(env), dbname, &db).ok());
  std::string value;
  ASSERT_TRUE(db->Get(ReadOptions(), "key1", &value).ok());
  ASSERT_TRUE(db->Close().ok());
}

TEST(KillPointEnvTest, EngineWorkloadHitsEveryPoint) {
  auto mem = NewMemEnv(Env::Default());
  KillPointEnv env(mem.get());
  Workload(&env, "/db");
  const auto hits = env.HitCounts();
  std::set<std::string> missed;
  for (const std::string& p : KillPointEnv::AllPoints()) {
    if (hits.count(p) == 0) missed.insert(p);
  }
  EXPECT_TRUE(missed.empty()) << "points never hit: " << ::testing::PrintToString(missed);
  for (const auto& [point, n] : hits) EXPECT_TRUE(KillPointEnv::IsPoint(point)) << point;
  std::printf("kill points hit by the workload: %s\n", env.HitSummary().c_str());
}

// The kill function runs exactly once, at the nth hit, before or after the step.
TEST(KillPointEnvTest, KillAtNthHitBeforeOrAfter) {
  for (KillPointEnv::Timing timing :
       {KillPointEnv::Timing::kBefore, KillPointEnv::Timing::kAfter}) {
    auto mem = NewMemEnv(Env::Default());
    KillPointEnv env(mem.get());
    std::vector<std::string> kills;
    bool file_existed_at_kill = false;
    env.SetKillFunction([&](const std::string& point, uint64_t hit, KillPointEnv::Timing t) {
      kills.push_back(point + "#" + std::to_string(hit));
      EXPECT_EQ(timing, t);
      file_existed_at_kill = mem->FileExists("/d/000003.log");
    });
    ASSERT_TRUE(env.CreateDir("/d").ok());
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env.NewWritableFile("/d/000001.log", &f).ok());  // wal.create hit 1
    env.KillAt("wal.create", 2, timing);                         // counted from now
    ASSERT_TRUE(env.NewWritableFile("/d/000002.log", &f).ok());
    EXPECT_TRUE(kills.empty());
    ASSERT_TRUE(env.NewWritableFile("/d/000003.log", &f).ok());
    ASSERT_EQ(1u, kills.size());
    EXPECT_EQ("wal.create#3", kills[0]);
    EXPECT_EQ(timing == KillPointEnv::Timing::kAfter, file_existed_at_kill);
    ASSERT_TRUE(env.NewWritableFile("/d/000004.log", &f).ok());
    EXPECT_EQ(1u, kills.size()) << "a KillAt fires once";
    // Steps of other kinds are not this point; the info log is no point at all.
    ASSERT_TRUE(env.NewWritableFile("/d/000005.sst", &f).ok());
    ASSERT_TRUE(f->Append("x").ok());
    ASSERT_TRUE(env.NewAppendableFile("/d/LOG", &f).ok());
    ASSERT_TRUE(f->Append("x").ok());
    const auto hits = env.HitCounts();
    EXPECT_EQ(4u, hits.at("wal.create"));
    EXPECT_EQ(1u, hits.at("table.create"));
    EXPECT_EQ(1u, hits.at("table.append"));
    EXPECT_EQ(1u, hits.at("dir.create"));
    EXPECT_EQ(4u, hits.size());
  }
}

TEST(KillPointEnvTest, RandomOddsKillAboutOneInN) {
  auto mem = NewMemEnv(Env::Default());
  KillPointEnv env(mem.get());
  int kills = 0;
  env.SetKillFunction([&](const std::string&, uint64_t, KillPointEnv::Timing) { kills++; });
  ASSERT_TRUE(env.CreateDir("/x").ok());
  env.KillRandomly(10, 7, "dir.sync");
  for (int i = 0; i < 2000; i++) ASSERT_TRUE(env.SyncDir("/x").ok());
  EXPECT_GT(kills, 120);
  EXPECT_LT(kills, 300);
  // Not the chosen point: never kills.
  const int before = kills;
  for (int i = 0; i < 200; i++) ASSERT_TRUE(env.CreateDir("/x").ok());
  EXPECT_EQ(before, kills);
  env.Disarm();
  for (int i = 0; i < 200; i++) ASSERT_TRUE(env.SyncDir("/x").ok());
  EXPECT_EQ(before, kills);
}

// The default kill is a real SIGKILL, here after the first WAL sync of a
// synced Put (in a child process run by the death test).
TEST(KillPointEnvDeathTest, KillsTheProcessWithSigkill) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto mem = NewMemEnv(Env::Default());
        KillPointEnv env(mem.get());
        env.KillAt("wal.sync", 1, KillPointEnv::Timing::kAfter);
        std::unique_ptr<DB> db;
        if (!DB::Open(SmallOptions(&env), "/db", &db).ok()) std::exit(1);
        WriteOptions sync;
        sync.sync = true;
        db->Put(sync, "k", "v").PermitUncheckedError();
        std::exit(2);  // not reached
      },
      ::testing::KilledBySignal(SIGKILL), "kill point wal.sync \\(after hit 1\\)");
}

}  // namespace
}  // namespace lsmkv
