// Metamorphic test: one seeded generator produces a sequence of operations
// (writes, batches, snapshots, point reads, iterators stepped across other
// operations, flushes, CompactRange, close + reopen, simulated power loss);
// the same sequence runs over several option sets (block size, restart
// interval, compression, bloom bits or a user's filter policy, write buffer
// size, compaction threads, paranoid checks, WAL recovery mode) and over a std::map model. Every
// read result and the final contents must be the same everywhere: the option sets change how data
// is laid out, never what a read returns.
//
// Power loss. The FaultInjectionEnv keeps only what was synced. What survives
// depends on timing (a small write buffer flushes unsynced writes to tables
// in the background), so it legitimately differs between option sets. The
// runner therefore tracks the synced prefix: the model state at the last
// durable point (a sync write, Flush, CompactRange, a clean Close, an Open)
// and the writes acknowledged since. After the power loss the recovered
// contents must equal the state after some prefix of those writes that
// includes every synced one (the DB promises a prefix: SwitchToNewLog syncs
// the old log). The runner then re-applies the lost writes, synced, so that
// every option set continues from the full acknowledged state and all later
// reads are comparable again.
//
// Rerun one seed: METAMORPHIC_SEED=<seed> [METAMORPHIC_OPS=<n>]. Long run
// (make metamorphic): METAMORPHIC_SECONDS=<s> [METAMORPHIC_SEED_BASE=<b>]
// runs seeds b, b+1, ... until the time is up.
#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/model_testutil.h"
#include "env/fault_injection_env.h"
#include "gtest/gtest.h"
#include "lsmkv/compaction_filter.h"
#include "lsmkv/db.h"
#include "lsmkv/env.h"
#include "lsmkv/filter_policy.h"
#include "util/random.h"

namespace lsmkv {
namespace {

using test::ModelState;

constexpr int kSlots = 3;  // snapshot slots and iterator slots, each

enum class OpType {
  kPut,
  kDelete,
  kBatch,
  kGet,
  kGetAtSnapshot,
  kNewSnapshot,
  kReleaseSnapshot,
  kNewIterator,
  kIterSeek,
  kIterSeekForPrev,
  kIterSeekToFirst,
  kIterSeekToLast,
  kIterNext,
  kIterPrev,
  kCloseIterator,
  kFlush,
  kCompactRange,
  kReopen,
  kPowerLoss,
  kVerifyAll,
};

struct Op {
  OpType type = OpType::kGet;
  int slot = 0;           // snapshot or iterator slot
  int snapshot = -1;      // kNewIterator: read at this snapshot slot, -1 = latest
  std::string key;        // key, seek target, CompactRange begin
  std::string key2;       // CompactRange end
  bool has_key = true;    // CompactRange: begin given
  bool has_key2 = false;  // CompactRange: end given
  std::string value;
  bool sync = false;
  std::vector<std::pair<std::string, std::optional<std::string>>> batch;  // kBatch
  std::optional<std::string> lower, upper;                                // kNewIterator
};

std::string Shorten(const std::string& s, size_t n = 24) {
  if (s.size() <= n) return s;
  return s.substr(0, n) + "...(" + std::to_string(s.size()) + " bytes)";
}

std::string Describe(const Op& op) {
  const std::string sync = op.sync ? " sync" : "";
  switch (op.type) {
    case OpType::kPut:
      return "Put(" + op.key + ", " + Shorten(op.value) + ")" + sync;
    case OpType::kDelete:
      return "Delete(" + op.key + ")" + sync;
    case OpType::kBatch: {
      std::string s = "Write(batch of " + std::to_string(op.batch.size()) + ":";
      for (const auto& [k, v] : op.batch) s += v ? " put " + k : " del " + k;
      return s + ")" + sync;
    }
    case OpType::kGet:
      return "Get(" + op.key + ")";
    case OpType::kGetAtSnapshot:
      return "Get(" + op.key + ") at snapshot " + std::to_string(op.slot);
    case OpType::kNewSnapshot:
      return "snapshot " + std::to_string(op.slot) + " = GetSnapshot()";
    case OpType::kReleaseSnapshot:
      return "ReleaseSnapshot(" + std::to_string(op.slot) + ")";
    case OpType::kNewIterator:
      return "iterator " + std::to_string(op.slot) + " = NewIterator(" +
             (op.snapshot < 0 ? std::string("latest") : "snapshot " + std::to_string(op.snapshot)) +
             ", [" + op.lower.value_or("-inf") + ", " + op.upper.value_or("+inf") + "))";
    case OpType::kIterSeek:
      return "iterator " + std::to_string(op.slot) + ".Seek(" + op.key + ")";
    case OpType::kIterSeekForPrev:
      return "iterator " + std::to_string(op.slot) + ".SeekForPrev(" + op.key + ")";
    case OpType::kIterSeekToFirst:
      return "iterator " + std::to_string(op.slot) + ".SeekToFirst()";
    case OpType::kIterSeekToLast:
      return "iterator " + std::to_string(op.slot) + ".SeekToLast()";
    case OpType::kIterNext:
      return "iterator " + std::to_string(op.slot) + ".Next()";
    case OpType::kIterPrev:
      return "iterator " + std::to_string(op.slot) + ".Prev()";
    case OpType::kCloseIterator:
      return "delete iterator " + std::to_string(op.slot);
    case OpType::kFlush:
      return "Flush()";
    case OpType::kCompactRange:
      return "CompactRange(" + (op.has_key ? op.key : std::string("null")) + ", " +
             (op.has_key2 ? op.key2 : std::string("null")) + ")";
    case OpType::kReopen:
      return "Close() + Open()";
    case OpType::kPowerLoss:
      return "power loss (drop unsynced data) + Open()";
    case OpType::kVerifyAll:
      return "verify all contents (forward and backward scan, Get of every key)";
  }
  return "?";
}

// ---------------------------------------------------------------- generator

// Produces a valid sequence: slot operations only name open slots, and
// close/reopen/power loss close every slot. The runners still tolerate ops
// on closed slots (as no-ops) so that a shrunk sequence stays runnable.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rnd_(seed) {}

