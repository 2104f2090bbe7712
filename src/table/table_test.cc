#include "table/table.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "base/dbformat.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "table/cache.h"
#include "table/format.h"
#include "table/table_builder.h"
#include "table/table_counters.h"
#include "table/table_testutil.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using test::InternalKeyMap;
using test::StringSink;
using test::StringSource;

const InternalKeyComparator kCmp(BytewiseComparator());

TableOptions InternalOptions() {
  TableOptions o;
  o.comparator = &kCmp;
  return o;
}

// Builds a table of data; returns its bytes.
std::string BuildTable(const TableOptions& options, const InternalKeyMap& data) {
  StringSink sink;
  TableBuilder builder(options, &sink);
  for (const auto& [k, v] : data) EXPECT_TRUE(builder.Add(k, v).ok());
  EXPECT_EQ(data.size(), builder.NumEntries());
  EXPECT_TRUE(builder.Finish().ok());
  EXPECT_EQ(sink.contents().size(), builder.FileSize());
  EXPECT_EQ(1, sink.syncs());
  return sink.contents();
}

Status OpenTable(const TableOptions& options, const std::string& bytes,
                 std::unique_ptr<Table>* table) {
  return Table::Open(options, std::make_unique<StringSource>(bytes), bytes.size(), "000042.sst",
                     table);
}

std::string UserKeyOf(const std::string& ikey) { return std::string(ExtractUserKey(ikey)); }

using Entries = std::vector<std::pair<std::string, std::string>>;

// The properties of a table built from data with these options.
void CheckRoundTripProperties(const TableProperties& p, const InternalKeyMap& data,
                              const Entries& entries, CompressionType compression,
                              size_t block_size, size_t file_size) {
  EXPECT_EQ(data.size(), p.num_entries);
  uint64_t deletions = 0, key_bytes = 0, value_bytes = 0;
  for (const auto& [k, v] : data) {
    deletions += (ExtractTag(k) & 0xff) == kTypeDeletion;
    key_bytes += k.size();
    value_bytes += v.size();
  }
  EXPECT_EQ(deletions, p.num_deletions);
  EXPECT_EQ(key_bytes, p.raw_key_size);
  EXPECT_EQ(value_bytes, p.raw_value_size);
  EXPECT_EQ(entries.front().first, p.smallest_key);
  EXPECT_EQ(entries.back().first, p.largest_key);
  EXPECT_EQ(std::string(kCmp.Name()), p.comparator_name);
  EXPECT_EQ(compression, p.compression);
  EXPECT_EQ(10u, p.filter_bits_per_key);
  EXPECT_EQ(1u, p.filter_user_keys);
  EXPECT_GE(p.num_data_blocks, (key_bytes + value_bytes) / (block_size + 4096) + 1);
  EXPECT_LT(p.data_size, file_size);
  EXPECT_GT(p.creation_time, 1600000000u);
}

// A forward then a backward scan of it show exactly entries.
void CheckFullScans(Iterator* it, const Entries& entries) {
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
    ASSERT_LT(i, entries.size());
    ASSERT_EQ(entries[i].first, it->key());
    ASSERT_EQ(entries[i].second, it->value());
  }
  ASSERT_EQ(entries.size(), i);
  ASSERT_TRUE(it->status().ok());
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    ASSERT_GT(i, 0u);
    i--;
    ASSERT_EQ(entries[i].first, it->key());
    ASSERT_EQ(entries[i].second, it->value());
  }
  ASSERT_EQ(0u, i);
  ASSERT_TRUE(it->status().ok());
}

// Seek and SeekForPrev to every key; step across block boundaries.
void CheckSeeksToEveryKey(Iterator* it, const Entries& entries) {
  for (size_t j = 0; j < entries.size(); j++) {
    it->Seek(entries[j].first);
    ASSERT_TRUE(it->Valid());
    ASSERT_EQ(entries[j].first, it->key());
    it->Prev();
    ASSERT_EQ(j > 0, it->Valid());
    if (j > 0) {
      ASSERT_EQ(entries[j - 1].first, it->key());
    }
    it->SeekForPrev(entries[j].first);
    ASSERT_TRUE(it->Valid());
    ASSERT_EQ(entries[j].second, it->value());
    it->Next();
    ASSERT_EQ(j + 1 < entries.size(), it->Valid());
    if (j + 1 < entries.size()) {
      ASSERT_EQ(entries[j + 1].first, it->key());
    }
  }
}

