// Keyspace commands: DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, COPY, MOVE, SWAPDB, SCAN,
// KEYS, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL.
#include <cerrno>
#include <cstdlib>
#include <random>
#include <unordered_set>
#include <utility>
#include <vector>

#include "server/collection.h"
#include "server/command_util.h"
#include "server/dispatcher.h"
#include "server/glob.h"
#include "server/notify.h"
#include "server/scan_cursors.h"

namespace lsmkv::server {

namespace {

// An iterator over the data keys of the command's database whose user key
// starts with prefix. UserKeyOf strips a key's database head.
std::unique_ptr<Iterator> NewDataIterator(CommandContext& ctx, std::string_view prefix) {
  ReadOptions options;
  std::string lower, upper;
  DataPrefixRange(ctx.txn.db(), prefix, &lower, &upper);
  options.lower_bound = lower;
  options.upper_bound = upper;
  return ctx.txn.keyspace()->db()->NewIterator(options);
}

std::string_view UserKeyOf(CommandContext& ctx, std::string_view data_key) {
  return data_key.substr(DataKeyHeadSize(ctx.txn.db()));
}

// True if the stored value at the iterator is live at now_ms; sets *type.
bool IsLive(std::string_view stored, int64_t now_ms, ValueType* type = nullptr) {
  DecodedValue decoded;
  if (!DecodeValue(stored, &decoded) || IsExpired(decoded.deadline_ms, now_ms)) return false;
  if (type != nullptr) *type = decoded.type;
  return true;
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
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", ctx.args[i]);
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
  ctx.reply.Status(found ? ValueTypeName(entry.type) : "none");
}

// RENAME moves a collection's elements (their keys hold the user key) in
// the command's one atomic write, so its work and the batch grow with the
// collection: it refuses one of more than this many elements, or whose
// elements (keys' suffixes and values) add up to more than
// kMaxRenameCollectionBytes, before writing anything.
constexpr uint64_t kMaxRenameCollectionElements = 1000000;
constexpr uint64_t kMaxRenameCollectionBytes = 64u << 20;

// Buffers in ctx.txn the copy of the elements of collection src (of type,
// metadata payload *payload) to dst under a new collection version, and
// rewrites *payload to the metadata of that copy (same count; a list keeps
// its positions). A new version, not the old one: dst's previous elements,
// if any, then hold an older version than dst's metadata and the compaction
// filter reclaims them (ClassifyElement), and versions under each user key
// keep growing. src's elements are left to the filter, like DEL's: they are
// unreachable once src's metadata is deleted, and reclaimed once that
// deletion is durable. Returns false after replying with an error (engine
// failure, corrupt metadata, collection over the limits); nothing is
// buffered then.
// verb names the command in the too-large error ("rename", "copy").
// The source is in the Txn's database, the copy goes to physical database
// dst_db.
bool CopyCollectionElements(CommandContext& ctx, ValueType type, std::string_view src, int dst_db,
                            std::string_view dst, std::string_view verb, std::string* payload) {
  CollectionMeta meta;
  if (!DecodeCollectionMeta(type, *payload, &meta)) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: undecodable " +
                    std::string(ValueTypeName(type)) + " metadata");
    return false;
  }
  const std::string too_large = "ERR " + std::string(ValueTypeName(type)) + " too large to " +
                                std::string(verb) + " (lsmkv-server moves at most " +
                                std::to_string(kMaxRenameCollectionElements) + " elements and " +
                                std::to_string(kMaxRenameCollectionBytes >> 20) +
                                " MiB of them in one atomic write)";
  if (meta.count > kMaxRenameCollectionElements) {
    ctx.reply.Error(too_large);
    return false;
  }
  // (prefix, key suffix after the element prefix, value) of every element.
  struct Element {
    char prefix;
    std::string suffix;
    std::string value;
  };
  std::vector<Element> elements;
  const std::string_view prefixes = ElementPrefixes(type);
  elements.reserve(meta.count * prefixes.size());
  uint64_t bytes = 0;
  bool over = false;
  for (const char prefix : prefixes) {
    std::string lower;
    AppendElementPrefix(prefix, ctx.txn.db(), src, meta.version, &lower);
    const std::string upper = PrefixSuccessor(lower);
    uint64_t in_prefix = 0;
    Status s =
        ctx.txn.ScanElements(lower, upper, [&](std::string_view key, std::string_view value) {
          const std::string_view suffix = key.substr(lower.size());
          bytes += suffix.size() + value.size();
          if (bytes > kMaxRenameCollectionBytes || ++in_prefix > kMaxRenameCollectionElements) {
            over = true;
            return false;
          }
          elements.push_back({prefix, std::string(suffix), std::string(value)});
          return true;
        });
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return false;
    }
    if (over) {
      ctx.reply.Error(too_large);
      return false;
    }
    // A stream may have no entries and no groups: only the other types'
    // metadata promises elements under each prefix.
    if (in_prefix == 0 && type != ValueType::kStream) {
      ctx.reply.Error("ERR Corruption: lsmkv-server: " + std::string(ValueTypeName(type)) +
                      " metadata without elements");
      return false;
    }
  }
  Status s = ctx.txn.keyspace()->NewCollectionVersion(&meta.version);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return false;
  }
  std::string key;
  for (const Element& element : elements) {
    key.clear();
    AppendElementPrefix(element.prefix, dst_db, dst, meta.version, &key);
    key.append(element.suffix);
    ctx.txn.PutElement(key, element.value);
  }
  ReplaceCollectionVersion(meta.version, payload);
  return true;
}

