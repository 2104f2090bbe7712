// One suite run over PosixEnv (in a temporary directory) and MemEnv.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "lsmkv/env.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

enum class EnvKind { kPosix, kMem };

std::string PatternData(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

class EnvTest : public testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    if (GetParam() == EnvKind::kPosix) {
      env_ = Env::Default();
      dir_ = test::NewTempDir("env_test");
    } else {
      mem_env_ = NewMemEnv(Env::Default());
      env_ = mem_env_.get();
      dir_ = "/mem/env_test";
      ASSERT_TRUE(env_->CreateDir("/mem").ok());
      ASSERT_TRUE(env_->CreateDir(dir_).ok());
    }
  }
  void TearDown() override {
    if (GetParam() == EnvKind::kPosix) test::RemoveTree(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string Contents(const std::string& fname) {
    std::string data;
    Status s = ReadFileToString(env_, fname, &data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }

  Env* env_ = nullptr;
  std::unique_ptr<Env> mem_env_;
  std::string dir_;
};

TEST_P(EnvTest, WriteThenReadSequentially) {
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &w).ok());
  ASSERT_TRUE(w->Append("hello ").ok());
  ASSERT_TRUE(w->Append("").ok());
  ASSERT_TRUE(w->Append("world").ok());
  ASSERT_TRUE(w->Sync().ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_FALSE(w->Append("late").ok()) << "append after close must fail";

  std::unique_ptr<SequentialFile> r;
  ASSERT_TRUE(env_->NewSequentialFile(Path("f"), &r).ok());
  char scratch[16];
  std::string_view piece;
  ASSERT_TRUE(r->Read(4, &piece, scratch).ok());
  EXPECT_EQ("hell", piece);
  ASSERT_TRUE(r->Skip(2).ok());
  ASSERT_TRUE(r->Read(16, &piece, scratch).ok());
  EXPECT_EQ("world", piece) << "short read at end of file";
  ASSERT_TRUE(r->Read(16, &piece, scratch).ok());
  EXPECT_TRUE(piece.empty());
  ASSERT_TRUE(r->Skip(100).ok()) << "skipping past the end is not an error";
  ASSERT_TRUE(r->Read(16, &piece, scratch).ok());
  EXPECT_TRUE(piece.empty());
}

TEST_P(EnvTest, LargeWritesCrossTheBuffer) {
  // Appends of mixed sizes, several larger than a 64 KiB buffer.
  std::string expected;
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("big"), &w).ok());
  std::mt19937 rng(7);
  const size_t sizes[] = {1, 100, 40000, 70000, 5, 200000, 32768, 65536, 3};
  for (size_t i = 0; i < 40; i++) {
    std::string piece = PatternData(sizes[rng() % std::size(sizes)], static_cast<uint32_t>(i));
    ASSERT_TRUE(w->Append(piece).ok());
    expected += piece;
    if (i % 7 == 0) {
      ASSERT_TRUE(w->Flush().ok());
    }
  }
  ASSERT_TRUE(w->Close().ok());
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(Path("big"), &size).ok());
  EXPECT_EQ(expected.size(), size);
  EXPECT_TRUE(Contents(Path("big")) == expected);
}

TEST_P(EnvTest, AppendableFileKeepsContents) {
  ASSERT_TRUE(WriteStringToFile(env_, "abc", Path("a"), false).ok());
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewAppendableFile(Path("a"), &w).ok());
  ASSERT_TRUE(w->Append("def").ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ("abcdef", Contents(Path("a")));

  ASSERT_TRUE(env_->NewAppendableFile(Path("fresh"), &w).ok()) << "creates a missing file";
  ASSERT_TRUE(w->Append("x").ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ("x", Contents(Path("fresh")));
}

TEST_P(EnvTest, WritableFileTruncates) {
  ASSERT_TRUE(WriteStringToFile(env_, "a long old content", Path("t"), true).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "new", Path("t"), true).ok());
  EXPECT_EQ("new", Contents(Path("t")));
}

