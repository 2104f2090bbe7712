#include "env/kill_point_env.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "base/filename.h"
#include "util/check.h"

namespace lsmkv {

// The point of operation op ("create", "append", ...) on a file of kind, or
// "" if that step is not a kill point.
static std::string PointFor(DbFileKind kind, const char* op) {
  std::string point = std::string(DbFileKindName(kind)) + "." + op;
  return KillPointEnv::IsPoint(point) ? point : std::string();
}

DbFileKind ClassifyDbFile(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string::npos
                                    ? std::string_view(path)
                                    : std::string_view(path).substr(slash + 1);
  if (name == "BTREE") return DbFileKind::kBTree;
  constexpr std::string_view kLogPrefix = "BTREE-", kLogSuffix = ".log";
  if (name.size() > kLogPrefix.size() + kLogSuffix.size() && name.starts_with(kLogPrefix) &&
      name.ends_with(kLogSuffix)) {
    const std::string_view digits =
        name.substr(kLogPrefix.size(), name.size() - kLogPrefix.size() - kLogSuffix.size());
    DCHECK(!digits.empty());
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return DbFileKind::kBTreeWal;
    }
    return DbFileKind::kOther;
  }
  uint64_t number = 0;
  FileType type;
  if (!ParseFileName(name, &number, &type)) return DbFileKind::kOther;
  switch (type) {
    case FileType::kLogFile:
      return DbFileKind::kWal;
    case FileType::kTableFile:
      return DbFileKind::kTable;
    case FileType::kDescriptorFile:
      return DbFileKind::kManifest;
    case FileType::kCurrentFile:
      return DbFileKind::kCurrent;
    case FileType::kTempFile:
      return DbFileKind::kCurrentTemp;
    case FileType::kInfoLogFile:
      return DbFileKind::kInfoLog;
    case FileType::kLockFile:
      return DbFileKind::kLock;
    case FileType::kOptionsFile:
      return DbFileKind::kOptions;
  }
  return DbFileKind::kOther;
}

const char* DbFileKindName(DbFileKind kind) {
  switch (kind) {
    case DbFileKind::kWal:
      return "wal";
    case DbFileKind::kTable:
      return "table";
    case DbFileKind::kManifest:
      return "manifest";
    case DbFileKind::kCurrent:
      return "current";
    case DbFileKind::kCurrentTemp:
      return "current.tmp";
    case DbFileKind::kInfoLog:
      return "infolog";
    case DbFileKind::kLock:
      return "lock";
    case DbFileKind::kOptions:
      return "options";
    case DbFileKind::kBTree:
      return "btree";
    case DbFileKind::kBTreeWal:
      return "btree.wal";
    case DbFileKind::kOther:
      return "other";
  }
  return "other";
}

// ---------------------------------------------------------------- file

// Forwards to the target file; Append, Sync and Close are steps of the
// file's points (empty names for files that have none).
class KillPointWritableFile final : public WritableFile {
 public:
  KillPointWritableFile(KillPointEnv* env, DbFileKind kind, std::unique_ptr<WritableFile> target)
      : env_(env),
        append_point_(PointFor(kind, "append")),
        sync_point_(PointFor(kind, "sync")),
        close_point_(PointFor(kind, "close")),
        target_(std::move(target)) {}

  Status Append(std::string_view data) override {
    return env_->Step(append_point_, [&] { return target_->Append(data); });
  }
  Status Flush() override { return target_->Flush(); }
  Status Sync() override {
    return env_->Step(sync_point_, [&] { return target_->Sync(); });
  }
  Status Close() override {
    return env_->Step(close_point_, [&] { return target_->Close(); });
  }
  void SetPreallocationBlockSize(uint64_t block_size) override {
    target_->SetPreallocationBlockSize(block_size);
  }
  void SetMappedWrites(bool allowed) override { target_->SetMappedWrites(allowed); }

 private:
  KillPointEnv* const env_;
  const std::string append_point_;
  const std::string sync_point_;
  const std::string close_point_;
  const std::unique_ptr<WritableFile> target_;
};

