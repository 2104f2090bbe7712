// DBImpl: the LSM engine behind lsmkv::DB.
//
// Locks (acquire in this order; never the reverse), checked by clang's
// thread-safety analysis (`make tsa`, scripts/tsa.sh):
//   1. mu_       the DB mutex (an InstrumentedMutex): guards every field
//                marked GUARDED_BY(mu_) and, through versions_ (PT_GUARDED_BY),
//                all of the VersionSet. Never held during file I/O (the group
//                leader, the syncer and the background threads release it
//                around every write, sync and removal).
//   2. view_slots_[i].mu  leaf spin locks (SpinMutex), each held only to
//                copy or replace its slot's view pointer; StoreView takes
//                them one at a time.
//   Below both: leaf locks of the table cache and block cache shards, the
//   ObsoleteFiles list, the InfoLog and the RateLimiter (taken with or
//   without mu_; nothing is taken under them).
// Readers take no DB lock: they copy the view pointer of their thread's slot
// (a shared_ptr to an immutable ReadView, under the slot's lock) and read
// memtables and tables from it; they read
// last_sequence_ (atomic) and never touch versions_, which Close destroys.
//
// Threads: user threads (writers queue; the front one leads a group), the
// Env's background queue (Env::Schedule, one thread, FIFO: memtable flushes
// and the file-deletion passes readers ask for; never compactions, so a flush
// never waits behind a merge), up to max_background_compactions compaction
// threads (Env::StartThread, one per compaction; CompactionsInFlight keeps
// their inputs and output ranges disjoint), and whichever writer performs a
// WAL sync on behalf of all waiting sync writers.
#ifndef LSMKV_DB_DB_IMPL_H_
#define LSMKV_DB_DB_IMPL_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/dbformat.h"
#include "db/compaction.h"
#include "db/conflict_tracker.h"
#include "db/version_set.h"
#include "lsmkv/db.h"
#include "memtable/memtable.h"
#include "table/cache.h"
#include "table/table_cache.h"
#include "table/table_counters.h"
#include "util/histogram.h"
#include "util/info_log.h"
#include "util/instrumented_mutex.h"
#include "util/mutex.h"
#include "util/rate_limiter.h"
#include "util/striped_counter.h"
#include "util/thread_annotations.h"

namespace lsmkv {

class MemTable;
namespace log {
class Writer;
}

// Flush and compaction charge the rate limiter in steps of this many bytes.
inline constexpr uint64_t kRateLimitChunk = 64 * 1024;

// A memtable owned through shared_ptr: the last owner's release Unrefs it.
// max_runs and run_bytes: MemTable's runs (1, 0: one skiplist).
// index_bytes: MemTable's point index (0: none).
inline std::shared_ptr<MemTable> NewMemTable(const InternalKeyComparator& icmp, size_t filter_bytes,
                                             size_t huge_page_bytes, int max_runs = 1,
                                             size_t run_bytes = 0, size_t index_bytes = 0,
                                             std::shared_ptr<ArenaChunkPool> chunk_pool = nullptr);

// Adds mem's range tombstones to edit as a flush's new tombstones
// (VersionEdit::AddFlushedRangeTombstone): called with every edit that
// records the flush of mem (db_flush.cc). Empty ranges (begin >= end under
// ucmp) are left out.
void AddRangeTombstonesToEdit(const Comparator* ucmp, const MemTable& mem, VersionEdit* edit);

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

  // The DB API: every method is called without the DB mutex and takes it
  // itself when it needs it.
  Status Put(const WriteOptions& options, std::string_view key, std::string_view value) override
      EXCLUDES(mu_);
  Status Delete(const WriteOptions& options, std::string_view key) override EXCLUDES(mu_);
  Status Write(const WriteOptions& options, WriteBatch* batch) override EXCLUDES(mu_);
  Status Get(const ReadOptions& options, std::string_view key, std::string* value) override
      EXCLUDES(mu_);
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override EXCLUDES(mu_);
  const Snapshot* GetSnapshot() override EXCLUDES(mu_);
  void ReleaseSnapshot(const Snapshot* snapshot) override EXCLUDES(mu_);
  // db_properties.cc.
  bool GetProperty(std::string_view name, std::string* value) override EXCLUDES(mu_);
  Status Flush() override EXCLUDES(mu_);
  Status GetApproximateSizes(const Range* ranges, int n, uint64_t* sizes) override EXCLUDES(mu_);
  Status CompactRange(const std::string* begin, const std::string* end) override EXCLUDES(mu_);
  Status Close() override EXCLUDES(mu_);
  Status Resume() override EXCLUDES(mu_);