  std::vector<Op> Generate(int count) {
    std::vector<Op> ops;
    ops.reserve(static_cast<size_t>(count) + 1);
    for (int i = 0; i < count; i++) ops.push_back(NextOp());
    Op verify;
    verify.type = OpType::kVerifyAll;
    ops.push_back(verify);
    return ops;
  }

 private:
  // Keys of varying length over a small space so that writes overwrite and
  // delete each other; seek targets include keys never written.
  std::string Key() {
    const uint32_t n = rnd_.Uniform(300);
    std::string k = "k" + std::to_string(1000 + n);
    if (n % 7 == 0) k += "-long-suffix-" + std::to_string(n);
    return k;
  }
  std::string SeekTarget() {
    if (rnd_.OneIn(10)) return "";
    if (rnd_.OneIn(10)) return "z";
    std::string k = Key();
    if (rnd_.OneIn(3)) k += "0";  // between written keys
    return k;
  }
  std::string Value() {
    const uint32_t kind = rnd_.Uniform(20);
    size_t size = kind == 0 ? 0 : kind == 1 ? 1000 + rnd_.Uniform(3000) : rnd_.Uniform(120);
    std::string v = "v" + std::to_string(serial_++) + ":";
    // Compressible or not, depending on the value.
    for (size_t i = v.size(); i < size; i++) {
      v.push_back(kind % 2 ? static_cast<char>('a' + rnd_.Uniform(26)) : 'x');
    }
    return v;
  }
  int OpenSlot(const bool* open) {
    std::vector<int> slots;
    for (int i = 0; i < kSlots; i++) {
      if (open[i]) slots.push_back(i);
    }
    if (slots.empty()) return -1;
    return slots[rnd_.Uniform(static_cast<uint32_t>(slots.size()))];
  }
  int FreeSlot(const bool* open) {
    for (int i = 0; i < kSlots; i++) {
      if (!open[i]) return i;
    }
    return -1;
  }

  Op NextOp() {
    Op op;
    for (;;) {
      const uint32_t r = rnd_.Uniform(1000);
      op = Op();
      if (r < 300) {
        op.type = OpType::kPut;
        op.key = Key();
        op.value = Value();
        op.sync = rnd_.OneIn(8);
      } else if (r < 380) {
        op.type = OpType::kDelete;
        op.key = Key();
        op.sync = rnd_.OneIn(8);
      } else if (r < 440) {
        op.type = OpType::kBatch;
        const int n = 1 + static_cast<int>(rnd_.Uniform(8));
        for (int i = 0; i < n; i++) {
          if (rnd_.OneIn(4)) {
            op.batch.emplace_back(Key(), std::nullopt);
          } else {
            op.batch.emplace_back(Key(), Value());
          }
        }
        op.sync = rnd_.OneIn(8);
      } else if (r < 540) {
        op.type = OpType::kGet;
        op.key = Key();
      } else if (r < 580) {
        op.type = OpType::kGetAtSnapshot;
        op.slot = OpenSlot(snapshots_);
        if (op.slot < 0) continue;
        op.key = Key();
      } else if (r < 595) {
        op.type = OpType::kNewSnapshot;
        op.slot = FreeSlot(snapshots_);
        if (op.slot < 0) continue;
        snapshots_[op.slot] = true;
      } else if (r < 605) {
        op.type = OpType::kReleaseSnapshot;
        op.slot = OpenSlot(snapshots_);
        if (op.slot < 0) continue;
        snapshots_[op.slot] = false;
      } else if (r < 625) {
        op.type = OpType::kNewIterator;
        op.slot = FreeSlot(iterators_);
        if (op.slot < 0) continue;
        iterators_[op.slot] = true;
        op.snapshot = rnd_.OneIn(3) ? OpenSlot(snapshots_) : -1;
        if (rnd_.OneIn(3)) op.lower = Key();
        if (rnd_.OneIn(3)) op.upper = Key();
      } else if (r < 640) {
        op.type = rnd_.OneIn(2) ? OpType::kIterSeek : OpType::kIterSeekForPrev;
        op.slot = OpenSlot(iterators_);
        if (op.slot < 0) continue;
        op.key = SeekTarget();
      } else if (r < 650) {
        op.type = rnd_.OneIn(2) ? OpType::kIterSeekToFirst : OpType::kIterSeekToLast;
        op.slot = OpenSlot(iterators_);
        if (op.slot < 0) continue;
      } else if (r < 760) {
        op.type = rnd_.OneIn(3) ? OpType::kIterPrev : OpType::kIterNext;
        op.slot = OpenSlot(iterators_);
        if (op.slot < 0) continue;
      } else if (r < 775) {
        op.type = OpType::kCloseIterator;
        op.slot = OpenSlot(iterators_);
        if (op.slot < 0) continue;
        iterators_[op.slot] = false;
      } else if (r < 790) {
        op.type = OpType::kFlush;
      } else if (r < 800) {
        op.type = OpType::kCompactRange;
        op.has_key = !rnd_.OneIn(3);
        op.has_key2 = !rnd_.OneIn(3);
        op.key = Key();
        op.key2 = Key();
        if (op.key2 < op.key) std::swap(op.key, op.key2);
      } else if (r < 806) {
        op.type = OpType::kReopen;
        CloseAllSlots();
      } else if (r < 812) {
        op.type = OpType::kPowerLoss;
        CloseAllSlots();
      } else if (r < 816) {
        op.type = OpType::kVerifyAll;
      } else {
        // Bias towards writes so that the memtable fills and flushes.
        op.type = OpType::kPut;
        op.key = Key();
        op.value = Value();
      }
      return op;
    }
  }

