// Stream commands in process (command_test_fixture.h): the encoding
// (stream.h), replies byte for byte as redis-server 7.0.15 sends them, the
// consumer-group state across commands, and a randomized comparison of
// XADD/XDEL/XTRIM/XRANGE with a std::map model.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "server/collection.h"
#include "server/command_test_fixture.h"
#include "server/stream.h"

namespace lsmkv::server {
namespace {

const char kWrongType[] = "WRONGTYPE Operation against a key holding the wrong kind of value";

std::string Array(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& item : items) out += item;
  return out;
}
// [id, [f, v, ...]]
std::string EntryReply(const std::string& id, std::initializer_list<std::string> fields) {
  std::string out = "*2\r\n" + Bulk(id) + "*" + std::to_string(fields.size()) + "\r\n";
  for (const std::string& f : fields) out += Bulk(f);
  return out;
}

// The stream records (any prefix, any version) of user_key in the engine.
size_t StoredRecords(DB* db, char prefix, std::string_view user_key) {
  ReadOptions options;
  options.lower_bound = std::string(1, prefix);
  options.upper_bound = std::string(1, prefix + 1);
  size_t n = 0;
  auto it = db->NewIterator(options);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ElementKey element;
    EXPECT_TRUE(DecodeElementKey(it->key(), &element));
    if (element.user_key == user_key) n++;
  }
  return n;
}

using StreamTest = CommandsTest;

TEST(StreamCodecTest, IdsMetaAndRecordsRoundTrip) {
  StreamId id;
  EXPECT_TRUE(ParseStreamId("5", 7, &id));
  EXPECT_EQ(id, (StreamId{5, 7}));
  EXPECT_TRUE(ParseStreamId("18446744073709551615-18446744073709551615", 0, &id));
  EXPECT_TRUE(id.IsMax());
  EXPECT_FALSE(ParseStreamId("18446744073709551616", 0, &id));
  EXPECT_FALSE(ParseStreamId("-1", 0, &id));
  EXPECT_FALSE(ParseStreamId("1-", 0, &id));
  EXPECT_FALSE(ParseStreamId("1-*", 0, &id));
  bool auto_seq = false;
  EXPECT_TRUE(ParseStreamId("3-*", 0, &id, true, &auto_seq));
  EXPECT_TRUE(auto_seq);
  EXPECT_EQ(id.ms, 3u);

  StreamId next{1, UINT64_MAX};
  EXPECT_TRUE(IncrementId(&next));
  EXPECT_EQ(next, (StreamId{2, 0}));
  EXPECT_TRUE(DecrementId(&next));
  EXPECT_EQ(next, (StreamId{1, UINT64_MAX}));
  StreamId max = kMaxStreamId, zero;
  EXPECT_FALSE(IncrementId(&max));
  EXPECT_FALSE(DecrementId(&zero));

  // Big-endian ids sort like ids.
  std::string a, b;
  AppendIdBe(StreamId{1, 300}, &a);
  AppendIdBe(StreamId{2, 1}, &b);
  EXPECT_LT(a, b);

  StreamMeta meta{7, 3, {9, 1}, {2, 0}, {4, 4}, 12, 2};
  std::string payload;
  EncodeStreamMeta(meta, &payload);
  EXPECT_EQ(payload.size(), kStreamMetaBytes);
  StreamMeta back;
  ASSERT_TRUE(DecodeStreamMeta(payload, &back));
  EXPECT_EQ(back.version, 7u);
  EXPECT_EQ(back.last_id, (StreamId{9, 1}));
  EXPECT_EQ(back.max_deleted, (StreamId{4, 4}));
  EXPECT_EQ(back.groups, 2u);
  CollectionMeta common;
  ASSERT_TRUE(DecodeCollectionMeta(ValueType::kStream, payload, &common));
  EXPECT_EQ(common.version, 7u);
  EXPECT_EQ(common.count, 3u);
  EXPECT_FALSE(DecodeStreamMeta(payload.substr(1), &back));

  std::string entry;
  EncodeStreamEntry({"f", "", "g", std::string(300, 'x')}, &entry);
  std::vector<std::string_view> fields;
  ASSERT_TRUE(DecodeStreamEntry(entry, &fields));
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[3].size(), 300u);
  EXPECT_FALSE(DecodeStreamEntry(entry.substr(0, entry.size() - 1), &fields));

  StreamPending pending{123, 4, "consumer"};
  std::string pv;
  EncodeStreamPending(pending, &pv);
  StreamPending pb;
  ASSERT_TRUE(DecodeStreamPending(pv, &pb));
  EXPECT_EQ(pb.consumer, "consumer");
  EXPECT_EQ(pb.delivery_count, 4u);

  // Group records of one group sort together, groups by name.
  EXPECT_LT(GroupSuffix("a"), GroupSuffix("b"));
  EXPECT_LT(GroupSuffix("zz"), PendingSuffix("a"));
  EXPECT_LT(PendingSuffix("g", StreamId{1, 0}), PendingSuffix("g", StreamId{1, 1}));
}

