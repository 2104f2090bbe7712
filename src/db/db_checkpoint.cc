// DBImpl::Checkpoint: a consistent copy of the open database in a new
// directory (CreateCheckpoint in lsmkv/tools.h).
//
// Consistency: under the DB mutex the current version, the log number, the
// next file number, the last sequence, the frozen memtables' WAL files and
// the acknowledged end of the active WAL (log_written_) are captured
// together. Every acknowledged write is then in a table of that version or in
// one of those WALs before that end, and no partial batch is (a group's
// append and flush finish before log_written_ moves past it). The version
// pins its tables: none of them is deleted until the checkpoint is done. A
// WAL, however, is deleted once a flush commits its memtable; the WALs are
// opened right after the capture, and if one is already gone the capture is
// taken again (the newer version then holds its data). An open file stays
// readable after it is deleted.
#include <memory>
#include <vector>

#include "base/filename.h"
#include "db/db_impl.h"
#include "db/engine_file.h"
#include "env/env_util.h"
#include "lsmkv/tools.h"
#include "wal/log_writer.h"

namespace lsmkv {

namespace {

struct LiveLog {
  uint64_t number = 0;
  uint64_t size = UINT64_MAX;  // bytes to copy; UINT64_MAX: all of a closed file
  std::unique_ptr<SequentialFile> file;
};

struct CheckpointState {
  std::shared_ptr<Version> version;  // pins the tables
  uint64_t log_number = 0;
  uint64_t next_file_number = 0;
  SequenceNumber last_sequence = 0;
  std::vector<LiveLog> logs;  // oldest first
};

bool IsNotFound(const Status& s) {
  return s.IsNotFound() || s.subcode() == Status::SubCode::kPathNotFound;
}

std::string ParentDir(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  const size_t slash = d.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return d.substr(0, slash);
}

// Writes MANIFEST-<number> in dir holding one snapshot edit of state.
Status WriteCheckpointManifest(Env* env, const std::string& dir, uint64_t number,
                               const CheckpointState& state, const char* comparator_name) {
  VersionEdit edit;
  edit.SetComparatorName(comparator_name);
  edit.SetLogNumber(state.log_number);
  edit.SetNextFileNumber(number + 1);
  edit.SetLastSequence(state.last_sequence);
  for (int level = 0; level < kNumLevels; level++) {
    for (const FileRef& f : state.version->files(level)) edit.AddFile(level, *f);
  }
  // The range tombstones go with the tables they still delete from.
  for (const RangeTombstoneRecord& r : state.version->range_tombstones()) {
    edit.PutRangeTombstone(r);
  }
  std::string record;
  edit.EncodeTo(&record);
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(DescriptorFileName(dir, number), &file);
  if (!s.ok()) return s;
  log::Writer writer(file.get(), number);
  s = writer.AddRecord(record);
  if (s.ok()) s = file->Sync();
  Status c = file->Close();
  return s.ok() ? c : s;
}

}  // namespace

Status DBImpl::Checkpoint(const std::string& dir) {
  if (closed_.load(std::memory_order_acquire)) return Status::InvalidArgument("database is closed");
  if (dir.empty()) return Status::InvalidArgument("checkpoint directory name is empty");
  if (env_->FileExists(dir)) {
    return Status::InvalidArgument(dir, "already exists (a checkpoint needs a new directory)");
  }

  CheckpointState state;
  Status s;
  bool captured = false;
  constexpr int kMaxCaptures = 100;
  for (int attempt = 0; attempt < kMaxCaptures && !captured; attempt++) {
    state = CheckpointState();
    {
      InstrumentedMutexLock lock(&mu_);
      if (shutting_down_) return Status::InvalidArgument("database is closed");
      state.version = versions_->current();
      state.log_number = versions_->LogNumber();
      state.next_file_number = versions_->NextFileNumber();
      state.last_sequence = last_sequence_.load(std::memory_order_relaxed);
      for (const FrozenMemTable& frozen : imm_) {
        if (frozen.log_number >= state.log_number)
          state.logs.push_back({frozen.log_number, UINT64_MAX, nullptr});
      }
      state.logs.push_back({mem_log_number_, log_written_, nullptr});
    }
    captured = true;
    for (LiveLog& log : state.logs) {
      s = env_->NewSequentialFile(LogFileName(dbname_, log.number), &log.file);
      if (s.ok()) continue;
      if (!IsNotFound(s)) return s;
      captured = false;  // a flush committed and deleted it: capture again
      break;
    }
  }
  if (!captured) {
    return Status::Busy("checkpoint", "flushes kept retiring the live logs; try again");
  }
  // The MANIFEST needs the WAL it names as the oldest needed one.
  if (state.logs.front().number != state.log_number) state.log_number = state.logs.front().number;

  s = env_->CreateDir(dir);
  if (!s.ok()) return s;
  std::vector<std::string> created;
  auto abandon = [&](const Status& error) {
    for (const std::string& f : created) env_->RemoveFile(f).PermitUncheckedError();
    env_->RemoveDir(dir).PermitUncheckedError();
    LSMKV_LOG(info_log_.get(), "checkpoint to %s failed: %s", dir.c_str(),
              error.ToString().c_str());
    return error;
  };

  // The ENGINE file first, as when a database is created.
  s = WriteEngineFile(env_, dir, StorageEngine::kLsm);
  if (s.ok()) created.push_back(EngineFileName(dir));
  uint64_t linked = 0, copied = 0;
  for (int level = 0; level < kNumLevels && s.ok(); level++) {
    for (const FileRef& f : state.version->files(level)) {
      const std::string src = TableFileName(dbname_, f->number);
      const std::string dst = TableFileName(dir, f->number);
      s = env_->LinkFile(src, dst);
      if (s.ok()) {
        linked++;
      } else {
        // Another filesystem, or an Env without links: copy.
        s = CopyFile(env_, src, dst, f->file_size);
        copied++;
      }
      if (!s.ok()) break;
      created.push_back(dst);
    }
  }
  for (LiveLog& log : state.logs) {
    if (!s.ok()) break;
    const std::string dst = LogFileName(dir, log.number);
    s = CopyOpenFile(env_, log.file.get(), LogFileName(dbname_, log.number), dst, log.size);
    if (s.ok()) created.push_back(dst);
  }
  const uint64_t manifest_number = state.next_file_number;
  if (s.ok()) {
    s = WriteCheckpointManifest(env_, dir, manifest_number, state, icmp_.user_comparator()->Name());
    created.push_back(DescriptorFileName(dir, manifest_number));
  }
  if (s.ok()) s = env_->SyncDir(dir);
  // CURRENT last: before it exists the directory is not a database.
  if (s.ok()) s = SetCurrentFile(env_, dir, manifest_number);
  if (!s.ok()) {
    created.push_back(CurrentFileName(dir));
    return abandon(s);
  }
  s = env_->SyncDir(ParentDir(dir));
  if (!s.ok()) return abandon(s);
  LSMKV_LOG(info_log_.get(),
            "checkpoint to %s: %llu tables linked, %llu copied, %zu logs, last sequence %llu",
            dir.c_str(), static_cast<unsigned long long>(linked),
            static_cast<unsigned long long>(copied), state.logs.size(),
            static_cast<unsigned long long>(state.last_sequence));
  return Status::OK();
}

Status CreateCheckpoint(DB* db, const std::string& dir) {
  if (db == nullptr) return Status::InvalidArgument("checkpoint: no database");
  auto* impl = dynamic_cast<DBImpl*>(db);
  if (impl == nullptr) return Status::NotSupported("checkpoint", "the DB was not made by DB::Open");
  return impl->Checkpoint(dir);
}

}  // namespace lsmkv
