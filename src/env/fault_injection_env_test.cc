// FaultInjectionEnv over a MemEnv and over the PosixEnv.
#include "env/fault_injection_env.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

enum class TargetKind { kPosix, kMem };

class FaultInjectionEnvTest : public testing::TestWithParam<TargetKind> {
 protected:
  void SetUp() override {
    if (GetParam() == TargetKind::kPosix) {
      target_ = Env::Default();
      dir_ = test::NewTempDir("fault_env_test");
    } else {
      mem_env_ = NewMemEnv(Env::Default());
      target_ = mem_env_.get();
      dir_ = "/fault_env_test";
      ASSERT_TRUE(target_->CreateDir(dir_).ok());
    }
    env_ = std::make_unique<FaultInjectionEnv>(target_);
  }
  void TearDown() override {
    env_.reset();
    if (GetParam() == TargetKind::kPosix) test::RemoveTree(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes through the fault env; syncs the data if sync.
  void Write(const std::string& name, std::string_view data, bool sync) {
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(env_->NewWritableFile(Path(name), &file).ok());
    ASSERT_TRUE(file->Append(data).ok());
    if (sync) {
      ASSERT_TRUE(file->Sync().ok());
    }
    ASSERT_TRUE(file->Close().ok());
  }
  // A file whose data and directory entry are both durable.
  void WriteDurable(const std::string& name, std::string_view data) {
    Write(name, data, true);
    ASSERT_TRUE(env_->SyncDir(dir_).ok());
  }
  // Contents as seen on the target; "<missing>" if absent.
  std::string OnTarget(const std::string& name) {
    if (!target_->FileExists(Path(name))) return "<missing>";
    std::string data;
    Status s = ReadFileToString(target_, Path(name), &data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }
  void Crash() {
    Status s = env_->DropUnsyncedData();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<Env> mem_env_;
  Env* target_ = nullptr;
  std::unique_ptr<FaultInjectionEnv> env_;
  std::string dir_;
};

// ---------------------------------------------------------------- power loss

TEST_P(FaultInjectionEnvTest, UnsyncedTailIsCutAtSyncedSize) {
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &f).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(f->Append("aaaa").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("bbb").ok());
  ASSERT_TRUE(f->Append("cc").ok());
  ASSERT_TRUE(f->Flush().ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ("aaaabbbcc", OnTarget("f")) << "before the crash everything is visible";

  std::unique_ptr<WritableFile> g;
  ASSERT_TRUE(env_->NewWritableFile(Path("g"), &g).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(g->Append("1").ok());
  ASSERT_TRUE(g->Sync().ok());
  ASSERT_TRUE(g->Append("22").ok());
  ASSERT_TRUE(g->Sync().ok());
  ASSERT_TRUE(g->Append(std::string(100000, '3')).ok());
  ASSERT_TRUE(g->Close().ok());

  Write("never_synced", "lost", false);
  ASSERT_TRUE(env_->SyncDir(dir_).ok());

  Crash();
  EXPECT_EQ("aaaa", OnTarget("f"));
  EXPECT_EQ("122", OnTarget("g"));
  EXPECT_EQ("", OnTarget("never_synced")) << "entry durable, data not";
}

// ---------------------------------------------------------------- full disk

// An append that does not fit writes what fits and fails with NoSpace;
// removing, truncating or renaming over a file gives its bytes back;
// GetFreeSpace reports what is left.
TEST_P(FaultInjectionEnvTest, SpaceLimitCutsAppendsAndRefundsRemovals) {
  Write("old", "0123456789", true);
  env_->SetSpaceLimit(10);
  uint64_t free_bytes = 0;
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &free_bytes).ok());
  EXPECT_EQ(10u, free_bytes);
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &f).ok());
  ASSERT_TRUE(f->Append("abcdef").ok());
  Status s = f->Append("ghijkl");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ("abcdefghij", OnTarget("f")) << "the part that fitted is written";
  EXPECT_EQ(1u, env_->NoSpaceCount());
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &free_bytes).ok());
  EXPECT_EQ(0u, free_bytes);

  ASSERT_TRUE(env_->RemoveFile(Path("old")).ok());  // written before the limit: refunded too
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &free_bytes).ok());
  EXPECT_EQ(10u, free_bytes);
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &f).ok());  // truncates f
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &free_bytes).ok());
  EXPECT_EQ(20u, free_bytes);
  ASSERT_TRUE(f->Append(std::string(20, 'x')).ok());
  EXPECT_TRUE(f->Append("y").IsNoSpace());
  env_->AddSpace(5);
  EXPECT_TRUE(f->Append("y").ok());
  ASSERT_TRUE(f->Close().ok());
  env_->ClearSpaceLimit();
  std::unique_ptr<WritableFile> g;
  ASSERT_TRUE(env_->NewWritableFile(Path("g"), &g).ok());
  EXPECT_TRUE(g->Append(std::string(1000, 'z')).ok()) << "no limit any more";
  ASSERT_TRUE(g->Close().ok());
}

TEST_P(FaultInjectionEnvTest, NewFileWithoutSyncDirDisappears) {
  Write("new", "synced data", true);
  ASSERT_TRUE(env_->CreateDir(Path("sub")).ok());
  Write("sub/inner", "x", true);
  ASSERT_TRUE(env_->SyncDir(dir_).ok()) << "syncs dir_, not dir_/sub";
  Write("late", "y", true);
  Crash();
  EXPECT_EQ("synced data", OnTarget("new"));
  EXPECT_EQ("<missing>", OnTarget("sub/inner"));
  EXPECT_EQ("<missing>", OnTarget("late"));
  EXPECT_TRUE(target_->FileExists(Path("sub"))) << "CreateDir is treated as durable";
}

TEST_P(FaultInjectionEnvTest, RenameWithoutSyncDirReverts) {
  WriteDurable("a", "A");
  WriteDurable("b", "B");
  WriteDurable("c", "C");
  ASSERT_TRUE(env_->RenameFile(Path("a"), Path("b")).ok());
  ASSERT_TRUE(env_->RenameFile(Path("c"), Path("fresh")).ok());
  EXPECT_EQ("A", OnTarget("b"));
  Crash();
  EXPECT_EQ("A", OnTarget("a"));
  EXPECT_EQ("B", OnTarget("b")) << "old target content comes back";
  EXPECT_EQ("C", OnTarget("c"));
  EXPECT_EQ("<missing>", OnTarget("fresh"));
}

