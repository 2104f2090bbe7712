// Fuzzes log::Reader (src/wal/log_reader.h) with arbitrary bytes as a log
// file, with and without checksum verification. Invariants:
//  - the reader never fails with an I/O error on an in-memory file, and once
//    ReadRecord has returned false it keeps returning false;
//  - record offsets increase and lie in the file; every reported drop lies
//    in the file; TornTail() agrees with EndReason(), TornTailBytes() is 0
//    unless the tail is torn and never exceeds the file;
//  - the records read back, written again by log::Writer, read back
//    identically with no drop and a clean end (the reader and writer agree);
//  - log::BatchReader (src/wal/batch_reader.h) over the input, as one log and
//    split in two logs: its events come in order and account for every byte
//    (records, drops and the torn tail tile the log but for block trailers,
//    up to the logical end), its records are log::Reader's, a kBatch exactly
//    when the record is a valid write batch, and a hole is reported exactly
//    when the first log is torn and the second holds a record.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/write_batch_format.h"
#include "fuzz/fuzz_util.h"
#include "wal/batch_reader.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace {

using lsmkv::Status;
using lsmkv::fuzz::StringSequentialFile;
using lsmkv::fuzz::StringWritableFile;
using lsmkv::log::BatchReader;
using lsmkv::log::Reader;
using lsmkv::log::WalEvent;
using lsmkv::log::WalFile;

// The log number the seed corpus (fuzz/make_corpus.cc) is written with.
constexpr uint64_t kLogNumber = 7;
// Bounds the work per input (the fuzzer's inputs are small anyway).
constexpr int kMaxRecords = 100000;

class CheckingReporter final : public Reader::Reporter {
 public:
  explicit CheckingReporter(uint64_t file_size) : file_size_(file_size) {}
  void Corruption(uint64_t offset, size_t bytes, const Status& reason) override {
    FUZZ_CHECK(reason.IsCorruption(), "a drop is reported as Corruption");
    FUZZ_CHECK(offset <= file_size_ && bytes <= file_size_ - offset, "a drop lies in the file");
    drops_++;
  }
  int drops() const { return drops_; }

 private:
  const uint64_t file_size_;
  int drops_ = 0;
};

std::vector<std::string> ReadAll(std::string_view data, bool verify_checksums,
                                 CheckingReporter* reporter, Reader::End* end) {
  StringSequentialFile file(data);
  Reader reader(&file, reporter, verify_checksums, kLogNumber, "fuzz.log");
  std::vector<std::string> records;
  std::string record;
  uint64_t previous_offset = 0;
  while (static_cast<int>(records.size()) < kMaxRecords && reader.ReadRecord(&record)) {
    const uint64_t offset = reader.LastRecordOffset();
    FUZZ_CHECK(records.empty() || offset > previous_offset, "record offsets increase");
    FUZZ_CHECK(offset < data.size() || (data.empty() && offset == 0), "record offset in file");
    FUZZ_CHECK(record.size() <= data.size(), "a record is no larger than the file");
    previous_offset = offset;
    records.push_back(record);
  }
  if (static_cast<int>(records.size()) == kMaxRecords) {
    *end = Reader::End::kEof;
    return records;
  }
  FUZZ_CHECK(reader.status().ok(), "no I/O error on an in-memory file");
  FUZZ_CHECK(!reader.ReadRecord(&record), "ReadRecord keeps returning false");
  FUZZ_CHECK(reader.EndReason() != Reader::End::kIOError, "no I/O error end");
  FUZZ_CHECK(reader.TornTail() == (reader.EndReason() == Reader::End::kTornTail),
             "TornTail agrees with EndReason");
  FUZZ_CHECK(reader.TornTail() || reader.TornTailBytes() == 0, "torn bytes only with a torn tail");
  FUZZ_CHECK(reader.TornTailBytes() <= data.size(), "torn tail lies in the file");
  *end = reader.EndReason();
  return records;
}

