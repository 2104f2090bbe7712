// ClientState: what the server knows about one connection that commands read
// and change (protocol version, authentication, name, MULTI queue, WATCHed
// keys), and ClientRegistry, the set of connected clients (CLIENT LIST,
// INFO clients, maxclients).
//
// Thread safety: a ClientState is used by its connection's handlers, which
// never run concurrently. Fields other threads read (CLIENT LIST) are atomics
// or guarded by info_mu. The registry is thread-safe.
#ifndef LSMKV_SERVER_CLIENT_STATE_H_
#define LSMKV_SERVER_CLIENT_STATE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lsmkv/transaction.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

struct CommandSpec;
class Subscriber;

struct ClientState {
  uint64_t id = 0;
  std::string address;        // peer "ip:port"
  std::string local_address;  // "ip:port" it connected to
  int64_t created_ms = 0;     // Unix ms

  std::atomic<int> protocol{2};  // RESP version: 2 or 3
  bool authenticated = false;
  bool read_only = false;  // authenticated as the read-only user
  // READONLY (replicated server): reads may run on this follower's own,
  // possibly stale, data instead of being redirected (cluster.h).
  bool cluster_readonly = false;
  // A replicated leader's read point (cluster.h) taken while running this
  // connection's current run of buffered requests: every one of them was
  // received before it, so later reads of the run need no barrier of their
  // own. Cleared by the connection before each run.
  bool has_read_point = false;
  int64_t auth_failures = 0;  // failed AUTHs on this connection
  // The logical database SELECT chose (Keyspace::PhysicalDb maps it); read
  // by CLIENT LIST from other threads.
  std::atomic<int> db{0};

  // MULTI: queued commands and whether queueing one failed (EXECABORT).
  bool in_multi = false;
  bool multi_failed = false;
  std::vector<std::vector<std::string>> queued;
  uint64_t queued_bytes = 0;  // memory of queued, as QueuedCommandMemory counts it

  // WATCH: an engine transaction (lsmkv/transaction.h) whose tracked reads
  // are the watched keys — EXEC validates them against every write committed
  // since — and the keys, each with the deadline it had when watched (0 =
  // none or absent): a key that expires before EXEC counts as changed. A
  // hash map, so WATCH of n keys takes O(n), duplicates included. Keyed by
  // data key (value_codec.h: the database and the user key), so a key
  // watched in two databases is two entries. watch_epoch is the keyspace's
  // database_epoch() at the first WATCH: a SWAPDB since fails the EXEC.
  std::unique_ptr<Transaction> watch_txn;
  std::unordered_map<std::string, int64_t> watched;
  uint64_t watch_epoch = 0;

  // Blocking commands (blocking.h). A handler that found nothing to take
  // and may block (BlockClient) registers the client under its stripes and
  // sets block.requested instead of replying; the connection then parks
  // the client until wake() runs its command again (block.retry set then)
  // or until block.deadline_ms (0 = never), when it replies a null
  // (block.null_array: *-1, else $-1). wake is set by the connection (it
  // posts to the connection's strand); without one a client cannot block.
  struct BlockState {
    bool requested = false;
    bool retry = false;
    uint64_t ticket = 0;
    int64_t deadline_ms = 0;
    bool null_array = true;
    std::vector<std::string> keys;  // the data keys registered (a wake-up passed on signals them)
    // XREAD/XREADGROUP: the ids a blocked call resolved ('$' = the last id
    // when it first ran), set by the handler when it blocks and read on its
    // retries.
    std::vector<std::string> stream_ids;
  };
  BlockState block;
  std::function<void()> wake;
  // CLIENT UNBLOCK from another client: blocked_now is true while the
  // connection has a blocked command (set and cleared by the connection,
  // read by ClientRegistry::Unblock); unblock(error) posts the end of the
  // block to the connection's strand (set by the connection; it must only
  // post, never block).
  std::atomic<bool> blocked_now{false};
  std::function<void(bool error)> unblock;

  // Pub/sub (pubsub.h): the client's subscriptions and pending messages,
  // created by its first (P|S)SUBSCRIBE and shared with the registry.
  // pubsub_notify is set by the connection (it posts the delivery of
  // pending messages to the connection's strand); without one, messages
  // stay pending until Subscriber::Drain. Both belong to the connection.
  std::shared_ptr<Subscriber> subscriber;
  std::function<void()> pubsub_notify;
  // True if the client has a channel, pattern or shard-channel subscription.
  bool subscribed() const;

  // CLIENT REPLY (Redis 7.0 semantics): reply_off drops every reply until
  // CLIENT REPLY ON; reply_skip_next (CLIENT REPLY SKIP, ignored while off)
  // drops the reply of the next command only, which the dispatcher marks by
  // moving it to reply_skip for that command's run. Pub/sub pushes
  // (messages, (un)subscribe confirmations) are delivered regardless.
  bool reply_off = false;
  bool reply_skip_next = false;
  bool reply_skip = false;

  // Set by a handler: close the connection once the reply is written (QUIT)
  // or at once without a reply (SHUTDOWN closes every client anyway).
  bool close_after_reply = false;

  // Read by CLIENT LIST from other threads.
  std::atomic<int64_t> last_interaction_ms{0};
  std::atomic<const CommandSpec*> last_command{nullptr};
  std::atomic<uint64_t> query_buffer_bytes{0};
  std::atomic<uint64_t> output_buffer_bytes{0};
  mutable Mutex info_mu;
  std::string name GUARDED_BY(info_mu);  // written by its own connection only
};

class ClientRegistry {
 public:
  void Add(ClientState* client) EXCLUDES(mu_);
  void Remove(ClientState* client) EXCLUDES(mu_);
  size_t size() const { return size_.load(std::memory_order_acquire); }
  // Calls fn for every client, in id order, under the registry lock (so a
  // client listed cannot be removed, and its ClientState not destroyed,
  // while fn reads it; fn must not call back into the registry).
  void ForEach(const std::function<void(const ClientState&)>& fn) const EXCLUDES(mu_);
  // CLIENT UNBLOCK: if client id exists and has a blocked command, asks its
  // connection to end the block (with an -UNBLOCKED error if error, else as
  // at its timeout) and returns true. The connection does it on its strand:
  // a wake-up already on its way there runs the command instead.
  bool Unblock(uint64_t id, bool error) const EXCLUDES(mu_);
  // Returns the next client id (1, 2, ...).
  uint64_t NextId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

 private:
  mutable Mutex mu_;
  std::map<uint64_t, ClientState*> clients_ GUARDED_BY(mu_);
  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_CLIENT_STATE_H_
