// log::Writer appends records to a file in the log format (log_format.h,
// docs/format/wal.md). Used for the write-ahead log and for MANIFEST files.
//
// Thread safety: not thread safe; the owner serialises calls (the DB's write
// leader, or the VersionSet under its mutex).
#ifndef LSMKV_WAL_LOG_WRITER_H_
#define LSMKV_WAL_LOG_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "wal/log_format.h"

namespace lsmkv::log {

class Writer {
 public:
  // Writes a new log at the start of *dest, which must be empty. log_number
  // is the file's number; its low 32 bits are stamped into every fragment.
  // dest must outlive the Writer; the Writer does not close it.
  Writer(WritableFile* dest, uint64_t log_number);

  // Continues a log whose first dest_length bytes are already in *dest.
  // REQUIRES: dest_length is the end of the last complete record of a log
  // written with the same log_number (never the middle of a torn tail).
  Writer(WritableFile* dest, uint64_t log_number, uint64_t dest_length);

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends payload (any length, including 0) as one record, split into
  // fragments at block boundaries, with a single dest->Append of the
  // record's bytes. Does not Flush or Sync: the caller does that.
  //
  // On an Append error the file's tail is unknown (part of the record may
  // have been written), so the Writer becomes unusable: this call and every
  // later AddRecord return that same error without writing anything.
  Status AddRecord(std::string_view payload);

  // Bytes of the file accounted for: dest_length (or 0) plus every
  // successfully appended record, padding included.
  uint64_t file_size() const { return file_size_; }

 private:
  // Appends one fragment (header + n payload bytes) to record_buffer_.
  void EmitFragment(RecordType type, const char* data, size_t n);

  WritableFile* const dest_;
  const uint32_t log_number_;  // Low 32 bits of the file number.
  size_t block_offset_;        // Offset of the next byte within its block.
  uint64_t file_size_;
  // type_crc_[t] = FragmentCrcSeed(t, log_number_).
  uint32_t type_crc_[kMaxRecordType + 1];
  Status error_;               // First Append error; sticky.
  std::string record_buffer_;  // The bytes of the record being added.
};

}  // namespace lsmkv::log

#endif  // LSMKV_WAL_LOG_WRITER_H_
