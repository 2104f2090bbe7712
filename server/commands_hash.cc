// Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN, HEXISTS,
// HSTRLEN, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
// Replies and errors follow Redis 7.0.
//
// A hash is a metadata record (its version, field count and deadline) and
// one engine key per field (collection.h). Every command reads the metadata
// once, works on the fields of that version through ctx.txn (whose pending
// element writes it reads back), and writes the metadata again if the count
// changed: all in the command's one WriteBatch. A hash left without fields
// is deleted.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <unordered_set>
#include <vector>

#include "server/collection.h"
#include "server/command_util.h"
#include "server/glob.h"
#include "server/notify.h"
#include "server/scan_cursors.h"

namespace lsmkv::server {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// HRANDFIELD reads a hash of at most this many fields whole and samples it
// uniformly; a larger one is sampled by random seeks (not uniform).
constexpr uint64_t kRandomReadWhole = 1024;

using Hash = Collection;

bool ReadHash(CommandContext& ctx, std::string_view key, Hash* hash) {
  return ReadCollection(ctx, key, ValueType::kHash, hash);
}

bool CreateIfAbsent(CommandContext& ctx, std::string_view key, Hash* hash) {
  return CreateCollectionIfAbsent(ctx, key, ValueType::kHash, hash);
}

void StoreHash(CommandContext& ctx, std::string_view key, const Hash& hash) {
  StoreCollection(ctx, key, ValueType::kHash, hash);
}

std::string FieldKey(const Hash& hash, std::string_view field) { return ElementKeyOf(hash, field); }

// Reads field of an existing hash. Returns false after replying with an
// error. A field longer than any stored one is simply absent.
bool ReadField(CommandContext& ctx, const Hash& hash, std::string_view field, std::string* value,
               bool* found) {
  *found = false;
  if (field.size() > kMaxFieldBytes) return true;
  Status s = ctx.txn.GetElement(FieldKey(hash, field), value, found);
  if (s.ok()) return true;
  ctx.reply.Error("ERR " + s.ToString());
  return false;
}

// True (after replying) if a field argument is too long to store.
bool FieldTooLarge(CommandContext& ctx, size_t first, size_t step) {
  for (size_t i = first; i < ctx.args.size(); i += step) {
    if (ctx.args[i].size() > kMaxFieldBytes) {
      ctx.reply.Error("ERR hash field is too large (lsmkv-server hash fields are at most " +
                      std::to_string(kMaxFieldBytes) + " bytes)");
      return true;
    }
  }
  return false;
}

// Sets field = value in hash (created by the caller); true if it is new.
bool SetField(CommandContext& ctx, Hash* hash, std::string_view field, std::string_view value,
              bool* is_new) {
  std::string old;
  bool found = false;
  const std::string key = FieldKey(*hash, field);
  Status s = ctx.txn.GetElement(key, &old, &found);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return false;
  }
  ctx.txn.PutElement(key, value);
  if (!found) hash->meta.count++;
  *is_new = !found;
  return true;
}

// HSET key field value [field value ...] / HMSET (replies OK).
void HSetGeneric(CommandContext& ctx, bool hmset) {
  if (ctx.args.size() % 2 != 0) {
    ctx.reply.Error(ArityError(ctx.spec.name));
    return;
  }
  if (FieldTooLarge(ctx, 2, 2)) return;
  const std::string& key = ctx.args[1];
  Hash hash;
  if (!ReadHash(ctx, key, &hash) || !CreateIfAbsent(ctx, key, &hash)) return;
  int64_t added = 0;
  for (size_t i = 2; i + 1 < ctx.args.size(); i += 2) {
    bool is_new = false;
    if (!SetField(ctx, &hash, ctx.args[i], ctx.args[i + 1], &is_new)) return;
    if (is_new) added++;
  }
  StoreHash(ctx, key, hash);
  NotifyKeyspaceEvent(ctx, kNotifyHash, "hset", key);
  if (hmset) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Integer(added);
  }
}
void HSet(CommandContext& ctx) { HSetGeneric(ctx, /*hmset=*/false); }
void HMSet(CommandContext& ctx) { HSetGeneric(ctx, /*hmset=*/true); }

