// DBImpl: the LSM engine behind lsmkv::DB.
//
// Locks (acquire in this order; never the reverse):
//   1. mu_  — guards everything marked "GUARDED_BY(mu_)": the writer queue,
//             memtable rotation, the version set, sync progress, bg state.
//             Never held during file I/O (the group leader, the syncer and
//             the background thread release it around every write/sync).
//   2. VersionSet and TableCache internals take their own leaf locks.
// Readers take no DB lock: they copy view_ (a shared_ptr to an immutable
// ReadView, under the leaf lock view_mu_) and read memtables and tables from it.
//
// Threads: user threads (writers queue; the front one leads a group), the
// Env's background thread (Env::Schedule: flushes only, so a flush never waits
// behind a compaction), up to max_background_compactions compaction threads
// (Env::StartThread, one per compaction; CompactionsInFlight keeps their
// inputs and output ranges disjoint), and whichever writer performs a WAL
// sync on behalf of all waiting sync writers.
#ifndef LSMKV_DB_DB_IMPL_H_
#define LSMKV_DB_DB_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/dbformat.h"
#include "db/compaction.h"
#include "db/version_set.h"
#include "lsmkv/db.h"
#include "memtable/memtable.h"
#include "table/cache.h"
#include "table/table_cache.h"
#include "table/table_counters.h"
#include "util/histogram.h"
#include "util/info_log.h"
#include "util/instrumented_mutex.h"
#include "util/rate_limiter.h"

namespace lsmkv {

class MemTable;
namespace log {
class Writer;
}

// Flush and compaction charge the rate limiter in steps of this many bytes.
inline constexpr uint64_t kRateLimitChunk = 64 * 1024;

// A memtable owned through shared_ptr: the last owner's release Unrefs it.
inline std::shared_ptr<MemTable> NewMemTable(const InternalKeyComparator& icmp);

// What a read sees: the memtables and the table version, pinned together.
struct ReadView {
  std::shared_ptr<MemTable> mem;
  std::vector<std::shared_ptr<MemTable>> imm;  // frozen memtables, newest first
  std::shared_ptr<Version> version;
};

class DBImpl final : public DB {
 public:
  DBImpl(const Options& options, const std::string& dbname);
  ~DBImpl() override;

  Status Put(const WriteOptions& options, std::string_view key, std::string_view value) override;
  Status Delete(const WriteOptions& options, std::string_view key) override;
  Status Write(const WriteOptions& options, WriteBatch* batch) override;
  Status Get(const ReadOptions& options, std::string_view key, std::string* value) override;
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override;
  const Snapshot* GetSnapshot() override;
  void ReleaseSnapshot(const Snapshot* snapshot) override;
  bool GetProperty(std::string_view name, std::string* value) override;
  Status Flush() override;
  Status CompactRange(const std::string* begin, const std::string* end) override;
  Status Close() override;

  // Opens: lock, recover (MANIFEST + WAL replay + flush of recovered data),
  // new WAL, removal of unreferenced files. Called once by DB::Open.
  Status OpenAndRecover();

  // For tests: the number of frozen memtables waiting for flush.
  size_t TEST_ImmutableCount();
  // For tests: waits until no flush is pending or running.
  Status TEST_WaitForBackgroundWork();
  // For tests: checks the current version — levels >= 1 sorted with disjoint
  // user-key ranges, and every file's smallest/largest key, sequence range and
  // entry count equal to what the file holds. Corruption describing the first
  // violation.
  Status TEST_CheckInvariants();
  // For tests: run TEST_CheckInvariants after every compaction; the number of
  // checks run and the first violation found are returned by
  // TEST_InvariantChecks.
  void TEST_CheckInvariantsAfterEveryCompaction(bool on) { check_after_compaction_ = on; }
  uint64_t TEST_InvariantChecks(Status* first_violation);

 private:
  Status CheckInvariantsOfCurrentVersion();

 public:
  // Writes a consistent copy of the open database into the new directory
  // dir (CreateCheckpoint in lsmkv/tools.h; db_checkpoint.cc).
  Status Checkpoint(const std::string& dir);

 private:
  struct Writer;
  class SnapshotImpl;
  // The sequence a read with these options sees.
  SequenceNumber ReadSequence(const ReadOptions& options) const;
  struct FrozenMemTable {
    std::shared_ptr<MemTable> mem;
    uint64_t log_number;  // the WAL holding this memtable's data
  };

