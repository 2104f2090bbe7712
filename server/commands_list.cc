// List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LINDEX,
// LSET, LRANGE, LTRIM, LREM, LINSERT, LPOS, LMOVE, RPOPLPUSH, LMPOP.
// Replies and errors follow Redis 7.0.
//
// A list is a metadata record (version, count, head, deadline) and one
// engine key per element at the consecutive positions [head, head + count)
// (collection.h). LPUSH writes at head - 1, RPUSH at head + count; LINDEX
// and LSET are one read or write. Commands that shift elements (LINSERT,
// LREM) or delete many (LTRIM, pops with a count) refuse to touch more than
// kMaxTouchedElements element keys, before writing anything. Every write of
// a command goes to its one Txn; a list left empty is deleted.
#include "server/commands_list.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "server/collection.h"
#include "server/command_util.h"
#include "server/notify.h"

namespace lsmkv::server {

namespace {

// The most element keys one command may read-and-rewrite or delete, and the
// most bytes of elements it may hold in memory to rewrite or reply them.
constexpr uint64_t kMaxTouchedElements = 1000000;
constexpr uint64_t kMaxTouchedBytes = 64 << 20;
constexpr uint64_t kPositionMax = std::numeric_limits<uint64_t>::max();

using List = Collection;

const char kMissingElements[] =
    "ERR Corruption: lsmkv-server: list metadata counts elements that are missing";

bool ReadList(CommandContext& ctx, std::string_view key, List* list) {
  return ReadCollection(ctx, key, ValueType::kList, list);
}

void StoreList(CommandContext& ctx, std::string_view key, const List& list) {
  StoreCollection(ctx, key, ValueType::kList, list);
}

// The engine key of the element at absolute position.
std::string PositionKey(const List& list, uint64_t position) {
  std::string suffix;
  AppendListPosition(position, &suffix);
  return ElementKeyOf(list, suffix);
}

// The same, built in a buffer of the calling thread: valid until its next
// call on the thread. For a key passed straight to one Txn call (which
// copies what it keeps): no allocation per element read or written.
std::string_view PositionKeyView(const List& list, uint64_t position) {
  thread_local std::string key;
  key.assign(list.prefix);
  AppendListPosition(position, &key);
  return key;
}

void ReplyTooMany(CommandContext& ctx) {
  ctx.reply.Error("ERR lsmkv-server: a list command may touch at most " +
                  std::to_string(kMaxTouchedElements) + " elements and " +
                  std::to_string(kMaxTouchedBytes >> 20) + " MiB of them; nothing was changed");
}

void ReplyEngineError(CommandContext& ctx, const Status& s) {
  ctx.reply.Error("ERR " + s.ToString());
}

// True (after replying) if any of args[first..] is too long to store.
bool ElementTooLarge(CommandContext& ctx, size_t first) {
  for (size_t i = first; i < ctx.args.size(); i++) {
    if (ctx.args[i].size() > kMaxFieldBytes) {
      ctx.reply.Error("ERR list element is too large (lsmkv-server list elements are at most " +
                      std::to_string(kMaxFieldBytes) + " bytes)");
      return true;
    }
  }
  return false;
}

// True if n more elements fit at end of list without the positions
// wrapping: positions stay in [0, 2^64 - 1), so head + count never wraps.
bool RoomFor(const List& list, ListEnd end, uint64_t n) {
  if (end == ListEnd::kLeft) return list.meta.head >= n;
  return kPositionMax - list.meta.head - list.meta.count >= n;
}

void ReplyNoRoom(CommandContext& ctx) {
  ctx.reply.Error(
      "ERR lsmkv-server: list position space exhausted at this end; nothing was changed");
}

// Writes value as the new element at end of list (created by the caller).
// REQUIRES: RoomFor(*list, end, 1).
void PushOne(CommandContext& ctx, List* list, ListEnd end, std::string_view value) {
  if (end == ListEnd::kLeft) {
    list->meta.head--;
    ctx.txn.PutElement(PositionKeyView(*list, list->meta.head), value);
  } else {
    ctx.txn.PutElement(PositionKeyView(*list, list->meta.head + list->meta.count), value);
  }
  list->meta.count++;
}

// Reads the element at index (0 <= index < count). False after replying.
bool ReadAt(CommandContext& ctx, const List& list, uint64_t index, std::string* value) {
  bool found = false;
  Status s = ctx.txn.GetElement(PositionKeyView(list, list.meta.head + index), value, &found);
  if (!s.ok()) {
    ReplyEngineError(ctx, s);
    return false;
  }
  if (!found) {
    ctx.reply.Error(kMissingElements);
    return false;
  }
  return true;
}

// Visits the elements at indexes [first, last) in order with their index,
// until visit returns false. False after replying with an error (engine
// failure, or an element missing from the range visited).
template <typename Visit>
bool ScanRange(CommandContext& ctx, const List& list, uint64_t first, uint64_t last,
               Visit&& visit) {
  if (first >= last) return true;
  uint64_t expect = first;
  bool gap = false;
  bool stopped = false;
  // Every key in [lower, upper) begins with the list's element prefix (both
  // bounds do, and positions are fixed-width), so an element is checked by
  // its length and its last 8 bytes, its big-endian position.
  const std::string lower = PositionKey(list, list.meta.head + first);
  const size_t key_size = lower.size();
  Status s = ctx.txn.ScanElements(
      lower, PositionKey(list, list.meta.head + last),
      [&](std::string_view key, std::string_view value) {
        uint64_t position = 0;
        if (key.size() != key_size || !DecodeListPosition(key.substr(key_size - 8), &position) ||
            position != list.meta.head + expect) {
          gap = true;
          return false;
        }
        DCHECK(key.substr(0, key_size - 8) == std::string_view(lower).substr(0, key_size - 8));
        const uint64_t index = expect++;
        stopped = !visit(index, value);
        return !stopped;
      });
  if (!s.ok()) {
    ReplyEngineError(ctx, s);
    return false;
  }
  if (gap || (!stopped && expect != last)) {
    ctx.reply.Error(kMissingElements);
    return false;
  }
  return true;
}

// Pops of at most this many elements read them one by one (ReadEnd).
constexpr uint64_t kPointReadPops = 4;

// Reads (without removing) the n elements at end of list, in pop order.
// False after replying with an error (also when they exceed kMaxTouchedBytes).

bool ReadEnd(CommandContext& ctx, const List& list, ListEnd end, uint64_t n,
             std::vector<std::string>* out) {
  const uint64_t first = end == ListEnd::kLeft ? 0 : list.meta.count - n;
  if (n <= kPointReadPops) {
    // A few elements: point reads of their positions, cheaper than an
    // iterator over every level (the common LPOP/RPOP of one element).
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
      std::string value;
      if (!ReadAt(ctx, list, first + i, &value)) return false;
      bytes += value.size();
      out->push_back(std::move(value));
    }
    if (bytes > kMaxTouchedBytes) {
      ReplyTooMany(ctx);
      return false;
    }
    if (end == ListEnd::kRight) std::reverse(out->begin(), out->end());
    return true;
  }
  uint64_t bytes = 0;
  bool complete = ScanRange(ctx, list, first, first + n, [&](uint64_t, std::string_view value) {
    out->emplace_back(value);
    bytes += value.size();
    return bytes <= kMaxTouchedBytes;
  });
  if (!complete) return false;
  if (bytes > kMaxTouchedBytes) {
    ReplyTooMany(ctx);
    return false;
  }
  if (out->size() != n) {
    ctx.reply.Error(kMissingElements);
    return false;
  }
  if (end == ListEnd::kRight) std::reverse(out->begin(), out->end());
  return true;
}

// Deletes the n elements at end of list (already read).
void DropEnd(CommandContext& ctx, List* list, ListEnd end, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    if (end == ListEnd::kLeft) {
      ctx.txn.DeleteElement(PositionKeyView(*list, list->meta.head));
      list->meta.head++;
    } else {
      ctx.txn.DeleteElement(PositionKeyView(*list, list->meta.head + list->meta.count - 1));
    }
    list->meta.count--;
  }
}

