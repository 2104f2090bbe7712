// Set commands: SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS,
// SRANDMEMBER, SPOP, SMOVE, SINTER, SINTERCARD, SUNION, SDIFF, SINTERSTORE,
// SUNIONSTORE, SDIFFSTORE, SSCAN. Replies and errors follow Redis 7.0
// (RESP3 sets where Redis 7.0 sends them).
//
// A set is a metadata record (its version, member count and deadline) and
// one engine key per member ('s' head member -> empty, collection.h), so
// members come in byte order. Every command reads the metadata of its keys
// once, works on the members of those versions through ctx.txn (whose
// pending element writes it reads back), and writes the metadata again
// when the count changed: all in the command's one WriteBatch. A set left
// without members is deleted.
//
// The set algebra: SINTER iterates the smallest set and probes the others
// (one point read each); SUNION and SDIFF merge the sets' sorted scans. A
// reply stops growing at ReplyByteBudget (the connection then refuses it);
// a *STORE result is bounded (kMaxStoreMembers, kMaxStoreBytes) because it
// is written in one batch.
#include <algorithm>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "server/collection.h"
#include "server/command_util.h"
#include "server/glob.h"
#include "server/notify.h"
#include "server/scan_cursors.h"

namespace lsmkv::server {

namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// SRANDMEMBER/SPOP read a set of at most this many members whole and sample
// it uniformly; a larger one is sampled by random seeks (not uniform) or by
// one reservoir pass.
constexpr uint64_t kRandomReadWhole = 1024;

// The most members, and member bytes, one command writes or deletes in its
// one batch (the *STORE results, SPOP's deletions): RENAME's bounds.
constexpr uint64_t kMaxStoreMembers = 1000000;
constexpr uint64_t kMaxStoreBytes = 64u << 20;

// Members a merge cursor reads per scan.
constexpr size_t kCursorBatch = 256;

using Set = Collection;

bool ReadSet(CommandContext& ctx, std::string_view key, Set* set) {
  return ReadCollection(ctx, key, ValueType::kSet, set);
}

std::string MemberKey(const Set& set, std::string_view member) { return ElementKeyOf(set, member); }

void EngineError(CommandContext& ctx, const Status& s) { ctx.reply.Error("ERR " + s.ToString()); }

void MissingMembersError(CommandContext& ctx) {
  ctx.reply.Error("ERR Corruption: lsmkv-server: set metadata counts members that are missing");
}

// True (after replying) if a member argument from args[first] on is too
// long to store.
bool MemberTooLarge(CommandContext& ctx, size_t first) {
  for (size_t i = first; i < ctx.args.size(); i++) {
    if (ctx.args[i].size() > kMaxFieldBytes) {
      ctx.reply.Error("ERR set member is too large (lsmkv-server set members are at most " +
                      std::to_string(kMaxFieldBytes) + " bytes)");
      return true;
    }
  }
  return false;
}

// *is_member: member belongs to the existing set. A member longer than any
// stored one is simply absent. Returns false after replying with an error.
bool HasMember(CommandContext& ctx, const Set& set, std::string_view member, bool* is_member) {
  *is_member = false;
  if (!set.found || member.size() > kMaxFieldBytes) return true;
  std::string value;
  Status s = ctx.txn.GetElement(MemberKey(set, member), &value, is_member);
  if (s.ok()) return true;
  EngineError(ctx, s);
  return false;
}

// Visits the members of set in byte order until visit returns false.
// Returns false after replying with an error.
bool ForEachMember(CommandContext& ctx, const Set& set,
                   const std::function<bool(std::string_view member)>& visit) {
  if (!set.found) return true;
  const size_t skip = set.prefix.size();
  Status s = ctx.txn.ScanElements(
      set.prefix, PrefixSuccessor(set.prefix),
      [&](std::string_view key, std::string_view) { return visit(key.substr(skip)); });
  if (s.ok()) return true;
  EngineError(ctx, s);
  return false;
}

// Writes members (a reply body of bulk strings) after a header of n: a
// RESP3 set (as_set) or an array.
void ReplyMembers(CommandContext& ctx, const std::vector<std::string>& members, bool as_set) {
  if (as_set) {
    ctx.reply.Set(members.size());
  } else {
    ctx.reply.Array(members.size());
  }
  for (const std::string& member : members) ctx.reply.Bulk(member);
}

// Bytes a bulk string reply of member takes (header, payload, CRLFs).
uint64_t BulkBytes(std::string_view member) { return member.size() + 16; }

void SAdd(CommandContext& ctx) {
  if (MemberTooLarge(ctx, 2)) return;
  const std::string& key = ctx.args[1];
  Set set;
  if (!ReadSet(ctx, key, &set) || !CreateCollectionIfAbsent(ctx, key, ValueType::kSet, &set)) {
    return;
  }
  int64_t added = 0;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    bool is_member = false;
    if (!HasMember(ctx, set, ctx.args[i], &is_member)) return;
    if (is_member) continue;  // present, or named twice (the write is read back)
    ctx.txn.PutElement(MemberKey(set, ctx.args[i]), "");
    set.meta.count++;
    added++;
  }
  // Like Redis, a SADD that adds nothing does not touch the key.
  if (added > 0) {
    StoreCollection(ctx, key, ValueType::kSet, set);
    NotifyKeyspaceEvent(ctx, kNotifySet, "sadd", key);
  }
  ctx.reply.Integer(added);
}

