#include "replication/raft_node.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <future>

#include "replication/command.h"
#include "util/check.h"

namespace lsmkv::replication {

namespace {

struct ApplyRequest {
  struct raft_apply apply {};
  std::function<void(Status)> done;
};

struct BarrierRequest {
  struct raft_barrier barrier {};
  std::function<void(Status, DB*)> fn;
  StateMachine* machine = nullptr;
};

Status Refused(raft* r, int rv) {
  if (rv == RAFT_NOTLEADER) {
    raft_id id = 0;
    const char* address = nullptr;
    raft_leader(r, &id, &address);
    if (id == 0) return Status::Busy("replication: not the leader, and no leader is known");
    return Status::Busy("replication: not the leader; the leader is " + std::to_string(id) +
                        " at " + (address != nullptr ? address : "?"));
  }
  return Status::IOError("replication", raft_strerror(rv));
}

// raft_apply's errors from the consensus core (libraft's ClientSubmit), before
// anything is appended; the caller keeps the buffer. Any other error comes from
// the I/O layer after the entry entered the log, and libraft 0.22.1 has then
// freed the buffer itself (seen with its libuv I/O).
bool RefusedBeforeAppend(int rv) {
  return rv == RAFT_NOTLEADER || rv == RAFT_MALFORMED || rv == RAFT_NOSPACE ||
         rv == RAFT_CANTCHANGE || rv == RAFT_NOMEM;
}

// An entry that reached the log but was not applied here: it may still be.
Status Unknown(int status) {
  if (status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN) {
    return Status::Aborted("replication: outcome unknown (" + std::string(raft_strerror(status)) +
                           ")");
  }
  return Status::IOError("replication", raft_strerror(status));
}

}  // namespace

Status RaftNode::Start(const RaftNodeOptions& options, std::unique_ptr<RaftNode>* out) {
  if (options.id == 0) return Status::InvalidArgument("replication: Raft id 0");
  if (options.address.empty() || options.dir.empty()) {
    return Status::InvalidArgument("replication: a node needs an address and a directory");
  }
  // libuv writes to sockets whose peer may be gone; the process must not die
  // of SIGPIPE (the write fails with EPIPE instead).
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<RaftNode> node(new RaftNode(options));
  Status s = node->Init();
  if (!s.ok()) return s;
  RaftNode* raw = node.get();
  node->running_ = true;
  node->thread_ = std::thread([raw] { raw->Loop(); });
  *out = std::move(node);
  return Status::OK();
}

Status RaftNode::Init() {
  Env* env = options_.db_options.env != nullptr ? options_.db_options.env : Env::Default();
  for (const std::string& d : {options_.dir, options_.dir + "/raft"}) {
    if (!env->FileExists(d)) {
      Status s = env->CreateDir(d);
      if (!s.ok()) return s;
    }
  }
  Status s = StateMachine::Open(options_.db_options, options_.dir + "/replica", &machine_);
  if (!s.ok()) return s;
  if (options_.replace_hook) machine_->set_replace_hook(options_.replace_hook);
  if (options_.on_open) options_.on_open(machine_.get());
  fsm_ = std::make_unique<RaftFsm>(machine_.get(), options_.source);
  fsm_->set_restore_retry(
      [this](const Status& s, int failures) { return RetryRestore(s, failures); });

  auto fail = [this](const std::string& what, int rv, const char* detail) {
    // Release what was set up, running the loop so that handles close.
    if (raft_ready_) {
      raft_close(&raft_, &RaftNode::OnRaftClose);
    } else {
      if (io_ready_) raft_uv_close(&io_);
      if (transport_ready_) raft_uv_tcp_close(&transport_);
      if (loop_ready_) uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    }
    if (loop_ready_) {
      uv_run(&loop_, UV_RUN_DEFAULT);
      uv_loop_close(&loop_);
    }
    return Status::IOError("replication: " + what + ": " + raft_strerror(rv),
                           detail != nullptr ? detail : "");
  };
  int rv = uv_loop_init(&loop_);
  if (rv != 0) return Status::IOError("replication: uv_loop_init", uv_strerror(rv));
  rv = uv_async_init(&loop_, &async_, &RaftNode::OnAsync);
  if (rv != 0) {
    uv_loop_close(&loop_);
    return Status::IOError("replication: uv_async_init", uv_strerror(rv));
  }
  async_.data = this;
  loop_ready_ = true;
  transport_.version = 1;  // the caller fills it in (raft/uv.h)
  rv = raft_uv_tcp_init(&transport_, &loop_);
  if (rv != 0) return fail("raft_uv_tcp_init", rv, nullptr);
  transport_ready_ = true;
  if (!options_.bind_address.empty()) {
    rv = raft_uv_tcp_set_bind_address(&transport_, options_.bind_address.c_str());
    if (rv != 0) return fail("raft_uv_tcp_set_bind_address", rv, nullptr);
  }
  const std::string raft_dir = options_.dir + "/raft";
  rv = raft_uv_init(&io_, &loop_, raft_dir.c_str(), &transport_);
  if (rv != 0) return fail("raft_uv_init", rv, io_.errmsg);
  io_ready_ = true;
  rv = raft_init(&raft_, &io_, fsm_->fsm(), options_.id, options_.address.c_str());
  if (rv != 0) return fail("raft_init", rv, raft_errmsg(&raft_));
  raft_.data = this;
  raft_ready_ = true;
  // raft_start calls io_.start with libraft's receive callback (OnReceive).
  io_start_ = io_.start;
  io_.start = &RaftNode::StartIo;
  fsm_->Attach(&raft_);
  if (!options_.bootstrap.empty()) {
    raft_configuration conf;
    raft_configuration_init(&conf);
    for (const auto& [id, address] : options_.bootstrap) {
      rv = raft_configuration_add(&conf, id, address.c_str(), RAFT_VOTER);
      if (rv != 0) {
        raft_configuration_close(&conf);
        return fail("raft_configuration_add", rv, nullptr);
      }
    }
    rv = raft_bootstrap(&raft_, &conf);
    raft_configuration_close(&conf);
    // CANTBOOTSTRAP: the node already has Raft state; bootstrap is ignored.
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) return fail("raft_bootstrap", rv, raft_errmsg(&raft_));
  }
  raft_set_election_timeout(&raft_, options_.election_timeout_ms);
  raft_set_heartbeat_timeout(&raft_, options_.heartbeat_timeout_ms);
  raft_set_snapshot_threshold(&raft_, options_.snapshot_threshold);
  raft_set_snapshot_trailing(&raft_, options_.snapshot_trailing);
  raft_set_pre_vote(&raft_, options_.pre_vote);
  rv = raft_start(&raft_);
  if (rv != 0) {
    std::string detail = raft_errmsg(&raft_);
    if (!fsm_->last_error().ok()) detail += " (" + fsm_->last_error().ToString() + ")";
    return fail("raft_start", rv, detail.c_str());
  }
  // The role ticker (PublishRole); closed by OnRaftClose.
  uv_timer_init(&loop_, &tick_);
  tick_.data = this;
  uv_timer_start(&tick_, &RaftNode::OnTick, kTickMs, kTickMs);
  return Status::OK();
}

