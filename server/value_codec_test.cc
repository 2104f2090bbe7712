#include "server/value_codec.h"

#include <gtest/gtest.h>

#include <map>

#include "replication/slots.h"
#include "server/collection.h"
#include "server/engine_stats.h"
#include "server/expiry_filter.h"

namespace lsmkv::server {
namespace {

TEST(ValueCodecTest, RoundTrip) {
  for (int64_t deadline : {int64_t{0}, int64_t{1}, int64_t{1700000000123}, INT64_MAX}) {
    for (const std::string& payload : {std::string(), std::string("v"), std::string("\0\xff", 2)}) {
      std::string encoded;
      EncodeValue(ValueType::kString, deadline, payload, &encoded);
      EXPECT_EQ(encoded.size(), payload.size() + (deadline ? 9u : 1u));
      DecodedValue decoded;
      ASSERT_TRUE(DecodeValue(encoded, &decoded));
      EXPECT_EQ(decoded.type, ValueType::kString);
      EXPECT_EQ(decoded.deadline_ms, deadline);
      EXPECT_EQ(decoded.payload, payload);
    }
  }
}

TEST(ValueCodecTest, RejectsDamage) {
  DecodedValue decoded;
  EXPECT_FALSE(DecodeValue("", &decoded));
  EXPECT_FALSE(DecodeValue(std::string(1, '\x06'), &decoded));  // unknown type
  EXPECT_FALSE(DecodeValue(std::string(1, '\x0f'), &decoded));  // unknown type
  for (char type : {'\x02', '\x03', '\x04', '\x05'}) {          // list, set, zset, stream
    ASSERT_TRUE(DecodeValue(std::string(1, type), &decoded));
    EXPECT_EQ(static_cast<char>(decoded.type), type);
  }
  EXPECT_FALSE(DecodeValue(std::string(1, '\x40'), &decoded));          // unknown flag
  EXPECT_FALSE(DecodeValue(std::string("\x80\x01\x02", 3), &decoded));  // truncated deadline
  EXPECT_FALSE(DecodeValue(std::string("\x80\0\0\0\0\0\0\0\0", 9), &decoded));  // zero deadline
}

TEST(ValueCodecTest, KeysAndHints) {
  EXPECT_EQ(DataKey(0, "abc"), "kabc");  // database 0: the v1 layout
  EXPECT_EQ(DataKey(1, "abc"), std::string("K\x01"
                                           "abc",
                                           5));
  EXPECT_EQ(DataKey(255, ""), std::string("K\xff", 2));
  for (int db : {0, 1, 7, 255}) {
    SCOPED_TRACE(db);
    const std::string early = ExpiryHintKey(1000, db, "zzz");
    const std::string late = ExpiryHintKey(2000, db, "aaa");
    EXPECT_LT(early, late);  // a database's hints sort by deadline first
    EXPECT_LT(ExpiryHintKey(255, db, "k"), ExpiryHintKey(256, db, "k"));
    int64_t deadline = 0;
    int decoded_db = -1;
    std::string_view key;
    ASSERT_TRUE(DecodeExpiryHintKey(late, &deadline, &decoded_db, &key));
    EXPECT_EQ(deadline, 2000);
    EXPECT_EQ(decoded_db, db);
    EXPECT_EQ(key, "aaa");
    // Every key of a database falls in its range, and no other database's.
    for (char prefix : kKeyspacePrefixes) {
      std::string begin, end;
      DatabaseRange(prefix, db, &begin, &end);
      std::string head;
      AppendDbKeyPrefix(prefix, db, &head);
      EXPECT_EQ(head.size(), DbKeyPrefixSize(db));
      EXPECT_LE(begin, head + "anything");
      EXPECT_LT(head + "\xff\xff", end);
      for (int other : {0, 1, 7, 255}) {
        if (other == db) continue;
        std::string other_head;
        AppendDbKeyPrefix(prefix, other, &other_head);
        const std::string other_key = other_head + "x";
        EXPECT_TRUE(other_key < begin || other_key >= end) << other;
      }
      char decoded_prefix = 0;
      std::string_view rest;
      ASSERT_TRUE(DecodeDbKeyPrefix(head + "rest", &decoded_prefix, &decoded_db, &rest));
      EXPECT_EQ(decoded_prefix, prefix);
      EXPECT_EQ(decoded_db, db);
      EXPECT_EQ(rest, "rest");
    }
  }
  int64_t deadline = 0;
  int db = 0;
  std::string_view key;
  EXPECT_FALSE(DecodeExpiryHintKey("kabc", &deadline, &db, &key));
  EXPECT_FALSE(DecodeExpiryHintKey("x123", &deadline, &db, &key));
  EXPECT_FALSE(DecodeExpiryHintKey(std::string("X\x01"
                                               "1234567",
                                               9),
                                   &deadline, &db, &key));
  char prefix = 0;
  std::string_view rest;
  EXPECT_FALSE(DecodeDbKeyPrefix("", &prefix, &db, &rest));
  EXPECT_FALSE(DecodeDbKeyPrefix("mkey", &prefix, &db, &rest));                  // server state
  EXPECT_FALSE(DecodeDbKeyPrefix("K", &prefix, &db, &rest));                     // no database byte
  EXPECT_FALSE(DecodeDbKeyPrefix(std::string("K\0k", 3), &prefix, &db, &rest));  // database 0
}

// Sets a layout for one test and puts the flat one back.
class ScopedKeyLayout {
 public:
  explicit ScopedKeyLayout(KeyLayout layout) { SetKeyLayout(layout); }
  ~ScopedKeyLayout() { SetKeyLayout(KeyLayout::kFlat); }
};

TEST(ValueCodecTest, SlotLayout) {
  ScopedKeyLayout slotted(KeyLayout::kSlotted);
  // The slot of "foo" is 12182 (0x2f96), as Redis Cluster computes it; keys
  // with the same {hash tag} share a slot.
  EXPECT_EQ(DataKey(0, "foo"), std::string("k\x2f\x96"
                                           "foo",
                                           6));
  EXPECT_EQ(DataKey(3, "foo"), std::string("K\x03\x2f\x96"
                                           "foo",
                                           7));
  EXPECT_EQ(DataKey(0, "{user1}.a").substr(0, 3), DataKey(0, "{user1}.b").substr(0, 3));
  EXPECT_EQ(DataKeyHeadSize(0), 3u);
  EXPECT_EQ(DataKeyHeadSize(3), 4u);
  for (int db : {0, 1, 255}) {
    SCOPED_TRACE(db);
    // Data and element keys decode to what follows the slot.
    char prefix = 0;
    int decoded_db = -1;
    std::string_view rest;
    const std::string data_key = DataKey(db, "some key");
    ASSERT_TRUE(DecodeDbKeyPrefix(data_key, &prefix, &decoded_db, &rest));
    EXPECT_EQ(prefix, kDataPrefix);
    EXPECT_EQ(decoded_db, db);
    EXPECT_EQ(rest, "some key");
    std::string element;
    AppendElementPrefix(kHashFieldPrefix, db, "some key", 7, &element);
    element += "field";
    ElementKey decoded;
    ASSERT_TRUE(DecodeElementKey(element, &decoded));
    EXPECT_EQ(decoded.db, db);
    EXPECT_EQ(decoded.user_key, "some key");
    EXPECT_EQ(decoded.version, 7u);
    EXPECT_EQ(decoded.field, "field");
    // Element keys carry the same slot bytes as the data key.
    EXPECT_EQ(element.substr(DbKeyPrefixSize(db), 2), data_key.substr(DbKeyPrefixSize(db), 2));
    // Hints keep deadline order: no slot.
    int64_t deadline = 0;
    std::string_view user_key;
    const std::string hint = ExpiryHintKey(5000, db, "some key");
    ASSERT_TRUE(DecodeExpiryHintKey(hint, &deadline, &decoded_db, &user_key));
    EXPECT_EQ(deadline, 5000);
    EXPECT_EQ(user_key, "some key");
    EXPECT_EQ(ExpiryHintKey(5000, db, "k").size(), DbKeyPrefixSize(db) + 8 + 1);
    // A prefix's keys are spread over slots: the range is the database's.
    std::string lower, upper, db_lower, db_upper;
    DataPrefixRange(db, "some", &lower, &upper);
    DatabaseRange(kDataPrefix, db, &db_lower, &db_upper);
    EXPECT_EQ(lower, db_lower);
    EXPECT_EQ(upper, db_upper);
    // A head without its slot bytes is not a key.
    std::string head;
    AppendDbKeyPrefix(kDataPrefix, db, &head);
    EXPECT_FALSE(DecodeDbKeyPrefix(head + "x", &prefix, &decoded_db, &rest));
  }
  // One slot's keys are one contiguous range: every key of slot s sorts
  // between those of slots s - 1 and s + 1.
  std::map<std::string, uint16_t> sorted;
  for (int i = 0; i < 2000; i++) {
    const std::string key = "key:" + std::to_string(i);
    sorted[DataKey(0, key)] = replication::KeySlot(key);
  }
  uint16_t previous = 0;
  for (const auto& [data_key, slot] : sorted) {
    EXPECT_GE(slot, previous) << data_key;
    previous = slot;
  }
}

TEST(ValueCodecTest, SlotLayoutPrefixRangeWithAHashTag) {
  ScopedKeyLayout slotted(KeyLayout::kSlotted);
  std::string lower, upper, db_lower, db_upper;
  DatabaseRange(kDataPrefix, 0, &db_lower, &db_upper);
  // A whole tag in the prefix: one slot, just the prefix's keys.
  DataPrefixRange(0, "{user1}:", &lower, &upper);
  EXPECT_EQ(lower, DataKey(0, "{user1}:"));
  EXPECT_EQ(upper, PrefixSuccessor(DataKey(0, "{user1}:")));
  for (const char* key : {"{user1}:a", "{user1}:zzz", "{user1}:"}) {
    const std::string k = DataKey(0, key);
    EXPECT_TRUE(lower <= k && k < upper) << key;
  }
  EXPECT_FALSE(DataKey(0, "{user1}x") >= lower && DataKey(0, "{user1}x") < upper);
  // No tag, an unclosed one, or an empty one ("{}" is no tag): every slot.
  for (const char* prefix : {"user", "{user1", "{}x", "a{"}) {
    DataPrefixRange(0, prefix, &lower, &upper);
    EXPECT_EQ(lower, db_lower) << prefix;
    EXPECT_EQ(upper, db_upper) << prefix;
  }
}

TEST(ValueCodecTest, FlatLayoutHasNoSlot) {
  ScopedKeyLayout flat(KeyLayout::kFlat);
  EXPECT_EQ(DataKey(0, "foo"), "kfoo");
  EXPECT_EQ(DataKeyHeadSize(0), 1u);
  std::string lower, upper;
  DataPrefixRange(0, "fo", &lower, &upper);
  EXPECT_EQ(lower, "kfo");
  EXPECT_EQ(upper, "kfp");
}

TEST(ExpiryFilterTest, RemovesOnlyExpiredDataValues) {
  ManualClock clock(5000 * 1000);
  ExpiryFilter filter(&clock);
  std::string live, expired, forever;
  EncodeValue(ValueType::kString, 6000, "v", &live);
  EncodeValue(ValueType::kString, 5000, "v", &expired);
  EncodeValue(ValueType::kString, 0, "v", &forever);
  using D = CompactionFilter::Decision;
  EXPECT_EQ(filter.Filter(1, "ka", live), D::kKeep);
  EXPECT_EQ(filter.Filter(1, "ka", expired), D::kRemove);
  EXPECT_EQ(filter.Filter(1, "ka", forever), D::kKeep);
  EXPECT_EQ(filter.Filter(1, "xhint", expired), D::kKeep);  // not a data key
  EXPECT_EQ(filter.Filter(1, "ka", "garbage"), D::kKeep);   // undecodable: kept
  EXPECT_EQ(filter.removed(), 1u);
  clock.AdvanceMs(999);  // 5999: still live
  EXPECT_EQ(filter.Filter(1, "ka", live), D::kKeep);
  clock.AdvanceMs(1);  // 6000: the deadline itself is expired
  EXPECT_EQ(filter.Filter(1, "ka", live), D::kRemove);
}

TEST(EngineStatsTest, ParsesPropertyText) {
  const std::string stats =
      "writes: 10\nwal syncs: 3\nblock cache hits: 7\n"
      "level  compactions  moves  bytes read  bytes written  seconds\n"
      "L1               2      1        1000           900      0.5\n"
      "write amplification (table bytes written / WAL bytes): 1.25\nfiles[ 1 2 0 ]\n";
  const std::string levels =
      "level  files        bytes  score  compacting\n"
      "L0         1         4096   0.25  no\n"
      "L1         2         8192   0.10  yes\n";
  EngineStats parsed = ParseEngineStats(stats, levels);
  ASSERT_GE(parsed.counters.size(), 4u);
  EXPECT_EQ(parsed.counters[0].first, "writes");
  EXPECT_EQ(parsed.counters[1].first, "wal_syncs");
  EXPECT_EQ(parsed.counters[1].second, 3);
  EXPECT_EQ(parsed.counters.back().first, "write_amplification");
  EXPECT_DOUBLE_EQ(parsed.counters.back().second, 1.25);
  ASSERT_EQ(parsed.levels.size(), 2u);
  EXPECT_EQ(parsed.levels[0].level, "L0");
  EXPECT_EQ(parsed.levels[1].files, 2);
  EXPECT_EQ(parsed.levels[1].compactions, 2);
  EXPECT_EQ(parsed.levels[1].compaction_bytes_written, 900);
}

}  // namespace
}  // namespace lsmkv::server
