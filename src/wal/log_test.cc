// Round trips through log::Writer and log::Reader, and the writer's layout.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/random.h"
#include "util/testutil.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/log_testutil.h"
#include "wal/log_writer.h"

namespace lsmkv::log {
namespace {

using logtest::EncodeFragment;
using logtest::LogBuilder;
using logtest::ParseLayout;
using logtest::ReadLog;
using logtest::ReadResult;
using logtest::StringDest;

constexpr uint64_t kLogNumber = 7;

// Reads log back and checks it holds exactly the records written, at the
// offsets written, with nothing reported.
void ExpectRoundTrip(const LogBuilder& log, bool copy_to_scratch = true) {
  ReadResult r = ReadLog(log.contents(), kLogNumber, true, copy_to_scratch);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.reports.empty()) << r.reports.front().reason.ToString();
  ASSERT_EQ(r.records.size(), log.records().size());
  for (size_t i = 0; i < r.records.size(); i++) {
    ASSERT_EQ(r.records[i], log.records()[i].payload) << "record " << i;
    ASSERT_EQ(r.offsets[i], log.records()[i].header_start) << "record " << i;
  }
  EXPECT_EQ(r.end, Reader::End::kEof);
  EXPECT_FALSE(r.torn);
  EXPECT_EQ(r.torn_bytes, 0u);
}

// Every fragment stays inside its block, each record's fragments are FULL
// or FIRST MIDDLE* LAST, and the gaps are zero trailers shorter than a header.
void ExpectWellFormed(const std::string& file, size_t expected_records) {
  logtest::Layout layout = ParseLayout(file);
  size_t records = 0;
  bool open = false;
  uint64_t pos = 0;
  size_t next_trailer = 0;
  for (const logtest::PhysicalFragment& f : layout.fragments) {
    if (next_trailer < layout.trailers.size() && layout.trailers[next_trailer].first == pos) {
      const auto [begin, end] = layout.trailers[next_trailer++];
      ASSERT_LT(end - begin, kHeaderSize);
      ASSERT_EQ(end % kBlockSize, 0u);
      for (uint64_t i = begin; i < end; i++) ASSERT_EQ(file[i], '\0');
      pos = end;
    }
    ASSERT_EQ(f.offset, pos);
    ASSERT_EQ(f.offset / kBlockSize, (f.end() - 1) / kBlockSize) << "fragment crosses a block";
    ASSERT_EQ(f.log_number, kLogNumber);
    switch (f.type) {
      case kFullType:
        ASSERT_FALSE(open);
        records++;
        break;
      case kFirstType:
        ASSERT_FALSE(open);
        open = true;
        break;
      case kMiddleType:
        ASSERT_TRUE(open);
        // A middle fragment always fills the rest of its block.
        ASSERT_EQ(f.end() % kBlockSize, 0u);
        break;
      case kLastType:
        ASSERT_TRUE(open);
        open = false;
        records++;
        break;
      default:
        FAIL() << "type " << int{f.type} << " at " << f.offset;
    }
    pos = f.end();
  }
  EXPECT_FALSE(open);
  EXPECT_EQ(pos, file.size());
  EXPECT_EQ(records, expected_records);
}

TEST(LogTest, EmptyFileReadsNothing) {
  ReadResult r = ReadLog("", kLogNumber);
  EXPECT_TRUE(r.records.empty());
  EXPECT_TRUE(r.reports.empty());
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.end, Reader::End::kEof);
  EXPECT_FALSE(r.torn);
}

TEST(LogTest, EmptyRecords) {
  LogBuilder log(kLogNumber);
  for (int i = 0; i < 5; i++) log.Add("");
  // Each empty record is a header and nothing else.
  EXPECT_EQ(log.contents().size(), 5 * kHeaderSize);
  ExpectWellFormed(log.contents(), 5);
  ExpectRoundTrip(log);
}

TEST(LogTest, OneByteRecords) {
  LogBuilder log(kLogNumber);
  for (int i = 0; i < 256; i++) log.Add(std::string(1, static_cast<char>(i)));
  EXPECT_EQ(log.contents().size(), 256 * (kHeaderSize + 1));
  ExpectRoundTrip(log);
}

