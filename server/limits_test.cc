// Limits that must agree with something outside the setting itself: the
// engine's value limit (proto-max-bulk-len), the open-file limit
// (maxclients), and the memory a large read leaves behind.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/fd_limits.h"
#include "server/keyspace.h"

namespace lsmkv::server {
namespace {

TEST(FdLimitsTest, RaisesTheSoftLimitWhenAllowed) {
  const FdPlan plan = PlanFdLimit(/*soft=*/1024, /*hard=*/1 << 20, /*reserved=*/200, 10000);
  EXPECT_EQ(10200u, plan.soft_limit);
  EXPECT_EQ(10000, plan.maxclients);
}

TEST(FdLimitsTest, LowersMaxclientsToWhatTheHardLimitAllows) {
  const FdPlan plan = PlanFdLimit(1024, 4096, 200, 10000);
  EXPECT_EQ(4096u, plan.soft_limit);
  EXPECT_EQ(4096 - 200, plan.maxclients);
}

TEST(FdLimitsTest, KeepsAHigherSoftLimitAndReportsNoRoom) {
  EXPECT_EQ(1u << 20, PlanFdLimit(1 << 20, 1 << 20, 200, 10).soft_limit);
  EXPECT_EQ(10, PlanFdLimit(1 << 20, 1 << 20, 200, 10).maxclients);
  EXPECT_LT(PlanFdLimit(100, 100, 200, 10).maxclients, 1);
  EXPECT_EQ(10, PlanFdLimit(100, UINT64_MAX, 200, 10).maxclients);  // unlimited hard
}

TEST(FdLimitsTest, FitMaxClientsInThisProcess) {
  std::string explanation;
  const int64_t fit = FitMaxClients(10, 16, &explanation);
  EXPECT_EQ(10, fit) << explanation;  // any test machine has room for 10
}

TEST(ConfigBoundsTest, UpperBoundRefusesLargerValues) {
  Config config;
  const SettingInfo& info = *Config::Find("proto-max-bulk-len");
  EXPECT_EQ("", config.Set(info, "1gb"));
  EXPECT_FALSE(config.SetUpperBound(Setting::kProtoMaxBulkLen, 512 << 20));  // 1gb is above
  EXPECT_EQ("argument must be between 1048576 and 536870912 inclusive", config.Set(info, "600mb"));
  EXPECT_EQ("", config.Set(info, "512mb"));
  EXPECT_EQ("", config.Set(info, "1mb"));
  // The table's own maximum: what the engine can take at all.
  Config fresh;
  EXPECT_NE("", fresh.Set(info, "3gb"));
}

// A GET of a large value must not leave its buffer with the I/O thread.
TEST(KeyspaceMemoryTest, LargeReadBufferIsReleased) {
  std::unique_ptr<Env> env = NewMemEnv(Env::Default());
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  options.wal_recovery_mode = WalRecoveryMode::kPointInTime;  // WATCH uses transactions
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, "/db", &db).ok());
  ManualClock clock(1700000000000 * 1000);
  Keyspace keyspace(db.get(), &clock);
  {
    Txn txn(&keyspace, clock.NowMs());
    txn.Put("big", ValueType::kString, 0, std::string(8 << 20, 'x'));
    txn.Put("small", ValueType::kString, 0, "s");
    ASSERT_TRUE(txn.Commit().ok());
  }
  Entry out;
  bool found = false;
  ASSERT_TRUE(keyspace.Read(0, "big", clock.NowMs(), &out, &found).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(size_t{8} << 20, out.payload.size());
  EXPECT_LE(Keyspace::TEST_ReadBufferCapacity(), size_t{1} << 20);
  ASSERT_TRUE(keyspace.Read(0, "small", clock.NowMs(), &out, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ("s", out.payload);
  EXPECT_TRUE(db->Close().ok());
}

}  // namespace
}  // namespace lsmkv::server
