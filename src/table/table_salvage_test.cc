// Table format version 2 under damage (docs/format/table.md, "Validation by
// the reader"): a data block that fails its checksum is salvaged group by
// group (exactly the keys of the damaged restart interval are lost, reads
// report Corruption at the gap and never skip it); a damaged footer, footer
// copy, index, filter, properties or meta-index block is worked around at
// Open and reported; the salvage block is checked by Verify only; salvaged
// blocks stay out of the block cache; version 1 tables are read as before.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/dbformat.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "table/cache.h"
#include "table/format.h"
#include "table/salvage.h"
#include "table/table.h"
#include "table/table_builder.h"
#include "table/table_counters.h"
#include "table/table_testutil.h"
#include "util/coding.h"

namespace lsmkv {
namespace {

const InternalKeyComparator kCmp(BytewiseComparator());
constexpr char kFileName[] = "000321.sst";

std::string UserKey(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%05d", i);
  return buf;
}

std::string IKey(int i) {
  std::string k;
  AppendInternalKey(&k, UserKey(i), 100, kTypeValue);
  return k;
}

std::string ValueOf(int i) { return "value-" + std::to_string(i) + std::string(30 + i % 17, 'v'); }

// Keys 0, 2, 4, ... (odd keys are absent, for lookups between entries).
constexpr int kKeys = 300;

TableOptions Options(int bloom_bits = 10) {
  TableOptions o;
  o.comparator = &kCmp;
  o.block_size = 1024;  // ~17 entries: groups of 8, 8 and 1 or 2
  o.bloom_bits_per_key = bloom_bits;
  return o;
}

std::string Build(const TableOptions& options) {
  test::StringSink sink;
  TableBuilder builder(options, &sink);
  for (int i = 0; i < kKeys; i++) EXPECT_TRUE(builder.Add(IKey(2 * i), ValueOf(2 * i)).ok());
  EXPECT_TRUE(builder.Finish().ok());
  return sink.contents();
}

Status OpenBytes(const TableOptions& options, const std::string& bytes,
                 std::unique_ptr<Table>* table) {
  return Table::Open(options, std::make_unique<test::StringSource>(bytes), bytes.size(), kFileName,
                     table);
}

bool IsNamedCorruption(const Status& s) {
  return s.IsCorruption() && s.ToString().find(kFileName) != std::string::npos;
}

// The blocks of a version 2 table.
struct Layout {
  BlockHandle metaindex, index, filter, properties, salvage;
  std::vector<BlockHandle> data;
  std::vector<std::string> separators;  // the index keys
  uint64_t footer_start = 0;