void SRem(CommandContext& ctx) {
  const std::string& key = ctx.args[1];
  Set set;
  if (!ReadSet(ctx, key, &set)) return;
  int64_t removed = 0;
  for (size_t i = 2; i < ctx.args.size() && set.found; i++) {
    bool is_member = false;
    if (!HasMember(ctx, set, ctx.args[i], &is_member)) return;
    if (!is_member) continue;  // absent, or named twice (the deletion is read back)
    ctx.txn.DeleteElement(MemberKey(set, ctx.args[i]));
    set.meta.count--;
    removed++;
  }
  if (removed > 0) {
    StoreCollection(ctx, key, ValueType::kSet, set);
    NotifyKeyspaceEvent(ctx, kNotifySet, "srem", key);
    NotifyIfEmptied(ctx, set.meta.count, key);
  }
  ctx.reply.Integer(removed);
}

void SCard(CommandContext& ctx) {
  Set set;
  if (!ReadSet(ctx, ctx.args[1], &set)) return;
  ctx.reply.Integer(set.found ? static_cast<int64_t>(set.meta.count) : 0);
}

void SIsMember(CommandContext& ctx) {
  Set set;
  if (!ReadSet(ctx, ctx.args[1], &set)) return;
  bool is_member = false;
  if (!HasMember(ctx, set, ctx.args[2], &is_member)) return;
  ctx.reply.Integer(is_member ? 1 : 0);
}

void SMIsMember(CommandContext& ctx) {
  Set set;
  if (!ReadSet(ctx, ctx.args[1], &set)) return;
  // Every probe before replying, so an engine error is the only reply.
  std::vector<bool> answers;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    bool is_member = false;
    if (!HasMember(ctx, set, ctx.args[i], &is_member)) return;
    answers.push_back(is_member);
  }
  ctx.reply.Array(answers.size());
  for (const bool answer : answers) ctx.reply.Integer(answer ? 1 : 0);
}

// Reads every member of set into *out, stopping once they take more than
// budget reply bytes (*over set then). Returns false after replying.
bool ReadMembers(CommandContext& ctx, const Set& set, uint64_t budget,
                 std::vector<std::string>* out, bool* over) {
  uint64_t bytes = 0;
  *over = false;
  return ForEachMember(ctx, set, [&](std::string_view member) {
    out->emplace_back(member);
    bytes += BulkBytes(member);
    if (bytes > budget) {
      *over = true;
      return false;
    }
    return true;
  });
}