// Seek / SeekForPrev to (user key, random sequence) targets drawn from rnd,
// which mostly fall between entries, compared with the model; InternalGet of
// the same targets.
void CheckRandomTargets(Table* table, Iterator* it, const InternalKeyMap& data,
                        const Entries& entries, Random* rnd) {
  ReadOptions ro;
  for (int t = 0; t < 2000; t++) {
    std::string target;
    const std::string& base = entries[rnd->Uniform(static_cast<uint32_t>(entries.size()))].first;
    AppendInternalKey(&target, rnd->OneIn(4) ? test::RandomUserKey(rnd) : UserKeyOf(base),
                      rnd->Next64() & kMaxSequenceNumber,
                      rnd->OneIn(2) ? kTypeValue : kTypeDeletion);
    auto lower = data.lower_bound(target);
    it->Seek(target);
    ASSERT_EQ(lower != data.end(), it->Valid());
    if (it->Valid()) {
      ASSERT_EQ(lower->first, it->key());
    }
    auto upper = data.upper_bound(target);
    it->SeekForPrev(target);
    ASSERT_EQ(upper != data.begin(), it->Valid());
    if (it->Valid()) {
      ASSERT_EQ(std::prev(upper)->first, it->key());
    }

    // InternalGet must report the first entry >= target whenever that entry
    // has target's user key (what a point lookup needs).
    bool found = false;
    std::string got_key, got_value;
    ASSERT_TRUE(table
                    ->InternalGet(ro, target,
                                  [&](std::string_view k, std::string_view v) {
                                    found = true;
                                    got_key = k;
                                    got_value = v;
                                  })
                    .ok());
    if (lower != data.end() && UserKeyOf(lower->first) == UserKeyOf(target)) {
      ASSERT_TRUE(found);
      ASSERT_EQ(lower->first, got_key);
      ASSERT_EQ(lower->second, got_value);
    } else if (found) {
      ASSERT_NE(UserKeyOf(target), UserKeyOf(got_key));
    }
  }
  ASSERT_TRUE(it->status().ok());
}

// InternalGet of every key finds exactly it.
void CheckInternalGetOfEveryKey(Table* table, const Entries& entries) {
  ReadOptions ro;
  for (const auto& [k, v] : entries) {
    int calls = 0;
    ASSERT_TRUE(table
                    ->InternalGet(ro, k,
                                  [&](std::string_view fk, std::string_view fv) {
                                    calls++;
                                    ASSERT_EQ(k, fk);
                                    ASSERT_EQ(v, fv);
                                  })
                    .ok());
    ASSERT_EQ(1, calls);
    ASSERT_TRUE(table->KeyMayMatch(UserKeyOf(k)));
  }
}

// Offsets grow with the key and stay inside the data.
void CheckOffsets(Table* table, const Entries& entries, uint64_t data_size) {
  uint64_t last = 0;
  for (size_t j = 0; j < entries.size(); j += 7) {
    const uint64_t off = table->ApproximateOffsetOf(entries[j].first);
    ASSERT_GE(off, last);
    last = off;
  }
  EXPECT_EQ(0u, table->ApproximateOffsetOf(entries.front().first));
  std::string beyond;
  AppendInternalKey(&beyond, std::string(40, '\xff'), 0, kTypeDeletion);
  EXPECT_EQ(data_size, table->ApproximateOffsetOf(beyond));
}

class TableRoundTripTest : public testing::TestWithParam<std::tuple<CompressionType, size_t>> {};

TEST_P(TableRoundTripTest, EveryEntryBackEveryWay) {
  const auto [compression, block_size] = GetParam();
  const uint32_t seed =
      test::TestSeed() + static_cast<uint32_t>(block_size) + static_cast<uint32_t>(compression);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 3000, &kCmp, 120);
  const Entries entries(data.begin(), data.end());

  TableOptions options = InternalOptions();
  options.compression = compression;
  options.block_size = block_size;
  options.block_restart_interval = 1 + static_cast<int>(rnd.Uniform(20));
  const std::string bytes = BuildTable(options, data);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, bytes, &table).ok());

  const TableProperties& p = table->properties();
  CheckRoundTripProperties(p, data, entries, compression, block_size, bytes.size());

  std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
  ASSERT_NO_FATAL_FAILURE(CheckFullScans(it.get(), entries));
  ASSERT_NO_FATAL_FAILURE(CheckSeeksToEveryKey(it.get(), entries));
  ASSERT_NO_FATAL_FAILURE(CheckRandomTargets(table.get(), it.get(), data, entries, &rnd));
  ASSERT_NO_FATAL_FAILURE(CheckInternalGetOfEveryKey(table.get(), entries));
  ASSERT_NO_FATAL_FAILURE(CheckOffsets(table.get(), entries, p.data_size));
}

INSTANTIATE_TEST_SUITE_P(
    AllCompressionsAndBlockSizes, TableRoundTripTest,
    testing::Combine(testing::Values(CompressionType::kNone, CompressionType::kSnappy,
                                     CompressionType::kLZ4, CompressionType::kZstd),
                     testing::Values(size_t{256}, size_t{4096}, size_t{65536})));

// Both layouts of the built-in filter (table/bloom.h): lines, written by
// default, and classic, which older tables hold and format version 1 writes —
// each under its own meta-index name, each read with its own layout.
class TableFilterLayoutTest : public testing::TestWithParam<BloomLayout> {};

