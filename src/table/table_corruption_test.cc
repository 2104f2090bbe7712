// Attacks on table files: every single-byte change of a small table, every
// truncation, zero-filled and garbage files. A damaged table must be refused
// at Open, report Corruption when a damaged entry is read, or (format
// version 2) be read around the damage, which Table::damage() or
// Table::Verify reports — it must never return a wrong entry, skip entries
// silently, or crash.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "base/dbformat.h"
#include "table/block.h"
#include "table/format.h"
#include "table/table.h"
#include "table/table_builder.h"
#include "table/table_testutil.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using test::InternalKeyMap;

const InternalKeyComparator kCmp(BytewiseComparator());
constexpr char kFileName[] = "000777.sst";

TableOptions Options(CompressionType compression, uint32_t format_version = kTableFormatVersion) {
  TableOptions o;
  o.comparator = &kCmp;
  o.block_size = 256;
  o.block_restart_interval = 4;
  o.compression = compression;
  o.format_version = format_version;
  return o;
}

std::string Build(const TableOptions& options, const InternalKeyMap& data) {
  test::StringSink sink;
  TableBuilder builder(options, &sink);
  for (const auto& [k, v] : data) EXPECT_TRUE(builder.Add(k, v).ok());
  EXPECT_TRUE(builder.Finish().ok());
  return sink.contents();
}

Status Open(const TableOptions& options, const std::string& bytes, std::unique_ptr<Table>* t,
            uint64_t claimed_size) {
  return Table::Open(options, std::make_unique<test::StringSource>(bytes), claimed_size, kFileName,
                     t);
}
Status Open(const TableOptions& options, const std::string& bytes, std::unique_ptr<Table>* t) {
  return Open(options, bytes, t, bytes.size());
}

bool IsNamedCorruption(const Status& s) {
  return s.IsCorruption() && s.ToString().find(kFileName) != std::string::npos;
}

// The regions of a table file, from its footer and meta-index.
struct Layout {
  uint64_t data_end = 0;
  BlockHandle filter, properties, salvage, metaindex, index;
};