void RaftNode::OnTick(uv_timer_t* timer) {
  auto* self = static_cast<RaftNode*>(timer->data);
  if (self->restore_retried_) {
    self->restore_retried_ = false;
    MutexLock l(&self->mu_);
    self->restoring_ = false;
  }
  if (!self->held_installs_.empty()) self->DeliverHeldInstalls();
  self->PublishRole();
}

int RaftNode::StartIo(raft_io* io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv) {
  auto* self = static_cast<RaftNode*>(static_cast<raft*>(io->data)->data);
  CHECK(io == &self->io_);
  self->raft_recv_ = recv;
  return self->io_start_(io, msecs, tick, &RaftNode::OnReceive);
}

void RaftNode::OnReceive(raft_io* io, raft_message* message) {
  auto* self = static_cast<RaftNode*>(static_cast<raft*>(io->data)->data);
  if (message->type == RAFT_INSTALL_SNAPSHOT &&
      (self->raft_.legacy.snapshot_taking || !self->held_installs_.empty())) {
    // The message and its address belong to the connection; the payload and
    // configuration pass to whoever takes the message (now: this node).
    HeldInstall held{*message, message->server_address != nullptr ? message->server_address : ""};
    self->held_installs_.push_back(std::move(held));
    self->installs_held_++;
    return;
  }
  self->raft_recv_(io, message);
}

