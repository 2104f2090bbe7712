#include "table/bloom.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#include "table/table_hash.h"
#include "util/coding.h"
#include "util/hash.h"
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

BloomFilterReader Build(int bits_per_key, uint64_t n, BloomLayout layout = BloomLayout::kLines) {
  BloomFilterBuilder builder(bits_per_key, layout);
  for (uint64_t i = 0; i < n; i++) builder.AddKey(Key(i, 'a'));
  BloomFilterReader reader;
  EXPECT_TRUE(BloomFilterReader::Parse(builder.Finish(), layout, &reader).ok());
  EXPECT_EQ(layout, reader.layout());
  return reader;
}

const char* Name(BloomLayout layout) { return layout == BloomLayout::kLines ? "lines" : "classic"; }

TEST(BloomTest, NoFalseNegativesAndLowFalsePositivesAt100k) {
  constexpr uint64_t kKeys = 100000;
  for (BloomLayout layout : {BloomLayout::kLines, BloomLayout::kClassic}) {
    SCOPED_TRACE(Name(layout));
    const BloomFilterReader reader = Build(10, kKeys, layout);
    EXPECT_EQ(7, reader.num_probes());
    // Classic: n * 10 bits; lines: rounded up to whole 512-bit lines.
    EXPECT_EQ(
        layout == BloomLayout::kLines ? (kKeys * 10 + 511) / 512 * 64 + 1 : kKeys * 10 / 8 + 1,
        reader.size());
    for (uint64_t i = 0; i < kKeys; i++) ASSERT_TRUE(reader.KeyMayMatch(Key(i, 'a'))) << i;
    const double rate = FalsePositiveRate(reader, 100000);
    std::printf("false positive rate at 10 bits/key, 100k keys, %s: %.4f%%\n", Name(layout),
                rate * 100);
    // Ideal at 10 bits and 7 probes: 0.82 %; lines fill unevenly and pay a
    // little more.
    EXPECT_LE(rate, layout == BloomLayout::kLines ? 0.013 : 0.011);
    EXPECT_GT(rate, 0.0);  // a filter that never matches absent keys is suspicious
  }
}

TEST(BloomTest, VariousKeyCounts) {
  for (BloomLayout layout : {BloomLayout::kLines, BloomLayout::kClassic}) {
    for (uint64_t n : {0ull, 1ull, 2ull, 10ull, 51ull, 52ull, 100ull, 1000ull, 5000ull, 20000ull}) {
      SCOPED_TRACE(std::string(Name(layout)) + ", keys " + std::to_string(n));
      const BloomFilterReader reader = Build(10, n, layout);
      for (uint64_t i = 0; i < n; i++) ASSERT_TRUE(reader.KeyMayMatch(Key(i, 'a')));
      const double rate = FalsePositiveRate(reader, 20000);
      // Small filters are padded (to 64 bits, to a line), which only lowers the rate.
      EXPECT_LE(rate, n >= 1000 ? 0.02 : 0.05);
      if (layout == BloomLayout::kLines) {
        EXPECT_EQ(std::max<uint64_t>(1, (n * 10 + 511) / 512) * 64 + 1, reader.size());
      }
    }
  }
}

TEST(BloomTest, MoreBitsFewerFalsePositives) {
  for (BloomLayout layout : {BloomLayout::kLines, BloomLayout::kClassic}) {
    SCOPED_TRACE(Name(layout));
    const double r6 = FalsePositiveRate(Build(6, 20000, layout), 50000);
    const double r10 = FalsePositiveRate(Build(10, 20000, layout), 50000);
    const double r16 = FalsePositiveRate(Build(16, 20000, layout), 50000);
    EXPECT_GT(r6, r10);
    EXPECT_GT(r10, r16);
    EXPECT_LE(r16, layout == BloomLayout::kLines ? 0.003 : 0.002);
  }
}

// A line filter sets every bit of a key inside one 64-byte line, the one
// its hash names: the format docs/format/table.md describes, recomputed
// here independently of the reader.
TEST(BloomTest, LineLayoutPutsEveryProbeOfAKeyInItsLine) {
  constexpr uint64_t kKeys = 300;  // 3000 bits: 6 lines
  BloomFilterBuilder builder(10, BloomLayout::kLines);
  for (uint64_t i = 0; i < kKeys; i++) builder.AddKey(Key(i, 'a'));
  const std::string filter = builder.Finish();
  ASSERT_EQ(6u * 64 + 1, filter.size());
  const int k = static_cast<unsigned char>(filter.back());
  ASSERT_EQ(7, k);
  std::string expected(6 * 64, '\0');
  for (uint64_t i = 0; i < kKeys; i++) {
    const uint64_t h = TableHash64(Key(i, 'a'));
    const uint64_t line = ((h >> 32) * 6) >> 32;
    uint32_t g = static_cast<uint32_t>(h);
    for (int p = 0; p < k; p++) {
      const uint32_t bit = g >> 23;
      expected[line * 64 + bit / 8] =
          static_cast<char>(expected[line * 64 + bit / 8] | (1 << (bit % 8)));
      g *= 0x9e3779b9u;
    }
  }
  EXPECT_EQ(expected, filter.substr(0, filter.size() - 1));
}