TEST_P(TableFilterLayoutTest, FilterSavesReadsForAbsentKeys) {
  Random rnd(17);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 2000, &kCmp);
  TableCounters counters;
  TableOptions options = InternalOptions();
  options.counters = &counters;
  options.bloom_layout = GetParam();
  const std::string bytes = BuildTable(options, data);
  // The meta-index names the layout (its keys are stored whole; the
  // classic name is a prefix of the line one).
  const bool lines = GetParam() == BloomLayout::kLines;
  EXPECT_EQ(lines, bytes.find(kLineFilterBlockName) != std::string::npos);
  EXPECT_NE(std::string::npos, bytes.find(kFilterBlockName));
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, bytes, &table).ok());
  const uint64_t reads_after_open = counters.block_reads.load();
  EXPECT_EQ(4u, reads_after_open);  // index, meta-index, properties, filter

  int absent = 0;
  for (int i = 0; i < 1000; i++) {
    const std::string user_key = "absent-" + std::to_string(i);
    LookupKey lk(user_key, kMaxSequenceNumber);
    bool found = false;
    ASSERT_TRUE(table
                    ->InternalGet(ReadOptions(), lk.internal_key(),
                                  [&](std::string_view k, std::string_view) {
                                    found = ExtractUserKey(k) == user_key;
                                  })
                    .ok());
    EXPECT_FALSE(found);
    absent++;
  }
  EXPECT_EQ(1000u, counters.bloom_checks.load());
  EXPECT_GE(counters.bloom_useful.load(), 970u);  // ~1% false positives
  EXPECT_EQ(reads_after_open + (1000 - counters.bloom_useful.load()), counters.block_reads.load());

  const uint64_t useful = counters.bloom_useful.load();
  for (const auto& [k, v] : data) {
    ASSERT_TRUE(
        table->InternalGet(ReadOptions(), k, [](std::string_view, std::string_view) {}).ok());
  }
  EXPECT_EQ(useful, counters.bloom_useful.load());  // never for present keys
  EXPECT_EQ(1000u + data.size(), counters.bloom_checks.load());
}

INSTANTIATE_TEST_SUITE_P(BothLayouts, TableFilterLayoutTest,
                         testing::Values(BloomLayout::kLines, BloomLayout::kClassic),
                         [](const testing::TestParamInfo<BloomLayout>& info) {
                           return std::string(info.param == BloomLayout::kLines ? "lines"
                                                                                : "classic");
                         });

// Tables of format version 1 are for readers that predate version 2 and so
// the line filter: they get the classic one whatever bloom_layout says, and
// it is used.
TEST(TableTest, FormatVersion1TablesGetTheClassicFilter) {
  Random rnd(29);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 500, &kCmp);
  for (uint32_t version : {1u, 2u}) {
    SCOPED_TRACE("version " + std::to_string(version));
    TableCounters counters;
    TableOptions options = InternalOptions();
    options.format_version = version;
    options.bloom_layout = BloomLayout::kLines;
    options.counters = &counters;
    const std::string bytes = BuildTable(options, data);
    EXPECT_EQ(version == 2, bytes.find(kLineFilterBlockName) != std::string::npos);
    EXPECT_NE(std::string::npos, bytes.find(kFilterBlockName));
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenTable(options, bytes, &table).ok());
    for (int i = 0; i < 200; i++) {
      LookupKey lk("absent-" + std::to_string(i), kMaxSequenceNumber);
      ASSERT_TRUE(table
                      ->InternalGet(ReadOptions(), lk.internal_key(),
                                    [](std::string_view, std::string_view) {})
                      .ok());
    }
    EXPECT_EQ(200u, counters.bloom_checks.load());
    EXPECT_GE(counters.bloom_useful.load(), 190u);
  }
}

// A user's policy that rules out every key: a reader that handed it another
// filter's bytes would lose keys.
class NeverPolicy final : public FilterPolicy {
 public:
  const char* Name() const override { return "test.never"; }
  void CreateFilter(const std::string_view*, size_t, std::string* dst) const override {
    dst->push_back('n');
  }
  bool KeyMayMatch(std::string_view, std::string_view) const override { return false; }
};

// A reader with a user's filter policy opens a table that holds the
// built-in line filter: that filter is not its own, so it reads without
// one, and the line filter only bounds the data blocks — every key reads.
TEST(TableTest, ALineFilterIsAnotherPolicysFilterToAUserPolicy) {
  Random rnd(31);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 1500, &kCmp);
  TableOptions options = InternalOptions();
  const std::string bytes = BuildTable(options, data);
  ASSERT_NE(std::string::npos, bytes.find(kLineFilterBlockName));
  TableCounters counters;
  TableOptions reader = options;
  reader.filter_policy = std::make_shared<NeverPolicy>();
  reader.counters = &counters;
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(reader, bytes, &table).ok());
  ASSERT_NO_FATAL_FAILURE(
      CheckInternalGetOfEveryKey(table.get(), Entries(data.begin(), data.end())));
  EXPECT_EQ(0u, counters.bloom_checks.load());
  std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(data.size(), n);
}

TEST(TableTest, NoFilterWhenDisabled) {
  Random rnd(3);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 200, &kCmp);
  TableCounters counters;
  TableOptions options = InternalOptions();
  options.bloom_bits_per_key = 0;
  options.counters = &counters;
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, BuildTable(options, data), &table).ok());
  EXPECT_EQ(0u, table->properties().filter_bits_per_key);
  EXPECT_TRUE(table->KeyMayMatch("certainly absent"));
  LookupKey lk("certainly absent", 5);
  ASSERT_TRUE(
      table
          ->InternalGet(ReadOptions(), lk.internal_key(), [](std::string_view, std::string_view) {})
          .ok());
  EXPECT_EQ(0u, counters.bloom_checks.load());
}

TEST(TableTest, PlainKeysWithBytewiseComparator) {
  TableOptions options;
  options.internal_keys = false;
  options.block_size = 128;
  StringSink sink;
  TableBuilder builder(options, &sink);
  std::vector<std::string> keys = {"", "a", "ab", std::string(1, '\xff')};
  for (const auto& k : keys) ASSERT_TRUE(builder.Add(k, "v" + k).ok());
  ASSERT_TRUE(builder.Finish().ok());
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, sink.contents(), &table).ok());
  for (const auto& k : keys) {
    EXPECT_TRUE(table->KeyMayMatch(k));
    std::string value;
    ASSERT_TRUE(table
                    ->InternalGet(ReadOptions(), k,
                                  [&](std::string_view, std::string_view v) { value = v; })
                    .ok());
    EXPECT_EQ("v" + k, value);
  }
  EXPECT_EQ(0u, table->properties().num_deletions);
  EXPECT_EQ(0u, table->properties().filter_user_keys);
}

