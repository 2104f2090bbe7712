// Hash commands in process (command_test_fixture.h): replies byte for byte
// as Redis 7.0 sends them (checked against redis-server 7.0.15), the generic
// commands on hashes, a randomized comparison with a std::map model, and the
// compaction filter reclaiming the fields of dead hashes.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "server/collection.h"
#include "server/command_test_fixture.h"
#include "server/expiry_sweeper.h"
#include "server/resp_parser.h"

namespace lsmkv::server {
namespace {

const char kWrongType[] = "WRONGTYPE Operation against a key holding the wrong kind of value";

std::string Array(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& item : items) out += item;
  return out;
}

class HashTest : public CommandsTest {
 protected:
  // Every hash field stored in the engine, as (user key, version) -> fields.
  std::map<std::pair<std::string, uint64_t>, std::set<std::string>> StoredFields() {
    ReadOptions options;
    options.lower_bound = std::string(1, kHashFieldPrefix);
    options.upper_bound = std::string(1, kHashFieldPrefix + 1);
    std::map<std::pair<std::string, uint64_t>, std::set<std::string>> out;
    auto it = db_->NewIterator(options);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ElementKey element;
      EXPECT_TRUE(DecodeElementKey(it->key(), &element));
      out[{std::string(element.user_key), element.version}].insert(std::string(element.field));
    }
    EXPECT_TRUE(it->status().ok());
    return out;
  }

  // The live version of a hash key (0 if it is not a hash).
  uint64_t VersionOf(const std::string& key) {
    std::string stored;
    if (!db_->Get(ReadOptions(), DataKey(0, key), &stored).ok()) return 0;
    DecodedValue decoded;
    CollectionMeta meta;
    if (!DecodeValue(stored, &decoded) || decoded.type != ValueType::kHash ||
        !DecodeCollectionMeta(ValueType::kHash, decoded.payload, &meta)) {
      return 0;
    }
    return meta.version;
  }

