#include "util/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "util/testutil.h"

namespace lsmkv {
namespace {

TEST(RandomTest, SameSeedSameSequence) {
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{301}, ~uint64_t{0}}) {
    Random a(seed);
    Random b(seed);
    for (int i = 0; i < 1000; i++) {
      ASSERT_EQ(a.Next64(), b.Next64());
      ASSERT_EQ(a.Next(), b.Next());
      ASSERT_EQ(a.Uniform(1000), b.Uniform(1000));
      ASSERT_EQ(a.Skewed(20), b.Skewed(20));
    }
    EXPECT_EQ(a.RandomBytes(100), b.RandomBytes(100));
    EXPECT_EQ(a.RandomKey(100), b.RandomKey(100));
  }
}

TEST(RandomTest, DifferentSeedsDiffer) {
  Random a(1);
  Random b(2);
  int same = 0;
  for (int i = 0; i < 1000; i++) same += (a.Next() == b.Next()) ? 1 : 0;
  EXPECT_LT(same, 3);
}

TEST(RandomTest, SeedZeroIsNotDegenerate) {
  Random rnd(0);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; i++) seen.insert(rnd.Next64());
  EXPECT_EQ(1000u, seen.size());
}

TEST(RandomTest, NextBitsAreBalanced) {
  Random rnd(test::TestSeed());
  constexpr int kDraws = 100000;
  int ones[32] = {};
  for (int i = 0; i < kDraws; i++) {
    const uint32_t v = rnd.Next();
    for (int b = 0; b < 32; b++) ones[b] += (v >> b) & 1;
  }
  // Each bit is Binomial(100000, 0.5): sd ~158; allow > 6 sd.
  for (int b = 0; b < 32; b++) {
    EXPECT_NEAR(kDraws / 2, ones[b], 1000) << "bit " << b;
  }
}

TEST(RandomTest, UniformStaysInRangeAndCoversSmallRanges) {
  Random rnd(test::TestSeed() + 1);
  for (uint32_t n = 1; n <= 64; n++) {
    std::vector<int> counts(n, 0);
    for (uint32_t i = 0; i < n * 200; i++) {
      const uint32_t v = rnd.Uniform(n);
      ASSERT_LT(v, n);
      counts[v]++;
    }
    for (uint32_t v = 0; v < n; v++) EXPECT_GT(counts[v], 0) << "n=" << n << " v=" << v;
  }
  // Large n that is not a power of two, where modulo bias would show most.
  const uint32_t big = 0xc0000000u;
  for (int i = 0; i < 10000; i++) ASSERT_LT(rnd.Uniform(big), big);
  EXPECT_EQ(0u, rnd.Uniform(1));
}

TEST(RandomTest, UniformChiSquare) {
  Random rnd(test::TestSeed() + 2);
  constexpr uint32_t kBuckets = 100;
  constexpr int kDraws = 200000;
  std::vector<int> counts(kBuckets, 0);
  for (int i = 0; i < kDraws; i++) counts[rnd.Uniform(kBuckets)]++;
  const double expected = static_cast<double>(kDraws) / kBuckets;
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  // 99 degrees of freedom: mean 99, sd ~14. The bound is very loose on purpose
  // (a broken generator, e.g. one stuck on a subset, gives thousands).
  EXPECT_LT(chi2, 200.0);
  EXPECT_GT(chi2, 30.0);  // suspiciously perfect uniformity is also a bug
}

TEST(RandomTest, UniformHasNoModuloBias) {
  // With n = 3 * 2^30, a plain Next() % n would return values below 2^30
  // twice as often as the others (probability 1/2 instead of 1/3).
  Random rnd(test::TestSeed() + 3);
  const uint32_t n = 3u << 30;
  constexpr int kDraws = 60000;
  int low = 0;
  for (int i = 0; i < kDraws; i++) low += (rnd.Uniform(n) < (1u << 30)) ? 1 : 0;
  EXPECT_NEAR(kDraws / 3, low, 800);  // sd ~115
  // A multiply-shift reduction without the rejection step maps two inputs to
  // every multiple of 3 and one to the rest (n / 2^32 == 3/4): residue 0
  // would come up half the time instead of a third.
  Random rnd2(test::TestSeed() + 30);
  int residue_zero = 0;
  for (int i = 0; i < kDraws; i++) residue_zero += (rnd2.Uniform(n) % 3 == 0) ? 1 : 0;
  EXPECT_NEAR(kDraws / 3, residue_zero, 800);
}

