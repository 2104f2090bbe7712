// PosixEnv: the Env returned by Env::Default(), built directly on POSIX file
// descriptors.
//
// Error mapping (PosixError): ENOENT -> IOError with SubCode::kPathNotFound,
// ENOSPC -> Status::NoSpace, anything else -> IOError. Every message names the
// file (or directory) and includes strerror(errno).
//
// Every descriptor is opened with O_CLOEXEC so that a child process started
// with exec never inherits database files or the LOCK file.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <set>
#include <thread>

#include "lsmkv/env.h"
#include "util/check.h"
#include "util/copy_forward.h"
#include "util/mutex.h"
#include "util/prefetch.h"
#include "util/thread_annotations.h"

namespace lsmkv {

namespace {

// How far ahead of its mapped window an appender asks for the lines of the
// next records (PrefetchAheadOfWrites): a few WAL records. fillrandom
// 1.04x, fillseq 1.05x (with the arena's; 6 alternating pairs).
constexpr size_t kPrefetchDistance = 512;

// Size of the user-space buffer of a PosixWritableFile.
constexpr size_t kWritableBufferSize = 64 * 1024;

Status PosixError(const std::string& context, int err) {
  std::string detail = std::strerror(err);
  switch (err) {
    case ENOENT:
      return Status::IOError(context, detail, Status::SubCode::kPathNotFound);
    case ENOSPC:
      return Status::NoSpace(context, detail);
    default:
      return Status::IOError(context, detail);
  }
}

// Closes fd, retrying nothing: after EINTR the descriptor is already gone on
// Linux, so a retry could close someone else's descriptor.
Status CloseFd(const std::string& fname, int fd) {
  if (::close(fd) != 0 && errno != EINTR) return PosixError(fname, errno);
  return Status::OK();
}

// Reads n bytes at offset (fewer only at the end of the file) into scratch.
Status PreadFully(const std::string& fname, int fd, uint64_t offset, size_t n,
                  std::string_view* result, char* scratch) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, scratch + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      *result = std::string_view();
      return PosixError(fname, errno);
    }
    if (r == 0) break;  // End of file.
    DCHECK_LE(static_cast<size_t>(r), n - done);
    done += static_cast<size_t>(r);
  }
  *result = std::string_view(scratch, done);
  return Status::OK();
}

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string fname, int fd) : fname_(std::move(fname)), fd_(fd) {
    DCHECK_GE(fd_, 0);
  }
  ~PosixSequentialFile() override { ::close(fd_); }

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::read(fd_, scratch + done, n - done);
      if (r < 0) {
        if (errno == EINTR) continue;
        *result = std::string_view();
        return PosixError(fname_, errno);
      }
      if (r == 0) break;                            // End of file.
      DCHECK_LE(static_cast<size_t>(r), n - done);  // never past scratch's n bytes
      done += static_cast<size_t>(r);
    }
    *result = std::string_view(scratch, done);
    return Status::OK();
  }

  Status Skip(uint64_t n) override {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) return PosixError(fname_, errno);
    return Status::OK();
  }

 private:
  const std::string fname_;
  const int fd_;
};

// Thread safe: pread does not move a shared file offset.
// Table files are memory-mapped (read-only) while at most kMaxMappedFiles
// are; beyond that they are read with pread. A mapping lives as long as its
// file object or a Pin() of it, whichever is longer.
constexpr int kMaxMappedFiles = 1000;
std::atomic<int> mapped_files{0};

struct Mapping {
  Mapping(void* b, size_t n) : base(b), size(n) {
    DCHECK(base != nullptr && base != MAP_FAILED);
    DCHECK_GT(size, 0u);  // an empty file is never mapped (mmap refuses length 0)
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    ::munmap(base, size);
    [[maybe_unused]] const int before = mapped_files.fetch_sub(1, std::memory_order_relaxed);
    DCHECK_GT(before, 0);  // counted when mapped
  }
  void* const base;
  const size_t size;
};