  // The data block a lookup of user key i reads (data.size() if none).
  size_t BlockOf(int i) const {
    std::string target;
    AppendInternalKey(&target, UserKey(i), kMaxSequenceNumber, kValueTypeForSeek);
    size_t b = 0;
    while (b < separators.size() && kCmp.Compare(separators[b], target) < 0) b++;
    return b;
  }
};

Layout Parse(const std::string& bytes) {
  Layout l;
  Footer footer;
  EXPECT_TRUE(footer.DecodeFrom(bytes).ok());
  EXPECT_EQ(2u, footer.version());
  l.metaindex = footer.metaindex_handle();
  l.index = footer.index_handle();
  l.footer_start = bytes.size() - 2 * Footer::kV2EncodedLength;
  auto block = [&](const BlockHandle& h) {
    return std::make_unique<Block>(
        BlockContents::Copy(std::string_view(bytes).substr(h.offset(), h.size())));
  };
  auto meta = block(l.metaindex);
  std::unique_ptr<Iterator> it(meta->NewIterator(BytewiseComparator()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BlockHandle h;
    EXPECT_TRUE(h.DecodeExactly(it->value()));
    if (IsBuiltinFilterBlockName(it->key())) l.filter = h;
    if (it->key() == kPropertiesBlockName) l.properties = h;
    if (it->key() == kSalvageBlockName) l.salvage = h;
  }
  auto index = block(l.index);
  it.reset(index->NewIterator(&kCmp));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BlockHandle h;
    EXPECT_TRUE(h.DecodeExactly(it->value()));
    l.data.push_back(h);
    l.separators.emplace_back(it->key());
  }
  return l;
}

// The keys of data block b in order, and the offsets of its restart points
// (each one starts an entry group).
void BlockKeys(const std::string& bytes, const BlockHandle& h, std::vector<std::string>* keys,
               std::vector<uint32_t>* restarts) {
  const std::string_view contents = std::string_view(bytes).substr(h.offset(), h.size());
  Block block(BlockContents::Copy(contents));
  std::unique_ptr<Iterator> it(block.NewIterator(&kCmp));
  keys->clear();
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys->emplace_back(it->key());
  const uint32_t n = DecodeFixed32(contents.data() + contents.size() - 4);
  restarts->clear();
  for (uint32_t i = 0; i < n; i++) {
    restarts->push_back(DecodeFixed32(contents.data() + contents.size() - 4 * (n + 1 - i)));
  }
}

// A lookup of user key i as the DB does it: the first entry >= (key, max
// sequence); found when its user key matches.
Status Get(const Table& table, int i, std::string* value, bool* found) {
  std::string target;
  AppendInternalKey(&target, UserKey(i), kMaxSequenceNumber, kValueTypeForSeek);
  *found = false;
  return table.InternalGet(ReadOptions(), target, [&](std::string_view k, std::string_view v) {
    if (ExtractUserKey(k) == UserKey(i)) {
      *found = true;
      value->assign(v);
    }
  });
}

// Every key 0..2*kKeys: present keys with their value, absent keys not
// found, unless lost(key) (then Corruption naming the file).
void CheckGets(const Table& table, const std::function<bool(int)>& lost) {
  for (int i = 0; i < 2 * kKeys; i++) {
    std::string value;
    bool found = false;
    const Status s = Get(table, i, &value, &found);
    const bool present = i % 2 == 0;
    const bool is_lost = lost(i);
    if (is_lost) {
      EXPECT_TRUE(IsNamedCorruption(s)) << "key " << i << ": " << s.ToString();
      EXPECT_FALSE(found) << "key " << i;
    } else {
      ASSERT_TRUE(s.ok()) << "key " << i << ": " << s.ToString();
      EXPECT_EQ(present, found) << "key " << i;
      if (present) {
        EXPECT_EQ(ValueOf(i), value) << "key " << i;
      }
    }
  }
}

// Scans both ways; each yields exactly the expected run of entries (keys
// given by number) and ends with Corruption if expected_error.
void CheckScans(const Table& table, const std::vector<int>& forward,
                const std::vector<int>& backward, bool expected_error) {
  std::unique_ptr<Iterator> it(table.NewIterator(ReadOptions()));
  std::vector<int> got;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EXPECT_EQ(IKey(static_cast<int>(got.size()) * 2), it->key()) << "forward entry " << got.size();
    const std::string user(ExtractUserKey(it->key()));
    const int i = std::stoi(user.substr(3));
    EXPECT_EQ(ValueOf(i), it->value());
    got.push_back(i);
  }
  EXPECT_EQ(forward, got);
  EXPECT_EQ(expected_error, IsNamedCorruption(it->status())) << it->status().ToString();
  got.clear();
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    const std::string user(ExtractUserKey(it->key()));
    const int i = std::stoi(user.substr(3));
    EXPECT_EQ(ValueOf(i), it->value());
    got.push_back(i);
  }
  EXPECT_EQ(backward, got);
  EXPECT_EQ(expected_error, IsNamedCorruption(it->status())) << it->status().ToString();
}

std::vector<int> Range(int from, int to, int step = 2) {  // [from, to)
  std::vector<int> r;
  if (step > 0) {
    for (int i = from; i < to; i += step) r.push_back(i);
  } else {
    for (int i = from; i > to; i += step) r.push_back(i);
  }
  return r;
}

int KeyNumber(const std::string& ikey) {
  return std::stoi(std::string(ExtractUserKey(ikey)).substr(3));
}