TEST(TableTest, FilterOfAnotherKeyKindIsNotUsed) {
  // Written with a filter over user keys (8-byte tags stripped) ...
  TableOptions writer;
  writer.internal_keys = true;
  StringSink sink;
  TableBuilder builder(writer, &sink);
  std::vector<std::string> keys;
  for (int i = 0; i < 100; i++) keys.push_back("key-" + std::to_string(1000 + i) + "-tag-tag");
  for (const auto& k : keys) ASSERT_TRUE(builder.Add(k, "v").ok());
  ASSERT_TRUE(builder.Finish().ok());
  // ... read as plain keys: probing with whole keys would miss them all.
  TableOptions reader;
  reader.internal_keys = false;
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(reader, sink.contents(), &table).ok());
  for (const auto& k : keys) {
    EXPECT_TRUE(table->KeyMayMatch(k));
    int found = 0;
    ASSERT_TRUE(table
                    ->InternalGet(ReadOptions(), k,
                                  [&](std::string_view fk, std::string_view) { found += fk == k; })
                    .ok());
    EXPECT_EQ(1, found);
  }
  // Read as written, the filter works.
  ASSERT_TRUE(OpenTable(writer, sink.contents(), &table).ok());
  EXPECT_TRUE(table->KeyMayMatch("key-1000"));
  int rejected = 0;
  for (int i = 0; i < 100; i++) rejected += !table->KeyMayMatch("absent-" + std::to_string(i));
  EXPECT_GE(rejected, 90);
}

TEST(TableTest, EmptyTableIsValid) {
  TableOptions options = InternalOptions();
  StringSink sink;
  TableBuilder builder(options, &sink);
  ASSERT_TRUE(builder.Finish().ok());
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, sink.contents(), &table).ok());
  EXPECT_EQ(0u, table->properties().num_entries);
  EXPECT_EQ(0u, table->properties().num_data_blocks);
  std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
  LookupKey lk("k", 1);
  bool found = false;
  ASSERT_TRUE(table
                  ->InternalGet(ReadOptions(), lk.internal_key(),
                                [&](std::string_view, std::string_view) { found = true; })
                  .ok());
  EXPECT_FALSE(found);
}

TEST(TableTest, BuilderRejectsOutOfOrderAndDuplicateKeys) {
  std::string k1, k2, k2_older;
  AppendInternalKey(&k1, "a", 5, kTypeValue);
  AppendInternalKey(&k2, "b", 9, kTypeValue);
  AppendInternalKey(&k2_older, "b", 3, kTypeValue);
  struct Case {
    std::vector<std::string> keys;
  };
  const std::vector<std::vector<std::string>> cases = {
      {k2, k1},        // user keys out of order
      {k1, k1},        // duplicate
      {k2_older, k2},  // same user key, newer after older
      {k1, "short"},   // not an internal key
  };
  for (const auto& keys : cases) {
    StringSink sink;
    TableBuilder builder(InternalOptions(), &sink);
    ASSERT_TRUE(builder.Add(keys[0], "v").ok());
    Status s = builder.Add(keys[1], "v");
    ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_TRUE(builder.status().IsInvalidArgument());
    EXPECT_TRUE(builder.Add(k2 + "z", "v").IsInvalidArgument());  // stays failed
    EXPECT_EQ(1u, builder.NumEntries());
    EXPECT_TRUE(builder.Finish().IsInvalidArgument());
    EXPECT_EQ(0, sink.syncs());
    std::unique_ptr<Table> table;
    EXPECT_TRUE(OpenTable(InternalOptions(), sink.contents(), &table).IsCorruption());
  }
  StringSink sink;
  TableBuilder builder(InternalOptions(), &sink);
  Status s = builder.Add(k2, "v");
  ASSERT_TRUE(s.ok());
  s = builder.Add(k1, "v");
  EXPECT_NE(std::string::npos, s.ToString().find("keys out of order")) << s.ToString();
  // Add after Finish is refused too.
  StringSink sink2;
  TableBuilder done(InternalOptions(), &sink2);
  ASSERT_TRUE(done.Finish().ok());
  EXPECT_TRUE(done.Add(k1, "v").IsInvalidArgument());
}

TEST(TableTest, WriteErrorFailsBuilder) {
  Random rnd(8);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 500, &kCmp);
  StringSink sink;
  TableOptions options = InternalOptions();
  options.block_size = 256;
  TableBuilder builder(options, &sink);
  sink.set_fail_appends(true);
  Status first_error;
  for (const auto& [k, v] : data) {
    Status s = builder.Add(k, v);
    if (!s.ok()) {
      first_error = s;
      break;
    }
  }
  EXPECT_TRUE(first_error.IsIOError());
  EXPECT_TRUE(builder.Finish().IsIOError());
  EXPECT_EQ(0, sink.syncs());
}