void HSetNx(CommandContext& ctx) {
  if (FieldTooLarge(ctx, 2, 2)) return;
  const std::string& key = ctx.args[1];
  Hash hash;
  if (!ReadHash(ctx, key, &hash)) return;
  if (hash.found) {
    std::string value;
    bool found = false;
    if (!ReadField(ctx, hash, ctx.args[2], &value, &found)) return;
    if (found) {
      ctx.reply.Integer(0);
      return;
    }
  }
  if (!CreateIfAbsent(ctx, key, &hash)) return;
  bool is_new = false;
  if (!SetField(ctx, &hash, ctx.args[2], ctx.args[3], &is_new)) return;
  StoreHash(ctx, key, hash);
  NotifyKeyspaceEvent(ctx, kNotifyHash, "hset", key);
  ctx.reply.Integer(1);
}

void HGet(CommandContext& ctx) {
  Hash hash;
  if (!ReadHash(ctx, ctx.args[1], &hash)) return;
  std::string value;
  bool found = false;
  if (hash.found && !ReadField(ctx, hash, ctx.args[2], &value, &found)) return;
  if (found) {
    ctx.reply.Bulk(value);
  } else {
    ctx.reply.Null();
  }
}

void HMGet(CommandContext& ctx) {
  Hash hash;
  if (!ReadHash(ctx, ctx.args[1], &hash)) return;
  // Read every field before replying, so an engine error is the only reply.
  std::vector<std::optional<std::string>> values(ctx.args.size() - 2);
  if (hash.found) {
    for (size_t i = 2; i < ctx.args.size(); i++) {
      std::string value;
      bool found = false;
      if (!ReadField(ctx, hash, ctx.args[i], &value, &found)) return;
      if (found) values[i - 2] = std::move(value);
    }
  }
  ctx.reply.Array(values.size());
  for (const auto& value : values) {
    if (value) {
      ctx.reply.Bulk(*value);
    } else {
      ctx.reply.Null();
    }
  }
}

void HDel(CommandContext& ctx) {
  const std::string& key = ctx.args[1];
  Hash hash;
  if (!ReadHash(ctx, key, &hash)) return;
  if (!hash.found) {
    ctx.reply.Integer(0);
    return;
  }
  int64_t deleted = 0;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    std::string value;
    bool found = false;
    if (!ReadField(ctx, hash, ctx.args[i], &value, &found)) return;
    if (!found) continue;  // absent, or named twice (the deletion is read back)
    ctx.txn.DeleteElement(FieldKey(hash, ctx.args[i]));
    hash.meta.count--;
    deleted++;
  }
  if (deleted > 0) {
    StoreHash(ctx, key, hash);
    NotifyKeyspaceEvent(ctx, kNotifyHash, "hdel", key);
    NotifyIfEmptied(ctx, hash.meta.count, key);
  }
  ctx.reply.Integer(deleted);
}

void HLen(CommandContext& ctx) {
  Hash hash;
  if (!ReadHash(ctx, ctx.args[1], &hash)) return;
  ctx.reply.Integer(hash.found ? static_cast<int64_t>(hash.meta.count) : 0);
}

void HExists(CommandContext& ctx) {
  Hash hash;
  if (!ReadHash(ctx, ctx.args[1], &hash)) return;
  std::string value;
  bool found = false;
  if (hash.found && !ReadField(ctx, hash, ctx.args[2], &value, &found)) return;
  ctx.reply.Integer(found ? 1 : 0);
}

void HStrLen(CommandContext& ctx) {
  Hash hash;
  if (!ReadHash(ctx, ctx.args[1], &hash)) return;
  std::string value;
  bool found = false;
  if (hash.found && !ReadField(ctx, hash, ctx.args[2], &value, &found)) return;
  ctx.reply.Integer(found ? static_cast<int64_t>(value.size()) : 0);
}

// Visits the fields of hash in field order until visit returns false.
// Returns false after replying with an error.
bool ForEachField(
    CommandContext& ctx, const Hash& hash,
    const std::function<bool(std::string_view field, std::string_view value)>& visit) {
  const size_t skip = hash.prefix.size();
  Status s = ctx.txn.ScanElements(
      hash.prefix, PrefixSuccessor(hash.prefix),
      [&](std::string_view key, std::string_view value) { return visit(key.substr(skip), value); });
  if (s.ok()) return true;
  ctx.reply.Error("ERR " + s.ToString());
  return false;
}

enum class Part { kKeys, kValues, kBoth };

