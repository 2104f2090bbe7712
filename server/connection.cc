#include "server/connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "server/command.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/pubsub.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/value_codec.h"
#include "util/check.h"

namespace lsmkv::server {

namespace {

// Replies pending past this are written before more commands run.
constexpr size_t kWriteThreshold = 64 * 1024;
// Bytes asked of the parser for each read.
constexpr size_t kReadChunk = 16 * 1024;
// A drained reply buffer larger than this is released.
constexpr size_t kKeepOutputCapacity = 1024 * 1024;

std::string Endpoint(const asio::ip::tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

Connection::Connection(Server* server, asio::ip::tcp::socket socket)
    : server_(server),
      socket_(std::move(socket)),
      stop_timer_(socket_.get_executor()),
      block_timer_(socket_.get_executor()),
      batch_(server->context().keyspace, &server->context()) {
  ServerContext& ctx = server_->context();
  state_.id = ctx.clients->NextId();
  state_.created_ms = ctx.keyspace->clock()->NowMs();
  state_.last_interaction_ms.store(state_.created_ms, std::memory_order_relaxed);
  state_.authenticated = ctx.config->String(Setting::kRequirepass).empty();
  asio::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  if (!ec) state_.address = Endpoint(remote);
  const auto local = socket_.local_endpoint(ec);
  if (!ec) state_.local_address = Endpoint(local);
}

Connection::~Connection() {
  // Close() normally ran; this covers a connection destroyed unstarted.
  if (registered_) server_->context().clients->Remove(&state_);
}

void Connection::Start() {
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self] {
    if (self->closed_) return;
    self->server_->context().clients->Add(&self->state_);
    self->registered_ = true;
    // Blocking commands wake the client through this: post to the strand.
    std::weak_ptr<Connection> weak = self;
    auto executor = self->socket_.get_executor();
    self->state_.wake = [weak, executor] {
      asio::post(executor, [weak] {
        if (auto c = weak.lock()) c->OnWake();
      });
    };
    self->state_.unblock = [weak, executor](bool error) {
      asio::post(executor, [weak, error] {
        if (auto c = weak.lock()) c->OnUnblock(error);
      });
    };
    // Publishers on any thread announce messages through this.
    self->state_.pubsub_notify = [weak, executor] {
      asio::post(executor, [weak] {
        if (auto c = weak.lock()) c->OnPubSub();
      });
    };
    asio::error_code ec;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    self->socket_.non_blocking(true, ec);  // WriteNow must never block
    if (self->stopping_ || self->server_->stopping()) {
      self->Close();
      return;
    }
    self->DoRead();
  });
}

void Connection::Stop() {
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self] {
    if (self->closed_) return;
    self->stopping_ = true;
    if (self->reading_) {
      asio::error_code ec;
      self->socket_.cancel(ec);  // OnRead sees operation_aborted and closes
    } else if (self->executing_) {
      // OffLoopDone writes the command's reply, then closes.
    } else if (!self->writing_) {  // also a blocked client: Close unblocks it
      self->Close();
    } else {
      // A write is pending: give the client a moment to take it, then
      // cancel it (OnWrite sees the error and closes).
      self->stop_timer_.expires_after(kStalledWriterGrace);
      self->stop_timer_.async_wait([self](const asio::error_code& error) {
        if (error || self->closed_ || !self->writing_) return;
        asio::error_code ec;
        self->socket_.cancel(ec);
      });
    }
  });
}

void Connection::CheckTimeouts(int64_t now_ms, int64_t idle_timeout_ms,
                               int64_t request_timeout_ms) {
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self, now_ms, idle_timeout_ms, request_timeout_ms] {
    if (self->closed_) return;
    const int64_t last = self->state_.last_interaction_ms.load(std::memory_order_relaxed);
    // A blocked client waits for its command's own timeout, and a
    // subscriber for messages, as in Redis.
    const bool subscribed = !self->executing_ && self->state_.subscribed();
    if (idle_timeout_ms > 0 && !self->blocked_ && !subscribed && now_ms - last >= idle_timeout_ms) {
      self->Close();
      return;
    }
    // Only while waiting for the client's bytes: a client slow to read its
    // replies is the output buffer's business, not this limit's.
    const int64_t started = self->request_started_ms_;
    if (request_timeout_ms > 0 && self->reading_ && started > 0 &&
        now_ms - started >= request_timeout_ms) {
      self->server_->context().stats->request_timeouts.fetch_add(1, std::memory_order_relaxed);
      self->Close();
    }
  });
}