void CheckRoundTrip(const std::vector<std::string>& records) {
  std::string rewritten;
  StringWritableFile sink(&rewritten);
  lsmkv::log::Writer writer(&sink, kLogNumber);
  for (const std::string& record : records) {
    FUZZ_CHECK(writer.AddRecord(record).ok(), "writing to a string cannot fail");
  }
  CheckingReporter reporter(rewritten.size());
  Reader::End end;
  const std::vector<std::string> again = ReadAll(rewritten, true, &reporter, &end);
  FUZZ_CHECK(again == records, "rewritten records read back identically");
  FUZZ_CHECK(reporter.drops() == 0, "a freshly written log has no damage");
  FUZZ_CHECK(end == Reader::End::kEof, "a freshly written log ends cleanly");
}

// An Env holding the logs in memory: only NewSequentialFile (all BatchReader
// uses) does anything.
class LogsEnv final : public lsmkv::Env {
 public:
  explicit LogsEnv(std::vector<std::string_view> logs) : logs_(std::move(logs)) {}
  static std::string Name(size_t i) { return "log" + std::to_string(i); }

  Status NewSequentialFile(const std::string& fname,
                           std::unique_ptr<lsmkv::SequentialFile>* result) override {
    for (size_t i = 0; i < logs_.size(); i++) {
      if (fname == Name(i)) {
        *result = std::make_unique<StringSequentialFile>(logs_[i]);
        return Status::OK();
      }
    }
    return Status::NotFound(fname);
  }
  Status NewRandomAccessFile(const std::string&,
                             std::unique_ptr<lsmkv::RandomAccessFile>*) override {
    return Unsupported();
  }
  Status NewWritableFile(const std::string&, std::unique_ptr<lsmkv::WritableFile>*) override {
    return Unsupported();
  }
  Status NewAppendableFile(const std::string&, std::unique_ptr<lsmkv::WritableFile>*) override {
    return Unsupported();
  }
  bool FileExists(const std::string&) override { return false; }
  Status GetChildren(const std::string&, std::vector<std::string>*) override {
    return Unsupported();
  }
  Status RemoveFile(const std::string&) override { return Unsupported(); }
  Status CreateDir(const std::string&) override { return Unsupported(); }
  Status RemoveDir(const std::string&) override { return Unsupported(); }
  Status GetFileSize(const std::string&, uint64_t*) override { return Unsupported(); }
  Status RenameFile(const std::string&, const std::string&) override { return Unsupported(); }
  Status LinkFile(const std::string&, const std::string&) override { return Unsupported(); }
  Status SyncDir(const std::string&) override { return Unsupported(); }
  Status LockFile(const std::string&, lsmkv::FileLock**) override { return Unsupported(); }
  Status UnlockFile(lsmkv::FileLock*) override { return Unsupported(); }
  void Schedule(std::function<void()>) override { FUZZ_CHECK(false, "unused"); }
  void StartThread(std::function<void()>) override { FUZZ_CHECK(false, "unused"); }
  uint64_t NowMicros() override { return 0; }
  void SleepForMicroseconds(int) override {}

 private:
  static Status Unsupported() { return Status::NotSupported("fuzz LogsEnv"); }
  std::vector<std::string_view> logs_;
};

