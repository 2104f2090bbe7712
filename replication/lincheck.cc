#include "replication/lincheck.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace lsmkv::lincheck {

namespace {

// ------------------------------------------------------------------ describing

constexpr size_t kMaxShownValue = 40;

// A value as one token: bare if it is a short plain word or number, else
// quoted (and cut to kMaxShownValue characters with "..." if longer).
std::string Token(const std::string& s) {
  bool plain = !s.empty() && s.size() <= kMaxShownValue;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShownValue; ++i) {
    const char c = s[i];
    if (c == '"' || c == '\\') out += '\\';
    if (std::isprint(static_cast<unsigned char>(c))) {
      out += c;
    } else {
      out += '?';
    }
  }
  out += s.size() > kMaxShownValue ? "...\"" : "\"";
  return out;
}

std::string ValueToken(const Value& v) { return v.has_value() ? Token(*v) : "nil"; }

const char* KindName(OpKind kind) {
  switch (kind) {
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return "write";
    case OpKind::kCas:
      return "cas";
    case OpKind::kAppend:
      return "append";
  }
  return "?";
}

}  // namespace

std::string DescribeValue(const Value& v, bool quote) {
  if (!v.has_value()) return "nil";
  return quote ? "\"" + *v + "\"" : *v;
}

std::string DescribeOperation(const Operation& op) {
  std::string s = "client " + std::to_string(op.client) + " " + KindName(op.kind);
  switch (op.kind) {
    case OpKind::kRead:
      s += op.outcome == Outcome::kOk ? " -> " + ValueToken(op.output) : " -> ?";
      break;
    case OpKind::kWrite:
    case OpKind::kAppend:
      s += " " + Token(op.value);
      break;
    case OpKind::kCas:
      s += " " + ValueToken(op.expected) + "->" + Token(op.value);
      break;
  }
  switch (op.outcome) {
    case Outcome::kOk:
      if (op.kind == OpKind::kCas) s += " ok";
      break;
    case Outcome::kFail:
      s += " failed";
      break;
    case Outcome::kUnknown:
      s += " (outcome unknown)";
      break;
  }
  s += " [call " + std::to_string(op.call);
  s +=
      op.outcome == Outcome::kUnknown ? ", no return]" : ", return " + std::to_string(op.ret) + "]";
  if (op.tag >= 0 && op.tag != op.call) s += " #" + std::to_string(op.tag);
  return s;
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "linearizable";
    case Verdict::kIllegal:
      return "not linearizable";
    case Verdict::kUnknown:
      return "unknown";
    case Verdict::kInvalid:
      return "invalid";
  }
  return "?";
}

// ------------------------------------------------------------------ models

std::string RegisterModel::Validate(const Operation& op) const {
  if (op.kind == OpKind::kAppend) return "the register model has no append";
  return "";
}

bool RegisterModel::Constrains(const Operation& op) const {
  if (op.kind == OpKind::kRead) return op.outcome == Outcome::kOk;
  return op.kind == OpKind::kCas || op.outcome != Outcome::kFail;
}

bool RegisterModel::Step(const Value& state, const Operation& op, Value* next) const {
  switch (op.kind) {
    case OpKind::kRead:
      *next = state;
      return op.outcome != Outcome::kOk || op.output == state;
    case OpKind::kWrite:
      *next = op.outcome == Outcome::kFail ? state : Value(op.value);
      return true;
    case OpKind::kCas: {
      const bool match = state == op.expected;
      *next = match && op.outcome != Outcome::kFail ? Value(op.value) : state;
      switch (op.outcome) {
        case Outcome::kOk:
          return match;
        case Outcome::kFail:
          return !match;
        case Outcome::kUnknown:
          return true;
      }
      return false;
    }
    case OpKind::kAppend:
      break;
  }
  assert(false && "RegisterModel::Step: operation not validated");
  return false;
}

std::string RegisterModel::DescribeState(const Value& state) const { return ValueToken(state); }

std::string KvModel::Validate(const Operation& op) const {
  if (op.kind == OpKind::kCas) return "the key-value model has no cas";
  return "";
}

bool KvModel::Constrains(const Operation& op) const {
  if (op.kind == OpKind::kRead) return op.outcome == Outcome::kOk;
  return op.outcome != Outcome::kFail;
}

bool KvModel::Step(const Value& state, const Operation& op, Value* next) const {
  switch (op.kind) {
    case OpKind::kRead:
      *next = state;
      return op.outcome != Outcome::kOk || op.output.value_or("") == state.value_or("");
    case OpKind::kWrite:
      *next = op.outcome == Outcome::kFail ? state : Value(op.value);
      return true;
    case OpKind::kAppend:
      *next = op.outcome == Outcome::kFail ? state : Value(state.value_or("") + op.value);
      return true;
    case OpKind::kCas:
      break;
  }
  assert(false && "KvModel::Step: operation not validated");
  return false;
}

std::string KvModel::DescribeState(const Value& state) const { return Token(state.value_or("")); }

// ------------------------------------------------------------------ the search

namespace {

uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The budget of one Check call, shared by its keys.
class Limits {
 public:
  explicit Limits(const Budget& budget)
      : max_steps_(budget.steps),
        has_deadline_(budget.time.count() > 0),
        deadline_(std::chrono::steady_clock::now() + budget.time),
        time_(budget.time) {}