TEST_P(FaultInjectionEnvTest, NewFileRenamedOverDurableFileReverts) {
  // The CURRENT update pattern: write a temp file, sync it, rename it over.
  WriteDurable("CURRENT", "MANIFEST-1\n");
  Write("CURRENT.tmp", "MANIFEST-2\n", true);
  ASSERT_TRUE(env_->RenameFile(Path("CURRENT.tmp"), Path("CURRENT")).ok());
  Crash();
  EXPECT_EQ("MANIFEST-1\n", OnTarget("CURRENT"));
  EXPECT_EQ("<missing>", OnTarget("CURRENT.tmp"));

  Write("CURRENT.tmp", "MANIFEST-3\n", true);
  ASSERT_TRUE(env_->RenameFile(Path("CURRENT.tmp"), Path("CURRENT")).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  Crash();
  EXPECT_EQ("MANIFEST-3\n", OnTarget("CURRENT"));
  EXPECT_EQ("<missing>", OnTarget("CURRENT.tmp"));
}

TEST_P(FaultInjectionEnvTest, RenameOfUnsyncedDataKeepsOnlySyncedPart) {
  WriteDurable("a", "");
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewAppendableFile(Path("a"), &f).ok());
  ASSERT_TRUE(f->Append("synced").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("+tail").ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(env_->RenameFile(Path("a"), Path("b")).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  Crash();
  EXPECT_EQ("<missing>", OnTarget("a"));
  EXPECT_EQ("synced", OnTarget("b")) << "tracking follows the rename";
}

TEST_P(FaultInjectionEnvTest, RemovalWithoutSyncDirIsUndone) {
  WriteDurable("f", "data");
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewAppendableFile(Path("f"), &f).ok());
  ASSERT_TRUE(f->Append("unsynced").ok());
  ASSERT_TRUE(f->Close().ok());
  // A file that existed before the fault env saw it is fully durable.
  ASSERT_TRUE(WriteStringToFile(target_, "preexisting", Path("old"), true).ok());
  ASSERT_TRUE(env_->RemoveFile(Path("f")).ok());
  ASSERT_TRUE(env_->RemoveFile(Path("old")).ok());
  EXPECT_EQ("<missing>", OnTarget("f"));
  Crash();
  EXPECT_EQ("data", OnTarget("f")) << "restored with its synced content";
  EXPECT_EQ("preexisting", OnTarget("old"));

  ASSERT_TRUE(env_->RemoveFile(Path("f")).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  Crash();
  EXPECT_EQ("<missing>", OnTarget("f")) << "removal made durable by SyncDir";
}

TEST_P(FaultInjectionEnvTest, RemoveAndRecreateRevertsToOldFile) {
  WriteDurable("f", "old");
  ASSERT_TRUE(env_->RemoveFile(Path("f")).ok());
  Write("f", "new", true);
  Write("temp", "t", true);
  ASSERT_TRUE(env_->RemoveFile(Path("temp")).ok());
  Crash();
  EXPECT_EQ("old", OnTarget("f"));
  EXPECT_EQ("<missing>", OnTarget("temp")) << "never durable, stays gone";
}

TEST_P(FaultInjectionEnvTest, RenameThenRemoveRestoresSource) {
  WriteDurable("a", "A");
  ASSERT_TRUE(env_->RenameFile(Path("a"), Path("b")).ok());
  ASSERT_TRUE(env_->RemoveFile(Path("b")).ok());
  Crash();
  EXPECT_EQ("A", OnTarget("a"));
  EXPECT_EQ("<missing>", OnTarget("b"));
}

TEST_P(FaultInjectionEnvTest, LinkWithoutSyncDirDisappears) {
  WriteDurable("a", "A");
  ASSERT_TRUE(env_->LinkFile(Path("a"), Path("b")).ok());
  EXPECT_EQ("A", OnTarget("b"));
  Crash();
  EXPECT_EQ("A", OnTarget("a"));
  EXPECT_EQ("<missing>", OnTarget("b"));
}

TEST_P(FaultInjectionEnvTest, AfterSyncDirEverythingSticks) {
  WriteDurable("keep", "K");
  WriteDurable("gone", "G");
  WriteDurable("from", "F");
  Write("created", "C", true);
  ASSERT_TRUE(env_->RemoveFile(Path("gone")).ok());
  ASSERT_TRUE(env_->RenameFile(Path("from"), Path("keep")).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  Crash();
  EXPECT_EQ("F", OnTarget("keep"));
  EXPECT_EQ("<missing>", OnTarget("gone"));
  EXPECT_EQ("<missing>", OnTarget("from"));
  EXPECT_EQ("C", OnTarget("created"));
  std::vector<std::string> children;
  ASSERT_TRUE(env_->GetChildren(dir_, &children).ok());
  std::sort(children.begin(), children.end());
  EXPECT_EQ((std::vector<std::string>{"created", "keep"}), children);
}

TEST_P(FaultInjectionEnvTest, TruncatingRewriteIsNotDurable) {
  WriteDurable("x", "old content");
  Write("x", "new", false);
  Crash();
  EXPECT_EQ("", OnTarget("x")) << "modelled: truncation + unsynced data = empty file";
}

TEST_P(FaultInjectionEnvTest, AppendableOpenOfUntrackedFileKeepsItsContents) {
  ASSERT_TRUE(WriteStringToFile(target_, "base", Path("log"), true).ok());
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewAppendableFile(Path("log"), &f).ok());
  ASSERT_TRUE(f->Append("more").ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ("basemore", OnTarget("log"));
  Crash();
  EXPECT_EQ("base", OnTarget("log"));
}

TEST_P(FaultInjectionEnvTest, CrashWithOpenWriterLosesItsBuffer) {
  WriteDurable("wal", "");
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewAppendableFile(Path("wal"), &f).ok());
  ASSERT_TRUE(f->Append("abc").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("def").ok());  // Buffered in the wrapper.
  env_->SetFilesystemActive(false);
  Status s = f->Append("ghi");
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(std::string::npos, s.ToString().find("filesystem inactive")) << s.ToString();
  EXPECT_FALSE(f->Sync().ok());
  Crash();
  f.reset();  // The DB going away after the crash must not write anything.
  EXPECT_EQ("abc", OnTarget("wal"));
  env_->SetFilesystemActive(true);
  Write("after", "ok", true);
  EXPECT_EQ("ok", OnTarget("after"));
}

TEST_P(FaultInjectionEnvTest, InactiveFilesystemBlocksEveryMutation) {
  WriteDurable("f", "data");
  FileLock* lock = nullptr;
  env_->SetFilesystemActive(false);
  EXPECT_FALSE(env_->IsFilesystemActive());
  std::unique_ptr<WritableFile> w;
  auto is_inactive = [](const Status& s) {
    return s.IsIOError() &&
           s.ToString().find("filesystem inactive (simulated crash)") != std::string::npos;
  };
  EXPECT_TRUE(is_inactive(env_->NewWritableFile(Path("n"), &w)));
  EXPECT_TRUE(is_inactive(env_->NewAppendableFile(Path("f"), &w)));
  EXPECT_TRUE(is_inactive(env_->RemoveFile(Path("f"))));
  EXPECT_TRUE(is_inactive(env_->RenameFile(Path("f"), Path("g"))));
  EXPECT_TRUE(is_inactive(env_->LinkFile(Path("f"), Path("h"))));
  EXPECT_TRUE(is_inactive(env_->CreateDir(Path("d"))));
  EXPECT_TRUE(is_inactive(env_->RemoveDir(dir_)));
  EXPECT_TRUE(is_inactive(env_->SyncDir(dir_)));
  EXPECT_TRUE(is_inactive(WriteStringToFile(env_.get(), "x", Path("n"), true)));
  EXPECT_EQ("data", OnTarget("f"));
  EXPECT_EQ("<missing>", OnTarget("n"));
  EXPECT_EQ("<missing>", OnTarget("g"));
  EXPECT_EQ("<missing>", OnTarget("h"));
  EXPECT_FALSE(target_->FileExists(Path("d")));
  // Reads and locks still work.
  std::string data;
  ASSERT_TRUE(ReadFileToString(env_.get(), Path("f"), &data).ok());
  EXPECT_EQ("data", data);
  ASSERT_TRUE(env_->LockFile(Path("LOCK"), &lock).ok());
  ASSERT_TRUE(env_->UnlockFile(lock).ok());

  env_->SetFilesystemActive(true);
  ASSERT_TRUE(env_->RenameFile(Path("f"), Path("g")).ok());
  EXPECT_EQ("data", OnTarget("g"));
}

// ---------------------------------------------------------------- injection

// Performs one call of op (plus uncounted setup on the target).
Status RunOp(FaultInjectionEnv* env, Env* target, const std::string& dir, FaultOp op) {
  auto path = [&dir](const char* name) { return dir + "/" + name; };
  std::unique_ptr<WritableFile> w;
  Status s;
  switch (op) {
    case FaultOp::kOpen:
      return env->NewWritableFile(path("opened"), &w);
    case FaultOp::kRead: {
      std::unique_ptr<SequentialFile> r;
      s = env->NewSequentialFile(path("existing"), &r);
      if (!s.ok()) return s;
      char scratch[8];
      std::string_view piece;
      return r->Read(sizeof(scratch), &piece, scratch);
    }
    case FaultOp::kAppend:
      s = env->NewWritableFile(path("appended"), &w);
      return s.ok() ? w->Append("x") : s;
    case FaultOp::kSync:
      s = env->NewWritableFile(path("synced"), &w);
      if (s.ok()) s = w->Append("x");
      return s.ok() ? w->Sync() : s;
    case FaultOp::kClose:
      s = env->NewWritableFile(path("closed"), &w);
      return s.ok() ? w->Close() : s;
    case FaultOp::kRename:
      s = WriteStringToFile(target, "r", path("rename_src"), false);
      return s.ok() ? env->RenameFile(path("rename_src"), path("rename_dst")) : s;
    case FaultOp::kRemove:
      s = WriteStringToFile(target, "r", path("removed"), false);
      return s.ok() ? env->RemoveFile(path("removed")) : s;
    case FaultOp::kSyncDir:
      return env->SyncDir(dir);
    case FaultOp::kLock: {
      FileLock* lock = nullptr;
      s = env->LockFile(path("LOCK"), &lock);
      return s.ok() ? env->UnlockFile(lock) : s;
    }
    case FaultOp::kGetFileSize: {
      uint64_t size;
      return env->GetFileSize(path("existing"), &size);
    }
    case FaultOp::kGetChildren: {
      std::vector<std::string> children;
      return env->GetChildren(dir, &children);
    }
    case FaultOp::kCreateDir:
      return env->CreateDir(path("subdir"));
    case FaultOp::kLink:
      if (target->FileExists(path("linked"))) {
        s = target->RemoveFile(path("linked"));
        if (!s.ok()) return s;
      }
      return env->LinkFile(path("existing"), path("linked"));
  }
  return Status::InvalidArgument("unknown op");
}

bool IsInjected(const Status& s) {
  return s.IsIOError() && s.ToString().find("injected") != std::string::npos;
}

TEST_P(FaultInjectionEnvTest, EveryOpCanBeFailed) {
  ASSERT_TRUE(WriteStringToFile(target_, "contents", Path("existing"), false).ok());
  for (int i = 0; i < kNumFaultOps; i++) {
    const FaultOp op = static_cast<FaultOp>(i);
    SCOPED_TRACE(FaultOpName(op));
    FaultInjectionEnv* env = env_.get();
    auto run = [&] { return RunOp(env, target_, dir_, op); };
    const uint64_t calls_before = env->CallCount(op);
    const uint64_t injected_before = env->InjectedCount();

    Status s = run();
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(calls_before + 1, env->CallCount(op));

    // FailNth: only the nth call from now fails, once.
    env->FailNth(op, 1);
    s = run();
    EXPECT_TRUE(IsInjected(s)) << s.ToString();
    EXPECT_FALSE(s.IsNoSpace());
    EXPECT_NE(std::string::npos, s.ToString().find(FaultOpName(op))) << s.ToString();
    EXPECT_TRUE(run().ok());
    env->FailNth(op, 3, FaultKind::kENOSPC);
    EXPECT_TRUE(run().ok());
    EXPECT_TRUE(run().ok());
    s = run();
    EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
    EXPECT_TRUE(IsInjected(s)) << s.ToString();
    EXPECT_TRUE(run().ok());

    // FailFrom: the nth and all later calls fail until cleared.
    env->FailFrom(op, 2);
    EXPECT_TRUE(run().ok());
    for (int k = 0; k < 3; k++) EXPECT_TRUE(IsInjected(run()));
    env->ClearFaults();
    EXPECT_TRUE(run().ok());

    EXPECT_EQ(calls_before + 12, env->CallCount(op));
    EXPECT_EQ(injected_before + 5, env->InjectedCount());
  }
}

TEST_P(FaultInjectionEnvTest, FailedOpenCreatesNothing) {
  env_->FailNth(FaultOp::kOpen, 1);
  std::unique_ptr<WritableFile> w;
  EXPECT_TRUE(IsInjected(env_->NewWritableFile(Path("f"), &w)));
  EXPECT_EQ(nullptr, w);
  EXPECT_EQ("<missing>", OnTarget("f"));
}

TEST_P(FaultInjectionEnvTest, FailedAppendWritesNothing) {
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &w).ok());
  ASSERT_TRUE(w->Append("abc").ok());
  env_->FailNth(FaultOp::kAppend, 1, FaultKind::kENOSPC);
  Status s = w->Append("XYZ");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  ASSERT_TRUE(w->Append("def").ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ("abcdef", OnTarget("f"));
  EXPECT_EQ(3u, env_->CallCount(FaultOp::kAppend));
}

TEST_P(FaultInjectionEnvTest, FailedSyncMarksNothingSynced) {
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &w).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(w->Append("a").ok());
  ASSERT_TRUE(w->Sync().ok());
  ASSERT_TRUE(w->Append("b").ok());
  env_->FailNth(FaultOp::kSync, 1);
  EXPECT_TRUE(IsInjected(w->Sync()));
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ("ab", OnTarget("f"));
  Crash();
  EXPECT_EQ("a", OnTarget("f"));
}

