// I/O-error sweep in the manner of SQLite's I/O-error tests: for every kind
// of Env operation (FaultOp), a fixed workload runs with the Nth call of that
// kind failing, for N = 1, 2, ... until the workload completes without the
// fault firing — once with a single failure (FailNth) and once with every
// call from the Nth on failing (FailFrom). The workload: open (creating the
// database), puts, deletes and batches with small buffers (flushes, MANIFEST
// switches), Flush, reads, CompactRange, reads, Close, reopen, reads, more
// writes, Close. It stops at the first error an API call returns.
//
// Every run, whatever N:
//   - no read ever returns wrong data (a Get returns the model's value or an
//     error; a scan yields the model or ends with an error);
//   - if the fault fired, some API call reported an error, or else the data
//     is exactly the model afterwards (the engine tolerated or retried the
//     failure: counted as "tolerated" and listed) — and only at steps the
//     engine can do without (MustReport: the info log, removal of obsolete
//     files, directory listing, table reads and read-opens); an unreported
//     failed sync, append, close, rename, lock or directory step fails;
//   - with the faults cleared, reopen succeeds, the version invariants hold,
//     and Gets of every key, a forward scan and a backward scan all equal the
//     model after every acknowledged operation (plus, possibly, the one whose
//     call failed).
// For Sync and SyncDir, whose failure only matters after a power loss, the
// single-failure sweep runs a second time ending in a power loss: the
// recovered state must be the model after a prefix of the acknowledged
// operations that holds every operation acknowledged as durable (synced
// writes, and everything before a successful Flush, CompactRange or Close).
//
// Figures are printed per operation and recorded in docs/RELIABILITY.md.
#include <atomic>
#include <map>
#include <set>
#include <sstream>

#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "db/model_testutil.h"
#include "env/fault_injection_env.h"
#include "env/kill_point_env.h"
#include "gtest/gtest.h"

namespace lsmkv {
namespace {

using test::ModelOp;
using test::ModelOpGenerator;
using test::ModelState;

constexpr char kDbName[] = "/sweep";
constexpr int kKeys = 60;
// Far above any op's call count in the workload: the sweep must end by itself.
constexpr uint64_t kMaxN = 20000;
// One workload for every op and N: only the failing call changes.
constexpr uint64_t kWorkloadSeed = 6007;

Options SweepOptions(Env* env) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.write_buffer_size = 16 * 1024;
  o.max_write_buffer_number = 2;
  o.block_size = 512;
  o.block_cache_size = 16 * 1024;
  o.max_open_files = 4;  // tables are reopened: more open and read calls
  o.level0_file_limit = 2;
  o.target_file_size = 8 * 1024;
  o.max_bytes_for_level_base = 32 * 1024;
  o.level_size_multiplier = 2;
  o.max_manifest_file_size = 4 * 1024;  // MANIFEST and CURRENT switch mid-run
  return o;
}

enum class Ending { kCleanReopen, kPowerLoss };

// What one run (one N) saw.
struct RunOutcome {
  uint64_t injected = 0;
  bool reported = false;    // an API call returned an error
  std::string failed_step;  // the step whose call returned it
  std::string first_error;
  // "<file kind> during <step>" for every injected error.
  std::set<std::string> sites;
  // The subset where an unreported failure is never acceptable (MustReport).
  std::set<std::string> must_report_sites;
  // Calls per op during the workload and its shutdown (not the checks).
  uint64_t calls[kNumFaultOps] = {};
};

// The workload with one fault setting, then the checks of the file comment.
class SweepRun {
 public:
  SweepRun(FaultOp op, uint64_t n, bool from, Ending ending)
      : op_(op),
        n_(n),
        from_(from),
        ending_(ending),
        mem_(NewMemEnv(Env::Default())),
        env_(mem_.get()),
        gen_(kWorkloadSeed, kKeys, 20) {}

