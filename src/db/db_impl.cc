// DBImpl: write path (group commit), reads and Close. Open/recovery live in
// db_open.cc, flush in db_flush.cc, GetProperty in db_properties.cc.
#include "db/db_impl.h"

#include <algorithm>

#include "base/filename.h"
#include "db/db_iter.h"
#include "db/level_iterator.h"
#include "db/merging_iterator.h"
#include "db/write_batch_internal.h"
#include "memtable/memtable.h"
#include "table/iterator_util.h"
#include "util/check.h"
#include "util/futex.h"
#include "util/hash.h"
#include "wal/log_writer.h"

namespace lsmkv {

// One queued write. The front writer of the queue leads a group: it writes
// the combined batch of every writer up to last_writer with one WAL append.
struct DBImpl::Writer {
  WriteBatch* batch;  // nullptr: a request to freeze the memtable (Flush)
  bool sync;
  // A transaction's commit: validated by the leader before its batch joins
  // the group (and skipped, with txn->result set, on a conflict).
  TxnValidation* txn = nullptr;
  bool skipped = false;
  // The batch holds a range deletion: it leads a group of its own, so that
  // no transaction's commit shares a group with it (BuildBatchGroup).
  bool range_deletion = false;
  Status status;  // written before state becomes kDone, read after
  // A sync writer whose group is in the WAL waits in sync_waiters_ until the
  // WAL is durable up to (sync_log_number, sync_offset). Guarded by mu_.
  uint64_t sync_log_number = 0;
  uint64_t sync_offset = 0;

  // What the writer's thread is told when it is woken. A queued writer
  // sleeps on state without the DB mutex, so a writer completed by somebody
  // else returns without touching mu_ (sixteen sync writers released by one
  // fdatasync would otherwise queue on mu_ only to leave).
  enum : uint32_t {
    kWaiting = 0,
    kLeader = 1,      // it is at the front of writers_: lead a group
    kDone = 2,        // status holds the outcome: return it
    kSyncLeader = 3,  // the front of sync_waiters_: run the next WAL sync
    kSleeping = 4,    // kWaiting, and the thread sleeps (or is about to) on the futex
  };
  std::atomic<uint32_t> state{kWaiting};

  Writer(WriteBatch* b, bool s) : batch(b), sync(s) {}

  // Sleeps until woken; returns what it was told and makes it kWaiting
  // again (a writer told to lead may wait again later, for its sync). Marks
  // the word kSleeping before the futex sleep, so that Wake makes the wake-up
  // system call only for a thread that may be asleep (util/futex.h).
  // Pauses before the futex sleep: a leader that finishes its group within
  // a few hundred nanoseconds hands over without a sleep; a writer waiting
  // for an fdatasync (a hundred microseconds or more) sleeps almost at once.
  static constexpr int kAwaitSpins = 16;
  uint32_t Await() {
    uint32_t s = state.load(std::memory_order_acquire);
    for (int i = 0; i < kAwaitSpins && s == kWaiting; i++) {
      CpuRelax();
      s = state.load(std::memory_order_acquire);
    }
    if (s == kWaiting && state.compare_exchange_strong(s, kSleeping, std::memory_order_acquire)) {
      s = kSleeping;
    }
    while (s == kSleeping) {
      FutexWait(&state, kSleeping, /*spins=*/0);  // spun above
      s = state.load(std::memory_order_acquire);
    }
    DCHECK(s != kWaiting);  // only Wake moves the word off kWaiting/kSleeping
    state.store(kWaiting, std::memory_order_relaxed);  // only this thread writes it now
    return s;
  }
  // Tells the writer's thread what to do. With kDone the writer may return
  // (and its stack frame end) as soon as the exchange is visible: nothing may
  // touch the Writer after this but the futex wake-up by address, which
  // tolerates a gone waiter (it wakes nobody, or somebody who re-checks).
  // Call without mu_ where possible: a woken leader takes it at once.
  void Wake(uint32_t what) {
    DCHECK(what != kWaiting && what != kSleeping);
    if (state.exchange(what, std::memory_order_release) == kSleeping) FutexWakeOne(&state);
  }
};

namespace {
// Largest combined batch a leader builds; small writes get small groups so
// that a lone small write is not delayed behind a huge copy.
constexpr size_t kMaxGroupBytes = 1 << 20;
constexpr size_t kSmallWriteBytes = 128 << 10;
// Range tombstones a memtable takes before it is frozen (MakeRoomForWrite).
constexpr uint64_t kMaxMemTableRangeTombstones = 64;

Status ClosedError() { return Status::InvalidArgument("database is closed"); }
}  // namespace

DBImpl::DBImpl(const Options& options, const std::string& dbname)
    : options_([&options] {
        Options o = options;
        if (o.env == nullptr) o.env = Env::Default();
        if (o.comparator == nullptr) o.comparator = BytewiseComparator();
        return o;
      }()),
      dbname_(dbname),
      env_(options_.env),
      icmp_(options_.comparator),
      block_cache_(NewLRUCache(options_.block_cache_size)),
      memtable_chunks_(NewMemTableChunkPool()),
      tracker_(options_.comparator),
      rate_limiter_(env_, options_.rate_limit_bytes_per_sec) {
  table_options_ = TableOptionsFromOptions(options_, &icmp_);
  table_options_.block_cache = block_cache_.get();
  table_options_.counters = &table_counters_;
  // Damage the table readers worked around goes to the LOG (info_log_ is
  // opened by Open, before any table is read).
  table_options_.damage_reporter = [this](const std::string& message) {
    LSMKV_LOG(info_log_.get(), "table damage: %s", message.c_str());
  };
  const std::string name = dbname_;
  table_cache_ = std::make_unique<TableCache>(
      env_, table_options_, [name](uint64_t number) { return TableFileName(name, number); },
      options_.max_open_files);
}

DBImpl::~DBImpl() { Close().PermitUncheckedError(); }

Status DBImpl::GetApproximateSizes(const Range* ranges, int n, uint64_t* sizes) {
  for (int i = 0; i < n; i++) sizes[i] = 0;
  if (closed_.load(std::memory_order_acquire)) return ClosedError();
  const std::shared_ptr<const ReadView> view = LoadView();
  const Comparator* ucmp = icmp_.user_comparator();
  for (int i = 0; i < n; i++) {
    if (ucmp->Compare(ranges[i].start, ranges[i].limit) >= 0) continue;
    // The largest internal key of a user key sorts first among its versions,
    // so these bound every version of start and nothing of limit.
    std::string start, limit;
    AppendInternalKey(&start, ranges[i].start, kMaxSequenceNumber, kValueTypeForSeek);
    AppendInternalKey(&limit, ranges[i].limit, kMaxSequenceNumber, kValueTypeForSeek);
    uint64_t bytes = 0;
    for (int level = 0; level < kNumLevels; level++) {
      for (const FileRef& f : view->version->files(level)) {
        if (icmp_.Compare(f->largest, start) < 0 || icmp_.Compare(f->smallest, limit) >= 0)
          continue;
        const uint64_t from =
            icmp_.Compare(f->smallest, start) >= 0
                ? 0
                : table_cache_->ApproximateOffsetOf(f->number, f->file_size, start);
        const uint64_t to = icmp_.Compare(f->largest, limit) < 0
                                ? f->file_size
                                : table_cache_->ApproximateOffsetOf(f->number, f->file_size, limit);
        if (to > from) bytes += to - from;
      }
    }
    sizes[i] = bytes;
  }
  return Status::OK();
}

void DBImpl::ConfigureWalFile(WritableFile* file) const {
  file->SetPreallocationBlockSize(options_.wal_preallocate_bytes);
  file->SetMappedWrites(options_.wal_mapped_writes);
}

namespace {

// The batch DB::Put and DB::Delete encode their one operation in: one per
// thread, kept between calls, so that a write does not allocate its batch
// and free it again (a malloc and a free of ~130 bytes were about a sixth
// of a sequential Put's instructions). A nested call on the same thread
// (none is known: nothing the write path calls writes) gets a batch of its
// own; one that grew past kKeepBytes gives its memory back afterwards.
class OneOperationBatch {
 public:
  OneOperationBatch() : batch_(Claim()) {}
  ~OneOperationBatch() {
    if (batch_ != &local_) Release();
  }
  OneOperationBatch(const OneOperationBatch&) = delete;
  OneOperationBatch& operator=(const OneOperationBatch&) = delete;
  WriteBatch* get() { return batch_; }