TEST(TableTest, ComparatorMismatchIsRefused) {
  Random rnd(4);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 50, &kCmp);
  const std::string bytes = BuildTable(InternalOptions(), data);
  TableOptions other;  // bytewise comparator
  std::unique_ptr<Table> table;
  Status s = OpenTable(other, bytes, &table);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(std::string::npos, s.ToString().find("comparator")) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("000042.sst")) << s.ToString();
  EXPECT_EQ(nullptr, table);
}

TEST(TableTest, CompressionShrinksCompressibleData) {
  InternalKeyMap data(test::InternalKeyLess{&kCmp});
  for (int i = 0; i < 2000; i++) {
    std::string k;
    AppendInternalKey(&k, "key" + std::to_string(100000 + i), 1, kTypeValue);
    data[k] = std::string(100, static_cast<char>('a' + i % 3)) + std::to_string(i);
  }
  TableOptions options = InternalOptions();
  const size_t plain = BuildTable(options, data).size();
  for (CompressionType c :
       {CompressionType::kSnappy, CompressionType::kLZ4, CompressionType::kZstd}) {
    options.compression = c;
    const std::string bytes = BuildTable(options, data);
    EXPECT_LT(bytes.size(), plain / 2) << CompressionName(c);
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenTable(options, bytes, &table).ok());
    std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
    auto expected = data.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
      ASSERT_EQ(expected->first, it->key());
      ASSERT_EQ(expected->second, it->value());
    }
    EXPECT_EQ(data.end(), expected);
    EXPECT_TRUE(it->status().ok());
  }
}

TEST(TableTest, BlockCacheHitsAndFillCache) {
  Random rnd(21);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 1000, &kCmp);
  std::unique_ptr<Cache> cache = NewLRUCache(1 << 20);
  TableCounters counters;
  TableOptions options = InternalOptions();
  options.block_size = 512;
  options.block_cache = cache.get();
  options.counters = &counters;
  const std::string bytes = BuildTable(options, data);
  std::unique_ptr<Table> table, twin;
  ASSERT_TRUE(OpenTable(options, bytes, &table).ok());
  ASSERT_TRUE(OpenTable(options, bytes, &twin).ok());
  const uint64_t blocks = table->properties().num_data_blocks;

  auto scan = [&](const Table& t, const ReadOptions& ro) {
    std::unique_ptr<Iterator> it(t.NewIterator(ro));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    EXPECT_TRUE(it->status().ok());
    return n;
  };
  ReadOptions no_fill;
  no_fill.fill_cache = false;
  EXPECT_EQ(data.size(), scan(*table, no_fill));
  EXPECT_EQ(0u, cache->TotalCharge());
  ReadOptions no_verify;
  no_verify.verify_checksums = false;
  EXPECT_EQ(data.size(), scan(*table, no_verify));
  EXPECT_EQ(0u, cache->TotalCharge());  // unverified blocks are not cached
  EXPECT_EQ(0u, counters.block_cache_hits.load());

  EXPECT_EQ(data.size(), scan(*table, ReadOptions()));
  EXPECT_GT(cache->TotalCharge(), 0u);
  const uint64_t reads = counters.block_reads.load();
  EXPECT_EQ(data.size(), scan(*table, ReadOptions()));
  EXPECT_EQ(blocks, counters.block_cache_hits.load());
  EXPECT_EQ(reads, counters.block_reads.load());  // all from the cache
  // Another table (same bytes, other cache id) does not see these blocks.
  EXPECT_EQ(data.size(), scan(*twin, ReadOptions()));
  EXPECT_EQ(blocks, counters.block_cache_hits.load());
  EXPECT_GT(counters.block_reads.load(), reads);
}

}  // namespace
}  // namespace lsmkv

namespace lsmkv {
namespace {

// Scans read sequential blocks Table::kScanReadahead bytes at a time, both
// ways, and give the same entries as one block per read; a damaged block met
// through the readahead window is still Corruption.
TEST(TableTest, ScansReadAheadBothWays) {
  Random rnd(test::TestSeed() + 77);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 15000, &kCmp, 60);
  TableOptions options = InternalOptions();
  options.block_size = 256;
  TableCounters counters;
  options.counters = &counters;
  const std::string bytes = BuildTable(options, data);
  auto source = std::make_unique<StringSource>(bytes);
  const StringSource* file = source.get();
  std::unique_ptr<Table> table;
  ASSERT_TRUE(Table::Open(options, std::move(source), bytes.size(), "000042.sst", &table).ok());
  const uint64_t blocks = table->properties().num_data_blocks;
  ASSERT_GT(blocks * 256, 4 * Table::kScanReadahead);  // several windows

  const int reads_at_open = file->reads();
  const uint64_t block_reads_at_open = counters.block_reads.load();
  std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
  auto expected = data.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    ASSERT_NE(expected, data.end());
    ASSERT_EQ(expected->first, it->key());
    ASSERT_EQ(expected->second, it->value());
  }
  ASSERT_TRUE(it->status().ok());
  EXPECT_EQ(data.end(), expected);
  const int forward_reads = file->reads() - reads_at_open;
  // Two single-block reads before the run is recognised, then one per window.
  EXPECT_LE(forward_reads, 2 + static_cast<int>(bytes.size() / Table::kScanReadahead) + 1);
  EXPECT_EQ(blocks, counters.block_reads.load() - block_reads_at_open);  // each block once

