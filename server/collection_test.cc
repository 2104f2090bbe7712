// The collection encoding (collection.h): metadata and element keys round
// trip and are validated, element keys sort the way scans need, and the
// compaction filter's decision (ClassifyElement, ExpiryFilter) never calls a
// live element stale, nor one whose end is not durable (DurableView).
#include "server/collection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "server/clock.h"
#include "server/durable_view.h"
#include "server/expiry_filter.h"
#include "server/keyspace.h"
#include "server/test_client.h"

namespace lsmkv::server {
namespace {

std::string Meta(uint64_t version, uint64_t count, int64_t deadline_ms = 0,
                 ValueType type = ValueType::kHash) {
  std::string payload;
  EncodeCollectionMeta(type, {version, count, kListInitialHead}, &payload);
  std::string stored;
  EncodeValue(type, deadline_ms, payload, &stored);
  return stored;
}

TEST(CollectionTest, MetaRoundTripAndDamage) {
  for (uint64_t version : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 40, UINT64_MAX}) {
    for (uint64_t count : {uint64_t{1}, uint64_t{300}, UINT64_MAX}) {
      for (ValueType type :
           {ValueType::kHash, ValueType::kList, ValueType::kSet, ValueType::kZSet}) {
        SCOPED_TRACE(ValueTypeName(type));
        const uint64_t head = version ^ count;
        std::string payload;
        EncodeCollectionMeta(type, {version, count, head}, &payload);
        ASSERT_EQ(payload.size(), type == ValueType::kList ? kListMetaBytes : kCollectionMetaBytes);
        EXPECT_EQ(static_cast<uint8_t>(payload[0]), kCollectionFormat);
        CollectionMeta meta;
        ASSERT_TRUE(DecodeCollectionMeta(type, payload, &meta));
        EXPECT_EQ(meta.version, version);
        EXPECT_EQ(meta.count, count);
        EXPECT_EQ(meta.head, type == ValueType::kList ? head : 0);
        EXPECT_FALSE(DecodeCollectionMeta(type, payload.substr(0, payload.size() - 1), &meta));
        EXPECT_FALSE(DecodeCollectionMeta(type, payload + "x", &meta));
        EXPECT_FALSE(DecodeCollectionMeta(ValueType::kString, payload, &meta));
        payload[0] = static_cast<char>(kCollectionFormat + 1);  // a format we do not know
        EXPECT_FALSE(DecodeCollectionMeta(type, payload, &meta));
      }
    }
  }
  DecodedValue decoded;
  ASSERT_TRUE(DecodeValue(Meta(7, 3, 123), &decoded));
  EXPECT_EQ(decoded.type, ValueType::kHash);
  EXPECT_EQ(decoded.deadline_ms, 123);
  EXPECT_STREQ(ValueTypeName(ValueType::kHash), "hash");
}

TEST(CollectionTest, ElementPrefixesAndTypes) {
  for (ValueType type : {ValueType::kHash, ValueType::kList, ValueType::kSet, ValueType::kZSet}) {
    EXPECT_TRUE(IsCollectionType(type));
    ASSERT_FALSE(ElementPrefixes(type).empty());
    for (char prefix : ElementPrefixes(type)) {
      ValueType found;
      ASSERT_TRUE(ElementPrefixType(prefix, &found));
      EXPECT_EQ(found, type);
      // FLUSHALL deletes every element prefix.
      EXPECT_NE(std::find(std::begin(kKeyspacePrefixes), std::end(kKeyspacePrefixes), prefix),
                std::end(kKeyspacePrefixes));
    }
  }
  EXPECT_FALSE(IsCollectionType(ValueType::kString));
  EXPECT_TRUE(ElementPrefixes(ValueType::kString).empty());
  ValueType found;
  for (char prefix : {kDataPrefix, kExpiryHintPrefix, kMetaPrefix}) {
    EXPECT_FALSE(ElementPrefixType(prefix, &found));
  }
}

TEST(CollectionTest, ListPositionsSortNumerically) {
  const uint64_t positions[] = {
      0, 1, kListInitialHead - 1, kListInitialHead, kListInitialHead + 1, UINT64_MAX};
  std::string previous;
  for (uint64_t position : positions) {
    const std::string key = ListElementKey(0, "list", 9, position);
    if (!previous.empty()) {
      EXPECT_LT(previous, key);
    }
    previous = key;
    ElementKey element;
    ASSERT_TRUE(DecodeElementKey(key, &element));
    EXPECT_EQ(element.prefix, kListElementPrefix);
    uint64_t decoded = 0;
    ASSERT_TRUE(DecodeListPosition(element.field, &decoded));
    EXPECT_EQ(decoded, position);
  }
  uint64_t decoded = 0;
  EXPECT_FALSE(DecodeListPosition("1234567", &decoded));
  EXPECT_FALSE(DecodeListPosition("123456789", &decoded));
}

TEST(CollectionTest, OrderedDoubleSortsNumerically) {
  const double inf = std::numeric_limits<double>::infinity();
  const double scores[] = {-inf,
                           -1e308,
                           -2.5,
                           -1,
                           -std::numeric_limits<double>::denorm_min(),
                           0,
                           std::numeric_limits<double>::denorm_min(),
                           1e-300,
                           1,
                           2.5,
                           1e308,
                           inf};
  std::string previous;
  for (double score : scores) {
    std::string encoded;
    AppendOrderedDouble(score, &encoded);
    ASSERT_EQ(encoded.size(), 8u);
    if (!previous.empty()) {
      EXPECT_LT(previous, encoded) << score;
    }
    previous = encoded;
    double decoded = 0;
    ASSERT_TRUE(DecodeOrderedDouble(encoded, &decoded));
    EXPECT_EQ(decoded, score);
  }
  // -0.0 is stored as 0.0.
  std::string negative_zero, zero;
  AppendOrderedDouble(-0.0, &negative_zero);
  AppendOrderedDouble(0.0, &zero);
  EXPECT_EQ(negative_zero, zero);
  double decoded = 0;
  ASSERT_TRUE(DecodeOrderedDouble(zero, &decoded));
  EXPECT_FALSE(std::signbit(decoded));
  // Damage: wrong size; bytes that decode to NaN.
  EXPECT_FALSE(DecodeOrderedDouble("1234567", &decoded));
  EXPECT_FALSE(DecodeOrderedDouble(std::string(8, '\xff'), &decoded));
}

TEST(CollectionTest, ElementKeys) {
  const std::string key = HashFieldKey(0, "user", 0x0102030405060708, "field");
  EXPECT_EQ(key, std::string("h\0\0\0\x04user\x01\x02\x03\x04\x05\x06\x07\x08"
                             "field",
                             22));
  ElementKey element;
  ASSERT_TRUE(DecodeElementKey(key, &element));
  EXPECT_EQ(element.prefix, kHashFieldPrefix);
  EXPECT_EQ(element.user_key, "user");
  EXPECT_EQ(element.version, 0x0102030405060708u);
  EXPECT_EQ(element.field, "field");
  // Empty key and field, binary bytes.
  const std::string binary("\0\xff", 2);
  const std::string empty = HashFieldKey(0, "", 1, "");
  ASSERT_TRUE(DecodeElementKey(empty, &element));
  EXPECT_EQ(element.user_key, "");
  EXPECT_EQ(element.field, "");
  const std::string binary_key = HashFieldKey(0, binary, 2, binary);
  ASSERT_TRUE(DecodeElementKey(binary_key, &element));  // element views binary_key
  EXPECT_EQ(element.user_key, binary);
  EXPECT_EQ(element.field, binary);
  // Damage: too short, or a length running past the end.
  EXPECT_FALSE(DecodeElementKey("h\0\0", &element));
  std::string overrun = HashFieldKey(0, "ab", 1, "");
  overrun[4] = 3;
  EXPECT_FALSE(DecodeElementKey(overrun, &element));
  // The fields of one version are contiguous and sorted by field; a key that
  // extends another user key never falls among them (the length comes first).
  std::string prefix;
  AppendElementPrefix(kHashFieldPrefix, 0, "a", 5, &prefix);
  const std::string upper = PrefixSuccessor(prefix);
  for (const std::string& other : {HashFieldKey(0, "a", 4, "zzz"), HashFieldKey(0, "a", 6, ""),
                                   HashFieldKey(0, "ab", 5, ""), HashFieldKey(0, "", 5, "a")}) {
    EXPECT_TRUE(other < prefix || other >= upper) << other;
  }
  EXPECT_LT(HashFieldKey(0, "a", 5, "x"), HashFieldKey(0, "a", 5, "y"));
  EXPECT_LT(HashFieldKey(0, "a", 5, ""), HashFieldKey(0, "a", 5, std::string(1, '\0')));
  EXPECT_GE(HashFieldKey(0, "a", 5, "\xff\xff"), prefix);
  EXPECT_LT(HashFieldKey(0, "a", 5, "\xff\xff"), upper);
}

TEST(CollectionTest, ClassifyElement) {
  auto fate = [&](uint64_t version, bool found, const std::string& stored) {
    return ClassifyElement(ValueType::kHash, version, found, stored);
  };
  EXPECT_EQ(fate(5, true, Meta(5, 1)), ElementFate::kLive);
  // A deadline, passed or not, ends nothing: only the write deleting the
  // expired hash does.
  EXPECT_EQ(fate(5, true, Meta(5, 1, 1001)), ElementFate::kLive);
  EXPECT_EQ(fate(5, true, Meta(5, 1, 1)), ElementFate::kLive);
  EXPECT_EQ(fate(5, false, ""), ElementFate::kStale);           // deleted
  EXPECT_EQ(fate(4, true, Meta(5, 1)), ElementFate::kStale);    // recreated
  EXPECT_EQ(fate(6, true, Meta(5, 1)), ElementFate::kUnknown);  // newer: keep
  std::string string_value;
  EncodeValue(ValueType::kString, 0, "v", &string_value);
  EXPECT_EQ(fate(5, true, string_value), ElementFate::kStale);  // overwritten by SET
  EXPECT_EQ(fate(5, true, "garbage"), ElementFate::kUnknown);   // undecodable
  std::string bad_meta;
  EncodeValue(ValueType::kHash, 0, "short", &bad_meta);
  EXPECT_EQ(fate(5, true, bad_meta), ElementFate::kUnknown);
  // Every collection type decides by its own metadata layout; an element
  // under metadata of another type (same version number even) is stale.
  for (ValueType type : {ValueType::kList, ValueType::kSet, ValueType::kZSet}) {
    SCOPED_TRACE(ValueTypeName(type));
    EXPECT_EQ(ClassifyElement(type, 5, true, Meta(5, 1, 0, type)), ElementFate::kLive);
    EXPECT_EQ(ClassifyElement(type, 4, true, Meta(5, 1, 0, type)), ElementFate::kStale);
    EXPECT_EQ(ClassifyElement(type, 5, true, Meta(5, 1)), ElementFate::kStale);  // a hash now
    EXPECT_EQ(ClassifyElement(ValueType::kHash, 5, true, Meta(5, 1, 0, type)), ElementFate::kStale);
  }
  std::string list_with_hash_layout;
  EncodeValue(ValueType::kList, 0, Meta(5, 1).substr(1), &list_with_hash_layout);
  EXPECT_EQ(ClassifyElement(ValueType::kList, 5, true, list_with_hash_layout),
            ElementFate::kUnknown);
}

// The filter on its own: keeps every element until it has a database to
// read metadata from and a durable state, then removes only elements whose
// version a write ended in the durable state too.
TEST(CollectionTest, FilterReadsMetadata) {
  const std::string dir = test::MakeTempDir("lsmkv_collection_test");
  ASSERT_FALSE(dir.empty());
  ManualClock clock(int64_t{5000} * 1000);
  {
    Options options;
    options.create_if_missing = true;
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, dir, &db).ok());
    auto put = [&](const std::string& key, const std::string& value) {
      ASSERT_TRUE(db->Put(WriteOptions(), key, value).ok());
    };
    const std::string live = HashFieldKey(0, "live", 9, "f");
    const std::string old = HashFieldKey(0, "live", 8, "f");
    const std::string orphan = HashFieldKey(0, "absent", 1, "f");
    const std::string expiring = HashFieldKey(0, "expiring", 3, "f");
    put(DataKey(0, "live"), Meta(9, 1));
    put(live, "v");
    put(old, "v");
    put(orphan, "v");
    put(DataKey(0, "expiring"), Meta(3, 1, 6000));
    put(expiring, "v");
    ExpiryFilter filter(&clock);
    DurableView* durable = filter.durable_view();
    auto publish = [&] { durable->Publish(db->NewIterator(ReadOptions())); };
    using D = CompactionFilter::Decision;
    EXPECT_EQ(filter.Filter(1, old, "v"), D::kKeep);  // no database yet: unsure, kept
    filter.AttachDb(db.get());
    EXPECT_EQ(filter.Filter(1, old, "v"), D::kKeep);  // no durable state yet: kept
    publish();
    EXPECT_EQ(filter.Filter(1, live, "v"), D::kKeep);
    EXPECT_EQ(filter.Filter(1, old, "v"), D::kRemove);
    EXPECT_EQ(filter.Filter(1, orphan, "v"), D::kRemove);
    EXPECT_EQ(filter.Filter(1, expiring, "v"), D::kKeep);
    clock.AdvanceMs(1000);  // 6000: the deadline passes, but no write ended it
    EXPECT_EQ(filter.Filter(1, expiring, "v"), D::kKeep);
    ASSERT_TRUE(db->Delete(WriteOptions(), DataKey(0, "expiring")).ok());  // the sweep
    EXPECT_EQ(filter.Filter(1, expiring, "v"), D::kKeep);                  // not durable yet
    publish();
    EXPECT_EQ(filter.Filter(1, expiring, "v"), D::kRemove);
    EXPECT_EQ(filter.Filter(1, "h\0", "v"), D::kKeep);  // not an element key: kept
    EXPECT_EQ(filter.elements_removed(), 3u);
    EXPECT_EQ(filter.removed(), 0u);  // expired data values only
    durable->Clear();
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "absent", 2, "f"), "v"), D::kKeep);
    filter.DetachDb();
    ASSERT_TRUE(db->Close().ok());
  }
  test::RemoveTree(dir);
}

