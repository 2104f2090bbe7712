// GETBIT, SETBIT, BITCOUNT, BITPOS, LCS (commands_bits.cc): replies and
// errors as redis-server 7.0.15 gives them (each case was compared with it),
// and SETBIT/GETBIT/BITCOUNT/BITPOS against a bit-vector model.
#include <random>
#include <vector>

#include "server/command_test_fixture.h"

namespace lsmkv::server {
namespace {

using BitsTest = CommandsTest;

TEST_F(BitsTest, GetAndSetBits) {
  ASSERT_EQ(Run({"set", "s", "foobar"}), kOk);
  EXPECT_EQ(Run({"getbit", "s", "1"}), Int(1));
  EXPECT_EQ(Run({"getbit", "s", "100"}), Int(0));
  EXPECT_EQ(Run({"getbit", "missing", "5"}), Int(0));
  EXPECT_EQ(Run({"getbit", "s", "-1"}), Err("ERR bit offset is not an integer or out of range"));
  EXPECT_EQ(Run({"getbit", "s", "4294967296"}),
            Err("ERR bit offset is not an integer or out of range"));
  EXPECT_EQ(Run({"setbit", "n", "7", "1"}), Int(0));
  EXPECT_EQ(Run({"get", "n"}), Bulk("\x01"));
  EXPECT_EQ(Run({"setbit", "n", "100", "1"}), Int(0));
  EXPECT_EQ(Run({"strlen", "n"}), Int(13));
  EXPECT_EQ(Run({"setbit", "n", "7", "0"}), Int(1));
  EXPECT_EQ(Run({"setbit", "n", "7", "2"}), Err("ERR bit is not an integer or out of range"));
  EXPECT_EQ(Run({"setbit", "n", "-1", "1"}),
            Err("ERR bit offset is not an integer or out of range"));
  // SETBIT keeps the deadline; it refuses another type.
  ASSERT_EQ(Run({"set", "t", "x", "ex", "100"}), kOk);
  EXPECT_EQ(Run({"setbit", "t", "0", "1"}), Int(0));
  EXPECT_EQ(Run({"ttl", "t"}), Int(100));
  ASSERT_EQ(Run({"hset", "h", "f", "v"}), Int(1));
  EXPECT_EQ(Run({"setbit", "h", "0", "1"}), Err(std::string(errors::kWrongType)));
  EXPECT_EQ(Run({"getbit", "h", "0"}), Err(std::string(errors::kWrongType)));
}

TEST_F(BitsTest, CountAndPosition) {
  ASSERT_EQ(Run({"set", "s", "foobar"}), kOk);
  EXPECT_EQ(Run({"bitcount", "s"}), Int(26));
  EXPECT_EQ(Run({"bitcount", "s", "0", "0"}), Int(4));
  EXPECT_EQ(Run({"bitcount", "s", "1", "1"}), Int(6));
  EXPECT_EQ(Run({"bitcount", "s", "1", "-1"}), Int(22));
  EXPECT_EQ(Run({"bitcount", "s", "-2", "-1"}), Int(7));
  EXPECT_EQ(Run({"bitcount", "s", "5", "30", "BIT"}), Int(17));
  EXPECT_EQ(Run({"bitcount", "s", "0", "-1", "BYTE"}), Int(26));
  EXPECT_EQ(Run({"bitcount", "s", "3", "1"}), Int(0));
  EXPECT_EQ(Run({"bitcount", "s", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"bitcount", "s", "0", "1", "FOO"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"bitcount", "missing"}), Int(0));
  ASSERT_EQ(Run({"set", "z", std::string("\xff\xf0\x00", 3)}), kOk);
  EXPECT_EQ(Run({"bitpos", "z", "0"}), Int(12));
  EXPECT_EQ(Run({"bitpos", "z", "1", "2"}), Int(-1));
  EXPECT_EQ(Run({"bitpos", "z", "0", "0", "0"}), Int(-1));
  ASSERT_EQ(Run({"set", "ones", "\xff\xff\xff"}), kOk);
  EXPECT_EQ(Run({"bitpos", "ones", "0"}), Int(24));  // past the end: zero bits follow
  EXPECT_EQ(Run({"bitpos", "ones", "0", "0", "-1"}), Int(-1));
  EXPECT_EQ(Run({"bitpos", "ones", "0", "0"}), Int(24));
  EXPECT_EQ(Run({"bitpos", "missing", "0"}), Int(0));
  EXPECT_EQ(Run({"bitpos", "missing", "1"}), Int(-1));
  EXPECT_EQ(Run({"bitpos", "s", "2"}), Err("ERR The bit argument must be 1 or 0."));
  EXPECT_EQ(Run({"bitpos", "s", "1", "7", "15", "BIT"}), Int(9));
  EXPECT_EQ(Run({"bitpos", "s", "0", "-1", "-1", "BIT"}), Int(47));
}

TEST_F(BitsTest, LongestCommonSubsequence) {
  ASSERT_EQ(Run({"set", "a", "ohmytext"}), kOk);
  ASSERT_EQ(Run({"set", "b", "mynewtext"}), kOk);
  EXPECT_EQ(Run({"lcs", "a", "b"}), Bulk("mytext"));
  EXPECT_EQ(Run({"lcs", "a", "b", "len"}), Int(6));
  auto range = [](int a, int b) { return "*2\r\n" + Int(a) + Int(b); };
  EXPECT_EQ(Run({"lcs", "a", "b", "idx"}), "*4\r\n" + Bulk("matches") + "*2\r\n" + "*2\r\n" +
                                               range(4, 7) + range(5, 8) + "*2\r\n" + range(2, 3) +
                                               range(0, 1) + Bulk("len") + Int(6));
  EXPECT_EQ(Run({"lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen"}),
            "*4\r\n" + Bulk("matches") + "*1\r\n" + "*3\r\n" + range(4, 7) + range(5, 8) + Int(4) +
                Bulk("len") + Int(6));
  EXPECT_EQ(Run({"lcs", "a", "b", "len", "idx"}),
            Err("ERR If you want both the length and indexes, please just use IDX."));
  EXPECT_EQ(Run({"lcs", "a", "missing"}), Bulk(""));
  EXPECT_EQ(Run({"lcs", "a", "b", "foo"}), Err("ERR syntax error"));
  ASSERT_EQ(Run({"hset", "h", "f", "v"}), Int(1));
  EXPECT_EQ(Run({"lcs", "a", "h"}), Err("ERR The specified keys must contain string values"));
  ASSERT_EQ(Run({"set", "x", "ABCBDAB"}), kOk);
  ASSERT_EQ(Run({"set", "y", "BDCABA"}), kOk);
  EXPECT_EQ(Run({"lcs", "x", "y"}), Bulk("BDAB"));
  // Refused past its table bound, before allocating.
  ASSERT_EQ(Run({"set", "big1", std::string(10000, 'a')}), kOk);
  ASSERT_EQ(Run({"set", "big2", std::string(10000, 'b')}), kOk);
  EXPECT_EQ(Run({"lcs", "big1", "big2"}).substr(0, 40), "-ERR LCS of strings this long is refused");
}

// Random SETBITs against a bit vector; every GETBIT, BITCOUNT and BITPOS
// checked.
TEST_F(BitsTest, MatchesABitVector) {
  std::mt19937 rng(1204);
  std::vector<int> model;
  auto count = [&](uint64_t first, uint64_t last) {
    int64_t n = 0;
    for (uint64_t b = first; b <= last && b < model.size(); b++) n += model[b];
    return n;
  };
  for (int step = 0; step < 500; step++) {
    SCOPED_TRACE(step);
    const uint64_t offset = rng() % 300;
    const int value = static_cast<int>(rng() % 2);
    const int old = offset < model.size() ? model[offset] : 0;
    ASSERT_EQ(Run({"setbit", "k", std::to_string(offset), std::to_string(value)}), Int(old));
    if (offset >= model.size()) model.resize((offset / 8 + 1) * 8, 0);
    model[offset] = value;
    const uint64_t probe = rng() % 320;
    ASSERT_EQ(Run({"getbit", "k", std::to_string(probe)}),
              Int(probe < model.size() ? model[probe] : 0));
    const uint64_t a = rng() % model.size(), b = rng() % model.size();
    const uint64_t lo = std::min(a, b), hi = std::max(a, b);
    ASSERT_EQ(Run({"bitcount", "k", std::to_string(lo), std::to_string(hi), "bit"}),
              Int(count(lo, hi)));
    ASSERT_EQ(Run({"bitcount", "k"}), Int(count(0, model.size() - 1)));
    const int wanted = static_cast<int>(rng() % 2);
    int64_t expected = -1;
    for (uint64_t bit = lo; bit <= hi; bit++) {
      if (model[bit] == wanted) {
        expected = static_cast<int64_t>(bit);
        break;
      }
    }
    ASSERT_EQ(
        Run({"bitpos", "k", std::to_string(wanted), std::to_string(lo), std::to_string(hi), "bit"}),
        Int(expected));
  }
}

}  // namespace
}  // namespace lsmkv::server