TEST_P(FaultInjectionEnvTest, FailedRenameAndRemoveChangeNothing) {
  WriteDurable("a", "A");
  WriteDurable("b", "B");
  env_->FailNth(FaultOp::kRename, 1);
  EXPECT_TRUE(IsInjected(env_->RenameFile(Path("a"), Path("b"))));
  env_->FailNth(FaultOp::kRemove, 1);
  EXPECT_TRUE(IsInjected(env_->RemoveFile(Path("a"))));
  EXPECT_EQ("A", OnTarget("a"));
  EXPECT_EQ("B", OnTarget("b"));
  Crash();
  EXPECT_EQ("A", OnTarget("a"));
  EXPECT_EQ("B", OnTarget("b"));
}

TEST_P(FaultInjectionEnvTest, FailedSyncDirKeepsEntriesPending) {
  Write("f", "data", true);
  env_->FailNth(FaultOp::kSyncDir, 1);
  EXPECT_TRUE(IsInjected(env_->SyncDir(dir_)));
  Crash();
  EXPECT_EQ("<missing>", OnTarget("f"));
}

TEST_P(FaultInjectionEnvTest, ReadsCanFail) {
  ASSERT_TRUE(WriteStringToFile(target_, "0123456789", Path("r"), false).ok());
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("r"), &r).ok());
  char scratch[10];
  std::string_view piece;
  env_->FailNth(FaultOp::kRead, 2);
  ASSERT_TRUE(r->Read(2, 3, &piece, scratch).ok());
  EXPECT_EQ("234", piece);
  EXPECT_TRUE(IsInjected(r->Read(2, 3, &piece, scratch)));
  EXPECT_TRUE(piece.empty());
  ASSERT_TRUE(r->Read(7, 10, &piece, scratch).ok());
  EXPECT_EQ("789", piece);
  EXPECT_EQ(3u, env_->CallCount(FaultOp::kRead));
}

