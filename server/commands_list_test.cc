// List commands in process (command_test_fixture.h): replies byte for byte
// as Redis 7.0 sends them (checked against redis-server 7.0.15), the limits
// lsmkv adds, and a randomized comparison with a std::deque model.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "server/collection.h"
#include "server/command_test_fixture.h"
#include "util/random.h"

namespace lsmkv::server {
namespace {

const char kWrongType[] = "WRONGTYPE Operation against a key holding the wrong kind of value";

std::string Array(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& item : items) out += item;
  return out;
}
std::string Bulks(const std::deque<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& item : items) out += Bulk(item);
  return out;
}

// The list element keys of user_key (any version) stored in the engine.
size_t StoredElements(DB* db, std::string_view user_key) {
  ReadOptions options;
  options.lower_bound = std::string(1, kListElementPrefix);
  options.upper_bound = std::string(1, kListElementPrefix + 1);
  size_t n = 0;
  auto it = db->NewIterator(options);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ElementKey element;
    EXPECT_TRUE(DecodeElementKey(it->key(), &element));
    if (element.user_key == user_key) n++;
  }
  return n;
}

class ListTest : public CommandsTest {
 protected:
  // Runs args, keeping the last commands and replies for failure messages.
  std::string Run(Args args) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    std::string out = CommandsTest::Run(std::move(args));
    trace_.push_back(line + "-> " + out);
    if (trace_.size() > 12) trace_.pop_front();
    return out;
  }
  std::string Run(ClientState* c, Args args) { return CommandsTest::Run(c, std::move(args)); }
  std::string Trace() const {
    std::string out;
    for (const auto& t : trace_) out += t + "\n";
    return out;
  }
  std::deque<std::string> trace_;
};

TEST_F(ListTest, PushPopAndLength) {
  EXPECT_EQ(Run({"rpush", "l", "a", "b"}), Int(2));
  EXPECT_EQ(Run({"lpush", "l", "x", "y"}), Int(4));  // y x a b
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"y", "x", "a", "b"}));
  EXPECT_EQ(Run({"llen", "l"}), Int(4));
  EXPECT_EQ(Run({"llen", "nx"}), Int(0));
  EXPECT_EQ(Run({"lpushx", "nx", "a"}), Int(0));
  EXPECT_EQ(Run({"rpushx", "nx", "a"}), Int(0));
  EXPECT_EQ(Run({"exists", "nx"}), Int(0));
  EXPECT_EQ(Run({"rpushx", "l", "c"}), Int(5));
  EXPECT_EQ(Run({"lpushx", "l", "z"}), Int(6));
  EXPECT_EQ(Run({"lpop", "l"}), Bulk("z"));
  EXPECT_EQ(Run({"rpop", "l"}), Bulk("c"));
  EXPECT_EQ(Run({"lpop", "l", "0"}), "*0\r\n");
  EXPECT_EQ(Run({"lpop", "l", "2"}), Array({Bulk("y"), Bulk("x")}));
  EXPECT_EQ(Run({"rpop", "l", "5"}), Array({Bulk("b"), Bulk("a")}));
  EXPECT_EQ(Run({"exists", "l"}), Int(0));
  EXPECT_EQ(Run({"lpop", "l"}), kNil);
  EXPECT_EQ(Run({"lpop", "l", "0"}), "*-1\r\n");
  EXPECT_EQ(Run({"rpop", "l", "3"}), "*-1\r\n");
  EXPECT_EQ(Run({"lpop", "l", "-1"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"lpop", "l", "x"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"lpop", "l", "1", "2"}), Err("ERR wrong number of arguments for 'lpop' command"));
  EXPECT_EQ(Run({"lpush", "l"}), Err("ERR wrong number of arguments for 'lpush' command"));
  EXPECT_EQ(StoredElements(db_.get(), "l"), 0u);
}

TEST_F(ListTest, Resp3NullReplies) {
  client_->protocol = 3;
  EXPECT_EQ(Run({"lpop", "nx"}), "_\r\n");
  EXPECT_EQ(Run({"lpop", "nx", "2"}), "_\r\n");
  EXPECT_EQ(Run({"lmpop", "1", "nx", "left"}), "_\r\n");
  EXPECT_EQ(Run({"lmove", "nx", "d", "left", "left"}), "_\r\n");
  EXPECT_EQ(Run({"lindex", "nx", "0"}), "_\r\n");
  EXPECT_EQ(Run({"lpos", "nx", "a"}), "_\r\n");
  EXPECT_EQ(Run({"lpos", "nx", "a", "count", "0"}), "*0\r\n");
}

TEST_F(ListTest, WrongType) {
  ASSERT_EQ(Run({"set", "s", "x"}), kOk);
  ASSERT_EQ(Run({"rpush", "l", "a"}), Int(1));
  for (const Args& args : std::vector<Args>{{"lpush", "s", "a"},
                                            {"rpushx", "s", "a"},
                                            {"lpop", "s"},
                                            {"rpop", "s", "1"},
                                            {"llen", "s"},
                                            {"lindex", "s", "x"},
                                            {"lset", "s", "x", "a"},
                                            {"lrange", "s", "0", "1"},
                                            {"ltrim", "s", "0", "1"},
                                            {"lrem", "s", "0", "a"},
                                            {"linsert", "s", "before", "a", "b"},
                                            {"lpos", "s", "a"},
                                            {"lmove", "s", "l", "left", "left"},
                                            {"lmove", "l", "s", "left", "left"},
                                            {"rpoplpush", "l", "s"},
                                            {"lmpop", "2", "nx", "s", "left"}}) {
    EXPECT_EQ(Run(args), Err(kWrongType)) << args[0];
  }
  EXPECT_EQ(Run({"get", "l"}), Err(kWrongType));
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"a"}));    // unchanged by the refusals
  EXPECT_EQ(Run({"lmove", "nx", "s", "left", "left"}), kNil);  // source checked first
  EXPECT_EQ(Run({"type", "l"}), "+list\r\n");
}

