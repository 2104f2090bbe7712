// log::Reader on damaged, truncated, pre-allocated and recycled logs.
#include "wal/log_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "util/random.h"
#include "util/testutil.h"
#include "wal/log_format.h"
#include "wal/log_testutil.h"
#include "wal/log_writer.h"

namespace lsmkv::log {
namespace {

using logtest::EncodeFragment;
using logtest::LogBuilder;
using logtest::ReadLog;
using logtest::ReadResult;
using logtest::Report;
using logtest::StringSource;
using logtest::WrittenRecord;

constexpr uint64_t kLogNumber = 7;

// Reports are disjoint, in file order, and inside [0, file_size).
void ExpectSaneReports(const ReadResult& r, uint64_t file_size) {
  uint64_t prev_end = 0;
  for (const Report& rep : r.reports) {
    EXPECT_TRUE(rep.reason.IsCorruption()) << rep.reason.ToString();
    EXPECT_GE(rep.offset, prev_end) << rep.reason.ToString();
    EXPECT_LE(rep.offset + rep.bytes, file_size) << rep.reason.ToString();
    prev_end = rep.offset + rep.bytes;
  }
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// ---------------------------------------------------------------- torn tails

// Cuts log at every offset in [from, size] and checks the reader returns the
// records whose Append completed before the cut, reports nothing, and says
// TornTail exactly when the cut fell inside a record's bytes.
void ExpectTornTailAtEveryCut(const LogBuilder& log, uint64_t from) {
  const std::string& file = log.contents();
  const std::vector<WrittenRecord>& recs = log.records();
  int torn_cuts = 0;
  for (uint64_t cut = from; cut <= file.size(); cut++) {
    ReadResult r = ReadLog(std::string_view(file).substr(0, cut), kLogNumber, true,
                           /*copy_to_scratch=*/false);
    size_t complete = 0;
    while (complete < recs.size() && recs[complete].end <= cut) complete++;
    const bool cut_inside = complete < recs.size() && recs[complete].append_start < cut;

    ASSERT_TRUE(r.reports.empty()) << "cut " << cut << ": " << r.reports[0].reason.ToString();
    ASSERT_TRUE(r.status.ok());
    ASSERT_EQ(r.records.size(), complete) << "cut " << cut;
    for (size_t i = 0; i < complete; i++) ASSERT_EQ(r.records[i], recs[i].payload);
    ASSERT_EQ(r.torn, cut_inside) << "cut " << cut;
    if (cut_inside) {
      torn_cuts++;
      ASSERT_EQ(r.end, Reader::End::kTornTail);
      ASSERT_EQ(r.torn_bytes, cut - recs[complete].append_start) << "cut " << cut;
    } else {
      ASSERT_EQ(r.end, Reader::End::kEof);
      ASSERT_EQ(r.torn_bytes, 0u);
    }
  }
  EXPECT_GT(torn_cuts, 0);
}

// Three blocks; a record crosses blocks 0-1 and block 1 ends in a trailer.
TEST(LogReaderTest, TornTailAtEveryCutWithTrailer) {
  LogBuilder log(kLogNumber);
  log.Add("");
  log.Add(std::string(5000, 'a'));
  log.Add(std::string(40000, 'b'));  // FIRST in block 0, LAST in block 1.
  log.Add("");
  log.Add("c");
  log.AddEndingBefore(5, 'd');     // Block 1 ends with a 5-byte trailer...
  log.Add(std::string(100, 'e'));  // ...written with this record.
  log.Add("");
  log.Add(std::string(3000, 'f'));
  ASSERT_EQ(log.records()[6].append_start, 2 * kBlockSize - 5);
  ASSERT_EQ(log.contents().size() / kBlockSize, 2u);
  ExpectTornTailAtEveryCut(log, kBlockSize);
}

// Three blocks; a record is FIRST/MIDDLE/LAST and the log ends with an empty
// record whose header exactly fills the last block.
TEST(LogReaderTest, TornTailAtEveryCutInsideMultiBlockRecord) {
  LogBuilder log(kLogNumber);
  log.Add(std::string(10, 'a'));
  log.Add(std::string(70000, 'b'));
  log.Add("");
  log.AddEndingBefore(kHeaderSize, 'c');
  log.Add("");
  ASSERT_EQ(log.contents().size(), 3 * kBlockSize);
  ExpectTornTailAtEveryCut(log, kBlockSize);
}

// A file with preallocated space (Options::wal_preallocate_bytes): a crash
// cuts the last append at every offset, the bytes from the cut on read as
// zeros, and zeros follow to the end of the reserved space. The reader
// returns the records whose bytes all survived, reports nothing, and ends
// with a torn tail exactly when the cut record left some of its non-zero
// bytes behind (all-zero survivors read as unwritten space).
void ExpectTornTailAtEveryCutOverZeros(const LogBuilder& log, uint64_t from) {
  const std::string& file = log.contents();
  const std::vector<WrittenRecord>& recs = log.records();
  auto all_zero = [&](uint64_t begin, uint64_t end) {
    return std::all_of(file.begin() + static_cast<ptrdiff_t>(begin),
                       file.begin() + static_cast<ptrdiff_t>(end), [](char c) { return c == 0; });
  };
  int torn_cuts = 0;
  for (uint64_t cut = from; cut <= file.size(); cut++) {
    std::string cut_file = file.substr(0, cut) + std::string(file.size() - cut + 4096, '\0');
    ReadResult r = ReadLog(cut_file, kLogNumber, true, /*copy_to_scratch=*/false);
    size_t complete = 0;
    while (complete < recs.size() &&
           (recs[complete].end <= cut ||
            all_zero(std::max(cut, recs[complete].append_start), recs[complete].end))) {
      complete++;
    }
    const bool torn = complete < recs.size() && recs[complete].append_start < cut &&
                      !all_zero(recs[complete].append_start, cut);

    ASSERT_TRUE(r.reports.empty()) << "cut " << cut << ": " << r.reports[0].reason.ToString();
    ASSERT_TRUE(r.status.ok());
    ASSERT_EQ(r.records.size(), complete) << "cut " << cut;
    for (size_t i = 0; i < complete; i++) ASSERT_EQ(r.records[i], recs[i].payload);
    ASSERT_EQ(r.torn, torn) << "cut " << cut;
    if (torn) {
      torn_cuts++;
      ASSERT_EQ(r.end, Reader::End::kTornTail);
      ASSERT_GT(r.torn_bytes, 0u) << "cut " << cut;
      ASSERT_LE(r.torn_bytes, cut - recs[complete].append_start) << "cut " << cut;
    } else {
      ASSERT_EQ(r.end, Reader::End::kZeroHeader) << "cut " << cut;
    }
  }
  EXPECT_GT(torn_cuts, 0);
}

TEST(LogReaderTest, TornTailAtEveryCutOverPreallocatedSpace) {
  LogBuilder log(kLogNumber);
  log.Add("");
  log.Add(std::string(5000, 'a'));
  log.Add(std::string(40000, 'b'));  // FIRST in block 0, LAST in block 1.
  log.Add("");
  log.AddEndingBefore(5, 'd');       // Block 1 ends with a 5-byte trailer...
  log.Add(std::string(100, 'e'));    // ...written with this record.
  log.Add(std::string(70000, 'f'));  // FIRST, MIDDLE, LAST.
  log.Add("g");
  ExpectTornTailAtEveryCutOverZeros(log, kBlockSize - 100);
}

// Damage in the last record that is not a cut write over zeros stays
// corruption: a flipped byte with the record's end intact, and zeros too
// short for a header after it.
TEST(LogReaderTest, DamagedLastRecordBeforeZerosIsStillCorruption) {
  LogBuilder log(kLogNumber);
  log.Add("kept");
  log.Add(std::string(300, 'x'));
  std::string file = log.contents();
  file[file.size() - 100] ^= 0x10;
  ReadResult r = ReadLog(file + std::string(kHeaderSize - 1, '\0'), kLogNumber);
  EXPECT_EQ(r.records, std::vector<std::string>{"kept"});
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_TRUE(Contains(r.reports[0].reason.ToString(), "checksum mismatch"));
  // With a header's worth of zeros after it, the same bytes read as a write
  // cut short over preallocated space (indistinguishable on disk).
  r = ReadLog(file + std::string(kHeaderSize, '\0'), kLogNumber);
  EXPECT_EQ(r.records, std::vector<std::string>{"kept"});
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.end, Reader::End::kTornTail);
  // Data after the zeros: corruption again, and parsing resumes there.
  LogBuilder more(kLogNumber);
  more.Add("kept");
  more.Add(std::string(300, 'x'));
  more.AddEndingBefore(0, 'y');  // fill block 0 exactly
  more.Add("after");
  std::string damaged = more.contents();
  damaged[more.records()[1].append_start + 50] ^= 0x10;
  std::fill(damaged.begin() + static_cast<ptrdiff_t>(more.records()[1].end),
            damaged.begin() + static_cast<ptrdiff_t>(kBlockSize), '\0');
  r = ReadLog(damaged, kLogNumber);
  EXPECT_EQ(r.records, (std::vector<std::string>{"kept", "after"}));
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.reports[0].offset, more.records()[1].append_start);
  EXPECT_EQ(r.reports[0].bytes, kBlockSize - more.records()[1].append_start);
}

// ------------------------------------------------------------ end of the log

TEST(LogReaderTest, ZeroHeaderEndsTheLog) {
  // Pre-allocated space after the last record, within the block, to the
  // block's end, and across a whole further block.
  const size_t zero_lengths[] = {kHeaderSize, 100, kBlockSize};
  for (size_t zeros : zero_lengths) {
    for (size_t gap : {size_t{0}, size_t{5}, size_t{500}}) {
      SCOPED_TRACE("zeros " + std::to_string(zeros) + " gap " + std::to_string(gap));
      LogBuilder log(kLogNumber);
      log.Add("one");
      log.AddEndingBefore(gap, 't');
      // A gap too small for a header is a trailer: the zero header then
      // starts the next block.
      const size_t trailer = gap < kHeaderSize ? gap : 0;
      std::string file = log.contents() + std::string(std::max(zeros, trailer + kHeaderSize), '\0');
      ReadResult r = ReadLog(file, kLogNumber);
      EXPECT_EQ(r.records, log.payloads());
      EXPECT_TRUE(r.reports.empty());
      EXPECT_EQ(r.end, Reader::End::kZeroHeader);
      EXPECT_FALSE(r.torn);
    }
  }
}

// A multi-block record whose later block never reached the disk of a
// pre-allocated file: a torn tail, not corruption.
TEST(LogReaderTest, ZeroHeaderInsideRecordIsTornTail) {
  LogBuilder log(kLogNumber);
  log.Add("kept");
  log.Add(std::string(50000, 'x'));
  std::string file = log.contents();
  std::fill(file.begin() + kBlockSize, file.end(), '\0');
  file += std::string(kBlockSize, '\0');
  ReadResult r = ReadLog(file, kLogNumber);
  EXPECT_EQ(r.records, std::vector<std::string>{"kept"});
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.end, Reader::End::kTornTail);
  EXPECT_EQ(r.torn_bytes, kBlockSize - log.records()[1].append_start);
}

