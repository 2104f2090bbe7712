// Opening a database: lock, MANIFEST, WAL replay under the recovery mode,
// flush of recovered data, a fresh WAL, removal of unreferenced files.
#include <algorithm>
#include <set>

#include "base/filename.h"
#include "db/db_impl.h"
#include "db/engine_file.h"
#include "db/lsm_db.h"
#include "db/write_batch_internal.h"
#include "memtable/memtable.h"
#include "table/filter_policy.h"
#include "util/comparator.h"
#include "wal/batch_reader.h"
#include "wal/log_writer.h"

namespace lsmkv {

namespace {

Status ValidateOptions(const Options& o) {
  if (!(o.memtable_filter_ratio >= 0 && o.memtable_filter_ratio <= 0.25)) {
    return Status::InvalidArgument("memtable_filter_ratio must be in [0, 0.25]");
  }
  if (!(o.memtable_index_ratio >= 0 && o.memtable_index_ratio <= 0.25)) {
    return Status::InvalidArgument("memtable_index_ratio must be in [0, 0.25]");
  }
  if (const size_t h = o.memtable_huge_page_size;
      h != 0 && ((h & (h - 1)) != 0 || h < 64 * 1024 || h > (size_t{1} << 30))) {
    return Status::InvalidArgument(
        "memtable_huge_page_size must be 0 or a power of two in [64 KiB, 1 GiB]");
  }
  if (o.memtable_run_size != 0 && o.memtable_run_size < 1024) {
    return Status::InvalidArgument("memtable_run_size must be 0 or at least 1 KiB");
  }
  if (o.wal_sync_gather_micros > 100000) {
    return Status::InvalidArgument("wal_sync_gather_micros must be at most 100000");
  }
  if (o.max_range_tombstones < 1 || o.max_range_tombstones > 1000000) {
    return Status::InvalidArgument("max_range_tombstones must be in [1, 1000000]");
  }
  if (o.max_write_buffer_number < 2) {
    return Status::InvalidArgument("max_write_buffer_number must be at least 2");
  }
  if (o.write_buffer_size < 4096) {
    return Status::InvalidArgument("write_buffer_size must be at least 4096 bytes");
  }
  if (o.max_key_size == 0 || o.max_key_size > (1u << 30)) {
    return Status::InvalidArgument("max_key_size must be in [1, 2^30]");
  }
  if (o.max_value_size > (size_t{1} << 31)) {
    return Status::InvalidArgument("max_value_size must be at most 2^31");
  }
  if (o.block_size < 64 || o.block_restart_interval < 1) {
    return Status::InvalidArgument("block_size must be >= 64 and block_restart_interval >= 1");
  }
  if (o.max_open_files < 1) return Status::InvalidArgument("max_open_files must be >= 1");
  if (o.comparator != nullptr && o.comparator != BytewiseComparator()) {
    const char* name = o.comparator->Name();
    if (name == nullptr || *name == '\0') return Status::InvalidArgument("comparator has no name");
    if (std::string_view(name).starts_with("lsmkv.")) {
      return Status::InvalidArgument("comparator name " + std::string(name),
                                     "names starting with lsmkv. are reserved");
    }
  }
  if (o.filter_policy != nullptr && BuiltinBloomBitsPerKey(o.filter_policy.get()) < 0) {
    const char* name = o.filter_policy->Name();
    if (name == nullptr || *name == '\0') {
      return Status::InvalidArgument("filter policy has no name");
    }
    if (std::string_view(name).starts_with("lsmkv.")) {
      return Status::InvalidArgument("filter policy name " + std::string(name),
                                     "names starting with lsmkv. are reserved");
    }
  }
  if (o.table_format_version != 1 && o.table_format_version != 2) {
    return Status::InvalidArgument("table_format_version must be 1 or 2");
  }
  if (o.max_background_compactions < 1 || o.max_background_compactions > 64) {
    return Status::InvalidArgument("max_background_compactions must be in [1, 64]");
  }
  if (o.level0_file_limit < 1 || o.level_size_multiplier < 2 || o.max_bytes_for_level_base == 0 ||
      !(o.compaction_soft_limit > 0 && o.compaction_soft_limit <= 1)) {
    return Status::InvalidArgument(
        "level0_file_limit must be >= 1, level_size_multiplier >= 2, max_bytes_for_level_base > 0 "
        "and compaction_soft_limit in (0, 1]");
  }
  return Status::OK();
}

}  // namespace

Status OpenLsmDB(const Options& options, const std::string& path, std::unique_ptr<DB>* out) {
  out->reset();
  Status s = ValidateOptions(options);
  if (!s.ok()) return s;
  auto impl = std::make_unique<DBImpl>(options, path);
  s = impl->OpenAndRecover();
  if (!s.ok()) return s;  // ~DBImpl releases whatever was acquired
  *out = std::move(impl);
  return Status::OK();
}

Status DBImpl::OpenAndRecover() {
  if (!options_.create_if_missing && !env_->FileExists(CurrentFileName(dbname_))) {
    return Status::InvalidArgument(dbname_, "does not exist (create_if_missing is false)");
  }
  if (options_.create_if_missing) {
    Status s = env_->CreateDir(dbname_);
    if (!s.ok())
      return Status::IOError("cannot create database directory " + dbname_, s.ToString());
  }
  Status s = env_->LockFile(LockFileName(dbname_), &db_lock_);
  if (!s.ok()) {
    db_lock_ = nullptr;
    return s;
  }
  env_->RenameFile(InfoLogFileName(dbname_), OldInfoLogFileName(dbname_)).PermitUncheckedError();
  if (!InfoLog::Open(env_, InfoLogFileName(dbname_), &info_log_).ok()) info_log_.reset();
  versions_ = std::make_unique<VersionSet>(dbname_, &options_, table_cache_.get(), &icmp_,
                                           info_log_.get(), &mu_, &last_sequence_);
  {
    // No other thread exists yet; the lock only satisfies versions_'s
    // PT_GUARDED_BY(mu_).
    InstrumentedMutexLock lock(&mu_);
    obsolete_files_ = versions_->obsolete_files();
  }

  VersionEdit edit;
  bool created = false;
  s = Recover(&edit, &created);
  if (!s.ok()) {
    LSMKV_LOG(info_log_.get(), "open failed: %s", s.ToString().c_str());
    return s;
  }

  InstrumentedMutexLock lock(&mu_);
  // A fresh WAL for new writes; the recovered logs become obsolete once the
  // edit below (recording the new log number) is durable.
  const uint64_t log_number = versions_->NewFileNumber();
  std::unique_ptr<WritableFile> file;
  lock.Unlock();
  s = env_->NewWritableFile(LogFileName(dbname_, log_number), &file);
  if (s.ok()) ConfigureWalFile(file.get());
  if (s.ok()) s = env_->SyncDir(dbname_);
  lock.Lock();
  if (!s.ok()) return s;
  edit.SetLogNumber(log_number);
  s = versions_->LogAndApply(&edit);
  if (!s.ok()) return s;
  logfile_ = std::move(file);
  log_ = std::make_unique<log::Writer>(logfile_.get(), log_number);
  mem_ = NewMemTableForOptions();
  mem_log_number_ = log_number;
  synced_log_number_ = log_number;
  synced_offset_ = 0;
  open_micros_ = env_->NowMicros();
  InstallView();

  // Anything the MANIFEST does not account for is garbage from a crash.
  std::set<uint64_t> live;
  versions_->AddLiveFiles(&live);
  const uint64_t manifest_number = versions_->ManifestFileNumber();
  versions_->obsolete_files()->Take();  // files of superseded versions, all covered below
  lock.Unlock();
  std::vector<std::string> children;
  if (env_->GetChildren(dbname_, &children).ok()) {
    for (const std::string& child : children) {
      uint64_t number = 0;
      FileType type;
      if (!ParseFileName(child, &number, &type)) continue;
      bool remove = false;
      switch (type) {
        case FileType::kLogFile:
          remove = number < log_number;
          break;
        case FileType::kTableFile:
          remove = live.count(number) == 0;
          break;
        case FileType::kDescriptorFile:
          remove = number != manifest_number;
          break;
        case FileType::kTempFile:
          remove = true;
          break;
        default:
          break;
      }
      if (!remove) continue;
      if (type == FileType::kTableFile) table_cache_->Evict(number);
      if (env_->RemoveFile(dbname_ + "/" + child).ok()) {
        LSMKV_LOG(info_log_.get(), "removed unreferenced file %s", child.c_str());
      }
    }
  }
  lock.Lock();
  LSMKV_LOG(info_log_.get(), "opened %s: %s, last sequence %llu, log %llu%s", dbname_.c_str(),
            versions_->current()->LevelSummary().c_str(),
            static_cast<unsigned long long>(versions_->LastSequence()),
            static_cast<unsigned long long>(log_number), created ? " (new database)" : "");
  // Levels may already be over their limits (e.g. options changed): start
  // compacting now rather than at the first write.
  MaybeScheduleBackgroundWork();
  return Status::OK();
}

// Reads the MANIFEST (creating a new database if allowed) and replays every
// WAL the MANIFEST does not cover into level-0 tables recorded in *edit.
Status DBImpl::Recover(VersionEdit* edit, bool* created) {
  const bool exists = env_->FileExists(CurrentFileName(dbname_));
  if (!exists) {
    if (!options_.create_if_missing) {
      return Status::InvalidArgument(dbname_, "does not exist (create_if_missing is false)");
    }
    // The ENGINE file first (db/engine_file.h): a directory holding any of
    // this database's files always names its engine.
    Status s = WriteEngineFile(env_, dbname_, StorageEngine::kLsm);
    if (!s.ok()) return s;
    s = VersionSet::CreateNewDatabase(env_, dbname_, icmp_);
    if (!s.ok()) return s;
    *created = true;
  } else if (options_.error_if_exists) {
    return Status::InvalidArgument(dbname_, "exists (error_if_exists is true)");
  }
  Status s = versions_->Recover();
  if (!s.ok()) return s;

  std::vector<std::string> children;
  s = env_->GetChildren(dbname_, &children);
  if (!s.ok()) return s;
  std::vector<uint64_t> logs;
  std::set<uint64_t> tables_present;
  for (const std::string& child : children) {
    uint64_t number = 0;
    FileType type;
    if (!ParseFileName(child, &number, &type)) continue;
    versions_->MarkFileNumberUsed(number);
    if (type == FileType::kLogFile && number >= versions_->LogNumber()) logs.push_back(number);
    if (type == FileType::kTableFile) tables_present.insert(number);
  }
  std::sort(logs.begin(), logs.end());

  // The MANIFEST must account for what is on disk. The WAL it names as the
  // oldest needed is only deleted after a later edit names a newer one, and
  // a table only after an edit removes it; if either is missing, edits were
  // lost (e.g. a damaged last MANIFEST record read as a torn tail) and
  // opening would silently lose data.
  const uint64_t manifest_log = versions_->LogNumber();
  if (manifest_log != 0 && (logs.empty() || logs.front() != manifest_log)) {
    return Status::Corruption(DescriptorFileName(dbname_, versions_->ManifestFileNumber()),
                              "needs WAL " + LogFileName(dbname_, manifest_log) +
                                  ", which is missing (the MANIFEST lost edits?)");
  }
  // Log number 0: no Open of this database ever committed its first edit,
  // so no table can have been written. Tables on disk mean the MANIFEST lost
  // its edits (e.g. truncated inside its second record, which then reads as
  // a torn tail); opening would delete them as unreferenced.
  if (manifest_log == 0 && !tables_present.empty()) {
    return Status::Corruption(DescriptorFileName(dbname_, versions_->ManifestFileNumber()),
                              "describes a database never opened, but " +
                                  std::to_string(tables_present.size()) +
                                  " table files exist (the MANIFEST lost edits?)");
  }
  std::set<uint64_t> live;
  versions_->AddLiveFiles(&live);
  for (uint64_t number : live) {
    if (tables_present.count(number) == 0) {
      return Status::Corruption(TableFileName(dbname_, number),
                                "is in the MANIFEST but missing from the directory");
    }
  }

  if (options_.paranoid_checks) {
    // Every live table is read whole with checksums verified: damage fails
    // Open here rather than surfacing at some later read (costs a full read
    // of the database; paranoid_checks is opt-in). The check is strict:
    // damage that reads would work around (a footer copy, filter, properties
    // or index block, a data block that salvage would partly recover, the
    // salvage data itself) fails Open too.
    std::shared_ptr<Version> v = versions_->current();
    for (int level = 0; level < kNumLevels; level++) {
      for (const FileRef& f : v->files(level)) {
        uint64_t entries = 0;
        Status ts = table_cache_->Verify(f->number, f->file_size, &entries);
        if (ts.ok() && entries != f->num_entries) {
          ts = Status::Corruption(TableFileName(dbname_, f->number),
                                  "holds " + std::to_string(entries) +
                                      " entries, the MANIFEST says " +
                                      std::to_string(f->num_entries));
        }
        if (!ts.ok()) {
          table_cache_->Evict(f->number);
          if (!ts.IsCorruption()) return ts;
          const std::string name = TableFileName(dbname_, f->number);
          // Name the file even if the table layer's message does not.
          return ts.ToString().find(name) != std::string::npos
                     ? ts
                     : Status::Corruption(name, ts.ToString());
        }
      }
    }
  }

  SequenceNumber max_sequence = versions_->LastSequence();
  std::shared_ptr<MemTable> mem;
  s = ReplayLogs(logs, &max_sequence, edit, &mem);
  if (!s.ok()) return s;
  if (mem != nullptr && !mem->Empty()) {
    FileMetaData meta;
    meta.number = versions_->NewFileNumber();
    s = WriteLevel0Table(mem.get(), &meta);
    if (!s.ok()) return s;
    if (meta.file_size > 0) edit->AddFile(0, meta);
    AddRangeTombstonesToEdit(icmp_.user_comparator(), *mem, edit);
  }
  // Sequence numbers are never reused, not even those of records that the
  // recovery mode dropped.
  versions_->SetLastSequence(max_sequence);
  return Status::OK();
}

// Replays the WALs log_numbers (ascending) into *mem, flushing it to a
// level-0 table (recorded in *edit) whenever it outgrows the write buffer:
// the recovery policy over log::BatchReader's events. Damage is handled per
// wal_recovery_mode (docs/format/wal.md); every loss is logged and counted in
// stats_. *max_sequence is raised to the last sequence number of every valid
// batch read, applied or not.
Status DBImpl::ReplayLogs(const std::vector<uint64_t>& log_numbers, SequenceNumber* max_sequence,
                          VersionEdit* edit, std::shared_ptr<MemTable>* mem) {
  const WalRecoveryMode mode = options_.wal_recovery_mode;
  log::BatchReader reader(env_, dbname_, log_numbers);
  // kPointInTime has met an inconsistency: every later batch is dropped (but
  // still read, for its sequence numbers).
  bool stop_replay = false;
  // For the log's summary line.
  uint64_t applied = 0, dropped_records = 0, damaged_regions = 0, damaged_bytes = 0;
  WriteBatch batch;
  log::WalEvent e;

  auto damage_status = [&](const std::string& what) {
    return Status::Corruption(std::string(e.path),
                              what + " (wal_recovery_mode " + WalRecoveryModeName(mode) + ")");
  };
  // Applies the recovery mode to a region of bytes bytes lost to damage
  // (reason names the log, the offset, the fault and the bytes); returns
  // non-OK to fail Open.
  auto on_damage = [&](uint64_t bytes, const Status& reason) -> Status {
    LSMKV_LOG(info_log_.get(), "WAL damage: %s", reason.ToString().c_str());
    damaged_regions++;
    damaged_bytes += bytes;
    stats_.wal_damaged_regions++;
    stats_.wal_damaged_bytes += bytes;
    if (options_.paranoid_checks || mode == WalRecoveryMode::kAbsoluteConsistency ||
        mode == WalRecoveryMode::kTolerateCorruptedTail) {
      return damage_status(std::string(reason.message()));
    }
    if (mode == WalRecoveryMode::kPointInTime && !stop_replay) {
      stop_replay = true;
      LSMKV_LOG(info_log_.get(), "point-in-time recovery stops at %s", reason.ToString().c_str());
    }
    return Status::OK();
  };

  while (reader.Next(&e)) {
    Status s;
    switch (e.type) {
      case log::WalEvent::Type::kLogStart:
        applied = dropped_records = damaged_regions = damaged_bytes = 0;
        break;
      case log::WalEvent::Type::kLogUnreadable:
        return e.status;
      case log::WalEvent::Type::kDropped:
        s = on_damage(e.bytes, e.status);
        break;
      case log::WalEvent::Type::kBadBatch:
        s = on_damage(e.bytes,
                      Status::Corruption(std::string(e.path),
                                         "offset " + std::to_string(e.offset) +
                                             ": undecodable batch: " + e.status.ToString() + " (" +
                                             std::to_string(e.bytes) + " bytes dropped)"));
        break;
      case log::WalEvent::Type::kHole: {
        // An earlier log ended in a torn record and this one has data: a
        // hole in history, not a tail.
        const std::string hole(e.hole_path), fname(e.path);
        LSMKV_LOG(info_log_.get(),
                  "WAL hole: %s ends inside a record (%llu bytes dropped) and is followed by "
                  "records in %s",
                  hole.c_str(), static_cast<unsigned long long>(e.bytes), fname.c_str());
        stats_.wal_damaged_regions++;
        stats_.wal_damaged_bytes += e.bytes;
        if (mode == WalRecoveryMode::kTolerateCorruptedTail) {
          return Status::Corruption(hole, "incomplete record followed by later records in " +
                                              fname +
                                              " (wal_recovery_mode kTolerateCorruptedTail)");
        }
        if (mode == WalRecoveryMode::kPointInTime) stop_replay = true;
        break;
      }
      case log::WalEvent::Type::kBatch:
        // A batch of no operations consumes no sequence number.
        if (e.count > 0) *max_sequence = std::max(*max_sequence, e.sequence + e.count - 1);
        if (stop_replay) {
          dropped_records++;
          stats_.wal_intact_dropped++;
          break;
        }
        s = WriteBatchInternal::SetContents(&batch, e.record);
        if (s.ok() && *mem == nullptr) *mem = NewMemTableForOptions();
        if (s.ok()) s = WriteBatchInternal::InsertInto(&batch, mem->get());
        if (!s.ok()) return s;
        applied++;
        if ((*mem)->ApproximateMemoryUsage() > options_.write_buffer_size) {
          FileMetaData meta;
          meta.number = versions_->NewFileNumber();
          s = WriteLevel0Table(mem->get(), &meta);
          if (!s.ok()) return s;
          if (meta.file_size > 0) edit->AddFile(0, meta);
          AddRangeTombstonesToEdit(icmp_.user_comparator(), **mem, edit);
          mem->reset();
        }
        break;
      case log::WalEvent::Type::kTornTail:
        // A later log with records turns this into a hole (kHole).
        LSMKV_LOG(info_log_.get(), "%s: incomplete record at the end (%llu bytes), dropped",
                  std::string(e.path).c_str(), static_cast<unsigned long long>(e.bytes));
        if (options_.paranoid_checks || mode == WalRecoveryMode::kAbsoluteConsistency) {
          return damage_status("incomplete record at the end of the log");
        }
        break;
      case log::WalEvent::Type::kLogEnd:
        if (!e.status.ok()) return e.status;
        LSMKV_LOG(info_log_.get(),
                  "replayed %s (wal_recovery_mode %s): %llu batches applied, %llu intact batches "
                  "dropped, %llu damaged regions (%llu bytes) dropped",
                  std::string(e.path).c_str(), WalRecoveryModeName(mode),
                  static_cast<unsigned long long>(applied),
                  static_cast<unsigned long long>(dropped_records),
                  static_cast<unsigned long long>(damaged_regions),
                  static_cast<unsigned long long>(damaged_bytes));
        break;
    }
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status DestroyLsmDB(const std::string& path, const Options& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  std::vector<std::string> children;
  Status s = env->GetChildren(path, &children);
  if (!s.ok()) return Status::OK();  // nothing to destroy
  FileLock* lock = nullptr;
  const std::string lockname = LockFileName(path);
  s = env->LockFile(lockname, &lock);
  if (!s.ok()) return s;
  Status result;
  for (const std::string& child : children) {
    uint64_t number = 0;
    FileType type;
    if (!ParseFileName(child, &number, &type) || type == FileType::kLockFile) continue;
    Status r = env->RemoveFile(path + "/" + child);
    if (result.ok() && !r.ok()) result = r;
  }
  // RepairDB's lost/: the database's earlier files, named as they were
  // (a ".N" suffix when a name repeated). Anything else in it is left, and
  // so is the directory then.
  const std::string lost = path + "/lost";
  std::vector<std::string> lost_children;
  if (std::find(children.begin(), children.end(), "lost") != children.end() &&
      env->GetChildren(lost, &lost_children).ok()) {
    for (const std::string& child : lost_children) {
      std::string_view name = child;
      const size_t dot = name.rfind('.');
      if (dot != std::string_view::npos && dot + 1 < name.size() &&
          name.find_first_not_of("0123456789", dot + 1) == std::string_view::npos) {
        name = name.substr(0, dot);  // a repeated name's ".N"
      }
      uint64_t number = 0;
      FileType type;
      if (!ParseFileName(std::string(name), &number, &type)) continue;
      Status r = env->RemoveFile(lost + "/" + child);
      if (result.ok() && !r.ok()) result = r;
    }
    env->RemoveDir(lost).PermitUncheckedError();
  }
  env->UnlockFile(lock).PermitUncheckedError();
  env->RemoveFile(lockname).PermitUncheckedError();
  env->RemoveDir(path).PermitUncheckedError();
  return result;
}

}  // namespace lsmkv