  RunOutcome Run() {
    env_.SetInjectionObserver([this](FaultOp op, const std::string& what) {
      // Called with the env's lock held: sites needs no other lock.
      const bool dir =
          op == FaultOp::kSyncDir || op == FaultOp::kCreateDir || op == FaultOp::kGetChildren;
      const DbFileKind kind = ClassifyDbFile(FileOf(what));
      const std::string site =
          std::string(dir ? "dir" : DbFileKindName(kind)) + " during " + step_.load();
      outcome_.sites.insert(site);
      if (MustReport(op, kind)) outcome_.must_report_sites.insert(site);
    });
    if (from_) {
      env_.FailFrom(op_, n_);
    } else {
      env_.FailNth(op_, n_);
    }
    Workload();
    End();
    outcome_.injected = env_.InjectedCount();
    for (int i = 0; i < kNumFaultOps; i++)
      outcome_.calls[i] = env_.CallCount(static_cast<FaultOp>(i));
    CheckAfterReopen();
    return outcome_;
  }

 private:
  // Whether a failure of op on a file of kind must reach some API call. It
  // may go unreported only where the engine can do without the step: the
  // info log, removing obsolete files and listing the directory for
  // leftovers (Open removes them later; CheckTableFiles checks), and reads
  // and read-opens of tables, which a reader may retry. An unreported failed
  // sync, append, close, rename or directory sync would be an acknowledged
  // write that is not durable.
  static bool MustReport(FaultOp op, DbFileKind kind) {
    if (kind == DbFileKind::kInfoLog) return false;
    switch (op) {
      case FaultOp::kRemove:
      case FaultOp::kGetChildren:
      case FaultOp::kRead:
        return false;
      case FaultOp::kOpen:
        return kind != DbFileKind::kTable;
      default:
        return true;
    }
  }

  // "rename A to B" names B; anything else is the file itself.
  static std::string FileOf(const std::string& what) {
    const size_t to = what.rfind(" to ");
    return to == std::string::npos ? what : what.substr(to + 4);
  }

  // Records the first error; returns s.ok().
  bool Check(const Status& s, const char* step) {
    if (s.ok()) return true;
    if (!outcome_.reported) {
      outcome_.reported = true;
      outcome_.failed_step = step;
      outcome_.first_error = s.ToString();
    }
    return false;
  }

  void Step(const char* name) { step_.store(name); }

  ModelState AckedState() const {
    ModelState state;
    for (const ModelOp& op : acked_) test::ApplyOp(op, &state);
    return state;
  }

  // Writes count operations; stops at the first error.
  bool Writes(int count, const char* step) {
    Step(step);
    for (int i = 0; i < count; i++) {
      ModelOp op = gen_.Next();
      if (!Check(test::ExecuteOp(db_.get(), op), step)) {
        failed_op_ = std::move(op);
        return false;
      }
      acked_.push_back(std::move(op));
      if (acked_.back().sync) durable_ = acked_.size();
    }
    return true;
  }

  // Reads everything; an error stops the workload, wrong data fails the test.
  bool Reads(const char* step) {
    Step(step);
    const test::DbContents c = test::ReadContents(db_.get(), gen_.AllKeys());
    if (!c.ok) return Check(Status::IOError(c.error), step);
    const ModelState model = AckedState();
    EXPECT_EQ(model, c.by_get) << step << ": a Get returned wrong data:"
                               << test::DescribeDifference(model, c.by_get);
    EXPECT_EQ(model, c.by_scan) << step << ": a scan returned wrong data:"
                                << test::DescribeDifference(model, c.by_scan);
    EXPECT_TRUE(c.backward_matches) << step << ": backward scan differs";
    return true;
  }

  // A call after which everything acknowledged is durable.
  bool Barrier(const Status& s, const char* step) {
    if (!Check(s, step)) return false;
    durable_ = acked_.size();
    return true;
  }

  void Workload() {
    const Options options = SweepOptions(&env_);
    Step("Open");
    if (!Check(DB::Open(options, kDbName, &db_), "Open")) return;
    if (!Writes(120, "writes")) return;
    Step("Flush");
    if (!Barrier(db_->Flush(), "Flush")) return;
    if (!Reads("reads after Flush")) return;
    if (!Writes(120, "writes")) return;
    Step("CompactRange");
    if (!Barrier(db_->CompactRange(nullptr, nullptr), "CompactRange")) return;
    if (!Reads("reads after CompactRange")) return;
    if (!Writes(60, "writes")) return;
    Step("Close");
    const Status closed = db_->Close();
    db_.reset();
    if (!Barrier(closed, "Close")) return;
    Step("reopen");
    if (!Check(DB::Open(options, kDbName, &db_), "reopen")) return;
    if (!Reads("reads after reopen")) return;
    if (!Writes(60, "writes after reopen")) return;
    Step("final Close");
    const Status final_close = db_->Close();
    db_.reset();
    Barrier(final_close, "final Close");
  }

