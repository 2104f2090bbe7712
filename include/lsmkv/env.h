// Env: every file, directory, lock, clock and thread operation lsmkv performs.
//
// The engine never calls the operating system directly; it goes through an
// Env so that tests can run on an in-memory filesystem (NewMemEnv), inject
// I/O errors and simulate power loss (FaultInjectionEnv, src/env/).
//
// Thread safety: every Env method may be called concurrently from any thread.
// File objects are not thread safe unless their comment says so.
#ifndef LSMKV_INCLUDE_ENV_H_
#define LSMKV_INCLUDE_ENV_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/status.h"

namespace lsmkv {

// A file read from the start to the end, in order. Not thread safe.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes. *result points into scratch (which must hold n bytes)
  // or into memory owned by the file, valid until the next call. A short
  // result with OK status means end of file.
  virtual Status Read(size_t n, std::string_view* result, char* scratch) = 0;
  // Skips n bytes; skipping past the end is not an error (the next read is empty).
  virtual Status Skip(uint64_t n) = 0;
};

// A file read at arbitrary offsets. Thread safe: concurrent Reads are allowed.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset. *result points into scratch (n bytes) or
  // into memory owned by the file and valid for the file's lifetime. A result
  // shorter than n with OK status means the file ended.
  virtual Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const = 0;
  // If Read may return file-owned memory: a handle that keeps that memory
  // valid for as long as it is held, even after the file is destroyed (e.g.
  // a memory mapping), so readers may use the bytes in place. nullptr (the
  // default): readers must not keep file-owned results beyond the file.
  virtual std::shared_ptr<const void> Pin() const { return nullptr; }
};

// A file written sequentially. The implementation may buffer; Flush hands the
// buffer to the operating system, Sync makes every appended byte durable
// (fdatasync). Destroying a file without Close closes it.
// Thread safety: one thread appends (Append/Flush/Close are not thread safe
// with each other), but Sync may be called from another thread concurrently
// with Append and Flush: it then makes durable at least every byte whose
// Append and Flush returned before Sync was called. (The WAL relies on this:
// one writer syncs while the next group appends.)
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Flush() = 0;
  // Makes the file's contents durable. It does not make a newly created file's
  // directory entry durable: that needs Env::SyncDir on the parent.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Asks the file to reserve disk space ahead of its appends, block_size
  // bytes at a time (0: never), so that appends land inside space the file
  // already has: its size does not change with each append, so Sync need
  // not write the file's metadata as well as its data. Until Close trims it,
  // the reserved space beyond the last append reads as zeros (readers of
  // such files must treat zeros as the end; the log format does). A hint:
  // a file that cannot reserve space (or runs out of it) just grows. Call
  // before the first Append. Default: ignored.
  virtual void SetPreallocationBlockSize(uint64_t block_size) { (void)block_size; }
  // Allows the file to write its reserved space (above) through a shared
  // memory mapping instead of write calls, where the Env supports that and
  // the file system cannot fail such a store for want of space (the POSIX
  // Env: ext4, XFS, tmpfs). Appends are then in the operating system as soon
  // as Append returns; an I/O error the file system meets while storing
  // kills the process (SIGBUS) instead of failing a call. Call before the
  // first Append. Default: ignored (and off in the POSIX Env).
  virtual void SetMappedWrites(bool allowed) { (void)allowed; }
};

// A file read and written at offsets, kept in place (the B+tree engine's
// page file). Write and Sync are not thread safe; Read may run concurrently
// with other Reads but not with a Write to the same bytes.
class RandomRWFile {
 public:
  virtual ~RandomRWFile() = default;
  // Writes data at offset, extending the file if offset + size passes its
  // end (a gap reads as zeros). Returns only when the bytes are in the
  // operating system (no buffering in the object): a Read after it sees them.
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  // Reads up to n bytes at offset (fewer only at the end of the file);
  // *result may point into scratch (n bytes).
  virtual Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const = 0;
  // Makes every Write that returned before the call durable. After a power
  // loss, writes not synced may be lost, each in whole or in part, in any
  // combination: callers order their writes with Sync.
  virtual Status Sync() = 0;
  // Closes the file (without syncing). Later calls fail.
  virtual Status Close() = 0;
};