TEST(TableSalvageTest, FormatVersion2Layout) {
  const std::string bytes = Build(Options());
  const Layout l = Parse(bytes);
  EXPECT_GT(l.data.size(), 10u);
  EXPECT_GT(l.salvage.size(), 0u);
  // Blocks back to back: data, filter, properties, salvage, meta-index,
  // index, footer copy, footer.
  EXPECT_EQ(l.data.back().offset() + l.data.back().size() + kBlockTrailerSize, l.filter.offset());
  EXPECT_EQ(l.filter.offset() + l.filter.size() + 5, l.properties.offset());
  EXPECT_EQ(l.properties.offset() + l.properties.size() + 5, l.salvage.offset());
  EXPECT_EQ(l.salvage.offset() + l.salvage.size() + 5, l.metaindex.offset());
  EXPECT_EQ(l.metaindex.offset() + l.metaindex.size() + 5, l.index.offset());
  EXPECT_EQ(l.index.offset() + l.index.size() + 5, l.footer_start);
  EXPECT_EQ(bytes.substr(l.footer_start, 56), bytes.substr(l.footer_start + 56));
  // The salvage data describes every data block, one group per restart
  // interval (default 8 entries).
  SalvageData salvage;
  ASSERT_TRUE(
      SalvageData::Decode(bytes.substr(l.salvage.offset(), l.salvage.size()), &salvage).ok());
  ASSERT_EQ(l.data.size(), salvage.records().size());
  for (size_t b = 0; b < l.data.size(); b++) {
    const SalvageRecord& r = salvage.records()[b];
    EXPECT_EQ(l.data[b].offset(), r.handle.offset());
    EXPECT_EQ(l.data[b].size(), r.handle.size());
    std::vector<std::string> keys;
    std::vector<uint32_t> restarts;
    BlockKeys(bytes, l.data[b], &keys, &restarts);
    EXPECT_EQ((keys.size() + 7) / 8, r.groups.size());
    EXPECT_EQ(restarts.size(), r.groups.size());
    EXPECT_TRUE(SalvageData::GroupsMatch(r, bytes.substr(r.handle.offset(), r.handle.size())));
  }
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenBytes(Options(), bytes, &table).ok());
  EXPECT_EQ(2u, table->format_version());
  EXPECT_TRUE(table->damage().ok());
  EXPECT_TRUE(table->VerifyMetadata().ok());
  uint64_t entries = 0;
  EXPECT_TRUE(table->Verify(&entries).ok());
  EXPECT_EQ(static_cast<uint64_t>(kKeys), entries);
}