  void CloseAllSlots() {
    for (int i = 0; i < kSlots; i++) snapshots_[i] = iterators_[i] = false;
  }

  Random rnd_;
  uint64_t serial_ = 0;
  bool snapshots_[kSlots] = {};
  bool iterators_[kSlots] = {};
};

// ---------------------------------------------------------------- results

// The outcome of one operation, comparable across runners. contents is set
// by kVerifyAll only (text then holds a summary), to describe a difference.
struct Result {
  std::string text;
  std::optional<ModelState> contents;
  bool operator==(const Result& o) const { return text == o.text && contents == o.contents; }
};

std::string GetText(const Status& s, const std::string& value) {
  if (s.ok()) return "OK " + value;
  if (s.IsNotFound()) return "NotFound";
  return "error: " + s.ToString();
}

std::string ContentsSummary(const ModelState& m) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& [k, v] : m) {
    for (char c : k + '\0' + v + '\0') h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%zu entries, hash %016" PRIx64, m.size(), h);
  return buf;
}

// A position over a frozen, bound-filtered copy of the model.
struct ModelIterator {
  ModelState view;
  ModelState::const_iterator pos;
  bool valid = false;
};

std::string IterText(bool valid, std::string_view key, std::string_view value, const Status& s) {
  if (!s.ok()) return "iterator error: " + s.ToString();
  if (!valid) return "invalid";
  return "at " + std::string(key) + " = " + std::string(value);
}

// ---------------------------------------------------------------- model runner

class ModelRunner {
 public:
  Result Run(const Op& op) {
    switch (op.type) {
      case OpType::kPut:
        state_[op.key] = op.value;
        return {"OK", {}};
      case OpType::kDelete:
        state_.erase(op.key);
        return {"OK", {}};
      case OpType::kBatch:
        for (const auto& [k, v] : op.batch) {
          if (v) {
            state_[k] = *v;
          } else {
            state_.erase(k);
          }
        }
        return {"OK", {}};
      case OpType::kGet:
        return {Lookup(state_, op.key), {}};
      case OpType::kGetAtSnapshot:
        if (!snapshots_[op.slot]) return {"no snapshot", {}};
        return {Lookup(*snapshots_[op.slot], op.key), {}};
      case OpType::kNewSnapshot:
        if (snapshots_[op.slot]) return {"slot taken", {}};
        snapshots_[op.slot] = state_;
        return {"OK", {}};
      case OpType::kReleaseSnapshot:
        snapshots_[op.slot].reset();
        return {"OK", {}};
      case OpType::kNewIterator: {
        if (iterators_[op.slot]) return {"slot taken", {}};
        const ModelState* source = &state_;
        if (op.snapshot >= 0) {
          if (!snapshots_[op.snapshot]) return {"no snapshot", {}};
          source = &*snapshots_[op.snapshot];
        }
        auto it = std::make_unique<ModelIterator>();
        for (const auto& [k, v] : *source) {
          if (op.lower && k < *op.lower) continue;
          if (op.upper && k >= *op.upper) continue;
          it->view.emplace(k, v);
        }
        iterators_[op.slot] = std::move(it);
        return {"OK", {}};
      }
      case OpType::kIterSeek:
      case OpType::kIterSeekForPrev:
      case OpType::kIterSeekToFirst:
      case OpType::kIterSeekToLast:
      case OpType::kIterNext:
      case OpType::kIterPrev:
        return {StepIterator(op), {}};
      case OpType::kCloseIterator:
        iterators_[op.slot].reset();
        return {"OK", {}};
      case OpType::kFlush:
      case OpType::kCompactRange:
        return {"OK", {}};
      case OpType::kReopen:
      case OpType::kPowerLoss:
        for (int i = 0; i < kSlots; i++) {
          snapshots_[i].reset();
          iterators_[i].reset();
        }
        return {"OK", {}};
      case OpType::kVerifyAll:
        return {ContentsSummary(state_), state_};
    }
    return {"?", {}};
  }

 private:
  static std::string Lookup(const ModelState& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? "NotFound" : "OK " + it->second;
  }

