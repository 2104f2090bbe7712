// RaftNode: one replica of a Raft group on libraft's real I/O — its log and
// metadata on disk (libuv), its messages over TCP — applying committed entries
// to a StateMachine (docs/replication.md).
//
// libraft is single-threaded: every call into it happens on the node's loop
// thread, which this object owns. Other threads hand work over with Post (a
// queue plus uv_async_send); Propose, Read and Info do so for them.
//
// Outcomes of a proposal, as its callback sees them:
//   OK              applied on this node (the leader) — acknowledged
//   Busy            refused before it reached the log: this node does not lead
//                   (the message names the leader if known); it has no effect
//   Aborted         its outcome is unknown: leadership was lost or the node
//                   shut down after the entry was appended; it may yet be
//                   applied, or never. A client must not blindly retry it.
//   IOError         anything else libraft reported
//
// Thread safety: every public method may be called from any thread except the
// loop thread itself (callbacks run there and must not block on the node).
#ifndef LSMKV_REPLICATION_RAFT_NODE_H_
#define LSMKV_REPLICATION_RAFT_NODE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lsmkv/db.h"
#include "lsmkv/options.h"
#include "lsmkv/status.h"
#include "lsmkv/write_batch.h"
#include "replication/raft_c.h"
#include "replication/raft_fsm.h"
#include "replication/snapshot.h"
#include "replication/state_machine.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::replication {

struct RaftNodeOptions {
  uint64_t id = 0;      // this server's Raft id (> 0)
  std::string address;  // HOST:PORT the others send its Raft messages to
  // Where it listens for them if not `address` (behind a proxy or NAT).
  std::string bind_address;
  std::string dir;  // its directory: raft/ (libraft's log) and replica/ (the StateMachine)
  // The initial voters, for a brand-new cluster; ignored when the node already
  // has Raft state. Empty: join later (not built yet) or restart.
  std::vector<std::pair<uint64_t, std::string>> bootstrap;
  unsigned election_timeout_ms = 1000;
  unsigned heartbeat_timeout_ms = 100;
  // Entries between snapshots, and log entries kept behind one. Not libraft's
  // own defaults (1,024 / 2,048): with trailing above threshold, libraft 0.22.1
  // crashed in our tests (docs/replication.md, "Observed in libraft").
  unsigned snapshot_threshold = 1024;
  unsigned snapshot_trailing = 256;
  bool pre_vote = true;
  Options db_options = ReplicaOptions();
  // Where Redis clients reach this server ("HOST:PORT"); when not empty, the
  // node announces it (a kAnnounce entry) at the start of each term it leads.
  std::string client_address;
  // Runs when an installed snapshot replaces the database (StateMachine::
  // set_replace_hook); empty: the database is switched in process.
  std::function<void()> replace_hook;
  // Runs once the state machine is open, before libraft starts (which may
  // already restore a snapshot through `source`).
  std::function<void(StateMachine*)> on_open;
  // Where snapshot files of other servers are fetched from; not owned, must
  // outlive the node. May be null while every snapshot is the node's own.
  SnapshotSource* source = nullptr;
  // Runs on the loop thread after a snapshot restore failed (a fetch from an
  // unreachable holder, say), before the node waits and tries again; the
  // error and how many attempts failed in a row. Empty: nothing is told.
  std::function<void(const Status&, int)> restore_failed;
};

class RaftNode {
 public:
  struct Info {
    uint64_t id = 0;
    int state = 0;  // RAFT_FOLLOWER, RAFT_CANDIDATE, RAFT_LEADER, RAFT_UNAVAILABLE
    uint64_t leader_id = 0;
    std::string leader_address;
    uint64_t term = 0;
    uint64_t commit_index = 0;
    uint64_t last_applied = 0;
    uint64_t applied_index = 0;  // the state machine's
    uint64_t applied_count = 0;  // commands applied / skipped as already applied since start
    uint64_t skipped_count = 0;
    uint64_t installed_snapshots = 0;
    uint64_t last_index = 0;  // the last entry in this node's log
    // State machine callbacks (apply, snapshot, restore) that failed, and the
    // last one's error (empty if none failed).
    uint64_t fsm_errors = 0;
    std::string fsm_last_error;
    // InstallSnapshot messages held back because this node was writing a
    // snapshot of its own (RaftNode::OnReceive), since it started.
    uint64_t installs_held = 0;
    // A failed snapshot restore is being retried (the loop thread is busy
    // with it; this view was published before its latest wait).
    bool restoring = false;
    // On the leader, every other server of its configuration: how far its
    // log matches the leader's (libraft's match index; the lag is
    // last_index - match_index entries). Empty on other nodes.
    struct Peer {
      uint64_t id = 0;
      bool voter = false;  // else a spare or standby (catching up)
      uint64_t match_index = 0;
    };
    std::vector<Peer> peers;
  };