void SMembers(CommandContext& ctx) {
  Set set;
  if (!ReadSet(ctx, ctx.args[1], &set)) return;
  std::vector<std::string> members;
  bool over = false;
  if (!ReadMembers(ctx, set, ReplyByteBudget(ctx), &members, &over)) return;
  ReplyMembers(ctx, members, /*as_set=*/true);
}

// Picks members of one set at random: uniformly from the set read whole
// (whole != nullptr), else by random seeks between its first and last
// member (found once, on the first pick).
class MemberPicker {
 public:
  MemberPicker(const Set& set, const std::vector<std::string>* whole)
      : set_(set), whole_(whole), upper_(PrefixSuccessor(set.prefix)) {}

  // One pick. Returns false after replying with an error.
  bool Pick(CommandContext& ctx, std::mt19937_64& rng, std::string* out) {
    if (whole_ != nullptr) {
      if (whole_->empty()) {
        MissingMembersError(ctx);
        return false;
      }
      *out = (*whole_)[rng() % whole_->size()];
      return true;
    }
    Status s;
    if (first_.empty()) {
      bool found = false;
      s = ctx.txn.ScanElements(set_.prefix, upper_, [&](std::string_view key, std::string_view) {
        first_.assign(key);
        return false;
      });
      if (s.ok() && !first_.empty()) s = ctx.txn.LastElement(set_.prefix, upper_, &last_, &found);
      if (s.ok() && !found) first_.clear();
    }
    bool found = false;
    auto take = [&](std::string_view key, std::string_view) {
      out->assign(key.substr(set_.prefix.size()));
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
    if (!found) {
      MissingMembersError(ctx);
      return false;
    }
    return true;
  }

 private:
  const Set& set_;
  const std::vector<std::string>* const whole_;
  const std::string upper_;
  std::string first_;  // element keys; empty until the first seek
  std::string last_;
};

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// A uniform sample of count distinct members of set (count < its size):
// the set read whole and shuffled if it is small, else one reservoir pass.
// Stops (*over) once the sample takes more than budget reply bytes.
// Returns false after replying with an error.
bool SampleDistinct(CommandContext& ctx, const Set& set, uint64_t count, uint64_t budget,
                    std::vector<std::string>* out, bool* over) {
  std::mt19937_64& rng = Rng();
  *over = false;
  uint64_t seen = 0;
  uint64_t bytes = 0;
  if (!ForEachMember(ctx, set, [&](std::string_view member) {
        seen++;
        if (out->size() < count) {
          out->emplace_back(member);
          bytes += BulkBytes(member);
        } else {
          const uint64_t slot = rng() % seen;
          if (slot < out->size()) {
            bytes = bytes - BulkBytes((*out)[slot]) + BulkBytes(member);
            (*out)[slot].assign(member);
          }
        }
        if (bytes > budget) *over = true;
        return !*over;
      })) {
    return false;
  }
  std::shuffle(out->begin(), out->end(), rng);
  return true;
}

// SRANDMEMBER key [count]
void SRandMember(CommandContext& ctx) {
  const auto& args = ctx.args;
  bool with_count = false, unused = false;
  int64_t count = 1;
  if (!ParseRandomCount(ctx, "", &with_count, &count, &unused)) return;
  Set set;
  if (!ReadSet(ctx, args[1], &set)) return;
  if (!set.found) {
    if (with_count) {
      ctx.reply.Array(0);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  std::mt19937_64& rng = Rng();
  const uint64_t size = set.meta.count;
  const uint64_t budget = ReplyByteBudget(ctx);
  std::vector<std::string> whole;
  const bool read_whole = size <= kRandomReadWhole;
  bool over = false;
  if (read_whole && !ReadMembers(ctx, set, UINT64_MAX, &whole, &over)) return;
  MemberPicker picker(set, read_whole ? &whole : nullptr);
  if (!with_count) {
    std::string pick;
    if (!picker.Pick(ctx, rng, &pick)) return;
    ctx.reply.Bulk(pick);
    return;
  }
  std::vector<std::string> picks;
  if (count < 0) {
    // Repetitions allowed: |count| independent picks, as many as the reply
    // budget allows.
    const uint64_t wanted = static_cast<uint64_t>(-count);
    uint64_t bytes = 0;
    while (picks.size() < wanted && bytes <= budget) {
      std::string pick;
      if (!picker.Pick(ctx, rng, &pick)) return;
      bytes += BulkBytes(pick);
      picks.push_back(std::move(pick));
    }
  } else if (static_cast<uint64_t>(count) >= size) {
    if (read_whole) {
      picks = std::move(whole);
    } else if (!ReadMembers(ctx, set, budget, &picks, &over)) {
      return;
    }
  } else if (read_whole) {
    std::shuffle(whole.begin(), whole.end(), rng);
    whole.resize(static_cast<size_t>(count));
    picks = std::move(whole);
  } else if (!SampleDistinct(ctx, set, static_cast<uint64_t>(count), budget, &picks, &over)) {
    return;
  }
  ReplyMembers(ctx, picks, /*as_set=*/false);
}

// SPOP key [count]. A pop that would write more than kMaxStoreMembers /
// kMaxStoreBytes, or whose reply would pass the reply budget, is refused
// (nothing popped).
void SPop(CommandContext& ctx) {
  const auto& args = ctx.args;
  if (args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const bool with_count = args.size() == 3;
  int64_t count = 1;
  if (with_count && (!ParseInt64(args[2], &count) || count < 0)) {
    ctx.reply.Error("ERR value is out of range, must be positive");
    return;
  }
  const std::string& key = args[1];
  Set set;
  if (!ReadSet(ctx, key, &set)) return;
  if (!with_count) {
    if (!set.found) {
      ctx.reply.Null();
      return;
    }
    std::vector<std::string> whole;
    bool over = false;
    const bool read_whole = set.meta.count <= kRandomReadWhole;
    if (read_whole && !ReadMembers(ctx, set, UINT64_MAX, &whole, &over)) return;
    MemberPicker picker(set, read_whole ? &whole : nullptr);
    std::string pick;
    if (!picker.Pick(ctx, Rng(), &pick)) return;
    ctx.txn.DeleteElement(MemberKey(set, pick));
    set.meta.count--;
    StoreCollection(ctx, key, ValueType::kSet, set);
    NotifyKeyspaceEvent(ctx, kNotifySet, "spop", key);
    NotifyIfEmptied(ctx, set.meta.count, key);
    ctx.reply.Bulk(pick);
    return;
  }
  if (!set.found || count == 0) {
    ctx.reply.Set(0);
    return;
  }
  const uint64_t budget = ReplyByteBudget(ctx);
  std::vector<std::string> picks;
  bool over = false;
  const bool whole_set = static_cast<uint64_t>(count) >= set.meta.count;
  if (whole_set) {
    // Every member: the key's deletion alone ends them all (one write).
    if (!ReadMembers(ctx, set, budget, &picks, &over)) return;
  } else if (static_cast<uint64_t>(count) > kMaxStoreMembers) {
    over = true;
  } else if (!SampleDistinct(ctx, set, static_cast<uint64_t>(count),
                             std::min(budget, kMaxStoreBytes), &picks, &over)) {
    return;
  }
  if (over) {
    ctx.reply.Error("ERR SPOP count too large (lsmkv-server pops at most " +
                    std::to_string(kMaxStoreMembers) + " members and " +
                    std::to_string(kMaxStoreBytes >> 20) +
                    " MiB of them, within the client output buffer limit, in one atomic write)");
    return;
  }
  if (whole_set) {
    if (picks.empty()) {
      MissingMembersError(ctx);
      return;
    }
    set.meta.count = 0;
  } else {
    for (const std::string& member : picks) ctx.txn.DeleteElement(MemberKey(set, member));
    set.meta.count -= picks.size();
  }
  StoreCollection(ctx, key, ValueType::kSet, set);
  NotifyKeyspaceEvent(ctx, kNotifySet, "spop", key);
  NotifyIfEmptied(ctx, set.meta.count, key);
  ReplyMembers(ctx, picks, /*as_set=*/true);
}

// SMOVE source destination member
void SMove(CommandContext& ctx) {
  const std::string& src_key = ctx.args[1];
  const std::string& dst_key = ctx.args[2];
  const std::string& member = ctx.args[3];
  Set src;
  if (!ReadSet(ctx, src_key, &src)) return;
  if (!src.found) {
    ctx.reply.Integer(0);  // Redis: before looking at the destination's type
    return;
  }
  Set dst;
  if (!ReadSet(ctx, dst_key, &dst)) return;
  bool is_member = false;
  if (!HasMember(ctx, src, member, &is_member)) return;
  if (!is_member || src_key == dst_key) {
    ctx.reply.Integer(is_member ? 1 : 0);
    return;
  }
  ctx.txn.DeleteElement(MemberKey(src, member));
  src.meta.count--;
  StoreCollection(ctx, src_key, ValueType::kSet, src);
  NotifyKeyspaceEvent(ctx, kNotifySet, "srem", src_key);
  NotifyIfEmptied(ctx, src.meta.count, src_key);
  bool in_dst = false;
  if (!HasMember(ctx, dst, member, &in_dst) ||
      !CreateCollectionIfAbsent(ctx, dst_key, ValueType::kSet, &dst)) {
    return;
  }
  if (!in_dst) {
    ctx.txn.PutElement(MemberKey(dst, member), "");
    dst.meta.count++;
  }
  StoreCollection(ctx, dst_key, ValueType::kSet, dst);
  if (!in_dst) NotifyKeyspaceEvent(ctx, kNotifySet, "sadd", dst_key);
  ctx.reply.Integer(1);
}

// Reads the sets named by args[first, last) (each one's type checked, as
// Redis 7.0 does even once one is absent). Returns false after replying.
bool ReadSets(CommandContext& ctx, size_t first, size_t last, std::vector<Set>* sets) {
  sets->resize(last - first);
  for (size_t i = first; i < last; i++) {
    if (!ReadSet(ctx, ctx.args[i], &(*sets)[i - first])) return false;
  }
  return true;
}

// Receives one member of a result in byte order; false to stop.
using Emit = std::function<bool(std::string_view member)>;

// The intersection of sets: the smallest set's members, each probed in the
// others. Returns false after replying with an error.
bool Intersect(CommandContext& ctx, const std::vector<Set>& sets, const Emit& emit) {
  size_t smallest = 0;
  for (size_t i = 0; i < sets.size(); i++) {
    if (!sets[i].found) return true;
    if (sets[i].meta.count < sets[smallest].meta.count) smallest = i;
  }
  Status probe_status;
  std::string value;
  if (!ForEachMember(ctx, sets[smallest], [&](std::string_view member) {
        for (size_t i = 0; i < sets.size(); i++) {
          if (i == smallest || sets[i].prefix == sets[smallest].prefix) continue;
          bool found = false;
          probe_status = ctx.txn.GetElement(MemberKey(sets[i], member), &value, &found);
          if (!probe_status.ok()) return false;
          if (!found) return true;
        }
        return emit(member);
      })) {
    return false;
  }
  if (probe_status.ok()) return true;
  EngineError(ctx, probe_status);
  return false;
}

// Reads one set's members in byte order, kCursorBatch at a time.
class MemberCursor {
 public:
  explicit MemberCursor(const Set& set)
      : prefix_size_(set.prefix.size()),
        lower_(set.prefix),
        upper_(PrefixSuccessor(set.prefix)),
        done_(!set.found) {}

  // *head: the current member, or null at the end. Errors: the engine's.
  Status Head(Txn& txn, const std::string** head) {
    if (pos_ == batch_.size() && !done_) {
      batch_.clear();
      pos_ = 0;
      Status s = txn.ScanElements(lower_, upper_, [&](std::string_view key, std::string_view) {
        batch_.emplace_back(key.substr(prefix_size_));
        return batch_.size() < kCursorBatch;
      });
      if (!s.ok()) return s;
      if (batch_.size() < kCursorBatch) {
        done_ = true;
      } else {
        lower_.resize(prefix_size_);
        lower_.append(batch_.back());
        lower_.push_back('\0');  // the first member after the batch
      }
    }
    *head = pos_ < batch_.size() ? &batch_[pos_] : nullptr;
    return Status::OK();
  }
  void Advance() { pos_++; }

 private:
  const size_t prefix_size_;
  std::string lower_;
  const std::string upper_;
  bool done_;
  std::vector<std::string> batch_;
  size_t pos_ = 0;
};

// The union (diff = false) or the difference of the first set and the
// others (diff = true), by merging the sorted members of every set.
// Returns false after replying with an error.
bool Merge(CommandContext& ctx, const std::vector<Set>& sets, bool diff, const Emit& emit) {
  if (diff && !sets[0].found) return true;
  std::vector<MemberCursor> cursors;
  cursors.reserve(sets.size());
  for (const Set& set : sets) cursors.emplace_back(set);
  std::vector<const std::string*> heads(sets.size());
  Status s;
  auto fail = [&] {
    EngineError(ctx, s);
    return false;
  };
  while (true) {
    for (size_t i = 0; i < cursors.size(); i++) {
      s = cursors[i].Head(ctx.txn, &heads[i]);
      if (!s.ok()) return fail();
    }
    if (diff) {
      if (heads[0] == nullptr) return true;
      const std::string member = *heads[0];
      bool excluded = false;
      for (size_t i = 1; i < cursors.size() && !excluded; i++) {
        while (heads[i] != nullptr && *heads[i] < member) {
          cursors[i].Advance();
          s = cursors[i].Head(ctx.txn, &heads[i]);
          if (!s.ok()) return fail();
        }
        excluded = heads[i] != nullptr && *heads[i] == member;
      }
      cursors[0].Advance();
      if (!excluded && !emit(member)) return true;
    } else {
      const std::string* min = nullptr;
      for (const std::string* head : heads) {
        if (head != nullptr && (min == nullptr || *head < *min)) min = head;
      }
      if (min == nullptr) return true;
      const std::string member = *min;
      for (size_t i = 0; i < cursors.size(); i++) {
        if (heads[i] != nullptr && *heads[i] == member) cursors[i].Advance();
      }
      if (!emit(member)) return true;
    }
  }
}

enum class SetOp { kInter, kUnion, kDiff };

bool Compute(CommandContext& ctx, SetOp op, const std::vector<Set>& sets, const Emit& emit) {
  if (op == SetOp::kInter) return Intersect(ctx, sets, emit);
  return Merge(ctx, sets, op == SetOp::kDiff, emit);
}

// SINTER / SUNION / SDIFF key [key ...]: a RESP3 set in byte order.
void SetOpReply(CommandContext& ctx, SetOp op) {
  std::vector<Set> sets;
  if (!ReadSets(ctx, 1, ctx.args.size(), &sets)) return;
  const uint64_t budget = ReplyByteBudget(ctx);
  std::vector<std::string> members;
  uint64_t bytes = 0;
  if (!Compute(ctx, op, sets, [&](std::string_view member) {
        members.emplace_back(member);
        bytes += BulkBytes(member);
        return bytes <= budget;
      })) {
    return;
  }
  ReplyMembers(ctx, members, /*as_set=*/true);
}
void SInter(CommandContext& ctx) { SetOpReply(ctx, SetOp::kInter); }
void SUnion(CommandContext& ctx) { SetOpReply(ctx, SetOp::kUnion); }
void SDiff(CommandContext& ctx) { SetOpReply(ctx, SetOp::kDiff); }

// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the
// destination becomes a new set version holding the result (whatever it
// held is replaced, its deadline dropped), or is deleted if the result is
// empty. A result over kMaxStoreMembers / kMaxStoreBytes is refused before
// anything is written.
void SetOpStore(CommandContext& ctx, SetOp op) {
  const std::string& dst_key = ctx.args[1];
  std::vector<Set> sets;
  if (!ReadSets(ctx, 2, ctx.args.size(), &sets)) return;
  std::vector<std::string> members;
  uint64_t bytes = 0;
  bool over = false;
  if (!Compute(ctx, op, sets, [&](std::string_view member) {
        bytes += member.size();
        if (members.size() >= kMaxStoreMembers || bytes > kMaxStoreBytes) {
          over = true;
          return false;
        }
        members.emplace_back(member);
        return true;
      })) {
    return;
  }
  if (over) {
    ctx.reply.Error("ERR set result too large to store (lsmkv-server stores at most " +
                    std::to_string(kMaxStoreMembers) + " members and " +
                    std::to_string(kMaxStoreBytes >> 20) + " MiB of them in one atomic write)");
    return;
  }
  // An empty result deletes the destination: "del" if it existed.
  bool dst_existed = false;
  if (members.empty() && ctx.txn.events().Wants(kNotifyGeneric)) {
    Entry old;
    if (!ctx.txn.Peek(dst_key, &old, &dst_existed).ok()) dst_existed = false;
  }
  Set dst;  // found == false: always a new version
  if (!members.empty() && !CreateCollectionIfAbsent(ctx, dst_key, ValueType::kSet, &dst)) return;
  for (const std::string& member : members) ctx.txn.PutElement(MemberKey(dst, member), "");
  dst.meta.count = members.size();
  StoreCollection(ctx, dst_key, ValueType::kSet, dst);
  if (!members.empty()) {
    static constexpr const char* kEvents[] = {"sinterstore", "sunionstore", "sdiffstore"};
    NotifyKeyspaceEvent(ctx, kNotifySet,
                        op == SetOp::kInter   ? kEvents[0]
                        : op == SetOp::kUnion ? kEvents[1]
                                              : kEvents[2],
                        dst_key);
  } else if (dst_existed) {
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", dst_key);
  }
  ctx.reply.Integer(static_cast<int64_t>(members.size()));
}
void SInterStore(CommandContext& ctx) { SetOpStore(ctx, SetOp::kInter); }
void SUnionStore(CommandContext& ctx) { SetOpStore(ctx, SetOp::kUnion); }
void SDiffStore(CommandContext& ctx) { SetOpStore(ctx, SetOp::kDiff); }

// SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size,
// counting stops at limit (0 = no limit).
void SInterCard(CommandContext& ctx) {
  const auto& args = ctx.args;
  int64_t numkeys = 0;
  if (!ParseInt64(args[1], &numkeys) || numkeys <= 0) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return;
  }
  if (static_cast<uint64_t>(numkeys) > args.size() - 2) {
    ctx.reply.Error("ERR Number of keys can't be greater than number of args");
    return;
  }
  const size_t keys_end = 2 + static_cast<size_t>(numkeys);
  int64_t limit = 0;
  for (size_t i = keys_end; i < args.size(); i += 2) {
    if (!EqualsIgnoreCase(args[i], "limit") || i + 1 >= args.size()) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    if (!ParseInt64(args[i + 1], &limit) || limit < 0) {
      ctx.reply.Error("ERR LIMIT can't be negative");
      return;
    }
  }
  std::vector<Set> sets;
  if (!ReadSets(ctx, 2, keys_end, &sets)) return;
  int64_t n = 0;
  if (!Intersect(ctx, sets, [&](std::string_view) { return ++n != limit; })) return;
  ctx.reply.Integer(n);
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: like SCAN, in member
// order; the cursor maps to the last member examined (ScanCursors).
void SScan(CommandContext& ctx) {
  const auto& args = ctx.args;
  uint64_t cursor = 0;
  if (!ParseScanCursor(ctx, args[2], &cursor)) return;
  Set set;
  if (!ReadSet(ctx, args[1], &set)) return;
  if (!set.found) {
    ctx.reply.Array(2);
    ctx.reply.Bulk("0");
    ctx.reply.Array(0);
    return;
  }
  ScanOptions options;
  if (!ParseScanOptions(ctx, 3, /*allow_type=*/false, &options)) return;
  std::string lower = set.prefix;
  if (cursor != 0) {
    std::string position;
    if (!ctx.server.cursors->Find(cursor, &position)) {
      ctx.reply.Error("ERR invalid cursor");
      return;
    }
    lower.append(position);
    lower.push_back('\0');  // the first member after the position
  }
  std::vector<std::string> found;
  std::string last;
  int64_t examined = 0;
  bool more = false;
  const size_t skip = set.prefix.size();
  Status s = ctx.txn.ScanElements(
      lower, PrefixSuccessor(set.prefix), [&](std::string_view key, std::string_view) {
        if (examined == options.count) {
          more = true;
          return false;
        }
        examined++;
        const std::string_view member = key.substr(skip);
        last.assign(member);
        if (!options.has_pattern || GlobMatch(options.pattern, member)) {
          found.emplace_back(member);
        }
        return true;
      });
  if (!s.ok()) {
    EngineError(ctx, s);
    return;
  }
  const uint64_t next = more ? ctx.server.cursors->Save(last) : 0;
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(next));
  ReplyMembers(ctx, found, /*as_set=*/false);
}

// SINTERCARD's keys: numkeys of them from args[2].
void SInterCardKeys(const std::vector<std::string>& args, std::vector<std::string_view>* keys) {
  CollectNumKeys(args, 1, 2, keys);
}

void Add(CommandList* list, const char* name, int arity, uint32_t flags, int first_key,
         int last_key, CommandHandler handler, KeyFinder find_keys = nullptr) {
  const int key_step = first_key > 0 ? 1 : 0;
  list->push_back(std::unique_ptr<CommandSpec>(new CommandSpec{
      name, arity, flags, first_key, last_key, key_step, "set", handler, {}, find_keys}));
}

}  // namespace

void RegisterSetCommands(CommandList* list) {
  const uint32_t kRead = kCmdReadOnly | kCmdFast;
  const uint32_t kWriteFast = kCmdWrite | kCmdFast;
  Add(list, "sadd", -3, kWriteFast, 1, 1, SAdd);
  Add(list, "srem", -3, kWriteFast, 1, 1, SRem);
  Add(list, "scard", 2, kRead, 1, 1, SCard);
  Add(list, "sismember", 3, kRead, 1, 1, SIsMember);
  Add(list, "smismember", -3, kRead, 1, 1, SMIsMember);
  Add(list, "spop", -2, kWriteFast, 1, 1, SPop);
  Add(list, "smove", 4, kWriteFast, 1, 2, SMove);
  // O(N) in the sets, not the keyspace: they stay on the event loop like
  // Redis's, bounded by the reply budget (or the store bounds).
  Add(list, "smembers", 2, kCmdReadOnly, 1, 1, SMembers);
  Add(list, "srandmember", -2, kCmdReadOnly, 1, 1, SRandMember);
  Add(list, "sinter", -2, kCmdReadOnly, 1, -1, SInter);
  Add(list, "sintercard", -3, kCmdReadOnly, 0, 0, SInterCard, SInterCardKeys);
  Add(list, "sunion", -2, kCmdReadOnly, 1, -1, SUnion);
  Add(list, "sdiff", -2, kCmdReadOnly, 1, -1, SDiff);
  Add(list, "sinterstore", -3, kCmdWrite, 1, -1, SInterStore);
  Add(list, "sunionstore", -3, kCmdWrite, 1, -1, SUnionStore);
  Add(list, "sdiffstore", -3, kCmdWrite, 1, -1, SDiffStore);
  Add(list, "sscan", -3, kCmdReadOnly, 1, 1, SScan);
}

}  // namespace lsmkv::server