// The failure pattern of 300 calls under FailRandomly.
std::vector<bool> RandomPattern(Env* target, const std::string& fname, uint64_t seed) {
  FaultInjectionEnv env(target);
  env.FailRandomly(FaultOp::kGetFileSize, 0.3, seed);
  std::vector<bool> failed;
  for (int i = 0; i < 300; i++) {
    uint64_t size;
    failed.push_back(!env.GetFileSize(fname, &size).ok());
  }
  return failed;
}

TEST_P(FaultInjectionEnvTest, RandomFailuresAreDeterministicPerSeed) {
  ASSERT_TRUE(WriteStringToFile(target_, "x", Path("f"), false).ok());
  std::vector<bool> first = RandomPattern(target_, Path("f"), 42);
  std::vector<bool> again = RandomPattern(target_, Path("f"), 42);
  std::vector<bool> other = RandomPattern(target_, Path("f"), 43);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  long failures = std::count(first.begin(), first.end(), true);
  EXPECT_GT(failures, 50) << "p=0.3 of 300";
  EXPECT_LT(failures, 130) << "p=0.3 of 300";
}

TEST_P(FaultInjectionEnvTest, CountsAndReset) {
  uint64_t size;
  for (int i = 0; i < 4; i++) EXPECT_FALSE(env_->GetFileSize(Path("none"), &size).ok());
  EXPECT_EQ(4u, env_->CallCount(FaultOp::kGetFileSize));
  EXPECT_EQ(0u, env_->CallCount(FaultOp::kOpen));
  EXPECT_EQ(0u, env_->InjectedCount()) << "real errors are not injected ones";
  env_->FailFrom(FaultOp::kGetFileSize, 1);
  EXPECT_TRUE(IsInjected(env_->GetFileSize(Path("none"), &size)));
  EXPECT_EQ(1u, env_->InjectedCount());
  env_->ResetCounts();
  EXPECT_EQ(0u, env_->CallCount(FaultOp::kGetFileSize));
  EXPECT_EQ(1u, env_->InjectedCount());
}

