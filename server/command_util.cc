#include "server/command_util.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "server/config.h"
#include "server/resp_parser.h"

namespace lsmkv::server {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseIntArg(CommandContext& ctx, std::string_view text, int64_t* value) {
  if (ParseInt64(text, value)) return true;
  ctx.reply.Error(errors::kNotInteger);
  return false;
}

bool ReadKey(CommandContext& ctx, std::string_view key, Entry* entry, bool* found) {
  Status s = ctx.txn.Get(key, entry, found);
  if (s.ok()) return true;
  ctx.reply.Error("ERR " + s.ToString());
  return false;
}

bool ReadString(CommandContext& ctx, std::string_view key, Entry* entry, bool* found) {
  if (!ReadKey(ctx, key, entry, found)) return false;
  if (*found && entry->type != ValueType::kString) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  return true;
}

bool ParsePositiveExpire(CommandContext& ctx, std::string_view text, ExpireUnit unit,
                         ExpireBase base, std::string_view command_name, int64_t* deadline_ms) {
  int64_t value = 0;
  if (!ParseIntArg(ctx, text, &value)) return false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (value <= 0 || (unit == ExpireUnit::kSeconds && value > kMax / 1000)) {
    ctx.reply.Error(InvalidExpireError(command_name));
    return false;
  }
  if (unit == ExpireUnit::kSeconds) value *= 1000;
  if (base == ExpireBase::kRelative) {
    if (value > kMax - ctx.txn.now_ms()) {
      ctx.reply.Error(InvalidExpireError(command_name));
      return false;
    }
    value += ctx.txn.now_ms();
  }
  *deadline_ms = value;
  return true;
}

bool StringTooLong(CommandContext& ctx, uint64_t total_bytes) {
  const int64_t limit = ctx.server.config->Int(Setting::kProtoMaxBulkLen);
  if (total_bytes <= static_cast<uint64_t>(limit)) return false;
  ctx.reply.Error(errors::kTooLarge);
  return true;
}

bool ParseScanCursor(CommandContext& ctx, const std::string& text, uint64_t* cursor) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(text.c_str(), &end, 10);
  if ((!text.empty() && std::isspace(static_cast<unsigned char>(text[0]))) ||
      end != text.c_str() + text.size() || errno == ERANGE) {
    ctx.reply.Error("ERR invalid cursor");
    return false;
  }
  *cursor = parsed;
  return true;
}