  // The elements of a flat RESP2 array reply of bulk strings.
  static std::vector<std::string> Items(const std::string& reply) {
    std::vector<std::string> items;
    EXPECT_EQ(reply[0], '*') << reply;
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
};

TEST_F(HashTest, SetGetAndCount) {
  EXPECT_EQ(Run({"hset", "h", "a"}), Err("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(Run({"hset", "h", "a", "1", "b"}),
            Err("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(Run({"hmset", "h", "a"}), Err("ERR wrong number of arguments for 'hmset' command"));
  EXPECT_EQ(Run({"hmset", "h", "a", "1", "b"}),
            Err("ERR wrong number of arguments for 'hmset' command"));
  EXPECT_EQ(Run({"hsetnx", "h", "a"}), Err("ERR wrong number of arguments for 'hsetnx' command"));
  EXPECT_EQ(Run({"hdel", "h"}), Err("ERR wrong number of arguments for 'hdel' command"));
  EXPECT_EQ(Run({"exists", "h"}), Int(0));  // nothing was created by the errors

  EXPECT_EQ(Run({"hset", "h", "a", "1", "b", "2", "a", "3"}), Int(2));  // a named twice
  EXPECT_EQ(Run({"hget", "h", "a"}), Bulk("3"));
  EXPECT_EQ(Run({"hlen", "h"}), Int(2));
  EXPECT_EQ(Run({"hset", "h", "b", "4", "c", ""}), Int(1));
  EXPECT_EQ(Run({"hlen", "h"}), Int(3));
  EXPECT_EQ(Run({"hmset", "h", "", "empty field"}), kOk);
  EXPECT_EQ(Run({"hget", "h", ""}), Bulk("empty field"));
  EXPECT_EQ(Run({"hget", "h", "nofield"}), kNil);
  EXPECT_EQ(Run({"hget", "nokey", "a"}), kNil);
  EXPECT_EQ(Run({"hmget", "h", "a", "nofield", "c"}), Array({Bulk("3"), kNil, Bulk("")}));
  EXPECT_EQ(Run({"hmget", "nokey", "a", "b"}), Array({kNil, kNil}));
  EXPECT_EQ(Run({"hsetnx", "h", "a", "9"}), Int(0));
  EXPECT_EQ(Run({"hsetnx", "h", "d", "9"}), Int(1));
  EXPECT_EQ(Run({"hsetnx", "new", "f", "v"}), Int(1));
  EXPECT_EQ(Run({"hexists", "h", "d"}), Int(1));
  EXPECT_EQ(Run({"hexists", "h", "zz"}), Int(0));
  EXPECT_EQ(Run({"hexists", "nokey", "d"}), Int(0));
  EXPECT_EQ(Run({"hstrlen", "h", "a"}), Int(1));
  EXPECT_EQ(Run({"hstrlen", "h", ""}), Int(11));
  EXPECT_EQ(Run({"hstrlen", "h", "zz"}), Int(0));
  EXPECT_EQ(Run({"hstrlen", "nokey", "a"}), Int(0));
  EXPECT_EQ(Run({"hlen", "nokey"}), Int(0));
  // Fields come in byte order.
  EXPECT_EQ(Run({"hkeys", "h"}), Array({Bulk(""), Bulk("a"), Bulk("b"), Bulk("c"), Bulk("d")}));
  EXPECT_EQ(Run({"hvals", "h"}),
            Array({Bulk("empty field"), Bulk("3"), Bulk("4"), Bulk(""), Bulk("9")}));
  EXPECT_EQ(Run({"hgetall", "new"}), Array({Bulk("f"), Bulk("v")}));
  EXPECT_EQ(Run({"hkeys", "nokey"}), "*0\r\n");
  EXPECT_EQ(Run({"hvals", "nokey"}), "*0\r\n");
  EXPECT_EQ(Run({"hgetall", "nokey"}), "*0\r\n");
  // Binary-safe fields and values.
  const std::string binary("\0\xff\r\n", 4);
  EXPECT_EQ(Run({"hset", "bin", binary, binary}), Int(1));
  EXPECT_EQ(Run({"hget", "bin", binary}), Bulk(binary));
  // HDEL: counts each deleted field once; the last one deletes the key.
  EXPECT_EQ(Run({"hdel", "h", "a", "a", "nofield", "b"}), Int(2));
  EXPECT_EQ(Run({"hlen", "h"}), Int(3));
  EXPECT_EQ(Run({"hdel", "nokey", "a"}), Int(0));
  EXPECT_EQ(Run({"hdel", "h", "", "c", "d"}), Int(3));
  EXPECT_EQ(Run({"exists", "h"}), Int(0));
  EXPECT_EQ(Run({"type", "h"}), "+none\r\n");
  EXPECT_EQ(Run({"hlen", "h"}), Int(0));
}

TEST_F(HashTest, Resp3Replies) {
  EXPECT_EQ(Run({"hset", "h", "a", "1", "b", "2"}), Int(2));
  Run({"hello", "3"});
  EXPECT_EQ(Run({"hgetall", "h"}), "%2\r\n" + Bulk("a") + Bulk("1") + Bulk("b") + Bulk("2"));
  EXPECT_EQ(Run({"hgetall", "nokey"}), "%0\r\n");
  EXPECT_EQ(Run({"hget", "h", "zz"}), "_\r\n");
  EXPECT_EQ(Run({"hrandfield", "h", "5", "withvalues"}).substr(0, 4), "*2\r\n");
  const std::string pairs = Run({"hrandfield", "h", "-3", "withvalues"});
  EXPECT_EQ(pairs.rfind("*3\r\n*2\r\n$1\r\n", 0), 0u) << pairs;
}

TEST_F(HashTest, WrongTypeBothWays) {
  EXPECT_EQ(Run({"set", "s", "str"}), kOk);
  EXPECT_EQ(Run({"hset", "h", "f", "10"}), Int(1));
  for (const Args& args : std::vector<Args>{{"hset", "s", "a", "b"},
                                            {"hsetnx", "s", "a", "b"},
                                            {"hmset", "s", "a", "b"},
                                            {"hget", "s", "a"},
                                            {"hmget", "s", "a"},
                                            {"hdel", "s", "a"},
                                            {"hlen", "s"},
                                            {"hexists", "s", "a"},
                                            {"hstrlen", "s", "a"},
                                            {"hkeys", "s"},
                                            {"hvals", "s"},
                                            {"hgetall", "s"},
                                            {"hincrby", "s", "a", "1"},
                                            {"hincrbyfloat", "s", "a", "1"},
                                            {"hrandfield", "s"},
                                            {"hrandfield", "s", "0"},
                                            {"hscan", "s", "0"},
                                            {"get", "h"},
                                            {"getset", "h", "v"},
                                            {"getdel", "h"},
                                            {"getex", "h", "persist"},
                                            {"set", "h", "v", "get"},
                                            {"append", "h", "x"},
                                            {"strlen", "h"},
                                            {"incr", "h"},
                                            {"decrby", "h", "2"},
                                            {"incrbyfloat", "h", "1.5"},
                                            {"getrange", "h", "0", "1"},
                                            {"setrange", "h", "0", "x"}}) {
    EXPECT_EQ(Run(args), Err(kWrongType)) << args[0];
  }
  EXPECT_EQ(Run({"hget", "h", "f"}), Bulk("10"));  // untouched by the refused commands
  EXPECT_EQ(Run({"get", "s"}), Bulk("str"));
  EXPECT_EQ(Run({"mget", "h", "s"}), Array({kNil, Bulk("str")}));
  EXPECT_EQ(Run({"setnx", "h", "v"}), Int(0));
  EXPECT_EQ(Run({"msetnx", "h", "v", "other", "v"}), Int(0));
  EXPECT_EQ(Run({"type", "h"}), "+hash\r\n");
  EXPECT_EQ(Run({"type", "s"}), "+string\r\n");
  EXPECT_EQ(Run({"object", "encoding", "h"}), Bulk("hashtable"));
  EXPECT_EQ(Run({"object", "encoding", "s"}), Bulk("embstr"));
  EXPECT_EQ(Run({"set", "n", "123"}), kOk);
  EXPECT_EQ(Run({"object", "encoding", "n"}), Bulk("int"));
  EXPECT_EQ(Run({"set", "long", std::string(45, 'a')}), kOk);
  EXPECT_EQ(Run({"object", "encoding", "long"}), Bulk("raw"));
  EXPECT_EQ(Run({"object", "encoding", "nokey"}), kNil);
  EXPECT_EQ(Run({"object", "encoding"}),
            Err("ERR wrong number of arguments for 'object|encoding' command"));
  EXPECT_EQ(Run({"object", "foo"}), Err("ERR unknown subcommand 'foo'. Try OBJECT HELP."));
  // SET and its kin overwrite a hash; the new string has no fields.
  EXPECT_EQ(Run({"set", "h", "now a string", "xx"}), kOk);
  EXPECT_EQ(Run({"get", "h"}), Bulk("now a string"));
  EXPECT_EQ(Run({"hget", "h", "f"}), Err(kWrongType));
  EXPECT_EQ(Run({"del", "h"}), Int(1));
  EXPECT_EQ(Run({"hset", "h", "g", "1"}), Int(1));
  EXPECT_EQ(Run({"hgetall", "h"}), Array({Bulk("g"), Bulk("1")}));  // f is gone for good
  EXPECT_EQ(Run({"mset", "h", "v"}), kOk);
  EXPECT_EQ(Run({"type", "h"}), "+string\r\n");
}

TEST_F(HashTest, Increments) {
  EXPECT_EQ(Run({"hincrby", "h", "n", "5"}), Int(5));
  EXPECT_EQ(Run({"hincrby", "h", "n", "-7"}), Int(-2));
  EXPECT_EQ(Run({"hincrby", "h", "n", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"hincrby", "h", "n", "9223372036854775808"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"hset", "h", "s", "x", "f", "2.5", "max", "9223372036854775807"}), Int(3));
  EXPECT_EQ(Run({"hincrby", "h", "s", "1"}), Err("ERR hash value is not an integer"));
  EXPECT_EQ(Run({"hincrby", "h", "f", "1"}), Err("ERR hash value is not an integer"));
  EXPECT_EQ(Run({"hincrby", "h", "max", "1"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"hincrby", "h", "max", "-1"}), Int(9223372036854775806));
  EXPECT_EQ(Run({"hlen", "h"}), Int(4));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "f", "0.1"}), Bulk("2.6"));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "f", "abc"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "f", "nan"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "f", " 1"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "f", "inf"}), Err("ERR value is NaN or Infinity"));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "s", "1"}), Err("ERR hash value is not a float"));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "f", "0x10"}), Bulk("18.6"));
  EXPECT_EQ(Run({"hincrbyfloat", "h", "g", "-1.5e2"}), Bulk("-150"));
  EXPECT_EQ(Run({"hincrbyfloat", "new", "x", "1"}), Bulk("1"));
  EXPECT_EQ(Run({"hincrby", "new2", "x", "0"}), Int(0));
  EXPECT_EQ(Run({"hlen", "new2"}), Int(1));
  EXPECT_EQ(Run({"hget", "h", "g"}), Bulk("-150"));
  EXPECT_EQ(Run({"hlen", "h"}), Int(5));
}