TEST_P(FaultInjectionEnvTest, WriteStringToFileRemovesPartialFile) {
  env_->FailNth(FaultOp::kSync, 1);
  EXPECT_TRUE(IsInjected(WriteStringToFile(env_.get(), "data", Path("f"), true)));
  EXPECT_EQ("<missing>", OnTarget("f"));
  env_->FailNth(FaultOp::kAppend, 1, FaultKind::kENOSPC);
  EXPECT_TRUE(WriteStringToFile(env_.get(), "data", Path("g"), false).IsNoSpace());
  EXPECT_EQ("<missing>", OnTarget("g"));
  ASSERT_TRUE(WriteStringToFile(env_.get(), "data", Path("h"), true).ok());
  EXPECT_EQ("data", OnTarget("h"));
}

TEST_P(FaultInjectionEnvTest, CorruptReadsFlipsOneBit) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(WriteStringToFile(target_, data, Path("f"), false).ok());
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("f"), &r).ok());
  std::string scratch(data.size(), '\0');
  std::string_view piece;
  env_->CorruptReads(1.0, 11);
  ASSERT_TRUE(r->Read(0, data.size(), &piece, scratch.data()).ok());
  ASSERT_EQ(data.size(), piece.size());
  int differing_bits = 0;
  for (size_t i = 0; i < data.size(); i++) {
    differing_bits += __builtin_popcount(static_cast<unsigned char>(piece[i] ^ data[i]));
  }
  EXPECT_EQ(1, differing_bits);
  EXPECT_EQ(1u, env_->CorruptedReadCount());
  env_->ClearFaults();
  ASSERT_TRUE(r->Read(0, data.size(), &piece, scratch.data()).ok());
  EXPECT_TRUE(piece == data);
}

TEST_P(FaultInjectionEnvTest, ShortReadsReturnAStrictPrefix) {
  const std::string data = "0123456789abcdef";
  ASSERT_TRUE(WriteStringToFile(target_, data, Path("f"), false).ok());
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("f"), &r).ok());
  std::unique_ptr<SequentialFile> q;
  ASSERT_TRUE(env_->NewSequentialFile(Path("f"), &q).ok());
  char scratch[16];
  std::string_view piece;
  env_->ShortReads(1.0, 5);
  for (int i = 0; i < 20; i++) {
    ASSERT_TRUE(r->Read(0, data.size(), &piece, scratch).ok());
    EXPECT_LT(piece.size(), data.size());
    EXPECT_EQ(data.substr(0, piece.size()), piece);
  }
  ASSERT_TRUE(q->Read(data.size(), &piece, scratch).ok());
  EXPECT_LT(piece.size(), data.size());
  EXPECT_EQ(data.substr(0, piece.size()), piece);
  EXPECT_EQ(21u, env_->ShortenedReadCount());
  env_->ClearFaults();
  ASSERT_TRUE(r->Read(0, data.size(), &piece, scratch).ok());
  EXPECT_EQ(data, piece);
  // Only files with the filter's suffix are damaged.
  env_->SetReadDamageFilter(".log");
  env_->ShortReads(1.0, 5);
  env_->CorruptReads(1.0, 5);
  ASSERT_TRUE(r->Read(0, data.size(), &piece, scratch).ok());
  EXPECT_EQ(data, piece);
  ASSERT_TRUE(WriteStringToFile(target_, data, Path("000001.log"), false).ok());
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("000001.log"), &r).ok());
  ASSERT_TRUE(r->Read(0, data.size(), &piece, scratch).ok());
  EXPECT_LT(piece.size(), data.size());
  EXPECT_EQ(21u + 1u, env_->ShortenedReadCount());
}

TEST_P(FaultInjectionEnvTest, ObserverSeesEveryInjectedError) {
  std::vector<std::string> seen;
  env_->SetInjectionObserver([&seen](FaultOp op, const std::string& what) {
    seen.push_back(std::string(FaultOpName(op)) + " " + what);
  });
  env_->FailFrom(FaultOp::kOpen, 2);
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("a"), &w).ok());
  EXPECT_TRUE(IsInjected(env_->NewWritableFile(Path("b"), &w)));
  EXPECT_TRUE(IsInjected(env_->NewWritableFile(Path("c"), &w)));
  ASSERT_EQ(2u, seen.size());
  EXPECT_EQ("Open " + Path("b"), seen[0]);
  EXPECT_EQ("Open " + Path("c"), seen[1]);
}

TEST_P(FaultInjectionEnvTest, PermissionDeniedNamesTheFile) {
  env_->FailNth(FaultOp::kOpen, 1, FaultKind::kEACCES);
  std::unique_ptr<WritableFile> w;
  Status s = env_->NewWritableFile(Path("denied"), &w);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_FALSE(s.IsNoSpace());
  EXPECT_NE(std::string::npos, s.ToString().find("Permission denied")) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find(Path("denied"))) << s.ToString();
}

TEST_P(FaultInjectionEnvTest, ConcurrentWritersThenCrash) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([this, t] {
      std::unique_ptr<WritableFile> w;
      std::string name = Path("w" + std::to_string(t));
      if (!env_->NewWritableFile(name, &w).ok()) return;
      for (int i = 0; i < 200; i++) {
        std::string rec = std::to_string(i) + ";";
        if (!w->Append(rec).ok()) return;
        if (i % 10 == 9 && !w->Sync().ok()) return;  // Synced through record 199.
        uint64_t unused;
        env_->GetFileSize(name, &unused).PermitUncheckedError();
      }
      w->Append("tail").PermitUncheckedError();
      w->Close().PermitUncheckedError();
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  Crash();
  std::string expected;
  for (int i = 0; i < 200; i++) expected += std::to_string(i) + ";";
  for (int t = 0; t < kThreads; t++) EXPECT_EQ(expected, OnTarget("w" + std::to_string(t)));
  EXPECT_EQ(static_cast<uint64_t>(kThreads * 201), env_->CallCount(FaultOp::kAppend));
}

TEST_P(FaultInjectionEnvTest, FailedCloseDiscardsUnflushedBytes) {
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &w).ok());
  ASSERT_TRUE(w->Append("flushed").ok());
  ASSERT_TRUE(w->Flush().ok());
  ASSERT_TRUE(w->Append("buffered").ok());
  env_->FailNth(FaultOp::kClose, 1);
  EXPECT_TRUE(IsInjected(w->Close()));
  EXPECT_EQ("flushed", OnTarget("f"));
  EXPECT_FALSE(w->Append("x").ok()) << "the file is closed even though Close failed";
  w.reset();
  EXPECT_EQ("flushed", OnTarget("f"));
}

