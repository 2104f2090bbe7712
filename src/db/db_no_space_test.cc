// A full disk is not permanent (DB::Resume, db_resume.cc). On a simulated
// disk (FaultInjectionEnv::SetSpaceLimit: an append that does not fit writes
// what fits and fails with NoSpace, as a real filesystem does):
//   - a write, flush or MANIFEST write that runs out of space puts the DB in
//     a recoverable error state: writes are refused with NoSpace, reads go
//     on; once space is back the next write (or Resume, or the background
//     thread) clears it without a reopen, and nothing acknowledged is lost;
//     nothing refused appears, now or after a reopen; no table is left over;
//   - a compaction that runs out of space leaves the DB writable and backs
//     off; a compaction whose estimated output does not fit in the free
//     space minus the headroom is not started; when level 0 is full and
//     compactions wait for space, writes are refused with NoSpace instead of
//     stalling;
//   - errors other than no space stay fatal until reopen.
#include <atomic>
#include <map>
#include <set>
#include <string>

#include "db/db_impl.h"
#include "db/db_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"

namespace lsmkv {
namespace {

using test::ManualClockEnv;

// Hides the free space: compactions start without a space check, so they
// can run out of space half way.
class NoFreeSpaceInfoEnv : public EnvWrapper {
 public:
  explicit NoFreeSpaceInfoEnv(Env* target) : EnvWrapper(target) {}
  Status GetFreeSpace(const std::string&, uint64_t*) override {
    return Status::NotSupported("GetFreeSpace hidden by the test");
  }
};

uint64_t Counter(DB* db, const std::string& label) {
  std::string stats;
  EXPECT_TRUE(db->GetProperty("lsmkv.stats", &stats));
  const std::string prefix = label + ": ";
  const size_t pos = stats.find("\n" + prefix);
  if (pos == std::string::npos) {
    ADD_FAILURE() << "no counter " << label << " in\n" << stats;
    return 0;
  }
  return std::stoull(stats.substr(pos + 1 + prefix.size()));
}

std::string Property(DB* db, const std::string& name) {
  std::string value;
  EXPECT_TRUE(db->GetProperty(name, &value)) << name;
  return value;
}

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

std::string Value(int i, size_t size) {
  std::string v = "value" + std::to_string(i) + ":";
  v.resize(size, static_cast<char>('a' + i % 26));
  return v;
}

class NoSpaceTest : public ::testing::Test {
 protected:
  NoSpaceTest()
      : mem_env_(NewMemEnv(Env::Default())), fault_env_(mem_env_.get()), clock_env_(&fault_env_) {
    options_.env = &clock_env_;
    options_.create_if_missing = true;
    options_.write_buffer_size = 16 * 1024;
    options_.target_file_size = 16 * 1024;
    options_.block_size = 1024;
  }
  ~NoSpaceTest() override { db_.reset(); }

  void Open() {
    db_.reset();
    ASSERT_TRUE(DB::Open(options_, dbname_, &db_).ok());
  }
  DBImpl* impl() { return static_cast<DBImpl*>(db_.get()); }

  // Puts key i (acknowledged writes go into the model); returns the status.
  Status PutKey(int i, size_t size = 1000) {
    const std::string value = Value(i, size);
    Status s = db_->Put(WriteOptions(), Key(i), value);
    if (s.ok()) {
      model_[Key(i)] = value;
    } else {
      refused_.insert(Key(i));
    }
    return s;
  }

  // The DB shows exactly the model: every acknowledged write, nothing
  // refused (refused keys were never written before).
  void CheckContents(const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(model_, test::ScanContents(db_.get()));
    for (const std::string& k : refused_) {
      if (model_.count(k) == 0) {
        EXPECT_EQ("NOT_FOUND", test::GetOrStatus(db_.get(), k));
      }
    }
  }

  // After Close and Open: the contents, the version invariants, and no table
  // file but those the version references.
  void ReopenAndCheck() {
    ASSERT_TRUE(db_->Close().ok());
    Open();
    CheckContents("after reopen");
    ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());  // Open may start a compaction
    EXPECT_TRUE(impl()->TEST_CheckInvariants().ok());
    std::set<uint64_t> live, in_dir;
    ASSERT_TRUE(test::LiveTableNumbers(db_.get(), &live));
    ASSERT_TRUE(test::TableNumbersInDir(mem_env_.get(), dbname_, &in_dir).ok());
    EXPECT_EQ(live, in_dir);
  }