// Pops up to count elements of an existing list into *out (pop order),
// buffering the deletions and the metadata. False after replying with an
// error, having written nothing.
bool PopElements(CommandContext& ctx, std::string_view key, List* list, ListEnd end, uint64_t count,
                 std::vector<std::string>* out) {
  const uint64_t n = std::min(count, list->meta.count);
  if (n > kMaxTouchedElements) {
    ReplyTooMany(ctx);
    return false;
  }
  uint64_t bytes = 0;
  if (!ReadEnd(ctx, *list, end, n, out)) return false;
  for (const auto& e : *out) bytes += e.size() + 16;
  const uint64_t budget = ReplyByteBudget(ctx);
  if (budget > 0 && bytes > budget) {
    ctx.reply.Error(
        "ERR lsmkv-server: the popped elements would exceed the client output buffer limit; "
        "nothing was changed");
    return false;
  }
  if (n == 0) return true;  // a count of 0 changes nothing
  DropEnd(ctx, list, end, n);
  StoreList(ctx, key, *list);
  NotifyKeyspaceEvent(ctx, kNotifyList, end == ListEnd::kLeft ? "lpop" : "rpop", key);
  NotifyIfEmptied(ctx, list->meta.count, key);
  return true;
}

bool ParseEnd(std::string_view text, ListEnd* end) {
  if (EqualsIgnoreCase(text, "left")) {
    *end = ListEnd::kLeft;
  } else if (EqualsIgnoreCase(text, "right")) {
    *end = ListEnd::kRight;
  } else {
    return false;
  }
  return true;
}

// Redis's index normalisation: negative counts from the end. False if out
// of range.
bool NormalizeIndex(int64_t index, uint64_t count, uint64_t* out) {
  if (index < 0) {
    const uint64_t back = index == std::numeric_limits<int64_t>::min()
                              ? uint64_t{1} << 63
                              : static_cast<uint64_t>(-index);
    if (back > count) return false;
    *out = count - back;
    return true;
  }
  if (static_cast<uint64_t>(index) >= count) return false;
  *out = static_cast<uint64_t>(index);
  return true;
}