bool RaftNode::RetryRestore(const Status& s, int failures) {
  if (options_.restore_failed) options_.restore_failed(s, failures);
  if (!running_ && failures >= kStartRestoreAttempts) return false;
  const int64_t ms = std::min<int64_t>(int64_t{100} << std::min(failures - 1, 6), 5000);
  Info info;
  if (running_) {
    info = InfoOnLoop();
    info.restoring = true;
    restore_retried_ = true;
  }
  MutexLock l(&mu_);
  if (running_) {
    last_info_ = std::move(info);
    restoring_ = true;
  }
  if (stopping_) return false;
  stop_cv_.WaitFor(&mu_, std::chrono::milliseconds(ms));
  return !stopping_;
}

void RaftNode::DeliverHeldInstalls() {
  while (!held_installs_.empty() && !closing_ && !raft_.legacy.snapshot_taking) {
    HeldInstall held = std::move(held_installs_.front());
    held_installs_.pop_front();
    held.message.server_address = held.address.c_str();
    raft_recv_(&io_, &held.message);  // libraft owns the payload from here
  }
}

void RaftNode::DropHeldInstalls() {
  for (HeldInstall& held : held_installs_) {
    raft_free(held.message.install_snapshot.data.base);
    raft_configuration_close(&held.message.install_snapshot.conf);
  }
  held_installs_.clear();
}

void RaftNode::PublishRole() {
  if (closing_) return;
  Role r;
  r.state = raft_state(&raft_);
  raft_id leader = 0;
  const char* address = nullptr;
  raft_leader(&raft_, &leader, &address);
  r.leader_id = leader;
  r.term = raft_current_term(&raft_);
  if (r.state == RAFT_LEADER && announcing_term_ != r.term) {
    // A new term led: append an entry of this term (the announcement, or a
    // barrier without an address). Once it is applied, so is every entry
    // committed before the term.
    announcing_term_ = r.term;
    const uint64_t term = r.term;
    auto done = [this, term](Status st) {
      if (st.ok()) {
        MutexLock l(&role_mu_);
        ready_term_ = std::max(ready_term_, term);
      } else if (announcing_term_ == term) {
        announcing_term_ = 0;  // retried at the next tick if this node still leads
      }
      // The next tick publishes the new readiness.
    };
    if (!options_.client_address.empty()) {
      std::string command;
      Status st =
          EncodeAnnounceCommand(Announcement{options_.id, options_.client_address}, &command);
      if (st.ok()) {
        ApplyOnLoop(std::move(command), done);
      } else {
        done(st);
      }
    } else {
      auto* req = new BarrierRequest;
      req->barrier.data = req;
      req->machine = machine_.get();
      req->fn = [done](Status st, DB*) { done(st); };
      const int rv = raft_barrier(&raft_, &req->barrier, &RaftNode::OnBarrier);
      if (rv != 0) {
        auto f = std::move(req->fn);
        delete req;
        f(Refused(&raft_, rv), nullptr);
      }
    }
  }
  for (unsigned i = 0; i < raft_.configuration.n; i++) {
    const raft_server& server = raft_.configuration.servers[i];
    if (server.role != RAFT_VOTER) continue;
    r.voters.push_back(server.id);
    r.voter |= server.id == options_.id;
  }
  MutexLock l(&role_mu_);
  r.ready = r.state == RAFT_LEADER && ready_term_ == r.term;
  if (r.state != role_.state || r.leader_id != role_.leader_id || r.term != role_.term ||
      r.ready != role_.ready || r.voters != role_.voters) {
    role_ = r;
    role_cv_.SignalAll();
  }
}