TEST_F(ListTest, IndexSetAndRange) {
  ASSERT_EQ(Run({"rpush", "l", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"lindex", "l", "0"}), Bulk("a"));
  EXPECT_EQ(Run({"lindex", "l", "-1"}), Bulk("c"));
  EXPECT_EQ(Run({"lindex", "l", "-3"}), Bulk("a"));
  EXPECT_EQ(Run({"lindex", "l", "-4"}), kNil);
  EXPECT_EQ(Run({"lindex", "l", "3"}), kNil);
  EXPECT_EQ(Run({"lindex", "l", "-9223372036854775808"}), kNil);
  EXPECT_EQ(Run({"lindex", "l", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"lset", "l", "1", "B"}), kOk);
  EXPECT_EQ(Run({"lset", "l", "-1", "C"}), kOk);
  EXPECT_EQ(Run({"lset", "l", "3", "x"}), Err("ERR index out of range"));
  EXPECT_EQ(Run({"lset", "l", "-4", "x"}), Err("ERR index out of range"));
  EXPECT_EQ(Run({"lset", "nx", "0", "x"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"lset", "l", "x", "x"}), Err("ERR value is not an integer or out of range"));
  // The key is looked up before the index is parsed, as in Redis.
  EXPECT_EQ(Run({"lset", "nx", "x", "x"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"lindex", "nx", "x"}), kNil);
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"a", "B", "C"}));
  EXPECT_EQ(Run({"lrange", "l", "-100", "100"}), Bulks({"a", "B", "C"}));
  EXPECT_EQ(Run({"lrange", "l", "1", "1"}), Bulks({"B"}));
  EXPECT_EQ(Run({"lrange", "l", "2", "1"}), "*0\r\n");
  EXPECT_EQ(Run({"lrange", "l", "5", "10"}), "*0\r\n");
  EXPECT_EQ(Run({"lrange", "l", "-2", "-1"}), Bulks({"B", "C"}));
  EXPECT_EQ(Run({"lrange", "l", "0", "-4"}), "*0\r\n");
  EXPECT_EQ(Run({"lrange", "nx", "0", "-1"}), "*0\r\n");
  EXPECT_EQ(Run({"lrange", "l", "a", "1"}), Err("ERR value is not an integer or out of range"));
}