  auto reverse = data.rbegin();
  for (it->SeekToLast(); it->Valid(); it->Prev(), ++reverse) {
    ASSERT_NE(reverse, data.rend());
    ASSERT_EQ(reverse->first, it->key());
    ASSERT_EQ(reverse->second, it->value());
  }
  ASSERT_TRUE(it->status().ok());
  EXPECT_EQ(data.rend(), reverse);
  const int backward_reads = file->reads() - reads_at_open - forward_reads;
  EXPECT_LE(backward_reads, 2 + static_cast<int>(bytes.size() / Table::kScanReadahead) + 1);

  // A seek, then a few Next: no run, no readahead (one read per block).
  const int before_seek = file->reads();
  it->Seek(std::next(data.begin(), 7000)->first);
  for (int i = 0; i < 3 && it->Valid(); i++) it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_LE(file->reads() - before_seek, 2);

  // Damage the first key of a data block near the middle (a byte of an
  // entry, so that salvage cannot recover that entry's group): the scans
  // stop there.
  std::string damaged = bytes;
  const uint64_t block_start = table->ApproximateOffsetOf(std::next(data.begin(), 5000)->first);
  ASSERT_GT(block_start, 0u);
  damaged[block_start + 3] ^= 0x40;
  std::unique_ptr<Table> bad;
  ASSERT_TRUE(OpenTable(options, damaged, &bad).ok());
  for (bool forward : {true, false}) {
    std::unique_ptr<Iterator> scan(bad->NewIterator(ReadOptions()));
    size_t n = 0;
    if (forward) {
      for (scan->SeekToFirst(); scan->Valid(); scan->Next()) n++;
    } else {
      for (scan->SeekToLast(); scan->Valid(); scan->Prev()) n++;
    }
    EXPECT_TRUE(scan->status().IsCorruption()) << scan->status().ToString();
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, data.size());
  }
}

// A file whose bytes stay in memory (as a mapped file's do): reads return
// views into them and Pin() keeps them alive. Damage() changes a byte in
// place, as a page of a mapping re-read from a damaged disk would.
class PinnedSource final : public RandomAccessFile {
 public:
  explicit PinnedSource(std::string contents)
      : contents_(std::make_shared<std::string>(std::move(contents))) {}
  Status Read(uint64_t offset, size_t n, std::string_view* result, char*) const override {
    const size_t at = std::min<size_t>(static_cast<size_t>(offset), contents_->size());
    *result = std::string_view(*contents_).substr(at, n);
    return Status::OK();
  }
  std::shared_ptr<const void> Pin() const override { return contents_; }
  void Damage(size_t offset) { (*contents_)[offset] ^= 0x10; }

 private:
  std::shared_ptr<std::string> contents_;
};

// The point reads and seeks of the mapped-table tests: each key found with
// its value, through InternalGet and through a new iterator.
void ReadSomeKeys(const Table& table, const InternalKeyMap& data, Random* rnd, int reads) {
  for (int i = 0; i < reads; i++) {
    auto target = std::next(
        data.begin(), static_cast<ptrdiff_t>(rnd->Uniform(static_cast<uint32_t>(data.size()))));
    std::string got;
    ASSERT_TRUE(table
                    .InternalGet(ReadOptions(), target->first,
                                 [&](std::string_view k, std::string_view v) {
                                   if (k == target->first) got = v;
                                 })
                    .ok());
    EXPECT_EQ(target->second, got);
    std::unique_ptr<Iterator> it(table.NewIterator(ReadOptions()));
    it->Seek(target->first);
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(target->first, it->key());
  }
}

// A mapped table reads its uncompressed blocks in place, by scans and point
// reads alike, and leaves the block cache alone; the blocks of a compressed
// mapped table (decompressed copies) do enter it.
TEST(TableTest, AMappedTableReadsUncompressedBlocksInPlace) {
  for (CompressionType compression : {CompressionType::kNone, CompressionType::kSnappy}) {
    SCOPED_TRACE(CompressionName(compression));
    Random rnd(test::TestSeed() + 5);
    const InternalKeyMap data = test::RandomInternalData(&rnd, 3000, &kCmp);
    std::unique_ptr<Cache> cache = NewLRUCache(8 << 20);
    TableCounters counters;
    TableOptions options = InternalOptions();
    options.block_size = 512;
    options.block_cache = cache.get();
    options.counters = &counters;
    options.compression = compression;
    const std::string bytes = BuildTable(options, data);
    std::unique_ptr<Table> table;
    ASSERT_TRUE(Table::Open(options, std::make_unique<PinnedSource>(bytes), bytes.size(),
                            "000043.sst", &table)
                    .ok());
    ASSERT_GT(table->properties().num_data_blocks, 20u);
    for (bool forward : {true, false}) {
      std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
      size_t n = 0;
      if (forward) {
        for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
      } else {
        for (it->SeekToLast(); it->Valid(); it->Prev()) n++;
      }
      ASSERT_TRUE(it->status().ok());
      EXPECT_EQ(data.size(), n);
    }
    ReadSomeKeys(*table, data, &rnd, 50);
    if (compression == CompressionType::kNone) {
      EXPECT_EQ(0u, cache->TotalCharge());
      EXPECT_EQ(0u, counters.block_cache_hits.load() + counters.block_cache_misses.load());
    } else {
      EXPECT_GT(cache->TotalCharge(), 10 * 400u);
      EXPECT_GT(counters.block_cache_hits.load(), 0u);
    }
  }
}

