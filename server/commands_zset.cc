// Sorted-set commands: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK,
// ZREVRANK, ZCOUNT, ZLEXCOUNT, the ZRANGE family (ZRANGE, ZRANGESTORE,
// ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE),
// ZREMRANGEBYSCORE/RANK/LEX, ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, ZSCAN.
// The set algebra is in commands_zset_algebra.cc. Replies and errors follow
// Redis 7.0.
//
// Layout: commands_zset.h. Every command reads the metadata once, works on
// the members of that version through ctx.txn (which reads back its own
// pending element writes), validates everything before its first write (the
// dispatcher commits whatever was written, even after an error reply), and
// writes the metadata again when the count or a score changed. A sorted set
// left without members is deleted.
#include "server/commands_zset.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>

#include "server/collection.h"
#include "server/glob.h"
#include "server/notify.h"
#include "server/scan_cursors.h"

namespace lsmkv::server {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// ZRANDMEMBER reads a sorted set of at most this many members whole and
// samples it uniformly; a larger one is sampled by random seeks.
constexpr uint64_t kRandomReadWhole = 1024;

// Bytes a member is counted for beyond its name: a lower bound of what it
// adds to a reply ("$1\r\n" ... "\r\n"), so that a reply stopped because
// the count passed the budget really is over it (and is refused whole by
// the connection), never cut short below it.
constexpr uint64_t kEntryOverhead = 6;

const char kMemberTooLarge[] =
    "ERR sorted set member is too large (lsmkv-server sorted set members are at most 65536 "
    "bytes)";
const char kCorruptScore[] = "ERR Corruption: lsmkv-server: undecodable sorted set score";
const char kMissingMembers[] =
    "ERR Corruption: lsmkv-server: sorted set metadata counts members that are missing";
const char kNotFloatRange[] = "ERR min or max is not a float";
const char kNotLexRange[] = "ERR min or max not valid string range item";

void EngineError(CommandContext& ctx, const Status& s) { ctx.reply.Error("ERR " + s.ToString()); }

bool CreateZSetIfAbsent(CommandContext& ctx, std::string_view key, ZSet* z) {
  if (!CreateCollectionIfAbsent(ctx, key, ValueType::kZSet, &z->c)) return false;
  z->index.clear();
  AppendElementPrefix(kZSetScorePrefix, ctx.txn.db(), key, z->c.meta.version, &z->index);
  return true;
}

void StoreZSet(CommandContext& ctx, std::string_view key, const ZSet& z) {
  StoreCollection(ctx, key, ValueType::kZSet, z.c);
}

std::string IndexKey(const ZSet& z, double score, std::string_view member) {
  std::string key;
  key.reserve(z.index.size() + 8 + member.size());
  key.append(z.index);
  AppendOrderedDouble(score, &key);
  key.append(member);
  return key;
}

// Writes member with score (both engine keys); old is its current score, or
// null if it is new (the count grows).
void PutMember(CommandContext& ctx, ZSet* z, std::string_view member, double score,
               const double* old) {
  if (old != nullptr) {
    ctx.txn.DeleteElement(IndexKey(*z, *old, member));
  } else {
    z->c.meta.count++;
  }
  std::string value;
  AppendOrderedDouble(score, &value);
  ctx.txn.PutElement(ElementKeyOf(z->c, member), value);
  ctx.txn.PutElement(IndexKey(*z, score, member), std::string_view());
}

void RemoveMember(CommandContext& ctx, ZSet* z, std::string_view member, double score) {
  ctx.txn.DeleteElement(ElementKeyOf(z->c, member));
  ctx.txn.DeleteElement(IndexKey(*z, score, member));
  z->c.meta.count--;
}

// Visits [lower, upper) of one element prefix: the index (keys hold the
// score, skip bytes in) or the member keys (values hold it).
bool ScanRange(CommandContext& ctx, std::string_view lower, std::string_view upper, bool reverse,
               size_t skip, bool index, const ZSetVisitor& visit) {
  if (lower >= upper) return true;
  bool corrupt = false;
  auto each = [&](std::string_view key, std::string_view value) {
    double score = 0;
    std::string_view member;
    if (index) {
      const std::string_view rest = key.substr(skip);
      if (rest.size() < 8 || !DecodeOrderedDouble(rest.substr(0, 8), &score)) {
        corrupt = true;
        return false;
      }
      member = rest.substr(8);
    } else {
      member = key.substr(skip);
      if (!DecodeOrderedDouble(value, &score)) {
        corrupt = true;
        return false;
      }
    }
    return visit(member, score);
  };
  Status s = reverse ? ctx.txn.ScanElementsReverse(lower, upper, each)
                     : ctx.txn.ScanElements(lower, upper, each);
  if (!s.ok()) {
    EngineError(ctx, s);
    return false;
  }
  if (corrupt) {
    ctx.reply.Error(kCorruptScore);
    return false;
  }
  return true;
}

// Visits index entries of z in [lower, upper) (full index keys; empty
// bounds: the whole index), by score then member, or the other way round.
bool ScanIndex(CommandContext& ctx, const ZSet& z, std::string_view lower, std::string_view upper,
               bool reverse, const ZSetVisitor& visit) {
  const std::string end = upper.empty() ? PrefixSuccessor(z.index) : std::string(upper);
  return ScanRange(ctx, lower.empty() ? std::string_view(z.index) : lower, end, reverse,
                   z.index.size(), /*index=*/true, visit);
}

// --- Argument parsing ---------------------------------------------------

// A score range: min and max, each inclusive or exclusive ("(").
struct ScoreRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool max_exclusive = false;
};

// Redis's score bound: an optional "(", then what strtod reads up to the
// end of the text ("-inf", "+inf", " 1", "0x10" are fine; NaN is not).
bool ParseScoreBound(const std::string& text, double* value, bool* exclusive) {
  const char* start = text.c_str();
  *exclusive = start[0] == '(';
  if (*exclusive) start++;
  char* end = nullptr;
  const double parsed = std::strtod(start, &end);
  if (*end != '\0' || std::isnan(parsed)) return false;
  *value = parsed;
  return true;
}

bool ParseScoreRange(CommandContext& ctx, const std::string& min, const std::string& max,
                     ScoreRange* range) {
  if (ParseScoreBound(min, &range->min, &range->min_exclusive) &&
      ParseScoreBound(max, &range->max, &range->max_exclusive)) {
    return true;
  }
  ctx.reply.Error(kNotFloatRange);
  return false;
}