// Reads logs with BatchReader and checks its events against log::Reader.
void CheckBatchReader(const std::vector<std::string_view>& logs) {
  LogsEnv env(logs);
  std::vector<WalFile> files;
  for (size_t i = 0; i < logs.size(); i++) files.push_back({kLogNumber, LogsEnv::Name(i)});
  BatchReader reader(&env, files);
  WalEvent e;
  size_t log = 0;                     // index of the log being read
  uint64_t cursor = 0;                // end of what the events accounted for
  bool started = false;               // kLogStart seen for this log
  bool torn_pending = false;          // an earlier log ended torn, no record since
  bool hole_now = false;              // kHole just seen: a record must follow
  std::vector<std::string> expected;  // log::Reader's records of this log
  size_t next_record = 0;
  int events = 0;
  WalEvent::Type previous = WalEvent::Type::kLogEnd;
  while (reader.Next(&e)) {
    FUZZ_CHECK(++events < 4 * kMaxRecords, "the event stream ends");
    FUZZ_CHECK(log < logs.size(), "no event after the last log");
    const std::string_view data = logs[log];
    FUZZ_CHECK(e.path == LogsEnv::Name(log) && e.log_number == kLogNumber, "events name the log");
    FUZZ_CHECK(started || e.type == WalEvent::Type::kLogStart, "a log starts with kLogStart");
    FUZZ_CHECK(!hole_now || e.type == WalEvent::Type::kBatch || e.type == WalEvent::Type::kBadBatch,
               "a hole comes right before a record");
    hole_now = false;
    auto account = [&](uint64_t offset, uint64_t limit) {
      FUZZ_CHECK(cursor <= offset && offset <= limit && limit <= data.size(),
                 "extents are in order, disjoint and in the file");
      const uint64_t gap = offset - cursor;
      FUZZ_CHECK(
          gap == 0 || (gap < lsmkv::log::kHeaderSize && offset % lsmkv::log::kBlockSize == 0),
          "only block trailers are left out");
      cursor = limit;
    };
    switch (e.type) {
      case WalEvent::Type::kLogStart: {
        FUZZ_CHECK(!started, "one kLogStart per log");
        started = true;
        cursor = 0;
        next_record = 0;
        CheckingReporter reporter(data.size());
        Reader::End end;
        expected = ReadAll(data, true, &reporter, &end);
        break;
      }
      case WalEvent::Type::kLogUnreadable:
        FUZZ_CHECK(false, "every log exists");
        break;
      case WalEvent::Type::kDropped:
        FUZZ_CHECK(e.status.IsCorruption() && e.limit == e.offset + e.bytes && e.bytes > 0,
                   "a drop is a Corruption of bytes > 0");
        account(e.offset, e.limit);
        break;
      case WalEvent::Type::kBatch:
      case WalEvent::Type::kBadBatch:
        account(e.offset, e.limit);
        FUZZ_CHECK(next_record < expected.size() && expected[next_record] == e.record,
                   "BatchReader's records are log::Reader's");
        next_record++;
        FUZZ_CHECK(e.bytes == e.record.size(), "bytes is the record's size");
        FUZZ_CHECK((e.type == WalEvent::Type::kBatch) ==
                       lsmkv::batch_format::ValidateRecord(e.record).ok(),
                   "kBatch exactly for a valid batch");
        FUZZ_CHECK(!torn_pending, "a record after a torn log comes after a hole");
        break;
      case WalEvent::Type::kTornTail:
        FUZZ_CHECK(e.limit == e.offset + e.bytes, "a torn tail ends at the limit");
        account(e.offset, e.limit);
        torn_pending = true;
        break;
      case WalEvent::Type::kHole:
        FUZZ_CHECK(torn_pending && log > 0, "a hole follows a torn earlier log");
        torn_pending = false;
        hole_now = true;
        break;
      case WalEvent::Type::kLogEnd:
        FUZZ_CHECK(e.status.ok() && e.end != Reader::End::kIOError, "no read error");
        account(e.offset, e.offset);
        FUZZ_CHECK((e.end == Reader::End::kTornTail) == (previous == WalEvent::Type::kTornTail),
                   "a torn end comes right after its kTornTail");
        if (e.end == Reader::End::kEof) {
          FUZZ_CHECK(e.offset == data.size(), "the log ends at the end of the file");
        } else if (e.end == Reader::End::kTornTail) {
          // Cut at the end of the file, or over preallocated (zero) space.
          FUZZ_CHECK(data.find_first_not_of('\0', e.offset) == std::string_view::npos,
                     "only zeros follow a torn tail");
        } else if (e.end == Reader::End::kZeroHeader) {
          FUZZ_CHECK(data.find_first_not_of('\0', e.offset) == std::string_view::npos,
                     "only zeros follow a zero header");
        }
        FUZZ_CHECK(next_record == expected.size(), "every record of log::Reader came");
        started = false;
        log++;
        break;
    }
    previous = e.type;
  }
  FUZZ_CHECK(log == logs.size(), "every log ends");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (bool verify_checksums : {true, false}) {
    CheckingReporter reporter(size);
    Reader::End end;
    const std::vector<std::string> records = ReadAll(input, verify_checksums, &reporter, &end);
    CheckRoundTrip(records);
  }
  CheckBatchReader({input});
  // Split: the first log's end (torn or not) followed by a second log.
  const size_t cut = size == 0 ? 0 : data[0] * size / 256;
  CheckBatchReader({input.substr(0, cut), input.substr(cut)});
  return 0;
}