// A recycled file: log 7 overwrote the start of log 6. The first fragment
// of log 6 that follows is valid but stale: the end of log 7.
TEST(LogReaderTest, StaleLogNumberEndsTheLog) {
  Random rnd(test::TestSeed());
  std::vector<size_t> sizes;
  for (int i = 0; i < 60; i++) sizes.push_back(rnd.Uniform(4000));
  sizes[20] = 50000;  // A multi-block record in the middle.

  LogBuilder old_log(6);
  for (size_t n : sizes) old_log.Add(std::string(n, 'o'));
  for (size_t keep : {size_t{0}, size_t{1}, size_t{19}, size_t{21}, size_t{40}}) {
    SCOPED_TRACE("keep " + std::to_string(keep));
    LogBuilder new_log(kLogNumber);
    for (size_t i = 0; i < keep; i++) new_log.Add(rnd.RandomBytes(sizes[i]));
    std::string file = new_log.contents() + old_log.contents().substr(new_log.contents().size());
    ReadResult r = ReadLog(file, kLogNumber);
    EXPECT_EQ(r.records, new_log.payloads());
    EXPECT_TRUE(r.reports.empty()) << r.reports[0].reason.ToString();
    EXPECT_EQ(r.end, Reader::End::kStaleLogNumber);
    EXPECT_FALSE(r.torn);
    // Old log 6 is stale from its very first fragment for a reader of log 7...
    r = ReadLog(old_log.contents(), kLogNumber);
    EXPECT_TRUE(r.records.empty());
    EXPECT_EQ(r.end, Reader::End::kStaleLogNumber);
    // ...even without checksum verification.
    r = ReadLog(file, kLogNumber, /*verify_checksums=*/false);
    EXPECT_EQ(r.records, new_log.payloads());
    EXPECT_EQ(r.end, Reader::End::kStaleLogNumber);
  }
}