// LRANGE/LTRIM's [start, stop] to indexes [first, last); empty if first >= last.
void NormalizeRange(int64_t start, int64_t stop, uint64_t count, uint64_t* first, uint64_t* last) {
  const int64_t n = static_cast<int64_t>(std::min<uint64_t>(count, uint64_t{1} << 62));
  if (start < 0) start = std::max<int64_t>(start < -n ? 0 : n + start, 0);
  if (stop < 0) stop = stop < -n ? -1 : n + stop;
  if (stop >= n) stop = n - 1;
  if (start > stop || start >= n) {
    *first = *last = 0;
    return;
  }
  *first = static_cast<uint64_t>(start);
  *last = static_cast<uint64_t>(stop) + 1;
}

// The List a push or pop reads its key into: kept on the thread from
// command to command, so that its element prefix (longer than a string's
// inline buffer) costs no allocation per LPUSH or LPOP. ReadList resets it
// (and a push creating the list sets the rest); a long key's prefix is not
// kept. Commands on one thread do not nest.
class ThreadList {
 public:
  ThreadList() : list_(Get()) {}
  ~ThreadList() {
    if (list_.prefix.capacity() > 1024) std::string().swap(list_.prefix);
  }
  List& operator*() { return list_; }
  List* operator->() { return &list_; }

 private:
  static List& Get() {
    thread_local List list;
    return list;
  }
  List& list_;
};

// LPUSH/RPUSH/LPUSHX/RPUSHX key element [element ...].
void PushGeneric(CommandContext& ctx, ListEnd end, bool only_if_exists) {
  if (ElementTooLarge(ctx, 2)) return;
  const std::string& key = ctx.args[1];
  ThreadList thread_list;
  List& list = *thread_list;
  if (!ReadList(ctx, key, &list)) return;
  if (!list.found && only_if_exists) {
    ctx.reply.Integer(0);
    return;
  }
  if (!CreateCollectionIfAbsent(ctx, key, ValueType::kList, &list)) return;
  if (!RoomFor(list, end, ctx.args.size() - 2)) {
    ReplyNoRoom(ctx);
    return;
  }
  for (size_t i = 2; i < ctx.args.size(); i++) PushOne(ctx, &list, end, ctx.args[i]);
  StoreList(ctx, key, list);
  NotifyKeyspaceEvent(ctx, kNotifyList, end == ListEnd::kLeft ? "lpush" : "rpush", key);
  ctx.reply.Integer(static_cast<int64_t>(list.meta.count));
}
void LPush(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kLeft, false); }
void RPush(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kRight, false); }
void LPushX(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kLeft, true); }
void RPushX(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kRight, true); }

// LPOP/RPOP key [count].
void PopGeneric(CommandContext& ctx, ListEnd end) {
  if (ctx.args.size() > 3) {
    ctx.reply.Error(ArityError(ctx.spec.name));
    return;
  }
  const bool has_count = ctx.args.size() == 3;
  int64_t count = 1;
  if (has_count) {
    bool ok = ParseInt64(ctx.args[2], &count);
    if (!ok || count < 0) {
      ctx.reply.Error("ERR value is out of range, must be positive");
      return;
    }
  }
  const std::string& key = ctx.args[1];
  ThreadList thread_list;
  List& list = *thread_list;
  if (!ReadList(ctx, key, &list)) return;
  if (!list.found) {
    if (has_count) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.Null();
    }
    return;
  }
  // Reused from pop to pop on this thread (no allocation for the vector of
  // the common pop of one element); what a large pop held is let go.
  thread_local std::vector<std::string> popped;
  popped.clear();
  struct Release {
    ~Release() {
      if (popped.capacity() > kPointReadPops) {
        std::vector<std::string>().swap(popped);
      } else {
        popped.clear();
      }
    }
  } release;
  if (!PopElements(ctx, key, &list, end, static_cast<uint64_t>(count), &popped)) return;
  if (!has_count) {
    ctx.reply.Bulk(popped.front());
    return;
  }
  ctx.reply.Array(popped.size());
  for (const auto& e : popped) ctx.reply.Bulk(e);
}
void LPop(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kLeft); }
void RPop(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kRight); }

void LLen(CommandContext& ctx) {
  List list;
  if (!ReadList(ctx, ctx.args[1], &list)) return;
  ctx.reply.Integer(list.found ? static_cast<int64_t>(list.meta.count) : 0);
}

// LINDEX and LSET look the key up before parsing the index, as Redis does
// (LINDEX of an absent key is nil even with a bad index).
void LIndex(CommandContext& ctx) {
  List list;
  if (!ReadList(ctx, ctx.args[1], &list)) return;
  if (!list.found) {
    ctx.reply.Null();
    return;
  }
  int64_t index = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &index)) return;
  uint64_t at = 0;
  if (!NormalizeIndex(index, list.meta.count, &at)) {
    ctx.reply.Null();
    return;
  }
  std::string value;
  if (!ReadAt(ctx, list, at, &value)) return;
  ctx.reply.Bulk(value);
}