  std::unique_ptr<Env> mem_env_;
  FaultInjectionEnv fault_env_;
  ManualClockEnv clock_env_;
  // The same disk, with free space hidden (compactions start unchecked).
  NoFreeSpaceInfoEnv hidden_env_{&fault_env_};
  ManualClockEnv hidden_clock_env_{&hidden_env_};
  Options options_;
  const std::string dbname_ = "/nospace";
  std::unique_ptr<DB> db_;
  std::map<std::string, std::string> model_;
  std::set<std::string> refused_;
};

// A WAL append runs out of space half way through a record: the DB refuses
// writes while the disk is full, and the first write after space is freed
// succeeds by itself. Before recoverable errors, that write failed until a
// reopen.
TEST_F(NoSpaceTest, WalAppendResumesWhenSpaceIsFreed) {
  options_.write_buffer_size = 1 << 20;  // no flush: the failure is the WAL's
  Open();
  for (int i = 0; i < 50; i++) ASSERT_TRUE(PutKey(i).ok());
  fault_env_.SetSpaceLimit(1500);  // one more record fits, the next is cut short
  ASSERT_TRUE(PutKey(50).ok());
  Status s = PutKey(51);
  ASSERT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_GE(fault_env_.NoSpaceCount(), 1u);  // the WAL's, and maybe the info log's
  EXPECT_EQ("recoverable", Property(db_.get(), "lsmkv.error-state"));
  EXPECT_NE(std::string::npos, Property(db_.get(), "lsmkv.background-error").find("no space"));
  // Still full: refused at once, reads go on.
  s = PutKey(52);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  CheckContents("while full");

  fault_env_.AddSpace(10 << 20);  // the operator removes a filler file
  ASSERT_TRUE(PutKey(53).ok());
  EXPECT_EQ("none", Property(db_.get(), "lsmkv.error-state"));
  EXPECT_EQ("OK", Property(db_.get(), "lsmkv.background-error"));
  EXPECT_EQ(2u, Counter(db_.get(), "failed writes"));
  EXPECT_EQ(1u, Counter(db_.get(), "background errors"));
  EXPECT_EQ(1u, Counter(db_.get(), "background error recoveries"));
  // The poisoned WAL was replaced and its memtable flushed: one table.
  EXPECT_EQ(1u, Counter(db_.get(), "flushes"));
  for (int i = 54; i < 100; i++) ASSERT_TRUE(PutKey(i).ok());
  CheckContents("after recovery");
  ReopenAndCheck();
}

// Space runs out at every point of a workload with flushes, compactions and
// MANIFEST rewrites (one limit per trial); each time the error state clears
// once space is freed, with nothing acknowledged lost and nothing refused
// applied, in the open DB and after a reopen.
TEST_F(NoSpaceTest, SweepOfSpaceLimits) {
  options_.max_manifest_file_size = 2048;  // new MANIFESTs during the run
  options_.level0_file_limit = 2;
  int errors = 0, resumed_by_write = 0, resumed_by_call = 0;
  int trial = 0;
  for (uint64_t limit = 2000; limit <= 200'000; limit += 6'600, trial++) {
    SCOPED_TRACE("space limit " + std::to_string(limit));
    db_.reset();
    ASSERT_TRUE(DestroyDB(dbname_, options_).ok());
    model_.clear();
    refused_.clear();
    fault_env_.ClearSpaceLimit();
    Open();
    fault_env_.SetSpaceLimit(limit);
    int i = 0;
    Status s;
    for (; i < 400 && s.ok(); i++) s = PutKey(i, 700);
    if (!s.ok()) {
      errors++;
      ASSERT_TRUE(s.IsNoSpace()) << s.ToString();
      const std::string state = Property(db_.get(), "lsmkv.error-state");
      ASSERT_TRUE(state == "recoverable" || state == "none") << state;  // none: L0 full
      CheckContents("while full");
      fault_env_.AddSpace(10 << 20);
      clock_env_.Advance(10'000'000);  // past any backoff
      if (trial % 2 == 0) {
        ASSERT_TRUE(PutKey(i++, 700).ok());
        resumed_by_write++;
      } else {
        Status r = db_->Resume();
        ASSERT_TRUE(r.ok()) << r.ToString();
        resumed_by_call++;
      }
      EXPECT_EQ("none", Property(db_.get(), "lsmkv.error-state"));
    }
    for (int j = 0; j < 30; j++) ASSERT_TRUE(PutKey(i + j, 700).ok());
    ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
    CheckContents("after recovery");
    ReopenAndCheck();
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(errors, 20);
  EXPECT_GT(resumed_by_write, 5);
  EXPECT_GT(resumed_by_call, 5);
}

// The background thread clears the error state with no write and no call.
TEST_F(NoSpaceTest, BackgroundThreadResumes) {
  options_.write_buffer_size = 1 << 20;
  Open();
  for (int i = 0; i < 10; i++) ASSERT_TRUE(PutKey(i).ok());
  fault_env_.SetSpaceLimit(100);
  ASSERT_TRUE(PutKey(10).IsNoSpace());
  fault_env_.AddSpace(10 << 20);
  Status s = impl()->TEST_WaitForRecoveryThread();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ("none", Property(db_.get(), "lsmkv.error-state"));
  EXPECT_EQ(1u, Counter(db_.get(), "background error recoveries"));
  ReopenAndCheck();
}

// A compaction whose estimated output does not fit in the free space minus
// the headroom kept for flushes never starts: nothing is written only to be
// thrown away, flushes go on, and once level 0 is full the writes are
// refused with NoSpace (not stalled) while the DB stays out of any error
// state. With space back and the backoff over, compactions and writes go on.
TEST_F(NoSpaceTest, CompactionWaitsForHeadroomWritesGoOn) {
  options_.level0_file_limit = 2;
  options_.level0_slowdown_writes_trigger = 100;
  options_.level0_stop_writes_trigger = 5;
  options_.compaction_space_headroom = 400 * 1024;
  Open();
  fault_env_.SetSpaceLimit(300 * 1024);
  int i = 0;
  Status s;
  for (; i < 1000 && s.ok(); i++) s = PutKey(i);
  ASSERT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("compactions wait for free disk space"))
      << s.ToString();
  EXPECT_EQ("none", Property(db_.get(), "lsmkv.error-state"));
  EXPECT_GE(Counter(db_.get(), "compactions deferred for space"), 1u);
  EXPECT_EQ(0u, Counter(db_.get(), "compactions out of space"));
  EXPECT_EQ(0u, fault_env_.NoSpaceCount());  // nothing started that could not finish
  EXPECT_GE(i, 60);                          // every memtable that fitted was flushed
  CheckContents("level 0 full");

  fault_env_.AddSpace(10 << 20);
  clock_env_.Advance(10'000'000);
  ASSERT_TRUE(PutKey(i++).ok());  // waits for the compaction now allowed to run
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_LT(Counter(db_.get(), "memtables frozen"), 5u);
  for (int j = 0; j < 100; j++) ASSERT_TRUE(PutKey(i + j).ok());
  CheckContents("after space was freed");
  ReopenAndCheck();
}

// A compaction that runs out of space half way (the Env cannot tell free
// space) removes its outputs, backs off and leaves the DB writable; a manual
// compaction reports NoSpace; once space is back and the backoff is over,
// it succeeds.
TEST_F(NoSpaceTest, CompactionOutOfSpaceBacksOff) {
  options_.env = &hidden_clock_env_;
  ManualClockEnv& clock = hidden_clock_env_;
  Open();
  int i = 0;
  for (; i < 200; i++) ASSERT_TRUE(PutKey(i).ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  fault_env_.SetSpaceLimit(120 * 1024);
  // Rewrites spread over the key range: a compaction must rewrite all of
  // level 1 (about 200 KB), more than the space left.
  for (int j = 0; j < 40; j++) ASSERT_TRUE(PutKey(j * 5).ok());
  Status s = db_->CompactRange(nullptr, nullptr);
  ASSERT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ("none", Property(db_.get(), "lsmkv.error-state"));
  EXPECT_GE(Counter(db_.get(), "compactions out of space"), 1u);
  EXPECT_GE(fault_env_.NoSpaceCount(), 1u);
  ASSERT_TRUE(PutKey(i++).ok());  // the partial outputs gave their space back
  // Within the backoff a manual compaction is refused at once.
  s = db_->CompactRange(nullptr, nullptr);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  CheckContents("after the failed compaction");

  fault_env_.AddSpace(10 << 20);
  clock.Advance(10'000'000);
  s = db_->CompactRange(nullptr, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  CheckContents("after the compaction");
  ReopenAndCheck();
}

// Errors other than no space stay fatal: neither freed space nor Resume
// makes the DB writable; a reopen does.
TEST_F(NoSpaceTest, IoErrorStaysFatal) {
  Open();
  for (int i = 0; i < 10; i++) ASSERT_TRUE(PutKey(i).ok());
  fault_env_.FailNth(FaultOp::kSync, 1, FaultKind::kEIO);
  WriteOptions sync;
  sync.sync = true;
  Status s = db_->Put(sync, Key(10), "x");
  ASSERT_TRUE(s.IsIOError() && !s.IsNoSpace()) << s.ToString();
  fault_env_.ClearFaults();
  EXPECT_EQ("fatal", Property(db_.get(), "lsmkv.error-state"));
  s = db_->Resume();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_FALSE(PutKey(11).ok());
  EXPECT_EQ("fatal", Property(db_.get(), "lsmkv.error-state"));
  db_->Close().PermitUncheckedError();
  Open();
  refused_.erase(Key(10));  // a failed sync write may or may not be there
  model_.erase(Key(10));
  std::map<std::string, std::string> contents = test::ScanContents(db_.get());
  contents.erase(Key(10));
  EXPECT_EQ(model_, contents);
  EXPECT_EQ("none", Property(db_.get(), "lsmkv.error-state"));
}

// Fails appends to MANIFEST files while full() is set, after writing half
// of the data (a partial record, as a real filesystem leaves).
class ManifestFullEnv : public EnvWrapper {
 public:
  explicit ManifestFullEnv(Env* target) : EnvWrapper(target) {}
  std::atomic<bool> full{false};

  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    Status s = EnvWrapper::NewWritableFile(f, r);
    if (s.ok() && f.find("MANIFEST") != std::string::npos) {
      *r = std::make_unique<File>(std::move(*r), &full);
    }
    return s;
  }

 private:
  class File : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> target, std::atomic<bool>* full)
        : target_(std::move(target)), full_(full) {}
    Status Append(std::string_view data) override {
      if (!full_->load()) return target_->Append(data);
      target_->Append(data.substr(0, data.size() / 2)).PermitUncheckedError();
      return Status::NoSpace("MANIFEST", "no space left on device (test)");
    }
    Status Flush() override { return target_->Flush(); }
    Status Sync() override { return target_->Sync(); }
    Status Close() override { return target_->Close(); }

   private:
    std::unique_ptr<WritableFile> target_;
    std::atomic<bool>* full_;
  };
};