  // Counts one step. False once a limit is exhausted (and from then on).
  bool Tick() {
    if (exhausted_) return false;
    ++steps_;
    if (max_steps_ != 0 && steps_ > max_steps_) {
      --steps_;  // the step not taken
      exhausted_ = true;
      reason_ = "the step budget of " + std::to_string(max_steps_) + " ran out";
    } else if (has_deadline_ && (steps_ & 1023) == 0 &&
               std::chrono::steady_clock::now() > deadline_) {
      exhausted_ = true;
      reason_ = "the time budget of " + std::to_string(time_.count()) + " ms ran out";
    }
    return !exhausted_;
  }
  bool exhausted() const { return exhausted_; }
  uint64_t steps() const { return steps_; }
  const std::string& reason() const { return reason_; }

 private:
  uint64_t steps_ = 0;
  const uint64_t max_steps_;
  const bool has_deadline_;
  const std::chrono::steady_clock::time_point deadline_;
  const std::chrono::milliseconds time_;
  bool exhausted_ = false;
  std::string reason_;
};

// The configurations the search has entered, each a set of linearized
// operations (split in those with a return, "known", and those of unknown
// outcome) and a state. A configuration is dominated by one with the same
// known set and state and a subset of its unknown set (the missing unknown
// operations can still be linearized at the end, as they return at
// infinity), so one entered before answers for every configuration it
// dominates.
//
// Groups (known set, state) are found by open addressing over flat arrays;
// each group has a linked list of the unknown sets entered with it, none a
// subset of another.
class VisitedSet {
 public:
  VisitedSet(size_t known_words, size_t unknown_words)
      : known_words_(known_words), unknown_words_(unknown_words), slots_(1024, 0) {}

  // Adds the configuration (known, state, unknown); `hash` is that of
  // (known, state). Returns false, adding nothing, if it is dominated by (or
  // equal to) one added before.
  bool Insert(const uint64_t* known, uint64_t hash, uint32_t state, const uint64_t* unknown) {
    if ((hashes_.size() + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    size_t s = hash & mask;
    for (;; s = (s + 1) & mask) {
      if (slots_[s] == 0) break;
      const size_t g = slots_[s] - 1;
      if (hashes_[g] == hash && states_[g] == state &&
          std::equal(known, known + known_words_, known_.begin() + g * known_words_)) {
        return InsertUnknown(g, unknown);
      }
    }
    hashes_.push_back(hash);
    states_.push_back(state);
    known_.insert(known_.end(), known, known + known_words_);
    heads_.push_back(kNone);
    slots_[s] = static_cast<uint32_t>(hashes_.size());
    return InsertUnknown(hashes_.size() - 1, unknown);
  }

 private:
  static constexpr uint32_t kNone = ~0u;

  // Adds `unknown` to group g's list unless a subset of it is there; drops
  // the supersets of it from the list.
  bool InsertUnknown(size_t g, const uint64_t* unknown) {
    if (unknown_words_ == 0) {
      if (heads_[g] != kNone) return false;
      heads_[g] = 0;
      return true;
    }
    uint32_t* link = &heads_[g];
    while (*link != kNone) {
      const uint64_t* u = &records_[size_t{*link} * unknown_words_];
      bool subset = true, superset = true;
      for (size_t w = 0; w < unknown_words_; ++w) {
        subset = subset && (u[w] & ~unknown[w]) == 0;
        superset = superset && (unknown[w] & ~u[w]) == 0;
      }
      if (subset) return false;
      if (superset) {
        *link = next_record_[*link];  // dominated by the new one
      } else {
        link = &next_record_[*link];
      }
    }
    const uint32_t r = static_cast<uint32_t>(next_record_.size());
    next_record_.push_back(heads_[g]);
    records_.insert(records_.end(), unknown, unknown + unknown_words_);
    heads_[g] = r;
    return true;
  }

  void Grow() {
    std::vector<uint32_t> slots(slots_.size() * 2, 0);
    const size_t mask = slots.size() - 1;
    for (size_t g = 0; g < hashes_.size(); ++g) {
      size_t s = hashes_[g] & mask;
      while (slots[s] != 0) s = (s + 1) & mask;
      slots[s] = static_cast<uint32_t>(g + 1);
    }
    slots_.swap(slots);
  }

  size_t known_words_, unknown_words_;
  std::vector<uint32_t> slots_;  // 0 = empty, else group index + 1
  // Per group: the hash, state and known set, the first record of its list.
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> states_;
  std::vector<uint64_t> known_;
  std::vector<uint32_t> heads_;
  // Per record: the next record in its group's list, the unknown set.
  std::vector<uint32_t> next_record_;
  std::vector<uint64_t> records_;
};

// A map from 64-bit keys to int64 values, by open addressing; the memo of
// the model's transitions.
class FlatMap {
 public:
  static constexpr int64_t kAbsent = std::numeric_limits<int64_t>::min();

  FlatMap() : keys_(1024), values_(1024, kAbsent) {}

  // The value slot of `key`, valid until the next Find. It holds kAbsent if
  // the key is new; the caller must then store a value in it before the next
  // Find (a slot holding kAbsent counts as empty).
  int64_t* Find(uint64_t key) {
    if ((size_ + 1) * 2 > keys_.size()) Grow();
    const size_t mask = keys_.size() - 1;
    size_t s = Mix64(key) & mask;
    while (values_[s] != kAbsent && keys_[s] != key) s = (s + 1) & mask;
    if (values_[s] == kAbsent) {
      keys_[s] = key;
      ++size_;
    }
    return &values_[s];
  }

 private:
  void Grow() {
    std::vector<uint64_t> keys(keys_.size() * 2);
    std::vector<int64_t> values(keys_.size() * 2, kAbsent);
    const size_t mask = keys.size() - 1;
    size_ = 0;
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (values_[i] == kAbsent) continue;
      size_t s = Mix64(keys_[i]) & mask;
      while (values[s] != kAbsent) s = (s + 1) & mask;
      keys[s] = keys_[i];
      values[s] = values_[i];
      ++size_;
    }
    keys_.swap(keys);
    values_.swap(values);
  }

  std::vector<uint64_t> keys_;
  std::vector<int64_t> values_;
  size_t size_ = 0;
};

// The search over the operations of one key, resumable so that keys can
// share the budget in turns. `ops` (pointers into the caller's history, which
// must outlive the search) are the operations that constrain; `limits` is
// shared with the other keys' searches and must outlive this one.
//
// Operations with a return are in the entry list (call and return entries in
// time order). Operations of unknown outcome, which return at infinity, are
// kept apart in a list of their calls in time order: one is available while
// its call is not after the first return entry of the entry list. At each
// configuration the search tries the available calls of the entry list, then
// the available unknown ones (so that those are tried as late as possible),
// and skips an unknown one that would leave the state as it is: that
// configuration is no better than the current one, where it is still pending.
// Once every operation with a return is linearized the rest can follow in
// any order (an unknown outcome is always possible), so the search succeeds.
//
// The search goes in rounds that allow at most 0, 1, 2, 4, ... operations of
// unknown outcome in a linearization (iterative deepening): most unknown
// operations never took effect or do not matter, and a search free to place
// each anywhere first would explore a subtree for every useless placement.
// A round that failed without meeting its bound decides kIllegal.
class KeySearch {
 public:
  KeySearch(const Model& model, std::vector<const Operation*> ops, Limits* limits);

