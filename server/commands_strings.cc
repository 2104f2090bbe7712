// String commands: GET, SET and its variants, MGET/MSET, counters, APPEND,
// STRLEN, GETRANGE/SETRANGE. Replies and errors follow Redis 7.0.
#include <cmath>
#include <limits>
#include <unordered_set>

#include "server/command_util.h"
#include "server/notify.h"

namespace lsmkv::server {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// Writes user_key = payload with deadline (0 = none); a deadline that has
// already passed deletes the key instead (Redis's EXAT/PXAT in the past).
// Notifies "set" (and "expire" with a deadline; "expired" too if it has
// passed and the key existed, as Redis's next look at the key would).
void StoreString(CommandContext& ctx, std::string_view key, std::string_view payload,
                 int64_t deadline_ms, bool existed) {
  if (IsExpired(deadline_ms, ctx.txn.now_ms())) {
    if (existed) {
      ctx.txn.Delete(key);
      NotifyKeyspaceEvent(ctx, kNotifyString, "set", key);
      NotifyKeyspaceEvent(ctx, kNotifyGeneric, "expire", key);
      NotifyKeyspaceEvent(ctx, kNotifyExpired, "expired", key);
    }
    return;
  }
  ctx.txn.Put(key, ValueType::kString, deadline_ms, payload);
  NotifyKeyspaceEvent(ctx, kNotifyString, "set", key);
  if (deadline_ms > 0) NotifyKeyspaceEvent(ctx, kNotifyGeneric, "expire", key);
}

void Get(CommandContext& ctx) {
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  if (found) {
    ctx.reply.Bulk(entry.payload);
  } else {
    ctx.reply.Null();
  }
}

// True if opt is EX, PX, EXAT or PXAT; sets how its argument is read.
bool IsExpireOption(std::string_view opt, ExpireUnit* unit, ExpireBase* base) {
  if (!EqualsIgnoreCase(opt, "ex") && !EqualsIgnoreCase(opt, "px") &&
      !EqualsIgnoreCase(opt, "exat") && !EqualsIgnoreCase(opt, "pxat")) {
    return false;
  }
  *unit = (opt[0] == 'e' || opt[0] == 'E') ? ExpireUnit::kSeconds : ExpireUnit::kMilliseconds;
  *base = opt.size() == 2 ? ExpireBase::kRelative : ExpireBase::kAbsolute;
  return true;
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
void Set(CommandContext& ctx) {
  const auto& args = ctx.args;
  bool nx = false, xx = false, get = false, keepttl = false;
  size_t expire_index = 0;  // index of the EX/PX/EXAT/PXAT argument, 0 = none
  ExpireUnit unit = ExpireUnit::kSeconds;
  ExpireBase base = ExpireBase::kRelative;
  for (size_t j = 3; j < args.size(); j++) {
    const std::string& opt = args[j];
    const bool has_next = j + 1 < args.size();
    ExpireUnit opt_unit;
    ExpireBase opt_base;
    if (EqualsIgnoreCase(opt, "nx") && !xx) {
      nx = true;
    } else if (EqualsIgnoreCase(opt, "xx") && !nx) {
      xx = true;
    } else if (EqualsIgnoreCase(opt, "get")) {
      get = true;
    } else if (EqualsIgnoreCase(opt, "keepttl") && expire_index == 0) {
      keepttl = true;
    } else if (!keepttl && expire_index == 0 && has_next &&
               IsExpireOption(opt, &opt_unit, &opt_base)) {
      unit = opt_unit;
      base = opt_base;
      expire_index = ++j;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  int64_t deadline = 0;
  if (expire_index != 0 &&
      !ParsePositiveExpire(ctx, args[expire_index], unit, base, "set", &deadline)) {
    return;
  }
  const std::string& key = args[1];
  const std::string& value = args[2];
  if (!nx && !xx && !get && !keepttl) {
    // The common case writes without reading.
    StoreString(ctx, key, value, deadline, /*existed=*/true);
    ctx.reply.Ok();
    return;
  }
  Entry old;
  bool found = false;
  if (get) {
    if (!ReadString(ctx, key, &old, &found)) return;
    if (found) {
      ctx.reply.Bulk(old.payload);
    } else {
      ctx.reply.Null();
    }
  } else {
    if (!ReadKey(ctx, key, &old, &found)) return;
  }
  if ((nx && found) || (xx && !found)) {
    if (!get) ctx.reply.Null();
    return;
  }
  if (keepttl && found) deadline = old.deadline_ms;
  StoreString(ctx, key, value, deadline, found);
  if (!get) ctx.reply.Ok();
}

void SetNx(CommandContext& ctx) {
  Entry old;
  bool found = false;
  if (!ReadKey(ctx, ctx.args[1], &old, &found)) return;
  if (found) {
    ctx.reply.Integer(0);
    return;
  }
  ctx.txn.Put(ctx.args[1], ValueType::kString, 0, ctx.args[2]);
  NotifyKeyspaceEvent(ctx, kNotifyString, "set", ctx.args[1]);
  ctx.reply.Integer(1);
}

// SETEX key seconds value / PSETEX key milliseconds value.
void SetExGeneric(CommandContext& ctx, ExpireUnit unit, std::string_view name) {
  int64_t deadline = 0;
  if (!ParsePositiveExpire(ctx, ctx.args[2], unit, ExpireBase::kRelative, name, &deadline)) return;
  ctx.txn.Put(ctx.args[1], ValueType::kString, deadline, ctx.args[3]);
  NotifyKeyspaceEvent(ctx, kNotifyString, "set", ctx.args[1]);
  NotifyKeyspaceEvent(ctx, kNotifyGeneric, "expire", ctx.args[1]);
  ctx.reply.Ok();
}
void SetEx(CommandContext& ctx) { SetExGeneric(ctx, ExpireUnit::kSeconds, "setex"); }
void PSetEx(CommandContext& ctx) { SetExGeneric(ctx, ExpireUnit::kMilliseconds, "psetex"); }

void GetSet(CommandContext& ctx) {
  Entry old;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &old, &found)) return;
  if (found) {
    ctx.reply.Bulk(old.payload);
  } else {
    ctx.reply.Null();
  }
  ctx.txn.Put(ctx.args[1], ValueType::kString, 0, ctx.args[2]);
  NotifyKeyspaceEvent(ctx, kNotifyString, "set", ctx.args[1]);
}

void GetDel(CommandContext& ctx) {
  Entry old;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &old, &found)) return;
  if (!found) {
    ctx.reply.Null();
    return;
  }
  ctx.reply.Bulk(old.payload);
  ctx.txn.Delete(ctx.args[1]);
  NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", ctx.args[1]);
}

// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]
void GetEx(CommandContext& ctx) {
  const auto& args = ctx.args;
  bool persist = false;
  size_t expire_index = 0;
  ExpireUnit unit = ExpireUnit::kSeconds;
  ExpireBase base = ExpireBase::kRelative;
  for (size_t j = 2; j < args.size(); j++) {
    const std::string& opt = args[j];
    const bool has_next = j + 1 < args.size();
    ExpireUnit opt_unit;
    ExpireBase opt_base;
    if (EqualsIgnoreCase(opt, "persist") && expire_index == 0 && !persist) {
      persist = true;
    } else if (!persist && expire_index == 0 && has_next &&
               IsExpireOption(opt, &opt_unit, &opt_base)) {
      unit = opt_unit;
      base = opt_base;
      expire_index = ++j;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  const bool has_expire = expire_index != 0;
  int64_t deadline = 0;
  if (has_expire && !ParsePositiveExpire(ctx, args[expire_index], unit, base, "getex", &deadline)) {
    return;
  }
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, args[1], &entry, &found)) return;
  if (!found) {
    ctx.reply.Null();
    return;
  }
  ctx.reply.Bulk(entry.payload);
  if (has_expire && IsExpired(deadline, ctx.txn.now_ms())) {
    ctx.txn.Delete(args[1]);
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", args[1]);
  } else if (has_expire) {
    ctx.txn.Put(args[1], ValueType::kString, deadline, entry.payload);
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "expire", args[1]);
  } else if (persist && entry.deadline_ms != 0) {
    ctx.txn.Put(args[1], ValueType::kString, 0, entry.payload);
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "persist", args[1]);
  }
}

void MGet(CommandContext& ctx) {
  ctx.reply.Array(ctx.args.size() - 1);
  for (size_t i = 1; i < ctx.args.size(); i++) {
    Entry entry;
    bool found = false;
    if (!ctx.txn.Get(ctx.args[i], &entry, &found).ok() || !found ||
        entry.type != ValueType::kString) {
      ctx.reply.Null();
    } else {
      ctx.reply.Bulk(entry.payload);
    }
  }
}

