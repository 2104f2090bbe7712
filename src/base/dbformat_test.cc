#include "base/dbformat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

std::string IKey(std::string_view user_key, SequenceNumber seq, ValueType type) {
  std::string result;
  AppendInternalKey(&result, user_key, seq, type);
  return result;
}

const InternalKeyComparator& ICmp() {
  static const InternalKeyComparator cmp(BytewiseComparator());
  return cmp;
}

std::string Shorten(std::string start, std::string_view limit) {
  ICmp().FindShortestSeparator(&start, limit);
  return start;
}

std::string ShortSuccessor(std::string key) {
  ICmp().FindShortSuccessor(&key);
  return key;
}

std::string RandomUserKey(Random* rnd) {
  static const char kAlphabet[] = {'\x00', 'a', 'b', 'c', '\x80', '\xfe', '\xff'};
  std::string s(rnd->Uniform(7), '\0');
  for (char& c : s) c = kAlphabet[rnd->Uniform(sizeof(kAlphabet))];
  return s;
}

SequenceNumber RandomSequence(Random* rnd) {
  switch (rnd->Uniform(4)) {
    case 0:
      return 0;
    case 1:
      return kMaxSequenceNumber - rnd->Uniform(3);
    case 2:
      return rnd->Uniform(10);
    default:
      return rnd->Next64() & kMaxSequenceNumber;
  }
}

TEST(DbFormatTest, InternalKeyEncoding) {
  const std::string k = IKey("foo", 0x0102030405, kTypeValue);
  ASSERT_EQ(3u + 8u, k.size());
  EXPECT_EQ("foo", k.substr(0, 3));
  EXPECT_EQ((uint64_t{0x0102030405} << 8) | kTypeValue, DecodeFixed64(k.data() + 3));
  EXPECT_EQ("foo", ExtractUserKey(k));
  EXPECT_EQ(PackSequenceAndType(0x0102030405, kTypeValue), ExtractTag(k));
  EXPECT_EQ(8u, IKey("", 0, kTypeDeletion).size());
  EXPECT_EQ(std::string(8, '\0'), IKey("", 0, kTypeDeletion));
}

TEST(DbFormatTest, ParseAppendRoundTrip) {
  const std::string keys[] = {"", "k", "hello", std::string(300, '\xff'), std::string("\0\0\0", 3)};
  const SequenceNumber seqs[] = {
      0, 1, 100, (1ull << 32) - 1, 1ull << 32, kMaxSequenceNumber - 1, kMaxSequenceNumber};
  for (const std::string& key : keys) {
    for (SequenceNumber seq : seqs) {
      for (ValueType type : {kTypeValue, kTypeDeletion}) {
        const std::string ikey = IKey(key, seq, type);
        ParsedInternalKey parsed;
        ASSERT_TRUE(ParseInternalKey(ikey, &parsed));
        EXPECT_EQ(key, parsed.user_key);
        EXPECT_EQ(seq, parsed.sequence);
        EXPECT_EQ(type, parsed.type);
        // Appending the parsed parts reproduces the bytes.
        EXPECT_EQ(ikey, IKey(parsed.user_key, parsed.sequence, parsed.type));
      }
    }
  }
}

TEST(DbFormatTest, ParseRejectsShortInput) {
  const std::string valid = IKey("", 7, kTypeValue);
  for (size_t len = 0; len < 8; len++) {
    ParsedInternalKey parsed;
    EXPECT_FALSE(ParseInternalKey(std::string_view(valid).substr(0, len), &parsed)) << len;
  }
  ParsedInternalKey parsed;
  EXPECT_TRUE(ParseInternalKey(valid, &parsed));
  EXPECT_TRUE(parsed.user_key.empty());
}