class PosixMmapRandomAccessFile final : public RandomAccessFile {
 public:
  explicit PosixMmapRandomAccessFile(std::shared_ptr<const Mapping> mapping)
      : mapping_(std::move(mapping)) {}

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    const size_t size = mapping_->size;
    if (offset >= size) {
      *result = std::string_view();  // past the end: a short (empty) read, as with pread
      return Status::OK();
    }
    const size_t available = size - static_cast<size_t>(offset);
    *result = std::string_view(static_cast<const char*>(mapping_->base) + offset,
                               n < available ? n : available);
    // The view stays inside the mapping (it lives as long as Pin()'s result).
    DCHECK_LE(offset + result->size(), size);
    (void)scratch;
    return Status::OK();
  }
  std::shared_ptr<const void> Pin() const override { return mapping_; }

 private:
  const std::shared_ptr<const Mapping> mapping_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string fname, int fd) : fname_(std::move(fname)), fd_(fd) {
    DCHECK_GE(fd_, 0);
  }
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    return PreadFully(fname_, fd_, offset, n, result, scratch);
  }

 private:
  const std::string fname_;
  const int fd_;
};

// pwrite/pread at offsets; Sync is fdatasync. Not buffered: a Write is in
// the kernel when it returns.
class PosixRandomRWFile final : public RandomRWFile {
 public:
  PosixRandomRWFile(std::string fname, int fd) : fname_(std::move(fname)), fd_(fd) {
    DCHECK_GE(fd_, 0);
  }
  ~PosixRandomRWFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Write(uint64_t offset, std::string_view data) override {
    if (fd_ < 0) return ClosedError();
    while (!data.empty()) {
      ssize_t w = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return PosixError(fname_, errno);
      }
      DCHECK_LE(static_cast<size_t>(w), data.size());
      data.remove_prefix(static_cast<size_t>(w));
      offset += static_cast<uint64_t>(w);
    }
    return Status::OK();
  }
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    if (fd_ < 0) return ClosedError();
    return PreadFully(fname_, fd_, offset, n, result, scratch);
  }
  Status Sync() override {
    if (fd_ < 0) return ClosedError();
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return PosixError(fname_, errno);
    }
    return Status::OK();
  }
  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = CloseFd(fname_, fd_);
    fd_ = -1;
    return s;
  }

 private:
  Status ClosedError() const { return Status::IOError(fname_, "file already closed"); }

  const std::string fname_;
  int fd_;
};

// Appends go through a 64 KiB user-space buffer that Flush writes out with
// pwrite. A file that reserves space ahead of its appends
// (SetPreallocationBlockSize), allows mapped writes (SetMappedWrites) and
// lives on a file system where a store into reserved space does not need new
// space (ReservedSpaceIsWritableInPlace) writes through a shared mapping of
// that space instead: Append copies into the page cache directly, with no
// system call and no buffer, so an appended record is in the operating
// system (survives a kill of the process) as soon as Append returns, and
// Flush has nothing to do. The copy stores strictly front to back
// (util/copy_forward.h), so a kill in the middle of it leaves a prefix, as a
// cut write(2) does. fdatasync writes the mapping's dirty pages like any others.
// For a WAL of small records this halves the cost of a non-synced Put
// (docs/BENCHMARKS.md). A failed mmap, or reserved space running out because
// fallocate failed, turns the mapping off for the rest of the file's life: it
// goes on with pwrite. The price: a store that the file system cannot
// complete (an I/O error reading a page back in, a journal that aborted, a
// file system remounted read-only) kills the process with SIGBUS where
// write(2) would have returned an error.
class PosixWritableFile final : public WritableFile {
 public:
  // A file opened for appending (its writes land at the end, wherever that
  // is) never preallocates: can_preallocate false.
  PosixWritableFile(std::string fname, int fd, bool can_preallocate)
      : fname_(std::move(fname)), can_preallocate_(can_preallocate), fd_(fd) {
    DCHECK_GE(fd_, 0);
    buffer_.reserve(kWritableBufferSize);
  }
  ~PosixWritableFile() override {
    if (fd_ >= 0) Close().PermitUncheckedError();
  }