TEST_F(StreamTest, XAddIdsAndErrors) {
  EXPECT_EQ(Run({"xadd", "s", "0-0", "a", "1"}),
            Err("ERR The ID specified in XADD must be greater than 0-0"));
  EXPECT_EQ(Run({"exists", "s"}), Int(0));
  EXPECT_EQ(Run({"xadd", "s", "0-*", "a", "1"}), Bulk("0-1"));
  EXPECT_EQ(Run({"xadd", "s", "5-*", "a", "1"}), Bulk("5-0"));
  EXPECT_EQ(Run({"xadd", "s", "5-*", "a", "1"}), Bulk("5-1"));
  EXPECT_EQ(Run({"xadd", "s", "5", "a", "1"}),
            Err("ERR The ID specified in XADD is equal or smaller than the target stream top "
                "item"));
  EXPECT_EQ(Run({"xadd", "s", "-", "a", "1"}),
            Err("ERR Invalid stream ID specified as stream command argument"));
  EXPECT_EQ(Run({"xadd", "s", "7-1", "a"}),
            Err("ERR wrong number of arguments for 'xadd' command"));
  // '*' takes the server clock's milliseconds; the same millisecond again
  // bumps the sequence.
  const std::string now = std::to_string(kStartMs);
  EXPECT_EQ(Run({"xadd", "s", "*", "a", "1"}), Bulk(now + "-0"));
  EXPECT_EQ(Run({"xadd", "s", "*", "a", "1"}), Bulk(now + "-1"));
  clock_.AdvanceMs(5);
  EXPECT_EQ(Run({"xadd", "s", "*", "a", "1"}), Bulk(std::to_string(kStartMs + 5) + "-0"));
  EXPECT_EQ(Run({"xadd", "s", "18446744073709551615-18446744073709551615", "a", "1"}),
            Bulk("18446744073709551615-18446744073709551615"));
  EXPECT_EQ(Run({"xadd", "s", "*", "a", "1"}),
            Err("ERR The stream has exhausted the last possible ID, unable to add more items"));
  EXPECT_EQ(Run({"xadd", "n", "nomkstream", "1-1", "a", "1"}), kNil);
  EXPECT_EQ(Run({"exists", "n"}), Int(0));
  EXPECT_EQ(Run({"xadd", "s", "maxlen", "-1", "9-9", "a", "1"}),
            Err("ERR The MAXLEN argument must be >= 0."));
  EXPECT_EQ(Run({"xadd", "s", "maxlen", "2", "limit", "5", "9-9", "a", "1"}),
            Err("ERR syntax error, LIMIT cannot be used without the special ~ option"));
  EXPECT_EQ(Run({"type", "s"}), "+stream\r\n");
  EXPECT_EQ(Run({"object", "encoding", "s"}), Bulk("stream"));
  EXPECT_EQ(Run({"set", "str", "v"}), kOk);
  EXPECT_EQ(Run({"xadd", "str", "1-1", "a", "1"}), Err(kWrongType));
  EXPECT_EQ(Run({"xlen", "str"}), Err(kWrongType));
  EXPECT_EQ(Run({"xlen", "s"}), Int(7));
}

