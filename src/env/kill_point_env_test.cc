// KillPointEnv: classification of files and steps, arming, and a real
// SIGKILL at a point (death test). The kill loop over the stress workload
// is scripts/crashtest.sh --kill-points (ctest crashtest_killpoints).
#include "env/kill_point_env.h"

#include <signal.h>

#include <algorithm>
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

TEST(KillPointEnvTest, ClassifiesBTreeFiles) {
  EXPECT_EQ(DbFileKind::kBTree, ClassifyDbFile("/db/BTREE"));
  EXPECT_EQ(DbFileKind::kBTree, ClassifyDbFile("BTREE"));
  EXPECT_EQ(DbFileKind::kBTreeWal, ClassifyDbFile("/db/BTREE-000007.log"));
  EXPECT_EQ(DbFileKind::kBTreeWal, ClassifyDbFile("/db/BTREE-1234567.log"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/BTREE-.log"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/BTREE-00a007.log"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/BTREE-000007.log.tmp"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/BTREE.log"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/BTREE2"));
  EXPECT_EQ(DbFileKind::kOther, ClassifyDbFile("/db/btree"));
  EXPECT_EQ(DbFileKind::kWal, ClassifyDbFile("/BTREE/000007.log")) << "the last component decides";
  EXPECT_STREQ("btree", DbFileKindName(DbFileKind::kBTree));
  EXPECT_STREQ("btree.wal", DbFileKindName(DbFileKind::kBTreeWal));
  for (const std::string& p : KillPointEnv::BTreePoints()) {
    EXPECT_TRUE(KillPointEnv::IsPoint(p)) << p;
    EXPECT_EQ(0, std::count(KillPointEnv::AllPoints().begin(), KillPointEnv::AllPoints().end(), p))
        << p << " is no LSM point";
  }
  EXPECT_FALSE(KillPointEnv::IsPoint("btree.append"));
  EXPECT_FALSE(KillPointEnv::IsPoint("btree.wal.write"));
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

// A B+tree workload (a checkpoint every 4 KiB of log, so pages are
// written, synced and old logs removed) reaches every B+tree point and no
// LSM file point.
TEST(KillPointEnvTest, BTreeWorkloadHitsEveryBTreePoint) {
  auto mem = NewMemEnv(Env::Default());
  KillPointEnv env(mem.get());
  Options o;
  o.env = &env;
  o.create_if_missing = true;
  o.engine = StorageEngine::kBTree;
  o.btree_checkpoint_bytes = 4096;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, "/db", &db).ok());
  WriteOptions sync;
  sync.sync = true;
  for (int i = 0; i < 300; i++) {
    ASSERT_TRUE(db->Put(i % 10 == 0 ? sync : WriteOptions(), "key" + std::to_string(i % 97),
                        std::string(100, 'v'))
                    .ok());
  }
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(DB::Open(o, "/db", &db).ok());
  std::string value;
  ASSERT_TRUE(db->Get(ReadOptions(), "key1", &value).ok());
  ASSERT_TRUE(db->Close().ok());
  const auto hits = env.HitCounts();
  std::set<std::string> missed;
  for (const std::string& p : KillPointEnv::BTreePoints()) {
    if (hits.count(p) == 0) missed.insert(p);
  }
  EXPECT_TRUE(missed.empty()) << "points never hit: " << ::testing::PrintToString(missed);
  for (const auto& [point, n] : hits) {
    EXPECT_TRUE(point.starts_with("btree.") || point.starts_with("dir.")) << point;
  }
  const std::string summary = env.HitSummary();
  EXPECT_NE(std::string::npos, summary.find(" btree.wal.remove=")) << summary;
  std::printf("kill points hit by the B+tree workload: %s\n", summary.c_str());
}

// RandomRWFile steps: a kill before a write finds the target without the
// bytes, after it with them; sync and close are steps too; other names
// (here an LSM table name) are no RandomRWFile point.
TEST(KillPointEnvTest, RandomRWFileKillBeforeOrAfterWriteAndSync) {
  for (KillPointEnv::Timing timing :
       {KillPointEnv::Timing::kBefore, KillPointEnv::Timing::kAfter}) {
    auto mem = NewMemEnv(Env::Default());
    KillPointEnv env(mem.get());
    std::vector<std::string> kills;
    std::string content_at_kill;
    env.SetKillFunction([&](const std::string& point, uint64_t hit, KillPointEnv::Timing t) {
      kills.push_back(point + "#" + std::to_string(hit));
      EXPECT_EQ(timing, t);
      EXPECT_TRUE(ReadFileToString(mem.get(), "/d/BTREE", &content_at_kill).ok());
    });
    ASSERT_TRUE(mem->CreateDir("/d").ok());
    std::unique_ptr<RandomRWFile> f;
    ASSERT_TRUE(env.NewRandomRWFile("/d/BTREE", &f).ok());
    ASSERT_TRUE(f->Write(0, "page0").ok());
    env.KillAt("btree.write", 2, timing);
    ASSERT_TRUE(f->Write(5, "page1").ok());
    EXPECT_TRUE(kills.empty());
    ASSERT_TRUE(f->Write(10, "page2").ok());
    ASSERT_EQ(1u, kills.size());
    EXPECT_EQ("btree.write#3", kills[0]);
    EXPECT_EQ(timing == KillPointEnv::Timing::kAfter ? "page0page1page2" : "page0page1",
              content_at_kill);
    char scratch[16];
    std::string_view r;
    ASSERT_TRUE(f->Read(0, 16, &r, scratch).ok());
    EXPECT_EQ("page0page1page2", r) << "reads pass through";
    env.KillAt("btree.sync", 1, timing);
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_EQ(2u, kills.size());
    EXPECT_EQ("btree.sync#1", kills[1]);
    ASSERT_TRUE(f->Close().ok());
    // Opened again: btree.create once more. Any file is classified by its
    // name: a table name gives table.create and table.sync, but there is
    // no table.write point.
    ASSERT_TRUE(env.NewRandomRWFile("/d/BTREE", &f).ok());
    std::unique_ptr<RandomRWFile> g;
    ASSERT_TRUE(env.NewRandomRWFile("/d/000005.sst", &g).ok());
    ASSERT_TRUE(g->Write(0, "x").ok());
    ASSERT_TRUE(g->Sync().ok());
    const auto hits = env.HitCounts();
    EXPECT_EQ(2u, hits.at("btree.create"));
    EXPECT_EQ(3u, hits.at("btree.write"));
    EXPECT_EQ(1u, hits.at("btree.sync"));
    EXPECT_EQ(1u, hits.at("btree.close"));
    EXPECT_EQ(1u, hits.at("table.create"));
    EXPECT_EQ(1u, hits.at("table.sync"));
    EXPECT_EQ(6u, hits.size());
  }
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