  // Searches on for at most `quantum` steps. Returns kOk or kIllegal once
  // decided (then every later call returns the same), kUnknown while not (the
  // quantum is used up, or limits->exhausted()).
  Verdict Resume(uint64_t quantum);

  // The longest linearizable prefix found so far (positions in ops, in
  // linearization order); the operation whose return it could not be
  // extended past; the state after the prefix. After kIllegal they explain it.
  const std::vector<uint32_t>& prefix() const { return best_prefix_; }
  bool has_blocked() const { return best_blocked_ != kNil; }
  uint32_t blocked() const { return best_blocked_; }
  const Value& blocked_state() const { return *states_[best_state_]; }

 private:
  static constexpr uint32_t kNil = ~0u;

  struct Frame {
    uint32_t op;            // the operation linearized
    uint32_t state_before;  // the state before it
    uint32_t block;         // for an unknown op: the first return entry when it was chosen
  };

  // The id of state v (new ids are consecutive from 0).
  uint32_t Intern(Value v) {
    auto [it, inserted] = state_ids_.try_emplace(std::move(v), 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(states_.size());
      states_.push_back(&it->first);
    }
    return it->second;
  }

  // The state after operation i in state s, or -1 if it cannot happen there.
  int64_t Transition(uint32_t s, uint32_t i) {
    int64_t* memo = transitions_.Find((static_cast<uint64_t>(s) << 32) | i);
    if (*memo == FlatMap::kAbsent) {
      Value next;
      *memo = -1;
      if (model_.Step(*states_[s], *ops_[i], &next)) *memo = Intern(std::move(next));
    }
    return *memo;
  }

  bool IsUnknown(uint32_t i) const { return ops_[i]->outcome == Outcome::kUnknown; }
  int64_t TimeOf(uint32_t e) const { return (e & 1) == 0 ? ops_[e >> 1]->call : ops_[e >> 1]->ret; }

  // Links `entries` (in order) into a list after `head`.
  void Link(uint32_t head, const std::vector<uint32_t>& entries) {
    uint32_t last = head;
    for (uint32_t e : entries) {
      next_[last] = e;
      prev_[e] = last;
      last = e;
    }
  }
  void Unlink(uint32_t e) {
    next_[prev_[e]] = next_[e];
    if (next_[e] != kNil) prev_[next_[e]] = prev_[e];
  }
  void Relink(uint32_t e) {
    next_[prev_[e]] = e;
    if (next_[e] != kNil) prev_[next_[e]] = e;
  }

  // Entry 2i is the call of operation i, entry 2i+1 its return (unknown ops
  // have only a call, in the other list). Lift takes operation i out of its
  // list, Unlift puts it back; they nest.
  void Lift(uint32_t i) {
    Unlink(2 * i);
    if (!IsUnknown(i)) Unlink(2 * i + 1);
  }
  void Unlift(uint32_t i) {
    if (!IsUnknown(i)) Relink(2 * i + 1);
    Relink(2 * i);
  }

  // Adds operation i to the linearized set, or takes it out.
  void Flip(uint32_t i) {
    const uint32_t r = rank_[i];
    if (IsUnknown(i)) {
      unknown_bits_[r >> 6] ^= uint64_t{1} << (r & 63);
    } else {
      known_bits_[r >> 6] ^= uint64_t{1} << (r & 63);
      known_hash_ ^= zobrist_[r];
    }
  }