bool ParseScanOptions(CommandContext& ctx, size_t first, bool allow_type, ScanOptions* out) {
  const auto& args = ctx.args;
  for (size_t i = first; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
    if (EqualsIgnoreCase(args[i], "count")) {
      if (!ParseIntArg(ctx, args[i + 1], &out->count)) return false;
      if (out->count < 1) {
        ctx.reply.Error(errors::kSyntax);
        return false;
      }
    } else if (EqualsIgnoreCase(args[i], "match")) {
      out->pattern = args[i + 1];
      out->has_pattern = out->pattern != "*";
    } else if (allow_type && EqualsIgnoreCase(args[i], "type")) {
      out->type = ToLower(args[i + 1]);
      out->has_type = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  return true;
}

std::string RandomKeyBetween(std::string_view first, std::string_view last, std::mt19937_64& rng) {
  std::string target(first);
  size_t d = 0;
  while (d < first.size() && d < last.size() && first[d] == last[d]) d++;
  if (d < last.size()) {
    const unsigned low = d < first.size() ? static_cast<unsigned char>(first[d]) : 0;
    const unsigned high = static_cast<unsigned char>(last[d]);
    target.resize(d);
    target.push_back(static_cast<char>(low + rng() % (high - low + 1)));
    // The bytes that follow are drawn from the range of bytes the two keys
    // use after their common prefix (digits for "f0".."f999"), so seeks
    // spread over keys of that alphabet instead of landing past them.
    unsigned min_byte = 0xff, max_byte = 0;
    for (std::string_view key : {first, last}) {
      for (size_t i = d; i < key.size(); i++) {
        min_byte = std::min<unsigned>(min_byte, static_cast<unsigned char>(key[i]));
        max_byte = std::max<unsigned>(max_byte, static_cast<unsigned char>(key[i]));
      }
    }
    for (int i = 0; i < 8; i++) {
      target.push_back(static_cast<char>(min_byte + rng() % (max_byte - min_byte + 1)));
    }
  }
  return target;
}

uint64_t ReplyByteBudget(CommandContext& ctx) {
  const int64_t limit = ctx.server.config->Int(Setting::kClientOutputBufferLimit);
  return limit > 0 ? static_cast<uint64_t>(limit) : UINT64_MAX;
}

bool ParseLongDouble(std::string_view text, long double* value) {
  constexpr size_t kMaxChars = 5 * 1024;
  if (text.empty() || text.size() >= kMaxChars) return false;
  if (std::isspace(static_cast<unsigned char>(text[0]))) return false;
  std::string buf(text);
  char* end = nullptr;
  errno = 0;
  const long double parsed = std::strtold(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size()) return false;
  if (errno == ERANGE && (std::isinf(parsed) || parsed == 0.0L)) return false;
  if (std::isnan(parsed)) return false;
  *value = parsed;
  return true;
}

bool ReadCollection(CommandContext& ctx, std::string_view key, ValueType type, Collection* out) {
  // Kept from call to call: its payload's buffer is reused (no allocation
  // per read of a metadata record). Not used past this function; a large
  // value read here (a string key named by a collection command) is not kept.
  thread_local Entry entry;
  struct Trim {
    ~Trim() {
      if (entry.payload.capacity() > 1024) std::string().swap(entry.payload);
    }
  } trim;
  out->prefix.clear();
  if (!ReadKey(ctx, key, &entry, &out->found)) return false;
  if (!out->found) return true;
  if (entry.type != type) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  if (!DecodeCollectionMeta(type, entry.payload, &out->meta)) {
    ctx.reply.Error("ERR Corruption: lsmkv-server: undecodable " +
                    std::string(ValueTypeName(type)) + " metadata");
    return false;
  }
  out->deadline_ms = entry.deadline_ms;
  AppendElementPrefix(ElementPrefixes(type)[0], ctx.txn.db(), key, out->meta.version, &out->prefix);
  return true;
}

bool CreateCollectionIfAbsent(CommandContext& ctx, std::string_view key, ValueType type,
                              Collection* c) {
  if (c->found) return true;
  Status s = ctx.txn.keyspace()->NewCollectionVersion(&c->meta.version);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return false;
  }
  c->meta.count = 0;
  c->meta.head = type == ValueType::kList ? kListInitialHead : 0;
  c->deadline_ms = 0;
  c->prefix.clear();
  AppendElementPrefix(ElementPrefixes(type)[0], ctx.txn.db(), key, c->meta.version, &c->prefix);
  c->found = true;
  return true;
}

void StoreCollection(CommandContext& ctx, std::string_view key, ValueType type,
                     const Collection& c) {
  if (c.meta.count == 0) {
    ctx.txn.Delete(key);
    return;
  }
  thread_local std::string payload;  // reused: Put copies it; a few dozen bytes
  payload.clear();
  EncodeCollectionMeta(type, c.meta, &payload);
  ctx.txn.Put(key, type, c.deadline_ms, payload);
}

std::string ElementKeyOf(const Collection& c, std::string_view suffix) {
  std::string key;
  key.reserve(c.prefix.size() + suffix.size());
  key.append(c.prefix);
  key.append(suffix);
  return key;
}

bool ParseDbIndex(CommandContext& ctx, std::string_view text, std::string_view not_integer_error,
                  int* db) {
  int64_t index = 0;
  if (!ParseInt64(text, &index)) {
    ctx.reply.Error(not_integer_error);
    return false;
  }
  const int64_t databases = ctx.server.config->Int(Setting::kDatabases);
  if (index < 0 || index >= databases || index >= kMaxDatabases) {
    ctx.reply.Error("ERR DB index is out of range");
    return false;
  }
  *db = static_cast<int>(index);
  return true;
}

bool ParseBlockTimeout(CommandContext& ctx, std::string_view text, int64_t* deadline_ms) {
  long double seconds = 0;
  if (!ParseLongDouble(text, &seconds) || std::isinf(seconds)) {
    ctx.reply.Error("ERR timeout is not a float or out of range");
    return false;
  }
  if (seconds < 0) {
    ctx.reply.Error("ERR timeout is negative");
    return false;
  }
  const long double ms = seconds * 1000;
  // A timeout past the int64 range of deadlines (about 292 million years)
  // is refused like Redis refuses one that overflows.
  if (ms > static_cast<long double>(std::numeric_limits<int64_t>::max() / 2)) {
    ctx.reply.Error("ERR timeout is out of range");
    return false;
  }
  const int64_t delta = static_cast<int64_t>(ms);
  *deadline_ms = seconds == 0 ? 0 : ctx.txn.now_ms() + std::max<int64_t>(delta, 1);
  return true;
}

bool BlockClient(CommandContext& ctx, const std::vector<std::string_view>& keys,
                 int64_t deadline_ms, bool null_array) {
  if (ctx.in_exec || !ctx.client.wake || keys.empty()) return false;
  std::vector<std::string> data_keys;
  data_keys.reserve(keys.size());
  for (std::string_view key : keys) data_keys.push_back(DataKey(ctx.txn.db(), key));
  ClientState::BlockState& block = ctx.client.block;
  block.ticket = ctx.txn.keyspace()->blocking().Wait(data_keys, ctx.client.wake);
  block.keys = std::move(data_keys);
  block.requested = true;
  block.deadline_ms = deadline_ms;
  block.null_array = null_array;
  return true;
}

bool ParseRandomCount(CommandContext& ctx, std::string_view with_option, bool* with_count,
                      int64_t* count, bool* with) {
  const auto& args = ctx.args;
  *with_count = args.size() >= 3;
  *count = 1;
  *with = false;
  // SRANDMEMBER checks the argument count first; HRANDFIELD and
  // ZRANDMEMBER read the count first (Redis's order of errors).
  if (with_option.empty() && args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  if (!*with_count) return true;
  if (!ParseIntArg(ctx, args[2], count)) return false;
  if (args.size() > 4) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (*count == std::numeric_limits<int64_t>::min()) {
    ctx.reply.Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
    return false;
  }
  if (args.size() == 4) {
    if (!EqualsIgnoreCase(args[3], with_option)) {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
    *with = true;
    if (*count < -kMax / 2 || *count > kMax / 2) {
      ctx.reply.Error("ERR value is out of range");
      return false;
    }
  }
  return true;
}

}  // namespace lsmkv::server
