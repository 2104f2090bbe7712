// Power loss and injected I/O errors on the DB write path.
//
// The central check (PrefixChecker): after a simulated power loss the
// recovered database equals the model after some prefix of the acknowledged
// operations, and that prefix includes every operation acknowledged as
// synced. Batches are single operations here, so "a prefix" also means no
// batch is ever partially visible.
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "base/filename.h"
#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

constexpr int kKeySpace = 40;

std::string KeyName(int k) { return "key" + std::to_string(k); }

struct Op {
  std::vector<std::pair<int, std::optional<std::string>>> writes;  // nullopt = delete
  bool sync = false;
};

using State = std::map<int, std::string>;

void Apply(const Op& op, State* state) {
  for (const auto& [k, v] : op.writes) {
    if (v) {
      (*state)[k] = *v;
    } else {
      state->erase(k);
    }
  }
}

State ReadAll(DB* db) {
  State state;
  for (int k = 0; k < kKeySpace; k++) {
    std::string v;
    Status s = db->Get(ReadOptions(), KeyName(k), &v);
    if (s.ok()) {
      state[k] = v;
    } else {
      EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    }
  }
  return state;
}

// Returns the length of the longest acknowledged prefix whose state equals
// recovered, or -1 if none does (at or after min_prefix).
int MatchingPrefix(const std::vector<Op>& acked, size_t min_prefix, const State& recovered) {
  State state;
  for (size_t i = 0; i < min_prefix; i++) Apply(acked[i], &state);
  int match = -1;
  for (size_t i = min_prefix;; i++) {
    if (state == recovered) match = static_cast<int>(i);
    if (i == acked.size()) break;
    Apply(acked[i], &state);
  }
  return match;
}

Op RandomOp(Random* rnd, int serial) {
  Op op;
  const int n = 1 + static_cast<int>(rnd->Uniform(3));
  for (int j = 0; j < n; j++) {
    const int k = static_cast<int>(rnd->Uniform(kKeySpace));
    if (rnd->OneIn(4)) {
      op.writes.emplace_back(k, std::nullopt);
    } else {
      op.writes.emplace_back(k, "v" + std::to_string(serial) + "-" + std::to_string(j) +
                                    std::string(rnd->Uniform(300), 'x'));
    }
  }
  op.sync = rnd->OneIn(5);
  return op;
}

Status Execute(DB* db, const Op& op) {
  WriteBatch batch;
  for (const auto& [k, v] : op.writes) {
    if (v) {
      batch.Put(KeyName(k), *v);
    } else {
      batch.Delete(KeyName(k));
    }
  }
  WriteOptions wo;
  wo.sync = op.sync;
  return db->Write(wo, &batch);
}

class PowerLossTest : public ::testing::TestWithParam<bool /*posix*/> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      base_ = Env::Default();
      dbname_ = test::NewTempDir("powerloss");
    } else {
      mem_env_ = NewMemEnv(Env::Default());
      base_ = mem_env_.get();
      dbname_ = "/powerloss";
    }
    env_ = std::make_unique<FaultInjectionEnv>(base_);
  }
  void TearDown() override {
    if (GetParam()) test::RemoveTree(dbname_);
  }

  Options MakeOptions(Random* rnd) {
    Options o;
    o.env = env_.get();
    o.create_if_missing = true;
    // Small buffers: log rotation and flushes happen inside the crash window.
    o.write_buffer_size = rnd->OneIn(2) ? 8 * 1024 : 64 * 1024;
    o.max_write_buffer_number = 2 + static_cast<int>(rnd->Uniform(3));
    return o;
  }

  std::unique_ptr<Env> mem_env_;
  Env* base_ = nullptr;
  std::unique_ptr<FaultInjectionEnv> env_;
  std::string dbname_;
};