TEST_F(StreamTest, RangesCountAndExclusiveBounds) {
  for (int i = 1; i <= 5; i++) {
    Run({"xadd", "s", std::to_string(i) + "-0", "f", std::to_string(i)});
  }
  EXPECT_EQ(Run({"xrange", "s", "(2", "(5", "count", "1"}), Array({EntryReply("3-0", {"f", "3"})}));
  EXPECT_EQ(Run({"xrevrange", "s", "+", "-", "count", "2"}),
            Array({EntryReply("5-0", {"f", "5"}), EntryReply("4-0", {"f", "4"})}));
  EXPECT_EQ(Run({"xrange", "s", "-", "+", "count", "0"}), "*-1\r\n");
  EXPECT_EQ(Run({"xrange", "s", "4", "2"}), "*0\r\n");
  EXPECT_EQ(Run({"xrange", "s", "(18446744073709551615-18446744073709551615", "+"}),
            Err("ERR invalid start ID for the interval"));
  EXPECT_EQ(Run({"xrange", "s", "(-", "+"}),
            Err("ERR Invalid stream ID specified as stream command argument"));
  EXPECT_EQ(Run({"xrange", "nokey", "-", "+"}), "*0\r\n");
  EXPECT_EQ(Run({"xdel", "s", "1-0", "3-0", "9-0"}), Int(2));
  EXPECT_EQ(Run({"xrange", "s", "-", "2"}), Array({EntryReply("2-0", {"f", "2"})}));
}

// Random XADD/XDEL/XTRIM (exact MAXLEN and MINID) against a std::map
// model, with XRANGE/XREVRANGE/XLEN checked after each step.
TEST_F(StreamTest, ModelRandomized) {
  std::mt19937 rng(20261204);
  std::map<StreamId, std::string> model;
  StreamId last;
  for (int step = 0; step < 600; step++) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      const StreamId id{rng() % 200, rng() % 3};
      const std::string v = std::to_string(step);
      const std::string reply = Run({"xadd", "s", id.ToString(), "f", v});
      if (id > last) {
        ASSERT_EQ(reply, Bulk(id.ToString()));
        model[id] = v;
        last = id;
      } else {
        ASSERT_EQ(reply.substr(0, 1), "-") << id.ToString();
      }
    } else if (op < 7) {
      const StreamId id{rng() % 200, rng() % 3};
      ASSERT_EQ(Run({"xdel", "s", id.ToString()}), Int(model.erase(id)));
    } else if (op == 7) {
      const size_t maxlen = rng() % 30;
      size_t removed = 0;
      while (model.size() > maxlen) {
        model.erase(model.begin());
        removed++;
      }
      ASSERT_EQ(Run({"xtrim", "s", "maxlen", std::to_string(maxlen)}),
                model.empty() && removed == 0 && last.IsZero() ? Int(0) : Int(removed));
    } else if (op == 8) {
      const StreamId minid{rng() % 200, 0};
      size_t removed = 0;
      while (!model.empty() && model.begin()->first < minid) {
        model.erase(model.begin());
        removed++;
      }
      ASSERT_EQ(Run({"xtrim", "s", "minid", minid.ToString()}), Int(removed));
    }
    // Check a random range both ways.
    StreamId lo{rng() % 200, 0}, hi{rng() % 200, 5};
    if (hi < lo) std::swap(lo, hi);
    std::string expected, reversed;
    size_t n = 0;
    for (auto it = model.lower_bound(lo); it != model.end() && it->first <= hi; ++it, n++) {
      expected += EntryReply(it->first.ToString(), {"f", it->second});
      reversed = EntryReply(it->first.ToString(), {"f", it->second}) + reversed;
    }
    const std::string header = "*" + std::to_string(n) + "\r\n";
    const bool exists = !last.IsZero();
    ASSERT_EQ(Run({"xrange", "s", lo.ToString(), hi.ToString()}), header + expected);
    ASSERT_EQ(Run({"xrevrange", "s", hi.ToString(), lo.ToString()}), header + reversed);
    ASSERT_EQ(Run({"xlen", "s"}), Int(exists ? static_cast<int64_t>(model.size()) : 0));
  }
}

TEST_F(StreamTest, ApproximateTrimRemovesWholeBlocks) {
  EXPECT_EQ(Run({"config", "set", "stream-node-max-entries", "10"}), kOk);
  for (int i = 1; i <= 95; i++) {
    Run({"xadd", "s", "maxlen", "~", "50", std::to_string(i) + "-0", "f", "v"});
  }
  // Blocks of 10 by insertion order: the length stays between 50 and 60.
  EXPECT_EQ(Run({"xlen", "s"}), Int(55));
  EXPECT_EQ(Run({"xrange", "s", "-", "+", "count", "1"}), Array({EntryReply("41-0", {"f", "v"})}));
  EXPECT_EQ(Run({"xtrim", "s", "maxlen", "~", "0", "limit", "20"}), Int(20));
  EXPECT_EQ(Run({"xtrim", "s", "minid", "~", "75"}), Int(10));
  EXPECT_EQ(Run({"xtrim", "s", "minid", "75"}), Int(4));
  EXPECT_EQ(Run({"xlen", "s"}), Int(21));
}