 private:
  static constexpr size_t kKeepBytes = 64 * 1024;
  struct Slot {
    WriteBatch batch;
    bool in_use = false;
  };
  static Slot& ThreadSlot() {
    thread_local Slot slot;
    return slot;
  }
  WriteBatch* Claim() {
    Slot& slot = ThreadSlot();
    if (slot.in_use) return &local_;
    slot.in_use = true;
    slot.batch.Clear();
    return &slot.batch;
  }
  void Release() {
    Slot& slot = ThreadSlot();
    if (slot.batch.ApproximateSize() > kKeepBytes) slot.batch = WriteBatch();
    slot.in_use = false;
  }

  WriteBatch local_;
  WriteBatch* const batch_;
};

}  // namespace

Status DBImpl::Put(const WriteOptions& options, std::string_view key, std::string_view value) {
  OneOperationBatch batch;
  batch.get()->Put(key, value);
  return WriteOne(options, batch.get(), key.size(), value.size());
}

Status DBImpl::Delete(const WriteOptions& options, std::string_view key) {
  OneOperationBatch batch;
  batch.get()->Delete(key);
  return WriteOne(options, batch.get(), key.size(), 0);
}

Status DBImpl::WriteOne(const WriteOptions& options, WriteBatch* batch, size_t key_size,
                        size_t value_size) {
  if (closed_.load(std::memory_order_acquire)) return ClosedError();
  Status s = CheckSizes(key_size, value_size);
  if (!s.ok()) return s;
  s = WriteImpl(options, batch, /*txn=*/nullptr, /*range_deletion=*/false);
  if (!s.ok()) stats_.failed_writes++;
  return s;
}

Status DBImpl::CheckSizes(size_t key_size, size_t value_size) const {
  if (key_size > options_.max_key_size) {
    return Status::InvalidArgument("key of " + std::to_string(key_size) +
                                   " bytes exceeds max_key_size (" +
                                   std::to_string(options_.max_key_size) + " bytes)");
  }
  if (value_size > options_.max_value_size) {
    return Status::InvalidArgument("value of " + std::to_string(value_size) +
                                   " bytes exceeds max_value_size (" +
                                   std::to_string(options_.max_value_size) + " bytes)");
  }
  return Status::OK();
}

Status DBImpl::ValidateBatch(const WriteBatch* batch, uint32_t* range_deletions) const {
  struct Checker : public WriteBatch::Handler {
    const DBImpl* db;
    Status status;
    void Check(std::string_view key, size_t value_size) {
      if (status.ok()) status = db->CheckSizes(key.size(), value_size);
    }
    void Put(std::string_view key, std::string_view value) override { Check(key, value.size()); }
    void Delete(std::string_view key) override { Check(key, 0); }
    bool DeleteRange(std::string_view begin, std::string_view end) override {
      Check(begin, 0);
      Check(end, 0);
      if (status.ok() && ucmp->Compare(begin, end) >= 0) {
        status = Status::InvalidArgument(
            "DeleteRange: begin must be before end (",
            "got [" + PrintableKey(begin) + ", " + PrintableKey(end) + "))");
      }
      range_deletions++;
      return true;
    }
    const Comparator* ucmp;
    uint32_t range_deletions = 0;
  } checker;
  checker.db = this;
  checker.ucmp = icmp_.user_comparator();
  Status s = batch->Iterate(&checker);
  if (s.ok()) s = checker.status;
  if (s.ok() && range_deletions != nullptr) *range_deletions = checker.range_deletions;
  return s;
}

size_t DBImpl::LiveRangeTombstones() const {
  const std::shared_ptr<const ReadView> view = LoadView();
  if (view == nullptr) return 0;
  size_t n = view->version->range_tombstones().size() + view->mem->NumRangeTombstones();
  for (const auto& imm : view->imm) n += imm->NumRangeTombstones();
  return n;
}

Status DBImpl::Write(const WriteOptions& options, WriteBatch* batch) {
  if (closed_.load(std::memory_order_acquire)) return ClosedError();
  if (batch == nullptr) return Status::InvalidArgument("Write: batch is null");
  uint32_t range_deletions = 0;
  Status s = ValidateBatch(batch, &range_deletions);
  if (!s.ok()) return s;
  if (batch->Count() == 0) return Status::OK();
  if (range_deletions > 0) {
    // Approximate under concurrent writers (each checks before it queues):
    // the bound may be passed by the range deletions of one round of them.
    const size_t live = LiveRangeTombstones();
    if (live + range_deletions > options_.max_range_tombstones) {
      return Status::Busy("DeleteRange",
                          std::to_string(live) +
                              " range tombstones are live, max_range_tombstones is " +
                              std::to_string(options_.max_range_tombstones) +
                              "; compact deleted ranges to retire them");
    }
  }
  s = WriteImpl(options, batch, /*txn=*/nullptr, range_deletions > 0);
  if (!s.ok()) stats_.failed_writes++;
  return s;
}

Status DBImpl::CommitTransaction(const WriteOptions& options, WriteBatch* batch, TxnValidation* txn,
                                 TransactionView* view) {
  DCHECK(batch != nullptr && txn != nullptr && view != nullptr);
  Status s;
  if (closed_.load(std::memory_order_acquire)) {
    s = ClosedError();
  } else {
    s = ValidateBatch(batch);
  }
  if (s.ok() && batch->Count() != 0) {
    // Hold the stripes of every written and tracked key, then validate
    // against what is published: a conflict fails here, before the write
    // queue; a transaction that passes cannot be overtaken on these keys by
    // another transaction's commit, which waits for the stripe and then sees
    // this one's write. Conflicting committers thus wait here one at a time
    // instead of meeting in one write group, where all but the first would
    // be aborted after the whole wait (a convoy under hot keys: zipfian
    // read-modify-writes at 16 threads abort about 20 % of attempts this way
    // instead of 55 %). The leader still validates in commit order — against
    // plain writes, ranges and keys whose stripes collide or that a user
    // comparator calls equal — so the stripes are never what makes a commit
    // correct, only what keeps conflicting commits from overlapping.
    std::vector<uint32_t> stripes;
    stripes.reserve(txn->keys.size() + txn->keys_since.size());
    for (const std::string& key : txn->keys) {
      stripes.push_back(static_cast<uint32_t>(Hash64(key) % kCommitStripes));
    }
    for (const TxnValidation::TrackedKey& read : txn->keys_since) {
      stripes.push_back(static_cast<uint32_t>(Hash64(read.key) % kCommitStripes));
    }
    std::sort(stripes.begin(), stripes.end());
    stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
    std::call_once(commit_stripes_once_,
                   [this] { commit_stripes_ = std::make_unique<WordMutex[]>(kCommitStripes); });
    LockCommitStripes(stripes);
    s = ValidateTransactionNow(txn);
    if (s.ok()) {
      s = WriteImpl(options, batch, txn);
      if (s.ok()) stats_.txn_commits++;
      if (!s.ok() && txn->result.ok()) stats_.failed_writes++;
    }
    UnlockCommitStripes(stripes);
  }
  // Ended here, by the committing thread, not by the write leader: the
  // leader's work is the one part of a commit no other thread can share.
  EndTransactionView(view);
  return s;
}

void DBImpl::LockCommitStripes(const std::vector<uint32_t>& stripes) {
  bool waited = false;
  for (uint32_t i : stripes) {
    if (commit_stripes_[i].TryLock()) continue;
    if (!waited) stats_.txn_commit_waits++;  // counted before it sleeps
    waited = true;
    commit_stripes_[i].Lock();
  }
}

void DBImpl::UnlockCommitStripes(const std::vector<uint32_t>& stripes) {
  for (uint32_t i : stripes) commit_stripes_[i].Unlock();
}

Status DBImpl::WriteImpl(const WriteOptions& options, WriteBatch* batch, TxnValidation* txn,
                         bool range_deletion) {
  Writer w(batch, options.sync);
  w.txn = txn;
  w.range_deletion = range_deletion;
  InstrumentedMutexLock lock(&mu_);
  if (shutting_down_) return ClosedError();
  writers_.push_back(&w);
  std::vector<Writer*> done;  // woken once mu_ is released
  Writer* next_syncer = nullptr;
  if (&w != writers_.front()) {
    lock.Unlock();
    const uint32_t told = w.Await();
    if (told == Writer::kDone) return w.status;  // a leader wrote (or refused) it
    // A leader wrote it, and this thread is to sync it (and others).
    if (told == Writer::kSyncLeader) return SyncAsSyncer(&w);
    DCHECK_EQ(told, uint32_t{Writer::kLeader});
    lock.Lock();
  }

  // This thread leads its own group, then, while it has nothing to do but
  // wait for a sync somebody else runs, the groups queued behind it: their
  // writers sleep on, and the hand-over (a wake-up, a context switch and a
  // thread that must be scheduled before the queue moves) is saved for
  // every group so led. It stops as soon as it is told anything (its sync
  // is done, or it is to run the next one), at a writer without a batch and
  // when the next group would have to wait for room.
  bool self_waits = false;  // this thread's write waits for a sync
  bool run_sync = false;    // ... and this thread runs it
  while (true) {
    LeadGroup(&w, &done, &self_waits, &run_sync, &next_syncer);
    // An empty queue ends it before the lock is let go: a writer arriving
    // then would lead its own group. So does a sync this group claimed for
    // one of its writers: the sync this thread waited for ended while the
    // group was appended (releasing this thread's writer, woken by that
    // syncer), and the new syncer is woken at once, not after more groups.
    if (!self_waits || run_sync || next_syncer != nullptr || writers_.empty()) break;
    if (!done.empty()) {
      // The front writer stays queued (and asleep) while the lock is out:
      // only a leader takes writers off the queue, and a writer arriving
      // behind it does not lead.
      lock.Unlock();
      WakeWriters(done, nullptr, nullptr);
      done.clear();
      lock.Lock();
    }
    // Nor does it lead a group that must make room first (checked with mu_
    // held up to that group's MakeRoomForWrite, which then returns at once):
    // a full memtable means a new WAL, and SwitchToNewLog (like TryResume)
    // waits for the running sync — which may be handed to this very thread,
    // asleep there instead of syncing.
    DCHECK(!writers_.empty());
    if (writers_.front()->batch == nullptr ||
        w.state.load(std::memory_order_acquire) != Writer::kWaiting || !HasRoomForWrite()) {
      break;
    }
    stats_.write_groups_led_on++;
  }
  Writer* next_leader = writers_.empty() ? nullptr : writers_.front();
  lock.Unlock();
  WakeWriters(done, next_leader, next_syncer);
  if (!self_waits) return w.status;

  // Wait for the WAL sync, or run it.
  if (!run_sync) {
    const uint32_t told = w.Await();
    if (told == Writer::kDone) return w.status;
    DCHECK_EQ(told, uint32_t{Writer::kSyncLeader});
  }
  return SyncAsSyncer(&w);
}

// self claimed the sync or was handed it: runs it (RunSync) and wakes the
// writers it completed and the next syncer, without mu_.
Status DBImpl::SyncAsSyncer(Writer* self) {
  std::vector<Writer*> done;
  Writer* next_syncer = nullptr;
  Status s;
  {
    InstrumentedMutexLock lock(&mu_);
    s = RunSync(self, &done, &next_syncer);
  }
  WakeWriters(done, nullptr, next_syncer);
  return s;
}

// REQUIRES: mu_ held; writers_.front() is led by this thread (self is the
// thread's own writer, queued or not). Writes one group — the front
// writer's batch and the batches it takes along — and retires its writers:
// each gets its status; those that need no sync (or failed) are appended to
// *done, to be woken without mu_; sync writers join sync_waiters_ (*self_waits
// set if self is one). If the group needs a sync and none is claimed, this
// claims it: for this thread if self waits (*run_sync), else for the first
// sync writer of the group (*next_syncer), so that a leader without sync
// never waits for somebody else's fdatasync. Releases mu_ while appending.
void DBImpl::LeadGroup(Writer* self, std::vector<Writer*>* done, bool* self_waits, bool* run_sync,
                       Writer** next_syncer) {
  DCHECK(!writers_.empty());
  Writer* const leader = writers_.front();
  Status s = MakeRoomForWrite(/*force=*/leader->batch == nullptr);
  Writer* last_writer = leader;
  uint64_t log_number = mem_log_number_;
  uint64_t log_end = 0;
  WriteBatch* group = nullptr;
  if (s.ok() && leader->batch != nullptr) group = BuildBatchGroup(&last_writer);
  if (group != nullptr) {
    const SequenceNumber first_sequence = versions_->LastSequence() + 1;
    WriteBatchInternal::SetSequence(group, first_sequence);
    const uint32_t group_count = WriteBatchInternal::Count(group);
    DCHECK_GT(group_count, 0u);  // Write refuses empty batches
    const SequenceNumber last_sequence = first_sequence + group_count - 1;
    log::Writer* log = log_.get();
    WritableFile* file = logfile_.get();
    MemTable* mem = mem_.get();
    // Sequences only increase: the active memtable holds nothing as new as
    // this group (only the leader inserts, one group at a time).
    DCHECK(mem->Empty() || mem->LargestSequence() < first_sequence);
    log_number = mem_log_number_;

    // Only the leader touches the log writer and the active memtable, so the
    // WAL append and memtable insert run without the DB mutex.
    mu_.Unlock();
    // The memtable lines the first inserts write at random places load
    // while the WAL append runs (MemTable::PrefetchForAdd).
    WriteBatchInternal::PrefetchInsert(group, mem, /*max_ops=*/4);
    std::string_view record = WriteBatchInternal::Contents(group);
    s = log->AddRecord(record);
    if (s.ok()) s = file->Flush();
    if (s.ok()) s = WriteBatchInternal::InsertInto(group, mem);
    mu_.Lock();

    if (s.ok()) {
      // Nobody else moved the last sequence while the lock was released: the
      // leader is the only writer of sequences after Open.
      CHECK_EQ(versions_->LastSequence(), first_sequence - 1);
      DCHECK_EQ(mem->LargestSequence(), last_sequence);
      DCHECK_GE(log->file_size(), log_written_);  // the WAL only grows
      log_written_ = log->file_size();
      SetCommitSequences(last_writer, first_sequence);
      {
        // Recording and publishing under txn_mu_: a transaction registers
        // either before (and this group is recorded for it) or after (and
        // its start covers this group).
        SpinMutexLock txn_lock(&txn_mu_);
        if (tracker_.active()) {
          RecordGroupForTransactions(group, first_sequence);
          stats_.txn_expired += tracker_.ExpireOldestOver(options_.max_transaction_tracker_bytes);
        }
        versions_->SetLastSequence(last_sequence);  // now visible to readers
      }
      stats_.write_groups++;
      stats_.wal_bytes += record.size();
    } else {
      // The WAL may now end in part of this record: never append to it
      // again (TryResume starts a new one).
      log_poisoned_ = true;
      SetBackgroundError(s);
    }
    if (group == &group_batch_) group_batch_.Clear();
  }
  log_end = log_written_;

  // Retire the group. Non-sync writers are done now; sync writers wait in
  // sync_waiters_ for a WAL sync, which runs without holding the queue, so
  // the next group appends while this one syncs.
  const size_t waiting_before = sync_waiters_.size();
  bool self_in_group = false;  // self waits for a sync of this group
  while (true) {
    DCHECK(!writers_.empty());  // last_writer is still queued
    Writer* ready = writers_.front();
    writers_.pop_front();
    bool finished = true;
    if (ready->skipped) {
      ready->status = ready->txn->result;  // a conflict (or expiry): nothing was written
      if (ready->status.IsBusy()) stats_.txn_conflicts++;
    } else if (s.ok() && ready->sync) {
      // Written (s is ok only if the group was): wait for the WAL sync.
      ready->sync_log_number = log_number;
      ready->sync_offset = log_end;
      sync_waiters_.push_back(ready);
      finished = false;
      if (ready == self) self_in_group = *self_waits = true;
    } else {
      ready->status = s;
    }
    if (finished && ready != self) done->push_back(ready);
    stats_.writes++;
    if (ready == last_writer) break;
  }
  if (sync_waiters_.size() > waiting_before) {
    if (!sync_in_progress_) {
      // Nobody syncs (so nobody waits: see sync_waiters_): this group's
      // first sync writer does, this thread if it is one of them, so that a
      // leader without sync never waits for somebody else's fdatasync.
      DCHECK_EQ(waiting_before, size_t{0});
      sync_in_progress_ = true;
      if (self_in_group) {
        *run_sync = true;
      } else {
        *next_syncer = sync_waiters_.front();
      }
    } else if (sync_gathering_ && sync_waiters_.size() >= sync_population_) {
      sync_gather_cv_.Signal();  // the syncer waits for these (GatherSyncWaiters)
    }
  }
}

// Wakes, in this order, the writers done (told kDone: each one's status is
// set), the next leader of writers_ and the next syncer of sync_waiters_.
// Called without mu_: a woken leader or syncer takes it at once, and the
// futex wake-ups are system calls the critical section need not include.
void DBImpl::WakeWriters(const std::vector<Writer*>& done, Writer* next_leader,
                         Writer* next_syncer) {
  for (Writer* x : done) x->Wake(Writer::kDone);
  if (next_leader != nullptr) next_leader->Wake(Writer::kLeader);
  if (next_syncer != nullptr) next_syncer->Wake(Writer::kSyncLeader);
}

namespace {
// Adds the keys of batch to *keys (views into batch).
void AddBatchKeys(const WriteBatch* batch, GroupKeys* keys) {
  struct Collector : public WriteBatch::Handler {
    GroupKeys* keys;
    void Put(std::string_view key, std::string_view) override { keys->insert(key); }
    void Delete(std::string_view key) override { keys->insert(key); }
    // Never in a group with a transaction (BuildBatchGroup): nothing to
    // validate against.
    bool DeleteRange(std::string_view, std::string_view) override { return true; }
  } collector;
  collector.keys = keys;
  batch->Iterate(&collector).PermitUncheckedError();  // validated on entry
}
}  // namespace

// REQUIRES: mu_ held; writers_ non-empty with a real batch at the front.
// The group is the front writer and the followers whose batches fit; each
// transaction among them is validated in queue order against the tracker
// (every published write) and the members before it, and skipped on a
// conflict. Returns the batch of the members not skipped, nullptr if all
// were skipped.
WriteBatch* DBImpl::BuildBatchGroup(Writer** last_writer) {
  DCHECK(!writers_.empty());
  Writer* first = writers_.front();
  DCHECK(first->batch != nullptr);
  DCHECK(group_batch_.Count() == 0);  // the previous leader cleared the scratch batch
  size_t size = WriteBatchInternal::ByteSize(first->batch);
  size_t max_size = kMaxGroupBytes;
  if (size <= kSmallWriteBytes) max_size = size + kSmallWriteBytes;
  *last_writer = first;
  bool any_txn = first->txn != nullptr;
  bool any_range = first->range_deletion;
  auto end = writers_.begin() + 1;
  for (; end != writers_.end(); ++end) {
    Writer* w = *end;
    if (w->batch == nullptr) break;  // a Flush request leads its own group
    // A range deletion shares no group with a transaction's commit (whose
    // validation knows only the keys of the members before it).
    if ((w->range_deletion && any_txn) || (any_range && w->txn != nullptr)) break;
    any_range |= w->range_deletion;
    size += WriteBatchInternal::ByteSize(w->batch);
    if (size > max_size) break;
    any_txn |= w->txn != nullptr;
    *last_writer = w;
  }
  GroupKeys group_keys(ComparatorLess(icmp_.user_comparator()));  // written by members so far
  WriteBatch* result = nullptr;
  if (any_txn) {
    // One acquisition of txn_mu_ validates every transaction of the group.
    SpinMutexLock txn_lock(&txn_mu_);
    for (auto it = writers_.begin(); it != end; ++it) {
      Writer* w = *it;
      if (w->txn != nullptr) {
        w->txn->result = ValidateTransaction(tracker_, *w->txn, group_keys);
        if (!w->txn->result.ok()) {
          w->skipped = true;
          continue;
        }
      }
      // Only later members are checked against them.
      if (std::next(it) != end) AddBatchKeys(w->batch, &group_keys);
    }
  }
  for (auto it = writers_.begin(); it != end; ++it) {
    Writer* w = *it;
    if (w->skipped) continue;
    if (result == nullptr) {
      result = w->batch;
    } else {
      if (result != &group_batch_) {
        WriteBatchInternal::SetContents(&group_batch_, WriteBatchInternal::Contents(result))
            .PermitUncheckedError();
        result = &group_batch_;
      }
      WriteBatchInternal::Append(result, w->batch);
    }
  }
  // A group outgrows the limit only when its first batch alone does.
  DCHECK(result != &group_batch_ || WriteBatchInternal::ByteSize(result) <= max_size);
  return result;
}

// REQUIRES: mu_ held; group is about to be published from first_sequence.
void DBImpl::RecordGroupForTransactions(const WriteBatch* group, SequenceNumber first_sequence) {
  struct Recorder : public WriteBatch::Handler {
    ConflictTracker* tracker;
    SequenceNumber sequence;
    void Put(std::string_view key, std::string_view) override { tracker->Record(key, sequence++); }
    void Delete(std::string_view key) override { tracker->Record(key, sequence++); }
    bool DeleteRange(std::string_view begin, std::string_view end) override {
      tracker->RecordRange(begin, end, sequence++);
      return true;
    }
  } recorder;
  recorder.tracker = &tracker_;
  recorder.sequence = first_sequence;
  group->Iterate(&recorder).PermitUncheckedError();  // validated on entry
}

// REQUIRES: mu_ held; the group ending at last_writer was published from
// first_sequence. Sets each committed transaction's commit sequence.
void DBImpl::SetCommitSequences(Writer* last_writer, SequenceNumber first_sequence) {
  SequenceNumber next = first_sequence;
  for (Writer* x : writers_) {
    if (!x->skipped) {
      next += WriteBatchInternal::Count(x->batch);
      if (x->txn != nullptr) x->txn->commit_sequence = next - 1;
    }
    if (x == last_writer) break;
  }
}

// REQUIRES: mu_ held; this thread claimed the sync (sync_in_progress_) and
// self waits in sync_waiters_. Syncs the WAL once, after gathering the
// waiters expected soon; completes every waiter the sync made durable (all
// of them with the error if it failed or the DB is in an error state):
// self by the returned status, the others appended to *done with their
// status set; then hands the sync to the first waiter still uncovered
// (*next_syncer) or ends it. The caller wakes them without mu_.
Status DBImpl::RunSync(Writer* self, std::vector<Writer*>* done, Writer** next_syncer) {
  DCHECK(sync_in_progress_);
  DCHECK(!sync_waiters_.empty());
  Status s = bg_error_;
  if (s.ok()) {
    GatherSyncWaiters();
    const uint64_t target_log = mem_log_number_;
    const uint64_t target_offset = log_written_;
    WritableFile* file = logfile_.get();
    const auto start = std::chrono::steady_clock::now();
    mu_.Unlock();
    s = file->Sync();
    mu_.Lock();
    last_sync_end_ = std::chrono::steady_clock::now();
    last_sync_duration_ = last_sync_end_ - start;
    stats_.wal_syncs++;
    if (!s.ok()) {
      // What the kernel kept of the unsynced tail is unknown: the data is
      // made durable by flushing the memtable instead (TryResume).
      log_poisoned_ = true;
      SetBackgroundError(s);
    } else {
      // The log cannot have been replaced meanwhile (SwitchToNewLog waits
      // for the sync), and the synced position never passes what was
      // flushed to it.
      DCHECK_EQ(target_log, mem_log_number_);
      DCHECK(target_log >= synced_log_number_);
      DCHECK(target_offset <= log_written_);
      if (target_log > synced_log_number_ ||
          (target_log == synced_log_number_ && target_offset > synced_offset_)) {
        synced_log_number_ = target_log;
        synced_offset_ = target_offset;
      }
    }
  }
  // The waiters are in WAL order: those made durable are a prefix.
  size_t released = 0;
  bool self_released = false;
  while (!sync_waiters_.empty()) {
    Writer* x = sync_waiters_.front();
    const bool durable =
        synced_log_number_ > x->sync_log_number ||
        (synced_log_number_ == x->sync_log_number && synced_offset_ >= x->sync_offset);
    if (s.ok() && !durable) break;
    sync_waiters_.pop_front();
    released++;
    if (x == self) {
      self_released = true;
    } else {
      x->status = s;
      done->push_back(x);
    }
  }
  // Its group was in the log before the sync began, and the log is never
  // replaced while a waiter waits.
  CHECK(self_released);
  // As many sync writers may be back by the next sync (GatherSyncWaiters).
  sync_population_ = released + sync_waiters_.size();
  if (sync_waiters_.empty()) {
    sync_in_progress_ = false;
    sync_cv_.SignalAll();  // SwitchToNewLog, TryResume and Close wait for this
  } else {
    *next_syncer = sync_waiters_.front();  // the sync stays claimed: handed over
  }
  return s;
}

// REQUIRES: mu_ held, by the syncer. Sixteen threads that each wait for
// their sync write split into two cohorts that alternate: while one cohort's
// fdatasync runs, the other appends; a sync started the moment the previous
// one ends covers only the cohort that appended meanwhile, while the one it
// releases is still on its way back, so every fdatasync covers about half of
// the writers. The syncer therefore waits, briefly, until as many sync
// writers are in the WAL as the previous sync released or left waiting
// (sync_population_), for at most min(wal_sync_gather_micros, the previous
// sync's duration) counted from the previous sync's end: a thread released
// by that sync that writes again at once is back well within it, a
// population that has shrunk costs one such wait (the next sync expects
// only what it then finds), and a lone sync writer never waits (its own
// write is the whole population). Measured with the steady clock, not the
// Env's: a mock clock in tests must not stretch a wait that sleeps in real
// time.
void DBImpl::GatherSyncWaiters() {
  if (options_.wal_sync_gather_micros == 0 || sync_waiters_.size() >= sync_population_) return;
  const auto window = std::min<std::chrono::steady_clock::duration>(
      std::chrono::microseconds(options_.wal_sync_gather_micros), last_sync_duration_);
  const auto deadline = last_sync_end_ + window;
  auto now = std::chrono::steady_clock::now();
  const auto start = now;
  bool waited = false;
  while (now < deadline && sync_waiters_.size() < sync_population_ && bg_error_.ok() &&
         !shutting_down_) {
    waited = true;
    sync_gathering_ = true;
    sync_gather_cv_.WaitFor(&mu_, deadline - now);
    sync_gathering_ = false;
    now = std::chrono::steady_clock::now();
  }
  if (waited) {
    stats_.wal_sync_gathers++;
    stats_.wal_sync_gather_micros += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - start).count());
  }
}