// RENAME key newkey / RENAMENX key newkey (Redis 7.0): "ERR no such key" if
// key is absent (also when newkey == key); renaming an existing key to
// itself changes nothing (RENAME: OK, RENAMENX: 0); RENAMENX replies 0 if
// newkey exists. Otherwise newkey gets key's value, type and deadline
// (whatever newkey held is replaced) and key is deleted, in the command's
// one write: WATCHes of either key see it. Every type (a collection's
// elements move too: CopyCollectionElements, bounded). The dispatcher holds
// both keys' stripes.
void RenameGeneric(CommandContext& ctx, bool nx) {
  const std::string& src = ctx.args[1];
  const std::string& dst = ctx.args[2];
  Entry entry;
  bool found = false;
  // Peek: like Redis's write lookups, RENAME counts no keyspace hit or miss.
  Status s = ctx.txn.Peek(src, &entry, &found);
  if (s.ok() && found && nx && src != dst) {
    Entry existing;
    bool exists = false;
    s = ctx.txn.Peek(dst, &existing, &exists);
    if (s.ok() && exists) {
      ctx.reply.Integer(0);
      return;
    }
  }
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  if (!found) {
    ctx.reply.Error("ERR no such key");
    return;
  }
  if (src == dst) {
    if (nx) {
      ctx.reply.Integer(0);
    } else {
      ctx.reply.Ok();
    }
    return;
  }
  if (IsCollectionType(entry.type) &&
      !CopyCollectionElements(ctx, entry.type, src, ctx.txn.db(), dst, "rename", &entry.payload)) {
    return;
  }
  ctx.txn.Delete(src);
  // Redis deletes an existing destination first: the key is always "new".
  NotifyReplacedAsNew(ctx, dst);
  ctx.txn.Put(dst, entry.type, entry.deadline_ms, entry.payload);
  NotifyKeyspaceEvent(ctx, kNotifyGeneric, "rename_from", src);
  NotifyKeyspaceEvent(ctx, kNotifyGeneric, "rename_to", dst);
  if (nx) {
    ctx.reply.Integer(1);
  } else {
    ctx.reply.Ok();
  }
}

void Rename(CommandContext& ctx) { RenameGeneric(ctx, /*nx=*/false); }
void RenameNx(CommandContext& ctx) { RenameGeneric(ctx, /*nx=*/true); }

