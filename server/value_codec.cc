#include "server/value_codec.h"

#include <atomic>

#include "replication/slots.h"
#include "util/check.h"

namespace lsmkv::server {

namespace {

constexpr uint8_t kTypeMask = 0x0f;
constexpr uint8_t kHasDeadline = 0x80;
constexpr uint8_t kKnownFlags = kTypeMask | kHasDeadline;

std::atomic<KeyLayout> g_key_layout{KeyLayout::kFlat};

bool Slotted() { return g_key_layout.load(std::memory_order_relaxed) == KeyLayout::kSlotted; }

}  // namespace

void SetKeyLayout(KeyLayout layout) { g_key_layout.store(layout, std::memory_order_relaxed); }

KeyLayout key_layout() { return g_key_layout.load(std::memory_order_relaxed); }

void AppendSlot(std::string_view user_key, std::string* out) {
  if (Slotted()) replication::AppendSlotBytes(user_key, out);
}

size_t DataKeyHeadSize(int db) { return DbKeyPrefixSize(db) + (Slotted() ? kSlotBytes : 0); }

void DataPrefixRange(int db, std::string_view prefix, std::string* lower, std::string* upper) {
  if (Slotted()) {
    // Keys sharing a prefix share a slot only if the prefix holds their
    // hash tag: the first '{' of the key and the first '}' after it, with
    // something between, all within the prefix. Otherwise they are spread
    // over the slots: the whole database.
    const size_t open = prefix.find('{');
    const size_t close = open == std::string_view::npos ? open : prefix.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) {
      DatabaseRange(kDataPrefix, db, lower, upper);
      return;
    }
  }
  *lower = DataKey(db, prefix);
  *upper = PrefixSuccessor(*lower);
}

void EncodeValue(ValueType type, int64_t deadline_ms, std::string_view payload, std::string* out) {
  uint8_t flags = static_cast<uint8_t>(type);
  if (deadline_ms > 0) flags |= kHasDeadline;
  out->reserve(out->size() + kMaxValueHeader + payload.size());
  out->push_back(static_cast<char>(flags));
  if (deadline_ms > 0) {
    const uint64_t d = static_cast<uint64_t>(deadline_ms);
    for (int i = 0; i < 8; i++) out->push_back(static_cast<char>((d >> (8 * i)) & 0xff));
  }
  out->append(payload);
}

bool DecodeValue(std::string_view stored, DecodedValue* out) {
  if (stored.empty()) return false;
  const uint8_t flags = static_cast<uint8_t>(stored[0]);
  if ((flags & ~kKnownFlags) != 0) return false;
  const uint8_t type = flags & kTypeMask;
  if (type > static_cast<uint8_t>(ValueType::kStream)) return false;
  out->type = static_cast<ValueType>(type);
  size_t header = 1;
  out->deadline_ms = 0;
  if (flags & kHasDeadline) {
    if (stored.size() < 9) return false;
    uint64_t d = 0;
    for (int i = 0; i < 8; i++)
      d |= static_cast<uint64_t>(static_cast<uint8_t>(stored[1 + i])) << (8 * i);
    if (d == 0 || d > static_cast<uint64_t>(INT64_MAX)) return false;
    out->deadline_ms = static_cast<int64_t>(d);
    header = 9;
  }
  out->payload = stored.substr(header);
  return true;
}

const char* ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kHash:
      return "hash";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
    case ValueType::kStream:
      return "stream";
  }
  return "none";
}

std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return prefix;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

void AppendDbKeyPrefix(char prefix, int db, std::string* out) {
  DCHECK(db >= 0 && db < kMaxDatabases);
  if (db == 0) {
    out->push_back(prefix);
    return;
  }
  out->push_back(static_cast<char>(prefix - 'a' + 'A'));
  out->push_back(static_cast<char>(db));
}

bool DecodeDbKeyPrefix(std::string_view key, char* prefix, int* db, std::string_view* rest) {
  if (key.empty()) return false;
  const char first = key[0];
  for (const char p : kKeyspacePrefixes) {
    size_t head = 0;
    if (first == p) {
      *db = 0;
      head = 1;
    } else if (first == static_cast<char>(p - 'a' + 'A')) {
      if (key.size() < 2 || key[1] == 0) return false;
      *db = static_cast<uint8_t>(key[1]);
      head = 2;
    } else {
      continue;
    }
    // Expiry hints stay in deadline order: no slot.
    if (p != kExpiryHintPrefix && Slotted()) head += kSlotBytes;
    if (key.size() < head) return false;
    *prefix = p;
    *rest = key.substr(head);
    return true;
  }
  return false;
}

void DatabaseRange(char prefix, int db, std::string* begin, std::string* end) {
  begin->clear();
  AppendDbKeyPrefix(prefix, db, begin);
  *end = PrefixSuccessor(*begin);
}

void AppendDataKey(int db, std::string_view user_key, std::string* out) {
  out->reserve(out->size() + 2 + kSlotBytes + user_key.size());
  AppendDbKeyPrefix(kDataPrefix, db, out);
  AppendSlot(user_key, out);
  out->append(user_key);
}

std::string DataKey(int db, std::string_view user_key) {
  std::string key;
  AppendDataKey(db, user_key, &key);
  return key;
}

std::string ExpiryHintKey(int64_t deadline_ms, int db, std::string_view user_key) {
  std::string key;
  key.reserve(kExpiryHintOverhead + user_key.size());
  AppendDbKeyPrefix(kExpiryHintPrefix, db, &key);
  const uint64_t d = static_cast<uint64_t>(deadline_ms);
  for (int i = 7; i >= 0; i--) key.push_back(static_cast<char>((d >> (8 * i)) & 0xff));
  key.append(user_key);
  return key;
}

bool DecodeExpiryHintKey(std::string_view key, int64_t* deadline_ms, int* db,
                         std::string_view* user_key) {
  char prefix = 0;
  std::string_view rest;
  if (!DecodeDbKeyPrefix(key, &prefix, db, &rest) || prefix != kExpiryHintPrefix) return false;
  if (rest.size() < 8) return false;
  uint64_t d = 0;
  for (int i = 0; i < 8; i++) d = (d << 8) | static_cast<uint8_t>(rest[i]);
  if (d > static_cast<uint64_t>(INT64_MAX)) return false;
  *deadline_ms = static_cast<int64_t>(d);
  *user_key = rest.substr(8);
  return true;
}

}  // namespace lsmkv::server