  // Transactions (lsmkv/transaction.h). BeginTransaction is defined in
  // src/txn/, the layer above, which uses the three calls below; db/ itself
  // includes nothing of txn/.
  std::unique_ptr<Transaction> BeginTransaction(const WriteOptions& options,
                                                const TransactionOptions& txn_options) override;
  // A transaction's read view: a snapshot registered with the conflict
  // tracker, so that every write published after it is recorded until
  // EndTransactionView. InvalidArgument if the DB is closed or its WAL
  // recovery mode is not prefix-keeping.
  struct TransactionView {
    const Snapshot* snapshot = nullptr;
    SequenceNumber sequence = 0;
    ConflictTracker::Handle handle;
    // Set when the DB expired the transaction to bound the tracker
    // (Options::max_transaction_tracker_bytes): its registration is gone and
    // its snapshot no longer holds versions; reads and commit must fail.
    std::atomic<bool> expired{false};
  };
  Status BeginTransactionView(TransactionView* view) EXCLUDES(mu_);
  // Releases the snapshot and the registration (idempotent: clears view).
  void EndTransactionView(TransactionView* view) EXCLUDES(mu_);
  // Validates txn in the write group (see BuildBatchGroup) and writes batch
  // if it passes. Busy (txn->result) on a conflict, nothing written. Ends
  // view whatever the outcome.
  Status CommitTransaction(const WriteOptions& options, WriteBatch* batch, TxnValidation* txn,
                           TransactionView* view) EXCLUDES(mu_);
  void NoteTransactionExpired() { stats_.txn_expired++; }
  // Validates txn now, writing nothing (a transaction without writes whose
  // keys must still be checked). OK, Busy or Aborted, also in txn->result.
  Status ValidateTransactionNow(TxnValidation* txn) EXCLUDES(txn_mu_);
  // Moves view's snapshot to the newest sequence (Transaction::SetSnapshot);
  // its registration, and so what the tracker keeps, stays as it was.
  void RefreshTransactionView(TransactionView* view);
  const Options& options() const { return options_; }

  // Opens: lock, recover (MANIFEST + WAL replay + flush of recovered data),
  // new WAL, removal of unreferenced files. Called once by DB::Open.
  Status OpenAndRecover() EXCLUDES(mu_);

  // For tests: the number of frozen memtables waiting for flush.
  size_t TEST_ImmutableCount() EXCLUDES(mu_);
  // For tests: the writers in the write queue (its leader included).
  size_t TEST_QueuedWriters() EXCLUDES(mu_);
  // For tests: waits until no flush is pending or running.
  Status TEST_WaitForBackgroundWork() EXCLUDES(mu_);
  // For tests: waits until the background recovery thread (started on a
  // recoverable error) has stopped; returns the error state then, or Busy
  // if the thread still runs after 60 s of real time.
  Status TEST_WaitForRecoveryThread() EXCLUDES(mu_);
  // For tests: checks the current version — levels >= 1 sorted with disjoint
  // user-key ranges, and every file's smallest/largest key, sequence range and
  // entry count equal to what the file holds. Corruption describing the first
  // violation.
  Status TEST_CheckInvariants() EXCLUDES(mu_);
  // For tests: run TEST_CheckInvariants after every compaction; the number of
  // checks run and the first violation found are returned by
  // TEST_InvariantChecks.
  void TEST_CheckInvariantsAfterEveryCompaction(bool on) { check_after_compaction_ = on; }
  uint64_t TEST_InvariantChecks(Status* first_violation) EXCLUDES(mu_);

 private:
  Status CheckInvariantsOfCurrentVersion() EXCLUDES(mu_);

 public:
  // Writes a consistent copy of the open database into the new directory
  // dir (CreateCheckpoint in lsmkv/tools.h; db_checkpoint.cc).
  Status Checkpoint(const std::string& dir) EXCLUDES(mu_);

