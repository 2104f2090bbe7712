// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (docs/REDIS_COMPAT.md,
// "Transactions"). EXEC itself is ExecuteTransaction in dispatcher.cc.
#include "server/command_util.h"
#include "server/dispatcher.h"
#include "server/value_codec.h"

namespace lsmkv::server {

namespace {

void Multi(CommandContext& ctx) {
  if (ctx.client.in_multi) {
    ctx.reply.Error("ERR MULTI calls can not be nested");
    return;
  }
  ctx.client.in_multi = true;
  ctx.client.multi_failed = false;
  ctx.client.queued.clear();
  ctx.client.queued_bytes = 0;
  ctx.reply.Ok();
}

void Exec(CommandContext& ctx) { ExecuteTransaction(ctx.server, ctx.client, ctx.reply); }

void Discard(CommandContext& ctx) {
  if (!ctx.client.in_multi) {
    ctx.reply.Error("ERR DISCARD without MULTI");
    return;
  }
  DiscardTransaction(ctx.server, ctx.client);
  ctx.reply.Ok();
}

// WATCH = an engine transaction's optimistic read set: each new key is read
// with GetForUpdate at a fresh snapshot, so EXEC fails if any write commits
// to it afterwards. The key's deadline is read after that (a change in
// between is caught by the engine), so nothing is missed.
void Watch(CommandContext& ctx) {
  if (ctx.client.in_multi) {
    ctx.reply.Error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  ClientState& client = ctx.client;
  if (client.watch_txn == nullptr) {
    client.watch_txn =
        ctx.server.keyspace->db()->BeginTransaction(WriteOptions(), TransactionOptions());
    client.watch_epoch = ctx.server.keyspace->database_epoch();
  }
  Status s = client.watch_txn->SetSnapshot();  // this WATCH's keys count from now
  std::string data_key, raw;
  for (size_t i = 1; i < ctx.args.size() && s.ok(); i++) {
    const std::string& key = ctx.args[i];
    data_key.clear();
    AppendDataKey(ctx.txn.db(), key, &data_key);
    if (client.watched.count(data_key) != 0) continue;
    s = client.watch_txn->GetForUpdate(ReadOptions(), data_key, &raw);
    if (s.IsNotFound()) s = Status::OK();
    if (!s.ok()) break;
    Entry entry;
    bool found = false;
    int64_t deadline = 0;
    if (ctx.txn.Peek(key, &entry, &found).ok() && found) deadline = entry.deadline_ms;
    client.watched.emplace(data_key, deadline);
  }
  if (s.IsAborted()) {
    // The engine expired the transaction (its conflict tracker outgrew
    // max_transaction_tracker_bytes while this client watched): whether the
    // watched keys changed is no longer known, so EXEC will abort. WATCH
    // itself succeeded as far as the client is concerned.
    s = Status::OK();
  }
  if (!s.ok()) {
    // Too many keys (max_tracked_reads): the keys watched so far stay
    // watched.
    ctx.reply.Error("ERR WATCH failed: " + s.ToString());
    return;
  }
  ctx.reply.Ok();
}

void Unwatch(CommandContext& ctx) {
  UnwatchAll(ctx.server, ctx.client);
  ctx.reply.Ok();
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, int first, int last,
         CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(new CommandSpec{
      name, arity, flags, first, last, first ? 1 : 0, "transactions", handler, {}}));
}

}  // namespace

void RegisterTransactionCommands(CommandList* list) {
  Add(list, "multi", 1, kCmdFast | kCmdTransaction, 0, 0, Multi);
  Add(list, "exec", 1, kCmdTransaction, 0, 0, Exec);
  Add(list, "discard", 1, kCmdFast | kCmdTransaction, 0, 0, Discard);
  Add(list, "watch", -2, kCmdFast | kCmdTransaction, 1, -1, Watch);
  Add(list, "unwatch", 1, kCmdFast, 0, 0, Unwatch);
}

}  // namespace lsmkv::server
