// Set commands in process (command_test_fixture.h): replies byte for byte
// as Redis 7.0 sends them (checked against redis-server 7.0.15; members
// come in byte order here, in hash-table order there), and a randomized
// comparison with a std::map<std::string, std::set<std::string>> model.
#include <gtest/gtest.h>

#include <algorithm>
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

std::string Members(const std::set<std::string>& members, char marker = '*') {
  std::string out = marker + std::to_string(members.size()) + "\r\n";
  for (const std::string& member : members) out += Bulk(member);
  return out;
}

class SetTest : public CommandsTest {
 protected:
  // The bulk strings of a flat array (or RESP3 set) reply.
  static std::vector<std::string> Items(const std::string& reply) {
    std::vector<std::string> items;
    EXPECT_TRUE(reply[0] == '*' || reply[0] == '~') << reply;
    size_t pos = reply.find("\r\n") + 2;
    while (pos < reply.size()) {
      EXPECT_EQ(reply[pos], '$') << reply;
      const size_t end = reply.find("\r\n", pos);
      const size_t len = std::stoul(reply.substr(pos + 1, end - pos - 1));
      items.push_back(reply.substr(end + 2, len));
      pos = end + 2 + len + 2;
    }
    return items;
  }
  static std::set<std::string> ItemSet(const std::string& reply) {
    const auto items = Items(reply);
    return std::set<std::string>(items.begin(), items.end());
  }

  // Every set member stored in the engine, as (user key, version) -> count.
  std::map<std::pair<std::string, uint64_t>, size_t> StoredMembers() {
    ReadOptions options;
    options.lower_bound = std::string(1, kSetMemberPrefix);
    options.upper_bound = std::string(1, kSetMemberPrefix + 1);
    std::map<std::pair<std::string, uint64_t>, size_t> out;
    auto it = db_->NewIterator(options);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ElementKey element;
      EXPECT_TRUE(DecodeElementKey(it->key(), &element));
      out[{std::string(element.user_key), element.version}]++;
    }
    EXPECT_TRUE(it->status().ok());
    return out;
  }

  // The live version of a set key (0 if it is not a set).
  uint64_t VersionOf(const std::string& key) {
    std::string stored;
    if (!db_->Get(ReadOptions(), DataKey(0, key), &stored).ok()) return 0;
    DecodedValue decoded;
    CollectionMeta meta;
    if (!DecodeValue(stored, &decoded) || decoded.type != ValueType::kSet ||
        !DecodeCollectionMeta(ValueType::kSet, decoded.payload, &meta)) {
      return 0;
    }
    return meta.version;
  }
};