TEST_F(ListTest, TrimRemoveInsert) {
  ASSERT_EQ(Run({"rpush", "l", "a", "b", "c", "d", "e"}), Int(5));
  EXPECT_EQ(Run({"ltrim", "l", "1", "-2"}), kOk);
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"b", "c", "d"}));
  EXPECT_EQ(StoredElements(db_.get(), "l"), 3u);
  EXPECT_EQ(Run({"ltrim", "nx", "0", "1"}), kOk);
  EXPECT_EQ(Run({"ltrim", "l", "x", "1"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"ltrim", "l", "2", "1"}), kOk);  // empty: the key goes
  EXPECT_EQ(Run({"exists", "l"}), Int(0));

  ASSERT_EQ(Run({"rpush", "r", "a", "x", "a", "y", "a", "a"}), Int(6));
  EXPECT_EQ(Run({"lrem", "r", "-2", "a"}), Int(2));
  EXPECT_EQ(Run({"lrange", "r", "0", "-1"}), Bulks({"a", "x", "a", "y"}));
  EXPECT_EQ(Run({"lrem", "r", "1", "a"}), Int(1));
  EXPECT_EQ(Run({"lrange", "r", "0", "-1"}), Bulks({"x", "a", "y"}));
  EXPECT_EQ(Run({"lrem", "r", "0", "zz"}), Int(0));
  EXPECT_EQ(Run({"lrem", "nx", "0", "a"}), Int(0));
  EXPECT_EQ(Run({"lrem", "r", "x", "a"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(StoredElements(db_.get(), "r"), 3u);

  EXPECT_EQ(Run({"linsert", "r", "before", "x", "0"}), Int(4));  // shifts the left side
  EXPECT_EQ(Run({"linsert", "r", "AFTER", "y", "9"}), Int(5));   // shifts nothing
  EXPECT_EQ(Run({"linsert", "r", "after", "a", "1"}), Int(6));
  EXPECT_EQ(Run({"lrange", "r", "0", "-1"}), Bulks({"0", "x", "a", "1", "y", "9"}));
  EXPECT_EQ(Run({"linsert", "r", "before", "zz", "1"}), Int(-1));
  EXPECT_EQ(Run({"linsert", "nx", "before", "a", "1"}), Int(0));
  EXPECT_EQ(Run({"linsert", "r", "middle", "a", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(StoredElements(db_.get(), "r"), 6u);
  EXPECT_EQ(Run({"lrem", "r", "0", "0"}), Int(1));
  EXPECT_EQ(Run({"lrem", "r", "0", "9"}), Int(1));
  EXPECT_EQ(Run({"lrange", "r", "0", "-1"}), Bulks({"x", "a", "1", "y"}));
}

TEST_F(ListTest, Position) {
  ASSERT_EQ(Run({"rpush", "l", "a", "b", "c", "a", "b", "a"}), Int(6));
  EXPECT_EQ(Run({"lpos", "l", "a"}), Int(0));
  EXPECT_EQ(Run({"lpos", "l", "b", "rank", "2"}), Int(4));
  EXPECT_EQ(Run({"lpos", "l", "a", "rank", "-1"}), Int(5));
  EXPECT_EQ(Run({"lpos", "l", "a", "rank", "-3"}), Int(0));
  EXPECT_EQ(Run({"lpos", "l", "a", "rank", "-4"}), kNil);
  EXPECT_EQ(Run({"lpos", "l", "a", "count", "0"}), Array({Int(0), Int(3), Int(5)}));
  EXPECT_EQ(Run({"lpos", "l", "a", "count", "2", "rank", "-1"}), Array({Int(5), Int(3)}));
  EXPECT_EQ(Run({"lpos", "l", "a", "count", "0", "maxlen", "4"}), Array({Int(0), Int(3)}));
  EXPECT_EQ(Run({"lpos", "l", "a", "rank", "-1", "maxlen", "2", "count", "0"}), Array({Int(5)}));
  EXPECT_EQ(Run({"lpos", "l", "c", "maxlen", "2"}), kNil);
  EXPECT_EQ(Run({"lpos", "l", "z", "count", "1"}), "*0\r\n");
  EXPECT_EQ(Run({"lpos", "nx", "a", "count", "0"}), "*0\r\n");
  EXPECT_EQ(Run({"lpos", "nx", "a"}), kNil);
  EXPECT_EQ(Run({"lpos", "l", "a", "rank", "0"}),
            Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
                "... or use negative to start from the end of the list"));
  EXPECT_EQ(Run({"lpos", "l", "a", "count", "-1"}), Err("ERR COUNT can't be negative"));
  EXPECT_EQ(Run({"lpos", "l", "a", "maxlen", "-1"}), Err("ERR MAXLEN can't be negative"));
  EXPECT_EQ(Run({"lpos", "l", "a", "foo", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"lpos", "l", "a", "rank"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"lpos", "l", "a", "rank", "x"}),
            Err("ERR value is not an integer or out of range"));
}

TEST_F(ListTest, MoveAndRotate) {
  ASSERT_EQ(Run({"rpush", "l", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"lmove", "l", "l", "left", "right"}), Bulk("a"));
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"b", "c", "a"}));
  EXPECT_EQ(Run({"lmove", "l", "l", "right", "left"}), Bulk("a"));
  EXPECT_EQ(Run({"lmove", "l", "l", "left", "left"}), Bulk("a"));
  EXPECT_EQ(Run({"lmove", "l", "l", "right", "right"}), Bulk("c"));
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"a", "b", "c"}));
  EXPECT_EQ(Run({"rpoplpush", "l", "d"}), Bulk("c"));
  EXPECT_EQ(Run({"lmove", "l", "d", "LEFT", "RIGHT"}), Bulk("a"));
  EXPECT_EQ(Run({"lrange", "d", "0", "-1"}), Bulks({"c", "a"}));
  EXPECT_EQ(Run({"lmove", "l", "d", "left", "left"}), Bulk("b"));
  EXPECT_EQ(Run({"exists", "l"}), Int(0));
  EXPECT_EQ(Run({"lmove", "l", "d", "left", "left"}), kNil);
  EXPECT_EQ(Run({"lmove", "d", "d", "up", "left"}), Err("ERR syntax error"));
  ASSERT_EQ(Run({"rpush", "one", "x"}), Int(1));
  EXPECT_EQ(Run({"rpoplpush", "one", "one"}), Bulk("x"));
  EXPECT_EQ(Run({"lrange", "one", "0", "-1"}), Bulks({"x"}));
  EXPECT_EQ(StoredElements(db_.get(), "d") + StoredElements(db_.get(), "one"), 4u);
}

TEST_F(ListTest, MultiPop) {
  ASSERT_EQ(Run({"rpush", "b", "1", "2", "3"}), Int(3));
  EXPECT_EQ(Run({"lmpop", "2", "a", "b", "left"}), Array({Bulk("b"), Bulks({"1"})}));
  EXPECT_EQ(Run({"lmpop", "2", "a", "b", "right", "count", "5"}),
            Array({Bulk("b"), Bulks({"3", "2"})}));
  EXPECT_EQ(Run({"lmpop", "2", "a", "b", "right"}), "*-1\r\n");
  EXPECT_EQ(Run({"lmpop", "0", "a", "left"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"lmpop", "-1", "a", "left"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"lmpop", "x", "a", "left"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"lmpop", "5", "a", "left"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"lmpop", "2", "a", "left"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"lmpop", "1", "a", "up"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"lmpop", "1", "a", "left", "count", "0"}),
            Err("ERR count should be greater than 0"));
  EXPECT_EQ(Run({"lmpop", "1", "a", "left", "count", "1", "count", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"lmpop", "1", "a", "left", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"lmpop", "1", "a"}), Err("ERR wrong number of arguments for 'lmpop' command"));
}

// BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH: immediate when a list has
// elements; else the client registers (blocking.h) and gets no reply until a
// push wakes it and the command runs again (what the connection does).
TEST_F(ListTest, BlockingCommands) {
  ASSERT_EQ(Run({"rpush", "l1", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"blpop", "l0", "l1", "0"}), "*2\r\n" + Bulk("l1") + Bulk("a"));
  EXPECT_EQ(Run({"brpop", "l0", "l1", "0"}), "*2\r\n" + Bulk("l1") + Bulk("c"));
  EXPECT_EQ(Run({"blmove", "l1", "d", "left", "right", "0"}), Bulk("b"));
  EXPECT_EQ(Run({"exists", "l1"}), Int(0));
  // A client that cannot block (no connection) gets the timeout's null.
  EXPECT_EQ(Run({"blpop", "l1", "0"}), "*-1\r\n");
  EXPECT_EQ(Run({"brpoplpush", "l1", "d", "0"}), kNil);  // like RPOPLPUSH where it cannot block
  EXPECT_EQ(Run({"blpop", "l1", "-1"}), Err("ERR timeout is negative"));
  EXPECT_EQ(Run({"blmpop", "x", "0", "l1", "left"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"blmpop", "x", "1", "l1", "left"}),
            Err("ERR timeout is not a float or out of range"));
  EXPECT_EQ(Run({"blmove", "l1", "d", "left", "up", "0"}), Err("ERR syntax error"));

  ClientState* blocked = NewClient();
  int wakes = 0;
  blocked->wake = [&wakes] { wakes++; };
  auto retry = [&](const Args& args) {
    blocked->block = {};
    blocked->block.retry = true;
    std::string out = Run(blocked, args);
    blocked->block.retry = false;
    return out;
  };
  EXPECT_EQ(Run(blocked, {"blpop", "q1", "q2", "2"}), "");
  EXPECT_TRUE(blocked->block.requested);
  EXPECT_EQ(blocked->block.deadline_ms, clock_.NowMs() + 2000);
  EXPECT_EQ(keyspace_->blocking().waiters(), 1u);
  EXPECT_EQ(Run({"rpush", "q2", "x", "y"}), Int(2));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(retry({"blpop", "q1", "q2", "2"}), "*2\r\n" + Bulk("q2") + Bulk("x"));
  // BLMOVE waits on its source only; at its timeout (connection) a null array.
  EXPECT_EQ(Run(blocked, {"blmove", "src", "q2", "right", "left", "0"}), "");
  EXPECT_TRUE(blocked->block.null_array);
  EXPECT_EQ(Run({"rpush", "q2", "z"}), Int(2));  // the destination: no wake-up
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(Run({"lpush", "src", "m"}), Int(1));
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(retry({"blmove", "src", "q2", "right", "left", "0"}), Bulk("m"));
  EXPECT_EQ(Run({"lrange", "q2", "0", "-1"}), "*3\r\n" + Bulk("m") + Bulk("y") + Bulk("z"));
  // A key that became another type keeps the client blocked on a retry.
  EXPECT_EQ(Run(blocked, {"blmpop", "0", "1", "k", "right", "count", "2"}), "");
  EXPECT_EQ(Run({"set", "k", "str"}), kOk);
  EXPECT_EQ(wakes, 3);
  EXPECT_EQ(retry({"blmpop", "0", "1", "k", "right", "count", "2"}), "");
  EXPECT_TRUE(blocked->block.requested);
  EXPECT_EQ(Run({"del", "k"}), Int(1));
  EXPECT_EQ(Run({"rpush", "k", "1", "2", "3"}), Int(3));
  EXPECT_EQ(retry({"blmpop", "0", "1", "k", "right", "count", "2"}),
            "*2\r\n" + Bulk("k") + "*2\r\n" + Bulk("3") + Bulk("2"));
  EXPECT_EQ(keyspace_->blocking().waiters(), 0u);
  // On a first run another type is WRONGTYPE, as in Redis.
  EXPECT_EQ(Run({"set", "s", "x"}), kOk);
  EXPECT_EQ(Run(blocked, {"blpop", "s", "0"}), Err(std::string(errors::kWrongType)));
  // Inside MULTI/EXEC nothing blocks.
  EXPECT_EQ(Run(blocked, {"multi"}), kOk);
  EXPECT_EQ(Run(blocked, {"blmove", "none", "d", "left", "left", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(blocked, {"blpop", "none", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(blocked, {"exec"}), "*2\r\n" + std::string(kNil) + "*-1\r\n");
  EXPECT_EQ(keyspace_->blocking().waiters(), 0u);
}

TEST_F(ListTest, TransactionsSeeTheirOwnElements) {
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"rpush", "t", "a", "b"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"lmove", "t", "t", "left", "right"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"linsert", "t", "before", "a", "c"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"lrange", "t", "0", "-1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"lmpop", "2", "u", "t", "right", "count", "2"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*5\r\n" + Int(2) + Bulk("a") + Int(3) + Bulks({"b", "c", "a"}) +
                               Array({Bulk("t"), Bulks({"a", "c"})}));
  EXPECT_EQ(Run({"lrange", "t", "0", "-1"}), Bulks({"b"}));
  EXPECT_EQ(Run({"command", "getkeys", "lmpop", "2", "u", "t", "left"}),
            Array({Bulk("u"), Bulk("t")}));
}

TEST_F(ListTest, LimitsRefuseWithoutChanging) {
  const std::string big(kMaxFieldBytes + 1, 'x');
  const std::string expected =
      "ERR list element is too large (lsmkv-server list elements are at "
      "most " +
      std::to_string(kMaxFieldBytes) + " bytes)";
  EXPECT_EQ(Run({"rpush", "l", "a", big}), Err(expected));
  EXPECT_EQ(Run({"exists", "l"}), Int(0));
  ASSERT_EQ(Run({"rpush", "l", "a"}), Int(1));
  EXPECT_EQ(Run({"lset", "l", "0", big}), Err(expected));
  EXPECT_EQ(Run({"linsert", "l", "after", "a", big}), Err(expected));
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"a"}));
}