enum class LexKind { kMinusInf, kPlusInf, kInclusive, kExclusive };
struct LexBound {
  LexKind kind = LexKind::kMinusInf;
  std::string value;
};

bool ParseLexBound(const std::string& text, LexBound* bound) {
  if (text == "-") {
    bound->kind = LexKind::kMinusInf;
  } else if (text == "+") {
    bound->kind = LexKind::kPlusInf;
  } else if (!text.empty() && (text[0] == '[' || text[0] == '(')) {
    bound->kind = text[0] == '[' ? LexKind::kInclusive : LexKind::kExclusive;
    bound->value = text.substr(1);
  } else {
    return false;
  }
  return true;
}

bool ParseLexRange(CommandContext& ctx, const std::string& min, const std::string& max,
                   LexBound* lower, LexBound* upper) {
  if (ParseLexBound(min, lower) && ParseLexBound(max, upper)) return true;
  ctx.reply.Error(kNotLexRange);
  return false;
}

// Adds one to the 8-byte big-endian number that ends *key.
void IncrementLast8(std::string* key) {
  for (size_t i = key->size(); i-- > key->size() - 8;) {
    unsigned char byte = static_cast<unsigned char>((*key)[i]);
    (*key)[i] = static_cast<char>(byte + 1);
    if (byte != 0xff) break;
  }
}

// The index keys [lower, upper) of the members whose scores are in range.
void ScoreKeyRange(const ZSet& z, const ScoreRange& range, std::string* lower, std::string* upper) {
  *lower = z.index;
  AppendOrderedDouble(range.min, lower);
  if (range.min_exclusive) IncrementLast8(lower);
  *upper = z.index;
  AppendOrderedDouble(range.max, upper);
  if (!range.max_exclusive) IncrementLast8(upper);
}

// The member keys [lower, upper) of the members in the lex range (empty if
// lower >= upper).
void LexKeyRange(const ZSet& z, const LexBound& min, const LexBound& max, std::string* lower,
                 std::string* upper) {
  const std::string& prefix = z.c.prefix;
  *lower = prefix;
  *upper = prefix;
  switch (min.kind) {
    case LexKind::kMinusInf:
      break;
    case LexKind::kPlusInf:
      *lower = PrefixSuccessor(prefix);
      break;
    case LexKind::kInclusive:
      lower->append(min.value);
      break;
    case LexKind::kExclusive:
      lower->append(min.value);
      lower->push_back('\0');
      break;
  }
  switch (max.kind) {
    case LexKind::kMinusInf:
      break;
    case LexKind::kPlusInf:
      *upper = PrefixSuccessor(prefix);
      break;
    case LexKind::kInclusive:
      upper->append(max.value);
      upper->push_back('\0');
      break;
    case LexKind::kExclusive:
      upper->append(max.value);
      break;
  }
}

// Redis's rank normalization: negative ranks count from the end; false if
// the range [*start, *end] is empty.
bool NormalizeRanks(int64_t length, int64_t* start, int64_t* end) {
  if (*start < 0) *start += length;
  if (*end < 0) *end += length;
  if (*start < 0) *start = 0;
  if (*start > *end || *start >= length) return false;
  if (*end >= length) *end = length - 1;
  return true;
}

std::string FormatScore(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buf[64];
  const int n = std::snprintf(buf, sizeof(buf), "%.17g", score);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

bool MembersTooLarge(CommandContext& ctx, size_t first, size_t step) {
  for (size_t i = first; i < ctx.args.size(); i += step) {
    if (ctx.args[i].size() > kMaxFieldBytes) {
      ctx.reply.Error(kMemberTooLarge);
      return true;
    }
  }
  return false;
}

std::string BatchTooLargeError(std::string_view what) {
  return "ERR " + std::string(what) + " (lsmkv-server writes at most " +
         std::to_string(kMaxZSetBatchMembers) + " sorted set members and " +
         std::to_string(kMaxZSetBatchBytes >> 20) + " MiB of them in one atomic write)";
}

// --- ZADD, ZINCRBY, ZREM, reads of one member ------------------------------

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], and
// ZINCRBY key increment member (ZADD INCR without flags).
void ZAddGeneric(CommandContext& ctx, bool zincrby) {
  const auto& args = ctx.args;
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = zincrby;
  size_t i = 2;
  for (; !zincrby && i < args.size(); i++) {
    const std::string& flag = args[i];
    if (EqualsIgnoreCase(flag, "nx")) {
      nx = true;
    } else if (EqualsIgnoreCase(flag, "xx")) {
      xx = true;
    } else if (EqualsIgnoreCase(flag, "gt")) {
      gt = true;
    } else if (EqualsIgnoreCase(flag, "lt")) {
      lt = true;
    } else if (EqualsIgnoreCase(flag, "ch")) {
      ch = true;
    } else if (EqualsIgnoreCase(flag, "incr")) {
      incr = true;
    } else {
      break;
    }
  }
  const size_t elements = args.size() - i;
  if (elements == 0 || elements % 2 != 0) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (nx && xx) {
    ctx.reply.Error("ERR XX and NX options at the same time are not compatible");
    return;
  }
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    ctx.reply.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
    return;
  }
  if (incr && elements > 2) {
    ctx.reply.Error("ERR INCR option supports a single increment-element pair");
    return;
  }
  std::vector<double> scores;
  scores.reserve(elements / 2);
  for (size_t j = i; j < args.size(); j += 2) {
    double score = 0;
    if (!ParseZSetScore(args[j], &score)) {
      ctx.reply.Error(errors::kNotFloat);
      return;
    }
    scores.push_back(score);
  }
  if (MembersTooLarge(ctx, i + 1, 2)) return;
  const std::string& key = args[1];
  ZSet z;
  if (!ReadZSet(ctx, key, &z)) return;
  if (!z.c.found && xx) {
    if (incr) {
      ctx.reply.Null();
    } else {
      ctx.reply.Integer(0);
    }
    return;
  }
  if (!CreateZSetIfAbsent(ctx, key, &z)) return;
  int64_t added = 0, updated = 0, processed = 0;
  double last_score = 0;
  for (size_t j = 0; j < scores.size(); j++) {
    const std::string& member = args[i + 2 * j + 1];
    double score = scores[j];
    double current = 0;
    bool found = false;
    if (!GetZSetScore(ctx, z, member, &current, &found)) return;
    if (found) {
      if (nx) continue;
      if (incr) {
        score += current;
        if (std::isnan(score)) {  // INCR has one pair: nothing was written
          ctx.reply.Error("ERR resulting score is not a number (NaN)");
          return;
        }
      }
      if ((lt && score >= current) || (gt && score <= current)) continue;
      processed++;
      if (score != current) {
        PutMember(ctx, &z, member, score, &current);
        updated++;
      }
    } else {
      if (xx) continue;
      PutMember(ctx, &z, member, score, nullptr);
      added++;
      processed++;
    }
    last_score = score;
  }
  if (added > 0 || updated > 0) {
    StoreZSet(ctx, key, z);
    NotifyKeyspaceEvent(ctx, kNotifyZset, incr ? "zincr" : "zadd", key);
  }
  if (incr) {
    if (processed > 0) {
      ctx.reply.Double(last_score);
    } else {
      ctx.reply.Null();
    }
  } else {
    ctx.reply.Integer(ch ? added + updated : added);
  }
}
void ZAdd(CommandContext& ctx) { ZAddGeneric(ctx, /*zincrby=*/false); }
void ZIncrBy(CommandContext& ctx) { ZAddGeneric(ctx, /*zincrby=*/true); }