// Each entry group of a data block damaged in turn (one byte of its first
// entry's key): exactly the group's keys are lost, plus the first key of
// the next group of the same block (a newer version of it could have been in
// the lost group); absent keys inside the lost range are Corruption too.
TEST(TableSalvageTest, DamagedGroupLosesExactlyItsKeys) {
  const TableOptions options = Options(/*bloom_bits=*/0);  // every lookup reads its block
  const std::string good = Build(options);
  const Layout l = Parse(good);
  for (size_t b : {size_t{0}, l.data.size() / 2, l.data.size() - 1}) {
    std::vector<std::string> keys;
    std::vector<uint32_t> restarts;
    BlockKeys(good, l.data[b], &keys, &restarts);
    ASSERT_GE(restarts.size(), 2u);
    for (size_t g = 0; g < restarts.size(); g++) {
      SCOPED_TRACE("block " + std::to_string(b) + " group " + std::to_string(g));
      std::string bad = good;
      bad[l.data[b].offset() + restarts[g] + 4] ^= 0x20;  // in the key of its first entry
      TableCounters counters;
      TableOptions o = options;
      o.counters = &counters;
      std::vector<std::string> reports;
      o.damage_reporter = [&](const std::string& m) { reports.push_back(m); };
      std::unique_ptr<Table> table;
      ASSERT_TRUE(OpenBytes(o, bad, &table).ok());
      EXPECT_TRUE(table->damage().ok());  // Open reads no data block

      const int first = KeyNumber(keys[g * 8]);
      const int last = KeyNumber(keys[std::min(keys.size(), g * 8 + 8) - 1]);
      const bool has_next_group = g + 1 < restarts.size();
      // A lookup reading this block is lost when its first candidate (the
      // first key >= the one sought) is in the group, or is the first key of
      // the next group (a newer version of it, or the key sought, could have
      // been at the end of the lost group), or when there is no candidate
      // in the block and its last group is the lost one.
      CheckGets(*table, [&](int i) {
        if (l.BlockOf(i) != b) return false;
        const int candidate = i % 2 == 0 ? i : i + 1;
        if (candidate >= first && candidate <= last) return true;
        if (has_next_group) return candidate == last + 2;
        return candidate > last;
      });
      if (HasFailure()) return;

      // Scans stop at the gap: forward before it, backward after it.
      const int end = 2 * kKeys;
      CheckScans(*table, Range(0, first), Range(end - 2, last, -2), /*expected_error=*/true);

      // Seek into the group, to the key after it; Next across the gap.
      std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
      it->Seek(IKey(first));
      EXPECT_FALSE(it->Valid());
      EXPECT_TRUE(IsNamedCorruption(it->status())) << it->status().ToString();
      if (first > 0 && g > 0) {
        it->Seek(IKey(first - 2));  // the last entry before the gap, in the same block
        ASSERT_TRUE(it->Valid()) << it->status().ToString();
        EXPECT_EQ(IKey(first - 2), it->key());
        it->Next();
        EXPECT_FALSE(it->Valid());
        EXPECT_TRUE(IsNamedCorruption(it->status()));
        it->SeekForPrev(IKey(first));  // the answer, first - 2, is certain only with
        EXPECT_FALSE(it->Valid());     // nothing lost between: it is not
        EXPECT_TRUE(IsNamedCorruption(it->status()));
      }
      if (has_next_group) {
        it->Seek(IKey(last + 4));  // inside the next group: certain
        ASSERT_TRUE(it->Valid()) << it->status().ToString();
        EXPECT_EQ(IKey(last + 4), it->key());
        it->Prev();  // back to its first key, which follows the gap: fine
        ASSERT_TRUE(it->Valid());
        EXPECT_EQ(IKey(last + 2), it->key());
        it->Prev();  // across the gap
        EXPECT_FALSE(it->Valid());
        EXPECT_TRUE(IsNamedCorruption(it->status()));
      }

      // Counted and reported once per block, naming the file.
      EXPECT_GT(counters.blocks_salvaged.load(), 1u);
      EXPECT_EQ(counters.blocks_salvaged.load(), counters.salvage_groups_lost.load());
      ASSERT_EQ(1u, reports.size());
      EXPECT_NE(std::string::npos, reports[0].find(kFileName)) << reports[0];
      EXPECT_NE(std::string::npos,
                reports[0].find("1 of " + std::to_string(restarts.size()) + " entry groups lost"))
          << reports[0];
      uint64_t entries = 0;
      EXPECT_TRUE(IsNamedCorruption(table->Verify(&entries)));
    }
  }
}

// Damage outside the entries (restart array, trailer): every group checks
// out, nothing is lost, scans are complete; only Verify sees it.
TEST(TableSalvageTest, DamageOutsideTheEntriesLosesNothing) {
  const TableOptions options = Options();
  const std::string good = Build(options);
  const Layout l = Parse(good);
  const BlockHandle& h = l.data[3];
  for (uint64_t at : {h.offset() + h.size() - 1, h.offset() + h.size() - 6, h.offset() + h.size(),
                      h.offset() + h.size() + 3}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    std::string bad = good;
    bad[at] ^= 0x01;
    TableCounters counters;
    TableOptions o = options;
    o.counters = &counters;
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenBytes(o, bad, &table).ok());
    CheckGets(*table, [](int) { return false; });
    CheckScans(*table, Range(0, 2 * kKeys), Range(2 * kKeys - 2, -1, -2), false);
    EXPECT_GT(counters.blocks_salvaged.load(), 0u);
    EXPECT_EQ(0u, counters.salvage_groups_lost.load());
    uint64_t entries = 0;
    EXPECT_TRUE(IsNamedCorruption(table->Verify(&entries)));
  }
}