TEST_P(PowerLossTest, RecoveredStateIsAPrefixIncludingEverySyncedWrite) {
  const uint32_t seed = test::TestSeed(1234);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  // Thousands of power losses in memory: 8 databases of 250 each (the
  // check after each crash reads the whole history, so one database per 250
  // keeps the run linear); 40 on disk.
  const int kCrashesPerDb = GetParam() ? 40 : 250;
  const int kDatabases = GetParam() ? 1 : 8;
  std::vector<Op> acked;      // every acknowledged op since the database was created
  size_t durable_prefix = 0;  // ops that must survive (through the last synced one)
  int serial = 0;
  int lost_total = 0;
  int crashes = 0;
  for (int crash = 0; crash < kCrashesPerDb * kDatabases; crash++) {
    Options options = MakeOptions(&rnd);
    if (crash > 0 && crash % kCrashesPerDb == 0) {
      // Check the last database once more, then start a fresh one.
      std::unique_ptr<DB> db;
      ASSERT_TRUE(DB::Open(options, dbname_, &db).ok()) << "crash " << crash;
      ASSERT_GE(MatchingPrefix(acked, durable_prefix, ReadAll(db.get())), 0) << "crash " << crash;
      db.reset();
      ASSERT_TRUE(DestroyDB(dbname_, options).ok());
      acked.clear();
      durable_prefix = 0;
    }
    crashes++;
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, dbname_, &db).ok()) << "crash " << crash;

    // Check what survived the previous crash.
    const State recovered = ReadAll(db.get());
    const int prefix = MatchingPrefix(acked, durable_prefix, recovered);
    ASSERT_GE(prefix, 0) << "crash " << crash << ": recovered state is not a prefix of the "
                         << acked.size() << " acknowledged operations containing the first "
                         << durable_prefix << " (every synced write)";
    lost_total += static_cast<int>(acked.size()) - prefix;
    acked.resize(static_cast<size_t>(prefix));  // history continues from what survived
    durable_prefix = acked.size();              // recovered data was flushed and synced by Open

    const int ops = 1 + static_cast<int>(rnd.Uniform(400));
    for (int i = 0; i < ops; i++) {
      Op op = RandomOp(&rnd, serial++);
      ASSERT_TRUE(Execute(db.get(), op).ok());
      acked.push_back(op);
      if (op.sync) durable_prefix = acked.size();
    }
    // Power loss: nothing more reaches the disk, then unsynced data vanishes.
    env_->SetFilesystemActive(false);
    db.reset();
    ASSERT_TRUE(env_->DropUnsyncedData().ok());
    env_->SetFilesystemActive(true);
  }
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(MakeOptions(&rnd), dbname_, &db).ok());
  EXPECT_GE(MatchingPrefix(acked, durable_prefix, ReadAll(db.get())), 0);
  RecordProperty("operations_lost_to_power_loss", lost_total);
  RecordProperty("power_losses", crashes);
  std::printf("%d power losses, %d unsynced operations lost in all\n", crashes, lost_total);
}

// A clean Close leaves everything recoverable even after a power loss.
TEST_P(PowerLossTest, CloseMakesEveryWriteDurable) {
  Random rnd(test::TestSeed(99));
  std::unique_ptr<DB> db;
  Options options = MakeOptions(&rnd);
  ASSERT_TRUE(DB::Open(options, dbname_, &db).ok());
  State model;
  for (int i = 0; i < 2000; i++) {
    Op op = RandomOp(&rnd, i);
    op.sync = false;
    ASSERT_TRUE(Execute(db.get(), op).ok());
    Apply(op, &model);
  }
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(env_->DropUnsyncedData().ok());
  ASSERT_TRUE(DB::Open(options, dbname_, &db).ok());
  EXPECT_EQ(model, ReadAll(db.get()));
  // A second crash right after reopen loses nothing either.
  env_->SetFilesystemActive(false);
  db.reset();
  ASSERT_TRUE(env_->DropUnsyncedData().ok());
  env_->SetFilesystemActive(true);
  ASSERT_TRUE(DB::Open(options, dbname_, &db).ok());
  EXPECT_EQ(model, ReadAll(db.get()));
}

INSTANTIATE_TEST_SUITE_P(Envs, PowerLossTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "PosixEnv" : "MemEnv"; });

// Number of table files in dbname that the open db does not reference
// (must be 0 after Open), and the number it references but lacks.
std::pair<int, int> OrphanAndMissingTables(Env* env, const std::string& dbname, DB* db) {
  // Open starts due compactions at once: their unfinished outputs are not
  // orphans, so count only once background work has settled.
  EXPECT_TRUE(static_cast<DBImpl*>(db)->TEST_WaitForBackgroundWork().ok());
  std::set<uint64_t> live, present;
  EXPECT_TRUE(test::LiveTableNumbers(db, &live));
  EXPECT_TRUE(test::TableNumbersInDir(env, dbname, &present).ok());
  int orphans = 0;
  for (uint64_t n : present) orphans += live.count(n) == 0 ? 1 : 0;
  int missing = 0;
  for (uint64_t n : live) missing += present.count(n) == 0 ? 1 : 0;
  return {orphans, missing};
}

