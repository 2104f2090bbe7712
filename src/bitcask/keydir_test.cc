// The Bitcask keydir (bitcask/keydir.h) against a std::map model: random
// inserts, lookups, erasures (single and while walking) and clears, with the
// real hash and with hashes that collide on purpose — all keys in four home
// slots at the top of the table, so probe runs wrap around its end and every
// erasure shifts a run back — and with a comparator that is not bytewise
// (the table unused). After every step the hash table indexes exactly the
// map's entries, each reachable from its home slot (CheckIndex), and every
// present and absent key is found or not as the model says.
#include "bitcask/keydir.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "util/comparator.h"
#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv::bitcask {
namespace {

// Every key in one of the four slots at the top of any table (all low bits
// set but the last two), whatever its size.
uint64_t CollidingHash(std::string_view key) {
  return ~uint64_t{0} - (key.empty() ? 0 : static_cast<uint8_t>(key[0]) % 4);
}
// A constant: one run holding every key; also 0, which Keydir must not take
// for "empty".
uint64_t ZeroHash(std::string_view) { return 0; }

std::string RandomKey(Random* rnd, int universe) {
  // "k" + number, sometimes empty; a quarter of the numbers padded past
  // KeydirKey's 24 inline bytes (the key then lives in a heap block).
  if (rnd->OneIn(50)) return "";
  const uint32_t i = rnd->Uniform(static_cast<uint32_t>(universe));
  std::string key = "k" + std::to_string(i);
  if (i % 4 == 0) key += std::string(20 + i % 13, 'x');
  return key;
}

void RunModel(const Comparator* cmp, Keydir<int>::HashFunction hash, int universe, int steps,
              uint32_t seed) {
  const ComparatorLess less(cmp);
  Keydir<int> dir = hash == nullptr ? Keydir<int>(less) : Keydir<int>(less, hash);
  std::map<std::string, int, ComparatorLess> model(less);
  Random rnd(seed);
  ASSERT_EQ(dir.hashed(), less.bytewise);
  for (int step = 0; step < steps; step++) {
    const std::string key = RandomKey(&rnd, universe);
    const uint32_t op = rnd.Uniform(100);
    auto it = dir.find(key);
    const auto m = model.find(key);
    ASSERT_EQ(it == dir.end(), m == model.end()) << "step " << step << " key " << key;
    if (it != dir.end()) {
      ASSERT_EQ(it->first.view(), key);
      ASSERT_EQ(it->second, m->second);
    }
    if (op < 50) {  // insert or update
      const int value = static_cast<int>(rnd.Uniform(1000000));
      if (it == dir.end()) {
        if (rnd.OneIn(2)) {
          dir.emplace(key, value);
        } else {
          dir.emplace_hint(dir.lower_bound(key), key, value);
        }
      } else {
        it->second = value;
      }
      model[key] = value;
    } else if (op < 85) {  // erase
      if (it != dir.end()) {
        auto next = dir.erase(it);
        auto mnext = model.erase(m);
        ASSERT_EQ(next == dir.end(), mnext == model.end());
        if (next != dir.end()) {
          ASSERT_EQ(next->first.view(), mnext->first);
        }
      }
    } else if (op < 99) {  // erase every third entry from key on while walking
      auto d = dir.lower_bound(key);
      auto e = model.lower_bound(key);
      for (int i = 0; d != dir.end() && i < 12; i++) {
        ASSERT_EQ(d->first.view(), e->first);
        if (i % 3 == 0) {
          d = dir.erase(d);
          e = model.erase(e);
        } else {
          ++d;
          ++e;
        }
      }
    } else {
      dir.clear();
      model.clear();
    }
    ASSERT_EQ(dir.size(), model.size());
    if (step % 97 == 0 || universe <= 64) {
      ASSERT_TRUE(dir.CheckIndex()) << "step " << step;
    }
  }
  ASSERT_TRUE(dir.CheckIndex());
  // Order and contents, and every key of the universe found or not.
  auto d = dir.begin();
  for (const auto& [k, v] : model) {
    ASSERT_NE(d, dir.end());
    ASSERT_EQ(d->first.view(), k);
    ASSERT_EQ(d->second, v);
    ++d;
  }
  ASSERT_EQ(d, dir.end());
  for (int i = 0; i < universe; i++) {
    std::string key = "k" + std::to_string(i);
    if (i % 4 == 0) key += std::string(20 + i % 13, 'x');
    ASSERT_EQ(dir.find(key) == dir.end(), model.count(key) == 0) << key;
  }
}

TEST(KeydirTest, MatchesAMapWithTheRealHash) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  RunModel(BytewiseComparator(), nullptr, 64, 20000, seed);
  RunModel(BytewiseComparator(), nullptr, 5000, 60000, seed + 1);
}

TEST(KeydirTest, MatchesAMapWhenEveryKeyCollidesAndRunsWrapAround) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  RunModel(BytewiseComparator(), &CollidingHash, 64, 20000, seed);
  RunModel(BytewiseComparator(), &CollidingHash, 400, 20000, seed + 1);
  RunModel(BytewiseComparator(), &ZeroHash, 48, 5000, seed + 2);
}

TEST(KeydirTest, AnotherComparatorDescendsTheMap) {
  const Comparator* reverse = test::ReverseBytewiseComparator();
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  RunModel(reverse, nullptr, 64, 5000, seed);
  Keydir<int> dir{ComparatorLess(reverse)};
  dir.emplace("a", 1);
  dir.emplace("b", 2);
  EXPECT_EQ(dir.begin()->first.view(), "b");  // reverse order
  EXPECT_FALSE(dir.hashed());
}

TEST(KeydirTest, TheInlineBytewiseOrderIsTheComparators) {
  const uint32_t seed = test::TestSeed();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Random rnd(seed);
  const KeydirLess less{ComparatorLess()};
  auto random_key = [&rnd](const std::string& base) {
    // Sharing a prefix of base (often past 8 or 16 bytes), then random
    // bytes over the whole range (high bytes included), 0 to 40 long.
    std::string k = base.substr(0, rnd.Uniform(static_cast<uint32_t>(base.size()) + 1));
    const uint32_t extra = rnd.Uniform(20);
    for (uint32_t i = 0; i < extra; i++) k.push_back(static_cast<char>(rnd.Uniform(256)));
    return k;
  };
  std::string base;
  for (int i = 0; i < 40; i++) base.push_back(static_cast<char>(rnd.Uniform(256)));
  for (int i = 0; i < 100000; i++) {
    const std::string a = random_key(base), b = random_key(rnd.OneIn(4) ? a : base);
    ASSERT_EQ(less(a, b), std::string_view(a) < std::string_view(b))
        << testing::PrintToString(a) << " vs " << testing::PrintToString(b);
    ASSERT_FALSE(less(a, a));
  }
}

TEST(KeydirTest, LookupsAfterGrowthFindEveryKey) {
  Keydir<int> dir{ComparatorLess()};
  for (int i = 0; i < 100000; i++) dir.emplace("key" + std::to_string(i), i);
  ASSERT_TRUE(dir.CheckIndex());
  for (int i = 0; i < 100000; i++) {
    auto it = dir.find("key" + std::to_string(i));
    ASSERT_NE(it, dir.end());
    ASSERT_EQ(it->second, i);
  }
  EXPECT_EQ(dir.find("key100000"), dir.end());
  EXPECT_EQ(dir.find(""), dir.end());
}

}  // namespace
}  // namespace lsmkv::bitcask