// REQUIRES: the caller leads the writer queue.
// REQUIRES: mu_ held. True when MakeRoomForWrite(false) returns OK at once:
// no error state, no slowdown due, room in the active memtable. Its fast
// path, so the two cannot disagree.
bool DBImpl::HasRoomForWrite() const {
  if (!bg_error_.ok() || shutting_down_) return false;
  const size_t frozen_limit = static_cast<size_t>(options_.max_write_buffer_number - 1);
  if (versions_->NumLevelFiles(0) >= options_.level0_slowdown_writes_trigger ||
      (frozen_limit >= 2 && imm_.size() + 1 >= frozen_limit)) {
    return false;
  }
  return mem_->Empty() || (mem_->ApproximateMemoryUsage() <= options_.write_buffer_size &&
                           mem_->NumRangeTombstones() < kMaxMemTableRangeTombstones);
}

Status DBImpl::MakeRoomForWrite(bool force) {
  if (!force && HasRoomForWrite()) return Status::OK();
  bool allow_slowdown = !force;
  const size_t frozen_limit = static_cast<size_t>(options_.max_write_buffer_number - 1);
  while (true) {
    if (!bg_error_.ok()) {
      // A recoverable error clears here as soon as space allows (this
      // thread leads the queue, as TryResume requires).
      Status r = TryResume(/*ignore_backoff=*/false);
      if (!r.ok()) return r;
      continue;
    }
    if (shutting_down_) return ClosedError();
    const int l0_files = versions_->NumLevelFiles(0);
    if (allow_slowdown && (l0_files >= options_.level0_slowdown_writes_trigger ||
                           (frozen_limit >= 2 && imm_.size() + 1 >= frozen_limit))) {
      // The frozen queue is one short of full: slow this write down a little
      // so the flush can catch up before writers must stop.
      allow_slowdown = false;
      stats_.slowdown_count++;
      const uint64_t start = env_->NowMicros();
      mu_.Unlock();
      env_->SleepForMicroseconds(1000);
      mu_.Lock();
      stats_.stall_micros += env_->NowMicros() - start;
      continue;
    }
    // An empty memtable is never frozen: with a tiny write buffer its arena
    // alone may exceed the limit, and rotating it would loop.
    if (mem_->Empty()) return Status::OK();
    // A memtable's range tombstones are searched linearly by every read:
    // past kMaxMemTableRangeTombstones it is frozen as if full, and its flush
    // moves them into the version's fragmented (binary-searched) set.
    if (!force && mem_->ApproximateMemoryUsage() <= options_.write_buffer_size &&
        mem_->NumRangeTombstones() < kMaxMemTableRangeTombstones) {
      return Status::OK();
    }
    if (imm_.size() >= frozen_limit || l0_files >= options_.level0_stop_writes_trigger) {
      // Queue full or level 0 too deep: wait for the background work.
      // Nothing is ever dropped.
      stats_.stall_count++;
      const uint64_t start = env_->NowMicros();
      MaybeScheduleBackgroundWork();
      if (l0_files >= options_.level0_stop_writes_trigger && bg_compactions_running_ == 0 &&
          start < compaction_retry_micros_) {
        // Level 0 is full and compactions wait for free space: refuse this
        // write rather than stall it indefinitely (the DB stays writable).
        return Status::NoSpace(dbname_, "level 0 is full and compactions wait for free disk space");
      }
      bg_cv_.Wait(&mu_);
      stats_.stall_micros += env_->NowMicros() - start;
      continue;
    }
    Status s = SwitchToNewLog();
    if (!s.ok()) return s;
    force = false;
  }
}

