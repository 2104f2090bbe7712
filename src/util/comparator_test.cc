#include "util/comparator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

const Comparator* Cmp() { return BytewiseComparator(); }

int Sign(int x) { return (x > 0) - (x < 0); }

std::string Separator(std::string start, std::string_view limit) {
  Cmp()->FindShortestSeparator(&start, limit);
  return start;
}

std::string Successor(std::string key) {
  Cmp()->FindShortSuccessor(&key);
  return key;
}

// Random strings over a small alphabet that includes 0x00 and 0xff, so that
// long shared prefixes and the 0xff edge cases are common.
std::string RandomEdgyString(Random* rnd, size_t max_len) {
  static const char kAlphabet[] = {'\x00', '\x01', 'a', 'b', '\x7f', '\x80', '\xfe', '\xff'};
  std::string s(rnd->Uniform(static_cast<uint32_t>(max_len) + 1), '\0');
  for (char& c : s) c = kAlphabet[rnd->Uniform(sizeof(kAlphabet))];
  return s;
}

TEST(BytewiseComparatorTest, SingletonAndName) {
  EXPECT_EQ(BytewiseComparator(), BytewiseComparator());
  EXPECT_STREQ("lsmkv.BytewiseComparator", Cmp()->Name());
}

TEST(BytewiseComparatorTest, ComparesUnsignedBytes) {
  EXPECT_EQ(0, Cmp()->Compare("", ""));
  EXPECT_EQ(0, Cmp()->Compare("abc", "abc"));
  EXPECT_LT(Cmp()->Compare("", "a"), 0);
  EXPECT_LT(Cmp()->Compare("a", "ab"), 0);
  EXPECT_LT(Cmp()->Compare("ab", "b"), 0);
  EXPECT_GT(Cmp()->Compare("b", "ab"), 0);
  // 0x80 and 0xff sort after ASCII (bytes are unsigned).
  EXPECT_LT(Cmp()->Compare("z", "\x80"), 0);
  EXPECT_LT(Cmp()->Compare("\x7f", "\xff"), 0);
  EXPECT_LT(Cmp()->Compare(std::string_view("a\0", 2), std::string_view("a\x01", 2)), 0);
  EXPECT_LT(Cmp()->Compare("a", std::string_view("a\0", 2)), 0);
}

TEST(BytewiseComparatorTest, CompareIsAntisymmetric) {
  Random rnd(test::TestSeed());
  for (int i = 0; i < 10000; i++) {
    const std::string a = RandomEdgyString(&rnd, 6);
    const std::string b = RandomEdgyString(&rnd, 6);
    const int ab = Sign(Cmp()->Compare(a, b));
    ASSERT_EQ(-ab, Sign(Cmp()->Compare(b, a)));
    ASSERT_EQ(ab == 0, a == b);
    // Agrees with a byte-by-byte unsigned comparison.
    int expected = 0;
    for (size_t k = 0; k < std::min(a.size(), b.size()) && expected == 0; k++) {
      expected = Sign(static_cast<unsigned char>(a[k]) - static_cast<unsigned char>(b[k]));
    }
    if (expected == 0) expected = Sign(static_cast<int>(a.size()) - static_cast<int>(b.size()));
    ASSERT_EQ(expected, ab);
  }
}

TEST(BytewiseComparatorTest, ShortestSeparatorExamples) {
  EXPECT_EQ("abd", Separator("abcdef", "abzzz"));
  EXPECT_EQ("b", Separator("a", "c"));
  // Adjacent bytes: no shorter separator exists at that position.
  EXPECT_EQ("abc1", Separator("abc1", "abd"));
  // start is a prefix of limit, or limit a prefix of start: unchanged.
  EXPECT_EQ("abc", Separator("abc", "abcdef"));
  EXPECT_EQ("", Separator("", "a"));
  // High bytes: the first differing byte is incremented when that stays
  // below limit, whatever follows it.
  EXPECT_EQ("\x01", Separator(std::string("\x00\xff\xff", 3), "\x03"));
  EXPECT_EQ("\x11", Separator("\x10\xff\xff", "\xff"));
  EXPECT_EQ("\xfe\xff", Separator("\xfe\xff", "\xff"));  // 0xfe + 1 == 0xff
  EXPECT_EQ("a\xff\xff", Separator("a\xff\xff", "b"));
  // Equal strings (allowed by callers with equal user keys) stay unchanged.
  EXPECT_EQ("same", Separator("same", "same"));
}

TEST(BytewiseComparatorTest, ShortSuccessorExamples) {
  EXPECT_EQ("b", Successor("abc"));
  EXPECT_EQ("\xff\xff\x02", Successor("\xff\xff\x01zzz"));
  EXPECT_EQ("\xff\xff", Successor("\xff\xff"));  // nothing shorter and larger
  EXPECT_EQ("", Successor(""));
  EXPECT_EQ("\x01", Successor(std::string("\x00\x00", 2)));
}