// Since a mapped table's blocks are not kept verified in the cache, every
// read checks the block's checksum again: a block damaged after it was
// first read well is reported on the next read (a cached copy would have
// hidden the damage from every later read).
TEST(TableTest, AMappedTableChecksEveryReadOfABlock) {
  Random rnd(test::TestSeed() + 6);
  const InternalKeyMap data = test::RandomInternalData(&rnd, 2000, &kCmp);
  std::unique_ptr<Cache> cache = NewLRUCache(8 << 20);
  TableOptions options = InternalOptions();
  options.block_size = 512;
  options.block_cache = cache.get();
  const std::string bytes = BuildTable(options, data);
  auto source = std::make_unique<PinnedSource>(bytes);
  PinnedSource* file = source.get();
  std::unique_ptr<Table> table;
  ASSERT_TRUE(Table::Open(options, std::move(source), bytes.size(), "000044.sst", &table).ok());
  const std::string& first_key = data.begin()->first;
  auto read_first = [&](std::string* value) {
    return table->InternalGet(ReadOptions(), first_key,
                              [&](std::string_view, std::string_view v) { *value = v; });
  };
  std::string value;
  ASSERT_TRUE(read_first(&value).ok());
  ASSERT_EQ(data.begin()->second, value);
  file->Damage(1);  // inside the first data block
  value.clear();
  const Status s = read_first(&value);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  // Salvage may still find the entry in an intact part of the block: then
  // with its right value.
  if (!value.empty()) {
    EXPECT_EQ(data.begin()->second, value);
  }
}

// The bytewise order under another object: a table read with it has no
// index fences (Table::BuildIndexFences wants BytewiseComparator() itself),
// so its point reads search the index block — the reference the fences
// must agree with.
class BytewiseClone final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    return BytewiseComparator()->Compare(a, b);
  }
  const char* Name() const override { return BytewiseComparator()->Name(); }
  void FindShortestSeparator(std::string* start, std::string_view limit) const override {
    BytewiseComparator()->FindShortestSeparator(start, limit);
  }
  void FindShortSuccessor(std::string* key) const override {
    BytewiseComparator()->FindShortSuccessor(key);
  }
};

// User keys of one of the shapes the fences must handle: 0, a long prefix
// shared by every key then digits (the prefix is stripped); 1, keys that
// differ in their first byte and then only after ten equal bytes (most
// fences equal: the index block's search decides); 2, the test's mix of
// empty keys, runs of 0x00 and 0xff and random bytes; 3 and 4, shape 0
// with a few keys of another prefix after them (the test adds one more
// there: a key a short successor replaces in the index, or one it cannot);
// 5, digits after a short prefix, as a benchmark's keys.
std::string FenceTestKey(int shape, Random* rnd) {
  switch (shape) {
    case 0:
      return "tenant/000042/user:" + std::to_string(1000000000 + rnd->Uniform(1000000)) +
             (rnd->OneIn(3) ? "/" + rnd->RandomBytes(rnd->Uniform(4)) : "");
    case 1:
      return std::string(1, static_cast<char>('a' + rnd->Uniform(4))) + std::string(10, 'm') +
             rnd->RandomBytes(rnd->Uniform(5));
    case 2:
      return test::RandomUserKey(rnd);
    case 3:
    case 4:
      // Mostly shape 0; a few keys after all of those that lack their
      // prefix, so that the last data block holds keys the prefix misses.
      if (rnd->OneIn(300)) return "tenant/000043/" + std::to_string(rnd->Uniform(1000));
      return FenceTestKey(0, rnd);
    default: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%016u", static_cast<unsigned>(rnd->Uniform(5000000)));
      return buf;
    }
  }
}