TEST_F(HashTest, GenericCommandsOnHashes) {
  EXPECT_EQ(Run({"hset", "h", "a", "1", "b", "2"}), Int(2));
  EXPECT_EQ(Run({"set", "s", "v"}), kOk);
  EXPECT_EQ(Run({"exists", "h", "s", "nokey"}), Int(2));
  EXPECT_EQ(Run({"dbsize"}), Int(2));
  EXPECT_EQ(SortKeyArrays(Run({"keys", "*"})), Array({Bulk("h"), Bulk("s")}));
  EXPECT_EQ(Run({"scan", "0", "type", "hash"}), Array({Bulk("0"), Array({Bulk("h")})}));
  EXPECT_EQ(Run({"scan", "0", "type", "string"}), Array({Bulk("0"), Array({Bulk("s")})}));
  // TTLs live in the metadata: EXPIRE, PERSIST and HSET keep each other.
  EXPECT_EQ(Run({"expire", "h", "100"}), Int(1));
  EXPECT_EQ(Run({"hset", "h", "c", "3"}), Int(1));
  EXPECT_EQ(Run({"ttl", "h"}), Int(100));
  EXPECT_EQ(Run({"hdel", "h", "c"}), Int(1));
  EXPECT_EQ(Run({"ttl", "h"}), Int(100));
  EXPECT_EQ(Run({"persist", "h"}), Int(1));
  EXPECT_EQ(Run({"ttl", "h"}), Int(-1));
  EXPECT_EQ(Run({"hlen", "h"}), Int(2));
  EXPECT_EQ(Run({"pexpire", "h", "10"}), Int(1));
  clock_.AdvanceMs(9);
  EXPECT_EQ(Run({"hget", "h", "a"}), Bulk("1"));
  clock_.AdvanceMs(1);  // at the deadline the hash is gone, fields and all
  EXPECT_EQ(Run({"hget", "h", "a"}), kNil);
  EXPECT_EQ(Run({"hlen", "h"}), Int(0));
  EXPECT_EQ(Run({"exists", "h"}), Int(0));
  EXPECT_EQ(Run({"hset", "h", "z", "26"}), Int(1));  // a new hash: a, b never come back
  EXPECT_EQ(Run({"hgetall", "h"}), Array({Bulk("z"), Bulk("26")}));
  EXPECT_EQ(Run({"ttl", "h"}), Int(-1));
  EXPECT_EQ(Run({"randomkey"}).substr(0, 4), "$1\r\n");
  EXPECT_EQ(Run({"del", "h", "s"}), Int(2));
  EXPECT_EQ(Run({"hget", "h", "z"}), kNil);
  EXPECT_EQ(Run({"hset", "h", "a", "1"}), Int(1));
  EXPECT_EQ(Run({"unlink", "h"}), Int(1));
  EXPECT_EQ(Run({"exists", "h"}), Int(0));
  // FLUSHALL removes fields too.
  EXPECT_EQ(Run({"hset", "h1", "a", "1", "b", "2"}), Int(2));
  EXPECT_EQ(Run({"hset", "h2", "a", "1"}), Int(1));
  EXPECT_FALSE(StoredFields().empty());
  EXPECT_EQ(Run({"flushall"}), kOk);
  EXPECT_TRUE(StoredFields().empty());
  EXPECT_EQ(Run({"dbsize"}), Int(0));
  EXPECT_EQ(Run({"hlen", "h1"}), Int(0));
}

TEST_F(HashTest, FieldsSurviveReopenAndSweep) {
  EXPECT_EQ(Run({"hset", "h", "a", "1", "b", "2"}), Int(2));
  EXPECT_EQ(Run({"hset", "gone", "a", "1"}), Int(1));
  EXPECT_EQ(Run({"pexpire", "gone", "5"}), Int(1));
  const uint64_t version = VersionOf("h");
  Reopen();
  EXPECT_EQ(Run({"hgetall", "h"}), Array({Bulk("a"), Bulk("1"), Bulk("b"), Bulk("2")}));
  // A hash created after a restart gets a version never used before, even
  // if the clock went back.
  clock_.SetUs((kStartMs - 1000000) * 1000);
  Reopen();
  EXPECT_EQ(Run({"hset", "h3", "a", "1"}), Int(1));
  EXPECT_GT(VersionOf("h3"), version);
  clock_.SetUs((kStartMs + 10) * 1000);
  uint64_t removed = 0;
  ASSERT_TRUE(SweepExpired(keyspace_.get(), clock_.NowMs(), 1000, &removed).ok());
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(Run({"exists", "gone"}), Int(0));
}