TEST(DbFormatTest, ParseRejectsUnknownType) {
  for (unsigned type : {2u, 3u, 0x7fu, 0x80u, 0xffu}) {
    std::string key = "user";
    PutFixed64(&key, (uint64_t{5} << 8) | type);
    ParsedInternalKey parsed;
    EXPECT_FALSE(ParseInternalKey(key, &parsed)) << type;
  }
  EXPECT_TRUE(IsValidValueType(kTypeDeletion));
  EXPECT_TRUE(IsValidValueType(kTypeValue));
  EXPECT_FALSE(IsValidValueType(2));
}

TEST(DbFormatTest, ComparatorOrdering) {
  // User key ascending, then sequence descending, then type descending.
  const std::vector<std::string> ordered = {
      IKey("", kMaxSequenceNumber, kTypeValue),
      IKey("", 0, kTypeDeletion),
      IKey("a", kMaxSequenceNumber, kTypeValue),
      IKey("a", 100, kTypeValue),
      IKey("a", 100, kTypeDeletion),
      IKey("a", 99, kTypeValue),
      IKey("a", 1, kTypeDeletion),
      IKey("a", 0, kTypeValue),
      IKey(std::string("a\0", 2), kMaxSequenceNumber, kTypeValue),
      IKey("ab", 5, kTypeValue),
      IKey("b", 200, kTypeValue),
      IKey("\x80", 1, kTypeValue),
      IKey("\xff", 1, kTypeValue),
      IKey("\xff\xff", 1000, kTypeValue),
  };
  for (size_t i = 0; i < ordered.size(); i++) {
    for (size_t j = 0; j < ordered.size(); j++) {
      const int c = ICmp().Compare(ordered[i], ordered[j]);
      const int expected = (i < j) ? -1 : (i > j ? 1 : 0);
      EXPECT_EQ(expected, (c > 0) - (c < 0)) << i << " vs " << j;
    }
  }
  EXPECT_STREQ("lsmkv.InternalKeyComparator", ICmp().Name());
  EXPECT_EQ(BytewiseComparator(), ICmp().user_comparator());
}

TEST(DbFormatTest, ComparatorMatchesModelOnRandomKeys) {
  Random rnd(test::TestSeed());
  for (int i = 0; i < 20000; i++) {
    const std::string ua = RandomUserKey(&rnd);
    const std::string ub = rnd.OneIn(3) ? ua : RandomUserKey(&rnd);
    const SequenceNumber sa = RandomSequence(&rnd);
    const SequenceNumber sb = rnd.OneIn(3) ? sa : RandomSequence(&rnd);
    const ValueType ta = rnd.OneIn(2) ? kTypeValue : kTypeDeletion;
    const ValueType tb = rnd.OneIn(2) ? kTypeValue : kTypeDeletion;
    int expected = ua.compare(ub);
    if (expected == 0) expected = sa > sb ? -1 : (sa < sb ? 1 : 0);
    if (expected == 0) expected = ta > tb ? -1 : (ta < tb ? 1 : 0);
    const int actual = ICmp().Compare(IKey(ua, sa, ta), IKey(ub, sb, tb));
    ASSERT_EQ(expected < 0, actual < 0);
    ASSERT_EQ(expected == 0, actual == 0);
    ASSERT_EQ(expected > 0, actual > 0);
  }
}