void Connection::RefreshParserLimits() {
  Config& config = *server_->context().config;
  RespLimits limits;
  limits.max_bulk_length = static_cast<uint64_t>(config.Int(Setting::kProtoMaxBulkLen));
  limits.max_query_buffer = static_cast<uint64_t>(config.Int(Setting::kClientQueryBufferLimit));
  limits.max_args = config.Int(Setting::kProtoMaxMultibulkLen);
  parser_.set_limits(limits);
  if (!state_.authenticated && config.String(Setting::kRequirepass).empty()) {
    state_.authenticated = true;  // the password was removed
  }
  parser_.set_authenticated(state_.authenticated);
}

void Connection::DoRead() {
  if (closed_) return;
  // One socket operation at a time: a read never overlaps a write.
  DCHECK(!reading_ && !writing_);
  RefreshParserLimits();
  parser_.ReleaseMemory();
  size_t available = 0;
  char* buffer = parser_.PrepareWrite(kReadChunk, &available);
  reading_ = true;
  auto self = shared_from_this();
  socket_.async_read_some(
      asio::buffer(buffer, available),
      [self](const asio::error_code& error, size_t bytes) { self->OnRead(error, bytes); });
}

void Connection::OnRead(const asio::error_code& error, size_t bytes) {
  DCHECK(reading_);
  reading_ = false;
  const bool cancelled_for_write = read_cancelled_;
  read_cancelled_ = false;
  if (cancelled_for_write && error == asio::error::operation_aborted && !stopping_) {
    Process();  // writes the messages OnPubSub left in out_
    return;
  }
  if (error || stopping_) {
    Close();
    return;
  }
  parser_.Commit(bytes);
  starved_ = false;  // the buffered request may be complete now
  server_->context().stats->net_input_bytes.fetch_add(bytes, std::memory_order_relaxed);
  const int64_t now = server_->context().keyspace->clock()->NowMs();
  state_.last_interaction_ms.store(now, std::memory_order_relaxed);
  // A request's clock starts with its first bytes; the commands this read
  // completes reset it (ExecuteBuffered), and what is left over starts now.
  if (request_started_ms_ == 0) request_started_ms_ = now;
  Process();
}

void Connection::Process() {
  DCHECK(!reading_ && !writing_);  // runs between socket operations
  ServerContext& ctx = server_->context();
  Reply reply(&out_, state_.protocol.load(std::memory_order_relaxed));
  reply.set_error_stats(&ctx.stats->errors);
  asio::thread_pool* cluster_pool = server_->cluster_pool();
  if (cluster_pool == nullptr) {
    ExecuteBuffered(ctx, reply);
    state_.query_buffer_bytes.store(parser_.buffered(), std::memory_order_relaxed);
  } else if (!executing_ && !blocked_ && !close_after_write_ && !starved_ && !stopping_ &&
             !server_->stopping() && parser_.buffered() > 0 && out_.size() < kWriteThreshold) {
    // The replies of earlier commands (in out_) are written meanwhile.
    state_.query_buffer_bytes.store(parser_.buffered(), std::memory_order_relaxed);
    ExecuteBufferedOffLoop(ctx, *cluster_pool);
  }
  if (!out_.empty()) {
    DeferWrite();  // OnDeferredWrite continues
    return;
  }
  if (executing_ || blocked_) return;  // OffLoopDone / OnWake / OnBlockTimeout continue
  if (close_after_write_ || stopping_ || server_->stopping()) {
    Close();
  } else {
    DoRead();
  }
}

const CommandSpec* Connection::FindCommand(ServerContext& ctx, const std::string& name) {
  if (last_spec_ != nullptr && name == last_name_) return last_spec_;
  const CommandSpec* spec = ctx.commands->Find(name);
  if (spec != nullptr) {
    last_name_ = name;  // a found name is short (CommandTable::Find)
    last_spec_ = spec;
  }
  return spec;
}

