// Disk full: appends or syncs fail with ENOSPC from the Nth call on (the disk
// fills up) while a flush, a compaction or a stream of writes with
// background flushes runs; then the failures stop (space was freed).
//
// Every trial:
//   - the failure is reported as NoSpace by the call that meets it, or by a
//     later write (background work puts the DB in its error state), and
//     writes keep failing cleanly afterwards (never OK while the disk is
//     full and the DB is in its error state);
//   - reads keep working and return exactly the acknowledged data;
//   - after the space is freed, reopen succeeds, every acknowledged write is
//     there (the one write that failed may or may not be), the version
//     invariants hold, no table file is left over, and the database takes
//     writes, a flush and a compaction again.
#include <set>
#include <sstream>

#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "db/model_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"

namespace lsmkv {
namespace {

using test::ModelOp;
using test::ModelOpGenerator;
using test::ModelState;

constexpr char kDbName[] = "/diskfull";
constexpr int kKeys = 80;

enum class Phase { kFlush, kCompaction, kWrites };

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kFlush:
      return "Flush";
    case Phase::kCompaction:
      return "Compaction";
    case Phase::kWrites:
      return "Writes";
  }
  return "?";
}

Options DiskFullOptions(Env* env) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.write_buffer_size = 16 * 1024;
  o.max_write_buffer_number = 3;
  o.block_size = 512;
  o.level0_file_limit = 6;  // no compaction until the test asks for one
  o.level0_slowdown_writes_trigger = 20;
  o.level0_stop_writes_trigger = 30;
  o.target_file_size = 8 * 1024;
  o.max_manifest_file_size = 4 * 1024;
  return o;
}

struct Figures {
  int trials = 0;
  int reached = 0;  // trials in which the disk filled up before the phase ended
  int reopened = 0;
};

class DiskFullTest : public ::testing::TestWithParam<std::tuple<Phase, FaultOp>> {
 protected:
  Phase phase() const { return std::get<0>(GetParam()); }
  FaultOp op() const { return std::get<1>(GetParam()); }

  ModelState Acked() const {
    ModelState state;
    for (const ModelOp& op : acked_) test::ApplyOp(op, &state);
    return state;
  }

  // Writes count operations; returns the first error. The first operation
  // that ever fails is kept in failed_: its effects may or may not show (a
  // write whose WAL sync failed is in the memtable and the log); once the DB
  // is in its error state later writes are refused before reaching either.
  Status Writes(int count) {
    for (int i = 0; i < count; i++) {
      ModelOp op = gen_->Next();
      Status s = test::ExecuteOp(db_.get(), op);
      if (!s.ok()) {
        if (!failed_) failed_ = std::move(op);
        return s;
      }
      acked_.push_back(std::move(op));
    }
    return Status::OK();
  }

  ModelState AckedAndFailed() const {
    ModelState state = Acked();
    if (failed_) test::ApplyOp(*failed_, &state);
    return state;
  }

  // Reads show the acknowledged writes, plus possibly the failed one.
  void ExpectContents(const char* when) {
    const test::DbContents c = test::ReadContents(db_.get(), gen_->AllKeys());
    ASSERT_TRUE(c.ok) << when << ": " << c.error;
    const ModelState acked = Acked();
    EXPECT_TRUE(c.by_get == acked || c.by_get == AckedAndFailed())
        << when << ":" << test::DescribeDifference(acked, c.by_get);
    EXPECT_EQ(c.by_get, c.by_scan) << when << ": Gets and scan disagree";
  }