 private:
  struct Writer;
  class SnapshotImpl;
  // The sequence a read with these options sees. Takes no lock.
  SequenceNumber ReadSequence(const ReadOptions& options) const;
  // The largest sequence <= sequence of a range tombstone of view covering
  // key, or 0. Takes no lock.
  SequenceNumber NewestCoveringTombstone(const ReadView& view, std::string_view key,
                                         SequenceNumber sequence) const;
  // Every range tombstone of view: the version's set and one set of the
  // memtables' (each left out when empty). Takes no lock.
  std::vector<std::shared_ptr<const RangeTombstoneSet>> ViewRangeTombstones(
      const ReadView& view) const;
  struct FrozenMemTable {
    std::shared_ptr<MemTable> mem;
    uint64_t log_number;  // the WAL holding this memtable's data
  };

  // --- open / recovery (db_open.cc) ---
  // Recover and ReplayLogs run inside Open before the DB is visible to any
  // other thread and before any background work is scheduled, so they use
  // versions_ and the recovery state without mu_; the analysis cannot know
  // that no other thread exists yet, hence NO_THREAD_SAFETY_ANALYSIS.
  Status NewDB() EXCLUDES(mu_);
  Status Recover(VersionEdit* edit, bool* created) NO_THREAD_SAFETY_ANALYSIS;
  Status ReplayLogs(const std::vector<uint64_t>& log_numbers, SequenceNumber* max_sequence,
                    VersionEdit* edit, std::shared_ptr<MemTable>* mem) NO_THREAD_SAFETY_ANALYSIS;

  // --- write path (db_impl.cc) ---
  // InvalidArgument if a key or value passes its size limit or a range
  // deletion's begin is not before its end; *range_deletions (if not null):
  // how many range deletions the batch holds.
  Status ValidateBatch(const WriteBatch* batch, uint32_t* range_deletions = nullptr) const;
  // InvalidArgument if key_size passes max_key_size or value_size passes
  // max_value_size (ValidateBatch's check of each operation).
  Status CheckSizes(size_t key_size, size_t value_size) const;
  // Put and Delete: the one operation's sizes checked without building a
  // Handler to walk the batch (ValidateBatch), then as Write.
  Status WriteOne(const WriteOptions& options, WriteBatch* batch, size_t key_size,
                  size_t value_size) EXCLUDES(mu_);
  // Range tombstones in the current view's memtables and version.
  size_t LiveRangeTombstones() const;
  // txn: a transaction's commit to validate in the write group, or nullptr;
  // range_deletion: batch holds a range deletion.
  Status WriteImpl(const WriteOptions& options, WriteBatch* batch, TxnValidation* txn,
                   bool range_deletion = false) EXCLUDES(mu_);
  WriteBatch* BuildBatchGroup(Writer** last_writer) REQUIRES(mu_);
  void RecordGroupForTransactions(const WriteBatch* group, SequenceNumber first_sequence)
      REQUIRES(mu_, txn_mu_);
  void SetCommitSequences(Writer* last_writer, SequenceNumber first_sequence) REQUIRES(mu_);
  bool HasRoomForWrite() const REQUIRES(mu_);
  // The three below release mu_ while they wait or do I/O and hold it again
  // when they return.
  Status MakeRoomForWrite(bool force) REQUIRES(mu_);
  Status SwitchToNewLog() REQUIRES(mu_);
  void LeadGroup(Writer* self, std::vector<Writer*>* done, bool* self_waits, bool* run_sync,
                 Writer** next_syncer) REQUIRES(mu_);
  Status SyncAsSyncer(Writer* self) EXCLUDES(mu_);
  Status RunSync(Writer* self, std::vector<Writer*>* done, Writer** next_syncer) REQUIRES(mu_);
  void GatherSyncWaiters() REQUIRES(mu_);
  static void WakeWriters(const std::vector<Writer*>& done, Writer* next_leader,
                          Writer* next_syncer);
  // Enters the error state with s (the first error wins, except that a fatal
  // error replaces a recoverable one). A no-space error is recoverable
  // (TryResume retries); any other error is fatal: writes are refused until
  // the DB is reopened.
  void SetBackgroundError(const Status& s) REQUIRES(mu_);