// A stale fragment while a record is incomplete: the incomplete record is a
// torn tail.
TEST(LogReaderTest, StaleFragmentInsideRecordIsTornTail) {
  std::string file = EncodeFragment(kFullType, "a", kLogNumber) +
                     EncodeFragment(kFirstType, "b1", kLogNumber) +
                     EncodeFragment(kLastType, "b2", kLogNumber - 1);
  ReadResult r = ReadLog(file, kLogNumber);
  EXPECT_EQ(r.records, std::vector<std::string>{"a"});
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.end, Reader::End::kTornTail);
  EXPECT_EQ(r.torn_bytes, kHeaderSize + 2);
}

// ---------------------------------------------------------------- corruption

// Damages one header byte of record B (of A B C in block 0, D E in block 1).
TEST(LogReaderTest, CorruptedHeaderFieldsAreDetected) {
  LogBuilder log(kLogNumber);
  log.Add("record A");
  log.Add("record B");
  log.Add("record C");
  log.AddEndingBefore(0, 'f');
  log.Add("record D");
  log.Add("record E");
  // Only B is lost: the reader resynchronises at C's header.
  const std::vector<std::string> expected = {"record A", "record C", log.records()[3].payload,
                                             "record D", "record E"};
  const uint64_t b = log.records()[1].header_start;
  const uint64_t c_start = log.records()[2].header_start;

  struct Case {
    size_t byte;
    uint8_t mask;
    bool detected_without_checksums;
  };
  // detected_without_checksums: a length past the block, an unknown type
  // and a log number are caught even with verification off.
  const Case cases[] = {
      {kCrcOffset, 0x01, false},          {kCrcOffset + 3, 0x80, false},
      {kLengthOffset, 0x01, false},       {kLengthOffset, 0x04, false},
      {kLengthOffset + 1, 0x80, true},    {kTypeOffset, 0x01, false},
      {kTypeOffset, 0x02, false},         {kTypeOffset, 0x80, true},
      {kLogNumberOffset, 0x01, true},     {kLogNumberOffset + 1, 0x10, true},
      {kLogNumberOffset + 3, 0x80, true},
  };
  for (const Case& c : cases) {
    for (bool verify : {true, false}) {
      if (!verify && !c.detected_without_checksums) continue;
      SCOPED_TRACE("byte " + std::to_string(c.byte) + " mask " + std::to_string(c.mask) +
                   (verify ? " verified" : " unverified"));
      std::string file = log.contents();
      file[b + c.byte] = static_cast<char>(file[b + c.byte] ^ c.mask);
      ReadResult r = ReadLog(file, kLogNumber, verify);
      EXPECT_EQ(r.records, expected);
      ASSERT_EQ(r.reports.size(), 1u);
      EXPECT_EQ(r.reports[0].offset, b);
      EXPECT_EQ(r.reports[0].bytes, c_start - b);
      EXPECT_EQ(r.end, Reader::End::kEof);
      ExpectSaneReports(r, file.size());
    }
  }
}