  std::string StepIterator(const Op& op) {
    ModelIterator* it = iterators_[op.slot].get();
    if (it == nullptr) return "no iterator";
    const ModelState& v = it->view;
    switch (op.type) {
      case OpType::kIterSeek:
        it->pos = v.lower_bound(op.key);
        break;
      case OpType::kIterSeekForPrev: {
        auto p = v.upper_bound(op.key);  // first > target; step back once
        it->pos = p == v.begin() ? v.end() : std::prev(p);
        break;
      }
      case OpType::kIterSeekToFirst:
        it->pos = v.begin();
        break;
      case OpType::kIterSeekToLast:
        it->pos = v.empty() ? v.end() : std::prev(v.end());
        break;
      case OpType::kIterNext:
        if (!it->valid) return "skipped (invalid)";
        ++it->pos;
        break;
      case OpType::kIterPrev:
        if (!it->valid) return "skipped (invalid)";
        it->pos = it->pos == v.begin() ? v.end() : std::prev(it->pos);
        break;
      default:
        break;
    }
    it->valid = it->pos != v.end();
    if (!it->valid) return IterText(false, "", "", Status::OK());
    return IterText(true, it->pos->first, it->pos->second, Status::OK());
  }

  ModelState state_;
  std::optional<ModelState> snapshots_[kSlots];
  std::unique_ptr<ModelIterator> iterators_[kSlots];
};

// ---------------------------------------------------------------- DB runner

// What the power losses of all runs so far did (printed per seed, to show
// that unsynced writes were in fact lost and the prefix check exercised).
struct PowerLossStats {
  uint64_t power_losses = 0;
  uint64_t writes_lost = 0;  // acknowledged, unsynced, not recovered
};
PowerLossStats power_loss_stats;

struct OptionSet {
  std::string name;
  std::function<void(Options*)> apply;
};

// Runs operations on one DB opened with one option set, on a MemEnv under a
// FaultInjectionEnv. Tracks the writes since the last durable point (see the
// file comment) to check and repair the state after a power loss.
class DbRunner {
 public:
  explicit DbRunner(const OptionSet& set) : mem_(NewMemEnv(Env::Default())), env_(mem_.get()) {
    options_.env = &env_;
    options_.create_if_missing = true;
    set.apply(&options_);
  }
  ~DbRunner() { CloseAll(); }

  Status Open() {
    Status s = DB::Open(options_, kDbName, &db_);
    MarkDurable();  // Open flushes and syncs what it recovered
    return s;
  }

  Result Run(const Op& op) {
    if (db_ == nullptr) return {"error: no database (a reopen failed)", {}};
    WriteOptions wo;
    wo.sync = op.sync;
    switch (op.type) {
      case OpType::kPut:
        return Write(op, db_->Put(wo, op.key, op.value));
      case OpType::kDelete:
        return Write(op, db_->Delete(wo, op.key));
      case OpType::kBatch: {
        WriteBatch batch;
        for (const auto& [k, v] : op.batch) {
          if (v) {
            batch.Put(k, *v);
          } else {
            batch.Delete(k);
          }
        }
        return Write(op, db_->Write(wo, &batch));
      }
      case OpType::kGet: {
        std::string value;
        Status s = db_->Get(ReadOptions(), op.key, &value);
        return {GetText(s, value), {}};
      }
      case OpType::kGetAtSnapshot: {
        if (snapshots_[op.slot] == nullptr) return {"no snapshot", {}};
        ReadOptions ro;
        ro.snapshot = snapshots_[op.slot];
        std::string value;
        Status s = db_->Get(ro, op.key, &value);
        return {GetText(s, value), {}};
      }
      case OpType::kNewSnapshot:
        if (snapshots_[op.slot] != nullptr) return {"slot taken", {}};
        snapshots_[op.slot] = db_->GetSnapshot();
        return {snapshots_[op.slot] != nullptr ? "OK" : "error: GetSnapshot null", {}};
      case OpType::kReleaseSnapshot:
        if (snapshots_[op.slot] != nullptr) db_->ReleaseSnapshot(snapshots_[op.slot]);
        snapshots_[op.slot] = nullptr;
        return {"OK", {}};
      case OpType::kNewIterator: {
        if (iterators_[op.slot] != nullptr) return {"slot taken", {}};
        ReadOptions ro;
        if (op.snapshot >= 0) {
          if (snapshots_[op.snapshot] == nullptr) return {"no snapshot", {}};
          ro.snapshot = snapshots_[op.snapshot];
        }
        ro.lower_bound = op.lower;
        ro.upper_bound = op.upper;
        iterators_[op.slot] = db_->NewIterator(ro);
        return {"OK", {}};
      }
      case OpType::kIterSeek:
      case OpType::kIterSeekForPrev:
      case OpType::kIterSeekToFirst:
      case OpType::kIterSeekToLast:
      case OpType::kIterNext:
      case OpType::kIterPrev:
        return {StepIterator(op), {}};
      case OpType::kCloseIterator:
        iterators_[op.slot].reset();
        return {"OK", {}};
      case OpType::kFlush: {
        Status s = db_->Flush();
        if (s.ok()) MarkDurable();
        return {s.ok() ? "OK" : "error: " + s.ToString(), {}};
      }
      case OpType::kCompactRange: {
        Status s =
            db_->CompactRange(op.has_key ? &op.key : nullptr, op.has_key2 ? &op.key2 : nullptr);
        if (s.ok()) MarkDurable();
        return {s.ok() ? "OK" : "error: " + s.ToString(), {}};
      }
      case OpType::kReopen: {
        CloseSlots();
        Status s = db_->Close();
        db_.reset();
        if (s.ok()) s = Open();
        return {s.ok() ? "OK" : "error: " + s.ToString(), {}};
      }
      case OpType::kPowerLoss:
        return {PowerLoss(), {}};
      case OpType::kVerifyAll:
        return VerifyAll();
    }
    return {"?", {}};
  }

 private:
  static constexpr const char* kDbName = "/metamorphic/db";