// Freezes the active memtable and starts a new WAL file. The old log is
// synced first, so that after a power loss the recovered writes are always a
// prefix of the acknowledged ones, even across log files.
// REQUIRES: the caller leads the writer queue.
Status DBImpl::SwitchToNewLog() {
  while (sync_in_progress_) sync_cv_.Wait(&mu_);
  sync_in_progress_ = true;  // keeps syncers off the old file while it closes
  const uint64_t new_number = versions_->NewFileNumber();
  // WAL numbers increase: replay order at Open is file number order.
  CHECK_GT(new_number, mem_log_number_);
  const std::string new_name = LogFileName(dbname_, new_number);
  WritableFile* old_file = logfile_.get();
  std::unique_ptr<WritableFile> file;
  mu_.Unlock();
  Status s = env_->NewWritableFile(new_name, &file);
  if (s.ok()) ConfigureWalFile(file.get());
  if (s.ok()) s = env_->SyncDir(dbname_);
  if (s.ok()) s = old_file->Sync();
  if (s.ok()) s = old_file->Close();
  if (!s.ok() && file != nullptr) {
    file.reset();
    env_->RemoveFile(new_name).PermitUncheckedError();
  }
  mu_.Lock();
  sync_in_progress_ = false;
  sync_cv_.SignalAll();
  if (!s.ok()) {
    // The old WAL may be closed or its sync may have failed: replace it.
    log_poisoned_ = true;
    SetBackgroundError(s);
    return s;
  }
  DCHECK(!mem_->Empty());  // an empty memtable is never frozen (MakeRoomForWrite)
  DCHECK(imm_.empty() || imm_.back().log_number < mem_log_number_);
  imm_.push_back(FrozenMemTable{mem_, mem_log_number_});
  mem_ = NewMemTableForOptions();
  mem_log_number_ = new_number;
  logfile_ = std::move(file);
  log_ = std::make_unique<log::Writer>(logfile_.get(), new_number);
  log_written_ = 0;
  synced_log_number_ = new_number;
  synced_offset_ = 0;
  InstallView();
  MaybeScheduleBackgroundWork();
  return Status::OK();
}

