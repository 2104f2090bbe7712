// Sorted-set commands in process (command_test_fixture.h): replies byte for
// byte as Redis 7.0 sends them (checked against redis-server 7.0.15), in
// RESP2 and RESP3; reverse scans reading a transaction's own writes; and a
// randomized comparison with a std::map model across reopens, DEL and
// expiry, checking after every step that the member keys ('z') and the
// score index ('i') of each set agree with each other and with the model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "server/collection.h"
#include "server/command_test_fixture.h"

namespace lsmkv::server {
namespace {

const char kWrongType[] = "WRONGTYPE Operation against a key holding the wrong kind of value";

std::string Array(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& item : items) out += item;
  return out;
}

// A score as Redis 7.0 prints it ("%.17g", inf, -inf).
std::string ScoreText(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buf[64];
  const int n = std::snprintf(buf, sizeof(buf), "%.17g", score);
  return std::string(buf, static_cast<size_t>(n));
}
std::string Score(double score) { return Bulk(ScoreText(score)); }

using Model = std::map<std::string, double>;

class ZSetTest : public CommandsTest {
 protected:
  // The live metadata of a sorted-set key; false if it is not one.
  bool MetaOf(const std::string& key, CollectionMeta* meta) {
    std::string stored;
    if (!db_->Get(ReadOptions(), DataKey(0, key), &stored).ok()) return false;
    DecodedValue decoded;
    return DecodeValue(stored, &decoded) && decoded.type == ValueType::kZSet &&
           DecodeCollectionMeta(ValueType::kZSet, decoded.payload, meta);
  }

  // Every engine key under one element prefix of (key, version).
  std::vector<std::pair<std::string, std::string>> Elements(char prefix, const std::string& key,
                                                            uint64_t version) {
    std::string lower;
    AppendElementPrefix(prefix, 0, key, version, &lower);
    ReadOptions options;
    options.lower_bound = lower;
    options.upper_bound = PrefixSuccessor(lower);
    std::vector<std::pair<std::string, std::string>> out;
    auto it = db_->NewIterator(options);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(std::string(it->key().substr(lower.size())), std::string(it->value()));
    }
    EXPECT_TRUE(it->status().ok());
    return out;
  }

  // Checks that the stored sorted set at key (absent if expected is empty)
  // has exactly expected's members: its 'z' keys map each member to its
  // score, its 'i' keys hold the same (score, member) pairs and nothing
  // else, and the metadata counts them.
  void ExpectStored(const std::string& key, const Model& expected) {
    CollectionMeta meta;
    if (expected.empty()) {
      EXPECT_FALSE(MetaOf(key, &meta)) << key;
      return;
    }
    ASSERT_TRUE(MetaOf(key, &meta)) << key;
    EXPECT_EQ(meta.count, expected.size()) << key;
    Model by_member;
    for (const auto& [member, value] : Elements(kZSetMemberPrefix, key, meta.version)) {
      double score = 0;
      ASSERT_TRUE(DecodeOrderedDouble(value, &score));
      by_member[member] = score;
    }
    Model by_index;
    for (const auto& [suffix, value] : Elements(kZSetScorePrefix, key, meta.version)) {
      ASSERT_GE(suffix.size(), 8u);
      EXPECT_TRUE(value.empty());
      double score = 0;
      ASSERT_TRUE(DecodeOrderedDouble(suffix.substr(0, 8), &score));
      EXPECT_TRUE(by_index.emplace(suffix.substr(8), score).second) << "member indexed twice";
    }
    EXPECT_EQ(by_member, expected) << key;
    EXPECT_EQ(by_index, expected) << key;
  }

  // Writes a set the way collection.h lays it out (the set commands are
  // not part of this file): a source for the set algebra.
  void WriteSet(const std::string& key, const std::vector<std::string>& members) {
    CollectionMeta meta;
    ASSERT_TRUE(keyspace_->NewCollectionVersion(&meta.version).ok());
    meta.count = members.size();
    std::string payload;
    EncodeCollectionMeta(ValueType::kSet, meta, &payload);
    Txn txn(keyspace_.get(), clock_.NowMs());
    txn.Put(key, ValueType::kSet, 0, payload);
    for (const std::string& member : members) {
      std::string element;
      AppendElementPrefix(kSetMemberPrefix, 0, key, meta.version, &element);
      element += member;
      txn.PutElement(element, "");
    }
    ASSERT_TRUE(txn.Commit().ok());
  }
};

TEST_F(ZSetTest, AddScoreAndRemove) {
  EXPECT_EQ(Run({"zadd", "z"}), Err("ERR wrong number of arguments for 'zadd' command"));
  EXPECT_EQ(Run({"zadd", "z", "nx"}), Err("ERR wrong number of arguments for 'zadd' command"));
  EXPECT_EQ(Run({"zadd", "z", "1", "a", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zadd", "z", "1", "a", "nx"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zadd", "z", "nx", "xx", "1", "a"}),
            Err("ERR XX and NX options at the same time are not compatible"));
  for (const Args& args : std::vector<Args>{{"zadd", "z", "gt", "lt", "1", "a"},
                                            {"zadd", "z", "nx", "gt", "1", "a"},
                                            {"zadd", "z", "LT", "NX", "1", "a"}}) {
    EXPECT_EQ(Run(args), Err("ERR GT, LT, and/or NX options at the same time are not compatible"));
  }
  EXPECT_EQ(Run({"zadd", "z", "incr", "1", "a", "2", "b"}),
            Err("ERR INCR option supports a single increment-element pair"));
  for (const char* bad : {"abc", "nan", "1e400", "-1e-400", " 1", "1 ", ""}) {
    EXPECT_EQ(Run({"zadd", "z", bad, "a"}), Err("ERR value is not a valid float")) << bad;
    EXPECT_EQ(Run({"zincrby", "z", bad, "a"}), Err("ERR value is not a valid float")) << bad;
  }
  EXPECT_EQ(Run({"zadd", "z", "1", "a", "x", "b"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"zadd", "z", "1", std::string(kMaxFieldBytes + 1, 'm')}),
            Err("ERR sorted set member is too large (lsmkv-server sorted set members are at most "
                "65536 bytes)"));
  EXPECT_EQ(Run({"exists", "z"}), Int(0));  // nothing was created by the errors

  EXPECT_EQ(Run({"zadd", "z", "-0", "a", "1.5", "b", "inf", "c", "0x10", "hex"}), Int(4));
  EXPECT_EQ(Run({"zscore", "z", "a"}), Bulk("0"));  // -0 is stored as 0, as Redis prints it
  EXPECT_EQ(Run({"zscore", "z", "c"}), Bulk("inf"));
  EXPECT_EQ(Run({"zscore", "z", "hex"}), Bulk("16"));
  EXPECT_EQ(Run({"zscore", "z", "nope"}), kNil);
  EXPECT_EQ(Run({"zscore", "nokey", "a"}), kNil);
  EXPECT_EQ(Run({"zscore", "z", std::string(kMaxFieldBytes + 1, 'm')}), kNil);
  EXPECT_EQ(Run({"zcard", "z"}), Int(4));
  EXPECT_EQ(Run({"zcard", "nokey"}), Int(0));
  EXPECT_EQ(Run({"zmscore", "z", "b", "nope", "c"}), Array({Bulk("1.5"), kNil, Bulk("inf")}));
  EXPECT_EQ(Run({"zmscore", "nokey", "a"}), Array({kNil}));
  EXPECT_EQ(Run({"zmscore", "z"}), Err("ERR wrong number of arguments for 'zmscore' command"));
  // Flags.
  EXPECT_EQ(Run({"zadd", "z", "incr", "1", "zz"}), Bulk("1"));
  EXPECT_EQ(Run({"zadd", "z", "incr", "-inf", "c"}),
            Err("ERR resulting score is not a number (NaN)"));
  EXPECT_EQ(Run({"zscore", "z", "c"}), Bulk("inf"));  // unchanged
  EXPECT_EQ(Run({"zadd", "z", "xx", "incr", "1", "nope"}), kNil);
  EXPECT_EQ(Run({"zadd", "z", "nx", "incr", "1", "zz"}), kNil);
  EXPECT_EQ(Run({"zadd", "z", "gt", "ch", "0.5", "b", "3", "b2"}), Int(1));
  EXPECT_EQ(Run({"zscore", "z", "b"}), Bulk("1.5"));
  EXPECT_EQ(Run({"zadd", "z", "ch", "incr", "5", "a"}), Bulk("5"));
  EXPECT_EQ(Run({"zadd", "z", "gt", "0", "newm"}), Int(1));  // GT never stops an addition
  EXPECT_EQ(Run({"zadd", "z", "xx", "gt", "ch", "1", "a", "100", "b"}), Int(1));
  EXPECT_EQ(Run({"zadd", "z", "lt", "incr", "1", "a"}), kNil);
  EXPECT_EQ(Run({"zadd", "z", "lt", "ch", "4", "a", "4", "x"}), Int(2));
  EXPECT_EQ(Run({"zadd", "z", "xx", "7", "a", "7", "y"}), Int(0));
  EXPECT_EQ(Run({"zscore", "z", "a"}), Bulk("7"));
  EXPECT_EQ(Run({"zadd", "z", "nx", "8", "a", "8", "y"}), Int(1));
  EXPECT_EQ(Run({"zadd", "z", "1", "dup", "2", "dup"}), Int(1));  // the last score wins
  EXPECT_EQ(Run({"zscore", "z", "dup"}), Bulk("2"));
  EXPECT_EQ(Run({"zadd", "z", "ch", "2", "dup"}), Int(0));  // same score: no change
  EXPECT_EQ(Run({"zadd", "absent", "xx", "1", "a"}), Int(0));
  EXPECT_EQ(Run({"exists", "absent"}), Int(0));
  EXPECT_EQ(Run({"zincrby", "z", "2.5", "a"}), Bulk("9.5"));
  EXPECT_EQ(Run({"zincrby", "new", "-2.5", "m"}), Bulk("-2.5"));
  EXPECT_EQ(Run({"zincrby", "z", "-inf", "c"}), Err("ERR resulting score is not a number (NaN)"));
  ExpectStored("z", {{"a", 9.5},
                     {"b", 100},
                     {"b2", 3},
                     {"c", INFINITY},
                     {"dup", 2},
                     {"hex", 16},
                     {"newm", 0},
                     {"x", 4},
                     {"y", 8},
                     {"zz", 1}});
  // ZREM counts each removed member once; the last one deletes the key.
  EXPECT_EQ(Run({"zrem", "z", "a", "a", "nope", "b"}), Int(2));
  EXPECT_EQ(Run({"zcard", "z"}), Int(8));
  EXPECT_EQ(Run({"zrem", "nokey", "a"}), Int(0));
  EXPECT_EQ(Run({"zrem", "z", "b2", "c", "dup", "hex", "newm", "x", "y", "zz"}), Int(8));
  EXPECT_EQ(Run({"exists", "z"}), Int(0));
  ExpectStored("z", {});
  // Binary-safe members.
  const std::string binary("\0\xff\r\n", 4);
  EXPECT_EQ(Run({"zadd", "bin", "1", binary}), Int(1));
  EXPECT_EQ(Run({"zscore", "bin", binary}), Bulk("1"));
  EXPECT_EQ(Run({"zrange", "bin", "0", "-1"}), Array({Bulk(binary)}));
}

