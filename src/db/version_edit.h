// VersionEdit: one change to the set of live files, as recorded in the
// MANIFEST (docs/format/manifest.md, "manifest format v1"). Applying the edits
// of a MANIFEST in order to an empty state yields the current version.
//
// FileMetaData describes one table file.
//
// Thread safety: not thread safe; a const VersionEdit may be read (encoded,
// printed) from several threads.
#ifndef LSMKV_DB_VERSION_EDIT_H_
#define LSMKV_DB_VERSION_EDIT_H_

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/dbformat.h"
#include "db/range_tombstones.h"
#include "lsmkv/status.h"
#include "table/table_cache.h"

namespace lsmkv {

// Levels 0 .. kNumLevels-1. Persisted in every MANIFEST: changing it is a
// format change.
inline constexpr int kNumLevels = 7;

// The newest VersionEdit encoding this code writes and reads. Version 2 adds
// the range tombstone records; an edit without them is written as version 1,
// so a database that never used DeleteRange stays readable by older builds.
inline constexpr uint32_t kVersionEditFormatVersion = 2;
inline constexpr uint32_t kVersionEditFormatVersionWithoutRangeTombstones = 1;

// A range tombstone of the version and the tables that may still hold
// entries it covers (it is retired when none is left).
struct RangeTombstoneRecord {
  RangeTombstone tombstone;
  std::vector<uint64_t> pending_files;  // ascending, distinct; never empty
};

struct FileMetaData {
  uint64_t number = 0;
  uint64_t file_size = 0;  // bytes
  std::string smallest;    // smallest internal key in the table
  std::string largest;     // largest internal key in the table
  SequenceNumber smallest_seqno = 0, largest_seqno = 0;
  uint64_t num_entries = 0, num_deletions = 0;
  // In memory only, never encoded: versions referencing this file, and
  // whether a compaction has picked it.
  int refs = 0;
  bool being_compacted = false;
  // In memory only: reads that had to look past this file (a point lookup
  // that consulted it and then another table, or a sampled iterator read
  // where it overlapped the key together with another file) it may still
  // cost before it is compacted (read-triggered compaction). Set by
  // VersionSet when the file joins a version; charged concurrently by
  // readers, hence atomic (copies take a snapshot of the value).
  struct SeekBudget {
    std::atomic<int64_t> remaining{0};
    SeekBudget() = default;
    SeekBudget(const SeekBudget& o) : remaining(o.remaining.load(std::memory_order_relaxed)) {}
    SeekBudget& operator=(const SeekBudget& o) {
      remaining.store(o.remaining.load(std::memory_order_relaxed), std::memory_order_relaxed);
      return *this;
    }
  };
  mutable SeekBudget allowed_seeks;
  // In memory only: the open table, pinned by the first point read that
  // found it while the table cache's pin budget allowed (TableCache::Get);
  // released with this object (a copy starts unpinned).
  mutable PinnedTable table;
};

class VersionEdit {
 public:
  VersionEdit() = default;

  // Forgets everything recorded so far.
  void Clear();

  // The name of the user comparator; a DB is never opened with another one.
  void SetComparatorName(std::string name);
  // WAL files with a number below log_number are no longer needed: their
  // contents are in tables the edits so far refer to.
  void SetLogNumber(uint64_t number);
  // The next number the shared file counter will hand out.
  void SetNextFileNumber(uint64_t number);
  // The sequence number of the last operation whose data the edits cover.
  // REQUIRES: seq <= kMaxSequenceNumber.
  void SetLastSequence(SequenceNumber seq);
  // Where the next compaction of level should start. Replaces any pointer
  // this edit already holds for level.
  // REQUIRES: 0 <= level < kNumLevels; internal_key is a valid internal key.
  void SetCompactPointer(int level, std::string internal_key);
  // Adds table f at level. Only the persisted fields of f are kept (refs and
  // being_compacted are reset).
  // REQUIRES: 0 <= level < kNumLevels; f.smallest and f.largest are valid
  // internal keys with f.smallest <= f.largest; f.smallest_seqno <=
  // f.largest_seqno <= kMaxSequenceNumber; f.num_deletions <= f.num_entries.
  void AddFile(int level, const FileMetaData& f);
  // Removes table number from level.
  // REQUIRES: 0 <= level < kNumLevels.
  void RemoveFile(int level, uint64_t number);

  // Range tombstones (persisted): records r in the version, replacing the
  // tombstone of the same sequence if there is one.
  // REQUIRES: begin < end; pending_files ascending, distinct, not empty.
  void PutRangeTombstone(RangeTombstoneRecord r);
  // Retires the tombstone of sequence seq.
  void RemoveRangeTombstone(SequenceNumber seq);
  const std::vector<RangeTombstoneRecord>& put_range_tombstones() const {
    return put_range_tombstones_;
  }
  const std::set<SequenceNumber>& removed_range_tombstones() const {
    return removed_range_tombstones_;
  }