// Read the wrong way, a filter says what it was not built to say: the layout
// comes from the table (the meta-index name), never guessed from the bytes.
// Both layouts of one key set disagree on absent keys and agree on present
// ones only through their own reader.
TEST(BloomTest, LayoutsAreDifferentFormats) {
  BloomFilterBuilder lines(10, BloomLayout::kLines), classic(10, BloomLayout::kClassic);
  for (uint64_t i = 0; i < 5000; i++) {
    lines.AddKey(Key(i, 'a'));
    classic.AddKey(Key(i, 'a'));
  }
  const std::string a = lines.Finish(), b = classic.Finish();
  EXPECT_NE(a.size(), b.size());
  BloomFilterReader as_classic;
  ASSERT_TRUE(BloomFilterReader::Parse(a, BloomLayout::kClassic, &as_classic).ok());
  int missed = 0;
  for (uint64_t i = 0; i < 5000; i++) missed += as_classic.KeyMayMatch(Key(i, 'a')) ? 0 : 1;
  EXPECT_GT(missed, 0);  // a line filter read as classic loses present keys
}

TEST(BloomTest, ProbeCount) {
  EXPECT_EQ(1, BloomFilterBuilder::ProbesFor(1));
  EXPECT_EQ(1, BloomFilterBuilder::ProbesFor(2));   // 1.39
  EXPECT_EQ(3, BloomFilterBuilder::ProbesFor(4));   // 2.77
  EXPECT_EQ(7, BloomFilterBuilder::ProbesFor(10));  // 6.93
  EXPECT_EQ(30, BloomFilterBuilder::ProbesFor(100));
  for (BloomLayout layout : {BloomLayout::kLines, BloomLayout::kClassic}) {
    BloomFilterBuilder b(20, layout);
    b.AddKey("x");
    const std::string filter = b.Finish();
    EXPECT_EQ(14, static_cast<unsigned char>(filter.back()));  // stored in the last byte
  }
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
  for (BloomLayout layout : {BloomLayout::kLines, BloomLayout::kClassic}) {
    SCOPED_TRACE(Name(layout));
    EXPECT_TRUE(BloomFilterReader::Parse("", layout, &reader).IsCorruption());
    EXPECT_TRUE(BloomFilterReader::Parse(std::string(8, '\0'), layout, &reader).IsCorruption());
    const size_t bytes = layout == BloomLayout::kLines ? 64 : 8;
    std::string zero_probes(bytes + 1, '\0');
    EXPECT_TRUE(BloomFilterReader::Parse(zero_probes, layout, &reader).IsCorruption());
    std::string many_probes(bytes, '\0');
    many_probes.push_back(31);
    EXPECT_TRUE(BloomFilterReader::Parse(many_probes, layout, &reader).IsCorruption());
    std::string ok(bytes, '\0');
    ok.push_back(30);
    EXPECT_TRUE(BloomFilterReader::Parse(ok, layout, &reader).ok());
    EXPECT_FALSE(reader.KeyMayMatch("anything"));  // no bit set
    EXPECT_EQ(bytes + 1, reader.size());
  }
  // Too short for the layout, with a valid probe count: no bits at all
  // (lines), fewer than 64 bits (classic).
  EXPECT_TRUE(
      BloomFilterReader::Parse(std::string(1, 7), BloomLayout::kLines, &reader).IsCorruption());
  EXPECT_TRUE(
      BloomFilterReader::Parse(std::string(1, 7), BloomLayout::kClassic, &reader).IsCorruption());
  EXPECT_TRUE(
      BloomFilterReader::Parse(std::string(7, '\0') + '\x07', BloomLayout::kClassic, &reader)
          .IsCorruption());
  // Lines: whole lines only.
  for (size_t bytes : {63, 65, 100, 127}) {
    std::string filter(bytes, '\0');
    filter.push_back(7);
    EXPECT_TRUE(BloomFilterReader::Parse(filter, BloomLayout::kLines, &reader).IsCorruption())
        << bytes;
    EXPECT_TRUE(BloomFilterReader::Parse(filter, BloomLayout::kClassic, &reader).ok()) << bytes;
  }
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

// The definition the persisted values come from, byte by byte: the hash
// must give exactly its values at every length (every tail size after 0 to
// 8 whole words), for every seed, on keys of any bytes.
uint64_t ReferenceHash64(std::string_view data, uint64_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  auto word = [&](size_t at, size_t n) {
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= static_cast<uint64_t>(p[at + i]) << (8 * i);
    return w;
  };
  auto scramble = [](uint64_t w) {
    return std::rotl(w * 0x87c37b91114253d5ull, 31) * 0x4cf5ad432745937full;
  };
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull ^ (data.size() * 0x4cf5ad432745937full);
  size_t at = 0;
  for (; at + 8 <= data.size(); at += 8) {
    h ^= scramble(word(at, 8));
    h = std::rotl(h, 27) * 5 + 0x52dce729ull;
  }
  if (at < data.size()) h ^= scramble(word(at, data.size() - at));
  return Mix64(h ^ data.size());
}

TEST(TableHashTest, EqualsTheByteByByteDefinition) {
  Random rnd(11);
  for (size_t n = 0; n <= 72; n++) {
    for (int t = 0; t < 50; t++) {
      const std::string s = rnd.RandomBytes(n);
      const uint64_t seed = t % 3 == 0 ? 0 : (static_cast<uint64_t>(rnd.Next()) << 32) | rnd.Next();
      // Unaligned starts too: the words are loaded from any address.
      const std::string shifted = "x" + s;
      ASSERT_EQ(ReferenceHash64(s, seed), TableHash64(s, seed)) << n;
      ASSERT_EQ(ReferenceHash64(s, seed), TableHash64(std::string_view(shifted).substr(1), seed))
          << n;
    }
  }
}

}  // namespace
}  // namespace lsmkv