// Writes a one-element list ["a"] at position head straight to the engine.
// With count > 1 the metadata claims elements that are not stored.
void WriteListAt(DB* db, const std::string& key, uint64_t version, uint64_t head,
                 uint64_t count = 1) {
  CollectionMeta meta;
  meta.version = version;
  meta.count = count;
  meta.head = head;
  std::string payload;
  EncodeCollectionMeta(ValueType::kList, meta, &payload);
  std::string value;
  EncodeValue(ValueType::kList, 0, payload, &value);
  ASSERT_TRUE(db->Put(WriteOptions(), DataKey(0, key), value).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), ListElementKey(0, key, version, head), "a").ok());
}

TEST_F(ListTest, PositionsNeverWrap) {
  const std::string no_room =
      "ERR lsmkv-server: list position space exhausted at this end; nothing was changed";
  WriteListAt(db_.get(), "low", 1000, 1);
  EXPECT_EQ(Run({"lpush", "low", "x", "y"}), Err(no_room));
  EXPECT_EQ(Run({"lpush", "low", "x"}), Int(2));  // head 0
  EXPECT_EQ(Run({"lpush", "low", "y"}), Err(no_room));
  EXPECT_EQ(Run({"linsert", "low", "before", "x", "z"}), Err(no_room));
  EXPECT_EQ(Run({"rpoplpush", "low", "low"}), Err(no_room));
  EXPECT_EQ(Run({"lmove", "low", "low", "right", "right"}), Bulk("a"));
  EXPECT_EQ(Run({"rpush", "low", "b"}), Int(3));
  EXPECT_EQ(Run({"lrange", "low", "0", "-1"}), Bulks({"x", "a", "b"}));

  WriteListAt(db_.get(), "high", 1001, ~uint64_t{0} - 2);  // its end is 2^64 - 2
  EXPECT_EQ(Run({"rpush", "high", "x", "y"}), Err(no_room));
  EXPECT_EQ(Run({"rpush", "high", "x"}), Int(2));
  EXPECT_EQ(Run({"rpushx", "high", "y"}), Err(no_room));
  EXPECT_EQ(Run({"lmove", "low", "high", "left", "right"}), Err(no_room));
  EXPECT_EQ(Run({"linsert", "high", "after", "a", "z"}), Err(no_room));
  EXPECT_EQ(Run({"lpush", "high", "w"}), Int(3));
  EXPECT_EQ(Run({"lrange", "high", "0", "-1"}), Bulks({"w", "a", "x"}));
  EXPECT_EQ(Run({"lrange", "low", "0", "-1"}), Bulks({"x", "a", "b"}));
}

TEST_F(ListTest, HugeRewritesAreRefusedBeforeTouchingAnything) {
  const std::string too_many =
      "ERR lsmkv-server: a list command may touch at most 1000000 elements and 64 MiB of "
      "them; nothing was changed";
  WriteListAt(db_.get(), "l", 1000, kListInitialHead, 3000000);
  EXPECT_EQ(Run({"ltrim", "l", "0", "0"}), Err(too_many));
  EXPECT_EQ(Run({"ltrim", "l", "1000001", "-1"}), Err(too_many));
  EXPECT_EQ(Run({"lpop", "l", "1000001"}), Err(too_many));
  EXPECT_EQ(Run({"lmpop", "1", "l", "right", "count", "2000000"}), Err(too_many));
  EXPECT_EQ(Run({"llen", "l"}), Int(3000000));
  // The metadata lies about the elements: reads say so instead of guessing.
  const std::string corrupt =
      "ERR Corruption: lsmkv-server: list metadata counts elements that are missing";
  EXPECT_EQ(Run({"lindex", "l", "1"}), Err(corrupt));
  EXPECT_EQ(Run({"lrange", "l", "1", "2"}), Err(corrupt));
  // Elements found before the missing one: the reply is the error alone.
  EXPECT_EQ(Run({"lrange", "l", "0", "2"}), Err(corrupt));
  EXPECT_EQ(Run({"lpop", "l", "2"}), Err(corrupt));
  EXPECT_EQ(Run({"lrange", "l", "0", "0"}), Bulks({"a"}));
  EXPECT_EQ(Run({"ltrim", "l", "0", "-1"}), kOk);  // removes nothing
  EXPECT_EQ(Run({"ltrim", "l", "5", "4"}), kOk);   // empty: O(1), the key goes
  EXPECT_EQ(Run({"exists", "l"}), Int(0));
}

