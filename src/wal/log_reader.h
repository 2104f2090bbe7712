// log::Reader reads back the records of a file in the log format
// (log_format.h, docs/format/wal.md), for WAL replay and MANIFEST recovery.
//
// What the reader tells apart:
//  - complete records: returned by ReadRecord, byte for byte as written;
//  - the logical end of the log: the end of the file, an all-zero header
//    (pre-allocated space) or a fragment stamped with another log number
//    (stale data of an earlier use of the file) -- see EndReason();
//  - a torn tail: the log ends inside an incomplete record (a crash cut the
//    last write). Normal after a crash: not reported as corruption, but
//    visible through TornTail()/TornTailBytes();
//  - corruption before the end: reported to the Reporter with its offset and
//    the bytes dropped; the reader then resynchronises at record
//    granularity -- at the next complete fragment of this log whose checksum
//    is valid, found by a byte-by-byte scan of the damaged region (within
//    the block, then block by block) -- and goes on. Only the damaged
//    records are lost: fragments of a record whose start was lost (orphan
//    MIDDLE/LAST) are dropped and reported too. Whether to stop at the first
//    report is the caller's (recovery mode) decision;
//  - an I/O error: ReadRecord returns false and status() holds the error.
// A record is returned whole or not at all: when any fragment of a
// multi-fragment record is damaged, the whole record is dropped and reported.
//
// Thread safety: not thread safe.
#ifndef LSMKV_WAL_LOG_READER_H_
#define LSMKV_WAL_LOG_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "wal/log_format.h"

namespace lsmkv::log {

class Reader {
 public:
  // Receives each region the reader drops because it is damaged.
  class Reporter {
   public:
    virtual ~Reporter() = default;
    // bytes bytes starting at file offset offset were dropped. reason is a
    // Status::Corruption whose message names the file, the offset and the
    // fault (checksum mismatch, bad fragment length, unknown type, FIRST
    // without LAST, MIDDLE/LAST without FIRST, ...).
    virtual void Corruption(uint64_t offset, size_t bytes, const Status& reason) = 0;
  };

  // Why the last ReadRecord returned false (see EndReason()).
  enum class End {
    kEof,             // The file ended after a complete record (or was empty).
    kTornTail,        // The log ended inside an incomplete record.
    kZeroHeader,      // An all-zero header: pre-allocated, unwritten space.
    kStaleLogNumber,  // A valid fragment of another log number: stale data.
    kIOError,         // SequentialFile::Read failed; see status().
  };

  // Reads the log in *file from its start. *file must outlive the Reader.
  // reporter may be null (drops are then silent); if not, it must outlive
  // the Reader. With verify_checksums false, fragment checksums are only
  // checked where the reader must decide between stale data and damage (a
  // log number that differs from log_number); WAL and MANIFEST recovery
  // should pass true. log_number is the file's number (low 32 bits used);
  // file_name_for_reports prefixes every Corruption message.
  Reader(SequentialFile* file, Reporter* reporter, bool verify_checksums, uint64_t log_number,
         std::string file_name_for_reports);

  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  // Stores the next complete record in *record and returns true, or returns
  // false at the logical end of the log or on an I/O error (then status() is
  // not OK). Once it has returned false it keeps returning false.
  bool ReadRecord(std::string* record);

  // File offset of the first fragment of the record ReadRecord last
  // returned. 0 before the first record.
  uint64_t LastRecordOffset() const { return last_record_offset_; }
  // File offset just past the last fragment of that record. 0 before the
  // first record.
  uint64_t LastRecordEnd() const { return last_record_end_; }

  // OK, or the I/O error that stopped the reader.
  const Status& status() const { return status_; }

  // Meaningful once ReadRecord has returned false (kEof until then). If the
  // log ends while a record is incomplete, the reason is kTornTail whatever
  // marked the end (end of file, zero header or stale fragment).
  End EndReason() const { return end_reason_; }

