#include "base/filename.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lsmkv/env.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

// The name of path relative to its directory dbname.
std::string Base(const std::string& dbname, const std::string& path) {
  EXPECT_EQ(path.compare(0, dbname.size() + 1, dbname + "/"), 0) << path;
  return path.substr(dbname.size() + 1);
}

TEST(FileNameTest, NamesHaveDocumentedForm) {
  EXPECT_EQ(LogFileName("db", 123), "db/000123.log");
  EXPECT_EQ(TableFileName("/a/b", 7), "/a/b/000007.sst");
  EXPECT_EQ(DescriptorFileName("db", 5), "db/MANIFEST-000005");
  EXPECT_EQ(OptionsFileName("db", 7), "db/OPTIONS-000007");
  EXPECT_EQ(TempFileName("db", 9), "db/000009.dbtmp");
  EXPECT_EQ(CurrentFileName("db"), "db/CURRENT");
  EXPECT_EQ(LockFileName("db"), "db/LOCK");
  EXPECT_EQ(InfoLogFileName("db"), "db/LOG");
  EXPECT_EQ(OldInfoLogFileName("db"), "db/LOG.old");
  // Padding is a minimum width, never a truncation.
  EXPECT_EQ(LogFileName("db", 0), "db/000000.log");
  EXPECT_EQ(LogFileName("db", 1234567), "db/1234567.log");
  EXPECT_EQ(TableFileName("db", UINT64_MAX), "db/18446744073709551615.sst");
}

struct Numbered {
  std::string (*make)(const std::string&, uint64_t);
  FileType type;
};

const Numbered kNumbered[] = {
    {LogFileName, FileType::kLogFile},
    {TableFileName, FileType::kTableFile},
    {DescriptorFileName, FileType::kDescriptorFile},
    {OptionsFileName, FileType::kOptionsFile},
    {TempFileName, FileType::kTempFile},
};

void ExpectParses(const std::string& name, uint64_t want_number, FileType want_type) {
  uint64_t number = ~want_number;  // anything else, so the test sees it written
  FileType type = want_type == FileType::kLogFile ? FileType::kTableFile : FileType::kLogFile;
  ASSERT_TRUE(ParseFileName(name, &number, &type)) << name;
  EXPECT_EQ(number, want_number) << name;
  EXPECT_EQ(type, want_type) << name;
}

TEST(FileNameTest, NumberedNamesRoundTrip) {
  std::vector<uint64_t> numbers = {0,         1, 5, 999999, 1000000, 4294967296, UINT64_MAX - 1,
                                   UINT64_MAX};
  Random rnd(test::TestSeed());
  for (int i = 0; i < 200; i++) numbers.push_back(rnd.OneIn(2) ? rnd.Next64() : rnd.Skewed(32));
  for (const Numbered& n : kNumbered) {
    for (uint64_t number : numbers) {
      ExpectParses(Base("dir", n.make("dir", number)), number, n.type);
    }
  }
}

TEST(FileNameTest, FixedNamesParseWithNumberZero) {
  ExpectParses(Base("d", CurrentFileName("d")), 0, FileType::kCurrentFile);
  ExpectParses(Base("d", LockFileName("d")), 0, FileType::kLockFile);
  ExpectParses(Base("d", InfoLogFileName("d")), 0, FileType::kInfoLogFile);
  ExpectParses(Base("d", OldInfoLogFileName("d")), 0, FileType::kInfoLogFile);
}

TEST(FileNameTest, AcceptsUnpaddedAndOverPaddedNumbers) {
  ExpectParses("5.log", 5, FileType::kLogFile);
  ExpectParses("MANIFEST-5", 5, FileType::kDescriptorFile);
  ExpectParses(std::string(40, '0') + "42.sst", 42, FileType::kTableFile);
  ExpectParses("18446744073709551615.dbtmp", UINT64_MAX, FileType::kTempFile);
}

TEST(FileNameTest, RejectsEverythingElse) {
  const std::vector<std::string> bad = {
      "",
      "123.log.bak",
      "MANIFEST-",
      "MANIFEST-12x",
      "MANIFEST--1",
      "MANIFEST-0x10",
      "MANIFEST- 5",
      "MANIFEST-5 ",
      "manifest-5",
      "OPTIONS-",
      "OPTIONS-1a",
      "18446744073709551616.log",  // UINT64_MAX + 1
      "99999999999999999999.sst",
      "MANIFEST-100000000000000000000",
      ".log",
      "123.",
      "123",
      "123log",
      "abc.log",
      "-1.log",
      "+5.log",
      " 5.log",
      "5.LOG",
      "5.sst\n",
      "5.tmp",
      "5..log",
      std::string("5\0.log", 6),
      std::string("CURRENT\0", 8),
      "CURRENTX",
      "current",
      "CURRENT.old",
      "LOCK ",
      "LOG.",
      "LOG.old.1",
      "LOG.OLD",
      "OLD.LOG",
      "/db/000005.log",  // a path, not a name
  };
  for (const std::string& name : bad) {
    uint64_t number = 77;
    FileType type = FileType::kOptionsFile;
    EXPECT_FALSE(ParseFileName(name, &number, &type)) << "accepted \"" << name << "\"";
    EXPECT_EQ(number, 77u) << name;
    EXPECT_EQ(type, FileType::kOptionsFile) << name;
  }
}

