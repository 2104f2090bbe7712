// Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT,
// LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST. A deadline lives in the
// value's header, so changing it rewrites the value.
#include <limits>

#include "server/command_util.h"
#include "server/notify.h"

namespace lsmkv::server {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

enum ExpireFlag : int { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };

void ExpireGeneric(CommandContext& ctx, ExpireUnit unit, ExpireBase base) {
  const auto& args = ctx.args;
  int flags = 0;
  for (size_t j = 3; j < args.size(); j++) {
    if (EqualsIgnoreCase(args[j], "nx")) {
      flags |= kNx;
    } else if (EqualsIgnoreCase(args[j], "xx")) {
      flags |= kXx;
    } else if (EqualsIgnoreCase(args[j], "gt")) {
      flags |= kGt;
    } else if (EqualsIgnoreCase(args[j], "lt")) {
      flags |= kLt;
    } else {
      ctx.reply.Error("ERR Unsupported option " + args[j]);
      return;
    }
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt))) {
    ctx.reply.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if ((flags & kGt) && (flags & kLt)) {
    ctx.reply.Error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  int64_t when = 0;
  if (!ParseIntArg(ctx, args[2], &when)) return;
  if (unit == ExpireUnit::kSeconds) {
    if (when > kInt64Max / 1000 || when < kInt64Min / 1000) {
      ctx.reply.Error(InvalidExpireError(ctx.spec.name));
      return;
    }
    when *= 1000;
  }
  const int64_t basetime = base == ExpireBase::kRelative ? ctx.txn.now_ms() : 0;
  if (when > kInt64Max - basetime) {
    ctx.reply.Error(InvalidExpireError(ctx.spec.name));
    return;
  }
  when += basetime;

  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, args[1], &entry, &found)) return;
  if (!found) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t current = entry.deadline_ms;  // 0 = persistent (an infinite TTL)
  if (((flags & kNx) && current != 0) || ((flags & kXx) && current == 0) ||
      ((flags & kGt) && (current == 0 || when <= current)) ||
      ((flags & kLt) && current != 0 && when >= current)) {
    ctx.reply.Integer(0);
    return;
  }
  if (when <= ctx.txn.now_ms()) {
    ctx.txn.Delete(args[1]);
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", args[1]);
  } else {
    ctx.txn.Put(args[1], entry.type, when, entry.payload);
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "expire", args[1]);
  }
  ctx.reply.Integer(1);
}

void Expire(CommandContext& ctx) {
  ExpireGeneric(ctx, ExpireUnit::kSeconds, ExpireBase::kRelative);
}
void PExpire(CommandContext& ctx) {
  ExpireGeneric(ctx, ExpireUnit::kMilliseconds, ExpireBase::kRelative);
}
void ExpireAt(CommandContext& ctx) {
  ExpireGeneric(ctx, ExpireUnit::kSeconds, ExpireBase::kAbsolute);
}
void PExpireAt(CommandContext& ctx) {
  ExpireGeneric(ctx, ExpireUnit::kMilliseconds, ExpireBase::kAbsolute);
}

// TTL family: -2 if the key does not exist, -1 if it has no deadline.
enum class TtlOutput { kSeconds, kMilliseconds, kUnixSeconds, kUnixMilliseconds };

void TtlGeneric(CommandContext& ctx, TtlOutput output) {
  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, ctx.args[1], &entry, &found)) return;
  if (!found) {
    ctx.reply.Integer(-2);
    return;
  }
  if (entry.deadline_ms == 0) {
    ctx.reply.Integer(-1);
    return;
  }
  int64_t ttl = entry.deadline_ms - ctx.txn.now_ms();
  if (ttl < 0) ttl = 0;
  switch (output) {
    case TtlOutput::kSeconds:
      ctx.reply.Integer((ttl + 500) / 1000);
      break;
    case TtlOutput::kMilliseconds:
      ctx.reply.Integer(ttl);
      break;
    case TtlOutput::kUnixSeconds:
      ctx.reply.Integer(entry.deadline_ms / 1000);
      break;
    case TtlOutput::kUnixMilliseconds:
      ctx.reply.Integer(entry.deadline_ms);
      break;
  }
}

void Ttl(CommandContext& ctx) { TtlGeneric(ctx, TtlOutput::kSeconds); }
void PTtl(CommandContext& ctx) { TtlGeneric(ctx, TtlOutput::kMilliseconds); }
void ExpireTime(CommandContext& ctx) { TtlGeneric(ctx, TtlOutput::kUnixSeconds); }
void PExpireTime(CommandContext& ctx) { TtlGeneric(ctx, TtlOutput::kUnixMilliseconds); }

void Persist(CommandContext& ctx) {
  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, ctx.args[1], &entry, &found)) return;
  if (!found || entry.deadline_ms == 0) {
    ctx.reply.Integer(0);
    return;
  }
  ctx.txn.Put(ctx.args[1], entry.type, 0, entry.payload);
  NotifyKeyspaceEvent(ctx, kNotifyGeneric, "persist", ctx.args[1]);
  ctx.reply.Integer(1);
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 1, 1, 1, "generic", handler, {}}));
}

}  // namespace

void RegisterExpireCommands(CommandList* list) {
  Add(list, "expire", -3, kCmdWrite | kCmdFast, Expire);
  Add(list, "pexpire", -3, kCmdWrite | kCmdFast, PExpire);
  Add(list, "expireat", -3, kCmdWrite | kCmdFast, ExpireAt);
  Add(list, "pexpireat", -3, kCmdWrite | kCmdFast, PExpireAt);
  Add(list, "ttl", 2, kCmdReadOnly | kCmdFast, Ttl);
  Add(list, "pttl", 2, kCmdReadOnly | kCmdFast, PTtl);
  Add(list, "expiretime", 2, kCmdReadOnly | kCmdFast, ExpireTime);
  Add(list, "pexpiretime", 2, kCmdReadOnly | kCmdFast, PExpireTime);
  Add(list, "persist", 2, kCmdWrite | kCmdFast, Persist);
}

}  // namespace lsmkv::server
