#include "env/fault_injection_env.h"

#include <algorithm>
#include <cstring>

#include "util/check.h"

namespace lsmkv {

namespace {

// Appended bytes kept in a FaultWritableFile before they are pushed to the target.
constexpr size_t kPushThreshold = 64 * 1024;

// The unit in which partial write loss tears a write (a disk sector).
constexpr uint64_t kSectorSize = 512;

std::string NormalizePath(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The directory holding path (normalised): "." for a bare name.
std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

double NextUniform(std::mt19937_64* rng) { return static_cast<double>((*rng)() >> 11) * 0x1.0p-53; }

}  // namespace

const char* FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kOpen:
      return "Open";
    case FaultOp::kRead:
      return "Read";
    case FaultOp::kAppend:
      return "Append";
    case FaultOp::kSync:
      return "Sync";
    case FaultOp::kClose:
      return "Close";
    case FaultOp::kRename:
      return "Rename";
    case FaultOp::kRemove:
      return "Remove";
    case FaultOp::kSyncDir:
      return "SyncDir";
    case FaultOp::kLock:
      return "Lock";
    case FaultOp::kGetFileSize:
      return "GetFileSize";
    case FaultOp::kGetChildren:
      return "GetChildren";
    case FaultOp::kCreateDir:
      return "CreateDir";
    case FaultOp::kLink:
      return "Link";
  }
  return "Unknown";
}

// ---------------------------------------------------------------- files

class FaultSequentialFile final : public SequentialFile {
 public:
  FaultSequentialFile(FaultInjectionEnv* env, std::string fname,
                      std::unique_ptr<SequentialFile> target)
      : env_(env), fname_(std::move(fname)), target_(std::move(target)) {}

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    *result = std::string_view();
    Status s = env_->MaybeFail(FaultOp::kRead, fname_);
    if (!s.ok()) return s;
    s = target_->Read(n, result, scratch);
    if (s.ok()) env_->MaybeCorruptRead(fname_, result, scratch);
    return s;
  }

  Status Skip(uint64_t n) override {
    Status s = env_->MaybeFail(FaultOp::kRead, fname_);
    return s.ok() ? target_->Skip(n) : s;
  }

 private:
  FaultInjectionEnv* const env_;
  const std::string fname_;
  const std::unique_ptr<SequentialFile> target_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultInjectionEnv* env, std::string fname,
                        std::unique_ptr<RandomAccessFile> target)
      : env_(env), fname_(std::move(fname)), target_(std::move(target)) {}

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    *result = std::string_view();
    Status s = env_->MaybeFail(FaultOp::kRead, fname_);
    if (!s.ok()) return s;
    s = target_->Read(offset, n, result, scratch);
    if (s.ok()) env_->MaybeCorruptRead(fname_, result, scratch);
    return s;
  }

 private:
  FaultInjectionEnv* const env_;
  const std::string fname_;
  const std::unique_ptr<RandomAccessFile> target_;
};