// An inverted range is empty, in both directions, with pending element
// writes on either side of it (the forward walk over them once ran past its
// end when lower > upper).
TEST_F(ListTest, ElementScansOfAnInvertedRangeVisitNothing) {
  Txn txn(keyspace_.get(), clock_.NowMs(), /*overlay=*/true);
  for (const char* key : {"a", "b", "c", "d"}) txn.PutElement(key, "v");
  int visits = 0;
  auto count = [&](std::string_view, std::string_view) {
    visits++;
    return true;
  };
  EXPECT_TRUE(txn.ScanElements("c", "b", count).ok());
  EXPECT_TRUE(txn.ScanElementsReverse("c", "b", count).ok());
  EXPECT_TRUE(txn.ScanElements("b", "b", count).ok());
  EXPECT_EQ(visits, 0);
  EXPECT_TRUE(txn.ScanElements("b", "d", count).ok());
  EXPECT_EQ(visits, 2);  // b and c
}

// One Txn reused for many commits, as a connection's pipeline batch is: its
// pending element writes (kept in memory every commit releases) read back as
// a std::map model says, before and after each commit, through rounds that
// outgrow the first block of that memory (values of up to 3,000 bytes), and
// every commit leaves exactly the model in the engine.
TEST_F(ListTest, AReusedTxnsPendingElementWritesMatchAModel) {
  Txn txn(keyspace_.get(), clock_.NowMs(), /*overlay=*/true);
  std::map<std::string, std::string> committed;
  Random rnd(20261207);
  using Entries = std::vector<std::pair<std::string, std::string>>;
  for (int round = 0; round < 40; round++) {
    std::map<std::string, std::optional<std::string>> pending;
    const int writes = 1 + static_cast<int>(rnd.Uniform(round % 4 == 0 ? 400 : 20));
    for (int i = 0; i < writes; i++) {
      const std::string key = "e" + std::to_string(rnd.Uniform(60));
      if (rnd.OneIn(4)) {
        txn.DeleteElement(key);
        pending[key] = std::nullopt;
      } else {
        const std::string value(rnd.Uniform(3000), static_cast<char>('a' + i % 26));
        txn.PutElement(key, value);
        pending[key] = value;
      }
      if (rnd.OneIn(8)) {  // a read of any key sees the write, else the engine
        const std::string probe = "e" + std::to_string(rnd.Uniform(60));
        std::string got;
        bool found = false;
        ASSERT_TRUE(txn.GetElement(probe, &got, &found).ok());
        auto p = pending.find(probe);
        auto c = committed.find(probe);
        const bool want = p != pending.end() ? p->second.has_value() : c != committed.end();
        ASSERT_EQ(found, want) << probe;
        if (want) {
          ASSERT_EQ(got, p != pending.end() ? *p->second : c->second) << probe;
        }
      }
    }
    Entries seen;
    ASSERT_TRUE(txn.ScanElements("e", "f",
                                 [&](std::string_view k, std::string_view v) {
                                   seen.emplace_back(k, v);
                                   return true;
                                 })
                    .ok());
    for (const auto& [key, value] : pending) {
      if (value.has_value()) {
        committed[key] = *value;
      } else {
        committed.erase(key);
      }
    }
    ASSERT_EQ(seen, (Entries(committed.begin(), committed.end())));
    ASSERT_TRUE(txn.Commit().ok());
    seen.clear();
    ASSERT_TRUE(txn.ScanElements("e", "f",
                                 [&](std::string_view k, std::string_view v) {
                                   seen.emplace_back(k, v);
                                   return true;
                                 })
                    .ok());
    ASSERT_EQ(seen, (Entries(committed.begin(), committed.end())));
  }
}

// LRANGE's reply stops growing once past client-output-buffer-limit (the
// connection then replaces it with the limit error and closes); its header
// counts the elements it holds.
TEST_F(ListTest, LargeRangesStopAtTheOutputLimit) {
  Args push = {"rpush", "l"};
  for (int i = 0; i < 2000; i++) push.push_back(std::string(1000, 'a' + i % 26));
  EXPECT_EQ(Run(push), Int(2000));
  EXPECT_GT(Run({"lrange", "l", "0", "-1"}).size(), 2000000u);
  ASSERT_EQ(config_.Set(*Config::Find("client-output-buffer-limit"), "normal 100000 0 0"), "");
  const std::string stopped = Run({"lrange", "l", "0", "-1"});
  EXPECT_GT(stopped.size(), 100000u);
  EXPECT_LT(stopped.size(), 110000u);
  // "*n\r\n" then n whole elements, n as many as fit the limit (and one more).
  const size_t header_end = stopped.find("\r\n");
  ASSERT_NE(header_end, std::string::npos);
  const int n = std::stoi(stopped.substr(1, header_end - 1));
  const std::string element = Bulk(std::string(1000, 'a'));
  EXPECT_EQ(stopped.size(), header_end + 2 + n * element.size());
  EXPECT_EQ(n, 100000 / static_cast<int>(element.size()) + 1);
  // Within the limit, nothing changes.
  EXPECT_EQ(Run({"lrange", "l", "0", "1"}),
            Bulks({std::string(1000, 'a'), std::string(1000, 'b')}));
}