// COPY source destination [DB destination-db] [REPLACE] (Redis 7.0): 1 if
// source was copied; 0 if source is absent or destination exists without
// REPLACE. The copy has source's type, value and deadline; a collection's
// elements are copied under a new version (CopyCollectionElements, bounded
// like RENAME). Only database 0 exists (SELECT), so DB accepts 0 alone.
void Copy(CommandContext& ctx) {
  const std::string& src = ctx.args[1];
  const std::string& dst = ctx.args[2];
  bool replace = false;
  const int src_db = ctx.txn.db();
  int dst_db = src_db;
  for (size_t i = 3; i < ctx.args.size(); i++) {
    if (EqualsIgnoreCase(ctx.args[i], "replace")) {
      replace = true;
    } else if (EqualsIgnoreCase(ctx.args[i], "db") && i + 1 < ctx.args.size()) {
      int logical = 0;
      if (!ParseDbIndex(ctx, ctx.args[++i], errors::kNotInteger, &logical)) return;
      dst_db = ctx.txn.keyspace()->PhysicalDb(logical);
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (src == dst && src_db == dst_db) {
    ctx.reply.Error("ERR source and destination objects are the same");
    return;
  }
  Entry entry;
  bool found = false;
  Status s = ctx.txn.Peek(src, &entry, &found);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  if (!found) {
    ctx.reply.Integer(0);
    return;
  }
  // The destination's reads and writes go to its database (the source's
  // were all made above).
  ctx.txn.set_db(dst_db);
  if (!replace) {
    Entry existing;
    bool exists = false;
    s = ctx.txn.Peek(dst, &existing, &exists);
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return;
    }
    if (exists) {
      ctx.reply.Integer(0);
      return;
    }
  }
  if (IsCollectionType(entry.type)) {
    ctx.txn.set_db(src_db);  // the elements are read from the source's database
    if (!CopyCollectionElements(ctx, entry.type, src, dst_db, dst, "copy", &entry.payload)) {
      return;
    }
    ctx.txn.set_db(dst_db);
  }
  if (replace) NotifyReplacedAsNew(ctx, dst);
  ctx.txn.Put(dst, entry.type, entry.deadline_ms, entry.payload);
  NotifyKeyspaceEvent(ctx, kNotifyGeneric, "copy_to", dst);
  ctx.txn.set_db(src_db);
  ctx.reply.Integer(1);
}

// MOVE key db (Redis 7.0): 1 if key moved from the selected database to db;
// 0 if key is absent here or exists there. The value keeps its type and
// deadline; a collection's elements are copied under a new version in the
// other database (bounded like RENAME) and the old ones are reclaimed by
// compaction, like after DEL. One stripe (by user key) covers both
// databases.
void Move(CommandContext& ctx) {
  const std::string& key = ctx.args[1];
  int logical = 0;
  if (!ParseDbIndex(ctx, ctx.args[2], errors::kNotInteger, &logical)) return;
  const int src_db = ctx.txn.db();
  const int dst_db = ctx.txn.keyspace()->PhysicalDb(logical);
  if (src_db == dst_db) {
    ctx.reply.Error("ERR source and destination objects are the same");
    return;
  }
  Entry entry;
  bool found = false;
  Status s = ctx.txn.Peek(key, &entry, &found);
  if (s.ok() && found) {
    Entry existing;
    bool exists = false;
    ctx.txn.set_db(dst_db);
    s = ctx.txn.Peek(key, &existing, &exists);
    ctx.txn.set_db(src_db);
    if (s.ok() && exists) found = false;
  }
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  if (!found) {
    ctx.reply.Integer(0);
    return;
  }
  if (IsCollectionType(entry.type) &&
      !CopyCollectionElements(ctx, entry.type, key, dst_db, key, "move", &entry.payload)) {
    return;
  }
  ctx.txn.Delete(key);
  ctx.txn.set_db(dst_db);
  ctx.txn.Put(key, entry.type, entry.deadline_ms, entry.payload);
  ctx.txn.set_db(src_db);
  NotifyKeyspaceEvent(ctx, kNotifyGeneric, "move_from", key);
  NotifyKeyspaceEventInDb(ctx, kNotifyGeneric, "move_to", key, dst_db);
  ctx.reply.Integer(1);
}

// SWAPDB index1 index2 (Redis 7.0): the two databases exchange their
// contents for every client at once — Keyspace::SwapDatabases rewrites the
// logical-to-physical map, O(1), with sync. Every WATCH taken before fails
// its EXEC (Redis fails only watches of keys in the two databases). Clients
// blocked on keys (BLPOP...) are woken to look again, as in Redis. The
// dispatcher holds every stripe.
void SwapDb(CommandContext& ctx) {
  int a = 0, b = 0;
  if (!ParseDbIndex(ctx, ctx.args[1], "ERR invalid first DB index", &a) ||
      !ParseDbIndex(ctx, ctx.args[2], "ERR invalid second DB index", &b)) {
    return;
  }
  if (ctx.in_exec) {
    // Earlier commands of the transaction are applied before the swap.
    Status s = ctx.txn.Commit();
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return;
    }
  }
  if (a != b) {
    Status s = ctx.txn.keyspace()->SwapDatabases(a, b);
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return;
    }
    // Clients blocked on a key of either database may now find it: they
    // run their command again (after this command releases the stripes).
    ctx.txn.keyspace()->blocking().SignalEvery();
  }
  ctx.reply.Ok();
}

