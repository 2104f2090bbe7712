// Cluster: lsmkv-server as one node of a Raft-replicated group
// (docs/replication.md). It owns the node's RaftNode, whose state machine's
// database the server serves, and decides, for each command, whether this
// node may run it now or must answer as Redis Cluster does:
//
//   leader, ready      runs it; a read first waits for a barrier (a
//                      linearizable read point), a write is proposed when its
//                      Txn commits (Replicate) and acknowledged once applied
//   follower           keyed command: -MOVED <slot> <leader's address>;
//                      reads on a READONLY connection run on local (stale)
//                      data; keyless writes: -READONLY
//   no leader known    waits up to an election timeout, then -CLUSTERDOWN
//
// A write whose proposal lost its leader after entering the log gets
// -UNKNOWN (it may yet be applied): never -MOVED or -TRYAGAIN, which clients
// retry.
//
// Thread safety: every method may be called from any thread but the Raft
// loop thread.
#ifndef LSMKV_SERVER_CLUSTER_H_
#define LSMKV_SERVER_CLUSTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "lsmkv/db.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "lsmkv/write_batch.h"
#include "replication/raft_node.h"
#include "server/keyspace.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

struct ClusterOptions {
  uint64_t id = 0;
  std::string raft_address;    // HOST:PORT
  std::string raft_bind;       // HOST:PORT to listen on if not raft_address, or empty
  std::string bootstrap;       // "ID=HOST:PORT,..." or empty
  std::string join;            // a member's client HOST:PORT to ask to add this node, or empty
  std::string client_address;  // HOST:PORT where Redis clients reach this node
  std::string dir;             // the data directory
  Options db_options;          // the server's engine options
  unsigned election_timeout_ms = 1000;
  unsigned snapshot_threshold = 8192;
  unsigned snapshot_trailing = 4096;
  // The password a follower sends (AUTH) before announcing itself to the
  // leader (the cluster's nodes share requirepass); empty: none.
  std::function<std::string()> password;
};

// Parses "ID=HOST:PORT,..." (ids > 0, distinct; addresses HOST:PORT with a
// port in 1..65535). Empty string on success, else what is wrong.
std::string ParseBootstrap(std::string_view spec,
                           std::vector<std::pair<uint64_t, std::string>>* voters);

// Splits "HOST:PORT" (the last ':'); false if it is not of that shape.
bool SplitHostPort(std::string_view address, std::string* host, int* port);

class Cluster : public WriteReplicator {
 public:
  // Starts the node (its database opened under options.dir/replica, its Raft
  // log under options.dir/raft). InvalidArgument for bad options.
  static Status Start(const ClusterOptions& options, std::unique_ptr<Cluster>* out);
  ~Cluster() override;

  // The replica's database. Valid until Stop (a snapshot install re-executes
  // the process instead of replacing it under the server: ReExecSelf).
  DB* db() const { return node_->machine()->db(); }

  // WriteReplicator: proposes batch and waits until it is applied here.
  // Busy "CLUSTERDOWN ..." if this node does not lead (nothing happened);
  // Aborted "UNKNOWN ..." if the outcome is unknown; IOError otherwise.
  Status Replicate(const WriteBatch& batch) override;
  uint64_t applied_index() const override { return node_->machine()->applied_index(); }
  bool Leading() const override { return node_->ReadyTerm() != 0; }
  uint64_t LeadingTerm() const override { return node_->ReadyTerm(); }

  // Whether a command may run here now (see the top of this file). write: it
  // changes data; keyed: first_key is its first key; readonly_client: the
  // connection sent READONLY. Empty to run it (after the read barrier, for a
  // read on the leader); else the error reply, without its '-'.
  // *read_point: true if the caller holds a read point taken after the
  // command was received (no barrier needed); set when this call takes one.
  std::string Admit(bool write, bool data, bool keyed, std::string_view first_key,
                    bool readonly_client, bool* read_point);

  // The Redis Cluster node id (40 hex digits) of Raft id `id`.
  static std::string NodeName(uint64_t id);
  uint64_t id() const { return options_.id; }

  // CLUSTER SLOTS / SHARDS / NODES / INFO material.
  struct NodeView {
    uint64_t id = 0;
    std::string address;  // client HOST:PORT, empty if not announced yet
    bool leader = false;
    bool self = false;
  };
  // The voters of the configuration this node knows, and this node (a
  // joining one is not a voter yet); address empty for a voter that has not
  // announced one.
  std::vector<NodeView> Nodes();
  replication::RaftNode::Info info() { return node_->GetInfo(); }
  replication::RaftNode::Role role() const { return node_->role(); }
  // Waits up to an election timeout for some leader to be known.
  replication::RaftNode::Role WaitForLeader();

