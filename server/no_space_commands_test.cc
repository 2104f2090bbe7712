// A full disk seen through the server: commands over a database on a
// FaultInjectionEnv whose space runs out. Every refused write is an error
// reply that INFO counts (total_error_replies, errorstats, the command's
// failed_calls, the engine's failed writes), INFO shows the engine's error
// state (aof_last_write_status, lsmkv_error_state, lsmkv_background_error),
// reads go on, and writes work again once space is back — without
// reopening anything. Also: ErrorStats keeps its table of codes bounded.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "env/fault_injection_env.h"
#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "server/client_state.h"
#include "server/clock.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/error_stats.h"
#include "server/info.h"
#include "server/keyspace.h"
#include "server/scan_cursors.h"
#include "server/test_client.h"

namespace lsmkv::server {
namespace {

using test::InfoField;

using Args = std::vector<std::string>;

class NoSpaceCommandsTest : public ::testing::Test {
 protected:
  NoSpaceCommandsTest() : mem_env_(NewMemEnv(Env::Default())), fault_env_(mem_env_.get()) {}

  void SetUp() override {
    Options options;
    options.env = &fault_env_;
    options.create_if_missing = true;
    options.wal_recovery_mode = WalRecoveryMode::kPointInTime;  // WATCH uses transactions
    options.write_buffer_size = 16 * 1024;
    options.target_file_size = 16 * 1024;
    ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
    keyspace_ = std::make_unique<Keyspace>(db_.get(), &clock_);
    context_.config = &config_;
    context_.keyspace = keyspace_.get();
    context_.commands = &commands_;
    context_.clients = &clients_;
    context_.cursors = &cursors_;
    context_.stats = &stats_;
    context_.request_shutdown = [] {};
    client_.id = clients_.NextId();
    client_.authenticated = true;
  }

  void TearDown() override {
    keyspace_.reset();
    if (db_) {
      EXPECT_TRUE(db_->Close().ok());
    }
    db_.reset();
  }

  std::string Run(Args args, PipelineBatch* batch = nullptr) {
    std::string out;
    Reply reply(&out, 2);
    reply.set_error_stats(&stats_.errors);
    ExecuteCommand(context_, client_, args, reply, batch);
    if (batch != nullptr) batch->Finish(reply);
    return out;
  }

  std::string Info() { return BuildInfo(context_, {"everything"}); }

