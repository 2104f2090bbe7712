// How lsmkv-server lays out its data in the engine (docs/format/redis.md has
// the whole grammar):
//
//   key  'k' user-key                      value: encoded value (below); for a
//        string the value itself, for a collection its metadata
//        (server/collection.h)
//   key  'h' 'l' 's' 'z' 'i' 'e' 'g' ...   a collection element (server/collection.h)
//   key  'x' fixed64-big-endian(deadline-ms) user-key   value: empty
//        an expiry hint, written with every value that has a deadline, so the
//        background sweep finds due keys with one range scan; a hint whose
//        value was since overwritten is stale and simply dropped
//   key  'm' name                          server metadata (e.g. the
//        "everysec" sync marker, written and deleted to force a log sync)
//
//   encoded value := flags:uint8 [deadline-ms:fixed64-little-endian] payload
//   flags: bits 0-3 the value type (ValueType), bit 7 set if a deadline
//   follows. A deadline is a Unix time in milliseconds from which on the key
//   no longer exists (IsExpired; the time is read from the server's Clock,
//   clock.h).
#ifndef LSMKV_SERVER_VALUE_CODEC_H_
#define LSMKV_SERVER_VALUE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lsmkv::server {

// The type of the value stored under a 'k' key. The numbers are stored:
// never reuse one.
enum class ValueType : uint8_t {
  kString = 0,
  kHash = 1,
  kList = 2,
  kSet = 3,
  kZSet = 4,
  kStream = 5,
};

// The name TYPE and SCAN TYPE use ("string", "hash", ...).
const char* ValueTypeName(ValueType type);

inline constexpr char kDataPrefix = 'k';
inline constexpr char kHashFieldPrefix = 'h';
inline constexpr char kListElementPrefix = 'l';
inline constexpr char kSetMemberPrefix = 's';
inline constexpr char kZSetMemberPrefix = 'z';   // member -> score
inline constexpr char kZSetScorePrefix = 'i';    // score index: score member -> empty
inline constexpr char kStreamEntryPrefix = 'e';  // stream entry: id -> fields
inline constexpr char kStreamGroupPrefix = 'g';  // consumer groups, consumers, PELs
inline constexpr char kExpiryHintPrefix = 'x';
inline constexpr char kMetaPrefix = 'm';
// Every prefix that holds keyspace data (user keys, their elements and
// expiry hints): what FLUSHALL deletes (Keyspace::FlushAll, one range each).
// kMetaPrefix is not one of them: server state survives FLUSHALL. A new
// collection type's element prefix must be added here.
inline constexpr char kKeyspacePrefixes[] = {
    kHashFieldPrefix,  kZSetScorePrefix,  kDataPrefix,        kListElementPrefix, kSetMemberPrefix,
    kExpiryHintPrefix, kZSetMemberPrefix, kStreamEntryPrefix, kStreamGroupPrefix};
// Database 0's keys start with these prefixes; databases 1 and up with their
// upper-case form and one database byte (AppendDbKeyPrefix).

// The slot layout (docs/format/redis.md, "Hash slots"): on a replicated node
// every key of a user key — its data key and its collection's element keys —
// carries the key's Redis Cluster hash slot (replication/slots.h: CRC16 of
// the key or its {hash tag}, mod 16384) as two big-endian bytes right after
// the database head, so that one slot's keys, and a range of slots', are
// one contiguous key range per prefix and database: a later split into
// shards moves ranges instead of rewriting keys. Expiry hints ('x') stay in
// deadline order without a slot. A standalone server keeps the flat layout.
// The layout is process-wide: Server::Open sets it once, before any key is
// built, from whether the node is replicated (its databases are only ever
// opened in that layout; replica directories are not standalone ones).
enum class KeyLayout : uint8_t { kFlat, kSlotted };
void SetKeyLayout(KeyLayout layout);
KeyLayout key_layout();
inline constexpr size_t kSlotBytes = 2;
// Appends user_key's slot (two bytes) in the slot layout; nothing in the flat one.
void AppendSlot(std::string_view user_key, std::string* out);