TEST_P(EnvTest, RandomAccessReads) {
  const std::string data = PatternData(10000, 1);
  ASSERT_TRUE(WriteStringToFile(env_, data, Path("r"), false).ok());
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("r"), &r).ok());
  std::string scratch(200, '\0');
  std::string_view piece;
  ASSERT_TRUE(r->Read(5000, 100, &piece, scratch.data()).ok());
  EXPECT_TRUE(piece == std::string_view(data).substr(5000, 100));
  ASSERT_TRUE(r->Read(0, 10, &piece, scratch.data()).ok());
  EXPECT_TRUE(piece == std::string_view(data).substr(0, 10));
  ASSERT_TRUE(r->Read(9950, 200, &piece, scratch.data()).ok());
  EXPECT_EQ(50u, piece.size()) << "short read at end of file";
  EXPECT_TRUE(piece == std::string_view(data).substr(9950));
  ASSERT_TRUE(r->Read(20000, 10, &piece, scratch.data()).ok());
  EXPECT_TRUE(piece.empty());
}

TEST_P(EnvTest, MissingFileIsPathNotFound) {
  const std::string missing = Path("no-such-file");
  std::unique_ptr<SequentialFile> s;
  Status st = env_->NewSequentialFile(missing, &s);
  EXPECT_TRUE(st.IsIOError());
  EXPECT_EQ(Status::SubCode::kPathNotFound, st.subcode());
  EXPECT_NE(std::string::npos, st.ToString().find(missing)) << st.ToString();
  EXPECT_EQ(nullptr, s);

  std::unique_ptr<RandomAccessFile> r;
  st = env_->NewRandomAccessFile(missing, &r);
  EXPECT_EQ(Status::SubCode::kPathNotFound, st.subcode());
  uint64_t size = 123;
  st = env_->GetFileSize(missing, &size);
  EXPECT_EQ(Status::SubCode::kPathNotFound, st.subcode());
  st = env_->RemoveFile(missing);
  EXPECT_EQ(Status::SubCode::kPathNotFound, st.subcode());
  st = env_->RenameFile(missing, Path("x"));
  EXPECT_EQ(Status::SubCode::kPathNotFound, st.subcode());
  std::vector<std::string> children;
  st = env_->GetChildren(Path("no-such-dir"), &children);
  EXPECT_EQ(Status::SubCode::kPathNotFound, st.subcode());
  EXPECT_FALSE(env_->FileExists(missing));
  std::string data;
  EXPECT_FALSE(ReadFileToString(env_, missing, &data).ok());
}

TEST_P(EnvTest, GetChildrenListsDirectEntries) {
  std::vector<std::string> children;
  ASSERT_TRUE(env_->GetChildren(dir_, &children).ok());
  EXPECT_TRUE(children.empty());
  for (const char* name : {"a", "b", "c.log"}) {
    ASSERT_TRUE(WriteStringToFile(env_, name, Path(name), false).ok());
  }
  ASSERT_TRUE(env_->CreateDir(Path("sub")).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "deep", Path("sub/inner"), false).ok());
  ASSERT_TRUE(env_->GetChildren(dir_, &children).ok());
  std::sort(children.begin(), children.end());
  EXPECT_EQ((std::vector<std::string>{"a", "b", "c.log", "sub"}), children);
  ASSERT_TRUE(env_->GetChildren(Path("sub"), &children).ok());
  EXPECT_EQ((std::vector<std::string>{"inner"}), children);
}

TEST_P(EnvTest, Directories) {
  ASSERT_TRUE(env_->CreateDir(Path("d")).ok());
  EXPECT_TRUE(env_->CreateDir(Path("d")).ok()) << "existing directory is OK";
  EXPECT_TRUE(env_->FileExists(Path("d")));
  ASSERT_TRUE(env_->SyncDir(Path("d")).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "x", Path("d/f"), false).ok());
  EXPECT_FALSE(env_->RemoveDir(Path("d")).ok()) << "not empty";
  ASSERT_TRUE(env_->RemoveFile(Path("d/f")).ok());
  ASSERT_TRUE(env_->RemoveDir(Path("d")).ok());
  EXPECT_FALSE(env_->FileExists(Path("d")));
  EXPECT_FALSE(env_->SyncDir(Path("d")).ok());

  ASSERT_TRUE(WriteStringToFile(env_, "x", Path("plain"), false).ok());
  EXPECT_FALSE(env_->CreateDir(Path("plain")).ok()) << "a file is in the way";
}