TEST_F(ZSetTest, RangesRanksAndCounts) {
  ASSERT_EQ(Run({"zadd", "z", "1", "a", "2", "b", "3", "c", "3", "d", "4", "e"}), Int(5));
  EXPECT_EQ(Run({"zrange", "z", "0", "-1", "limit", "0", "1"}),
            Err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
                "BYLEX"));
  EXPECT_EQ(Run({"zrange", "z", "a", "b", "bylex", "withscores"}),
            Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
  for (const Args& args : std::vector<Args>{{"zrange", "z", "0", "1", "byscore", "bylex"},
                                            {"zrange", "z", "0", "1", "rev", "rev"},
                                            {"zrange", "z", "0", "1", "foo"},
                                            {"zrangebyscore", "z", "1", "3", "rev"},
                                            {"zrangestore", "d", "z", "0", "1", "withscores"},
                                            {"zrange", "z", "0", "1", "limit", "0"}}) {
    EXPECT_EQ(Run(args), Err("ERR syntax error")) << args[0] << " " << args.back();
  }
  EXPECT_EQ(Run({"zrange", "z", "a", "1"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"zrange", "z", "x", "3", "byscore"}), Err("ERR min or max is not a float"));
  EXPECT_EQ(Run({"zrange", "z", "(nan", "3", "byscore"}), Err("ERR min or max is not a float"));
  EXPECT_EQ(Run({"zrange", "z", "a", "+", "bylex"}),
            Err("ERR min or max not valid string range item"));
  EXPECT_EQ(Run({"zrange", "z", "-inf", "inf", "byscore", "limit", "1", "x"}),
            Err("ERR value is not an integer or out of range"));
  // By rank.
  EXPECT_EQ(Run({"zrange", "z", "0", "-1"}),
            Array({Bulk("a"), Bulk("b"), Bulk("c"), Bulk("d"), Bulk("e")}));
  EXPECT_EQ(Run({"zrange", "z", "0", "3", "rev"}),
            Array({Bulk("e"), Bulk("d"), Bulk("c"), Bulk("b")}));
  EXPECT_EQ(Run({"zrange", "z", "-100", "100"}),
            Array({Bulk("a"), Bulk("b"), Bulk("c"), Bulk("d"), Bulk("e")}));
  EXPECT_EQ(Run({"zrange", "z", "2", "1"}), "*0\r\n");
  EXPECT_EQ(Run({"zrange", "z", "5", "9"}), "*0\r\n");
  EXPECT_EQ(Run({"zrevrange", "z", "0", "1", "withscores"}),
            Array({Bulk("e"), Score(4), Bulk("d"), Score(3)}));
  EXPECT_EQ(Run({"zrevrange", "z", "-2", "-1"}), Array({Bulk("b"), Bulk("a")}));
  EXPECT_EQ(Run({"zrange", "nokey", "0", "-1"}), "*0\r\n");
  // By score.
  EXPECT_EQ(Run({"zrange", "z", "(1", "3", "byscore"}), Array({Bulk("b"), Bulk("c"), Bulk("d")}));
  EXPECT_EQ(Run({"zrange", "z", "3", "(1", "byscore", "rev", "withscores"}),
            Array({Bulk("d"), Score(3), Bulk("c"), Score(3), Bulk("b"), Score(2)}));
  EXPECT_EQ(Run({"zrange", "z", "-inf", "+inf", "byscore", "limit", "-1", "2"}), "*0\r\n");
  EXPECT_EQ(Run({"zrange", "z", "-inf", "+inf", "byscore", "limit", "1", "-1"}),
            Array({Bulk("b"), Bulk("c"), Bulk("d"), Bulk("e")}));
  EXPECT_EQ(Run({"zrange", "z", "-inf", "+inf", "byscore", "limit", "1", "0"}), "*0\r\n");
  EXPECT_EQ(Run({"zrange", "z", "(3", "(3", "byscore"}), "*0\r\n");
  EXPECT_EQ(Run({"zrange", "z", "3", "3", "byscore"}), Array({Bulk("c"), Bulk("d")}));
  EXPECT_EQ(Run({"zrange", "z", " 1", "1e1000", "byscore", "limit", "4", "5"}), Array({Bulk("e")}));
  EXPECT_EQ(Run({"zrangebyscore", "z", "1", "3", "withscores", "limit", "1", "1"}),
            Array({Bulk("b"), Score(2)}));
  EXPECT_EQ(Run({"zrevrangebyscore", "z", "3", "1"}),
            Array({Bulk("d"), Bulk("c"), Bulk("b"), Bulk("a")}));
  EXPECT_EQ(Run({"zrevrangebyscore", "z", "1", "3"}), "*0\r\n");
  // By lex (every score equal in Redis's sense; here: member order).
  EXPECT_EQ(Run({"zrange", "z", "-", "+", "bylex"}),
            Array({Bulk("a"), Bulk("b"), Bulk("c"), Bulk("d"), Bulk("e")}));
  EXPECT_EQ(Run({"zrangebylex", "z", "[a", "(c"}), Array({Bulk("a"), Bulk("b")}));
  EXPECT_EQ(Run({"zrevrangebylex", "z", "(c", "[a"}), Array({Bulk("b"), Bulk("a")}));
  EXPECT_EQ(Run({"zrange", "z", "+", "-", "bylex", "rev", "limit", "1", "2"}),
            Array({Bulk("d"), Bulk("c")}));
  EXPECT_EQ(Run({"zrange", "z", "[c", "[c", "bylex"}), Array({Bulk("c")}));
  EXPECT_EQ(Run({"zrange", "z", "(c", "[c", "bylex"}), "*0\r\n");
  EXPECT_EQ(Run({"zrange", "z", "+", "-", "bylex"}), "*0\r\n");
  EXPECT_EQ(Run({"zrange", "z", "[", "+", "bylex"}),
            Array({Bulk("a"), Bulk("b"), Bulk("c"), Bulk("d"), Bulk("e")}));
  // Ranks and counts.
  EXPECT_EQ(Run({"zrank", "z", "c"}), Int(2));
  EXPECT_EQ(Run({"zrank", "z", "a"}), Int(0));
  EXPECT_EQ(Run({"zrevrank", "z", "c"}), Int(2));
  EXPECT_EQ(Run({"zrevrank", "z", "e"}), Int(0));
  EXPECT_EQ(Run({"zrevrank", "z", "a"}), Int(4));
  EXPECT_EQ(Run({"zrank", "z", "nope"}), kNil);
  EXPECT_EQ(Run({"zrank", "nokey", "a"}), kNil);
  EXPECT_EQ(Run({"zrank", "z", "a", "withscore"}),
            Err("ERR wrong number of arguments for 'zrank' command"));
  EXPECT_EQ(Run({"zcount", "z", "a", "b"}), Err("ERR min or max is not a float"));
  EXPECT_EQ(Run({"zcount", "z", "(1", "3"}), Int(3));
  EXPECT_EQ(Run({"zcount", "z", "-inf", "+inf"}), Int(5));
  EXPECT_EQ(Run({"zcount", "z", "3", "1"}), Int(0));
  EXPECT_EQ(Run({"zcount", "nokey", "0", "1"}), Int(0));
  EXPECT_EQ(Run({"zlexcount", "z", "a", "b"}), Err("ERR min or max not valid string range item"));
  EXPECT_EQ(Run({"zlexcount", "z", "-", "(c"}), Int(2));
  EXPECT_EQ(Run({"zlexcount", "z", "+", "-"}), Int(0));
  // ZRANGESTORE: a new set, replaced whatever the destination held; an
  // empty result deletes it.
  EXPECT_EQ(Run({"set", "d", "string"}), kOk);
  EXPECT_EQ(Run({"expire", "d", "100"}), Int(1));
  EXPECT_EQ(Run({"zrangestore", "d", "z", "0", "1"}), Int(2));
  EXPECT_EQ(Run({"ttl", "d"}), Int(-1));
  EXPECT_EQ(Run({"zrange", "d", "0", "-1", "withscores"}),
            Array({Bulk("a"), Score(1), Bulk("b"), Score(2)}));
  ExpectStored("d", {{"a", 1}, {"b", 2}});
  EXPECT_EQ(Run({"zrangestore", "d", "z", "+inf", "(2", "byscore", "rev", "limit", "1", "5"}),
            Int(2));
  ExpectStored("d", {{"c", 3}, {"d", 3}});
  EXPECT_EQ(Run({"zrangestore", "d", "z", "[b", "[c", "bylex"}), Int(2));
  ExpectStored("d", {{"b", 2}, {"c", 3}});
  EXPECT_EQ(Run({"zrangestore", "z", "z", "-1", "-1"}), Int(1));  // onto its own source
  ExpectStored("z", {{"e", 4}});
  EXPECT_EQ(Run({"zrangestore", "d", "nokey", "0", "1"}), Int(0));
  EXPECT_EQ(Run({"exists", "d"}), Int(0));
  EXPECT_EQ(Run({"zrangestore", "d", "z", "5", "6"}), Int(0));
}