// Forwards to the target file; Write, Sync and Close are steps of the
// file's points (empty names for files that have none).
class KillPointRandomRWFile final : public RandomRWFile {
 public:
  KillPointRandomRWFile(KillPointEnv* env, DbFileKind kind, std::unique_ptr<RandomRWFile> target)
      : env_(env),
        write_point_(PointFor(kind, "write")),
        sync_point_(PointFor(kind, "sync")),
        close_point_(PointFor(kind, "close")),
        target_(std::move(target)) {}

  Status Write(uint64_t offset, std::string_view data) override {
    return env_->Step(write_point_, [&] { return target_->Write(offset, data); });
  }
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    return target_->Read(offset, n, result, scratch);
  }
  Status Sync() override {
    return env_->Step(sync_point_, [&] { return target_->Sync(); });
  }
  Status Close() override {
    return env_->Step(close_point_, [&] { return target_->Close(); });
  }

 private:
  KillPointEnv* const env_;
  const std::string write_point_;
  const std::string sync_point_;
  const std::string close_point_;
  const std::unique_ptr<RandomRWFile> target_;
};

// ---------------------------------------------------------------- env

const std::vector<std::string>& KillPointEnv::AllPoints() {
  static const std::vector<std::string> kPoints = {
      "dir.create",        "dir.sync",           "wal.create",         "wal.append",
      "wal.sync",          "wal.close",          "wal.remove",         "table.create",
      "table.append",      "table.sync",         "table.close",        "table.remove",
      "manifest.create",   "manifest.append",    "manifest.sync",      "manifest.close",
      "manifest.remove",   "current.tmp.create", "current.tmp.append", "current.tmp.sync",
      "current.tmp.close", "current.rename",
  };
  return kPoints;
}

const std::vector<std::string>& KillPointEnv::BTreePoints() {
  static const std::vector<std::string> kPoints = {
      "btree.create",   "btree.write",      "btree.sync",
      "btree.close",    "btree.wal.create", "btree.wal.append",
      "btree.wal.sync", "btree.wal.close",  "btree.wal.remove",
  };
  return kPoints;
}

bool KillPointEnv::IsPoint(const std::string& name) {
  for (const auto* points : {&AllPoints(), &BTreePoints()}) {
    if (std::find(points->begin(), points->end(), name) != points->end()) return true;
  }
  return false;
}

KillPointEnv::KillPointEnv(Env* target) : EnvWrapper(target) {}

KillPointEnv::~KillPointEnv() = default;

void KillPointEnv::KillAt(const std::string& point, uint64_t nth, Timing timing) {
  DCHECK(IsPoint(point));
  MutexLock guard(&mu_);
  kill_point_ = point;
  kill_base_ = hits_[point];
  kill_nth_ = std::max<uint64_t>(nth, 1);
  kill_timing_ = timing;
}

void KillPointEnv::KillRandomly(uint64_t odds, uint64_t seed, const std::string& point) {
  DCHECK(point.empty() || IsPoint(point));
  MutexLock guard(&mu_);
  odds_ = std::max<uint64_t>(odds, 1);
  odds_point_ = point;
  rng_.seed(seed);
}

void KillPointEnv::Disarm() {
  MutexLock guard(&mu_);
  kill_point_.clear();
  odds_ = 0;
}

void KillPointEnv::SetKillFunction(KillFunction fn) {
  MutexLock guard(&mu_);
  kill_function_ = std::move(fn);
}

std::map<std::string, uint64_t> KillPointEnv::HitCounts() const {
  MutexLock guard(&mu_);
  std::map<std::string, uint64_t> result;
  for (const auto& [point, hits] : hits_) {
    if (hits > 0) result[point] = hits;
  }
  return result;
}

std::string KillPointEnv::HitSummary() const {
  const std::map<std::string, uint64_t> hits = HitCounts();
  std::string out;
  for (const auto* points : {&AllPoints(), &BTreePoints()}) {
    for (const std::string& point : *points) {
      auto it = hits.find(point);
      if (it == hits.end()) continue;
      if (!out.empty()) out += ' ';
      out += point + "=" + std::to_string(it->second);
    }
  }
  return out;
}