  // In memory only, turned into the records above by VersionSet::LogAndApply
  // on the version current then:
  //  - a flush's new tombstones (from the memtable it wrote); the tables
  //    that may hold what they cover are computed then.
  void AddFlushedRangeTombstone(RangeTombstone t) { flushed_tombstones_.push_back(std::move(t)); }
  const std::vector<RangeTombstone>& flushed_range_tombstones() const {
    return flushed_tombstones_;
  }
  //  - what a compaction knew: the tombstones of the version it read
  //    (known), and per output table (by number) the known tombstones it kept
  //    covered entries of (a snapshot needed them). A tombstone it did not
  //    know is assumed to cover every output overlapping it.
  void SetCompactionTombstones(std::vector<SequenceNumber> known,
                               std::vector<std::pair<uint64_t, std::vector<SequenceNumber>>> kept) {
    has_compaction_tombstones_ = true;
    compaction_known_ = std::move(known);
    compaction_kept_ = std::move(kept);
  }
  bool has_compaction_tombstones() const { return has_compaction_tombstones_; }
  const std::vector<SequenceNumber>& compaction_known_tombstones() const {
    return compaction_known_;
  }
  const std::vector<std::pair<uint64_t, std::vector<SequenceNumber>>>& compaction_kept() const {
    return compaction_kept_;
  }

  bool has_comparator_name() const { return has_comparator_name_; }
  const std::string& comparator_name() const { return comparator_name_; }
  bool has_log_number() const { return has_log_number_; }
  uint64_t log_number() const { return log_number_; }
  bool has_next_file_number() const { return has_next_file_number_; }
  uint64_t next_file_number() const { return next_file_number_; }
  bool has_last_sequence() const { return has_last_sequence_; }
  SequenceNumber last_sequence() const { return last_sequence_; }
  // At most one entry per level, in the order they were first set.
  const std::vector<std::pair<int, std::string>>& compact_pointers() const {
    return compact_pointers_;
  }
  // (level, file) in the order they were added.
  const std::vector<std::pair<int, FileMetaData>>& new_files() const { return new_files_; }
  // (level, file number).
  const std::set<std::pair<int, uint64_t>>& deleted_files() const { return deleted_files_; }

  // Appends the encoding of this edit to *dst.
  void EncodeTo(std::string* dst) const;

  // Replaces the contents of this edit with the edit encoded in src (which
  // must be exactly one whole encoded edit). Returns NotSupported if src was
  // written with a newer format version, and Corruption with a message naming
  // the problem for any malformed input (unknown tag, truncated field, missing
  // or trailing data, level out of range, invalid internal key, smallest key
  // after largest in the internal key order of user comparator ucmp,
  // inconsistent counts, a field given twice). An edit naming another
  // comparator than ucmp's is decoded without the key order check (its order
  // is unknown here; the caller reports the mismatch). On error the edit is
  // left cleared. Never reads outside src and never allocates more than a
  // small multiple of src.size().
  Status DecodeFrom(std::string_view src, const Comparator* ucmp = BytewiseComparator());

  // A multi-line, human-readable rendering (binary bytes escaped as \xNN).
  std::string DebugString() const;

 private:
  // Helpers of DecodeFrom; on error they leave the edit partly filled.
  Status DecodeRecords(std::string_view input, const Comparator* ucmp);
  // icmp == nullptr: the key order is unknown (not checked).
  Status DecodeNewFile(std::string_view* input, const InternalKeyComparator* icmp);
  // ucmp == nullptr: the key order is unknown (not checked).
  Status DecodeRangeTombstone(std::string_view* input, const Comparator* ucmp);

  std::string comparator_name_;
  uint64_t log_number_ = 0;
  uint64_t next_file_number_ = 0;
  SequenceNumber last_sequence_ = 0;
  bool has_comparator_name_ = false;
  bool has_log_number_ = false;
  bool has_next_file_number_ = false;
  bool has_last_sequence_ = false;

  std::vector<std::pair<int, std::string>> compact_pointers_;
  std::vector<std::pair<int, FileMetaData>> new_files_;
  std::set<std::pair<int, uint64_t>> deleted_files_;
  std::vector<RangeTombstoneRecord> put_range_tombstones_;
  std::set<SequenceNumber> removed_range_tombstones_;

  std::vector<RangeTombstone> flushed_tombstones_;
  bool has_compaction_tombstones_ = false;
  std::vector<SequenceNumber> compaction_known_;
  std::vector<std::pair<uint64_t, std::vector<SequenceNumber>>> compaction_kept_;
};

}  // namespace lsmkv

#endif  // LSMKV_DB_VERSION_EDIT_H_
