// The engine encoding of collections (hashes today; lists, sets and sorted
// sets will follow it). docs/format/redis.md has the whole layout.
//
// A collection is one metadata record plus one engine key per element:
//
//   'k' user-key  ->  EncodeValue(kHash, deadline, meta)        (value_codec.h)
//        meta := format:uint8 (= kCollectionFormat)
//                version:fixed64-little-endian  count:fixed64-little-endian
//   'h' key-length:fixed32-big-endian user-key version:fixed64-big-endian field
//        ->  the field's value (raw bytes)
//
// The version is unique per creation of a key (Keyspace::NewCollectionVersion)
// and is part of every element key, so deleting, expiring or overwriting a
// collection changes only its metadata: the elements of the old version are
// unreachable at once and the compaction filter (expiry_filter.h) drops them
// later (ClassifyElement). All fields of one version share a prefix
// (AppendElementPrefix) and sort by field.
#ifndef LSMKV_SERVER_COLLECTION_H_
#define LSMKV_SERVER_COLLECTION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "server/value_codec.h"

namespace lsmkv::server {

// The format byte of the metadata payload; a reader refuses any other.
inline constexpr uint8_t kCollectionFormat = 1;
inline constexpr size_t kCollectionMetaBytes = 1 + 8 + 8;
// Bytes an element key adds to user key and field: prefix, length, version.
inline constexpr size_t kElementKeyOverhead = 1 + 4 + 8;
// Longest hash field accepted (engine keys are bounded; Redis allows 512 MB).
inline constexpr size_t kMaxFieldBytes = 64 * 1024;

struct CollectionMeta {
  uint64_t version = 0;
  uint64_t count = 0;  // elements; a live collection has at least one
};

// Appends the metadata payload for meta to *out.
void EncodeCollectionMeta(const CollectionMeta& meta, std::string* out);
// Decodes a metadata payload; false if its size or format byte is wrong.
[[nodiscard]] bool DecodeCollectionMeta(std::string_view payload, CollectionMeta* out);

// Appends prefix + key-length + user_key + version: the bytes every element
// key of this collection version starts with. REQUIRES: user_key shorter
// than 4 GiB.
void AppendElementPrefix(char prefix, std::string_view user_key, uint64_t version,
                         std::string* out);
// The element key of field in the hash (user_key, version).
std::string HashFieldKey(std::string_view user_key, uint64_t version, std::string_view field);

struct ElementKey {
  char prefix = 0;
  std::string_view user_key;
  uint64_t version = 0;
  std::string_view field;
};
// Splits an element key (views point into key); false if key is too short
// or its length field overruns it.
[[nodiscard]] bool DecodeElementKey(std::string_view key, ElementKey* out);

// What the compaction filter may do with an element.
enum class ElementFate {
  kLive,     // its collection version is the live one: keep
  kStale,    // a write ended its version, which can never be live again
  kUnknown,  // cannot tell (undecodable metadata...): keep
};

// Decides an element of the given collection type and version from what a
// read of its metadata key returned: meta_found false if the key is absent,
// else stored is the metadata record's stored value. Stale when the key is
// absent, of another type, or holds a newer version (a write deleted or
// overwrote the collection; versions only grow and are never reused). The
// deadline is not looked at: an expired collection is stale only once a
// write deleted it (the expiry sweep does, or compaction's removal of its
// expired metadata), so no clock reading — which may step back, or be older
// in a command that commits later — can end a version. Metadata holding an
// older version than the element's is kUnknown, never stale.
ElementFate ClassifyElement(ValueType type, uint64_t version, bool meta_found,
                            std::string_view stored);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COLLECTION_H_