// ---------------------------------------------------------------- CURRENT

// Fails the chosen step of SetCurrentFile.
class FaultEnv : public EnvWrapper {
 public:
  explicit FaultEnv(Env* base) : EnvWrapper(base) {}

  bool fail_new_writable = false;
  bool fail_append = false;
  bool fail_sync = false;
  bool fail_close = false;
  bool fail_rename = false;
  bool fail_sync_dir = false;

  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    if (fail_new_writable) return Status::IOError(f, "injected open failure");
    Status s = target()->NewWritableFile(f, r);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), this);
    return s;
  }
  Status RenameFile(const std::string& s, const std::string& t) override {
    if (fail_rename) return Status::IOError(s, "injected rename failure");
    return target()->RenameFile(s, t);
  }
  Status SyncDir(const std::string& d) override {
    if (fail_sync_dir) return Status::IOError(d, "injected directory sync failure");
    return target()->SyncDir(d);
  }

 private:
  class File : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> base, FaultEnv* env) : base_(std::move(base)), env_(env) {}
    Status Append(std::string_view data) override {
      if (env_->fail_append) return Status::NoSpace("append", "injected");
      return base_->Append(data);
    }
    Status Flush() override { return base_->Flush(); }
    Status Sync() override {
      if (env_->fail_sync) return Status::IOError("sync", "injected");
      return base_->Sync();
    }
    Status Close() override {
      if (env_->fail_close) return Status::IOError("close", "injected");
      return base_->Close();
    }

   private:
    std::unique_ptr<WritableFile> base_;
    FaultEnv* env_;
  };
};

enum class EnvKind { kPosix, kMem };

class CurrentFileTest : public testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    if (GetParam() == EnvKind::kPosix) {
      env_ = Env::Default();
      dbname_ = test::NewTempDir("filename");
    } else {
      mem_env_ = NewMemEnv(Env::Default());
      env_ = mem_env_.get();
      dbname_ = "/mem/filename_test";
      ASSERT_TRUE(env_->CreateDir("/mem").ok());
      ASSERT_TRUE(env_->CreateDir(dbname_).ok());
    }
  }
  void TearDown() override {
    if (GetParam() == EnvKind::kPosix) test::RemoveTree(dbname_);
  }

  void WriteFile(const std::string& fname, std::string_view data) {
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(env_->NewWritableFile(fname, &file).ok()) << fname;
    ASSERT_TRUE(file->Append(data).ok());
    ASSERT_TRUE(file->Close().ok());
  }
  std::string ReadFile(const std::string& fname) {
    std::string data;
    Status s = ReadFileToString(env_, fname, &data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }
  std::vector<std::string> Children() {
    std::vector<std::string> names;
    Status s = env_->GetChildren(dbname_, &names);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::sort(names.begin(), names.end());
    return names;
  }
  // Expects Corruption naming CURRENT (and needle) for a CURRENT holding data.
  void ExpectCorrupt(std::string_view data, const std::string& needle = "CURRENT") {
    WriteFile(CurrentFileName(dbname_), data);
    std::string name = "unchanged";
    Status s = ReadCurrentFile(env_, dbname_, &name);
    EXPECT_TRUE(s.IsCorruption()) << "CURRENT=\"" << data << "\": " << s.ToString();
    EXPECT_NE(s.ToString().find("CURRENT"), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find(needle), std::string::npos) << s.ToString();
    EXPECT_EQ(name, "unchanged");
  }

  Env* env_ = nullptr;
  std::unique_ptr<Env> mem_env_;
  std::string dbname_;
};

