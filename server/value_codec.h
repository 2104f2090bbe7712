// How lsmkv-server lays out its data in the engine (docs/REDIS_COMPAT.md,
// "Storage layout"):
//
//   key  'k' user-key                      value: encoded value (below)
//   key  'x' fixed64-big-endian(deadline-ms) user-key   value: empty
//        an expiry hint, written with every value that has a deadline, so the
//        background sweep finds due keys with one range scan; a hint whose
//        value was since overwritten is stale and simply dropped
//   key  'm' name                          server metadata (e.g. the
//        "everysec" sync marker, written and deleted to force a log sync)
//
//   encoded value := flags:uint8 [deadline-ms:fixed64-little-endian] payload
//   flags: bits 0-3 the value type (0 = string), bit 7 set if a deadline
//   follows. A deadline is a Unix time in milliseconds from which on the key
//   no longer exists (IsExpired; the time is read from the server's Clock,
//   clock.h).
#ifndef LSMKV_SERVER_VALUE_CODEC_H_
#define LSMKV_SERVER_VALUE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lsmkv::server {

enum class ValueType : uint8_t {
  kString = 0,
};

inline constexpr char kDataPrefix = 'k';
inline constexpr char kExpiryHintPrefix = 'x';
inline constexpr char kMetaPrefix = 'm';
// Bytes an encoded value adds to its payload, at most.
inline constexpr size_t kMaxValueHeader = 9;
// Bytes an expiry hint key adds to its user key.
inline constexpr size_t kExpiryHintOverhead = 9;

struct DecodedValue {
  ValueType type = ValueType::kString;
  int64_t deadline_ms = 0;  // 0 = no deadline
  std::string_view payload;
};

// Appends the encoding of (type, deadline_ms, payload) to *out.
// REQUIRES: deadline_ms >= 0 (0 = none).
void EncodeValue(ValueType type, int64_t deadline_ms, std::string_view payload, std::string* out);

// Decodes stored; false if it is not a valid encoding (unknown type or flag
// bits, or too short). out->payload points into stored.
[[nodiscard]] bool DecodeValue(std::string_view stored, DecodedValue* out);

// True if a value with this deadline no longer exists at now_ms.
inline bool IsExpired(int64_t deadline_ms, int64_t now_ms) {
  return deadline_ms != 0 && deadline_ms <= now_ms;
}

// 'k' + user_key.
std::string DataKey(std::string_view user_key);
void AppendDataKey(std::string_view user_key, std::string* out);

// 'x' + big-endian deadline + user_key; sorts by deadline.
std::string ExpiryHintKey(int64_t deadline_ms, std::string_view user_key);
// Splits a hint key; false if key is not one.
[[nodiscard]] bool DecodeExpiryHintKey(std::string_view key, int64_t* deadline_ms,
                                       std::string_view* user_key);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_VALUE_CODEC_H_