  // Linearizes operation i into `next_state` unless that configuration has
  // been entered before. Returns whether it did.
  bool Enter(uint32_t i, uint32_t next_state, uint32_t block);
  // Undoes the last Enter; returns the frame it pushed.
  Frame Leave();

  const Model& model_;
  const std::vector<const Operation*> ops_;
  Limits* const limits_;
  const uint32_t head_;          // the entry list's head, 2 * ops_.size()
  const uint32_t unknown_head_;  // the unknown calls' head, 2 * ops_.size() + 1

  std::vector<uint32_t> next_, prev_;  // both lists
  // The states met, interned: id -> state (pointing to the map's keys, which
  // do not move) and state -> id.
  std::vector<const Value*> states_;
  std::unordered_map<Value, uint32_t> state_ids_;
  FlatMap transitions_;            // (state id << 32 | operation) -> Transition()
  std::vector<uint32_t> rank_;     // per operation: its index among the known or the unknown ones
  std::vector<uint64_t> zobrist_;  // per known operation: a random hash

  // Where the search is: the linearized operations (bitsets of the known and
  // the unknown ones by rank, the hash of the first, the stack of choices),
  // the state after them, the entry to look at next (in the entry list, or in
  // the unknown list when block_ is set: the first return entry, which the
  // unknown calls tried must not be after).
  std::vector<uint64_t> known_bits_, unknown_bits_;
  uint64_t known_hash_ = 0;
  std::vector<Frame> stack_;
  uint32_t state_;
  uint32_t entry_;
  uint32_t block_ = kNil;
  uint32_t unknown_linearized_ = 0;  // unknown operations in stack_
  uint32_t unknown_total_ = 0;
  uint32_t unknown_bound_ = 0;  // this round's limit on unknown_linearized_
  bool bound_met_ = false;      // whether this round had to refuse one for the bound
  VisitedSet visited_;
  Verdict decided_ = Verdict::kUnknown;

  std::vector<uint32_t> best_prefix_;
  uint32_t best_blocked_ = kNil;
  uint32_t best_state_ = 0;
};

KeySearch::KeySearch(const Model& model, std::vector<const Operation*> ops, Limits* limits)
    : model_(model),
      ops_(std::move(ops)),
      limits_(limits),
      head_(static_cast<uint32_t>(2 * ops_.size())),
      unknown_head_(head_ + 1),
      visited_(0, 0) {
  const uint32_t n = static_cast<uint32_t>(ops_.size());
  // The entries in time order; at equal times calls come first (so that
  // operations touching in time count as concurrent), then by operation.
  std::vector<uint32_t> entries, unknown_calls;
  rank_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (IsUnknown(i)) {
      rank_[i] = static_cast<uint32_t>(unknown_calls.size());
      unknown_calls.push_back(2 * i);
    } else {
      rank_[i] = static_cast<uint32_t>(entries.size() / 2);
      entries.push_back(2 * i);
      entries.push_back(2 * i + 1);
    }
  }
  const size_t known = entries.size() / 2, unknown = unknown_calls.size();
  auto before = [this](uint32_t a, uint32_t b) {
    const int64_t ta = TimeOf(a), tb = TimeOf(b);
    if (ta != tb) return ta < tb;
    if ((a & 1) != (b & 1)) return (a & 1) < (b & 1);
    return a < b;
  };
  std::sort(entries.begin(), entries.end(), before);
  std::sort(unknown_calls.begin(), unknown_calls.end(), before);
  next_.assign(2 * n + 2, kNil);
  prev_.assign(2 * n + 2, kNil);
  Link(head_, entries);
  Link(unknown_head_, unknown_calls);
  zobrist_.resize(known);
  for (size_t r = 0; r < known; ++r) zobrist_[r] = Mix64(0x6c696e636865636bull + r);
  known_bits_.assign((known + 63) / 64, 0);
  unknown_bits_.assign((unknown + 63) / 64, 0);
  visited_ = VisitedSet(known_bits_.size(), unknown_bits_.size());
  unknown_total_ = static_cast<uint32_t>(unknown);
  state_ = Intern(Value());
  entry_ = next_[head_];
}

bool KeySearch::Enter(uint32_t i, uint32_t next_state, uint32_t block) {
  Flip(i);
  if (!visited_.Insert(known_bits_.data(),
                       Mix64(known_hash_ ^ (next_state * 0x9e3779b97f4a7c15ull)), next_state,
                       unknown_bits_.data())) {
    Flip(i);
    return false;
  }
  stack_.push_back({i, state_, block});
  unknown_linearized_ += IsUnknown(i);
  state_ = next_state;
  Lift(i);
  return true;
}

KeySearch::Frame KeySearch::Leave() {
  const Frame f = stack_.back();
  stack_.pop_back();
  state_ = f.state_before;
  unknown_linearized_ -= IsUnknown(f.op);
  Flip(f.op);
  Unlift(f.op);
  return f;
}

Verdict KeySearch::Resume(uint64_t quantum) {
  for (uint64_t done = 0; decided_ == Verdict::kUnknown; ++done) {
    if (next_[head_] == kNil) {
      decided_ = Verdict::kOk;  // every operation with a return is linearized
      break;
    }
    if (done == quantum || !limits_->Tick()) break;
    if (block_ == kNil) {
      // In the entry list, which always ends with a return entry.
      assert(entry_ != kNil);
      if ((entry_ & 1) == 0) {
        // A call: linearize it here if the model allows and the configuration
        // it leads to is new; else try the next entry.
        const uint32_t i = entry_ >> 1;
        const int64_t after = Transition(state_, i);
        if (after >= 0 && Enter(i, static_cast<uint32_t>(after), kNil)) {
          entry_ = next_[head_];
        } else {
          entry_ = next_[entry_];
        }
      } else {
        // The first return entry: on to the unknown calls not after it.
        block_ = entry_;
        entry_ = next_[unknown_head_];
      }
      continue;
    }
    if (entry_ != kNil && TimeOf(entry_) <= TimeOf(block_)) {
      // An available unknown call, worth trying if it changes the state.
      if (unknown_linearized_ == unknown_bound_) {
        bound_met_ = true;  // a later round will try them
        entry_ = kNil;
        continue;
      }
      const uint32_t i = entry_ >> 1;
      const int64_t after = Transition(state_, i);
      if (after < 0 || static_cast<uint32_t>(after) == state_) {
        entry_ = next_[entry_];
      } else if (Enter(i, static_cast<uint32_t>(after), block_)) {
        block_ = kNil;
        entry_ = next_[head_];
      } else {
        entry_ = next_[entry_];
      }
      continue;
    }
    // Nothing more to try here: the linearized prefix cannot be extended past
    // block_'s return. Undo the last choice and try the one after it.
    if (best_blocked_ == kNil || stack_.size() > best_prefix_.size()) {
      best_prefix_.clear();
      for (const Frame& f : stack_) best_prefix_.push_back(f.op);
      best_blocked_ = block_ >> 1;
      best_state_ = state_;
    }
    if (stack_.empty()) {
      if (!bound_met_) {
        decided_ = Verdict::kIllegal;
        break;
      }
      // The next round, from the start.
      unknown_bound_ = std::min(unknown_total_, std::max(1u, 2 * unknown_bound_));
      bound_met_ = false;
      visited_ = VisitedSet(known_bits_.size(), unknown_bits_.size());
      block_ = kNil;
      entry_ = next_[head_];
      continue;
    }
    const Frame f = Leave();
    block_ = f.block;
    entry_ = next_[2 * f.op];
  }
  return decided_;
}

}  // namespace