// HKEYS, HVALS, HGETALL. The elements are written to a side buffer first,
// so the header counts what was read (not what the metadata claims); the
// reply stops growing at ReplyByteBudget (the connection then refuses it).
void ReplyAll(CommandContext& ctx, Part part) {
  Hash hash;
  if (!ReadHash(ctx, ctx.args[1], &hash)) return;
  const bool as_map = part == Part::kBoth;
  if (!hash.found) {
    if (as_map) {
      ctx.reply.Map(0);
    } else {
      ctx.reply.Array(0);
    }
    return;
  }
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body;
  Reply elements(&body, ctx.reply.protocol());
  size_t n = 0;
  if (!ForEachField(ctx, hash, [&](std::string_view field, std::string_view value) {
        if (part != Part::kValues) elements.Bulk(field);
        if (part != Part::kKeys) elements.Bulk(value);
        n++;
        return body.size() <= budget;
      })) {
    return;
  }
  if (as_map) {
    ctx.reply.Map(n);
  } else {
    ctx.reply.Array(n);
  }
  ctx.reply.buffer()->append(body);
}
void HKeys(CommandContext& ctx) { ReplyAll(ctx, Part::kKeys); }
void HVals(CommandContext& ctx) { ReplyAll(ctx, Part::kValues); }
void HGetAll(CommandContext& ctx) { ReplyAll(ctx, Part::kBoth); }

void HIncrBy(CommandContext& ctx) {
  int64_t increment = 0;
  if (!ParseIntArg(ctx, ctx.args[3], &increment)) return;
  if (FieldTooLarge(ctx, 2, 2)) return;
  const std::string& key = ctx.args[1];
  Hash hash;
  if (!ReadHash(ctx, key, &hash) || !CreateIfAbsent(ctx, key, &hash)) return;
  std::string text;
  bool found = false;
  if (!ReadField(ctx, hash, ctx.args[2], &text, &found)) return;
  int64_t current = 0;
  if (found && !ParseInt64(text, &current)) {
    ctx.reply.Error("ERR hash value is not an integer");
    return;
  }
  int64_t result = 0;
  if (__builtin_add_overflow(current, increment, &result)) {
    ctx.reply.Error(errors::kOverflow);
    return;
  }
  bool is_new = false;
  if (!SetField(ctx, &hash, ctx.args[2], std::to_string(result), &is_new)) return;
  StoreHash(ctx, key, hash);
  NotifyKeyspaceEvent(ctx, kNotifyHash, "hincrby", key);
  ctx.reply.Integer(result);
}

void HIncrByFloat(CommandContext& ctx) {
  long double increment = 0;
  if (!ParseLongDouble(ctx.args[3], &increment)) {
    ctx.reply.Error(errors::kNotFloat);
    return;
  }
  if (std::isnan(increment) || std::isinf(increment)) {
    ctx.reply.Error("ERR value is NaN or Infinity");
    return;
  }
  if (FieldTooLarge(ctx, 2, 2)) return;
  const std::string& key = ctx.args[1];
  Hash hash;
  if (!ReadHash(ctx, key, &hash) || !CreateIfAbsent(ctx, key, &hash)) return;
  std::string text;
  bool found = false;
  if (!ReadField(ctx, hash, ctx.args[2], &text, &found)) return;
  long double current = 0;
  if (found && !ParseLongDouble(text, &current)) {
    ctx.reply.Error("ERR hash value is not a float");
    return;
  }
  const long double result = current + increment;
  if (std::isnan(result) || std::isinf(result)) {
    ctx.reply.Error("ERR increment would produce NaN or Infinity");
    return;
  }
  const std::string formatted = FormatLongDouble(result);
  bool is_new = false;
  if (!SetField(ctx, &hash, ctx.args[2], formatted, &is_new)) return;
  StoreHash(ctx, key, hash);
  NotifyKeyspaceEvent(ctx, kNotifyHash, "hincrbyfloat", key);
  ctx.reply.Bulk(formatted);
}

struct FieldValue {
  std::string field;
  std::string value;
};

// Picks fields of one hash at random: uniformly from the hash read whole
// (whole != nullptr), else by random seeks between its first and last field
// (found once, on the first pick).
class FieldPicker {
 public:
  FieldPicker(const Hash& hash, const std::vector<FieldValue>* whole)
      : hash_(hash), whole_(whole), upper_(PrefixSuccessor(hash.prefix)) {}