  // --- open / recovery (db_open.cc) ---
  Status NewDB();
  Status Recover(VersionEdit* edit, bool* created);
  Status ReplayLogs(const std::vector<uint64_t>& log_numbers, SequenceNumber* max_sequence,
                    VersionEdit* edit, std::shared_ptr<MemTable>* mem);

  // --- write path (db_impl.cc) ---
  Status ValidateBatch(const WriteBatch* batch) const;
  Status WriteImpl(const WriteOptions& options, WriteBatch* batch);
  WriteBatch* BuildBatchGroup(Writer** last_writer) /* REQUIRES mu_ */;
  Status MakeRoomForWrite(MutexLock& lock, bool force);
  Status SwitchToNewLog(MutexLock& lock);
  Status SyncLogUpTo(MutexLock& lock, uint64_t log_number, uint64_t offset);
  void SetBackgroundError(const Status& s) /* REQUIRES mu_ */;
  void InstallView() /* REQUIRES mu_ */;

  // --- compaction (db_compaction.cc) ---
  struct ManualCompaction {
    int level = 0;
    const std::string* begin = nullptr;
    const std::string* end = nullptr;
    bool bottommost = false;   // rewrite level into itself (for the compaction filter)
    bool in_progress = false;  // its compaction is running
    bool done = false;
  };
  // Picks the next compaction to run (the pending manual request first) and
  // registers it in inflight_; false if there is none that may run now.
  bool PickNextCompaction(Compaction* c) /* REQUIRES mu_ */;
  void BackgroundCompactionCall(std::shared_ptr<Compaction> c);
  Status RunCompaction(MutexLock& lock, Compaction* c);
  // The live snapshots a compaction must preserve, oldest first.
  struct SnapshotBounds {
    SequenceNumber smallest;  // oldest live snapshot, or the last sequence if none
    SequenceNumber newest;    // newest live snapshot, or 0 if none
    bool any;
  };
  Status MergeCompactionInputs(const Compaction& c, const Version& base, SnapshotBounds snapshots,
                               std::vector<FileMetaData>* outputs, MutexLock* lock);

  // --- flush (db_flush.cc) ---
  void MaybeScheduleBackgroundWork() /* REQUIRES mu_ */;
  void BackgroundFlushCall();
  Status FlushOldestMemTable(MutexLock& lock);
  Status WriteLevel0Table(MemTable* mem, FileMetaData* meta);
  void DeleteObsoleteFiles(MutexLock& lock);
  // Called by readers after dropping a view: if that released the last
  // reference to some table, schedules a deletion pass (readers never delete
  // files themselves). Takes mu_ only when there is something to delete.
  void PurgeObsoleteFilesIfNeeded();
  // Charges a read to the file it had to look past (read-triggered
  // compaction); when that uses up the file's budget, remembers the file and
  // schedules its compaction. Thread safe; takes mu_ only then.
  void ChargeRead(const ReadCharge& charge);
  // Drops a reader's view when it goes out of scope, then runs
  // PurgeObsoleteFilesIfNeeded. Declare it after the view it releases.
  struct ViewRelease {
    DBImpl* db;
    std::shared_ptr<const ReadView>* view;
    ~ViewRelease() {
      view->reset();
      db->PurgeObsoleteFilesIfNeeded();
    }
  };

  // The current view; readers hold it for the duration of a read.
  std::shared_ptr<const ReadView> LoadView() const {
    std::lock_guard<std::mutex> guard(view_mu_);
    return view_;
  }
  void StoreView(std::shared_ptr<const ReadView> view) {
    std::lock_guard<std::mutex> guard(view_mu_);
    view_.swap(view);
  }

  // Immutable after construction.
  const Options options_;  // sanitized
  const std::string dbname_;
  Env* const env_;
  const InternalKeyComparator icmp_;
  TableCounters table_counters_;
  std::unique_ptr<Cache> block_cache_;
  TableOptions table_options_;
  std::unique_ptr<TableCache> table_cache_;
  std::unique_ptr<InfoLog> info_log_;