CheckResult Check(const Model& model, const std::vector<Operation>& history, const Budget& budget) {
  CheckResult result;
  // Validate, then split per key in order of first appearance.
  std::unordered_map<std::string, size_t> key_index;
  std::vector<std::vector<size_t>> members;  // per key: indices in history
  std::vector<const std::string*> keys;
  for (size_t i = 0; i < history.size(); ++i) {
    const Operation& op = history[i];
    std::string problem = model.Validate(op);
    if (problem.empty() && op.outcome != Outcome::kUnknown && op.ret < op.call) {
      problem = "returns before its call";
    }
    if (!problem.empty()) {
      result.verdict = Verdict::kInvalid;
      result.key = op.key;
      result.explanation =
          "operation " + std::to_string(i) + " (" + DescribeOperation(op) + "): " + problem;
      return result;
    }
    auto [it, inserted] = key_index.try_emplace(op.key, members.size());
    if (inserted) {
      members.emplace_back();
      keys.push_back(&it->first);
    }
    if (model.Constrains(op)) members[it->second].push_back(i);
  }
  result.keys = members.size();

  // The keys take turns, each searching for a quantum of steps that doubles
  // every round, so that one hard key does not hide an illegal one behind it.
  Limits limits(budget);
  std::vector<std::unique_ptr<KeySearch>> searches(members.size());
  std::vector<size_t> open;  // keys not yet decided
  for (size_t k = 0; k < members.size(); ++k) {
    std::vector<const Operation*> ops;
    ops.reserve(members[k].size());
    for (size_t i : members[k]) ops.push_back(&history[i]);
    result.operations += ops.size();
    searches[k] = std::make_unique<KeySearch>(model, std::move(ops), &limits);
    open.push_back(k);
  }
  size_t illegal = members.size();
  for (uint64_t quantum = 1 << 12;
       !open.empty() && illegal == members.size() && !limits.exhausted();
       quantum = std::min<uint64_t>(2 * quantum, uint64_t{1} << 40)) {
    std::vector<size_t> still_open;
    for (size_t k : open) {
      const Verdict v = searches[k]->Resume(quantum);
      if (v == Verdict::kIllegal) {
        illegal = k;
        break;
      }
      if (v == Verdict::kUnknown) still_open.push_back(k);
      if (limits.exhausted()) break;
    }
    open.swap(still_open);
  }
  result.steps = limits.steps();
  if (illegal == members.size() && open.empty()) return result;  // kOk

  const size_t k = illegal != members.size() ? illegal : open.front();
  const KeySearch& search = *searches[k];
  const std::string key_text = "key " + Token(*keys[k]) + ": ";
  result.key = *keys[k];
  for (uint32_t p : search.prefix()) result.prefix.push_back(members[k][p]);
  if (search.has_blocked()) result.blocked = members[k][search.blocked()];
  std::string& x = result.explanation;
  if (illegal == members.size()) {
    result.verdict = Verdict::kUnknown;
    x = key_text + limits.reason() + " after " + std::to_string(limits.steps()) +
        " steps, with a linearizable prefix of " + std::to_string(result.prefix.size()) +
        " of its " + std::to_string(members[k].size()) + " operations (" +
        std::to_string(members.size() - open.size()) + " of " + std::to_string(members.size()) +
        " keys decided)";
    return result;
  }
  result.verdict = Verdict::kIllegal;
  x = key_text + "no linearization of its " + std::to_string(members[k].size()) +
      " operations. The longest linearizable prefix found has " +
      std::to_string(result.prefix.size()) + " of them";
  if (!result.prefix.empty()) {
    x += ", ending with [";
    const size_t shown = std::min<size_t>(result.prefix.size(), 3);
    for (size_t j = result.prefix.size() - shown; j < result.prefix.size(); ++j) {
      x += (j == result.prefix.size() - shown ? "" : "; ") +
           DescribeOperation(history[result.prefix[j]]);
    }
    x += "]";
  }
  x += "; after it the value is " + model.DescribeState(search.blocked_state()) + ", and " +
       DescribeOperation(history[result.blocked]) + " cannot take effect before it returns.";
  return result;
}