TEST_F(StreamTest, ConsumerGroups) {
  for (int i = 1; i <= 5; i++) Run({"xadd", "s", std::to_string(i) + "-0", "f", "v"});
  EXPECT_EQ(Run({"xgroup", "create", "s", "g", "0"}), kOk);
  EXPECT_EQ(Run({"xgroup", "create", "s", "g", "0"}),
            Err("BUSYGROUP Consumer Group name already exists"));
  EXPECT_EQ(Run({"xgroup", "create", "nokey", "g", "0"}).substr(0, 40),
            "-ERR The XGROUP subcommand requires the ");
  EXPECT_EQ(Run({"xreadgroup", "group", "g", "alice", "count", "2", "streams", "s", ">"}),
            Array({Array({Bulk("s"), Array({EntryReply("1-0", {"f", "v"}),
                                            EntryReply("2-0", {"f", "v"})})})}));
  clock_.AdvanceMs(100);
  EXPECT_EQ(Run({"xreadgroup", "group", "g", "bob", "count", "1", "streams", "s", ">"}),
            Array({Array({Bulk("s"), Array({EntryReply("3-0", {"f", "v"})})})}));
  EXPECT_EQ(Run({"xpending", "s", "g"}),
            Array({Int(3), Bulk("1-0"), Bulk("3-0"),
                   Array({Array({Bulk("alice"), Bulk("2")}), Array({Bulk("bob"), Bulk("1")})})}));
  EXPECT_EQ(Run({"xpending", "s", "g", "-", "+", "10", "alice"}),
            Array({Array({Bulk("1-0"), Bulk("alice"), Int(100), Int(1)}),
                   Array({Bulk("2-0"), Bulk("alice"), Int(100), Int(1)})}));
  // History: alice's own PEL, delivery count up.
  EXPECT_EQ(Run({"xreadgroup", "group", "g", "alice", "streams", "s", "1-0"}),
            Array({Array({Bulk("s"), Array({EntryReply("2-0", {"f", "v"})})})}));
  EXPECT_EQ(Run({"xack", "s", "g", "1-0", "9-0"}), Int(1));
  // XCLAIM: bob's 3-0 idles 50 ms, under 60: not claimed; at 60 it is.
  clock_.AdvanceMs(50);
  EXPECT_EQ(Run({"xclaim", "s", "g", "carol", "60", "3-0", "justid"}), "*0\r\n");
  clock_.AdvanceMs(10);
  EXPECT_EQ(Run({"xclaim", "s", "g", "carol", "60", "3-0", "justid"}), Array({Bulk("3-0")}));
  EXPECT_EQ(Run({"xpending", "s", "g", "-", "+", "10", "carol"}),
            Array({Array({Bulk("3-0"), Bulk("carol"), Int(0), Int(1)})}));
  // XAUTOCLAIM: a deleted entry leaves the PEL and is reported.
  EXPECT_EQ(Run({"xdel", "s", "2-0"}), Int(1));
  EXPECT_EQ(Run({"xautoclaim", "s", "g", "dave", "0", "0", "count", "10"}),
            Array({Bulk("0-0"), Array({EntryReply("3-0", {"f", "v"})}), Array({Bulk("2-0")})}));
  // lag: 5 entries added, 3 read, no deletion after the last delivered id.
  EXPECT_EQ(Run({"xinfo", "groups", "s"}),
            Array({Array({Bulk("name"), Bulk("g"), Bulk("consumers"), Int(4), Bulk("pending"),
                          Int(1), Bulk("last-delivered-id"), Bulk("3-0"), Bulk("entries-read"),
                          Int(3), Bulk("lag"), Int(2)})}));
  clock_.AdvanceMs(7);
  EXPECT_EQ(
      Run({"xinfo", "consumers", "s", "g"}),
      Array({Array({Bulk("name"), Bulk("alice"), Bulk("pending"), Int(0), Bulk("idle"), Int(67)}),
             Array({Bulk("name"), Bulk("bob"), Bulk("pending"), Int(0), Bulk("idle"), Int(67)}),
             Array({Bulk("name"), Bulk("carol"), Bulk("pending"), Int(0), Bulk("idle"), Int(7)}),
             Array({Bulk("name"), Bulk("dave"), Bulk("pending"), Int(1), Bulk("idle"), Int(7)})}));
  EXPECT_EQ(Run({"xgroup", "delconsumer", "s", "g", "dave"}), Int(1));
  EXPECT_EQ(Run({"xpending", "s", "g"}), Array({Int(0), kNil, kNil, "*-1\r\n"}));
  EXPECT_EQ(Run({"xgroup", "destroy", "s", "g"}), Int(1));
  EXPECT_EQ(Run({"xgroup", "destroy", "s", "g"}), Int(0));
  // Nothing of the group is left in the engine... once flushed; the
  // pending writes were deletions in the same batch, so the records are
  // gone at once.
  EXPECT_EQ(Run({"xinfo", "groups", "s"}), "*0\r\n");
}

