// Keyspace commands: DEL, UNLINK, EXISTS, TYPE, SCAN, KEYS, RANDOMKEY,
// DBSIZE, FLUSHDB, FLUSHALL.
#include <cerrno>
#include <cstdlib>
#include <random>
#include <unordered_set>

#include "server/command_util.h"
#include "server/glob.h"
#include "server/scan_cursors.h"

namespace lsmkv::server {

namespace {

// The smallest key greater than every key starting with prefix ("" = none).
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return prefix;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// An iterator over the data keys whose user key starts with prefix.
std::unique_ptr<Iterator> NewDataIterator(CommandContext& ctx, std::string_view prefix) {
  ReadOptions options;
  options.lower_bound = DataKey(prefix);
  std::string upper = PrefixSuccessor(DataKey(prefix));
  options.upper_bound = upper;
  return ctx.txn.keyspace()->db()->NewIterator(options);
}

// True if the stored value at the iterator is live at now_ms.
bool IsLive(std::string_view stored, int64_t now_ms) {
  DecodedValue decoded;
  return DecodeValue(stored, &decoded) && !IsExpired(decoded.deadline_ms, now_ms);
}

void Del(CommandContext& ctx) {
  std::unordered_set<std::string_view> seen;
  int64_t deleted = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (!seen.insert(ctx.args[i]).second) continue;
    Entry entry;
    bool found = false;
    if (!ReadKey(ctx, ctx.args[i], &entry, &found)) return;
    if (!found) continue;
    ctx.txn.Delete(ctx.args[i]);
    deleted++;
  }
  ctx.reply.Integer(deleted);
}

void Exists(CommandContext& ctx) {
  int64_t count = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    Entry entry;
    bool found = false;
    if (!ReadKey(ctx, ctx.args[i], &entry, &found)) return;
    if (found) count++;
  }
  ctx.reply.Integer(count);
}

void Type(CommandContext& ctx) {
  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, ctx.args[1], &entry, &found)) return;
  ctx.reply.Status(found ? "string" : "none");
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
void Scan(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string& cursor_text = args[1];
  errno = 0;
  char* end = nullptr;
  const unsigned long long cursor = std::strtoull(cursor_text.c_str(), &end, 10);
  if ((!cursor_text.empty() && std::isspace(static_cast<unsigned char>(cursor_text[0]))) ||
      end != cursor_text.c_str() + cursor_text.size() || errno == ERANGE) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  int64_t count = 10;
  std::string pattern;
  bool has_pattern = false;
  std::string type;
  bool has_type = false;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    if (EqualsIgnoreCase(args[i], "count")) {
      if (!ParseIntArg(ctx, args[i + 1], &count)) return;
      if (count < 1) {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
    } else if (EqualsIgnoreCase(args[i], "match")) {
      pattern = args[i + 1];
      has_pattern = pattern != "*";
    } else if (EqualsIgnoreCase(args[i], "type")) {
      type = ToLower(args[i + 1]);
      has_type = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  std::string position;
  if (cursor != 0 && !ctx.server.cursors->Find(cursor, &position)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  const std::string prefix = has_pattern ? GlobLiteralPrefix(pattern) : std::string();
  std::unique_ptr<Iterator> it = NewDataIterator(ctx, prefix);
  if (cursor == 0) {
    it->SeekToFirst();
  } else {
    std::string target = DataKey(position);
    target.push_back('\0');  // the first key after the position
    it->Seek(target);
  }
  std::vector<std::string> found;
  std::string last;
  int64_t examined = 0;
  const int64_t now = ctx.txn.now_ms();
  for (; it->Valid() && examined < count; it->Next(), examined++) {
    std::string_view user_key = it->key().substr(1);
    last.assign(user_key);
    if (!IsLive(it->value(), now)) continue;
    if (has_type && type != "string") continue;
    if (has_pattern && !GlobMatch(pattern, user_key)) continue;
    found.emplace_back(user_key);
  }
  Status s = it->status();
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  const uint64_t next = it->Valid() ? ctx.server.cursors->Save(last) : 0;
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.Array(found.size());
  for (const std::string& key : found) ctx.reply.Bulk(key);
}

void Keys(CommandContext& ctx) {
  const std::string& pattern = ctx.args[1];
  const bool match_all = pattern == "*";
  std::unique_ptr<Iterator> it =
      NewDataIterator(ctx, match_all ? std::string() : GlobLiteralPrefix(pattern));
  std::vector<std::string> found;
  const int64_t now = ctx.txn.now_ms();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view user_key = it->key().substr(1);
    if (!IsLive(it->value(), now)) continue;
    if (!match_all && !GlobMatch(pattern, user_key)) continue;
    found.emplace_back(user_key);
  }
  Status s = it->status();
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  ctx.reply.Array(found.size());
  for (const std::string& key : found) ctx.reply.Bulk(key);
}

// Picks a key near a random point between the first and last key: random,
// though not uniform (dense key ranges are picked less often per key).
void RandomKey(CommandContext& ctx) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::unique_ptr<Iterator> it = NewDataIterator(ctx, "");
  it->SeekToFirst();
  if (!it->Valid()) {
    Status s = it->status();
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
    } else {
      ctx.reply.Null();
    }
    return;
  }
  const std::string first(it->key());
  it->SeekToLast();
  const std::string last(it->key());
  std::string target = first;
  size_t d = 0;
  while (d < first.size() && d < last.size() && first[d] == last[d]) d++;
  if (d < last.size()) {
    const unsigned low = d < first.size() ? static_cast<unsigned char>(first[d]) : 0;
    const unsigned high = static_cast<unsigned char>(last[d]);
    target.resize(d);
    target.push_back(static_cast<char>(low + rng() % (high - low + 1)));
    for (int i = 0; i < 8; i++) target.push_back(static_cast<char>(rng() & 0xff));
  }
  const int64_t now = ctx.txn.now_ms();
  it->Seek(target);
  // Walk forward (wrapping once) to the first live key.
  bool wrapped = false;
  while (true) {
    if (!it->Valid()) {
      if (wrapped || !it->status().ok()) break;
      wrapped = true;
      it->SeekToFirst();
      continue;
    }
    if (IsLive(it->value(), now)) {
      ctx.reply.Bulk(it->key().substr(1));
      return;
    }
    it->Next();
  }
  Status s = it->status();
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  ctx.reply.Null();
}