// ------------------------------------------------------------------ parsers

bool ParseFormat(const std::string& name, Format* format) {
  if (name == "etcd") {
    *format = Format::kEtcd;
  } else if (name == "kv") {
    *format = Format::kKv;
  } else {
    return false;
  }
  return true;
}

const Model& ModelFor(Format format) {
  static const RegisterModel kRegister;
  static const KvModel kKv;
  return format == Format::kEtcd ? static_cast<const Model&>(kRegister) : kKv;
}

namespace {

std::vector<std::string> SplitWhitespace(const std::string& line) {
  std::vector<std::string> tokens;
  std::istringstream in(line);
  std::string t;
  while (in >> t) tokens.push_back(t);
  return tokens;
}

// A decimal integer (optional '-'), whole string.
bool ParseInt(std::string_view s, int64_t* v) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *v);
  return ec == std::errc() && ptr == end;
}

// The calls in flight, per client: index in *ops and the call's line.
using Pending = std::map<int64_t, std::pair<size_t, int64_t>>;

// Jepsen etcd log: `INFO  jepsen.util - PROC :TYPE :F VALUE`, tabs or spaces.
class EtcdParser {
 public:
  EtcdParser(const std::string& name, std::vector<Operation>* ops, std::string* error)
      : name_(name), ops_(ops), error_(error) {}

  bool Line(int64_t lineno, const std::string& line) {
    lineno_ = lineno;
    const std::vector<std::string> t = SplitWhitespace(line);
    if (t.size() < 7 || t[0] != "INFO" || t[1] != "jepsen.util" || t[2] != "-") {
      return Fail("expected \"INFO  jepsen.util - PROC :TYPE :F VALUE\", got \"" + line + "\"");
    }
    int64_t proc;
    if (!ParseInt(t[3], &proc)) return Fail("process id \"" + t[3] + "\" is not an integer");
    const std::string& type = t[4];
    const std::string& f = t[5];
    std::string value = t[6];
    for (size_t i = 7; i < t.size(); ++i) value += " " + t[i];
    if (type.size() < 2 || type[0] != ':') return Fail("type \"" + type + "\" is not a keyword");
    // README: event types other than invoke, ok and fail (:info ...) are ignored.
    if (type != ":invoke" && type != ":ok" && type != ":fail") return true;

    OpKind kind;
    if (f == ":read") {
      kind = OpKind::kRead;
    } else if (f == ":write") {
      kind = OpKind::kWrite;
    } else if (f == ":cas") {
      kind = OpKind::kCas;
    } else {
      return Fail("unknown function \"" + f + "\" (expected :read, :write or :cas)");
    }

    if (type == ":invoke") {
      if (auto it = pending_.find(proc); it != pending_.end()) {
        return Fail("process " + t[3] + " invokes while its call on line " +
                    std::to_string(it->second.second) + " has not returned");
      }
      Operation op;
      op.client = proc;
      op.kind = kind;
      op.call = lineno;
      op.tag = lineno;
      op.outcome = Outcome::kUnknown;  // until its return is seen
      if (kind == OpKind::kRead) {
        if (value != "nil") return Fail("a read is invoked with nil, not \"" + value + "\"");
      } else if (kind == OpKind::kWrite) {
        if (!Int(value, &op.value)) return false;
      } else {
        std::string expected;
        if (!CasArgs(value, &expected, &op.value)) return false;
        op.expected = expected;
      }
      pending_[proc] = {ops_->size(), lineno};
      ops_->push_back(std::move(op));
      return true;
    }

    auto it = pending_.find(proc);
    if (it == pending_.end()) {
      return Fail("process " + t[3] + " returns (" + type + ") with no call in flight");
    }
    Operation& op = (*ops_)[it->second.first];
    const int64_t call_line = it->second.second;
    pending_.erase(it);
    if (op.kind != kind) {
      return Fail("the return " + f + " does not match the call on line " +
                  std::to_string(call_line));
    }
    op.ret = lineno;
    if (kind == OpKind::kRead) {
      if (type == ":fail") {
        if (value != ":timed-out") return Fail("a failed read must be :timed-out");
        op.outcome = Outcome::kUnknown;  // README: a timed-out read is an unknown outcome
        return true;
      }
      op.outcome = Outcome::kOk;
      if (value == "nil") {
        op.output.reset();
      } else {
        std::string v;
        if (!Int(value, &v)) return false;
        op.output = v;
      }
      return true;
    }
    op.outcome = type == ":ok" ? Outcome::kOk : Outcome::kFail;
    if (kind == OpKind::kWrite) {
      std::string v;
      if (!Int(value, &v)) return false;
      if (v != op.value) {
        return Fail("the write returns " + v + " but line " + std::to_string(call_line) +
                    " wrote " + op.value);
      }
    } else {
      std::string expected, new_value;
      if (!CasArgs(value, &expected, &new_value)) return false;
      if (expected != *op.expected || new_value != op.value) {
        return Fail("the cas returns " + value + " but line " + std::to_string(call_line) +
                    " called [" + *op.expected + " " + op.value + "]");
      }
    }
    return true;
  }