  // The database goes away with the faults still armed (a Close under the
  // fault), or the power goes; then the faults are cleared.
  void End() {
    Step("shutdown");
    if (ending_ == Ending::kPowerLoss) {
      env_.SetFilesystemActive(false);
      db_.reset();
      env_.ClearFaults();
      ASSERT_TRUE(env_.DropUnsyncedData().ok());
      env_.SetFilesystemActive(true);
    } else {
      db_.reset();
      env_.ClearFaults();
    }
  }

  void CheckAfterReopen() {
    Step("verification");
    Status s = DB::Open(SweepOptions(&env_), kDbName, &db_);
    ASSERT_TRUE(s.ok()) << "reopen without faults failed: " << s.ToString();
    CheckTableFiles();  // first: nothing else holds an old version
    Status invariants = static_cast<DBImpl*>(db_.get())->TEST_CheckInvariants();
    EXPECT_TRUE(invariants.ok()) << invariants.ToString();
    const test::DbContents c = test::ReadContents(db_.get(), gen_.AllKeys());
    ASSERT_TRUE(c.ok) << "reads after reopen without faults: " << c.error;
    EXPECT_EQ(c.by_get, c.by_scan) << "Gets and scan disagree";
    EXPECT_TRUE(c.backward_matches) << "backward scan differs from forward scan";

    const ModelState acked = AckedState();
    ModelState with_failed = acked;
    if (failed_op_) test::ApplyOp(*failed_op_, &with_failed);
    if (outcome_.injected > 0 && !outcome_.reported) {
      std::string sites;
      for (const std::string& site : outcome_.must_report_sites) sites += " [" + site + "]";
      EXPECT_TRUE(outcome_.must_report_sites.empty())
          << "a failure no API call reported, where it must be:" << sites;
      // Tolerated: nothing may be missing, nothing extra.
      EXPECT_EQ(acked, c.by_get) << "a fault that no call reported changed the data:"
                                 << test::DescribeDifference(acked, c.by_get);
    } else if (ending_ == Ending::kCleanReopen) {
      EXPECT_TRUE(c.by_get == acked || c.by_get == with_failed)
          << "an acknowledged write was lost or a write invented:"
          << test::DescribeDifference(acked, c.by_get);
    }
    if (ending_ == Ending::kPowerLoss) {
      std::vector<ModelOp> ops = acked_;
      if (failed_op_) ops.push_back(*failed_op_);
      EXPECT_GE(test::MatchingPrefix(ops, durable_, c.by_get), 0)
          << "after a power loss the state is not a prefix holding the " << durable_
          << " durable operations (of " << acked_.size() << " acknowledged)";
    }
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
  }

  // After a fault-free open every table file in the directory is live (files
  // whose removal failed are removed by the open) and every live one exists.
  void CheckTableFiles() {
    // Open may have started a compaction: its output is not live yet. (Only
    // the background work holds versions here; see
    // db_open_compaction_leak_test.cc for a reader that does.)
    Status bg = static_cast<DBImpl*>(db_.get())->TEST_WaitForBackgroundWork();
    ASSERT_TRUE(bg.ok()) << bg.ToString();
    std::set<uint64_t> live, present;
    ASSERT_TRUE(test::LiveTableNumbers(db_.get(), &live));
    ASSERT_TRUE(test::TableNumbersInDir(&env_, kDbName, &present).ok());
    if (live != present) {
      std::string log;
      ReadFileToString(&env_, std::string(kDbName) + "/LOG", &log).PermitUncheckedError();
      ADD_FAILURE() << "table files present (" << ::testing::PrintToString(present)
                    << ") differ from the live ones (" << ::testing::PrintToString(live)
                    << "); LOG of the verifying open:\n"
                    << log;
    }
  }

