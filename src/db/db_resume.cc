// Error states and the recovery from a full disk: which errors are
// recoverable, how a recoverable error clears (TryResume), the background
// thread that retries it, and the free-space checks that keep compactions
// from filling the disk flushes need.
//
// Why a no-space error needs more than clearing a flag:
//   - the failed WAL append may have left a partial record at the end of the
//     active WAL (a real filesystem writes what fits). Appending after it
//     would put records behind a torn one, which recovery treats as damage.
//     So the poisoned WAL is never appended to again: a new WAL starts, and
//     the memtable that the old WAL backs is flushed before any write is
//     accepted, which retires the old WAL. A crash in between leaves the old
//     WAL's torn tail followed only by an empty WAL: nothing acknowledged is
//     lost and recovery accepts it.
//   - a failed MANIFEST write may or may not be on disk. Until a new
//     MANIFEST holding the whole state is written (the next LogAndApply does
//     that), no file is deleted (DeleteObsoleteFiles checks bg_error_) and
//     the tables the failed edit named stay (orphan_tables_), then go.
#include <algorithm>
#include <chrono>

#include "base/filename.h"
#include "db/db_impl.h"
#include "memtable/memtable.h"
#include "util/check.h"
#include "wal/log_writer.h"

namespace lsmkv {

namespace {

// Backoff between recovery attempts that failed, and between compactions
// after one ran out of space: doubles from the first to the cap.
constexpr uint64_t kFirstBackoffMicros = 100 * 1000;
constexpr uint64_t kMaxBackoffMicros = 5 * 1000 * 1000;
// The background recovery thread looks again at least this often.
constexpr auto kRecoveryPoll = std::chrono::milliseconds(250);
// Room a recovery needs beyond the memtables: a MANIFEST snapshot and the
// table blocks' overhead.
constexpr uint64_t kRecoverySlackBytes = 64 << 10;

uint64_t NextBackoff(uint64_t current) {
  return current == 0 ? kFirstBackoffMicros : std::min(current * 2, kMaxBackoffMicros);
}

}  // namespace

void DBImpl::SetBackgroundError(const Status& s) {
  if (s.ok()) return;
  const bool recoverable = s.IsNoSpace();
  if (!bg_error_.ok() && (!bg_error_recoverable_ || recoverable)) return;  // first error wins
  const bool escalation = !bg_error_.ok();
  bg_error_ = s;
  bg_error_recoverable_ = recoverable;
  if (!escalation) stats_.bg_errors++;
  if (recoverable) {
    LSMKV_LOG(info_log_.get(),
              "entering error state (writes refused until space is available; retried "
              "automatically): %s",
              s.ToString().c_str());
    next_resume_micros_ = 0;  // the first attempt may come at once
    resume_backoff_micros_ = 0;
    if (!recovery_thread_running_ && !shutting_down_) {
      recovery_thread_running_ = true;
      env_->StartThread([this] { BackgroundRecoveryCall(); });
    }
  } else {
    LSMKV_LOG(info_log_.get(), "entering error state (writes refused until reopen): %s",
              s.ToString().c_str());
  }
  bg_cv_.SignalAll();
  sync_cv_.SignalAll();
  sync_gather_cv_.SignalAll();  // a syncer waiting for more writers syncs (and fails) now
}

void DBImpl::BackgroundRecoveryCall() {
  InstrumentedMutexLock lock(&mu_);
  DCHECK(recovery_thread_running_);
  while (!shutting_down_ && !bg_error_.ok() && bg_error_recoverable_) {
    bg_cv_.WaitFor(&mu_, kRecoveryPoll);
    if (shutting_down_ || bg_error_.ok() || !bg_error_recoverable_) break;
    if (env_->NowMicros() < next_resume_micros_) continue;
    ResumeInWriterQueue(/*ignore_backoff=*/false).PermitUncheckedError();
  }
  recovery_thread_running_ = false;
  bg_cv_.SignalAll();
}

Status DBImpl::TryResume(bool ignore_backoff) {
  if (bg_error_.ok()) return Status::OK();
  if (!bg_error_recoverable_ || shutting_down_) return bg_error_;
  const uint64_t now = env_->NowMicros();
  if (!ignore_backoff && now < next_resume_micros_) return bg_error_;
  // Cheap check first: without room for the memtables' tables, do not try.
  uint64_t needed = mem_->ApproximateMemoryUsage() + kRecoverySlackBytes;
  for (const FrozenMemTable& f : imm_) needed += f.mem->ApproximateMemoryUsage();
  uint64_t free_bytes = 0;
  if (env_->GetFreeSpace(dbname_, &free_bytes).ok() && free_bytes < needed) return bg_error_;

  // Take the flush slot: the one flush in progress (if any) stops at its
  // next step since bg_error_ is set.
  while (bg_flush_scheduled_) bg_cv_.Wait(&mu_);
  bg_flush_scheduled_ = true;
  Status s;
  if (log_poisoned_) s = ReplacePoisonedLog();
  while (s.ok() && !imm_.empty() && !shutting_down_) s = FlushOldestMemTable();
  if (s.ok() && versions_->ManifestWriteFailed()) {
    VersionEdit edit;  // nothing changes: writes a new MANIFEST with the whole state
    s = versions_->LogAndApply(&edit);
  }
  bg_flush_scheduled_ = false;
  bg_cv_.SignalAll();
  if (s.ok() && shutting_down_) s = Status::Aborted("database is closing");

  if (!s.ok()) {
    stats_.failed_recoveries++;
    if (s.IsNoSpace() || s.IsAborted()) {
      resume_backoff_micros_ = NextBackoff(resume_backoff_micros_);
      next_resume_micros_ = now + resume_backoff_micros_;
      LSMKV_LOG(info_log_.get(), "recovery from no space failed, next attempt in %llu ms: %s",
                static_cast<unsigned long long>(resume_backoff_micros_ / 1000),
                s.ToString().c_str());
      return bg_error_;
    }
    LSMKV_LOG(info_log_.get(), "recovery from no space failed: %s", s.ToString().c_str());
    SetBackgroundError(s);  // fatal: replaces the recoverable error
    return bg_error_;
  }

  LSMKV_LOG(info_log_.get(), "resumed writes after: %s", bg_error_.ToString().c_str());
  bg_error_ = Status::OK();
  bg_error_recoverable_ = false;
  resume_backoff_micros_ = 0;
  stats_.recoveries++;
  // The MANIFEST now holds the whole state: a table that a failed edit
  // named is either in it or garbage.
  std::set<uint64_t> live;
  versions_->AddLiveFiles(&live);
  std::vector<uint64_t> orphans;
  orphans.swap(orphan_tables_);
  mu_.Unlock();
  for (uint64_t number : orphans) {
    if (live.count(number) != 0) continue;
    table_cache_->Evict(number);
    if (env_->RemoveFile(TableFileName(dbname_, number)).ok()) {
      LSMKV_LOG(info_log_.get(), "deleted table %llu left by a failed MANIFEST write",
                static_cast<unsigned long long>(number));
    }
  }
  mu_.Lock();
  DeleteObsoleteFiles();
  MaybeScheduleBackgroundWork();
  bg_cv_.SignalAll();
  return Status::OK();
}

Status DBImpl::ReplacePoisonedLog() {
  DCHECK(log_poisoned_);
  while (sync_in_progress_) sync_cv_.Wait(&mu_);
  sync_in_progress_ = true;  // keeps syncers off the old file while it closes
  const uint64_t old_number = mem_log_number_;
  const uint64_t new_number = versions_->NewFileNumber();
  CHECK_GT(new_number, old_number);
  const std::string new_name = LogFileName(dbname_, new_number);
  std::unique_ptr<WritableFile> file;
  mu_.Unlock();
  Status s = env_->NewWritableFile(new_name, &file);
  if (s.ok()) ConfigureWalFile(file.get());
  if (s.ok()) s = env_->SyncDir(dbname_);
  if (!s.ok() && file != nullptr) {
    file.reset();
    env_->RemoveFile(new_name).PermitUncheckedError();
  }
  mu_.Lock();
  sync_in_progress_ = false;
  sync_cv_.SignalAll();
  if (!s.ok()) return s;
  // Whatever the old WAL ends with is never appended to; its acknowledged
  // records are in the memtable frozen below, whose flush retires it.
  if (logfile_ != nullptr) logfile_->Close().PermitUncheckedError();
  if (!mem_->Empty()) {
    DCHECK(imm_.empty() || imm_.back().log_number < old_number);
    imm_.push_back(FrozenMemTable{mem_, old_number});
    mem_ = NewMemTableForOptions();
  } else {
    // Nothing acknowledged in the old WAL: retire it with the next edit (or
    // with the one TryResume writes if no memtable waits).
    obsolete_logs_.push_back(old_number);
  }
  mem_log_number_ = new_number;
  logfile_ = std::move(file);
  log_ = std::make_unique<log::Writer>(logfile_.get(), new_number);
  log_written_ = 0;
  synced_log_number_ = new_number;
  synced_offset_ = 0;
  log_poisoned_ = false;
  InstallView();
  if (imm_.empty()) {
    // No flush will move the MANIFEST's log number past the old WAL.
    VersionEdit edit;
    edit.SetLogNumber(new_number);
    s = versions_->LogAndApply(&edit);
  }
  return s;
}

Status DBImpl::TEST_WaitForRecoveryThread() {
  // Real time bounds the wait so that a recovery which never succeeds fails
  // the test instead of hanging it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  InstrumentedMutexLock lock(&mu_);
  while (recovery_thread_running_) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Busy("recovery thread still running after 60 s; error: ",
                          bg_error_.ToString());
    }
    bg_cv_.WaitFor(&mu_, std::chrono::milliseconds(100));
  }
  return bg_error_;
}

bool DBImpl::SpaceForCompaction(uint64_t bytes) {
  const uint64_t now = env_->NowMicros();
  if (now < compaction_retry_micros_) return false;
  uint64_t free_bytes = 0;
  if (!env_->GetFreeSpace(dbname_, &free_bytes).ok()) return true;  // cannot tell
  const uint64_t headroom = options_.compaction_space_headroom != 0
                                ? options_.compaction_space_headroom
                                : 2 * static_cast<uint64_t>(options_.write_buffer_size);
  const uint64_t reserved = compaction_bytes_reserved_;
  const uint64_t available = free_bytes > reserved ? free_bytes - reserved : 0;
  if (available >= bytes + headroom) return true;
  stats_.compactions_deferred++;
  BackOffCompactions("too little free space for the estimated output");
  return false;
}

void DBImpl::BackOffCompactions(const char* why) {
  compaction_backoff_micros_ = NextBackoff(compaction_backoff_micros_);
  compaction_retry_micros_ = env_->NowMicros() + compaction_backoff_micros_;
  LSMKV_LOG(info_log_.get(), "compactions wait %llu ms: %s",
            static_cast<unsigned long long>(compaction_backoff_micros_ / 1000), why);
}

}  // namespace lsmkv