TEST_F(SetTest, ArityAndSyntaxErrors) {
  for (const Args& args : std::vector<Args>{{"sadd", "s"},
                                            {"srem", "s"},
                                            {"scard"},
                                            {"sismember", "s"},
                                            {"smismember", "s"},
                                            {"smembers"},
                                            {"srandmember"},
                                            {"spop"},
                                            {"smove", "a", "b"},
                                            {"sinter"},
                                            {"sintercard", "1"},
                                            {"sunion"},
                                            {"sdiff"},
                                            {"sinterstore", "d"},
                                            {"sunionstore", "d"},
                                            {"sdiffstore", "d"},
                                            {"sscan", "s"}}) {
    EXPECT_EQ(Run(args), Err("ERR wrong number of arguments for '" + args[0] + "' command"));
  }
  EXPECT_EQ(Run({"sadd", "s", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"sadd", "t", "b", "c", "d"}), Int(3));
  EXPECT_EQ(Run({"spop", "s", "-1"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"spop", "s", "x"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"spop", "s", "1", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"srandmember", "s", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"srandmember", "s", "1", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"srandmember", "s", "x", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"srandmember", "s", "-9223372036854775808"}),
            Err("ERR value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807"));
  for (const char* numkeys : {"0", "-1", "x", "9999999999999999999"}) {
    EXPECT_EQ(Run({"sintercard", numkeys, "s"}), Err("ERR numkeys should be greater than 0"));
  }
  EXPECT_EQ(Run({"sintercard", "3", "s", "t"}),
            Err("ERR Number of keys can't be greater than number of args"));
  EXPECT_EQ(Run({"sintercard", "2147483648", "s"}),
            Err("ERR Number of keys can't be greater than number of args"));
  EXPECT_EQ(Run({"sintercard", "1", "s", "t"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sintercard", "2", "s", "t", "limit"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sintercard", "2", "s", "t", "foo", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sintercard", "2", "s", "t", "limit", "-1"}), Err("ERR LIMIT can't be negative"));
  EXPECT_EQ(Run({"sintercard", "2", "s", "t", "limit", "x"}), Err("ERR LIMIT can't be negative"));
  EXPECT_EQ(Run({"sscan", "s", "x"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"sscan", "s", "0", "count", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sscan", "s", "0", "match"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sscan", "s", "0", "foo", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sscan", "s", "77"}), Err("ERR invalid cursor"));
  // Nothing changed.
  EXPECT_EQ(Run({"smembers", "s"}), Array({Bulk("a"), Bulk("b"), Bulk("c")}));
  EXPECT_EQ(Run({"smembers", "t"}), Array({Bulk("b"), Bulk("c"), Bulk("d")}));
}

TEST_F(SetTest, AddRemoveAndMembership) {
  EXPECT_EQ(Run({"sadd", "s", "a", "b", "a", ""}), Int(3));  // a named twice
  EXPECT_EQ(Run({"sadd", "s", "a", "z"}), Int(1));
  EXPECT_EQ(Run({"scard", "s"}), Int(4));
  EXPECT_EQ(Run({"scard", "nokey"}), Int(0));
  EXPECT_EQ(Run({"smembers", "s"}), Array({Bulk(""), Bulk("a"), Bulk("b"), Bulk("z")}));
  EXPECT_EQ(Run({"smembers", "nokey"}), "*0\r\n");
  EXPECT_EQ(Run({"sismember", "s", "a"}), Int(1));
  EXPECT_EQ(Run({"sismember", "s", ""}), Int(1));
  EXPECT_EQ(Run({"sismember", "s", "q"}), Int(0));
  EXPECT_EQ(Run({"sismember", "nokey", "a"}), Int(0));
  EXPECT_EQ(Run({"smismember", "s", "a", "q", "z"}), Array({Int(1), Int(0), Int(1)}));
  EXPECT_EQ(Run({"smismember", "nokey", "a"}), Array({Int(0)}));
  EXPECT_EQ(Run({"type", "s"}), "+set\r\n");
  EXPECT_EQ(Run({"object", "encoding", "s"}), Bulk("hashtable"));
  const std::string binary("\0\xff\r\n", 4);
  EXPECT_EQ(Run({"sadd", "bin", binary}), Int(1));
  EXPECT_EQ(Run({"sismember", "bin", binary}), Int(1));
  EXPECT_EQ(Run({"smembers", "bin"}), Array({Bulk(binary)}));
  // SREM counts each removed member once; the last one deletes the key.
  EXPECT_EQ(Run({"srem", "s", "a", "a", "q"}), Int(1));
  EXPECT_EQ(Run({"srem", "nokey", "a"}), Int(0));
  EXPECT_EQ(Run({"scard", "s"}), Int(3));
  EXPECT_EQ(Run({"srem", "s", "", "b", "z"}), Int(3));
  EXPECT_EQ(Run({"exists", "s"}), Int(0));
  EXPECT_EQ(Run({"type", "s"}), "+none\r\n");
  // Members longer than kMaxFieldBytes are refused by SADD, absent elsewhere.
  const std::string huge(kMaxFieldBytes + 1, 'x');
  EXPECT_EQ(Run({"sadd", "s", "ok", huge}),
            Err("ERR set member is too large (lsmkv-server set members are at most 65536 bytes)"));
  EXPECT_EQ(Run({"exists", "s"}), Int(0));
  EXPECT_EQ(Run({"sadd", "s", std::string(60000, 'y')}), Int(1));
  EXPECT_EQ(Run({"sismember", "s", huge}), Int(0));
  EXPECT_EQ(Run({"srem", "s", huge}), Int(0));
  EXPECT_EQ(Run({"smove", "s", "t", huge}), Int(0));
}

TEST_F(SetTest, WrongType) {
  EXPECT_EQ(Run({"set", "str", "x"}), kOk);
  EXPECT_EQ(Run({"sadd", "s", "a", "b", "c"}), Int(3));
  for (const Args& args : std::vector<Args>{{"sadd", "str", "a"},
                                            {"srem", "str", "a"},
                                            {"scard", "str"},
                                            {"sismember", "str", "a"},
                                            {"smismember", "str", "a"},
                                            {"smembers", "str"},
                                            {"srandmember", "str"},
                                            {"srandmember", "str", "2"},
                                            {"spop", "str"},
                                            {"spop", "str", "2"},
                                            {"spop", "str", "0"},
                                            {"smove", "str", "s", "a"},
                                            {"smove", "s", "str", "a"},
                                            {"smove", "s", "str", "zz"},
                                            {"sinter", "s", "str"},
                                            {"sinter", "nokey", "str"},
                                            {"sintercard", "2", "nokey", "str"},
                                            {"sunion", "s", "str"},
                                            {"sdiff", "s", "str"},
                                            {"sdiff", "nokey", "str"},
                                            {"sinterstore", "d", "nokey", "str"},
                                            {"sunionstore", "d", "s", "str"},
                                            {"sdiffstore", "d", "s", "str"},
                                            {"sscan", "str", "0"},
                                            {"get", "s"},
                                            {"hget", "s", "a"},
                                            {"append", "s", "x"}}) {
    EXPECT_EQ(Run(args), Err(kWrongType)) << args[0];
  }
  EXPECT_EQ(Run({"smove", "nokey", "str", "a"}), Int(0));  // the source is looked at first
  EXPECT_EQ(Run({"exists", "d"}), Int(0));
  EXPECT_EQ(Run({"get", "str"}), Bulk("x"));
  EXPECT_EQ(Run({"scard", "s"}), Int(3));
  // The parse errors of SINTERCARD come before the type checks.
  EXPECT_EQ(Run({"sintercard", "2", "s", "str", "limit", "x"}), Err("ERR LIMIT can't be negative"));
  // A *STORE destination of another type is overwritten.
  EXPECT_EQ(Run({"sinterstore", "str", "s"}), Int(3));
  EXPECT_EQ(Run({"type", "str"}), "+set\r\n");
}

TEST_F(SetTest, Resp3Replies) {
  EXPECT_EQ(Run({"sadd", "s", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"sadd", "t", "b", "c", "d"}), Int(3));
  Run({"hello", "3"});
  EXPECT_EQ(Run({"smembers", "s"}), Members({"a", "b", "c"}, '~'));
  EXPECT_EQ(Run({"smembers", "nokey"}), "~0\r\n");
  EXPECT_EQ(Run({"sinter", "s", "t"}), Members({"b", "c"}, '~'));
  EXPECT_EQ(Run({"sinter", "nokey", "s"}), "~0\r\n");
  EXPECT_EQ(Run({"sunion", "s", "t"}), Members({"a", "b", "c", "d"}, '~'));
  EXPECT_EQ(Run({"sdiff", "s", "t"}), Members({"a"}, '~'));
  EXPECT_EQ(Run({"srandmember", "nokey"}), "_\r\n");
  EXPECT_EQ(Run({"srandmember", "nokey", "3"}), "*0\r\n");  // an array, as in Redis
  EXPECT_EQ(Run({"srandmember", "s", "0"}), "*0\r\n");
  EXPECT_EQ(Run({"srandmember", "s", "5"}), Members({"a", "b", "c"}));
  EXPECT_EQ(Run({"spop", "nokey"}), "_\r\n");
  EXPECT_EQ(Run({"spop", "nokey", "3"}), "~0\r\n");
  EXPECT_EQ(Run({"spop", "s", "0"}), "~0\r\n");
  EXPECT_EQ(Run({"sscan", "s", "0"}), Array({Bulk("0"), Members({"a", "b", "c"})}));
  EXPECT_EQ(Run({"smismember", "s", "a", "z"}), Array({Int(1), Int(0)}));
  EXPECT_EQ(Run({"spop", "s", "5"}), Members({"a", "b", "c"}, '~'));
  EXPECT_EQ(Run({"exists", "s"}), Int(0));
}

TEST_F(SetTest, RandomMemberAndPop) {
  EXPECT_EQ(Run({"srandmember", "nokey"}), kNil);
  EXPECT_EQ(Run({"srandmember", "nokey", "3"}), "*0\r\n");
  EXPECT_EQ(Run({"spop", "nokey"}), kNil);
  EXPECT_EQ(Run({"spop", "nokey", "3"}), "*0\r\n");
  EXPECT_EQ(Run({"spop", "nokey", "0"}), "*0\r\n");
  const std::set<std::string> small = {"a", "b", "c"};
  EXPECT_EQ(Run({"sadd", "s", "a", "b", "c"}), Int(3));
  EXPECT_TRUE(small.count(Items("*1\r\n" + Run({"srandmember", "s"}))[0]));
  EXPECT_EQ(Run({"srandmember", "s", "0"}), "*0\r\n");
  EXPECT_EQ(Run({"srandmember", "s", "3"}), Members(small));
  EXPECT_EQ(Run({"srandmember", "s", "10"}), Members(small));
  auto two = Items(Run({"srandmember", "s", "2"}));
  EXPECT_EQ(two.size(), 2u);
  EXPECT_NE(two[0], two[1]);
  auto repeated = Items(Run({"srandmember", "s", "-20"}));
  EXPECT_EQ(repeated.size(), 20u);
  for (const auto& m : repeated) EXPECT_TRUE(small.count(m)) << m;
  EXPECT_EQ(Run({"scard", "s"}), Int(3));  // SRANDMEMBER changes nothing
  const auto popped = Items("*1\r\n" + Run({"spop", "s"}));
  ASSERT_EQ(popped.size(), 1u);
  EXPECT_TRUE(small.count(popped[0]));
  EXPECT_EQ(Run({"sismember", "s", popped[0]}), Int(0));
  EXPECT_EQ(Run({"scard", "s"}), Int(2));
  EXPECT_EQ(Items(Run({"spop", "s", "1"})).size(), 1u);
  EXPECT_EQ(Run({"scard", "s"}), Int(1));
  EXPECT_EQ(Items("*1\r\n" + Run({"spop", "s"})).size(), 1u);
  EXPECT_EQ(Run({"exists", "s"}), Int(0));

  // A set larger than kRandomReadWhole: random seeks and a reservoir pass.
  Args add = {"sadd", "big"};
  std::set<std::string> all;
  for (int i = 0; i < 3000; i++) {
    add.push_back("m" + std::to_string(i));
    all.insert(add.back());
  }
  EXPECT_EQ(Run(add), Int(3000));
  EXPECT_TRUE(all.count(Items("*1\r\n" + Run({"srandmember", "big"}))[0]));
  const auto sample = Items(Run({"srandmember", "big", "50"}));
  EXPECT_EQ(sample.size(), 50u);
  EXPECT_EQ(std::set<std::string>(sample.begin(), sample.end()).size(), 50u);
  for (const auto& m : sample) EXPECT_TRUE(all.count(m));
  const auto dup = Items(Run({"srandmember", "big", "-40"}));
  EXPECT_EQ(dup.size(), 40u);
  for (const auto& m : dup) EXPECT_TRUE(all.count(m));
  EXPECT_EQ(ItemSet(Run({"srandmember", "big", "5000"})), all);
  std::set<std::string> left = all;
  const auto one = Items("*1\r\n" + Run({"spop", "big"}));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(left.erase(one[0]), 1u);
  const auto many = Items(Run({"spop", "big", "999"}));
  EXPECT_EQ(many.size(), 999u);
  for (const auto& m : many) EXPECT_EQ(left.erase(m), 1u) << m;
  EXPECT_EQ(Run({"scard", "big"}), Int(2000));
  EXPECT_EQ(ItemSet(Run({"smembers", "big"})), left);
  EXPECT_EQ(ItemSet(Run({"spop", "big", "2000"})), left);
  EXPECT_EQ(Run({"exists", "big"}), Int(0));
}

TEST_F(SetTest, Move) {
  EXPECT_EQ(Run({"sadd", "s", "a", "b"}), Int(2));
  EXPECT_EQ(Run({"smove", "s", "s", "a"}), Int(1));  // same key: membership only
  EXPECT_EQ(Run({"smove", "s", "s", "z"}), Int(0));
  EXPECT_EQ(Run({"smove", "s", "t", "z"}), Int(0));
  EXPECT_EQ(Run({"exists", "t"}), Int(0));
  EXPECT_EQ(Run({"smove", "s", "t", "a"}), Int(1));
  EXPECT_EQ(Run({"smove", "s", "t", "a"}), Int(0));
  EXPECT_EQ(Run({"smembers", "s"}), Array({Bulk("b")}));
  EXPECT_EQ(Run({"smembers", "t"}), Array({Bulk("a")}));
  EXPECT_EQ(Run({"sadd", "t", "b"}), Int(1));
  EXPECT_EQ(Run({"expire", "t", "100"}), Int(1));
  EXPECT_EQ(Run({"smove", "s", "t", "b"}), Int(1));  // already there: the source is emptied
  EXPECT_EQ(Run({"exists", "s"}), Int(0));
  EXPECT_EQ(Run({"scard", "t"}), Int(2));
  EXPECT_EQ(Run({"ttl", "t"}), Int(100));
  EXPECT_EQ(Run({"smove", "nokey", "t", "a"}), Int(0));
}

TEST_F(SetTest, AlgebraAndStore) {
  EXPECT_EQ(Run({"sadd", "s", "a", "b", "c", ""}), Int(4));
  EXPECT_EQ(Run({"sadd", "t", "b", "c", "d"}), Int(3));
  EXPECT_EQ(Run({"sadd", "u", "c", "e"}), Int(2));
  EXPECT_EQ(Run({"sinter", "s", "t"}), Members({"b", "c"}));
  EXPECT_EQ(Run({"sinter", "s", "t", "u"}), Members({"c"}));
  EXPECT_EQ(Run({"sinter", "s", "s"}), Members({"", "a", "b", "c"}));
  EXPECT_EQ(Run({"sinter", "s", "nokey"}), "*0\r\n");
  EXPECT_EQ(Run({"sunion", "s", "nokey", "t", "u"}), Members({"", "a", "b", "c", "d", "e"}));
  EXPECT_EQ(Run({"sunion", "nokey"}), "*0\r\n");
  EXPECT_EQ(Run({"sdiff", "s", "t"}), Members({"", "a"}));
  EXPECT_EQ(Run({"sdiff", "s", "nokey", "t", "u"}), Members({"", "a"}));
  EXPECT_EQ(Run({"sdiff", "t", "s"}), Members({"d"}));
  EXPECT_EQ(Run({"sdiff", "s", "s"}), "*0\r\n");
  EXPECT_EQ(Run({"sdiff", "s"}), Members({"", "a", "b", "c"}));
  EXPECT_EQ(Run({"sdiff", "nokey", "s"}), "*0\r\n");
  EXPECT_EQ(Run({"sintercard", "2", "s", "t"}), Int(2));
  EXPECT_EQ(Run({"sintercard", "2", "s", "t", "limit", "1"}), Int(1));
  EXPECT_EQ(Run({"sintercard", "2", "s", "t", "limit", "0"}), Int(2));
  EXPECT_EQ(Run({"sintercard", "2", "s", "t", "LIMIT", "1", "limit", "5"}), Int(2));
  EXPECT_EQ(Run({"sintercard", "1", "nokey"}), Int(0));
  EXPECT_EQ(Run({"sintercard", "3", "s", "t", "u"}), Int(1));

  // A destination gets a new version whatever it held; its TTL is dropped.
  EXPECT_EQ(Run({"sadd", "d", "old"}), Int(1));
  EXPECT_EQ(Run({"expire", "d", "100"}), Int(1));
  const uint64_t old_version = VersionOf("d");
  EXPECT_EQ(Run({"sunionstore", "d", "s", "t"}), Int(5));
  EXPECT_GT(VersionOf("d"), old_version);
  EXPECT_EQ(Run({"smembers", "d"}), Members({"", "a", "b", "c", "d"}));
  EXPECT_EQ(Run({"ttl", "d"}), Int(-1));
  EXPECT_EQ(Run({"sinterstore", "d", "s", "t", "u"}), Int(1));
  EXPECT_EQ(Run({"smembers", "d"}), Members({"c"}));
  EXPECT_EQ(Run({"sdiffstore", "d", "s", "t"}), Int(2));
  EXPECT_EQ(Run({"smembers", "d"}), Members({"", "a"}));
  EXPECT_EQ(Run({"scard", "d"}), Int(2));
  // The destination may be a source.
  EXPECT_EQ(Run({"sunionstore", "d", "d", "u"}), Int(4));
  EXPECT_EQ(Run({"smembers", "d"}), Members({"", "a", "c", "e"}));
  EXPECT_EQ(Run({"sdiffstore", "d", "d", "d"}), Int(0));
  EXPECT_EQ(Run({"exists", "d"}), Int(0));
  // An empty result deletes the destination.
  EXPECT_EQ(Run({"set", "d", "string"}), kOk);
  EXPECT_EQ(Run({"sinterstore", "d", "nokey", "s"}), Int(0));
  EXPECT_EQ(Run({"exists", "d"}), Int(0));
  EXPECT_EQ(Run({"sunionstore", "d", "nokey"}), Int(0));
  EXPECT_EQ(Run({"exists", "d"}), Int(0));
  // Sources are unchanged.
  EXPECT_EQ(Run({"scard", "s"}), Int(4));
  EXPECT_EQ(Run({"scard", "t"}), Int(3));

  // Sets longer than one merge batch.
  std::set<std::string> evens, threes;
  Args add_evens = {"sadd", "evens"}, add_threes = {"sadd", "threes"};
  for (int i = 0; i < 1500; i++) {
    if (i % 2 == 0) add_evens.push_back(std::to_string(i)), evens.insert(add_evens.back());
    if (i % 3 == 0) add_threes.push_back(std::to_string(i)), threes.insert(add_threes.back());
  }
  Run(add_evens);
  Run(add_threes);
  std::set<std::string> inter, uni, diff;
  std::set_intersection(evens.begin(), evens.end(), threes.begin(), threes.end(),
                        std::inserter(inter, inter.end()));
  std::set_union(evens.begin(), evens.end(), threes.begin(), threes.end(),
                 std::inserter(uni, uni.end()));
  std::set_difference(evens.begin(), evens.end(), threes.begin(), threes.end(),
                      std::inserter(diff, diff.end()));
  EXPECT_EQ(Run({"sinter", "evens", "threes"}), Members(inter));
  EXPECT_EQ(Run({"sunion", "evens", "threes"}), Members(uni));
  EXPECT_EQ(Run({"sdiff", "evens", "threes"}), Members(diff));
  EXPECT_EQ(Run({"sintercard", "2", "evens", "threes"}), Int(static_cast<int64_t>(inter.size())));
  EXPECT_EQ(Run({"sunionstore", "u2", "evens", "threes"}), Int(static_cast<int64_t>(uni.size())));
  EXPECT_EQ(Run({"smembers", "u2"}), Members(uni));
}

TEST_F(SetTest, ScanVisitsEveryMemberOnce) {
  EXPECT_EQ(Run({"sscan", "nokey", "0"}), Array({Bulk("0"), "*0\r\n"}));
  Args add = {"sadd", "s"};
  std::set<std::string> all;
  for (int i = 0; i < 95; i++) {
    add.push_back("m" + std::to_string(i));
    all.insert(add.back());
  }
  Run(add);
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    const std::string reply = Run({"sscan", "s", cursor, "count", "7"});
    ASSERT_EQ(reply.rfind("*2\r\n$", 0), 0u) << reply;
    const size_t len_end = reply.find("\r\n", 4);
    const size_t len = std::stoul(reply.substr(5, len_end - 5));
    cursor = reply.substr(len_end + 2, len);
    for (const auto& m : Items(reply.substr(len_end + 2 + len + 2))) seen.insert(m);
    calls++;
  } while (cursor != "0" && calls < 100);
  EXPECT_EQ(calls, 14);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all);
  EXPECT_EQ(seen.size(), all.size());
  EXPECT_EQ(Run({"sscan", "s", "0", "match", "m9*", "count", "1000"}),
            Array({Bulk("0"), Members({"m9", "m90", "m91", "m92", "m93", "m94"})}));
}

TEST_F(SetTest, TransactionsSeeTheirOwnMembers) {
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"sadd", "s", "a", "b"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"smove", "s", "t", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"sunionstore", "u", "s", "t"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"smembers", "u"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"spop", "s", "5"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"scard", "s"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}),
            Array({Int(2), Int(1), Int(2), Members({"a", "b"}), Members({"b"}), Int(0)}));
  EXPECT_EQ(Run({"smembers", "t"}), Members({"a"}));
  // The set algebra reads the transaction's pending members.
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"sadd", "s", "a", "b", "c"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"sadd", "t", "c", "d"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"srem", "t", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"sinter", "s", "t"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"sintercard", "2", "t", "s"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"sdiffstore", "d", "s", "t"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"sunion", "d", "t"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), Array({Int(3), Int(2), Int(1), Members({"c"}), Int(1), Int(2),
                                  Members({"a", "b", "c", "d"})}));
  EXPECT_EQ(Run({"smembers", "d"}), Members({"a", "b"}));
}