TEST(BytewiseComparatorTest, SeparatorKeepsOrderOnRandomStrings) {
  Random rnd(test::TestSeed() + 1);
  int shortened = 0;
  for (int i = 0; i < 50000; i++) {
    std::string a = RandomEdgyString(&rnd, 8);
    std::string b = RandomEdgyString(&rnd, 8);
    if (rnd.OneIn(4)) b = a + RandomEdgyString(&rnd, 3);  // prefix cases
    const int c = Cmp()->Compare(a, b);
    if (c == 0) continue;
    const std::string& start = c < 0 ? a : b;
    const std::string& limit = c < 0 ? b : a;
    const std::string s = Separator(start, limit);
    ASSERT_LE(Cmp()->Compare(start, s), 0) << testing::PrintToString(start);
    ASSERT_LT(Cmp()->Compare(s, limit), 0) << testing::PrintToString(start);
    ASSERT_LE(s.size(), start.size());
    if (s != start) shortened++;
  }
  EXPECT_GT(shortened, 1000);  // the shortening actually happens
}

TEST(BytewiseComparatorTest, SuccessorKeepsOrderOnRandomStrings) {
  Random rnd(test::TestSeed() + 2);
  int shortened = 0;
  for (int i = 0; i < 50000; i++) {
    const std::string key = RandomEdgyString(&rnd, 8);
    const std::string s = Successor(key);
    ASSERT_GE(Cmp()->Compare(s, key), 0) << testing::PrintToString(key);
    ASSERT_LE(s.size(), key.size());
    if (s != key) {
      shortened++;
      ASSERT_GT(Cmp()->Compare(s, key), 0);
    }
  }
  EXPECT_GT(shortened, 1000);
}

// CompareBytes gives memcmp's and std::string_view::compare's sign on keys
// that share prefixes of every length, differ in bytes above and below 0x80,
// or are prefixes of each other.
TEST(CompareBytesTest, MatchesMemcmpAndStringCompare) {
  Random rnd(test::TestSeed());
  auto sign = [](int v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); };
  for (int i = 0; i < 20000; i++) {
    std::string a = rnd.RandomBytes(rnd.Uniform(40));
    std::string b = a;
    switch (rnd.Uniform(4)) {
      case 0:
        b = rnd.RandomBytes(rnd.Uniform(40));
        break;
      case 1:  // one byte changed
        if (!b.empty())
          b[rnd.Uniform(static_cast<uint32_t>(b.size()))] ^=
              static_cast<char>(1 + rnd.Uniform(255));
        break;
      case 2:  // a prefix, or a longer key
        if (rnd.OneIn(2)) {
          b.resize(rnd.Uniform(static_cast<uint32_t>(b.size()) + 1));
        } else {
          b += rnd.RandomBytes(1 + rnd.Uniform(9));
        }
        break;
      default:  // equal
        break;
    }
    const size_t n = std::min(a.size(), b.size());
    ASSERT_EQ(sign(std::memcmp(a.data(), b.data(), n)), CompareBytes(a.data(), b.data(), n)) << i;
    ASSERT_EQ(sign(std::string_view(a).compare(b)), CompareBytes(a, b)) << i;
    ASSERT_EQ(-CompareBytes(a, b), CompareBytes(b, a)) << i;
  }
  EXPECT_EQ(-1, CompareBytes(std::string_view("\x7f"), std::string_view("\x80")));
  EXPECT_EQ(+1, CompareBytes(std::string_view("abcdefgh\xff"), std::string_view("abcdefgh\x01")));
  EXPECT_EQ(-1,
            CompareBytes(std::string_view("abcdefg\x01zzzzzzzz"), std::string_view("abcdefg\xff")));
  EXPECT_EQ(0, CompareBytes(std::string_view(""), std::string_view("")));
  EXPECT_EQ(-1, CompareBytes(std::string_view(""), std::string_view("a")));
}

// Every length up to five words and every position of the first difference
// (in the whole words, in the tail CompareBytes reads as an overlapping
// word, and in keys shorter than a word), with byte pairs on either side of
// 0x80 and after equal prefixes of any byte.
TEST(CompareBytesTest, EveryLengthAndPositionOfTheFirstDifference) {
  const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
  for (size_t n = 0; n <= 40; n++) {
    for (size_t p = 0; p < n; p++) {
      for (unsigned char x : values) {
        for (unsigned char y : values) {
          std::string a(n, '\x5a'), b(n, '\x5a');
          for (size_t i = 0; i < n; i++) a[i] = b[i] = static_cast<char>(0x30 + (i * 37) % 200);
          a[p] = static_cast<char>(x);
          b[p] = static_cast<char>(y);
          // Bytes after the first difference must not matter.
          for (size_t i = p + 1; i < n; i++) b[i] = static_cast<char>(~a[i]);
          const int want = x < y ? -1
                                 : (x > y ? +1
                                          : (std::memcmp(a.data(), b.data(), n) < 0   ? -1
                                             : std::memcmp(a.data(), b.data(), n) > 0 ? 1
                                                                                      : 0));
          ASSERT_EQ(want, CompareBytes(a.data(), b.data(), n)) << n << " " << p;
          ASSERT_EQ(-want, CompareBytes(b.data(), a.data(), n)) << n << " " << p;
        }
      }
    }
    const std::string same(n, '\x81');
    ASSERT_EQ(0, CompareBytes(same.data(), std::string(same).data(), n)) << n;
  }
}

}  // namespace
}  // namespace lsmkv