  Result Write(const Op& op, const Status& s) {
    if (!s.ok()) return {"error: " + s.ToString(), {}};
    pending_.push_back(op);
    if (op.sync) MarkDurable();
    return {"OK", {}};
  }

  // Everything acknowledged so far is durable: fold the pending writes into
  // the durable state.
  void MarkDurable() {
    for (const Op& w : pending_) Apply(w, &durable_);
    pending_.clear();
  }

  static void Apply(const Op& w, ModelState* m) {
    if (w.type == OpType::kPut) {
      (*m)[w.key] = w.value;
    } else if (w.type == OpType::kDelete) {
      m->erase(w.key);
    } else {
      for (const auto& [k, v] : w.batch) {
        if (v) {
          (*m)[k] = *v;
        } else {
          m->erase(k);
        }
      }
    }
  }

  std::string StepIterator(const Op& op) {
    Iterator* it = iterators_[op.slot].get();
    if (it == nullptr) return "no iterator";
    switch (op.type) {
      case OpType::kIterSeek:
        it->Seek(op.key);
        break;
      case OpType::kIterSeekForPrev:
        it->SeekForPrev(op.key);
        break;
      case OpType::kIterSeekToFirst:
        it->SeekToFirst();
        break;
      case OpType::kIterSeekToLast:
        it->SeekToLast();
        break;
      case OpType::kIterNext:
        if (!it->Valid()) return "skipped (invalid)";
        it->Next();
        break;
      case OpType::kIterPrev:
        if (!it->Valid()) return "skipped (invalid)";
        it->Prev();
        break;
      default:
        break;
    }
    if (!it->Valid()) return IterText(false, "", "", it->status());
    return IterText(true, it->key(), it->value(), it->status());
  }

  void CloseSlots() {
    for (int i = 0; i < kSlots; i++) {
      iterators_[i].reset();
      if (snapshots_[i] != nullptr && db_ != nullptr) db_->ReleaseSnapshot(snapshots_[i]);
      snapshots_[i] = nullptr;
    }
  }

  void CloseAll() {
    CloseSlots();
    if (db_ != nullptr) db_->Close().PermitUncheckedError();
    db_.reset();
  }

  // Crash without a clean Close, drop what was not synced, reopen; then
  // check that a prefix covering every synced write survived and re-apply
  // the rest (see the file comment).
  std::string PowerLoss() {
    CloseSlots();
    env_.SetFilesystemActive(false);
    db_.reset();
    Status s = env_.DropUnsyncedData();
    env_.SetFilesystemActive(true);
    if (!s.ok()) return "error: DropUnsyncedData: " + s.ToString();
    std::vector<Op> acked = std::move(pending_);
    ModelState state = durable_;
    s = DB::Open(options_, kDbName, &db_);
    if (!s.ok()) return "error: reopen after power loss: " + s.ToString();
    ModelState recovered;
    std::string error;
    if (!Scan(&recovered, &error)) return "error: " + error;
    size_t prefix = 0;
    bool found = false;
    for (size_t i = 0;; i++) {
      if (state == recovered) {
        prefix = i;
        found = true;
      }
      if (i == acked.size()) break;
      Apply(acked[i], &state);
    }
    if (!found) {
      return "recovered state is no prefix of the " + std::to_string(acked.size()) +
             " writes since the last durable point; vs the durable state:" +
             test::DescribeDifference(durable_, recovered);
    }
    durable_ = std::move(recovered);
    power_loss_stats.power_losses++;
    power_loss_stats.writes_lost += acked.size() - prefix;
    for (size_t i = prefix; i < acked.size(); i++) {
      Op w = acked[i];
      w.sync = true;
      Result r = Run(w);
      if (r.text != "OK") return "re-applying lost write: " + r.text;
    }
    MarkDurable();
    return "OK";
  }

  bool Scan(ModelState* out, std::string* error) {
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out->emplace(std::string(it->key()), std::string(it->value()));
    }
    if (!it->status().ok()) {
      *error = "forward scan: " + it->status().ToString();
      return false;
    }
    return true;
  }

  // Full contents by forward scan; the backward scan and a Get of every key
  // must agree with it (any disagreement shows in the summary text).
  Result VerifyAll() {
    ModelState contents;
    std::string error;
    if (!Scan(&contents, &error)) return {"error: " + error, {}};
    std::string text = ContentsSummary(contents);
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    auto expect = contents.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++expect) {
      if (expect == contents.rend() || expect->first != it->key() ||
          expect->second != it->value()) {
        text += "; backward scan differs at " + std::string(it->key());
        break;
      }
    }
    if (!it->status().ok()) text += "; backward scan: " + it->status().ToString();
    if (it->status().ok() && !it->Valid() && expect != contents.rend()) {
      text += "; backward scan ends early";
    }
    // Every key the scan shows or this runner wrote: Get must agree with the scan.
    ModelState written = durable_;
    for (const Op& w : pending_) Apply(w, &written);
    written.insert(contents.begin(), contents.end());
    for (const auto& entry : written) {
      const std::string& k = entry.first;
      std::string value;
      Status s = db_->Get(ReadOptions(), k, &value);
      auto in_scan = contents.find(k);
      const std::string want = in_scan == contents.end() ? "NotFound" : "OK " + in_scan->second;
      if (GetText(s, value) != want) {
        text += "; Get(" + k + ") = " + Shorten(GetText(s, value), 40) + " but the scan shows " +
                Shorten(want, 40);
        break;
      }
    }
    return {text, contents};
  }

  Options options_;
  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
  std::unique_ptr<DB> db_;
  const Snapshot* snapshots_[kSlots] = {};
  std::unique_ptr<Iterator> iterators_[kSlots];
  ModelState durable_;       // contents at the last durable point
  std::vector<Op> pending_;  // writes acknowledged since then, in order
};

