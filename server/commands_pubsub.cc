// Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
// SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB. The registry and the
// delivery to other connections are in pubsub.h; these handlers run on the
// client's own connection (its strand), which owns its Subscriber's sets.
#include <iterator>
#include <memory>

#include "server/command_util.h"
#include "server/config.h"
#include "server/dispatcher.h"
#include "server/pubsub.h"

namespace lsmkv::server {

namespace {

using Kind = PubSub::Kind;

Subscriber& EnsureSubscriber(CommandContext& ctx) {
  ClientState& client = ctx.client;
  if (client.subscriber == nullptr) {
    client.subscriber = std::make_shared<Subscriber>(client.id, client.pubsub_notify);
  }
  client.subscriber->set_protocol(ctx.reply.protocol());
  return *client.subscriber;
}

// ["subscribe", name, count] and the like, as a push frame in RESP3.
void Confirm(CommandContext& ctx, std::string_view kind, const std::string* name, size_t count) {
  ctx.reply.Push(3);
  ctx.reply.Bulk(kind);
  if (name != nullptr) {
    ctx.reply.Bulk(*name);
  } else {
    ctx.reply.Null();
  }
  ctx.reply.Integer(static_cast<int64_t>(count));
}

// Replies the error if name is longer than a channel name or pattern may be.
bool NameWithinLimit(CommandContext& ctx, std::string_view name, bool pattern) {
  const size_t limit = pattern ? kMaxPatternBytes : kMaxChannelBytes;
  if (name.size() <= limit) return true;
  ctx.reply.Error(std::string(pattern ? "ERR pattern" : "ERR channel name") +
                  " is too long (lsmkv-server allows " + std::to_string(limit) + " bytes)");
  return false;
}

// The lsmkv-server limits on names and on subscriptions per client;
// checked before any of the command's names is subscribed.
bool WithinLimits(CommandContext& ctx, const Subscriber& sub, bool pattern) {
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (!NameWithinLimit(ctx, ctx.args[i], pattern)) return false;
  }
  if (sub.total() + ctx.args.size() - 1 > kMaxSubscriptionsPerClient) {
    ctx.reply.Error("ERR too many subscriptions (lsmkv-server allows " +
                    std::to_string(kMaxSubscriptionsPerClient) + " per client)");
    return false;
  }
  return true;
}

// The name set of sub for a command kind.
std::set<std::string>& SetFor(Subscriber& sub, Kind kind, bool pattern) {
  if (pattern) return sub.patterns;
  return kind == Kind::kShard ? sub.shard_channels : sub.channels;
}

void SubscribeCommon(CommandContext& ctx, Kind kind, bool pattern, std::string_view confirm) {
  Subscriber& sub = EnsureSubscriber(ctx);
  if (!WithinLimits(ctx, sub, pattern)) return;
  std::set<std::string>& names = SetFor(sub, kind, pattern);
  PubSub& registry = *ctx.server.pubsub;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    const std::string& name = ctx.args[i];
    if (names.insert(name).second) {
      if (pattern) {
        registry.PSubscribe(ctx.client.subscriber, name);
      } else {
        registry.Subscribe(kind, ctx.client.subscriber, name);
      }
    }
    Confirm(ctx, confirm, &name, kind == Kind::kShard ? sub.shard_channels.size() : sub.count());
  }
}

void UnsubscribeCommon(CommandContext& ctx, Kind kind, bool pattern, std::string_view confirm) {
  Subscriber* sub = ctx.client.subscriber.get();
  auto count = [&] {
    if (sub == nullptr) return size_t{0};
    return kind == Kind::kShard ? sub->shard_channels.size() : sub->count();
  };
  std::vector<std::string> names;
  if (ctx.args.size() > 1) {
    names.assign(ctx.args.begin() + 1, ctx.args.end());
  } else if (sub != nullptr) {
    const std::set<std::string>& all = SetFor(*sub, kind, pattern);
    names.assign(all.begin(), all.end());
  }
  if (names.empty()) {  // no argument and no subscription
    Confirm(ctx, confirm, nullptr, count());
    return;
  }
  PubSub& registry = *ctx.server.pubsub;
  // The count after each name is dropped, as Redis reports it (a name not
  // subscribed leaves it as it was).
  std::vector<size_t> after;
  after.reserve(names.size());
  for (const std::string& name : names) {
    if (sub != nullptr && SetFor(*sub, kind, pattern).erase(name) > 0) {
      if (pattern) {
        registry.PUnsubscribe(*sub, name);
      } else {
        registry.Unsubscribe(kind, *sub, name);
      }
    }
    after.push_back(count());
  }
  // Messages published before the subscriptions ended go out before the
  // confirmations (pubsub.h, "Order"); an overflowed subscriber is closed
  // by its connection.
  // Not inside EXEC: its reply is one array.
  if (sub != nullptr && !ctx.in_exec) sub->Drain(ctx.reply.buffer());
  for (size_t i = 0; i < names.size(); i++) Confirm(ctx, confirm, &names[i], after[i]);
}

