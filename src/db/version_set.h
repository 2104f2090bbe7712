// Versions: which table files make up the database, per level.
//
// A Version is immutable once built and shared through std::shared_ptr: a
// reader or iterator that holds one keeps every file in it alive. Each
// FileMetaData is itself shared between the versions containing it; when the
// last version holding a file is gone the file is reported to ObsoleteFiles,
// and only then may it be deleted (durability protocol, invariant 4).
//
// VersionSet owns the current version and the MANIFEST. Thread safety: it
// has no lock of its own; its state is guarded by the DB mutex, which it is
// given at construction (mu_) and which LogAndApply releases during file I/O.
// Several LogAndApply calls may be in progress at once (the flush thread and
// every compaction thread commit edits): they are served one after the other
// (manifest_busy_), each edit built on the version the previous one installed.
//
// How `make tsa` checks it: the owner's pointer is PT_GUARDED_BY(the DB mutex)
// (DBImpl::versions_), so every call is checked to hold the mutex at the
// call site; inside, the fields are GUARDED_BY(mu_) and each public method
// starts with mu_->AssertHeld() to tell the analysis the caller's mutex is
// mu_ (the analysis cannot see that DBImpl::mu_ and versions_->mu_ are one
// object). Recover runs in Open before any other thread exists.
#ifndef LSMKV_DB_VERSION_SET_H_
#define LSMKV_DB_VERSION_SET_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/dbformat.h"
#include "db/version_edit.h"
#include "lsmkv/env.h"
#include "lsmkv/options.h"
#include "util/check.h"
#include "util/instrumented_mutex.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

class TableCache;
class InfoLog;
namespace log {
class Writer;
}

// Table files no version references any more. Thread safe.
// Add runs wherever the last reference to a file drops (any thread, with or
// without the DB mutex): mu_ is a leaf lock.
class ObsoleteFiles {
 public:
  void Add(uint64_t number) EXCLUDES(mu_);
  std::vector<uint64_t> Take() EXCLUDES(mu_);
  // True if Add ran since the last Take (a cheap check for readers).
  bool HasPending() const { return pending_.load(std::memory_order_acquire); }

 private:
  Mutex mu_;
  std::vector<uint64_t> numbers_ GUARDED_BY(mu_);
  std::atomic<bool> pending_{false};  // atomic: read without mu_ by HasPending
};

using FileRef = std::shared_ptr<const FileMetaData>;

// What a read cost, for read-triggered compaction: the tables consulted and,
// when the read had to look past one, that file (the one to charge).
struct ReadCharge {
  int tables_read = 0;
  // null: nothing to charge. Points into the version that made the charge,
  // so it is valid while that version is (a reader's view pins it); copied
  // (a shared reference) only when the charge uses up the file's budget, so
  // that concurrent readers do not all write the file's reference count.
  const FileRef* file = nullptr;
  int level = 0;  // file's level
  // Charges one read to file. True for the one call that uses up its budget
  // (the caller then schedules its compaction). Thread safe.
  bool Apply() const;
};

class Version {
 public:
  // Looks key up in the tables, level by level, newest data first.
  // Returns OK and sets *value, NotFound when the newest visible entry is a
  // deletion or nothing is found, or the error met (e.g. Corruption).
  // charge->tables_read counts the tables whose filter or blocks were
  // consulted; charge->file is the first of them if there were several.
  // *found_seq (if not null) receives the sequence of the entry that
  // decided the lookup (value or deletion).
  Status Get(const ReadOptions& options, const LookupKey& key, std::string* value,
             ReadCharge* charge, SequenceNumber* found_seq = nullptr) const;
  // For a sampled iterator read at internal_key: true, with charge->file the
  // newest file that covers the key, if at least two files cover it.
  bool RecordReadSample(std::string_view internal_key, ReadCharge* charge) const;