// Buffers appends itself and always flushes the target after handing it
// data, so the target never holds bytes a simulated crash should have lost.
class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::string fname, std::unique_ptr<WritableFile> target,
                    std::shared_ptr<FaultInjectionEnv::FileInfo> info)
      : env_(env), fname_(std::move(fname)), target_(std::move(target)), info_(std::move(info)) {}

  ~FaultWritableFile() override {
    DCHECK(!closed_ || buffer_.empty());          // Close pushed or dropped everything
    if (!closed_) Push().PermitUncheckedError();  // Push drops the bytes if inactive.
    // target_'s destructor closes it; its own buffer is empty.
  }

  Status Append(std::string_view data) override {
    MutexLock file_guard(&file_mu_);
    if (closed_) return ClosedError();
    Status s = env_->CheckMutation(FaultOp::kAppend, fname_);
    if (!s.ok()) return s;
    const uint64_t fit = env_->ChargeSpace(data.size());
    DCHECK_LE(fit, data.size());
    buffer_.append(data.substr(0, fit));
    {
      MutexLock guard(&env_->mu_);
      info_->size += fit;
      DCHECK_LE(info_->synced, info_->size);
    }
    s = buffer_.size() >= kPushThreshold ? Push() : Status::OK();
    if (s.ok() && fit < data.size()) {
      return Status::NoSpace(fname_, "no space left on device (simulated full disk)");
    }
    return s;
  }

  Status Flush() override {
    MutexLock file_guard(&file_mu_);
    if (closed_) return ClosedError();
    return Push();
  }

  // May run concurrently with Append/Flush (env.h): only the bytes pushed to
  // the target before the target's sync starts are marked synced.
  Status Sync() override {
    uint64_t pushed_size = 0;
    {
      MutexLock file_guard(&file_mu_);
      if (closed_) return ClosedError();
      Status s = env_->CheckMutation(FaultOp::kSync, fname_);
      if (!s.ok()) return s;
      s = Push();
      if (!s.ok()) return s;
      MutexLock guard(&env_->mu_);
      pushed_size = info_->size;
    }
    Status s = target_->Sync();
    if (s.ok()) {
      MutexLock guard(&env_->mu_);
      // A power loss may have been simulated meanwhile; never extend past it.
      if (env_->CheckActiveLocked(fname_).ok() && pushed_size > info_->synced) {
        info_->synced = std::min(pushed_size, info_->size);
      }
      DCHECK_LE(info_->synced, info_->size);  // durable bytes were all appended
    }
    return s;
  }

  Status Close() override {
    MutexLock file_guard(&file_mu_);
    if (closed_) return Status::OK();
    closed_ = true;
    Status s = env_->CheckMutation(FaultOp::kClose, fname_);
    if (!s.ok()) {
      buffer_.clear();  // A failed close loses what was not flushed.
      target_->Close().PermitUncheckedError();
      return s;
    }
    s = Push();
    DCHECK(buffer_.empty());
    Status c = target_->Close();
    return s.ok() ? c : s;
  }

 private:
  Status ClosedError() const { return Status::IOError(fname_, "file already closed"); }

  // Hands the buffered bytes to the target and flushes it; drops them instead
  // if the filesystem is inactive.
  Status Push() REQUIRES(file_mu_) EXCLUDES(env_->mu_) {
    {
      MutexLock guard(&env_->mu_);
      Status s = env_->CheckActiveLocked(fname_);
      if (!s.ok()) {
        buffer_.clear();
        return s;
      }
    }
    if (buffer_.empty()) return target_->Flush();
    Status s = target_->Append(buffer_);
    buffer_.clear();  // handed over or lost: never appended twice
    if (s.ok()) s = target_->Flush();
    return s;
  }

  FaultInjectionEnv* const env_;
  const std::string fname_;
  const std::unique_ptr<WritableFile> target_;
  // *info_ is guarded by env_->mu_ (not annotated: the analysis does not
  // see shared_ptr's operator->, which libstdc++ inherits from a base).
  const std::shared_ptr<FaultInjectionEnv::FileInfo> info_;
  // Sync may run on another thread.
  Mutex file_mu_ ACQUIRED_BEFORE(env_->mu_);
  std::string buffer_ GUARDED_BY(file_mu_);
  bool closed_ GUARDED_BY(file_mu_) = false;
};

// Writes reach the target at once; the env keeps what each unsynced write
// overwrote so that DropUnsyncedData can undo it.
class FaultRandomRWFile final : public RandomRWFile {
 public:
  FaultRandomRWFile(FaultInjectionEnv* env, std::string fname, std::unique_ptr<RandomRWFile> target,
                    std::shared_ptr<FaultInjectionEnv::FileInfo> info)
      : env_(env), fname_(std::move(fname)), target_(std::move(target)), info_(std::move(info)) {}

  // The old bytes are read before anything is charged or written, so a
  // failed read changes nothing. Under a space limit the growth (new size
  // minus old size, a gap included) is charged; what does not fit is cut.
  Status Write(uint64_t offset, std::string_view data) override {
    if (closed_) return ClosedError();
    Status s = env_->CheckMutation(FaultOp::kAppend, fname_);
    if (!s.ok()) return s;
    uint64_t size;
    {
      MutexLock guard(&env_->mu_);
      size = info_->size;
    }
    FaultInjectionEnv::Undo undo{offset, {}, {}};
    if (offset < size) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(size - offset, data.size()));
      undo.old_bytes.resize(n);
      std::string_view old;
      s = target_->Read(offset, n, &old, undo.old_bytes.data());
      if (!s.ok()) return s;
      undo.old_bytes.assign(old.data(), old.size());
    }
    const uint64_t end = offset + data.size();
    bool short_write = false;
    if (end > size) {
      const uint64_t growth = end - size;
      const uint64_t fit = env_->ChargeSpace(growth);
      DCHECK_LE(fit, growth);
      if (fit < growth) {
        short_write = true;
        const uint64_t new_end = size + fit;  // the file may grow to here
        const uint64_t keep = new_end > offset ? new_end - offset : 0;
        DCHECK_LT(keep, data.size());
        data = data.substr(0, static_cast<size_t>(keep));
        // Nothing written past a gap: the file does not grow at all.
        if (keep == 0) env_->ReturnSpace(fit);
      }
    }
    if (undo.old_bytes.size() > data.size()) undo.old_bytes.resize(data.size());
    if (!data.empty()) s = target_->Write(offset, data);
    {
      MutexLock guard(&env_->mu_);
      if (s.ok() && !data.empty()) {  // an empty write does not extend the file
        info_->size = std::max(info_->size, offset + data.size());
        undo.new_bytes.assign(data);
      }
      // A failed target write may have written part of data: its undo entry
      // restores the old bytes, and it is never kept at a partial loss.
      if (!data.empty()) info_->undo.push_back(std::move(undo));
    }
    if (!s.ok()) return s;
    if (short_write)
      return Status::NoSpace(fname_, "no space left on device (simulated full disk)");
    return Status::OK();
  }

  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    *result = std::string_view();
    if (closed_) return ClosedError();
    Status s = env_->MaybeFail(FaultOp::kRead, fname_);
    if (!s.ok()) return s;
    s = target_->Read(offset, n, result, scratch);
    if (s.ok()) env_->MaybeCorruptRead(fname_, result, scratch);
    return s;
  }

  Status Sync() override {
    if (closed_) return ClosedError();
    Status s = env_->CheckMutation(FaultOp::kSync, fname_);
    if (!s.ok()) return s;
    s = target_->Sync();
    if (s.ok()) {
      MutexLock guard(&env_->mu_);
      if (env_->CheckActiveLocked(fname_).ok()) {
        info_->synced = info_->size;
        info_->undo.clear();
      }
    }
    return s;
  }

  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    Status s = env_->CheckMutation(FaultOp::kClose, fname_);
    Status c = target_->Close();
    return s.ok() ? c : s;
  }

 private:
  Status ClosedError() const { return Status::IOError(fname_, "file already closed"); }

  FaultInjectionEnv* const env_;
  const std::string fname_;
  const std::unique_ptr<RandomRWFile> target_;
  // *info_ is guarded by env_->mu_ (see FaultWritableFile).
  const std::shared_ptr<FaultInjectionEnv::FileInfo> info_;
  bool closed_ = false;
};

