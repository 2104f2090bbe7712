// The pub/sub registry (pubsub.h): subscriptions, patterns, counts, the
// delivery limit, and publishers racing unsubscribers on several threads.
#include "server/pubsub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace lsmkv::server {
namespace {

using Kind = PubSub::Kind;

std::shared_ptr<Subscriber> NewSubscriber(uint64_t id, std::atomic<int>* notified = nullptr) {
  return std::make_shared<Subscriber>(id, [notified] {
    if (notified != nullptr) notified->fetch_add(1);
  });
}

std::string Drained(Subscriber& sub) {
  std::string out;
  EXPECT_TRUE(sub.Drain(&out));
  return out;
}

TEST(PubSubTest, ChannelsAndCounts) {
  PubSub registry;
  auto a = NewSubscriber(1);
  auto b = NewSubscriber(2);
  EXPECT_TRUE(registry.Subscribe(Kind::kChannel, a, "news"));
  EXPECT_FALSE(registry.Subscribe(Kind::kChannel, a, "news"));  // already
  EXPECT_TRUE(registry.Subscribe(Kind::kChannel, b, "news"));
  EXPECT_TRUE(registry.Subscribe(Kind::kChannel, b, "sport"));
  EXPECT_EQ(registry.NumSub(Kind::kChannel, "news"), 2);
  EXPECT_EQ(registry.NumSub(Kind::kChannel, "sport"), 1);
  EXPECT_EQ(registry.NumSub(Kind::kChannel, "none"), 0);
  EXPECT_EQ(registry.NumSub(Kind::kShard, "news"), 0);  // a separate name space
  EXPECT_EQ(registry.Channels(Kind::kChannel, "", true),
            (std::vector<std::string>{"news", "sport"}));
  EXPECT_EQ(registry.Channels(Kind::kChannel, "s*", false), (std::vector<std::string>{"sport"}));

  EXPECT_EQ(registry.Publish(Kind::kChannel, "news", "hi", 0), 2);
  EXPECT_EQ(registry.Publish(Kind::kChannel, "nobody", "hi", 0), 0);
  EXPECT_EQ(Drained(*a), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
  EXPECT_EQ(Drained(*b), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");

  EXPECT_TRUE(registry.Unsubscribe(Kind::kChannel, *a, "news"));
  EXPECT_FALSE(registry.Unsubscribe(Kind::kChannel, *a, "news"));
  EXPECT_EQ(registry.Publish(Kind::kChannel, "news", "x", 0), 1);
  EXPECT_EQ(Drained(*a), "");
  EXPECT_TRUE(registry.Unsubscribe(Kind::kChannel, *b, "news"));
  // No empty channel lingers.
  EXPECT_EQ(registry.Channels(Kind::kChannel, "", true), (std::vector<std::string>{"sport"}));
}

TEST(PubSubTest, PatternsShardsAndPushFrames) {
  PubSub registry;
  auto a = NewSubscriber(1);
  auto b = NewSubscriber(2);
  b->set_protocol(3);
  EXPECT_TRUE(registry.PSubscribe(a, "n*"));
  EXPECT_TRUE(registry.PSubscribe(a, "*s"));
  EXPECT_TRUE(registry.PSubscribe(b, "n*"));
  EXPECT_TRUE(registry.Subscribe(Kind::kChannel, a, "news"));
  EXPECT_EQ(registry.NumPat(), 2);
  // a: the channel and two patterns; b: one pattern.
  EXPECT_EQ(registry.Publish(Kind::kChannel, "news", "m", 0), 4);
  const std::string got = Drained(*a);
  EXPECT_EQ(got.rfind("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nm\r\n", 0), 0u);
  EXPECT_NE(got.find("*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$1\r\nm\r\n"),
            std::string::npos);
  EXPECT_NE(got.find("*4\r\n$8\r\npmessage\r\n$2\r\n*s\r\n$4\r\nnews\r\n$1\r\nm\r\n"),
            std::string::npos);
  EXPECT_EQ(Drained(*b), ">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$1\r\nm\r\n");

  // Shard channels: their own name space, "smessage", no patterns.
  EXPECT_TRUE(registry.Subscribe(Kind::kShard, b, "news"));
  EXPECT_EQ(registry.Publish(Kind::kShard, "news", "s", 0), 1);
  EXPECT_EQ(Drained(*b), ">3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$1\r\ns\r\n");
  EXPECT_EQ(registry.Channels(Kind::kShard, "", true), (std::vector<std::string>{"news"}));

  EXPECT_TRUE(registry.PUnsubscribe(*a, "n*"));
  EXPECT_EQ(registry.NumPat(), 2);  // b still has n*
  EXPECT_TRUE(registry.PUnsubscribe(*b, "n*"));
  EXPECT_EQ(registry.NumPat(), 1);
}

TEST(PubSubTest, RemoveAllForgetsEverySubscription) {
  PubSub registry;
  auto a = NewSubscriber(1);
  for (const char* c : {"x", "y"}) {
    a->channels.insert(c);
    registry.Subscribe(Kind::kChannel, a, c);
  }
  a->patterns.insert("p*");
  registry.PSubscribe(a, "p*");
  a->shard_channels.insert("s");
  registry.Subscribe(Kind::kShard, a, "s");
  EXPECT_EQ(a->total(), 4u);
  registry.RemoveAll(a.get());
  EXPECT_EQ(a->total(), 0u);
  EXPECT_EQ(registry.NumSub(Kind::kChannel, "x"), 0);
  EXPECT_EQ(registry.NumSub(Kind::kShard, "s"), 0);
  EXPECT_EQ(registry.NumPat(), 0);
  EXPECT_EQ(registry.Publish(Kind::kChannel, "px", "m", 0), 0);
}

TEST(PubSubTest, NotifiesOncePerDrain) {
  PubSub registry;
  std::atomic<int> notified{0};
  auto a = NewSubscriber(1, &notified);
  registry.Subscribe(Kind::kChannel, a, "c");
  registry.Publish(Kind::kChannel, "c", "1", 0);
  registry.Publish(Kind::kChannel, "c", "2", 0);
  EXPECT_EQ(notified.load(), 1);  // one wake-up for both
  EXPECT_EQ(Drained(*a).size(),
            2 * std::string("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\n1\r\n").size());
  registry.Publish(Kind::kChannel, "c", "3", 0);
  EXPECT_EQ(notified.load(), 2);
}

TEST(PubSubTest, OverflowDropsMessagesAndTellsTheConnection) {
  PubSub registry;
  std::atomic<int> notified{0};
  auto a = NewSubscriber(1, &notified);
  registry.Subscribe(Kind::kChannel, a, "c");
  const std::string payload(400, 'x');
  // 1000 bytes of limit: two messages fit, the third does not.
  EXPECT_EQ(registry.Publish(Kind::kChannel, "c", payload, 1000), 1);
  EXPECT_EQ(registry.Publish(Kind::kChannel, "c", payload, 1000), 1);
  EXPECT_EQ(registry.Publish(Kind::kChannel, "c", payload, 1000), 1);  // still a receiver
  EXPECT_EQ(registry.Publish(Kind::kChannel, "c", payload, 1000), 1);
  EXPECT_EQ(notified.load(), 1);
  std::string out;
  EXPECT_FALSE(a->Drain(&out));  // the connection closes it
  EXPECT_TRUE(out.empty());
  // Bytes the connection has not sent count too.
  auto b = NewSubscriber(2);
  registry.Subscribe(Kind::kChannel, b, "d");
  b->set_unsent(900);
  registry.Publish(Kind::kChannel, "d", payload, 1000);
  EXPECT_FALSE(b->Drain(&out));
}

// Publishers on several threads while subscribers come and go: every
// message a subscriber gets is whole, none arrives after it left, and the
// registry ends empty.
TEST(PubSubTest, ConcurrentPublishAndUnsubscribe) {
  PubSub registry;
  constexpr int kSubscribers = 8;
  constexpr int kPublishers = 4;
  constexpr int kMessages = 20000;
  std::vector<std::shared_ptr<Subscriber>> subs;
  for (int i = 0; i < kSubscribers; i++) {
    subs.push_back(NewSubscriber(static_cast<uint64_t>(i + 1)));
    registry.Subscribe(Kind::kChannel, subs.back(), "c");
    registry.PSubscribe(subs.back(), "c*");
  }
  const std::string frame = "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$5\r\nhello\r\n";
  const std::string pframe = "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$1\r\nc\r\n$5\r\nhello\r\n";
  std::atomic<int64_t> delivered{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kPublishers; p++) {
    threads.emplace_back([&] {
      for (int m = 0; m < kMessages; m++) {
        delivered.fetch_add(registry.Publish(Kind::kChannel, "c", "hello", 0));
      }
    });
  }
  std::vector<int64_t> received(kSubscribers, 0);
  for (int i = 0; i < kSubscribers; i++) {
    threads.emplace_back([&, i] {
      Subscriber& sub = *subs[i];
      auto count = [&](const std::string& bytes) {
        size_t pos = 0;
        while (pos < bytes.size()) {
          if (bytes.compare(pos, frame.size(), frame) == 0) {
            pos += frame.size();
          } else {
            ASSERT_EQ(bytes.compare(pos, pframe.size(), pframe), 0) << "torn message";
            pos += pframe.size();
          }
          received[i]++;
        }
      };
      for (int round = 0; round < 50 + i * 10; round++) {
        std::string out;
        ASSERT_TRUE(sub.Drain(&out));
        count(out);
      }
      registry.Unsubscribe(Kind::kChannel, sub, "c");
      registry.PUnsubscribe(sub, "c*");
      std::string out;
      ASSERT_TRUE(sub.Drain(&out));
      count(out);
      // Unsubscribed: nothing more arrives.
      for (int round = 0; round < 20; round++) {
        out.clear();
        ASSERT_TRUE(sub.Drain(&out));
        EXPECT_TRUE(out.empty());
      }
    });
  }
  for (auto& t : threads) t.join();
  int64_t total = 0;
  for (int64_t r : received) total += r;
  EXPECT_EQ(total, delivered.load());  // every counted delivery arrived
  EXPECT_EQ(registry.NumSub(Kind::kChannel, "c"), 0);
  EXPECT_EQ(registry.NumPat(), 0);
  EXPECT_EQ(registry.Publish(Kind::kChannel, "c", "late", 0), 0);
}

}  // namespace
}  // namespace lsmkv::server