  Status Append(std::string_view data) override EXCLUDES(buffer_mu_) {
    if (data.size() <= fast_room_) {
      // The appending thread's own window of the mapping (fast_dst_): no lock.
      CopyForward(fast_dst_, data.data(), data.size());
      PrefetchAheadOfWrites(fast_dst_, fast_dst_ + data.size(), kPrefetchDistance);
      fast_dst_ += data.size();
      fast_room_ -= data.size();
      fast_appended_ += data.size();
      return Status::OK();
    }
    MutexLock guard(&buffer_mu_);
    CatchUp();
    if (fd_ < 0) return ClosedError();
    if (map_writes_) {
      // Straight into the mapped reserved space: nothing is ever buffered
      // while the file writes through its mapping (the buffer is empty).
      DCHECK(buffer_.empty());
      Status s = WriteFully(data);
      if (s.ok() && map_writes_ && map_ != nullptr) {
        // The rest of the mapping is the next appends' window.
        fast_dst_ = map_ + (written_ - map_offset_);
        fast_room_ = static_cast<size_t>(map_offset_ + map_length_ - written_);
      }
      return s;
    }
    DCHECK_LE(buffer_.size(), kWritableBufferSize);
    if (buffer_.size() + data.size() <= kWritableBufferSize) {
      buffer_.append(data);
      return Status::OK();
    }
    Status s = FlushBuffer();
    if (!s.ok()) return s;
    DCHECK(buffer_.empty());  // bytes are never written out of order
    if (data.size() <= kWritableBufferSize / 2) {
      buffer_.append(data);
      return Status::OK();
    }
    return WriteFully(data);  // Large writes bypass the buffer.
  }

  Status Flush() override EXCLUDES(buffer_mu_) {
    // With a window open the file writes through its mapping: it buffers
    // nothing, and is open (Close shuts the window).
    if (fast_dst_ != nullptr) return Status::OK();
    MutexLock guard(&buffer_mu_);
    if (fd_ < 0) return ClosedError();
    return FlushBuffer();
  }

  // May run concurrently with Append/Flush (env.h): the buffer is flushed
  // under buffer_mu_, the fdatasync runs without it so appends go on.
  Status Sync() override EXCLUDES(buffer_mu_) {
    int fd;
    {
      MutexLock guard(&buffer_mu_);
      if (fd_ < 0) return ClosedError();
      Status s = FlushBuffer();
      if (!s.ok()) return s;
      fd = fd_;
    }
    while (::fdatasync(fd) != 0) {
      if (errno != EINTR) return PosixError(fname_, errno);
    }
    return Status::OK();
  }

  Status Close() override EXCLUDES(buffer_mu_) {
    MutexLock guard(&buffer_mu_);
    CatchUp();
    if (fd_ < 0) return Status::OK();  // Closing twice is harmless.
    Status s = FlushBuffer();
    DCHECK(buffer_.empty());  // FlushBuffer drops what it could not write
    Unmap();
    if (s.ok() && reserved_) {
      // Trim the reserved space nothing was written to (also what a
      // fallocate that failed part way may have added beyond allocated_).
      while (::ftruncate(fd_, static_cast<off_t>(written_)) != 0) {
        if (errno != EINTR) {
          s = PosixError(fname_, errno);
          break;
        }
      }
    }
    Status c = CloseFd(fname_, fd_);
    fd_ = -1;
    return s.ok() ? c : s;
  }

  void SetPreallocationBlockSize(uint64_t block_size) override EXCLUDES(buffer_mu_) {
    MutexLock guard(&buffer_mu_);
    CatchUp();
    if (!can_preallocate_ || fd_ < 0) return;
    prealloc_block_ = block_size;
    DecideMapWrites();
  }

  void SetMappedWrites(bool allowed) override EXCLUDES(buffer_mu_) {
    MutexLock guard(&buffer_mu_);
    CatchUp();
    if (fd_ < 0) return;
    map_allowed_ = allowed;
    DecideMapWrites();
  }

 private:
  Status ClosedError() const { return Status::IOError(fname_, "file already closed"); }