void ZRem(CommandContext& ctx) {
  const std::string& key = ctx.args[1];
  ZSet z;
  if (!ReadZSet(ctx, key, &z)) return;
  int64_t removed = 0;
  for (size_t i = 2; z.c.found && i < ctx.args.size(); i++) {
    double score = 0;
    bool found = false;
    if (!GetZSetScore(ctx, z, ctx.args[i], &score, &found)) return;
    if (!found) continue;  // absent, or named twice (the deletion is read back)
    RemoveMember(ctx, &z, ctx.args[i], score);
    removed++;
  }
  if (removed > 0) {
    StoreZSet(ctx, key, z);
    NotifyKeyspaceEvent(ctx, kNotifyZset, "zrem", key);
    NotifyIfEmptied(ctx, z.c.meta.count, key);
  }
  ctx.reply.Integer(removed);
}

void ZCard(CommandContext& ctx) {
  ZSet z;
  if (!ReadZSet(ctx, ctx.args[1], &z)) return;
  ctx.reply.Integer(z.c.found ? static_cast<int64_t>(z.c.meta.count) : 0);
}

void ZScore(CommandContext& ctx) {
  ZSet z;
  if (!ReadZSet(ctx, ctx.args[1], &z)) return;
  double score = 0;
  bool found = false;
  if (z.c.found && !GetZSetScore(ctx, z, ctx.args[2], &score, &found)) return;
  if (found) {
    ctx.reply.Double(score);
  } else {
    ctx.reply.Null();
  }
}

void ZMScore(CommandContext& ctx) {
  ZSet z;
  if (!ReadZSet(ctx, ctx.args[1], &z)) return;
  // Every score is read before replying, so an engine error is the only reply.
  std::vector<std::optional<double>> scores(ctx.args.size() - 2);
  for (size_t i = 2; z.c.found && i < ctx.args.size(); i++) {
    double score = 0;
    bool found = false;
    if (!GetZSetScore(ctx, z, ctx.args[i], &score, &found)) return;
    if (found) scores[i - 2] = score;
  }
  ctx.reply.Array(scores.size());
  for (const auto& score : scores) {
    if (score) {
      ctx.reply.Double(*score);
    } else {
      ctx.reply.Null();
    }
  }
}

// ZRANK / ZREVRANK key member: O(rank) here, a count of the index entries
// before (after) the member's.
void ZRankGeneric(CommandContext& ctx, bool reverse) {
  ZSet z;
  if (!ReadZSet(ctx, ctx.args[1], &z)) return;
  double score = 0;
  bool found = false;
  if (z.c.found && !GetZSetScore(ctx, z, ctx.args[2], &score, &found)) return;
  if (!found) {
    ctx.reply.Null();
    return;
  }
  std::string position = IndexKey(z, score, ctx.args[2]);
  int64_t rank = 0;
  auto count = [&](std::string_view, double) {
    rank++;
    return true;
  };
  bool ok = false;
  if (reverse) {
    position.push_back('\0');  // the first index key after the member's
    ok = ScanIndex(ctx, z, position, {}, false, count);
  } else {
    ok = ScanIndex(ctx, z, {}, position, false, count);
  }
  if (ok) ctx.reply.Integer(rank);
}
void ZRank(CommandContext& ctx) { ZRankGeneric(ctx, /*reverse=*/false); }
void ZRevRank(CommandContext& ctx) { ZRankGeneric(ctx, /*reverse=*/true); }

// ZCOUNT key min max: O(M) in the members counted (an index range scan).
void ZCount(CommandContext& ctx) {
  ScoreRange range;
  if (!ParseScoreRange(ctx, ctx.args[2], ctx.args[3], &range)) return;
  ZSet z;
  if (!ReadZSet(ctx, ctx.args[1], &z)) return;
  int64_t n = 0;
  if (z.c.found) {
    std::string lower, upper;
    ScoreKeyRange(z, range, &lower, &upper);
    if (!ScanRange(ctx, lower, upper, false, z.index.size(), true, [&](std::string_view, double) {
          n++;
          return true;
        })) {
      return;
    }
  }
  ctx.reply.Integer(n);
}

// ZLEXCOUNT key min max: O(M), a range scan of the member keys.
void ZLexCount(CommandContext& ctx) {
  LexBound min, max;
  if (!ParseLexRange(ctx, ctx.args[2], ctx.args[3], &min, &max)) return;
  ZSet z;
  if (!ReadZSet(ctx, ctx.args[1], &z)) return;
  int64_t n = 0;
  if (z.c.found) {
    std::string lower, upper;
    LexKeyRange(z, min, max, &lower, &upper);
    if (!ScanZSetMembers(ctx, z, lower, upper, false, [&](std::string_view, double) {
          n++;
          return true;
        })) {
      return;
    }
  }
  ctx.reply.Integer(n);
}

// --- The ZRANGE family ----------------------------------------------------

enum class RangeBy { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

// Collects the members a range selects, in reply order, skipping offset
// of them and taking at most limit (negative: no limit). For a reply the
// collection stops once past the reply budget; for a store (or removal) it
// stops with *over set past kMaxZSetBatchMembers / kMaxZSetBatchBytes.
class RangeCollector {
 public:
  RangeCollector(uint64_t byte_budget, bool bounded_batch, int64_t offset, int64_t limit)
      : budget_(byte_budget), batch_(bounded_batch), skip_(offset), limit_(limit) {}