TEST_F(ListTest, HugeByteCountsAreRefused) {
  const std::string too_many =
      "ERR lsmkv-server: a list command may touch at most 1000000 elements and 64 MiB of "
      "them; nothing was changed";
  ASSERT_EQ(Run({"rpush", "l", "first"}), Int(1));
  const std::string big(kMaxFieldBytes, 'x');
  for (int batch = 0; batch < 11; batch++) {
    Args args = {"rpush", "l"};
    for (int i = 0; i < 100; i++) args.push_back(big);
    ASSERT_EQ(Run(args), Int(1 + 100 * (batch + 1)));
  }
  EXPECT_EQ(Run({"lpop", "l", "1100"}), Err(too_many));                // 68.75 MiB to reply
  EXPECT_EQ(Run({"lrem", "l", "1", "first"}), Err(too_many));          // the tail to rewrite
  EXPECT_EQ(Run({"linsert", "l", "after", "first", "y"}), Int(1102));  // shifts one element
  EXPECT_EQ(Run({"llen", "l"}), Int(1102));
  EXPECT_EQ(Run({"lrange", "l", "0", "1"}), Bulks({"first", "y"}));
}

TEST_F(ListTest, ElementsSurviveReopenAndExpire) {
  ASSERT_EQ(Run({"rpush", "l", "a", "b"}), Int(2));
  ASSERT_EQ(Run({"lpush", "l", "z"}), Int(3));
  Reopen();
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"z", "a", "b"}));
  EXPECT_EQ(Run({"pexpire", "l", "10"}), Int(1));
  EXPECT_EQ(Run({"rpush", "l", "c"}), Int(4));
  EXPECT_EQ(Run({"pttl", "l"}), Int(10));  // pushes keep the deadline
  clock_.AdvanceMs(10);
  EXPECT_EQ(Run({"llen", "l"}), Int(0));
  EXPECT_EQ(Run({"lpush", "l", "n"}), Int(1));  // a new list, not the expired one
  EXPECT_EQ(Run({"lrange", "l", "0", "-1"}), Bulks({"n"}));
  EXPECT_EQ(Run({"pttl", "l"}), Int(-1));
}