// Condition (b) on its own: with the durable state taken before a hash's
// end, its fields are kept whatever the latest state says; after the next
// durable point they go. Also when the durable state predates the hash's
// creation (there the metadata is absent too, but that proves nothing), and
// when the hash is created again under its name.
TEST(CollectionTest, FilterWaitsForADurableEnd) {
  const std::string dir = test::MakeTempDir("lsmkv_collection_durable");
  ASSERT_FALSE(dir.empty());
  ManualClock clock(int64_t{5000} * 1000);
  {
    Options options;
    options.create_if_missing = true;
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, dir, &db).ok());
    ExpiryFilter filter(&clock);
    filter.AttachDb(db.get());
    DurableView* durable = filter.durable_view();
    auto publish = [&] { durable->Publish(db->NewIterator(ReadOptions())); };
    auto create = [&](const std::string& key, uint64_t version) {
      WriteBatch batch;  // as HSET writes them: one batch
      batch.Put(DataKey(0, key), Meta(version, 1));
      batch.Put(HashFieldKey(0, key, version, "f"), "v");
      ASSERT_TRUE(db->Write(WriteOptions(), &batch).ok());
    };
    using D = CompactionFilter::Decision;

    // Created and durable, then deleted: kept until the deletion is durable.
    create("h", 10);
    publish();
    ASSERT_TRUE(db->Delete(WriteOptions(), DataKey(0, "h")).ok());
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "h", 10, "f"), "v"), D::kKeep);
    publish();
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "h", 10, "f"), "v"), D::kRemove);

    // Created and deleted after the durable state: there its metadata is
    // absent, but so is the field, so nothing is known.
    create("g", 20);
    ASSERT_TRUE(db->Delete(WriteOptions(), DataKey(0, "g")).ok());
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "g", 20, "f"), "v"), D::kKeep);
    publish();
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "g", 20, "f"), "v"), D::kRemove);

    // Deleted and created again: the old version goes only once the new
    // metadata (or the deletion) is durable; the new one stays.
    create("r", 30);
    publish();
    ASSERT_TRUE(db->Delete(WriteOptions(), DataKey(0, "r")).ok());
    create("r", 31);
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "r", 30, "f"), "v"), D::kKeep);
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "r", 31, "f"), "v"), D::kKeep);
    publish();
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "r", 30, "f"), "v"), D::kRemove);
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "r", 31, "f"), "v"), D::kKeep);

    // Overwritten by a string.
    create("s", 40);
    publish();
    std::string string_value;
    EncodeValue(ValueType::kString, 0, "x", &string_value);
    ASSERT_TRUE(db->Put(WriteOptions(), DataKey(0, "s"), string_value).ok());
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "s", 40, "f"), "v"), D::kKeep);
    publish();
    EXPECT_EQ(filter.Filter(1, HashFieldKey(0, "s", 40, "f"), "v"), D::kRemove);
    EXPECT_EQ(filter.elements_removed(), 4u);
    durable->Clear();
    filter.DetachDb();
    ASSERT_TRUE(db->Close().ok());
  }
  test::RemoveTree(dir);
}