TEST_F(HashTest, RandomField) {
  EXPECT_EQ(Run({"hrandfield", "nokey"}), kNil);
  EXPECT_EQ(Run({"hrandfield", "nokey", "3"}), "*0\r\n");
  EXPECT_EQ(Run({"hset", "h", "a", "1", "b", "2", "c", "3"}), Int(3));
  EXPECT_EQ(Run({"hrandfield", "h", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"hrandfield", "h", "-9223372036854775808"}),
            Err("ERR value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807"));
  EXPECT_EQ(Run({"hrandfield", "h", "1", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"hrandfield", "h", "1", "withvalues", "x"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"hrandfield", "h", "4611686018427387904", "withvalues"}),
            Err("ERR value is out of range"));
  EXPECT_EQ(Run({"hrandfield", "h", "4611686018427387904", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"set", "s", "v"}), kOk);
  EXPECT_EQ(Run({"hrandfield", "s", "1", "foo"}), Err("ERR syntax error"));  // options first
  EXPECT_EQ(Run({"hrandfield", "h", "0"}), "*0\r\n");
  const std::set<std::string> all = {"a", "b", "c"};
  for (int i = 0; i < 20; i++) {
    EXPECT_TRUE(all.count(test::BulkValue(Run({"hrandfield", "h"}))));
  }
  // count >= size: every field once; count < size: distinct fields.
  auto fields = Items(Run({"hrandfield", "h", "10"}));
  EXPECT_EQ(std::set<std::string>(fields.begin(), fields.end()), all);
  EXPECT_EQ(fields.size(), 3u);
  fields = Items(Run({"hrandfield", "h", "2"}));
  EXPECT_EQ(fields.size(), 2u);
  EXPECT_NE(fields[0], fields[1]);
  // Negative: exactly |count| picks, repeats allowed.
  fields = Items(Run({"hrandfield", "h", "-10"}));
  EXPECT_EQ(fields.size(), 10u);
  for (const auto& f : fields) EXPECT_TRUE(all.count(f)) << f;
  // WITHVALUES: field, value pairs (flat in RESP2).
  fields = Items(Run({"hrandfield", "h", "-5", "withvalues"}));
  ASSERT_EQ(fields.size(), 10u);
  for (size_t i = 0; i < fields.size(); i += 2) {
    EXPECT_EQ(fields[i + 1], std::string(1, static_cast<char>('1' + (fields[i][0] - 'a'))));
  }
  // A hash too large to read whole is sampled by seeks and by one pass.
  Args hset = {"hset", "big"};
  std::set<std::string> big;
  for (int i = 0; i < 1500; i++) {
    hset.push_back("field:" + std::to_string(i));
    hset.push_back(std::to_string(i));
    big.insert("field:" + std::to_string(i));
  }
  EXPECT_EQ(Run(hset), Int(1500));
  std::set<std::string> picked;
  for (int i = 0; i < 50; i++) {
    const std::string f = test::BulkValue(Run({"hrandfield", "big"}));
    EXPECT_TRUE(big.count(f)) << f;
    picked.insert(f);
  }
  EXPECT_GT(picked.size(), 10u);
  fields = Items(Run({"hrandfield", "big", "-20"}));
  EXPECT_EQ(fields.size(), 20u);
  for (const auto& f : fields) EXPECT_TRUE(big.count(f)) << f;
  fields = Items(Run({"hrandfield", "big", "100", "withvalues"}));
  ASSERT_EQ(fields.size(), 200u);
  std::set<std::string> distinct;
  for (size_t i = 0; i < fields.size(); i += 2) {
    EXPECT_TRUE(big.count(fields[i]));
    EXPECT_EQ("field:" + fields[i + 1], fields[i]);
    distinct.insert(fields[i]);
  }
  EXPECT_EQ(distinct.size(), 100u);
  EXPECT_EQ(Items(Run({"hrandfield", "big", "5000"})).size(), 1500u);
}

TEST_F(HashTest, ScanVisitsEveryFieldOnce) {
  EXPECT_EQ(Run({"hscan", "nokey", "0", "foo", "bar"}), Array({Bulk("0"), "*0\r\n"}));
  EXPECT_EQ(Run({"set", "s", "v"}), kOk);
  EXPECT_EQ(Run({"hscan", "s", "0", "foo"}), Err(kWrongType));
  Args hset = {"hset", "h"};
  std::set<std::string> expected;
  for (int i = 0; i < 300; i++) {
    hset.push_back((i % 3 == 0 ? "x:" : "y:") + std::to_string(i));
    hset.push_back("v" + std::to_string(i));
    if (i % 3 == 0) expected.insert("x:" + std::to_string(i));
  }
  EXPECT_EQ(Run(hset), Int(300));
  EXPECT_EQ(Run({"hscan", "h", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"hscan", "h", "0", "count", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"hscan", "h", "0", "match"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"hscan", "h", "0", "foo", "bar"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"hscan", "h", "0", "novalues"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"hscan", "h", "987654321"}), Err("ERR invalid cursor"));
  std::set<std::string> seen;
  std::string cursor = "0";
  int rounds = 0;
  do {
    const std::string out = Run({"hscan", "h", cursor, "match", "x:*", "count", "17"});
    ASSERT_EQ(out.rfind("*2\r\n$", 0), 0u) << out;
    const size_t len_end = out.find("\r\n", 4);
    const size_t len = std::stoul(out.substr(5, len_end - 5));
    cursor = out.substr(len_end + 2, len);
    const std::vector<std::string> items = Items(out.substr(len_end + 2 + len + 2));
    ASSERT_EQ(items.size() % 2, 0u);
    for (size_t i = 0; i < items.size(); i += 2) {
      EXPECT_TRUE(seen.insert(items[i]).second) << "returned twice: " << items[i];
      EXPECT_EQ("v" + items[i].substr(2), items[i + 1]);
    }
    ASSERT_LT(++rounds, 100);
  } while (cursor != "0");
  EXPECT_EQ(seen, expected);
  EXPECT_GE(rounds, 300 / 17);
  // The whole of a small hash in one call with a large COUNT.
  EXPECT_EQ(Run({"hset", "small", "a", "1"}), Int(1));
  EXPECT_EQ(Run({"hscan", "small", "0", "count", "100"}),
            Array({Bulk("0"), Array({Bulk("a"), Bulk("1")})}));
}