// OBJECT ENCODING key: strings as Redis 7.0 would encode them (int, embstr
// up to 44 bytes, raw); collections by the encoding Redis uses for large
// ones (hashtable, quicklist, hashtable, skiplist): lsmkv has no listpack
// or intset, every element is an engine key. Other subcommands are unknown.
void Object(CommandContext& ctx) {
  const std::string& sub = ctx.args[1];
  if (EqualsIgnoreCase(sub, "help") && ctx.args.size() == 2) {
    static const char* const kHelp[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Not tracked by lsmkv-server (no LFU eviction: data lives on disk).",
        "IDLETIME <key>",
        "    Not tracked by lsmkv-server (no LRU eviction: data lives on disk).",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key> (always 1: values are not shared).",
        "HELP",
        "    Print this help."};
    ctx.reply.Array(std::size(kHelp));
    for (const char* line : kHelp) ctx.reply.Status(line);
    return;
  }
  const bool encoding = EqualsIgnoreCase(sub, "encoding");
  const bool refcount = EqualsIgnoreCase(sub, "refcount");
  const bool freq = EqualsIgnoreCase(sub, "freq");
  const bool idletime = EqualsIgnoreCase(sub, "idletime");
  if (!encoding && !refcount && !freq && !idletime) {
    ctx.reply.Error(UnknownSubcommandError(sub, "OBJECT"));
    return;
  }
  if (ctx.args.size() != 3) {
    ctx.reply.Error(ArityError("object|" + ToLower(sub)));
    return;
  }
  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, ctx.args[2], &entry, &found)) return;
  if (!found) {
    ctx.reply.Null();
    return;
  }
  if (refcount) {
    ctx.reply.Integer(1);
    return;
  }
  if (freq) {
    // What Redis says under its default policy (noeviction), which is the
    // only one lsmkv-server has.
    ctx.reply.Error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time to "
        "adjust.");
    return;
  }
  if (idletime) {
    ctx.reply.Error(
        "ERR lsmkv-server does not track key access times (no LRU eviction: data lives on disk)");
    return;
  }
  switch (entry.type) {
    case ValueType::kHash:
    case ValueType::kSet:
      ctx.reply.Bulk("hashtable");
      return;
    case ValueType::kList:
      ctx.reply.Bulk("quicklist");
      return;
    case ValueType::kZSet:
      ctx.reply.Bulk("skiplist");
      return;
    case ValueType::kStream:
      ctx.reply.Bulk("stream");
      return;
    case ValueType::kString:
      break;
  }
  int64_t integer = 0;
  if (entry.payload.size() <= 20 && ParseInt64(entry.payload, &integer)) {
    ctx.reply.Bulk("int");
  } else {
    ctx.reply.Bulk(entry.payload.size() <= 44 ? "embstr" : "raw");
  }
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
void Scan(CommandContext& ctx) {
  const auto& args = ctx.args;
  uint64_t cursor = 0;
  if (!ParseScanCursor(ctx, args[1], &cursor)) return;
  ScanOptions options;
  if (!ParseScanOptions(ctx, 2, /*allow_type=*/true, &options)) return;
  const int64_t count = options.count;
  const std::string& pattern = options.pattern;
  const bool has_pattern = options.has_pattern;
  const std::string& type = options.type;
  const bool has_type = options.has_type;
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
    std::string target = DataKey(ctx.txn.db(), position);
    target.push_back('\0');  // the first key after the position
    it->Seek(target);
  }
  std::vector<std::string> found;
  std::string last;
  int64_t examined = 0;
  const int64_t now = ctx.txn.now_ms();
  for (; it->Valid() && examined < count; it->Next(), examined++) {
    std::string_view user_key = UserKeyOf(ctx, it->key());
    last.assign(user_key);
    ValueType value_type;
    if (!IsLive(it->value(), now, &value_type)) continue;
    if (has_type && type != ValueTypeName(value_type)) continue;
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
    std::string_view user_key = UserKeyOf(ctx, it->key());
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
  const std::string target = RandomKeyBetween(first, last, rng);
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
      ctx.reply.Bulk(UserKeyOf(ctx, it->key()));
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
  Status s = ctx.txn.keyspace()->CountKeys(ctx.txn.db(), ctx.txn.now_ms(), &keys, &with_deadline);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return;
  }
  ctx.reply.Integer(static_cast<int64_t>(keys));
}