TEST_P(EnvTest, RenameReplacesTarget) {
  ASSERT_TRUE(WriteStringToFile(env_, "source", Path("src"), false).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "old target", Path("dst"), false).ok());
  ASSERT_TRUE(env_->RenameFile(Path("src"), Path("dst")).ok());
  EXPECT_FALSE(env_->FileExists(Path("src")));
  EXPECT_EQ("source", Contents(Path("dst")));
  ASSERT_TRUE(env_->RenameFile(Path("dst"), Path("other")).ok());
  EXPECT_FALSE(env_->FileExists(Path("dst")));
  EXPECT_EQ("source", Contents(Path("other")));
}

TEST_P(EnvTest, RemoveFileAndSize) {
  ASSERT_TRUE(WriteStringToFile(env_, std::string(12345, 'z'), Path("f"), false).ok());
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(Path("f"), &size).ok());
  EXPECT_EQ(12345u, size);
  EXPECT_TRUE(env_->FileExists(Path("f")));
  ASSERT_TRUE(env_->RemoveFile(Path("f")).ok());
  EXPECT_FALSE(env_->FileExists(Path("f")));
  EXPECT_FALSE(env_->RemoveFile(Path("f")).ok());
}

TEST_P(EnvTest, OpenFileOutlivesRemoval) {
  ASSERT_TRUE(WriteStringToFile(env_, "still here", Path("f"), false).ok());
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("f"), &r).ok());
  ASSERT_TRUE(env_->RemoveFile(Path("f")).ok());
  char scratch[32];
  std::string_view piece;
  ASSERT_TRUE(r->Read(0, sizeof(scratch), &piece, scratch).ok());
  EXPECT_EQ("still here", piece);
}

TEST_P(EnvTest, LinkSharesContents) {
  ASSERT_TRUE(WriteStringToFile(env_, "shared", Path("orig"), false).ok());
  ASSERT_TRUE(env_->LinkFile(Path("orig"), Path("link")).ok());
  EXPECT_FALSE(env_->LinkFile(Path("orig"), Path("link")).ok()) << "target exists";
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewAppendableFile(Path("link"), &w).ok());
  ASSERT_TRUE(w->Append("+more").ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ("shared+more", Contents(Path("orig")));
  ASSERT_TRUE(env_->RemoveFile(Path("orig")).ok());
  EXPECT_EQ("shared+more", Contents(Path("link")));
}

TEST_P(EnvTest, LockTwiceFailsNamingTheFile) {
  const std::string lock_name = Path("LOCK");
  FileLock* lock = nullptr;
  ASSERT_TRUE(env_->LockFile(lock_name, &lock).ok());
  ASSERT_NE(nullptr, lock);
  EXPECT_TRUE(env_->FileExists(lock_name));

  FileLock* second = nullptr;
  Status s = env_->LockFile(lock_name, &second);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(std::string::npos, s.ToString().find(lock_name)) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("already held")) << s.ToString();
  EXPECT_EQ(nullptr, second);

  FileLock* other = nullptr;
  ASSERT_TRUE(env_->LockFile(Path("LOCK2"), &other).ok()) << "other files are independent";
  ASSERT_TRUE(env_->UnlockFile(other).ok());

  ASSERT_TRUE(env_->UnlockFile(lock).ok());
  ASSERT_TRUE(env_->LockFile(lock_name, &lock).ok()) << "relock after unlock";
  ASSERT_TRUE(env_->UnlockFile(lock).ok());
}

TEST_P(EnvTest, ScheduleRunsInOrder) {
  constexpr int kCount = 200;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  for (int i = 0; i < kCount; i++) {
    env_->Schedule([&, i] {
      std::lock_guard<std::mutex> guard(mu);
      order.push_back(i);
      if (order.size() == kCount) cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return order.size() == kCount; }));
  for (int i = 0; i < kCount; i++) ASSERT_EQ(i, order[i]);
}