TEST(TableSalvageTest, SalvagedBlocksStayOutOfTheCache) {
  std::unique_ptr<Cache> cache(NewLRUCache(1 << 20));
  TableCounters counters;
  TableOptions options = Options();
  options.block_cache = cache.get();
  options.counters = &counters;
  const std::string good = Build(options);
  const Layout l = Parse(good);
  std::vector<std::string> keys;
  std::vector<uint32_t> restarts;
  BlockKeys(good, l.data[2], &keys, &restarts);
  std::string bad = good;
  bad[l.data[2].offset() + restarts[1] + 4] ^= 0x20;
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenBytes(options, bad, &table).ok());
  const int salvaged_key = KeyNumber(keys[0]);
  const int good_key = KeyNumber(keys[0]) - 2;  // in block 1
  for (int round = 0; round < 3; round++) {
    std::string value;
    bool found = false;
    ASSERT_TRUE(Get(*table, salvaged_key, &value, &found).ok());
    EXPECT_TRUE(found);
    ASSERT_TRUE(Get(*table, good_key, &value, &found).ok());
    EXPECT_TRUE(found);
  }
  EXPECT_EQ(3u, counters.blocks_salvaged.load());   // salvaged on every read
  EXPECT_EQ(2u, counters.block_cache_hits.load());  // only the good block is cached
  // A later verifying read of the damaged block is still salvaged, never
  // served intact from the cache.
  std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
  it->Seek(IKey(salvaged_key));
  ASSERT_TRUE(it->Valid());
  for (size_t n = 1; n < 8; n++) it->Next();
  ASSERT_TRUE(it->Valid());
  it->Next();  // into the lost group
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(IsNamedCorruption(it->status()));
}

// A compressed block whose codec fails after the damage is lost as a whole;
// whatever is read is right.
TEST(TableSalvageTest, CompressedBlocksNeverReadWrong) {
  TableOptions options = Options(0);
  options.compression = CompressionType::kSnappy;
  const std::string good = Build(options);
  const Layout l = Parse(good);
  const BlockHandle& h = l.data[1];
  int salvaged_some = 0;
  for (uint64_t at = h.offset(); at < h.offset() + h.size() + kBlockTrailerSize; at++) {
    std::string bad = good;
    bad[at] ^= 0x10;
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenBytes(options, bad, &table).ok());
    int lost = 0;
    for (int i = 0; i < 2 * kKeys; i += 2) {
      std::string value;
      bool found = false;
      const Status s = Get(*table, i, &value, &found);
      if (s.ok()) {
        ASSERT_TRUE(found) << i;
        ASSERT_EQ(ValueOf(i), value) << i;
      } else {
        ASSERT_TRUE(IsNamedCorruption(s)) << s.ToString();
        lost++;
      }
    }
    salvaged_some += lost < 16;
  }
  std::printf("snappy block of %llu bytes, each byte flipped: %d flips lost under 16 keys\n",
              static_cast<unsigned long long>(h.size()), salvaged_some);
}

// Damage to each metadata block of a version 2 table: Open works around it
// and reports it; every key stays readable; Verify fails.
TEST(TableSalvageTest, DamagedMetadataIsWorkedAround) {
  const std::string good = Build(Options());
  const Layout l = Parse(good);
  struct Case {
    const char* name;
    uint64_t offset;
    const char* reported;  // in damage(); null: not seen by Open
    bool filter_used;
    bool has_properties;
  };
  const uint64_t size = good.size();
  const Case cases[] = {
      {"footer", size - 20, "footer at offset", true, true},
      {"footer magic", size - 1, "its copy used", true, true},
      {"footer copy", l.footer_start + 10, "footer copy", true, true},
      {"index", l.index.offset() + l.index.size() / 2, "index block damaged", true, true},
      {"index trailer", l.index.offset() + l.index.size() + 2, "rebuilt from its", true, true},
      {"filter", l.filter.offset() + 7, "filter block damaged", false, true},
      {"properties", l.properties.offset() + 30, "properties block damaged", false, false},
      {"meta-index", l.metaindex.offset() + 3, "meta-index block damaged", false, false},
      {"salvage", l.salvage.offset() + 9, nullptr, true, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string bad = good;
    bad[c.offset] ^= 0x04;
    TableCounters counters;
    TableOptions o = Options();
    o.counters = &counters;
    std::vector<std::string> reports;
    o.damage_reporter = [&](const std::string& m) { reports.push_back(m); };
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenBytes(o, bad, &table).ok());
    if (c.reported != nullptr) {
      EXPECT_TRUE(IsNamedCorruption(table->damage()));
      EXPECT_NE(std::string::npos, table->damage().ToString().find(c.reported))
          << table->damage().ToString();
      EXPECT_EQ(1u, counters.damaged_tables_opened.load());
      ASSERT_EQ(1u, reports.size());
      EXPECT_NE(std::string::npos, reports[0].find(kFileName));
    } else {
      EXPECT_TRUE(table->damage().ok());
      EXPECT_TRUE(reports.empty());
      EXPECT_TRUE(IsNamedCorruption(table->VerifyMetadata()));
    }
    EXPECT_EQ(c.has_properties, table->has_properties());
    if (c.has_properties) {
      EXPECT_EQ(static_cast<uint64_t>(kKeys), table->properties().num_entries);
    }
    CheckGets(*table, [](int) { return false; });
    CheckScans(*table, Range(0, 2 * kKeys), Range(2 * kKeys - 2, -1, -2), false);
    EXPECT_EQ(c.filter_used, counters.bloom_checks.load() > 0);
    // Offsets still increase with the key (the rebuilt index uses last keys).
    uint64_t previous = 0;
    for (int i = 0; i < 2 * kKeys; i += 40) {
      const uint64_t offset = table->ApproximateOffsetOf(IKey(i));
      EXPECT_GE(offset, previous);
      previous = offset;
    }
    uint64_t entries = 0;
    EXPECT_TRUE(IsNamedCorruption(table->Verify(&entries)));
    EXPECT_EQ(0u, counters.blocks_salvaged.load());
  }
}