void LSet(CommandContext& ctx) {
  const std::string& key = ctx.args[1];
  List list;
  if (!ReadList(ctx, key, &list)) return;
  if (!list.found) {
    ctx.reply.Error("ERR no such key");
    return;
  }
  int64_t index = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &index)) return;
  uint64_t at = 0;
  if (!NormalizeIndex(index, list.meta.count, &at)) {
    ctx.reply.Error("ERR index out of range");
    return;
  }
  if (ElementTooLarge(ctx, 3)) return;
  ctx.txn.PutElement(PositionKeyView(list, list.meta.head + at), ctx.args[3]);
  StoreList(ctx, key, list);
  NotifyKeyspaceEvent(ctx, kNotifyList, "lset", key);
  ctx.reply.Ok();
}

void LRange(CommandContext& ctx) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &start) || !ParseIntArg(ctx, ctx.args[3], &stop)) return;
  List list;
  if (!ReadList(ctx, ctx.args[1], &list)) return;
  uint64_t first = 0;
  uint64_t last = 0;
  if (list.found) NormalizeRange(start, stop, list.meta.count, &first, &last);
  if (first >= last) {
    ctx.reply.Array(0);
    return;
  }
  // The elements go straight into the reply, after a header that counts all
  // of [first, last): a scan stopped early (at ReplyByteBudget, after which
  // the connection refuses the reply) rewrites the header, and a failed one
  // leaves only its error.
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string* out = ctx.reply.buffer();
  const size_t reply_start = out->size();
  ctx.reply.Array(last - first);
  const size_t body_start = out->size();
  size_t body_end = body_start;
  Reply elements(out, ctx.reply.protocol());
  uint64_t n = 0;
  if (!ScanRange(ctx, list, first, last, [&](uint64_t, std::string_view value) {
        elements.Bulk(value);
        n++;
        body_end = out->size();
        return budget == 0 || body_end - body_start <= budget;
      })) {
    out->erase(reply_start, body_end - reply_start);  // the error ScanRange replied stays
    return;
  }
  if (n != last - first) {
    std::string header;
    Reply(&header, ctx.reply.protocol()).Array(n);
    out->replace(reply_start, body_start - reply_start, header);
  }
}

void LTrim(CommandContext& ctx) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &start) || !ParseIntArg(ctx, ctx.args[3], &stop)) return;
  const std::string& key = ctx.args[1];
  List list;
  if (!ReadList(ctx, key, &list)) return;
  if (!list.found) {
    ctx.reply.Ok();
    return;
  }
  uint64_t first = 0;
  uint64_t last = 0;
  NormalizeRange(start, stop, list.meta.count, &first, &last);
  if (first >= last) {
    list.meta.count = 0;  // O(1): the key goes, its elements become stale
    StoreList(ctx, key, list);
    NotifyKeyspaceEvent(ctx, kNotifyList, "ltrim", key);
    NotifyIfEmptied(ctx, 0, key);
    ctx.reply.Ok();
    return;
  }
  const uint64_t removed = first + (list.meta.count - last);
  if (removed > kMaxTouchedElements) {
    ReplyTooMany(ctx);
    return;
  }
  const uint64_t keep = last - first;
  for (uint64_t i = 0; i < first; i++) {
    ctx.txn.DeleteElement(PositionKeyView(list, list.meta.head + i));
  }
  for (uint64_t i = last; i < list.meta.count; i++) {
    ctx.txn.DeleteElement(PositionKeyView(list, list.meta.head + i));
  }
  list.meta.head += first;
  list.meta.count = keep;
  if (removed > 0) StoreList(ctx, key, list);
  // Redis notifies even when nothing was trimmed.
  NotifyKeyspaceEvent(ctx, kNotifyList, "ltrim", key);
  ctx.reply.Ok();
}