TEST_F(ZSetTest, RemoveRanges) {
  ASSERT_EQ(Run({"zadd", "z", "1", "a", "2", "b", "3", "c", "3", "d", "4", "e"}), Int(5));
  EXPECT_EQ(Run({"zremrangebyrank", "z", "a", "1"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"zremrangebyscore", "z", "a", "1"}), Err("ERR min or max is not a float"));
  EXPECT_EQ(Run({"zremrangebylex", "z", "a", "b"}),
            Err("ERR min or max not valid string range item"));
  EXPECT_EQ(Run({"zremrangebyrank", "nokey", "0", "1"}), Int(0));
  EXPECT_EQ(Run({"zremrangebyrank", "z", "1", "0"}), Int(0));
  EXPECT_EQ(Run({"zremrangebyscore", "z", "(1", "2"}), Int(1));
  EXPECT_EQ(Run({"zremrangebylex", "z", "(d", "+"}), Int(1));
  EXPECT_EQ(Run({"zrange", "z", "0", "-1", "withscores"}),
            Array({Bulk("a"), Score(1), Bulk("c"), Score(3), Bulk("d"), Score(3)}));
  ExpectStored("z", {{"a", 1}, {"c", 3}, {"d", 3}});
  EXPECT_EQ(Run({"zremrangebyrank", "z", "-2", "-2"}), Int(1));
  ExpectStored("z", {{"a", 1}, {"d", 3}});
  EXPECT_EQ(Run({"zremrangebyrank", "z", "0", "-1"}), Int(2));
  EXPECT_EQ(Run({"exists", "z"}), Int(0));
}