  // --- recovery from a full disk (db_resume.cc) ---
  // Leaves a recoverable error state if space allows: starts a new WAL if
  // the active one may end in a partial record, flushes every memtable
  // (which retires that WAL), rewrites the MANIFEST if a write of it failed,
  // removes the tables failed edits left behind, then clears the error.
  // Attempts are spaced out by a backoff after a failed one unless
  // ignore_backoff, and skipped while the Env reports less free space than
  // the memtables need. Returns OK if the DB is writable on return, else
  // the (possibly new) background error.
  // REQUIRES: the caller leads the writer queue (no write group is in
  // flight; the WAL is this thread's). Releases mu_ during I/O.
  Status TryResume(bool ignore_backoff) REQUIRES(mu_);
  // Applies the WAL file options (wal_preallocate_bytes, wal_mapped_writes)
  // to a newly created WAL file, before its first append.
  void ConfigureWalFile(WritableFile* file) const;
  // Starts a new WAL in place of the poisoned one and freezes the active
  // memtable (if not empty) with the old WAL. REQUIRES as TryResume.
  Status ReplacePoisonedLog() REQUIRES(mu_);
  // Joins the writer queue, runs TryResume at its head, leaves the queue.
  Status ResumeInWriterQueue(bool ignore_backoff) REQUIRES(mu_);
  // The thread started on entering a recoverable error: retries TryResume
  // now and then until the error clears or the DB closes.
  void BackgroundRecoveryCall() EXCLUDES(mu_);
  // Whether a compaction of about `bytes` output may start: false while
  // compactions back off after running out of space, or if the Env reports
  // less free space than bytes plus the headroom kept for flushes (then
  // starts a backoff). REQUIRES: mu_ held.
  bool SpaceForCompaction(uint64_t bytes) REQUIRES(mu_);
  // A compaction failed for lack of space: back off before the next one.
  void BackOffCompactions(const char* why) REQUIRES(mu_);
  void InstallView() REQUIRES(mu_);

  // --- compaction (db_compaction.cc) ---
  struct ManualCompaction {
    int level = 0;
    const std::string* begin = nullptr;
    const std::string* end = nullptr;
    bool bottommost = false;   // rewrite level into itself (for the compaction filter)
    bool in_progress = false;  // its compaction is running
    bool done = false;
    Status status;  // why it stopped early (no space), if it did
  };
  // Picks the next compaction to run (the pending manual request first) and
  // registers it in inflight_; false if there is none that may run now.
  bool PickNextCompaction(Compaction* c) REQUIRES(mu_);
  // A compaction of the shallowest level holding a table that a range
  // tombstone (one every live snapshot sees) is pending on, over the
  // tombstone's range; false if there is none that may run now.
  bool PickRangeDeletionCompaction(const Version& v, Compaction* c) REQUIRES(mu_) EXCLUDES(txn_mu_);
  void BackgroundCompactionCall(std::shared_ptr<Compaction> c) EXCLUDES(mu_);
  // Releases mu_ during the merge. *manifest_failed: the error came from
  // the MANIFEST write (the outputs are then orphan_tables_).
  Status RunCompaction(Compaction* c, bool* manifest_failed) REQUIRES(mu_);
  // The live snapshots a compaction must preserve, oldest first.
  struct SnapshotBounds {
    SequenceNumber smallest;  // oldest live snapshot, or the last sequence if none
    SequenceNumber newest;    // newest live snapshot, or 0 if none
    bool any;
  };
  // Per output table (by number, in output order): the sequences of the
  // base version's range tombstones it kept covered entries of.
  using KeptTombstones = std::vector<std::pair<uint64_t, std::vector<SequenceNumber>>>;
  // Runs without mu_ (takes it briefly to allocate file numbers).
  Status MergeCompactionInputs(const Compaction& c, const Version& base, SnapshotBounds snapshots,
                               std::vector<FileMetaData>* outputs, KeptTombstones* kept)
      EXCLUDES(mu_);

  // --- flush (db_flush.cc) ---
  void MaybeScheduleBackgroundWork() REQUIRES(mu_);
  void BackgroundFlushCall() EXCLUDES(mu_);
  // Releases mu_ while the table is written and the MANIFEST updated.
  Status FlushOldestMemTable() REQUIRES(mu_);
  // File I/O only: touches no state mu_ guards.
  Status WriteLevel0Table(MemTable* mem, FileMetaData* meta) EXCLUDES(mu_);
  // Releases mu_ during the removals.
  void DeleteObsoleteFiles() REQUIRES(mu_);
  // Called by readers after dropping a view: if that released the last
  // reference to some table, schedules a deletion pass (readers never delete
  // files themselves). Takes mu_ only when there is something to delete.
  void PurgeObsoleteFilesIfNeeded() EXCLUDES(mu_);
  // Charges a read to the file it had to look past (read-triggered
  // compaction); when that uses up the file's budget, remembers the file and
  // schedules its compaction. Thread safe; takes mu_ only then.
  void ChargeRead(const ReadCharge& charge) EXCLUDES(mu_);
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