 private:
  bool Fail(const std::string& what) {
    *error_ = name_ + ":" + std::to_string(lineno_) + ": " + what;
    return false;
  }
  // An integer value, in canonical form.
  bool Int(const std::string& s, std::string* out) {
    int64_t v;
    if (!ParseInt(s, &v)) return Fail("value \"" + s + "\" is not an integer");
    *out = std::to_string(v);
    return true;
  }
  // "[OLD NEW]".
  bool CasArgs(const std::string& s, std::string* expected, std::string* new_value) {
    const std::vector<std::string> t = SplitWhitespace(
        s.size() >= 2 && s.front() == '[' && s.back() == ']' ? s.substr(1, s.size() - 2)
                                                             : std::string());
    if (t.size() != 2) return Fail("cas value \"" + s + "\" is not [OLD NEW]");
    return Int(t[0], expected) && Int(t[1], new_value);
  }

  const std::string& name_;
  std::vector<Operation>* ops_;
  std::string* error_;
  int64_t lineno_ = 0;
  Pending pending_;
};

// The EDN subset of the kv histories: a map of keyword keys to integers,
// keywords, strings or nil, separated by whitespace and commas.
struct EdnValue {
  enum Type { kInt, kKeyword, kString, kNil } type;
  int64_t i = 0;
  std::string s;  // keyword (without ':') or string
};

// Parses one EDN map line into *m. Returns "" or what is wrong.
std::string ParseEdnMap(const std::string& line, std::map<std::string, EdnValue>* m) {
  size_t p = 0;
  auto skip = [&] {
    while (p < line.size() && (std::isspace(static_cast<unsigned char>(line[p])) || line[p] == ','))
      ++p;
  };
  auto symbol_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_?!.*+/<>=").find(c) != std::string_view::npos;
  };
  auto column = [&] { return " at column " + std::to_string(p + 1); };
  skip();
  if (p >= line.size() || line[p] != '{') return "expected '{'" + column();
  ++p;
  while (true) {
    skip();
    if (p >= line.size()) return "unterminated map (no '}')";
    if (line[p] == '}') {
      ++p;
      break;
    }
    if (line[p] != ':') return "expected a keyword key" + column();
    const size_t start = ++p;
    while (p < line.size() && symbol_char(line[p])) ++p;
    const std::string key = line.substr(start, p - start);
    if (key.empty()) return "empty keyword" + column();
    skip();
    if (p >= line.size()) return "no value for :" + key;
    EdnValue v;
    if (line[p] == '"') {
      v.type = EdnValue::kString;
      ++p;
      while (true) {
        if (p >= line.size()) return "unterminated string for :" + key;
        char c = line[p++];
        if (c == '"') break;
        if (c == '\\') {
          if (p >= line.size()) return "unterminated string for :" + key;
          c = line[p++];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 't':
              c = '\t';
              break;
            case 'r':
              c = '\r';
              break;
            case '"':
            case '\\':
              break;
            default:
              return std::string("unsupported escape \\") + c + " in the string for :" + key;
          }
        }
        v.s += c;
      }
    } else if (line[p] == ':') {
      v.type = EdnValue::kKeyword;
      const size_t s = ++p;
      while (p < line.size() && symbol_char(line[p])) ++p;
      v.s = line.substr(s, p - s);
      if (v.s.empty()) return "empty keyword" + column();
    } else {
      const size_t s = p;
      while (p < line.size() && symbol_char(line[p])) ++p;
      const std::string word = line.substr(s, p - s);
      if (word == "nil") {
        v.type = EdnValue::kNil;
      } else if (ParseInt(word, &v.i)) {
        v.type = EdnValue::kInt;
      } else {
        return "unsupported value \"" + word + "\" for :" + key + column();
      }
    }
    if (!m->emplace(key, std::move(v)).second) return "duplicate key :" + key;
  }
  skip();
  if (p != line.size()) return "text after the map" + column();
  return "";
}

// kv histories: `{:process P, :type :invoke|:ok, :f :get|:put|:append, :key "K", :value "V"|nil}`.
class KvParser {
 public:
  KvParser(const std::string& name, std::vector<Operation>* ops, std::string* error)
      : name_(name), ops_(ops), error_(error) {}

