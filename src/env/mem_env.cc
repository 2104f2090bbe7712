// MemEnv: an Env whose files are byte buffers in memory (NewMemEnv).
//
// Model:
// - A file is a reference-counted buffer (an "inode"). The name table maps
//   paths to buffers; open file objects hold their own reference, so a file
//   removed or renamed while open keeps its contents for its readers and
//   writers, as on POSIX. LinkFile makes two names share one buffer.
// - Directories are implied by path prefixes: a file "a/b/c" can be created
//   without CreateDir("a/b"), and "a/b" then exists. CreateDir records a
//   directory explicitly so that an empty directory exists too. RemoveDir fails
//   on a non-empty directory.
// - Paths are compared after collapsing repeated '/' and dropping a trailing
//   '/'; "." and ".." components are not interpreted.
// - Data is durable as soon as it is appended; Sync and SyncDir only check
//   that their object still exists. Use FaultInjectionEnv to model loss.
// - Threads, the clock and sleeping are delegated to the base Env.
//
// Thread safety: the name table has one mutex; each buffer has its own, so
// readers may read a file while a writer appends to it.
#include <map>
#include <set>

#include "lsmkv/env.h"
#include "util/check.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

namespace {

std::string NormalizePath(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  // The name table relies on one spelling per path.
  DCHECK(out.find("//") == std::string::npos);
  DCHECK(out.size() <= 1 || out.back() != '/');
  return out;
}

Status NotFoundError(const std::string& what) {
  return Status::IOError(what, "No such file or directory", Status::SubCode::kPathNotFound);
}

class FileData {
 public:
  uint64_t Size() const {
    MutexLock guard(&mu_);
    return data_.size();
  }
  // Copies up to n bytes at offset into scratch; returns the count copied.
  size_t Read(uint64_t offset, size_t n, char* scratch) const {
    MutexLock guard(&mu_);
    if (offset >= data_.size()) return 0;
    size_t avail = static_cast<size_t>(data_.size() - offset);
    size_t count = n < avail ? n : avail;
    [[maybe_unused]] const size_t copied = data_.copy(scratch, count, static_cast<size_t>(offset));
    DCHECK_EQ(copied, count);
    return count;
  }
  void Append(std::string_view data) {
    MutexLock guard(&mu_);
    data_.append(data);
  }
  void Truncate() {
    MutexLock guard(&mu_);
    data_.clear();
  }
  // Writes data at offset; a gap before it reads as zeros.
  void WriteAt(uint64_t offset, std::string_view data) {
    MutexLock guard(&mu_);
    const size_t end = static_cast<size_t>(offset) + data.size();
    if (data_.size() < end) data_.resize(end, '\0');
    data_.replace(static_cast<size_t>(offset), data.size(), data);
  }

 private:
  mutable Mutex mu_;  // a leaf lock
  std::string data_ GUARDED_BY(mu_);
};

using FileRef = std::shared_ptr<FileData>;

class MemSequentialFile final : public SequentialFile {
 public:
  explicit MemSequentialFile(FileRef file) : file_(std::move(file)) {}

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    size_t count = file_->Read(pos_, n, scratch);
    DCHECK_LE(count, n);
    pos_ += count;
    *result = std::string_view(scratch, count);
    return Status::OK();
  }

  Status Skip(uint64_t n) override {
    pos_ += n;
    return Status::OK();
  }

 private:
  const FileRef file_;
  uint64_t pos_ = 0;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(FileRef file) : file_(std::move(file)) {}

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    *result = std::string_view(scratch, file_->Read(offset, n, scratch));
    return Status::OK();
  }

 private:
  const FileRef file_;
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string fname, FileRef file)
      : fname_(std::move(fname)), file_(std::move(file)) {}

  Status Append(std::string_view data) override {
    if (closed_) return ClosedError();
    [[maybe_unused]] const uint64_t before = file_->Size();
    file_->Append(data);
    // Appends only grow the buffer (another handle may append concurrently).
    DCHECK_GE(file_->Size(), before + data.size());
    return Status::OK();
  }
  Status Flush() override { return closed_ ? ClosedError() : Status::OK(); }
  Status Sync() override { return closed_ ? ClosedError() : Status::OK(); }
  Status Close() override {
    closed_ = true;
    return Status::OK();
  }

 private:
  Status ClosedError() const { return Status::IOError(fname_, "file already closed"); }

  const std::string fname_;
  const FileRef file_;
  bool closed_ = false;
};

class MemRandomRWFile final : public RandomRWFile {
 public:
  MemRandomRWFile(std::string fname, FileRef file)
      : fname_(std::move(fname)), file_(std::move(file)) {}