void MSet(CommandContext& ctx) {
  if (ctx.args.size() % 2 == 0) {
    ctx.reply.Error(ArityError(ctx.spec.name));
    return;
  }
  for (size_t i = 1; i + 1 < ctx.args.size(); i += 2) {
    ctx.txn.Put(ctx.args[i], ValueType::kString, 0, ctx.args[i + 1]);
    NotifyKeyspaceEvent(ctx, kNotifyString, "set", ctx.args[i]);
  }
  ctx.reply.Ok();
}

void MSetNx(CommandContext& ctx) {
  if (ctx.args.size() % 2 == 0) {
    ctx.reply.Error(ArityError(ctx.spec.name));
    return;
  }
  for (size_t i = 1; i + 1 < ctx.args.size(); i += 2) {
    Entry entry;
    bool found = false;
    if (!ReadKey(ctx, ctx.args[i], &entry, &found)) return;
    if (found) {
      ctx.reply.Integer(0);
      return;
    }
  }
  for (size_t i = 1; i + 1 < ctx.args.size(); i += 2) {
    ctx.txn.Put(ctx.args[i], ValueType::kString, 0, ctx.args[i + 1]);
    NotifyKeyspaceEvent(ctx, kNotifyString, "set", ctx.args[i]);
  }
  ctx.reply.Integer(1);
}

// Adds increment to the integer at key (absent = 0), keeping its deadline.
void IncrBy(CommandContext& ctx, int64_t increment) {
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  int64_t current = 0;
  if (found && !ParseInt64(entry.payload, &current)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  int64_t result = 0;
  if (__builtin_add_overflow(current, increment, &result)) {
    ctx.reply.Error(errors::kOverflow);
    return;
  }
  ctx.txn.Put(ctx.args[1], ValueType::kString, found ? entry.deadline_ms : 0,
              std::to_string(result));
  NotifyKeyspaceEvent(ctx, kNotifyString, "incrby", ctx.args[1]);
  ctx.reply.Integer(result);
}

void Incr(CommandContext& ctx) { IncrBy(ctx, 1); }
void Decr(CommandContext& ctx) { IncrBy(ctx, -1); }

void IncrByCommand(CommandContext& ctx) {
  int64_t increment = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &increment)) return;
  IncrBy(ctx, increment);
}

void DecrByCommand(CommandContext& ctx) {
  int64_t decrement = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &decrement)) return;
  if (decrement == kInt64Min) {
    ctx.reply.Error("ERR decrement would overflow");
    return;
  }
  IncrBy(ctx, -decrement);
}

void IncrByFloat(CommandContext& ctx) {
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  long double current = 0;
  long double increment = 0;
  if ((found && !ParseLongDouble(entry.payload, &current)) ||
      !ParseLongDouble(ctx.args[2], &increment)) {
    ctx.reply.Error(errors::kNotFloat);
    return;
  }
  const long double result = current + increment;
  if (std::isnan(result) || std::isinf(result)) {
    ctx.reply.Error("ERR increment would produce NaN or Infinity");
    return;
  }
  const std::string text = FormatLongDouble(result);
  ctx.txn.Put(ctx.args[1], ValueType::kString, found ? entry.deadline_ms : 0, text);
  NotifyKeyspaceEvent(ctx, kNotifyString, "incrbyfloat", ctx.args[1]);
  ctx.reply.Bulk(text);
}

void Append(CommandContext& ctx) {
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  if (!found) {
    ctx.txn.Put(ctx.args[1], ValueType::kString, 0, ctx.args[2]);
    NotifyKeyspaceEvent(ctx, kNotifyString, "append", ctx.args[1]);
    ctx.reply.Integer(static_cast<int64_t>(ctx.args[2].size()));
    return;
  }
  if (StringTooLong(ctx, entry.payload.size() + ctx.args[2].size())) return;
  entry.payload.append(ctx.args[2]);
  ctx.txn.Put(ctx.args[1], ValueType::kString, entry.deadline_ms, entry.payload);
  NotifyKeyspaceEvent(ctx, kNotifyString, "append", ctx.args[1]);
  ctx.reply.Integer(static_cast<int64_t>(entry.payload.size()));
}