// The disk dies at every step of the write path, flush, compaction and
// MANIFEST update in turn: from the Nth call of one kind of operation on, that operation
// fails; then the power goes. Reopen must recover a prefix of the
// acknowledged writes containing every synced one, resurrect no deleted
// key, and leave no orphan or missing table.
TEST(CrashAtEveryStepTest, FlushAndManifestSteps) {
  const FaultOp kOps[] = {FaultOp::kAppend, FaultOp::kSync,    FaultOp::kClose, FaultOp::kOpen,
                          FaultOp::kRename, FaultOp::kSyncDir, FaultOp::kRemove};
  int crashes = 0;
  for (FaultOp fault_op : kOps) {
    int reached = 0;
    for (uint64_t n = 1; n <= 120; n += (n < 30 ? 1 : 9)) {
      SCOPED_TRACE(std::string(FaultOpName(fault_op)) + " from call " + std::to_string(n));
      auto mem_env = NewMemEnv(Env::Default());
      FaultInjectionEnv env(mem_env.get());
      const std::string dbname = "/steps-" + std::string(FaultOpName(fault_op)) + std::to_string(n);
      Options options;
      options.env = &env;
      options.create_if_missing = true;
      options.write_buffer_size = 4096;       // a flush every ~12 writes
      options.max_manifest_file_size = 1024;  // CURRENT switches during the run
      // Compactions into L1 and deeper happen inside the crash window too.
      options.level0_file_limit = 2;
      options.target_file_size = 4096;
      options.max_bytes_for_level_base = 8192;
      options.level_size_multiplier = 2;
      std::unique_ptr<DB> db;
      ASSERT_TRUE(DB::Open(options, dbname, &db).ok());
      env.ResetCounts();
      env.FailFrom(fault_op, n);
      Random rnd(n * 31 + static_cast<uint64_t>(fault_op));
      std::vector<Op> acked;
      size_t durable_prefix = 0;
      for (int i = 0; i < 300; i++) {
        Op op = RandomOp(&rnd, i);
        if (!Execute(db.get(), op).ok()) break;
        acked.push_back(op);
        if (op.sync) durable_prefix = acked.size();
      }
      if (env.InjectedCount() > 0) reached++;
      env.SetFilesystemActive(false);
      db.reset();
      env.ClearFaults();
      ASSERT_TRUE(env.DropUnsyncedData().ok());
      env.SetFilesystemActive(true);
      crashes++;
      ASSERT_TRUE(DB::Open(options, dbname, &db).ok());
      ASSERT_GE(MatchingPrefix(acked, durable_prefix, ReadAll(db.get())), 0)
          << "recovered state is not a prefix containing every synced write";
      const auto [orphans, missing] = OrphanAndMissingTables(&env, dbname, db.get());
      EXPECT_EQ(0, orphans) << "orphan table files after reopen";
      EXPECT_EQ(0, missing) << "tables referenced but missing";
    }
    EXPECT_GT(reached, 5) << "too few failures of " << FaultOpName(fault_op) << " were reached";
  }
  RecordProperty("crash_points", crashes);
}

// ---------------------------------------------------------------- I/O errors

struct ErrorCase {
  FaultOp op;
  FaultKind kind;
};

class WriteErrorTest : public ::testing::TestWithParam<ErrorCase> {};

