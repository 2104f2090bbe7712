// PosixEnv-only behaviour: errno mapping, cross-process locking, preallocated
// and mapped writes.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lsmkv/env.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

class PosixEnvTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = test::NewTempDir("posix_env_test"); }
  void TearDown() override { test::RemoveTree(dir_); }

  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(PosixEnvTest, DefaultIsASingleton) { EXPECT_EQ(Env::Default(), Env::Default()); }

TEST_F(PosixEnvTest, EnoentMessageNamesFileAndReason) {
  const std::string missing = dir_ + "/absent";
  std::unique_ptr<SequentialFile> file;
  Status s = env_->NewSequentialFile(missing, &file);
  ASSERT_TRUE(s.IsIOError());
  EXPECT_EQ(Status::SubCode::kPathNotFound, s.subcode());
  EXPECT_FALSE(s.IsNoSpace());
  EXPECT_NE(std::string::npos, s.ToString().find(missing)) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("No such file")) << s.ToString();
  s = env_->SyncDir(dir_ + "/absent-dir");
  EXPECT_EQ(Status::SubCode::kPathNotFound, s.subcode());
}

TEST_F(PosixEnvTest, EnospcIsNoSpace) {
  // Every write to /dev/full fails with ENOSPC.
  ASSERT_TRUE(env_->FileExists("/dev/full"));
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewAppendableFile("/dev/full", &file).ok());
  ASSERT_TRUE(file->Append("data").ok()) << "buffered, not yet written";
  Status s = file->Flush();
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("/dev/full")) << s.ToString();
  EXPECT_TRUE(file->Close().ok()) << "nothing left to flush";
}

// RandomRWFile errors go through the same mapping and name the file.
TEST_F(PosixEnvTest, RandomRWFileErrorsNameTheFile) {
  std::unique_ptr<RandomRWFile> file;
  const std::string missing = dir_ + "/absent-dir/BTREE";
  Status s = env_->NewRandomRWFile(missing, &file);
  EXPECT_EQ(Status::SubCode::kPathNotFound, s.subcode()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find(missing)) << s.ToString();
  EXPECT_EQ(nullptr, file);
  // Every write to /dev/full fails with ENOSPC: unbuffered, so at once.
  ASSERT_TRUE(env_->NewRandomRWFile("/dev/full", &file).ok());
  s = file->Write(0, "data");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("/dev/full")) << s.ToString();
  ASSERT_TRUE(file->Close().ok());
  EXPECT_TRUE(file->Close().ok()) << "closing twice is harmless";
  s = file->Sync();
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(std::string::npos, s.ToString().find("/dev/full")) << s.ToString();
}

// The file is created with mode 0644 (before the umask) and reopening it
// does not truncate it; a write past the end leaves a hole of zeros.
TEST_F(PosixEnvTest, RandomRWFileCreatesKeepsAndExtends) {
  const std::string name = dir_ + "/BTREE";
  const mode_t old_umask = ::umask(022);
  std::unique_ptr<RandomRWFile> file;
  ASSERT_TRUE(env_->NewRandomRWFile(name, &file).ok());
  ::umask(old_umask);
  struct stat st;
  ASSERT_EQ(0, ::stat(name.c_str(), &st));
  EXPECT_EQ(0644u, st.st_mode & 0777);
  ASSERT_TRUE(file->Write(1 << 20, "end").ok());
  ASSERT_TRUE(file->Write(0, "start").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(env_->NewRandomRWFile(name, &file).ok());
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(name, &size).ok());
  EXPECT_EQ((1u << 20) + 3, size);
  char scratch[16];
  std::string_view r;
  ASSERT_TRUE(file->Read(0, 8, &r, scratch).ok());
  EXPECT_EQ(std::string("start\0\0\0", 8), r);
  ASSERT_TRUE(file->Read((1 << 20) - 2, 16, &r, scratch).ok());
  EXPECT_EQ(std::string("\0\0end", 5), r);
}

TEST_F(PosixEnvTest, OtherErrorsArePlainIOError) {
  const std::string file_path = dir_ + "/plain";
  ASSERT_TRUE(WriteStringToFile(env_, "x", file_path, false).ok());
  std::vector<std::string> children;
  Status s = env_->GetChildren(file_path, &children);  // ENOTDIR
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(Status::SubCode::kNone, s.subcode());
  EXPECT_NE(std::string::npos, s.ToString().find(file_path)) << s.ToString();
}