void Connection::ExecuteBuffered(ServerContext& ctx, Reply& reply) {
  // Requests buffered now were all received before any read point taken
  // while running them (Cluster::Admit).
  state_.has_read_point = false;
  while (!executing_ && !blocked_ && !close_after_write_ && out_.size() < kWriteThreshold) {
    RespParser::Result result = parser_.Next(&args_);
    if (result == RespParser::Result::kNeedMore) break;
    if (result == RespParser::Result::kError) {
      batch_.Finish(reply);
      ctx.stats->protocol_errors.fetch_add(1, std::memory_order_relaxed);
      reply.Error("ERR " + parser_.error());
      close_after_write_ = true;
      break;
    }
    // The leftover bytes (if any) belong to a request that began with the
    // read that brought them.
    request_started_ms_ =
        parser_.in_request() ? state_.last_interaction_ms.load(std::memory_order_relaxed) : 0;
    const CommandSpec* spec = FindCommand(ctx, args_[0]);  // once per command
    if (RunsOffLoop(spec)) {
      batch_.Finish(reply);  // the earlier replies' writes first
      ExecuteOffLoop(ctx);
      break;
    }
    reply.set_protocol(state_.protocol.load(std::memory_order_relaxed));
    ExecuteCommand(ctx, state_, spec, args_, reply, &batch_);
    if (state_.block.requested) {
      Park(spec, /*first=*/true);
      break;
    }
    if (!AfterCommand(ctx, reply)) break;
  }
  // Replies leave only after the writes they acknowledge are committed.
  batch_.Finish(reply);
  state_.output_buffer_bytes.store(out_.size(), std::memory_order_relaxed);
}

bool Connection::AfterCommand(ServerContext& ctx, Reply& reply) {
  if (!CheckAfterCommand(ctx, reply, &out_, 0)) {
    close_after_write_ = true;
    return false;
  }
  return !(stopping_ || server_->stopping());
}

bool Connection::CheckAfterCommand(ServerContext& ctx, Reply& reply, std::string* out,
                                   size_t pending) {
  // A huge command's argument vector is not kept for the next one.
  if (args_.capacity() > 1024) std::vector<std::string>().swap(args_);
  // AUTH may have lifted the unauthenticated limits for what follows.
  parser_.set_authenticated(state_.authenticated);
  const int64_t limit = ctx.config->Int(Setting::kClientOutputBufferLimit);
  if (limit > 0 && out->size() + pending > static_cast<uint64_t>(limit)) {
    batch_.Finish(reply);
    out->clear();
    reply.Error(
        "ERR client output buffer limit reached (client-output-buffer-limit); closing "
        "the connection");
    return false;
  }
  return !state_.close_after_reply;
}

bool Connection::RunsOffLoop(const CommandSpec* spec) const {
  // An EXEC of more commands than this runs off the loop too.
  constexpr size_t kOffLoopExec = 1000;
  if (spec == nullptr) return false;
  if (spec->flags & kCmdSlow) return !state_.in_multi;  // inside MULTI it is only queued
  return state_.in_multi && state_.queued.size() > kOffLoopExec &&
         std::string_view(spec->name) == "exec";
}

void Connection::ExecuteOffLoop(ServerContext& ctx) {
  DCHECK(!executing_ && !reading_);
  executing_ = true;
  auto self = shared_from_this();
  auto executor = socket_.get_executor();
  // Keeps the event loop running until the reply is back on the strand.
  auto work = asio::make_work_guard(executor);
  const int protocol = state_.protocol.load(std::memory_order_relaxed);
  asio::post(server_->slow_pool(), [self, &ctx, executor, work = std::move(work), protocol,
                                    args = std::move(args_)]() mutable {
    // The strand runs nothing of this connection until OffLoopDone, so the
    // client state is this thread's alone meanwhile.
    std::string out;
    Reply reply(&out, protocol);
    reply.set_error_stats(&ctx.stats->errors);
    ExecuteCommand(ctx, self->state_, args, reply, nullptr);
    asio::post(executor, [self, work = std::move(work), out = std::move(out)]() mutable {
      self->OffLoopDone(std::move(out));
    });
  });
  args_.clear();
}

void Connection::ExecuteBufferedOffLoop(ServerContext& ctx, asio::thread_pool& pool) {
  DCHECK(!executing_ && !reading_ && !blocked_);
  executing_ = true;
  auto self = shared_from_this();
  auto executor = socket_.get_executor();
  auto work = asio::make_work_guard(executor);  // the loop runs until BatchDone
  const size_t pending = out_.size();
  asio::post(pool, [self, &ctx, executor, work = std::move(work), pending]() mutable {
    // Until BatchDone the strand touches none of parser_, args_, batch_ and
    // the client state's plain fields (executing_ holds it off), so they are
    // this thread's alone; out_ stays the strand's (earlier replies are
    // written meanwhile, pub/sub messages appended).
    BatchResult result = self->RunBatch(ctx, pending);
    asio::post(executor, [self, work = std::move(work), result = std::move(result)]() mutable {
      self->BatchDone(std::move(result));
    });
  });
}