// ---------------------------------------------------------------- option sets

// A user's filter policy (Options::filter_policy): two probes into 16 bits
// per key, hashed with std::hash. Coarse on purpose: many false positives,
// never a false negative — reads must return the same as with any other.
class TwoProbePolicy final : public FilterPolicy {
 public:
  const char* Name() const override { return "test.two-probe"; }
  void CreateFilter(const std::string_view* keys, size_t n, std::string* dst) const override {
    const size_t bits = std::max<size_t>(64, n * 16);
    std::string filter((bits + 7) / 8, '\0');
    for (size_t i = 0; i < n; i++) {
      for (uint64_t h : Probes(keys[i])) {
        const size_t bit = h % (filter.size() * 8);
        filter[bit / 8] = static_cast<char>(filter[bit / 8] | (1 << (bit % 8)));
      }
    }
    dst->append(filter);
  }
  bool KeyMayMatch(std::string_view key, std::string_view filter) const override {
    if (filter.empty()) return true;
    for (uint64_t h : Probes(key)) {
      const size_t bit = h % (filter.size() * 8);
      if ((filter[bit / 8] & (1 << (bit % 8))) == 0) return false;
    }
    return true;
  }

 private:
  static std::array<uint64_t, 2> Probes(std::string_view key) {
    const uint64_t h = std::hash<std::string_view>()(key);
    return {h, (h >> 17) | (h << 47)};
  }
};

// The option sets every sequence runs over. Each changes how data is laid out
// and when it moves (flushes, compactions), never what a read may return.
// The table format version is not among them: it is a TableOptions field that
// the DB does not expose (TableOptionsFromOptions always writes version 2).
std::vector<OptionSet> StandardOptionSets() {
  return {
      {"defaults (64 MiB write buffer, 4 KiB blocks, no compression, bloom 10)", [](Options*) {}},
      {"tiny blocks, snappy, no bloom, 4 KiB write buffer, L0 limit 2",
       [](Options* o) {
         o->block_size = 128;
         o->block_restart_interval = 1;
         o->compression = CompressionType::kSnappy;
         o->bloom_bits_per_key = 0;
         o->write_buffer_size = 4096;
         o->level0_file_limit = 2;
         o->target_file_size = 8 * 1024;
         o->max_bytes_for_level_base = 32 * 1024;
         o->level_size_multiplier = 2;
       }},
      {"lz4, 1 KiB blocks, bloom 5, 16 KiB buffer in 2 KiB memtable runs, paranoid checks, "
       "kAbsoluteConsistency",
       [](Options* o) {
         o->memtable_run_size = 2 * 1024;
         o->block_size = 1024;
         o->block_restart_interval = 4;
         o->compression = CompressionType::kLZ4;
         o->bloom_bits_per_key = 5;
         o->write_buffer_size = 16 * 1024;
         o->paranoid_checks = true;
         o->wal_recovery_mode = WalRecoveryMode::kAbsoluteConsistency;
       }},
      {"zstd, 8 KiB buffer without a memtable point index, 3 compaction threads, kPointInTime",
       [](Options* o) {
         o->memtable_index_ratio = 0;
         o->compression = CompressionType::kZstd;
         o->write_buffer_size = 8 * 1024;
         o->max_background_compactions = 3;
         o->wal_recovery_mode = WalRecoveryMode::kPointInTime;
         o->target_file_size = 16 * 1024;
         o->max_bytes_for_level_base = 64 * 1024;
         o->level_size_multiplier = 3;
       }},
      {"snappy, 16 KiB blocks, bloom 20, 32 KiB buffer in 1 KiB memtable runs (16, the last "
       "grows), kTolerateCorruptedTail",
       [](Options* o) {
         o->memtable_run_size = 1024;
         o->compression = CompressionType::kSnappy;
         o->block_size = 16 * 1024;
         o->block_restart_interval = 16;
         o->bloom_bits_per_key = 20;
         o->write_buffer_size = 32 * 1024;
         o->wal_recovery_mode = WalRecoveryMode::kTolerateCorruptedTail;
       }},
      {"table format 1, 512 B blocks, bloom 1, tiny block cache, 1 open table, 4 KiB buffer",
       [](Options* o) {
         o->table_format_version = 1;
         o->block_size = 512;
         o->bloom_bits_per_key = 1;
         o->block_cache_size = 1024;
         o->max_open_files = 1;
         o->write_buffer_size = 4096;
       }},
      {"deep levels: 4 KiB buffer and files, L0 limit 1, x2 levels, 2 compaction threads, lz4",
       [](Options* o) {
         o->compression = CompressionType::kLZ4;
         o->write_buffer_size = 4096;
         o->target_file_size = 4096;
         o->level0_file_limit = 1;
         o->level_size_multiplier = 2;
         o->max_bytes_for_level_base = 8 * 1024;
         o->compaction_soft_limit = 0.5;
         o->max_background_compactions = 2;
       }},
      {"zstd, 8 KiB buffer, 2 memtables, read-triggered compaction, paranoid checks, a user's "
       "filter policy",
       [](Options* o) {
         o->filter_policy = std::make_shared<TwoProbePolicy>();
         o->compression = CompressionType::kZstd;
         o->write_buffer_size = 8 * 1024;
         o->max_write_buffer_number = 2;
         o->read_compaction_bytes_per_seek = 1;
         o->paranoid_checks = true;
       }},
  };
}

