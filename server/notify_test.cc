// Keyspace notifications (notify.h) and CLIENT REPLY, in process: the flag
// string of notify-keyspace-events, the events each command family
// publishes (on both channels, in Redis 7.0.15's order, as compared with
// redis-server), masks, nothing when off or when a command fails or changes
// nothing, and the replies CLIENT REPLY OFF|SKIP|ON lets through.
#include "server/notify.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/command_test_fixture.h"
#include "server/expiry_sweeper.h"
#include "server/pubsub.h"
#include "server/resp_parser.h"

namespace lsmkv::server {
namespace {

TEST(NotifyFlagsTest, ParsesAndPrintsInRedisOrder) {
  // Each pair was checked with CONFIG SET / CONFIG GET on redis-server 7.0.15.
  const std::pair<const char*, const char*> cases[] = {
      {"gKE", "gKE"},
      {"$lshzxeKE", "$lshzxeKE"},
      {"KA", "AK"},
      {"EA", "AE"},
      {"An", "A"},  // A hides n, as Redis prints it
      {"Ad", "A"},
      {"AKEmn", "AKEm"},
      {"nd", "dn"},
      {"m", "m"},
      {"x", "x"},
      {"", ""},
      {"KEA", "AKE"},
      {"g$lshzxetKE", "g$lshzxetKE"},  // no d: not all of A
      {"g$lshzxetdnKEm", "AKEm"},
      {"EKlEl", "lKE"},
  };
  for (const auto& [in, out] : cases) {
    uint32_t flags = 0;
    ASSERT_TRUE(ParseNotifyFlags(in, &flags)) << in;
    EXPECT_EQ(NotifyFlagsToString(flags), out) << in;
  }
  uint32_t flags = 12345;
  EXPECT_FALSE(ParseNotifyFlags("Kq", &flags));
  EXPECT_FALSE(ParseNotifyFlags("k", &flags));  // case matters
  EXPECT_EQ(flags, 12345u);                     // unchanged on error
  ASSERT_TRUE(ParseNotifyFlags("An", &flags));
  EXPECT_TRUE(flags & kNotifyNew);  // kept, though not printed
  EXPECT_EQ(flags & kNotifyKeyMiss, 0u);
}

TEST(NotifyFlagsTest, WantsNeedsAChannelAndTheClass) {
  PendingEvents events;
  EXPECT_FALSE(events.Wants(kNotifyString));
  events.set_flags(kNotifyString);  // no K or E: nothing is published
  EXPECT_FALSE(events.Wants(kNotifyString));
  events.set_flags(kNotifyString | kNotifyKeyevent);
  EXPECT_TRUE(events.Wants(kNotifyString));
  EXPECT_FALSE(events.Wants(kNotifyList));
}

// A published message as a subscriber of "*" sees it.
struct Message {
  std::string channel;
  std::string payload;
  bool operator==(const Message& o) const { return channel == o.channel && payload == o.payload; }
};
std::ostream& operator<<(std::ostream& os, const Message& m) {
  return os << m.channel << " " << m.payload;
}

class NotifyTest : public CommandsTest {
 protected:
  void SetUp() override {
    CommandsTest::SetUp();
    context_.pubsub = &pubsub_;
    subscriber_ = std::make_shared<Subscriber>(999, [] {});
    ASSERT_TRUE(pubsub_.PSubscribe(subscriber_, "*"));
  }

  void SetFlags(const std::string& flags) {
    ASSERT_EQ(Run({"CONFIG", "SET", "notify-keyspace-events", flags}), kOk);
  }