TEST(LogTest, BinarySafePayloads) {
  LogBuilder log(kLogNumber);
  std::string every_byte;
  for (int i = 0; i < 256; i++) every_byte.push_back(static_cast<char>(i));
  log.Add(every_byte);
  log.Add("|");
  log.Add("\n");
  log.Add(std::string(1, '\0'));
  log.Add(std::string("key|value\nnext\0record", 21));
  log.Add(std::string(3 * kBlockSize, '\0'));  // Zeros must not look like an end.
  log.Add(std::string(100, '|'));
  log.Add(every_byte + every_byte);
  log.Add("");
  ExpectWellFormed(log.contents(), log.records().size());
  ExpectRoundTrip(log);
}

TEST(LogTest, ExactlyBlockSizedRecords) {
  LogBuilder log(kLogNumber);
  // Fills block 0 exactly with one FULL fragment.
  log.Add(std::string(kBlockSize - kHeaderSize, 'a'));
  EXPECT_EQ(log.contents().size(), kBlockSize);
  // A whole block of payload needs two fragments.
  log.Add(std::string(kBlockSize, 'b'));
  EXPECT_EQ(log.contents().size(), 2 * kBlockSize + 2 * kHeaderSize);
  log.Add(std::string(2 * kBlockSize, 'c'));
  ExpectWellFormed(log.contents(), 3);
  ExpectRoundTrip(log);
}

TEST(LogTest, MultiBlockRecords) {
  Random rnd(test::TestSeed());
  LogBuilder log(kLogNumber);
  log.Add(rnd.RandomBytes(100 * 1024));
  log.Add("between");
  log.Add(rnd.RandomBytes(1024 * 1024));
  log.Add(rnd.RandomBytes(1));
  ExpectWellFormed(log.contents(), 4);
  ExpectRoundTrip(log);
  ExpectRoundTrip(log, /*copy_to_scratch=*/false);
}

TEST(LogTest, ThousandsOfRandomRecords) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  LogBuilder log(kLogNumber);
  for (int i = 0; i < 4000; i++) {
    size_t len = rnd.Skewed(17);  // Mostly short, some up to 128 KiB.
    if (rnd.OneIn(10)) len = 0;
    log.Add(rnd.RandomBytes(len));
  }
  ExpectWellFormed(log.contents(), 4000);
  ExpectRoundTrip(log);
  ExpectRoundTrip(log, /*copy_to_scratch=*/false);
}

// A record ending gap bytes before a block's end, then a record of next_len
// bytes: a trailer when gap < kHeaderSize, otherwise a fragment right there.
TEST(LogTest, FragmentBoundaryEdges) {
  const size_t gaps[] = {0, 1, kHeaderSize - 1, kHeaderSize, kHeaderSize + 1};
  const size_t next_lens[] = {0, 1, 5000, kBlockSize + 7};
  for (size_t gap : gaps) {
    for (size_t next_len : next_lens) {
      SCOPED_TRACE("gap " + std::to_string(gap) + " next " + std::to_string(next_len));
      LogBuilder log(kLogNumber);
      log.Add("first");
      log.AddEndingBefore(gap, 'x');
      const uint64_t end_of_fill = log.contents().size();
      ASSERT_EQ(end_of_fill, kBlockSize - gap);
      log.Add(std::string(next_len, 'y'));
      log.Add("last");

      const logtest::Layout layout = ParseLayout(log.contents());
      bool trailer_at_fill_end = false;
      for (const auto& [begin, end] : layout.trailers) {
        if (begin == end_of_fill) trailer_at_fill_end = true;
      }
      if (gap > 0 && gap < kHeaderSize) {
        EXPECT_TRUE(trailer_at_fill_end);
        EXPECT_EQ(log.records()[2].header_start, kBlockSize);
      } else {
        EXPECT_FALSE(trailer_at_fill_end);
        EXPECT_EQ(log.records()[2].header_start, end_of_fill);
      }
      if (gap == kHeaderSize) {
        // Exactly a header's room: an empty first fragment (or a whole empty record).
        const logtest::PhysicalFragment& f = layout.fragments[2];
        EXPECT_EQ(f.offset, end_of_fill);
        EXPECT_EQ(f.length, 0u);
        EXPECT_EQ(f.type, next_len == 0 ? kFullType : kFirstType);
      }
      ExpectWellFormed(log.contents(), 4);
      ExpectRoundTrip(log);
    }
  }
}