// LREM key count element: two passes over the list (count the matches, then
// rewrite the elements after the first removed one), so the memory held is
// the rewritten tail only.
void LRem(CommandContext& ctx) {
  int64_t count = 0;
  if (!ParseIntArg(ctx, ctx.args[2], &count)) return;
  const std::string& key = ctx.args[1];
  const std::string& element = ctx.args[3];
  List list;
  if (!ReadList(ctx, key, &list)) return;
  if (!list.found) {
    ctx.reply.Integer(0);
    return;
  }
  uint64_t matches = 0;
  if (!ScanRange(ctx, list, 0, list.meta.count, [&](uint64_t, std::string_view value) {
        if (value == element) matches++;
        return true;
      })) {
    return;
  }
  // The ordinals [lo, hi) of the matches to remove.
  uint64_t lo = 0;
  uint64_t hi = matches;
  if (count > 0) {
    hi = std::min(matches, static_cast<uint64_t>(count));
  } else if (count < 0) {
    const uint64_t back =
        count == std::numeric_limits<int64_t>::min() ? uint64_t{1} << 63 : uint64_t(-count);
    lo = matches > back ? matches - back : 0;
  }
  if (lo >= hi) {
    ctx.reply.Integer(0);
    return;
  }
  uint64_t ordinal = 0;
  uint64_t removed = 0;
  bool too_many = false;
  uint64_t moved_bytes = 0;
  std::vector<std::pair<uint64_t, std::string>> moves;
  if (!ScanRange(ctx, list, 0, list.meta.count, [&](uint64_t index, std::string_view value) {
        const bool match = value == element;
        if (match && ordinal >= lo && ordinal < hi) {
          if (removed == 0 && list.meta.count - index > kMaxTouchedElements) {
            too_many = true;
            return false;
          }
          removed++;
        } else if (removed > 0) {
          moves.emplace_back(index - removed, value);
          moved_bytes += value.size();
          if (moved_bytes > kMaxTouchedBytes) {
            too_many = true;
            return false;
          }
        }
        if (match) ordinal++;
        return true;
      })) {
    return;
  }
  if (too_many) {
    ReplyTooMany(ctx);
    return;
  }
  for (const auto& [index, value] : moves) {
    ctx.txn.PutElement(PositionKeyView(list, list.meta.head + index), value);
  }
  for (uint64_t i = list.meta.count - removed; i < list.meta.count; i++) {
    ctx.txn.DeleteElement(PositionKeyView(list, list.meta.head + i));
  }
  list.meta.count -= removed;
  StoreList(ctx, key, list);
  NotifyKeyspaceEvent(ctx, kNotifyList, "lrem", key);
  NotifyIfEmptied(ctx, list.meta.count, key);
  ctx.reply.Integer(static_cast<int64_t>(removed));
}

