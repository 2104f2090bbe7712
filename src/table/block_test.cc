#include "table/block.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "table/block_builder.h"
#include "table/format.h"
#include "util/coding.h"
#include "util/comparator.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

using Model = std::map<std::string, std::string>;  // bytewise order

std::string BuildBlock(const Model& model, int restart_interval) {
  BlockBuilder builder(restart_interval);
  for (const auto& [k, v] : model) builder.Add(k, v);
  const size_t estimate = builder.CurrentSizeEstimate();
  std::string block(builder.Finish());
  EXPECT_EQ(estimate, block.size());
  return block;
}

Model RandomModel(Random* rnd, size_t n) {
  Model model;
  model[""] = "empty key";
  model[std::string(3, '\xff')] = "";
  model[std::string("\xff\x00\xff", 3)] = rnd->RandomBytes(5);
  while (model.size() < n) {
    std::string key;
    if (rnd->OneIn(2) && !model.empty()) {
      // Share a prefix with a key already present.
      auto it = model.lower_bound(rnd->RandomBytes(2));
      if (it == model.end()) it = model.begin();
      key = it->first.substr(0, rnd->Uniform(static_cast<uint32_t>(it->first.size()) + 1));
    }
    key += rnd->RandomBytes(rnd->Uniform(10));
    model[key] = rnd->OneIn(5) ? std::string() : rnd->RandomBytes(rnd->Uniform(40));
  }
  return model;
}

// Checks every operation of a block iterator against the model.
void CheckBlock(const Block& block, const Model& model, Random* rnd) {
  ASSERT_TRUE(block.status().ok()) << block.status().ToString();
  std::unique_ptr<Iterator> it(block.NewIterator(BytewiseComparator()));
  const std::vector<std::pair<std::string, std::string>> entries(model.begin(), model.end());

  // Forward.
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
    ASSERT_LT(i, entries.size());
    ASSERT_EQ(entries[i].first, it->key());
    ASSERT_EQ(entries[i].second, it->value());
  }
  ASSERT_EQ(entries.size(), i);
  ASSERT_TRUE(it->status().ok());

  // Backward: Prev at every position.
  i = entries.size();
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    ASSERT_GT(i, 0u);
    i--;
    ASSERT_EQ(entries[i].first, it->key());
    ASSERT_EQ(entries[i].second, it->value());
  }
  ASSERT_EQ(0u, i);
  ASSERT_TRUE(it->status().ok());

  // Seek / SeekForPrev to every key, then step both ways from there.
  for (size_t j = 0; j < entries.size(); j++) {
    it->Seek(entries[j].first);
    ASSERT_TRUE(it->Valid());
    ASSERT_EQ(entries[j].first, it->key());
    it->SeekForPrev(entries[j].first);
    ASSERT_TRUE(it->Valid());
    ASSERT_EQ(entries[j].first, it->key());
    it->Prev();
    if (j == 0) {
      ASSERT_FALSE(it->Valid());
    } else {
      ASSERT_TRUE(it->Valid());
      ASSERT_EQ(entries[j - 1].first, it->key());
      it->Next();
      ASSERT_EQ(entries[j].first, it->key());
    }
    it->Seek(entries[j].first);
    it->Next();
    if (j + 1 == entries.size()) {
      ASSERT_FALSE(it->Valid());
    } else {
      ASSERT_EQ(entries[j + 1].first, it->key());
    }
  }

  // Seek / SeekForPrev to targets between and around the keys.
  for (int t = 0; t < 200; t++) {
    std::string target = rnd->RandomBytes(rnd->Uniform(6));
    if (rnd->OneIn(2)) {
      target = entries[rnd->Uniform(static_cast<uint32_t>(entries.size()))].first;
      target.push_back(static_cast<char>(rnd->Uniform(256)));
    }
    auto lower = model.lower_bound(target);
    it->Seek(target);
    if (lower == model.end()) {
      ASSERT_FALSE(it->Valid());
    } else {
      ASSERT_TRUE(it->Valid());
      ASSERT_EQ(lower->first, it->key());
      ASSERT_EQ(lower->second, it->value());
    }
    auto upper = model.upper_bound(target);
    it->SeekForPrev(target);
    if (upper == model.begin()) {
      ASSERT_FALSE(it->Valid());
    } else {
      --upper;
      ASSERT_TRUE(it->Valid());
      ASSERT_EQ(upper->first, it->key());
      ASSERT_EQ(upper->second, it->value());
    }
  }
  ASSERT_TRUE(it->status().ok());
}