  // A leaf lock held only to copy or replace the view pointer (no I/O, no
  // other lock taken under it). Not std::atomic<shared_ptr>: libstdc++ 12's
  // lock-bit implementation is opaque to ThreadSanitizer.
  mutable std::mutex view_mu_;
  std::shared_ptr<const ReadView> view_;
  std::atomic<bool> closed_{false};

  InstrumentedMutex mu_;
  std::condition_variable bg_cv_;    // background work finished a step
  std::condition_variable sync_cv_;  // a WAL sync finished
  FileLock* db_lock_ = nullptr;
  std::unique_ptr<VersionSet> versions_;

  // GUARDED_BY(mu_):
  std::deque<Writer*> writers_;
  std::shared_ptr<MemTable> mem_;
  uint64_t mem_log_number_ = 0;
  std::deque<FrozenMemTable> imm_;           // oldest first
  std::vector<uint64_t> obsolete_logs_;      // WALs whose data is in committed tables
  std::multiset<SequenceNumber> snapshots_;  // sequences of live snapshots
  ManualCompaction* manual_ = nullptr;       // CompactRange's pending request
  std::string compact_cursor_[kNumLevels];   // round-robin position per level
  // Files whose read budget ran out, waiting for a read-triggered compaction.
  std::vector<std::pair<int, FileRef>> read_compaction_files_;
  uint64_t read_compactions_ = 0;  // compactions started for that reason
  struct LevelStats {
    uint64_t compactions = 0, moves = 0, bytes_read = 0, bytes_written = 0, micros = 0;
  } level_stats_[kNumLevels];
  CompactionsInFlight inflight_;  // running compactions' files and ranges
  int bg_compactions_running_ = 0;
  int peak_compactions_running_ = 0;                 // most compactions ever running at once
  std::atomic<bool> check_after_compaction_{false};  // TEST_CheckInvariantsAfterEveryCompaction
  uint64_t invariant_checks_ = 0;
  Status first_invariant_violation_;
  // Compactions started / finished, for "lsmkv.stats" (frequency).
  uint64_t compactions_started_ = 0;
  Histogram compaction_micros_;  // duration of each merging compaction
  uint64_t open_micros_ = 0;     // when Open finished (compaction frequency)
  // Mirrors read without mu_ by the compaction loop.
  std::atomic<bool> shutting_down_flag_{false};
  RateLimiter rate_limiter_;  // flush and compaction writes
  std::unique_ptr<WritableFile> logfile_;
  std::unique_ptr<log::Writer> log_;
  uint64_t log_written_ = 0;        // bytes appended and flushed to logfile_
  uint64_t synced_log_number_ = 0;  // (synced_log_number_, synced_offset_): every
  uint64_t synced_offset_ = 0;      //   WAL byte before this position is durable
  bool sync_in_progress_ = false;
  bool bg_flush_scheduled_ = false;
  bool bg_purge_scheduled_ = false;  // a deletion pass asked for by a reader is queued
  std::shared_ptr<ObsoleteFiles> obsolete_files_;  // set at Open; outlives versions_
  bool shutting_down_ = false;
  Status bg_error_;
  WriteBatch group_batch_;  // scratch for the leader's combined batch

  // Statistics (atomics: read by GetProperty without mu_).
  struct Stats {
    std::atomic<uint64_t> writes{0}, write_groups{0}, wal_syncs{0}, wal_bytes{0};
    std::atomic<uint64_t> flushes{0}, flush_bytes{0}, flush_micros{0};
    std::atomic<uint64_t> stall_count{0}, stall_micros{0}, slowdown_count{0};
    std::atomic<uint64_t> memtable_hits{0}, table_gets{0};
    // WAL replay at Open: damaged regions dropped (reader reports,
    // undecodable batches, holes) and their bytes; intact records dropped
    // by kPointInTime after the first damage.
    std::atomic<uint64_t> wal_damaged_regions{0}, wal_damaged_bytes{0}, wal_intact_dropped{0};
  } stats_;
};

inline std::shared_ptr<MemTable> NewMemTable(const InternalKeyComparator& icmp) {
  auto* mem = new MemTable(icmp);
  mem->Ref();
  return std::shared_ptr<MemTable>(mem, [](MemTable* m) { m->Unref(); });
}

}  // namespace lsmkv

#endif  // LSMKV_DB_DB_IMPL_H_