// Two damaged blocks are more than version 2 promises to survive: when the
// index and the salvage block are both damaged, Open fails; a damaged data
// block whose salvage data is damaged too is Corruption for all its keys.
TEST(TableSalvageTest, DoubleDamageFailsSafely) {
  const std::string good = Build(Options(0));
  const Layout l = Parse(good);
  std::string bad = good;
  bad[l.index.offset() + 3] ^= 0x01;
  bad[l.salvage.offset() + 3] ^= 0x01;
  std::unique_ptr<Table> table;
  const Status s = OpenBytes(Options(0), bad, &table);
  EXPECT_TRUE(IsNamedCorruption(s)) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("cannot be rebuilt")) << s.ToString();

  bad = good;
  bad[l.data[4].offset() + 5] ^= 0x01;
  bad[l.salvage.offset() + 3] ^= 0x01;
  ASSERT_TRUE(OpenBytes(Options(0), bad, &table).ok());
  std::vector<std::string> keys;
  std::vector<uint32_t> restarts;
  BlockKeys(good, l.data[4], &keys, &restarts);
  CheckGets(*table, [&](int i) { return l.BlockOf(i) == 4; });
}

// Version 1 tables: written on request, read as before (no salvage: any
// damaged block fails Open or the read).
TEST(TableSalvageTest, Version1TablesAreStillRead) {
  TableOptions v1 = Options();
  v1.format_version = 1;
  const std::string bytes = Build(v1);
  Footer footer;
  ASSERT_TRUE(footer.DecodeFrom(bytes).ok());
  EXPECT_EQ(1u, footer.version());
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenBytes(Options(), bytes, &table).ok());
  EXPECT_EQ(1u, table->format_version());
  CheckGets(*table, [](int) { return false; });
  CheckScans(*table, Range(0, 2 * kKeys), Range(2 * kKeys - 2, -1, -2), false);
  uint64_t entries = 0;
  EXPECT_TRUE(table->Verify(&entries).ok());
  EXPECT_EQ(static_cast<uint64_t>(kKeys), entries);
  // Its meta-index names no salvage block; damage is not worked around.
  std::string bad = bytes;
  bad[bytes.size() - 30] ^= 0x01;  // the footer
  EXPECT_TRUE(IsNamedCorruption(OpenBytes(Options(), bad, &table)));
  bad = bytes;
  bad[footer.index_handle().offset() + 2] ^= 0x01;
  EXPECT_TRUE(IsNamedCorruption(OpenBytes(Options(), bad, &table)));
  bad = bytes;
  bad[10] ^= 0x01;  // the first data block: the whole block is Corruption
  ASSERT_TRUE(OpenBytes(Options(), bad, &table).ok());
  std::string value;
  bool found = false;
  EXPECT_TRUE(IsNamedCorruption(Get(*table, 0, &value, &found)));
  EXPECT_TRUE(IsNamedCorruption(Get(*table, 6, &value, &found)));
}