// Point reads through the index fences find what the index block's search
// finds, for keys present and absent, before and after every key, sharing
// or lacking the common prefix, in every key shape, with and without a
// filter (without one, absent keys reach the fences too), with one entry,
// one block and many; and the fences decide most reads without the search.
TEST(TableTest, IndexFencesAgreeWithTheIndexSearch) {
  const BytewiseClone clone;
  const InternalKeyComparator clone_cmp(&clone);
  for (int shape = 0; shape < 6; shape++) {
    for (size_t entries : {size_t{1}, size_t{40}, size_t{3000}}) {
      for (int bloom_bits : {0, 10}) {
        SCOPED_TRACE("shape " + std::to_string(shape) + ", " + std::to_string(entries) +
                     " entries, bloom " + std::to_string(bloom_bits));
        Random rnd(test::TestSeed() + 11 + static_cast<uint32_t>(shape * 100 + entries));
        InternalKeyMap data(test::InternalKeyLess{&kCmp});
        while (data.size() < entries) {
          const std::string user_key = FenceTestKey(shape, &rnd);
          // Some keys in several versions, so that index keys can share a
          // user key across blocks.
          const int versions = rnd.OneIn(4) ? 1 + static_cast<int>(rnd.Uniform(6)) : 1;
          for (int v = 0; v < versions && data.size() < entries; v++) {
            std::string ikey;
            AppendInternalKey(&ikey, user_key, rnd.Next64() & kMaxSequenceNumber,
                              rnd.OneIn(5) ? kTypeDeletion : kTypeValue);
            data[ikey] = rnd.RandomBytes(rnd.Uniform(40));
          }
        }
        if (entries > 1 && (shape == 3 || shape == 4)) {
          // The table's last key, without the others' prefix: the index's
          // last key is then its short successor "u" (shape 3) or the key
          // itself (shape 4: nothing to increment).
          std::string ikey;
          AppendInternalKey(&ikey, shape == 3 ? "tenant/000043/0" : "\xff\xff\xff", 1, kTypeValue);
          data[ikey] = "last";
        }
        TableCounters counters;
        TableOptions options = InternalOptions();
        options.block_size = 256;
        options.bloom_bits_per_key = bloom_bits;
        options.counters = &counters;
        const std::string bytes = BuildTable(options, data);
        std::unique_ptr<Table> table;
        ASSERT_TRUE(Table::Open(options, std::make_unique<PinnedSource>(bytes), bytes.size(),
                                "000045.sst", &table)
                        .ok());
        TableOptions reference_options = options;
        reference_options.comparator = &clone_cmp;
        reference_options.counters = nullptr;
        std::unique_ptr<Table> reference;
        ASSERT_TRUE(OpenTable(reference_options, bytes, &reference).ok());

        std::vector<std::string> user_keys;
        for (const auto& [k, v] : data) user_keys.push_back(UserKeyOf(k));
        const std::string first = user_keys.front();
        for (std::string extra : {std::string(), std::string(40, '\xff'), std::string(1, '\0'),
                                  first.substr(0, first.size() / 2), first + std::string(9, '\xff'),
                                  first + std::string(1, '\0'), user_keys.back() + "\x01"}) {
          user_keys.push_back(extra);
        }
        // Keys that leave the first key's path at each depth, one byte
        // larger: some leave the prefix every index key but the last shares
        // and fall between those keys and the last index key (often a
        // short successor such as "u" after "tenant/...").
        for (size_t j = 0; j < first.size(); j++) {
          if (static_cast<unsigned char>(first[j]) == 0xff) continue;
          user_keys.push_back(first.substr(0, j) + static_cast<char>(first[j] + 1));
        }
        for (int i = 0; i < 3000; i++) user_keys.push_back(FenceTestKey(shape, &rnd));

        auto get = [](const Table& t, const std::string& target, std::string* key,
                      std::string* value) {
          bool found = false;
          const Status s =
              t.InternalGet(ReadOptions(), target, [&](std::string_view k, std::string_view v) {
                found = true;
                key->assign(k.data(), k.size());
                value->assign(v.data(), v.size());
              });
          EXPECT_TRUE(s.ok()) << s.ToString();
          return found;
        };
        for (const std::string& user_key : user_keys) {
          for (SequenceNumber seq :
               {kMaxSequenceNumber, rnd.Next64() & kMaxSequenceNumber, SequenceNumber{0}}) {
            std::string target;
            AppendInternalKey(&target, user_key, seq, kTypeValue);
            std::string key, value, ref_key, ref_value;
            const bool found = get(*table, target, &key, &value);
            const bool ref_found = get(*reference, target, &ref_key, &ref_value);
            ASSERT_EQ(ref_found, found) << EscapeBytes(target);
            if (found) {
              ASSERT_EQ(ref_key, key) << EscapeBytes(target);
              ASSERT_EQ(ref_value, value);
            }
            // And what a point lookup needs, from the model.
            auto lower = data.lower_bound(target);
            if (lower != data.end() && UserKeyOf(lower->first) == user_key) {
              ASSERT_TRUE(found) << EscapeBytes(target);
              ASSERT_EQ(lower->first, key);
            }
          }
        }
        const uint64_t hits = counters.index_fence_hits.load();
        const uint64_t ties = counters.index_fence_ties.load();
        if (shape != 1 && (entries > 1 || bloom_bits == 0)) {
          // (With one entry and a filter only that entry's own key reaches
          // the fences, and it may equal the index key.)
          EXPECT_GT(hits, 0u);
        }
        if (shape == 1 && entries > 1) {
          EXPECT_GT(ties, 0u);  // equal fences: the search decided
        } else if (shape != 2) {
          // The fences decide every read but those of a key equal to an
          // index key within eight bytes past the prefix (a block's last
          // key that no shorter separator replaced: with 256-byte blocks,
          // about one present key in six).
          EXPECT_GT(hits, ties);
        }
      }
    }
  }
}

TEST(IteratorPinTest, ReleasesOnceWhenTheIteratorGoes) {
  int released = 0;
  auto count = [](void* counter, void*) { ++*static_cast<int*>(counter); };
  BlockBuilder builder(16);
  builder.Add("a", "1");
  builder.Add("b", "2");
  Block block(BlockContents::Copy(builder.Finish()));
  {
    std::unique_ptr<Iterator> it(
        block.NewIterator(BytewiseComparator(), 0, {}, IteratorPin{count, &released, nullptr}));
    it->SeekToFirst();
    EXPECT_EQ("a", it->key());
    EXPECT_EQ(0, released);
  }
  EXPECT_EQ(1, released);
  // A malformed block releases at once; its error iterator holds nothing.
  Block broken(BlockContents::Copy(std::string("\x01\x02", 2)));
  std::unique_ptr<Iterator> error(
      broken.NewIterator(BytewiseComparator(), 0, {}, IteratorPin{count, &released, nullptr}));
  EXPECT_EQ(2, released);
  EXPECT_TRUE(error->status().IsCorruption());
  error.reset();
  EXPECT_EQ(2, released);
}

}  // namespace
}  // namespace lsmkv