  // Opens the state machine, initialises libraft on its directory (bootstrap
  // when new), starts it and the loop thread. Sets SIGPIPE to be ignored in
  // the process (libuv's writes to a closed peer must fail, not kill it).
  static Status Start(const RaftNodeOptions& options, std::unique_ptr<RaftNode>* out);

  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;
  // Stop(), then releases everything.
  ~RaftNode();

  // Closes libraft (pending proposals complete with Aborted) and joins the
  // loop thread. Idempotent. The state machine stays readable afterwards.
  void Stop();

  // Proposes `batch` as one command; `done` runs on the loop thread with the
  // outcome (see the top of this file). InvalidArgument at once (on the calling
  // thread) if the batch cannot be a command (it writes reserved keys).
  void Propose(const WriteBatch& batch, std::function<void(Status)> done);

  // A linearizable read point: a barrier entry in the current term; when it is
  // applied, `fn` runs on the loop thread with OK and the database, which then
  // reflects every write acknowledged before the Read was called. Busy if this
  // node does not lead, Aborted if leadership was lost meanwhile.
  void Read(std::function<void(Status, DB* db)> fn);

  // The node's current view, read on the loop thread (blocks for it). After
  // Stop, the last view; while the loop thread retries a failed snapshot
  // restore (RetryRestore), the view it published then (restoring set).
  Info GetInfo() EXCLUDES(mu_);

  // Blocking forms for threads other than the loop thread: Propose and wait for
  // its outcome; wait for a read point (Read) — concurrent callers share one
  // barrier: each waits for the first barrier issued after it called.
  Status ProposeAndWait(const WriteBatch& batch);
  // Proposes server id's client address (a kAnnounce entry) and waits for
  // its outcome, as ProposeAndWait. InvalidArgument if id is not in this
  // node's current configuration or the address is malformed.
  Status AnnounceAndWait(uint64_t id, const std::string& address);
  Status Barrier() EXCLUDES(barrier_mu_);

  // The role as last published by the loop thread (every tick_ms, and on
  // every change seen). ready: this node leads and its announcement of this
  // term is applied — every entry committed before the term is then applied
  // here, so commands may read the local database.
  struct Role {
    int state = 0;
    uint64_t leader_id = 0;
    uint64_t term = 0;
    bool ready = false;
    // The voters of the configuration this node knows (empty before it has
    // one: a node waiting to be added), and whether this node is one of them.
    std::vector<uint64_t> voters;
    bool voter = false;
  };
  Role role() const EXCLUDES(role_mu_);
  // The term this node leads in, ready (Role::ready), as last published; 0
  // when it does not. Cheaper than role() (no copy).
  uint64_t ReadyTerm() const EXCLUDES(role_mu_);
  // Waits until pred(role()) holds or timeout_ms pass; returns the last role.
  Role WaitForRole(const std::function<bool(const Role&)>& pred, int64_t timeout_ms)
      EXCLUDES(role_mu_);

  // Membership (on the leader; one change at a time, as libraft allows):
  // AddServer adds server id at `address` and promotes it to voter once it
  // has caught up (libraft's assign), returning when the new configuration is
  // committed; a server already in the configuration is promoted if it is not
  // a voter, else OK. RemoveServer removes it. Busy if this node does not
  // lead or another change is in progress — libraft's or one of these calls
  // still running here: an AddServer is two libraft changes (add as a
  // non-voter, then assign the voter role), and no other change of this
  // node's may start between them; InvalidArgument for an id or address in
  // use by another server. If the new server does not catch up within
  // libraft's limit (5 s), AddServer returns IOError and the server stays in
  // the configuration as a non-voter (a later AddServer promotes it).
  Status AddServer(uint64_t id, const std::string& address);
  Status RemoveServer(uint64_t id);

  // Asks libraft to hand leadership to another voter (raft_transfer, to the
  // most up-to-date one) and waits up to timeout_ms for this node to stop
  // leading. OK if it does not lead (any more); Busy otherwise. "Leads" is
  // the role last published (role()): a node elected within the last tick
  // may not show it yet, and then this returns OK without a transfer.
  Status TransferLeadership(int64_t timeout_ms);

  // Runs fn on the loop thread. Returns false (fn dropped) once stopping.
  bool Post(std::function<void()> fn);

  // The state machine. Its database may be read from other threads only after
  // Stop, or through Read.
  StateMachine* machine() const { return machine_.get(); }

 private:
  // Ends this node's membership change (membership_change_) when it reports
  // the change's outcome; raft_node.cc.
  class ChangeOutcome;
  explicit RaftNode(const RaftNodeOptions& options) : options_(options) {}