  const std::vector<FileRef>& files(int level) const { return files_[level]; }
  // The range tombstones flushed and not yet retired, ascending by sequence,
  // and the same cut into fragments for lookups (null if there are none).
  const std::vector<RangeTombstoneRecord>& range_tombstones() const { return range_tombstones_; }
  const RangeTombstoneSet* range_tombstone_set() const { return range_tombstone_set_.get(); }
  int NumFiles(int level) const { return static_cast<int>(files_[level].size()); }
  uint64_t LevelBytes(int level) const;
  // True if any file in level overlaps [smallest_user, largest_user].
  bool OverlapInLevel(int level, std::string_view smallest_user,
                      std::string_view largest_user) const;
  // "files[ 3 0 0 0 0 0 0 ]"
  std::string LevelSummary() const;

 private:
  friend class VersionSet;
  friend class VersionBuilder;
  friend class VersionTestPeer;  // db/version_testutil.h: versions built in memory for tests
  // Calls visit(file, level) for every file whose key range holds the user
  // key of internal_key, newest data first (level 0 newest file first, then
  // one file per deeper level), until visit returns true.
  template <typename Visitor>
  void ForEachFileCovering(std::string_view internal_key, Visitor&& visit) const;
  Version(TableCache* table_cache, const InternalKeyComparator* icmp)
      : table_cache_(table_cache), icmp_(icmp) {}

  TableCache* table_cache_;
  const InternalKeyComparator* icmp_;
  // Level 0: newest file first (files may overlap). Levels >= 1: sorted by
  // smallest key, never overlapping.
  std::vector<FileRef> files_[kNumLevels];
  std::vector<RangeTombstoneRecord> range_tombstones_;
  std::shared_ptr<const RangeTombstoneSet> range_tombstone_set_;
};

class VersionSet {
 public:
  // mu is the DB mutex that guards this set; last_sequence is the DB's
  // last-sequence counter (written only with mu held, read by anyone). Both
  // must outlive the set.
  VersionSet(std::string dbname, const Options* options, TableCache* table_cache,
             const InternalKeyComparator* icmp, InfoLog* info_log, InstrumentedMutex* mu,
             std::atomic<SequenceNumber>* last_sequence);
  ~VersionSet();
  VersionSet(const VersionSet&) = delete;
  VersionSet& operator=(const VersionSet&) = delete;

  // Writes the MANIFEST of a new, empty database and points CURRENT at it.
  static Status CreateNewDatabase(Env* env, const std::string& dbname,
                                  const InternalKeyComparator& icmp);

  // Reads CURRENT and the MANIFEST it names, and installs the version they
  // describe. Corruption naming the file if either is damaged. Runs in Open
  // before any other thread can reach the set (hence no mutex, and
  // NO_THREAD_SAFETY_ANALYSIS: the analysis cannot know that).
  Status Recover() NO_THREAD_SAFETY_ANALYSIS;

  // Applies edit to the current version, appends it to the MANIFEST (starting
  // a new MANIFEST with a full snapshot first if there is none open or the
  // current one is too large), syncs, and installs the result as current.
  // Fills in the edit's log number, next file number and last sequence.
  // REQUIRES: the DB mutex is held; it is released during I/O and held
  // again on return. On error nothing is installed and the MANIFEST must not
  // be used again (the DB enters its error state).
  // Concurrent callers are served one after the other.
  Status LogAndApply(VersionEdit* edit);

  // Every method below REQUIRES the DB mutex (checked at the caller through
  // DBImpl::versions_, see the top of this file).
  std::shared_ptr<Version> current() const {
    mu_->AssertHeld();
    return current_;
  }
  // current()->NumFiles(level) without copying the shared_ptr (two atomic
  // read-modify-writes on every write's room check).
  int NumLevelFiles(int level) const {
    mu_->AssertHeld();
    return current_->NumFiles(level);
  }
  // Immutable: no lock needed.
  std::shared_ptr<ObsoleteFiles> obsolete_files() const { return obsolete_; }

