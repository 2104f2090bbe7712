// Command semantics in process: the dispatcher and handlers over a real
// database in a temporary directory, replies compared byte for byte with
// what Redis 7.0 sends. Time is a ManualClock that tests move explicitly, so
// expiry is checked at exact millisecond values, without sleeping.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iterator>
#include <memory>
#include <set>
#include <thread>

#include "db/db_impl.h"
#include "server/command_test_fixture.h"
#include "server/expiry_sweeper.h"
#include "util/random.h"

namespace lsmkv::server {
namespace {

TEST(CollectNumKeysTest, ClampsToTheArguments) {
  auto keys = [](std::vector<std::string> args, size_t numkeys_index, size_t first) {
    std::vector<std::string_view> out;
    CollectNumKeys(args, numkeys_index, first, &out);
    return std::vector<std::string>(out.begin(), out.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(keys({"zunionstore", "d", "2", "a", "b", "weights", "1", "2"}, 2, 3), (V{"a", "b"}));
  EXPECT_EQ(keys({"lmpop", "5", "a", "b"}, 1, 2), (V{"a", "b"}));  // more than there are
  EXPECT_EQ(keys({"lmpop", "0", "a"}, 1, 2), V{});
  EXPECT_EQ(keys({"lmpop", "-1", "a"}, 1, 2), V{});
  EXPECT_EQ(keys({"lmpop", "x", "a"}, 1, 2), V{});
  EXPECT_EQ(keys({"lmpop", "99999999999999999999", "a"}, 1, 2), V{});
  EXPECT_EQ(keys({"lmpop"}, 1, 2), V{});
}

TEST_F(CommandsTest, CopyString) {
  ASSERT_EQ(Run({"set", "a", "1", "px", "5000"}), kOk);
  EXPECT_EQ(Run({"copy", "a", "b"}), Int(1));
  EXPECT_EQ(Run({"get", "b"}), Bulk("1"));
  EXPECT_EQ(Run({"pttl", "b"}), Int(5000));
  EXPECT_EQ(Run({"set", "a", "2"}), kOk);
  EXPECT_EQ(Run({"get", "b"}), Bulk("1"));
  EXPECT_EQ(Run({"copy", "a", "b"}), Int(0));
  EXPECT_EQ(Run({"copy", "a", "b", "REPLACE"}), Int(1));
  EXPECT_EQ(Run({"get", "b"}), Bulk("2"));
  EXPECT_EQ(Run({"pttl", "b"}), Int(-1));
  EXPECT_EQ(Run({"copy", "a"}), Err("ERR wrong number of arguments for 'copy' command"));
}

TEST_F(CommandsTest, UnknownCommandAndArity) {
  EXPECT_EQ(Run({"foo", "a", "b"}),
            Err("ERR unknown command 'foo', with args beginning with: 'a' 'b' "));
  EXPECT_EQ(Run({"foo"}), Err("ERR unknown command 'foo', with args beginning with: "));
  EXPECT_EQ(Run({"GET"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(Run({"get", "a", "b"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(Run({"ping", "a", "b"}), Err("ERR wrong number of arguments for 'ping' command"));
  EXPECT_EQ(Run({"mset", "a"}), Err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(Run({"msetnx", "a", "b", "c"}),
            Err("ERR wrong number of arguments for 'msetnx' command"));
  EXPECT_EQ(Run({"config", "set", "a"}),
            Err("ERR wrong number of arguments for 'config|set' command"));
  EXPECT_EQ(Run({"client", "foo"}), Err("ERR unknown subcommand 'foo'. Try CLIENT HELP."));
  EXPECT_EQ(Run({"command", "foo"}), Err("ERR unknown subcommand 'foo'. Try COMMAND HELP."));
}

TEST_F(CommandsTest, ConnectionCommands) {
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run({"ping", "hi"}), Bulk("hi"));
  EXPECT_EQ(Run({"echo", "x y"}), Bulk("x y"));
  EXPECT_EQ(Run({"select", "0"}), kOk);
  EXPECT_EQ(Run({"select", "15"}), kOk);
  EXPECT_EQ(Run({"select", "16"}), Err("ERR DB index is out of range"));  // databases 16
  EXPECT_EQ(Run({"select", "-1"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"select", "0"}), kOk);
  EXPECT_EQ(Run({"select", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"client", "getname"}), kNil);
  EXPECT_EQ(Run({"client", "setname", "a b"}),
            Err("ERR Client names cannot contain spaces, newlines or special characters."));
  EXPECT_EQ(Run({"client", "setname", "worker-1"}), kOk);
  EXPECT_EQ(Run({"client", "getname"}), Bulk("worker-1"));
  EXPECT_EQ(Run({"client", "id"}), Int(static_cast<int64_t>(client_->id)));
  EXPECT_EQ(Run({"hello", "4"}), Err("NOPROTO unsupported protocol version"));
  EXPECT_EQ(Run({"hello", "abc"}), Err("ERR Protocol version is not an integer or out of range"));
  EXPECT_EQ(Run({"hello", "3", "foo"}), Err("ERR Syntax error in HELLO option 'foo'"));
  EXPECT_EQ(Run({"auth", "foo"}),
            Err("ERR AUTH <password> called without any password configured for the default "
                "user. Are you sure your configuration is correct?"));
  EXPECT_EQ(Run({"auth", "a", "b"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(Run({"auth", "a", "b", "c"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"quit"}), kOk);
  EXPECT_TRUE(client_->close_after_reply);
}

TEST_F(CommandsTest, Resp3AfterHello) {
  const std::string hello = Run({"hello", "3"});
  EXPECT_EQ(hello.rfind("%7\r\n$6\r\nserver\r\n$5\r\nlsmkv\r\n$7\r\nversion\r\n", 0), 0u) << hello;
  EXPECT_NE(hello.find("$5\r\nproto\r\n:3\r\n"), std::string::npos);
  EXPECT_EQ(client_->protocol.load(), 3);
  EXPECT_EQ(Run({"get", "missing"}), "_\r\n");
  EXPECT_EQ(Run({"config", "get", "maxmemory"}), "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
  EXPECT_EQ(Run({"hello", "2"}).rfind("*14\r\n", 0), 0u);
  EXPECT_EQ(Run({"get", "missing"}), kNil);
}

TEST_F(CommandsTest, SetOptions) {
  EXPECT_EQ(Run({"set", "k", "v"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"set", "k", "v", "xx", "nx"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"set", "k", "v", "keepttl", "ex", "10"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"set", "k", "v", "ex"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"set", "k", "v", "ex", "0"}), Err("ERR invalid expire time in 'set' command"));
  EXPECT_EQ(Run({"set", "k", "v", "ex", "-1"}), Err("ERR invalid expire time in 'set' command"));
  EXPECT_EQ(Run({"set", "k", "v", "ex", "abc"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"set", "k", "v", "px", "9223372036854775807"}),
            Err("ERR invalid expire time in 'set' command"));
  EXPECT_EQ(Run({"set", "k", "v", "ex", "9223372036854775"}),
            Err("ERR invalid expire time in 'set' command"));
  EXPECT_EQ(Run({"set", "n", "v", "xx"}), kNil);
  EXPECT_EQ(Run({"exists", "n"}), Int(0));
  EXPECT_EQ(Run({"set", "k", "v2", "nx"}), kNil);
  EXPECT_EQ(Run({"set", "k", "v2", "xx", "get"}), Bulk("v"));
  EXPECT_EQ(Run({"set", "k", "v3", "nx", "get"}), Bulk("v2"));  // GET replies, NX stops the write
  EXPECT_EQ(Run({"get", "k"}), Bulk("v2"));
  EXPECT_EQ(Run({"set", "new", "v", "get"}), kNil);
  EXPECT_EQ(Run({"get", "new"}), Bulk("v"));
  EXPECT_EQ(Run({"set", "k", "v", "ex", "100"}), kOk);
  EXPECT_EQ(Run({"set", "k", "v4", "keepttl"}), kOk);
  EXPECT_EQ(Run({"ttl", "k"}), Int(100));
  EXPECT_EQ(Run({"set", "k", "v5"}), kOk);
  EXPECT_EQ(Run({"ttl", "k"}), Int(-1));
  EXPECT_EQ(Run({"set", "k", "v", "exat", "1"}), kOk);  // a deadline in the past deletes
  EXPECT_EQ(Run({"exists", "k"}), Int(0));
  EXPECT_EQ(Run({"set", "k", "v", "PXAT", std::to_string(clock_.NowMs() + 100000)}), kOk);
  EXPECT_EQ(Run({"ttl", "k"}), Int(100));
}

TEST_F(CommandsTest, SetVariants) {
  EXPECT_EQ(Run({"setnx", "a", "1"}), Int(1));
  EXPECT_EQ(Run({"setnx", "a", "2"}), Int(0));
  EXPECT_EQ(Run({"setex", "b", "0", "v"}), Err("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(Run({"psetex", "b", "-1", "v"}), Err("ERR invalid expire time in 'psetex' command"));
  EXPECT_EQ(Run({"setex", "b", "100", "v"}), kOk);
  EXPECT_EQ(Run({"ttl", "b"}), Int(100));
  EXPECT_EQ(Run({"psetex", "c", "100000", "v"}), kOk);
  EXPECT_EQ(Run({"ttl", "c"}), Int(100));
  EXPECT_EQ(Run({"getset", "a", "3"}), Bulk("1"));
  EXPECT_EQ(Run({"getset", "z", "3"}), kNil);
  EXPECT_EQ(Run({"getset", "b", "4"}), Bulk("v"));
  EXPECT_EQ(Run({"ttl", "b"}), Int(-1));  // GETSET clears the TTL
  EXPECT_EQ(Run({"getdel", "a"}), Bulk("3"));
  EXPECT_EQ(Run({"getdel", "a"}), kNil);
  EXPECT_EQ(Run({"set", "g", "v"}), kOk);
  EXPECT_EQ(Run({"getex", "g", "persist", "ex", "10"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"getex", "g", "ex", "0"}), Err("ERR invalid expire time in 'getex' command"));
  EXPECT_EQ(Run({"getex", "g", "ex", "50"}), Bulk("v"));
  EXPECT_EQ(Run({"ttl", "g"}), Int(50));
  EXPECT_EQ(Run({"getex", "g", "persist"}), Bulk("v"));
  EXPECT_EQ(Run({"ttl", "g"}), Int(-1));
  EXPECT_EQ(Run({"getex", "nokey", "ex", "10"}), kNil);
  EXPECT_EQ(Run({"getex", "g", "exat", "1"}), Bulk("v"));
  EXPECT_EQ(Run({"exists", "g"}), Int(0));
}

TEST_F(CommandsTest, MultiKey) {
  EXPECT_EQ(Run({"mset", "a", "1", "b", "2", "a", "3"}), kOk);
  EXPECT_EQ(Run({"mget", "a", "b", "c"}), "*3\r\n" + Bulk("3") + Bulk("2") + kNil);
  EXPECT_EQ(Run({"msetnx", "x1", "1", "a", "2"}), Int(0));
  EXPECT_EQ(Run({"exists", "x1"}), Int(0));
  EXPECT_EQ(Run({"msetnx", "x1", "1", "x2", "2"}), Int(1));
  EXPECT_EQ(Run({"exists", "x1", "x1", "x2", "nokey"}), Int(3));
  EXPECT_EQ(Run({"del", "a", "a", "nokey"}), Int(1));
  EXPECT_EQ(Run({"unlink", "b", "x1"}), Int(2));
  EXPECT_EQ(Run({"type", "x2"}), "+string\r\n");
  EXPECT_EQ(Run({"type", "nokey"}), "+none\r\n");
}

TEST_F(CommandsTest, Counters) {
  EXPECT_EQ(Run({"incr", "n"}), Int(1));
  EXPECT_EQ(Run({"incrby", "n", "10"}), Int(11));
  EXPECT_EQ(Run({"decr", "n"}), Int(10));
  EXPECT_EQ(Run({"decrby", "n", "20"}), Int(-10));
  EXPECT_EQ(Run({"incrby", "n", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"decrby", "n", "-9223372036854775808"}), Err("ERR decrement would overflow"));
  EXPECT_EQ(Run({"set", "n", "9223372036854775807"}), kOk);
  EXPECT_EQ(Run({"incr", "n"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"set", "n", "-9223372036854775808"}), kOk);
  EXPECT_EQ(Run({"decr", "n"}), Err("ERR increment or decrement would overflow"));
  for (const char* bad : {" 1", "01", "+1", "-0", "1.5", "abc", ""}) {
    EXPECT_EQ(Run({"set", "n", bad}), kOk);
    EXPECT_EQ(Run({"incr", "n"}), Err("ERR value is not an integer or out of range")) << bad;
  }
  EXPECT_EQ(Run({"set", "t", "5", "ex", "100"}), kOk);
  EXPECT_EQ(Run({"incr", "t"}), Int(6));
  EXPECT_EQ(Run({"ttl", "t"}), Int(100));  // INCR keeps the TTL
}

TEST_F(CommandsTest, IncrByFloat) {
  EXPECT_EQ(Run({"set", "f", "10.5"}), kOk);
  EXPECT_EQ(Run({"incrbyfloat", "f", "0.1"}), Bulk("10.6"));
  EXPECT_EQ(Run({"incrbyfloat", "f", "abc"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"incrbyfloat", "f", "inf"}), Err("ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(Run({"incrbyfloat", "f", " 1"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"set", "f", "1e3"}), kOk);
  EXPECT_EQ(Run({"incrbyfloat", "f", "1"}), Bulk("1001"));
  EXPECT_EQ(Run({"incrbyfloat", "f", ".5"}), Bulk("1001.5"));
  EXPECT_EQ(Run({"incrbyfloat", "f", "0x10"}), Bulk("1017.5"));
  EXPECT_EQ(Run({"set", "f", "abc"}), kOk);
  EXPECT_EQ(Run({"incrbyfloat", "f", "1"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"incrbyfloat", "new", "-2.5"}), Bulk("-2.5"));
  EXPECT_EQ(Run({"set", "f", "3"}), kOk);
  EXPECT_EQ(Run({"incrbyfloat", "f", "0.0"}), Bulk("3"));
}

TEST_F(CommandsTest, StringEditing) {
  EXPECT_EQ(Run({"append", "s", "Hello"}), Int(5));
  EXPECT_EQ(Run({"append", "s", " World"}), Int(11));
  EXPECT_EQ(Run({"strlen", "s"}), Int(11));
  EXPECT_EQ(Run({"strlen", "nokey"}), Int(0));
  EXPECT_EQ(Run({"getrange", "s", "0", "3"}), Bulk("Hell"));
  EXPECT_EQ(Run({"getrange", "s", "-3", "-1"}), Bulk("rld"));
  EXPECT_EQ(Run({"getrange", "s", "0", "-100"}), Bulk("H"));
  EXPECT_EQ(Run({"getrange", "s", "5", "3"}), Bulk(""));
  EXPECT_EQ(Run({"getrange", "s", "-100", "-50"}), Bulk("H"));
  EXPECT_EQ(Run({"getrange", "s", "100", "200"}), Bulk(""));
  EXPECT_EQ(Run({"getrange", "s", "a", "b"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"getrange", "nokey", "0", "-1"}), Bulk(""));
  EXPECT_EQ(Run({"substr", "s", "0", "0"}), Bulk("H"));
  EXPECT_EQ(Run({"setrange", "s", "20", "xyz"}), Int(23));
  EXPECT_EQ(Run({"get", "s"}), Bulk(std::string("Hello World") + std::string(9, '\0') + "xyz"));
  EXPECT_EQ(Run({"setrange", "s", "0", "J"}), Int(23));
  EXPECT_EQ(Run({"getrange", "s", "0", "4"}), Bulk("Jello"));
  EXPECT_EQ(Run({"setrange", "s", "-1", "a"}), Err("ERR offset is out of range"));
  EXPECT_EQ(Run({"setrange", "s", "536870912", "a"}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(Run({"setrange", "nokey", "0", ""}), Int(0));
  EXPECT_EQ(Run({"exists", "nokey"}), Int(0));
  EXPECT_EQ(Run({"setrange", "s", "0", ""}), Int(23));
  EXPECT_EQ(Run({"config", "set", "proto-max-bulk-len", "1mb"}), kOk);
  EXPECT_EQ(Run({"append", "s", std::string(1024 * 1024, 'a')}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
}

TEST_F(CommandsTest, ExpireFamily) {
  EXPECT_EQ(Run({"set", "k", "v"}), kOk);
  EXPECT_EQ(Run({"ttl", "k"}), Int(-1));
  EXPECT_EQ(Run({"ttl", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"pttl", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"expire", "nokey", "10"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"expire", "k", "10", "nx", "xx"}),
            Err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"expire", "k", "10", "gt", "lt"}),
            Err("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"expire", "k", "10", "foo"}), Err("ERR Unsupported option foo"));
  EXPECT_EQ(Run({"expire", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(Run({"pexpire", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'pexpire' command"));
  EXPECT_EQ(Run({"expireat", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'expireat' command"));
  EXPECT_EQ(Run({"expire", "k", "100", "gt"}), Int(0));  // no TTL counts as infinite
  EXPECT_EQ(Run({"expire", "k", "100", "lt"}), Int(1));
  EXPECT_EQ(Run({"expire", "k", "100", "nx"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "100", "xx"}), Int(1));
  EXPECT_EQ(Run({"expire", "k", "50", "gt"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "200", "gt"}), Int(1));
  EXPECT_EQ(Run({"ttl", "k"}), Int(200));
  EXPECT_EQ(Run({"pexpire", "k", "2000"}), Int(1));
  EXPECT_EQ(Run({"pttl", "k"}), Int(2000));
  clock_.AdvanceMs(1);
  EXPECT_EQ(Run({"ttl", "k"}), Int(2));  // 1999 ms rounds to 2 s, like Redis
  const int64_t pttl = std::stoll(Run({"pttl", "k"}).substr(1));
  EXPECT_LE(pttl, 2000);
  EXPECT_GT(pttl, 1000);
  EXPECT_EQ(pttl, 1999);  // exact: the clock moved by 1 ms
  clock_.AdvanceMs(1498);
  EXPECT_EQ(Run({"ttl", "k"}), Int(1));  // 501 ms rounds to 1 s
  clock_.AdvanceMs(1);
  EXPECT_EQ(Run({"ttl", "k"}), Int(1));  // 500 ms rounds up
  clock_.AdvanceMs(1);
  EXPECT_EQ(Run({"ttl", "k"}), Int(0));  // 499 ms rounds down
  EXPECT_EQ(Run({"pttl", "k"}), Int(499));
  const int64_t deadline = clock_.NowMs() + 100000;
  EXPECT_EQ(Run({"pexpireat", "k", std::to_string(deadline)}), Int(1));
  EXPECT_EQ(Run({"pexpiretime", "k"}), Int(deadline));
  EXPECT_EQ(Run({"expiretime", "k"}), Int(deadline / 1000));
  EXPECT_EQ(Run({"persist", "k"}), Int(1));
  EXPECT_EQ(Run({"persist", "k"}), Int(0));
  EXPECT_EQ(Run({"persist", "nokey"}), Int(0));
  EXPECT_EQ(Run({"expire", "k", "-1"}), Int(1));  // a deadline in the past deletes
  EXPECT_EQ(Run({"exists", "k"}), Int(0));
  EXPECT_EQ(Run({"set", "k", "v"}), kOk);
  EXPECT_EQ(Run({"expireat", "k", "1"}), Int(1));
  EXPECT_EQ(Run({"get", "k"}), kNil);
}

TEST_F(CommandsTest, ExpiryToTheMillisecond) {
  EXPECT_EQ(Run({"set", "k", "v", "px", "100"}), kOk);
  clock_.AdvanceMs(50);
  EXPECT_EQ(Run({"get", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"pttl", "k"}), Int(50));
  clock_.AdvanceMs(49);  // 1 ms before the deadline: still there
  EXPECT_EQ(Run({"get", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"pttl", "k"}), Int(1));
  clock_.AdvanceMs(1);  // at the deadline: gone
  EXPECT_EQ(Run({"get", "k"}), kNil);
  EXPECT_EQ(Run({"pttl", "k"}), Int(-2));
  clock_.AdvanceMs(50);  // 150 ms after the SET
  EXPECT_EQ(Run({"get", "k"}), kNil);
  EXPECT_EQ(Run({"exists", "k"}), Int(0));
  EXPECT_EQ(Run({"ttl", "k"}), Int(-2));
  EXPECT_EQ(Run({"dbsize"}), Int(0));
  EXPECT_EQ(Run({"keys", "*"}), "*0\r\n");
  // An expired key is absent for writes too.
  EXPECT_EQ(Run({"set", "k", "again", "nx"}), kOk);
}

TEST_F(CommandsTest, SweepRemovesExpiredKeysAndHints) {
  for (int i = 0; i < 50; i++) {
    EXPECT_EQ(Run({"set", "gone" + std::to_string(i), "v", "px", "1"}), kOk);
  }
  EXPECT_EQ(Run({"set", "stays", "v", "px", "100000"}), kOk);
  EXPECT_EQ(Run({"set", "rewritten", "v", "px", "1"}), kOk);
  EXPECT_EQ(Run({"set", "rewritten", "v2"}), kOk);  // its hint is now stale
  uint64_t removed = 0;
  // Before the deadline the sweep removes nothing (and keeps every hint).
  ASSERT_TRUE(SweepExpired(keyspace_.get(), clock_.NowMs(), 1000, &removed).ok());
  EXPECT_EQ(removed, 0u);
  clock_.AdvanceMs(5);
  ASSERT_TRUE(SweepExpired(keyspace_.get(), clock_.NowMs(), 1000, &removed).ok());
  EXPECT_EQ(removed, 50u);
  std::string value;
  EXPECT_TRUE(db_->Get(ReadOptions(), DataKey(0, "gone7"), &value).IsNotFound());
  EXPECT_EQ(Run({"get", "rewritten"}), Bulk("v2"));
  EXPECT_EQ(Run({"ttl", "stays"}), Int(100));
  // Only the live key's hint remains.
  ReadOptions options;
  options.lower_bound = std::string(1, kExpiryHintPrefix);
  options.upper_bound = std::string(1, kExpiryHintPrefix + 1);
  auto it = db_->NewIterator(options);
  int hints = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) hints++;
  EXPECT_EQ(hints, 1);
  EXPECT_EQ(keyspace_->expired_keys.load(), 50u);
}

TEST_F(CommandsTest, CompactionFilterDropsExpiredValues) {
  EXPECT_EQ(Run({"set", "short", "v", "px", "1"}), kOk);
  EXPECT_EQ(Run({"set", "long", "v", "px", "1000000"}), kOk);
  clock_.AdvanceMs(5);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::string value;
  EXPECT_TRUE(db_->Get(ReadOptions(), DataKey(0, "short"), &value).IsNotFound())
      << "the engine did not apply Options::compaction_filter";
  EXPECT_TRUE(db_->Get(ReadOptions(), DataKey(0, "long"), &value).ok());
  EXPECT_GE(filter_->removed(), 1u);
}

TEST_F(CommandsTest, ScanVisitsEveryKeyOnce) {
  std::set<std::string> expected;
  for (int i = 0; i < 500; i++) {
    const std::string key = "key:" + std::to_string(i);
    EXPECT_EQ(Run({"set", key, "v"}), kOk);
    expected.insert(key);
  }
  EXPECT_EQ(Run({"set", "other", "v"}), kOk);
  EXPECT_EQ(Run({"set", "expired", "v", "px", "1"}), kOk);
  clock_.AdvanceMs(3);
  std::set<std::string> seen;
  std::string cursor = "0";
  int rounds = 0;
  do {
    std::string out;
    Reply reply(&out, 2);
    Args args = {"scan", cursor, "match", "key:*", "count", "37"};
    ExecuteCommand(context_, *client_, args, reply);
    // *2 $<n> cursor *<m> keys...
    ASSERT_EQ(out.rfind("*2\r\n$", 0), 0u) << out;
    size_t pos = out.find("\r\n", 4) + 2;
    const size_t end = out.find("\r\n", pos);
    cursor = out.substr(pos, end - pos);
    pos = end + 2;
    ASSERT_EQ(out[pos], '*');
    const size_t count_end = out.find("\r\n", pos);
    const int n = std::stoi(out.substr(pos + 1, count_end - pos - 1));
    pos = count_end + 2;
    for (int i = 0; i < n; i++) {
      const size_t len_end = out.find("\r\n", pos);
      const size_t len = std::stoul(out.substr(pos + 1, len_end - pos - 1));
      const std::string key = out.substr(len_end + 2, len);
      EXPECT_TRUE(seen.insert(key).second) << "returned twice: " << key;
      pos = len_end + 2 + len + 2;
    }
    ASSERT_LT(++rounds, 100);
  } while (cursor != "0");
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(Run({"scan", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"scan", "123456789"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"scan", "0", "count", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"scan", "0", "match"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"scan", "0", "foo", "bar"}), Err("ERR syntax error"));
  EXPECT_EQ(
      Run({"scan", "0", "type", "list", "count", "10000"}).rfind("*2\r\n$1\r\n0\r\n*0\r\n", 0), 0u);
  EXPECT_EQ(Run({"dbsize"}), Int(501));
  EXPECT_EQ(Run({"keys", "oth?r"}), "*1\r\n" + Bulk("other"));
  const std::string random = Run({"randomkey"});
  ASSERT_EQ(random[0], '$');
  const std::string picked = test::BulkValue(random);
  EXPECT_TRUE(expected.count(picked) || picked == "other") << picked;
}

TEST_F(CommandsTest, FlushDb) {
  EXPECT_EQ(Run({"mset", "a", "1", "b", "2"}), kOk);
  EXPECT_EQ(Run({"set", "c", "3", "ex", "100"}), kOk);
  EXPECT_EQ(Run({"flushdb", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"flushdb"}), kOk);
  EXPECT_EQ(Run({"dbsize"}), Int(0));
  EXPECT_EQ(Run({"randomkey"}), kNil);
  EXPECT_EQ(Run({"set", "a", "1"}), kOk);
  EXPECT_EQ(Run({"flushall", "async"}), kOk);
  EXPECT_EQ(Run({"get", "a"}), kNil);
}

// Every engine key outside the server-state prefix ('m').
size_t KeyspaceEngineKeys(DB* db) {
  size_t n = 0;
  std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key()[0] != kMetaPrefix) n++;
  }
  EXPECT_TRUE(it->status().ok());
  return n;
}

uint64_t RangeTombstones(DB* db) {
  std::string value;
  EXPECT_TRUE(db->GetProperty("lsmkv.range-tombstones", &value));
  return std::stoull(value);
}

// FLUSHALL is one engine write of one range deletion per keyspace prefix:
// the same work for 10 keys as for 20,000 (counted in engine writes and
// range tombstones, not timed). Strings, deadlines (and their hints) and
// hash fields go; the server state ('m': the collection-version floor)
// stays; the cached DBSIZE follows; later writes are visible.
TEST_F(CommandsTest, FlushAllIsOneWriteWhateverTheKeyspaceHolds) {
  for (const int n : {10, 20000}) {
    SCOPED_TRACE(n);
    Args mset = {"mset"};
    Args hset = {"hset", "h"};
    for (int i = 0; i < n; i++) {
      mset.push_back("k" + std::to_string(i));
      mset.push_back("v");
      hset.push_back("f" + std::to_string(i));
      hset.push_back("v");
    }
    ASSERT_EQ(Run(mset), kOk);
    ASSERT_EQ(Run(hset), Int(n));
    ASSERT_EQ(Run({"set", "t", "v", "ex", "100"}), kOk);
    ASSERT_EQ(Run({"dbsize"}), Int(n + 2));  // cached from here
    const uint64_t writes = keyspace_->write_generation();
    const uint64_t tombstones = RangeTombstones(db_.get());
    EXPECT_EQ(Run({"flushall", n == 10 ? "sync" : "async"}), kOk);
    EXPECT_EQ(keyspace_->write_generation(), writes + 1);
    // One per prefix, in each case (database 0, the others).
    EXPECT_EQ(RangeTombstones(db_.get()), tombstones + 2 * std::size(kKeyspacePrefixes));
    EXPECT_TRUE(keyspace_->TakeReclaimRequest());
    EXPECT_FALSE(keyspace_->TakeReclaimRequest());
    EXPECT_EQ(Run({"dbsize"}), Int(0));
    EXPECT_EQ(Run({"exists", "k0", "h", "t"}), Int(0));
    EXPECT_EQ(Run({"hlen", "h"}), Int(0));
    EXPECT_EQ(KeyspaceEngineKeys(db_.get()), 0u);
    std::string floor;
    EXPECT_TRUE(db_->Get(ReadOptions(), "mcollection-version-floor", &floor).ok());
    // New writes after the flush are live, the hash's old fields stay gone.
    EXPECT_EQ(Run({"set", "k0", "new"}), kOk);
    EXPECT_EQ(Run({"hset", "h", "f1", "new"}), Int(1));
    EXPECT_EQ(Run({"get", "k0"}), Bulk("new"));
    EXPECT_EQ(Run({"hgetall", "h"}), "*2\r\n" + Bulk("f1") + Bulk("new"));
    EXPECT_EQ(Run({"dbsize"}), Int(2));
    EXPECT_EQ(Run({"flushdb"}), kOk);
  }
  EXPECT_EQ(Run({"flushall", "lazy"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"flushall", "sync", "async"}), Err("ERR syntax error"));
}

// The space comes back: after FLUSHALL and the memtable flush the
// background worker asks for (TakeReclaimRequest), the engine's own
// compactions for range deletions drop the data from the table files.
TEST_F(CommandsTest, FlushAllDataIsReclaimedFromDisk) {
  const std::string value(200, 'v');
  Args mset = {"mset"};
  Args hset = {"hset", "h"};
  for (int i = 0; i < 5000; i++) {
    mset.push_back("k" + std::to_string(i));
    mset.push_back(value);
    hset.push_back("f" + std::to_string(i));
    hset.push_back(value);
  }
  ASSERT_EQ(Run(mset), kOk);
  ASSERT_EQ(Run(hset), Int(5000));
  ASSERT_TRUE(db_->Flush().ok());
  const std::string bounds[] = {"h", "i", "k", "l"};
  const Range ranges[] = {Range{bounds[0], bounds[1]}, Range{bounds[2], bounds[3]}};
  uint64_t sizes[2] = {0, 0};
  ASSERT_TRUE(db_->GetApproximateSizes(ranges, 2, sizes).ok());
  EXPECT_GT(sizes[0], 500000u);
  EXPECT_GT(sizes[1], 500000u);

  ASSERT_EQ(Run({"flushall"}), kOk);
  ASSERT_TRUE(keyspace_->TakeReclaimRequest());
  ASSERT_TRUE(db_->Flush().ok());  // what the background worker does
  auto* impl = dynamic_cast<DBImpl*>(db_.get());
  ASSERT_NE(impl, nullptr);
  for (int i = 0; i < 100; i++) {
    ASSERT_TRUE(impl->TEST_WaitForBackgroundWork().ok());
    ASSERT_TRUE(db_->GetApproximateSizes(ranges, 2, sizes).ok());
    if (sizes[0] == 0 && sizes[1] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(sizes[0], 0u);
  EXPECT_EQ(sizes[1], 0u);
  EXPECT_EQ(RangeTombstones(db_.get()), 0u);  // retired with the data
  EXPECT_EQ(Run({"dbsize"}), Int(0));
}

// RENAME / RENAMENX of strings, as Redis 7.0 replies.
TEST_F(CommandsTest, RenameStrings) {
  EXPECT_EQ(Run({"rename", "nosuch", "b"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"rename", "nosuch", "nosuch"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"renamenx", "nosuch", "b"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"set", "a", "1", "px", "5000"}), kOk);
  EXPECT_EQ(Run({"rename", "a", "a"}), kOk);
  EXPECT_EQ(Run({"renamenx", "a", "a"}), Int(0));
  EXPECT_EQ(Run({"set", "b", "2"}), kOk);
  EXPECT_EQ(Run({"rename", "a", "b"}), kOk);
  EXPECT_EQ(Run({"get", "a"}), kNil);
  EXPECT_EQ(Run({"get", "b"}), Bulk("1"));
  EXPECT_EQ(Run({"pttl", "b"}), Int(5000));
  EXPECT_EQ(Run({"set", "c", "3"}), kOk);
  EXPECT_EQ(Run({"renamenx", "b", "c"}), Int(0));
  EXPECT_EQ(Run({"get", "b"}), Bulk("1"));
  EXPECT_EQ(Run({"renamenx", "c", "d"}), Int(1));
  EXPECT_EQ(Run({"get", "d"}), Bulk("3"));
  EXPECT_EQ(Run({"ttl", "d"}), Int(-1));
  // A key without a deadline replaces one with a deadline: none is left.
  EXPECT_EQ(Run({"rename", "d", "b"}), kOk);
  EXPECT_EQ(Run({"ttl", "b"}), Int(-1));
  EXPECT_EQ(Run({"dbsize"}), Int(1));
  // The deadline moves with the key: it expires under its new name.
  EXPECT_EQ(Run({"set", "e", "v", "px", "10"}), kOk);
  EXPECT_EQ(Run({"rename", "e", "f"}), kOk);
  clock_.AdvanceMs(10);
  EXPECT_EQ(Run({"get", "f"}), kNil);
  EXPECT_EQ(Run({"rename", "f", "g"}), Err("ERR no such key"));
}

TEST_F(CommandsTest, MultiExec) {
  EXPECT_EQ(Run({"exec"}), Err("ERR EXEC without MULTI"));
  EXPECT_EQ(Run({"discard"}), Err("ERR DISCARD without MULTI"));
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"multi"}), Err("ERR MULTI calls can not be nested"));
  EXPECT_EQ(Run({"set", "a", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"incr", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"get", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"incr", "nonint"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"watch", "a"}), Err("ERR WATCH inside MULTI is not allowed"));
  EXPECT_EQ(Run({"exec"}), "*4\r\n" + std::string(kOk) + Int(2) + Bulk("2") + Int(1));
  // Errors while queueing abort the transaction.
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "a", "5"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"foo"}), Err("ERR unknown command 'foo', with args beginning with: "));
  EXPECT_EQ(Run({"exec"}), Err("EXECABORT Transaction discarded because of previous errors."));
  EXPECT_EQ(Run({"get", "a"}), Bulk("2"));
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"get"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(Run({"exec"}), Err("EXECABORT Transaction discarded because of previous errors."));
  // A runtime error fails only its own command.
  EXPECT_EQ(Run({"set", "s", "abc"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"incr", "s"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"set", "t", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*2\r\n" + Err("ERR value is not an integer or out of range") + kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "d", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"discard"}), kOk);
  EXPECT_EQ(Run({"get", "d"}), kNil);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"exec"}), "*0\r\n");
  // DEL inside EXEC sees the transaction's own writes.
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "x", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"del", "x"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exists", "x"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"set", "y", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"flushdb"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"set", "z", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*6\r\n" + std::string(kOk) + Int(1) + Int(0) + kOk + kOk + kOk);
  EXPECT_EQ(Run({"mget", "y", "z"}), "*2\r\n" + std::string(kNil) + Bulk("1"));
  // SAVE and SHUTDOWN are refused inside MULTI (and doom it), as in Redis.
  for (const char* name : {"save", "shutdown"}) {
    EXPECT_EQ(Run({"multi"}), kOk);
    EXPECT_EQ(Run({"set", "foo", "bar"}), "+QUEUED\r\n");
    EXPECT_EQ(Run({name}), Err("ERR Command not allowed inside a transaction")) << name;
    EXPECT_EQ(Run({"exec"}), Err("EXECABORT Transaction discarded because of previous errors."));
    EXPECT_EQ(Run({"get", "foo"}), kNil);
  }
  EXPECT_FALSE(shutdown_requested_);
}

TEST_F(CommandsTest, SaveFlushesTheMemtable) {
  EXPECT_EQ(Run({"set", "k", "v"}), kOk);
  std::string before;
  ASSERT_TRUE(db_->GetProperty("lsmkv.num-entries-active-mem-table", &before));
  EXPECT_EQ(Run({"save"}), kOk);
  std::string after;
  ASSERT_TRUE(db_->GetProperty("lsmkv.num-entries-active-mem-table", &after));
  EXPECT_GT(std::stoi(before), 0);
  EXPECT_EQ(std::stoi(after), 0);  // everything went to a table
  EXPECT_EQ(Run({"save", "x"}), Err("ERR wrong number of arguments for 'save' command"));
  EXPECT_EQ(Run({"get", "k"}), Bulk("v"));
}

TEST_F(CommandsTest, WatchAbortsWhenAnotherClientWrites) {
  ClientState* other = NewClient();
  EXPECT_EQ(Run({"set", "w", "1"}), kOk);
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run(other, {"set", "w", "2"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "w", "3"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  EXPECT_EQ(Run({"get", "w"}), Bulk("2"));
  // Unchanged: executes. UNWATCH forgets.
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run(other, {"get", "w"}), Bulk("2"));  // reads do not count
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"incr", "w"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*1\r\n" + Int(3));
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run({"unwatch"}), kOk);
  EXPECT_EQ(Run(other, {"set", "w", "9"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"get", "w"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*1\r\n" + Bulk("9"));
  // A watched key that expires counts as changed; so does FLUSHDB.
  EXPECT_EQ(Run({"set", "e", "v", "px", "20"}), kOk);
  EXPECT_EQ(Run({"watch", "e"}), kOk);
  clock_.AdvanceMs(30);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run(other, {"flushdb"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  // ... but neither FLUSHDB nor FLUSHALL aborts a watch of a key that did
  // not exist (as in Redis 7.0, whose unit/multi checks it).
  for (const char* flush : {"flushdb", "flushall"}) {
    EXPECT_EQ(Run({"watch", "never"}), kOk);
    EXPECT_EQ(Run(other, {"set", "bystander", "1"}), kOk);
    EXPECT_EQ(Run(other, {flush}), kOk);
    EXPECT_EQ(Run({"multi"}), kOk);
    EXPECT_EQ(Run({"ping"}), "+QUEUED\r\n");
    EXPECT_EQ(Run({"exec"}), "*1\r\n+PONG\r\n") << flush;
  }
  // Watching a missing key: creating it aborts.
  EXPECT_EQ(Run({"watch", "fresh"}), kOk);
  EXPECT_EQ(Run(other, {"set", "fresh", "1"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  // RESP3 null for an aborted EXEC.
  EXPECT_EQ(Run({"hello", "3"}).substr(0, 2), "%7");
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run(other, {"set", "w", "1"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"exec"}), "_\r\n");
}

TEST_F(CommandsTest, ConcurrentIncrIsExact) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::vector<ClientState*> clients;
  for (int t = 0; t < kThreads; t++) clients.push_back(NewClient());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        Run(clients[t], {"incr", "counter"});
        Run(clients[t], {"append", "log", "x"});
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Run({"get", "counter"}), Bulk(std::to_string(kThreads * kPerThread)));
  EXPECT_EQ(Run({"strlen", "log"}), Int(kThreads * kPerThread));
}

TEST_F(CommandsTest, OptimisticTransactionsUnderContention) {
  // Each thread increments with WATCH/GET/MULTI/SET/EXEC and retries on a
  // nil EXEC: the total is exact only if WATCH never misses a change.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  EXPECT_EQ(Run({"set", "balance", "0"}), kOk);
  std::vector<ClientState*> clients;
  for (int t = 0; t < kThreads; t++) clients.push_back(NewClient());
  std::atomic<int> aborts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      ClientState* c = clients[t];
      for (int i = 0; i < kPerThread; i++) {
        while (true) {
          Run(c, {"watch", "balance"});
          const int64_t value = std::stoll(test::BulkValue(Run(c, {"get", "balance"})));
          Run(c, {"multi"});
          Run(c, {"set", "balance", std::to_string(value + 1)});
          if (Run(c, {"exec"}) != "*-1\r\n") break;
          aborts++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Run({"get", "balance"}), Bulk(std::to_string(kThreads * kPerThread)));
  std::printf("optimistic increments: %d aborted EXECs retried\n", aborts.load());
}

TEST_F(CommandsTest, PipelineBatchSharesOneWriteAndSeesItsOwnWrites) {
  ClientState* other = NewClient();
  PipelineBatch batch(keyspace_.get());
  std::string out;
  Reply reply(&out, 2);
  auto run = [&](Args args) { ExecuteCommand(context_, *client_, args, reply, &batch); };
  const uint64_t generation = keyspace_->write_generation();
  run({"set", "a", "1"});
  run({"incr", "a"});
  run({"get", "a"});
  run({"append", "b", "x"});
  run({"mset", "c", "1", "d", "2"});
  EXPECT_FALSE(batch.empty());
  // Nothing is visible (or acknowledged) before Finish.
  EXPECT_EQ(Run(other, {"get", "a"}), kNil);
  batch.Finish(reply);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(keyspace_->write_generation(), generation + 1);  // one engine write
  EXPECT_EQ(out, std::string(kOk) + Int(2) + Bulk("2") + Int(1) + kOk);
  EXPECT_EQ(Run(other, {"mget", "a", "b", "c", "d"}),
            "*4\r\n" + Bulk("2") + Bulk("x") + Bulk("1") + Bulk("2"));
  // Keyspace-wide and transaction commands end the batch first.
  out.clear();
  run({"set", "e", "1"});
  run({"dbsize"});
  EXPECT_TRUE(batch.empty());
  run({"set", "f", "1"});
  run({"multi"});
  EXPECT_TRUE(batch.empty());
  run({"set", "g", "1"});
  run({"exec"});
  batch.Finish(reply);
  EXPECT_EQ(out, std::string(kOk) + Int(5) + kOk + kOk + "+QUEUED\r\n" + "*1\r\n" + kOk);
  // A stripe held elsewhere cuts the batch instead of deadlocking.
  out.clear();
  // The releaser holds "busy" until this thread waits for it (KeyLocks
  // counts waiters), then lets go.
  std::atomic<bool> holding{false};
  std::thread releaser([&] {
    KeyLocks::Guard held = keyspace_->locks().LockOne("busy");
    holding = true;
    while (keyspace_->locks().waiters() == 0) std::this_thread::yield();
  });
  while (!holding) std::this_thread::yield();
  run({"set", "h", "1"});
  run({"set", "busy", "1"});  // waits for the releaser after committing "h"
  EXPECT_EQ(Run(other, {"get", "h"}), Bulk("1"));
  batch.Finish(reply);
  releaser.join();
  EXPECT_EQ(out, std::string(kOk) + kOk);
  EXPECT_EQ(Run(other, {"get", "busy"}), Bulk("1"));
  // That wait is in INFO: taken while spinning or after a sleep.
  const KeyLocks::WaitStats waits = keyspace_->locks().wait_stats();
  EXPECT_GE(waits.spun + waits.slept, 1u);
  const std::string info = test::BulkValue(Run(other, {"info", "stats"}));
  EXPECT_EQ(test::InfoField(info, "lsmkv_key_lock_spins"), std::to_string(waits.spun)) << info;
  EXPECT_EQ(test::InfoField(info, "lsmkv_key_lock_sleeps"), std::to_string(waits.slept)) << info;
}

// A batch keeps what a command reads of the keys it locked (read caching,
// Txn::set_cacheable_keys) and answers its later reads of them from there;
// never a key read without its stripe, a value over 256 bytes, or anything
// after Finish.
TEST_F(CommandsTest, PipelineBatchKeepsReadsOfTheKeysItLocked) {
  ClientState* other = NewClient();
  ASSERT_EQ(Run(other, {"sadd", "s", "m1"}), Int(1));
  ASSERT_EQ(Run(other, {"set", "x", "1"}), kOk);
  ASSERT_EQ(Run(other, {"set", "big", std::string(300, 'b')}), kOk);
  ASSERT_EQ(Run(other, {"set", "huge", std::string(2 << 20, 'h')}), kOk);
  PipelineBatch batch(keyspace_.get());
  std::string out;
  Reply reply(&out, 2);
  auto run = [&](Args args) {
    out.clear();
    ExecuteCommand(context_, *client_, args, reply, &batch);
    return out;
  };
  // A read-only command on one key takes no stripe: nothing is kept, and a
  // write of another client between two such reads is seen. (First: once
  // the batch holds stripes, another client's write could wait for them.)
  EXPECT_EQ(run({"get", "x"}), Bulk("1"));
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 0u);
  EXPECT_EQ(Run(other, {"set", "x", "2"}), kOk);
  EXPECT_EQ(run({"get", "x"}), Bulk("2"));
  // SADD of a member present writes nothing: its read of s's metadata is kept.
  EXPECT_EQ(run({"sadd", "s", "m1"}), Int(0));
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 1u);
  EXPECT_EQ(run({"scard", "s"}), Int(1));
  // The batch's own writes go over the kept read.
  EXPECT_EQ(run({"sadd", "s", "m2"}), Int(1));
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 0u);
  EXPECT_EQ(run({"scard", "s"}), Int(2));
  // A missing key locked by a write is kept as missing.
  EXPECT_EQ(run({"spop", "nothing"}), kNil);
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 1u);
  EXPECT_EQ(run({"exists", "nothing"}), Int(0));
  // A value over 256 bytes is not kept.
  EXPECT_EQ(run({"getdel", "absent"}), kNil);
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 2u);
  EXPECT_EQ(run({"setnx", "big", "y"}), Int(0));
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 2u);
  // Nor does a large one leave a large read buffer behind (it is read into the
  // thread's buffer, trimmed after use, not into the batch's Txn).
  EXPECT_EQ(run({"append", "huge", "x"}), Int((2 << 20) + 1));
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 2u);
  EXPECT_LE(Keyspace::TEST_ReadBufferCapacity(), size_t{1} << 20);
  batch.Finish(reply);
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 0u);
  EXPECT_EQ(Run(other, {"scard", "s"}), Int(2));

  // A batch without writes drops its kept reads at Finish, before its
  // stripes go: another client's write is then seen by the next batch.
  // (Other clients write only between batches: one would wait for a stripe
  // a batch holds.)
  EXPECT_EQ(run({"sadd", "s", "m1"}), Int(0));
  EXPECT_EQ(run({"srem", "nothing", "m"}), Int(0));
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 2u);
  batch.Finish(reply);
  EXPECT_EQ(batch.TEST_txn().TEST_CachedReads(), 0u);
  EXPECT_EQ(Run(other, {"sadd", "s", "m3"}), Int(1));
  EXPECT_EQ(Run(other, {"sadd", "nothing", "m"}), Int(1));
  EXPECT_EQ(run({"sadd", "s", "m1"}), Int(0));
  EXPECT_EQ(run({"scard", "s"}), Int(3));
  EXPECT_EQ(run({"srem", "nothing", "m"}), Int(1));
  batch.Finish(reply);
  EXPECT_EQ(Run(other, {"exists", "nothing"}), Int(0));
}

// Pipeline batches (overlay, read caching, one commit per batch) answer as
// the same commands run one at a time: random commands over a few keys of
// every type, batches cut at random, against a second database run command
// by command first.
TEST_F(CommandsTest, PipelineBatchesAnswerAsCommandsRunOneByOne) {
  ClientState* batched = NewClient();
  ClientState* single = NewClient();
  ASSERT_EQ(Run(single, {"select", "1"}), kOk);
  PipelineBatch batch(keyspace_.get());
  std::string out;
  Reply reply(&out, 2);
  Random rnd(20261207);
  const std::vector<std::string> members = {"a", "b", "c", "d"};
  auto pick = [&](const std::vector<std::string>& from) { return from[rnd.Uniform(from.size())]; };
  // Mostly each type on keys of its own (few WRONGTYPE replies); the
  // generic commands on any key (so RENAME moves values across types).
  auto key = [&](char type) { return std::string(1, type) + std::to_string(rnd.Uniform(2)); };
  auto any_key = [&] { return key("kshlz"[rnd.Uniform(5)]); };
  std::vector<Args> commands;
  for (int i = 0; i < 3000; i++) {
    const std::string m = pick(members);
    Args args;
    switch (rnd.Uniform(21)) {
      case 0:
        args = {"set", key('k'), std::to_string(rnd.Uniform(3))};
        break;
      case 1:
        args = {"get", key('k')};
        break;
      case 2:
        args = {"incr", key('k')};
        break;
      case 3:
        args = {"sadd", key('s'), m};
        break;
      case 4:
        args = {"srem", key('s'), m};
        break;
      case 5:
        args = {"scard", key('s')};
        break;
      case 6:
        args = {"sismember", key('s'), m};
        break;
      case 7:
        args = {"hset", key('h'), m, std::to_string(i)};
        break;
      case 8:
        args = {"hdel", key('h'), m};
        break;
      case 9:
        args = {"hget", key('h'), m};
        break;
      case 10:
        args = {"lpush", key('l'), m};
        break;
      case 11:
        args = {"rpop", key('l')};
        break;
      case 12:
        args = {"llen", key('l')};
        break;
      case 13:
        args = {"zadd", key('z'), std::to_string(rnd.Uniform(5)), m};
        break;
      case 14:
        args = {"zpopmin", key('z')};
        break;
      case 15:
        args = {"zscore", key('z'), m};
        break;
      case 16:
        args = {"type", any_key()};
        break;
      case 17:
        args = {"exists", any_key(), any_key()};
        break;
      case 18:
        args = {"rename", any_key(), any_key()};
        break;
      case 19:
        args = {"del", any_key()};
        break;
      default:
        args = {"lrange", key('l'), "0", "-1"};
        break;
    }
    commands.push_back(std::move(args));
  }
  // One after the other: the single client would wait for a stripe a batch holds.
  std::string expected;
  for (const Args& args : commands) expected += Run(single, args);
  for (Args& args : commands) {
    ExecuteCommand(context_, *batched, args, reply, &batch);
    if (rnd.OneIn(8)) batch.Finish(reply);
  }
  batch.Finish(reply);
  EXPECT_EQ(out, expected);
}

TEST_F(CommandsTest, Authentication) {
  ASSERT_EQ(config_.Set(*Config::Find("requirepass"), "secret"), "");
  ClientState* c = NewClient();
  EXPECT_FALSE(c->authenticated);
  const std::string noauth = Err("NOAUTH Authentication required.");
  for (Args args : std::vector<Args>{{"get", "a"},
                                     {"ping"},
                                     {"set", "a", "b"},
                                     {"select", "0"},
                                     {"multi"},
                                     {"client", "id"},
                                     {"command"},
                                     {"info"},
                                     {"config", "get", "*"},
                                     {"flushall"},
                                     {"shutdown"}}) {
    EXPECT_EQ(Run(c, args), noauth) << args[0];
  }
  EXPECT_FALSE(shutdown_requested_);
  EXPECT_EQ(Run(c, {"foo"}), Err("ERR unknown command 'foo', with args beginning with: "));
  EXPECT_EQ(Run(c, {"hello", "3"}).substr(0, 7), "-NOAUTH");
  EXPECT_EQ(Run(c, {"auth", "wrong"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(Run(c, {"hello", "3", "auth", "default", "wrong"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(Run(c, {"auth", "secret"}), kOk);
  EXPECT_EQ(Run(c, {"get", "a"}), kNil);
  ClientState* d = NewClient();
  EXPECT_EQ(Run(d, {"hello", "3", "auth", "default", "secret", "setname", "n1"}).substr(0, 2),
            "%7");
  EXPECT_EQ(Run(d, {"client", "getname"}), Bulk("n1"));
  ClientState* e = NewClient();
  EXPECT_EQ(Run(e, {"auth", "default", "secret"}), kOk);
  EXPECT_EQ(Run(e, {"quit"}), kOk);
}

TEST_F(CommandsTest, ConfigGetSet) {
  EXPECT_EQ(Run({"config", "get", "save"}), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  EXPECT_EQ(Run({"config", "get", "appendonly"}), "*2\r\n" + Bulk("appendonly") + Bulk("yes"));
  EXPECT_EQ(Run({"config", "get", "nonexist"}), "*0\r\n");
  EXPECT_EQ(Run({"config", "get", "MAXC*", "maxm*"}).substr(0, 4),
            "*4\r\n");  // maxclients, maxmemory
  EXPECT_EQ(Run({"config", "set", "foo", "bar"}),
            Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'"));
  EXPECT_EQ(Run({"config", "set", "port", "1"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable "
                "config"));
  EXPECT_EQ(Run({"config", "set", "maxclients", "abc"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument "
                "couldn't be parsed into an integer"));
  EXPECT_EQ(Run({"config", "set", "appendfsync", "always", "timeout", "7"}), kOk);
  EXPECT_EQ(keyspace_->fsync_policy(), FsyncPolicy::kAlways);
  EXPECT_EQ(Run({"config", "get", "timeout"}), "*2\r\n" + Bulk("timeout") + Bulk("7"));
  // All or nothing.
  EXPECT_EQ(Run({"config", "set", "timeout", "9", "maxclients", "-5"}).substr(0, 18),
            "-ERR CONFIG SET fa");
  EXPECT_EQ(Run({"config", "get", "timeout"}), "*2\r\n" + Bulk("timeout") + Bulk("7"));
  EXPECT_EQ(Run({"set", "k", "v"}), kOk);  // works under appendfsync always
  EXPECT_EQ(Run({"config", "resetstat"}), kOk);
}

TEST_F(CommandsTest, CommandAndInfo) {
  const std::string count = Run({"command", "count"});
  EXPECT_EQ(count, Int(static_cast<int64_t>(commands_.all().size())));
  EXPECT_EQ(
      Run({"command", "info", "get"})
          .rfind("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n",
                 0),
      0u);
  EXPECT_EQ(Run({"command", "docs"}), "*0\r\n");
  EXPECT_EQ(Run({"command", "getkeys", "mset", "a", "1", "b", "2"}),
            "*2\r\n" + Bulk("a") + Bulk("b"));
  EXPECT_EQ(Run({"command"}).rfind("*" + std::to_string(commands_.all().size()) + "\r\n", 0), 0u);
  EXPECT_EQ(Run({"set", "k", "v", "ex", "100"}), kOk);
  const std::string info = test::BulkValue(Run({"info"}));
  for (const char* needle :
       {"# Server\r\nredis_version:", "# Clients\r\nconnected_clients:", "# Memory\r\nused_memory:",
        "# Persistence\r\n", "# Stats\r\n", "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n",
        "# Lsmkv\r\n", "lsmkv_level_L0:files=", "lsmkv_engine:lsm\r\n",
        "lsmkv_wal_syncs:", "aof_enabled:1"}) {
    EXPECT_NE(info.find(needle), std::string::npos) << needle << "\n" << info;
  }
  EXPECT_EQ(info.find("# Commandstats"), std::string::npos);
  const std::string all = test::BulkValue(Run({"info", "all"}));
  EXPECT_NE(all.find("cmdstat_set:calls="), std::string::npos);
  const std::string one = test::BulkValue(Run({"info", "keyspace"}));
  EXPECT_EQ(one, "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n");
}

TEST_F(CommandsTest, ShutdownCommand) {
  EXPECT_EQ(Run({"shutdown", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"shutdown", "save", "nosave"}), Err("ERR syntax error"));
  EXPECT_FALSE(shutdown_requested_);
  EXPECT_EQ(Run({"shutdown", "nosave"}), "");  // no reply: the connection closes
  EXPECT_TRUE(shutdown_requested_);
  EXPECT_TRUE(client_->close_after_reply);
}

TEST_F(CommandsTest, DataSurvivesReopen) {
  EXPECT_EQ(Run({"set", "persist", "me", "ex", "1000"}), kOk);
  EXPECT_EQ(Run({"incrby", "n", "42"}), Int(42));
  Reopen();
  EXPECT_EQ(Run({"get", "persist"}), Bulk("me"));
  EXPECT_EQ(Run({"ttl", "persist"}), Int(1000));
  EXPECT_EQ(Run({"get", "n"}), Bulk("42"));
}

// WATCH takes time linear in its keys: 200,000 keys, half of them
// duplicates, are watched in one call (quadratic, this took minutes).
// WATCH runs on an engine transaction (its GetForUpdate reads): the cases
// that depend on what counts as a write since the WATCH.
TEST_F(CommandsTest, WatchIsTheEnginesOptimisticReadSet) {
  ClientState* other = NewClient();
  EXPECT_EQ(Run({"set", "w", "1"}), kOk);
  // The watcher's own write outside MULTI counts, as in Redis.
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run({"set", "w", "2"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"get", "w"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");  // a read-only EXEC aborts too
  // Writes to other keys do not.
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run(other, {"set", "x", "1"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "x", "2"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), std::string("*1\r\n") + kOk);
  // Each WATCH counts from its own time: b changed before it was watched.
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  EXPECT_EQ(Run(other, {"set", "b", "1"}), kOk);
  EXPECT_EQ(Run({"watch", "b"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"get", "b"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*1\r\n" + Bulk("1"));
  // FLUSHDB is a range deletion of the whole keyspace: it aborts a watch of
  // a key that existed, not of one that did not (as Redis 7.0: the engine's
  // validation lets a range deletion pass a read that found nothing).
  EXPECT_EQ(Run({"watch", "absent", "b"}), kOk);
  EXPECT_EQ(Run(other, {"flushdb"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  EXPECT_EQ(Run({"watch", "absent"}), kOk);
  EXPECT_EQ(Run(other, {"flushdb"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"exec"}), "*0\r\n");
  // The transaction is released by EXEC, DISCARD and UNWATCH.
  std::string running;
  ASSERT_TRUE(db_->GetProperty("lsmkv.txn-running", &running));
  EXPECT_EQ(running, "0");
  EXPECT_EQ(Run({"watch", "w"}), kOk);
  ASSERT_TRUE(db_->GetProperty("lsmkv.txn-running", &running));
  EXPECT_EQ(running, "1");
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"discard"}), kOk);
  ASSERT_TRUE(db_->GetProperty("lsmkv.txn-running", &running));
  EXPECT_EQ(running, "0");
}

TEST_F(CommandsTest, WatchOfManyKeysIsLinear) {
  Args watch = {"watch"};
  for (int i = 0; i < 200000; i++) watch.push_back("w" + std::to_string(i % 100000));
  EXPECT_EQ(Run(watch), kOk);
  EXPECT_EQ(client_->watched.size(), 100000u);
  ClientState* other = NewClient();
  EXPECT_EQ(Run(other, {"set", "w99999", "x"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "a", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*-1\r\n");
  EXPECT_EQ(client_->watched.size(), 0u);
  EXPECT_EQ(Run({"get", "a"}), kNil);
}

// The MULTI queue is capped in commands and in memory; going over dooms the
// transaction (EXECABORT), writes nothing, and the queue's memory is given
// back.
TEST_F(CommandsTest, MultiQueueIsBounded) {
  ASSERT_EQ(config_.Set(*Config::Find("multi-max-commands"), "3"), "");
  EXPECT_EQ(Run({"multi"}), kOk);
  for (int i = 0; i < 3; i++) EXPECT_EQ(Run({"set", "k" + std::to_string(i), "v"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"set", "k3", "v"}),
            Err("ERR MULTI queue limit reached (multi-max-commands 3, multi-max-bytes 67108864)"));
  EXPECT_EQ(client_->queued.size(), 3u);
  EXPECT_EQ(Run({"exec"}), Err("EXECABORT Transaction discarded because of previous errors."));
  EXPECT_EQ(Run({"exists", "k0", "k1", "k2", "k3"}), Int(0));
  EXPECT_EQ(client_->queued.capacity(), 0u);
  EXPECT_EQ(client_->queued_bytes, 0u);

  ASSERT_EQ(config_.Set(*Config::Find("multi-max-commands"), "100000"), "");
  ASSERT_EQ(config_.Set(*Config::Find("multi-max-bytes"), "4096"), "");
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "small", "v"}), "+QUEUED\r\n");
  EXPECT_GT(client_->queued_bytes, 0u);
  EXPECT_EQ(Run({"set", "big", std::string(4096, 'b')}),
            Err("ERR MULTI queue limit reached (multi-max-commands 100000, multi-max-bytes 4096)"));
  EXPECT_EQ(Run({"discard"}), kOk);
  EXPECT_EQ(client_->queued.capacity(), 0u);
  EXPECT_EQ(client_->queued_bytes, 0u);
  // Within the limits a transaction works as before.
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"set", "small", "v"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*1\r\n" + std::string(kOk));
  EXPECT_EQ(Run({"get", "small"}), Bulk("v"));
}

// DBSIZE counts the keyspace again after a write, so it is not flagged fast;
// it and the other O(N) commands are flagged to run off the event loop.
TEST_F(CommandsTest, KeyspaceWideCommandsAreNotFast) {
  for (const char* name : {"dbsize", "keys", "flushall", "flushdb", "info"}) {
    const CommandSpec* spec = commands_.Find(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_FALSE(spec->flags & kCmdFast) << name;
    EXPECT_TRUE(spec->flags & kCmdSlow) << name;
  }
}

// Password guessing: a connection is closed at its 10th wrong AUTH (nothing
// it pipelined after is checked), and its address is blocked: AUTHs from it
// are refused unchecked — even the right password — until auth-block-seconds
// after its last failure.
TEST_F(CommandsTest, FailedAuthsAreLimited) {
  ASSERT_EQ(config_.Set(*Config::Find("requirepass"), "secret"), "");
  ClientState* guesser = NewClient();
  guesser->address = "10.1.2.3:50000";
  int checked = 0;
  for (int i = 0; i < 100000 && !guesser->close_after_reply; i++, checked++) {
    EXPECT_EQ(Run(guesser, {"auth", "guess" + std::to_string(i)}),
              Err("WRONGPASS invalid username-password pair or user is disabled."));
  }
  EXPECT_EQ(checked, 10);
  EXPECT_EQ(stats_.auth_failures.load(), 10u);
  EXPECT_EQ(stats_.auth_disconnects.load(), 1u);

  ClientState* again = NewClient();
  again->address = "10.1.2.3:50001";  // same address, new connection
  EXPECT_EQ(Run(again, {"auth", "secret"}),
            Err("ERR too many failed AUTH attempts from this address; try again in 10 seconds "
                "(auth-block-seconds)"));
  EXPECT_TRUE(again->close_after_reply);
  EXPECT_FALSE(again->authenticated);
  EXPECT_EQ(stats_.auth_rate_limited.load(), 1u);
  // Another address is not affected.
  ClientState* other = NewClient();
  other->address = "10.9.9.9:1";
  EXPECT_EQ(Run(other, {"auth", "secret"}), kOk);
  // After the block, the address may try again.
  clock_.AdvanceMs(10000);
  ClientState* later = NewClient();
  later->address = "10.1.2.3:50002";
  EXPECT_EQ(Run(later, {"auth", "secret"}), kOk);
  EXPECT_EQ(auth_guard_.sources(), 0u);  // success forgets the address
  const std::string info = test::BulkValue(Run(later, {"info", "stats"}));
  EXPECT_NE(info.find("lsmkv_auth_failures:10\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("lsmkv_auth_rate_limited:1\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("lsmkv_auth_disconnects:1\r\n"), std::string::npos) << info;
}

TEST(AuthGuardTest, TableIsBoundedAndFailuresDecay) {
  AuthGuard guard(/*max_sources=*/3);
  for (int i = 0; i < 10; i++) guard.RecordFailure("a", 1000, 5000);
  EXPECT_FALSE(guard.Allowed("a", 1000, 10, 5000));
  EXPECT_TRUE(guard.Allowed("a", 6000, 10, 5000));  // a block period without failures
  for (const char* s : {"b", "c", "d"}) guard.RecordFailure(s, 7000, 5000);
  EXPECT_EQ(guard.sources(), 3u);  // "a" (oldest) was forgotten
  EXPECT_TRUE(guard.Allowed("a", 7000, 1, 5000));
  EXPECT_FALSE(guard.Allowed("d", 7000, 1, 5000));
  EXPECT_EQ(AuthGuard::SourceOf("10.0.0.1:6380"), "10.0.0.1");
  EXPECT_EQ(AuthGuard::SourceOf("[::1]:6380"), "::1");
  EXPECT_TRUE(AuthGuard::ProtectedModeRefuses(true, false, false, false));
  EXPECT_FALSE(AuthGuard::ProtectedModeRefuses(true, false, false, true));    // loopback peer
  EXPECT_FALSE(AuthGuard::ProtectedModeRefuses(true, true, false, false));    // a password
  EXPECT_FALSE(AuthGuard::ProtectedModeRefuses(true, false, true, false));    // loopback bind
  EXPECT_FALSE(AuthGuard::ProtectedModeRefuses(false, false, false, false));  // mode off
}

// CONFIG GET never shows a password, and the mask cannot be set back.
TEST_F(CommandsTest, PasswordsAreNeverShown) {
  EXPECT_EQ(Run({"config", "get", "requirepass"}), "*2\r\n" + Bulk("requirepass") + Bulk(""));
  EXPECT_EQ(Run({"config", "set", "requirepass", "s3cret", "readonly-password", "r0"}), kOk);
  client_->authenticated = true;
  EXPECT_EQ(Run({"config", "get", "requirepass"}),
            "*2\r\n" + Bulk("requirepass") + Bulk("********"));
  const std::string all = Run({"config", "get", "*"});
  EXPECT_EQ(all.find("s3cret"), std::string::npos);
  EXPECT_EQ(all.find("r0\r\n"), std::string::npos);
  EXPECT_EQ(Run({"config", "set", "requirepass", "********"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'requirepass') - this is the "
                "mask CONFIG GET shows for a password, not a password"));
  EXPECT_EQ(test::BulkValue(Run({"info", "everything"})).find("s3cret"), std::string::npos);
  EXPECT_EQ(config_.String(Setting::kRequirepass), "s3cret");
}

// The read-only user reads, but neither writes nor administers.
TEST_F(CommandsTest, ReadOnlyUser) {
  EXPECT_EQ(Run({"set", "k", "v"}), kOk);
  EXPECT_EQ(Run({"config", "set", "requirepass", "pw", "readonly-password", "ro"}), kOk);
  ClientState* reader = NewClient();
  EXPECT_EQ(Run(reader, {"get", "k"}), Err("NOAUTH Authentication required."));
  EXPECT_EQ(Run(reader, {"auth", "default", "ro"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(Run(reader, {"auth", "readonly", "ro"}), kOk);
  EXPECT_EQ(Run(reader, {"get", "k"}), Bulk("v"));
  EXPECT_EQ(Run(reader, {"set", "k", "w"}),
            Err("NOPERM User readonly has no permissions to run the 'set' command"));
  EXPECT_EQ(Run(reader, {"flushall"}),
            Err("NOPERM User readonly has no permissions to run the 'flushall' command"));
  EXPECT_EQ(Run(reader, {"config", "set", "requirepass", ""}),
            Err("NOPERM User readonly has no permissions to run the 'config' command"));
  EXPECT_EQ(Run(reader, {"shutdown"}),
            Err("NOPERM User readonly has no permissions to run the 'shutdown' command"));
  EXPECT_FALSE(shutdown_requested_);
  EXPECT_EQ(Run(reader, {"multi"}), kOk);
  EXPECT_EQ(Run(reader, {"del", "k"}),
            Err("NOPERM User readonly has no permissions to run the 'del' command"));
  EXPECT_EQ(Run(reader, {"exec"}),
            Err("EXECABORT Transaction discarded because of previous errors."));
  // A password alone: the default user's first, then the read-only one's.
  ClientState* plain = NewClient();
  EXPECT_EQ(Run(plain, {"auth", "ro"}), kOk);
  EXPECT_TRUE(plain->read_only);
  EXPECT_EQ(Run(plain, {"auth", "pw"}), kOk);
  EXPECT_FALSE(plain->read_only);
  EXPECT_EQ(Run(plain, {"set", "k", "w"}), kOk);
}

TEST(CommandTableTest, RenameAndDisable) {
  CommandTable table;
  EXPECT_EQ(table.Rename("FLUSHALL", ""), "");
  EXPECT_EQ(table.Find("flushall"), nullptr);
  EXPECT_EQ(table.Rename("config", "cfg-7f3a"), "");
  EXPECT_EQ(table.Find("config"), nullptr);
  ASSERT_NE(table.Find("CFG-7F3A"), nullptr);
  EXPECT_STREQ(table.Find("cfg-7f3a")->name, "config");
  EXPECT_EQ(table.Rename("nosuch", "x"), "rename-command: no command 'nosuch'");
  EXPECT_EQ(table.Rename("get", "set"), "rename-command: 'set' is already a command name");
}

// FUNCTION (the glue of Redis's test suite, scripts/redis_suite.sh): the
// replies of a Redis 7.0 server with no function library loaded (LOAD and
// FCALL: commands_scripting_test.cc).
TEST_F(CommandsTest, FunctionAnswersAsAServerWithNoLibrary) {
  EXPECT_EQ(Run({"function", "flush"}), kOk);
  EXPECT_EQ(Run({"FUNCTION", "FLUSH", "async"}), kOk);
  EXPECT_EQ(Run({"function", "flush", "sync"}), kOk);
  EXPECT_EQ(Run({"function", "flush", "foo"}),
            Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"));
  EXPECT_EQ(Run({"function", "flush", "a", "b"}),
            Err("ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION "
                "HELP."));
  EXPECT_EQ(Run({"function", "list"}), "*0\r\n");
  EXPECT_EQ(Run({"function", "list", "withcode", "libraryname", "lib*"}), "*0\r\n");
  EXPECT_EQ(Run({"function", "list", "libraryname"}),
            Err("ERR library name argument was not given"));
  EXPECT_EQ(Run({"function", "list", "withcode", "withcode"}),
            Err("ERR Unknown argument withcode"));
  EXPECT_EQ(Run({"function", "stats"}), "*4\r\n" + Bulk("running_script") + "$-1\r\n" +
                                            Bulk("engines") + "*2\r\n" + Bulk("LUA") + "*4\r\n" +
                                            Bulk("libraries_count") + Int(0) +
                                            Bulk("functions_count") + Int(0));
  EXPECT_EQ(Run({"function", "stats", "x"}),
            Err("ERR wrong number of arguments for 'function|stats' command"));
  EXPECT_EQ(Run({"function", "kill"}), Err("NOTBUSY No scripts in execution right now."));
  EXPECT_EQ(Run({"function", "delete", "lib"}), Err("ERR Library not found"));
  EXPECT_EQ(Run({"function", "delete"}),
            Err("ERR wrong number of arguments for 'function|delete' command"));
  // DUMP gives Redis's payload of no library; RESTORE takes only that one.
  const std::string dump = Run({"function", "dump"});
  ASSERT_EQ(dump.substr(0, 5), "$10\r\n");
  const std::string payload = dump.substr(5, 10);
  EXPECT_EQ(Run({"function", "restore", payload}), kOk);
  EXPECT_EQ(Run({"function", "restore", payload, "replace"}), kOk);
  EXPECT_EQ(Run({"function", "restore", payload, "merge"}),
            Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or "
                "REPLACE."));
  EXPECT_EQ(Run({"function", "restore", "x"}),
            Err("ERR DUMP payload version or checksum are wrong"));
  EXPECT_EQ(Run({"function", "load",
                 "#!lua name=lib\nredis.register_function('f', "
                 "function() return 1 end)"}),
            Bulk("lib"));  // loaded (commands_scripting_test.cc); gone again:
  EXPECT_EQ(Run({"function", "flush"}), kOk);
  EXPECT_EQ(Run({"function", "load"}),
            Err("ERR wrong number of arguments for 'function|load' command"));
  EXPECT_EQ(Run({"function", "nosuch"}),
            Err("ERR unknown subcommand 'nosuch'. Try FUNCTION HELP."));
  EXPECT_EQ(Run({"function"}), Err("ERR wrong number of arguments for 'function' command"));
  EXPECT_EQ(Run({"function", "help"}).substr(0, 1), "*");
}

// DEBUG: the harmless subcommands the suite calls outside its needs:debug
// tests work; every other one is refused, naming it.
TEST_F(CommandsTest, DebugHasOnlyHarmlessSubcommands) {
  EXPECT_EQ(Run({"debug", "log", "### Starting test"}), kOk);
  EXPECT_EQ(Run({"debug", "change-repl-id"}), kOk);
  EXPECT_EQ(Run({"debug", "quicklist-packed-threshold", "1k"}), kOk);
  EXPECT_EQ(Run({"debug", "quicklist-packed-threshold", "1"}),
            Err("ERR argument must be a memory value bigger than 1 and smaller than 4gb"));
  EXPECT_EQ(Run({"debug", "quicklist-packed-threshold", "4gb"}),
            Err("ERR argument must be a memory value bigger than 1 and smaller than 4gb"));
  for (const char* sub : {"reload", "segfault", "object", "populate", "digest", "jmap"}) {
    EXPECT_EQ(Run({"debug", sub}),
              Err(std::string("ERR DEBUG '") + sub +
                  "' is not supported by lsmkv-server (it has only the harmless subcommands: "
                  "see DEBUG HELP)"))
        << sub;
  }
  EXPECT_EQ(Run({"debug", "sleep"}),
            Err("ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG "
                "HELP."));
  EXPECT_EQ(Run({"debug"}), Err("ERR wrong number of arguments for 'debug' command"));
  EXPECT_EQ(Run({"debug", "help"}).substr(0, 1), "*");
  const CommandSpec* spec = commands_.Find("debug");
  ASSERT_NE(spec, nullptr);
  EXPECT_TRUE(spec->flags & kCmdSlow);  // DEBUG SLEEP runs off the event loop
}

// DEBUG SLEEP: at most a second, and only DEBUG SLEEP 0 inside EXEC (which
// runs on the event loop).
TEST_F(CommandsTest, DebugSleepIsBounded) {
  EXPECT_EQ(Run({"debug", "sleep", "0"}), kOk);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Run({"debug", "sleep", "0.05"}), kOk);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(Run({"debug", "sleep", "1.5"}),
            Err("ERR DEBUG SLEEP is limited to 1 second in lsmkv-server"));
  EXPECT_EQ(Run({"debug", "sleep", "-1"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"debug", "sleep", "abc"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"debug", "sleep", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"debug", "sleep", "0.5"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}),
            "*2\r\n" + std::string(kOk) +
                Err("ERR DEBUG SLEEP inside MULTI/EXEC is limited to 0 seconds in lsmkv-server"));
}

// DEBUG SET-ACTIVE-EXPIRE switches the background sweep (BackgroundWorker)
// off and on; reads still never see an expired key.
TEST_F(CommandsTest, DebugSetActiveExpireSwitchesTheSweep) {
  EXPECT_TRUE(keyspace_->active_expire.load());
  EXPECT_EQ(Run({"debug", "set-active-expire", "0"}), kOk);
  EXPECT_FALSE(keyspace_->active_expire.load());
  EXPECT_EQ(Run({"set", "k", "v", "px", "10"}), kOk);
  clock_.AdvanceMs(20);
  EXPECT_EQ(Run({"get", "k"}), "$-1\r\n");
  EXPECT_EQ(Run({"debug", "set-active-expire", "1"}), kOk);
  EXPECT_TRUE(keyspace_->active_expire.load());
  EXPECT_EQ(Run({"debug", "set-active-expire", "x"}),
            Err("ERR value is not an integer or out of range"));
}

// Redis's encoding thresholds are accepted and ignored (Redis's test suite
// sets them around its tests and restores what CONFIG GET showed); save and
// appendonly can be set to their only values.
TEST_F(CommandsTest, EncodingThresholdsAreAcceptedAndIgnored) {
  EXPECT_EQ(Run({"config", "get", "set-max-intset-entries"}),
            "*2\r\n" + Bulk("set-max-intset-entries") + Bulk("512"));
  EXPECT_EQ(Run({"config", "set", "set-max-intset-entries", "16"}), kOk);
  EXPECT_EQ(Run({"config", "get", "set-max-intset-entries"}),
            "*2\r\n" + Bulk("set-max-intset-entries") + Bulk("16"));
  EXPECT_EQ(Run({"config", "set", "hash-max-ziplist-value", "1kb", "list-max-ziplist-size", "-3",
                 "zset-max-listpack-entries", "0", "list-compress-depth", "2"}),
            kOk);
  EXPECT_EQ(Run({"config", "get", "hash-max-ziplist-value"}),
            "*2\r\n" + Bulk("hash-max-ziplist-value") + Bulk("1024"));
  EXPECT_EQ(Run({"config", "set", "list-compress-depth", "-1"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'list-compress-depth') - "
                "argument must be between 0 and 2147483647 inclusive"));
  EXPECT_EQ(Run({"config", "set", "save", ""}), kOk);
  EXPECT_EQ(Run({"config", "set", "save", "900 1"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'save') - lsmkv-server "
                "takes no RDB snapshots; save must be empty"));
  EXPECT_EQ(Run({"config", "set", "appendonly", "yes"}), kOk);
  EXPECT_EQ(Run({"config", "set", "appendonly", "no"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
                "lsmkv-server always logs every write; appendonly must be yes"));
}

// MEMORY USAGE: nil for an absent key; a string's name and value; a hash's
// elements are counted too (estimated from SAMPLES of them).
TEST_F(CommandsTest, MemoryUsageCountsStoredBytes) {
  EXPECT_EQ(Run({"memory", "usage", "none"}), "$-1\r\n");
  EXPECT_EQ(Run({"set", "k", std::string(1000, 'x')}), kOk);
  const std::string one = Run({"memory", "usage", "k"});
  ASSERT_EQ(one[0], ':');
  EXPECT_GE(std::stoll(one.substr(1)), 1001);
  EXPECT_LT(std::stoll(one.substr(1)), 1100);
  for (int i = 0; i < 10; i++) {
    EXPECT_EQ(Run({"hset", "h", "field" + std::to_string(i), std::string(100, 'v')}), Int(1));
  }
  for (const char* samples : {"0", "3"}) {
    const std::string all = Run({"memory", "usage", "h", "SAMPLES", samples});
    ASSERT_EQ(all[0], ':') << samples;
    EXPECT_GE(std::stoll(all.substr(1)), 10 * 105) << samples;
  }
  EXPECT_EQ(Run({"memory", "usage", "h", "samples", "-1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"memory", "usage", "h", "foo", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"memory", "usage"}),
            Err("ERR wrong number of arguments for 'memory|usage' command"));
  EXPECT_EQ(Run({"memory", "doctor"}), Err("ERR unknown subcommand 'doctor'. Try MEMORY HELP."));
}

}  // namespace
}  // namespace lsmkv::server