  // Bytes of each new memtable's key filter (Options::memtable_filter_ratio).
  size_t MemTableFilterBytes() const {
    return static_cast<size_t>(static_cast<double>(options_.write_buffer_size) *
                               options_.memtable_filter_ratio);
  }

  // Bytes of each new memtable's point index (Options::memtable_index_ratio).
  size_t MemTableIndexBytes() const {
    return static_cast<size_t>(static_cast<double>(options_.write_buffer_size) *
                               options_.memtable_index_ratio);
  }

  // Huge-page chunk size of each new memtable's arena
  // (Options::memtable_huge_page_size): only for write buffers of at least
  // kMemTableHugePageMinChunks chunks, so that a small memtable does not
  // take a whole chunk.
  static constexpr size_t kMemTableHugePageMinChunks = 8;
  size_t MemTableHugePageBytes() const {
    const size_t h = options_.memtable_huge_page_size;
    return h > 0 && options_.write_buffer_size / kMemTableHugePageMinChunks >= h ? h : 0;
  }
  // Runs of each new memtable (Options::memtable_run_size): as many as
  // the write buffer holds, at most MemTable::kMaxRuns; 1 for none.
  int MemTableMaxRuns() const {
    const size_t r = options_.memtable_run_size;
    if (r == 0 || options_.write_buffer_size <= r) return 1;
    const size_t runs = (options_.write_buffer_size + r - 1) / r;
    return static_cast<int>(std::min<size_t>(runs, MemTable::kMaxRuns));
  }
  std::shared_ptr<MemTable> NewMemTableForOptions() const {
    return NewMemTable(icmp_, MemTableFilterBytes(), MemTableHugePageBytes(), MemTableMaxRuns(),
                       options_.memtable_run_size, MemTableIndexBytes(), memtable_chunks_);
  }
  // The huge-page chunks of flushed memtables, kept for the next ones (at
  // most one write buffer's worth: Arena), with kMemTableChunkReserve
  // chunks faulted in ahead of the writer by a thread of env_ (Arena:
  // ArenaChunkPool's reserve); null without huge pages.
  static constexpr size_t kMemTableChunkReserve = 2;
  std::shared_ptr<ArenaChunkPool> NewMemTableChunkPool() const {
    const size_t h = MemTableHugePageBytes();
    if (h == 0) return nullptr;
    const size_t max_chunks = (options_.write_buffer_size + h - 1) / h;
    Env* env = env_;
    return std::make_shared<ArenaChunkPool>(
        h, max_chunks, std::min(kMemTableChunkReserve, max_chunks),
        [env](std::function<void()> fn) { env->StartThread(std::move(fn)); });
  }

  // The current view; readers hold it for the duration of a read. Reads the
  // calling thread's slot (ViewSlot).
  std::shared_ptr<const ReadView> LoadView() const {
    const ViewSlot& slot = view_slots_[StripedCounter::ThreadStripe() % kViewSlots];
    SpinMutexLock guard(&slot.mu);
    return slot.view;
  }
  // Publishes view (nullptr: closed) in every slot, each slot under its own
  // reference count (ViewSlot). Callers serialise (mu_ held, or Close).
  void StoreView(const std::shared_ptr<const ReadView>& view);

  // --- properties (db_properties.cc) ---
  // One helper per family of properties; each takes the locks it needs.
  void AppendStatsCounters(const ReadView& view, std::string* value) EXCLUDES(mu_);
  uint64_t AppendLevelStats(std::string* value) EXCLUDES(mu_);
  void AppendCompactionAndMutexStats(std::string* value) EXCLUDES(mu_);
  void AppendLevelsTable(const ReadView& view, std::string* value) EXCLUDES(mu_);

  // Immutable after construction (no lock needed; the objects behind the
  // pointers are thread safe).
  const Options options_;  // sanitized
  const std::string dbname_;
  Env* const env_;
  const InternalKeyComparator icmp_;
  TableCounters table_counters_;  // striped counters (no lock)
  std::unique_ptr<Cache> block_cache_;
  // NewMemTableChunkPool; shared with the memtables' arenas.
  const std::shared_ptr<ArenaChunkPool> memtable_chunks_;
  TableOptions table_options_;
  std::unique_ptr<TableCache> table_cache_;
  // Set by Open before any other thread sees the DB, then immutable.
  std::unique_ptr<InfoLog> info_log_;