// EXEC and pipelined batches read their own field writes (Txn's pending
// elements) and commit them in one WriteBatch.
TEST_F(HashTest, TransactionsSeeTheirOwnFields) {
  EXPECT_EQ(Run({"hset", "h", "old", "1"}), Int(1));
  EXPECT_EQ(Run({"multi"}), kOk);
  for (const Args& args : std::vector<Args>{{"hset", "h", "a", "1", "b", "2"},
                                            {"hget", "h", "a"},
                                            {"hdel", "h", "old"},
                                            {"hgetall", "h"},
                                            {"del", "h"},
                                            {"hset", "h", "c", "3"},
                                            {"hkeys", "h"},
                                            {"hincrby", "h", "c", "4"},
                                            {"hlen", "h"}}) {
    EXPECT_EQ(Run(args), "+QUEUED\r\n");
  }
  EXPECT_EQ(Run({"exec"}), "*9\r\n" + Int(2) + Bulk("1") + Int(1) +
                               Array({Bulk("a"), Bulk("1"), Bulk("b"), Bulk("2")}) + Int(1) +
                               Int(1) + Array({Bulk("c")}) + Int(7) + Int(1));
  EXPECT_EQ(Run({"hgetall", "h"}), Array({Bulk("c"), Bulk("7")}));
  // Every field write rewrites the metadata, so WATCH sees it.
  ClientState* other = NewClient();
  EXPECT_EQ(Run({"watch", "h"}), kOk);
  EXPECT_EQ(Run(other, {"hset", "h", "c", "8"}), Int(0));  // same count, new value
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"hget", "h", "c"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  // A pipeline batch: the later commands see the earlier ones' fields.
  PipelineBatch batch(keyspace_.get());
  std::string out;
  Reply reply(&out, 2);
  for (Args args : std::vector<Args>{{"hset", "p", "x", "1"},
                                     {"hget", "p", "x"},
                                     {"hincrby", "p", "x", "1"},
                                     {"hdel", "p", "x"},
                                     {"exists", "p"}}) {
    ExecuteCommand(context_, *client_, args, reply, &batch);
  }
  batch.Finish(reply);
  EXPECT_EQ(out, Int(1) + Bulk("1") + Int(2) + Int(1) + Int(0));
}

// Replies that would pass client-output-buffer-limit stop growing once past
// it (the connection then replaces them with the limit error and closes).
TEST_F(HashTest, LargeRepliesStopAtTheOutputLimit) {
  Args hset = {"hset", "h"};
  for (int i = 0; i < 2000; i++) {
    hset.push_back("f" + std::to_string(i));
    hset.push_back(std::string(1000, 'v'));
  }
  EXPECT_EQ(Run(hset), Int(2000));
  const size_t full = Run({"hgetall", "h"}).size();
  EXPECT_GT(full, 2000000u);
  ASSERT_EQ(config_.Set(*Config::Find("client-output-buffer-limit"), "normal 100000 0 0"), "");
  for (const char* command : {"hgetall", "hvals"}) {
    const size_t stopped = Run({command, "h"}).size();
    EXPECT_GT(stopped, 100000u) << command;
    EXPECT_LT(stopped, 110000u) << command;
  }
  const size_t picks = Run({"hrandfield", "h", "-1000000000000", "withvalues"}).size();
  EXPECT_GT(picks, 100000u);
  EXPECT_LT(picks, 110000u);
  // A field too long for an engine key is refused, never stored.
  EXPECT_EQ(Run({"hset", "h", std::string(kMaxFieldBytes + 1, 'f'), "v"}),
            Err("ERR hash field is too large (lsmkv-server hash fields are at most 65536 bytes)"));
  EXPECT_EQ(Run({"hget", "h", std::string(kMaxFieldBytes + 1, 'f')}), kNil);
  EXPECT_EQ(Run({"hlen", "h"}), Int(2000));
}