// ---------------------------------------------------------------- env

FaultInjectionEnv::FaultInjectionEnv(Env* target) : EnvWrapper(target) {}

FaultInjectionEnv::~FaultInjectionEnv() = default;

// ---- Fault bookkeeping.

Status FaultInjectionEnv::MaybeFail(FaultOp op, const std::string& what) {
  MutexLock guard(&mu_);
  return MaybeFailLocked(op, what);
}

Status FaultInjectionEnv::MaybeFailLocked(FaultOp op, const std::string& what) {
  const int i = static_cast<int>(op);
  DCHECK(i >= 0 && static_cast<size_t>(i) < std::size(faults_));
  counts_[i]++;
  Fault& f = faults_[i];
  bool fail = false;
  switch (f.mode) {
    case Fault::Mode::kNone:
      break;
    case Fault::Mode::kNth:
      DCHECK_LT(f.seen, f.n);  // the nth call fails once, then the fault disarms
      if (++f.seen == f.n) {
        fail = true;
        f.mode = Fault::Mode::kNone;
      }
      break;
    case Fault::Mode::kFrom:
      if (++f.seen >= f.n) fail = true;
      break;
    case Fault::Mode::kRandom:
      fail = NextUniform(&f.rng) < f.probability;
      break;
  }
  if (!fail) return Status::OK();
  injected_++;
  if (observer_) observer_(op, what);
  const char* kind = f.kind == FaultKind::kENOSPC   ? "ENOSPC"
                     : f.kind == FaultKind::kEACCES ? "EACCES (Permission denied)"
                                                    : "EIO";
  std::string msg = std::string("injected ") + kind + " in " + FaultOpName(op);
  if (f.kind == FaultKind::kENOSPC) return Status::NoSpace(msg, what);
  return Status::IOError(msg, what);
}

Status FaultInjectionEnv::CheckActiveLocked(const std::string& what) const {
  if (active_) return Status::OK();
  return Status::IOError("filesystem inactive (simulated crash)", what);
}

Status FaultInjectionEnv::CheckMutation(FaultOp op, const std::string& what) {
  MutexLock guard(&mu_);
  if (!active_) {
    counts_[static_cast<int>(op)]++;
    return CheckActiveLocked(what);
  }
  return MaybeFailLocked(op, what);
}

void FaultInjectionEnv::MaybeCorruptRead(const std::string& fname, std::string_view* result,
                                         char* scratch) {
  MutexLock guard(&mu_);
  if (fname.size() < damage_suffix_.size() ||
      fname.compare(fname.size() - damage_suffix_.size(), std::string::npos, damage_suffix_) != 0) {
    return;
  }
  if (short_probability_ > 0 && !result->empty() && NextUniform(&short_rng_) < short_probability_) {
    const size_t before = result->size();
    *result = result->substr(0, static_cast<size_t>(short_rng_() % result->size()));
    DCHECK_LT(result->size(), before);  // a short read is strictly shorter
    shortened_reads_++;
  }
  if (corrupt_probability_ <= 0 || result->empty()) return;
  if (NextUniform(&corrupt_rng_) >= corrupt_probability_) return;
  const size_t size = result->size();
  if (result->data() != scratch) std::memmove(scratch, result->data(), size);
  const size_t index = static_cast<size_t>(corrupt_rng_() % size);
  DCHECK_LT(index, size);
  scratch[index] = static_cast<char>(scratch[index] ^ (1 << (corrupt_rng_() % 8)));
  *result = std::string_view(scratch, size);
  corrupted_reads_++;
}