RaftNode::Role RaftNode::role() const {
  MutexLock l(&role_mu_);
  return role_;
}

uint64_t RaftNode::ReadyTerm() const {
  MutexLock l(&role_mu_);
  return role_.ready ? role_.term : 0;
}

RaftNode::Role RaftNode::WaitForRole(const std::function<bool(const Role&)>& pred,
                                     int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  MutexLock l(&role_mu_);
  while (!pred(role_)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    role_cv_.WaitFor(&role_mu_, deadline - now);
  }
  return role_;
}

Status RaftNode::ProposeAndWait(const WriteBatch& batch) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  Propose(batch, [promise](Status st) { promise->set_value(st); });
  return future.get();
}

Status RaftNode::AnnounceAndWait(uint64_t id, const std::string& address) {
  std::string command;
  Status s = EncodeAnnounceCommand(Announcement{id, address}, &command);
  if (!s.ok()) return s;
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  auto task = [this, id, command = std::move(command), promise]() mutable {
    bool member = false;
    for (unsigned i = 0; i < raft_.configuration.n; i++) {
      member |= raft_.configuration.servers[i].id == id;
    }
    if (!member) {
      promise->set_value(Status::InvalidArgument("replication: server " + std::to_string(id) +
                                                 " is not in the configuration"));
      return;
    }
    ApplyOnLoop(std::move(command), [promise](Status st) { promise->set_value(st); });
  };
  if (!Post(std::move(task))) return Status::Busy("replication: the node is stopping");
  return future.get();
}

Status RaftNode::Barrier() {
  uint64_t target;
  bool issue = false;
  {
    MutexLock l(&barrier_mu_);
    target = barriers_issued_ + 1;
    barrier_wanted_ = std::max(barrier_wanted_, target);
    if (!barrier_in_flight_) {
      barrier_in_flight_ = true;
      barriers_issued_++;
      issue = true;
    }
  }
  if (issue) IssueBarrier();
  MutexLock l(&barrier_mu_);
  while (barriers_done_ < target) barrier_cv_.Wait(&barrier_mu_);
  // The newest finished barrier was issued after this caller arrived.
  return last_barrier_status_;
}

void RaftNode::IssueBarrier() {
  Read([this](Status st, DB*) {
    bool again = false;
    {
      MutexLock l(&barrier_mu_);
      barriers_done_ = barriers_issued_;
      last_barrier_status_ = st;
      barrier_in_flight_ = false;
      if (barrier_wanted_ > barriers_issued_) {
        barrier_in_flight_ = true;
        barriers_issued_++;
        again = true;
      }
      barrier_cv_.SignalAll();
    }
    if (again) IssueBarrier();
  });
}

namespace {

struct ChangeRequest {
  struct raft_change change {};
  std::function<void(int)> done;
};

void OnChanged(struct raft_change* req, int status) {
  auto* r = static_cast<ChangeRequest*>(req->data);
  auto done = std::move(r->done);
  delete r;
  done(status);
}

// Starts a membership change on the loop thread; done gets libraft's status
// (immediately if the call itself fails).
void StartChange(const std::function<int(struct raft_change*, raft_change_cb)>& call,
                 std::function<void(int)> done) {
  auto* req = new ChangeRequest;
  req->change.data = req;
  req->done = std::move(done);
  const int rv = call(&req->change, &OnChanged);
  if (rv != 0) {
    auto d = std::move(req->done);
    delete req;
    d(rv);
  }
}

Status ChangeStatus(raft* r, int rv) {
  if (rv == 0) return Status::OK();
  if (rv == RAFT_NOTLEADER) return Refused(r, rv);
  if (rv == RAFT_CANTCHANGE) {
    return Status::Busy("replication: another membership change is in progress");
  }
  if (rv == RAFT_DUPLICATEID || rv == RAFT_DUPLICATEADDRESS || rv == RAFT_BADID ||
      rv == RAFT_NOTFOUND) {
    return Status::InvalidArgument("replication", raft_strerror(rv));
  }
  if (rv == RAFT_LEADERSHIPLOST) {
    return Status::Aborted("replication: leadership lost during the membership change");
  }
  return Status::IOError("replication: membership change", raft_strerror(rv));
}

}  // namespace