TEST_P(EnvTest, StartThreadRunsFunction) {
  std::mutex mu;
  std::condition_variable cv;
  std::thread::id ran_on;
  bool done = false;
  env_->StartThread([&] {
    std::lock_guard<std::mutex> guard(mu);
    ran_on = std::this_thread::get_id();
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
  EXPECT_NE(std::this_thread::get_id(), ran_on);
}

TEST_P(EnvTest, ClockIsMonotonicAndSleeps) {
  uint64_t start = env_->NowMicros();
  env_->SleepForMicroseconds(20000);
  uint64_t end = env_->NowMicros();
  EXPECT_GE(end - start, 20000u);
  EXPECT_LT(end - start, 5000000u);
}

TEST_P(EnvTest, ConcurrentRandomReads) {
  const std::string data = PatternData(1 << 20, 3);
  ASSERT_TRUE(WriteStringToFile(env_, data, Path("shared"), false).ok());
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("shared"), &r).ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      std::string scratch(4096, '\0');
      for (int i = 0; i < 500; i++) {
        uint64_t offset = rng() % data.size();
        size_t n = 1 + rng() % scratch.size();
        std::string_view piece;
        if (!r->Read(offset, n, &piece, scratch.data()).ok() ||
            piece != std::string_view(data).substr(offset, n)) {
          mismatches++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(0, mismatches.load());
}

TEST_P(EnvTest, ReadsWhileAppending) {
  // One writer appends and flushes; readers only read what was flushed.
  const std::string data = PatternData(400000, 5);
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("growing"), &w).ok());
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("growing"), &r).ok());
  std::atomic<size_t> flushed{0};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; t++) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(200 + t);
      std::string scratch(1000, '\0');
      while (flushed.load() < data.size()) {
        size_t limit = flushed.load();
        if (limit == 0) continue;
        uint64_t offset = rng() % limit;
        size_t n = std::min<size_t>(1 + rng() % scratch.size(), limit - offset);
        std::string_view piece;
        if (!r->Read(offset, n, &piece, scratch.data()).ok() ||
            piece != std::string_view(data).substr(offset, n)) {
          mismatches++;
        }
      }
    });
  }
  for (size_t pos = 0; pos < data.size(); pos += 1000) {
    ASSERT_TRUE(w->Append(std::string_view(data).substr(pos, 1000)).ok());
    ASSERT_TRUE(w->Flush().ok());
    flushed.store(std::min(pos + 1000, data.size()));
  }
  for (auto& th : readers) th.join();
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(0, mismatches.load());
}

// env.h: Sync may be called from another thread concurrently with Append/Flush.
TEST_P(EnvTest, SyncConcurrentWithAppends) {
  std::unique_ptr<WritableFile> w;
  ASSERT_TRUE(env_->NewWritableFile(Path("wal"), &w).ok());
  std::atomic<bool> done{false};
  std::atomic<int> syncs{0};
  std::atomic<int> sync_errors{0};
  std::thread syncer([&] {
    while (!done.load()) {
      if (w->Sync().ok()) {
        syncs++;
      } else {
        sync_errors++;
      }
    }
  });
  std::string expected;
  for (int i = 0; i < 3000 || syncs.load() < 5; i++) {
    // Mixed sizes so that appends both fill and bypass a 64 KiB buffer.
    std::string rec = PatternData(i % 50 == 0 ? 70000 : 1 + i % 300, static_cast<uint32_t>(i));
    ASSERT_TRUE(w->Append(rec).ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(w->Flush().ok());
    }
    expected += rec;
  }
  done.store(true);
  syncer.join();
  EXPECT_EQ(0, sync_errors.load());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_TRUE(Contents(Path("wal")) == expected);
}

TEST_P(EnvTest, WriteAndReadStringHelpers) {
  const std::string data = PatternData(200000, 9);
  ASSERT_TRUE(WriteStringToFile(env_, data, Path("s"), true).ok());
  std::string back = "junk that must be replaced";
  ASSERT_TRUE(ReadFileToString(env_, Path("s"), &back).ok());
  EXPECT_TRUE(back == data);
  ASSERT_TRUE(WriteStringToFile(env_, "", Path("empty"), false).ok());
  ASSERT_TRUE(ReadFileToString(env_, Path("empty"), &back).ok());
  EXPECT_TRUE(back.empty());
}

