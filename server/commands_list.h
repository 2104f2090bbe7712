// List steps shared by the list commands and, later, their blocking
// variants (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH): each works inside the
// caller's ctx.txn and either replies or reports that there was nothing to
// do without replying, so a blocking command can wait instead.
#ifndef LSMKV_SERVER_COMMANDS_LIST_H_
#define LSMKV_SERVER_COMMANDS_LIST_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "server/command.h"

namespace lsmkv::server {

enum class ListEnd { kLeft, kRight };

// How PopFirstNonEmpty replies.
enum class PopReply {
  kKeyAndElements,  // [key, [e1, e2, ...]]: LMPOP, BLMPOP
  kKeyAndElement,   // [key, e1]: BLPOP, BRPOP (count must be 1)
};

// Pops up to count (>= 1) elements from end of the first key in keys that
// holds a non-empty list, and replies in the given shape. *all_empty is set
// true (and nothing is replied) if every key is absent or expired. Returns
// false after replying with an error: WRONGTYPE for the first key, in
// order, that holds another type (keys before it are absent), the element
// limit, or an engine failure. REQUIRES: the stripes of keys are held.
bool PopFirstNonEmpty(CommandContext& ctx, const std::vector<std::string_view>& keys, ListEnd end,
                      uint64_t count, PopReply shape, bool* all_empty);

// The LMOVE step: pops one element from `from` of source and pushes it at
// `to` of destination (which may be source: a rotation), replying the
// element as a bulk string. *source_empty is set true (and nothing is
// replied) if source is absent. Returns false after replying with an error
// (WRONGTYPE for source, then for destination; position space exhausted;
// engine failure); nothing is written then. REQUIRES: both stripes held.
bool MoveStep(CommandContext& ctx, std::string_view source, std::string_view destination,
              ListEnd from, ListEnd to, bool* source_empty);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_COMMANDS_LIST_H_