// Headers with a valid checksum but impossible contents.
TEST(LogReaderTest, ValidChecksumButBadFields) {
  const std::string a = EncodeFragment(kFullType, "a", kLogNumber);
  const std::string b = EncodeFragment(kFullType, "b", kLogNumber);
  const std::string z = EncodeFragment(kFullType, "z", kLogNumber);
  struct Case {
    std::string fragment;
    const char* fault;
  };
  const Case cases[] = {
      {EncodeFragment(9, "x", kLogNumber), "unknown fragment type"},
      {EncodeFragment(kZeroType, "x", kLogNumber), "unknown fragment type"},
      {EncodeFragment(kFullType, "x", kLogNumber, kBlockSize), "past the end of its block"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fault);
    // The reader resynchronises at b, right after the bad fragment; the
    // filler after b is not a fragment.
    std::string file = a + c.fragment + b;
    file.resize(kBlockSize, 'p');
    file += z;
    ReadResult r = ReadLog(file, kLogNumber);
    EXPECT_EQ(r.records, (std::vector<std::string>{"a", "b", "z"}));
    ASSERT_EQ(r.reports.size(), 2u);
    EXPECT_EQ(r.reports[0].offset, a.size());
    EXPECT_EQ(r.reports[0].bytes, c.fragment.size());
    EXPECT_TRUE(Contains(r.reports[0].reason.message(), c.fault)) << r.reports[0].reason.ToString();
    // The filler: no valid fragment up to the block's end.
    EXPECT_EQ(r.reports[1].offset, a.size() + c.fragment.size() + b.size());
    EXPECT_EQ(r.reports[1].offset + r.reports[1].bytes, kBlockSize);
  }
}

TEST(LogReaderTest, FragmentSequenceErrors) {
  const std::vector<std::string> frags = {
      EncodeFragment(kFullType, "a", kLogNumber),     // 0: a
      EncodeFragment(kFirstType, "b1", kLogNumber),   // 1: FIRST without LAST
      EncodeFragment(kFullType, "c", kLogNumber),     // 2: c
      EncodeFragment(kMiddleType, "m", kLogNumber),   // 3: MIDDLE without FIRST
      EncodeFragment(kLastType, "l", kLogNumber),     // 4: LAST without FIRST
      EncodeFragment(kFirstType, "d1", kLogNumber),   // 5: FIRST without LAST
      EncodeFragment(kFirstType, "e1", kLogNumber),   // 6: e1
      EncodeFragment(kMiddleType, "e2", kLogNumber),  // 7: e2
      EncodeFragment(kLastType, "e3", kLogNumber),    // 8: e3
      EncodeFragment(kFullType, "", kLogNumber),      // 9: empty record
  };
  std::string file;
  std::vector<uint64_t> at;
  for (const std::string& f : frags) {
    at.push_back(file.size());
    file += f;
  }
  ReadResult r = ReadLog(file, kLogNumber);
  EXPECT_EQ(r.records, (std::vector<std::string>{"a", "c", "e1e2e3", ""}));
  EXPECT_EQ(r.offsets, (std::vector<uint64_t>{at[0], at[2], at[6], at[9]}));
  ASSERT_EQ(r.reports.size(), 4u);
  const struct {
    size_t fragment;
    const char* fault;
  } expected[] = {{1, "FIRST fragment without LAST"},
                  {3, "MIDDLE fragment without FIRST"},
                  {4, "LAST fragment without FIRST"},
                  {5, "FIRST fragment without LAST"}};
  for (size_t i = 0; i < 4; i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r.reports[i].offset, at[expected[i].fragment]);
    EXPECT_EQ(r.reports[i].bytes, frags[expected[i].fragment].size());
    EXPECT_TRUE(Contains(r.reports[i].reason.message(), expected[i].fault))
        << r.reports[i].reason.ToString();
  }
  EXPECT_EQ(r.end, Reader::End::kEof);
}

TEST(LogReaderTest, ReportNamesFileOffsetAndFault) {
  LogBuilder log(kLogNumber);
  log.Add("first");
  log.Add("second");
  std::string file = log.contents();
  const uint64_t b = log.records()[1].header_start;
  file[b + kHeaderSize] ^= 0x20;  // A payload byte.
  ReadResult r = ReadLog(file, kLogNumber);
  ASSERT_EQ(r.reports.size(), 1u);
  const Status& reason = r.reports[0].reason;
  EXPECT_TRUE(reason.IsCorruption());
  EXPECT_TRUE(Contains(reason.message(), logtest::kTestFileName)) << reason.ToString();
  EXPECT_TRUE(Contains(reason.message(), "offset " + std::to_string(b))) << reason.ToString();
  EXPECT_TRUE(Contains(reason.message(), "checksum mismatch")) << reason.ToString();
  EXPECT_EQ(r.reports[0].bytes, file.size() - b);
}

// Without checksum verification a damaged payload goes unnoticed (the
// caller's choice); a damaged log number is still caught, not taken as the end.
TEST(LogReaderTest, VerifyChecksumsOff) {
  LogBuilder log(kLogNumber);
  log.Add("payload");
  log.Add("after");
  std::string file = log.contents();
  file[kHeaderSize] = 'P';
  ReadResult r = ReadLog(file, kLogNumber, /*verify_checksums=*/false);
  EXPECT_EQ(r.records, (std::vector<std::string>{"Payload", "after"}));
  EXPECT_TRUE(r.reports.empty());
  r = ReadLog(file, kLogNumber, /*verify_checksums=*/true);
  EXPECT_EQ(r.records, std::vector<std::string>{"after"});
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.reports[0].offset, 0u);
  EXPECT_EQ(r.reports[0].bytes, log.records()[1].header_start);
}

TEST(LogReaderTest, NullReporterIsAllowed) {
  LogBuilder log(kLogNumber);
  log.Add("a");
  log.AddEndingBefore(0, 'b');
  log.Add("c");
  std::string file = log.contents();
  file[1] ^= 1;
  StringSource source(file);
  Reader reader(&source, nullptr, true, kLogNumber, "x.log");
  std::string record;
  ASSERT_TRUE(reader.ReadRecord(&record));
  EXPECT_EQ(record, log.records()[1].payload);
  ASSERT_TRUE(reader.ReadRecord(&record));
  EXPECT_EQ(record, "c");
  EXPECT_FALSE(reader.ReadRecord(&record));
}