void DBImpl::InstallView() {
  auto view = std::make_shared<ReadView>();
  view->mem = mem_;
  view->imm.reserve(imm_.size());
  for (auto it = imm_.rbegin(); it != imm_.rend(); ++it) view->imm.push_back(it->mem);
  view->version = versions_->current();
  StoreView(view);
}

namespace {

// The deleter of a view slot's pointer: owns one reference to the view for
// as long as the slot's pointer or a reader's copy of it lives. Cache-line
// aligned so that each slot's control block (which holds it) starts a line
// of its own and its reference counts share the line with no other slot's.
struct alignas(StripedCounter::kCacheLine) ViewSlotOwner {
  std::shared_ptr<const ReadView> view;
  void operator()(const ReadView*) const {}
};

}  // namespace

void DBImpl::StoreView(const std::shared_ptr<const ReadView>& view) {
  for (ViewSlot& slot : view_slots_) {
    std::shared_ptr<const ReadView> own;
    if (view != nullptr) own = std::shared_ptr<const ReadView>(view.get(), ViewSlotOwner{view});
    {
      SpinMutexLock guard(&slot.mu);
      slot.view.swap(own);
    }
    // own (the slot's previous pointer) is released here, outside the lock.
  }
}

class DBImpl::SnapshotImpl final : public Snapshot {
 public:
  explicit SnapshotImpl(SequenceNumber sequence) : sequence_(sequence) {}
  ~SnapshotImpl() override = default;
  SequenceNumber sequence() const { return sequence_; }