// Deleting, expiring and overwriting hashes leaves their fields behind; the
// compaction filter removes them, and never a live field — including those
// of a hash deleted and created again under the same name.
TEST_F(HashTest, CompactionReclaimsOnlyDeadFields) {
  auto fill = [&](const std::string& key, int n, const std::string& tag) {
    Args args = {"hset", key};
    for (int i = 0; i < n; i++) {
      args.push_back(tag + std::to_string(i));
      args.push_back("value");
    }
    EXPECT_EQ(Run(args), Int(n));
  };
  fill("live", 50, "f");
  fill("deleted", 40, "f");
  fill("expired", 30, "f");
  fill("overwritten", 20, "f");
  fill("recreated", 60, "old");
  fill("emptied", 5, "f");
  ASSERT_TRUE(db_->Flush().ok());  // the old versions' fields on disk
  const uint64_t old_recreated = VersionOf("recreated");
  EXPECT_EQ(Run({"del", "deleted"}), Int(1));
  EXPECT_EQ(Run({"pexpire", "expired", "5"}), Int(1));
  EXPECT_EQ(Run({"set", "overwritten", "string"}), kOk);
  EXPECT_EQ(Run({"del", "recreated"}), Int(1));
  fill("recreated", 10, "new");
  EXPECT_EQ(Run({"hdel", "emptied", "f0", "f1", "f2", "f3", "f4"}), Int(5));
  EXPECT_EQ(Run({"expire", "live", "1000"}), Int(1));  // a future deadline keeps it live
  clock_.AdvanceMs(10);
  // Every dead version still has its fields (but "emptied", whose fields HDEL
  // deleted one by one).
  EXPECT_EQ(StoredFields().size(), 6u);
  // No durable state is published yet: compaction keeps every field.
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(StoredFields().size(), 6u);
  EXPECT_EQ(filter_->elements_removed(), 0u);
  // The expired hash ends when it is deleted (the sweep here, or the
  // compaction above, which removed its expired metadata); every end counts
  // once it is durable (the background thread's SyncIfDirty, once a second).
  uint64_t swept = 0;
  ASSERT_TRUE(SweepExpired(keyspace_.get(), clock_.NowMs(), 100, &swept).ok());
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());

  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  const auto stored = StoredFields();
  ASSERT_EQ(stored.size(), 2u);
  ASSERT_TRUE(stored.count({"live", VersionOf("live")}));
  EXPECT_EQ(stored.at({"live", VersionOf("live")}).size(), 50u);
  ASSERT_NE(VersionOf("recreated"), old_recreated);
  ASSERT_TRUE(stored.count({"recreated", VersionOf("recreated")}));
  EXPECT_EQ(stored.at({"recreated", VersionOf("recreated")}).size(), 10u);
  EXPECT_GE(filter_->elements_removed(), 40u + 30u + 20u + 60u);
  const std::string info = test::BulkValue(Run({"info", "stats"}));
  EXPECT_NE(info.find("lsmkv_hash_fields_reclaimed:" + std::to_string(filter_->elements_removed())),
            std::string::npos)
      << info;
  EXPECT_EQ(Run({"hlen", "live"}), Int(50));
  EXPECT_EQ(Run({"hget", "live", "f49"}), Bulk("value"));
  EXPECT_EQ(Run({"hlen", "recreated"}), Int(10));
  EXPECT_EQ(Run({"hget", "recreated", "new9"}), Bulk("value"));
  EXPECT_EQ(Run({"hget", "recreated", "old9"}), kNil);
  // A second compaction keeps the live fields too.
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(StoredFields().size(), 2u);
  EXPECT_EQ(Items(Run({"hkeys", "live"})).size(), 50u);
}

// RENAME and RENAMENX of hashes (Redis 7.0 replies): the fields move to the
// new name under a new version, in the command's one write, with the
// deadline; the destination's old value, string or hash, is replaced; a
// WATCH of either key sees the rename. The fields left under the old name
// are kept until the rename is durable, then reclaimed by compaction; the
// moved ones are never dropped.
TEST_F(HashTest, RenameMovesFields) {
  Args hset = {"hset", "src"};
  for (int i = 0; i < 100; i++) {
    hset.push_back("f" + std::to_string(i));
    hset.push_back("v" + std::to_string(i));
  }
  ASSERT_EQ(Run(hset), Int(100));
  ASSERT_EQ(Run({"expire", "src", "1000"}), Int(1));
  ASSERT_EQ(Run({"hset", "dst", "old", "x"}), Int(1));
  ASSERT_EQ(Run({"set", "str", "s"}), kOk);
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());  // all of it durable
  const uint64_t src_version = VersionOf("src");
  const uint64_t dst_version = VersionOf("dst");

  ClientState* watcher = NewClient();
  EXPECT_EQ(Run(watcher, {"watch", "dst"}), kOk);
  EXPECT_EQ(Run({"rename", "src", "dst"}), kOk);
  EXPECT_EQ(Run(watcher, {"multi"}), kOk);
  EXPECT_EQ(Run(watcher, {"exec"}), "*-1\r\n");
  EXPECT_EQ(Run({"exists", "src"}), Int(0));
  EXPECT_EQ(Run({"hlen", "src"}), Int(0));
  EXPECT_EQ(Run({"hlen", "dst"}), Int(100));
  EXPECT_EQ(Run({"hget", "dst", "f42"}), Bulk("v42"));
  EXPECT_EQ(Run({"hget", "dst", "old"}), kNil);
  EXPECT_EQ(Run({"ttl", "dst"}), Int(1000));
  EXPECT_EQ(Run({"type", "dst"}), "+hash\r\n");
  EXPECT_NE(VersionOf("dst"), src_version);
  EXPECT_GT(VersionOf("dst"), dst_version);

  // Over a string, and RENAMENX (the source's watcher sees it).
  EXPECT_EQ(Run(watcher, {"watch", "dst"}), kOk);
  EXPECT_EQ(Run({"rename", "dst", "str"}), kOk);
  EXPECT_EQ(Run(watcher, {"multi"}), kOk);
  EXPECT_EQ(Run(watcher, {"exec"}), "*-1\r\n");
  EXPECT_EQ(Run({"hget", "str", "f99"}), Bulk("v99"));
  EXPECT_EQ(Run({"renamenx", "str", "str"}), Int(0));
  EXPECT_EQ(Run({"rename", "str", "str"}), kOk);
  EXPECT_EQ(Run({"set", "taken", "1"}), kOk);
  EXPECT_EQ(Run({"renamenx", "str", "taken"}), Int(0));
  EXPECT_EQ(Run({"renamenx", "str", "h"}), Int(1));
  EXPECT_EQ(Run({"renamenx", "str", "h"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"hlen", "h"}), Int(100));
  EXPECT_EQ(Run({"ttl", "h"}), Int(1000));
  EXPECT_EQ(Run({"rename"}), Err("ERR wrong number of arguments for 'rename' command"));

  // Only the live copy's fields are stored after a compaction once the
  // renames are durable; before that, every copy is kept.
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(filter_->elements_removed(), 0u);
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  const auto stored = StoredFields();
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_TRUE(stored.count({"h", VersionOf("h")}));
  EXPECT_EQ(stored.at({"h", VersionOf("h")}).size(), 100u);
  EXPECT_EQ(filter_->elements_removed(), 100u * 3 + 1);
  EXPECT_EQ(Run({"hget", "h", "f0"}), Bulk("v0"));
  Reopen();
  EXPECT_EQ(Run({"hlen", "h"}), Int(100));
  EXPECT_EQ(Run({"hget", "h", "f99"}), Bulk("v99"));
}