// ---------------------------------------------------------------- resync

// Reads file, a damaged copy of log.contents() (same size), and checks the
// record-granularity resync: exactly the records with a changed byte in
// their fragments are lost, every other record is returned (in order, at
// its offset); every byte of a lost record is reported, and nothing but
// lost records and block trailers is. Returns the result for more checks.
ReadResult ExpectOnlyDamagedRecordsLost(const LogBuilder& log, const std::string& file,
                                        size_t* lost = nullptr) {
  const std::string& good = log.contents();
  EXPECT_EQ(good.size(), file.size());
  std::vector<size_t> expected;  // Indices of the records that must survive.
  std::vector<char> lost_byte(file.size(), 0);
  std::vector<char> may_report(file.size(), 0);
  size_t lost_records = 0;
  for (size_t i = 0; i < log.records().size(); i++) {
    const WrittenRecord& rec = log.records()[i];
    const bool changed = good.compare(rec.header_start, rec.end - rec.header_start, file,
                                      rec.header_start, rec.end - rec.header_start) != 0;
    if (!changed) {
      expected.push_back(i);
      continue;
    }
    lost_records++;
    for (uint64_t b = rec.header_start; b < rec.end; b++) lost_byte[b] = may_report[b] = 1;
  }
  for (const auto& [begin, end] : logtest::ParseLayout(good).trailers) {
    for (uint64_t b = begin; b < end; b++) may_report[b] = 1;
  }
  if (lost != nullptr) *lost = lost_records;

  ReadResult r = ReadLog(file, kLogNumber);
  // Compared by index, not by payload, to keep failure output short.
  EXPECT_EQ(r.records.size(), expected.size());
  for (size_t k = 0; k < std::min(r.records.size(), expected.size()); k++) {
    const WrittenRecord& rec = log.records()[expected[k]];
    EXPECT_TRUE(r.records[k] == rec.payload)
        << "returned record " << k << " is not record " << expected[k];
    EXPECT_EQ(r.offsets[k], rec.header_start) << "returned record " << k;
  }
  ExpectSaneReports(r, file.size());
  std::vector<char> reported(file.size(), 0);
  for (const Report& rep : r.reports) {
    for (uint64_t b = rep.offset; b < rep.offset + rep.bytes && b < file.size(); b++) {
      reported[b] = 1;
    }
  }
  size_t over_reported = 0, unreported = 0;
  for (size_t b = 0; b < file.size(); b++) {
    if (reported[b] && !may_report[b]) over_reported++;
    if (lost_byte[b] && !reported[b]) unreported++;
  }
  EXPECT_EQ(over_reported, 0u) << "bytes of intact records reported as dropped";
  EXPECT_EQ(unreported, 0u) << "bytes of lost records not reported";
  EXPECT_EQ(r.end, Reader::End::kEof);
  EXPECT_FALSE(r.torn);
  return r;
}

// About three blocks of small records (20..140 bytes, no zero bytes).
void AddManySmallRecords(LogBuilder* log, int n) {
  for (int i = 0; i < n; i++) {
    log->Add(std::string(20 + (i * 37) % 121, static_cast<char>('A' + i % 50)));
  }
}

// The index of the first record whose header lies at or after offset.
size_t RecordAt(const LogBuilder& log, uint64_t offset) {
  size_t i = 0;
  while (i < log.records().size() && log.records()[i].header_start < offset) i++;
  return i;
}