// Test only: removes, during compaction, every value whose key ends in '3'.
// A compaction filter legitimately changes what reads return, so an option
// set with it must be reported as diverging: proof that the harness can fail.
class DropKeysEndingIn3 : public CompactionFilter {
 public:
  Decision Filter(int, std::string_view key, std::string_view) const override {
    return !key.empty() && key.back() == '3' ? Decision::kRemove : Decision::kKeep;
  }
  const char* Name() const override { return "DropKeysEndingIn3"; }
};

OptionSet DivergentOptionSet() {
  // Only CompactRange compacts (no size- or read-triggered compaction), so
  // where the divergence shows does not depend on background timing.
  return {"DIVERGENT (test only: compaction filter dropping keys ending in 3)", [](Options* o) {
            o->compaction_filter = std::make_shared<DropKeysEndingIn3>();
            o->level0_file_limit = 1000;
            o->level0_slowdown_writes_trigger = 1000;
            o->level0_stop_writes_trigger = 1000;
            o->read_compaction_bytes_per_seek = 0;
          }};
}

// ---------------------------------------------------------------- harness

// The first disagreement with the model found in one run.
struct Failure {
  size_t op_index = 0;
  std::string report;  // empty: no failure
  bool failed() const { return !report.empty(); }
};

std::vector<Result> ModelTrace(const std::vector<Op>& ops) {
  ModelRunner model;
  std::vector<Result> trace;
  trace.reserve(ops.size());
  for (const Op& op : ops) trace.push_back(model.Run(op));
  return trace;
}

// Runs ops over one option set up to its first disagreement with expected;
// returns its index (ops.size() if none) and the set's result there.
size_t RunOptionSet(const OptionSet& set, const std::vector<Op>& ops,
                    const std::vector<Result>& expected, Result* got) {
  DbRunner runner(set);
  Status s = runner.Open();
  if (!s.ok()) {
    *got = {"error: Open: " + s.ToString(), {}};
    return 0;
  }
  for (size_t i = 0; i < ops.size(); i++) {
    Result r = runner.Run(ops[i]);
    if (!(r == expected[i])) {
      *got = std::move(r);
      return i;
    }
  }
  return ops.size();
}

std::string ResultText(const Result& r) { return Shorten(r.text, 120); }

// Runs ops over the model and every set. Each set must produce the model's
// result for every op; as the model is the same for all, the sets then also
// agree with one another. Reports the earliest disagreement: the seed, the op
// index, the ops leading to it, every set's result there and the model's.
// generated: how many ops Generator(seed) produced for the sequence ops
// comes from (ops is shorter when shrunk).
Failure RunSequence(uint64_t seed, const std::vector<Op>& ops, const std::vector<OptionSet>& sets,
                    size_t generated) {
  const std::vector<Result> expected = ModelTrace(ops);
  std::vector<size_t> first_bad(sets.size());
  std::vector<Result> bad_result(sets.size());
  size_t earliest = ops.size();
  for (size_t k = 0; k < sets.size(); k++) {
    first_bad[k] = RunOptionSet(sets[k], ops, expected, &bad_result[k]);
    earliest = std::min(earliest, first_bad[k]);
  }
  Failure f;
  if (earliest == ops.size()) return f;
  f.op_index = earliest;
  std::string& r = f.report;
  const std::string rerun =
      "METAMORPHIC_SEED=" + std::to_string(seed) + " METAMORPHIC_OPS=" + std::to_string(generated);
  r = "metamorphic mismatch: seed " + std::to_string(seed) + ", op " + std::to_string(earliest) +
      " of " + std::to_string(ops.size()) +
      (ops.size() == generated + 1 ? " (rerun: " + rerun + ")\n"
                                   : " (a shrunk subsequence of the sequence of " + rerun + ")\n");
  r += "operations before it:\n";
  for (size_t i = earliest >= 12 ? earliest - 12 : 0; i < earliest; i++) {
    r += "  #" + std::to_string(i) + " " + Describe(ops[i]) + "\n";
  }
  r += "the operation: #" + std::to_string(earliest) + " " + Describe(ops[earliest]) + "\n";
  r += "  model (std::map): " + ResultText(expected[earliest]) + "\n";
  for (size_t k = 0; k < sets.size(); k++) {
    r += "  option set " + std::to_string(k) + " [" + sets[k].name + "]: ";
    if (first_bad[k] == earliest) {
      r += ResultText(bad_result[k]);
      if (bad_result[k].contents && expected[earliest].contents) {
        const std::string diff =
            test::DescribeDifference(*expected[earliest].contents, *bad_result[k].contents);
        r += "\n    contents vs the model:" + (diff.empty() ? " the same" : diff);
      }
    } else if (first_bad[k] == ops.size()) {
      r += "same as the model (and for every op)";
    } else {
      r += "same as the model (first differs at op " + std::to_string(first_bad[k]) + ")";
    }
    r += "\n";
  }
  return f;
}

