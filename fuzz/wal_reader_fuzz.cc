// Fuzzes log::Reader (src/wal/log_reader.h) with arbitrary bytes as a log
// file, with and without checksum verification. Invariants:
//  - the reader never fails with an I/O error on an in-memory file, and once
//    ReadRecord has returned false it keeps returning false;
//  - record offsets increase and lie in the file; every reported drop lies
//    in the file; TornTail() agrees with EndReason(), TornTailBytes() is 0
//    unless the tail is torn and never exceeds the file;
//  - the records read back, written again by log::Writer, read back
//    identically with no drop and a clean end (the reader and writer agree).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace {

using lsmkv::Status;
using lsmkv::fuzz::StringSequentialFile;
using lsmkv::fuzz::StringWritableFile;
using lsmkv::log::Reader;

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (bool verify_checksums : {true, false}) {
    CheckingReporter reporter(size);
    Reader::End end;
    const std::vector<std::string> records = ReadAll(input, verify_checksums, &reporter, &end);
    CheckRoundTrip(records);
  }
  return 0;
}
