// Pub/sub: the registry of channel, shard-channel and pattern subscriptions
// (PubSub) and the per-client delivery queue (Subscriber).
//
// Delivery across io threads: PUBLISH runs on the publisher's io thread. It
// encodes each message once and, under the registry lock, appends it to the
// pending buffer of every receiving Subscriber (under that subscriber's own
// lock). When a subscriber's buffer turns non-empty its notify callback runs
// (the connection posts a handler to its strand, connection.h), and that
// handler moves the buffer to the connection's output and writes it. The
// publisher therefore never touches another connection's socket and never
// waits for a subscriber: the only waits are the registry lock and the
// subscriber's lock, each held for a buffer append.
//
// Order: a message reaches a subscriber's buffer only while the registry
// lists the subscription (both happen under the registry lock), and the
// (P|S)UNSUBSCRIBE handlers move the pending buffer into their reply after
// removing the subscription, so a client sees every message published
// before its unsubscribe confirmation, and none after.
//
// Memory: a subscriber whose pending bytes plus the bytes its connection has
// not yet sent (set_unsent) would pass the limit given to Publish
// (client-output-buffer-limit pubsub class) is marked overflowed: its
// messages are dropped from then on and its connection closes it (Drain
// returns false). The command handlers bound subscriptions per client
// (kMaxSubscriptionsPerClient) and names (kMaxChannelBytes,
// kMaxPatternBytes).
//
// Thread safety: PubSub is thread-safe. A Subscriber's pending buffer is
// shared by publishers (Deliver) and its connection (Drain) under its lock;
// its subscription sets (channels, patterns, shard_channels) belong to its
// connection's strand alone. The connection and the registry share a
// Subscriber through shared_ptr, so a publisher may still hold one after the
// client disconnected (its messages then go nowhere).
#ifndef LSMKV_SERVER_PUBSUB_H_
#define LSMKV_SERVER_PUBSUB_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

// At most this many subscriptions (channels, patterns and shard channels
// together) per client.
inline constexpr size_t kMaxSubscriptionsPerClient = 100000;
// Longest channel name SUBSCRIBE, SSUBSCRIBE, PUBLISH and SPUBLISH accept.
inline constexpr size_t kMaxChannelBytes = 64 * 1024;
// Longest pattern PSUBSCRIBE accepts. Every PUBLISH matches its channel
// against every pattern under the registry lock, and a glob match can take
// time proportional to the pattern's length times the channel's: these two
// bounds keep one match under about 2^26 steps.
inline constexpr size_t kMaxPatternBytes = 1024;

class Subscriber {
 public:
  // notify is called by a publisher's thread (under the registry lock, not
  // the subscriber's) when pending messages appear; it must only schedule
  // Drain on the connection's strand, never block or call into PubSub.
  Subscriber(uint64_t client_id, std::function<void()> notify)
      : client_id_(client_id), notify_(std::move(notify)) {}
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  uint64_t client_id() const { return client_id_; }
  // The client's RESP version (3: messages are push frames). Set by the
  // connection's strand; read by publishers.
  void set_protocol(int protocol) { protocol_.store(protocol, std::memory_order_relaxed); }
  // Bytes the connection holds but has not sent (counted against the limit).
  void set_unsent(uint64_t bytes) { unsent_.store(bytes, std::memory_order_relaxed); }

  // Publisher side (any thread): appends frame, a RESP2 array ("*3\r\n..."),
  // sent as a push frame (">3\r\n...") to a RESP3 client. limit: most bytes
  // pending plus unsent (0 = unlimited); past it the subscriber is marked
  // overflowed and the frame dropped. Calls notify after the lock is
  // released if the buffer was empty (or the subscriber just overflowed).
  void Deliver(std::string_view frame, uint64_t limit) EXCLUDES(mu_);
  // Connection side (its strand): appends the pending messages to *out and
  // re-arms notify. False if the subscriber overflowed (the connection must
  // close).
  bool Drain(std::string* out) EXCLUDES(mu_);

  // The client's subscriptions (its strand only).
  std::set<std::string> channels;
  std::set<std::string> patterns;
  std::set<std::string> shard_channels;
  size_t count() const { return channels.size() + patterns.size(); }
  size_t total() const { return channels.size() + patterns.size() + shard_channels.size(); }

 private:
  const uint64_t client_id_;
  const std::function<void()> notify_;
  std::atomic<int> protocol_{2};
  std::atomic<uint64_t> unsent_{0};
  Mutex mu_;
  std::string pending_ GUARDED_BY(mu_);
  bool notified_ GUARDED_BY(mu_) = false;  // notify ran and Drain has not
  bool overflowed_ GUARDED_BY(mu_) = false;
};

class PubSub {
 public:
  // Which name space a channel lives in: PUBLISH's or SPUBLISH's (in a
  // single server, shard channels are a second, separate set of channels).
  enum class Kind { kChannel, kShard };

  // Adds the subscription; true if new (the caller also records it in
  // sub's sets, on its strand).
  bool Subscribe(Kind kind, const std::shared_ptr<Subscriber>& sub, std::string_view channel)
      EXCLUDES(mu_);
  bool Unsubscribe(Kind kind, const Subscriber& sub, std::string_view channel) EXCLUDES(mu_);
  bool PSubscribe(const std::shared_ptr<Subscriber>& sub, std::string_view pattern) EXCLUDES(mu_);
  bool PUnsubscribe(const Subscriber& sub, std::string_view pattern) EXCLUDES(mu_);
  // Removes every subscription of sub (disconnect) and clears its sets.
  // Runs on sub's strand.
  void RemoveAll(Subscriber* sub) EXCLUDES(mu_);

  // Delivers message to the subscribers of channel (kind) and, for
  // kChannel, of every matching pattern; returns how many deliveries were
  // made (a client subscribed to the channel and to two matching patterns
  // counts three times, as in Redis). limit: see Subscriber::Deliver.
  int64_t Publish(Kind kind, std::string_view channel, std::string_view message, uint64_t limit)
      EXCLUDES(mu_);

  // PUBSUB CHANNELS / SHARDCHANNELS: active channels matching pattern
  // (empty: all), sorted.
  std::vector<std::string> Channels(Kind kind, std::string_view pattern, bool all) const
      EXCLUDES(mu_);
  // PUBSUB NUMSUB: subscribers of channel.
  int64_t NumSub(Kind kind, std::string_view channel) const EXCLUDES(mu_);
  // Channels with at least one subscriber (INFO pubsub_channels).
  int64_t NumChannels(Kind kind) const EXCLUDES(mu_);
  // PUBSUB NUMPAT: distinct patterns subscribed to.
  int64_t NumPat() const EXCLUDES(mu_);

 private:
  // client id -> subscriber, per channel or pattern.
  using Subscribers = std::unordered_map<uint64_t, std::shared_ptr<Subscriber>>;
  using Table = std::unordered_map<std::string, Subscribers>;
  Table& TableFor(Kind kind) REQUIRES(mu_) { return kind == Kind::kShard ? shard_ : channels_; }
  const Table& TableFor(Kind kind) const REQUIRES(mu_) {
    return kind == Kind::kShard ? shard_ : channels_;
  }
  static bool Add(Table* table, const std::shared_ptr<Subscriber>& sub, std::string_view name);
  static bool Remove(Table* table, uint64_t id, std::string_view name);

  mutable Mutex mu_;
  Table channels_ GUARDED_BY(mu_);
  Table shard_ GUARDED_BY(mu_);
  Table patterns_ GUARDED_BY(mu_);
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_PUBSUB_H_