Layout Parse(const std::string& bytes) {
  Layout layout;
  Footer footer;
  EXPECT_TRUE(footer.DecodeFrom(bytes).ok());
  layout.metaindex = footer.metaindex_handle();
  layout.index = footer.index_handle();
  Block meta(BlockContents::Copy(
      std::string_view(bytes).substr(layout.metaindex.offset(), layout.metaindex.size())));
  std::unique_ptr<Iterator> it(meta.NewIterator(BytewiseComparator()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BlockHandle h;
    EXPECT_TRUE(h.DecodeExactly(it->value()));
    if (IsBuiltinFilterBlockName(it->key())) layout.filter = h;
    if (it->key() == kPropertiesBlockName) layout.properties = h;
    if (it->key() == kSalvageBlockName) layout.salvage = h;
  }
  layout.data_end = layout.filter.offset();
  return layout;
}

struct Outcome {
  bool open_failed = false;
  bool read_failed = false;
  bool damage_at_open = false;  // opened, Table::damage() reports damage
  bool verify_failed = false;   // Table::Verify found damage
};

// Opens the damaged table and reads everything every way, checking each entry
// it returns against the model. Fails the test on a wrong or missing entry
// that was not reported as Corruption.
Outcome ReadAll(const TableOptions& options, const std::string& bytes, const InternalKeyMap& data) {
  Outcome outcome;
  std::unique_ptr<Table> table;
  Status s = Open(options, bytes, &table);
  if (!s.ok()) {
    EXPECT_TRUE(IsNamedCorruption(s)) << s.ToString();
    EXPECT_EQ(nullptr, table);
    outcome.open_failed = true;
    return outcome;
  }
  outcome.damage_at_open = !table->damage().ok();
  if (outcome.damage_at_open) {
    EXPECT_TRUE(IsNamedCorruption(table->damage())) << table->damage().ToString();
  }
  if (table->has_properties()) {
    EXPECT_EQ(data.size(), table->properties().num_entries);
  }
  uint64_t verified_entries = 0;
  const Status verified = table->Verify(&verified_entries);
  if (verified.ok()) {
    EXPECT_EQ(data.size(), verified_entries);
  } else {
    EXPECT_TRUE(IsNamedCorruption(verified)) << verified.ToString();
    outcome.verify_failed = true;
  }
  const std::vector<std::pair<std::string, std::string>> entries(data.begin(), data.end());
  ReadOptions ro;

  // Forward scan: a prefix of the entries, then either the end or Corruption.
  std::unique_ptr<Iterator> it(table->NewIterator(ro));
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
    EXPECT_LT(i, entries.size());
    if (i >= entries.size()) break;
    EXPECT_EQ(entries[i].first, it->key());
    EXPECT_EQ(entries[i].second, it->value());
  }
  if (!it->status().ok()) {
    EXPECT_TRUE(IsNamedCorruption(it->status())) << it->status().ToString();
    outcome.read_failed = true;
  } else {
    EXPECT_EQ(entries.size(), i) << "entries skipped silently";
  }
  // Backward scan: a suffix, then either the beginning or Corruption.
  i = entries.size();
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    EXPECT_GT(i, 0u);
    if (i == 0) break;
    i--;
    EXPECT_EQ(entries[i].first, it->key());
    EXPECT_EQ(entries[i].second, it->value());
  }
  if (!it->status().ok()) {
    EXPECT_TRUE(IsNamedCorruption(it->status())) << it->status().ToString();
    outcome.read_failed = true;
  } else {
    EXPECT_EQ(0u, i) << "entries skipped silently";
  }
  // Point lookups: the right entry or Corruption.
  for (const auto& [k, v] : entries) {
    int calls = 0;
    Status g = table->InternalGet(ro, k, [&](std::string_view fk, std::string_view fv) {
      calls++;
      EXPECT_EQ(k, fk);
      EXPECT_EQ(v, fv);
    });
    if (g.ok()) {
      EXPECT_EQ(1, calls) << "present key not found";
    } else {
      EXPECT_TRUE(IsNamedCorruption(g)) << g.ToString();
      EXPECT_EQ(0, calls);
      outcome.read_failed = true;
    }
  }
  return outcome;
}

// Reading without checksums: anything may come back, but nothing crashes or
// reads outside the file (ASan).
void ReadWithoutChecksums(const TableOptions& options, const std::string& bytes,
                          const InternalKeyMap& data) {
  std::unique_ptr<Table> table;
  if (!Open(options, bytes, &table).ok()) return;
  ReadOptions ro;
  ro.verify_checksums = false;
  std::unique_ptr<Iterator> it(table->NewIterator(ro));
  int steps = 0;
  for (it->SeekToFirst(); it->Valid() && steps < 10000; it->Next(), steps++) {
    (void)it->key();
  }
  for (it->SeekToLast(); it->Valid() && steps < 20000; it->Prev(), steps++) (void)it->value();
  size_t n = 0;
  for (const auto& [k, v] : data) {
    if (n++ % 5 != 0) continue;
    it->Seek(k);
    it->SeekForPrev(k);
    table->InternalGet(ro, k, [](std::string_view, std::string_view) {}).PermitUncheckedError();
  }
}

class TableCorruptionTest : public testing::TestWithParam<std::tuple<CompressionType, uint32_t>> {};

