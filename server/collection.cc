#include "server/collection.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "util/check.h"
#include "util/coding.h"

namespace lsmkv::server {

namespace {

// Whole-word loads and stores (util/coding.h's PutFixed64/DecodeFixed64 for
// the little-endian metadata fields): the metadata record is encoded and
// decoded by every collection command, and an element key is built for
// every element a command touches; byte loops and a push_back per byte were
// about 600 instructions per metadata record.
uint64_t ToBigEndian64(uint64_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
}

void PutFixed64Be(uint64_t v, std::string* out) {
  char bytes[8];
  const uint64_t be = ToBigEndian64(v);
  std::memcpy(bytes, &be, 8);
  out->append(bytes, sizeof(bytes));
}

// The first `bytes` bytes of in as a big-endian number. REQUIRES: bytes is
// 4 or 8 (the only widths of the formats here) and in holds them.
uint64_t GetFixedBe(std::string_view in, int bytes) {
  DCHECK(in.size() >= static_cast<size_t>(bytes));
  if (bytes == 8) {
    uint64_t v;
    std::memcpy(&v, in.data(), 8);
    return ToBigEndian64(v);
  }
  DCHECK(bytes == 4);
  uint32_t v;
  std::memcpy(&v, in.data(), 4);
  return std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
}

}  // namespace

bool IsCollectionType(ValueType type) {
  return type == ValueType::kHash || type == ValueType::kList || type == ValueType::kSet ||
         type == ValueType::kZSet || type == ValueType::kStream;
}

void EncodeCollectionMeta(ValueType type, const CollectionMeta& meta, std::string* out) {
  DCHECK(IsCollectionType(type));
  out->push_back(static_cast<char>(kCollectionFormat));
  PutFixed64(out, meta.version);
  PutFixed64(out, meta.count);
  if (type == ValueType::kList) PutFixed64(out, meta.head);
  if (type == ValueType::kStream) out->append(kStreamMetaBytes - kCollectionMetaBytes, '\0');
}

void ReplaceCollectionVersion(uint64_t version, std::string* payload) {
  DCHECK(payload->size() >= kCollectionMetaBytes);
  EncodeFixed64(payload->data() + 1, version);
}

bool DecodeCollectionMeta(ValueType type, std::string_view payload, CollectionMeta* out) {
  if (!IsCollectionType(type)) return false;
  const size_t expected = type == ValueType::kList     ? kListMetaBytes
                          : type == ValueType::kStream ? kStreamMetaBytes
                                                       : kCollectionMetaBytes;
  if (payload.size() != expected) return false;
  if (static_cast<uint8_t>(payload[0]) != kCollectionFormat) return false;
  out->version = DecodeFixed64(payload.data() + 1);
  out->count = DecodeFixed64(payload.data() + 9);
  out->head = type == ValueType::kList ? DecodeFixed64(payload.data() + 17) : 0;
  return true;
}

std::string_view ElementPrefixes(ValueType type) {
  static constexpr char kHash[] = {kHashFieldPrefix, 0};
  static constexpr char kList[] = {kListElementPrefix, 0};
  static constexpr char kSet[] = {kSetMemberPrefix, 0};
  static constexpr char kZSet[] = {kZSetMemberPrefix, kZSetScorePrefix, 0};
  static constexpr char kStream[] = {kStreamEntryPrefix, kStreamGroupPrefix, 0};
  switch (type) {
    case ValueType::kHash:
      return kHash;
    case ValueType::kList:
      return kList;
    case ValueType::kSet:
      return kSet;
    case ValueType::kZSet:
      return kZSet;
    case ValueType::kStream:
      return kStream;
    case ValueType::kString:
      break;
  }
  return {};
}

bool ElementPrefixType(char prefix, ValueType* type) {
  switch (prefix) {
    case kHashFieldPrefix:
      *type = ValueType::kHash;
      return true;
    case kListElementPrefix:
      *type = ValueType::kList;
      return true;
    case kSetMemberPrefix:
      *type = ValueType::kSet;
      return true;
    case kZSetMemberPrefix:
    case kZSetScorePrefix:
      *type = ValueType::kZSet;
      return true;
    case kStreamEntryPrefix:
    case kStreamGroupPrefix:
      *type = ValueType::kStream;
      return true;
    default:
      return false;
  }
}

std::string ListElementKey(int db, std::string_view user_key, uint64_t version, uint64_t position) {
  std::string key;
  key.reserve(kElementKeyOverhead + 1 + user_key.size() + 8);
  AppendElementPrefix(kListElementPrefix, db, user_key, version, &key);
  PutFixed64Be(position, &key);
  return key;
}

void AppendListPosition(uint64_t position, std::string* out) { PutFixed64Be(position, out); }

bool DecodeListPosition(std::string_view suffix, uint64_t* position) {
  if (suffix.size() != 8) return false;
  *position = GetFixedBe(suffix, 8);
  return true;
}

void AppendOrderedDouble(double score, std::string* out) {
  DCHECK(!std::isnan(score));
  if (score == 0) score = 0.0;  // -0.0 sorts and compares as 0.0
  uint64_t bits = std::bit_cast<uint64_t>(score);
  // Negative numbers: flip every bit (larger magnitude sorts first);
  // positive ones: set the sign bit (above every negative).
  bits = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
  PutFixed64Be(bits, out);
}

bool DecodeOrderedDouble(std::string_view in, double* score) {
  if (in.size() != 8) return false;
  uint64_t bits = GetFixedBe(in, 8);
  bits = (bits >> 63) != 0 ? bits & ~(uint64_t{1} << 63) : ~bits;
  const double value = std::bit_cast<double>(bits);
  if (std::isnan(value)) return false;
  *score = value;
  return true;
}

void AppendElementPrefix(char prefix, int db, std::string_view user_key, uint64_t version,
                         std::string* out) {
  DCHECK(user_key.size() <= UINT32_MAX);
  out->reserve(out->size() + kElementKeyOverhead + 1 + kSlotBytes + user_key.size());
  AppendDbKeyPrefix(prefix, db, out);
  AppendSlot(user_key, out);
  const uint32_t length = static_cast<uint32_t>(user_key.size());
  const char length_be[4] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                             static_cast<char>(length >> 8), static_cast<char>(length)};
  out->append(length_be, 4);
  out->append(user_key);
  PutFixed64Be(version, out);
}