TEST_F(ZSetTest, Pops) {
  ASSERT_EQ(Run({"zadd", "z", "0", "a", "1", "zz", "1.5", "b", "inf", "c", "3", "b2"}), Int(5));
  EXPECT_EQ(Run({"zpopmin", "nokey"}), "*0\r\n");
  EXPECT_EQ(Run({"zpopmin", "nokey", "0"}), "*0\r\n");
  EXPECT_EQ(Run({"zpopmin", "z", "-1"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"zpopmin", "z", "abc"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"zpopmin", "z", "1", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zpopmin", "z", "0"}), "*0\r\n");
  EXPECT_EQ(Run({"zpopmax", "z"}), Array({Bulk("c"), Score(INFINITY)}));
  EXPECT_EQ(Run({"zpopmin", "z", "2"}), Array({Bulk("a"), Score(0), Bulk("zz"), Score(1)}));
  for (const Args& args : std::vector<Args>{
           {"zmpop", "0", "z", "min"}, {"zmpop", "abc", "z", "min"}, {"zmpop", "-1", "z", "min"}}) {
    EXPECT_EQ(Run(args), Err("ERR numkeys should be greater than 0"));
  }
  EXPECT_EQ(Run({"zmpop", "1", "z"}), Err("ERR wrong number of arguments for 'zmpop' command"));
  EXPECT_EQ(Run({"zmpop", "2", "z", "min"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zmpop", "1", "z", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zmpop", "1", "z", "min", "count", "1", "count", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zmpop", "1", "z", "min", "count"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zmpop", "1", "z", "min", "count", "0"}),
            Err("ERR count should be greater than 0"));
  EXPECT_EQ(Run({"zmpop", "1", "z", "min", "count", "-1"}),
            Err("ERR count should be greater than 0"));
  EXPECT_EQ(Run({"zmpop", "1", "nokey", "min"}), "*-1\r\n");
  EXPECT_EQ(
      Run({"zmpop", "2", "nokey", "z", "max", "count", "10"}),
      Array({Bulk("z"), Array({Array({Bulk("b2"), Score(3)}), Array({Bulk("b"), Score(1.5)})})}));
  EXPECT_EQ(Run({"exists", "z"}), Int(0));
  EXPECT_EQ(Run({"set", "str", "x"}), kOk);
  EXPECT_EQ(Run({"zpopmin", "str", "0"}), Err(kWrongType));
  EXPECT_EQ(Run({"zmpop", "2", "nokey", "str", "min"}), Err(kWrongType));
  EXPECT_EQ(Run({"zadd", "y", "1", "a"}), Int(1));
  EXPECT_EQ(Run({"zmpop", "2", "y", "str", "min"}),
            Array({Bulk("y"), Array({Array({Bulk("a"), Score(1)})})}));
}

// BZPOPMIN/BZPOPMAX/BZMPOP: an immediate pop when a set has members; else
// the client is registered (blocking.h) and gets no reply until a write
// wakes it and the command runs again (what the connection does).
TEST_F(ZSetTest, BlockingPops) {
  ASSERT_EQ(Run({"zadd", "z2", "1", "a", "2", "b"}), Int(2));
  EXPECT_EQ(Run({"bzpopmin", "z1", "z2", "0"}), Array({Bulk("z2"), Bulk("a"), Score(1)}));
  EXPECT_EQ(Run({"bzpopmax", "z1", "z2", "0"}), Array({Bulk("z2"), Bulk("b"), Score(2)}));
  EXPECT_EQ(Run({"exists", "z2"}), Int(0));
  // A client that cannot block (no connection) gets the timeout's null.
  EXPECT_EQ(Run({"bzpopmin", "z1", "0"}), "*-1\r\n");
  EXPECT_EQ(Run({"bzpopmin", "z1", "-1"}), Err("ERR timeout is negative"));
  EXPECT_EQ(Run({"bzpopmin", "z1", "x"}), Err("ERR timeout is not a float or out of range"));
  EXPECT_EQ(Run({"bzmpop", "0", "0", "z1", "min"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"bzmpop", "0", "1", "z1", "middle"}), Err("ERR syntax error"));
  ASSERT_EQ(Run({"set", "str", "x"}), kOk);
  EXPECT_EQ(Run({"bzpopmin", "str", "0"}),
            Err("WRONGTYPE Operation against a key holding the wrong kind of value"));

  ClientState* blocked = NewClient();
  int wakes = 0;
  blocked->wake = [&wakes] { wakes++; };
  BlockingKeys& blocking = keyspace_->blocking();
  EXPECT_EQ(Run(blocked, {"bzpopmin", "z1", "z3", "1.5"}), "");  // blocked: no reply
  EXPECT_TRUE(blocked->block.requested);
  EXPECT_EQ(blocked->block.deadline_ms, clock_.NowMs() + 1500);
  EXPECT_TRUE(blocked->block.null_array);
  EXPECT_EQ(blocking.waiters(), 1u);
  EXPECT_EQ(Run({"zadd", "z9", "1", "x"}), Int(1));  // another key: no wake-up
  EXPECT_EQ(wakes, 0);
  EXPECT_EQ(Run({"zadd", "z3", "5", "m"}), Int(1));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(blocking.waiters(), 0u);
  auto retry = [&](const Args& args) {
    blocked->block = {};
    blocked->block.retry = true;
    std::string out = Run(blocked, args);
    blocked->block.retry = false;
    return out;
  };
  EXPECT_EQ(retry({"bzpopmin", "z1", "z3", "1.5"}), Array({Bulk("z3"), Bulk("m"), Score(5)}));
  EXPECT_FALSE(blocked->block.requested);
  // Woken, but the key now holds a string: blocked again, as in Redis.
  EXPECT_EQ(Run(blocked, {"bzmpop", "0", "1", "z4", "max", "count", "2"}), "");
  EXPECT_EQ(Run({"set", "z4", "not a set"}), kOk);
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(retry({"bzmpop", "0", "1", "z4", "max", "count", "2"}), "");
  EXPECT_TRUE(blocked->block.requested);
  EXPECT_EQ(blocking.waiters(), 1u);
  EXPECT_EQ(Run({"del", "z4"}), Int(1));
  EXPECT_EQ(Run({"zadd", "z4", "1", "p", "2", "q", "3", "r"}), Int(3));
  EXPECT_EQ(wakes, 3);
  EXPECT_EQ(
      retry({"bzmpop", "0", "1", "z4", "max", "count", "2"}),
      Array({Bulk("z4"), Array({Array({Bulk("r"), Score(3)}), Array({Bulk("q"), Score(2)})})}));
  // Inside MULTI/EXEC a blocking pop never blocks.
  EXPECT_EQ(Run(blocked, {"multi"}), kOk);
  EXPECT_EQ(Run(blocked, {"bzpopmax", "empty", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(blocked, {"exec"}), "*1\r\n*-1\r\n");
  EXPECT_EQ(blocking.waiters(), 0u);
}

TEST_F(ZSetTest, Resp3Replies) {
  ASSERT_EQ(Run({"zadd", "z", "1", "a", "2.5", "b", "3", "c"}), Int(3));
  Run({"hello", "3"});
  EXPECT_EQ(Run({"zscore", "z", "b"}), ",2.5\r\n");
  EXPECT_EQ(Run({"zscore", "z", "nope"}), "_\r\n");
  EXPECT_EQ(Run({"zmscore", "z", "a", "nope"}), "*2\r\n,1\r\n_\r\n");
  EXPECT_EQ(Run({"zincrby", "z", "1", "a"}), ",2\r\n");
  EXPECT_EQ(Run({"zadd", "z", "incr", "-1", "a"}), ",1\r\n");
  EXPECT_EQ(Run({"zadd", "z", "xx", "incr", "1", "nope"}), "_\r\n");
  EXPECT_EQ(Run({"zrank", "z", "nope"}), "_\r\n");
  EXPECT_EQ(Run({"zrange", "z", "0", "1", "withscores"}),
            "*2\r\n*2\r\n" + Bulk("a") + ",1\r\n*2\r\n" + Bulk("b") + ",2.5\r\n");
  EXPECT_EQ(Run({"zrange", "z", "0", "0"}), "*1\r\n" + Bulk("a"));
  EXPECT_EQ(Run({"zrangebyscore", "z", "3", "3", "withscores"}),
            "*1\r\n*2\r\n" + Bulk("c") + ",3\r\n");
  EXPECT_EQ(Run({"zunion", "1", "z", "withscores"}), "*3\r\n*2\r\n" + Bulk("a") + ",1\r\n*2\r\n" +
                                                         Bulk("b") + ",2.5\r\n*2\r\n" + Bulk("c") +
                                                         ",3\r\n");
  EXPECT_EQ(Run({"zrandmember", "z", "-2", "withscores"}).substr(0, 8), "*2\r\n*2\r\n");
  EXPECT_EQ(Run({"zrandmember", "nokey"}), "_\r\n");
  // ZSCAN's scores are bulk strings in both protocols.
  EXPECT_EQ(Run({"zscan", "z", "0"}), "*2\r\n" + Bulk("0") + "*6\r\n" + Bulk("a") + Bulk("1") +
                                          Bulk("b") + Bulk("2.5") + Bulk("c") + Bulk("3"));
  EXPECT_EQ(Run({"zpopmin", "z"}), "*2\r\n" + Bulk("a") + ",1\r\n");
  EXPECT_EQ(Run({"zpopmin", "z", "1"}), "*1\r\n*2\r\n" + Bulk("b") + ",2.5\r\n");
  EXPECT_EQ(Run({"zmpop", "1", "z", "max"}),
            "*2\r\n" + Bulk("z") + "*1\r\n*2\r\n" + Bulk("c") + ",3\r\n");
  EXPECT_EQ(Run({"zmpop", "1", "z", "max"}), "_\r\n");
}

TEST_F(ZSetTest, RandomMemberAndScan) {
  EXPECT_EQ(Run({"zrandmember", "nokey"}), kNil);
  EXPECT_EQ(Run({"zrandmember", "nokey", "2", "withscores"}), "*0\r\n");
  ASSERT_EQ(Run({"zadd", "z", "1", "a", "2.5", "b", "inf", "c", "-inf", "d"}), Int(4));
  EXPECT_EQ(Run({"zrandmember", "z", "-9223372036854775808"}),
            Err("ERR value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807"));
  EXPECT_EQ(Run({"zrandmember", "z", "9223372036854775807", "withscores"}),
            Err("ERR value is out of range"));
  EXPECT_EQ(Run({"zrandmember", "z", "1", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zrandmember", "z", "1", "withscores", "x"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zrandmember", "z", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"zrandmember", "z", "0"}), "*0\r\n");
  const std::map<std::string, std::string> scores = {
      {"a", "1"}, {"b", "2.5"}, {"c", "inf"}, {"d", "-inf"}};
  // Distinct members with their own scores.
  const std::string all = Run({"zrandmember", "z", "10", "withscores"});
  std::set<std::string> seen;
  for (const auto& [member, score] : scores) {
    const std::string pair = Bulk(member) + Bulk(score);
    EXPECT_NE(all.find(pair), std::string::npos) << all;
  }
  EXPECT_EQ(all.substr(0, 4), "*8\r\n");
  for (int i = 0; i < 20; i++) {
    const std::string one = Run({"zrandmember", "z"});
    ASSERT_EQ(one.size(), 7u) << one;
    seen.insert(one.substr(4, 1));
  }
  EXPECT_GE(seen.size(), 2u);
  EXPECT_EQ(Run({"zrandmember", "z", "-5"}).substr(0, 4), "*5\r\n");
  // ZSCAN: member order, COUNT members per call, every member once.
  EXPECT_EQ(Run({"zscan", "nokey", "0"}), "*2\r\n" + Bulk("0") + "*0\r\n");
  EXPECT_EQ(Run({"zscan", "z", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"zscan", "z", "0", "count", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zscan", "z", "0", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zscan", "z", "0", "match", "[ab]"}),
            "*2\r\n" + Bulk("0") + "*4\r\n" + Bulk("a") + Bulk("1") + Bulk("b") + Bulk("2.5"));
  std::string cursor = "0";
  std::string members;
  int calls = 0;
  do {
    const std::string reply = Run({"zscan", "z", cursor, "count", "3"});
    const size_t start = reply.find("$") + 1;
    const size_t len_end = reply.find("\r\n", start);
    cursor = reply.substr(len_end + 2, std::stoul(reply.substr(start, len_end - start)));
    members += reply.substr(reply.find("\r\n*") + 2);
    calls++;
  } while (cursor != "0" && calls < 10);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(members, "*6\r\n" + Bulk("a") + Bulk("1") + Bulk("b") + Bulk("2.5") + Bulk("c") +
                         Bulk("inf") + "*2\r\n" + Bulk("d") + Bulk("-inf"));
}

TEST_F(ZSetTest, SetAlgebra) {
  ASSERT_EQ(Run({"zadd", "z", "1", "a", "2.5", "b", "3", "c"}), Int(3));
  WriteSet("s", {"a", "b", "q"});  // a set source: every member scores 1
  ASSERT_EQ(Run({"zadd", "y", "1", "a", "2", "b"}), Int(2));
  EXPECT_EQ(Run({"zintercard", "0", "y"}),
            Err("ERR at least 1 input key is needed for 'zintercard' command"));
  EXPECT_EQ(Run({"zintercard", "abc", "y"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"zintercard", "2", "y"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zintercard", "1", "y", "limit", "-1"}), Err("ERR LIMIT can't be negative"));
  EXPECT_EQ(Run({"zintercard", "1", "y", "limit", "abc"}), Err("ERR LIMIT can't be negative"));
  EXPECT_EQ(Run({"zintercard", "1", "y", "weights", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zintercard", "1", "y", "withscores"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zunion", "0", "y"}),
            Err("ERR at least 1 input key is needed for 'zunion' command"));
  EXPECT_EQ(Run({"zunionstore", "d", "-1", "y"}),
            Err("ERR at least 1 input key is needed for 'zunionstore' command"));
  EXPECT_EQ(Run({"zunion", "2", "y"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zunion", "abc", "y"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"zunion", "1", "y", "weights", "abc"}), Err("ERR weight value is not a float"));
  EXPECT_EQ(Run({"zunion", "1", "y", "weights", "1", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zunion", "1", "y", "aggregate", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zdiff", "1", "y", "weights", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"zunionstore", "d", "1", "y", "withscores"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"set", "str", "x"}), kOk);
  EXPECT_EQ(Run({"zunion", "2", "z", "str", "foo"}), Err(kWrongType));  // before the options

  EXPECT_EQ(Run({"zunion", "2", "z", "s", "withscores"}),
            Array({Bulk("q"), Score(1), Bulk("a"), Score(2), Bulk("c"), Score(3), Bulk("b"),
                   Score(3.5)}));
  EXPECT_EQ(Run({"zinter", "2", "z", "s", "weights", "2", "inf", "withscores"}),
            Array({Bulk("a"), Score(INFINITY), Bulk("b"), Score(INFINITY)}));
  // 0 * inf is 0; the maximum then takes inf.
  EXPECT_EQ(Run({"zunion", "2", "z", "s", "weights", "0", "inf", "aggregate", "max", "withscores"}),
            Array({Bulk("c"), Score(0), Bulk("a"), Score(INFINITY), Bulk("b"), Score(INFINITY),
                   Bulk("q"), Score(INFINITY)}));
  EXPECT_EQ(Run({"zinter", "2", "s", "z", "aggregate", "max", "withscores"}),
            Array({Bulk("a"), Score(1), Bulk("b"), Score(2.5)}));
  EXPECT_EQ(Run({"zunion", "3", "z", "s", "z"}),
            Array({Bulk("q"), Bulk("a"), Bulk("b"), Bulk("c")}));
  EXPECT_EQ(Run({"zdiff", "3", "z", "s", "nokey", "withscores"}), Array({Bulk("c"), Score(3)}));
  EXPECT_EQ(Run({"zdiff", "2", "nokey", "z"}), "*0\r\n");
  EXPECT_EQ(Run({"zinter", "2", "z", "nokey"}), "*0\r\n");
  EXPECT_EQ(Run({"zintercard", "2", "z", "s"}), Int(2));
  EXPECT_EQ(Run({"zintercard", "2", "z", "s", "limit", "1"}), Int(1));
  EXPECT_EQ(Run({"zintercard", "2", "z", "s", "limit", "0"}), Int(2));
  EXPECT_EQ(Run({"zintercard", "2", "z", "nokey"}), Int(0));
  // inf + -inf is 0 in a sum.
  ASSERT_EQ(Run({"zadd", "inf", "+inf", "a", "-inf", "b"}), Int(2));
  EXPECT_EQ(Run({"zunion", "2", "inf", "inf", "weights", "1", "-1", "withscores"}),
            Array({Bulk("a"), Score(0), Bulk("b"), Score(0)}));
  EXPECT_EQ(
      Run({"zinter", "2", "inf", "inf", "weights", "0", "1", "aggregate", "min", "withscores"}),
      Array({Bulk("b"), Score(-INFINITY), Bulk("a"), Score(0)}));
  // The STORE forms replace the destination (any type, any deadline).
  EXPECT_EQ(Run({"zunionstore", "str", "2", "z", "s", "weights", "1", "-inf"}), Int(4));
  EXPECT_EQ(Run({"type", "str"}), "+zset\r\n");
  ExpectStored("str", {{"a", -INFINITY}, {"b", -INFINITY}, {"q", -INFINITY}, {"c", 3}});
  EXPECT_EQ(Run({"expire", "str", "100"}), Int(1));
  EXPECT_EQ(Run({"zinterstore", "str", "2", "z", "s", "aggregate", "min"}), Int(2));
  EXPECT_EQ(Run({"ttl", "str"}), Int(-1));
  ExpectStored("str", {{"a", 1}, {"b", 1}});
  EXPECT_EQ(Run({"zdiffstore", "z", "2", "z", "s"}), Int(1));  // onto a source
  ExpectStored("z", {{"c", 3}});
  EXPECT_EQ(Run({"zdiffstore", "str", "1", "nokey"}), Int(0));
  EXPECT_EQ(Run({"exists", "str"}), Int(0));
  EXPECT_EQ(Run({"zinterstore", "d", "3", "z", "s"}), Err("ERR syntax error"));
  // The dispatcher finds every key (COMMAND GETKEYS uses the same finder).
  EXPECT_EQ(Run({"command", "getkeys", "zunionstore", "d", "2", "a", "b", "weights", "1", "2"}),
            Array({Bulk("d"), Bulk("a"), Bulk("b")}));
  EXPECT_EQ(Run({"command", "getkeys", "zmpop", "2", "a", "b", "min"}),
            Array({Bulk("a"), Bulk("b")}));
  EXPECT_EQ(Run({"command", "getkeys", "zintercard", "1", "a", "limit", "1"}), Array({Bulk("a")}));
}

TEST_F(ZSetTest, WrongTypeBothWays) {
  EXPECT_EQ(Run({"set", "s", "str"}), kOk);
  EXPECT_EQ(Run({"zadd", "z", "1", "a"}), Int(1));
  for (const Args& args : std::vector<Args>{{"zadd", "s", "1", "a"},
                                            {"zincrby", "s", "1", "a"},
                                            {"zrem", "s", "a"},
                                            {"zcard", "s"},
                                            {"zscore", "s", "a"},
                                            {"zmscore", "s", "a"},
                                            {"zrank", "s", "a"},
                                            {"zrevrank", "s", "a"},
                                            {"zcount", "s", "0", "1"},
                                            {"zlexcount", "s", "-", "+"},
                                            {"zrange", "s", "0", "1"},
                                            {"zrangestore", "d", "s", "0", "1"},
                                            {"zrevrange", "s", "0", "1"},
                                            {"zrangebyscore", "s", "0", "1"},
                                            {"zrangebylex", "s", "-", "+"},
                                            {"zremrangebyrank", "s", "0", "1"},
                                            {"zremrangebyscore", "s", "0", "1"},
                                            {"zremrangebylex", "s", "-", "+"},
                                            {"zpopmin", "s"},
                                            {"zpopmax", "s", "2"},
                                            {"zmpop", "1", "s", "min"},
                                            {"zrandmember", "s"},
                                            {"zscan", "s", "0"},
                                            {"zunion", "1", "s"},
                                            {"zinterstore", "d", "2", "z", "s"},
                                            {"zintercard", "1", "s"},
                                            {"get", "z"},
                                            {"hget", "z", "a"},
                                            {"incr", "z"}}) {
    EXPECT_EQ(Run(args), Err(kWrongType)) << args[0];
  }
  EXPECT_EQ(Run({"exists", "d"}), Int(0));
  EXPECT_EQ(Run({"type", "z"}), "+zset\r\n");
  EXPECT_EQ(Run({"set", "z", "now a string"}), kOk);
  EXPECT_EQ(Run({"del", "z"}), Int(1));
  EXPECT_EQ(Run({"zadd", "z", "2", "b"}), Int(1));
  EXPECT_EQ(Run({"zrange", "z", "0", "-1"}), Array({Bulk("b")}));  // a is gone for good
}

// In MULTI/EXEC the commands share one Txn: forward and reverse scans read
// the transaction's own pending member writes and deletions.
TEST_F(ZSetTest, TransactionsSeeTheirOwnMembers) {
  ASSERT_EQ(Run({"zadd", "t", "1", "a", "2", "b", "3", "c"}), Int(3));
  EXPECT_EQ(Run({"multi"}), kOk);
  for (const Args& args : std::vector<Args>{{"zadd", "t", "4", "d", "0", "z", "5", "b"},
                                            {"zrem", "t", "b"},
                                            {"zincrby", "t", "10", "a"},
                                            {"zrevrange", "t", "0", "-1", "withscores"},
                                            {"zrange", "t", "+inf", "-inf", "byscore", "rev"},
                                            {"zrevrangebylex", "t", "+", "-"},
                                            {"zrevrank", "t", "z"},
                                            {"zpopmax", "t", "2"},
                                            {"zrange", "t", "0", "-1"}}) {
    EXPECT_EQ(Run(args), "+QUEUED\r\n");
  }
  EXPECT_EQ(Run({"exec"}), "*9\r\n" + Int(2) + Int(1) + Bulk("11") +
                               Array({Bulk("a"), Score(11), Bulk("d"), Score(4), Bulk("c"),
                                      Score(3), Bulk("z"), Score(0)}) +
                               Array({Bulk("a"), Bulk("d"), Bulk("c"), Bulk("z")}) +
                               Array({Bulk("z"), Bulk("d"), Bulk("c"), Bulk("a")}) + Int(3) +
                               Array({Bulk("a"), Score(11), Bulk("d"), Score(4)}) +
                               Array({Bulk("z"), Bulk("c")}));
  ExpectStored("t", {{"c", 3}, {"z", 0}});
}

// Reverse scans (ZREVRANGE, REV ranges) merge a transaction's pending
// member writes and deletions with what the engine holds, in memtables or
// tables: random transactions against a model.
TEST_F(ZSetTest, ReverseScansMergePendingWrites) {
  std::mt19937 rng(7031);
  Model model;
  const std::vector<std::string> members = {"a", "b", "c", "d", "e", "f", "g", "h"};
  for (int round = 0; round < 40; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round % 10 == 5) Reopen();
    if (round % 10 == 7) {
      ASSERT_TRUE(db_->Flush().ok());
    }
    ASSERT_EQ(Run({"multi"}), kOk);
    std::string expected;
    const size_t ops = 1 + rng() % 6;
    for (size_t i = 0; i < ops; i++) {
      const std::string& member = members[rng() % members.size()];
      if (rng() % 3 == 0) {
        ASSERT_EQ(Run({"zrem", "r", member}), "+QUEUED\r\n");
        expected += Int(static_cast<int64_t>(model.erase(member)));
      } else {
        const int score = static_cast<int>(rng() % 5);
        ASSERT_EQ(Run({"zadd", "r", std::to_string(score), member}), "+QUEUED\r\n");
        expected += Int(model.count(member) ? 0 : 1);
        model[member] = score;
      }
    }
    std::vector<std::pair<std::string, double>> sorted(model.begin(), model.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : x.first > y.first;
    });
    std::string all = "*" + std::to_string(2 * sorted.size()) + "\r\n";
    for (const auto& [member, score] : sorted) all += Bulk(member) + Score(score);
    std::string limited =
        "*" + std::to_string(sorted.size() > 1 ? std::min<size_t>(2, sorted.size() - 1) : 0) +
        "\r\n";
    for (size_t i = 1; i < sorted.size() && i < 3; i++) limited += Bulk(sorted[i].first);
    std::string by_member = "*" + std::to_string(model.size()) + "\r\n";
    for (auto it = model.rbegin(); it != model.rend(); ++it) by_member += Bulk(it->first);
    ASSERT_EQ(Run({"zrevrange", "r", "0", "-1", "withscores"}), "+QUEUED\r\n");
    ASSERT_EQ(Run({"zrevrangebyscore", "r", "+inf", "-inf", "limit", "1", "2"}), "+QUEUED\r\n");
    ASSERT_EQ(Run({"zrevrangebylex", "r", "+", "-"}), "+QUEUED\r\n");
    EXPECT_EQ(Run({"exec"}),
              "*" + std::to_string(ops + 3) + "\r\n" + expected + all + limited + by_member);
    ExpectStored("r", model);
    if (HasFailure()) return;
  }
}

// Replies past client-output-buffer-limit stop growing; members too long
// for an engine key are refused.
TEST_F(ZSetTest, LargeRepliesStopAtTheOutputLimit) {
  Args zadd = {"zadd", "z"};
  for (int i = 0; i < 2000; i++) {
    zadd.push_back(std::to_string(i));
    zadd.push_back(std::string(1000, 'm') + std::to_string(i));
  }
  ASSERT_EQ(Run(zadd), Int(2000));
  EXPECT_GT(Run({"zrange", "z", "0", "-1"}).size(), 2000000u);
  // A set this large is sampled by random seeks (single picks, negative
  // counts) or one reservoir pass (positive counts): real members, with
  // their own scores.
  for (const Args& args : std::vector<Args>{{"zrandmember", "z", "-3", "withscores"},
                                            {"zrandmember", "z", "3", "withscores"}}) {
    const std::string reply = Run(args);
    ASSERT_EQ(reply.substr(0, 4), "*6\r\n") << args[2];
    size_t pos = 4;
    for (int i = 0; i < 3; i++) {
      const size_t len_end = reply.find("\r\n", pos);
      const size_t len = std::stoul(reply.substr(pos + 1, len_end - pos - 1));
      const std::string member = reply.substr(len_end + 2, len);
      pos = len_end + 2 + len + 2;
      const size_t score_end = reply.find("\r\n", reply.find("\r\n", pos) + 2);
      const std::string score = reply.substr(pos, score_end + 2 - pos);
      pos = score_end + 2;
      EXPECT_EQ(Run({"zscore", "z", member}), score);
    }
  }
  for (int i = 0; i < 5; i++) {
    EXPECT_NE(Run({"zscore", "z", test::BulkValue(Run({"zrandmember", "z"}))}), kNil);
  }
  ASSERT_EQ(config_.Set(*Config::Find("client-output-buffer-limit"), "normal 100000 0 0"), "");
  for (const Args& args : std::vector<Args>{{"zrange", "z", "0", "-1", "withscores"},
                                            {"zrange", "z", "+inf", "-inf", "byscore", "rev"},
                                            {"zrandmember", "z", "-1000000000000"},
                                            {"zrandmember", "z", "1500"}}) {
    const size_t stopped = Run(args).size();
    EXPECT_GT(stopped, 100000u) << args[1];
    EXPECT_LT(stopped, 110000u) << args[1];
  }
  EXPECT_EQ(Run({"zcard", "z"}), Int(2000));
}

// Writes that grow with a result are bounded: past 64 MiB of member names
// (or 1,000,000 members) the command is refused and changes nothing.
TEST_F(ZSetTest, HugeResultsAreRefused) {
  // Members of 60,000 bytes (the fixture's engine keeps the default 64 KiB
  // key limit; the server's is larger): 1130 of them are just over 64 MiB.
  const int kMembers = 1130;
  for (int i = 0; i < kMembers;) {
    Args zadd = {"zadd", "big"};
    for (int j = 0; j < 50 && i < kMembers; j++, i++) {
      std::string member(60000, 'm');
      member.replace(0, 8, std::to_string(10000000 + i));
      zadd.push_back(std::to_string(i));
      zadd.push_back(member);
    }
    ASSERT_EQ(Run(zadd), Int(static_cast<int64_t>((zadd.size() - 2) / 2)));
  }
  ASSERT_EQ(Run({"zadd", "dst", "1", "keep"}), Int(1));
  const std::string suffix =
      " (lsmkv-server writes at most 1000000 sorted set members and 64 MiB of them in one atomic "
      "write)";
  EXPECT_EQ(Run({"zrangestore", "dst", "big", "0", "-1"}),
            Err("ERR sorted set range too large to store" + suffix));
  EXPECT_EQ(Run({"zremrangebyrank", "big", "0", "-1"}),
            Err("ERR sorted set range too large to remove" + suffix));
  EXPECT_EQ(Run({"zremrangebyscore", "big", "-inf", "+inf"}),
            Err("ERR sorted set range too large to remove" + suffix));
  EXPECT_EQ(Run({"zpopmin", "big", "2000"}),
            Err("ERR too many sorted set members to pop" + suffix));
  const std::string too_large =
      "ERR sorted set result too large (lsmkv-server builds at most 1000000 members and 64 MiB of "
      "them in one result)";
  EXPECT_EQ(Run({"zunionstore", "dst", "1", "big"}), Err(too_large));
  EXPECT_EQ(Run({"zinter", "2", "big", "big"}), Err(too_large));
  EXPECT_EQ(Run({"zcard", "big"}), Int(kMembers));
  EXPECT_EQ(Run({"zrange", "dst", "0", "-1"}), Array({Bulk("keep")}));
  // Below the bound they work.
  EXPECT_EQ(Run({"zremrangebyrank", "big", "0", "99"}), Int(100));
  EXPECT_EQ(Run({"zunionstore", "dst", "1", "big"}), Int(kMembers - 100));
  EXPECT_EQ(Run({"zcard", "dst"}), Int(kMembers - 100));
}

// A randomized comparison with a model: several hundred operations over a
// few keys, every reply checked, the stored keys checked after each one,
// with reopens, DEL and expiry in between.
TEST_F(ZSetTest, MatchesModel) {
  std::map<std::string, Model> model;
  std::map<std::string, int64_t> deadlines;
  const std::vector<std::string> keys = {"k1", "k2", "k3"};
  const std::vector<std::string> members = {"", "a", "aa", "b", "c", "d", "e", "f"};
  const std::vector<std::string> score_texts = {"0", "1", "-1", "2.5", "3", "-0.5", "inf", "-inf"};
  std::mt19937 rng(20240607);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  auto expire_model = [&] {
    for (auto it = deadlines.begin(); it != deadlines.end();) {
      if (IsExpired(it->second, clock_.NowMs())) {
        model.erase(it->first);
        it = deadlines.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto set_key = [&](const std::string& key, const Model& value) {
    deadlines.erase(key);
    if (value.empty()) {
      model.erase(key);
    } else {
      model[key] = value;
    }
  };
  auto update_key = [&](const std::string& key, const Model& value) {
    if (value.empty()) {
      model.erase(key);
      deadlines.erase(key);
    } else {
      model[key] = value;
    }
  };
  using Entries = std::vector<std::pair<std::string, double>>;
  auto by_score = [](const Model& set) {
    Entries out(set.begin(), set.end());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second < b.second : a.first < b.first;
    });
    return out;
  };
  auto reply_of = [](const Entries& entries, bool with_scores) {
    std::string out = "*" + std::to_string(entries.size() * (with_scores ? 2 : 1)) + "\r\n";
    for (const auto& [member, score] : entries) {
      out += Bulk(member);
      if (with_scores) out += Score(score);
    }
    return out;
  };
  struct Bound {
    double value;
    bool exclusive;
  };
  auto score_bound = [&](std::string* text) {
    const size_t i = pick(score_texts.size() + 1);
    const bool exclusive = chance(30);
    const std::string base = i == score_texts.size() ? "+inf" : score_texts[i];
    *text = (exclusive ? "(" : "") + base;
    return Bound{std::strtod(base.c_str(), nullptr), exclusive};
  };
  auto in_score = [](double s, const Bound& min, const Bound& max) {
    return (min.exclusive ? s > min.value : s >= min.value) &&
           (max.exclusive ? s < max.value : s <= max.value);
  };
  // Lex bound: kind 0 = "-", 1 = "+", 2 = "[x", 3 = "(x".
  struct Lex {
    int kind;
    std::string value;
  };
  auto lex_bound = [&](std::string* text) {
    Lex bound{static_cast<int>(pick(4)), members[pick(members.size())]};
    if (bound.kind < 2) bound.kind = chance(50) ? bound.kind : 2 + bound.kind;
    *text = bound.kind == 0   ? "-"
            : bound.kind == 1 ? "+"
                              : (bound.kind == 2 ? "[" : "(") + bound.value;
    return bound;
  };
  auto in_lex = [](const std::string& m, const Lex& min, const Lex& max) {
    const bool above = min.kind == 0   ? true
                       : min.kind == 1 ? false
                       : min.kind == 2 ? m >= min.value
                                       : m > min.value;
    const bool below = max.kind == 1   ? true
                       : max.kind == 0 ? false
                       : max.kind == 2 ? m <= max.value
                                       : m < max.value;
    return above && below;
  };
  // Applies offset/limit (score and lex ranges) to entries in reply order.
  auto limited = [](const Entries& in, int64_t offset, int64_t count) {
    Entries out;
    if (offset < 0) return out;
    for (size_t i = static_cast<size_t>(offset); i < in.size(); i++) {
      if (count >= 0 && static_cast<int64_t>(out.size()) == count) break;
      out.push_back(in[i]);
    }
    return out;
  };
  auto rank_slice = [](const Entries& sorted, int64_t start, int64_t stop) {
    const int64_t n = static_cast<int64_t>(sorted.size());
    if (start < 0) start += n;
    if (stop < 0) stop += n;
    if (start < 0) start = 0;
    Entries out;
    if (start > stop || start >= n) return out;
    if (stop >= n) stop = n - 1;
    for (int64_t i = start; i <= stop; i++) out.push_back(sorted[static_cast<size_t>(i)]);
    return out;
  };

  for (int step = 0; step < 700; step++) {
    expire_model();
    const std::string key = keys[pick(keys.size())];
    Model current = model.count(key) ? model[key] : Model();
    const int op = static_cast<int>(pick(20));
    SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op) + " key " + key);
    if (op <= 3) {  // ZADD with flags
      const bool nx = chance(15), xx = !nx && chance(15);
      const bool gt = !nx && chance(15), lt = !nx && !gt && chance(15);
      const bool ch = chance(30), incr = chance(15);
      Args args = {"zadd", key};
      if (nx) args.push_back("nx");
      if (xx) args.push_back("xx");
      if (gt) args.push_back("gt");
      if (lt) args.push_back("lt");
      if (ch) args.push_back("ch");
      if (incr) args.push_back("incr");
      const size_t pairs = incr ? 1 : 1 + pick(3);
      Model next = current;
      int64_t added = 0, changed = 0;
      std::optional<double> result;
      bool nan = false;
      for (size_t i = 0; i < pairs; i++) {
        const std::string& text = score_texts[pick(score_texts.size())];
        const std::string& member = members[pick(members.size())];
        args.push_back(text);
        args.push_back(member);
        double score = std::strtod(text.c_str(), nullptr);
        auto it = next.find(member);
        if (it == next.end()) {
          if (xx) continue;
          next[member] = score;
          added++;
          result = score;
          continue;
        }
        if (nx) continue;
        if (incr) score += it->second;
        if (std::isnan(score)) {
          nan = true;
          break;
        }
        if ((lt && score >= it->second) || (gt && score <= it->second)) continue;
        if (score != it->second) changed++;
        it->second = score;
        result = score;
      }
      const std::string reply = Run(args);
      if (nan) {
        EXPECT_EQ(reply, Err("ERR resulting score is not a number (NaN)"));
      } else if (incr) {
        EXPECT_EQ(reply, result ? Score(*result) : std::string(kNil));
        update_key(key, next);
      } else {
        EXPECT_EQ(reply, Int(ch ? added + changed : added));
        update_key(key, next);
      }
    } else if (op == 4) {  // ZINCRBY
      const std::string& text = score_texts[pick(score_texts.size())];
      const std::string& member = members[pick(members.size())];
      double score = std::strtod(text.c_str(), nullptr);
      if (current.count(member)) score += current[member];
      const std::string reply = Run({"zincrby", key, text, member});
      if (std::isnan(score)) {
        EXPECT_EQ(reply, Err("ERR resulting score is not a number (NaN)"));
      } else {
        EXPECT_EQ(reply, Score(score));
        current[member] = score;
        update_key(key, current);
      }
    } else if (op == 5) {  // ZREM
      Args args = {"zrem", key};
      int64_t removed = 0;
      for (size_t i = 0, n = 1 + pick(3); i < n; i++) {
        const std::string& member = members[pick(members.size())];
        args.push_back(member);
        removed += static_cast<int64_t>(current.erase(member));
      }
      EXPECT_EQ(Run(args), Int(removed));
      update_key(key, current);
    } else if (op == 6) {  // ZRANGE by rank
      const int64_t start = static_cast<int64_t>(pick(9)) - 4;
      const int64_t stop = static_cast<int64_t>(pick(9)) - 4;
      const bool rev = chance(50), with_scores = chance(50);
      Entries sorted = by_score(current);
      if (rev) std::reverse(sorted.begin(), sorted.end());
      Args args = {"zrange", key, std::to_string(start), std::to_string(stop)};
      if (rev) args.push_back("rev");
      if (with_scores) args.push_back("withscores");
      EXPECT_EQ(Run(args), reply_of(rank_slice(sorted, start, stop), with_scores));
    } else if (op == 7) {  // ZRANGE BYSCORE [REV] [LIMIT] [WITHSCORES]
      std::string min_text, max_text;
      const Bound min = score_bound(&min_text), max = score_bound(&max_text);
      const bool rev = chance(50), with_scores = chance(50), limit = chance(40);
      const int64_t offset = static_cast<int64_t>(pick(5)) - 1;
      const int64_t count = static_cast<int64_t>(pick(5)) - 1;
      Entries selected;
      for (const auto& entry : by_score(current)) {
        if (in_score(entry.second, min, max)) selected.push_back(entry);
      }
      if (rev) std::reverse(selected.begin(), selected.end());
      Args args = {"zrange", key};
      args.push_back(rev ? max_text : min_text);
      args.push_back(rev ? min_text : max_text);
      args.push_back("byscore");
      if (rev) args.push_back("rev");
      if (limit) {
        args.insert(args.end(), {"limit", std::to_string(offset), std::to_string(count)});
        selected = limited(selected, offset, count);
      }
      if (with_scores) args.push_back("withscores");
      EXPECT_EQ(Run(args), reply_of(selected, with_scores));
    } else if (op == 8) {  // ZRANGE BYLEX [REV] [LIMIT] (member order)
      std::string min_text, max_text;
      const Lex min = lex_bound(&min_text), max = lex_bound(&max_text);
      const bool rev = chance(50), limit = chance(40);
      const int64_t offset = static_cast<int64_t>(pick(4)) - 1;
      const int64_t count = static_cast<int64_t>(pick(4)) - 1;
      Entries selected;
      for (const auto& entry : current) {
        if (in_lex(entry.first, min, max)) selected.push_back(entry);
      }
      if (rev) std::reverse(selected.begin(), selected.end());
      Args args = {"zrange", key, rev ? max_text : min_text, rev ? min_text : max_text, "bylex"};
      if (rev) args.push_back("rev");
      if (limit) {
        args.insert(args.end(), {"limit", std::to_string(offset), std::to_string(count)});
        selected = limited(selected, offset, count);
      }
      EXPECT_EQ(Run(args), reply_of(selected, false));
    } else if (op == 9) {  // ZRANK / ZREVRANK / ZSCORE
      const std::string& member = members[pick(members.size())];
      const bool rev = chance(50);
      const Entries sorted = by_score(current);
      std::string expected = kNil;
      for (size_t i = 0; i < sorted.size(); i++) {
        if (sorted[i].first == member) {
          expected = Int(static_cast<int64_t>(rev ? sorted.size() - 1 - i : i));
        }
      }
      EXPECT_EQ(Run({rev ? "zrevrank" : "zrank", key, member}), expected);
      EXPECT_EQ(Run({"zscore", key, member}),
                current.count(member) ? Score(current[member]) : std::string(kNil));
    } else if (op == 10) {  // ZCOUNT, ZLEXCOUNT
      std::string min_text, max_text;
      const Bound min = score_bound(&min_text), max = score_bound(&max_text);
      int64_t n = 0;
      for (const auto& entry : current) n += in_score(entry.second, min, max) ? 1 : 0;
      EXPECT_EQ(Run({"zcount", key, min_text, max_text}), Int(n));
      const Lex lmin = lex_bound(&min_text), lmax = lex_bound(&max_text);
      n = 0;
      for (const auto& entry : current) n += in_lex(entry.first, lmin, lmax) ? 1 : 0;
      EXPECT_EQ(Run({"zlexcount", key, min_text, max_text}), Int(n));
    } else if (op == 11) {  // ZPOPMIN / ZPOPMAX
      const bool max = chance(50);
      const size_t count = pick(4);
      Entries sorted = by_score(current);
      if (max) std::reverse(sorted.begin(), sorted.end());
      sorted.resize(std::min(sorted.size(), count));
      for (const auto& entry : sorted) current.erase(entry.first);
      EXPECT_EQ(Run({max ? "zpopmax" : "zpopmin", key, std::to_string(count)}),
                reply_of(sorted, true));
      update_key(key, current);
    } else if (op == 12) {  // ZREMRANGEBYSCORE
      std::string min_text, max_text;
      const Bound min = score_bound(&min_text), max = score_bound(&max_text);
      int64_t n = 0;
      for (auto it = current.begin(); it != current.end();) {
        if (in_score(it->second, min, max)) {
          it = current.erase(it);
          n++;
        } else {
          ++it;
        }
      }
      EXPECT_EQ(Run({"zremrangebyscore", key, min_text, max_text}), Int(n));
      update_key(key, current);
    } else if (op == 13) {  // ZREMRANGEBYRANK
      const int64_t start = static_cast<int64_t>(pick(7)) - 3;
      const int64_t stop = static_cast<int64_t>(pick(7)) - 3;
      const Entries gone = rank_slice(by_score(current), start, stop);
      for (const auto& entry : gone) current.erase(entry.first);
      EXPECT_EQ(Run({"zremrangebyrank", key, std::to_string(start), std::to_string(stop)}),
                Int(static_cast<int64_t>(gone.size())));
      update_key(key, current);
    } else if (op == 14) {  // ZREMRANGEBYLEX
      std::string min_text, max_text;
      const Lex min = lex_bound(&min_text), max = lex_bound(&max_text);
      int64_t n = 0;
      for (auto it = current.begin(); it != current.end();) {
        if (in_lex(it->first, min, max)) {
          it = current.erase(it);
          n++;
        } else {
          ++it;
        }
      }
      EXPECT_EQ(Run({"zremrangebylex", key, min_text, max_text}), Int(n));
      update_key(key, current);
    } else if (op == 15) {  // ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE
      const int kind = static_cast<int>(pick(3));
      const std::string dst = keys[pick(keys.size())];
      std::vector<std::string> sources = {key, keys[pick(keys.size())]};
      std::vector<double> weights = {1, 1};
      const std::vector<std::string> weight_texts = {"1", "2", "-1", "0.5"};
      const int aggregate = static_cast<int>(pick(3));  // sum, min, max
      Args args = {kind == 0   ? "zunionstore"
                   : kind == 1 ? "zinterstore"
                               : "zdiffstore",
                   dst, "2", sources[0], sources[1]};
      if (kind != 2 && chance(50)) {
        args.push_back("weights");
        for (double& weight : weights) {
          const std::string& text = weight_texts[pick(weight_texts.size())];
          weight = std::strtod(text.c_str(), nullptr);
          args.push_back(text);
        }
      }
      if (kind != 2) {
        args.insert(args.end(), {"aggregate", aggregate == 0   ? "sum"
                                              : aggregate == 1 ? "min"
                                                               : "max"});
      }
      auto combine = [&](double a, double b) {
        if (aggregate == 1) return std::min(a, b);
        if (aggregate == 2) return std::max(a, b);
        const double sum = a + b;
        return std::isnan(sum) ? 0.0 : sum;
      };
      auto weighted = [](double w, double s) {
        const double v = w * s;
        return std::isnan(v) ? 0.0 : v;
      };
      const Model a = model.count(sources[0]) ? model[sources[0]] : Model();
      const Model b = model.count(sources[1]) ? model[sources[1]] : Model();
      Model result;
      if (kind == 0) {
        for (const auto& [m, s] : a) result[m] = weighted(weights[0], s);
        for (const auto& [m, s] : b) {
          const double v = weighted(weights[1], s);
          result[m] = result.count(m) ? combine(result[m], v) : v;
        }
      } else if (kind == 1) {
        for (const auto& [m, s] : a) {
          if (b.count(m))
            result[m] = combine(weighted(weights[0], s), weighted(weights[1], b.at(m)));
        }
      } else {
        for (const auto& [m, s] : a) {
          if (!b.count(m)) result[m] = s;
        }
      }
      // Sums of two values are exact for these scores, so the order in
      // which sources are combined does not matter.
      EXPECT_EQ(Run(args), Int(static_cast<int64_t>(result.size())));
      set_key(dst, result);
    } else if (op == 16) {  // ZRANGESTORE BYSCORE
      std::string min_text, max_text;
      const Bound min = score_bound(&min_text), max = score_bound(&max_text);
      const std::string dst = keys[pick(keys.size())];
      Model result;
      for (const auto& [m, s] : current) {
        if (in_score(s, min, max)) result[m] = s;
      }
      EXPECT_EQ(Run({"zrangestore", dst, key, min_text, max_text, "byscore"}),
                Int(static_cast<int64_t>(result.size())));
      set_key(dst, result);
    } else if (op == 17) {  // DEL
      EXPECT_EQ(Run({"del", key}), Int(model.count(key) ? 1 : 0));
      model.erase(key);
      deadlines.erase(key);
    } else if (op == 18) {  // PEXPIRE, then time passes
      const int64_t ms = 1 + static_cast<int64_t>(pick(4));
      EXPECT_EQ(Run({"pexpire", key, std::to_string(ms)}), Int(model.count(key) ? 1 : 0));
      if (model.count(key)) deadlines[key] = clock_.NowMs() + ms;
      clock_.AdvanceMs(static_cast<int64_t>(pick(3)));
    } else {  // reopen
      Reopen();
      clock_.AdvanceMs(static_cast<int64_t>(pick(2)));
    }
    expire_model();
    for (const std::string& k : keys) {
      const Model expected = model.count(k) ? model[k] : Model();
      EXPECT_EQ(Run({"zcard", k}), Int(static_cast<int64_t>(expected.size()))) << k;
      // Expired keys' metadata may still be stored: check live sets only.
      if (!expected.empty()) ExpectStored(k, expected);
      if (HasFailure()) return;
    }
  }
  EXPECT_FALSE(model.empty());
}

}  // namespace
}  // namespace lsmkv::server
