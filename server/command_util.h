// Helpers shared by the command handlers: argument parsing with Redis's
// error replies, typed key reads, and expire-time arithmetic.
#ifndef LSMKV_SERVER_COMMAND_UTIL_H_
#define LSMKV_SERVER_COMMAND_UTIL_H_

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "server/collection.h"
#include "server/command.h"
#include "server/resp_parser.h"

namespace lsmkv::server {

// ASCII case-insensitive equality (option names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view text);

// Parses an integer argument; on failure replies kNotInteger and returns false.
bool ParseIntArg(CommandContext& ctx, std::string_view text, int64_t* value);

// Parses a logical database index (SELECT, MOVE, COPY ... DB, SWAPDB) into
// *db. A non-integer gets not_integer_error, an index outside 0 ..
// databases-1 "ERR DB index is out of range"; false after replying.
bool ParseDbIndex(CommandContext& ctx, std::string_view text, std::string_view not_integer_error,
                  int* db);

// Blocking commands: parses a timeout in seconds (a float, as Redis 7.0
// reads it) into an absolute deadline on the Txn's clock (0 = block
// forever). Replies "ERR timeout is not a float or out of range" or "ERR
// timeout is negative" and returns false on bad input.
bool ParseBlockTimeout(CommandContext& ctx, std::string_view text, int64_t* deadline_ms);
// For a blocking command that found nothing to take: registers the client
// on keys (user keys of the Txn's database) and asks the connection to park
// it until a write makes one of them ready (the command then runs again,
// ctx.client.block.retry set) or until deadline_ms (0 = never; then the
// client gets a null array, or a null bulk if !null_array). Returns false —
// nothing registered — where Redis does not block (inside EXEC, or a client
// without a connection to park): the caller replies as on a timeout.
// REQUIRES: the dispatcher holds the stripes of keys (the command declares
// them as its keys).
bool BlockClient(CommandContext& ctx, const std::vector<std::string_view>& keys,
                 int64_t deadline_ms, bool null_array);

// HRANDFIELD, SRANDMEMBER, ZRANDMEMBER: key [count [<with_option>]] from
// ctx.args[2] on. Sets *with_count (a count was given), *count (1 if not)
// and *with (the option was given; only when with_option is non-empty).
// Replies Redis 7.0's error and returns false on bad input: not an integer,
// INT64_MIN, extra arguments, or a count whose doubled reply (with the
// option) would overflow.
bool ParseRandomCount(CommandContext& ctx, std::string_view with_option, bool* with_count,
                      int64_t* count, bool* with);

// Reads key through ctx.txn. Returns false after replying with an error
// (engine failure). *found is false for absent or expired keys.
bool ReadKey(CommandContext& ctx, std::string_view key, Entry* entry, bool* found);
// Like ReadKey, and replies WRONGTYPE (returning false) for a non-string.
bool ReadString(CommandContext& ctx, std::string_view key, Entry* entry, bool* found);

// A collection key (hash, list, set, sorted set) as a command sees it.
struct Collection {
  bool found = false;
  int64_t deadline_ms = 0;
  CollectionMeta meta;
  // The element key prefix of meta.version under the type's first element
  // prefix (ElementPrefixes: 'h', 'l', 's' or 'z'); other prefixes of the
  // type (the sorted-set score index 'i') are built with AppendElementPrefix.
  std::string prefix;
};

// Reads key as a collection of type. Returns false after replying with an
// error: engine failure, undecodable metadata (Corruption), or WRONGTYPE if
// key holds another type. An absent or expired key is found == false.
bool ReadCollection(CommandContext& ctx, std::string_view key, ValueType type, Collection* out);
// Makes *c a new empty collection of type under key (a new version; a list
// starts at kListInitialHead) unless it was found. Returns false after
// replying with an error (the version could not be allocated).
bool CreateCollectionIfAbsent(CommandContext& ctx, std::string_view key, ValueType type,
                              Collection* c);
// Buffers the metadata write of c in ctx.txn: a deletion of key once it
// has no element (the key is gone), else the metadata with its deadline.
// Written even when the count is unchanged, so a WATCH of key sees it.
void StoreCollection(CommandContext& ctx, std::string_view key, ValueType type,
                     const Collection& c);
// c.prefix + suffix: the key of one element of c.
std::string ElementKeyOf(const Collection& c, std::string_view suffix);

// How an expire argument is to be read.
enum class ExpireUnit { kSeconds, kMilliseconds };
enum class ExpireBase { kRelative, kAbsolute };

// Converts an expire argument to an absolute deadline the way SET/GETEX/
// SETEX do: the value must be a positive integer whose deadline fits in
// int64. On failure replies (not-an-integer or "invalid expire time in
// '<name>' command") and returns false.
bool ParsePositiveExpire(CommandContext& ctx, std::string_view text, ExpireUnit unit,
                         ExpireBase base, std::string_view command_name, int64_t* deadline_ms);

// True if total bytes would exceed proto-max-bulk-len (replies the error).
bool StringTooLong(CommandContext& ctx, uint64_t total_bytes);

// Parses a SCAN/HSCAN cursor (an unsigned 64-bit number, as Redis reads
// it); on failure replies "ERR invalid cursor" and returns false.
bool ParseScanCursor(CommandContext& ctx, const std::string& text, uint64_t* cursor);

// The options of SCAN and its per-type variants: [MATCH pattern] [COUNT n]
// and, where allowed, [TYPE name] (lower-cased).
struct ScanOptions {
  int64_t count = 10;
  std::string pattern;
  bool has_pattern = false;  // a pattern other than "*"
  std::string type;
  bool has_type = false;
};
// Parses the option pairs from ctx.args[first] on. On bad input (a missing
// value, COUNT < 1 or not an integer, an unknown option, TYPE where not
// allowed) replies with Redis's error and returns false.
bool ParseScanOptions(CommandContext& ctx, size_t first, bool allow_type, ScanOptions* out);

// A random key between first and last (first <= last): their common prefix,
// a random byte between theirs at the first difference, then random bytes
// from the range of bytes the two keys hold after the common prefix.
// Seeking to it picks a key at random, though not uniformly (keys in dense
// ranges are picked less often).
std::string RandomKeyBetween(std::string_view first, std::string_view last, std::mt19937_64& rng);

// Bytes a reply may grow to before the command stops producing it:
// client-output-buffer-limit's normal hard limit (no limit if 0). A reply
// stopped there is over the limit, so the connection replaces it with the
// limit error and closes (Connection::AfterCommand).
uint64_t ReplyByteBudget(CommandContext& ctx);

// Parses a Redis long double (INCRBYFLOAT's rules: no leading space, the
// whole text consumed, no NaN, no overflow to infinity from finite digits).
bool ParseLongDouble(std::string_view text, long double* value);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COMMAND_UTIL_H_