  const FaultOp op_;
  const uint64_t n_;
  const bool from_;
  const Ending ending_;
  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
  ModelOpGenerator gen_;
  std::unique_ptr<DB> db_;
  std::vector<ModelOp> acked_;
  size_t durable_ = 0;  // acked_[0, durable_) must survive a power loss
  std::optional<ModelOp> failed_op_;
  std::atomic<const char*> step_{"start"};
  RunOutcome outcome_;
};

struct SweepCase {
  FaultOp op;
  bool from;
  Ending ending;
};

std::string CaseName(const SweepCase& c) {
  return std::string(FaultOpName(c.op)) + (c.from ? "_FailFrom" : "_FailNth") +
         (c.ending == Ending::kPowerLoss ? "_PowerLoss" : "");
}

class IoErrorSweepTest : public ::testing::TestWithParam<SweepCase> {};

TEST_P(IoErrorSweepTest, EveryCallFailsInTurn) {
  const SweepCase c = GetParam();
  uint64_t fired = 0, reported = 0, tolerated = 0;
  std::set<std::string> sites, tolerated_sites;
  std::map<std::string, int> failed_steps;
  uint64_t n = 1;
  for (; n <= kMaxN; n++) {
    SCOPED_TRACE(CaseName(c) + " N=" + std::to_string(n));
    SweepRun run(c.op, n, c.from, c.ending);
    const RunOutcome outcome = run.Run();
    if (::testing::Test::HasFatalFailure()) return;
    if (outcome.injected == 0) break;  // the workload made fewer than N calls
    fired++;
    sites.insert(outcome.sites.begin(), outcome.sites.end());
    if (outcome.reported) {
      reported++;
      failed_steps[outcome.failed_step]++;
    } else {
      tolerated++;
      tolerated_sites.insert(outcome.sites.begin(), outcome.sites.end());
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopping the sweep of " << CaseName(c) << " at N=" << n
                    << " (first error: " << outcome.first_error << ")";
      return;
    }
  }
  ASSERT_LE(n, kMaxN) << "the fault still fired at N=" << kMaxN;
  std::string steps, site_list, tolerated_list;
  for (const auto& [step, count] : failed_steps) steps += " " + step + "=" + std::to_string(count);
  for (const std::string& s : sites) site_list += " [" + s + "]";
  for (const std::string& s : tolerated_sites) tolerated_list += " [" + s + "]";
  std::printf(
      "sweep %-28s N=1..%-5llu fired %llu, reported %llu, tolerated %llu; reported by:%s\n"
      "      call sites (file kind during step): %zu:%s\n"
      "      tolerated at:%s\n",
      CaseName(c).c_str(), static_cast<unsigned long long>(n - 1),
      static_cast<unsigned long long>(fired), static_cast<unsigned long long>(reported),
      static_cast<unsigned long long>(tolerated), steps.c_str(), sites.size(), site_list.c_str(),
      tolerated_list.empty() ? " none" : tolerated_list.c_str());
  RecordProperty("n_values_fired", static_cast<int>(fired));
  RecordProperty("call_sites", static_cast<int>(sites.size()));
}

std::vector<SweepCase> AllCases() {
  std::vector<SweepCase> cases;
  for (int i = 0; i < kNumFaultOps; i++) {
    const auto op = static_cast<FaultOp>(i);
    cases.push_back({op, false, Ending::kCleanReopen});
    cases.push_back({op, true, Ending::kCleanReopen});
    if (op == FaultOp::kSync || op == FaultOp::kSyncDir) {
      cases.push_back({op, false, Ending::kPowerLoss});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Ops, IoErrorSweepTest, ::testing::ValuesIn(AllCases()),
                         [](const auto& info) { return CaseName(info.param); });

// Without a fault the workload completes, and its calls per op are what the
// sweeps run through (a sweep that ends at N=1 is of an op the engine does
// not use).
TEST(IoErrorSweepWorkloadTest, CompletesWithoutFaults) {
  SweepRun run(FaultOp::kAppend, kMaxN + 1, /*from=*/false, Ending::kCleanReopen);
  const RunOutcome outcome = run.Run();
  EXPECT_FALSE(outcome.reported) << outcome.failed_step << ": " << outcome.first_error;
  EXPECT_EQ(0u, outcome.injected);
  std::string calls;
  for (int i = 0; i < kNumFaultOps; i++) {
    calls += std::string(" ") + FaultOpName(static_cast<FaultOp>(i)) + "=" +
             std::to_string(outcome.calls[i]);
  }
  std::printf("workload calls per op:%s\n", calls.c_str());
  EXPECT_GT(outcome.calls[static_cast<int>(FaultOp::kAppend)], 100u);
  EXPECT_GT(outcome.calls[static_cast<int>(FaultOp::kRead)], 100u);
}

}  // namespace
}  // namespace lsmkv