  Status Write(uint64_t offset, std::string_view data) override {
    if (closed_) return ClosedError();
    file_->WriteAt(offset, data);
    return Status::OK();
  }
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    if (closed_) return ClosedError();
    *result = std::string_view(scratch, file_->Read(offset, n, scratch));
    return Status::OK();
  }
  Status Sync() override { return closed_ ? ClosedError() : Status::OK(); }
  Status Close() override {
    closed_ = true;
    return Status::OK();
  }

 private:
  Status ClosedError() const { return Status::IOError(fname_, "file already closed"); }

  const std::string fname_;
  const FileRef file_;
  bool closed_ = false;
};

class MemFileLock final : public FileLock {
 public:
  explicit MemFileLock(std::string fname) : fname_(std::move(fname)) {}
  const std::string& fname() const { return fname_; }

 private:
  const std::string fname_;
};

class MemEnv final : public Env {
 public:
  explicit MemEnv(Env* base) : base_(base) {}

  Status NewSequentialFile(const std::string& fname,
                           std::unique_ptr<SequentialFile>* result) override {
    result->reset();
    FileRef file = Find(fname);
    if (!file) return NotFoundError(fname);
    *result = std::make_unique<MemSequentialFile>(std::move(file));
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& fname,
                             std::unique_ptr<RandomAccessFile>* result) override {
    result->reset();
    FileRef file = Find(fname);
    if (!file) return NotFoundError(fname);
    *result = std::make_unique<MemRandomAccessFile>(std::move(file));
    return Status::OK();
  }

  Status NewWritableFile(const std::string& fname, std::unique_ptr<WritableFile>* result) override {
    return OpenWritable(fname, /*truncate=*/true, result);
  }

  Status NewAppendableFile(const std::string& fname,
                           std::unique_ptr<WritableFile>* result) override {
    return OpenWritable(fname, /*truncate=*/false, result);
  }

  Status NewRandomRWFile(const std::string& fname, std::unique_ptr<RandomRWFile>* result) override {
    result->reset();
    std::string path = NormalizePath(fname);
    FileRef file;
    {
      MutexLock guard(&mu_);
      if (DirExistsLocked(path)) return Status::IOError(fname, "Is a directory");
      FileRef& slot = files_[path];
      if (!slot) slot = std::make_shared<FileData>();
      file = slot;
    }
    *result = std::make_unique<MemRandomRWFile>(fname, std::move(file));
    return Status::OK();
  }

  bool FileExists(const std::string& fname) override {
    std::string path = NormalizePath(fname);
    MutexLock guard(&mu_);
    return files_.count(path) != 0 || DirExistsLocked(path);
  }

  Status GetChildren(const std::string& dir, std::vector<std::string>* result) override {
    result->clear();
    std::string path = NormalizePath(dir);
    MutexLock guard(&mu_);
    if (!DirExistsLocked(path)) return NotFoundError(dir);
    const std::string prefix = DirPrefix(path);
    std::set<std::string> names;
    auto collect = [&](const std::string& entry) {
      if (entry.size() <= prefix.size() || entry.compare(0, prefix.size(), prefix) != 0) return;
      std::string rest = entry.substr(prefix.size());
      // Normalised paths have no empty component: every child has a name.
      DCHECK(!rest.empty() && rest[0] != '/');
      names.insert(rest.substr(0, rest.find('/')));  // Subdirectories by their first component.
    };
    for (auto it = files_.lower_bound(prefix); it != files_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      collect(it->first);
    }
    for (auto it = dirs_.lower_bound(prefix); it != dirs_.end(); ++it) {
      if (it->compare(0, prefix.size(), prefix) != 0) break;
      collect(*it);
    }
    result->assign(names.begin(), names.end());
    return Status::OK();
  }

  Status RemoveFile(const std::string& fname) override {
    MutexLock guard(&mu_);
    if (files_.erase(NormalizePath(fname)) == 0) return NotFoundError(fname);
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    std::string path = NormalizePath(dir);
    MutexLock guard(&mu_);
    if (files_.count(path) != 0) return Status::IOError(dir, "File exists");
    dirs_.insert(path);
    return Status::OK();
  }

  Status RemoveDir(const std::string& dir) override {
    std::string path = NormalizePath(dir);
    MutexLock guard(&mu_);
    if (!DirExistsLocked(path)) return NotFoundError(dir);
    const std::string prefix = DirPrefix(path);
    auto f = files_.lower_bound(prefix);
    auto d = dirs_.lower_bound(prefix);
    bool has_file = f != files_.end() && f->first.compare(0, prefix.size(), prefix) == 0;
    bool has_dir = d != dirs_.end() && d->compare(0, prefix.size(), prefix) == 0;
    if (has_file || has_dir) return Status::IOError(dir, "Directory not empty");
    dirs_.erase(path);
    return Status::OK();
  }