TEST_F(SetTest, ExpiryAndReopen) {
  EXPECT_EQ(Run({"sadd", "s", "a", "b"}), Int(2));
  EXPECT_EQ(Run({"pexpire", "s", "10"}), Int(1));
  EXPECT_EQ(Run({"sadd", "s", "c"}), Int(1));
  EXPECT_EQ(Run({"pttl", "s"}), Int(10));
  Reopen();
  EXPECT_EQ(Run({"smembers", "s"}), Members({"a", "b", "c"}));
  clock_.AdvanceMs(10);
  EXPECT_EQ(Run({"scard", "s"}), Int(0));
  EXPECT_EQ(Run({"sismember", "s", "a"}), Int(0));
  EXPECT_EQ(Run({"sadd", "s", "z"}), Int(1));  // a new set: a, b, c never come back
  EXPECT_EQ(Run({"smembers", "s"}), Members({"z"}));
}

TEST_F(SetTest, LargeRepliesAndBoundedWrites) {
  Args add = {"sadd", "s"};
  for (int i = 0; i < 2000; i++) add.push_back(std::to_string(i) + std::string(1000, 'm'));
  EXPECT_EQ(Run(add), Int(2000));
  EXPECT_GT(Run({"smembers", "s"}).size(), 2000000u);
  ASSERT_EQ(config_.Set(*Config::Find("client-output-buffer-limit"), "normal 100000 0 0"), "");
  for (const Args& args : std::vector<Args>{{"smembers", "s"},
                                            {"sunion", "s", "nokey"},
                                            {"sdiff", "s", "nokey"},
                                            {"sinter", "s", "s"},
                                            {"srandmember", "s", "-1000000000000"},
                                            {"srandmember", "s", "5000"},
                                            {"srandmember", "s", "1500"}}) {
    const size_t stopped = Run(args).size();
    EXPECT_GT(stopped, 100000u) << args[0];
    EXPECT_LT(stopped, 110000u) << args[0];
  }
  // SPOP whose reply would pass the limit pops nothing.
  const std::string refused =
      Err("ERR SPOP count too large (lsmkv-server pops at most 1000000 members and 64 MiB of "
          "them, within the client output buffer limit, in one atomic write)");
  EXPECT_EQ(Run({"spop", "s", "1500"}), refused);
  EXPECT_EQ(Run({"spop", "s", "2000"}), refused);
  EXPECT_EQ(Run({"spop", "s", "2000000"}), refused);
  EXPECT_EQ(Run({"scard", "s"}), Int(2000));
  EXPECT_EQ(Items(Run({"spop", "s", "50"})).size(), 50u);
  EXPECT_EQ(Run({"scard", "s"}), Int(1950));
  ASSERT_EQ(config_.Set(*Config::Find("client-output-buffer-limit"), "normal 0 0 0"), "");

  // A *STORE result over 64 MiB is refused before anything is written.
  for (int batch = 0; batch < 12; batch++) {
    Args big = {"sadd", batch % 2 == 0 ? "big1" : "big2"};
    for (int i = 0; i < 100; i++) {
      big.push_back(std::to_string(batch * 100 + i) + std::string(60000, 'x'));
    }
    EXPECT_EQ(Run(big), Int(100));
  }
  EXPECT_EQ(Run({"set", "dst", "old"}), kOk);
  EXPECT_EQ(Run({"sunionstore", "dst", "big1", "big2"}),
            Err("ERR set result too large to store (lsmkv-server stores at most 1000000 members "
                "and 64 MiB of them in one atomic write)"));
  EXPECT_EQ(Run({"get", "dst"}), Bulk("old"));
  EXPECT_EQ(Run({"sunionstore", "dst", "big1"}), Int(600));  // 36 MB is fine
  EXPECT_EQ(Run({"scard", "dst"}), Int(600));
}