  // Counts the bytes appended through the window into written_ and shuts
  // the window: the locked paths (and only they) move written_ and the
  // mapping, and a locked Append reopens the window when it is done.
  void CatchUp() REQUIRES(buffer_mu_) {
    written_ += fast_appended_;
    fast_appended_ = 0;
    fast_dst_ = nullptr;
    fast_room_ = 0;
  }

  Status FlushBuffer() REQUIRES(buffer_mu_) {
    if (buffer_.empty()) return Status::OK();
    Status s = WriteFully(buffer_);
    // On error the buffered bytes are dropped: retrying them later could
    // duplicate a partially written prefix.
    buffer_.clear();
    return s;
  }

  Status WriteFully(std::string_view data) REQUIRES(buffer_mu_) {
    DCHECK_GE(fd_, 0);  // callers refuse closed files
    if (data.empty()) return Status::OK();
    if (prealloc_block_ > 0 && written_ + data.size() > allocated_) Preallocate(data.size());
    if (map_writes_) {
      if (written_ + data.size() <= allocated_ && MapCovering(data.size())) {
        CopyForward(map_ + (written_ - map_offset_), data.data(), data.size());
        written_ += data.size();
        return Status::OK();
      }
      // No reserved space left to map (preallocation failed) or no mapping:
      // from here on the file is written with pwrite, through the buffer.
      map_writes_ = false;
      Unmap();
    }
    while (!data.empty()) {
      // At written_: a file that wrote through its mapping has not moved its
      // descriptor's offset. (Files opened for appending never preallocate,
      // so they never map; pwrite on them appends, as write would.)
      ssize_t w = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(written_));
      if (w < 0) {
        if (errno == EINTR) continue;
        return PosixError(fname_, errno);
      }
      DCHECK_LE(static_cast<size_t>(w), data.size());
      data.remove_prefix(static_cast<size_t>(w));
      written_ += static_cast<uint64_t>(w);
    }
    return Status::OK();
  }

  // Reserves whole blocks of prealloc_block_ bytes from allocated_ up to at
  // least written_ + bytes. A file system that cannot (EOPNOTSUPP, ENOSPC,
  // ...) turns preallocation off for this file: appends then grow it, and
  // fail on their own if the disk is really full.
  void Preallocate(size_t bytes) REQUIRES(buffer_mu_) {
    const uint64_t need = written_ + bytes;
    const uint64_t end = (need + prealloc_block_ - 1) / prealloc_block_ * prealloc_block_;
    reserved_ = true;
    int r;
    do {
      r = ::fallocate(fd_, 0, static_cast<off_t>(allocated_), static_cast<off_t>(end - allocated_));
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
      prealloc_block_ = 0;
      return;
    }
    allocated_ = end;
  }

  // Ensures the mapping covers [written_, written_ + bytes), which must lie
  // inside the reserved space. A new mapping runs from the page holding
  // written_ to the end of the reserved space. Returns false if mmap fails.
  bool MapCovering(size_t bytes) REQUIRES(buffer_mu_) {
    DCHECK_LE(written_ + bytes, allocated_);
    if (map_ != nullptr && written_ + bytes <= map_offset_ + map_length_) return true;
    Unmap();
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t offset = written_ / page * page;
    const size_t length = static_cast<size_t>(allocated_ - offset);
    void* map = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd_,
                       static_cast<off_t>(offset));
    if (map == MAP_FAILED) return false;
    map_ = static_cast<char*>(map);
    map_offset_ = offset;
    map_length_ = length;
    return true;
  }

  // Drops the mapping, if any. The bytes written through it stay in the
  // page cache (and reach the disk with the file's other dirty pages).
  void Unmap() REQUIRES(buffer_mu_) {
    DCHECK_EQ(fast_room_, size_t{0});  // CatchUp shut the window first
    if (map_ == nullptr) return;
    const int r = ::munmap(map_, map_length_);
    DCHECK_EQ(r, 0);  // cannot fail for a whole mapping of ours
    (void)r;
    map_ = nullptr;
    map_offset_ = 0;
    map_length_ = 0;
  }

  // Turns mapped writes on for a file that allows them, reserves space and
  // has written nothing yet (in either path), on a suitable file system.
  void DecideMapWrites() REQUIRES(buffer_mu_) {
    map_writes_ = map_allowed_ && prealloc_block_ > 0 && written_ == 0 && buffer_.empty() &&
                  ReservedSpaceIsWritableInPlace(fd_);
  }

  // Whether fd's file system keeps the promise writing through a mapping
  // needs: a store into space fallocate reserved never has to find disk
  // space, so it cannot fail (a failing store is a SIGBUS, not an error
  // code). ext4, XFS and tmpfs reserve the blocks themselves; copy-on-write
  // file systems (btrfs, ZFS), network and FUSE file systems may allocate
  // at writeback or fault time, so their files use pwrite.
  static bool ReservedSpaceIsWritableInPlace(int fd) {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0) return false;
    constexpr decltype(fs.f_type) kExt4 = 0xEF53, kXfs = 0x58465342, kTmpfs = 0x01021994;
    return fs.f_type == kExt4 || fs.f_type == kXfs || fs.f_type == kTmpfs;
  }

  const std::string fname_;
  const bool can_preallocate_;
  Mutex buffer_mu_;                // Sync may run on another thread (a leaf lock)
  int fd_ GUARDED_BY(buffer_mu_);  // -1 once closed.
  std::string buffer_ GUARDED_BY(buffer_mu_);
  // Preallocation (SetPreallocationBlockSize): the block size (0: off), the
  // bytes written to the file by this object and the end of the space it
  // reserved (0 if none).
  uint64_t prealloc_block_ GUARDED_BY(buffer_mu_) = 0;
  uint64_t written_ GUARDED_BY(buffer_mu_) = 0;
  uint64_t allocated_ GUARDED_BY(buffer_mu_) = 0;
  // Whether a fallocate was ever tried (Close then trims to written_).
  bool reserved_ GUARDED_BY(buffer_mu_) = false;
  // Writing through a mapping of the reserved space (see the class comment):
  // whether the owner allows it (SetMappedWrites), whether appends do, and
  // the current mapping, [map_offset_, map_offset_ + map_length_) of the
  // file at map_ (nullptr: none).
  bool map_allowed_ GUARDED_BY(buffer_mu_) = false;
  bool map_writes_ GUARDED_BY(buffer_mu_) = false;
  // The window: [fast_dst_, fast_dst_ + fast_room_) is the part of the
  // mapping after the last byte appended, where the next Appends copy
  // without taking buffer_mu_ (that lock's release, a locked instruction,
  // waited for the copy's stores into freshly faulted page-cache lines: 4 %
  // of a sequential fill); fast_appended_ counts their bytes, which written_
  // does not yet include. Not guarded: only the appending thread touches
  // them (Append, Flush, Close and the Set* calls are never concurrent with
  // each other, env.h; Sync, which may run beside them, never does).
  // Opened by a locked Append that wrote through the mapping; shut by
  // CatchUp, which every locked path of the appending thread runs first.
  char* fast_dst_ = nullptr;
  size_t fast_room_ = 0;
  uint64_t fast_appended_ = 0;
  char* map_ GUARDED_BY(buffer_mu_) PT_GUARDED_BY(buffer_mu_) = nullptr;
  uint64_t map_offset_ GUARDED_BY(buffer_mu_) = 0;
  size_t map_length_ GUARDED_BY(buffer_mu_) = 0;
};

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(std::string fname, int fd) : fname_(std::move(fname)), fd_(fd) {}
  const std::string& fname() const { return fname_; }
  int fd() const { return fd_; }

 private:
  const std::string fname_;
  const int fd_;
};