// A small table written by the version 1 code path (block size 128, restart
// interval 2, keys v1key0..v1key5 with sequences 10..15, v1key4 a deletion),
// kept as bytes so that a change of the writer cannot hide a change of what
// readers accept.
const char kVersion1Table[] =
    "000e1b76316b657930010a00000000000076616c7565302d616161616161616161616161616161616161616105091b"
    "31"
    "010b00000000000076616c7565312d6262626262626262626262626262626262626262000e1b76316b657932010c00"
    "00"
    "0000000076616c7565322d636363636363636363636363636363636363636300000000530000000200000000a7636b"
    "c4"
    "000e1b76316b657933010d00000000000076616c7565332d6464646464646464646464646464646464646464050900"
    "34"
    "000e000000000000000e1b76316b657935010f00000000000076616c7565352d666666666666666666666666666666"
    "66"
    "6666666600000000380000000200000000c4286fdf2df7060b58aad0c7070091f6422a00101b6c736d6b762e636f6d"
    "70"
    "617261746f726c736d6b762e496e7465726e616c4b6579436f6d70617261746f720011016c736d6b762e636f6d7072"
    "65"
    "7373696f6e000013056c736d6b762e6372656174696f6e2d74696d65e28586d806000f026c736d6b762e646174612d"
    "73"
    "697a6585020019016c736d6b762e66696c7465722d626974732d7065722d6b65790a0016016c736d6b762e66696c74"
    "65"
    "722d757365722d6b6579730100110e6c736d6b762e6c6172676573742d6b657976316b657935010f00000000000000"
    "15"
    "016c736d6b762e6e756d2d646174612d626c6f636b73020013016c736d6b762e6e756d2d64656c6574696f6e730100"
    "11"
    "016c736d6b762e6e756d2d656e7472696573060012016c736d6b762e7261772d6b65792d73697a65540014026c736d"
    "6b"
    "762e7261772d76616c75652d73697a65870100120e6c736d6b762e736d616c6c6573742d6b657976316b657930010a"
    "00"
    "0000000000000000002e000000430000005e000000720000008f000000a9000000cb000000e4000000fb0000001001"
    "00"
    "00260100003f0100000d00000000e6edac5300120366696c7465722e6c736d6b762e626c6f6f6d850209000a047072"
    "6f"
    "7065727469657393029a0300000000180000000200000000b374dbfe000e0376316b657932010c000000000000008b"
    "01"
    "0009037701ffffffffffffff90017000000000140000000200000000607b8b4fb20535ec052f000000000000000000"
    "00"
    "000000000000000000000000000000000000000000000000010000006c736d6b76737374";

TEST(TableSalvageTest, Version1FixtureIsRead) {
  std::string bytes;
  for (size_t i = 0; i + 1 < sizeof(kVersion1Table); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(kVersion1Table + i, 2), nullptr, 16)));
  }
  ASSERT_EQ(852u, bytes.size());
  TableCounters counters;
  TableOptions options = Options();
  options.counters = &counters;
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenBytes(options, bytes, &table).ok());
  EXPECT_EQ(1u, table->format_version());
  EXPECT_TRUE(table->damage().ok());
  EXPECT_EQ(6u, table->properties().num_entries);
  EXPECT_EQ(1u, table->properties().num_deletions);
  std::unique_ptr<Iterator> it(table->NewIterator(ReadOptions()));
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(it->key(), &parsed));
    EXPECT_EQ("v1key" + std::to_string(n), parsed.user_key);
    EXPECT_EQ(static_cast<SequenceNumber>(10 + n), parsed.sequence);
    EXPECT_EQ(n == 4 ? kTypeDeletion : kTypeValue, parsed.type);
    EXPECT_EQ(n == 4 ? std::string() : "value" + std::to_string(n) + "-" + std::string(20, 'a' + n),
              it->value());
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(6, n);
  EXPECT_TRUE(table->KeyMayMatch("v1key3"));
  uint64_t entries = 0;
  EXPECT_TRUE(table->Verify(&entries).ok());
  EXPECT_EQ(6u, entries);
}

