// Helpers for the log tests (header only; included by src/wal/*_test.cc):
// string-backed files, a recording Reporter, a writer that remembers where
// each record went, an independent fragment encoder and a layout parser.
#ifndef LSMKV_WAL_LOG_TESTUTIL_H_
#define LSMKV_WAL_LOG_TESTUTIL_H_

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace lsmkv::log::logtest {

// A WritableFile appending to a string. Append number fail_from_append
// (1-based) and every later one fail with an IOError.
class StringDest : public WritableFile {
 public:
  Status Append(std::string_view data) override {
    appends_++;
    if (fail_from_append_ > 0 && appends_ >= fail_from_append_) {
      return Status::IOError("injected append failure", std::to_string(appends_));
    }
    contents_.append(data.data(), data.size());
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }

  std::string contents_;
  int appends_ = 0;
  int fail_from_append_ = 0;
};

// A SequentialFile over a string (not copied: it must outlive the source).
// With copy_to_scratch, reads copy into the caller's scratch; otherwise the
// result points into the string. Read number fail_at_read (1-based) fails.
class StringSource : public SequentialFile {
 public:
  explicit StringSource(std::string_view data, bool copy_to_scratch = true)
      : data_(data), copy_to_scratch_(copy_to_scratch) {}

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    reads_++;
    if (fail_at_read_ > 0 && reads_ == fail_at_read_) {
      *result = {};
      return Status::IOError("injected read failure");
    }
    const size_t k = std::min(n, data_.size() - pos_);
    if (copy_to_scratch_) {
      if (k > 0) std::memcpy(scratch, data_.data() + pos_, k);
      *result = std::string_view(scratch, k);
    } else {
      *result = data_.substr(pos_, k);
    }
    pos_ += k;
    return Status::OK();
  }
  Status Skip(uint64_t n) override {
    pos_ += static_cast<size_t>(std::min<uint64_t>(n, data_.size() - pos_));
    return Status::OK();
  }

  int reads_ = 0;
  int fail_at_read_ = 0;

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool copy_to_scratch_;
};

struct Report {
  uint64_t offset;
  size_t bytes;
  Status reason;
};

class RecordingReporter : public Reader::Reporter {
 public:
  void Corruption(uint64_t offset, size_t bytes, const Status& reason) override {
    reports_.push_back(Report{offset, bytes, reason});
  }
  std::vector<Report> reports_;
};

struct ReadResult {
  std::vector<std::string> records;
  std::vector<uint64_t> offsets;  // LastRecordOffset() after each record.
  std::vector<Report> reports;
  Reader::End end = Reader::End::kEof;
  bool torn = false;
  uint64_t torn_bytes = 0;
  Status status;

  uint64_t ReportedBytes() const {
    uint64_t sum = 0;
    for (const Report& r : reports) sum += r.bytes;
    return sum;
  }
};

inline constexpr const char* kTestFileName = "000007.log";

inline ReadResult ReadLog(std::string_view file, uint64_t log_number, bool verify_checksums = true,
                          bool copy_to_scratch = true) {
  StringSource source(file, copy_to_scratch);
  RecordingReporter reporter;
  Reader reader(&source, &reporter, verify_checksums, log_number, kTestFileName);
  ReadResult result;
  std::string record;
  while (reader.ReadRecord(&record)) {
    result.records.push_back(record);
    result.offsets.push_back(reader.LastRecordOffset());
  }
  // Once false, always false.
  if (reader.ReadRecord(&record)) result.records.push_back("<read after end>");
  result.reports = std::move(reporter.reports_);
  result.end = reader.EndReason();
  result.torn = reader.TornTail();
  result.torn_bytes = reader.TornTailBytes();
  result.status = reader.status();
  return result;
}

// Where AddRecord put a record: [append_start, end) is the Append (trailer
// padding included), header_start is its first fragment's header.
struct WrittenRecord {
  std::string payload;
  uint64_t append_start;
  uint64_t header_start;
  uint64_t end;
};