// The outcome of one AddServer or RemoveServer, reported on the loop thread.
class RaftNode::ChangeOutcome {
 public:
  ChangeOutcome(RaftNode* node, std::shared_ptr<std::promise<Status>> result)
      : node_(node), result_(std::move(result)) {}
  ChangeOutcome(const ChangeOutcome&) = delete;
  ChangeOutcome& operator=(const ChangeOutcome&) = delete;
  // A change dropped without an outcome (no path does that today) still
  // answers its caller and frees the node for the next one.
  ~ChangeOutcome() {
    if (!set_) set_value(Status::Aborted("replication: the membership change was dropped"));
  }
  // Loop thread; once. The node may start another change from now on.
  void set_value(Status s) {
    DCHECK(!set_);
    set_ = true;
    node_->membership_change_ = false;
    result_->set_value(std::move(s));
  }

 private:
  RaftNode* const node_;
  const std::shared_ptr<std::promise<Status>> result_;
  bool set_ = false;
};

namespace {

// The refusal of a change while this node's own AddServer or RemoveServer
// runs (libraft's own refusal, RAFT_CANTCHANGE, reads differently).
Status OwnChangeInProgress() {
  return Status::Busy(
      "replication: another membership change is in progress (this node's add or removal of a "
      "server has not finished)");
}

}  // namespace

Status RaftNode::AddServer(uint64_t id, const std::string& address) {
  auto result = std::make_shared<std::promise<Status>>();
  std::future<Status> future = result->get_future();
  auto task = [this, id, address, result] {
    if (membership_change_) {
      result->set_value(OwnChangeInProgress());
      return;
    }
    // From here every outcome goes through promise, which ends the change.
    membership_change_ = true;
    auto promise = std::make_shared<ChangeOutcome>(this, result);
    const raft_server* existing = nullptr;
    for (unsigned i = 0; i < raft_.configuration.n; i++) {
      if (raft_.configuration.servers[i].id == id) existing = &raft_.configuration.servers[i];
    }
    if (existing != nullptr && existing->address != address) {
      promise->set_value(Status::InvalidArgument("replication: server " + std::to_string(id) +
                                                 " is in the configuration at " +
                                                 existing->address));
      return;
    }
    auto assign = [this, id, promise] {
      StartChange(
          [this, id](struct raft_change* req, raft_change_cb cb) {
            return raft_assign(&raft_, req, id, RAFT_VOTER, cb);
          },
          [this, promise](int rv) { promise->set_value(ChangeStatus(&raft_, rv)); });
    };
    if (existing != nullptr) {
      if (existing->role == RAFT_VOTER) {
        promise->set_value(Status::OK());
      } else {
        assign();
      }
      return;
    }
    StartChange(
        [this, id, address](struct raft_change* req, raft_change_cb cb) {
          return raft_add(&raft_, req, id, address.c_str(), cb);
        },
        [this, promise, assign](int rv) {
          if (rv != 0) {
            promise->set_value(ChangeStatus(&raft_, rv));
          } else {
            assign();  // caught up by libraft first, then a voter
          }
        });
  };
  if (!Post(task)) return Status::Busy("replication: the node is stopping");
  return future.get();
}