TEST(BlockTest, RoundTripEveryRestartInterval) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  for (int interval = 1; interval <= 32; interval++) {
    SCOPED_TRACE("restart interval " + std::to_string(interval));
    const Model model = RandomModel(&rnd, 1 + rnd.Uniform(300));
    const std::string bytes = BuildBlock(model, interval);
    Block block(BlockContents::Copy(bytes));
    EXPECT_EQ((model.size() + interval - 1) / interval, block.num_restarts());
    CheckBlock(block, model, &rnd);
  }
}

TEST(BlockTest, SingleEntryAndEmptyBlock) {
  Random rnd(7);
  for (const Model& model :
       {Model{{"", ""}}, Model{{"k", "v"}}, Model{{std::string(1, '\xff'), "x"}}}) {
    Block block(BlockContents::Copy(BuildBlock(model, 16)));
    CheckBlock(block, model, &rnd);
  }
  BlockBuilder builder(16);
  EXPECT_TRUE(builder.empty());
  Block empty(BlockContents::Copy(builder.Finish()));
  ASSERT_TRUE(empty.status().ok());
  std::unique_ptr<Iterator> it(empty.NewIterator(BytewiseComparator()));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek("a");
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("a");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(BlockTest, ResetAndPrefixCompression) {
  BlockBuilder builder(16);
  size_t raw = 0;
  for (int i = 0; i < 100; i++) {
    const std::string key = "a/long/shared/prefix/" + std::to_string(1000 + i);
    builder.Add(key, "v");
    raw += key.size() + 1;
  }
  EXPECT_FALSE(builder.empty());
  EXPECT_EQ(100u, builder.num_entries());
  const std::string first(builder.Finish());
  // Keys share 22 of 25 bytes: the block must be far below the raw size.
  EXPECT_LT(first.size(), raw / 2);
  builder.Reset();
  EXPECT_TRUE(builder.empty());
  builder.Add("x", "y");
  Block block(BlockContents::Copy(builder.Finish()));
  Random rnd(1);
  CheckBlock(block, Model{{"x", "y"}}, &rnd);
}

TEST(BlockTest, BadRestartArrayIsCorruption) {
  const std::string good = BuildBlock(Model{{"a", "1"}, {"b", "2"}, {"c", "3"}}, 1);
  std::vector<std::string> bad;
  bad.push_back("");                 // no room for the count
  bad.push_back(std::string(3, 0));  // still no room
  std::string zero_count(8, '\0');   // count 0
  bad.push_back(zero_count);
  std::string huge = good;  // count larger than the block
  EncodeFixed32(huge.data() + huge.size() - 4, 1000);
  bad.push_back(huge);
  std::string unordered = good;  // restarts not increasing (second == first)
  EncodeFixed32(unordered.data() + unordered.size() - 12, 0);
  bad.push_back(unordered);
  std::string nonzero_first = good;  // first restart is not 0
  EncodeFixed32(nonzero_first.data() + nonzero_first.size() - 16, 1);
  bad.push_back(nonzero_first);
  std::string beyond = good;  // last restart points into the restart array
  EncodeFixed32(beyond.data() + beyond.size() - 8, static_cast<uint32_t>(good.size() - 8));
  bad.push_back(beyond);

  for (const std::string& bytes : bad) {
    Block block(BlockContents::Copy(bytes));
    EXPECT_TRUE(block.status().IsCorruption()) << bytes.size();
    std::unique_ptr<Iterator> it(block.NewIterator(BytewiseComparator(), 0, "ctx"));
    it->SeekToFirst();
    EXPECT_FALSE(it->Valid());
    EXPECT_TRUE(it->status().IsCorruption());
    EXPECT_NE(std::string::npos, it->status().ToString().find("ctx"));
  }
}

TEST(BlockTest, BadEntriesAreCorruptionAndNamed) {
  // One entry whose value length runs past the entries.
  std::string bytes;
  PutVarint32(&bytes, 0);
  PutVarint32(&bytes, 1);
  PutVarint32(&bytes, 100);
  bytes += "k";
  PutFixed32(&bytes, 0);
  PutFixed32(&bytes, 1);
  Block block(BlockContents::Copy(bytes));
  ASSERT_TRUE(block.status().ok());
  std::unique_ptr<Iterator> it(block.NewIterator(BytewiseComparator(), 0, "file.sst"));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption());
  EXPECT_NE(std::string::npos, it->status().ToString().find("file.sst"));

  // A key shorter than the minimum (internal keys need 8 bytes).
  const std::string good = BuildBlock(Model{{"short", "v"}}, 1);
  Block short_keys(BlockContents::Copy(good));
  std::unique_ptr<Iterator> it2(short_keys.NewIterator(BytewiseComparator(), 8));
  it2->SeekToFirst();
  EXPECT_FALSE(it2->Valid());
  EXPECT_TRUE(it2->status().IsCorruption());
  std::unique_ptr<Iterator> it3(short_keys.NewIterator(BytewiseComparator(), 8));
  it3->Seek("a");
  EXPECT_FALSE(it3->Valid());
  EXPECT_TRUE(it3->status().IsCorruption());
}