 private:
  const SequenceNumber sequence_;
};

SequenceNumber DBImpl::ReadSequence(const ReadOptions& options) const {
  if (options.snapshot != nullptr) {
    return static_cast<const SnapshotImpl*>(options.snapshot)->sequence();
  }
  return last_sequence_.load(std::memory_order_acquire);
}

const Snapshot* DBImpl::GetSnapshot() {
  if (closed_.load(std::memory_order_acquire)) return nullptr;
  InstrumentedMutexLock lock(&mu_);
  const SequenceNumber sequence = last_sequence_.load(std::memory_order_relaxed);
  snapshots_.insert(sequence);
  return new SnapshotImpl(sequence);
}

void DBImpl::ReleaseSnapshot(const Snapshot* snapshot) {
  if (snapshot == nullptr) return;
  const auto* impl = static_cast<const SnapshotImpl*>(snapshot);
  {
    InstrumentedMutexLock lock(&mu_);
    auto it = snapshots_.find(impl->sequence());
    if (it != snapshots_.end()) snapshots_.erase(it);
    // Range tombstones this snapshot predated may now have their data
    // reclaimed (PickRangeDeletionCompaction).
    if (!shutting_down_ && versions_ != nullptr &&
        !versions_->current()->range_tombstones().empty()) {
      MaybeScheduleBackgroundWork();
    }
  }
  delete impl;
}