std::string HashFieldKey(int db, std::string_view user_key, uint64_t version,
                         std::string_view field) {
  std::string key;
  key.reserve(kElementKeyOverhead + 1 + user_key.size() + field.size());
  AppendElementPrefix(kHashFieldPrefix, db, user_key, version, &key);
  key.append(field);
  return key;
}

bool DecodeElementKey(std::string_view key, ElementKey* out) {
  std::string_view rest;
  if (!DecodeDbKeyPrefix(key, &out->prefix, &out->db, &rest)) return false;
  // rest: key-length user-key version field
  if (rest.size() < kElementKeyOverhead - 1) return false;
  const uint64_t length = GetFixedBe(rest, 4);
  if (length > rest.size() - (kElementKeyOverhead - 1)) return false;
  out->user_key = rest.substr(4, length);
  out->version = GetFixedBe(rest.substr(4 + length), 8);
  out->field = rest.substr(kElementKeyOverhead - 1 + length);
  return true;
}

ElementFate ClassifyElement(ValueType type, uint64_t version, bool meta_found,
                            std::string_view stored) {
  if (!meta_found) return ElementFate::kStale;
  DecodedValue decoded;
  if (!DecodeValue(stored, &decoded)) return ElementFate::kUnknown;
  // A key that now holds another type was deleted or overwritten after this
  // element's version was created: a new collection under the key would get
  // a new version. The deadline is ignored (collection.h).
  if (decoded.type != type) return ElementFate::kStale;
  CollectionMeta meta;
  if (!DecodeCollectionMeta(type, decoded.payload, &meta)) return ElementFate::kUnknown;
  if (meta.version == version) return ElementFate::kLive;
  if (meta.version > version) return ElementFate::kStale;
  return ElementFate::kUnknown;  // newer than the live metadata: keep, to be safe
}

}  // namespace lsmkv::server