void FaultInjectionEnv::FailNth(FaultOp op, uint64_t n, FaultKind kind) {
  MutexLock guard(&mu_);
  Fault& f = faults_[static_cast<int>(op)];
  f.mode = Fault::Mode::kNth;
  f.kind = kind;
  f.n = std::max<uint64_t>(n, 1);
  f.seen = 0;
}

void FaultInjectionEnv::FailFrom(FaultOp op, uint64_t n, FaultKind kind) {
  MutexLock guard(&mu_);
  Fault& f = faults_[static_cast<int>(op)];
  f.mode = Fault::Mode::kFrom;
  f.kind = kind;
  f.n = std::max<uint64_t>(n, 1);
  f.seen = 0;
}

void FaultInjectionEnv::FailRandomly(FaultOp op, double probability, uint64_t seed,
                                     FaultKind kind) {
  MutexLock guard(&mu_);
  Fault& f = faults_[static_cast<int>(op)];
  f.mode = Fault::Mode::kRandom;
  f.kind = kind;
  f.probability = probability;
  f.rng.seed(seed);
}

void FaultInjectionEnv::CorruptReads(double probability, uint64_t seed) {
  MutexLock guard(&mu_);
  corrupt_probability_ = probability;
  corrupt_rng_.seed(seed);
}

void FaultInjectionEnv::ShortReads(double probability, uint64_t seed) {
  MutexLock guard(&mu_);
  short_probability_ = probability;
  short_rng_.seed(seed);
}

void FaultInjectionEnv::SetReadDamageFilter(std::string suffix) {
  MutexLock guard(&mu_);
  damage_suffix_ = std::move(suffix);
}

void FaultInjectionEnv::SetInjectionObserver(
    std::function<void(FaultOp op, const std::string& what)> fn) {
  MutexLock guard(&mu_);
  observer_ = std::move(fn);
}

void FaultInjectionEnv::SetSpaceLimit(uint64_t bytes) {
  MutexLock guard(&mu_);
  space_limited_ = true;
  space_left_ = bytes;
}

void FaultInjectionEnv::AddSpace(uint64_t bytes) {
  MutexLock guard(&mu_);
  space_left_ += bytes;
}

void FaultInjectionEnv::ClearSpaceLimit() {
  MutexLock guard(&mu_);
  space_limited_ = false;
}

uint64_t FaultInjectionEnv::NoSpaceCount() const {
  MutexLock guard(&mu_);
  return no_space_count_;
}

uint64_t FaultInjectionEnv::ChargeSpace(uint64_t n) {
  MutexLock guard(&mu_);
  if (!space_limited_) return n;
  const uint64_t fit = std::min(n, space_left_);
  space_left_ -= fit;
  if (fit < n) no_space_count_++;
  return fit;
}

void FaultInjectionEnv::ReturnSpace(uint64_t n) {
  MutexLock guard(&mu_);
  if (space_limited_) space_left_ += n;
}

void FaultInjectionEnv::RefundSpaceLocked(const std::string& path) {
  if (!space_limited_) return;
  uint64_t size = 0;
  auto it = files_.find(path);
  if (it != files_.end()) {
    size = it->second->size;  // includes bytes still buffered in the open file
  } else if (!target()->GetFileSize(path, &size).ok()) {
    return;
  }
  space_left_ += size;
}

Status FaultInjectionEnv::GetFreeSpace(const std::string& path, uint64_t* bytes) {
  {
    MutexLock guard(&mu_);
    if (space_limited_) {
      *bytes = space_left_;
      return Status::OK();
    }
  }
  return target()->GetFreeSpace(path, bytes);
}

void FaultInjectionEnv::ClearFaults() {
  MutexLock guard(&mu_);
  for (Fault& f : faults_) f.mode = Fault::Mode::kNone;
  corrupt_probability_ = 0;
  short_probability_ = 0;
}

uint64_t FaultInjectionEnv::CallCount(FaultOp op) const {
  MutexLock guard(&mu_);
  return counts_[static_cast<int>(op)];
}

void FaultInjectionEnv::ResetCounts() {
  MutexLock guard(&mu_);
  std::fill(std::begin(counts_), std::end(counts_), 0);
}

uint64_t FaultInjectionEnv::InjectedCount() const {
  MutexLock guard(&mu_);
  return injected_;
}