TEST_F(PosixEnvTest, LockHeldByParentFailsInChildProcess) {
  const std::string lock_name = dir_ + "/LOCK";
  FileLock* lock = nullptr;
  ASSERT_TRUE(env_->LockFile(lock_name, &lock).ok());

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: the lock must be refused with the cross-process message.
    FileLock* child_lock = nullptr;
    Status s = env_->LockFile(lock_name, &child_lock);
    int code = 0;
    if (s.ok()) {
      code = 1;
    } else if (s.ToString().find("held by another process") == std::string::npos ||
               s.ToString().find(lock_name) == std::string::npos) {
      code = 2;
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(0, WEXITSTATUS(status)) << "1: child got the lock; 2: wrong message";

  // Once released, a child can take it.
  ASSERT_TRUE(env_->UnlockFile(lock).ok());
  pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FileLock* child_lock = nullptr;
    _exit(env_->LockFile(lock_name, &child_lock).ok() ? 0 : 1);
  }
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(PosixEnvTest, CloseTwiceIsHarmless) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(dir_ + "/f", &file).ok());
  ASSERT_TRUE(file->Append("abc").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_TRUE(file->Close().ok());
  EXPECT_FALSE(file->Sync().ok());
  std::string data;
  ASSERT_TRUE(ReadFileToString(env_, dir_ + "/f", &data).ok());
  EXPECT_EQ("abc", data);
}

uint64_t SizeOnDisk(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(0, ::stat(path.c_str(), &st)) << path;
  return static_cast<uint64_t>(st.st_size);
}

// SetPreallocationBlockSize reserves whole blocks ahead of the appends (the
// file's size moves in blocks, the reserved bytes read as zeros) and Close
// trims the file to what was written. Files opened for appending ignore it.
TEST_F(PosixEnvTest, PreallocationReservesBlocksAndCloseTrims) {
  const std::string path = dir_ + "/wal";
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(path, &file).ok());
  file->SetPreallocationBlockSize(4096);
  std::string written;
  for (int i = 0; i < 100; i++) {
    const std::string rec(static_cast<size_t>(37 + i), static_cast<char>('a' + i % 26));
    ASSERT_TRUE(file->Append(rec).ok());
    ASSERT_TRUE(file->Flush().ok());
    written += rec;
    // The size is the reserved space: whole blocks covering what was written.
    ASSERT_EQ(SizeOnDisk(path), (written.size() + 4095) / 4096 * 4096) << i;
  }
  ASSERT_TRUE(file->Sync().ok());
  std::string data;
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  ASSERT_EQ(data.size(), (written.size() + 4095) / 4096 * 4096);
  EXPECT_EQ(data.substr(0, written.size()), written);
  EXPECT_EQ(data.substr(written.size()), std::string(data.size() - written.size(), '\0'));
  // A write larger than a block reserves enough blocks for all of it.
  const std::string big(10000, 'Z');
  ASSERT_TRUE(file->Append(big).ok());
  ASSERT_TRUE(file->Flush().ok());
  written += big;
  EXPECT_EQ(SizeOnDisk(path), (written.size() + 4095) / 4096 * 4096);
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(SizeOnDisk(path), written.size());
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ(data, written);

  // Appendable: writes go to the end, so nothing is reserved.
  ASSERT_TRUE(env_->NewAppendableFile(path, &file).ok());
  file->SetPreallocationBlockSize(4096);
  ASSERT_TRUE(file->Append("tail").ok());
  ASSERT_TRUE(file->Flush().ok());
  EXPECT_EQ(SizeOnDisk(path), written.size() + 4);
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ(data, written + "tail");
}

// Whether this process maps path (a line of /proc/self/maps ends with it).
bool IsMapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= path.size() &&
        line.compare(line.size() - path.size(), path.size(), path) == 0)
      return true;
  }
  return false;
}

bool MapsItsWrites(const std::string& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  return fs.f_type == 0xEF53 || fs.f_type == 0x58465342 || fs.f_type == 0x01021994;
}