Status RaftNode::RemoveServer(uint64_t id) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  auto task = [this, id, promise] {
    if (membership_change_) {
      promise->set_value(OwnChangeInProgress());
      return;
    }
    membership_change_ = true;
    auto outcome = std::make_shared<ChangeOutcome>(this, promise);
    StartChange([this, id](struct raft_change* req,
                           raft_change_cb cb) { return raft_remove(&raft_, req, id, cb); },
                [this, outcome](int rv) { outcome->set_value(ChangeStatus(&raft_, rv)); });
  };
  if (!Post(task)) return Status::Busy("replication: the node is stopping");
  return future.get();
}

namespace {

struct TransferRequest {
  struct raft_transfer transfer {};
};

void OnTransferred(struct raft_transfer* req) { delete static_cast<TransferRequest*>(req->data); }

}  // namespace

Status RaftNode::TransferLeadership(int64_t timeout_ms) {
  if (role().state != RAFT_LEADER) return Status::OK();
  Post([this] {
    auto* req = new TransferRequest;
    req->transfer.data = req;
    // 0: libraft picks the most up-to-date voter.
    if (raft_transfer(&raft_, &req->transfer, 0, &OnTransferred) != 0) delete req;
  });
  Role r = WaitForRole([](const Role& role) { return role.state != RAFT_LEADER; }, timeout_ms);
  if (r.state == RAFT_LEADER) {
    return Status::Busy("replication: still the leader after " + std::to_string(timeout_ms) +
                        " ms");
  }
  return Status::OK();
}

RaftNode::~RaftNode() { Stop(); }

void RaftNode::Loop() { uv_run(&loop_, UV_RUN_DEFAULT); }

bool RaftNode::Post(std::function<void()> fn) {
  {
    MutexLock l(&mu_);
    if (stopping_) return false;
    tasks_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
  return true;
}

void RaftNode::OnAsync(uv_async_t* handle) {
  auto* self = static_cast<RaftNode*>(handle->data);
  std::deque<std::function<void()>> tasks;
  {
    MutexLock l(&self->mu_);
    tasks.swap(self->tasks_);
  }
  for (auto& task : tasks) task();
}

void RaftNode::Stop() {
  if (!thread_.joinable()) return;
  {
    MutexLock l(&mu_);
    if (!stopping_) {
      // The last task: everything posted before it runs first.
      tasks_.push_back([this] {
        Info info = InfoOnLoop();
        {
          MutexLock l2(&mu_);
          last_info_ = info;
        }
        closing_ = true;
        raft_close(&raft_, &RaftNode::OnRaftClose);
      });
      stopping_ = true;
      stop_cv_.SignalAll();
    }
  }
  uv_async_send(&async_);
  thread_.join();
  uv_loop_close(&loop_);
}

void RaftNode::OnRaftClose(raft* r) {
  auto* self = static_cast<RaftNode*>(r->data);
  self->DropHeldInstalls();
  raft_uv_close(&self->io_);
  raft_uv_tcp_close(&self->transport_);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->tick_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->async_), nullptr);
  // Nobody leads through this node any more.
  MutexLock l(&self->role_mu_);
  self->role_ = Role();
  self->role_cv_.SignalAll();
}

void RaftNode::Propose(const WriteBatch& batch, std::function<void(Status)> done) {
  std::string command;
  Status s = EncodeWriteCommand(batch, &command);
  if (!s.ok()) {
    done(s);
    return;
  }
  auto task = [this, command = std::move(command), done]() mutable {
    ApplyOnLoop(std::move(command), std::move(done));
  };
  if (!Post(task)) done(Status::Busy("replication: the node is stopping"));
}