TEST_P(TableCorruptionTest, EverySingleByteChangeIsDetected) {
  const auto [compression, version] = GetParam();
  Random rnd(test::TestSeed() + 77);
  // Values repeat a little so that every codec actually compresses.
  InternalKeyMap data(test::InternalKeyLess{&kCmp});
  while (data.size() < 60) {
    std::string k;
    AppendInternalKey(&k, test::RandomUserKey(&rnd), rnd.Uniform(1000),
                      rnd.OneIn(4) ? kTypeDeletion : kTypeValue);
    data[k] = rnd.OneIn(5) ? "" : std::string(rnd.Uniform(30), 'x') + rnd.RandomBytes(4);
  }
  const TableOptions options = Options(compression, version);
  const std::string good = Build(options, data);
  const Layout layout = Parse(good);
  ASSERT_GT(layout.data_end, 0u);
  ASSERT_EQ(version >= 2, layout.salvage.size() > 0);
  ASSERT_NO_FATAL_FAILURE({
    const Outcome clean = ReadAll(options, good, data);
    ASSERT_FALSE(clean.open_failed || clean.read_failed || clean.damage_at_open ||
                 clean.verify_failed);
  });

  const std::vector<unsigned> masks = compression == CompressionType::kNone
                                          ? std::vector<unsigned>{0x01, 0x80, 0xff, 0x5a, 0x10}
                                          : std::vector<unsigned>{0x01, 0x80};
  int open_detections = 0, read_detections = 0, open_reports = 0, verify_only = 0, trials = 0;
  for (size_t pos = 0; pos < good.size(); pos++) {
    for (unsigned mask : masks) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      SCOPED_TRACE("byte " + std::to_string(pos) + " xor " + std::to_string(mask));
      const Outcome outcome = ReadAll(options, bad, data);
      ASSERT_FALSE(HasFailure());
      if (version == 1) {
        // Bytes past the data blocks are all checked at Open.
        if (pos >= layout.data_end) {
          ASSERT_TRUE(outcome.open_failed);
        }
        ASSERT_TRUE(outcome.open_failed || outcome.read_failed) << "damage went unnoticed";
      } else {
        // Version 2 opens despite any one damaged byte; the strict check
        // finds every one, and metadata damage is reported at Open (but for
        // the salvage block, which Open does not read).
        ASSERT_FALSE(outcome.open_failed);
        ASSERT_TRUE(outcome.verify_failed) << "damage went unnoticed";
        const bool in_salvage = pos >= layout.salvage.offset() &&
                                pos < layout.salvage.offset() + layout.salvage.size() + 5;
        if (pos >= layout.data_end && !in_salvage) {
          ASSERT_TRUE(outcome.damage_at_open);
        }
        if (pos < layout.data_end || in_salvage) {
          ASSERT_FALSE(outcome.damage_at_open);
        }
        if (!outcome.read_failed && !outcome.damage_at_open) verify_only++;
      }
      open_detections += outcome.open_failed;
      read_detections += outcome.read_failed;
      open_reports += outcome.damage_at_open;
      trials++;
      if (pos % 4 == 0) ReadWithoutChecksums(options, bad, data);
    }
  }
  std::printf(
      "%s, format %u: %d corruptions: %d refused at Open, %d reported by Open (table "
      "opened), %d reported on read, %d seen only by Table::Verify\n",
      CompressionName(compression), version, trials, open_detections, open_reports, read_detections,
      verify_only);
  if (version == 1) {
    EXPECT_EQ(trials, open_detections + read_detections);
  }
  EXPECT_GT(read_detections, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Compressions, TableCorruptionTest,
    testing::Combine(testing::Values(CompressionType::kNone, CompressionType::kSnappy,
                                     CompressionType::kLZ4, CompressionType::kZstd),
                     testing::Values(1u, 2u)),
    [](const auto& info) {
      return std::string(CompressionName(std::get<0>(info.param))) + "_v" +
             std::to_string(std::get<1>(info.param));
    });

class TableDamageTest : public testing::Test {
 protected:
  void SetUp() override {
    Random rnd(5);
    data_ = test::RandomInternalData(&rnd, 200, &kCmp);
    good_ = Build(Options(CompressionType::kNone), data_);
  }
  Status OpenBytes(const std::string& bytes) {
    std::unique_ptr<Table> table;
    Status s = Open(Options(CompressionType::kNone), bytes, &table);
    if (!s.ok()) {
      EXPECT_EQ(nullptr, table);
    }
    return s;
  }