  Status Init();
  void Loop();
  static void OnAsync(uv_async_t* handle);
  static void OnRaftClose(raft* r);
  static void OnApplied(struct raft_apply* req, int status, void* result);
  static void OnBarrier(struct raft_barrier* req, int status);
  static void OnTick(uv_timer_t* timer);
  // libraft 0.22.1 crashes a node that receives an InstallSnapshot while its
  // own snapshot is being written: the core accepts the install, the v0
  // layer parks it until the write ends (legacy.c, legacyHandleUpdateSnapshot)
  // and then starts it through a pointer it has just cleared
  // (takeSnapshotCb), a null dereference on the loop thread. This node's I/O
  // therefore holds such a message back — libraft never sees it while a
  // snapshot of its own is in flight — and hands it over at the first tick
  // after the write ended. Installed by Init between raft_init and
  // raft_start (io_.start is replaced by StartIo, which replaces libraft's
  // receive callback by OnReceive).
  static int StartIo(raft_io* io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
  static void OnReceive(raft_io* io, raft_message* message);
  // After a failed snapshot restore (RaftFsm's retry), on the loop thread or
  // in raft_start: tells options_.restore_failed, waits (100 ms, doubling to
  // 5 s) unless the node is stopping; true to try again, false once stopping
  // — and, in raft_start (Init), after kStartRestoreAttempts failures, so
  // that Start reports the error instead of waiting without end.
  static constexpr int kStartRestoreAttempts = 8;
  bool RetryRestore(const Status& s, int failures) EXCLUDES(mu_);
  // Loop thread: hands the held messages to libraft once no snapshot of its
  // own is being written (each may be held again by OnReceive's rule).
  void DeliverHeldInstalls();
  // Loop thread, at close: frees the held messages' payloads.
  void DropHeldInstalls();
  // Loop thread: publishes the role, announces the client address once per term led.
  void PublishRole();
  Info InfoOnLoop();
  // Issues barrier number barriers_issued_ (the caller claimed it under
  // barrier_mu_, which it does not hold now).
  void IssueBarrier() EXCLUDES(barrier_mu_);
  // Loop thread: raft_apply of an encoded command; done gets the outcome.
  void ApplyOnLoop(std::string command, std::function<void(Status)> done);
  static constexpr uint64_t kTickMs = 10;

  const RaftNodeOptions options_;
  std::unique_ptr<StateMachine> machine_;
  std::unique_ptr<RaftFsm> fsm_;

  // libraft and libuv state: touched only on the loop thread once it runs.
  uv_loop_t loop_{};
  uv_async_t async_{};
  uv_timer_t tick_{};
  uint64_t announcing_term_ = 0;  // loop thread: the term whose announcement is in flight or done
  // Loop thread: an AddServer or RemoveServer of this node is running (from
  // its first libraft change until it reports its outcome).
  bool membership_change_ = false;
  raft_uv_transport transport_{};
  raft_io io_{};
  raft raft_{};
  // StartIo: the uv backend's start, and libraft's receive callback.
  int (*io_start_)(raft_io*, unsigned, raft_io_tick_cb, raft_io_recv_cb) = nullptr;
  raft_io_recv_cb raft_recv_ = nullptr;
  // Loop thread: InstallSnapshot messages held back (OnReceive), oldest
  // first, each with its own copy of the sender's address; payloads owned here.
  struct HeldInstall {
    raft_message message;
    std::string address;
  };
  std::deque<HeldInstall> held_installs_;
  uint64_t installs_held_ = 0;  // loop thread: messages ever held (Info)
  bool loop_ready_ = false, transport_ready_ = false, io_ready_ = false, raft_ready_ = false;
  bool closing_ = false;  // raft_close was called (loop thread)
  bool running_ = false;  // the loop thread runs (set before it starts)
  std::thread thread_;

  Mutex mu_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  CondVar stop_cv_;  // signalled when stopping_ is set (ends RetryRestore's wait)
  Info last_info_ GUARDED_BY(mu_);
  // The loop thread retries a snapshot restore: GetInfo answers last_info_.
  // Set by RetryRestore, cleared by the next tick (the loop is free again).
  bool restoring_ GUARDED_BY(mu_) = false;
  bool restore_retried_ = false;  // loop thread: RetryRestore ran since the last tick

  mutable Mutex role_mu_;
  CondVar role_cv_;  // signalled when role_ changes
  Role role_ GUARDED_BY(role_mu_);
  uint64_t ready_term_ GUARDED_BY(role_mu_) = 0;

  // Barrier: barriers are numbered 1, 2, ...; a caller waits for the first one
  // issued after it arrived.
  Mutex barrier_mu_;
  CondVar barrier_cv_;
  uint64_t barriers_issued_ GUARDED_BY(barrier_mu_) = 0;
  uint64_t barriers_done_ GUARDED_BY(barrier_mu_) = 0;
  bool barrier_in_flight_ GUARDED_BY(barrier_mu_) = false;
  uint64_t barrier_wanted_ GUARDED_BY(barrier_mu_) = 0;  // highest number a caller waits for
  Status last_barrier_status_ GUARDED_BY(barrier_mu_);
};

}  // namespace lsmkv::replication

#endif  // LSMKV_REPLICATION_RAFT_NODE_H_