// Greedy shrinking: drops chunks of operations (halving the chunk size down
// to single ops) while the sequence still fails with the same sets. The
// final kVerifyAll stays. Bounded by max_runs sequence runs.
std::vector<Op> Shrink(uint64_t seed, std::vector<Op> ops, const std::vector<OptionSet>& sets,
                       int max_runs) {
  const size_t generated = ops.size() - 1;
  int runs = 0;
  for (size_t chunk = ops.size() / 2; chunk >= 1 && runs < max_runs; chunk /= 2) {
    for (size_t start = 0; start + 1 < ops.size() && runs < max_runs;) {
      const size_t end = std::min(start + chunk, ops.size() - 1);
      std::vector<Op> candidate(ops.begin(), ops.begin() + static_cast<ptrdiff_t>(start));
      candidate.insert(candidate.end(), ops.begin() + static_cast<ptrdiff_t>(end), ops.end());
      runs++;
      if (RunSequence(seed, candidate, sets, generated).failed()) {
        ops = std::move(candidate);  // keep start: the next chunk moved here
      } else {
        start = end;
      }
    }
  }
  return ops;
}

uint64_t EnvNumber(const char* name, uint64_t default_value) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return default_value;
  return std::strtoull(s, nullptr, 10);
}

// One seed over the standard sets; on failure the report (and, with
// METAMORPHIC_SHRINK=1, a shrunk sequence) goes to the test output.
void CheckSeed(uint64_t seed, int num_ops) {
  const std::vector<Op> ops = Generator(seed).Generate(num_ops);
  const std::vector<OptionSet> sets = StandardOptionSets();
  const auto start = std::chrono::steady_clock::now();
  Failure f = RunSequence(seed, ops, sets, ops.size() - 1);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seed %" PRIu64 ": %d ops x %zu option sets: %s (%.1f s; so far %" PRIu64
              " power losses lost %" PRIu64 " unsynced writes)\n",
              seed, num_ops, sets.size(), f.failed() ? "MISMATCH" : "all agree with the model",
              secs, power_loss_stats.power_losses, power_loss_stats.writes_lost);
  std::fflush(stdout);
  if (f.failed() && EnvNumber("METAMORPHIC_SHRINK", 0) != 0) {
    const std::vector<Op> small = Shrink(seed, ops, sets, 300);
    std::string listing = "shrunk to " + std::to_string(small.size()) + " ops:\n";
    for (size_t i = 0; i < small.size(); i++) {
      listing += "  #" + std::to_string(i) + " " + Describe(small[i]) + "\n";
    }
    ADD_FAILURE() << listing << RunSequence(seed, small, sets, ops.size() - 1).report;
  }
  ASSERT_FALSE(f.failed()) << f.report;
}

constexpr int kDefaultOps = 2000;

// make test: a few fixed seeds. METAMORPHIC_SEED reruns one seed;
// METAMORPHIC_SECONDS (make metamorphic) runs consecutive seeds from
// METAMORPHIC_SEED_BASE until the time is up. METAMORPHIC_OPS sets the
// length of every sequence.
TEST(DbMetamorphicTest, SameResultsUnderEveryOptionSet) {
  const int num_ops = static_cast<int>(EnvNumber("METAMORPHIC_OPS", kDefaultOps));
  if (std::getenv("METAMORPHIC_SEED") != nullptr) {
    CheckSeed(EnvNumber("METAMORPHIC_SEED", 0), num_ops);
    return;
  }
  const uint64_t seconds = EnvNumber("METAMORPHIC_SECONDS", 0);
  if (seconds == 0) {
    for (uint64_t seed : {1, 2, 3, 4}) {
      CheckSeed(seed, num_ops);
      if (HasFatalFailure()) return;
    }
    return;
  }
  const uint64_t base = EnvNumber("METAMORPHIC_SEED_BASE", 1000);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  uint64_t seed = base;
  int seeds = 0;
  // A seed is started only while time is left; it runs to the end.
  while (std::chrono::steady_clock::now() < deadline) {
    CheckSeed(seed++, num_ops);
    seeds++;
    if (HasFatalFailure()) return;
  }
  std::printf("%d seeds (%" PRIu64 "..%" PRIu64 ") passed in %" PRIu64 " s\n", seeds, base,
              seed - 1, seconds);
}

// The harness can fail: a test-only option set with a compaction filter
// (which legitimately changes what reads return) must be reported, with the
// seed, the op index, the option set and both results; and shrinking keeps
// a failing sequence failing while making it shorter.
TEST(DbMetamorphicTest, ReportsADivergentOptionSet) {
  const uint64_t seed = 7;
  const std::vector<Op> ops = Generator(seed).Generate(600);
  const std::vector<OptionSet> sets = {StandardOptionSets()[0], DivergentOptionSet()};
  Failure f = RunSequence(seed, ops, sets, ops.size() - 1);
  ASSERT_TRUE(f.failed());
  std::printf("%s", f.report.c_str());
  EXPECT_NE(f.report.find("seed 7, op " + std::to_string(f.op_index)), std::string::npos);
  EXPECT_NE(f.report.find("METAMORPHIC_SEED=7"), std::string::npos);
  EXPECT_NE(f.report.find("[DIVERGENT"), std::string::npos);
  EXPECT_NE(f.report.find("model (std::map): "), std::string::npos);
  EXPECT_NE(f.report.find("same as the model (and for every op)"), std::string::npos)
      << "the standard set must agree with the model";

  const std::vector<Op> small = Shrink(seed, ops, sets, 200);
  EXPECT_LT(small.size(), ops.size());
  EXPECT_TRUE(RunSequence(seed, small, sets, ops.size() - 1).failed());
  std::printf("shrunk from %zu to %zu ops\n", ops.size(), small.size());
}

}  // namespace
}  // namespace lsmkv