TEST(RandomTest, OneIn) {
  Random rnd(test::TestSeed() + 4);
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(rnd.OneIn(1));
  int hits = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; i++) hits += rnd.OneIn(10) ? 1 : 0;
  EXPECT_NEAR(kDraws / 10, hits, 600);  // sd ~95
}

TEST(RandomTest, SkewedRangeAndShape) {
  Random rnd(test::TestSeed() + 5);
  for (int i = 0; i < 1000; i++) ASSERT_EQ(0u, rnd.Skewed(0));
  constexpr int kMaxLog = 10;
  constexpr int kDraws = 110000;
  std::vector<int> by_bits(kMaxLog + 1, 0);  // by bit length of the result
  for (int i = 0; i < kDraws; i++) {
    const uint32_t v = rnd.Skewed(kMaxLog);
    ASSERT_LT(v, 1u << kMaxLog);
    int bits = 0;
    while ((v >> bits) != 0) bits++;
    by_bits[bits]++;
  }
  // A base b draw has bit length L >= 1 with probability 2^(L-1) / 2^b (for
  // L <= b) and bit length 0 with probability 1 / 2^b. Compare the expected
  // count per bit length with a loose (5 sd) tolerance.
  for (int len = 0; len <= kMaxLog; len++) {
    double p = 0;
    for (int b = 0; b <= kMaxLog; b++) {
      if (len == 0) {
        p += (1.0 / (kMaxLog + 1)) / std::ldexp(1.0, b);
      } else if (b >= len) {
        p += (1.0 / (kMaxLog + 1)) * std::ldexp(1.0, len - 1) / std::ldexp(1.0, b);
      }
    }
    EXPECT_NEAR(p * kDraws, by_bits[len], 5 * std::sqrt(p * kDraws) + 20) << "len=" << len;
  }
  // Full-width results are possible with max_log 32.
  bool high_bit = false;
  for (int i = 0; i < 2000 && !high_bit; i++) high_bit = (rnd.Skewed(32) >> 31) != 0;
  EXPECT_TRUE(high_bit);
}

TEST(RandomTest, RandomBytesCoversEveryByteValue) {
  Random rnd(test::TestSeed() + 6);
  for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{1000}}) {
    EXPECT_EQ(len, rnd.RandomBytes(len).size());
  }
  const std::string bytes = rnd.RandomBytes(100000);
  std::vector<int> counts(256, 0);
  for (char c : bytes) counts[static_cast<unsigned char>(c)]++;
  for (int v = 0; v < 256; v++) {
    // Expected ~390 each; sd ~20.
    EXPECT_GT(counts[v], 250) << "byte " << v;
    EXPECT_LT(counts[v], 550) << "byte " << v;
  }
}

TEST(RandomTest, RandomBytesAdjacentPairsAreIndependent) {
  // Every ordered pair of adjacent bytes occurs: 2M pairs over 65536 values,
  // ~32 each, so a miss means bytes are correlated (e.g. overlapping bits).
  Random rnd(test::TestSeed() + 8);
  const std::string bytes = rnd.RandomBytes(4 << 20);
  std::vector<bool> seen(65536, false);
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    seen[static_cast<unsigned char>(bytes[i]) * 256 + static_cast<unsigned char>(bytes[i + 1])] =
        true;
  }
  EXPECT_EQ(65536, std::count(seen.begin(), seen.end(), true));
}

TEST(RandomTest, RandomKeyIsPrintable) {
  Random rnd(test::TestSeed() + 7);
  EXPECT_TRUE(rnd.RandomKey(0).empty());
  const std::string key = rnd.RandomKey(20000);
  ASSERT_EQ(20000u, key.size());
  std::set<char> seen;
  for (char c : key) {
    ASSERT_GE(c, '!');
    ASSERT_LE(c, '~');
    seen.insert(c);
  }
  EXPECT_EQ(static_cast<size_t>('~' - '!' + 1), seen.size());
}

}  // namespace
}  // namespace lsmkv