  // The published view, once per slot: every slot holds the same ReadView
  // through a shared_ptr of its own (an aliasing pointer whose control block
  // owns a reference to the view), on its own cache lines. A reader copies
  // and releases the pointer of its thread's slot (threads are spread over
  // the slots round robin, StripedCounter::ThreadStripe), so readers on
  // different cores do not write one shared reference count and lock word
  // on every read: with one pointer, two threads reading ran 1.5x one.
  // mu: a leaf lock held only to copy or replace the pointer (no I/O, no
  // other lock taken under it). Not std::atomic<shared_ptr>: libstdc++ 12's
  // lock-bit implementation is opaque to ThreadSanitizer.
  static constexpr size_t kViewSlots = StripedCounter::kStripes;
  struct alignas(StripedCounter::kCacheLine) ViewSlot {
    mutable SpinMutex mu;
    std::shared_ptr<const ReadView> view GUARDED_BY(mu);
  };
  ViewSlot view_slots_[kViewSlots];
  std::atomic<bool> closed_{false};  // Close ran (exchange admits one Close)

  InstrumentedMutex mu_;
  InstrumentedCondVar bg_cv_;    // background work finished a step
  InstrumentedCondVar sync_cv_;  // a WAL sync finished
  // Taken by Open and released by the one Close (closed_ admits one), never
  // concurrently: not guarded.
  FileLock* db_lock_ = nullptr;
  // Created by Open before the DB is shared, destroyed by Close under mu_.
  // Every use of the VersionSet holds mu_ (it has no lock of its own).
  std::unique_ptr<VersionSet> versions_ PT_GUARDED_BY(mu_);
  // The newest sequence readers may see. DBImpl owns it (the VersionSet
  // reads and advances it through a pointer) so that readers, which take no
  // lock, never touch versions_; written only with mu_ held.
  std::atomic<SequenceNumber> last_sequence_{0};

