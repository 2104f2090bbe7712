#include "replication/raft_node.h"

#include <csignal>
#include <cstring>
#include <future>

#include "replication/command.h"

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
  return Status::IOError("replication: ", raft_strerror(rv));
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
    return Status::Aborted("replication: outcome unknown (",
                           raft_strerror(status) + std::string(")"));
  }
  return Status::IOError("replication: ", raft_strerror(status));
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
  fsm_ = std::make_unique<RaftFsm>(machine_.get(), options_.source);

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
  if (rv != 0) return Status::IOError("replication: uv_loop_init: ", uv_strerror(rv));
  rv = uv_async_init(&loop_, &async_, &RaftNode::OnAsync);
  if (rv != 0) {
    uv_loop_close(&loop_);
    return Status::IOError("replication: uv_async_init: ", uv_strerror(rv));
  }
  async_.data = this;
  loop_ready_ = true;
  transport_.version = 1;  // the caller fills it in (raft/uv.h)
  rv = raft_uv_tcp_init(&transport_, &loop_);
  if (rv != 0) return fail("raft_uv_tcp_init", rv, nullptr);
  transport_ready_ = true;
  const std::string raft_dir = options_.dir + "/raft";
  rv = raft_uv_init(&io_, &loop_, raft_dir.c_str(), &transport_);
  if (rv != 0) return fail("raft_uv_init", rv, io_.errmsg);
  io_ready_ = true;
  rv = raft_init(&raft_, &io_, fsm_->fsm(), options_.id, options_.address.c_str());
  if (rv != 0) return fail("raft_init", rv, raft_errmsg(&raft_));
  raft_.data = this;
  raft_ready_ = true;
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
    }
  }
  uv_async_send(&async_);
  thread_.join();
  uv_loop_close(&loop_);
}

void RaftNode::OnRaftClose(raft* r) {
  auto* self = static_cast<RaftNode*>(r->data);
  raft_uv_close(&self->io_);
  raft_uv_tcp_close(&self->transport_);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->async_), nullptr);
}

void RaftNode::Propose(const WriteBatch& batch, std::function<void(Status)> done) {
  std::string command;
  Status s = EncodeWriteCommand(batch, &command);
  if (!s.ok()) {
    done(s);
    return;
  }
  auto task = [this, command = std::move(command), done]() mutable {
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
        d(Status::Aborted("replication: outcome unknown (",
                          std::string(raft_errmsg(&raft_)) + ")"));
      }
    }
  };
  if (!Post(task)) done(Status::Busy("replication: the node is stopping"));
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
  return info;
}

RaftNode::Info RaftNode::GetInfo() {
  auto promise = std::make_shared<std::promise<Info>>();
  std::future<Info> future = promise->get_future();
  if (!Post([this, promise] { promise->set_value(InfoOnLoop()); })) {
    MutexLock l(&mu_);
    return last_info_;
  }
  return future.get();
}

}  // namespace lsmkv::replication