// The paths this process has locked through PosixEnv. flock alone would also
// refuse a second lock from this process (each open() is a separate open file
// description), but the set gives a clearer message and does not depend on it.
class LockTable {
 public:
  // Returns false if fname is already locked by this process.
  bool Insert(const std::string& fname) EXCLUDES(mu_) {
    MutexLock guard(&mu_);
    ForgetIfForked();
    return locked_.insert(fname).second;
  }
  void Erase(const std::string& fname) EXCLUDES(mu_) {
    MutexLock guard(&mu_);
    ForgetIfForked();
    locked_.erase(fname);
  }

 private:
  // A child created by fork() inherits the set, but the locks belong to the
  // parent; the child starts afresh (flock still sees the parent's locks).
  void ForgetIfForked() REQUIRES(mu_) {
    pid_t pid = ::getpid();
    if (pid != owner_pid_) {
      locked_.clear();
      owner_pid_ = pid;
    }
  }

  Mutex mu_;
  std::set<std::string> locked_ GUARDED_BY(mu_);
  pid_t owner_pid_ GUARDED_BY(mu_) = ::getpid();
};

// A single background thread running scheduled functions in FIFO order.
// Started on first use; never stopped (the PosixEnv is never destroyed).
class BackgroundQueue {
 public:
  void Schedule(std::function<void()> fn) EXCLUDES(mu_) {
    MutexLock guard(&mu_);
    if (!started_) {
      started_ = true;
      std::thread(&BackgroundQueue::Run, this).detach();
    }
    queue_.push_back(std::move(fn));
    cv_.Signal();
  }