void StrLen(CommandContext& ctx) {
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  ctx.reply.Integer(found ? static_cast<int64_t>(entry.payload.size()) : 0);
}

void GetRange(CommandContext& ctx) {
  int64_t start = 0, end = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &start) || !ParseIntArg(ctx, ctx.args[3], &end)) return;
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  if (!found) {
    ctx.reply.Bulk("");
    return;
  }
  const int64_t length = static_cast<int64_t>(entry.payload.size());
  if (start < 0 && end < 0 && start > end) {
    ctx.reply.Bulk("");
    return;
  }
  if (start < 0) start = length + start;
  if (end < 0) end = length + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (start > end || length == 0) {
    ctx.reply.Bulk("");
    return;
  }
  ctx.reply.Bulk(std::string_view(entry.payload)
                     .substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void SetRange(CommandContext& ctx) {
  int64_t offset = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &offset)) return;
  if (offset < 0) {
    ctx.reply.Error("ERR offset is out of range");
    return;
  }
  const std::string& value = ctx.args[3];
  Entry entry;
  bool found = false;
  if (!ReadString(ctx, ctx.args[1], &entry, &found)) return;
  if (value.empty()) {
    ctx.reply.Integer(found ? static_cast<int64_t>(entry.payload.size()) : 0);
    return;
  }
  if (StringTooLong(ctx, static_cast<uint64_t>(offset) + value.size())) return;
  std::string& payload = entry.payload;
  if (!found) {
    payload.clear();
    entry.deadline_ms = 0;
  }
  const size_t needed = static_cast<size_t>(offset) + value.size();
  if (payload.size() < needed) payload.resize(needed, '\0');
  payload.replace(static_cast<size_t>(offset), value.size(), value);
  ctx.txn.Put(ctx.args[1], ValueType::kString, entry.deadline_ms, payload);
  NotifyKeyspaceEvent(ctx, kNotifyString, "setrange", ctx.args[1]);
  ctx.reply.Integer(static_cast<int64_t>(payload.size()));
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, int first, int last,
         int step, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, first, last, step, "string", handler, {}}));
}

}  // namespace

void RegisterStringCommands(CommandList* list) {
  const uint32_t kRead = kCmdReadOnly | kCmdFast;
  const uint32_t kWriteFast = kCmdWrite | kCmdFast;
  Add(list, "get", 2, kRead, 1, 1, 1, Get);
  Add(list, "set", -3, kCmdWrite, 1, 1, 1, Set);
  Add(list, "setnx", 3, kWriteFast, 1, 1, 1, SetNx);
  Add(list, "setex", 4, kCmdWrite, 1, 1, 1, SetEx);
  Add(list, "psetex", 4, kCmdWrite, 1, 1, 1, PSetEx);
  Add(list, "getset", 3, kWriteFast, 1, 1, 1, GetSet);
  Add(list, "getdel", 2, kWriteFast, 1, 1, 1, GetDel);
  Add(list, "getex", -2, kWriteFast, 1, 1, 1, GetEx);
  Add(list, "mget", -2, kRead, 1, -1, 1, MGet);
  Add(list, "mset", -3, kCmdWrite, 1, -1, 2, MSet);
  Add(list, "msetnx", -3, kCmdWrite, 1, -1, 2, MSetNx);
  Add(list, "incr", 2, kWriteFast, 1, 1, 1, Incr);
  Add(list, "decr", 2, kWriteFast, 1, 1, 1, Decr);
  Add(list, "incrby", 3, kWriteFast, 1, 1, 1, IncrByCommand);
  Add(list, "decrby", 3, kWriteFast, 1, 1, 1, DecrByCommand);
  Add(list, "incrbyfloat", 3, kWriteFast, 1, 1, 1, IncrByFloat);
  Add(list, "append", 3, kWriteFast, 1, 1, 1, Append);
  Add(list, "strlen", 2, kRead, 1, 1, 1, StrLen);
  Add(list, "getrange", 4, kCmdReadOnly, 1, 1, 1, GetRange);
  Add(list, "substr", 4, kCmdReadOnly, 1, 1, 1, GetRange);
  Add(list, "setrange", 4, kCmdWrite, 1, 1, 1, SetRange);
}

}  // namespace lsmkv::server