// env.h: Sync may run on another thread while Append/Flush go on; it makes
// durable at least every byte appended and flushed before it was called.
TEST_P(FaultInjectionEnvTest, SyncFromAnotherThreadCoversFlushedBytes) {
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("wal"), &w).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  std::atomic<size_t> flushed{0};
  std::atomic<size_t> guaranteed{0};
  std::atomic<int> syncs{0};
  std::atomic<int> sync_errors{0};
  std::atomic<bool> done{false};
  std::thread syncer([&] {
    while (!done.load()) {
      size_t before = flushed.load();
      if (!w->Sync().ok()) {
        sync_errors++;
        continue;
      }
      if (before > guaranteed.load()) guaranteed.store(before);
      // Only syncs that covered flushed bytes count: the writer keeps going
      // until five did, however the two threads are scheduled.
      if (before > 0) syncs++;
    }
  });
  std::string expected;
  for (int i = 0; i < 2000 || syncs.load() < 5; i++) {
    std::string rec = "r" + std::to_string(i) + ";";
    ASSERT_TRUE(w->Append(rec).ok());
    ASSERT_TRUE(w->Flush().ok());
    expected += rec;
    flushed.store(expected.size());
  }
  done.store(true);
  syncer.join();
  EXPECT_EQ(0, sync_errors.load());
  ASSERT_TRUE(w->Append("TAIL").ok());  // Never synced.
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(expected + "TAIL", OnTarget("wal"));
  Crash();
  const std::string after = OnTarget("wal");
  EXPECT_GE(after.size(), guaranteed.load());
  EXPECT_GT(guaranteed.load(), 0u);
  EXPECT_LE(after.size(), expected.size()) << "the unsynced tail is lost";
  EXPECT_EQ(expected.substr(0, after.size()), after);
}

// ---- Files written in place (RandomRWFile).

TEST_P(FaultInjectionEnvTest, RandomRWFileReadsWritesAndReopens) {
  std::unique_ptr<RandomRWFile> f;
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  ASSERT_TRUE(f->Write(0, "hello world").ok());
  ASSERT_TRUE(f->Write(6, "WORLD").ok());
  ASSERT_TRUE(f->Write(20, "gap").ok());  // past the end: zeros between
  char scratch[64];
  std::string_view r;
  ASSERT_TRUE(f->Read(0, 64, &r, scratch).ok());
  EXPECT_EQ(r, std::string("hello WORLD") + std::string(9, '\0') + "gap");
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_FALSE(f->Write(0, "x").ok());                      // closed
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());  // contents kept
  ASSERT_TRUE(f->Read(0, 5, &r, scratch).ok());
  EXPECT_EQ(r, "hello");
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(Path("rw"), &size).ok());
  EXPECT_EQ(size, 23u);
}