  // One pick. Returns false after replying with an error.
  bool Pick(CommandContext& ctx, std::mt19937_64& rng, FieldValue* out) {
    if (whole_ != nullptr) {
      *out = (*whole_)[rng() % whole_->size()];
      return true;
    }
    Status s;
    if (first_.empty()) {
      bool found = false;
      s = ctx.txn.ScanElements(hash_.prefix, upper_, [&](std::string_view key, std::string_view) {
        first_.assign(key);
        return false;
      });
      if (s.ok() && !first_.empty()) s = ctx.txn.LastElement(hash_.prefix, upper_, &last_, &found);
      if (s.ok() && !found) first_.clear();
    }
    bool found = false;
    auto take = [&](std::string_view key, std::string_view value) {
      out->field.assign(key.substr(hash_.prefix.size()));
      out->value.assign(value);
      found = true;
      return false;
    };
    if (s.ok() && !first_.empty()) {
      s = ctx.txn.ScanElements(RandomKeyBetween(first_, last_, rng), upper_, take);
      if (s.ok() && !found) s = ctx.txn.ScanElements(first_, upper_, take);  // wrap
    }
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return false;
    }
    if (!found) {
      ctx.reply.Error("ERR Corruption: lsmkv-server: hash metadata counts fields that are missing");
      return false;
    }
    return true;
  }

 private:
  const Hash& hash_;
  const std::vector<FieldValue>* const whole_;
  const std::string upper_;
  std::string first_;  // element keys; empty until the first seek
  std::string last_;
};

void ReplyPair(Reply& reply, const FieldValue& pair, bool with_values) {
  if (with_values && reply.protocol() > 2) reply.Array(2);
  reply.Bulk(pair.field);
  if (with_values) reply.Bulk(pair.value);
}