 private:
  void Run() EXCLUDES(mu_) {
    for (;;) {
      std::function<void()> fn;
      {
        MutexLock lock(&mu_);
        while (queue_.empty()) cv_.Wait(&mu_);
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  Mutex mu_;
  CondVar cv_;
  bool started_ GUARDED_BY(mu_) = false;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
};

class PosixEnv final : public Env {
 public:
  Status NewSequentialFile(const std::string& fname,
                           std::unique_ptr<SequentialFile>* result) override {
    result->reset();
    int fd = OpenRetry(fname, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return PosixError(fname, errno);
    *result = std::make_unique<PosixSequentialFile>(fname, fd);
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& fname,
                             std::unique_ptr<RandomAccessFile>* result) override {
    result->reset();
    int fd = OpenRetry(fname, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return PosixError(fname, errno);
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      if (mapped_files.fetch_add(1, std::memory_order_relaxed) < kMaxMappedFiles) {
        const auto size = static_cast<size_t>(st.st_size);
        void* base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
        if (base != MAP_FAILED) {
          ::close(fd);
          *result = std::make_unique<PosixMmapRandomAccessFile>(
              std::make_shared<const Mapping>(base, size));
          return Status::OK();
        }
      }
      mapped_files.fetch_sub(1, std::memory_order_relaxed);  // not mapped: pread
    }
    *result = std::make_unique<PosixRandomAccessFile>(fname, fd);
    return Status::OK();
  }

  Status NewWritableFile(const std::string& fname, std::unique_ptr<WritableFile>* result) override {
    // Read and write: a shared writable mapping (PosixWritableFile's mapped
    // writes) needs a descriptor open for both. An existing file this process
    // may write but not read is still opened, write-only (its writes are
    // never mapped: mmap fails and the file uses pwrite).
    return OpenWritable(fname, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, result,
                        /*flags_if_denied=*/O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
  }

  Status NewAppendableFile(const std::string& fname,
                           std::unique_ptr<WritableFile>* result) override {
    return OpenWritable(fname, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, result);
  }

  Status NewRandomRWFile(const std::string& fname, std::unique_ptr<RandomRWFile>* result) override {
    result->reset();
    int fd = OpenRetry(fname, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(fname, errno);
    *result = std::make_unique<PosixRandomRWFile>(fname, fd);
    return Status::OK();
  }

  bool FileExists(const std::string& fname) override { return ::access(fname.c_str(), F_OK) == 0; }

  Status GetChildren(const std::string& dir, std::vector<std::string>* result) override {
    result->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError(dir, errno);
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(d);
      if (entry == nullptr) {
        int err = errno;
        ::closedir(d);
        if (err != 0) return PosixError(dir, err);
        return Status::OK();
      }
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) {
        continue;
      }
      result->emplace_back(entry->d_name);
    }
  }

  Status RemoveFile(const std::string& fname) override {
    if (::unlink(fname.c_str()) != 0) return PosixError(fname, errno);
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) == 0) return Status::OK();
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::OK();
    }
    return PosixError(dir, err);
  }

  Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return PosixError(dir, errno);
    return Status::OK();
  }