// FLUSHDB / FLUSHALL [ASYNC|SYNC]: one atomic write of range deletions
// (Keyspace::FlushDb for the selected database, Keyspace::FlushAll for
// every one), the same work whatever the keyspace holds; ASYNC and
// SYNC both return at once, as the engine reclaims the space in the
// background either way. The dispatcher holds every stripe.
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
  const bool all = std::string_view(ctx.spec.name) == "flushall";
  Status s = all ? ctx.txn.keyspace()->FlushAll() : ctx.txn.keyspace()->FlushDb(ctx.txn.db());
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

// DUMP and RESTORE: Redis's serialization format (an RDB fragment with its
// CRC) is not implemented; a clear error instead of "unknown command".
void DumpRestore(CommandContext& ctx) {
  ctx.reply.Error("ERR " + ToLower(ctx.args[0]) +
                  " is not supported by lsmkv-server (no RDB serialization format)");
}

}  // namespace

void RegisterKeyCommands(CommandList* list) {
  Add(list, "del", -2, kCmdWrite, 1, -1, 1, Del);
  Add(list, "unlink", -2, kCmdWrite | kCmdFast, 1, -1, 1, Del);
  Add(list, "exists", -2, kCmdReadOnly | kCmdFast, 1, -1, 1, Exists);
  Add(list, "type", 2, kCmdReadOnly | kCmdFast, 1, 1, 1, Type);
  Add(list, "object", -2, kCmdReadOnly, 2, 2, 1, Object);
  Add(list, "rename", 3, kCmdWrite, 1, 2, 1, Rename);
  Add(list, "renamenx", 3, kCmdWrite | kCmdFast, 1, 2, 1, RenameNx);
  Add(list, "copy", -3, kCmdWrite, 1, 2, 1, Copy);
  Add(list, "dump", 2, kCmdReadOnly, 1, 1, 1, DumpRestore);
  Add(list, "restore", -4, kCmdWrite, 1, 1, 1, DumpRestore);
  Add(list, "move", 3, kCmdWrite | kCmdFast, 1, 1, 1, Move);
  Add(list, "swapdb", 3, kCmdWrite | kCmdKeyspace | kCmdLockAll | kCmdFast, 0, 0, 0, SwapDb);
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