void Subscribe(CommandContext& ctx) { SubscribeCommon(ctx, Kind::kChannel, false, "subscribe"); }
void PSubscribe(CommandContext& ctx) { SubscribeCommon(ctx, Kind::kChannel, true, "psubscribe"); }
void SSubscribe(CommandContext& ctx) {
  if (ctx.in_exec) {  // Redis 7.0 allows SUBSCRIBE and PSUBSCRIBE in MULTI, not this
    ctx.reply.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    return;
  }
  SubscribeCommon(ctx, Kind::kShard, false, "ssubscribe");
}
void Unsubscribe(CommandContext& ctx) {
  UnsubscribeCommon(ctx, Kind::kChannel, false, "unsubscribe");
}
void PUnsubscribe(CommandContext& ctx) {
  UnsubscribeCommon(ctx, Kind::kChannel, true, "punsubscribe");
}
void SUnsubscribe(CommandContext& ctx) {
  UnsubscribeCommon(ctx, Kind::kShard, false, "sunsubscribe");
}

void PublishCommon(CommandContext& ctx, Kind kind) {
  if (!NameWithinLimit(ctx, ctx.args[1], /*pattern=*/false)) return;
  const uint64_t limit = static_cast<uint64_t>(ctx.server.config->PubsubOutputLimit());
  const int64_t receivers = ctx.server.pubsub->Publish(kind, ctx.args[1], ctx.args[2], limit);
  // A client that receives its own message gets it before the reply, as in
  // Redis (not inside EXEC: its reply is one array).
  if (ctx.client.subscriber != nullptr && !ctx.in_exec) {
    ctx.client.subscriber->Drain(ctx.reply.buffer());
  }
  ctx.reply.Integer(receivers);
}
void Publish(CommandContext& ctx) { PublishCommon(ctx, Kind::kChannel); }
void SPublish(CommandContext& ctx) { PublishCommon(ctx, Kind::kShard); }

void PubSubCommand(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string sub = ToLower(args[1]);
  PubSub& registry = *ctx.server.pubsub;
  if (sub == "channels" || sub == "shardchannels") {
    if (args.size() > 3) {
      ctx.reply.Error("ERR unknown subcommand or wrong number of arguments for '" +
                      args[1].substr(0, 128) + "'. Try PUBSUB HELP.");
      return;
    }
    const Kind kind = sub == "channels" ? Kind::kChannel : Kind::kShard;
    const std::vector<std::string> names =
        registry.Channels(kind, args.size() == 3 ? std::string_view(args[2]) : "", args.size() < 3);
    ctx.reply.Array(names.size());
    for (const std::string& name : names) ctx.reply.Bulk(name);
  } else if (sub == "numsub" || sub == "shardnumsub") {
    const Kind kind = sub == "numsub" ? Kind::kChannel : Kind::kShard;
    ctx.reply.Array((args.size() - 2) * 2);
    for (size_t i = 2; i < args.size(); i++) {
      ctx.reply.Bulk(args[i]);
      ctx.reply.Integer(registry.NumSub(kind, args[i]));
    }
  } else if (sub == "numpat") {
    if (args.size() != 2) {
      ctx.reply.Error(ArityError("pubsub|numpat"));
      return;
    }
    ctx.reply.Integer(registry.NumPat());
  } else if (sub == "help") {
    if (args.size() != 2) {
      ctx.reply.Error(ArityError("pubsub|help"));
      return;
    }
    static const char* const kLines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help."};
    ctx.reply.Array(std::size(kLines));
    for (const char* line : kLines) ctx.reply.Status(line);
  } else {
    ctx.reply.Error(UnknownSubcommandError(args[1], "PUBSUB"));
  }
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 0, 0, 0, "pubsub", handler, {}}));
}

}  // namespace

void RegisterPubSubCommands(CommandList* list) {
  Add(list, "subscribe", -2, 0, Subscribe);
  Add(list, "unsubscribe", -1, 0, Unsubscribe);
  Add(list, "psubscribe", -2, 0, PSubscribe);
  Add(list, "punsubscribe", -1, 0, PUnsubscribe);
  Add(list, "ssubscribe", -2, 0, SSubscribe);
  Add(list, "sunsubscribe", -1, 0, SUnsubscribe);
  Add(list, "publish", 3, kCmdFast, Publish);
  Add(list, "spublish", 3, kCmdFast, SPublish);
  Add(list, "pubsub", -2, 0, PubSubCommand);
}

}  // namespace lsmkv::server