  Status GetFileSize(const std::string& fname, uint64_t* size) override {
    struct stat st;
    if (::stat(fname.c_str(), &st) != 0) {
      *size = 0;
      return PosixError(fname, errno);
    }
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }

  Status RenameFile(const std::string& src, const std::string& target) override {
    if (::rename(src.c_str(), target.c_str()) != 0) {
      return PosixError("rename " + src + " to " + target, errno);
    }
    return Status::OK();
  }

  Status LinkFile(const std::string& src, const std::string& target) override {
    if (::link(src.c_str(), target.c_str()) != 0) {
      return PosixError("link " + src + " to " + target, errno);
    }
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = OpenRetry(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) return PosixError(dir, errno);
    Status s;
    while (::fsync(fd) != 0) {
      if (errno != EINTR) {
        s = PosixError(dir, errno);
        break;
      }
    }
    Status c = CloseFd(dir, fd);
    return s.ok() ? c : s;
  }

  Status GetFreeSpace(const std::string& path, uint64_t* bytes) override {
    struct statvfs st;
    while (::statvfs(path.c_str(), &st) != 0) {
      if (errno != EINTR) return PosixError("statvfs " + path, errno);
    }
    *bytes = static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
    return Status::OK();
  }

  Status LockFile(const std::string& fname, FileLock** lock) override {
    *lock = nullptr;
    if (!locks_.Insert(fname)) {
      return Status::IOError("lock " + fname + " already held by this process");
    }
    int fd = OpenRetry(fname, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      Status s = PosixError("lock " + fname, errno);
      locks_.Erase(fname);
      return s;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      locks_.Erase(fname);
      if (err == EWOULDBLOCK) {
        return Status::IOError("lock " + fname +
                               " held by another process (is the database open elsewhere?)");
      }
      return PosixError("lock " + fname, err);
    }
    *lock = new PosixFileLock(fname, fd);
    return Status::OK();
  }

  Status UnlockFile(FileLock* lock) override {
    DCHECK(lock != nullptr);
    auto* posix_lock = static_cast<PosixFileLock*>(lock);
    DCHECK_GE(posix_lock->fd(), 0);
    Status s;
    if (::flock(posix_lock->fd(), LOCK_UN) != 0)
      s = PosixError("unlock " + posix_lock->fname(), errno);
    Status c = CloseFd(posix_lock->fname(), posix_lock->fd());
    locks_.Erase(posix_lock->fname());
    delete posix_lock;
    return s.ok() ? c : s;
  }

  void Schedule(std::function<void()> fn) override { background_.Schedule(std::move(fn)); }

  void StartThread(std::function<void()> fn) override { std::thread(std::move(fn)).detach(); }

  uint64_t NowMicros() override {
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  }

  void SleepForMicroseconds(int micros) override {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

 private:
  static int OpenRetry(const std::string& fname, int flags, mode_t mode) {
    for (;;) {
      int fd = ::open(fname.c_str(), flags, mode);
      if (fd >= 0 || errno != EINTR) return fd;
    }
  }

  // Opens fname with flags, or with flags_if_denied (if not 0) when flags
  // fail with EACCES.
  static Status OpenWritable(const std::string& fname, int flags,
                             std::unique_ptr<WritableFile>* result, int flags_if_denied = 0) {
    result->reset();
    int fd = OpenRetry(fname, flags, 0644);
    if (fd < 0 && errno == EACCES && flags_if_denied != 0) {
      flags = flags_if_denied;
      fd = OpenRetry(fname, flags, 0644);
    }
    if (fd < 0) return PosixError(fname, errno);
    *result = std::make_unique<PosixWritableFile>(fname, fd, (flags & O_APPEND) == 0);
    return Status::OK();
  }

  LockTable locks_;
  BackgroundQueue background_;
};

}  // namespace

Env* Env::Default() {
  // Deliberately leaked: background threads may still use it during exit.
  static Env* const env = new PosixEnv();
  return env;
}

}  // namespace lsmkv