// RandomRWFile: writes land at their offsets (overwrite, extend, a gap
// reads as zeros), are visible at once to the file's own reads and to the
// other kinds of file opened on the name, and survive a reopen.
TEST_P(EnvTest, RandomRWFileWritesInPlace) {
  const std::string name = Path("rw");
  std::unique_ptr<RandomRWFile> f;
  ASSERT_TRUE(env_->NewRandomRWFile(name, &f).ok());
  ASSERT_TRUE(env_->FileExists(name)) << "created empty";
  uint64_t size = 99;
  ASSERT_TRUE(env_->GetFileSize(name, &size).ok());
  EXPECT_EQ(0u, size);
  char scratch[64];
  std::string_view r;
  ASSERT_TRUE(f->Read(0, 8, &r, scratch).ok());
  EXPECT_EQ("", r);
  ASSERT_TRUE(f->Write(0, "0123456789").ok());
  ASSERT_TRUE(f->Write(3, "abc").ok());    // overwrite inside
  ASSERT_TRUE(f->Write(8, "XYZW").ok());   // overwrite and extend
  ASSERT_TRUE(f->Write(20, "tail").ok());  // gap of 8 bytes
  const std::string expected = "012abc67XYZW" + std::string(8, '\0') + "tail";
  ASSERT_TRUE(f->Read(0, sizeof(scratch), &r, scratch).ok());
  EXPECT_EQ(expected, r) << "short only at the end";
  ASSERT_TRUE(f->Read(10, 4, &r, scratch).ok());
  EXPECT_EQ(std::string("ZW\0\0", 4), r);
  ASSERT_TRUE(f->Read(22, 10, &r, scratch).ok());
  EXPECT_EQ("il", r);
  ASSERT_TRUE(f->Read(100, 10, &r, scratch).ok());
  EXPECT_EQ("", r);
  ASSERT_TRUE(env_->GetFileSize(name, &size).ok());
  EXPECT_EQ(expected.size(), size);
  // Other file kinds on the same name see the writes (no buffering).
  EXPECT_EQ(expected, Contents(name));
  std::unique_ptr<RandomAccessFile> ra;
  ASSERT_TRUE(env_->NewRandomAccessFile(name, &ra).ok());
  ASSERT_TRUE(ra->Read(3, 9, &r, scratch).ok());
  EXPECT_EQ("abc67XYZW", r);
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_FALSE(f->Write(0, "x").ok()) << "closed";
  EXPECT_FALSE(f->Sync().ok()) << "closed";
  EXPECT_FALSE(f->Read(0, 1, &r, scratch).ok()) << "closed";
  f.reset();
  EXPECT_EQ(expected, Contents(name)) << "Close keeps the contents";
  // Reopening keeps the contents (no truncation); a later write is seen.
  ASSERT_TRUE(env_->NewRandomRWFile(name, &f).ok());
  ASSERT_TRUE(f->Read(0, sizeof(scratch), &r, scratch).ok());
  EXPECT_EQ(expected, r);
  ASSERT_TRUE(f->Write(0, "Q").ok());
  ASSERT_TRUE(f->Sync().ok());
  f.reset();  // destroying closes
  EXPECT_EQ("Q" + expected.substr(1), Contents(name));
  // A directory is no file to write in place.
  EXPECT_FALSE(env_->NewRandomRWFile(dir_, &f).ok());
  EXPECT_EQ(nullptr, f);
}

// Large writes at far offsets, overwritten in part, read back exactly.
TEST_P(EnvTest, RandomRWFileLargeWritesAtOffsets) {
  std::unique_ptr<RandomRWFile> f;
  ASSERT_TRUE(env_->NewRandomRWFile(Path("big"), &f).ok());
  const std::string a = PatternData(300 * 1024, 1), b = PatternData(70 * 1024, 2);
  ASSERT_TRUE(f->Write(4096, a).ok());
  ASSERT_TRUE(f->Write(100 * 1024, b).ok());
  std::string expected = std::string(4096, '\0') + a;
  expected.replace(100 * 1024, b.size(), b);
  std::string scratch(expected.size() + 10, '\0');
  std::string_view r;
  ASSERT_TRUE(f->Read(0, scratch.size(), &r, scratch.data()).ok());
  EXPECT_TRUE(r == expected);
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_TRUE(Contents(Path("big")) == expected);
}

INSTANTIATE_TEST_SUITE_P(Envs, EnvTest, testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const testing::TestParamInfo<EnvKind>& info) {
                           return info.param == EnvKind::kPosix ? "Posix" : "Mem";
                         });

}  // namespace
}  // namespace lsmkv