TEST_P(CurrentFileTest, SetThenReadRoundTrips) {
  WriteFile(DescriptorFileName(dbname_, 5), "m5");
  ASSERT_TRUE(SetCurrentFile(env_, dbname_, 5).ok());
  EXPECT_EQ(ReadFile(CurrentFileName(dbname_)), "MANIFEST-000005\n");
  std::string name;
  ASSERT_TRUE(ReadCurrentFile(env_, dbname_, &name).ok());
  EXPECT_EQ(name, "MANIFEST-000005");

  // Switching to another MANIFEST replaces CURRENT and leaves no temp file.
  WriteFile(DescriptorFileName(dbname_, 1234567), "m");
  ASSERT_TRUE(SetCurrentFile(env_, dbname_, 1234567).ok());
  Status s = ReadCurrentFile(env_, dbname_, &name);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(name, "MANIFEST-1234567");
  EXPECT_EQ(Children(),
            (std::vector<std::string>{"CURRENT", "MANIFEST-000005", "MANIFEST-1234567"}));
}

TEST_P(CurrentFileTest, MissingCurrentIsNotCorruption) {
  std::string name = "unchanged";
  Status s = ReadCurrentFile(env_, dbname_, &name);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(name, "unchanged");
}

TEST_P(CurrentFileTest, MalformedCurrentIsCorruption) {
  WriteFile(DescriptorFileName(dbname_, 5), "m5");
  ExpectCorrupt("", "empty");
  ExpectCorrupt("MANIFEST-000005", "newline");
  ExpectCorrupt("MANIFEST-000005\n\n");
  ExpectCorrupt("MANIFEST-000005\r\n");
  ExpectCorrupt("MANIFEST-000005\nMANIFEST-000006\n");
  ExpectCorrupt(" MANIFEST-000005\n");
  ExpectCorrupt("\n");
  ExpectCorrupt("garbage\n", "garbage");
  ExpectCorrupt("MANIFEST-\n");
  ExpectCorrupt("MANIFEST-5x\n");
  ExpectCorrupt("MANIFEST-99999999999999999999999\n");
  ExpectCorrupt("000005.log\n");
  ExpectCorrupt("CURRENT\n");
  ExpectCorrupt(std::string("MANIFEST-000005\0\n", 17));
  ExpectCorrupt("db/MANIFEST-000005\n");
  ExpectCorrupt(std::string(100000, 'M') + "\n", "longer than");
  // A valid name must also exist; the message names the missing file.
  ExpectCorrupt("MANIFEST-000077\n", "MANIFEST-000077");
}

TEST_P(CurrentFileTest, UnpaddedNameIsAccepted) {
  WriteFile(dbname_ + "/MANIFEST-5", "m");
  WriteFile(CurrentFileName(dbname_), "MANIFEST-5\n");
  std::string name;
  Status s = ReadCurrentFile(env_, dbname_, &name);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(name, "MANIFEST-5");
}

TEST_P(CurrentFileTest, FailedStepLeavesCurrentAndNoTempFile) {
  WriteFile(DescriptorFileName(dbname_, 3), "m3");
  WriteFile(DescriptorFileName(dbname_, 8), "m8");
  ASSERT_TRUE(SetCurrentFile(env_, dbname_, 3).ok());
  const std::vector<std::string> before = Children();

  bool FaultEnv::*const steps[] = {&FaultEnv::fail_new_writable, &FaultEnv::fail_append,
                                   &FaultEnv::fail_sync, &FaultEnv::fail_close,
                                   &FaultEnv::fail_rename};
  for (bool FaultEnv::*step : steps) {
    FaultEnv fault(env_);
    fault.*step = true;
    Status s = SetCurrentFile(&fault, dbname_, 8);
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_NE(s.ToString().find("injected"), std::string::npos) << s.ToString();
    EXPECT_EQ(ReadFile(CurrentFileName(dbname_)), "MANIFEST-000003\n");
    EXPECT_EQ(Children(), before);
    EXPECT_FALSE(env_->FileExists(TempFileName(dbname_, 8)));
  }

  // The rename happened but was not made durable: the error is reported.
  FaultEnv fault(env_);
  fault.fail_sync_dir = true;
  Status s = SetCurrentFile(&fault, dbname_, 8);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.ToString().find("directory sync"), std::string::npos) << s.ToString();
  EXPECT_FALSE(env_->FileExists(TempFileName(dbname_, 8)));
}

TEST(CurrentFilePosixTest, MissingDirectoryFails) {
  const std::string dir = test::NewTempDir("filename");
  const std::string missing = dir + "/no/such/dir";
  Status s = SetCurrentFile(Env::Default(), missing, 1);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(Env::Default()->FileExists(CurrentFileName(missing)));
  std::string name = "unchanged";
  s = ReadCurrentFile(Env::Default(), missing, &name);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(name, "unchanged");
  test::RemoveTree(dir);
}

INSTANTIATE_TEST_SUITE_P(Envs, CurrentFileTest, testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const testing::TestParamInfo<EnvKind>& info) {
                           return info.param == EnvKind::kPosix ? "Posix" : "Mem";
                         });

}  // namespace
}  // namespace lsmkv
