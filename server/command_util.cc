#include "server/command_util.h"

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

}  // namespace lsmkv::server