  std::deque<Writer*> writers_ GUARDED_BY(mu_);
  // The active memtable. The pointer is guarded; the memtable itself is
  // written only by the write-group leader (without mu_, through a copy of
  // the pointer taken under it) and read by anyone holding a view.
  std::shared_ptr<MemTable> mem_ GUARDED_BY(mu_);
  uint64_t mem_log_number_ GUARDED_BY(mu_) = 0;
  std::deque<FrozenMemTable> imm_ GUARDED_BY(mu_);       // oldest first
  std::vector<uint64_t> obsolete_logs_ GUARDED_BY(mu_);  // WALs whose data is in committed tables
  std::multiset<SequenceNumber> snapshots_ GUARDED_BY(mu_);  // sequences of live snapshots
  // Transactions: the running ones' read views and the writes since the
  // oldest one's start. Its own mutex, so that beginning and ending a
  // transaction never waits for the DB mutex; the write leader takes it
  // (after mu_) to validate and to publish sequences, so a registration
  // and a publication are ordered (conflict_tracker.h). A spin lock: every
  // critical section under it is a few map operations, and a futex sleep
  // and wake-up on it (a transaction beginning while the leader publishes)
  // cost more than the section itself; the leader takes it once per phase
  // of a group, not once per member.
  mutable SpinMutex txn_mu_ ACQUIRED_AFTER(mu_);
  ConflictTracker tracker_ GUARDED_BY(txn_mu_);
  // Commit stripes: a committing transaction holds the stripes of the keys
  // it writes or tracked, from a validation before it queues until its write
  // is published (CommitTransaction). Taken in ascending index order and
  // before mu_; nothing else is acquired while waiting for one. Not checked
  // by the analysis (a set chosen at run time). Many stripes, so that two
  // commits of different keys rarely share one (a shared stripe makes the
  // second wait, and a commit that waits validates a staler snapshot): 65,536
  // one-word mutexes, 256 KiB, allocated by the first commit.
  static constexpr size_t kCommitStripes = 65536;
  std::once_flag commit_stripes_once_;
  std::unique_ptr<WordMutex[]> commit_stripes_;
  // Locks the stripes (ascending, distinct), counting the commit in
  // txn_commit_waits (before sleeping) if one is held by another commit.
  // UnlockCommitStripes releases them.
  void LockCommitStripes(const std::vector<uint32_t>& stripes) NO_THREAD_SAFETY_ANALYSIS;
  void UnlockCommitStripes(const std::vector<uint32_t>& stripes) NO_THREAD_SAFETY_ANALYSIS;
  // CompactRange's pending request (on CompactRange's stack; read and marked
  // done by the compaction threads).
  ManualCompaction* manual_ GUARDED_BY(mu_) PT_GUARDED_BY(mu_) = nullptr;
  std::string compact_cursor_[kNumLevels] GUARDED_BY(mu_);  // round-robin position per level
  // Files whose read budget ran out, waiting for a read-triggered compaction.
  std::vector<std::pair<int, FileRef>> read_compaction_files_ GUARDED_BY(mu_);
  uint64_t read_compactions_ GUARDED_BY(mu_) = 0;            // compactions started for that reason
  uint64_t range_deletion_compactions_ GUARDED_BY(mu_) = 0;  // PickRangeDeletionCompaction's
  struct LevelStats {
    uint64_t compactions = 0, moves = 0, bytes_read = 0, bytes_written = 0, micros = 0;
  } level_stats_[kNumLevels] GUARDED_BY(mu_);
  CompactionsInFlight inflight_ GUARDED_BY(mu_);  // running compactions' files and ranges
  int bg_compactions_running_ GUARDED_BY(mu_) = 0;
  int peak_compactions_running_ GUARDED_BY(mu_) = 0;  // most compactions ever running at once
  std::atomic<bool> check_after_compaction_{false};   // TEST_CheckInvariantsAfterEveryCompaction
  uint64_t invariant_checks_ GUARDED_BY(mu_) = 0;
  Status first_invariant_violation_ GUARDED_BY(mu_);
  // Compactions started / finished, for "lsmkv.stats" (frequency).
  uint64_t compactions_started_ GUARDED_BY(mu_) = 0;
  Histogram compaction_micros_ GUARDED_BY(mu_);  // duration of each merging compaction
  // When Open finished (compaction frequency): set by Open before any other
  // thread sees the DB, then immutable; read without mu_.
  uint64_t open_micros_ = 0;
  // Mirrors shutting_down_, read without mu_ by the compaction loop (atomic).
  std::atomic<bool> shutting_down_flag_{false};
  RateLimiter rate_limiter_;  // flush and compaction writes; locks itself
  // The WAL. The pointers are guarded (replaced by SwitchToNewLog, read by
  // the leader and the syncer under mu_); the objects are used without mu_
  // through copies of the pointers: log_ and appends to logfile_ by the
  // write-group leader only, Sync by the one syncer (sync_in_progress_), and
  // WritableFile allows a Sync concurrent with an Append.
  std::unique_ptr<WritableFile> logfile_ GUARDED_BY(mu_);
  std::unique_ptr<log::Writer> log_ GUARDED_BY(mu_);
  uint64_t log_written_ GUARDED_BY(mu_) = 0;  // bytes appended and flushed to logfile_
  // (synced_log_number_, synced_offset_): every WAL byte before this
  // position is durable.
  uint64_t synced_log_number_ GUARDED_BY(mu_) = 0;
  uint64_t synced_offset_ GUARDED_BY(mu_) = 0;
  // A sync is running or handed to the front of sync_waiters_: one thread
  // at a time syncs the WAL. Whenever sync_waiters_ is non-empty at a
  // release of mu_, this is set (somebody will sync for the waiters).
  bool sync_in_progress_ GUARDED_BY(mu_) = false;
  // Sync writers whose groups are in the WAL, in WAL order, each sleeping
  // until a sync covers its (sync_log_number, sync_offset) (RunSync).
  std::deque<Writer*> sync_waiters_ GUARDED_BY(mu_);
  // Group commit's gathering (GatherSyncWaiters): the sync writers the last
  // sync released or left waiting; when and how long it ran; whether the
  // syncer sleeps on sync_gather_cv_ for more sync writers to arrive.
  size_t sync_population_ GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point last_sync_end_ GUARDED_BY(mu_);
  std::chrono::steady_clock::duration last_sync_duration_ GUARDED_BY(mu_){0};
  bool sync_gathering_ GUARDED_BY(mu_) = false;
  InstrumentedCondVar sync_gather_cv_;
  bool bg_flush_scheduled_ GUARDED_BY(mu_) = false;
  bool bg_purge_scheduled_ GUARDED_BY(mu_) = false;  // a reader's deletion pass is queued
  // Set by Open before any other thread sees the DB, then immutable (the
  // object locks itself); outlives versions_. Read by readers without mu_.
  std::shared_ptr<ObsoleteFiles> obsolete_files_;
  bool shutting_down_ GUARDED_BY(mu_) = false;
  Status bg_error_ GUARDED_BY(mu_);
  // bg_error_ is a no-space error that TryResume clears once space is back.
  bool bg_error_recoverable_ GUARDED_BY(mu_) = false;
  // The active WAL may end in a partial record (an append, sync or switch
  // failed): nothing is appended to it again; TryResume replaces it.
  bool log_poisoned_ GUARDED_BY(mu_) = false;
  // Tables written by a flush or compaction whose MANIFEST edit failed: the
  // edit may be on disk, so they are removed only after the MANIFEST is
  // rewritten (TryResume), or by the next Open.
  std::vector<uint64_t> orphan_tables_ GUARDED_BY(mu_);
  uint64_t next_resume_micros_ GUARDED_BY(mu_) = 0;  // env_->NowMicros() of the next attempt
  uint64_t resume_backoff_micros_ GUARDED_BY(mu_) = 0;
  bool recovery_thread_running_ GUARDED_BY(mu_) = false;
  // Compactions do not start before this time (NowMicros) after one ran out
  // of space or found too little free space.
  uint64_t compaction_retry_micros_ GUARDED_BY(mu_) = 0;
  uint64_t compaction_backoff_micros_ GUARDED_BY(mu_) = 0;
  // Estimated output bytes of the compactions running now (reserved space).
  uint64_t compaction_bytes_reserved_ GUARDED_BY(mu_) = 0;
  // Scratch for the leader's combined batch: filled and cleared under mu_,
  // read by the leader without mu_ through the pointer BuildBatchGroup
  // returned (no other writer leads meanwhile).
  WriteBatch group_batch_ GUARDED_BY(mu_);