uint64_t FaultInjectionEnv::CorruptedReadCount() const {
  MutexLock guard(&mu_);
  return corrupted_reads_;
}

uint64_t FaultInjectionEnv::ShortenedReadCount() const {
  MutexLock guard(&mu_);
  return shortened_reads_;
}

void FaultInjectionEnv::SetFilesystemActive(bool active) {
  MutexLock guard(&mu_);
  active_ = active;
}

bool FaultInjectionEnv::IsFilesystemActive() const {
  MutexLock guard(&mu_);
  return active_;
}

// ---- Helpers for durability tracking.

Status FaultInjectionEnv::ReadPrefix(const std::string& fname, uint64_t n, std::string* out) {
  out->clear();
  std::unique_ptr<SequentialFile> file;
  Status s = target()->NewSequentialFile(fname, &file);
  if (!s.ok()) return s;
  std::string scratch(std::min<uint64_t>(n, 1 << 20), '\0');
  while (out->size() < n) {
    size_t want = std::min<uint64_t>(n - out->size(), scratch.size());
    std::string_view piece;
    s = file->Read(want, &piece, scratch.data());
    if (!s.ok()) return s;
    if (piece.empty()) break;
    DCHECK_LE(piece.size(), want);
    out->append(piece);
  }
  DCHECK_LE(out->size(), n);
  return Status::OK();
}

Status FaultInjectionEnv::RewriteFile(const std::string& fname, std::string_view data) {
  std::unique_ptr<WritableFile> file;
  Status s = target()->NewWritableFile(fname, &file);
  if (!s.ok()) return s;
  s = file->Append(data);
  if (s.ok()) s = file->Sync();
  Status c = file->Close();
  return s.ok() ? c : s;
}

Status FaultInjectionEnv::DurableSizeLocked(const std::string& path, uint64_t* size) {
  Status s = target()->GetFileSize(path, size);
  if (!s.ok()) return s;
  auto it = files_.find(path);
  if (it != files_.end()) *size = std::min(*size, it->second->synced);
  return Status::OK();
}

void FaultInjectionEnv::UndoInPlaceWrites(const std::vector<Undo>& undo, uint64_t synced,
                                          std::string* content) {
  for (auto u = undo.rbegin(); u != undo.rend(); ++u) {
    const size_t at = static_cast<size_t>(u->offset);
    if (content->size() < at + u->old_bytes.size()) content->resize(at + u->old_bytes.size(), '\0');
    content->replace(at, u->old_bytes.size(), u->old_bytes);
  }
  if (content->size() > synced) content->resize(static_cast<size_t>(synced));
}

Status FaultInjectionEnv::ReadDurableLocked(const std::string& path, uint64_t durable,
                                            std::string* out) {
  auto it = files_.find(path);
  if (it == files_.end() || it->second->undo.empty()) return ReadPrefix(path, durable, out);
  // Unsynced in-place writes inside the durable prefix are not durable.
  uint64_t actual = 0;
  Status s = target()->GetFileSize(path, &actual);
  if (s.ok()) s = ReadPrefix(path, actual, out);
  if (!s.ok()) return s;
  UndoInPlaceWrites(it->second->undo, durable, out);
  return Status::OK();
}

void FaultInjectionEnv::AddPendingLocked(const std::string& dir, PendingOp op) {
  op.seq = next_seq_++;
  pending_[dir].push_back(std::move(op));
}

bool FaultInjectionEnv::IsNewNameLocked(const std::string& path) const {
  auto it = new_names_.find(ParentDir(path));
  return it != new_names_.end() && it->second.count(path) != 0;
}

// ---- Env methods.

Status FaultInjectionEnv::NewSequentialFile(const std::string& fname,
                                            std::unique_ptr<SequentialFile>* result) {
  result->reset();
  Status s = MaybeFail(FaultOp::kOpen, fname);
  if (!s.ok()) return s;
  std::unique_ptr<SequentialFile> file;
  s = target()->NewSequentialFile(fname, &file);
  if (s.ok()) *result = std::make_unique<FaultSequentialFile>(this, fname, std::move(file));
  return s;
}

Status FaultInjectionEnv::NewRandomAccessFile(const std::string& fname,
                                              std::unique_ptr<RandomAccessFile>* result) {
  result->reset();
  Status s = MaybeFail(FaultOp::kOpen, fname);
  if (!s.ok()) return s;
  std::unique_ptr<RandomAccessFile> file;
  s = target()->NewRandomAccessFile(fname, &file);
  if (s.ok()) *result = std::make_unique<FaultRandomAccessFile>(this, fname, std::move(file));
  return s;
}