Connection::BatchResult Connection::RunBatch(ServerContext& ctx, size_t pending) {
  BatchResult result;
  Reply reply(&result.out, state_.protocol.load(std::memory_order_relaxed));
  reply.set_error_stats(&ctx.stats->errors);
  // As in ExecuteBuffered: what is buffered now was received before any
  // read point taken while running it.
  state_.has_read_point = false;
  while (result.out.size() + pending < kWriteThreshold) {
    RespParser::Result parsed = parser_.Next(&args_);
    if (parsed == RespParser::Result::kNeedMore) {
      result.starved = true;
      break;
    }
    if (parsed == RespParser::Result::kError) {
      batch_.Finish(reply);
      ctx.stats->protocol_errors.fetch_add(1, std::memory_order_relaxed);
      reply.Error("ERR " + parser_.error());
      result.close = true;
      break;
    }
    result.parsed = true;
    result.request_started_ms =
        parser_.in_request() ? state_.last_interaction_ms.load(std::memory_order_relaxed) : 0;
    const CommandSpec* spec = FindCommand(ctx, args_[0]);
    reply.set_protocol(state_.protocol.load(std::memory_order_relaxed));
    if (RunsOffLoop(spec)) {
      // Already off the loop: only the earlier writes are committed first,
      // as ExecuteBuffered does before handing one to the slow threads.
      batch_.Finish(reply);
      ExecuteCommand(ctx, state_, args_, reply, nullptr);
    } else {
      ExecuteCommand(ctx, state_, spec, args_, reply, &batch_);
    }
    if (state_.block.requested) {
      result.park_spec = spec;  // BatchDone parks it, args_ kept
      result.park = true;
      break;
    }
    // AfterCommand's checks, on this batch's replies (stopping_ is the
    // strand's: Process checks it after BatchDone).
    if (!CheckAfterCommand(ctx, reply, &result.out, pending)) {
      result.close = true;
      break;
    }
    if (server_->stopping()) break;
  }
  // Replies leave only after the writes they acknowledge are committed.
  batch_.Finish(reply);
  result.buffered = parser_.buffered();
  return result;
}

void Connection::BatchDone(BatchResult result) {
  DCHECK(executing_);
  executing_ = false;
  starved_ = result.starved;
  state_.query_buffer_bytes.store(result.buffered, std::memory_order_relaxed);
  if (result.parsed) request_started_ms_ = result.request_started_ms;
  if (close_pending_) {
    Close();
    return;
  }
  out_.append(result.out);
  if (result.close) close_after_write_ = true;
  state_.output_buffer_bytes.store(out_.size(), std::memory_order_relaxed);
  if (result.park) Park(result.park_spec, /*first=*/true);
  // A write of earlier replies may still be under way: its OnWrite
  // continues then.
  if (!writing_) Process();
}

void Connection::OffLoopDone(std::string out) {
  DCHECK(executing_);
  executing_ = false;
  if (close_pending_) {
    Close();
    return;
  }
  ServerContext& ctx = server_->context();
  out_.append(out);
  Reply reply(&out_, state_.protocol.load(std::memory_order_relaxed));
  reply.set_error_stats(&ctx.stats->errors);
  AfterCommand(ctx, reply);
  state_.output_buffer_bytes.store(out_.size(), std::memory_order_relaxed);
  // A write of earlier replies may still be under way: its OnWrite
  // continues then.
  if (!writing_) Process();
}

bool Connection::WriteNow() {
  // Never beside an async write: the bytes would interleave.
  DCHECK(!writing_ && sending_.empty());
  DCHECK(!out_.empty());
  asio::error_code ec;
  const size_t written = socket_.write_some(asio::buffer(out_), ec);
  DCHECK_LE(written, out_.size());
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    out_.clear();
    close_after_write_ = true;  // the peer is gone; Close follows
    return true;
  }
  server_->context().stats->net_output_bytes.fetch_add(written, std::memory_order_relaxed);
  if (written == out_.size()) {
    if (out_.capacity() > kKeepOutputCapacity) {
      std::string().swap(out_);
    } else {
      out_.clear();
    }
    state_.output_buffer_bytes.store(0, std::memory_order_relaxed);
    return true;
  }
  out_.erase(0, written);
  return false;
}