  // Statistics (atomics: read by GetProperty without mu_).
  struct Stats {
    std::atomic<uint64_t> writes{0}, write_groups{0}, wal_syncs{0}, wal_bytes{0};
    // Syncs that waited for more sync writers first, and how long in all.
    std::atomic<uint64_t> wal_sync_gathers{0}, wal_sync_gather_micros{0};
    // Groups a leader led after its own while it waited for a sync anyway.
    std::atomic<uint64_t> write_groups_led_on{0};
    std::atomic<uint64_t> txn_begun{0}, txn_commits{0}, txn_conflicts{0}, txn_expired{0};
    // Commits that waited for another commit's key stripe (CommitTransaction).
    std::atomic<uint64_t> txn_commit_waits{0};
    std::atomic<uint64_t> flushes{0}, flush_bytes{0}, flush_micros{0};
    std::atomic<uint64_t> stall_count{0}, stall_micros{0}, slowdown_count{0};
    // Bumped by every point read: striped, so that concurrent readers do
    // not pass one cache line back and forth.
    StripedCounter memtable_hits, table_gets;
    // WAL replay at Open: damaged regions dropped (reader reports,
    // undecodable batches, holes) and their bytes; intact records dropped
    // by kPointInTime after the first damage.
    std::atomic<uint64_t> wal_damaged_regions{0}, wal_damaged_bytes{0}, wal_intact_dropped{0};
    // Writes (Put, Delete, Write, each caller counted) that returned an
    // error; error states entered; recoveries from them; attempts to
    // recover that failed; compactions that ran out of space, and
    // compactions not started for lack of free space.
    std::atomic<uint64_t> failed_writes{0}, bg_errors{0}, recoveries{0}, failed_recoveries{0};
    std::atomic<uint64_t> compactions_out_of_space{0}, compactions_deferred{0};
  } stats_;
};

inline std::shared_ptr<MemTable> NewMemTable(const InternalKeyComparator& icmp, size_t filter_bytes,
                                             size_t huge_page_bytes, int max_runs, size_t run_bytes,
                                             size_t index_bytes,
                                             std::shared_ptr<ArenaChunkPool> chunk_pool) {
  auto* mem = new MemTable(icmp, filter_bytes, huge_page_bytes, max_runs, run_bytes, index_bytes,
                           std::move(chunk_pool));
  mem->Ref();
  return std::shared_ptr<MemTable>(mem, [](MemTable* m) { m->Unref(); });
}

}  // namespace lsmkv

#endif  // LSMKV_DB_DB_IMPL_H_
