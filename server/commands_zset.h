// Sorted sets as the command handlers see them (commands_zset.cc,
// commands_zset_algebra.cc), and the pop step that ZPOPMIN, ZPOPMAX and
// ZMPOP share with the blocking variants (BZPOPMIN, BZPOPMAX, BZMPOP).
//
// A sorted set is a collection (collection.h) whose members are each two
// engine keys, always written and deleted together in one batch:
//   'z' head member               -> score (AppendOrderedDouble, 8 bytes)
//   'i' head score:ordered member -> empty (the score index)
// so ZSCORE is one read, score ranges are range scans of the index, and
// lex ranges are range scans of the member keys. The metadata count is the
// number of members (ZCARD is one read).
#ifndef LSMKV_SERVER_COMMANDS_ZSET_H_
#define LSMKV_SERVER_COMMANDS_ZSET_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_util.h"

namespace lsmkv::server {

// Bounds of one atomic write that grows with a result (the *STORE commands,
// ZREMRANGEBY*, popping many members): members, and bytes of their member
// names. Beyond them the command is refused and changes nothing.
inline constexpr uint64_t kMaxZSetBatchMembers = 1000000;
inline constexpr uint64_t kMaxZSetBatchBytes = 64u << 20;

struct ZSetEntry {
  std::string member;
  double score = 0;
};

// A sorted set key: its collection (c.prefix is the member-key prefix) and
// the prefix of its score index (index; empty while !c.found).
struct ZSet {
  Collection c;
  std::string index;
};

// Parses a score argument as Redis does (ZADD, ZINCRBY, WEIGHTS): strtod
// must read the whole text, without leading space; "inf", "-inf" are fine;
// NaN, and a finite text that overflows or underflows to zero, are not.
[[nodiscard]] bool ParseZSetScore(std::string_view text, double* score);

// Reads key as a sorted set. Returns false after replying with an error
// (engine failure, corruption, WRONGTYPE); an absent key is c.found false.
bool ReadZSet(CommandContext& ctx, std::string_view key, ZSet* z);

// Visits the members of z in member order (member key range [lower, upper);
// empty bounds mean the whole set), or in descending member order if
// reverse, until visit returns false. Returns false after replying with an
// error (engine failure, an undecodable score).
using ZSetVisitor = std::function<bool(std::string_view member, double score)>;
bool ScanZSetMembers(CommandContext& ctx, const ZSet& z, std::string_view lower,
                     std::string_view upper, bool reverse, const ZSetVisitor& visit);

// The score of member in z (found); a member longer than kMaxFieldBytes is
// absent. Returns false after replying with an error.
bool GetZSetScore(CommandContext& ctx, const ZSet& z, std::string_view member, double* score,
                  bool* found);

// Replaces whatever dst holds with a new sorted set of entries (distinct
// members; any order), as a new collection version without a deadline; an
// empty result deletes dst. Returns false after replying with an error
// (over kMaxZSetBatchMembers / kMaxZSetBatchBytes: nothing is written).
// REQUIRES: every source was read before (dst's metadata is written here).
bool StoreZSetResult(CommandContext& ctx, std::string_view dst,
                     const std::vector<ZSetEntry>& entries);

// Replies entries as ZRANGE does: members, each followed by its score if
// with_scores (RESP2: one flat array; RESP3: an array of [member, double]).
void ReplyZSetEntries(Reply& reply, const std::vector<ZSetEntry>& entries, bool with_scores);

// The pop step: removes up to count members of the sorted set at key with
// the lowest scores (max false) or the highest, in the command's Txn, and
// appends them to *popped in pop order; deletes the key if it becomes empty.
// *found is false (nothing popped) if key is absent. Returns false after
// replying with an error: WRONGTYPE, an engine failure, or popping more
// than kMaxZSetBatchMembers members (then nothing changes).
bool PopZSet(CommandContext& ctx, std::string_view key, bool max, uint64_t count, bool* found,
             std::vector<ZSetEntry>* popped);

// Registration of the set-algebra commands (commands_zset_algebra.cc):
// ZUNION, ZINTER, ZDIFF, their *STORE forms, ZINTERCARD.
void RegisterZSetAlgebraCommands(CommandList* list);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COMMANDS_ZSET_H_