void DbSize(CommandContext& ctx) {
  uint64_t keys = 0, with_deadline = 0;
  Status s = ctx.txn.keyspace()->CountKeys(ctx.txn.now_ms(), &keys, &with_deadline);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  ctx.reply.Integer(static_cast<int64_t>(keys));
}

// FLUSHDB / FLUSHALL [ASYNC|SYNC]. The dispatcher holds every stripe.
void FlushDb(CommandContext& ctx) {
  if (ctx.args.size() > 2 || (ctx.args.size() == 2 && !EqualsIgnoreCase(ctx.args[1], "async") &&
                              !EqualsIgnoreCase(ctx.args[1], "sync"))) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (ctx.in_exec) {
    // Earlier commands of the transaction are applied before the flush.
    Status s = ctx.txn.Commit();
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return;
    }
  }
  Status s = ctx.txn.keyspace()->FlushAll();
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  ctx.reply.Ok();
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, int first, int last,
         int step, CommandHandler handler) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, first, last, step, "generic", handler, {}}));
}

}  // namespace

void RegisterKeyCommands(CommandList* list) {
  Add(list, "del", -2, kCmdWrite, 1, -1, 1, Del);
  Add(list, "unlink", -2, kCmdWrite | kCmdFast, 1, -1, 1, Del);
  Add(list, "exists", -2, kCmdReadOnly | kCmdFast, 1, -1, 1, Exists);
  Add(list, "type", 2, kCmdReadOnly | kCmdFast, 1, 1, 1, Type);
  Add(list, "scan", -2, kCmdReadOnly | kCmdKeyspace, 0, 0, 0, Scan);
  Add(list, "keys", 2, kCmdReadOnly | kCmdKeyspace | kCmdSlow, 0, 0, 0, Keys);
  Add(list, "randomkey", 1, kCmdReadOnly | kCmdKeyspace, 0, 0, 0, RandomKey);
  // Not fast: after any write DBSIZE counts the keyspace again (Keyspace::
  // CountKeys caches the count only until the next write).
  Add(list, "dbsize", 1, kCmdReadOnly | kCmdKeyspace | kCmdSlow, 0, 0, 0, DbSize);
  Add(list, "flushdb", -1, kCmdWrite | kCmdKeyspace | kCmdLockAll | kCmdSlow, 0, 0, 0, FlushDb);
  Add(list, "flushall", -1, kCmdWrite | kCmdKeyspace | kCmdLockAll | kCmdSlow, 0, 0, 0, FlushDb);
}

}  // namespace lsmkv::server