  Status GetFileSize(const std::string& fname, uint64_t* size) override {
    *size = 0;
    FileRef file = Find(fname);
    if (!file) return NotFoundError(fname);
    *size = file->Size();
    return Status::OK();
  }

  Status RenameFile(const std::string& src, const std::string& target) override {
    std::string from = NormalizePath(src);
    std::string to = NormalizePath(target);
    MutexLock guard(&mu_);
    auto it = files_.find(from);
    if (it == files_.end()) return NotFoundError("rename " + src + " to " + target);
    if (from == to) return Status::OK();
    if (dirs_.count(to) != 0)
      return Status::IOError("rename " + src + " to " + target, "Is a directory");
    FileRef file = it->second;
    files_.erase(it);
    files_[to] = std::move(file);
    return Status::OK();
  }

  Status LinkFile(const std::string& src, const std::string& target) override {
    std::string from = NormalizePath(src);
    std::string to = NormalizePath(target);
    MutexLock guard(&mu_);
    auto it = files_.find(from);
    if (it == files_.end()) return NotFoundError("link " + src + " to " + target);
    if (files_.count(to) != 0 || DirExistsLocked(to)) {
      return Status::IOError("link " + src + " to " + target, "File exists");
    }
    files_[to] = it->second;
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    MutexLock guard(&mu_);
    if (!DirExistsLocked(NormalizePath(dir))) return NotFoundError(dir);
    return Status::OK();
  }

  Status LockFile(const std::string& fname, FileLock** lock) override {
    *lock = nullptr;
    std::string path = NormalizePath(fname);
    MutexLock guard(&mu_);
    if (locks_.count(path) != 0) {
      return Status::IOError("lock " + fname + " already held by this process");
    }
    if (files_.count(path) == 0) {
      if (DirExistsLocked(path)) return Status::IOError("lock " + fname, "Is a directory");
      files_[path] = std::make_shared<FileData>();
    }
    locks_.insert(path);
    *lock = new MemFileLock(path);
    return Status::OK();
  }

  Status UnlockFile(FileLock* lock) override {
    DCHECK(lock != nullptr);
    auto* mem_lock = static_cast<MemFileLock*>(lock);
    {
      MutexLock guard(&mu_);
      [[maybe_unused]] const size_t erased = locks_.erase(mem_lock->fname());
      DCHECK_EQ(erased, 1u);  // a lock object is in the table until unlocked
    }
    delete mem_lock;
    return Status::OK();
  }

  void Schedule(std::function<void()> fn) override { base_->Schedule(std::move(fn)); }
  void StartThread(std::function<void()> fn) override { base_->StartThread(std::move(fn)); }
  uint64_t NowMicros() override { return base_->NowMicros(); }
  void SleepForMicroseconds(int micros) override { base_->SleepForMicroseconds(micros); }

 private:
  static std::string DirPrefix(const std::string& dir) { return dir == "/" ? dir : dir + "/"; }

  FileRef Find(const std::string& fname) {
    MutexLock guard(&mu_);
    auto it = files_.find(NormalizePath(fname));
    return it == files_.end() ? nullptr : it->second;
  }

  // A directory exists if it was created or if some file or directory lies below it.
  bool DirExistsLocked(const std::string& path) const REQUIRES(mu_) {
    if (dirs_.count(path) != 0) return true;
    const std::string prefix = DirPrefix(path);
    auto f = files_.lower_bound(prefix);
    if (f != files_.end() && f->first.compare(0, prefix.size(), prefix) == 0) return true;
    auto d = dirs_.lower_bound(prefix);
    return d != dirs_.end() && d->compare(0, prefix.size(), prefix) == 0;
  }

  Status OpenWritable(const std::string& fname, bool truncate,
                      std::unique_ptr<WritableFile>* result) {
    result->reset();
    std::string path = NormalizePath(fname);
    FileRef file;
    {
      MutexLock guard(&mu_);
      if (DirExistsLocked(path)) return Status::IOError(fname, "Is a directory");
      FileRef& slot = files_[path];
      if (!slot) {
        slot = std::make_shared<FileData>();
      } else if (truncate) {
        slot->Truncate();  // Same inode: other open handles and links see it.
      }
      file = slot;
    }
    *result = std::make_unique<MemWritableFile>(fname, std::move(file));
    return Status::OK();
  }

  Env* const base_;
  // The name table's lock; taken before a FileData's own (Truncate under it).
  mutable Mutex mu_;
  std::map<std::string, FileRef> files_ GUARDED_BY(mu_);
  std::set<std::string> dirs_ GUARDED_BY(mu_);
  std::set<std::string> locks_ GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Env> NewMemEnv(Env* base) { return std::make_unique<MemEnv>(base); }

}  // namespace lsmkv