// Databases (SELECT): physical numbers 0 .. kMaxDatabases - 1. Database 0
// keeps the v1 layout ('k' user-key ...); database d > 0 writes every key of
// prefix p as toupper(p) d ... (docs/format/redis.md, "Databases").
inline constexpr int kMaxDatabases = 256;
// Appends the head of a key of prefix p (a kKeyspacePrefixes member) in
// database db: p, or toupper(p) and the byte db. REQUIRES: 0 <= db <
// kMaxDatabases.
void AppendDbKeyPrefix(char prefix, int db, std::string* out);
// Bytes AppendDbKeyPrefix writes for db.
inline size_t DbKeyPrefixSize(int db) { return db == 0 ? 1 : 2; }
// Splits the head off key: *prefix is the lower-case prefix, *db the
// database, *rest what follows (after the slot bytes, in the slot layout,
// for every prefix but kExpiryHintPrefix). False if key does not start with a
// keyspace prefix (either case), a database byte is missing or 0, or the
// slot bytes are.
[[nodiscard]] bool DecodeDbKeyPrefix(std::string_view key, char* prefix, int* db,
                                     std::string_view* rest);
// [*begin, *end): every key of prefix p in database db, nothing else.
void DatabaseRange(char prefix, int db, std::string* begin, std::string* end);
// Bytes an encoded value adds to its payload, at most.
inline constexpr size_t kMaxValueHeader = 9;
// Bytes an expiry hint key adds to its user key (at most: one more than
// database 0's).
inline constexpr size_t kExpiryHintOverhead = 10;

struct DecodedValue {
  ValueType type = ValueType::kString;
  int64_t deadline_ms = 0;  // 0 = no deadline
  std::string_view payload;
};

// Appends the encoding of (type, deadline_ms, payload) to *out.
// REQUIRES: deadline_ms >= 0 (0 = none).
void EncodeValue(ValueType type, int64_t deadline_ms, std::string_view payload, std::string* out);

// Decodes stored; false if it is not a valid encoding (unknown or reserved
// type, unknown flag bits, or too short). out->payload points into stored;
// a collection's payload is checked by DecodeCollectionMeta, not here.
[[nodiscard]] bool DecodeValue(std::string_view stored, DecodedValue* out);

// True if a value with this deadline no longer exists at now_ms.
inline bool IsExpired(int64_t deadline_ms, int64_t now_ms) {
  return deadline_ms != 0 && deadline_ms <= now_ms;
}

// The smallest key greater than every key starting with prefix ("" if none:
// prefix is empty or all 0xff).
std::string PrefixSuccessor(std::string prefix);

// Bytes before the user key in a data key of db (its head and, in the slot
// layout, the slot).
size_t DataKeyHeadSize(int db);
// [*lower, *upper): a range holding every data key of db whose user key
// starts with prefix — exactly those in the flat layout, and in the slot
// layout when the prefix holds a whole hash tag ("{user1}:", so every such
// key has that slot); else, in the slot layout, the whole database (the
// prefix's keys are spread over slots).
void DataPrefixRange(int db, std::string_view prefix, std::string* lower, std::string* upper);

// The data key of user_key in database db: 'k' [slot] user_key (db 0) or
// 'K' db [slot] user_key.
std::string DataKey(int db, std::string_view user_key);
void AppendDataKey(int db, std::string_view user_key, std::string* out);

// The expiry hint of user_key in db: 'x' + big-endian deadline + user_key
// (db 0) or 'X' db + deadline + user_key: a database's hints are one range
// (FLUSHDB) and sort by deadline.
std::string ExpiryHintKey(int64_t deadline_ms, int db, std::string_view user_key);
// Splits a hint key of either form; false if key is not one.
[[nodiscard]] bool DecodeExpiryHintKey(std::string_view key, int64_t* deadline_ms, int* db,
                                       std::string_view* user_key);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_VALUE_CODEC_H_