// Runs every operation on a block of arbitrary bytes. Nothing may read
// outside the block (ASan checks that: contents are allocated exactly); a
// failure must be a Corruption status with !Valid().
void Exercise(const std::string& bytes, Random* rnd) {
  Block block(BlockContents::Copy(bytes));
  std::unique_ptr<Iterator> it(block.NewIterator(BytewiseComparator()));
  auto check = [&] {
    if (!it->status().ok()) {
      ASSERT_TRUE(it->status().IsCorruption());
      ASSERT_FALSE(it->Valid());
    }
  };
  int steps = 0;
  for (it->SeekToFirst(); it->Valid() && steps < 1000; it->Next(), steps++) {
    (void)it->key();
    (void)it->value();
  }
  check();
  it.reset(block.NewIterator(BytewiseComparator()));
  for (it->SeekToLast(); it->Valid() && steps < 2000; it->Prev(), steps++) (void)it->key();
  check();
  for (int i = 0; i < 8; i++) {
    const std::string target = rnd->RandomBytes(rnd->Uniform(5));
    it.reset(block.NewIterator(BytewiseComparator()));
    it->Seek(target);
    if (it->Valid()) it->Prev();
    check();
    it.reset(block.NewIterator(BytewiseComparator()));
    it->SeekForPrev(target);
    if (it->Valid()) it->Next();
    check();
  }
}

TEST(BlockTest, GarbageNeverReadsOutside) {
  Random rnd(test::TestSeed() + 11);
  Model model = RandomModel(&rnd, 60);
  const std::string good = BuildBlock(model, 4);
  // Every single-byte change of a valid block, with several masks.
  for (size_t pos = 0; pos < good.size(); pos++) {
    for (unsigned mask : {0x01u, 0x80u, 0xffu, 0x10u}) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      ASSERT_NO_FATAL_FAILURE(Exercise(bad, &rnd));
    }
  }
  // Every truncation.
  for (size_t len = 0; len < good.size(); len++) {
    ASSERT_NO_FATAL_FAILURE(Exercise(good.substr(0, len), &rnd));
  }
  // Random bytes, some with a plausible restart array.
  for (int i = 0; i < 2000; i++) {
    std::string bytes = rnd.RandomBytes(rnd.Uniform(200));
    if (bytes.size() >= 8 && rnd.OneIn(2)) {
      EncodeFixed32(bytes.data() + bytes.size() - 4, 1);
      EncodeFixed32(bytes.data() + bytes.size() - 8, 0);
    }
    ASSERT_NO_FATAL_FAILURE(Exercise(bytes, &rnd));
  }
}

}  // namespace
}  // namespace lsmkv