TEST_P(FaultInjectionEnvTest, UnsyncedInPlaceWritesAreUndone) {
  std::unique_ptr<RandomRWFile> f;
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  ASSERT_TRUE(f->Write(0, std::string(2048, 'a')).ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(f->Write(100, std::string(10, 'b')).ok());    // overwrite
  ASSERT_TRUE(f->Write(105, std::string(10, 'c')).ok());    // overlapping
  ASSERT_TRUE(f->Write(2000, std::string(100, 'd')).ok());  // extends
  EXPECT_NE(OnTarget("rw"), std::string(2048, 'a'));
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(env_->DropUnsyncedData().ok());
  EXPECT_EQ(OnTarget("rw"), std::string(2048, 'a'));
  // A synced overwrite stays.
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  ASSERT_TRUE(f->Write(0, "SYNCED").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Write(0, "lost!!").ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(env_->DropUnsyncedData().ok());
  EXPECT_EQ(OnTarget("rw"), "SYNCED" + std::string(2042, 'a'));
  // A new file whose directory entry was never synced disappears.
  ASSERT_TRUE(env_->NewRandomRWFile(Path("new"), &f).ok());
  ASSERT_TRUE(f->Write(0, "x").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(env_->DropUnsyncedData().ok());
  EXPECT_EQ(OnTarget("new"), "<missing>");
}

TEST_P(FaultInjectionEnvTest, PartialWriteLossKeepsLosesOrTearsEachWrite) {
  const std::string base(8 * 512, '.');
  std::map<int, int> outcomes;  // 0 kept, 1 lost, 2 torn
  std::vector<std::string> first_run;
  for (int run = 0; run < 2; run++) {
    std::vector<std::string> results;
    for (uint64_t seed = 1; seed <= 20; seed++) {
      const std::string name = "p" + std::to_string(seed);
      std::unique_ptr<RandomRWFile> f;
      ASSERT_TRUE(env_->NewRandomRWFile(Path(name), &f).ok());
      ASSERT_TRUE(f->Write(0, base).ok());
      ASSERT_TRUE(f->Sync().ok());
      ASSERT_TRUE(env_->SyncDir(dir_).ok());
      // Three writes over distinct sectors.
      const std::string w[3] = {std::string(1024, 'A'), std::string(1536, 'B'),
                                std::string(512, 'C')};
      const uint64_t at[3] = {0, 1024, 3072};
      for (int i = 0; i < 3; i++) {
        ASSERT_TRUE(f->Write(at[i], w[i]).ok());
      }
      ASSERT_TRUE(f->Close().ok());
      env_->SetPartialWriteLoss(seed);
      ASSERT_TRUE(env_->DropUnsyncedData().ok());
      const std::string got = OnTarget(name);
      ASSERT_EQ(got.size(), base.size());
      for (int i = 0; i < 3; i++) {
        const std::string part = got.substr(at[i], w[i].size());
        // Some sectors of the new bytes (maybe none, maybe all), then old.
        const size_t new_bytes = part.find_first_not_of(w[i][0]);
        const size_t kept = new_bytes == std::string::npos ? part.size() : new_bytes;
        EXPECT_EQ(kept % 512, 0u) << seed;
        EXPECT_EQ(part.substr(kept), std::string(part.size() - kept, '.')) << seed;
        outcomes[kept == part.size() ? 0 : kept == 0 ? 1 : 2]++;
      }
      results.push_back(got);
      ASSERT_TRUE(env_->RemoveFile(Path(name)).ok());
    }
    if (run == 0) {
      first_run = results;
    } else {
      EXPECT_EQ(results, first_run) << "not deterministic by seed";
    }
  }
  EXPECT_GT(outcomes[0], 0);
  EXPECT_GT(outcomes[1], 0);
  EXPECT_GT(outcomes[2], 0);
}

TEST_P(FaultInjectionEnvTest, RandomRWFileFaultsInactiveAndSpace) {
  std::unique_ptr<RandomRWFile> f;
  env_->FailNth(FaultOp::kOpen, 1);
  EXPECT_FALSE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  EXPECT_EQ(OnTarget("rw"), "<missing>");
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  env_->FailNth(FaultOp::kAppend, 1);
  EXPECT_FALSE(f->Write(0, "abc").ok());
  EXPECT_EQ(OnTarget("rw"), "");  // a failed write writes nothing
  ASSERT_TRUE(f->Write(0, "abc").ok());
  env_->FailNth(FaultOp::kSync, 1);
  EXPECT_FALSE(f->Sync().ok());
  env_->FailNth(FaultOp::kRead, 1);
  char scratch[8];
  std::string_view r;
  EXPECT_FALSE(f->Read(0, 3, &r, scratch).ok());
  ASSERT_TRUE(f->Read(0, 3, &r, scratch).ok());
  EXPECT_EQ(r, "abc");
  // The failed sync marked nothing durable.
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(env_->DropUnsyncedData().ok());
  EXPECT_EQ(OnTarget("rw"), "");
  // Inactive: nothing reaches the target.
  env_->SetFilesystemActive(false);
  EXPECT_FALSE(f->Write(0, "zzz").ok());
  EXPECT_FALSE(f->Sync().ok());
  std::unique_ptr<RandomRWFile> g;
  EXPECT_FALSE(env_->NewRandomRWFile(Path("rw2"), &g).ok());
  env_->SetFilesystemActive(true);
  EXPECT_EQ(OnTarget("rw"), "");
  EXPECT_EQ(OnTarget("rw2"), "<missing>");
  // Space: overwrites are free, growth is charged, a write that does not
  // fit writes what fits and fails with NoSpace.
  ASSERT_TRUE(f->Write(0, "0123456789").ok());
  env_->SetSpaceLimit(5);
  EXPECT_TRUE(f->Write(0, "abcdefghij").ok());
  Status s = f->Write(8, "XXXXXXXXXX");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(OnTarget("rw"), "abcdefghXXXXXXX");
  env_->ClearSpaceLimit();
  ASSERT_TRUE(f->Close().ok());
}

// "3x'a' 2x'\0'": s as runs of equal bytes.
std::string Runs(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && s[j] == s[i]) j++;
    out += std::to_string(j - i) + "x" +
           (s[i] == '\0' ? std::string("\\0") : std::string(1, s[i])) + " ";
    i = j;
  }
  return out;
}

// Partial loss of unaligned, overlapping and extending writes: the result
// is the synced content with, for each write in order, a prefix of it that
// ends at its end, at its start or at a multiple of 512 of the file (not of
// the write) applied; the same seed gives the same result; the default and
// ClearPartialWriteLoss lose every unsynced write.
TEST_P(FaultInjectionEnvTest, PartialWriteLossTearsAtFileSectorBoundaries) {
  const std::string base(2048, '.');
  // 'A' at 700 (torn at 1024, 1536 or 2048 only; it extends the file),
  // 'B' over part of it, 'C' over A's end, 'D' after a gap.
  const uint64_t at[4] = {700, 1100, 1900, 3000};
  const std::string w[4] = {std::string(1500, 'A'), std::string(300, 'B'), std::string(600, 'C'),
                            std::string(100, 'D')};
  auto run = [&](const std::string& name, std::optional<uint64_t> seed) {
    std::unique_ptr<RandomRWFile> f;
    EXPECT_TRUE(env_->NewRandomRWFile(Path(name), &f).ok());
    EXPECT_TRUE(f->Write(0, base).ok());
    EXPECT_TRUE(f->Sync().ok());
    EXPECT_TRUE(env_->SyncDir(dir_).ok());
    for (int i = 0; i < 4; i++) EXPECT_TRUE(f->Write(at[i], w[i]).ok());
    EXPECT_TRUE(f->Close().ok());
    if (seed.has_value()) {
      env_->SetPartialWriteLoss(*seed);
    } else {
      env_->ClearPartialWriteLoss();
    }
    EXPECT_TRUE(env_->DropUnsyncedData().ok());
    return OnTarget(name);
  };
  std::set<size_t> a_kept_sizes;
  bool extended = false;
  for (uint64_t seed = 1; seed <= 60; seed++) {
    const std::string got = run("t" + std::to_string(seed), seed);
    EXPECT_EQ(got, run("u" + std::to_string(seed), seed)) << "not deterministic, seed " << seed;
    // The allowed kept sizes of each write: 0, all, or up to a multiple of
    // 512 of the file inside it. The result must be one of the 5*2*3*3
    // contents they allow (a tear relative to the write's start is not).
    const std::vector<size_t> cuts[4] = {{0, 1024 - 700, 1536 - 700, 2048 - 700, 1500},
                                         {0, 300},
                                         {0, 148, 600},
                                         {0, 3072 - 3000, 100}};
    bool matched = false;
    for (size_t a : cuts[0]) {
      for (size_t b : cuts[1]) {
        for (size_t c : cuts[2]) {
          for (size_t d : cuts[3]) {
            const size_t kept[4] = {a, b, c, d};
            std::string model = base;
            for (int i = 0; i < 4; i++) {
              if (kept[i] == 0) continue;
              if (model.size() < at[i] + kept[i]) model.resize(at[i] + kept[i], '\0');
              model.replace(at[i], kept[i], w[i].substr(0, kept[i]));
            }
            if (!matched && model == got) {
              matched = true;
              a_kept_sizes.insert(a);
            }
          }
        }
      }
    }
    EXPECT_TRUE(matched) << "seed " << seed << ": no allowed combination gives " << Runs(got);
    if (got.size() > base.size()) extended = true;
  }
  // Every outcome of 'A' was seen: lost, torn at 1024, 1536 or 2048, kept.
  EXPECT_EQ((std::set<size_t>{0, 1024 - 700, 1536 - 700, 2048 - 700, 1500}), a_kept_sizes);
  EXPECT_TRUE(extended) << "a kept write past the synced end extends the file";
  // Default: all lost, including the extension.
  EXPECT_EQ(base, run("none", std::nullopt));
}

// Removing (or renaming over) a file saves its content as of its last Sync,
// without its unsynced in-place writes.
TEST_P(FaultInjectionEnvTest, RemovedRandomRWFileComesBackAsSynced) {
  std::unique_ptr<RandomRWFile> f;
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  ASSERT_TRUE(f->Write(0, "synced--").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(f->Write(2, "XX").ok());
  ASSERT_TRUE(f->Write(8, "more").ok());
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(env_->RemoveFile(Path("rw")).ok());
  Crash();
  EXPECT_EQ("synced--", OnTarget("rw"));
  // Renamed over, the same.
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  ASSERT_TRUE(f->Write(0, "YY").ok());
  ASSERT_TRUE(f->Close().ok());
  WriteDurable("other", "other");
  ASSERT_TRUE(env_->RenameFile(Path("other"), Path("rw")).ok());
  EXPECT_EQ("other", OnTarget("rw"));
  Crash();
  EXPECT_EQ("synced--", OnTarget("rw"));
  EXPECT_EQ("other", OnTarget("other"));
}

// Ops are counted as documented; Close fails while inactive and when
// injected; read damage applies to RandomRWFile reads.
TEST_P(FaultInjectionEnvTest, RandomRWFileOpsCountedAndDamaged) {
  env_->ResetCounts();
  std::unique_ptr<RandomRWFile> f;
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  ASSERT_TRUE(f->Write(0, std::string(100, 'x')).ok());
  ASSERT_TRUE(f->Write(10, "y").ok());
  ASSERT_TRUE(f->Sync().ok());
  char scratch[100];
  std::string_view r;
  ASSERT_TRUE(f->Read(0, 100, &r, scratch).ok());
  EXPECT_EQ(1u, env_->CallCount(FaultOp::kOpen));
  EXPECT_EQ(2u, env_->CallCount(FaultOp::kAppend));
  EXPECT_EQ(1u, env_->CallCount(FaultOp::kSync));
  EXPECT_EQ(1u, env_->CallCount(FaultOp::kRead));
  EXPECT_EQ(0u, env_->CallCount(FaultOp::kClose));
  env_->CorruptReads(1.0, 5);
  ASSERT_TRUE(f->Read(0, 100, &r, scratch).ok());
  EXPECT_EQ(100u, r.size());
  std::string expected(100, 'x');
  expected[10] = 'y';
  EXPECT_NE(expected, r) << "one bit flipped";
  EXPECT_EQ(1u, env_->CorruptedReadCount());
  env_->ClearFaults();
  env_->ShortReads(1.0, 5);
  ASSERT_TRUE(f->Read(0, 100, &r, scratch).ok());
  EXPECT_LT(r.size(), 100u);
  EXPECT_EQ(expected.substr(0, r.size()), r);
  env_->ClearFaults();
  // Inactive: Close fails, the data stays as it was.
  env_->SetFilesystemActive(false);
  Status s = f->Close();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("filesystem inactive")) << s.ToString();
  env_->SetFilesystemActive(true);
  EXPECT_EQ(1u, env_->CallCount(FaultOp::kClose));
  EXPECT_EQ(expected, OnTarget("rw"));
  // An injected Close error is reported; the file is closed either way.
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  env_->FailNth(FaultOp::kClose, 1);
  s = f->Close();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.ToString().find("injected")) << s.ToString();
  EXPECT_FALSE(f->Write(0, "z").ok()) << "closed";
  // An injected Write error as ENOSPC is NoSpace and writes nothing.
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  env_->FailNth(FaultOp::kAppend, 1, FaultKind::kENOSPC);
  s = f->Write(0, "zzz");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(expected, OnTarget("rw"));
  // An injected Sync error leaves the writes unsynced.
  ASSERT_TRUE(f->Write(0, "zzz").ok());
  env_->FailNth(FaultOp::kSync, 1);
  EXPECT_FALSE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  Crash();
  EXPECT_EQ(expected, OnTarget("rw"));
}

