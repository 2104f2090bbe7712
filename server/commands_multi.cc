// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (docs/REDIS_COMPAT.md,
// "Transactions"). EXEC itself is ExecuteTransaction in dispatcher.cc.
#include "server/command_util.h"
#include "server/dispatcher.h"

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

// Registers the watch before reading the key's deadline: a change in between
// marks the client dirty, so nothing is missed.
void Watch(CommandContext& ctx) {
  if (ctx.client.in_multi) {
    ctx.reply.Error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  for (size_t i = 1; i < ctx.args.size(); i++) {
    const std::string& key = ctx.args[i];
    if (ctx.client.watched.count(key) != 0) continue;
    ctx.server.keyspace->locks().Watch(key, &ctx.client.watch);
    Entry entry;
    bool found = false;
    int64_t deadline = 0;
    if (ctx.txn.Peek(key, &entry, &found).ok() && found) deadline = entry.deadline_ms;
    ctx.client.watched.emplace(key, deadline);
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