// A writer continuing a file must produce the bytes one writer would have.
TEST(LogTest, WriterContinuesExistingFile) {
  Random rnd(test::TestSeed());
  const size_t gaps[] = {0, 3, kHeaderSize - 1, kHeaderSize, 100};
  for (size_t gap : gaps) {
    SCOPED_TRACE("gap " + std::to_string(gap));
    std::vector<std::string> first = {"a", rnd.RandomBytes(40000)};
    std::vector<std::string> second = {"", rnd.RandomBytes(70000), "z"};

    LogBuilder reference(kLogNumber);
    for (const std::string& p : first) reference.Add(p);
    reference.AddEndingBefore(gap, 'g');
    for (const std::string& p : second) reference.Add(p);

    StringDest dest;
    {
      Writer w(&dest, kLogNumber);
      for (const std::string& p : first) ASSERT_TRUE(w.AddRecord(p).ok());
      const size_t offset = dest.contents_.size() % kBlockSize;
      ASSERT_TRUE(w.AddRecord(std::string(kBlockSize - offset - kHeaderSize - gap, 'g')).ok());
      ASSERT_EQ(w.file_size(), dest.contents_.size());
    }
    const uint64_t length = dest.contents_.size();
    Writer w(&dest, kLogNumber, length);
    EXPECT_EQ(w.file_size(), length);
    for (const std::string& p : second) ASSERT_TRUE(w.AddRecord(p).ok());
    EXPECT_EQ(w.file_size(), dest.contents_.size());
    EXPECT_EQ(dest.contents_, reference.contents());
    ExpectRoundTrip(reference);
  }
}

TEST(LogTest, OneAppendPerRecordAndNoFlush) {
  StringDest dest;
  Writer w(&dest, kLogNumber);
  ASSERT_TRUE(w.AddRecord("").ok());
  ASSERT_TRUE(w.AddRecord(std::string(5 * kBlockSize, 'm')).ok());
  ASSERT_TRUE(w.AddRecord("small").ok());
  EXPECT_EQ(dest.appends_, 3);
  EXPECT_EQ(w.file_size(), dest.contents_.size());
}

TEST(LogTest, AppendErrorIsSticky) {
  StringDest dest;
  dest.fail_from_append_ = 2;
  Writer w(&dest, kLogNumber);
  ASSERT_TRUE(w.AddRecord("ok").ok());
  const uint64_t size = w.file_size();
  Status first_error = w.AddRecord("fails");
  ASSERT_TRUE(first_error.IsIOError()) << first_error.ToString();
  EXPECT_EQ(w.file_size(), size);
  for (int i = 0; i < 3; i++) {
    Status again = w.AddRecord("after the error");
    EXPECT_EQ(again.ToString(), first_error.ToString());
  }
  // Nothing was even attempted after the failure.
  EXPECT_EQ(dest.appends_, 2);
  EXPECT_EQ(w.file_size(), size);
}

// The writer's bytes are exactly the format's definition (docs/format/wal.md):
// the checksum covers type, log number, length and payload.
TEST(LogTest, BytesMatchTheFormatDefinition) {
  StringDest dest;
  Writer w(&dest, kLogNumber);
  ASSERT_TRUE(w.AddRecord("hello").ok());
  const std::string big(kBlockSize, 'q');
  ASSERT_TRUE(w.AddRecord(big).ok());

  std::string expected = EncodeFragment(kFullType, "hello", kLogNumber);
  const size_t first_len = kBlockSize - expected.size() - kHeaderSize;
  expected += EncodeFragment(kFirstType, std::string_view(big).substr(0, first_len), kLogNumber);
  expected += EncodeFragment(kLastType, std::string_view(big).substr(first_len), kLogNumber);
  EXPECT_EQ(dest.contents_, expected);
}

TEST(LogTest, LogNumberUsesLow32Bits) {
  const uint64_t number = (uint64_t{1} << 32) + kLogNumber;
  StringDest dest;
  Writer w(&dest, number);
  ASSERT_TRUE(w.AddRecord("payload").ok());
  EXPECT_EQ(dest.contents_, EncodeFragment(kFullType, "payload", kLogNumber));
  ReadResult r = ReadLog(dest.contents_, number);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0], "payload");
  EXPECT_TRUE(r.reports.empty());
}

}  // namespace
}  // namespace lsmkv::log