Status KillPointEnv::Step(const std::string& point, const std::function<Status()>& op) {
  if (point.empty()) return op();
  DCHECK(IsPoint(point));  // PointFor and the callers name only listed points
  bool kill_before = false, kill_after = false;
  uint64_t hit = 0;
  KillFunction fn;
  {
    MutexLock guard(&mu_);
    hit = ++hits_[point];
    // An armed point is disarmed when it fires, so its count never passes it.
    DCHECK(kill_point_.empty() || point != kill_point_ || hit - kill_base_ <= kill_nth_);
    if (!kill_point_.empty() && point == kill_point_ && hit - kill_base_ == kill_nth_) {
      (kill_timing_ == Timing::kBefore ? kill_before : kill_after) = true;
      kill_point_.clear();
    }
    if (odds_ > 0 && (odds_point_.empty() || odds_point_ == point) && rng_() % odds_ == 0) {
      ((rng_() & 1) != 0 ? kill_before : kill_after) = true;
    }
    if (kill_before || kill_after) fn = kill_function_;
  }
  auto kill = [&](Timing timing) {
    if (fn) {
      fn(point, hit, timing);
    } else {
      Kill(point, hit, timing);
    }
  };
  if (kill_before) kill(Timing::kBefore);
  Status s = op();
  if (kill_after) kill(Timing::kAfter);
  return s;
}

void KillPointEnv::Kill(const std::string& point, uint64_t hit, Timing timing) {
  char message[256];
  const int n = std::snprintf(message, sizeof(message), "kill point %s (%s hit %" PRIu64 ")\n",
                              point.c_str(), timing == Timing::kBefore ? "before" : "after", hit);
  if (n > 0) {
    // write(2) directly: no stdio buffer to flush, safe from any thread.
    const ssize_t written = ::write(STDERR_FILENO, message,
                                    std::min<size_t>(static_cast<size_t>(n), sizeof(message) - 1));
    (void)written;
  }
  ::kill(::getpid(), SIGKILL);
  ::_exit(128 + SIGKILL);  // not reached
}

Status KillPointEnv::OpenWritable(const std::string& fname, bool append,
                                  std::unique_ptr<WritableFile>* result) {
  const DbFileKind kind = ClassifyDbFile(fname);
  std::unique_ptr<WritableFile> file;
  Status s = Step(PointFor(kind, "create"), [&] {
    return append ? target()->NewAppendableFile(fname, &file)
                  : target()->NewWritableFile(fname, &file);
  });
  if (!s.ok()) {
    result->reset();
    return s;
  }
  *result = std::make_unique<KillPointWritableFile>(this, kind, std::move(file));
  return s;
}

Status KillPointEnv::NewWritableFile(const std::string& fname,
                                     std::unique_ptr<WritableFile>* result) {
  return OpenWritable(fname, /*append=*/false, result);
}

Status KillPointEnv::NewAppendableFile(const std::string& fname,
                                       std::unique_ptr<WritableFile>* result) {
  return OpenWritable(fname, /*append=*/true, result);
}

Status KillPointEnv::NewRandomRWFile(const std::string& fname,
                                     std::unique_ptr<RandomRWFile>* result) {
  const DbFileKind kind = ClassifyDbFile(fname);
  std::unique_ptr<RandomRWFile> file;
  Status s =
      Step(PointFor(kind, "create"), [&] { return target()->NewRandomRWFile(fname, &file); });
  if (!s.ok()) {
    result->reset();
    return s;
  }
  *result = std::make_unique<KillPointRandomRWFile>(this, kind, std::move(file));
  return s;
}

Status KillPointEnv::RemoveFile(const std::string& fname) {
  return Step(PointFor(ClassifyDbFile(fname), "remove"),
              [&] { return target()->RemoveFile(fname); });
}

Status KillPointEnv::CreateDir(const std::string& dir) {
  return Step("dir.create", [&] { return target()->CreateDir(dir); });
}

Status KillPointEnv::RenameFile(const std::string& src, const std::string& target_name) {
  const std::string point =
      ClassifyDbFile(target_name) == DbFileKind::kCurrent ? "current.rename" : "";
  return Step(point, [&] { return target()->RenameFile(src, target_name); });
}

Status KillPointEnv::SyncDir(const std::string& dir) {
  return Step("dir.sync", [&] { return target()->SyncDir(dir); });
}

}  // namespace lsmkv