TEST_F(ListTest, MatchesModel) {
  std::map<std::string, std::deque<std::string>> model;
  std::map<std::string, int64_t> deadlines;
  std::mt19937 rng(20241204);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> keys = {"k0", "k1", "k2"};
  const std::vector<std::string> values = {"a", "b", "c", ""};
  auto expire_model = [&] {
    for (auto it = deadlines.begin(); it != deadlines.end();) {
      if (clock_.NowMs() >= it->second) {
        model.erase(it->first);
        it = deadlines.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto drop_if_empty = [&](const std::string& key) {
    if (model.count(key) && model[key].empty()) {
      model.erase(key);
      deadlines.erase(key);
    }
  };
  auto norm = [](int64_t i, size_t n) { return i < 0 ? i + static_cast<int64_t>(n) : i; };
  for (int step = 0; step < 1500; step++) {
    expire_model();
    const std::string& key = keys[pick(3)];
    const std::string& key2 = keys[pick(3)];
    const std::string& v = values[pick(4)];
    const int64_t i1 = pick(9) - 4;
    const int64_t i2 = pick(9) - 4;
    std::deque<std::string>& l = model[key];  // erased again below if still empty
    const size_t n = l.size();
    switch (pick(16)) {
      case 0:
      case 1: {
        const std::string w = step % 5 == 0 ? v + "!" : values[pick(4)];
        EXPECT_EQ(Run({"lpush", key, v, w}), Int(static_cast<int64_t>(n + 2))) << step;
        l.push_front(v);
        l.push_front(w);
        break;
      }
      case 2:
      case 3:
        EXPECT_EQ(Run({"rpush", key, v, "a"}), Int(static_cast<int64_t>(n + 2))) << step;
        l.push_back(v);
        l.push_back("a");
        break;
      case 4: {
        const bool left = pick(2) == 0;
        const int count = pick(4);
        std::deque<std::string> popped;
        for (int i = 0; i < count && !l.empty(); i++) {
          popped.push_back(left ? l.front() : l.back());
          if (left) {
            l.pop_front();
          } else {
            l.pop_back();
          }
        }
        EXPECT_EQ(Run({left ? "lpop" : "rpop", key, std::to_string(count)}),
                  n == 0 ? "*-1\r\n" : Bulks(popped))
            << step;
        break;
      }
      case 5: {
        const int64_t at = norm(i1, n);
        EXPECT_EQ(Run({"lindex", key, std::to_string(i1)}),
                  at >= 0 && at < static_cast<int64_t>(n) ? Bulk(l[at]) : kNil)
            << step;
        break;
      }
      case 6: {
        const int64_t at = norm(i1, n);
        std::string expected = kOk;
        if (n == 0) {
          expected = Err("ERR no such key");
        } else if (at < 0 || at >= static_cast<int64_t>(n)) {
          expected = Err("ERR index out of range");
        } else {
          l[at] = v;
        }
        EXPECT_EQ(Run({"lset", key, std::to_string(i1), v}), expected) << step;
        break;
      }
      case 7:
      case 8: {
        int64_t start = std::max<int64_t>(norm(i1, n), 0);
        int64_t stop = std::min<int64_t>(norm(i2, n), static_cast<int64_t>(n) - 1);
        std::deque<std::string> expected;
        for (int64_t i = start; i <= stop; i++) expected.push_back(l[i]);
        const bool trim = pick(2) == 0;
        if (trim) {
          EXPECT_EQ(Run({"ltrim", key, std::to_string(i1), std::to_string(i2)}), kOk) << step;
          l = expected;
        } else {
          EXPECT_EQ(Run({"lrange", key, std::to_string(i1), std::to_string(i2)}), Bulks(expected))
              << step;
        }
        break;
      }
      case 9: {
        const int64_t count = pick(5) - 2;
        int64_t removed = 0;
        if (count >= 0) {
          for (auto it = l.begin(); it != l.end();) {
            if (*it == v && (count == 0 || removed < count)) {
              it = l.erase(it);
              removed++;
            } else {
              ++it;
            }
          }
        } else {
          for (int64_t i = static_cast<int64_t>(l.size()) - 1; i >= 0; i--) {
            if (l[i] == v && removed < -count) {
              l.erase(l.begin() + i);
              removed++;
            }
          }
        }
        EXPECT_EQ(Run({"lrem", key, std::to_string(count), v}), Int(removed)) << step;
        break;
      }
      case 10: {
        const bool after = pick(2) == 0;
        const std::string& pivot = values[pick(4)];
        int64_t expected = n == 0 ? 0 : -1;
        auto it = std::find(l.begin(), l.end(), pivot);
        if (it != l.end()) {
          l.insert(after ? it + 1 : it, v);
          expected = static_cast<int64_t>(l.size());
        }
        EXPECT_EQ(Run({"linsert", key, after ? "after" : "before", pivot, v}), Int(expected))
            << step;
        break;
      }
      case 11: {
        const int64_t rank = pick(2) == 0 ? 1 + pick(2) : -1 - pick(2);
        const size_t want = static_cast<size_t>(pick(3));    // 0: all
        const size_t maxlen = static_cast<size_t>(pick(4));  // 0: the whole list
        const size_t window = maxlen == 0 ? n : std::min(n, maxlen);
        std::string body;
        size_t matches = 0;
        int64_t skipped = 0;
        for (size_t j = 0; j < window && (want == 0 || matches < want); j++) {
          const size_t i = rank > 0 ? j : n - 1 - j;
          if (l[i] != v) continue;
          if (skipped++ < std::abs(rank) - 1) continue;
          body += Int(static_cast<int64_t>(i));
          matches++;
        }
        EXPECT_EQ(Run({"lpos", key, v, "rank", std::to_string(rank), "count", std::to_string(want),
                       "maxlen", std::to_string(maxlen)}),
                  "*" + std::to_string(matches) + "\r\n" + body)
            << step;
        break;
      }
      case 12: {
        const bool from_left = pick(2) == 0;
        const bool to_left = pick(2) == 0;
        std::string expected = kNil;
        if (n > 0) {
          std::string e = from_left ? l.front() : l.back();
          if (from_left) {
            l.pop_front();
          } else {
            l.pop_back();
          }
          std::deque<std::string>& d = model[key2];
          if (to_left) {
            d.push_front(e);
          } else {
            d.push_back(e);
          }
          expected = Bulk(e);
        }
        EXPECT_EQ(
            Run({"lmove", key, key2, from_left ? "left" : "right", to_left ? "left" : "right"}),
            expected)
            << step;
        drop_if_empty(key2);
        break;
      }
      case 13: {
        const int count = 1 + pick(3);
        std::string expected = "*-1\r\n";
        for (const std::string& k : {key, key2}) {
          auto found = model.find(k);
          if (found == model.end() || found->second.empty()) continue;
          std::deque<std::string> popped;
          for (int i = 0; i < count && !found->second.empty(); i++) {
            popped.push_back(found->second.front());
            found->second.pop_front();
          }
          expected = "*2\r\n" + Bulk(k) + Bulks(popped);
          break;
        }
        EXPECT_EQ(Run({"lmpop", "2", key, key2, "left", "count", std::to_string(count)}), expected)
            << step;
        drop_if_empty(key2);
        break;
      }
      case 14:
        if (pick(2) == 0) {
          EXPECT_EQ(Run({"del", key}), Int(n > 0 ? 1 : 0)) << step;
          l.clear();
        } else if (n > 0) {
          EXPECT_EQ(Run({"pexpire", key, "5"}), Int(1)) << step;
          deadlines[key] = clock_.NowMs() + 5;
        }
        break;
      case 15:
        if (pick(3) == 0) {
          Reopen();
        } else {
          clock_.AdvanceMs(pick(4));
        }
        break;
    }
    drop_if_empty(key);
    expire_model();  // the clock may have moved
    if (model.count(key)) {
      EXPECT_EQ(Run({"llen", key}), Int(static_cast<int64_t>(model[key].size()))) << step;
    } else {
      EXPECT_EQ(Run({"exists", key}), Int(0)) << step;
    }
    if (HasFailure()) {
      ADD_FAILURE() << "step " << step << ", last commands:\n" << Trace();
      break;
    }
  }
  for (const auto& [key, l] : model) {
    EXPECT_EQ(Run({"lrange", key, "0", "-1"}), Bulks(l));
  }
}

}  // namespace
}  // namespace lsmkv::server