void Connection::DeferWrite() {
  DCHECK(!writing_ && sending_.empty());
  DCHECK(!out_.empty());
  // Pending like an async write: nothing else touches the socket, and what
  // arrives meanwhile (pub/sub messages, an off-loop reply) joins out_.
  writing_ = true;
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self] { self->OnDeferredWrite(); });
}

void Connection::OnDeferredWrite() {
  DCHECK(writing_);
  writing_ = false;
  if (closed_) return;
  if (out_.empty()) {
    Process();  // nothing left to write (output limit): read or close
    return;
  }
  // Most replies fit in the socket buffer: write them without a round
  // through the reactor; whatever does not fit goes async (OnWrite then
  // continues with Process).
  if (!WriteNow()) {
    DoWrite();
    return;
  }
  if (executing_ || blocked_) return;  // OffLoopDone / OnWake / OnBlockTimeout continue
  if (close_after_write_ || stopping_ || server_->stopping()) {
    Close();
    return;
  }
  if (parser_.buffered() == 0 || starved_) {
    DoRead();
    return;
  }
  Process();  // more pipelined requests are buffered: run them
}

void Connection::DoWrite() {
  DCHECK(!writing_ && sending_.empty());  // OnWrite emptied the previous one
  DCHECK(!out_.empty());
  sending_.swap(out_);
  out_.clear();
  writing_ = true;
  UpdateUnsent();
  auto self = shared_from_this();
  asio::async_write(
      socket_, asio::buffer(sending_),
      [self](const asio::error_code& error, size_t bytes) { self->OnWrite(error, bytes); });
}

void Connection::OnWrite(const asio::error_code& error, size_t bytes) {
  DCHECK(writing_);
  DCHECK(error || bytes == sending_.size());  // async_write writes all or fails
  writing_ = false;
  server_->context().stats->net_output_bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (sending_.capacity() > kKeepOutputCapacity) {
    std::string().swap(sending_);
  } else {
    sending_.clear();
  }
  state_.output_buffer_bytes.store(0, std::memory_order_relaxed);
  UpdateUnsent();
  // Time spent writing does not count against a buffered request.
  if (request_started_ms_ != 0) request_started_ms_ = server_->context().keyspace->clock()->NowMs();
  if (error || close_after_write_ || stopping_ || server_->stopping()) {
    Close();
    return;
  }
  Process();
}

void Connection::Park(const CommandSpec* spec, bool first) {
  DCHECK(state_.block.requested);
  state_.block.requested = false;
  blocked_ = true;
  state_.blocked_now.store(true, std::memory_order_release);
  if (first) {
    blocked_spec_ = spec;
    blocked_args_ = std::move(args_);
    args_.clear();
    block_deadline_ms_ = state_.block.deadline_ms;
    keep_alive_while_blocked_ = shared_from_this();
  }
  if (block_deadline_ms_ == 0) return;
  const int64_t now = server_->context().keyspace->clock()->NowMs();
  const int64_t remaining = std::max<int64_t>(block_deadline_ms_ - now, 0);
  auto self = shared_from_this();
  block_timer_.expires_after(std::chrono::milliseconds(remaining));
  block_timer_.async_wait([self](const asio::error_code& error) {
    if (!error) self->OnBlockTimeout();
  });
}