  // CLUSTER ANNOUNCE (from a follower's announcer): records server id's
  // client address through the log. Errors as Replicate's, InvalidArgument
  // for an id outside the configuration.
  Status Announce(uint64_t id, const std::string& address);

  // CLUSTER ADD-NODE / REMOVE-NODE (on the leader): RaftNode::AddServer /
  // RemoveServer. Once another node is removed, RemoveNode tells it so
  // (CLUSTER REMOVED <id> to its client address, best effort: it may be
  // down), and it shuts down: a removed node never learns the new
  // configuration by itself (the leader stops sending it entries).
  // LeaderRedirect: on a follower that knows the leader's
  // address, "MOVED 0 <address>" (the reply to send instead); else empty.
  Status AddNode(uint64_t id, const std::string& raft_address);
  Status RemoveNode(uint64_t id);
  std::string LeaderRedirect();

  // CLUSTER SNAPSHOT-READ (a follower fetching a Raft snapshot from this
  // node): up to count bytes (at most 4 MiB) at offset of file `name` of
  // checkpoint `checkpoint`; fewer at the end, none past it.
  // InvalidArgument for names that are not plain file names.
  Status ReadSnapshotFile(const std::string& checkpoint, const std::string& name, uint64_t offset,
                          size_t count, std::string* out);
  // CLUSTER SNAPSHOT-NEWEST (a follower whose snapshot's checkpoint is gone):
  // the descriptor of this node's newest complete snapshot; empty if none yet
  // (StateMachine::NewestSnapshot).
  std::string NewestSnapshot() const;

  // SHUTDOWN: hands leadership to another voter (up to an election timeout).
  void TransferLeadership();
  // Stops Raft (pending proposals end Aborted); the database stays open
  // until the Cluster is destroyed.
  void Stop();

 private:
  // Fetches snapshot files from the server that took the snapshot, over its
  // client port (CLUSTER SNAPSHOT-READ, chunk by chunk).
  class NetworkSource final : public replication::SnapshotSource {
   public:
    explicit NetworkSource(Cluster* cluster) : cluster_(cluster) {}
    Status Fetch(uint64_t server, const std::string& checkpoint, const std::string& name, Env* env,
                 const std::string& dest) override;
    Status Newest(uint64_t server, std::string* descriptor) override;
    replication::StateMachine* machine() const { return machine_.load(std::memory_order_acquire); }
    // Set (RaftNodeOptions::on_open) before libraft starts: a snapshot may be
    // restored, and fetched, while node_ is still being started.
    void set_machine(replication::StateMachine* machine) {
      machine_.store(machine, std::memory_order_release);
    }

   private:
    // server's announced address, or for a node that has not applied the
    // announcement (a new one joining) the address the member it joined
    // through knows; empty if neither.
    std::string AddressOf(uint64_t server);

    Cluster* const cluster_;
    std::atomic<replication::StateMachine*> machine_{nullptr};
  };

  explicit Cluster(ClusterOptions options) : options_(std::move(options)), source_(this) {}
  // Connects to server's announced address, authenticates (options_.password)
  // and runs commands in order; *last_reply is the last one's reply.
  Status CallPeer(uint64_t server, const std::vector<std::vector<std::string>>& commands,
                  std::string* last_reply, size_t max_bulk);
  Status CallAddress(const std::string& address,
                     const std::vector<std::vector<std::string>>& commands, std::string* last_reply,
                     size_t max_bulk, int timeout_s);
  // --raft-join: until this node is a voter, asks options_.join to add it.
  void TryJoin();
  std::string MovedTo(std::string_view key, uint64_t leader);
  // The announcer thread: while this node follows a leader whose address is
  // known and its own address is not (or is stale) in the log, sends CLUSTER
  // ANNOUNCE to the leader, every kAnnounceIntervalMs; with --raft-join,
  // first asks to be added (TryJoin) until it is a voter.
  void AnnounceLoop() EXCLUDES(mu_);
  void TryAnnounce();

  static constexpr int kAnnounceIntervalMs = 250;
  static constexpr int kPeerTimeoutSeconds = 5;
  static constexpr int kJoinTimeoutSeconds = 30;  // ADD-NODE waits for the catch-up
  const ClusterOptions options_;
  NetworkSource source_;
  std::unique_ptr<replication::RaftNode> node_;
  Mutex mu_;
  CondVar cv_;  // signalled by Stop
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread announcer_;
};

// The client address CLUSTER NODES text gives for Raft id `id`; empty if it
// does not list it (or lists it without one).
std::string AddressInNodes(std::string_view nodes, uint64_t id);

// Re-executes this process (/proc/self/exe with its original arguments), every
// descriptor above 2 closed on exec. Used when an installed snapshot replaces
// the database: the new image opens it. Does not return (aborts if exec fails).
[[noreturn]] void ReExecSelf();

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_CLUSTER_H_