// Keyspace::SyncIfDirty publishes a durable state when something was written
// or the table files changed since the last one (or none is published), in
// every fsync policy.
TEST(CollectionTest, SyncIfDirtyPublishesTheDurableState) {
  const std::string dir = test::MakeTempDir("lsmkv_collection_sync");
  ASSERT_FALSE(dir.empty());
  ManualClock clock(int64_t{5000} * 1000);
  {
    Options options;
    options.create_if_missing = true;
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, dir, &db).ok());
    DurableView durable;
    {
      Keyspace keyspace(db.get(), &clock, &durable);
      keyspace.set_fsync_policy(FsyncPolicy::kAlways);
      EXPECT_FALSE(durable.published());
      ASSERT_TRUE(keyspace.SyncIfDirty().ok());  // none yet: published
      EXPECT_TRUE(durable.published());
      EXPECT_EQ(keyspace.syncs.load(), 1u);
      ASSERT_TRUE(keyspace.SyncIfDirty().ok());  // nothing written: no sync
      EXPECT_EQ(keyspace.syncs.load(), 1u);
      WriteBatch batch;
      batch.Put(DataKey(0, "a"), "x");
      ASSERT_TRUE(keyspace.Apply(&batch).ok());  // synced already (always)
      const std::string key = DataKey(0, "a");
      const std::string_view keys[1] = {key};
      std::string values[1];
      bool found[1] = {true};
      ASSERT_TRUE(durable.Read(keys, values, found).ok());
      EXPECT_FALSE(found[0]);  // the published state predates the write
      ASSERT_TRUE(keyspace.SyncIfDirty().ok());
      EXPECT_EQ(keyspace.syncs.load(), 2u);
      ASSERT_TRUE(durable.Read(keys, values, found).ok());
      EXPECT_TRUE(found[0]);
      EXPECT_EQ(values[0], "x");
      // Nothing written, but the table files changed: a fresh view (which
      // lets the old view's files and memtables go).
      ASSERT_TRUE(db->Flush().ok());
      ASSERT_TRUE(keyspace.SyncIfDirty().ok());
      EXPECT_EQ(keyspace.syncs.load(), 3u);
      ASSERT_TRUE(keyspace.SyncIfDirty().ok());
      EXPECT_EQ(keyspace.syncs.load(), 3u);
    }
    // The Keyspace clears what it published: nothing outlives the DB.
    EXPECT_FALSE(durable.published());
    const std::string_view keys[1] = {"a"};
    std::string values[1];
    bool found[1];
    EXPECT_TRUE(durable.Read(keys, values, found).IsNotFound());
    ASSERT_TRUE(db->Close().ok());
  }
  test::RemoveTree(dir);
}

// Versions only grow, also across a new Keyspace (a restart) on a clock that
// went back: the stored floor rules.
TEST(CollectionTest, VersionsNeverRepeat) {
  const std::string dir = test::MakeTempDir("lsmkv_collection_versions");
  ASSERT_FALSE(dir.empty());
  Options options;
  options.create_if_missing = true;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, dir, &db).ok());
  ManualClock clock(int64_t{1700000000000} * 1000);
  uint64_t last = 0;
  {
    Keyspace keyspace(db.get(), &clock);
    for (int i = 0; i < 100; i++) {
      uint64_t v = 0;
      ASSERT_TRUE(keyspace.NewCollectionVersion(&v).ok());
      EXPECT_GT(v, last);
      last = v;
    }
  }
  clock.SetUs(1000);  // the clock jumps back decades
  Keyspace again(db.get(), &clock);
  uint64_t v = 0;
  ASSERT_TRUE(again.NewCollectionVersion(&v).ok());
  EXPECT_GT(v, last);
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  test::RemoveTree(dir);
}

}  // namespace
}  // namespace lsmkv::server