  // True if the log ended inside an incomplete record.
  bool TornTail() const { return end_reason_ == End::kTornTail; }
  // With TornTail(): bytes from the end of the last record (or dropped
  // region) to the logical end of the log, i.e. what the cut record
  // occupied, including the zero trailer written before its first header.
  // 0 otherwise.
  uint64_t TornTailBytes() const { return torn_tail_bytes_; }
  // Once ReadRecord has returned false: the file offset where the log ended
  // (the end of the file, the zero header or the stale fragment; with
  // kIOError, the end of what was read). Bytes from there to the end of the
  // file belong to no record and are not reported. 0 before.
  uint64_t LogicalEnd() const { return done_ ? logical_end_ : 0; }

 private:
  enum class Kind { kFragment, kBad, kEnd };

  // The outcome of reading one fragment.
  struct Fragment {
    Kind kind = Kind::kEnd;
    RecordType type = kZeroType;
    std::string_view payload;  // Points into backing_store_; kFragment only.
    uint64_t offset = 0;       // File offset of the header (or of the damage).
    uint64_t end = 0;          // File offset just past it.
    const char* problem = "";  // kBad: what was wrong.
  };

  // Reads the next fragment. For kEnd, end_reason_ and logical_end_ are set.
  Fragment ReadFragment();
  // Refills buffer_ with the next block; false at end of file or on error.
  bool ReadBlock();
  // Returns true if the fragment at the front of buffer_ (header intact,
  // payload within buffer_) has a valid checksum for log number number.
  bool ChecksumMatches(uint32_t number, uint32_t length) const;
  static constexpr size_t kNotFound = static_cast<size_t>(-1);
  // Index in buffer_, at or after from, of the first complete fragment of
  // this log (known type, payload inside buffer_) whose checksum is valid;
  // kNotFound if there is none. The resync scan: one byte at a time, a
  // checksum computed only where type and log number are plausible. Also
  // decides torn tails: a genuinely torn write is the last thing in the
  // file, so a "torn" record with such a fragment inside its claimed extent
  // is damage (typically a corrupted length field), not a torn tail.
  size_t FindValidFragment(size_t from) const;
  // The kBad outcome for damage starting at file offset damage_offset:
  // drops buffer_ up to index next (a valid fragment, from
  // FindValidFragment) or, with kNotFound, to the end of the block.
  Fragment DropUntil(uint64_t damage_offset, size_t next, const char* problem);
  // Damage at the start of buffer_ (file offset damage_offset) with no valid
  // fragment after it in its block. If nothing but zeros (at least a
  // header's worth) follows the damaged bytes to the end of the file, it is
  // a write cut short over preallocated space: the end of the log, a torn
  // tail. Otherwise the damage is dropped up to the block's end, or through
  // the all-zero blocks after it up to the first block with data, where
  // parsing resumes.
  Fragment DamageWithoutResync(uint64_t damage_offset, const char* problem);
  void ReportDrop(uint64_t offset, uint64_t bytes, std::string_view problem);
  // Offset of the first byte of buffer_ in the file.
  uint64_t BufferOffset() const { return end_of_buffer_offset_ - buffer_.size(); }

  SequentialFile* const file_;
  Reporter* const reporter_;
  const bool verify_checksums_;
  const uint32_t log_number_;
  const std::string file_name_;
  // crc_seed_[t] = FragmentCrcSeed(t, log_number_).
  uint32_t crc_seed_[kMaxRecordType + 1];

  std::unique_ptr<char[]> backing_store_;  // One block.
  std::string_view buffer_;                // Unconsumed bytes of the block.
  uint64_t end_of_buffer_offset_ = 0;      // File offset just past buffer_.
  bool eof_ = false;                       // The last read was short.

  bool done_ = false;
  Status status_;
  End end_reason_ = End::kEof;
  uint64_t logical_end_ = 0;    // Set with kEnd: where the log ended.
  uint64_t accounted_end_ = 0;  // Past the last returned record or drop.
  uint64_t torn_tail_bytes_ = 0;
  uint64_t last_record_offset_ = 0;
  uint64_t last_record_end_ = 0;
};

}  // namespace lsmkv::log

#endif  // LSMKV_WAL_LOG_READER_H_