  uint64_t NewFileNumber() {
    mu_->AssertHeld();
    return next_file_number_++;
  }
  // Ensures NewFileNumber never returns number or anything below it.
  void MarkFileNumberUsed(uint64_t number) {
    mu_->AssertHeld();
    if (next_file_number_ <= number) next_file_number_ = number + 1;
  }
  uint64_t NextFileNumber() const {
    mu_->AssertHeld();
    return next_file_number_;
  }
  // True after a MANIFEST write failed, until a later LogAndApply succeeds
  // (which starts a new MANIFEST). Meanwhile the failed edit may or may not
  // be on disk, so files it added or removed must be neither deleted nor
  // trusted: the DB deletes nothing until this clears.
  bool ManifestWriteFailed() const {
    mu_->AssertHeld();
    return manifest_write_failed_;
  }
  uint64_t ManifestFileNumber() const {
    mu_->AssertHeld();
    return manifest_file_number_;
  }
  // WAL files numbered below this hold nothing that is not in tables.
  uint64_t LogNumber() const {
    mu_->AssertHeld();
    return log_number_;
  }

  // The DB's last sequence (atomic: LastSequence needs no lock).
  SequenceNumber LastSequence() const { return last_sequence_->load(std::memory_order_acquire); }
  // Sequence numbers are never reused: the last one only grows (Recover
  // sets it before anything else reads it).
  void SetLastSequence(SequenceNumber s) {
    mu_->AssertHeld();
    DCHECK_GE(s, LastSequence());
    last_sequence_->store(s, std::memory_order_release);
  }

  // MANIFEST files replaced by a newer one since the last call (to delete).
  std::vector<uint64_t> TakeObsoleteManifests() {
    mu_->AssertHeld();
    std::vector<uint64_t> r;
    r.swap(obsolete_manifests_);
    return r;
  }

  // Adds the number of every file of the current version to *live.
  void AddLiveFiles(std::set<uint64_t>* live) const;

 private:
  friend class VersionBuilder;
  // Encodes the whole current state as one edit (start of a new MANIFEST).
  void WriteSnapshot(VersionEdit* edit) const REQUIRES(mu_);
  // Immutable state only (options_, obsolete_): no lock needed.
  FileRef MakeFileRef(const FileMetaData& meta);
  // LogAndApply's work, with the MANIFEST reserved for this caller.
  Status LogAndApplyExclusive(VersionEdit* edit) REQUIRES(mu_);
  // Turns edit's in-memory range tombstone information (a flush's new
  // tombstones, a compaction's knowledge) into the persisted records, against
  // the current version: which tables may still hold entries each tombstone
  // covers, and which tombstones are retired because none can.
  void ResolveRangeTombstones(VersionEdit* edit) const REQUIRES(mu_);

  // Immutable after construction.
  Env* const env_;
  const std::string dbname_;
  const Options* const options_;
  TableCache* const table_cache_;
  const InternalKeyComparator* const icmp_;
  InfoLog* const info_log_;
  const std::shared_ptr<ObsoleteFiles> obsolete_;
  InstrumentedMutex* const mu_;  // the DB mutex
  std::atomic<SequenceNumber>* const last_sequence_;

  uint64_t next_file_number_ GUARDED_BY(mu_) = 2;
  uint64_t manifest_file_number_ GUARDED_BY(mu_) = 0;
  uint64_t log_number_ GUARDED_BY(mu_) = 0;
  std::string compact_pointer_[kNumLevels] GUARDED_BY(mu_);

  // The open MANIFEST. The pointers are guarded; the objects are written
  // without mu_ only by the LogAndApply that holds manifest_busy_.
  std::unique_ptr<WritableFile> manifest_file_ GUARDED_BY(mu_);
  std::unique_ptr<log::Writer> manifest_log_ GUARDED_BY(mu_);
  uint64_t manifest_size_ GUARDED_BY(mu_) = 0;
  bool manifest_write_failed_ GUARDED_BY(mu_) = false;  // see ManifestWriteFailed
  std::vector<uint64_t> obsolete_manifests_ GUARDED_BY(mu_);
  std::shared_ptr<Version> current_ GUARDED_BY(mu_);
  // A LogAndApply is writing the MANIFEST; others wait on manifest_cv_.
  bool manifest_busy_ GUARDED_BY(mu_) = false;
  InstrumentedCondVar manifest_cv_;
};

}  // namespace lsmkv

#endif  // LSMKV_DB_VERSION_SET_H_