FaultInjectionEnv::FileInfoRef FaultInjectionEnv::TrackOpenedLocked(const std::string& path,
                                                                    bool existed,
                                                                    uint64_t current_size) {
  FileInfoRef& info = files_[path];
  if (!existed) {
    info = std::make_shared<FileInfo>();
    const std::string dir = ParentDir(path);
    new_names_[dir].insert(path);
    PendingOp op;
    op.type = PendingOp::Type::kCreate;
    op.name = path;
    AddPendingLocked(dir, std::move(op));
  } else if (!info) {
    // Untracked until now: its existing bytes are durable (and, for
    // NewWritableFile, about to be truncated away, non-durably).
    info = std::make_shared<FileInfo>();
    info->size = info->synced = current_size;
  } else {
    info->size = current_size;
    info->synced = std::min(info->synced, current_size);
  }
  DCHECK_LE(info->synced, info->size);
  return info;
}

Status FaultInjectionEnv::NewWritableFile(const std::string& fname,
                                          std::unique_ptr<WritableFile>* result) {
  return OpenWritable(fname, /*append=*/false, result);
}

Status FaultInjectionEnv::NewAppendableFile(const std::string& fname,
                                            std::unique_ptr<WritableFile>* result) {
  return OpenWritable(fname, /*append=*/true, result);
}

Status FaultInjectionEnv::OpenWritable(const std::string& fname, bool append,
                                       std::unique_ptr<WritableFile>* result) {
  result->reset();
  const std::string path = NormalizePath(fname);
  MutexLock guard(&mu_);
  Status s = CheckActiveLocked(fname);
  if (!s.ok()) {
    counts_[static_cast<int>(FaultOp::kOpen)]++;
    return s;
  }
  s = MaybeFailLocked(FaultOp::kOpen, fname);
  if (!s.ok()) return s;

  const bool existed = target()->FileExists(path);
  const uint64_t left_before = space_left_;
  if (existed && !append) RefundSpaceLocked(path);  // truncated
  std::unique_ptr<WritableFile> file;
  s = append ? target()->NewAppendableFile(fname, &file) : target()->NewWritableFile(fname, &file);
  if (!s.ok()) {
    space_left_ = left_before;
    return s;
  }
  uint64_t current_size = 0;
  if (existed && append) {
    s = target()->GetFileSize(path, &current_size);
    if (!s.ok()) return s;
  }

  FileInfoRef info = TrackOpenedLocked(path, existed, current_size);
  *result = std::make_unique<FaultWritableFile>(this, fname, std::move(file), info);
  return Status::OK();
}

Status FaultInjectionEnv::NewRandomRWFile(const std::string& fname,
                                          std::unique_ptr<RandomRWFile>* result) {
  result->reset();
  const std::string path = NormalizePath(fname);
  MutexLock guard(&mu_);
  Status s = CheckActiveLocked(fname);
  if (!s.ok()) {
    counts_[static_cast<int>(FaultOp::kOpen)]++;
    return s;
  }
  s = MaybeFailLocked(FaultOp::kOpen, fname);
  if (!s.ok()) return s;
  const bool existed = target()->FileExists(path);
  std::unique_ptr<RandomRWFile> file;
  s = target()->NewRandomRWFile(fname, &file);
  if (!s.ok()) return s;
  uint64_t current_size = 0;
  if (existed) {
    s = target()->GetFileSize(path, &current_size);
    if (!s.ok()) return s;
  }
  FileInfoRef info = TrackOpenedLocked(path, existed, current_size);
  *result = std::make_unique<FaultRandomRWFile>(this, fname, std::move(file), info);
  return Status::OK();
}

void FaultInjectionEnv::SetPartialWriteLoss(uint64_t seed) {
  MutexLock guard(&mu_);
  partial_write_loss_ = true;
  partial_rng_.seed(seed);
}

void FaultInjectionEnv::ClearPartialWriteLoss() {
  MutexLock guard(&mu_);
  partial_write_loss_ = false;
}

Status FaultInjectionEnv::GetChildren(const std::string& dir, std::vector<std::string>* result) {
  Status s = MaybeFail(FaultOp::kGetChildren, dir);
  if (!s.ok()) {
    result->clear();
    return s;
  }
  return target()->GetChildren(dir, result);
}

Status FaultInjectionEnv::RemoveFile(const std::string& fname) {
  const std::string path = NormalizePath(fname);
  const std::string dir = ParentDir(path);
  MutexLock guard(&mu_);
  Status s = CheckActiveLocked(fname);
  if (!s.ok()) {
    counts_[static_cast<int>(FaultOp::kRemove)]++;
    return s;
  }
  s = MaybeFailLocked(FaultOp::kRemove, fname);
  if (!s.ok()) return s;

  PendingOp op;
  op.type = PendingOp::Type::kRemove;
  op.name = path;
  const bool is_new = IsNewNameLocked(path);
  uint64_t durable = 0;
  if (!is_new && DurableSizeLocked(path, &durable).ok()) {
    s = ReadDurableLocked(path, durable, &op.saved);
    if (!s.ok()) return s;
    op.restore = true;
  }
  uint64_t left_before = space_left_;
  RefundSpaceLocked(path);
  s = target()->RemoveFile(fname);
  if (!s.ok()) {
    space_left_ = left_before;
    return s;
  }
  files_.erase(path);
  if (is_new) {
    // Never durable: undoing its creation is enough.
    new_names_[dir].erase(path);
  } else {
    AddPendingLocked(dir, std::move(op));
  }
  return Status::OK();
}

