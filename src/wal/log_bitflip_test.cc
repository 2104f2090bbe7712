// Flips every single bit of small two-block logs, one at a time, and checks
// that the reader never returns a changed record: each flip is reported as
// corruption, drops the affected records as a torn tail (a length pushed past
// the end of the file, indistinguishable from a cut write), or lands in a
// trailer, which carries no data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/log_testutil.h"
#include "wal/log_writer.h"

namespace lsmkv::log {
namespace {

using logtest::LogBuilder;
using logtest::RecordingReporter;
using logtest::StringSource;

constexpr uint64_t kLogNumber = 7;

struct Outcomes {
  int reported = 0;  // Corruption reported.
  int torn = 0;      // Records dropped silently as a torn tail.
  int harmless = 0;  // Every record intact, nothing reported.
};

void FlipEveryBit(const LogBuilder& log, Outcomes* out) {
  const std::vector<logtest::WrittenRecord>& recs = log.records();
  std::map<uint64_t, size_t> index_at;  // Header offset -> record index.
  for (size_t i = 0; i < recs.size(); i++) index_at[recs[i].header_start] = i;

  // Where a flip may be harmless (trailers) or may look like a cut write
  // (the length field of a fragment in the last, short block).
  const logtest::Layout layout = logtest::ParseLayout(log.contents());
  std::vector<bool> in_trailer(log.contents().size(), false);
  std::vector<bool> in_last_block_length(log.contents().size(), false);
  for (const auto& [begin, end] : layout.trailers) {
    for (uint64_t i = begin; i < end; i++) in_trailer[i] = true;
  }
  const uint64_t last_block = (log.contents().size() - 1) / kBlockSize * kBlockSize;
  for (const logtest::PhysicalFragment& f : layout.fragments) {
    if (f.offset < last_block) continue;
    in_last_block_length[f.offset + kLengthOffset] = true;
    in_last_block_length[f.offset + kLengthOffset + 1] = true;
  }
  ASSERT_FALSE(layout.fragments.empty());

  std::string file = log.contents();
  std::string record;
  for (size_t byte = 0; byte < file.size(); byte++) {
    for (int bit = 0; bit < 8; bit++) {
      file[byte] = static_cast<char>(file[byte] ^ (1 << bit));
      StringSource source(file, /*copy_to_scratch=*/false);
      RecordingReporter reporter;
      Reader reader(&source, &reporter, true, kLogNumber, "flip.log");
      size_t returned = 0;
      bool prefix = true;  // Returned records are recs[0..returned).
      int64_t prev_index = -1;
      while (reader.ReadRecord(&record)) {
        auto it = index_at.find(reader.LastRecordOffset());
        ASSERT_NE(it, index_at.end()) << "flip " << byte << "." << bit << ": unknown offset";
        ASSERT_GT(static_cast<int64_t>(it->second), prev_index);
        ASSERT_EQ(record, recs[it->second].payload)
            << "flip " << byte << "." << bit << " changed record " << it->second;
        if (it->second != returned) prefix = false;
        prev_index = static_cast<int64_t>(it->second);
        returned++;
      }
      ASSERT_TRUE(reader.status().ok());
      if (returned == recs.size()) {
        ASSERT_TRUE(reporter.reports_.empty());
        ASSERT_TRUE(in_trailer[byte]) << "flip " << byte << "." << bit << " went unnoticed";
        out->harmless++;
      } else if (!reporter.reports_.empty()) {
        out->reported++;
      } else {
        ASSERT_TRUE(reader.TornTail()) << "flip " << byte << "." << bit;
        ASSERT_TRUE(prefix);
        ASSERT_TRUE(in_last_block_length[byte]) << "flip " << byte << "." << bit;
        out->torn++;
      }
      file[byte] = static_cast<char>(file[byte] ^ (1 << bit));
    }
  }
  const size_t trailer_bytes = std::count(in_trailer.begin(), in_trailer.end(), true);
  EXPECT_EQ(out->harmless, static_cast<int>(8 * trailer_bytes));
  EXPECT_EQ(out->reported + out->torn + out->harmless, static_cast<int>(8 * file.size()));
  EXPECT_GT(out->reported, 0);
  std::printf("%zu bytes: %d flips reported, %d torn tail, %d in trailers\n", file.size(),
              out->reported, out->torn, out->harmless);
}

// Records of 0, 1 and 1000 bytes, one crossing into the second block
// (FIRST/LAST), then two more in the second block.
TEST(LogBitFlipTest, EveryBitOfTwoBlocksWithCrossingRecord) {
  LogBuilder log(kLogNumber);
  log.Add("");
  log.Add("a");
  log.Add(std::string(1000, 'b'));
  log.Add(std::string(32000, 'c'));
  log.Add("");
  log.Add("end");
  ASSERT_EQ(log.contents().size() / kBlockSize, 1u);
  Outcomes out;
  FlipEveryBit(log, &out);
  EXPECT_EQ(out.harmless, 0);
}

// The first block ends with a 7-byte trailer.
TEST(LogBitFlipTest, EveryBitOfTwoBlocksWithTrailer) {
  LogBuilder log(kLogNumber);
  log.Add("x");
  log.AddEndingBefore(7, 'd');
  log.Add("second block");
  log.Add("");
  ASSERT_EQ(log.contents().size() / kBlockSize, 1u);
  Outcomes out;
  FlipEveryBit(log, &out);
  EXPECT_EQ(out.harmless, 8 * 7);
}

}  // namespace
}  // namespace lsmkv::log
