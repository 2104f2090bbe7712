// log::BatchReader reads a sequence of write-ahead logs, oldest first, and
// turns them into one ordered stream of events: each record that is a valid
// write batch, and each piece of damage, typed and placed. It is the only
// code that decides what counts as damage in a WAL; its users -- recovery at
// Open (db/db_open.cc), verify, repair and dump (admin/) -- are policies over
// the stream that decide what to do with each event (apply, drop, stop, fail,
// print, count). docs/format/wal.md describes the format and the damage.
//
// For each log, in the order given:
//
//   kLogUnreadable                      the file could not be opened; or
//   kLogStart
//     ( kDropped | kHole? (kBatch | kBadBatch) )*
//     kTornTail?
//   kLogEnd
//
// kDropped regions come before the record that follows them; kHole (at most
// once per torn tail) comes right before the first record of a later log.
// Positions are file offsets in the log named by the event. Every byte of a
// log is accounted for by its events: the records' extents [offset,
// limit), the dropped regions, the torn tail, and from kLogEnd's offset (the
// logical end) to the end of the file -- except block trailers (fewer than
// log::kHeaderSize bytes before a block boundary), which carry no data.
//
// Thread safety: not thread safe.
#ifndef LSMKV_WAL_BATCH_READER_H_
#define LSMKV_WAL_BATCH_READER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/dbformat.h"
#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "wal/log_reader.h"

namespace lsmkv::log {

// One write-ahead log to read.
struct WalFile {
  uint64_t number = 0;  // The file number, stamped in every fragment.
  std::string path;     // Opened through the Env; names the log in reports.
};

struct WalEvent {
  enum class Type {
    // The log was opened; its records follow.
    kLogStart,
    // The log could not be opened: status. Nothing else of it follows.
    kLogUnreadable,
    // A complete record that is a valid write batch: [offset, limit) is the
    // record in the file, record its contents (bytes = record.size()),
    // sequence and count its header.
    kBatch,
    // A damaged region log::Reader dropped: bytes bytes at offset; status is
    // its Corruption, naming the file, the offset and the fault.
    kDropped,
    // A complete, checksum-valid record that is not a valid write batch
    // (batch_format::ValidateRecord): [offset, limit), record and bytes as for
    // kBatch; status says what is wrong with it.
    kBadBatch,
    // The log ends inside a record (a write cut by a crash): bytes bytes from
    // offset to limit, the logical end of the log.
    kTornTail,
    // An earlier log, hole_path (number hole_log_number), ended with a torn
    // tail of bytes bytes, and this log holds a record: the cut write was not
    // the last one, so history has a hole. Comes before that record.
    kHole,
    // The log ended: end says how, at offset (log::Reader::LogicalEnd());
    // status is OK or the read error that stopped the reader (end kIOError).
    kLogEnd,
  };

  Type type = Type::kLogEnd;
  uint64_t log_number = 0;
  std::string_view path;  // The log's path; valid as long as the reader.
  uint64_t offset = 0;
  uint64_t limit = 0;
  uint64_t bytes = 0;
  // kBatch, kBadBatch: valid until the next call of BatchReader::Next.
  std::string_view record;
  SequenceNumber sequence = 0;  // kBatch: the first operation's sequence.
  uint32_t count = 0;           // kBatch: the number of operations (may be 0).
  Status status;
  Reader::End end = Reader::End::kEof;  // kLogEnd.
  std::string_view hole_path;           // kHole.
  uint64_t hole_log_number = 0;         // kHole.
};

// A short name for a type ("batch", "dropped", ...), for messages and tests.
const char* WalEventTypeName(WalEvent::Type type);

class BatchReader {
 public:
  // Reads logs in the order given (the order they were written: ascending
  // numbers) through env, which must outlive the reader. Checksums are
  // always verified: this is for recovery and the tools.
  BatchReader(Env* env, std::vector<WalFile> logs);
  // Reads the WALs numbered log_numbers (ascending) of database dbname.
  BatchReader(Env* env, const std::string& dbname, const std::vector<uint64_t>& log_numbers);

  BatchReader(const BatchReader&) = delete;
  BatchReader& operator=(const BatchReader&) = delete;
  ~BatchReader();

  // Stores the next event in *event and returns true, or returns false once
  // every log has ended. A log that cannot be opened or stops on a read
  // error ends with its event (kLogUnreadable, or kLogEnd with the error);
  // reading goes on with the next log if the caller calls Next again.
  bool Next(WalEvent* event);

 private:
  // Where Next resumes. Damage reported by log::Reader while it read up to
  // a record (or the end) is queued in drops_ and always emitted first.
  enum class Step { kOpen, kRead, kHole, kRecord, kTornTail, kLogEnd };

  class DropQueue : public Reader::Reporter {
   public:
    struct Drop {
      uint64_t offset;
      uint64_t bytes;
      Status reason;
    };
    void Corruption(uint64_t offset, size_t bytes, const Status& reason) override {
      drops.push_back(Drop{offset, bytes, reason});
    }
    std::deque<Drop> drops;
  };

  Env* const env_;
  const std::vector<WalFile> logs_;
  size_t current_ = 0;  // Index in logs_ of the log being read.
  Step step_ = Step::kOpen;
  std::unique_ptr<SequentialFile> file_;
  std::unique_ptr<Reader> reader_;  // Reads *file_; reports to drops_.
  DropQueue drops_;
  std::string record_;  // The record ReadRecord returned last.

  // The last log that ended with a torn tail and has not yet been followed
  // by a record: index in logs_ and the torn bytes. hole_log_ == kNoHole:
  // none.
  static constexpr size_t kNoHole = static_cast<size_t>(-1);
  size_t hole_log_ = kNoHole;
  uint64_t hole_bytes_ = 0;
};

}  // namespace lsmkv::log

#endif  // LSMKV_WAL_BATCH_READER_H_
