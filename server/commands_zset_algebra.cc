// Sorted-set algebra: ZUNION, ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE,
// ZDIFFSTORE (WEIGHTS, AGGREGATE SUM|MIN|MAX, WITHSCORES) and ZINTERCARD
// (LIMIT). Replies and errors follow Redis 7.0. Sources may be sorted sets
// or sets (a set member scores 1), as in Redis; absent keys are empty.
//
// Every result is built in memory, bounded like a *STORE batch: beyond
// kMaxZSetBatchMembers members or kMaxZSetBatchBytes bytes of member names
// the command is refused (and changes nothing). Results are ordered by
// score, then member.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "server/collection.h"
#include "server/commands_zset.h"
#include "server/notify.h"

namespace lsmkv::server {

namespace {

enum class SetOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

// One input key: a sorted set, a set (scores 1), or absent (empty).
struct Source {
  bool found = false;
  bool is_set = false;
  ZSet z;  // a set's collection is z.c (its members are 's' keys)
  double weight = 1;
  uint64_t count() const { return found ? z.c.meta.count : 0; }
};

// Reads key as a source. Returns false after replying (WRONGTYPE...).
bool ReadSource(CommandContext& ctx, const std::string& key, Source* source) {
  Entry entry;
  bool found = false;
  if (!ReadKey(ctx, key, &entry, &found)) return false;
  source->found = found;
  if (!found) return true;
  if (entry.type == ValueType::kSet) {
    source->is_set = true;
    return ReadCollection(ctx, key, ValueType::kSet, &source->z.c);
  }
  if (entry.type != ValueType::kZSet) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  return ReadZSet(ctx, key, &source->z);
}

// Visits every member of source with its score (unweighted).
bool ForEachMember(CommandContext& ctx, const Source& source, const ZSetVisitor& visit) {
  if (!source.found) return true;
  if (!source.is_set) return ScanZSetMembers(ctx, source.z, {}, {}, false, visit);
  const std::string& prefix = source.z.c.prefix;
  Status s = ctx.txn.ScanElements(prefix, PrefixSuccessor(prefix),
                                  [&](std::string_view key, std::string_view) {
                                    return visit(key.substr(prefix.size()), 1.0);
                                  });
  if (s.ok()) return true;
  ctx.reply.Error("ERR " + s.ToString());
  return false;
}

// The unweighted score of member in source (found).
bool FindMember(CommandContext& ctx, const Source& source, std::string_view member, double* score,
                bool* found) {
  *found = false;
  if (!source.found) return true;
  if (!source.is_set) return GetZSetScore(ctx, source.z, member, score, found);
  if (member.size() > kMaxFieldBytes) return true;
  std::string value;
  Status s = ctx.txn.GetElement(ElementKeyOf(source.z.c, member), &value, found);
  if (!s.ok()) {
    ctx.reply.Error("ERR " + s.ToString());
    return false;
  }
  *score = 1.0;
  return true;
}

double Weighted(double weight, double score) {
  const double value = weight * score;
  return std::isnan(value) ? 0.0 : value;  // 0 * inf
}

void Combine(Aggregate aggregate, double value, double* target) {
  switch (aggregate) {
    case Aggregate::kSum:
      *target += value;
      if (std::isnan(*target)) *target = 0.0;  // inf + -inf
      break;
    case Aggregate::kMin:
      if (value < *target) *target = value;
      break;
    case Aggregate::kMax:
      if (value > *target) *target = value;
      break;
  }
}

const char kResultTooLarge[] =
    "ERR sorted set result too large (lsmkv-server builds at most 1000000 members and 64 MiB of "
    "them in one result)";

// Accumulates result members within the batch bounds.
class Result {
 public:
  // Adds member (or combines its score); false once over the bounds.
  bool Add(std::string_view member, double score, Aggregate aggregate) {
    auto it = index_.find(std::string(member));
    if (it != index_.end()) {
      Combine(aggregate, score, &entries_[it->second].score);
      return true;
    }
    bytes_ += member.size();
    if (entries_.size() >= kMaxZSetBatchMembers || bytes_ > kMaxZSetBatchBytes) {
      over_ = true;
      return false;
    }
    index_.emplace(std::string(member), entries_.size());
    entries_.push_back({std::string(member), score});
    return true;
  }
  bool over() const { return over_; }
  // The entries by score, then member.
  std::vector<ZSetEntry> Sorted() {
    std::sort(entries_.begin(), entries_.end(), [](const ZSetEntry& a, const ZSetEntry& b) {
      return a.score != b.score ? a.score < b.score : a.member < b.member;
    });
    return std::move(entries_);
  }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<ZSetEntry> entries_;
  uint64_t bytes_ = 0;
  bool over_ = false;
};

// Z{UNION,INTER,DIFF}[STORE], ZINTERCARD. store: args[1] is the destination
// and numkeys is args[2]; cardinality_only: ZINTERCARD.
void ZSetOpGeneric(CommandContext& ctx, SetOp op, bool store, bool cardinality_only = false) {
  const auto& args = ctx.args;
  const size_t numkeys_index = store ? 2 : 1;
  int64_t numkeys = 0;
  if (!ParseIntArg(ctx, args[numkeys_index], &numkeys)) return;
  if (numkeys < 1) {
    ctx.reply.Error("ERR at least 1 input key is needed for '" + std::string(ctx.spec.name) +
                    "' command");
    return;
  }
  if (numkeys > static_cast<int64_t>(args.size() - numkeys_index - 1)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const size_t n = static_cast<size_t>(numkeys);
  std::vector<Source> sources(n);
  for (size_t i = 0; i < n; i++) {
    if (!ReadSource(ctx, args[numkeys_index + 1 + i], &sources[i])) return;
  }
  Aggregate aggregate = Aggregate::kSum;
  bool with_scores = false;
  int64_t limit = 0;  // ZINTERCARD; 0 = none
  for (size_t j = numkeys_index + 1 + n; j < args.size();) {
    const size_t remaining = args.size() - j;
    if (op != SetOp::kDiff && !cardinality_only && remaining >= n + 1 &&
        EqualsIgnoreCase(args[j], "weights")) {
      j++;
      for (size_t i = 0; i < n; i++, j++) {
        if (!ParseZSetScore(args[j], &sources[i].weight)) {
          ctx.reply.Error("ERR weight value is not a float");
          return;
        }
      }
    } else if (op != SetOp::kDiff && !cardinality_only && remaining >= 2 &&
               EqualsIgnoreCase(args[j], "aggregate")) {
      const std::string& how = args[j + 1];
      if (EqualsIgnoreCase(how, "sum")) {
        aggregate = Aggregate::kSum;
      } else if (EqualsIgnoreCase(how, "min")) {
        aggregate = Aggregate::kMin;
      } else if (EqualsIgnoreCase(how, "max")) {
        aggregate = Aggregate::kMax;
      } else {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      j += 2;
    } else if (cardinality_only && remaining >= 2 && EqualsIgnoreCase(args[j], "limit")) {
      if (!ParseInt64(args[j + 1], &limit) || limit < 0) {
        ctx.reply.Error("ERR LIMIT can't be negative");
        return;
      }
      j += 2;
    } else if (!store && !cardinality_only && EqualsIgnoreCase(args[j], "withscores")) {
      with_scores = true;
      j++;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }

  Result result;
  int64_t cardinality = 0;
  if (op == SetOp::kUnion) {
    // Smallest first (as Redis orders the sources), each member combined.
    std::vector<const Source*> order;
    for (const Source& source : sources) order.push_back(&source);
    std::stable_sort(order.begin(), order.end(),
                     [](const Source* a, const Source* b) { return a->count() < b->count(); });
    for (const Source* source : order) {
      if (!ForEachMember(ctx, *source, [&](std::string_view member, double score) {
            return result.Add(member, Weighted(source->weight, score), aggregate);
          })) {
        return;
      }
      if (result.over()) break;
    }
  } else {
    // ZINTER walks the smallest source and looks each member up in the
    // others; ZDIFF walks the first and looks it up in the rest.
    std::vector<const Source*> order;
    for (const Source& source : sources) order.push_back(&source);
    if (op == SetOp::kInter) {
      std::stable_sort(order.begin(), order.end(),
                       [](const Source* a, const Source* b) { return a->count() < b->count(); });
    }
    const bool empty =
        op == SetOp::kInter ? order[0]->count() == 0 || !order[0]->found : !order[0]->found;
    bool stop = false;
    if (!empty && !ForEachMember(ctx, *order[0], [&](std::string_view member, double score) {
          double value = op == SetOp::kInter ? Weighted(order[0]->weight, score) : score;
          for (size_t i = 1; i < order.size(); i++) {
            double other = 0;
            bool found = false;
            if (!FindMember(ctx, *order[i], member, &other, &found)) {
              stop = true;  // replied
              return false;
            }
            if (op == SetOp::kDiff && found) return true;
            if (op == SetOp::kInter) {
              if (!found) return true;
              // Unlike a first score, a NaN here is left to Combine: a SUM
              // becomes 0, MIN and MAX ignore it (as in Redis).
              Combine(aggregate, order[i]->weight * other, &value);
            }
          }
          if (cardinality_only) {
            cardinality++;
            return limit == 0 || cardinality < limit;
          }
          return result.Add(member, value, aggregate);
        })) {
      return;
    }
    if (stop) return;
  }
  if (cardinality_only) {
    ctx.reply.Integer(cardinality);
    return;
  }
  if (result.over()) {
    ctx.reply.Error(kResultTooLarge);
    return;
  }
  const std::vector<ZSetEntry> entries = result.Sorted();
  if (store) {
    if (!StoreZSetResult(ctx, args[1], entries)) return;
    if (!entries.empty()) {
      NotifyKeyspaceEvent(ctx, kNotifyZset,
                          op == SetOp::kUnion   ? "zunionstore"
                          : op == SetOp::kInter ? "zinterstore"
                                                : "zdiffstore",
                          args[1]);
    }
    ctx.reply.Integer(static_cast<int64_t>(entries.size()));
    return;
  }
  ReplyZSetEntries(ctx.reply, entries, with_scores);
}

void ZUnion(CommandContext& ctx) { ZSetOpGeneric(ctx, SetOp::kUnion, false); }
void ZInter(CommandContext& ctx) { ZSetOpGeneric(ctx, SetOp::kInter, false); }
void ZDiff(CommandContext& ctx) { ZSetOpGeneric(ctx, SetOp::kDiff, false); }
void ZUnionStore(CommandContext& ctx) { ZSetOpGeneric(ctx, SetOp::kUnion, true); }
void ZInterStore(CommandContext& ctx) { ZSetOpGeneric(ctx, SetOp::kInter, true); }
void ZDiffStore(CommandContext& ctx) { ZSetOpGeneric(ctx, SetOp::kDiff, true); }
void ZInterCard(CommandContext& ctx) { ZSetOpGeneric(ctx, SetOp::kInter, false, true); }

void NumKeysAt1(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  CollectNumKeys(args, 1, 2, keys);
}

// The destination, then numkeys sources.
void DestinationAndNumKeys(const std::vector<std::string>& args,
                           std::vector<std::string_view>* keys) {
  if (args.size() > 1) keys->push_back(args[1]);
  CollectNumKeys(args, 2, 3, keys);
}

// first_key, last_key: what COMMAND INFO reports (as Redis: 0 when the keys
// follow numkeys, the destination for the *STORE forms); find_keys is what
// the dispatcher locks.
void Add(CommandList* list, const char* name, int arity, uint32_t flags, CommandHandler handler,
         int first_key, KeyFinder find_keys) {
  list->push_back(std::unique_ptr<CommandSpec>(new CommandSpec{
      name, arity, flags, first_key, first_key, first_key, "sortedset", handler, {}, find_keys}));
}

}  // namespace

void RegisterZSetAlgebraCommands(CommandList* list) {
  Add(list, "zunion", -3, kCmdReadOnly, ZUnion, 0, NumKeysAt1);
  Add(list, "zinter", -3, kCmdReadOnly, ZInter, 0, NumKeysAt1);
  Add(list, "zdiff", -3, kCmdReadOnly, ZDiff, 0, NumKeysAt1);
  Add(list, "zintercard", -3, kCmdReadOnly, ZInterCard, 0, NumKeysAt1);
  Add(list, "zunionstore", -4, kCmdWrite, ZUnionStore, 1, DestinationAndNumKeys);
  Add(list, "zinterstore", -4, kCmdWrite, ZInterStore, 1, DestinationAndNumKeys);
  Add(list, "zdiffstore", -4, kCmdWrite, ZDiffStore, 1, DestinationAndNumKeys);
}

}  // namespace lsmkv::server
