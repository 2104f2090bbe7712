#include "table/bloom.h"

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

#include "table/table_hash.h"
#include "util/coding.h"
#include "util/random.h"

namespace lsmkv {
namespace {

std::string Key(uint64_t i, char tag) {
  std::string k(1, tag);
  PutFixed64(&k, i);
  return k;
}

// Fraction of absent keys (tag 'b') that the filter of n keys (tag 'a') admits.
double FalsePositiveRate(const BloomFilterReader& reader, int probes) {
  int hits = 0;
  for (int i = 0; i < probes; i++) {
    if (reader.KeyMayMatch(Key(static_cast<uint64_t>(i), 'b'))) hits++;
  }
  return static_cast<double>(hits) / probes;
}

BloomFilterReader Build(int bits_per_key, uint64_t n) {
  BloomFilterBuilder builder(bits_per_key);
  for (uint64_t i = 0; i < n; i++) builder.AddKey(Key(i, 'a'));
  BloomFilterReader reader;
  EXPECT_TRUE(BloomFilterReader::Parse(builder.Finish(), &reader).ok());
  return reader;
}

TEST(BloomTest, NoFalseNegativesAndLowFalsePositivesAt100k) {
  constexpr uint64_t kKeys = 100000;
  const BloomFilterReader reader = Build(10, kKeys);
  EXPECT_EQ(7, reader.num_probes());
  EXPECT_EQ(kKeys * 10 / 8 + 1, reader.size());
  for (uint64_t i = 0; i < kKeys; i++) ASSERT_TRUE(reader.KeyMayMatch(Key(i, 'a'))) << i;
  const double rate = FalsePositiveRate(reader, 100000);
  std::printf("false positive rate at 10 bits/key, 100k keys: %.4f%%\n", rate * 100);
  EXPECT_LE(rate, 0.015);
  EXPECT_GT(rate, 0.0);  // a filter that never matches absent keys is suspicious
}

TEST(BloomTest, VariousKeyCounts) {
  for (uint64_t n : {0ull, 1ull, 2ull, 10ull, 100ull, 1000ull, 5000ull, 20000ull}) {
    SCOPED_TRACE("keys " + std::to_string(n));
    const BloomFilterReader reader = Build(10, n);
    for (uint64_t i = 0; i < n; i++) ASSERT_TRUE(reader.KeyMayMatch(Key(i, 'a')));
    const double rate = FalsePositiveRate(reader, 20000);
    // Small filters are padded to 64 bits, which only lowers the rate.
    EXPECT_LE(rate, n >= 1000 ? 0.02 : 0.05);
  }
}

TEST(BloomTest, MoreBitsFewerFalsePositives) {
  const double r6 = FalsePositiveRate(Build(6, 20000), 50000);
  const double r10 = FalsePositiveRate(Build(10, 20000), 50000);
  const double r16 = FalsePositiveRate(Build(16, 20000), 50000);
  EXPECT_GT(r6, r10);
  EXPECT_GT(r10, r16);
  EXPECT_LE(r16, 0.002);
}

TEST(BloomTest, ProbeCount) {
  EXPECT_EQ(1, BloomFilterBuilder::ProbesFor(1));
  EXPECT_EQ(1, BloomFilterBuilder::ProbesFor(2));   // 1.39
  EXPECT_EQ(3, BloomFilterBuilder::ProbesFor(4));   // 2.77
  EXPECT_EQ(7, BloomFilterBuilder::ProbesFor(10));  // 6.93
  EXPECT_EQ(30, BloomFilterBuilder::ProbesFor(100));
  BloomFilterBuilder b(20);
  b.AddKey("x");
  const std::string filter = b.Finish();
  EXPECT_EQ(14, static_cast<unsigned char>(filter.back()));  // stored in the last byte
}

TEST(BloomTest, DuplicateKeysCountOnce) {
  BloomFilterBuilder b(10);
  for (int i = 0; i < 100; i++) b.AddKey("same");
  EXPECT_EQ(1u, b.num_keys());
  b.AddKey("other");
  EXPECT_EQ(2u, b.num_keys());
}

TEST(BloomTest, ParseRejectsMalformedFilters) {
  BloomFilterReader reader;
  EXPECT_TRUE(BloomFilterReader::Parse("", &reader).IsCorruption());
  EXPECT_TRUE(BloomFilterReader::Parse(std::string(8, '\0'), &reader).IsCorruption());
  std::string zero_probes(9, '\0');
  EXPECT_TRUE(BloomFilterReader::Parse(zero_probes, &reader).IsCorruption());
  std::string many_probes(8, '\0');
  many_probes.push_back(31);
  EXPECT_TRUE(BloomFilterReader::Parse(many_probes, &reader).IsCorruption());
  std::string ok(8, '\0');
  ok.push_back(30);
  EXPECT_TRUE(BloomFilterReader::Parse(ok, &reader).ok());
  EXPECT_FALSE(reader.KeyMayMatch("anything"));  // no bit set
  // The default reader has no filter and admits everything.
  EXPECT_TRUE(BloomFilterReader().KeyMayMatch("anything"));
}

TEST(TableHashTest, AvalancheAndSeeds) {
  Random rnd(5);
  double total_flipped = 0;
  int trials = 0;
  for (int t = 0; t < 2000; t++) {
    std::string s = rnd.RandomBytes(1 + rnd.Uniform(40));
    const uint64_t h = TableHash64(s);
    const size_t bit = rnd.Uniform(static_cast<uint32_t>(s.size() * 8));
    s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
    total_flipped += std::popcount(h ^ TableHash64(s));
    trials++;
  }
  const double mean = total_flipped / trials;
  EXPECT_GT(mean, 30.0);
  EXPECT_LT(mean, 34.0);
  EXPECT_NE(TableHash64("abc", 0), TableHash64("abc", 1));
  // Length matters even for zero bytes.
  EXPECT_NE(TableHash64(std::string(1, '\0')), TableHash64(std::string(2, '\0')));
  EXPECT_NE(TableHash64(""), TableHash64(std::string(8, '\0')));
}

// The hash is persisted through filters: its values must never change.
TEST(TableHashTest, StableValues) {
  EXPECT_EQ(0x9ca066f1a4ab2eeaull, TableHash64(""));
  EXPECT_EQ(0xb1e4c481851ce1c6ull, TableHash64("a"));
  EXPECT_EQ(0x17283008b1f1e072ull, TableHash64("lsmkvsst"));
  EXPECT_EQ(0x5645a524992ee11aull, TableHash64("a somewhat longer key, 33 bytes.."));
}

}  // namespace
}  // namespace lsmkv