// COPY: the copy is independent of the source (a new version), keeps the
// deadline, and refuses to overwrite without REPLACE.
TEST_F(HashTest, CopyIsIndependent) {
  ASSERT_EQ(Run({"hset", "src", "f", "1", "g", "2"}), Int(2));
  ASSERT_EQ(Run({"expire", "src", "100"}), Int(1));
  ASSERT_EQ(Run({"set", "str", "s"}), kOk);
  EXPECT_EQ(Run({"copy", "src", "dst"}), Int(1));
  EXPECT_NE(VersionOf("dst"), VersionOf("src"));
  EXPECT_EQ(Run({"hset", "dst", "h", "3"}), Int(1));
  EXPECT_EQ(Run({"hdel", "src", "f"}), Int(1));
  EXPECT_EQ(Run({"hgetall", "src"}), "*2\r\n" + Bulk("g") + Bulk("2"));
  EXPECT_EQ(Run({"hgetall", "dst"}),
            "*6\r\n" + Bulk("f") + Bulk("1") + Bulk("g") + Bulk("2") + Bulk("h") + Bulk("3"));
  EXPECT_EQ(Run({"ttl", "dst"}), Int(100));
  EXPECT_EQ(Run({"copy", "src", "dst"}), Int(0));  // exists
  EXPECT_EQ(Run({"copy", "src", "str"}), Int(0));
  EXPECT_EQ(Run({"copy", "src", "str", "replace"}), Int(1));
  EXPECT_EQ(Run({"type", "str"}), "+hash\r\n");
  EXPECT_EQ(Run({"hlen", "str"}), Int(1));
  EXPECT_EQ(Run({"copy", "missing", "x"}), Int(0));
  EXPECT_EQ(Run({"copy", "src", "src"}), Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"copy", "src", "x", "db", "0"}), Int(1));
  EXPECT_EQ(Run({"copy", "src", "y", "db", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"copy", "src", "y", "db", "x"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"copy", "src", "y", "db"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"copy", "src", "y", "nope"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"exists", "y"}), Int(0));
  Reopen();
  EXPECT_EQ(Run({"hlen", "dst"}), Int(3));
  EXPECT_EQ(Run({"hget", "x", "g"}), Bulk("2"));
}

TEST_F(HashTest, ObjectSubcommandsAndDump) {
  ASSERT_EQ(Run({"hset", "h", "f", "1"}), Int(1));
  EXPECT_EQ(Run({"object", "encoding", "h"}), Bulk("hashtable"));
  EXPECT_EQ(Run({"object", "refcount", "h"}), Int(1));
  EXPECT_EQ(Run({"object", "refcount", "missing"}), kNil);
  EXPECT_EQ(Run({"object", "freq", "h"}).substr(0, 40), "-ERR An LFU maxmemory policy is not sele");
  EXPECT_EQ(Run({"object", "idletime", "h"}),
            Err("ERR lsmkv-server does not track key access times (no LRU eviction: data lives "
                "on disk)"));
  EXPECT_EQ(Run({"object", "refcount"}),
            Err("ERR wrong number of arguments for 'object|refcount' command"));
  EXPECT_EQ(Run({"object", "nope", "h"}).substr(0, 28), "-ERR unknown subcommand 'nop");
  EXPECT_EQ(Run({"object", "help"}).substr(0, 4), "*13\r");
  EXPECT_EQ(Run({"dump", "h"}),
            Err("ERR dump is not supported by lsmkv-server (no RDB serialization format)"));
  EXPECT_EQ(Run({"restore", "h2", "0", "x"}),
            Err("ERR restore is not supported by lsmkv-server (no RDB serialization format)"));
}

// In EXEC, RENAME moves the fields the transaction itself wrote, and later
// commands read them under the new name.
TEST_F(HashTest, RenameInsideExec) {
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"hset", "a", "f", "1", "g", "2"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"rename", "a", "b"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"hset", "b", "h", "3"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"hgetall", "b"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exists", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*5\r\n" + Int(2) + kOk + Int(1) + "*6\r\n" + Bulk("f") + Bulk("1") +
                               Bulk("g") + Bulk("2") + Bulk("h") + Bulk("3") + Int(0));
  EXPECT_EQ(Run({"hlen", "b"}), Int(3));
}

// A hash whose fields and values exceed the bound is refused, and nothing
// changes.
TEST_F(HashTest, RenameOfAHugeHashIsRefused) {
  const std::string value(1 << 20, 'v');
  for (int i = 0; i < 65; i++) {
    ASSERT_EQ(Run({"hset", "big", "f" + std::to_string(i), value}), Int(1));
  }
  EXPECT_EQ(Run({"rename", "big", "other"}),
            Err("ERR hash too large to rename (lsmkv-server moves at most 1000000 elements and 64 "
                "MiB of them in one atomic write)"));
  EXPECT_EQ(Run({"hlen", "big"}), Int(65));
  EXPECT_EQ(Run({"exists", "other"}), Int(0));
}