TEST(SalvageDataTest, MalformedSalvageBlocksAreCorruption) {
  SalvageBuilder builder;
  BlockBuilder block(2);
  for (int i = 0; i < 5; i++) block.Add(IKey(i), "v");
  const std::string raw(block.Finish());
  builder.AddDataBlock(BlockHandle(0, raw.size()), CompressionType::kNone, raw);
  builder.AddDataBlock(BlockHandle(raw.size() + 5, raw.size()), CompressionType::kNone, raw);
  const std::string good = builder.Finish();
  SalvageData data;
  ASSERT_TRUE(SalvageData::Decode(good, &data).ok());
  ASSERT_EQ(2u, data.records().size());
  EXPECT_EQ(3u, data.records()[0].groups.size());
  EXPECT_EQ(2 * (raw.size() + 5), data.data_end());
  EXPECT_NE(nullptr, data.Find(raw.size() + 5));
  EXPECT_EQ(nullptr, data.Find(1));
  EXPECT_TRUE(SalvageData::GroupsMatch(data.records()[0], raw));
  EXPECT_TRUE(SalvageData::Decode(good + "x", &data).IsCorruption());
  for (size_t n = 0; n < good.size(); n++) {
    EXPECT_TRUE(SalvageData::Decode(good.substr(0, n), &data).IsCorruption()) << n;
  }
  // Not back to back.
  SalvageBuilder gap;
  gap.AddDataBlock(BlockHandle(0, raw.size()), CompressionType::kNone, raw);
  gap.AddDataBlock(BlockHandle(raw.size() + 6, raw.size()), CompressionType::kNone, raw);
  EXPECT_TRUE(SalvageData::Decode(gap.Finish(), &data).IsCorruption());
  // Groups that do not fill an uncompressed block.
  SalvageBuilder wrong_size;
  wrong_size.AddDataBlock(BlockHandle(0, raw.size() + 1), CompressionType::kNone, raw);
  EXPECT_TRUE(SalvageData::Decode(wrong_size.Finish(), &data).IsCorruption());
}

// The salvaged block iterator on its own: groups of 2 entries, group 1 and
// the last group lost.
TEST(SalvageDataTest, SalvagedIteratorStopsAtEveryGap) {
  BlockBuilder block(2);
  for (int i = 0; i < 8; i++)
    block.Add(IKey(i), "v" + std::to_string(i));  // groups {0,1} {2,3} {4,5} {6,7}
  std::string raw(block.Finish());
  SalvageBuilder builder;
  builder.AddDataBlock(BlockHandle(0, raw.size()), CompressionType::kNone, raw);
  SalvageData data;
  ASSERT_TRUE(SalvageData::Decode(builder.Finish(), &data).ok());
  const SalvageRecord& record = data.records()[0];
  const uint32_t g1 = record.groups[0].length;
  const uint32_t g3 = g1 + record.groups[1].length + record.groups[2].length;
  raw[g1 + 5] ^= 0x01;
  raw[g3 + 5] ^= 0x01;
  SalvagedBlock salvaged = SalvageBlock(record, raw + "trail");
  EXPECT_EQ(4u, salvaged.groups);
  EXPECT_EQ(2u, salvaged.groups_lost);
  EXPECT_TRUE(salvaged.lost_tail);
  ASSERT_EQ(1u, salvaged.keys_after_gap.size());
  EXPECT_EQ(IKey(4), salvaged.keys_after_gap[0]);
  std::unique_ptr<Iterator> it(NewSalvagedBlockIterator(std::move(salvaged), &kCmp, 8, "ctx",
                                                        Status::Corruption("ctx", "gap")));
  auto at_gap = [&] { return !it->Valid() && it->status().IsCorruption(); };
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(IKey(0), it->key());
  it->Next();
  EXPECT_EQ(IKey(1), it->key());
  it->Next();
  EXPECT_TRUE(at_gap());
  it->Seek(IKey(2));
  EXPECT_TRUE(at_gap());
  it->Seek(IKey(1));
  ASSERT_TRUE(it->Valid());
  it->Seek(IKey(5));
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(IKey(5), it->key());
  it->Prev();
  EXPECT_EQ(IKey(4), it->key());
  it->Prev();
  EXPECT_TRUE(at_gap());
  it->Seek(IKey(5));
  it->Next();
  EXPECT_TRUE(at_gap());  // the lost tail
  it->SeekToLast();
  EXPECT_TRUE(at_gap());
  it->Seek(IKey(6));
  EXPECT_TRUE(at_gap());
  it->SeekForPrev(IKey(5));
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(IKey(5), it->key());
  it->SeekForPrev(IKey(1));
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(IKey(1), it->key());
  it->SeekForPrev(IKey(3));  // 3 is in the gap
  EXPECT_TRUE(at_gap());
  it->SeekForPrev(IKey(7));  // the lost tail
  EXPECT_TRUE(at_gap());
}

}  // namespace
}  // namespace lsmkv
