#include "server/dispatcher.h"

#include "server/cluster.h"
#include "server/command.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/config.h"
#include "server/keyspace.h"
#include "server/notify.h"
#include "server/pubsub.h"
#include "server/resp_parser.h"
#include "server/scripting.h"

namespace lsmkv::server {

namespace {

// Unix time in microseconds on the keyspace's clock: one read gives a
// command both its expiry clock (milliseconds) and the start of its latency
// measurement.
int64_t NowMicros(ServerContext& server) { return server.keyspace->clock()->NowUs(); }

bool ArityOk(const CommandSpec& spec, size_t argc) {
  const int n = static_cast<int>(argc);
  return spec.arity > 0 ? n == spec.arity : n >= -spec.arity;
}

bool NeedsAuth(ServerContext& server, const ClientState& client, const CommandSpec& spec) {
  if (client.authenticated || (spec.flags & kCmdNoAuth)) return false;
  return !server.config->String(Setting::kRequirepass).empty();
}

void Reject(ServerContext& server, ClientState& client, const CommandSpec* spec, Reply& reply,
            std::string_view error) {
  if (client.in_multi) client.multi_failed = true;
  if (spec != nullptr) spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
  reply.Error(error);
}

// Commands a RESP2 client with subscriptions may run (its connection
// carries messages, so replies of other commands could not be told apart).
bool AllowedWhileSubscribed(std::string_view name) {
  static constexpr std::string_view kAllowed[] = {"ping",         "subscribe",    "ssubscribe",
                                                  "unsubscribe",  "sunsubscribe", "psubscribe",
                                                  "punsubscribe", "quit",         "reset"};
  for (std::string_view allowed : kAllowed) {
    if (name == allowed) return true;
  }
  return false;
}

// Redis's name for the command in errors: "client|list" for a subcommand
// of a container command.
std::string FullName(const CommandSpec& spec, const std::vector<std::string>& args) {
  static constexpr std::string_view kContainers[] = {
      "acl",    "client", "cluster", "command", "config", "function", "latency",
      "memory", "module", "object",  "pubsub",  "script", "slowlog",  "xinfo"};
  std::string name = spec.name;
  if (args.size() >= 2) {
    for (std::string_view container : kContainers) {
      if (name == container) return name + "|" + ToLower(args[1]);
    }
  }
  return name;
}

bool KeysTooLarge(const std::vector<std::string_view>& keys) {
  for (std::string_view key : keys) {
    if (key.size() > kMaxKeyBytes) return true;
  }
  return false;
}

// Runs spec's handler in txn and records its statistics (latency from
// start_us, a NowMicros(server) reading taken when the command began).
void RunHandler(ServerContext& server, ClientState& client, const CommandSpec& spec,
                const std::vector<std::string>& args, Reply& reply, Txn& txn, bool in_exec,
                int64_t start_us) {
  const uint64_t errors_before = reply.errors();
  // The client's database, as SELECT (perhaps earlier in this EXEC) left it.
  txn.set_db(server.keyspace->PhysicalDb(client.db.load(std::memory_order_relaxed)));
  // The one read of notify-keyspace-events per command (notify.h).
  txn.events().set_flags(static_cast<uint32_t>(server.config->Int(Setting::kNotifyKeyspaceEvents)));
  CommandContext ctx{server, client, spec, args, reply, txn, in_exec};
  spec.handler(ctx);
  const bool failed = reply.errors() != errors_before;
  const int64_t elapsed = NowMicros(server) - start_us;  // the wall clock may step back
  spec.stats.Record(elapsed > 0 ? static_cast<uint64_t>(elapsed) : 0, failed);
  server.stats->commands_processed.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

void FinishEvents(ServerContext* server, Txn& txn, const Status& commit) {
  if (commit.ok() && server != nullptr) {
    PublishPendingEvents(*server, txn);
  } else {
    txn.events().clear();
  }
}

std::string UnknownCommandError(const std::vector<std::string>& args) {
  std::string listed;
  for (size_t i = 1; i < args.size() && listed.size() < 128; i++) {
    listed += "'";
    listed += args[i].substr(0, 128 - listed.size());
    listed += "' ";
  }
  return "ERR unknown command '" + args[0].substr(0, 128) +
         "', with args beginning with: " + listed;
}

std::string UnknownSubcommandError(std::string_view subcommand, std::string_view command) {
  return "ERR unknown subcommand '" + std::string(subcommand.substr(0, 128)) + "'. Try " +
         std::string(command) + " HELP.";
}

std::string CommitErrorReply(const Status& s) {
  const std::string_view message = s.message();
  if ((s.IsBusy() && message.starts_with("CLUSTERDOWN ")) ||
      (s.IsAborted() && message.starts_with("UNKNOWN "))) {
    return std::string(message);  // a replicated write refused or of unknown outcome (cluster.h)
  }
  return "ERR " + s.ToString();
}

namespace {

// A replicated server (cluster.h): whether this node runs the command now.
// Empty to run it, else the error to reply. A data command is one flagged as
// reading or writing keys, a script, EXEC (a write if it queued one) or WATCH.
std::string AdmitToCluster(ServerContext& server, ClientState& client, const CommandSpec& spec,
                           const std::vector<std::string_view>& keys) {
  const std::string_view name = spec.name;
  bool write = (spec.flags & (kCmdWrite | kCmdLockAll | kCmdScript)) != 0;
  bool data = write || (spec.flags & kCmdReadOnly) != 0;
  std::string_view first_key = keys.empty() ? std::string_view() : keys[0];
  if (spec.flags & kCmdTransaction) {
    write = false;
    data = name == "watch" || (name == "exec" && client.in_multi && !client.queued.empty());
    if (name == "exec" && data) {
      std::vector<std::string_view> queued_keys;
      for (const auto& args : client.queued) {
        const CommandSpec* queued = server.commands->Find(args[0]);
        if (queued == nullptr) continue;
        write |= (queued->flags & (kCmdWrite | kCmdLockAll | kCmdScript)) != 0;
        if (queued_keys.empty()) CollectKeys(*queued, args, &queued_keys);
      }
      // The key views point into client.queued, which outlives this call.
      if (!queued_keys.empty()) first_key = queued_keys[0];
      return server.cluster->Admit(write, true, !queued_keys.empty(), first_key,
                                   client.cluster_readonly, &client.has_read_point);
    }
  }
  if (!data) return "";
  return server.cluster->Admit(write, data, !first_key.empty() || !keys.empty(), first_key,
                               client.cluster_readonly, &client.has_read_point);
}

// Commands a pipeline batch can hold: not transactions, administration or
// keyspace-wide commands (those must see, and be seen by, committed state).
bool Batchable(const CommandSpec& spec) {
  return (spec.flags & (kCmdTransaction | kCmdLockAll | kCmdKeyspace | kCmdAdmin | kCmdScript)) ==
         0;
}

// A batch is cut at about this many bytes of pending writes.
constexpr size_t kMaxBatchBytes = 4 << 20;

}  // namespace

PipelineBatch::~PipelineBatch() {
  // The owner runs Finish before dropping a batch; a batch with writes here
  // would lose them, so commit rather than drop.
  if (txn_.has_writes()) txn_.Commit().PermitUncheckedError();
}

void PipelineBatch::Finish(Reply& reply) {
  if (commands_ == 0) return;
  Status s;
  if (txn_.has_writes()) {
    s = txn_.Commit();
  } else {
    txn_.DropReadCache();  // before the stripes that kept it valid are released
  }
  // Published before the stripes are released: events of one key reach
  // subscribers in the order its writes committed.
  FinishEvents(server_, txn_, s);
  guard_.Release();
  if (!s.ok()) {
    reply.buffer()->resize(reply_start_);
    for (size_t i = 0; i < commands_; i++) reply.Error(CommitErrorReply(s));
    for (const CommandSpec* spec : specs_) {
      spec->stats.failed_calls.fetch_add(1, std::memory_order_relaxed);
    }
  }
  commands_ = 0;
  specs_.clear();
}

void ExecuteCommand(ServerContext& server, ClientState& client, std::vector<std::string>& args,
                    Reply& reply, PipelineBatch* batch) {
  ExecuteCommand(server, client, server.commands->Find(args[0]), args, reply, batch);
}

namespace {

// Commands whose every reply is a pub/sub push ((un)subscribe
// confirmations, and the messages UNSUBSCRIBE moves into its reply): CLIENT
// REPLY OFF|SKIP does not silence them, as in Redis.
bool PushOnly(const CommandSpec* spec) {
  if (spec == nullptr) return false;
  static constexpr std::string_view kPush[] = {"subscribe",    "unsubscribe", "psubscribe",
                                               "punsubscribe", "ssubscribe",  "sunsubscribe"};
  for (std::string_view name : kPush) {
    if (spec->name == name) return true;
  }
  return false;
}

}  // namespace

void ExecuteCommand(ServerContext& server, ClientState& client, const CommandSpec* spec,
                    std::vector<std::string>& args, Reply& reply, PipelineBatch* batch) {
  // CLIENT REPLY SKIP silences the next command (a blocked command keeps
  // the skip across its retries).
  if (!client.block.retry) {
    client.reply_skip = client.reply_skip_next;
    client.reply_skip_next = false;
  }
  if (!client.reply_off && !client.reply_skip) {
    ExecuteCommandUnfiltered(server, client, spec, args, reply, batch);
    if (!client.block.requested) client.reply_skip = false;
    return;
  }
  // A silenced command's reply is cut off after it ran; it stays out of the
  // pipeline batch, whose failed commit would reply for every command.
  if (batch != nullptr) batch->Finish(reply);
  const size_t mark = reply.buffer()->size();
  ExecuteCommandUnfiltered(server, client, spec, args, reply, nullptr);
  if (client.block.requested) return;  // replies when it is served or times out
  // CLIENT REPLY ON has cleared both flags: its +OK is kept.
  if ((client.reply_off || client.reply_skip) && !PushOnly(spec)) reply.buffer()->resize(mark);
  client.reply_skip = false;
}

void ExecuteCommandUnfiltered(ServerContext& server, ClientState& client, const CommandSpec* spec,
                              std::vector<std::string>& args, Reply& reply, PipelineBatch* batch) {
  if (spec == nullptr) {
    Reject(server, client, nullptr, reply, UnknownCommandError(args));
    return;
  }
  client.last_command.store(spec, std::memory_order_relaxed);
  if (!ArityOk(*spec, args.size())) {
    Reject(server, client, spec, reply, ArityError(spec->name));
    return;
  }
  if (NeedsAuth(server, client, *spec)) {
    Reject(server, client, spec, reply, errors::kNoAuth);
    return;
  }
  if (client.read_only && (spec->flags & (kCmdWrite | kCmdAdmin))) {
    Reject(server, client, spec, reply,
           "NOPERM User readonly has no permissions to run the '" + std::string(spec->name) +
               "' command");
    return;
  }
  if (client.protocol.load(std::memory_order_relaxed) == 2 && client.subscribed() &&
      !AllowedWhileSubscribed(spec->name)) {
    Reject(server, client, spec, reply,
           "ERR Can't execute '" + FullName(*spec, args) +
               "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
               "this context");
    return;
  }
  if (client.in_multi && (spec->flags & kCmdNoMulti)) {
    Reject(server, client, spec, reply, "ERR Command not allowed inside a transaction");
    return;
  }
  // Scripts (scripting.h): while one is busy, only what Redis allows runs;
  // while one runs, a command that would execute (not one MULTI queues)
  // waits for it. The pass is released after the command's commit.
  ScriptGatePass gate_pass;
  Scripting* scripting = server.scripting;
  if (scripting != nullptr && !AllowedWhileBusy(*spec, args)) {
    const bool queues = client.in_multi && !(spec->flags & kCmdTransaction);
    bool busy = scripting->busy();
    if (!busy && !queues && !(spec->flags & kCmdScript)) {
      if (scripting->TryEnter()) {
        gate_pass.Hold(scripting);
      } else {
        // Never wait holding a batch's stripes: the script needs them.
        if (batch != nullptr) batch->Finish(reply);
        if (scripting->EnterOrBusy()) {
          gate_pass.Hold(scripting);
        } else {
          busy = true;
        }
      }
    }
    if (busy) {
      if (std::string_view(spec->name) == "exec") {
        // Redis 7.0: a refused EXEC ends the transaction.
        DiscardTransaction(server, client);
        spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
        reply.Error("EXECABORT Transaction discarded because of: " +
                    std::string(scripting->busy_error()));
        return;
      }
      Reject(server, client, spec, reply, scripting->busy_error());
      return;
    }
  }
  if (client.in_multi && !(spec->flags & kCmdTransaction)) {
    const uint64_t bytes = QueuedCommandMemory(args);
    const int64_t max_commands = server.config->Int(Setting::kMultiMaxCommands);
    const int64_t max_bytes = server.config->Int(Setting::kMultiMaxBytes);
    if (client.queued.size() >= static_cast<uint64_t>(max_commands) ||
        client.queued_bytes + bytes > static_cast<uint64_t>(max_bytes)) {
      // Like any error while queueing, this dooms the transaction (EXEC
      // replies EXECABORT); the queue stops growing.
      Reject(server, client, spec, reply,
             "ERR MULTI queue limit reached (multi-max-commands " + std::to_string(max_commands) +
                 ", multi-max-bytes " + std::to_string(max_bytes) + ")");
      return;
    }
    client.queued_bytes += bytes;
    client.queued.push_back(std::move(args));
    reply.Status("QUEUED");
    return;
  }

  thread_local std::vector<std::string_view> keys;
  keys.clear();
  CollectKeys(*spec, args, &keys);
  if ((spec->flags & kCmdWrite) && KeysTooLarge(keys)) {
    Reject(server, client, spec, reply,
           "ERR key is too large (lsmkv-server keys are at most 65536 bytes)");
    return;
  }
  if (server.cluster != nullptr) {
    const std::string refusal = AdmitToCluster(server, client, *spec, keys);
    if (!refusal.empty()) {
      Reject(server, client, spec, reply, refusal);
      return;
    }
  }
  KeyLocks& locks = server.keyspace->locks();
  const bool needs_locks = !(spec->flags & (kCmdTransaction | kCmdScript)) &&
                           (keys.size() > 1 || (keys.size() == 1 && (spec->flags & kCmdWrite)));

  if (batch != nullptr && Batchable(*spec)) {
    if (needs_locks && !locks.TryExtend(&batch->guard_, keys)) {
      batch->Finish(reply);
      batch->guard_ = locks.Lock(keys);
    }
    if (batch->commands_ == 0) batch->reply_start_ = reply.buffer()->size();
    const int64_t start_us = NowMicros(server);
    batch->txn_.set_now_ms(Clock::MicrosToMillis(start_us));
    batch->commands_++;
    batch->specs_.push_back(spec);
    // The batch holds this command's stripes until Finish: what it reads of
    // its keys may answer the batch's later reads of them.
    batch->txn_.set_cacheable_keys(needs_locks ? &keys : nullptr);
    RunHandler(server, client, *spec, args, reply, batch->txn_, /*in_exec=*/false, start_us);
    batch->txn_.set_cacheable_keys(nullptr);
    if (batch->txn_.pending_bytes() >= kMaxBatchBytes) batch->Finish(reply);
    return;
  }
  if (batch != nullptr) batch->Finish(reply);

  KeyLocks::Guard guard;
  if (spec->flags & kCmdTransaction) {
    // MULTI/EXEC/DISCARD/WATCH/QUIT manage locks themselves.
  } else if (spec->flags & kCmdScript) {
    // Scripts take the gate and every stripe themselves (scripting.h).
  } else if (spec->flags & kCmdLockAll) {
    guard = locks.LockAll();
  } else if (needs_locks) {
    guard = keys.size() == 1 ? locks.LockOne(keys[0]) : locks.Lock(keys);
  }
  const int64_t start_us = NowMicros(server);
  // A script's later commands must read its earlier writes (the overlay).
  Txn txn(server.keyspace, Clock::MicrosToMillis(start_us),
          /*overlay=*/(spec->flags & kCmdScript) != 0);
  std::string* out = reply.buffer();
  const size_t mark = out->size();
  RunHandler(server, client, *spec, args, reply, txn, /*in_exec=*/false, start_us);
  Status s;
  if (txn.has_writes()) {
    s = txn.Commit();
    if (!s.ok()) {
      out->resize(mark);
      spec->stats.failed_calls.fetch_add(1, std::memory_order_relaxed);
      reply.Error(CommitErrorReply(s));
    }
  }
  FinishEvents(&server, txn, s);
}

void UnwatchAll(ServerContext& /*server*/, ClientState& client) {
  client.watch_txn.reset();  // rolls back: what it tracked is released
  if (client.watched.size() > 1024) {
    std::unordered_map<std::string, int64_t>().swap(client.watched);  // give the buckets back
  } else {
    client.watched.clear();
  }
}

uint64_t QueuedCommandMemory(const std::vector<std::string>& args) {
  uint64_t bytes = sizeof(args) + (args.capacity() - args.size()) * sizeof(std::string);
  for (const std::string& a : args) bytes += ArgumentMemory(a.size());
  return bytes;
}

void DiscardTransaction(ServerContext& server, ClientState& client) {
  client.in_multi = false;
  client.multi_failed = false;
  std::vector<std::vector<std::string>>().swap(client.queued);  // the memory, not just the size
  client.queued_bytes = 0;
  UnwatchAll(server, client);
}

void ExecuteTransaction(ServerContext& server, ClientState& client, Reply& reply) {
  if (!client.in_multi) {
    reply.Error("ERR EXEC without MULTI");
    return;
  }
  if (client.multi_failed) {
    DiscardTransaction(server, client);
    reply.Error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  // Lock every key the transaction names or watches (every stripe if a
  // command works on the whole keyspace).
  std::vector<const CommandSpec*> specs;
  specs.reserve(client.queued.size());
  std::vector<std::string_view> keys;
  bool lock_all = false;
  for (const auto& args : client.queued) {
    const CommandSpec* spec = server.commands->Find(args[0]);
    specs.push_back(spec);
    if (spec->flags & (kCmdKeyspace | kCmdLockAll)) lock_all = true;
    CollectKeys(*spec, args, &keys);
  }
  // The watched keys' stripes: by user key, whatever the database.
  for (const auto& [data_key, deadline] : client.watched) {
    char prefix = 0;
    int db = 0;
    std::string_view user_key;
    if (DecodeDbKeyPrefix(data_key, &prefix, &db, &user_key)) keys.push_back(user_key);
  }
  KeyLocks::Guard guard =
      lock_all ? server.keyspace->locks().LockAll() : server.keyspace->locks().Lock(keys);

  const int64_t now = server.keyspace->clock()->NowMs();
  // A SWAPDB since the first WATCH changed what every watched name means.
  bool changed = !client.watched.empty() && client.watch_epoch != server.keyspace->database_epoch();
  for (const auto& [key, deadline] : client.watched) {
    if (IsExpired(deadline, now)) changed = true;
  }
  if (!changed && client.watch_txn != nullptr) {
    // The watched keys are the transaction's GetForUpdate reads: its commit
    // (which writes nothing) validates them against every write committed
    // since each was watched. The stripes held from here to this EXEC's
    // commit keep other writers of those keys out until then.
    Status s = client.watch_txn->Commit();
    if (s.IsBusy() || s.IsAborted()) {
      changed = true;  // written since WATCH (Aborted: expired, so not known)
    } else if (!s.ok()) {
      guard.Release();
      DiscardTransaction(server, client);
      reply.Error("EXECABORT Transaction discarded: " + s.ToString());
      return;
    }
  }
  if (changed) {
    guard.Release();
    DiscardTransaction(server, client);
    reply.NullArray();
    return;
  }

  std::vector<std::vector<std::string>> queued;
  queued.swap(client.queued);
  client.in_multi = false;
  Txn txn(server.keyspace, now, /*overlay=*/true);
  std::string* out = reply.buffer();
  const size_t mark = out->size();
  reply.Array(queued.size());
  for (size_t i = 0; i < queued.size(); i++) {
    const CommandSpec& spec = *specs[i];
    client.last_command.store(&spec, std::memory_order_relaxed);
    RunHandler(server, client, spec, queued[i], reply, txn, /*in_exec=*/true, NowMicros(server));
  }
  Status s;
  if (txn.has_writes()) {
    s = txn.Commit();
    if (!s.ok()) {
      out->resize(mark);
      const std::string error = CommitErrorReply(s);
      // A replicated EXEC whose outcome is unknown may yet take effect: not EXECABORT.
      reply.Error(error.starts_with("ERR ") ? "EXECABORT Transaction discarded: " + s.ToString()
                                            : error);
    }
  }
  FinishEvents(&server, txn, s);  // under the stripes, as in PipelineBatch::Finish
  guard.Release();
  DiscardTransaction(server, client);
}

}  // namespace lsmkv::server