// The members of ended set versions — a *STORE destination's old members,
// a set popped whole, deleted or emptied — are reclaimed by compaction once
// durable; live members never are.
TEST_F(SetTest, CompactionReclaimsOnlyDeadMembers) {
  auto fill = [&](const std::string& key, int n, const std::string& tag) {
    Args args = {"sadd", key};
    for (int i = 0; i < n; i++) args.push_back(tag + std::to_string(i));
    EXPECT_EQ(Run(args), Int(n));
  };
  fill("live", 50, "m");
  fill("dst", 40, "old");
  fill("popped", 30, "m");
  fill("deleted", 20, "m");
  fill("src", 10, "new");
  ASSERT_TRUE(db_->Flush().ok());
  const uint64_t old_dst = VersionOf("dst");
  EXPECT_EQ(Run({"sunionstore", "dst", "src"}), Int(10));
  EXPECT_EQ(Items(Run({"spop", "popped", "30"})).size(), 30u);
  EXPECT_EQ(Run({"del", "deleted"}), Int(1));
  EXPECT_EQ(StoredMembers().size(), 6u);
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  const auto stored = StoredMembers();
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored.at({"live", VersionOf("live")}), 50u);
  EXPECT_EQ(stored.at({"src", VersionOf("src")}), 10u);
  ASSERT_NE(VersionOf("dst"), old_dst);
  EXPECT_EQ(stored.at({"dst", VersionOf("dst")}), 10u);
  EXPECT_EQ(Run({"sismember", "dst", "new9"}), Int(1));
  EXPECT_EQ(Run({"sismember", "dst", "old9"}), Int(0));
  EXPECT_EQ(Run({"scard", "live"}), Int(50));
}

