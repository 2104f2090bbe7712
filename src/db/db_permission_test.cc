// Permission denied: a read-only or unlistable database directory, or an
// unreadable CURRENT, MANIFEST, WAL or table, gives a clear error — an
// IOError saying "Permission denied" and naming the path — at Open (or, for
// a table, which Open does not read, at the first read of it), never a
// Corruption, never NotFound for a present key, never silence.
//
// On the real filesystem (PosixEnv, chmod) this needs a process without
// root's power to ignore permission bits: when the test runs as root, the
// checks run in a child process (a death-test child) that first drops to
// the unprivileged user nobody (uid/gid 65534); if it cannot, that test is
// skipped and says so. The same paths are also checked with FaultInjectionEnv
// returning EACCES-style errors, which works for any user.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

bool Contains(const Status& s, const std::string& text) {
  return s.ToString().find(text) != std::string::npos;
}

// A clear permission error naming path: an IOError (never Corruption: the
// database may be intact) that says "Permission denied" and names the file.
::testing::AssertionResult IsPermissionErrorNaming(const Status& s, const std::string& path) {
  if (s.ok()) return ::testing::AssertionFailure() << "OK, expected a permission error";
  if (!s.IsIOError()) return ::testing::AssertionFailure() << "not an IOError: " << s.ToString();
  if (!Contains(s, "Permission denied")) {
    return ::testing::AssertionFailure() << "does not say Permission denied: " << s.ToString();
  }
  if (!Contains(s, path)) {
    return ::testing::AssertionFailure() << "does not name " << path << ": " << s.ToString();
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------- PosixEnv

// A closed database with one table (keys "t0".."t99"), its MANIFEST and its
// (empty) live WAL.
struct PosixDb {
  std::string dir;
  std::string table;     // path of the table file
  std::string manifest;  // path of the MANIFEST
  std::string wal;       // path of the live WAL
};

std::string FindFile(const std::string& dir, const std::string& suffix_or_prefix, bool prefix) {
  std::vector<std::string> children;
  if (!Env::Default()->GetChildren(dir, &children).ok()) return "";
  for (const std::string& c : children) {
    const bool match = prefix ? c.rfind(suffix_or_prefix, 0) == 0
                              : c.size() > suffix_or_prefix.size() &&
                                    c.compare(c.size() - suffix_or_prefix.size(),
                                              suffix_or_prefix.size(), suffix_or_prefix) == 0;
    if (match) return dir + "/" + c;
  }
  return "";
}

// Returns "" on success, else what went wrong.
std::string MakePosixDb(const std::string& dir, PosixDb* out) {
  Options o;
  o.create_if_missing = true;
  std::unique_ptr<DB> db;
  Status s = DB::Open(o, dir, &db);
  if (!s.ok()) return "open: " + s.ToString();
  for (int i = 0; i < 100; i++) {
    if (!db->Put(WriteOptions(), "t" + std::to_string(i), "table value").ok()) return "put";
  }
  if (!db->Flush().ok()) return "flush";
  if (!db->Close().ok()) return "close";
  out->dir = dir;
  out->table = FindFile(dir, ".sst", false);
  out->manifest = FindFile(dir, "MANIFEST-", true);
  out->wal = FindFile(dir, ".log", false);
  if (out->table.empty() || out->manifest.empty() || out->wal.empty()) {
    return "no table, MANIFEST or WAL";
  }
  return "";
}

// Runs every real-filesystem check; returns the failures, one a line.
std::string PosixPermissionChecks() {
  std::string failures;
  auto check = [&failures](bool ok, const std::string& what) {
    if (!ok) failures += what + "\n";
  };
  auto expect_denied = [&](const Status& s, const std::string& path, const std::string& what) {
    ::testing::AssertionResult r = IsPermissionErrorNaming(s, path);
    check(static_cast<bool>(r), what + ": " + r.message());
  };
  const std::string root = test::NewTempDir("permission");
  Options create;
  create.create_if_missing = true;
  std::unique_ptr<DB> db;

  // 1. A read-only empty directory: nothing can be created in it.
  {
    const std::string dir = root + "/readonly-empty";
    check(::mkdir(dir.c_str(), 0555) == 0, "mkdir " + dir);
    Status s = DB::Open(create, dir, &db);
    expect_denied(s, dir, "Open in a read-only empty directory");
    std::printf("read-only empty directory: %s\n", s.ToString().c_str());
  }
  // 2. An existing database whose directory became read-only.
  {
    PosixDb p;
    const std::string error = MakePosixDb(root + "/readonly-db", &p);
    check(error.empty(), "building a database: " + error);
    check(::chmod(p.dir.c_str(), 0555) == 0, "chmod");
    Status s = DB::Open(Options(), p.dir, &db);
    expect_denied(s, p.dir, "Open of a database in a read-only directory");
    std::printf("read-only database directory: %s\n", s.ToString().c_str());
    ::chmod(p.dir.c_str(), 0755);
  }
  // 3. A directory that cannot be listed.
  {
    PosixDb p;
    const std::string error = MakePosixDb(root + "/unlistable", &p);
    check(error.empty(), "building a database: " + error);
    check(::chmod(p.dir.c_str(), 0311) == 0, "chmod");
    Status s = DB::Open(Options(), p.dir, &db);
    check(!s.ok(), "Open of an unlistable directory succeeded");
    check(s.ok() || (s.IsIOError() && Contains(s, p.dir)),
          "Open of an unlistable directory: " + s.ToString());
    std::printf("unlistable database directory: %s\n", s.ToString().c_str());
    ::chmod(p.dir.c_str(), 0755);
  }
  // 4-7. Unreadable CURRENT, MANIFEST, WAL, table.
  for (const char* which : {"CURRENT", "MANIFEST", "WAL", "table"}) {
    PosixDb p;
    const std::string error = MakePosixDb(root + "/unreadable-" + which, &p);
    check(error.empty(), "building a database: " + error);
    const std::string path = std::string(which) == "CURRENT"    ? p.dir + "/CURRENT"
                             : std::string(which) == "MANIFEST" ? p.manifest
                             : std::string(which) == "WAL"      ? p.wal
                                                                : p.table;
    check(::chmod(path.c_str(), 0) == 0, "chmod " + path);
    Status s = DB::Open(Options(), p.dir, &db);
    if (std::string(which) != "table") {
      expect_denied(s, path, std::string("Open with an unreadable ") + which);
      std::printf("unreadable %s: %s\n", which, s.ToString().c_str());
    } else if (!s.ok()) {
      expect_denied(s, path, "Open with an unreadable table");
      std::printf("unreadable table, at Open: %s\n", s.ToString().c_str());
    } else {
      // Open reads no table; the first read of one reports it.
      std::string value;
      Status g = db->Get(ReadOptions(), "t5", &value);
      expect_denied(g, path, "Get from an unreadable table");
      std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
      int n = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
      expect_denied(it->status(), path, "scan of an unreadable table");
      check(n == 0, "the scan yielded entries before the unreadable table");
      std::printf("unreadable table: Open OK, Get: %s\n", g.ToString().c_str());
      it.reset();
      db.reset();
      // A paranoid Open reads every table, so it reports it at Open.
      Options paranoid;
      paranoid.paranoid_checks = true;
      Status ps = DB::Open(paranoid, p.dir, &db);
      expect_denied(ps, path, "paranoid Open with an unreadable table");
      std::printf("unreadable table, paranoid Open: %s\n", ps.ToString().c_str());
      db.reset();
    }
    ::chmod(path.c_str(), 0644);
  }
  test::RemoveTree(root);
  return failures;
}

TEST(PermissionPosixTest, ClearErrorsNamingThePath) {
  if (::geteuid() != 0) {
    const std::string failures = PosixPermissionChecks();
    EXPECT_EQ("", failures);
    return;
  }
  // Root ignores permission bits: run the checks as nobody in a child.
  if (std::getenv("LSMKV_NO_SETUID_CHILD") != nullptr)
    GTEST_SKIP() << "disabled by the environment";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
          std::fprintf(stderr, "cannot drop privileges\n");
          std::_Exit(3);
        }
        ::setenv("TMPDIR", "/tmp", 1);
        const std::string failures = PosixPermissionChecks();
        std::fprintf(stderr, "%sCHECKS DONE\n", failures.c_str());
        std::fflush(stderr);
        std::_Exit(failures.empty() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "^CHECKS DONE\n$");
}

// ---------------------------------------------------------------- simulated

// Every Env operation of Open fails in turn with a permission error: Open
// fails with an IOError that says so and names a path of the database.
TEST(PermissionSimulatedTest, EveryOpenStepNamesThePath) {
  auto mem = NewMemEnv(Env::Default());
  {
    FaultInjectionEnv env(mem.get());
    Options o;
    o.env = &env;
    o.create_if_missing = true;
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(o, "/perm", &db).ok());
    ASSERT_TRUE(db->Put(WriteOptions(), "k", "v").ok());
    ASSERT_TRUE(db->Flush().ok());
    ASSERT_TRUE(db->Put(WriteOptions(), "k2", "v2").ok());
  }
  int steps = 0, named = 0, tolerated = 0;
  for (FaultOp op :
       {FaultOp::kCreateDir, FaultOp::kLock, FaultOp::kGetChildren, FaultOp::kOpen, FaultOp::kRead,
        FaultOp::kRename, FaultOp::kAppend, FaultOp::kSync, FaultOp::kSyncDir}) {
    for (uint64_t n = 1;; n++) {
      SCOPED_TRACE(std::string(FaultOpName(op)) + " call " + std::to_string(n));
      FaultInjectionEnv env(mem.get());
      Options o;
      o.env = &env;
      o.create_if_missing = true;
      std::string failed_file;
      env.SetInjectionObserver(
          [&failed_file](FaultOp, const std::string& what) { failed_file = what; });
      env.FailNth(op, n, FaultKind::kEACCES);
      std::unique_ptr<DB> db;
      Status s = DB::Open(o, "/perm", &db);
      if (env.InjectedCount() == 0) {
        ASSERT_TRUE(s.ok()) << s.ToString();
        break;
      }
      steps++;
      if (s.ok()) {
        tolerated++;  // e.g. the info log or the removal of leftovers
      } else {
        EXPECT_TRUE(IsPermissionErrorNaming(s, failed_file));
        named++;
      }
      db.reset();
      std::unique_ptr<DB> again;
      ASSERT_TRUE(DB::Open(o, "/perm", &again).ok());
      std::string v;
      ASSERT_TRUE(again->Get(ReadOptions(), "k", &v).ok());
      ASSERT_TRUE(again->Get(ReadOptions(), "k2", &v).ok());
    }
  }
  std::printf(
      "simulated permission errors at Open: %d steps failed, %d reported naming the path, "
      "%d tolerated\n",
      steps, named, tolerated);
  EXPECT_GT(named, 10);
}

}  // namespace
}  // namespace lsmkv