// An exclusive lock on a file, held until Env::UnlockFile.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never destroyed.
  static Env* Default();

  // Opens an existing file. NotFound (IOError subcode kPathNotFound) if absent.
  virtual Status NewSequentialFile(const std::string& fname,
                                   std::unique_ptr<SequentialFile>* result) = 0;
  virtual Status NewRandomAccessFile(const std::string& fname,
                                     std::unique_ptr<RandomAccessFile>* result) = 0;
  // Creates a new file, truncating any existing file of that name.
  virtual Status NewWritableFile(const std::string& fname,
                                 std::unique_ptr<WritableFile>* result) = 0;
  // Opens a file for appending, creating it if missing.
  virtual Status NewAppendableFile(const std::string& fname,
                                   std::unique_ptr<WritableFile>* result) = 0;
  // Opens fname for reading and writing in place, creating it empty if
  // missing (the creation is durable only after SyncDir); an existing
  // file's contents are kept. NotSupported where the Env has no such files.
  virtual Status NewRandomRWFile(const std::string& fname, std::unique_ptr<RandomRWFile>* result) {
    (void)fname;
    result->reset();
    return Status::NotSupported("NewRandomRWFile");
  }

  virtual bool FileExists(const std::string& fname) = 0;
  // Names (not paths) of the entries of dir, without "." and "..".
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* result) = 0;
  virtual Status RemoveFile(const std::string& fname) = 0;
  // Creates dir; OK if it already exists as a directory.
  virtual Status CreateDir(const std::string& dir) = 0;
  virtual Status RemoveDir(const std::string& dir) = 0;
  virtual Status GetFileSize(const std::string& fname, uint64_t* size) = 0;
  // Atomically replaces target with src. Durable only after SyncDir.
  virtual Status RenameFile(const std::string& src, const std::string& target) = 0;
  // Creates a hard link; NotSupported where the Env cannot.
  virtual Status LinkFile(const std::string& src, const std::string& target) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Bytes an unprivileged writer may still add to the filesystem holding
  // path (statvfs's f_bavail * f_frsize on POSIX). NotSupported where the
  // Env cannot tell; the DB then skips its space checks and relies on the
  // errors of the writes themselves.
  virtual Status GetFreeSpace(const std::string& path, uint64_t* bytes) {
    (void)path;
    (void)bytes;
    return Status::NotSupported("GetFreeSpace");
  }

  // Takes an exclusive lock on fname (creating it if needed). Fails with
  // IOError naming the file if another holder (process or thread) has it.
  virtual Status LockFile(const std::string& fname, FileLock** lock) = 0;
  virtual Status UnlockFile(FileLock* lock) = 0;

  // Runs fn once on a background thread of the Env's pool. Functions run in
  // the order they were scheduled, on a single thread.
  virtual void Schedule(std::function<void()> fn) = 0;
  // Starts a new detached thread running fn.
  virtual void StartThread(std::function<void()> fn) = 0;

  // Microseconds since some fixed point; monotonic.
  virtual uint64_t NowMicros() = 0;
  virtual void SleepForMicroseconds(int micros) = 0;
};

// Forwards every call to a target Env. Subclasses override what they change.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Status NewSequentialFile(const std::string& f, std::unique_ptr<SequentialFile>* r) override {
    return target_->NewSequentialFile(f, r);
  }
  Status NewRandomAccessFile(const std::string& f, std::unique_ptr<RandomAccessFile>* r) override {
    return target_->NewRandomAccessFile(f, r);
  }
  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    return target_->NewWritableFile(f, r);
  }
  Status NewAppendableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    return target_->NewAppendableFile(f, r);
  }
  Status NewRandomRWFile(const std::string& f, std::unique_ptr<RandomRWFile>* r) override {
    return target_->NewRandomRWFile(f, r);
  }
  bool FileExists(const std::string& f) override { return target_->FileExists(f); }
  Status GetChildren(const std::string& d, std::vector<std::string>* r) override {
    return target_->GetChildren(d, r);
  }
  Status RemoveFile(const std::string& f) override { return target_->RemoveFile(f); }
  Status CreateDir(const std::string& d) override { return target_->CreateDir(d); }
  Status RemoveDir(const std::string& d) override { return target_->RemoveDir(d); }
  Status GetFileSize(const std::string& f, uint64_t* s) override {
    return target_->GetFileSize(f, s);
  }
  Status RenameFile(const std::string& s, const std::string& t) override {
    return target_->RenameFile(s, t);
  }
  Status LinkFile(const std::string& s, const std::string& t) override {
    return target_->LinkFile(s, t);
  }
  Status SyncDir(const std::string& d) override { return target_->SyncDir(d); }
  Status GetFreeSpace(const std::string& p, uint64_t* b) override {
    return target_->GetFreeSpace(p, b);
  }
  Status LockFile(const std::string& f, FileLock** l) override { return target_->LockFile(f, l); }
  Status UnlockFile(FileLock* l) override { return target_->UnlockFile(l); }
  void Schedule(std::function<void()> fn) override { target_->Schedule(std::move(fn)); }
  void StartThread(std::function<void()> fn) override { target_->StartThread(std::move(fn)); }
  uint64_t NowMicros() override { return target_->NowMicros(); }
  void SleepForMicroseconds(int micros) override { target_->SleepForMicroseconds(micros); }

 private:
  Env* target_;
};

// An Env whose files live in memory; threads, clock and sleep come from base.
// The caller owns the result and must destroy it after every DB using it.
std::unique_ptr<Env> NewMemEnv(Env* base);

// Convenience helpers built on Env.
Status WriteStringToFile(Env* env, std::string_view data, const std::string& fname, bool sync);
Status ReadFileToString(Env* env, const std::string& fname, std::string* data);

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_ENV_H_
