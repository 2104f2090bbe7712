// SORT and SORT_RO (commands_sort.cc): replies as redis-server 7.0.15 gives
// them (each case compared with it), STORE into a list, and the errors.
#include "server/command_test_fixture.h"

namespace lsmkv::server {
namespace {

using SortTest = CommandsTest;

std::string Array(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& item : items) out += item;
  return out;
}

TEST_F(SortTest, SortsListsSetsAndSortedSets) {
  ASSERT_EQ(Run({"rpush", "l", "3", "1", "2", "10"}), Int(4));
  EXPECT_EQ(Run({"sort", "l"}), Array({Bulk("1"), Bulk("2"), Bulk("3"), Bulk("10")}));
  EXPECT_EQ(Run({"sort", "l", "desc"}), Array({Bulk("10"), Bulk("3"), Bulk("2"), Bulk("1")}));
  EXPECT_EQ(Run({"sort", "l", "alpha"}), Array({Bulk("1"), Bulk("10"), Bulk("2"), Bulk("3")}));
  EXPECT_EQ(Run({"sort", "l", "limit", "1", "2"}), Array({Bulk("2"), Bulk("3")}));
  EXPECT_EQ(Run({"sort", "l", "limit", "-1", "2"}), Array({Bulk("1"), Bulk("2")}));
  EXPECT_EQ(Run({"sort", "l", "limit", "1", "-1"}), Array({Bulk("2"), Bulk("3"), Bulk("10")}));
  ASSERT_EQ(Run({"mset", "w_3", "1", "w_1", "3", "w_2", "2"}), kOk);
  EXPECT_EQ(Run({"sort", "l", "by", "w_*"}), Array({Bulk("10"), Bulk("3"), Bulk("2"), Bulk("1")}));
  EXPECT_EQ(Run({"sort", "l", "by", "nosort"}),
            Array({Bulk("3"), Bulk("1"), Bulk("2"), Bulk("10")}));
  EXPECT_EQ(
      Run({"sort", "l", "by", "w_*", "get", "#", "get", "w_*"}),
      Array({Bulk("10"), kNil, Bulk("3"), Bulk("1"), Bulk("2"), Bulk("2"), Bulk("1"), Bulk("3")}));
  ASSERT_EQ(Run({"hset", "o_3", "f", "c"}), Int(1));
  ASSERT_EQ(Run({"hset", "o_1", "f", "a"}), Int(1));
  EXPECT_EQ(Run({"sort", "l", "by", "o_*->f", "alpha", "get", "o_*->f"}),
            Array({kNil, kNil, Bulk("a"), Bulk("c")}));
  ASSERT_EQ(Run({"sadd", "s", "b", "a", "c"}), Int(3));
  EXPECT_EQ(Run({"sort", "s", "alpha"}), Array({Bulk("a"), Bulk("b"), Bulk("c")}));
  EXPECT_EQ(Run({"sort", "s"}), Err("ERR One or more scores can't be converted into double"));
  ASSERT_EQ(Run({"zadd", "z", "3", "x", "1", "y", "2", "w"}), Int(3));
  EXPECT_EQ(Run({"sort", "z", "by", "nosort"}), Array({Bulk("y"), Bulk("w"), Bulk("x")}));
  EXPECT_EQ(Run({"sort", "z", "alpha", "desc", "limit", "0", "2"}), Array({Bulk("y"), Bulk("x")}));
  EXPECT_EQ(Run({"sort", "missing"}), "*0\r\n");
  ASSERT_EQ(Run({"set", "str", "v"}), kOk);
  EXPECT_EQ(Run({"sort", "str"}), Err(std::string(errors::kWrongType)));
  EXPECT_EQ(Run({"sort", "l", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sort", "l", "limit", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"sort_ro", "l", "desc"}), Array({Bulk("10"), Bulk("3"), Bulk("2"), Bulk("1")}));
  EXPECT_EQ(Run({"sort_ro", "l", "store", "dst"}), Err("ERR syntax error"));
}

TEST_F(SortTest, StoreWritesAList) {
  ASSERT_EQ(Run({"rpush", "l", "3", "1", "2"}), Int(3));
  ASSERT_EQ(Run({"hset", "dst", "old", "x"}), Int(1));
  EXPECT_EQ(Run({"sort", "l", "store", "dst"}), Int(3));
  EXPECT_EQ(Run({"type", "dst"}), "+list\r\n");
  EXPECT_EQ(Run({"lrange", "dst", "0", "-1"}), Array({Bulk("1"), Bulk("2"), Bulk("3")}));
  EXPECT_EQ(Run({"sort", "l", "get", "nothing_*", "store", "dst"}), Int(3));
  EXPECT_EQ(Run({"lrange", "dst", "0", "-1"}), Array({Bulk(""), Bulk(""), Bulk("")}));
  EXPECT_EQ(Run({"sort", "missing", "store", "dst"}), Int(0));
  EXPECT_EQ(Run({"exists", "dst"}), Int(0));
  // The keys the dispatcher locks: the source and the destination.
  EXPECT_EQ(Run({"command", "getkeys", "sort", "l", "limit", "0", "1", "store", "d"}),
            Array({Bulk("l"), Bulk("d")}));
  Reopen();
  EXPECT_EQ(Run({"sort", "l", "desc", "store", "dst"}), Int(3));
  EXPECT_EQ(Run({"lrange", "dst", "0", "-1"}), Array({Bulk("3"), Bulk("2"), Bulk("1")}));
}

}  // namespace
}  // namespace lsmkv::server