  // One trial with the disk full from the nth call of op() on. Returns
  // whether the disk filled up before the phase ended.
  bool Trial(uint64_t n, Figures* figures) {
    auto mem = NewMemEnv(Env::Default());
    FaultInjectionEnv env(mem.get());
    gen_ = std::make_unique<ModelOpGenerator>(n + 1000 * static_cast<int>(phase()), kKeys, 10);
    acked_.clear();
    failed_.reset();
    const Options options = DiskFullOptions(&env);
    EXPECT_TRUE(DB::Open(options, kDbName, &db_).ok());
    // Data in L0 tables (several, for a compaction: more data, so that it
    // writes several output tables) and in the memtable.
    for (int t = 0; t < 4; t++) {
      EXPECT_TRUE(Writes(phase() == Phase::kCompaction ? 250 : 60).ok());
      if (phase() != Phase::kFlush || t < 3) {
        EXPECT_TRUE(db_->Flush().ok());
      }
    }
    if (::testing::Test::HasFailure()) return false;

    env.FailFrom(op(), n, FaultKind::kENOSPC);
    Status first;
    switch (phase()) {
      case Phase::kFlush:
        first = db_->Flush();
        break;
      case Phase::kCompaction:
        first = db_->CompactRange(nullptr, nullptr);
        break;
      case Phase::kWrites:
        first = Writes(400);
        break;
    }
    const bool full = env.InjectedCount() > 0;
    figures->trials++;
    if (full) {
      figures->reached++;
      // Whatever the phase reported, a write now meets the full disk.
      if (first.ok()) first = Writes(1);
      EXPECT_TRUE(first.IsNoSpace()) << "disk full reported as " << first.ToString();
      const Status again = Writes(3);
      if (again.ok()) {
        // Allowed only when nothing but a compaction met the full disk: it
        // backs off and the DB stays writable for writes that fit (here the
        // disk fails syncs only, so unsynced writes fit; design.md, "Full
        // disk"). A failed flush or write puts the DB in its error state.
        std::string state;
        EXPECT_TRUE(db_->GetProperty("lsmkv.error-state", &state));
        EXPECT_EQ("none", state) << "a write succeeded while the DB is in its error state";
        EXPECT_EQ(Phase::kCompaction, phase())
            << "a write succeeded after the full disk stopped a flush or a write";
      }
      // Reads still work and show exactly what was acknowledged.
      ExpectContents("reads with the disk full");
    } else {
      EXPECT_TRUE(first.ok()) << first.ToString();
    }

    // Space freed; the database is reopened.
    env.ClearFaults();
    db_.reset();
    Status s = DB::Open(options, kDbName, &db_);
    EXPECT_TRUE(s.ok()) << "reopen after the space was freed: " << s.ToString();
    if (!s.ok()) return full;
    figures->reopened++;
    CheckNoLeftoverTables(&env);  // first: nothing else holds an old version
    EXPECT_TRUE(static_cast<DBImpl*>(db_.get())->TEST_CheckInvariants().ok());
    const test::DbContents c = test::ReadContents(db_.get(), gen_->AllKeys());
    EXPECT_TRUE(c.ok) << c.error;
    const ModelState with_failed = AckedAndFailed();
    EXPECT_TRUE(c.by_get == Acked() || c.by_get == with_failed)
        << "an acknowledged write was lost:" << test::DescribeDifference(Acked(), c.by_get);
    EXPECT_EQ(c.by_get, c.by_scan);
    if (c.by_get == with_failed && failed_) acked_.push_back(*failed_);
    failed_.reset();
    // And it works again.
    EXPECT_TRUE(Writes(50).ok());
    EXPECT_TRUE(db_->Flush().ok());
    EXPECT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
    ExpectContents("after the space was freed and the DB reopened");
    EXPECT_TRUE(db_->Close().ok());
    db_.reset();
    return full;
  }

  void CheckNoLeftoverTables(Env* env) {
    // Open may have started a compaction: its output is not live yet.
    Status bg = static_cast<DBImpl*>(db_.get())->TEST_WaitForBackgroundWork();
    ASSERT_TRUE(bg.ok()) << bg.ToString();
    std::set<uint64_t> live, present;
    ASSERT_TRUE(test::LiveTableNumbers(db_.get(), &live));
    ASSERT_TRUE(test::TableNumbersInDir(env, kDbName, &present).ok());
    EXPECT_EQ(live, present) << "table files left over after the disk-full episode";
  }

  std::unique_ptr<ModelOpGenerator> gen_;
  std::unique_ptr<DB> db_;
  std::vector<ModelOp> acked_;
  std::optional<ModelOp> failed_;
};

// The disk fills up at call N = 1, 2, ... of the op, until the phase
// completes before N calls.
TEST_P(DiskFullTest, FailsCleanlyAndReopensAfterSpaceIsFreed) {
  Figures figures;
  uint64_t n = 1;
  for (; n <= 2000; n++) {
    SCOPED_TRACE(std::string(PhaseName(phase())) + ", ENOSPC from " + FaultOpName(op()) + " call " +
                 std::to_string(n));
    const bool full = Trial(n, &figures);
    if (::testing::Test::HasFailure()) return;
    if (!full) break;
  }
  EXPECT_GT(figures.reached, 0);
  EXPECT_EQ(figures.trials, figures.reopened);
  std::printf(
      "disk full during %-10s from %-6s call N=1..%llu: %d trials, disk full reached in "
      "%d, reopened after freeing space in %d\n",
      PhaseName(phase()), FaultOpName(op()), static_cast<unsigned long long>(n), figures.trials,
      figures.reached, figures.reopened);
}

INSTANTIATE_TEST_SUITE_P(Phases, DiskFullTest,
                         ::testing::Combine(::testing::Values(Phase::kFlush, Phase::kCompaction,
                                                              Phase::kWrites),
                                            ::testing::Values(FaultOp::kAppend, FaultOp::kSync)),
                         [](const auto& info) {
                           return std::string(PhaseName(std::get<0>(info.param))) + "_" +
                                  FaultOpName(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace lsmkv