// An empty stream stays (unlike the other collections); DEL makes every
// record unreachable at once and COPY copies groups and PELs.
TEST_F(StreamTest, EmptyStreamsDelAndCopy) {
  EXPECT_EQ(Run({"xgroup", "create", "s", "g", "$", "mkstream"}), kOk);
  EXPECT_EQ(Run({"xlen", "s"}), Int(0));
  EXPECT_EQ(Run({"exists", "s"}), Int(1));
  EXPECT_EQ(Run({"xadd", "s", "1-1", "a", "b"}), Bulk("1-1"));
  EXPECT_EQ(Run({"xreadgroup", "group", "g", "c", "streams", "s", ">"}).substr(0, 4), "*1\r\n");
  EXPECT_EQ(Run({"xdel", "s", "1-1"}), Int(1));
  EXPECT_EQ(Run({"exists", "s"}), Int(1));
  EXPECT_EQ(Run({"copy", "s", "t"}), Int(1));
  const std::string info = Run({"xinfo", "stream", "s", "full"});
  EXPECT_EQ(Run({"xinfo", "stream", "t", "full"}), info);
  EXPECT_EQ(Run({"del", "s"}), Int(1));
  EXPECT_EQ(Run({"xinfo", "stream", "t", "full"}), info);
  EXPECT_EQ(Run({"xinfo", "stream", "s"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"xgroup", "create", "s", "g", "0", "mkstream"}), kOk);
  EXPECT_EQ(Run({"xpending", "s", "g"}), Array({Int(0), kNil, kNil, "*-1\r\n"}));
  EXPECT_EQ(Run({"scan", "0", "type", "stream"}).substr(0, 9), "*2\r\n$1\r\n0");
  // The copy's records are stored under its own version.
  EXPECT_GE(StoredRecords(db_.get(), kStreamGroupPrefix, "t"), 3u);
}

TEST_F(StreamTest, SurvivesReopen) {
  Run({"xadd", "s", "1-1", "a", "b"});
  Run({"xgroup", "create", "s", "g", "0"});
  Run({"xreadgroup", "group", "g", "c", "streams", "s", ">"});
  Reopen();
  EXPECT_EQ(Run({"xrange", "s", "-", "+"}), Array({EntryReply("1-1", {"a", "b"})}));
  EXPECT_EQ(Run({"xpending", "s", "g"}),
            Array({Int(1), Bulk("1-1"), Bulk("1-1"), Array({Array({Bulk("c"), Bulk("1")})})}));
}

// Inside EXEC a blocking read does not block: it replies a null array at
// once (Redis's "Blocking commands ignores the timeout").
TEST_F(StreamTest, BlockingReadsInsideExecReplyNull) {
  EXPECT_EQ(Run({"xgroup", "create", "s", "g", "$", "mkstream"}), kOk);
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Run({"xread", "block", "0", "streams", "s", "$"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"}),
            "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*2\r\n*-1\r\n*-1\r\n");
  // Outside EXEC, without a connection to park, the same: null at once.
  EXPECT_EQ(Run({"xread", "block", "10", "streams", "s", "$"}), "*-1\r\n");
  EXPECT_EQ(Run({"xread", "block", "-1", "streams", "s", "$"}), Err("ERR timeout is negative"));
}

}  // namespace
}  // namespace lsmkv::server