  bool Line(int64_t lineno, const std::string& line) {
    lineno_ = lineno;
    std::map<std::string, EdnValue> m;
    const std::string problem = ParseEdnMap(line, &m);
    if (!problem.empty()) return Fail(problem);
    for (const auto& [k, v] : m) {
      if (k != "process" && k != "type" && k != "f" && k != "key" && k != "value") {
        return Fail("unexpected key :" + k);
      }
    }
    for (const char* k : {"process", "type", "f", "key", "value"}) {
      if (m.find(k) == m.end()) return Fail(std::string("missing :") + k);
    }
    const EdnValue& process = m["process"];
    const EdnValue& type = m["type"];
    const EdnValue& f = m["f"];
    const EdnValue& key = m["key"];
    const EdnValue& value = m["value"];
    if (process.type != EdnValue::kInt) return Fail(":process is not an integer");
    if (type.type != EdnValue::kKeyword || (type.s != "invoke" && type.s != "ok")) {
      return Fail(":type must be :invoke or :ok");
    }
    OpKind kind;
    if (f.type == EdnValue::kKeyword && f.s == "get") {
      kind = OpKind::kRead;
    } else if (f.type == EdnValue::kKeyword && f.s == "put") {
      kind = OpKind::kWrite;
    } else if (f.type == EdnValue::kKeyword && f.s == "append") {
      kind = OpKind::kAppend;
    } else {
      return Fail(":f must be :get, :put or :append");
    }
    if (key.type != EdnValue::kString) return Fail(":key is not a string");
    if (value.type != EdnValue::kString && value.type != EdnValue::kNil) {
      return Fail(":value is neither a string nor nil");
    }
    const std::string proc = std::to_string(process.i);

    if (type.s == "invoke") {
      if (auto it = pending_.find(process.i); it != pending_.end()) {
        return Fail("process " + proc + " invokes while its call on line " +
                    std::to_string(it->second.second) + " has not returned");
      }
      Operation op;
      op.client = process.i;
      op.key = key.s;
      op.kind = kind;
      op.call = lineno;
      op.tag = lineno;
      op.outcome = Outcome::kUnknown;  // until its return is seen
      if (kind == OpKind::kRead) {
        if (value.type != EdnValue::kNil) return Fail("a get is invoked with :value nil");
      } else {
        if (value.type != EdnValue::kString) return Fail("a put or append needs a string :value");
        op.value = value.s;
      }
      pending_[process.i] = {ops_->size(), lineno};
      ops_->push_back(std::move(op));
      return true;
    }

    auto it = pending_.find(process.i);
    if (it == pending_.end()) return Fail("process " + proc + " returns with no call in flight");
    Operation& op = (*ops_)[it->second.first];
    const std::string call_line = std::to_string(it->second.second);
    pending_.erase(it);
    if (op.kind != kind || op.key != key.s) {
      return Fail("the return does not match the call on line " + call_line);
    }
    op.ret = lineno;
    op.outcome = Outcome::kOk;
    if (value.type != EdnValue::kString) return Fail("an :ok needs a string :value");
    if (kind == OpKind::kRead) {
      op.output = value.s;
    } else if (value.s != op.value) {
      return Fail("the :ok :value differs from the call on line " + call_line);
    }
    return true;
  }

 private:
  bool Fail(const std::string& what) {
    *error_ = name_ + ":" + std::to_string(lineno_) + ": " + what;
    return false;
  }

  const std::string& name_;
  std::vector<Operation>* ops_;
  std::string* error_;
  int64_t lineno_ = 0;
  Pending pending_;
};

template <typename Parser>
bool ParseLines(std::istream& in, const std::string& name, std::vector<Operation>* ops,
                std::string* error) {
  Parser parser(name, ops, error);
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!parser.Line(lineno, line)) return false;
  }
  if (in.bad()) {
    *error = name + ":" + std::to_string(lineno + 1) + ": read error";
    return false;
  }
  return true;
}

}  // namespace

bool ParseHistory(Format format, std::istream& in, const std::string& name,
                  std::vector<Operation>* ops, std::string* error) {
  return format == Format::kEtcd ? ParseLines<EtcdParser>(in, name, ops, error)
                                 : ParseLines<KvParser>(in, name, ops, error);
}

bool ReadHistoryFile(Format format, const std::string& path, std::vector<Operation>* ops,
                     std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot open";
    return false;
  }
  return ParseHistory(format, in, path, ops, error);
}

bool ReadVerdicts(const std::string& dir, std::vector<VerdictEntry>* entries, std::string* error) {
  const std::string path = dir + "/VERDICTS";
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot open";
    return false;
  }
  auto exists = [](const std::string& p) { return std::ifstream(p).good(); };
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::vector<std::string> t = SplitWhitespace(line);
    if (t.empty() || t[0][0] == '#') continue;
    auto fail = [&](const std::string& what) {
      *error = path + ":" + std::to_string(lineno) + ": " + what;
      return false;
    };
    if (t.size() != 2 || (t[1] != "true" && t[1] != "false")) {
      return fail("expected \"FILE true|false\", got \"" + line + "\"");
    }
    VerdictEntry v;
    v.name = t[0];
    v.linearizable = t[1] == "true";
    auto ends_with = [&](const char* suffix) {
      const std::string_view s(suffix);
      return v.name.size() > s.size() && v.name.compare(v.name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with(".log")) {
      v.format = Format::kEtcd;
    } else if (ends_with(".txt")) {
      v.format = Format::kKv;
    } else {
      return fail("cannot tell the format of \"" + v.name + "\" (expected *.log or *.txt)");
    }
    v.path = dir + "/" + v.name;
    if (!exists(v.path) && exists(dir + "/jepsen/" + v.name)) v.path = dir + "/jepsen/" + v.name;
    entries->push_back(std::move(v));
  }
  return true;
}

}  // namespace lsmkv::lincheck