Status FaultInjectionEnv::CreateDir(const std::string& dir) {
  Status s = CheckMutation(FaultOp::kCreateDir, dir);
  return s.ok() ? target()->CreateDir(dir) : s;
}

Status FaultInjectionEnv::RemoveDir(const std::string& dir) {
  MutexLock guard(&mu_);
  Status s = CheckActiveLocked(dir);
  if (!s.ok()) {
    counts_[static_cast<int>(FaultOp::kRemove)]++;
    return s;
  }
  s = MaybeFailLocked(FaultOp::kRemove, dir);
  if (!s.ok()) return s;
  s = target()->RemoveDir(dir);
  if (s.ok()) {
    const std::string path = NormalizePath(dir);
    pending_.erase(path);
    new_names_.erase(path);
  }
  return s;
}

Status FaultInjectionEnv::GetFileSize(const std::string& fname, uint64_t* size) {
  Status s = MaybeFail(FaultOp::kGetFileSize, fname);
  if (!s.ok()) {
    *size = 0;
    return s;
  }
  return target()->GetFileSize(fname, size);
}

Status FaultInjectionEnv::RenameFile(const std::string& src, const std::string& target_name) {
  const std::string from = NormalizePath(src);
  const std::string to = NormalizePath(target_name);
  MutexLock guard(&mu_);
  Status s = CheckActiveLocked(src);
  if (!s.ok()) {
    counts_[static_cast<int>(FaultOp::kRename)]++;
    return s;
  }
  s = MaybeFailLocked(FaultOp::kRename, "rename " + src + " to " + target_name);
  if (!s.ok()) return s;
  if (from == to) return target()->RenameFile(src, target_name);

  PendingOp op;
  op.type = PendingOp::Type::kRename;
  op.name = to;
  op.src = from;
  uint64_t durable = 0;
  if (!IsNewNameLocked(to) && target()->FileExists(to) && DurableSizeLocked(to, &durable).ok()) {
    s = ReadDurableLocked(to, durable, &op.saved);
    if (!s.ok()) return s;
    op.restore = true;
  }
  const uint64_t left_before = space_left_;
  if (target()->FileExists(to)) RefundSpaceLocked(to);  // replaced
  s = target()->RenameFile(src, target_name);
  if (!s.ok()) {
    space_left_ = left_before;
    return s;
  }

  auto it = files_.find(from);
  if (it != files_.end()) {
    FileInfoRef info = std::move(it->second);
    DCHECK(info != nullptr);  // every tracked name has its bookkeeping
    files_.erase(it);
    files_[to] = std::move(info);
  } else {
    files_.erase(to);  // to now names a file with durable contents.
  }
  // The new name is "new" (never durable anywhere) only if the source was.
  const bool src_new = IsNewNameLocked(from);
  new_names_[ParentDir(from)].erase(from);
  if (src_new) {
    new_names_[ParentDir(to)].insert(to);
  } else {
    new_names_[ParentDir(to)].erase(to);
  }
  AddPendingLocked(ParentDir(to), std::move(op));
  return Status::OK();
}

Status FaultInjectionEnv::LinkFile(const std::string& src, const std::string& target_name) {
  const std::string from = NormalizePath(src);
  const std::string to = NormalizePath(target_name);
  MutexLock guard(&mu_);
  Status s = CheckActiveLocked(src);
  if (!s.ok()) {
    counts_[static_cast<int>(FaultOp::kLink)]++;
    return s;
  }
  s = MaybeFailLocked(FaultOp::kLink, "link " + src + " to " + target_name);
  if (!s.ok()) return s;
  s = target()->LinkFile(src, target_name);
  if (!s.ok()) return s;
  auto it = files_.find(from);
  if (it != files_.end()) files_[to] = it->second;  // One inode, two names.
  const std::string dir = ParentDir(to);
  new_names_[dir].insert(to);
  PendingOp op;
  op.type = PendingOp::Type::kCreate;
  op.name = to;
  AddPendingLocked(dir, std::move(op));
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  MutexLock guard(&mu_);
  Status s = CheckActiveLocked(dir);
  if (!s.ok()) {
    counts_[static_cast<int>(FaultOp::kSyncDir)]++;
    return s;
  }
  s = MaybeFailLocked(FaultOp::kSyncDir, dir);
  if (!s.ok()) return s;
  s = target()->SyncDir(dir);
  if (s.ok()) {
    const std::string path = NormalizePath(dir);
    pending_.erase(path);
    new_names_.erase(path);
  }
  return s;
}