// On ext4, XFS and tmpfs a preallocating file that allows mapped writes
// writes through a shared mapping of its reserved space (posix_env.cc): the
// file is mapped, an Append is in the page cache when it returns, before any
// Flush, so another reader sees it, and a process that dies without Flush or
// Close leaves it in the file, followed by the reserved zeros. Records cross
// the ends of mappings (a block size that is not a multiple of the page
// size, records up to 1.5 blocks long).
TEST_F(PosixEnvTest, PreallocatedFilesWriteThroughAMapping) {
  if (!MapsItsWrites(dir_)) {
    GTEST_SKIP() << dir_ << " is not on ext4, XFS or tmpfs: its files do not map their writes";
  }
  constexpr uint64_t kBlock = 6000;
  const std::string path = dir_ + "/wal";
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(path, &file).ok());
  file->SetPreallocationBlockSize(kBlock);
  file->SetMappedWrites(true);
  std::string written;
  std::string data;
  for (int i = 0; i < 200; i++) {
    const std::string rec(static_cast<size_t>(1 + (i * 977) % 9000),
                          static_cast<char>('a' + i % 26));
    ASSERT_TRUE(file->Append(rec).ok());
    written += rec;
    ASSERT_TRUE(IsMapped(path)) << i;
    // No Flush: the bytes are already in the file.
    ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
    ASSERT_EQ(data.size(), (written.size() + kBlock - 1) / kBlock * kBlock) << i;
    ASSERT_EQ(data.substr(0, written.size()), written) << i;
  }
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_FALSE(IsMapped(path));
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ(data, written);

  // A process that dies after its appends, without Flush or Close.
  const std::string crashed = dir_ + "/crashed";
  const std::string rec(1000, 'q');
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::unique_ptr<WritableFile> f;
    if (!env_->NewWritableFile(crashed, &f).ok()) ::_exit(2);
    f->SetPreallocationBlockSize(kBlock);
    f->SetMappedWrites(true);
    for (int i = 0; i < 10; i++) {
      if (!f->Append(rec).ok()) ::_exit(3);
    }
    ::_exit(0);  // no destructor: nothing flushes, closes or trims the file
  }
  int status = 0;
  ASSERT_EQ(pid, ::waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(0, WEXITSTATUS(status));
  ASSERT_TRUE(ReadFileToString(env_, crashed, &data).ok());
  ASSERT_EQ(data.size(), 2 * kBlock);  // 10,000 bytes in 6,000-byte blocks
  std::string expected;
  for (int i = 0; i < 10; i++) expected += rec;
  EXPECT_EQ(data.substr(0, expected.size()), expected);
  EXPECT_EQ(data.substr(expected.size()), std::string(2 * kBlock - expected.size(), '\0'));
}

// Appends into the mapping take no lock while they fit the current mapping
// (posix_env.cc, the window); Sync, which may run on another thread beside
// them, shares nothing with that path. Small records, Flush after each, a
// thread syncing all along (a data race here is TSan's to find), mappings
// and reserved blocks crossed many times: every byte arrives, in order.
TEST_F(PosixEnvTest, SyncBesideAppendsThroughTheMapping) {
  if (!MapsItsWrites(dir_)) {
    GTEST_SKIP() << dir_ << " is not on ext4, XFS or tmpfs: its files do not map their writes";
  }
  const std::string path = dir_ + "/wal";
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(path, &file).ok());
  file->SetPreallocationBlockSize(64 * 1024);
  file->SetMappedWrites(true);
  std::atomic<bool> done{false};
  std::atomic<int> syncs{0};
  std::thread syncer([&] {
    while (!done.load(std::memory_order_acquire) || syncs.load() == 0) {
      EXPECT_TRUE(file->Sync().ok());
      syncs++;
    }
  });
  std::string written;
  for (int i = 0; i < 20000; i++) {
    const std::string rec(static_cast<size_t>(20 + i % 200), static_cast<char>('a' + i % 26));
    ASSERT_TRUE(file->Append(rec).ok());
    ASSERT_TRUE(file->Flush().ok());
    written += rec;
  }
  done.store(true, std::memory_order_release);
  syncer.join();
  EXPECT_GT(syncs.load(), 0);
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_FALSE(file->Flush().ok()) << "a closed file refuses Flush";
  EXPECT_FALSE(file->Append("x").ok()) << "and Append";
  std::string data;
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ(data.size(), written.size()) << "Close trims the reserved space";
  EXPECT_TRUE(data == written);
}