void RaftNode::ApplyOnLoop(std::string command, std::function<void(Status)> done) {
  auto* req = new ApplyRequest;
  req->apply.data = req;
  req->done = std::move(done);
  raft_buffer buf;
  buf.len = command.size();
  buf.base = raft_malloc(buf.len);
  if (buf.base == nullptr) {
    auto d = std::move(req->done);
    delete req;
    d(Status::IOError("replication: out of memory"));
    return;
  }
  std::memcpy(buf.base, command.data(), buf.len);
  const int rv = raft_apply(&raft_, &req->apply, &buf, 1, &RaftNode::OnApplied);
  if (rv != 0) {
    auto d = std::move(req->done);
    delete req;
    if (RefusedBeforeAppend(rv)) {
      // Refused by the consensus core: the buffer is still ours, nothing happened.
      raft_free(buf.base);
      d(Refused(&raft_, rv));
    } else {
      // Failed in the I/O layer, which has taken (and freed) the buffer; the
      // entry may be in the leader's log: its outcome is unknown.
      d(Status::Aborted("replication: outcome unknown (" + std::string(raft_errmsg(&raft_)) + ")"));
    }
  }
}

void RaftNode::OnApplied(struct raft_apply* req, int status, void*) {
  auto* r = static_cast<ApplyRequest*>(req->data);
  auto done = std::move(r->done);
  delete r;
  done(status == 0 ? Status::OK() : Unknown(status));
}

void RaftNode::Read(std::function<void(Status, DB*)> fn) {
  auto task = [this, fn]() mutable {
    auto* req = new BarrierRequest;
    req->barrier.data = req;
    req->fn = std::move(fn);
    req->machine = machine_.get();
    const int rv = raft_barrier(&raft_, &req->barrier, &RaftNode::OnBarrier);
    if (rv != 0) {
      auto f = std::move(req->fn);
      delete req;
      f(Refused(&raft_, rv), nullptr);
    }
  };
  if (!Post(task)) fn(Status::Busy("replication: the node is stopping"), nullptr);
}

void RaftNode::OnBarrier(struct raft_barrier* req, int status) {
  auto* r = static_cast<BarrierRequest*>(req->data);
  auto fn = std::move(r->fn);
  StateMachine* machine = r->machine;
  delete r;
  if (status != 0) {
    fn(Unknown(status), nullptr);
    return;
  }
  // Every entry before the barrier is applied: the database is a linearizable view.
  fn(Status::OK(), machine->db());
}

RaftNode::Info RaftNode::InfoOnLoop() {
  Info info;
  info.id = options_.id;
  info.state = raft_state(&raft_);
  raft_id leader = 0;
  const char* address = nullptr;
  raft_leader(&raft_, &leader, &address);
  info.leader_id = leader;
  if (address != nullptr) info.leader_address = address;
  info.term = raft_current_term(&raft_);
  info.commit_index = raft_commit_index(&raft_);
  info.last_applied = raft_last_applied(&raft_);
  info.applied_index = machine_->applied_index();
  info.applied_count = fsm_->applied_count();
  info.skipped_count = fsm_->skipped_count();
  info.installed_snapshots = machine_->installed_snapshots();
  info.last_index = raft_last_index(&raft_);
  info.fsm_errors = fsm_->errors();
  info.installs_held = installs_held_;
  if (!fsm_->last_error().ok()) info.fsm_last_error = fsm_->last_error().ToString();
  if (info.state == RAFT_LEADER) {
    for (unsigned i = 0; i < raft_.configuration.n; i++) {
      const raft_server& server = raft_.configuration.servers[i];
      if (server.id == options_.id) continue;
      Info::Peer peer;
      peer.id = server.id;
      peer.voter = server.role == RAFT_VOTER;
      raft_index match = 0;
      if (raft_match_index(&raft_, server.id, &match) == 0) peer.match_index = match;
      info.peers.push_back(peer);
    }
  }
  return info;
}

RaftNode::Info RaftNode::GetInfo() {
  auto promise = std::make_shared<std::promise<Info>>();
  std::future<Info> future = promise->get_future();
  if (!Post([this, promise] { promise->set_value(InfoOnLoop()); })) {
    MutexLock l(&mu_);
    return last_info_;
  }
  // The loop thread may be retrying a restore for a long time: then the view
  // it published (the task above runs once it is free; nobody waits for it).
  while (future.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
    MutexLock l(&mu_);
    if (restoring_) return last_info_;
  }
  return future.get();
}

}  // namespace lsmkv::replication