  ManualClock clock_{1700000000000 * 1000};
  std::unique_ptr<Env> mem_env_;
  FaultInjectionEnv fault_env_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<Keyspace> keyspace_;
  Config config_;
  CommandTable commands_;
  ClientRegistry clients_;
  ScanCursors cursors_;
  ServerStats stats_;
  ServerContext context_;
  ClientState client_;
};

TEST_F(NoSpaceCommandsTest, FullDiskIsCountedReportedAndRecovers) {
  const std::string value(1000, 'v');
  ASSERT_EQ("+OK\r\n", Run({"SET", "before", "kept"}));
  std::string info = Info();
  EXPECT_EQ("ok", InfoField(info, "aof_last_write_status"));
  EXPECT_EQ("none", InfoField(info, "lsmkv_error_state"));
  EXPECT_EQ("none", InfoField(info, "lsmkv_background_error"));
  EXPECT_EQ("0", InfoField(info, "total_error_replies"));

  fault_env_.SetSpaceLimit(20 * 1024);
  std::string reply;
  int i = 0;
  for (; i < 1000; i++) {
    reply = Run({"SET", "key" + std::to_string(i), value});
    if (reply != "+OK\r\n") break;
  }
  ASSERT_LT(i, 1000) << "20 KiB of space never ran out";
  EXPECT_EQ(0u, reply.rfind("-ERR ", 0)) << reply;
  EXPECT_NE(std::string::npos, reply.find("space")) << reply;

  // A refused write in a pipeline batch: the batch's commit fails, and the
  // command's reply is replaced by the error.
  PipelineBatch batch(keyspace_.get());
  reply = Run({"SET", "batched", value}, &batch);
  EXPECT_EQ(0u, reply.rfind("-ERR ", 0)) << reply;

  // Reads go on.
  EXPECT_EQ("$4\r\nkept\r\n", Run({"GET", "before"}));

  info = Info();
  EXPECT_EQ("err", InfoField(info, "aof_last_write_status"));
  EXPECT_EQ("recoverable", InfoField(info, "lsmkv_error_state"));
  EXPECT_NE(std::string::npos, InfoField(info, "lsmkv_background_error").find("space"))
      << InfoField(info, "lsmkv_background_error");
  EXPECT_EQ("2", InfoField(info, "total_error_replies"));
  EXPECT_EQ("count=2", InfoField(info, "errorstat_ERR"));
  EXPECT_NE(std::string::npos, InfoField(info, "cmdstat_set").find("failed_calls=2"))
      << InfoField(info, "cmdstat_set");
  EXPECT_NE("<absent>", InfoField(info, "lsmkv_failed_writes"));
  EXPECT_GE(std::stoull(InfoField(info, "lsmkv_failed_writes")), 2u);

  // Space is back: the engine resumes (DB::Resume is what its recovery
  // thread calls; calling it here keeps the test deterministic) and writes
  // go through again, with no reopen.
  fault_env_.ClearSpaceLimit();
  ASSERT_TRUE(db_->Resume().ok());
  EXPECT_EQ("+OK\r\n", Run({"SET", "after", "yes"}));
  EXPECT_EQ("$3\r\nyes\r\n", Run({"GET", "after"}));
  EXPECT_EQ("$4\r\nkept\r\n", Run({"GET", "before"}));
  info = Info();
  EXPECT_EQ("ok", InfoField(info, "aof_last_write_status"));
  EXPECT_EQ("none", InfoField(info, "lsmkv_error_state"));

  // CONFIG RESETSTAT zeroes the error counts.
  EXPECT_EQ("+OK\r\n", Run({"CONFIG", "RESETSTAT"}));
  info = Info();
  EXPECT_EQ("0", InfoField(info, "total_error_replies"));
  EXPECT_EQ("<absent>", InfoField(info, "errorstat_ERR"));
}

TEST_F(NoSpaceCommandsTest, ErrorRepliesAreCountedByCode) {
  Run({"NOSUCHCOMMAND"});
  Run({"GET"});
  Run({"SET", "s", "x"});
  Run({"INCR", "s"});
  const std::string info = Info();
  EXPECT_EQ("count=3", InfoField(info, "errorstat_ERR"));  // unknown, arity, not an integer
  EXPECT_EQ("3", InfoField(info, "total_error_replies"));
  EXPECT_NE(std::string::npos, InfoField(info, "cmdstat_get").find("rejected_calls=1"));
  EXPECT_NE(std::string::npos, InfoField(info, "cmdstat_incr").find("failed_calls=1"));
}

TEST(ErrorStatsTest, CodesAreBoundedAndAddUp) {
  ErrorStats stats;
  for (int i = 0; i < 1000; i++) stats.Record("CODE" + std::to_string(i) + " message");
  stats.Record("ERR one");
  stats.Record("ERR two");
  stats.Record(std::string(100, 'X'));
  const auto by_code = stats.ByCode();
  EXPECT_LE(by_code.size(), ErrorStats::kMaxCodes + 1);
  uint64_t sum = 0;
  for (const auto& [code, count] : by_code) {
    EXPECT_LE(code.size(), ErrorStats::kMaxCodeLength);
    sum += count;
  }
  EXPECT_EQ(1003u, stats.total());
  EXPECT_EQ(stats.total(), sum);
  EXPECT_EQ("OTHER", by_code.back().first);
  EXPECT_EQ(1003u - ErrorStats::kMaxCodes, by_code.back().second);
  EXPECT_EQ("CODE0", ErrorStats::CodeOf("CODE0 message"));
  stats.Reset();
  EXPECT_EQ(0u, stats.total());
  EXPECT_TRUE(stats.ByCode().empty());
  stats.Record("CODE5 again");  // a known code keeps its slot after Reset
  ASSERT_EQ(1u, stats.ByCode().size());
  EXPECT_EQ("CODE5", stats.ByCode()[0].first);
}

}  // namespace
}  // namespace lsmkv::server