// Space: a write past the end is charged the growth, gap included; what
// does not fit is cut; past the budget nothing is written; removing the
// file gives its whole size back.
TEST_P(FaultInjectionEnvTest, RandomRWFileSpaceChargesGrowthWithGap) {
  std::unique_ptr<RandomRWFile> f;
  ASSERT_TRUE(env_->NewRandomRWFile(Path("rw"), &f).ok());
  ASSERT_TRUE(f->Write(0, "0123456789").ok());
  env_->SetSpaceLimit(10);
  Status s = f->Write(15, "abcdefghij");  // growth 15: 10 fit, file ends at 20
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ("0123456789" + std::string(5, '\0') + "abcde", OnTarget("rw"));
  uint64_t left = 99;
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &left).ok());
  EXPECT_EQ(0u, left);
  EXPECT_EQ(1u, env_->NoSpaceCount());
  env_->AddSpace(3);
  s = f->Write(30, "xyz");  // the budget ends at 23, before offset 30
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(20u, OnTarget("rw").size()) << "nothing written, no growth";
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &left).ok());
  EXPECT_EQ(3u, left) << "an unused charge is given back";
  ASSERT_TRUE(f->Write(0, "overwrites are free").ok());
  ASSERT_TRUE(f->Write(20, "END").ok());  // exactly fits
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &left).ok());
  EXPECT_EQ(0u, left);
  ASSERT_TRUE(f->Close().ok());
  ASSERT_TRUE(env_->RemoveFile(Path("rw")).ok());
  ASSERT_TRUE(env_->GetFreeSpace(dir_, &left).ok());
  EXPECT_EQ(23u, left);
  env_->ClearSpaceLimit();
}

INSTANTIATE_TEST_SUITE_P(Targets, FaultInjectionEnvTest,
                         testing::Values(TargetKind::kPosix, TargetKind::kMem),
                         [](const testing::TestParamInfo<TargetKind>& info) {
                           return info.param == TargetKind::kPosix ? "Posix" : "Mem";
                         });

}  // namespace
}  // namespace lsmkv