// Every byte of a record, flipped: that record alone is lost, in one report
// from its header to the next valid fragment (or its block's end).
TEST(LogReaderTest, ResyncFlipInOneRecordLosesOnlyThatRecord) {
  LogBuilder log(kLogNumber);
  AddManySmallRecords(&log, 1200);
  const std::vector<WrittenRecord>& recs = log.records();
  ASSERT_GE(log.contents().size(), 3 * kBlockSize);
  // First record, one mid block 0, the one starting last in block 0 (it
  // crosses into block 1 as FIRST + LAST), the first starting in block 1,
  // one mid block 2 and one in the last, short block (not the file's last).
  const size_t crossing = RecordAt(log, kBlockSize - kHeaderSize) - 1;
  const size_t victims[] = {0,
                            RecordAt(log, kBlockSize / 2),
                            crossing,
                            crossing + 1,
                            RecordAt(log, 2 * kBlockSize + kBlockSize / 2),
                            recs.size() - 3};
  ASSERT_EQ(recs[crossing].end / kBlockSize, 1u) << "this log should have a FIRST + LAST record";
  ASSERT_GT(recs[victims[5]].header_start, log.contents().size() / kBlockSize * kBlockSize);
  for (size_t v : victims) {
    const WrittenRecord& victim = recs[v];
    for (uint64_t pos = victim.header_start; pos < victim.end; pos++) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
        SCOPED_TRACE("record " + std::to_string(v) + " byte " +
                     std::to_string(pos - victim.header_start) + " mask " + std::to_string(mask));
        std::string file = log.contents();
        file[pos] = static_cast<char>(file[pos] ^ mask);
        size_t lost = 0;
        ReadResult r = ExpectOnlyDamagedRecordsLost(log, file, &lost);
        ASSERT_EQ(lost, 1u);
        ASSERT_EQ(r.records.size(), recs.size() - 1);
        if (v == crossing) {
          // FIRST and LAST: one of them damaged, the other dropped with it.
          ASSERT_EQ(r.reports.size(), 2u);
          EXPECT_EQ(r.reports[0].offset, victim.header_start);
          EXPECT_EQ(r.ReportedBytes(), victim.end - victim.header_start);
          continue;
        }
        ASSERT_EQ(r.reports.size(), 1u);
        EXPECT_EQ(r.reports[0].offset, victim.header_start);
        // To the next record's header, or to the block's end (its trailer).
        const uint64_t next = v + 1 < recs.size() ? recs[v + 1].header_start : file.size();
        const uint64_t block_end = (victim.header_start / kBlockSize + 1) * kBlockSize;
        EXPECT_EQ(r.reports[0].offset + r.reports[0].bytes, std::min(next, block_end));
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// A damaged length field: claiming more (over later valid headers, or past
// the block or the file), less, or nothing. The reader does not trust it: it
// finds the next header that validates.
TEST(LogReaderTest, ResyncAfterDamagedLengthField) {
  LogBuilder log(kLogNumber);
  AddManySmallRecords(&log, 1200);
  const std::vector<WrittenRecord>& recs = log.records();
  const uint64_t last_block = log.contents().size() / kBlockSize * kBlockSize;
  struct Case {
    size_t victim;
    uint32_t length;
    const char* fault;
  };
  const size_t mid = RecordAt(log, kBlockSize / 3);
  const size_t tail = RecordAt(log, last_block + 100);  // In the short last block.
  const uint32_t mid_len = static_cast<uint32_t>(recs[mid].payload.size());
  ASSERT_LT(tail + 5, recs.size());
  // For the record in the last block: a length that ends 100 bytes past the
  // end of the file (inside the block: it would be a torn write but for the
  // complete fragments after it), and one a byte past the block.
  const uint64_t tail_h = recs[tail].header_start;
  const uint32_t past_file =
      static_cast<uint32_t>(log.contents().size() + 100 - tail_h - kHeaderSize);
  const uint32_t past_block =
      static_cast<uint32_t>(kBlockSize - tail_h % kBlockSize - kHeaderSize + 1);
  ASSERT_LT(past_file, past_block);
  const Case cases[] = {
      {mid, mid_len + 300, "checksum mismatch"},  // Over ~3 later headers.
      {mid, mid_len + 1, "checksum mismatch"},    // Into the next header.
      {mid, mid_len - 1, "checksum mismatch"},    // Short of it.
      {mid, 0, "checksum mismatch"},
      {mid, 0xffff, "past the end of its block"},
      {tail, past_file, "past the end of the file over complete later fragments"},
      {tail, past_block, "past the end of its block"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("record " + std::to_string(c.victim) + " length " + std::to_string(c.length));
    std::string file = log.contents();
    const uint64_t h = recs[c.victim].header_start;
    file[h + kLengthOffset] = static_cast<char>(c.length & 0xff);
    file[h + kLengthOffset + 1] = static_cast<char>(c.length >> 8);
    ReadResult r = ExpectOnlyDamagedRecordsLost(log, file);
    ASSERT_EQ(r.records.size(), recs.size() - 1);
    ASSERT_EQ(r.reports.size(), 1u);
    EXPECT_EQ(r.reports[0].offset, h);
    EXPECT_EQ(r.reports[0].bytes, recs[c.victim + 1].header_start - h);
    EXPECT_TRUE(Contains(r.reports[0].reason.message(), c.fault)) << r.reports[0].reason.ToString();
  }
}

// A record of FIRST (block 0), MIDDLE (block 1), LAST (block 2): when its
// beginning is lost, its later fragments are orphans, dropped and reported,
// and the record after it is read.
TEST(LogReaderTest, ResyncDropsOrphansOfRecordWithLostBeginning) {
  LogBuilder log(kLogNumber);
  for (int i = 0; i < 20; i++) log.Add(std::string(300, static_cast<char>('a' + i)));
  log.Add(std::string(80000, 'X'));
  for (int i = 0; i < 20; i++) log.Add(std::string(300, static_cast<char>('A' + i)));
  const WrittenRecord& big = log.records()[20];
  ASSERT_EQ(big.header_start / kBlockSize, 0u);
  ASSERT_EQ(big.end / kBlockSize, 2u);
  struct Case {
    uint64_t pos;
    std::vector<std::string> faults;  // The reports, in order.
  };
  const Case cases[] = {
      // FIRST's payload: FIRST dropped, then the MIDDLE and LAST orphans.
      {big.header_start + kHeaderSize + 10,
       {"checksum mismatch", "MIDDLE fragment without FIRST", "LAST fragment without FIRST"}},
      // FIRST's type byte.
      {big.header_start + kTypeOffset,
       {"checksum mismatch", "MIDDLE fragment without FIRST", "LAST fragment without FIRST"}},
      // MIDDLE's header: FIRST lost its continuation; LAST is an orphan.
      {kBlockSize + kCrcOffset,
       {"record lost its remaining fragments to later damage", "checksum mismatch",
        "LAST fragment without FIRST"}},
      // LAST's payload.
      {2 * kBlockSize + kHeaderSize + 5,
       {"record lost its remaining fragments to later damage", "checksum mismatch"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("damage at " + std::to_string(c.pos));
    std::string file = log.contents();
    file[c.pos] = static_cast<char>(file[c.pos] ^ 0x10);
    size_t lost = 0;
    ReadResult r = ExpectOnlyDamagedRecordsLost(log, file, &lost);
    EXPECT_EQ(lost, 1u);
    ASSERT_EQ(r.records.size(), 40u);
    EXPECT_EQ(r.records[20], std::string(300, 'A'));  // The record right after the big one.
    ASSERT_EQ(r.reports.size(), c.faults.size());
    for (size_t i = 0; i < c.faults.size(); i++) {
      EXPECT_TRUE(Contains(r.reports[i].reason.message(), c.faults[i]))
          << r.reports[i].reason.ToString();
    }
    EXPECT_EQ(r.ReportedBytes(), big.end - big.header_start);
  }
}

// 64 zeroed bytes: inside a payload, from a header on (an all-zero header
// followed by data), over two records, and across a block boundary. Only
// the records overlapping the zeros are lost.
TEST(LogReaderTest, ResyncAfterZeroedRange) {
  LogBuilder log(kLogNumber);
  AddManySmallRecords(&log, 1200);
  const std::vector<WrittenRecord>& recs = log.records();
  const size_t mid = RecordAt(log, kBlockSize / 2);
  const size_t at_block1 = RecordAt(log, kBlockSize);
  const uint64_t starts[] = {
      recs[mid].header_start + kHeaderSize + 3,  // Payload (and maybe the next header).
      recs[mid].header_start,                    // A header: zero header, data after.
      recs[mid].end - 10,                        // The end of one record and the next.
      kBlockSize - 20,                           // Across the block boundary.
      recs[at_block1].header_start,              // The first header of block 1.
      2 * kBlockSize + 1000,
  };
  for (uint64_t start : starts) {
    SCOPED_TRACE("zeros at " + std::to_string(start));
    std::string file = log.contents();
    std::fill_n(file.begin() + static_cast<long>(start), 64, '\0');
    size_t lost = 0;
    ReadResult r = ExpectOnlyDamagedRecordsLost(log, file, &lost);
    EXPECT_GE(lost, 1u);
    EXPECT_LE(lost, 3u);  // 64 bytes overlap at most 3 records of >= 31 bytes.
    if (start == recs[mid].header_start) {
      ASSERT_FALSE(r.reports.empty());
      EXPECT_TRUE(
          Contains(r.reports[0].reason.message(), "all-zero fragment header followed by data"))
          << r.reports[0].reason.ToString();
    }
  }
}

// A damaged fragment whose payload holds something that looks like a
// header of this log (right log number, type and length) but fails its
// checksum: resync skips it and never returns it.
TEST(LogReaderTest, ResyncNeverReturnsAnUnverifiedFragment) {
  std::string fake = EncodeFragment(kFullType, "forged record", kLogNumber);
  fake[0] = static_cast<char>(fake[0] ^ 0x01);  // Its checksum no longer matches.
  LogBuilder log(kLogNumber);
  log.Add("before");
  log.Add("payload with " + fake + " inside");
  log.Add("after");
  std::string file = log.contents();
  file[log.records()[1].header_start + 1] ^= 0x04;  // The carrier's checksum.
  ReadResult r = ReadLog(file, kLogNumber);
  EXPECT_EQ(r.records, (std::vector<std::string>{"before", "after"}));
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.reports[0].offset, log.records()[1].header_start);
  EXPECT_EQ(r.reports[0].bytes, log.records()[2].header_start - log.records()[1].header_start);
}

// Damage in the middle, then a write cut by a crash: the damage is reported,
// the records around it are kept, and the end is still a torn tail.
TEST(LogReaderTest, TornTailAfterResyncIsStillTorn) {
  LogBuilder log(kLogNumber);
  AddManySmallRecords(&log, 1200);
  const std::vector<WrittenRecord>& recs = log.records();
  const size_t victim = RecordAt(log, kBlockSize + 500);
  const WrittenRecord& last = recs.back();
  for (uint64_t cut = last.append_start + 1; cut < last.end; cut++) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    std::string file = log.contents().substr(0, cut);
    file[recs[victim].header_start + kHeaderSize] ^= 0x01;
    ReadResult r = ReadLog(file, kLogNumber);
    ASSERT_EQ(r.records.size(), recs.size() - 2);
    EXPECT_TRUE(r.records[victim] == recs[victim + 1].payload);
    ASSERT_EQ(r.reports.size(), 1u);
    EXPECT_EQ(r.reports[0].offset, recs[victim].header_start);
    EXPECT_EQ(r.reports[0].bytes, recs[victim + 1].header_start - recs[victim].header_start);
    ASSERT_TRUE(r.torn);
    EXPECT_EQ(r.end, Reader::End::kTornTail);
    EXPECT_EQ(r.torn_bytes, cut - last.append_start);
  }
}

// A whole block overwritten with garbage: the records with bytes in it are
// lost (the multi-block one through its orphans), every other one is read.
TEST(LogReaderTest, DamagedMiddleBlockRecordsAfterItRecovered) {
  LogBuilder log(kLogNumber);
  log.Add(std::string(1000, 'a'));
  log.Add(std::string(80000, 'b'));  // FIRST block 0, MIDDLE block 1, LAST block 2.
  for (int i = 0; i < 5; i++) log.Add(std::string(3000, static_cast<char>('c' + i)));
  log.Add(std::string(9000, 'h'));  // Crosses into block 3.
  for (int i = 0; i < 5; i++) log.Add(std::string(2000, static_cast<char>('i' + i)));
  ASSERT_EQ(log.contents().size() / kBlockSize, 3u);
  // A MIDDLE fragment's header, then its payload.
  for (uint64_t pos : {kBlockSize + 2, kBlockSize + 20000}) {
    SCOPED_TRACE(pos);
    std::string file = log.contents();
    file[pos] ^= 0x40;
    size_t lost = 0;
    ExpectOnlyDamagedRecordsLost(log, file, &lost);
    EXPECT_EQ(lost, 1u);
  }
  Random rnd(test::TestSeed());
  std::string file = log.contents();
  file.replace(kBlockSize, kBlockSize, rnd.RandomBytes(kBlockSize));
  size_t lost = 0;
  ExpectOnlyDamagedRecordsLost(log, file, &lost);
  EXPECT_EQ(lost, 1u);
  // Garbage over blocks 1 and 2: the big record and the five after it.
  file = log.contents();
  file.replace(kBlockSize, 2 * kBlockSize, rnd.RandomBytes(2 * kBlockSize));
  ExpectOnlyDamagedRecordsLost(log, file, &lost);
  EXPECT_EQ(lost, 7u);
}

TEST(LogReaderTest, DamageInsideBlockKeepsEveryOtherRecordOfThatBlock) {
  LogBuilder log(kLogNumber);
  log.Add(std::string(1000, 'a'));
  log.Add(std::string(40000, 'b'));  // Ends in block 1.
  for (int i = 0; i < 4; i++) log.Add(std::string(3000, static_cast<char>('c' + i)));
  log.Add(std::string(30000, 'g'));  // Crosses into block 2.
  for (int i = 0; i < 3; i++) log.Add(std::string(5000, static_cast<char>('h' + i)));
  log.Add(std::string(40000, 'k'));  // Crosses into block 3.
  const WrittenRecord& victim = log.records()[4];
  ASSERT_EQ(victim.header_start / kBlockSize, 1u);
  std::string file = log.contents();
  file[victim.header_start + kHeaderSize + 17] ^= 0x01;
  size_t lost = 0;
  ReadResult r = ExpectOnlyDamagedRecordsLost(log, file, &lost);
  EXPECT_EQ(lost, 1u);
  EXPECT_EQ(r.records.size(), log.records().size() - 1);
}

// ---------------------------------------------------------------- I/O errors

TEST(LogReaderTest, ReadErrorStopsWithIOError) {
  LogBuilder log(kLogNumber);
  log.Add("one");
  log.Add("two");
  log.Add(std::string(40000, 'x'));  // Needs the second block.
  log.Add("three");
  StringSource source(log.contents());
  source.fail_at_read_ = 2;
  logtest::RecordingReporter reporter;
  Reader reader(&source, &reporter, true, kLogNumber, "x.log");
  std::string record;
  ASSERT_TRUE(reader.ReadRecord(&record));
  EXPECT_EQ(record, "one");
  ASSERT_TRUE(reader.ReadRecord(&record));
  EXPECT_EQ(record, "two");
  EXPECT_FALSE(reader.ReadRecord(&record));
  EXPECT_TRUE(reader.status().IsIOError()) << reader.status().ToString();
  EXPECT_EQ(reader.EndReason(), Reader::End::kIOError);
  EXPECT_FALSE(reader.TornTail());
  EXPECT_TRUE(reporter.reports_.empty());
  EXPECT_FALSE(reader.ReadRecord(&record));
  EXPECT_EQ(source.reads_, 2);
}

// ---------------------------------------------------------------- fuzzing

// Random files and randomly damaged logs: the reader never reads outside its
// buffer (run under ASan), never returns a record that was not written, and
// its reports are disjoint and inside the file.
TEST(LogReaderTest, RandomDamageNeverMisbehaves) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  for (int iter = 0; iter < 300; iter++) {
    LogBuilder log(kLogNumber);
    const int n = static_cast<int>(rnd.Uniform(30));
    for (int i = 0; i < n; i++) log.Add(rnd.RandomBytes(rnd.Skewed(16)));
    std::string file = log.contents();
    switch (rnd.Uniform(5)) {
      case 0:  // Pure garbage.
        file = rnd.RandomBytes(rnd.Uniform(3 * kBlockSize));
        break;
      case 1:  // Scattered byte damage.
        for (int k = rnd.Uniform(20); k > 0 && !file.empty(); k--) {
          file[rnd.Uniform(static_cast<uint32_t>(file.size()))] = static_cast<char>(rnd.Next());
        }
        break;
      case 2:  // A zeroed range.
        if (!file.empty()) {
          const size_t at = rnd.Uniform(static_cast<uint32_t>(file.size()));
          std::fill_n(file.begin() + at, std::min<size_t>(file.size() - at, rnd.Skewed(14)), '\0');
        }
        break;
      case 3:  // Truncated, then damaged near the end.
        file.resize(rnd.Uniform(static_cast<uint32_t>(file.size()) + 1));
        if (!file.empty())
          file[file.size() - 1 - rnd.Uniform(std::min<uint32_t>(20, file.size()))] ^= 0x11;
        break;
      default:  // A block duplicated or dropped.
        if (file.size() > 2 * kBlockSize) {
          if (rnd.OneIn(2)) {
            file.insert(kBlockSize, file.substr(0, kBlockSize));
          } else {
            file.erase(0, kBlockSize);
          }
        }
        break;
    }
    const std::vector<std::string> written = log.payloads();
    for (bool verify : {true, false}) {
      ReadResult r = ReadLog(file, kLogNumber, verify);
      ExpectSaneReports(r, file.size());
      EXPECT_LE(r.torn_bytes, file.size());
      if (verify) {
        for (const std::string& rec : r.records) {
          EXPECT_NE(std::find(written.begin(), written.end(), rec), written.end())
              << "iteration " << iter << ": a record that was never written";
        }
      }
    }
  }
}

}  // namespace
}  // namespace lsmkv::log