// Lengths around the one-byte varint's end and around the end of the
// in-place buffer (115 bytes of user key; longer ones are built on the heap).
TEST(DbFormatTest, LookupKeyLayout) {
  for (size_t len : {size_t{0}, size_t{3}, size_t{114}, size_t{115}, size_t{116}, size_t{119},
                     size_t{120}, size_t{1000}, size_t{20000}}) {
    const std::string user(len, 'k');
    LookupKey lk(user, 12345);
    const std::string expected_internal = IKey(user, 12345, kValueTypeForSeek);
    EXPECT_EQ(user, lk.user_key());
    EXPECT_EQ(expected_internal, lk.internal_key());
    std::string expected_memtable;
    PutVarint32(&expected_memtable, static_cast<uint32_t>(len + 8));
    expected_memtable += expected_internal;
    EXPECT_EQ(expected_memtable, lk.memtable_key()) << len;
    // The memtable key decodes as a length-prefixed internal key.
    std::string_view in = lk.memtable_key();
    std::string_view decoded;
    ASSERT_TRUE(GetLengthPrefixed(&in, &decoded));
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(lk.internal_key(), decoded);
    // The seek key sorts at or before every entry for user visible at 12345.
    EXPECT_LE(ICmp().Compare(lk.internal_key(), IKey(user, 12345, kTypeValue)), 0);
    EXPECT_LT(ICmp().Compare(lk.internal_key(), IKey(user, 12345, kTypeDeletion)), 0);
    EXPECT_LT(ICmp().Compare(lk.internal_key(), IKey(user, 12344, kTypeValue)), 0);
    EXPECT_GT(ICmp().Compare(lk.internal_key(), IKey(user, 12346, kTypeDeletion)), 0);
  }
}

TEST(DbFormatTest, SeparatorExamples) {
  // Shortened user key gets the earliest possible tag.
  EXPECT_EQ(IKey("g", kMaxSequenceNumber, kValueTypeForSeek),
            Shorten(IKey("foo", 100, kTypeValue), IKey("hello", 200, kTypeValue)));
  // Same user key: unchanged.
  EXPECT_EQ(IKey("foo", 100, kTypeValue),
            Shorten(IKey("foo", 100, kTypeValue), IKey("foo", 99, kTypeValue)));
  // Prefix user keys: unchanged.
  EXPECT_EQ(IKey("foo", 100, kTypeValue),
            Shorten(IKey("foo", 100, kTypeValue), IKey("foobar", 200, kTypeValue)));
  // Adjacent user keys: unchanged.
  EXPECT_EQ(IKey("foo", 100, kTypeValue),
            Shorten(IKey("foo", 100, kTypeValue), IKey("fop", 200, kTypeValue)));
}

TEST(DbFormatTest, SuccessorExamples) {
  EXPECT_EQ(IKey("g", kMaxSequenceNumber, kValueTypeForSeek),
            ShortSuccessor(IKey("foo", 100, kTypeValue)));
  EXPECT_EQ(IKey("\xff\xff", 100, kTypeValue), ShortSuccessor(IKey("\xff\xff", 100, kTypeValue)));
}

TEST(DbFormatTest, SeparatorAndSuccessorKeepOrderOnRandomKeys) {
  Random rnd(test::TestSeed() + 1);
  int shortened = 0;
  for (int i = 0; i < 20000; i++) {
    std::string a =
        IKey(RandomUserKey(&rnd), RandomSequence(&rnd), rnd.OneIn(2) ? kTypeValue : kTypeDeletion);
    std::string b = IKey(rnd.OneIn(4) ? std::string(ExtractUserKey(a)) : RandomUserKey(&rnd),
                         RandomSequence(&rnd), rnd.OneIn(2) ? kTypeValue : kTypeDeletion);
    const int c = ICmp().Compare(a, b);
    if (c == 0) continue;
    if (c > 0) std::swap(a, b);
    const std::string s = Shorten(a, b);
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(s, &parsed));  // still a well-formed internal key
    ASSERT_LE(ICmp().Compare(a, s), 0) << testing::PrintToString(a);
    ASSERT_LT(ICmp().Compare(s, b), 0) << testing::PrintToString(a);
    ASSERT_LE(s.size(), a.size());
    if (s != a) shortened++;

    const std::string succ = ShortSuccessor(a);
    ASSERT_TRUE(ParseInternalKey(succ, &parsed));
    ASSERT_LE(ICmp().Compare(a, succ), 0) << testing::PrintToString(a);
    ASSERT_LE(succ.size(), a.size());
  }
  EXPECT_GT(shortened, 500);
}

}  // namespace
}  // namespace lsmkv