// Random HSET/HDEL/DEL/EXPIRE/SET/HINCRBY on a few keys and fields, checked
// after every step against a model; compactions and reopens in between.
TEST_F(HashTest, MatchesModel) {
  struct ModelValue {
    bool is_hash = true;
    std::map<std::string, std::string> fields;
    std::string string_value;
    int64_t deadline_ms = 0;
  };
  std::map<std::string, ModelValue> model;
  std::mt19937 rng(20240601);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> keys = {"k0", "k1", "k2", "k3"};
  const std::vector<std::string> fields = {"", "a", "b", "c", "d", "e"};
  auto expire_model = [&] {
    for (auto it = model.begin(); it != model.end();) {
      if (IsExpired(it->second.deadline_ms, clock_.NowMs())) {
        it = model.erase(it);
      } else {
        ++it;
      }
    }
  };
  for (int step = 0; step < 3000; step++) {
    expire_model();
    const std::string& key = keys[pick(4)];
    const std::string& field = fields[pick(6)];
    const std::string value = "v" + std::to_string(step);
    const bool is_hash = model.count(key) && model[key].is_hash;
    const bool is_string = model.count(key) && !model[key].is_hash;
    switch (pick(11)) {
      case 0:
      case 1:
      case 2: {
        const std::string& field2 = fields[pick(6)];
        const std::string reply = Run({"hset", key, field, value, field2, value + "b"});
        if (is_string) {
          EXPECT_EQ(reply, Err(kWrongType));
          break;
        }
        ModelValue& m = model[key];
        const size_t before = m.fields.size();
        m.fields[field] = value;
        m.fields[field2] = value + "b";
        EXPECT_EQ(reply, Int(static_cast<int64_t>(m.fields.size() - before))) << step;
        break;
      }
      case 3:
      case 4: {
        const std::string& field2 = fields[pick(6)];
        const std::string reply = Run({"hdel", key, field, field2});
        if (is_string) {
          EXPECT_EQ(reply, Err(kWrongType));
          break;
        }
        int64_t deleted = 0;
        if (is_hash) {
          deleted += static_cast<int64_t>(model[key].fields.erase(field));
          deleted += static_cast<int64_t>(model[key].fields.erase(field2));
          if (model[key].fields.empty()) model.erase(key);
        }
        EXPECT_EQ(reply, Int(deleted)) << step;
        break;
      }
      case 5:
        EXPECT_EQ(Run({"del", key}), Int(model.erase(key) ? 1 : 0));
        break;
      case 6: {
        const int64_t ms = pick(8) - 1;  // -1 (delete at once) .. 6 ms
        EXPECT_EQ(Run({"pexpire", key, std::to_string(ms)}), Int(model.count(key) ? 1 : 0));
        if (model.count(key)) {
          if (ms <= 0) {
            model.erase(key);
          } else {
            model[key].deadline_ms = clock_.NowMs() + ms;
          }
        }
        break;
      }
      case 7:
        EXPECT_EQ(Run({"set", key, value}), kOk);
        model[key] = ModelValue{false, {}, value, 0};
        break;
      case 8: {
        const std::string reply = Run({"hincrby", key, field, "3"});
        if (is_string) {
          EXPECT_EQ(reply, Err(kWrongType));
          break;
        }
        ModelValue& m = model[key];
        auto it = m.fields.find(field);
        int64_t current = 0;
        if (it != m.fields.end() && !ParseInt64(it->second, &current)) {
          EXPECT_EQ(reply, Err("ERR hash value is not an integer"));
          if (m.fields.empty()) model.erase(key);
          break;
        }
        m.fields[field] = std::to_string(current + 3);
        EXPECT_EQ(reply, Int(current + 3));
        break;
      }
      case 9:
        if (pick(20) == 0) {
          // Sometimes with a durable point first, so that the filter removes
          // the fields of hashes ended so far.
          if (pick(2) == 0) {
            ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
          }
          ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
        } else if (pick(40) == 0) {
          Reopen();
        } else {
          clock_.AdvanceMs(pick(3));
        }
        break;
      case 10: {
        // RENAME / RENAMENX key to another key (or itself): value, fields and
        // deadline move; the destination's old value is replaced.
        const std::string& to = keys[pick(4)];
        const bool nx = pick(2) == 0;
        const std::string reply = Run({nx ? "renamenx" : "rename", key, to});
        if (!model.count(key)) {
          EXPECT_EQ(reply, Err("ERR no such key")) << step;
        } else if (to == key || (nx && model.count(to))) {
          EXPECT_EQ(reply, nx ? Int(0) : std::string(kOk)) << step;
        } else {
          EXPECT_EQ(reply, nx ? Int(1) : std::string(kOk)) << step;
          model[to] = model[key];
          model.erase(key);
        }
        break;
      }
    }
    expire_model();
    // Compare every key.
    for (const std::string& k : keys) {
      auto it = model.find(k);
      if (it == model.end() || !it->second.is_hash) {
        const std::string hlen = Run({"hlen", k});
        if (it == model.end()) {
          ASSERT_EQ(hlen, Int(0)) << "step " << step << " key " << k;
          ASSERT_EQ(Run({"exists", k}), Int(0)) << step;
        } else {
          ASSERT_EQ(Run({"get", k}), Bulk(it->second.string_value)) << step;
        }
        continue;
      }
      const auto items = Items(Run({"hgetall", k}));
      std::map<std::string, std::string> actual;
      for (size_t i = 0; i + 1 < items.size(); i += 2) actual[items[i]] = items[i + 1];
      ASSERT_EQ(actual, it->second.fields) << "step " << step << " key " << k;
      ASSERT_FALSE(actual.empty());
      ASSERT_EQ(Run({"hlen", k}), Int(static_cast<int64_t>(it->second.fields.size()))) << step;
      ASSERT_EQ(Run({"type", k}), "+hash\r\n") << step;
    }
  }
  // Expired hashes deleted, every end durable: after a full compaction only
  // live hashes have fields stored.
  uint64_t swept = 0;
  ASSERT_TRUE(SweepExpired(keyspace_.get(), clock_.NowMs(), 1000, &swept).ok());
  ASSERT_TRUE(keyspace_->SyncIfDirty().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  for (const auto& [owner, stored] : StoredFields()) {
    ASSERT_TRUE(model.count(owner.first)) << owner.first;
    EXPECT_EQ(VersionOf(owner.first), owner.second);
    EXPECT_EQ(stored.size(), model[owner.first].fields.size());
  }
}

}  // namespace
}  // namespace lsmkv::server