  InternalKeyMap data_{test::InternalKeyLess{&kCmp}};
  std::string good_;
};

TEST_F(TableDamageTest, EveryTruncationIsRefused) {
  ASSERT_TRUE(OpenBytes(good_).ok());
  for (size_t len = 0; len < good_.size(); len++) {
    Status s = OpenBytes(good_.substr(0, len));
    ASSERT_TRUE(IsNamedCorruption(s)) << len << ": " << s.ToString();
  }
  // A file shorter than the size it is claimed to have.
  std::unique_ptr<Table> table;
  for (uint64_t extra : {1, 5, 52, 1000}) {
    Status s = Open(Options(CompressionType::kNone), good_, &table, good_.size() + extra);
    ASSERT_TRUE(IsNamedCorruption(s)) << s.ToString();
  }
}

TEST_F(TableDamageTest, ZeroFilledAndGarbageFilesAreRefused) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{51}, size_t{52}, size_t{53}, size_t{100},
                      size_t{4096}, good_.size()}) {
    Status s = OpenBytes(std::string(size, '\0'));
    ASSERT_TRUE(IsNamedCorruption(s)) << size << ": " << s.ToString();
  }
  Random rnd(test::TestSeed());
  const std::string footer = good_.substr(good_.size() - 2 * Footer::kV2EncodedLength);
  for (int i = 0; i < 500; i++) {
    std::string garbage = rnd.RandomBytes(rnd.Uniform(5000));
    ASSERT_TRUE(IsNamedCorruption(OpenBytes(garbage)));
    // Garbage that ends with a real footer.
    ASSERT_TRUE(IsNamedCorruption(OpenBytes(garbage + footer)));
    // A real table whose end was overwritten with zeros (unwritten pages).
    // Up to one footer's worth: the copy before it is used, and reported.
    std::string tail_zeroed = good_;
    const size_t zeros = 1 + rnd.Uniform(static_cast<uint32_t>(good_.size()));
    std::fill(tail_zeroed.end() - static_cast<std::ptrdiff_t>(zeros), tail_zeroed.end(), '\0');
    if (zeros <= Footer::kV2EncodedLength) {
      std::unique_ptr<Table> table;
      ASSERT_TRUE(Open(Options(CompressionType::kNone), tail_zeroed, &table).ok()) << zeros;
      ASSERT_TRUE(IsNamedCorruption(table->damage())) << zeros;
    } else {
      ASSERT_TRUE(IsNamedCorruption(OpenBytes(tail_zeroed))) << zeros;
    }
  }
  // Two tables back to back are not one table.
  ASSERT_TRUE(IsNamedCorruption(OpenBytes(good_ + good_)));
  // Zeroed data blocks under an intact index: Open works, reading reports it.
  const Layout layout = Parse(good_);
  std::string zero_data = good_;
  std::fill(zero_data.begin(), zero_data.begin() + static_cast<std::ptrdiff_t>(layout.data_end),
            '\0');
  const Outcome outcome = ReadAll(Options(CompressionType::kNone), zero_data, data_);
  EXPECT_FALSE(outcome.open_failed);
  EXPECT_TRUE(outcome.read_failed);
}

TEST_F(TableDamageTest, WrongClaimedSizeOrOptionsNeverCrash) {
  std::unique_ptr<Table> table;
  for (uint64_t claimed = 0; claimed < good_.size(); claimed += 7) {
    Status s = Open(Options(CompressionType::kNone), good_, &table, claimed);
    ASSERT_TRUE(IsNamedCorruption(s)) << claimed;
  }
  // Reading a table of internal keys as plain keys still works (same bytes,
  // different comparator is refused).
  TableOptions plain;
  plain.internal_keys = false;
  EXPECT_TRUE(IsNamedCorruption(Open(plain, good_, &table)));
}

}  // namespace
}  // namespace lsmkv