Status DBImpl::BeginTransactionView(TransactionView* view) {
  if (closed_.load(std::memory_order_acquire)) return ClosedError();
  if (options_.wal_recovery_mode == WalRecoveryMode::kSkipAnyCorrupted) {
    return Status::InvalidArgument(
        "transactions need a prefix-keeping wal_recovery_mode",
        "the database was opened with kSkipAnyCorrupted, which could keep a transaction whose "
        "inputs a damaged log lost; open it with kPointInTime (or kTolerateCorruptedTail, "
        "kAbsoluteConsistency)");
  }
  const uint64_t now = env_->NowMicros();
  SpinMutexLock lock(&txn_mu_);
  // Under txn_mu_, which publishes sequences: every write after this
  // sequence is published later and so recorded for this transaction. The
  // snapshot is not in snapshots_: compactions keep what the registered
  // starts need (SnapshotBoundsLocked).
  const SequenceNumber sequence = last_sequence_.load(std::memory_order_acquire);
  view->snapshot = new SnapshotImpl(sequence);
  view->sequence = sequence;
  view->expired.store(false, std::memory_order_relaxed);
  view->handle = tracker_.Register(sequence, now, &view->expired);
  stats_.txn_begun++;
  return Status::OK();
}

Status DBImpl::ValidateTransactionNow(TxnValidation* txn) {
  SpinMutexLock lock(&txn_mu_);  // everything published so far is recorded
  txn->result = ValidateTransaction(tracker_, *txn, {});
  if (txn->result.IsBusy()) stats_.txn_conflicts++;
  return txn->result;
}

void DBImpl::RefreshTransactionView(TransactionView* view) {
  DCHECK(view->snapshot != nullptr);
  const SequenceNumber sequence = last_sequence_.load(std::memory_order_acquire);
  delete static_cast<const SnapshotImpl*>(view->snapshot);
  view->snapshot = new SnapshotImpl(sequence);
  view->sequence = sequence;
}

void DBImpl::EndTransactionView(TransactionView* view) {
  if (view->snapshot == nullptr) return;
  SpinMutexLock lock(&txn_mu_);
  // An expired view's registration is gone already.
  if (!view->expired.load(std::memory_order_relaxed)) tracker_.Unregister(view->handle);
  delete static_cast<const SnapshotImpl*>(view->snapshot);
  view->snapshot = nullptr;
}

std::unique_ptr<Iterator> DBImpl::NewIterator(const ReadOptions& options) {
  if (closed_.load(std::memory_order_acquire)) {
    return std::unique_ptr<Iterator>(NewEmptyIterator(ClosedError()));
  }
  // Sequence first, then the view (see Get).
  const SequenceNumber sequence = ReadSequence(options);
  std::shared_ptr<const ReadView> view = LoadView();
  if (view == nullptr) return std::unique_ptr<Iterator>(NewEmptyIterator(ClosedError()));

  const Comparator* ucmp = icmp_.user_comparator();
  auto outside_bounds = [&](const FileMetaData& f) {
    if (options.lower_bound && ucmp->Compare(ExtractUserKey(f.largest), *options.lower_bound) < 0) {
      return true;
    }
    return options.upper_bound &&
           ucmp->Compare(ExtractUserKey(f.smallest), *options.upper_bound) >= 0;
  };
  std::vector<std::unique_ptr<Iterator>> children;
  children.emplace_back(view->mem->NewIterator());
  for (const auto& imm : view->imm) children.emplace_back(imm->NewIterator());
  for (const FileRef& f : view->version->files(0)) {
    if (outside_bounds(*f)) continue;  // never opened
    children.emplace_back(table_cache_->NewIterator(options, f->number, f->file_size));
  }
  for (int level = 1; level < kNumLevels; level++) {
    const std::vector<FileRef>& files = view->version->files(level);
    if (files.empty()) continue;
    children.emplace_back(NewLevelIterator(table_cache_.get(), options, &icmp_, files));
  }
  Iterator* internal = NewMergingIterator(&icmp_, std::move(children));
  ReadSampler sampler;
  if (options_.read_compaction_bytes_per_seek != 0) {
    // The iterator outlives no DB (API contract) and its version is pinned by view.
    sampler = [this, version = view->version.get()](std::string_view ikey) {
      ReadCharge charge;
      if (version->RecordReadSample(ikey, &charge)) ChargeRead(charge);
    };
  }
  auto tombstones = ViewRangeTombstones(*view);
  // The iterator pins the view (memtables and table files) until the
  // internal iterator is gone, then purges what only it still held — held
  // by the DB iterator itself (keep_alive), not by a wrapper that would add
  // a virtual call to every Valid/Next/key/value of a scan.
  std::shared_ptr<const void> keep_alive(new std::shared_ptr<const ReadView>(std::move(view)),
                                         [this](const std::shared_ptr<const ReadView>* pinned) {
                                           delete pinned;
                                           PurgeObsoleteFilesIfNeeded();
                                         });
  return std::unique_ptr<Iterator>(NewDBIterator(ucmp, internal, sequence, options.lower_bound,
                                                 options.upper_bound, std::move(keep_alive),
                                                 std::move(sampler), std::move(tombstones)));
}

Status DBImpl::Get(const ReadOptions& options, std::string_view key, std::string* value) {
  if (closed_.load(std::memory_order_acquire)) return ClosedError();
  if (key.size() > options_.max_key_size) {
    return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                   " bytes exceeds max_key_size (" +
                                   std::to_string(options_.max_key_size) + " bytes)");
  }
  // Sequence first, then the view: every write at or below the sequence is
  // in a memtable of this view or in its version.
  const SequenceNumber sequence = ReadSequence(options);
  std::shared_ptr<const ReadView> view = LoadView();
  if (view == nullptr) return ClosedError();
  ViewRelease release{this, &view};  // on every return
  LookupKey lkey(key, sequence);
  // Range tombstones: the newest one visible that covers key. An entry
  // older than it is deleted.
  const SequenceNumber covering = NewestCoveringTombstone(*view, key, sequence);
  SequenceNumber found = 0;
  SequenceNumber* found_seq = covering == 0 ? nullptr : &found;
  auto decide = [&](Status s) {
    if (covering != 0 && found < covering) {
      value->clear();
      return Status::NotFound("");
    }
    return s;
  };
  Status s;
  if (view->mem->Get(lkey, value, &s, found_seq)) {
    stats_.memtable_hits++;
    return decide(s);
  }
  for (const auto& imm : view->imm) {
    if (imm->Get(lkey, value, &s, found_seq)) {
      stats_.memtable_hits++;
      return decide(s);
    }
  }
  ReadCharge charge;
  s = view->version->Get(options, lkey, value, &charge, found_seq);
  stats_.table_gets += static_cast<uint64_t>(charge.tables_read);
  if (charge.file != nullptr) ChargeRead(charge);
  if (s.ok() || s.IsNotFound()) return decide(s);
  return s;
}