  // The visitor to scan with.
  bool Visit(std::string_view member, double score) {
    if (skip_ > 0) {
      skip_--;
      return true;
    }
    if (limit_ == 0) return false;
    if (batch_ && entries_.size() >= kMaxZSetBatchMembers) {
      over_ = true;
      return false;
    }
    entries_.push_back({std::string(member), score});
    bytes_ += member.size() + kEntryOverhead;
    if (limit_ > 0) limit_--;
    if (bytes_ > budget_) {
      over_ = batch_;
      return false;
    }
    return limit_ != 0;
  }
  ZSetVisitor visitor() {
    return [this](std::string_view member, double score) { return Visit(member, score); };
  }

  bool over() const { return over_; }
  std::vector<ZSetEntry>& entries() { return entries_; }

 private:
  const uint64_t budget_;
  const bool batch_;
  int64_t skip_;
  int64_t limit_;
  uint64_t bytes_ = 0;
  bool over_ = false;
  std::vector<ZSetEntry> entries_;
};

// What one range argument pair selects.
struct RangeQuery {
  RangeBy by = RangeBy::kRank;
  bool reverse = false;
  int64_t start = 0, stop = 0;  // kRank
  ScoreRange score;             // kScore
  LexBound lex_min, lex_max;    // kLex
  int64_t offset = 0;           // LIMIT (kScore, kLex)
  int64_t limit = -1;
};

// Runs query on z (found) into collector. Returns false after replying.
bool RunRange(CommandContext& ctx, const ZSet& z, const RangeQuery& query,
              RangeCollector* collector) {
  const ZSetVisitor visit = collector->visitor();
  std::string lower, upper;
  switch (query.by) {
    case RangeBy::kAuto:
    case RangeBy::kRank: {
      int64_t start = query.start, stop = query.stop;
      if (!NormalizeRanks(static_cast<int64_t>(z.c.meta.count), &start, &stop)) return true;
      int64_t rank = 0;  // of the entry visited next
      return ScanIndex(ctx, z, {}, {}, query.reverse, [&](std::string_view member, double score) {
        if (rank++ < start) return true;
        return visit(member, score) && rank <= stop;
      });
    }
    case RangeBy::kScore:
      // For REV the parser swapped the arguments: the range is still min..max.
      if (query.offset < 0) return true;
      ScoreKeyRange(z, query.score, &lower, &upper);
      return ScanRange(ctx, lower, upper, query.reverse, z.index.size(), true, visit);
    case RangeBy::kLex:
      if (query.offset < 0) return true;
      LexKeyRange(z, query.lex_min, query.lex_max, &lower, &upper);
      return ScanZSetMembers(ctx, z, lower, upper, query.reverse, visit);
  }
  return true;
}

// ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
// and its legacy forms (by and direction fixed), and ZRANGESTORE dst src ...
// (store: src is args[2]).
void ZRangeGeneric(CommandContext& ctx, bool store, RangeBy by, Direction direction) {
  const auto& args = ctx.args;
  const size_t src_index = store ? 2 : 1;
  size_t min_index = src_index + 1, max_index = src_index + 2;
  bool with_scores = false;
  bool has_limit = false;
  RangeQuery query;
  for (size_t j = src_index + 3; j < args.size(); j++) {
    const size_t left = args.size() - j - 1;
    if (!store && EqualsIgnoreCase(args[j], "withscores")) {
      with_scores = true;
    } else if (EqualsIgnoreCase(args[j], "limit") && left >= 2) {
      if (!ParseIntArg(ctx, args[j + 1], &query.offset) ||
          !ParseIntArg(ctx, args[j + 2], &query.limit)) {
        return;
      }
      has_limit = true;
      j += 2;
    } else if (direction == Direction::kAuto && EqualsIgnoreCase(args[j], "rev")) {
      direction = Direction::kReverse;
    } else if (by == RangeBy::kAuto && EqualsIgnoreCase(args[j], "bylex")) {
      by = RangeBy::kLex;
    } else if (by == RangeBy::kAuto && EqualsIgnoreCase(args[j], "byscore")) {
      by = RangeBy::kScore;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (by == RangeBy::kAuto) by = RangeBy::kRank;
  query.by = by;
  query.reverse = direction == Direction::kReverse;
  if (has_limit && by == RangeBy::kRank) {
    ctx.reply.Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return;
  }
  if (with_scores && by == RangeBy::kLex) {
    ctx.reply.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    return;
  }
  if (query.reverse && by != RangeBy::kRank) std::swap(min_index, max_index);
  switch (by) {
    case RangeBy::kAuto:
    case RangeBy::kRank:
      if (!ParseIntArg(ctx, args[min_index], &query.start) ||
          !ParseIntArg(ctx, args[max_index], &query.stop)) {
        return;
      }
      break;
    case RangeBy::kScore:
      if (!ParseScoreRange(ctx, args[min_index], args[max_index], &query.score)) return;
      break;
    case RangeBy::kLex:
      if (!ParseLexRange(ctx, args[min_index], args[max_index], &query.lex_min, &query.lex_max)) {
        return;
      }
      break;
  }
  ZSet z;
  if (!ReadZSet(ctx, args[src_index], &z)) return;
  RangeCollector collector(store ? kMaxZSetBatchBytes : ReplyByteBudget(ctx), store, query.offset,
                           query.limit);
  if (z.c.found && !RunRange(ctx, z, query, &collector)) return;
  if (collector.over()) {
    ctx.reply.Error(BatchTooLargeError("sorted set range too large to store"));
    return;
  }
  if (store) {
    if (!StoreZSetResult(ctx, args[1], collector.entries())) return;
    if (!collector.entries().empty()) {
      NotifyKeyspaceEvent(ctx, kNotifyZset, "zrangestore", args[1]);
    }
    ctx.reply.Integer(static_cast<int64_t>(collector.entries().size()));
    return;
  }
  ReplyZSetEntries(ctx.reply, collector.entries(), with_scores);
}

void ZRange(CommandContext& ctx) { ZRangeGeneric(ctx, false, RangeBy::kAuto, Direction::kAuto); }
void ZRangeStore(CommandContext& ctx) {
  ZRangeGeneric(ctx, true, RangeBy::kAuto, Direction::kAuto);
}
void ZRevRange(CommandContext& ctx) {
  ZRangeGeneric(ctx, false, RangeBy::kRank, Direction::kReverse);
}
void ZRangeByScore(CommandContext& ctx) {
  ZRangeGeneric(ctx, false, RangeBy::kScore, Direction::kForward);
}
void ZRevRangeByScore(CommandContext& ctx) {
  ZRangeGeneric(ctx, false, RangeBy::kScore, Direction::kReverse);
}
void ZRangeByLex(CommandContext& ctx) {
  ZRangeGeneric(ctx, false, RangeBy::kLex, Direction::kForward);
}
void ZRevRangeByLex(CommandContext& ctx) {
  ZRangeGeneric(ctx, false, RangeBy::kLex, Direction::kReverse);
}

// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max: the
// members are collected first (bounded: over the batch bounds nothing is
// removed), then removed in the command's one batch.
void ZRemRangeGeneric(CommandContext& ctx, RangeBy by) {
  const auto& args = ctx.args;
  RangeQuery query;
  query.by = by;
  switch (by) {
    case RangeBy::kAuto:
    case RangeBy::kRank:
      if (!ParseIntArg(ctx, args[2], &query.start) || !ParseIntArg(ctx, args[3], &query.stop)) {
        return;
      }
      break;
    case RangeBy::kScore:
      if (!ParseScoreRange(ctx, args[2], args[3], &query.score)) return;
      break;
    case RangeBy::kLex:
      if (!ParseLexRange(ctx, args[2], args[3], &query.lex_min, &query.lex_max)) return;
      break;
  }
  const std::string& key = args[1];
  ZSet z;
  if (!ReadZSet(ctx, key, &z)) return;
  RangeCollector collector(kMaxZSetBatchBytes, /*bounded_batch=*/true, 0, -1);
  if (z.c.found && !RunRange(ctx, z, query, &collector)) return;
  if (collector.over()) {
    ctx.reply.Error(BatchTooLargeError("sorted set range too large to remove"));
    return;
  }
  for (const ZSetEntry& entry : collector.entries()) {
    RemoveMember(ctx, &z, entry.member, entry.score);
  }
  if (!collector.entries().empty()) {
    StoreZSet(ctx, key, z);
    static constexpr const char* kEvents[] = {"zremrangebyrank", "zremrangebyscore",
                                              "zremrangebylex"};
    NotifyKeyspaceEvent(ctx, kNotifyZset,
                        by == RangeBy::kRank    ? kEvents[0]
                        : by == RangeBy::kScore ? kEvents[1]
                                                : kEvents[2],
                        key);
    NotifyIfEmptied(ctx, z.c.meta.count, key);
  }
  ctx.reply.Integer(static_cast<int64_t>(collector.entries().size()));
}
void ZRemRangeByRank(CommandContext& ctx) { ZRemRangeGeneric(ctx, RangeBy::kRank); }
void ZRemRangeByScore(CommandContext& ctx) { ZRemRangeGeneric(ctx, RangeBy::kScore); }
void ZRemRangeByLex(CommandContext& ctx) { ZRemRangeGeneric(ctx, RangeBy::kLex); }

// --- Pops -----------------------------------------------------------------

// ZPOPMIN / ZPOPMAX key [count]
void ZPopGeneric(CommandContext& ctx, bool max) {
  const auto& args = ctx.args;
  if (args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const bool has_count = args.size() == 3;
  int64_t count = 1;
  if (has_count && (!ParseInt64(args[2], &count) || count < 0)) {
    ctx.reply.Error("ERR value is out of range, must be positive");
    return;
  }
  bool found = false;
  std::vector<ZSetEntry> popped;
  if (!PopZSet(ctx, args[1], max, static_cast<uint64_t>(count), &found, &popped)) return;
  if (has_count) {
    ReplyZSetEntries(ctx.reply, popped, /*with_scores=*/true);
    return;
  }
  // Without a count: one flat [member, score] pair in both protocols.
  ctx.reply.Array(2 * popped.size());
  for (const ZSetEntry& entry : popped) {
    ctx.reply.Bulk(entry.member);
    ctx.reply.Double(entry.score);
  }
}
void ZPopMin(CommandContext& ctx) { ZPopGeneric(ctx, /*max=*/false); }
void ZPopMax(CommandContext& ctx) { ZPopGeneric(ctx, /*max=*/true); }

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first
// non-empty sorted set; [key, [[member, score], ...]], or a null array.
// True if key holds a value of another type than a sorted set. Used on a
// blocked command's retry, where Redis keeps the client blocked instead of
// replying WRONGTYPE. Returns false after replying with an engine error
// (*error set).
bool HoldsOtherType(CommandContext& ctx, std::string_view key, bool* error) {
  Entry entry;
  bool found = false;
  Status s = ctx.txn.Peek(key, &entry, &found);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    *error = true;
    return false;
  }
  return found && entry.type != ValueType::kZSet;
}

// Pops from the first non-empty sorted set of keys (count members; max: the
// highest scores). *key_index is the index in keys of the set popped from,
// or keys.size() if every one is empty. On a blocked command's retry a key
// of another type counts as empty. Returns false after replying with an
// error.
bool PopFirstNonEmpty(CommandContext& ctx, const std::vector<std::string_view>& keys, bool max,
                      uint64_t count, size_t* key_index, std::vector<ZSetEntry>* popped) {
  for (size_t k = 0; k < keys.size(); k++) {
    if (ctx.client.block.retry) {
      bool error = false;
      if (HoldsOtherType(ctx, keys[k], &error)) continue;
      if (error) return false;
    }
    bool found = false;
    if (!PopZSet(ctx, keys[k], max, count, &found, popped)) return false;
    if (found) {
      *key_index = k;
      return true;
    }
  }
  *key_index = keys.size();
  return true;
}

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] (args from numkeys_at
// on): pops from the first non-empty sorted set; [key, [[member, score],
// ...]], or a null array. BZMPOP timeout numkeys ...: the same, blocking
// until deadline_ms when every key is empty (blocking).
void MPopGeneric(CommandContext& ctx, size_t numkeys_at, bool blocking) {
  const auto& args = ctx.args;
  int64_t numkeys = 0;
  if (!ParseInt64(args[numkeys_at], &numkeys) || numkeys < 1) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return;
  }
  if (numkeys > static_cast<int64_t>(args.size() - numkeys_at) - 2) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const size_t where = numkeys_at + 1 + static_cast<size_t>(numkeys);
  bool max = false;
  if (EqualsIgnoreCase(args[where], "max")) {
    max = true;
  } else if (!EqualsIgnoreCase(args[where], "min")) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t count = -1;
  for (size_t j = where + 1; j < args.size(); j++) {
    if (count == -1 && EqualsIgnoreCase(args[j], "count") && j + 1 < args.size()) {
      j++;
      if (!ParseInt64(args[j], &count) || count < 1) {
        ctx.reply.Error("ERR count should be greater than 0");
        return;
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (count == -1) count = 1;
  // BZMPOP's timeout is read after the other arguments, as Redis does.
  int64_t deadline_ms = 0;
  if (blocking && !ParseBlockTimeout(ctx, args[1], &deadline_ms)) return;
  const std::vector<std::string_view> keys(args.begin() + static_cast<ptrdiff_t>(numkeys_at) + 1,
                                           args.begin() + static_cast<ptrdiff_t>(where));
  size_t index = 0;
  std::vector<ZSetEntry> popped;
  if (!PopFirstNonEmpty(ctx, keys, max, static_cast<uint64_t>(count), &index, &popped)) return;
  if (index == keys.size()) {
    if (blocking && BlockClient(ctx, keys, deadline_ms, /*null_array=*/true)) return;
    ctx.reply.NullArray();
    return;
  }
  ctx.reply.Array(2);
  ctx.reply.Bulk(keys[index]);
  ctx.reply.Array(popped.size());
  for (const ZSetEntry& entry : popped) {
    ctx.reply.Array(2);
    ctx.reply.Bulk(entry.member);
    ctx.reply.Double(entry.score);
  }
}

void ZMPop(CommandContext& ctx) { MPopGeneric(ctx, 1, /*blocking=*/false); }
void BZMPop(CommandContext& ctx) { MPopGeneric(ctx, 2, /*blocking=*/true); }

// BZPOPMIN / BZPOPMAX key [key ...] timeout: pops one member from the first
// non-empty sorted set: [key, member, score]; blocks while every key is
// empty (timeout: a null array).
void BZPopGeneric(CommandContext& ctx, bool max) {
  int64_t deadline_ms = 0;
  if (!ParseBlockTimeout(ctx, ctx.args.back(), &deadline_ms)) return;
  const std::vector<std::string_view> keys(ctx.args.begin() + 1, ctx.args.end() - 1);
  size_t index = 0;
  std::vector<ZSetEntry> popped;
  if (!PopFirstNonEmpty(ctx, keys, max, 1, &index, &popped)) return;
  if (index == keys.size()) {
    if (BlockClient(ctx, keys, deadline_ms, /*null_array=*/true)) return;
    ctx.reply.NullArray();
    return;
  }
  ctx.reply.Array(3);
  ctx.reply.Bulk(keys[index]);
  ctx.reply.Bulk(popped[0].member);
  ctx.reply.Double(popped[0].score);
}
void BZPopMin(CommandContext& ctx) { BZPopGeneric(ctx, /*max=*/false); }
void BZPopMax(CommandContext& ctx) { BZPopGeneric(ctx, /*max=*/true); }

// --- ZRANDMEMBER, ZSCAN -----------------------------------------------------

// Picks members of one sorted set at random: uniformly from the set read
// whole (whole != nullptr), else by random seeks between its first and last
// member key (found once, on the first pick).
class MemberPicker {
 public:
  MemberPicker(const ZSet& z, const std::vector<ZSetEntry>* whole)
      : z_(z), whole_(whole), upper_(PrefixSuccessor(z.c.prefix)) {}

  // One pick. Returns false after replying with an error.
  bool Pick(CommandContext& ctx, std::mt19937_64& rng, ZSetEntry* out) {
    if (whole_ != nullptr) {
      *out = (*whole_)[rng() % whole_->size()];
      return true;
    }
    Status s;
    if (first_.empty()) {
      bool found = false;
      s = ctx.txn.ScanElements(z_.c.prefix, upper_, [&](std::string_view key, std::string_view) {
        first_.assign(key);
        return false;
      });
      if (s.ok() && !first_.empty()) s = ctx.txn.LastElement(z_.c.prefix, upper_, &last_, &found);
      if (s.ok() && !found) first_.clear();
    }
    bool found = false;
    bool corrupt = false;
    auto take = [&](std::string_view key, std::string_view value) {
      out->member.assign(key.substr(z_.c.prefix.size()));
      corrupt = !DecodeOrderedDouble(value, &out->score);
      found = true;
      return false;
    };
    if (s.ok() && !first_.empty()) {
      s = ctx.txn.ScanElements(RandomKeyBetween(first_, last_, rng), upper_, take);
      if (s.ok() && !found) s = ctx.txn.ScanElements(first_, upper_, take);  // wrap
    }
    if (!s.ok()) {
      EngineError(ctx, s);
      return false;
    }
    if (!found || corrupt) {
      ctx.reply.Error(found ? kCorruptScore : kMissingMembers);
      return false;
    }
    return true;
  }

 private:
  const ZSet& z_;
  const std::vector<ZSetEntry>* const whole_;
  const std::string upper_;
  std::string first_;  // member keys; empty until the first seek
  std::string last_;
};

void ReplyPick(Reply& reply, const ZSetEntry& entry, bool with_scores) {
  if (with_scores && reply.protocol() > 2) reply.Array(2);
  reply.Bulk(entry.member);
  if (with_scores) reply.Double(entry.score);
}

// ZRANDMEMBER key [count [WITHSCORES]]: HRANDFIELD's rules (commands_hash.cc).
void ZRandMember(CommandContext& ctx) {
  const auto& args = ctx.args;
  bool with_count = false, with_scores = false;
  int64_t count = 1;
  if (!ParseRandomCount(ctx, "withscores", &with_count, &count, &with_scores)) return;
  ZSet z;
  if (!ReadZSet(ctx, args[1], &z)) return;
  if (!z.c.found) {
    if (with_count) {
      ctx.reply.Array(0);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t size = z.c.meta.count;
  std::vector<ZSetEntry> whole;
  const bool read_whole = size <= kRandomReadWhole;
  if (read_whole && !ScanZSetMembers(ctx, z, {}, {}, false, [&](std::string_view m, double s) {
        whole.push_back({std::string(m), s});
        return true;
      })) {
    return;
  }
  if (read_whole && whole.empty()) {
    ctx.reply.Error(kMissingMembers);
    return;
  }
  MemberPicker picker(z, read_whole ? &whole : nullptr);
  if (!with_count) {
    ZSetEntry pick;
    if (!picker.Pick(ctx, rng, &pick)) return;
    ctx.reply.Bulk(pick.member);
    return;
  }
  const uint64_t budget = ReplyByteBudget(ctx);
  std::string body;
  Reply picks(&body, ctx.reply.protocol());
  uint64_t n = 0;
  if (count < 0) {
    // Repetitions allowed: |count| independent picks, within the budget.
    const uint64_t wanted = static_cast<uint64_t>(-count);
    for (; n < wanted && body.size() <= budget; n++) {
      ZSetEntry pick;
      if (!picker.Pick(ctx, rng, &pick)) return;
      ReplyPick(picks, pick, with_scores);
    }
  } else if (static_cast<uint64_t>(count) >= size || read_whole) {
    // Distinct members: all of them, or a uniform sample of a set read whole.
    if (!read_whole) {
      if (!ScanZSetMembers(ctx, z, {}, {}, false, [&](std::string_view m, double s) {
            ReplyPick(picks, {std::string(m), s}, with_scores);
            n++;
            return body.size() <= budget;
          })) {
        return;
      }
    } else {
      const size_t take = std::min<uint64_t>(static_cast<uint64_t>(count), whole.size());
      std::shuffle(whole.begin(), whole.end(), rng);
      for (; n < take && body.size() <= budget; n++) ReplyPick(picks, whole[n], with_scores);
    }
  } else {
    // A uniform sample of count distinct members of a large set: one pass
    // with a reservoir of count members (count < size: bounded by it).
    std::vector<ZSetEntry> reservoir;
    uint64_t seen = 0;
    uint64_t reservoir_bytes = 0;
    if (!ScanZSetMembers(ctx, z, {}, {}, false, [&](std::string_view m, double s) {
          seen++;
          if (reservoir.size() < static_cast<uint64_t>(count)) {
            reservoir.push_back({std::string(m), s});
            reservoir_bytes += m.size() + kEntryOverhead;  // a lower bound, as above
          } else {
            const uint64_t slot = rng() % seen;
            if (slot < reservoir.size()) reservoir[slot] = {std::string(m), s};
          }
          return reservoir_bytes <= budget;
        })) {
      return;
    }
    for (; n < reservoir.size() && body.size() <= budget; n++) {
      ReplyPick(picks, reservoir[n], with_scores);
    }
  }
  ctx.reply.Array(with_scores && ctx.reply.protocol() == 2 ? 2 * n : n);
  ctx.reply.buffer()->append(body);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: like HSCAN, in member
// order; scores as bulk strings ("%.17g", "inf", "-inf").
void ZScan(CommandContext& ctx) {
  const auto& args = ctx.args;
  uint64_t cursor = 0;
  if (!ParseScanCursor(ctx, args[2], &cursor)) return;
  ZSet z;
  if (!ReadZSet(ctx, args[1], &z)) return;
  if (!z.c.found) {
    ctx.reply.Array(2);
    ctx.reply.Bulk("0");
    ctx.reply.Array(0);
    return;
  }
  ScanOptions options;
  if (!ParseScanOptions(ctx, 3, /*allow_type=*/false, &options)) return;
  std::string lower = z.c.prefix;
  if (cursor != 0) {
    std::string position;
    if (!ctx.server.cursors->Find(cursor, &position)) {
      ctx.reply.Error("ERR invalid cursor");
      return;
    }
    lower.append(position);
    lower.push_back('\0');  // the first member after the position
  }
  std::vector<ZSetEntry> found;
  std::string last;
  int64_t examined = 0;
  bool more = false;
  if (!ScanZSetMembers(ctx, z, lower, {}, false, [&](std::string_view member, double score) {
        if (examined == options.count) {
          more = true;
          return false;
        }
        examined++;
        last.assign(member);
        if (!options.has_pattern || GlobMatch(options.pattern, member)) {
          found.push_back({std::string(member), score});
        }
        return true;
      })) {
    return;
  }
  const uint64_t next = more ? ctx.server.cursors->Save(last) : 0;
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.Array(2 * found.size());
  for (const ZSetEntry& entry : found) {
    ctx.reply.Bulk(entry.member);
    ctx.reply.Bulk(FormatScore(entry.score));
  }
}

void NumKeysAt1(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  CollectNumKeys(args, 1, 2, keys);
}
void NumKeysAt2(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  CollectNumKeys(args, 2, 3, keys);
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler,
         int first_key = 1, int last_key = 1, KeyFinder find_keys = nullptr) {
  list->push_back(std::unique_ptr<CommandSpec>(new CommandSpec{name,
                                                               arity,
                                                               flags,
                                                               first_key,
                                                               last_key,
                                                               first_key > 0 ? 1 : 0,
                                                               "sortedset",
                                                               handler,
                                                               {},
                                                               find_keys}));
}

}  // namespace

bool ParseZSetScore(std::string_view text, double* score) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  const std::string buf(text);
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || std::isnan(parsed)) return false;
  if (errno == ERANGE && (std::isinf(parsed) || parsed == 0)) return false;
  *score = parsed;
  return true;
}

bool ReadZSet(CommandContext& ctx, std::string_view key, ZSet* z) {
  z->index.clear();
  if (!ReadCollection(ctx, key, ValueType::kZSet, &z->c)) return false;
  if (z->c.found)
    AppendElementPrefix(kZSetScorePrefix, ctx.txn.db(), key, z->c.meta.version, &z->index);
  return true;
}

bool ScanZSetMembers(CommandContext& ctx, const ZSet& z, std::string_view lower,
                     std::string_view upper, bool reverse, const ZSetVisitor& visit) {
  const std::string end = upper.empty() ? PrefixSuccessor(z.c.prefix) : std::string(upper);
  return ScanRange(ctx, lower.empty() ? std::string_view(z.c.prefix) : lower, end, reverse,
                   z.c.prefix.size(), /*index=*/false, visit);
}

bool GetZSetScore(CommandContext& ctx, const ZSet& z, std::string_view member, double* score,
                  bool* found) {
  *found = false;
  if (member.size() > kMaxFieldBytes) return true;
  std::string value;
  Status s = ctx.txn.GetElement(ElementKeyOf(z.c, member), &value, found);
  if (!s.ok()) {
    EngineError(ctx, s);
    return false;
  }
  if (*found && !DecodeOrderedDouble(value, score)) {
    ctx.reply.Error(kCorruptScore);
    return false;
  }
  return true;
}

bool StoreZSetResult(CommandContext& ctx, std::string_view dst,
                     const std::vector<ZSetEntry>& entries) {
  uint64_t bytes = 0;
  for (const ZSetEntry& entry : entries) bytes += entry.member.size();
  if (entries.size() > kMaxZSetBatchMembers || bytes > kMaxZSetBatchBytes) {
    ctx.reply.Error(BatchTooLargeError("sorted set result too large to store"));
    return false;
  }
  if (entries.empty()) {
    Entry existing;
    bool exists = false;
    Status s = ctx.txn.Peek(dst, &existing, &exists);
    if (!s.ok()) {
      EngineError(ctx, s);
      return false;
    }
    if (exists) {
      ctx.txn.Delete(dst);
      NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", dst);
    }
    return true;
  }
  ZSet z;  // not found: a new version whatever dst held
  if (!CreateZSetIfAbsent(ctx, dst, &z)) return false;
  for (const ZSetEntry& entry : entries) PutMember(ctx, &z, entry.member, entry.score, nullptr);
  StoreZSet(ctx, dst, z);
  return true;
}

void ReplyZSetEntries(Reply& reply, const std::vector<ZSetEntry>& entries, bool with_scores) {
  const bool pairs = with_scores && reply.protocol() > 2;
  reply.Array(with_scores && !pairs ? 2 * entries.size() : entries.size());
  for (const ZSetEntry& entry : entries) {
    if (pairs) reply.Array(2);
    reply.Bulk(entry.member);
    if (with_scores) reply.Double(entry.score);
  }
}

bool PopZSet(CommandContext& ctx, std::string_view key, bool max, uint64_t count, bool* found,
             std::vector<ZSetEntry>* popped) {
  ZSet z;
  if (!ReadZSet(ctx, key, &z)) return false;
  *found = z.c.found;
  if (!z.c.found || count == 0) return true;
  const uint64_t n = std::min(count, z.c.meta.count);
  if (n > kMaxZSetBatchMembers) {
    ctx.reply.Error(BatchTooLargeError("too many sorted set members to pop"));
    return false;
  }
  std::vector<ZSetEntry> taken;
  uint64_t bytes = 0;
  bool over = false;
  if (!ScanIndex(ctx, z, {}, {}, max, [&](std::string_view member, double score) {
        bytes += member.size();
        if (bytes > kMaxZSetBatchBytes) {
          over = true;
          return false;
        }
        taken.push_back({std::string(member), score});
        return taken.size() < n;
      })) {
    return false;
  }
  if (over) {
    ctx.reply.Error(BatchTooLargeError("too many sorted set members to pop"));
    return false;
  }
  if (taken.size() != n) {
    ctx.reply.Error(kMissingMembers);
    return false;
  }
  for (const ZSetEntry& entry : taken) RemoveMember(ctx, &z, entry.member, entry.score);
  StoreZSet(ctx, key, z);
  NotifyKeyspaceEvent(ctx, kNotifyZset, max ? "zpopmax" : "zpopmin", key);
  NotifyIfEmptied(ctx, z.c.meta.count, key);
  popped->insert(popped->end(), std::make_move_iterator(taken.begin()),
                 std::make_move_iterator(taken.end()));
  return true;
}

void RegisterZSetCommands(CommandList* list) {
  const uint32_t kRead = kCmdReadOnly | kCmdFast;
  const uint32_t kWriteFast = kCmdWrite | kCmdFast;
  Add(list, "zadd", -4, kWriteFast, ZAdd);
  Add(list, "zincrby", 4, kWriteFast, ZIncrBy);
  Add(list, "zrem", -3, kWriteFast, ZRem);
  Add(list, "zcard", 2, kRead, ZCard);
  Add(list, "zscore", 3, kRead, ZScore);
  Add(list, "zmscore", -3, kRead, ZMScore);
  // O(rank) or O(M) here (scans of the index): not flagged fast.
  Add(list, "zrank", 3, kCmdReadOnly, ZRank);
  Add(list, "zrevrank", 3, kCmdReadOnly, ZRevRank);
  Add(list, "zcount", 4, kCmdReadOnly, ZCount);
  Add(list, "zlexcount", 4, kCmdReadOnly, ZLexCount);
  Add(list, "zrange", -4, kCmdReadOnly, ZRange);
  Add(list, "zrangestore", -5, kCmdWrite, ZRangeStore, 1, 2);
  Add(list, "zrevrange", -4, kCmdReadOnly, ZRevRange);
  Add(list, "zrangebyscore", -4, kCmdReadOnly, ZRangeByScore);
  Add(list, "zrevrangebyscore", -4, kCmdReadOnly, ZRevRangeByScore);
  Add(list, "zrangebylex", -4, kCmdReadOnly, ZRangeByLex);
  Add(list, "zrevrangebylex", -4, kCmdReadOnly, ZRevRangeByLex);
  Add(list, "zremrangebyrank", 4, kCmdWrite, ZRemRangeByRank);
  Add(list, "zremrangebyscore", 4, kCmdWrite, ZRemRangeByScore);
  Add(list, "zremrangebylex", 4, kCmdWrite, ZRemRangeByLex);
  Add(list, "zpopmin", -2, kWriteFast, ZPopMin);
  Add(list, "zpopmax", -2, kWriteFast, ZPopMax);
  Add(list, "zmpop", -4, kCmdWrite, ZMPop, 0, 0, NumKeysAt1);
  // Blocking: the connection parks the client while every key is empty
  // (BlockClient, blocking.h).
  Add(list, "bzpopmin", -3, kCmdWrite | kCmdFast, BZPopMin, 1, -2);
  Add(list, "bzpopmax", -3, kCmdWrite | kCmdFast, BZPopMax, 1, -2);
  Add(list, "bzmpop", -5, kCmdWrite, BZMPop, 0, 0, NumKeysAt2);
  Add(list, "zrandmember", -2, kCmdReadOnly, ZRandMember);
  Add(list, "zscan", -3, kCmdReadOnly, ZScan);
  RegisterZSetAlgebraCommands(list);
}

}  // namespace lsmkv::server
