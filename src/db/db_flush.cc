// Background flush of frozen memtables into level-0 tables, and removal of
// files nothing refers to any more.
#include <algorithm>
#include <set>

#include "base/filename.h"
#include "db/db_impl.h"
#include "memtable/memtable.h"
#include "table/table_builder.h"
#include "util/check.h"

namespace lsmkv {

// Schedules a flush on the Env's background thread if a frozen memtable
// waits, and starts compaction threads (up to max_background_compactions)
// for every compaction that may run now without conflicting with running ones.
void DBImpl::MaybeScheduleBackgroundWork() {
  if (shutting_down_ || !bg_error_.ok()) return;
  if (!imm_.empty() && !bg_flush_scheduled_) {
    bg_flush_scheduled_ = true;
    env_->Schedule([this] { BackgroundFlushCall(); });
  }
  while (bg_compactions_running_ < options_.max_background_compactions) {
    // While compactions back off for space only a waiting CompactRange is
    // picked (to be told so below).
    if (env_->NowMicros() < compaction_retry_micros_ &&
        (manual_ == nullptr || manual_->done || manual_->in_progress)) {
      break;
    }
    auto c = std::make_shared<Compaction>();
    if (!PickNextCompaction(c.get())) break;
    const uint64_t estimate = c->IsTrivialMove() ? 0 : c->InputBytes();
    if (estimate > 0 && !SpaceForCompaction(estimate)) {
      inflight_.Remove(*c);
      if (c->manual && manual_ != nullptr) {
        manual_->in_progress = false;
        manual_->done = true;
        manual_->status =
            Status::NoSpace(dbname_, "too little free disk space for the compaction's output");
        bg_cv_.SignalAll();
      }
      break;
    }
    compaction_bytes_reserved_ += estimate;
    bg_compactions_running_++;
    peak_compactions_running_ = std::max(peak_compactions_running_, bg_compactions_running_);
    compactions_started_++;
    env_->StartThread([this, c] { BackgroundCompactionCall(c); });
  }
}

// Flushes frozen memtables, oldest first, until none is left.
void DBImpl::BackgroundFlushCall() {
  InstrumentedMutexLock lock(&mu_);
  while (!shutting_down_ && bg_error_.ok() && !imm_.empty()) {
    Status s = FlushOldestMemTable();
    if (!s.ok()) {
      LSMKV_LOG(info_log_.get(), "flush failed: %s", s.ToString().c_str());
      SetBackgroundError(s);
    }
    MaybeScheduleBackgroundWork();  // level 0 grew: a compaction may be due
    bg_cv_.SignalAll();
  }
  bg_flush_scheduled_ = false;
  MaybeScheduleBackgroundWork();
  bg_cv_.SignalAll();
}

// Writes the oldest frozen memtable to a table, commits it to the MANIFEST
// and only then drops the memtable and the WAL files it no longer needs.
// Called only from the background queue (one flush at a time).
Status DBImpl::FlushOldestMemTable() {
  const uint64_t start = env_->NowMicros();
  DCHECK(!imm_.empty());
  FrozenMemTable frozen = imm_.front();
  FileMetaData meta;
  meta.number = versions_->NewFileNumber();
  mu_.Unlock();
  Status s = WriteLevel0Table(frozen.mem.get(), &meta);
  mu_.Lock();
  if (!s.ok()) return s;

  // Flushed tables always go to level 0: placing one deeper could put it
  // inside a range a running compaction is about to fill.
  VersionEdit edit;
  if (meta.file_size > 0) edit.AddFile(0, meta);
  AddRangeTombstonesToEdit(icmp_.user_comparator(), *frozen.mem, &edit);
  // The oldest WAL still needed is the one of the next frozen memtable, or
  // the active memtable's.
  const uint64_t needed_log = imm_.size() > 1 ? imm_[1].log_number : mem_log_number_;
  // The edit retires exactly the flushed memtable's WAL (WALs are numbered
  // in the order their memtables were frozen).
  DCHECK_GT(needed_log, frozen.log_number);
  edit.SetLogNumber(needed_log);
  s = versions_->LogAndApply(&edit);
  if (!s.ok()) {
    // The edit may be on disk: the table goes only once the MANIFEST is
    // rewritten (TryResume) or at the next Open.
    if (meta.file_size > 0) orphan_tables_.push_back(meta.number);
    return s;
  }

  // Only this thread pops imm_: the memtable just flushed is still the oldest.
  DCHECK(!imm_.empty() && imm_.front().mem == frozen.mem);
  imm_.pop_front();
  obsolete_logs_.push_back(frozen.log_number);
  InstallView();
  stats_.flushes++;
  stats_.flush_bytes += meta.file_size;
  stats_.flush_micros += env_->NowMicros() - start;
  LSMKV_LOG(
      info_log_.get(), "flushed memtable of log %llu to table %llu (%llu bytes, %llu entries)",
      static_cast<unsigned long long>(frozen.log_number),
      static_cast<unsigned long long>(meta.number), static_cast<unsigned long long>(meta.file_size),
      static_cast<unsigned long long>(meta.num_entries));
  DeleteObsoleteFiles();
  return Status::OK();
}

void AddRangeTombstonesToEdit(const Comparator* ucmp, const MemTable& mem, VersionEdit* edit) {
  mem.ForEachRangeTombstone([&](SequenceNumber seq, std::string_view begin, std::string_view end) {
    // An empty range (from a WAL record no writer of ours made: DB::Write
    // refuses them) deletes nothing and is not kept.
    if (ucmp->Compare(begin, end) >= 0) return;
    edit->AddFlushedRangeTombstone(RangeTombstone{seq, std::string(begin), std::string(end)});
  });
}

// Builds table meta->number from mem, syncs it and its directory entry.
// On success meta describes the file (file_size 0 if mem was empty and no
// file was kept). Does not touch the DB mutex.
Status DBImpl::WriteLevel0Table(MemTable* mem, FileMetaData* meta) {
  const std::string fname = TableFileName(dbname_, meta->number);
  std::unique_ptr<Iterator> iter(mem->NewIterator());
  iter->SeekToFirst();
  if (!iter->Valid()) {
    meta->file_size = 0;
    return iter->status();
  }
  std::unique_ptr<WritableFile> file;
  Status s = env_->NewWritableFile(fname, &file);
  if (!s.ok()) return s;
  TableBuilder builder(table_options_, file.get());
  uint64_t charged = 0;  // bytes already passed through the rate limiter
  meta->smallest.assign(iter->key().data(), iter->key().size());
  meta->smallest_seqno = kMaxSequenceNumber;
  meta->largest_seqno = 0;
  for (; iter->Valid(); iter->Next()) {
    const std::string_view key = iter->key();
    ParsedInternalKey parsed;
    if (!ParseInternalKey(key, &parsed)) {
      s = Status::Corruption("memtable", "bad internal key during flush");
      break;
    }
    // The memtable yields strictly increasing internal keys (no sequence
    // is used twice), as TableBuilder::Add requires.
    DCHECK(builder.NumEntries() == 0 || icmp_.Compare(meta->largest, key) < 0);
    meta->smallest_seqno = std::min(meta->smallest_seqno, parsed.sequence);
    meta->largest_seqno = std::max(meta->largest_seqno, parsed.sequence);
    if (parsed.type == kTypeDeletion) meta->num_deletions++;
    meta->largest.assign(key.data(), key.size());
    s = builder.Add(key, iter->value());
    if (!s.ok()) break;
    if (builder.FileSize() >= charged + kRateLimitChunk) {
      rate_limiter_.Request(builder.FileSize() - charged);
      charged = builder.FileSize();
    }
  }
  if (s.ok()) s = iter->status();
  if (s.ok()) {
    DCHECK_EQ(builder.NumEntries(), mem->NumEntries());  // every entry, once
    s = builder.Finish();                                // syncs the file
  } else {
    builder.Abandon();
  }
  if (s.ok()) s = file->Close();
  if (s.ok()) s = env_->SyncDir(dbname_);
  meta->num_entries = builder.NumEntries();
  meta->file_size = builder.FileSize();
  if (s.ok()) {
    // Read it back through the table cache: a table that cannot be opened
    // must never be committed.
    std::unique_ptr<Iterator> check(
        table_cache_->NewIterator(ReadOptions(), meta->number, meta->file_size));
    s = check->status();
  }
  if (!s.ok()) {
    file.reset();
    table_cache_->Evict(meta->number);
    env_->RemoveFile(fname).PermitUncheckedError();
  }
  return s;
}

void DBImpl::PurgeObsoleteFilesIfNeeded() {
  if (obsolete_files_ == nullptr || !obsolete_files_->HasPending()) return;
  InstrumentedMutexLock lock(&mu_);
  if (bg_purge_scheduled_ || shutting_down_) return;
  bg_purge_scheduled_ = true;
  env_->Schedule([this] {
    InstrumentedMutexLock bg_lock(&mu_);
    if (!shutting_down_) DeleteObsoleteFiles();
    bg_purge_scheduled_ = false;
    bg_cv_.SignalAll();
  });
}

// Removes tables no version references, WAL files whose data a committed
// edit placed in tables, and replaced MANIFESTs — exactly the files known to
// be obsolete, without listing the directory (Open removes any leftovers).
// Does nothing while the DB is in an error state or a MANIFEST write has
// failed: the failed edit may still refer to them.
// Releases mu_ during the removals.
void DBImpl::DeleteObsoleteFiles() {
  if (!bg_error_.ok() || versions_->ManifestWriteFailed()) return;
  std::vector<uint64_t> tables = versions_->obsolete_files()->Take();
  std::set<uint64_t> live;
  versions_->AddLiveFiles(&live);
  const uint64_t log_number = versions_->LogNumber();
  std::vector<std::string> others;
  std::vector<uint64_t> logs;
  logs.swap(obsolete_logs_);
  for (uint64_t number : logs) {
    if (number < log_number) {
      // CHECK: removing a WAL a memtable still depends on loses writes.
      CHECK_LT(number, mem_log_number_);
      for (const FrozenMemTable& f : imm_) CHECK_NE(number, f.log_number);
      others.push_back(LogFileName(dbname_, number));
    } else {
      obsolete_logs_.push_back(number);  // not yet covered by the MANIFEST
    }
  }
  for (uint64_t number : versions_->TakeObsoleteManifests()) {
    CHECK_NE(number, versions_->ManifestFileNumber());
    others.push_back(DescriptorFileName(dbname_, number));
  }
  mu_.Unlock();
  for (uint64_t number : tables) {
    if (live.count(number) != 0) continue;
    table_cache_->Evict(number);
    Status s = env_->RemoveFile(TableFileName(dbname_, number));
    if (s.ok()) {
      LSMKV_LOG(info_log_.get(), "deleted obsolete table %llu",
                static_cast<unsigned long long>(number));
    }
  }
  for (const std::string& fname : others) {
    if (env_->RemoveFile(fname).ok()) {
      LSMKV_LOG(info_log_.get(), "deleted obsolete %s", fname.c_str());
    }
  }
  mu_.Lock();
}

}  // namespace lsmkv