// A MANIFEST write that runs out of space (the flush's table is complete,
// its edit is not) is recoverable: writes are refused until a new MANIFEST
// holding the whole state is written, and the table the failed edit named
// is removed then, not before. Closing while still full and reopening once
// space is back loses nothing either.
TEST_F(NoSpaceTest, ManifestWriteOutOfSpace) {
  for (bool close_while_full : {false, true}) {
    SCOPED_TRACE(close_while_full ? "closed while full" : "resumed while open");
    ManifestFullEnv env(&clock_env_);
    options_.env = &env;
    db_.reset();
    ASSERT_TRUE(DestroyDB(dbname_, options_).ok());
    model_.clear();
    refused_.clear();
    Open();
    int i = 0;
    for (; i < 10; i++) ASSERT_TRUE(PutKey(i).ok());
    env.full = true;
    Status s = db_->Flush();
    ASSERT_TRUE(s.IsNoSpace()) << s.ToString();
    EXPECT_EQ("recoverable", Property(db_.get(), "lsmkv.error-state"));
    std::set<uint64_t> live, in_dir;
    ASSERT_TRUE(test::LiveTableNumbers(db_.get(), &live));
    ASSERT_TRUE(test::TableNumbersInDir(mem_env_.get(), dbname_, &in_dir).ok());
    EXPECT_TRUE(live.empty());
    // The flushed table is kept, since the edit may be on disk (and so is
    // that of a recovery attempt the background thread may have made).
    EXPECT_GE(in_dir.size(), 1u);
    s = PutKey(i++);  // a recovery attempt meets the full MANIFEST again
    EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
    EXPECT_GE(Counter(db_.get(), "failed recovery attempts"), 1u);
    CheckContents("while full");
    if (close_while_full) {
      EXPECT_FALSE(db_->Close().ok());
      env.full = false;
    } else {
      env.full = false;
      clock_env_.Advance(10'000'000);
      ASSERT_TRUE(PutKey(i++).ok());
      EXPECT_EQ("none", Property(db_.get(), "lsmkv.error-state"));
      live.clear();
      in_dir.clear();
      ASSERT_TRUE(test::LiveTableNumbers(db_.get(), &live));
      ASSERT_TRUE(test::TableNumbersInDir(mem_env_.get(), dbname_, &in_dir).ok());
      EXPECT_EQ(live, in_dir);
      EXPECT_EQ(1u, live.size());
    }
    ReopenAndCheck();
    for (int j = 0; j < 20; j++) ASSERT_TRUE(PutKey(i + j).ok());
    ReopenAndCheck();
    db_.reset();
    options_.env = &clock_env_;
  }
}

}  // namespace
}  // namespace lsmkv