// LINSERT key BEFORE|AFTER pivot element: shifts the shorter side by one.
void LInsert(CommandContext& ctx) {
  bool after = false;
  if (EqualsIgnoreCase(ctx.args[2], "after")) {
    after = true;
  } else if (!EqualsIgnoreCase(ctx.args[2], "before")) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const std::string& key = ctx.args[1];
  List list;
  if (!ReadList(ctx, key, &list)) return;
  if (!list.found) {
    ctx.reply.Integer(0);
    return;
  }
  if (ElementTooLarge(ctx, 4)) return;
  const std::string& pivot = ctx.args[3];
  bool found = false;
  uint64_t pivot_index = 0;
  if (!ScanRange(ctx, list, 0, list.meta.count, [&](uint64_t index, std::string_view value) {
        if (value != pivot) return true;
        found = true;
        pivot_index = index;
        return false;
      })) {
    return;
  }
  if (!found) {
    ctx.reply.Integer(-1);
    return;
  }
  const uint64_t at = pivot_index + (after ? 1 : 0);  // the new element's index
  const bool shift_left = at < list.meta.count - at;
  const uint64_t first = shift_left ? 0 : at;
  const uint64_t last = shift_left ? at : list.meta.count;
  if (last - first >= kMaxTouchedElements) {
    ReplyTooMany(ctx);
    return;
  }
  if (!RoomFor(list, shift_left ? ListEnd::kLeft : ListEnd::kRight, 1)) {
    ReplyNoRoom(ctx);
    return;
  }
  std::vector<std::string> shifted;
  uint64_t shifted_bytes = 0;
  if (!ScanRange(ctx, list, first, last, [&](uint64_t, std::string_view value) {
        shifted.emplace_back(value);
        shifted_bytes += value.size();
        return shifted_bytes <= kMaxTouchedBytes;
      })) {
    return;
  }
  if (shifted_bytes > kMaxTouchedBytes) {
    ReplyTooMany(ctx);
    return;
  }
  if (shifted.size() != last - first) {
    ctx.reply.Error(kMissingElements);
    return;
  }
  const uint64_t base = list.meta.head + first;
  for (uint64_t i = 0; i < shifted.size(); i++) {
    const uint64_t to = shift_left ? base + i - 1 : base + i + 1;
    ctx.txn.PutElement(PositionKeyView(list, to), shifted[i]);
  }
  if (shift_left) list.meta.head--;
  ctx.txn.PutElement(PositionKeyView(list, list.meta.head + at), ctx.args[4]);
  list.meta.count++;
  StoreList(ctx, key, list);
  NotifyKeyspaceEvent(ctx, kNotifyList, "linsert", key);
  ctx.reply.Integer(static_cast<int64_t>(list.meta.count));
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
void LPos(CommandContext& ctx) {
  int64_t rank = 1;
  int64_t num = 0;
  int64_t maxlen = 0;
  bool has_count = false;
  for (size_t i = 3; i < ctx.args.size(); i += 2) {
    const std::string& option = ctx.args[i];
    if (i + 1 >= ctx.args.size()) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    int64_t value = 0;
    if (EqualsIgnoreCase(option, "rank")) {
      if (!ParseIntArg(ctx, ctx.args[i + 1], &value)) return;
      if (value == 0) {
        ctx.reply.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
        return;
      }
      rank = value;
    } else if (EqualsIgnoreCase(option, "count")) {
      if (!ParseIntArg(ctx, ctx.args[i + 1], &value)) return;
      if (value < 0) {
        ctx.reply.Error("ERR COUNT can't be negative");
        return;
      }
      num = value;
      has_count = true;
    } else if (EqualsIgnoreCase(option, "maxlen")) {
      if (!ParseIntArg(ctx, ctx.args[i + 1], &value)) return;
      if (value < 0) {
        ctx.reply.Error("ERR MAXLEN can't be negative");
        return;
      }
      maxlen = value;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  List list;
  if (!ReadList(ctx, ctx.args[1], &list)) return;
  const std::string& element = ctx.args[2];
  std::vector<uint64_t> found;
  if (list.found) {
    const uint64_t window =
        maxlen == 0 ? list.meta.count : std::min(list.meta.count, static_cast<uint64_t>(maxlen));
    const uint64_t want = has_count && num == 0 ? kPositionMax : (has_count ? uint64_t(num) : 1);
    const uint64_t budget = ReplyByteBudget(ctx);
    if (rank > 0) {
      const uint64_t skip = static_cast<uint64_t>(rank) - 1;
      uint64_t seen = 0;
      if (!ScanRange(ctx, list, 0, window, [&](uint64_t index, std::string_view value) {
            if (value != element) return true;
            if (seen++ >= skip) found.push_back(index);
            return found.size() < want && (budget == 0 || found.size() * 24 <= budget);
          })) {
        return;
      }
    } else {
      // From the tail: count the window's matches, then take the ordinals
      // that rank and want select, in reverse.
      const uint64_t first = list.meta.count - window;
      uint64_t matches = 0;
      if (!ScanRange(ctx, list, first, list.meta.count, [&](uint64_t, std::string_view value) {
            if (value == element) matches++;
            return true;
          })) {
        return;
      }
      const uint64_t skip = rank == std::numeric_limits<int64_t>::min()
                                ? uint64_t{1} << 63
                                : static_cast<uint64_t>(-rank) - 1;
      if (skip < matches) {
        const uint64_t hi = matches - skip;  // ordinals [lo, hi), forward
        const uint64_t lo = want >= hi ? 0 : hi - want;
        uint64_t ordinal = 0;
        if (!ScanRange(ctx, list, first, list.meta.count, [&](uint64_t index, std::string_view v) {
              if (v != element) return true;
              if (ordinal >= lo) found.push_back(index);
              ordinal++;
              return ordinal < hi && (budget == 0 || found.size() * 24 <= budget);
            })) {
          return;
        }
        std::reverse(found.begin(), found.end());
      }
    }
  }
  if (!has_count) {
    if (found.empty()) {
      ctx.reply.Null();
    } else {
      ctx.reply.Integer(static_cast<int64_t>(found.front()));
    }
    return;
  }
  ctx.reply.Array(found.size());
  for (uint64_t index : found) ctx.reply.Integer(static_cast<int64_t>(index));
}

void LMove(CommandContext& ctx) {
  ListEnd from = ListEnd::kLeft;
  ListEnd to = ListEnd::kLeft;
  if (!ParseEnd(ctx.args[3], &from) || !ParseEnd(ctx.args[4], &to)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  bool source_empty = false;
  if (!MoveStep(ctx, ctx.args[1], ctx.args[2], from, to, &source_empty)) return;
  if (source_empty) ctx.reply.Null();
}

void RPopLPush(CommandContext& ctx) {
  bool source_empty = false;
  if (!MoveStep(ctx, ctx.args[1], ctx.args[2], ListEnd::kRight, ListEnd::kLeft, &source_empty)) {
    return;
  }
  if (source_empty) ctx.reply.Null();
}

// On a blocked command's retry (ctx.client.block.retry), keys that now hold
// another type are left out: Redis keeps such a client blocked rather than
// reply WRONGTYPE after the fact. Returns false after replying with an
// engine error.
bool WithoutOtherTypesOnRetry(CommandContext& ctx, std::vector<std::string_view>* keys) {
  if (!ctx.client.block.retry) return true;
  std::vector<std::string_view> kept;
  for (std::string_view key : *keys) {
    Entry entry;
    bool found = false;
    Status s = ctx.txn.Peek(key, &entry, &found);
    if (!s.ok()) {
      ctx.reply.Error("ERR " + s.ToString());
      return false;
    }
    if (!found || entry.type == ValueType::kList) kept.push_back(key);
  }
  keys->swap(kept);
  return true;
}

// Pops from the first non-empty list of keys in shape; when every key is
// empty, blocks until deadline_ms if blocking (BlockClient on all of
// all_keys), else — or where the client cannot block — replies the null
// array.
void PopOrBlock(CommandContext& ctx, std::vector<std::string_view> keys, ListEnd end,
                uint64_t count, PopReply shape, bool blocking, int64_t deadline_ms) {
  const std::vector<std::string_view> all_keys = keys;
  if (blocking && !WithoutOtherTypesOnRetry(ctx, &keys)) return;
  bool all_empty = true;
  if (!keys.empty() && !PopFirstNonEmpty(ctx, keys, end, count, shape, &all_empty)) return;
  if (!all_empty) return;
  if (blocking && BlockClient(ctx, all_keys, deadline_ms, /*null_array=*/true)) return;
  ctx.reply.NullArray();
}

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] (args from
// numkeys_at on); BLMPOP timeout numkeys ... blocks (blocking).
void MPopGeneric(CommandContext& ctx, size_t numkeys_at, bool blocking) {
  int64_t numkeys = 0;
  if (!ParseInt64(ctx.args[numkeys_at], &numkeys) || numkeys <= 0) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return;
  }
  const size_t after_numkeys = ctx.args.size() - numkeys_at - 1;
  if (static_cast<uint64_t>(numkeys) >= after_numkeys) {
    ctx.reply.Error(errors::kSyntax);  // no room left for the direction
    return;
  }
  const size_t where = numkeys_at + 1 + static_cast<size_t>(numkeys);
  ListEnd end = ListEnd::kLeft;
  if (!ParseEnd(ctx.args[where], &end)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t count = 1;
  if (where + 1 < ctx.args.size()) {
    if (where + 3 != ctx.args.size() || !EqualsIgnoreCase(ctx.args[where + 1], "count")) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    if (!ParseInt64(ctx.args[where + 2], &count) || count <= 0) {
      ctx.reply.Error("ERR count should be greater than 0");
      return;
    }
  }
  // BLMPOP's timeout is read after the other arguments, as Redis does.
  int64_t deadline_ms = 0;
  if (blocking && !ParseBlockTimeout(ctx, ctx.args[1], &deadline_ms)) return;
  std::vector<std::string_view> keys(ctx.args.begin() + static_cast<ptrdiff_t>(numkeys_at) + 1,
                                     ctx.args.begin() + static_cast<ptrdiff_t>(where));
  PopOrBlock(ctx, std::move(keys), end, static_cast<uint64_t>(count), PopReply::kKeyAndElements,
             blocking, deadline_ms);
}

void LMPop(CommandContext& ctx) { MPopGeneric(ctx, 1, /*blocking=*/false); }
void BLMPop(CommandContext& ctx) { MPopGeneric(ctx, 2, /*blocking=*/true); }

// BLPOP / BRPOP key [key ...] timeout: [key, element] from the first
// non-empty list; blocks while every one is empty.
void BPopGeneric(CommandContext& ctx, ListEnd end) {
  int64_t deadline_ms = 0;
  if (!ParseBlockTimeout(ctx, ctx.args.back(), &deadline_ms)) return;
  std::vector<std::string_view> keys(ctx.args.begin() + 1, ctx.args.end() - 1);
  PopOrBlock(ctx, std::move(keys), end, 1, PopReply::kKeyAndElement, /*blocking=*/true,
             deadline_ms);
}
void BLPop(CommandContext& ctx) { BPopGeneric(ctx, ListEnd::kLeft); }
void BRPop(CommandContext& ctx) { BPopGeneric(ctx, ListEnd::kRight); }

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout and BRPOPLPUSH
// source destination timeout: the LMOVE step, blocking while source is
// empty.
void BMoveGeneric(CommandContext& ctx, ListEnd from, ListEnd to, std::string_view timeout) {
  int64_t deadline_ms = 0;
  if (!ParseBlockTimeout(ctx, timeout, &deadline_ms)) return;
  const std::string& source = ctx.args[1];
  std::vector<std::string_view> keys = {source};
  if (!WithoutOtherTypesOnRetry(ctx, &keys)) return;
  bool source_empty = true;
  if (!keys.empty() && !MoveStep(ctx, source, ctx.args[2], from, to, &source_empty)) return;
  if (!source_empty) return;
  // At the timeout a null array, as Redis 7.0 replies to every blocked
  // list command; a null bulk where it does not block (EXEC), like LMOVE.
  if (BlockClient(ctx, {source}, deadline_ms, /*null_array=*/true)) return;
  ctx.reply.Null();
}

void BLMove(CommandContext& ctx) {
  ListEnd from = ListEnd::kLeft;
  ListEnd to = ListEnd::kLeft;
  if (!ParseEnd(ctx.args[3], &from) || !ParseEnd(ctx.args[4], &to)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  BMoveGeneric(ctx, from, to, ctx.args[5]);
}

void BRPopLPush(CommandContext& ctx) {
  BMoveGeneric(ctx, ListEnd::kRight, ListEnd::kLeft, ctx.args[3]);
}

void FindLMPopKeys(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  CollectNumKeys(args, 1, 2, keys);
}
void FindBLMPopKeys(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  CollectNumKeys(args, 2, 3, keys);
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler,
         int first_key = 1, int last_key = 1, KeyFinder find_keys = nullptr) {
  list->push_back(std::unique_ptr<CommandSpec>(
      new CommandSpec{name, arity, flags, first_key, last_key, 1, "list", handler, {}, find_keys}));
}

}  // namespace

bool PopFirstNonEmpty(CommandContext& ctx, const std::vector<std::string_view>& keys, ListEnd end,
                      uint64_t count, PopReply shape, bool* all_empty) {
  *all_empty = false;
  for (std::string_view key : keys) {
    List list;
    if (!ReadList(ctx, key, &list)) return false;
    if (!list.found) continue;
    std::vector<std::string> popped;
    if (!PopElements(ctx, key, &list, end, count, &popped)) return false;
    ctx.reply.Array(2);
    ctx.reply.Bulk(key);
    if (shape == PopReply::kKeyAndElement) {
      ctx.reply.Bulk(popped.front());
      return true;
    }
    ctx.reply.Array(popped.size());
    for (const auto& e : popped) ctx.reply.Bulk(e);
    return true;
  }
  *all_empty = true;
  return true;
}

bool MoveStep(CommandContext& ctx, std::string_view source, std::string_view destination,
              ListEnd from, ListEnd to, bool* source_empty) {
  *source_empty = false;
  List src;
  if (!ReadList(ctx, source, &src)) return false;
  if (!src.found) {
    *source_empty = true;
    return true;
  }
  std::string value;
  if (!ReadAt(ctx, src, from == ListEnd::kLeft ? 0 : src.meta.count - 1, &value)) return false;
  if (source == destination) {
    // A rotation: the same metadata is popped and pushed, written once.
    // Popping one element leaves the room at `to` as it was (or grows it).
    if (!RoomFor(src, to, 1)) {
      ReplyNoRoom(ctx);
      return false;
    }
    DropEnd(ctx, &src, from, 1);
    PushOne(ctx, &src, to, value);
    StoreList(ctx, source, src);
    NotifyKeyspaceEvent(ctx, kNotifyList, to == ListEnd::kLeft ? "lpush" : "rpush", source);
    NotifyKeyspaceEvent(ctx, kNotifyList, from == ListEnd::kLeft ? "lpop" : "rpop", source);
    ctx.reply.Bulk(value);
    return true;
  }
  List dst;
  if (!ReadList(ctx, destination, &dst)) return false;
  if (dst.found && !RoomFor(dst, to, 1)) {
    ReplyNoRoom(ctx);
    return false;
  }
  if (!CreateCollectionIfAbsent(ctx, destination, ValueType::kList, &dst)) return false;
  DropEnd(ctx, &src, from, 1);
  PushOne(ctx, &dst, to, value);
  StoreList(ctx, source, src);
  StoreList(ctx, destination, dst);
  // Redis's order: the push, then the pop (and the source's deletion).
  NotifyKeyspaceEvent(ctx, kNotifyList, to == ListEnd::kLeft ? "lpush" : "rpush", destination);
  NotifyKeyspaceEvent(ctx, kNotifyList, from == ListEnd::kLeft ? "lpop" : "rpop", source);
  NotifyIfEmptied(ctx, src.meta.count, source);
  ctx.reply.Bulk(value);
  return true;
}

void RegisterListCommands(CommandList* list) {
  const uint32_t kRead = kCmdReadOnly | kCmdFast;
  const uint32_t kWriteFast = kCmdWrite | kCmdFast;
  Add(list, "lpush", -3, kWriteFast, LPush);
  Add(list, "rpush", -3, kWriteFast, RPush);
  Add(list, "lpushx", -3, kWriteFast, LPushX);
  Add(list, "rpushx", -3, kWriteFast, RPushX);
  Add(list, "lpop", -2, kWriteFast, LPop);
  Add(list, "rpop", -2, kWriteFast, RPop);
  Add(list, "llen", 2, kRead, LLen);
  Add(list, "lindex", 3, kCmdReadOnly, LIndex);
  Add(list, "lset", 4, kCmdWrite, LSet);
  // O(N) in the list, not the keyspace: they stay on the event loop like
  // Redis's, bounded by the reply budget and kMaxTouchedElements.
  Add(list, "lrange", 4, kCmdReadOnly, LRange);
  Add(list, "ltrim", 4, kCmdWrite, LTrim);
  Add(list, "lrem", 4, kCmdWrite, LRem);
  Add(list, "linsert", 5, kCmdWrite, LInsert);
  Add(list, "lpos", -3, kCmdReadOnly, LPos);
  Add(list, "lmove", 5, kCmdWrite, LMove, 1, 2);
  Add(list, "rpoplpush", 3, kCmdWrite, RPopLPush, 1, 2);
  Add(list, "lmpop", -4, kCmdWrite, LMPop, 0, 0, FindLMPopKeys);
  // Blocking: the connection parks the client while every key is empty
  // (BlockClient, blocking.h).
  Add(list, "blpop", -3, kCmdWrite, BLPop, 1, -2);
  Add(list, "brpop", -3, kCmdWrite, BRPop, 1, -2);
  Add(list, "blmpop", -5, kCmdWrite, BLMPop, 0, 0, FindBLMPopKeys);
  Add(list, "blmove", 6, kCmdWrite, BLMove, 1, 2);
  Add(list, "brpoplpush", 4, kCmdWrite, BRPopLPush, 1, 2);
}

}  // namespace lsmkv::server