bool Connection::PeerClosed() {
  char byte;
  const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

void Connection::OnWake() {
  BlockingKeys& blocking = server_->context().keyspace->blocking();
  // The wake-up was this client's turn (only the oldest waiter is woken): a
  // client that cannot take it passes it on to the next waiter.
  auto pass_on = [&] {
    for (const std::string& key : state_.block.keys) blocking.Signal(key);
  };
  if (closed_ || !blocked_) {
    pass_on();  // closed while the wake-up was on its way
    return;
  }
  state_.block.ticket = 0;  // Signal forgot it
  if (PeerClosed()) {
    pass_on();
    Close();
    return;
  }
  ServerContext& ctx = server_->context();
  Reply reply(&out_, state_.protocol.load(std::memory_order_relaxed));
  reply.set_error_stats(&ctx.stats->errors);
  blocked_ = false;
  state_.block.retry = true;
  const uint64_t errors_before = reply.errors();
  ExecuteCommand(ctx, state_, blocked_spec_, blocked_args_, reply, nullptr);
  state_.block.retry = false;
  if (state_.block.requested) {
    Park(blocked_spec_, /*first=*/false);  // taken by another client: wait on
    return;
  }
  // Ended with an error (e.g. BLMOVE's destination holds another type): it
  // took nothing, so the next waiter gets the turn.
  if (reply.errors() != errors_before) pass_on();
  FinishBlock(ctx, reply);
}

void Connection::OnBlockTimeout() { EndBlock(/*error=*/false); }

void Connection::OnUnblock(bool error) { EndBlock(error); }

void Connection::EndBlock(bool error) {
  if (closed_ || !blocked_) return;
  ServerContext& ctx = server_->context();
  // A wake-up already on its way runs the command instead (OnWake).
  if (!ctx.keyspace->blocking().Cancel(state_.block.ticket)) return;
  state_.block.ticket = 0;
  blocked_ = false;
  Reply reply(&out_, state_.protocol.load(std::memory_order_relaxed));
  reply.set_error_stats(&ctx.stats->errors);
  if (state_.reply_off || state_.reply_skip) {
    state_.reply_skip = false;  // CLIENT REPLY: the timeout's null is dropped too
  } else if (error) {
    reply.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
  } else if (state_.block.null_array) {
    reply.NullArray();
  } else {
    reply.Null();
  }
  FinishBlock(ctx, reply);
}

void Connection::FinishBlock(ServerContext& ctx, Reply& reply) {
  // The caller (a posted handler) holds its own reference.
  keep_alive_while_blocked_.reset();
  state_.blocked_now.store(false, std::memory_order_release);
  block_timer_.cancel();
  blocked_spec_ = nullptr;
  std::vector<std::string>().swap(blocked_args_);
  block_deadline_ms_ = 0;
  AfterCommand(ctx, reply);
  state_.output_buffer_bytes.store(out_.size(), std::memory_order_relaxed);
  // A write of earlier replies may still be under way: its OnWrite
  // continues then.
  if (!writing_) Process();
}

void Connection::UpdateUnsent() {
  if (state_.subscriber != nullptr) state_.subscriber->set_unsent(out_.size() + sending_.size());
}

void Connection::OnPubSub() {
  if (closed_ || state_.subscriber == nullptr) return;
  if (!state_.subscriber->Drain(&out_)) {
    // Past client-output-buffer-limit pubsub: dropped, as Redis does.
    Close();
    return;
  }
  state_.output_buffer_bytes.store(out_.size() + sending_.size(), std::memory_order_relaxed);
  if (out_.empty() || writing_ || executing_ || read_cancelled_) {
    // The write that follows (OnWrite / OffLoopDone / OnRead's Process)
    // takes out_.
    UpdateUnsent();
    return;
  }
  if (reading_) {
    // Idle in a read: write beside it, without blocking.
    if (!WriteNow()) {
      read_cancelled_ = true;
      asio::error_code ec;
      socket_.cancel(ec);  // OnRead continues with Process, which writes
    } else if (close_after_write_) {
      Close();  // the peer is gone
      return;
    }
    UpdateUnsent();
    return;
  }
  // Parked (a blocking command waits): no read pending; write as
  // FinishBlock would.
  if (!WriteNow()) {
    DoWrite();
  } else if (close_after_write_) {
    Close();
    return;
  }
  UpdateUnsent();
}

void Connection::Close() {
  if (closed_) return;
  // A reference for the rest of Close: the keep-alive below may be the last.
  std::shared_ptr<Connection> self = shared_from_this();
  if (blocked_) {
    server_->context().keyspace->blocking().Cancel(state_.block.ticket);
    state_.block.ticket = 0;
    blocked_ = false;
    block_timer_.cancel();
    keep_alive_while_blocked_.reset();
  }
  if (executing_) {
    // The slow-command thread uses the client state: close when it is done.
    close_pending_ = true;
    return;
  }
  closed_ = true;
  stop_timer_.cancel();
  // The registry forgets the client's subscriptions: no message is
  // appended for it any more (one a publisher holds is dropped with it).
  if (state_.subscriber != nullptr) server_->context().pubsub->RemoveAll(state_.subscriber.get());
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  ServerContext& ctx = server_->context();
  DiscardTransaction(ctx, state_);
  if (registered_) {
    ctx.clients->Remove(&state_);
    registered_ = false;
  }
  server_->OnConnectionClosed(id());
}

}  // namespace lsmkv::server