// HRANDFIELD key [count [WITHVALUES]]
void HRandField(CommandContext& ctx) {
  const auto& args = ctx.args;
  bool with_count = false, with_values = false;
  int64_t count = 1;
  if (!ParseRandomCount(ctx, "withvalues", &with_count, &count, &with_values)) return;
  Hash hash;
  if (!ReadHash(ctx, args[1], &hash)) return;
  if (!hash.found) {
    if (with_count) {
      ctx.reply.Array(0);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t size = hash.meta.count;
  std::vector<FieldValue> whole;
  const bool read_whole = size <= kRandomReadWhole;
  if (read_whole && !ForEachField(ctx, hash, [&](std::string_view field, std::string_view value) {
        whole.push_back({std::string(field), std::string(value)});
        return true;
      })) {
    return;
  }
  if (read_whole && whole.empty()) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: hash metadata counts fields that are missing");
    return;
  }
  FieldPicker picker(hash, read_whole ? &whole : nullptr);
  if (!with_count) {
    FieldValue pick;
    if (!picker.Pick(ctx, rng, &pick)) return;
    ctx.reply.Bulk(pick.field);
    return;
  }
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body;
  Reply picks(&body, ctx.reply.protocol());
  uint64_t n = 0;
  if (count < 0) {
    // Repetitions allowed: |count| independent picks, as many as the reply
    // budget allows.
    const uint64_t wanted = static_cast<uint64_t>(-count);
    for (; n < wanted && body.size() <= budget; n++) {
      FieldValue pick;
      if (!picker.Pick(ctx, rng, &pick)) return;
      ReplyPair(picks, pick, with_values);
    }
  } else if (static_cast<uint64_t>(count) >= size || read_whole) {
    // Distinct fields: all of them, or a uniform sample of a hash read whole.
    std::vector<FieldValue>* source = &whole;
    if (!read_whole) {
      if (!ForEachField(ctx, hash, [&](std::string_view field, std::string_view value) {
            ReplyPair(picks, {std::string(field), std::string(value)}, with_values);
            n++;
            return body.size() <= budget;
          })) {
        return;
      }
      source = nullptr;
    }
    if (source != nullptr) {
      const size_t take = std::min<uint64_t>(static_cast<uint64_t>(count), source->size());
      std::shuffle(source->begin(), source->end(), rng);
      for (; n < take && body.size() <= budget; n++) ReplyPair(picks, (*source)[n], with_values);
    }
  } else {
    // A uniform sample of count distinct fields of a large hash: one pass,
    // keeping a reservoir of count fields (count < size: bounded by it).
    std::vector<FieldValue> reservoir;
    uint64_t seen = 0;
    uint64_t reservoir_bytes = 0;
    if (!ForEachField(ctx, hash, [&](std::string_view field, std::string_view value) {
          seen++;
          if (reservoir.size() < static_cast<uint64_t>(count)) {
            reservoir.push_back({std::string(field), std::string(value)});
            reservoir_bytes += field.size() + value.size();
          } else {
            const uint64_t slot = rng() % seen;
            if (slot < reservoir.size()) reservoir[slot] = {std::string(field), std::string(value)};
          }
          return reservoir_bytes <= budget;
        })) {
      return;
    }
    for (; n < reservoir.size() && body.size() <= budget; n++) {
      ReplyPair(picks, reservoir[n], with_values);
    }
  }
  ctx.reply.Array(with_values && ctx.reply.protocol() == 2 ? 2 * n : n);
  ctx.reply.buffer()->append(body);
}

// HSCAN key cursor [MATCH pattern] [COUNT count]: like SCAN, in field
// order; the cursor maps to the last field examined (ScanCursors).
void HScan(CommandContext& ctx) {
  const auto& args = ctx.args;
  uint64_t cursor = 0;
  if (!ParseScanCursor(ctx, args[2], &cursor)) return;
  Hash hash;
  if (!ReadHash(ctx, args[1], &hash)) return;
  if (!hash.found) {
    ctx.reply.Array(2);
    ctx.reply.Bulk("0");
    ctx.reply.Array(0);
    return;
  }
  ScanOptions options;
  if (!ParseScanOptions(ctx, 3, /*allow_type=*/false, &options)) return;
  const int64_t count = options.count;
  const std::string& pattern = options.pattern;
  const bool has_pattern = options.has_pattern;
  std::string lower = hash.prefix;
  if (cursor != 0) {
    std::string position;
    if (!ctx.server.cursors->Find(cursor, &position)) {
      ctx.reply.Error("ERR invalid cursor");
      return;
    }
    lower.append(position);
    lower.push_back('\0');  // the first field after the position
  }
  std::vector<FieldValue> found;
  std::string last;
  int64_t examined = 0;
  bool more = false;
  const size_t skip = hash.prefix.size();
  Status s = ctx.txn.ScanElements(lower, PrefixSuccessor(hash.prefix),
                                  [&](std::string_view key, std::string_view value) {
                                    if (examined == count) {
                                      more = true;
                                      return false;
                                    }
                                    examined++;
                                    const std::string_view field = key.substr(skip);
                                    last.assign(field);
                                    if (!has_pattern || GlobMatch(pattern, field)) {
                                      found.push_back({std::string(field), std::string(value)});
                                    }
                                    return true;
                                  });
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  const uint64_t next = more ? ctx.server.cursors->Save(last) : 0;
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.Array(2 * found.size());
  for (const FieldValue& pair : found) {
    ctx.reply.Bulk(pair.field);
    ctx.reply.Bulk(pair.value);
  }
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, 1, 1, 1, "hash", handler, {}}));
}

}  // namespace

void RegisterHashCommands(CommandList* list) {
  const uint32_t kRead = kCmdReadOnly | kCmdFast;
  const uint32_t kWriteFast = kCmdWrite | kCmdFast;
  Add(list, "hset", -4, kWriteFast, HSet);
  Add(list, "hsetnx", 4, kWriteFast, HSetNx);
  Add(list, "hmset", -4, kWriteFast, HMSet);
  Add(list, "hget", 3, kRead, HGet);
  Add(list, "hmget", -3, kRead, HMGet);
  Add(list, "hdel", -3, kWriteFast, HDel);
  Add(list, "hlen", 2, kRead, HLen);
  Add(list, "hexists", 3, kRead, HExists);
  Add(list, "hstrlen", 3, kRead, HStrLen);
  // O(N) in the hash, not the keyspace: they stay on the event loop like
  // Redis's, bounded by the reply budget.
  Add(list, "hkeys", 2, kCmdReadOnly, HKeys);
  Add(list, "hvals", 2, kCmdReadOnly, HVals);
  Add(list, "hgetall", 2, kCmdReadOnly, HGetAll);
  Add(list, "hincrby", 4, kWriteFast, HIncrBy);
  Add(list, "hincrbyfloat", 4, kWriteFast, HIncrByFloat);
  Add(list, "hrandfield", -2, kCmdReadOnly, HRandField);
  Add(list, "hscan", -3, kCmdReadOnly, HScan);
}

}  // namespace lsmkv::server