SequenceNumber DBImpl::NewestCoveringTombstone(const ReadView& view, std::string_view key,
                                               SequenceNumber sequence) const {
  SequenceNumber newest = 0;
  const Comparator* ucmp = icmp_.user_comparator();
  auto scan = [&](const MemTable& mem) {
    if (mem.NumRangeTombstones() == 0) return;
    mem.ForEachRangeTombstone(
        [&](SequenceNumber seq, std::string_view begin, std::string_view end) {
          if (seq <= sequence && seq > newest && ucmp->Compare(begin, key) <= 0 &&
              ucmp->Compare(key, end) < 0) {
            newest = seq;
          }
        });
  };
  scan(*view.mem);
  for (const auto& imm : view.imm) scan(*imm);
  if (const RangeTombstoneSet* set = view.version->range_tombstone_set(); set != nullptr) {
    newest = std::max(newest, set->NewestCovering(key, sequence));
  }
  return newest;
}

std::vector<std::shared_ptr<const RangeTombstoneSet>> DBImpl::ViewRangeTombstones(
    const ReadView& view) const {
  std::vector<std::shared_ptr<const RangeTombstoneSet>> sets;
  // The version's set is shared (the view pins the version); the memtables'
  // few tombstones (kMaxMemTableRangeTombstones each) get a set of their own.
  if (const RangeTombstoneSet* flushed = view.version->range_tombstone_set(); flushed != nullptr) {
    sets.emplace_back(view.version, flushed);
  }
  size_t in_memtables = view.mem->NumRangeTombstones();
  for (const auto& imm : view.imm) in_memtables += imm->NumRangeTombstones();
  if (in_memtables == 0) return sets;
  std::vector<RangeTombstone> all;
  all.reserve(in_memtables);
  auto collect = [&](const MemTable& mem) {
    mem.ForEachRangeTombstone(
        [&](SequenceNumber seq, std::string_view begin, std::string_view end) {
          // An empty range (from a damaged WAL: DB::Write refuses them) deletes nothing.
          if (icmp_.user_comparator()->Compare(begin, end) >= 0) return;
          all.push_back(RangeTombstone{seq, std::string(begin), std::string(end)});
        });
  };
  collect(*view.mem);
  for (const auto& imm : view.imm) collect(*imm);
  if (!all.empty()) {
    sets.push_back(std::make_shared<const RangeTombstoneSet>(icmp_.user_comparator(), all));
  }
  return sets;
}

void DBImpl::ChargeRead(const ReadCharge& charge) {
  if (!charge.Apply()) return;
  InstrumentedMutexLock lock(&mu_);
  read_compaction_files_.emplace_back(charge.level, *charge.file);
  MaybeScheduleBackgroundWork();
}

Status DBImpl::Flush() {
  if (closed_.load(std::memory_order_acquire)) return ClosedError();
  uint64_t frozen_log = 0;
  {
    InstrumentedMutexLock lock(&mu_);
    frozen_log = mem_log_number_;
  }
  Status s = WriteImpl(WriteOptions(), nullptr, nullptr);  // freezes the memtable in queue order
  if (!s.ok()) return s;
  InstrumentedMutexLock lock(&mu_);
  MaybeScheduleBackgroundWork();
  while (bg_error_.ok() && !shutting_down_ && versions_->LogNumber() <= frozen_log &&
         !(imm_.empty() && mem_log_number_ == frozen_log)) {
    bg_cv_.Wait(&mu_);
  }
  if (!bg_error_.ok()) return bg_error_;
  if (shutting_down_) return ClosedError();
  return Status::OK();
}

size_t DBImpl::TEST_ImmutableCount() {
  InstrumentedMutexLock lock(&mu_);
  return imm_.size();
}

size_t DBImpl::TEST_QueuedWriters() {
  InstrumentedMutexLock lock(&mu_);
  return writers_.size();
}

Status DBImpl::TEST_WaitForBackgroundWork() {
  InstrumentedMutexLock lock(&mu_);
  while (bg_error_.ok() && (bg_flush_scheduled_ || bg_compactions_running_ > 0 ||
                            bg_purge_scheduled_ || !imm_.empty())) {
    MaybeScheduleBackgroundWork();
    bg_cv_.Wait(&mu_);
  }
  return bg_error_;
}

Status DBImpl::Resume() {
  if (closed_.load(std::memory_order_acquire)) return ClosedError();
  InstrumentedMutexLock lock(&mu_);
  if (shutting_down_) return ClosedError();
  return ResumeInWriterQueue(/*ignore_backoff=*/true);
}

// A writer without a batch: takes its turn like a write group, so that no
// group is in flight while the WAL is replaced.
Status DBImpl::ResumeInWriterQueue(bool ignore_backoff) {
  Writer w(nullptr, false);
  writers_.push_back(&w);
  if (&w != writers_.front()) {
    mu_.Unlock();
    const uint32_t told = w.Await();
    DCHECK_EQ(told, uint32_t{Writer::kLeader});  // nobody completes a writer without a batch
    mu_.Lock();
  }
  Status s = TryResume(ignore_backoff);
  DCHECK(writers_.front() == &w);
  writers_.pop_front();
  Writer* next_leader = writers_.empty() ? nullptr : writers_.front();
  if (next_leader != nullptr) {
    // Woken with mu_ held (this function's callers hold it throughout): the
    // new leader waits for it as it would on any leader's unlock.
    next_leader->Wake(Writer::kLeader);
  }
  return s;
}

Status DBImpl::Close() {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return Status::OK();
  Status result;
  InstrumentedMutexLock lock(&mu_);
  // Last chance to leave a recoverable error state: if space is back, the
  // memtables are flushed and Close succeeds.
  if (!bg_error_.ok() && bg_error_recoverable_) {
    ResumeInWriterQueue(/*ignore_backoff=*/true).PermitUncheckedError();
  }
  shutting_down_ = true;
  shutting_down_flag_.store(true, std::memory_order_release);
  // In-flight writers and syncs finish; new ones are refused.
  while (!writers_.empty() || sync_in_progress_ || bg_flush_scheduled_ ||
         bg_compactions_running_ > 0 || bg_purge_scheduled_ || recovery_thread_running_) {
    bg_cv_.SignalAll();
    if (sync_in_progress_) {
      sync_cv_.Wait(&mu_);
    } else {
      bg_cv_.WaitFor(&mu_, std::chrono::milliseconds(10));
    }
  }
  if (logfile_ != nullptr) {
    // Leave a complete, synced log: every acknowledged write is recoverable.
    Status s;
    if (bg_error_.ok() && !log_poisoned_) s = logfile_->Sync();
    Status c = logfile_->Close();
    if (log_poisoned_) c = Status::OK();  // its tail does not matter: the error is reported
    if (s.ok()) s = c;
    if (!s.ok() && bg_error_.ok()) result = s;
    log_.reset();
    logfile_.reset();
  }
  // A background error (e.g. a flush that failed while Close waited for it)
  // is reported here too, even if no write met it.
  if (result.ok() && !bg_error_.ok()) result = bg_error_;
  StoreView(nullptr);
  imm_.clear();
  mem_.reset();
  versions_.reset();
  lock.Unlock();
  if (db_lock_ != nullptr) {
    Status s = env_->UnlockFile(db_lock_);
    if (result.ok()) result = s;
    db_lock_ = nullptr;
  }
  return result;
}

}  // namespace lsmkv