Status FaultInjectionEnv::LockFile(const std::string& fname, FileLock** lock) {
  Status s = MaybeFail(FaultOp::kLock, fname);
  if (!s.ok()) {
    *lock = nullptr;
    return s;
  }
  return target()->LockFile(fname, lock);
}

// ---- Power loss.

size_t FaultInjectionEnv::PartialWriteKeepLocked(uint64_t offset, size_t size) {
  if (size == 0) return 0;
  // The cut points: the write's start, every 512-byte boundary of the file
  // strictly inside the write, its end.
  const uint64_t end = offset + size;
  const uint64_t first_boundary = (offset / kSectorSize + 1) * kSectorSize;
  const uint64_t boundaries =
      first_boundary < end ? (end - 1 - first_boundary) / kSectorSize + 1 : 0;
  const uint64_t choice = partial_rng_() % 3;
  if (choice == 0) return size;  // kept whole
  if (choice == 1) return 0;     // lost whole
  // Torn: kept up to a cut point chosen uniformly (start and end included).
  const uint64_t cut = partial_rng_() % (boundaries + 2);
  if (cut == 0) return 0;
  if (cut == boundaries + 1) return size;
  const uint64_t keep = first_boundary + (cut - 1) * kSectorSize - offset;
  DCHECK(keep > 0 && keep < size && (offset + keep) % kSectorSize == 0);
  return static_cast<size_t>(keep);
}

Status FaultInjectionEnv::DropUnsyncedData() {
  MutexLock guard(&mu_);
  Status result;
  auto note = [&result](const Status& s) {
    if (result.ok() && !s.ok()) result = s;
  };

  // 0. Files written in place: the content as of the last Sync (every
  // unsynced write undone, newest first, and the size cut back), then with
  // partial write loss the kept part of each unsynced write applied again,
  // oldest first. Such a file is rewritten whole and skipped by step 1.
  std::set<const FileInfo*> done;
  for (const auto& [path, info] : files_) {
    if (info->undo.empty() || !done.insert(info.get()).second) continue;
    uint64_t actual = 0;
    std::string content;
    Status s = target()->GetFileSize(path, &actual);
    if (s.ok()) s = ReadPrefix(path, actual, &content);
    if (s.ok()) {
      UndoInPlaceWrites(info->undo, info->synced, &content);
      if (partial_write_loss_) {
        for (const Undo& u : info->undo) {
          const size_t keep = PartialWriteKeepLocked(u.offset, u.new_bytes.size());
          if (keep == 0) continue;
          const size_t at = static_cast<size_t>(u.offset);
          if (content.size() < at + keep) content.resize(at + keep, '\0');
          content.replace(at, keep, std::string_view(u.new_bytes).substr(0, keep));
        }
      }
      s = RewriteFile(path, content);
    }
    note(s);
    info->undo.clear();
  }

  // 1. Cut every written file back to its synced size (once per inode).
  for (const auto& [path, info] : files_) {
    if (!done.insert(info.get()).second) continue;
    uint64_t actual = 0;
    if (!target()->GetFileSize(path, &actual).ok() || actual <= info->synced) continue;
    std::string prefix;
    Status s = ReadPrefix(path, info->synced, &prefix);
    // The file is longer than its synced size, so the whole prefix is there.
    DCHECK(!s.ok() || prefix.size() == info->synced);
    if (s.ok()) s = RewriteFile(path, prefix);
    note(s);
  }

  // 2. Undo un-synced directory operations, newest first.
  std::vector<const PendingOp*> ops;
  for (const auto& [dir, list] : pending_) {
    for (const PendingOp& op : list) ops.push_back(&op);
  }
  std::sort(ops.begin(), ops.end(),
            [](const PendingOp* a, const PendingOp* b) { return a->seq > b->seq; });
  for (const PendingOp* op : ops) {
    switch (op->type) {
      case PendingOp::Type::kCreate:
        if (target()->FileExists(op->name)) note(target()->RemoveFile(op->name));
        break;
      case PendingOp::Type::kRemove:
        if (op->restore) note(RewriteFile(op->name, op->saved));
        break;
      case PendingOp::Type::kRename:
        if (target()->FileExists(op->name)) note(target()->RenameFile(op->name, op->src));
        if (op->restore) note(RewriteFile(op->name, op->saved));
        break;
    }
  }

  // What is on the target now is the durable state.
  pending_.clear();
  new_names_.clear();
  files_.clear();
  return result;
}

}  // namespace lsmkv