// Writes records with a log::Writer and remembers their extents.
class LogBuilder {
 public:
  explicit LogBuilder(uint64_t log_number) : writer_(&dest_, log_number) {}

  void Add(std::string_view payload) {
    const uint64_t start = dest_.contents_.size();
    Status s = writer_.AddRecord(payload);
    if (!s.ok()) std::abort();  // StringDest never fails unless told to.
    uint64_t header = start;
    if (kBlockSize - header % kBlockSize < kHeaderSize) header += kBlockSize - header % kBlockSize;
    records_.push_back(WrittenRecord{std::string(payload), start, header, dest_.contents_.size()});
  }
  // Adds a record of n bytes (of value fill) ending exactly gap bytes before
  // the end of the current block.
  // REQUIRES: the current block has room for a header, a fragment and gap.
  void AddEndingBefore(size_t gap, char fill) {
    const size_t offset = dest_.contents_.size() % kBlockSize;
    if (offset + kHeaderSize + gap > kBlockSize) std::abort();
    Add(std::string(kBlockSize - offset - kHeaderSize - gap, fill));
  }

  const std::string& contents() const { return dest_.contents_; }
  const std::vector<WrittenRecord>& records() const { return records_; }
  std::vector<std::string> payloads() const {
    std::vector<std::string> v;
    for (const WrittenRecord& r : records_) v.push_back(r.payload);
    return v;
  }

 private:
  StringDest dest_;
  Writer writer_;
  std::vector<WrittenRecord> records_;
};

// Encodes one fragment from the format's definition, independently of
// log::Writer: crc32c over type, log number, length and payload, masked.
inline std::string EncodeFragment(uint8_t type, std::string_view payload, uint32_t log_number,
                                  size_t length_field) {
  std::string covered;
  covered.push_back(static_cast<char>(type));
  PutFixed32(&covered, log_number);
  covered.push_back(static_cast<char>(length_field & 0xff));
  covered.push_back(static_cast<char>((length_field >> 8) & 0xff));
  covered.append(payload.data(), payload.size());
  std::string out;
  PutFixed32(&out, crc32c::Mask(crc32c::Value(covered.data(), covered.size())));
  out.append(covered, 5, 2);  // length
  out.push_back(static_cast<char>(type));
  PutFixed32(&out, log_number);
  out.append(payload.data(), payload.size());
  return out;
}
inline std::string EncodeFragment(uint8_t type, std::string_view payload, uint32_t log_number) {
  return EncodeFragment(type, payload, log_number, payload.size());
}

struct PhysicalFragment {
  uint64_t offset;  // Of the header.
  uint8_t type;
  uint32_t length;  // Of the payload.
  uint32_t log_number;
  uint64_t end() const { return offset + kHeaderSize + length; }
};
struct Layout {
  std::vector<PhysicalFragment> fragments;
  std::vector<std::pair<uint64_t, uint64_t>> trailers;  // [begin, end)
};

// Walks an intact log's physical structure (no checksum checks).
inline Layout ParseLayout(std::string_view file) {
  Layout layout;
  uint64_t pos = 0;
  while (pos < file.size()) {
    const uint64_t room = kBlockSize - pos % kBlockSize;
    if (room < kHeaderSize) {
      layout.trailers.emplace_back(pos, std::min<uint64_t>(pos + room, file.size()));
      pos += room;
      continue;
    }
    if (file.size() - pos < kHeaderSize) break;
    const char* h = file.data() + pos;
    PhysicalFragment f;
    f.offset = pos;
    f.length = static_cast<uint8_t>(h[kLengthOffset]) |
               (static_cast<uint32_t>(static_cast<uint8_t>(h[kLengthOffset + 1])) << 8);
    f.type = static_cast<uint8_t>(h[kTypeOffset]);
    f.log_number = DecodeFixed32(h + kLogNumberOffset);
    layout.fragments.push_back(f);
    pos = f.end();
  }
  return layout;
}

}  // namespace lsmkv::log::logtest

#endif  // LSMKV_WAL_LOG_TESTUTIL_H_