// Random SADD/SREM/SPOP/SMOVE/*STORE/DEL/EXPIRE/SET on a few keys, every
// reply checked against a model; reopens in between.
TEST_F(SetTest, MatchesModel) {
  std::map<std::string, std::set<std::string>> model;
  std::map<std::string, int64_t> deadlines;
  std::set<std::string> strings;  // keys holding a string
  std::mt19937 rng(20241204);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> keys = {"k0", "k1", "k2", "k3"};
  const std::vector<std::string> members = {"", "a", "b", "c", "d", "e", "f"};
  auto expire_model = [&] {
    for (auto it = deadlines.begin(); it != deadlines.end();) {
      if (IsExpired(it->second, clock_.NowMs())) {
        model.erase(it->first);
        strings.erase(it->first);
        it = deadlines.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto erase_key = [&](const std::string& key) {
    const bool existed = model.erase(key) + strings.erase(key) > 0;
    deadlines.erase(key);
    return existed;
  };
  for (int step = 0; step < 2000; step++) {
    expire_model();
    const std::string& key = keys[pick(4)];
    const std::string& other = keys[pick(4)];
    const std::string& m1 = members[pick(7)];
    const std::string& m2 = members[pick(7)];
    const bool wrong = strings.count(key) > 0;
    switch (pick(12)) {
      case 0:
      case 1: {
        const std::string reply = Run({"sadd", key, m1, m2});
        if (wrong) {
          ASSERT_EQ(reply, Err(kWrongType)) << step;
          break;
        }
        auto& s = model[key];
        const size_t before = s.size();
        s.insert(m1);
        s.insert(m2);
        ASSERT_EQ(reply, Int(static_cast<int64_t>(s.size() - before))) << step;
        break;
      }
      case 2: {
        const std::string reply = Run({"srem", key, m1, m2});
        if (wrong) {
          ASSERT_EQ(reply, Err(kWrongType)) << step;
          break;
        }
        int64_t removed = 0;
        if (model.count(key)) {
          removed = static_cast<int64_t>(model[key].erase(m1) + model[key].erase(m2));
          if (model[key].empty()) erase_key(key);
        }
        ASSERT_EQ(reply, Int(removed)) << step;
        break;
      }
      case 3: {
        const int count = pick(4);
        const std::string reply = Run({"spop", key, std::to_string(count)});
        if (wrong) {
          ASSERT_EQ(reply, Err(kWrongType)) << step;
          break;
        }
        const auto popped = Items(reply);
        const size_t size = model.count(key) ? model[key].size() : 0;
        ASSERT_EQ(popped.size(), std::min<size_t>(size, count)) << step;
        for (const auto& m : popped) ASSERT_EQ(model[key].erase(m), 1u) << step << " " << m;
        if (model.count(key) && model[key].empty()) erase_key(key);
        break;
      }
      case 4: {
        const std::string reply = Run({"smove", key, other, m1});
        if (!model.count(key) && !wrong) {
          ASSERT_EQ(reply, Int(0)) << step;
        } else if (wrong || strings.count(other)) {
          ASSERT_EQ(reply, Err(kWrongType)) << step;
        } else if (!model[key].count(m1)) {
          ASSERT_EQ(reply, Int(0)) << step;
        } else {
          ASSERT_EQ(reply, Int(1)) << step;
          if (key != other) {
            model[key].erase(m1);
            if (model[key].empty()) erase_key(key);
            model[other].insert(m1);
          }
        }
        break;
      }
      case 5:
      case 6: {
        // SINTER/SUNION/SDIFF(STORE) over two or three keys.
        const int op = pick(3);
        const bool store = pick(2) == 0;
        Args sources = {key, other};
        if (pick(2) == 0) sources.push_back(keys[pick(4)]);
        bool any_wrong = false;
        for (const auto& k : sources) any_wrong = any_wrong || strings.count(k);
        std::set<std::string> result =
            model.count(sources[0]) ? model[sources[0]] : std::set<std::string>{};
        for (size_t i = 1; i < sources.size(); i++) {
          const std::set<std::string> s =
              model.count(sources[i]) ? model[sources[i]] : std::set<std::string>{};
          std::set<std::string> next;
          if (op == 0) {
            std::set_intersection(result.begin(), result.end(), s.begin(), s.end(),
                                  std::inserter(next, next.end()));
          } else if (op == 1) {
            std::set_union(result.begin(), result.end(), s.begin(), s.end(),
                           std::inserter(next, next.end()));
          } else {
            std::set_difference(result.begin(), result.end(), s.begin(), s.end(),
                                std::inserter(next, next.end()));
          }
          result = std::move(next);
        }
        const char* names[3][2] = {
            {"sinter", "sinterstore"}, {"sunion", "sunionstore"}, {"sdiff", "sdiffstore"}};
        Args args = {names[op][store ? 1 : 0]};
        const std::string& dst = keys[pick(4)];
        if (store) args.push_back(dst);
        args.insert(args.end(), sources.begin(), sources.end());
        const std::string reply = Run(args);
        if (any_wrong) {
          ASSERT_EQ(reply, Err(kWrongType)) << step;
        } else if (store) {
          ASSERT_EQ(reply, Int(static_cast<int64_t>(result.size()))) << step;
          erase_key(dst);
          if (!result.empty()) model[dst] = result;
        } else {
          ASSERT_EQ(reply, Members(result)) << step << " " << args[0];
        }
        if (op == 0 && !any_wrong && !store) {
          Args card = {"sintercard", std::to_string(sources.size())};
          card.insert(card.end(), sources.begin(), sources.end());
          card.push_back("limit");
          card.push_back("2");
          ASSERT_EQ(Run(card), Int(std::min<int64_t>(2, static_cast<int64_t>(result.size()))))
              << step;
        }
        break;
      }
      case 7:
        ASSERT_EQ(Run({"del", key}), Int(erase_key(key) ? 1 : 0)) << step;
        break;
      case 8: {
        const int64_t ms = pick(8) - 1;  // -1 (delete at once) .. 6 ms
        const bool exists = model.count(key) || strings.count(key);
        ASSERT_EQ(Run({"pexpire", key, std::to_string(ms)}), Int(exists ? 1 : 0)) << step;
        if (exists) {
          if (ms <= 0) {
            erase_key(key);
          } else {
            deadlines[key] = clock_.NowMs() + ms;
          }
        }
        break;
      }
      case 9:
        if (pick(10) == 0) {
          ASSERT_EQ(Run({"set", key, "v"}), kOk);
          erase_key(key);
          strings.insert(key);
        } else {
          clock_.AdvanceMs(pick(3));
        }
        break;
      case 10: {
        const std::string reply = Run({"srandmember", key, std::to_string(pick(7) - 3)});
        if (wrong) {
          ASSERT_EQ(reply, Err(kWrongType)) << step;
          break;
        }
        for (const auto& m : Items(reply)) ASSERT_TRUE(model[key].count(m)) << step;
        if (model[key].empty()) model.erase(key);
        break;
      }
      case 11:
        if (pick(15) == 0) {
          Reopen();
        } else {
          ASSERT_EQ(Run({"smismember", key, m1, m2}),
                    wrong ? Err(kWrongType)
                          : Array({Int(model.count(key) && model[key].count(m1)),
                                   Int(model.count(key) && model[key].count(m2))}))
              << step;
        }
        break;
    }
    expire_model();
    for (const std::string& k : keys) {
      if (strings.count(k)) {
        ASSERT_EQ(Run({"type", k}), "+string\r\n") << step;
        continue;
      }
      auto it = model.find(k);
      if (it == model.end()) {
        ASSERT_EQ(Run({"exists", k}), Int(0)) << "step " << step << " key " << k;
        continue;
      }
      ASSERT_EQ(Run({"smembers", k}), Members(it->second)) << "step " << step << " key " << k;
      ASSERT_EQ(Run({"scard", k}), Int(static_cast<int64_t>(it->second.size()))) << step;
    }
  }
}

}  // namespace
}  // namespace lsmkv::server