// A file whose mapping fails part way (here: no address space left for the
// next one) goes on with pwrite at the right offset — not at the descriptor's
// offset, which the mapped appends never moved — and through the buffer.
TEST_F(PosixEnvTest, MappedWritesFallBackToPwriteAtTheRightOffset) {
  if (!MapsItsWrites(dir_)) {
    GTEST_SKIP() << dir_ << " is not on ext4, XFS or tmpfs: its files do not map their writes";
  }
  const std::string path = dir_ + "/wal";
  std::vector<std::string> recs;
  std::string expected;
  for (int i = 0; i < 40; i++) {
    recs.emplace_back(static_cast<size_t>(300 + i * 10), static_cast<char>('A' + i % 26));
    expected += recs.back();
  }
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::unique_ptr<WritableFile> f;
    if (!env_->NewWritableFile(path, &f).ok()) ::_exit(2);
    f->SetPreallocationBlockSize(4096);
    f->SetMappedWrites(true);
    for (int i = 0; i < 5; i++) {  // 1,600 bytes: inside the first block, mapped
      if (!f->Append(recs[static_cast<size_t>(i)]).ok()) ::_exit(3);
    }
    if (!IsMapped(path)) ::_exit(4);
    // From here on no new mapping can be made: the next block's mmap fails.
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_AS, &limit) != 0) ::_exit(5);
    std::ifstream statm("/proc/self/statm");
    uint64_t pages = 0;
    statm >> pages;
    const rlim_t saved = limit.rlim_cur;
    limit.rlim_cur = pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(6);
    // Appends allocate nothing (the buffer's capacity is reserved up front).
    for (size_t i = 5; i < recs.size(); i++) {
      if (!f->Append(recs[i]).ok()) ::_exit(7);
    }
    limit.rlim_cur = saved;  // the checks below allocate
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(6);
    if (IsMapped(path)) ::_exit(8);
    if (!f->Close().ok()) ::_exit(9);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(pid, ::waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(0, WEXITSTATUS(status));
  std::string data;
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ(expected, data);
}

// Without SetMappedWrites (the default) a preallocating file is not mapped
// and buffers its appends until Flush.
TEST_F(PosixEnvTest, MappedWritesAreOffUnlessAllowed) {
  const std::string path = dir_ + "/plain";
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(path, &file).ok());
  file->SetPreallocationBlockSize(4096);
  ASSERT_TRUE(file->Append("buffered").ok());
  EXPECT_FALSE(IsMapped(path));
  std::string data;
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ("", data);  // in the buffer (space is reserved by the first write)
  ASSERT_TRUE(file->Flush().ok());
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ("buffered", data.substr(0, 8));
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(ReadFileToString(env_, path, &data).ok());
  EXPECT_EQ("buffered", data);
}

TEST_F(PosixEnvTest, DestructorFlushes) {
  {
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(env_->NewWritableFile(dir_ + "/f", &file).ok());
    ASSERT_TRUE(file->Append("buffered").ok());
  }
  std::string data;
  ASSERT_TRUE(ReadFileToString(env_, dir_ + "/f", &data).ok());
  EXPECT_EQ("buffered", data);
}

// Random-access files are memory-mapped: reads return the file's own bytes,
// a read past the end is short (as with pread), and Pin() keeps the bytes
// valid after the file object is gone. An empty file is read with pread.
TEST_F(PosixEnvTest, RandomAccessFilesAreMappedAndPinnable) {
  std::string contents;
  for (int i = 0; i < 10000; i++) contents.push_back(static_cast<char>('a' + i % 26));
  ASSERT_TRUE(WriteStringToFile(env_, contents, dir_ + "/table", true).ok());
  std::unique_ptr<RandomAccessFile> file;
  ASSERT_TRUE(env_->NewRandomAccessFile(dir_ + "/table", &file).ok());
  char scratch[100];
  std::string_view result;
  ASSERT_TRUE(file->Read(5000, 100, &result, scratch).ok());
  EXPECT_EQ(contents.substr(5000, 100), std::string(result));
  EXPECT_NE(scratch, result.data()) << "a mapped file returns its own memory";
  ASSERT_TRUE(file->Read(9950, 100, &result, scratch).ok());
  EXPECT_EQ(contents.substr(9950), std::string(result)) << "short read at the end";
  ASSERT_TRUE(file->Read(20000, 100, &result, scratch).ok());
  EXPECT_TRUE(result.empty());
  std::shared_ptr<const void> pin = file->Pin();
  ASSERT_NE(nullptr, pin);
  ASSERT_TRUE(file->Read(0, 26, &result, scratch).ok());
  file.reset();
  ASSERT_TRUE(env_->RemoveFile(dir_ + "/table").ok());
  EXPECT_EQ(contents.substr(0, 26), std::string(result)) << "pinned bytes outlive the file";
  pin.reset();

  ASSERT_TRUE(WriteStringToFile(env_, "", dir_ + "/empty", true).ok());
  ASSERT_TRUE(env_->NewRandomAccessFile(dir_ + "/empty", &file).ok());
  ASSERT_TRUE(file->Read(0, 10, &result, scratch).ok());
  EXPECT_TRUE(result.empty());
  EXPECT_EQ(nullptr, file->Pin());
}

}  // namespace
}  // namespace lsmkv
