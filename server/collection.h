// The engine encoding of collections: hashes, lists, sets and sorted sets.
// docs/format/redis.md has the whole layout.
//
// A collection is one metadata record plus one engine key per element:
//
//   'k' user-key  ->  EncodeValue(type, deadline, meta)         (value_codec.h)
//        meta := format:uint8 (= kCollectionFormat)
//                version:fixed64-little-endian  count:fixed64-little-endian
//                [head:fixed64-little-endian]                 -- lists only
//   head := prefix key-length:fixed32-big-endian user-key version:fixed64-big-endian
//   hash field     'h' head field                  ->  the field's value (raw bytes)
//   list element   'l' head position:fixed64-be    ->  the element (raw bytes)
//   set member     's' head member                 ->  empty
//   zset member    'z' head member                 ->  score:ordered-double (8 bytes)
//   zset score     'i' head score:ordered-double member  ->  empty
//   stream entry   'e' head id  ->  fields;  stream groups 'g' head ...
//                  (server/stream.h has the stream records)
//
// A list's elements sit at the consecutive positions [head, head + count);
// a new list starts at kListInitialHead, so LPUSH grows it downwards and
// RPUSH upwards, and LINDEX is one read. A sorted set writes each member
// twice, in one batch: by member (ZSCORE, ZADD) and in the score index
// (ZRANGEBYSCORE is a range scan); OrderedDouble makes the index sort by
// score, then member.
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
// Bytes an element key adds to user key and field: prefix, length, version
// (in database 0; one more, the database byte, in the others).
inline constexpr size_t kElementKeyOverhead = 1 + 4 + 8;
// Longest hash field accepted (engine keys are bounded; Redis allows 512 MB).
inline constexpr size_t kMaxFieldBytes = 64 * 1024;

// Lists only: one more fixed64 (head).
inline constexpr size_t kListMetaBytes = kCollectionMetaBytes + 8;
// Streams: the common 17 bytes, then the stream's own fields (stream.h).
inline constexpr size_t kStreamMetaBytes = kCollectionMetaBytes + 16 * 3 + 8 + 8;
// The position of a new list's first element: the middle of the uint64
// range, so either end can grow 2^63 times.
inline constexpr uint64_t kListInitialHead = uint64_t{1} << 63;

struct CollectionMeta {
  uint64_t version = 0;
  uint64_t count = 0;  // elements; a live collection has at least one
  uint64_t head = 0;   // lists only: the position of the first element
};

// True for the collection types (hash, list, set, zset, stream).
bool IsCollectionType(ValueType type);
// Appends the metadata payload of a collection of type to *out (the head is
// written for lists only; a stream's own fields are written as zeros,
// stream.h writes real ones). REQUIRES: IsCollectionType(type).
void EncodeCollectionMeta(ValueType type, const CollectionMeta& meta, std::string* out);
// Rewrites the version of the metadata payload *payload (any collection
// type), leaving the rest as it is. REQUIRES: a valid metadata payload.
void ReplaceCollectionVersion(uint64_t version, std::string* payload);
// Decodes a metadata payload of a collection of type; false if its size or
// format byte is wrong, or type is not a collection type.
[[nodiscard]] bool DecodeCollectionMeta(ValueType type, std::string_view payload,
                                        CollectionMeta* out);

// The element prefixes of a collection type, in the order RENAME copies
// them ("h", "l", "s", "zi"); empty for strings.
std::string_view ElementPrefixes(ValueType type);
// The collection type whose elements use prefix (lower case); false if none
// does.
[[nodiscard]] bool ElementPrefixType(char prefix, ValueType* type);

// The element key of the list element at position.
std::string ListElementKey(int db, std::string_view user_key, uint64_t version, uint64_t position);
// Appends position as a list element key suffix (fixed64-be).
void AppendListPosition(uint64_t position, std::string* out);
// The position in a list element key suffix (ElementKey::field); false if
// it is not 8 bytes.
[[nodiscard]] bool DecodeListPosition(std::string_view suffix, uint64_t* position);

// Order-preserving encoding of a double: 8 bytes whose bytewise order is the
// numeric order (-inf < ... < -0.0 == 0.0 < ... < +inf; -0.0 is stored as
// 0.0). REQUIRES: !isnan(score).
void AppendOrderedDouble(double score, std::string* out);
// Decodes 8 bytes written by AppendOrderedDouble; false if in is not 8 bytes
// or decodes to NaN.
[[nodiscard]] bool DecodeOrderedDouble(std::string_view in, double* score);

// Appends prefix (AppendDbKeyPrefix: with db's byte for db > 0) +
// key-length + user_key + version: the bytes every element key of this
// collection version starts with. REQUIRES: user_key shorter than 4 GiB,
// 0 <= db < kMaxDatabases.
void AppendElementPrefix(char prefix, int db, std::string_view user_key, uint64_t version,
                         std::string* out);
// The element key of field in the hash (db, user_key, version).
std::string HashFieldKey(int db, std::string_view user_key, uint64_t version,
                         std::string_view field);

struct ElementKey {
  char prefix = 0;  // lower case, whatever the database
  int db = 0;
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

// Decides an element of the given collection type (ElementPrefixType of its
// prefix) and version from what a
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