  // The messages published since the last call (pmessage frames of "*").
  std::vector<Message> Take() {
    std::string raw;
    EXPECT_TRUE(subscriber_->Drain(&raw));
    std::vector<Message> out;
    RespParser parser;
    size_t available = 0;
    char* buffer = parser.PrepareWrite(raw.size() + 1, &available);
    std::copy(raw.begin(), raw.end(), buffer);
    parser.Commit(raw.size());
    std::vector<std::string> frame;
    while (parser.Next(&frame) == RespParser::Result::kCommand) {
      EXPECT_EQ(frame.size(), 4u);
      EXPECT_EQ(frame[0], "pmessage");
      if (frame.size() == 4) out.push_back({frame[2], frame[3]});
    }
    return out;
  }

  // Both channels of one event in database db, in Redis's order.
  static std::vector<Message> Both(const std::string& event, const std::string& key, int db = 0) {
    const std::string d = std::to_string(db);
    return {{"__keyspace@" + d + "__:" + key, event}, {"__keyevent@" + d + "__:" + event, key}};
  }
  static std::vector<Message> Cat(std::vector<std::vector<Message>> parts) {
    std::vector<Message> out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  }

  PubSub pubsub_;
  std::shared_ptr<Subscriber> subscriber_;
};

TEST_F(NotifyTest, OffByDefaultPublishesNothing) {
  EXPECT_EQ(Run({"CONFIG", "GET", "notify-keyspace-events"}),
            "*2\r\n" + Bulk("notify-keyspace-events") + Bulk(""));
  Run({"SET", "a", "1"});
  Run({"LPUSH", "l", "x"});
  Run({"DEL", "a"});
  Run({"HSET", "h", "f", "v"});
  EXPECT_TRUE(Take().empty());
  // Classes without K or E publish nothing either.
  SetFlags("g$lshz");
  Run({"SET", "a", "1"});
  Run({"DEL", "a"});
  EXPECT_TRUE(Take().empty());
}

TEST_F(NotifyTest, ConfigSetAndGet) {
  SetFlags("KA");
  EXPECT_EQ(Run({"CONFIG", "GET", "notify-keyspace-events"}),
            "*2\r\n" + Bulk("notify-keyspace-events") + Bulk("AK"));
  EXPECT_EQ(Run({"CONFIG", "SET", "notify-keyspace-events", "Kq"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."));
  EXPECT_EQ(Run({"CONFIG", "GET", "notify-keyspace-events"}),
            "*2\r\n" + Bulk("notify-keyspace-events") + Bulk("AK"));
  SetFlags("");
  EXPECT_EQ(Run({"CONFIG", "GET", "notify-keyspace-events"}),
            "*2\r\n" + Bulk("notify-keyspace-events") + Bulk(""));
}

TEST_F(NotifyTest, KeyspaceOnlyKeyeventOnlyAndMasks) {
  SetFlags("KA");
  Run({"SET", "foo", "bar"});
  EXPECT_EQ(Take(), (std::vector<Message>{{"__keyspace@0__:foo", "set"}}));
  SetFlags("EA");
  Run({"SET", "foo", "bar"});
  EXPECT_EQ(Take(), (std::vector<Message>{{"__keyevent@0__:set", "foo"}}));
  SetFlags("KEl");  // lists only
  Run({"SET", "foo", "bar"});
  Run({"LPUSH", "mylist", "a"});
  EXPECT_EQ(Take(), Both("lpush", "mylist"));
}

TEST_F(NotifyTest, StringEvents) {
  SetFlags("KEA");
  Run({"SET", "s", "v", "EX", "100"});
  Run({"APPEND", "s", "w"});
  Run({"INCR", "n"});
  Run({"INCRBYFLOAT", "f", "1.5"});
  Run({"SETRANGE", "s", "0", "x"});
  Run({"SETRANGE", "s", "9", ""});  // changes nothing
  Run({"GETDEL", "s"});
  Run({"GETDEL", "s"});  // absent: nothing
  EXPECT_EQ(Take(),
            Cat({Both("set", "s"), Both("expire", "s"), Both("append", "s"), Both("incrby", "n"),
                 Both("incrbyfloat", "f"), Both("setrange", "s"), Both("del", "s")}));
  Run({"MSET", "a", "1", "b", "2"});
  Run({"MSETNX", "a", "1", "c", "3"});  // fails: nothing
  Run({"SET", "a", "1", "NX"});         // not set: nothing
  Run({"GETEX", "a", "PERSIST"});       // no deadline: nothing
  Run({"GETEX", "a", "EX", "10"});
  Run({"GETEX", "a", "PERSIST"});
  EXPECT_EQ(Take(),
            Cat({Both("set", "a"), Both("set", "b"), Both("expire", "a"), Both("persist", "a")}));
}

TEST_F(NotifyTest, NewKeyEventsOnlyForCreatedKeys) {
  SetFlags("En");
  Run({"SET", "foo", "bar"});
  Run({"SET", "foo", "baz"});  // exists: no "new"
  Run({"SET", "bar", "bar"});
  Run({"RPUSH", "l", "a", "b"});
  Run({"RPUSH", "l", "c"});
  EXPECT_EQ(Take(), (std::vector<Message>{{"__keyevent@0__:new", "foo"},
                                          {"__keyevent@0__:new", "bar"},
                                          {"__keyevent@0__:new", "l"}}));
  // "new" comes before the command's own event.
  SetFlags("KEAn");
  Run({"HSET", "h", "f", "v"});
  EXPECT_EQ(Take(), Cat({Both("new", "h"), Both("hset", "h")}));
  // A rename always makes its destination new (Redis deletes it first).
  Run({"SET", "x", "1"});
  Take();
  Run({"RENAME", "x", "foo"});
  EXPECT_EQ(Take(), Cat({Both("new", "foo"), Both("rename_from", "x"), Both("rename_to", "foo")}));
}

TEST_F(NotifyTest, ListEventsIncludingMovesAndEmptiedKeys) {
  SetFlags("KEA");
  Run({"LPUSH", "l", "a", "b"});
  Run({"RPUSH", "l", "c"});
  Run({"LPUSHX", "nolist", "z"});  // nothing
  Run({"LINSERT", "l", "BEFORE", "c", "X"});
  Run({"LINSERT", "l", "BEFORE", "nope", "X"});  // nothing
  Run({"LSET", "l", "0", "Q"});
  Run({"LREM", "l", "0", "X"});
  Run({"LTRIM", "l", "0", "-1"});  // Redis notifies even when nothing goes
  EXPECT_EQ(Take(), Cat({Both("lpush", "l"), Both("rpush", "l"), Both("linsert", "l"),
                         Both("lset", "l"), Both("lrem", "l"), Both("ltrim", "l")}));
  // LMOVE: the push on the destination, then the pop on the source.
  Run({"LMOVE", "l", "l2", "LEFT", "RIGHT"});
  Run({"RPOPLPUSH", "l", "l2"});
  EXPECT_EQ(Take(),
            Cat({Both("rpush", "l2"), Both("lpop", "l"), Both("lpush", "l2"), Both("rpop", "l")}));
  // Popping the last element deletes the key: "del" after the pop.
  Run({"RPOP", "l", "10"});
  Run({"LTRIM", "l2", "5", "10"});
  EXPECT_EQ(Take(),
            Cat({Both("rpop", "l"), Both("del", "l"), Both("ltrim", "l2"), Both("del", "l2")}));
  Run({"RPUSH", "src", "x"});
  Run({"LMPOP", "1", "src", "LEFT"});
  EXPECT_EQ(Take(), Cat({Both("rpush", "src"), Both("lpop", "src"), Both("del", "src")}));
}

TEST_F(NotifyTest, SetZsetAndHashEvents) {
  SetFlags("Ks");
  Run({"SADD", "myset", "a", "b", "c", "d"});
  Run({"SREM", "myset", "x"});  // nothing removed: nothing
  Run({"SADD", "myset", "x", "y", "z"});
  Run({"SREM", "myset", "x"});
  EXPECT_EQ(Take(), (std::vector<Message>{{"__keyspace@0__:myset", "sadd"},
                                          {"__keyspace@0__:myset", "sadd"},
                                          {"__keyspace@0__:myset", "srem"}}));
  SetFlags("KEA");
  Run({"SADD", "s3", "x"});
  Run({"SMOVE", "s3", "s2", "x"});
  Run({"SUNIONSTORE", "d", "myset", "s2"});
  Run({"SDIFFSTORE", "d", "nope"});  // empty result deletes d
  EXPECT_EQ(Take(), Cat({Both("sadd", "s3"), Both("srem", "s3"), Both("del", "s3"),
                         Both("sadd", "s2"), Both("sunionstore", "d"), Both("del", "d")}));

  Run({"ZADD", "z", "1", "a", "2", "b"});
  Run({"ZADD", "z", "1", "a"});  // same score: nothing
  Run({"ZADD", "z", "INCR", "1", "a"});
  Run({"ZINCRBY", "z", "2", "b"});
  Run({"ZREM", "z", "nope"});
  Run({"ZREMRANGEBYRANK", "z", "0", "0"});
  Run({"ZPOPMAX", "z", "10"});
  EXPECT_EQ(Take(), Cat({Both("zadd", "z"), Both("zincr", "z"), Both("zincr", "z"),
                         Both("zremrangebyrank", "z"), Both("zpopmax", "z"), Both("del", "z")}));
  Run({"ZADD", "z1", "1", "a"});
  Run({"ZUNIONSTORE", "u", "1", "z1"});
  Run({"ZRANGESTORE", "u", "z1", "5", "6"});  // empty: deletes u
  EXPECT_EQ(Take(), Cat({Both("zadd", "z1"), Both("zunionstore", "u"), Both("del", "u")}));

  Run({"HMSET", "h", "yes", "1", "no", "0"});
  Run({"HINCRBY", "h", "yes", "10"});
  Run({"HINCRBYFLOAT", "h", "yes", "0.5"});
  Run({"HSETNX", "h", "yes", "2"});  // exists: nothing
  Run({"HDEL", "h", "nope"});        // nothing
  Run({"HDEL", "h", "yes", "no"});
  EXPECT_EQ(Take(), Cat({Both("hset", "h"), Both("hincrby", "h"), Both("hincrbyfloat", "h"),
                         Both("hdel", "h"), Both("del", "h")}));
}

// Stream events as redis-server 7.0.15 publishes them (the pubsub unit's
// "stream events test" and more): a consumer is announced whoever creates
// it, XGROUP DELCONSUMER only of one that existed, XTRIM/XDEL only when
// they removed something, XADD's trimming as xadd then xtrim.
TEST_F(NotifyTest, StreamEvents) {
  SetFlags("Kt");
  Run({"XGROUP", "CREATE", "st", "g", "$", "MKSTREAM"});
  Run({"XGROUP", "CREATECONSUMER", "st", "g", "Bob"});
  Run({"XGROUP", "CREATECONSUMER", "st", "g", "Bob"});  // exists: nothing
  Run({"XADD", "st", "1", "f", "A"});
  Run({"XREADGROUP", "GROUP", "g", "Alice", "STREAMS", "st", ">"});
  Run({"XCLAIM", "st", "g", "Mike", "0", "1-0", "FORCE"});
  Run({"XGROUP", "DELCONSUMER", "st", "g", "Lee"});   // absent: nothing
  Run({"XAUTOCLAIM", "st", "g", "Bob", "0", "1-0"});  // Bob exists: nothing
  Run({"XGROUP", "DELCONSUMER", "st", "g", "Bob"});
  auto ks = [](const char* event) { return Message{"__keyspace@0__:st", event}; };
  EXPECT_EQ(Take(), (std::vector<Message>{ks("xgroup-create"), ks("xgroup-createconsumer"),
                                          ks("xadd"), ks("xgroup-createconsumer"),
                                          ks("xgroup-createconsumer"), ks("xgroup-delconsumer")}));
  Run({"XADD", "st", "MAXLEN", "1", "2", "f", "v"});
  Run({"XADD", "st", "3", "f", "v"});
  Run({"XTRIM", "st", "MAXLEN", "1"});
  Run({"XTRIM", "st", "MAXLEN", "1"});  // nothing trimmed: nothing
  Run({"XDEL", "st", "3-0"});
  Run({"XDEL", "st", "3-0"});  // gone: nothing
  Run({"XSETID", "st", "10-0"});
  Run({"XGROUP", "SETID", "st", "g", "0"});
  Run({"XGROUP", "DESTROY", "st", "g"});
  Run({"XGROUP", "DESTROY", "st", "g"});  // gone: nothing
  Run({"XADD", "nope", "NOMKSTREAM", "*", "a", "b"});
  EXPECT_EQ(Take(),
            (std::vector<Message>{ks("xadd"), ks("xtrim"), ks("xadd"), ks("xtrim"), ks("xdel"),
                                  ks("xsetid"), ks("xgroup-setid"), ks("xgroup-destroy")}));
  SetFlags("Kg");  // t off: stream events are masked
  Run({"XADD", "st", "4", "f", "v"});
  Run({"DEL", "st"});
  EXPECT_EQ(Take(), (std::vector<Message>{{"__keyspace@0__:st", "del"}}));
}

TEST_F(NotifyTest, GenericEventsAcrossDatabases) {
  SetFlags("KEg");
  Run({"SET", "foo", "bar"});
  Run({"EXPIRE", "foo", "100"});
  Run({"EXPIRE", "foo", "100", "NX"});  // not changed: nothing
  Run({"PERSIST", "foo"});
  Run({"PERSIST", "foo"});  // nothing
  Run({"DEL", "foo", "nope"});
  EXPECT_EQ(Take(), Cat({Both("expire", "foo"), Both("persist", "foo"), Both("del", "foo")}));
  Run({"SET", "e", "1"});
  Run({"EXPIRE", "e", "-1"});  // a deadline in the past deletes it
  EXPECT_EQ(Take(), Both("del", "e"));
  Run({"SET", "f", "1"});
  Run({"MOVE", "f", "1"});
  Run({"COPY", "f", "g", "DB", "0"});  // f is in database 1 now: not copied
  EXPECT_EQ(Take(), Cat({Both("move_from", "f", 0), Both("move_to", "f", 1)}));
  Run({"SELECT", "1"});
  Run({"COPY", "f", "h", "DB", "2"});
  EXPECT_EQ(Take(), Both("copy_to", "h", 2));
  Run({"SELECT", "0"});
  // After SWAPDB the logical number is published, not the physical one.
  Run({"SWAPDB", "0", "1"});
  Run({"DEL", "f"});
  EXPECT_EQ(Take(), Both("del", "f", 0));
  Run({"RPUSH", "src", "3", "1", "2"});
  SetFlags("KEA");
  Run({"SORT", "src", "STORE", "dst"});
  Run({"SORT", "nope", "STORE", "dst"});
  EXPECT_EQ(Take(), Cat({Both("sortstore", "dst"), Both("del", "dst")}));
}

TEST_F(NotifyTest, FailedAndNoOpCommandsPublishNothing) {
  SetFlags("KEA");
  Run({"LPUSH", "l", "a"});
  Take();
  EXPECT_EQ(Run({"SET", "a", "1", "XX"}), kNil);
  EXPECT_EQ(Run({"INCR", "l"}), Err(std::string(errors::kWrongType)));
  EXPECT_EQ(Run({"SADD", "l", "x"}), Err(std::string(errors::kWrongType)));
  Run({"SET", "s", "abc"});
  Take();
  EXPECT_EQ(Run({"INCR", "s"}), Err(std::string(errors::kNotInteger)));
  Run({"DEL", "nope"});
  Run({"RENAMENX", "s", "l"});
  EXPECT_TRUE(Take().empty());
}

TEST_F(NotifyTest, TransactionPublishesAfterExecInOrder) {
  SetFlags("KEA");
  Run({"MULTI"});
  Run({"SET", "a", "1"});
  Run({"LPUSH", "l", "x"});
  EXPECT_TRUE(Take().empty());  // queued, nothing ran
  Run({"EXEC"});
  EXPECT_EQ(Take(), Cat({Both("set", "a"), Both("lpush", "l")}));
  // A pipeline batch publishes after its commit (Finish).
  PipelineBatch batch(keyspace_.get(), &context_);
  std::string out;
  Reply reply(&out, 2);
  for (Args args : {Args{"SET", "p", "1"}, Args{"DEL", "p"}}) {
    ExecuteCommand(context_, *client_, args, reply, &batch);
  }
  batch.Finish(reply);
  EXPECT_EQ(Take(), Cat({Both("set", "p"), Both("del", "p")}));
}

// A write over a value whose deadline passed before the sweep removed it:
// "expired" first (Redis's lazy expiry), then "new"; the sweep then finds
// the new value and reports nothing, so the event comes once.
TEST_F(NotifyTest, WriteOverAnExpiredValueReportsExpiredOnce) {
  SetFlags("KEA");
  Run({"SET", "k", "1", "PX", "100"});
  Run({"RPUSH", "l", "a"});
  Run({"PEXPIRE", "l", "100"});
  Take();
  clock_.AdvanceMs(200);
  SetFlags("KEAn");
  Run({"MSET", "k", "2", "k", "3"});  // written twice: once "expired", once "new"
  Run({"RPUSH", "l", "b"});
  EXPECT_EQ(Take(), Cat({Both("expired", "k"), Both("new", "k"), Both("set", "k"), Both("set", "k"),
                         Both("expired", "l"), Both("new", "l"), Both("rpush", "l")}));
  uint64_t removed = 0;
  int reported = 0;
  ASSERT_TRUE(
      SweepExpired(keyspace_.get(), clock_.NowMs(), 1000, &removed, [&](int, std::string_view) {
        reported++;
      }).ok());
  EXPECT_EQ(removed, 0u);
  EXPECT_EQ(reported, 0);
  EXPECT_EQ(Run({"LRANGE", "l", "0", "-1"}), "*1\r\n" + Bulk("b"));
  // Only "x": no extra "new".
  Run({"SET", "k", "1", "PX", "100"});
  Take();
  clock_.AdvanceMs(200);
  SetFlags("Kx");
  Run({"SET", "k", "4"});
  EXPECT_EQ(Take(), (std::vector<Message>{{"__keyspace@0__:k", "expired"}}));
}

TEST_F(NotifyTest, ExpiredKeysAreReportedBySweep) {
  Run({"SET", "a", "1", "PX", "100"});
  Run({"SELECT", "3"});
  Run({"SET", "b", "1", "PX", "100"});
  Run({"SET", "c", "1", "PX", "100000"});
  clock_.AdvanceMs(200);
  std::vector<std::pair<int, std::string>> expired;
  uint64_t removed = 0;
  ASSERT_TRUE(SweepExpired(
                  keyspace_.get(), clock_.NowMs(), 1000, &removed,
                  [&](int db, std::string_view key) { expired.emplace_back(db, std::string(key)); })
                  .ok());
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(expired,
            (std::vector<std::pair<int, std::string>>{{0, "a"}, {keyspace_->PhysicalDb(3), "b"}}));
  // What the background worker publishes for them.
  uint32_t flags = 0;
  ASSERT_TRUE(ParseNotifyFlags("Ex", &flags));
  for (const auto& [db, key] : expired)
    PublishEvent(context_, flags, kNotifyExpired, db, "expired", key);
  PublishEvent(context_, flags, kNotifyGeneric, 0, "del", "ignored");  // class not asked for
  EXPECT_EQ(Take(), (std::vector<Message>{{"__keyevent@0__:expired", "a"},
                                          {"__keyevent@3__:expired", "b"}}));
}

// CLIENT REPLY through the dispatcher.
TEST_F(NotifyTest, ClientReplyOffSkipOn) {
  EXPECT_EQ(Run({"CLIENT", "REPLY", "OFF"}), "");
  EXPECT_EQ(Run({"SET", "a", "1"}), "");
  EXPECT_EQ(Run({"GET", "a"}), "");
  EXPECT_EQ(Run({"NOSUCHCOMMAND"}), "");            // errors too
  EXPECT_EQ(Run({"CLIENT", "REPLY", "SKIP"}), "");  // ignored while off
  EXPECT_EQ(Run({"CLIENT", "REPLY", "ON"}), kOk);
  EXPECT_EQ(Run({"GET", "a"}), Bulk("1"));  // the writes ran
  EXPECT_EQ(Run({"CLIENT", "REPLY", "SKIP"}), "");
  EXPECT_EQ(Run({"INCR", "a"}), "");        // skipped
  EXPECT_EQ(Run({"GET", "a"}), Bulk("2"));  // only one
  EXPECT_EQ(Run({"CLIENT", "REPLY", "SKIP"}), "");
  EXPECT_EQ(Run({"CLIENT", "REPLY", "ON"}), kOk);  // ON answers even when skipped
  EXPECT_EQ(Run({"CLIENT", "REPLY", "MAYBE"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"CLIENT", "REPLY"}),
            Err("ERR wrong number of arguments for 'client|reply' command"));
  // MULTI's QUEUED and EXEC's array are silenced too.
  Run({"CLIENT", "REPLY", "OFF"});
  EXPECT_EQ(Run({"MULTI"}), "");
  EXPECT_EQ(Run({"INCR", "a"}), "");
  EXPECT_EQ(Run({"EXEC"}), "");
  EXPECT_EQ(Run({"CLIENT", "REPLY", "ON"}), kOk);
  EXPECT_EQ(Run({"GET", "a"}), Bulk("3"));
}

TEST_F(NotifyTest, ClientReplyOffKeepsPubSubPushes) {
  ClientState* sub = NewClient();
  EXPECT_EQ(Run(sub, {"CLIENT", "REPLY", "OFF"}), "");
  // (Un)subscribe confirmations are pushes: still delivered.
  EXPECT_EQ(Run(sub, {"SUBSCRIBE", "ch"}), "*3\r\n" + Bulk("subscribe") + Bulk("ch") + Int(1));
  EXPECT_EQ(Run(sub, {"PING"}), "");                // a reply: silenced
  EXPECT_EQ(Run({"PUBLISH", "ch", "hi"}), Int(2));  // sub and the fixture's "*"
  std::string pending;
  ASSERT_TRUE(sub->subscriber->Drain(&pending));
  EXPECT_EQ(pending, "*3\r\n" + Bulk("message") + Bulk("ch") + Bulk("hi"));
  EXPECT_EQ(Run(sub, {"UNSUBSCRIBE", "ch"}), "*3\r\n" + Bulk("unsubscribe") + Bulk("ch") + Int(0));
  EXPECT_EQ(Run(sub, {"CLIENT", "REPLY", "ON"}), kOk);
  pubsub_.RemoveAll(sub->subscriber.get());
}

TEST_F(NotifyTest, ClientHelpListsReply) {
  const std::string help = Run({"CLIENT", "HELP"});
  EXPECT_NE(help.find("+REPLY (ON|OFF|SKIP)\r\n"), std::string::npos) << help;
  EXPECT_NE(help.find("+    Control the replies sent to the current connection.\r\n"),
            std::string::npos);
}

}  // namespace
}  // namespace lsmkv::server