// For N = 1, 2, ...: the Nth call of the op fails during a workload of
// synced and unsynced writes with small buffers (so rotation and flush run).
// The failing write (or a later one) reports the error; after an I/O error
// the DB refuses writes but still serves reads, after a no-space error (one
// failed call: space is back) the next write succeeds by itself; a reopen
// recovers every acknowledged write.
TEST_P(WriteErrorTest, ErrorStateThenReopenRecoversAcknowledgedWrites) {
  const ErrorCase c = GetParam();
  auto mem_env = NewMemEnv(Env::Default());
  int sites_failed = 0;
  for (uint64_t n = 1; n <= 60; n += (n < 10 ? 1 : 7)) {
    SCOPED_TRACE("fail call " + std::to_string(n) + " of " + FaultOpName(c.op));
    FaultInjectionEnv env(mem_env.get());
    const std::string dbname = "/errors" + std::to_string(n);
    Options options;
    options.env = &env;
    options.create_if_missing = true;
    options.write_buffer_size = 8 * 1024;
    options.max_manifest_file_size = 2048;  // new MANIFESTs (and CURRENT renames) during the run
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, dbname, &db).ok());
    // Failures of the info log (LOG) are tolerated by design; with flush and
    // compaction on their own threads, which call lands there varies by run.
    std::mutex injected_mu;
    std::string injected_at;
    env.SetInjectionObserver([&](FaultOp, const std::string& what) {
      std::lock_guard<std::mutex> guard(injected_mu);
      injected_at = what;
    });
    env.ResetCounts();
    env.FailNth(c.op, n, c.kind);
    State acked;
    State acked_plus_failed;  // the failed write may or may not have reached the log
    Status failure;
    int i = 0;
    for (; i < 3000 && failure.ok(); i++) {
      Op op;
      op.writes.emplace_back(i % kKeySpace, "value" + std::to_string(i) + std::string(100, 'y'));
      op.sync = (i % 3 == 0);
      Status s = Execute(db.get(), op);
      acked_plus_failed = acked;
      Apply(op, &acked_plus_failed);
      if (s.ok()) {
        acked = acked_plus_failed;
      } else {
        failure = s;
      }
    }
    if (failure.ok()) {
      // The Nth call may land in background work: wait for it, then write once more.
      db->Flush().PermitUncheckedError();
      Op op;
      op.writes.emplace_back(0, "after");
      failure = Execute(db.get(), op);
      acked_plus_failed = acked;
      Apply(op, &acked_plus_failed);
      if (failure.ok()) acked = acked_plus_failed;
    }
    if (env.InjectedCount() == 0) continue;  // the workload never made n calls
    {
      std::lock_guard<std::mutex> guard(injected_mu);
      if (injected_at == InfoLogFileName(dbname)) continue;  // tolerated: see above
    }
    sites_failed++;
    if (failure.ok()) {
      // A lack of space may go without failing any write: a compaction that
      // meets it backs off, and a flush's error state may clear (space is
      // back) before a write sees it. Either is counted.
      ASSERT_EQ(FaultKind::kENOSPC, c.kind) << "an injected error went unreported";
      std::string stats;
      ASSERT_TRUE(db->GetProperty("lsmkv.stats", &stats));
      EXPECT_TRUE(stats.find("compactions out of space: 0\n") == std::string::npos ||
                  stats.find("background error recoveries: 0\n") == std::string::npos)
          << stats;
      env.ClearFaults();
      db.reset();
      ASSERT_TRUE(DB::Open(options, dbname, &db).ok());
      EXPECT_TRUE(ReadAll(db.get()) == acked) << "reopen lost an acknowledged write";
      continue;
    }
    if (c.kind == FaultKind::kENOSPC) {
      EXPECT_TRUE(failure.IsNoSpace()) << failure.ToString();
    } else {
      EXPECT_TRUE(failure.IsIOError()) << failure.ToString();
    }
    Op again;
    again.writes.emplace_back(1, "again");
    std::string state;
    if (c.kind == FaultKind::kENOSPC) {
      // No space is recoverable: the fault was one call, so space is back
      // and the next write resumes by itself, without a reopen.
      EXPECT_TRUE(Execute(db.get(), again).ok());
      Apply(again, &acked);
      Apply(again, &acked_plus_failed);
      ASSERT_TRUE(db->GetProperty("lsmkv.error-state", &state));
      EXPECT_EQ("none", state);
    } else {
      // Error state: later writes fail with the error, reads still work.
      EXPECT_FALSE(Execute(db.get(), again).ok());
      ASSERT_TRUE(db->GetProperty("lsmkv.error-state", &state));
      EXPECT_EQ("fatal", state);
    }
    std::string v;
    Status rs = db->Get(ReadOptions(), KeyName(2), &v);
    EXPECT_TRUE(rs.ok() || rs.IsNotFound()) << rs.ToString();

    env.ClearFaults();
    db.reset();
    ASSERT_TRUE(DB::Open(options, dbname, &db).ok());
    const State recovered = ReadAll(db.get());
    EXPECT_TRUE(recovered == acked || recovered == acked_plus_failed)
        << "reopen lost an acknowledged write or invented one";
  }
  EXPECT_GT(sites_failed, 0) << "no call of " << FaultOpName(c.op) << " was ever made";
}

INSTANTIATE_TEST_SUITE_P(Ops, WriteErrorTest,
                         ::testing::Values(ErrorCase{FaultOp::kAppend, FaultKind::kEIO},
                                           ErrorCase{FaultOp::kAppend, FaultKind::kENOSPC},
                                           ErrorCase{FaultOp::kSync, FaultKind::kEIO},
                                           ErrorCase{FaultOp::kSync, FaultKind::kENOSPC},
                                           ErrorCase{FaultOp::kOpen, FaultKind::kEIO},
                                           ErrorCase{FaultOp::kOpen, FaultKind::kENOSPC},
                                           ErrorCase{FaultOp::kSyncDir, FaultKind::kEIO},
                                           ErrorCase{FaultOp::kRename, FaultKind::kEIO}),
                         [](const auto& info) {
                           return std::string(FaultOpName(info.param.op)) +
                                  (info.param.kind == FaultKind::kEIO ? "_EIO" : "_ENOSPC");
                         });

}  // namespace
}  // namespace lsmkv
