// Tests of the linearizability checker (replication/lincheck.h): small
// histories with known verdicts, randomised histories generated from a real
// sequential execution (linearizable) and then corrupted (not), the parsers,
// and Porcupine's recorded histories with their verdicts (docs/lincheck.md).
#include "replication/lincheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace lsmkv::lincheck {
namespace {

// ------------------------------------------------------------------ builders

Operation MakeOp(int64_t client, const std::string& key, OpKind kind, int64_t call, int64_t ret) {
  Operation op;
  op.client = client;
  op.key = key;
  op.kind = kind;
  op.call = call;
  op.ret = ret;
  return op;
}

Operation Write(int64_t client, const std::string& value, int64_t call, int64_t ret,
                const std::string& key = "") {
  Operation op = MakeOp(client, key, OpKind::kWrite, call, ret);
  op.value = value;
  return op;
}

Operation Read(int64_t client, const Value& output, int64_t call, int64_t ret,
               const std::string& key = "") {
  Operation op = MakeOp(client, key, OpKind::kRead, call, ret);
  op.output = output;
  return op;
}

Operation Cas(int64_t client, const Value& expected, const std::string& value, bool ok,
              int64_t call, int64_t ret) {
  Operation op = MakeOp(client, "", OpKind::kCas, call, ret);
  op.expected = expected;
  op.value = value;
  op.outcome = ok ? Outcome::kOk : Outcome::kFail;
  return op;
}

Operation Append(int64_t client, const std::string& value, int64_t call, int64_t ret,
                 const std::string& key = "") {
  Operation op = MakeOp(client, key, OpKind::kAppend, call, ret);
  op.value = value;
  return op;
}

// `op` with its return never seen.
Operation Unknown(Operation op) {
  op.outcome = Outcome::kUnknown;
  op.ret = -1;  // ignored
  return op;
}

const RegisterModel kRegister;
const KvModel kKv;

// A budget in steps rather than time, so that the verdicts do not depend on
// the machine or the build (sanitizers); the largest search here takes about
// 2.3 million steps (LargeSingleKeyHistories), Porcupine's c50-ok.txt 0.9 million.
const Budget kTestBudget{std::chrono::milliseconds(0), 50'000'000};

Verdict RegisterVerdict(const std::vector<Operation>& h) {
  return Check(kRegister, h, kTestBudget).verdict;
}
Verdict KvVerdict(const std::vector<Operation>& h) { return Check(kKv, h, kTestBudget).verdict; }

// ------------------------------------------------------------------ hand-written

TEST(LincheckTest, EmptyHistoryIsLinearizable) {
  EXPECT_EQ(RegisterVerdict({}), Verdict::kOk);
  EXPECT_EQ(KvVerdict({}), Verdict::kOk);
}

TEST(LincheckTest, SequentialHistory) {
  EXPECT_EQ(RegisterVerdict({Read(0, std::nullopt, 0, 1), Write(0, "1", 2, 3), Read(1, "1", 4, 5),
                             Write(1, "2", 6, 7), Read(0, "2", 8, 9)}),
            Verdict::kOk);
  // The same reads in the wrong places.
  EXPECT_EQ(RegisterVerdict({Read(0, "1", 0, 1), Write(0, "1", 2, 3)}), Verdict::kIllegal);
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 2, 3), Read(1, std::nullopt, 4, 5)}), Verdict::kIllegal);
}

TEST(LincheckTest, ConcurrentReadsMaySeeEitherValue) {
  // A read overlapping a write may see the old or the new value...
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 10), Read(1, std::nullopt, 1, 2)}), Verdict::kOk);
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 10), Read(1, "1", 1, 2)}), Verdict::kOk);
  EXPECT_EQ(
      RegisterVerdict({Write(0, "1", 0, 10), Read(1, std::nullopt, 1, 2), Read(2, "1", 3, 4)}),
      Verdict::kOk);
  // ...but once one read has seen the new value a later read cannot see the old.
  EXPECT_EQ(
      RegisterVerdict({Write(0, "1", 0, 10), Read(1, "1", 1, 2), Read(2, std::nullopt, 3, 4)}),
      Verdict::kIllegal);
  // Operations touching in time count as concurrent.
  EXPECT_EQ(RegisterVerdict({Read(1, "1", 0, 5), Write(0, "1", 5, 6)}), Verdict::kOk);
}

TEST(LincheckTest, StaleReadIsIllegal) {
  const std::vector<Operation> h = {Write(0, "1", 0, 1), Write(1, "2", 2, 3), Read(2, "1", 4, 5)};
  const CheckResult r = Check(kRegister, h);
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_EQ(r.key, "");
  // The longest prefix is both writes; the read of 1 is what cannot follow.
  EXPECT_EQ(r.prefix, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.blocked, 2u);
  EXPECT_NE(r.explanation.find("after it the value is 2"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("client 2 read -> 1"), std::string::npos) << r.explanation;
}

TEST(LincheckTest, LostWriteIsIllegal) {
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 1), Read(1, std::nullopt, 2, 3)}), Verdict::kIllegal);
  EXPECT_EQ(KvVerdict({Append(0, "a", 0, 1), Append(1, "b", 2, 3), Read(2, "b", 4, 5)}),
            Verdict::kIllegal);
  EXPECT_EQ(KvVerdict({Write(0, "x", 0, 1), Read(1, "", 2, 3)}), Verdict::kIllegal);
}

TEST(LincheckTest, UnknownWriteMayTakeEffectOrNot) {
  const Operation w = Unknown(Write(0, "1", 0, -1));
  // Taken effect, or not (yet).
  EXPECT_EQ(RegisterVerdict({w, Read(1, "1", 5, 6)}), Verdict::kOk);
  EXPECT_EQ(RegisterVerdict({w, Read(1, std::nullopt, 5, 6)}), Verdict::kOk);
  // Late: after its client gave up and after later reads.
  EXPECT_EQ(RegisterVerdict({w, Read(1, std::nullopt, 5, 6), Read(1, std::nullopt, 7, 8),
                             Read(2, "1", 100, 101)}),
            Verdict::kOk);
  // After a later write, overwriting it.
  EXPECT_EQ(RegisterVerdict({w, Write(1, "2", 5, 6), Read(2, "1", 7, 8)}), Verdict::kOk);
  // Once it has taken effect it stays (nothing else writes).
  EXPECT_EQ(RegisterVerdict({w, Read(1, "1", 5, 6), Read(2, std::nullopt, 7, 8)}),
            Verdict::kIllegal);
  // Never before its call.
  EXPECT_EQ(RegisterVerdict({Read(1, "1", 0, 1), Unknown(Write(0, "1", 2, -1))}),
            Verdict::kIllegal);
  // At most once: it cannot explain two different values.
  EXPECT_EQ(RegisterVerdict({w, Write(1, "2", 1, 2), Read(2, "1", 3, 4), Read(2, "2", 5, 6),
                             Read(2, "1", 7, 8)}),
            Verdict::kIllegal);
}

TEST(LincheckTest, UnknownAppendMayTakeEffectOrNot) {
  const Operation a = Unknown(Append(0, "a", 0, -1));
  EXPECT_EQ(KvVerdict({a, Append(1, "b", 1, 2), Read(2, "b", 3, 4)}), Verdict::kOk);
  EXPECT_EQ(KvVerdict({a, Append(1, "b", 1, 2), Read(2, "ab", 3, 4)}), Verdict::kOk);
  EXPECT_EQ(KvVerdict({a, Append(1, "b", 1, 2), Read(2, "ba", 3, 4)}), Verdict::kOk);
  EXPECT_EQ(KvVerdict({a, Append(1, "b", 1, 2), Read(2, "aba", 3, 4)}), Verdict::kIllegal);
  EXPECT_EQ(KvVerdict({a, Append(1, "b", 1, 2), Read(2, "ab", 3, 4), Read(2, "b", 5, 6)}),
            Verdict::kIllegal);
}

// Appends of unknown outcome, available from the start: two take effect late
// (one after the put that erases whatever the others did, one after its
// client's next call), the rest never. The search tries them as late and as
// few as it can, so the linearizable history is decided in a few hundred
// steps; the illegal ones need every placement of every subset (the cost
// grows about 6x per pending unknown append: docs/lincheck.md, "Limits").
TEST(LincheckTest, ManyUnknownOperations) {
  std::vector<Operation> h;
  for (int i = 0; i < 6; ++i) h.push_back(Unknown(Append(i, "u" + std::to_string(i), i, -1)));
  h.push_back(Write(20, "x", 20, 21));
  h.push_back(Read(20, "x", 22, 23));
  h.push_back(Append(20, "y", 24, 25));
  h.push_back(Read(20, "xyu5", 26, 27));
  h.push_back(Unknown(Append(21, "z", 28, -1)));
  h.push_back(Read(20, "xyu5z", 40, 41));
  Budget budget;
  budget.steps = 1000;
  const CheckResult ok = Check(kKv, h, budget);
  EXPECT_EQ(ok.verdict, Verdict::kOk) << ok.explanation;
  budget.steps = 1000000;
  // u5 cannot take effect twice...
  h.back().output = "xyu5u5z";
  EXPECT_EQ(Check(kKv, h, budget).verdict, Verdict::kIllegal);
  // ...nor z before its call.
  h.back().output = "xyu5z";
  h[h.size() - 3].output = "xyu5z";
  EXPECT_EQ(Check(kKv, h, budget).verdict, Verdict::kIllegal);
}

TEST(LincheckTest, UnknownReadConstrainsNothing) {
  const CheckResult r =
      Check(kRegister, {Write(0, "1", 0, 1), Unknown(Read(1, "something else", 2, -1))});
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_EQ(r.operations, 1u);  // the read is left out of the search
}

TEST(LincheckTest, FailedCas) {
  // A failed cas has no effect and needs a value other than the expected one.
  EXPECT_EQ(
      RegisterVerdict({Write(0, "1", 0, 1), Cas(1, "2", "3", false, 2, 3), Read(2, "1", 4, 5)}),
      Verdict::kOk);
  EXPECT_EQ(
      RegisterVerdict({Write(0, "1", 0, 1), Cas(1, "2", "3", false, 2, 3), Read(2, "3", 4, 5)}),
      Verdict::kIllegal);
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 1), Cas(1, "1", "3", false, 2, 3)}),
            Verdict::kIllegal);
  // On no value at all (a cas expecting nil is a set-if-absent).
  EXPECT_EQ(RegisterVerdict({Cas(1, "1", "3", false, 0, 1)}), Verdict::kOk);
  EXPECT_EQ(RegisterVerdict({Cas(1, std::nullopt, "3", true, 0, 1), Read(0, "3", 2, 3)}),
            Verdict::kOk);
  // A successful cas needs the expected value and sets the new one.
  EXPECT_EQ(
      RegisterVerdict({Write(0, "1", 0, 1), Cas(1, "1", "3", true, 2, 3), Read(2, "3", 4, 5)}),
      Verdict::kOk);
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 1), Cas(1, "2", "3", true, 2, 3)}),
            Verdict::kIllegal);
  // A failed cas concurrent with the write that made it fail.
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 1), Write(0, "2", 2, 10),
                             Cas(1, "1", "3", false, 3, 4), Read(2, "2", 11, 12)}),
            Verdict::kOk);
  // An unknown cas applies if it matched where it took effect, or never happened.
  const Operation u = Unknown(Cas(1, "1", "3", true, 2, -1));
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 1), u, Read(2, "3", 4, 5)}), Verdict::kOk);
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 0, 1), u, Read(2, "1", 4, 5)}), Verdict::kOk);
  EXPECT_EQ(RegisterVerdict({Write(0, "2", 0, 1), u, Read(2, "3", 4, 5)}), Verdict::kIllegal);
}

TEST(LincheckTest, AppendOrder) {
  // Concurrent appends in either order, never lost or doubled.
  const Operation a = Append(0, "a", 0, 10), b = Append(1, "b", 1, 9);
  EXPECT_EQ(KvVerdict({a, b, Read(2, "ab", 11, 12)}), Verdict::kOk);
  EXPECT_EQ(KvVerdict({a, b, Read(2, "ba", 11, 12)}), Verdict::kOk);
  EXPECT_EQ(KvVerdict({a, b, Read(2, "a", 11, 12)}), Verdict::kIllegal);
  EXPECT_EQ(KvVerdict({a, b, Read(2, "abb", 11, 12)}), Verdict::kIllegal);
  // Sequential appends in their order only.
  EXPECT_EQ(KvVerdict({Append(0, "a", 0, 1), Append(0, "b", 2, 3), Read(1, "ab", 4, 5)}),
            Verdict::kOk);
  EXPECT_EQ(KvVerdict({Append(0, "a", 0, 1), Append(0, "b", 2, 3), Read(1, "ba", 4, 5)}),
            Verdict::kIllegal);
  // A put replaces; an absent key reads as "".
  EXPECT_EQ(KvVerdict({Read(0, "", 0, 1), Append(0, "a", 2, 3), Write(1, "x", 4, 5),
                       Append(0, "b", 6, 7), Read(1, "xb", 8, 9)}),
            Verdict::kOk);
}

TEST(LincheckTest, KeysArePartitioned) {
  const std::vector<Operation> ok = {Write(0, "1", 0, 1, "x"), Read(1, "", 2, 3, "y"),
                                     Append(1, "z", 4, 5, "y"), Read(0, "1", 6, 7, "x"),
                                     Read(0, "z", 8, 9, "y")};
  const CheckResult r = Check(kKv, ok);
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_EQ(r.keys, 2u);
  EXPECT_EQ(r.operations, 5u);
  // A write to x is invisible on y.
  const CheckResult bad = Check(kKv, {Write(0, "1", 0, 1, "x"), Read(1, "1", 2, 3, "y")});
  EXPECT_EQ(bad.verdict, Verdict::kIllegal);
  EXPECT_EQ(bad.key, "y");
  EXPECT_NE(bad.explanation.find("key y:"), std::string::npos) << bad.explanation;
}

TEST(LincheckTest, InvalidHistories) {
  EXPECT_EQ(RegisterVerdict({Write(0, "1", 5, 4)}), Verdict::kInvalid);
  EXPECT_EQ(RegisterVerdict({Append(0, "1", 0, 1)}), Verdict::kInvalid);
  const Operation cas = Cas(0, "1", "2", true, 0, 1);
  EXPECT_EQ(KvVerdict({cas}), Verdict::kInvalid);
  EXPECT_NE(Check(kKv, {cas}).explanation.find("no cas"), std::string::npos);
}

// Many concurrent unknown writes and a read no order can explain: a search
// with a small budget gives up with kUnknown instead of a verdict.
TEST(LincheckTest, BudgetGivesUnknown) {
  std::vector<Operation> h;
  for (int i = 0; i < 12; ++i) h.push_back(Unknown(Write(i, std::to_string(i), i, -1)));
  h.push_back(Write(99, "x", 100, 101));
  h.push_back(Read(99, "never", 102, 103));
  Budget small;
  small.steps = 1000;
  const CheckResult r = Check(kRegister, h, small);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.explanation.find("step budget"), std::string::npos) << r.explanation;
  // With no budget the search finishes: no order of writes reads "never".
  EXPECT_EQ(Check(kRegister, h, Budget{std::chrono::milliseconds(0), 0}).verdict,
            Verdict::kIllegal);
}

// ------------------------------------------------------------------ randomised

struct GenConfig {
  bool kv;          // KvModel (get/put/append on keys) or RegisterModel (read/write/cas)
  int clients;      // each runs its operations one after another
  int keys;         //
  int ops;          // per client
  int unknown_pct;  // chance that an operation's outcome is unknown
};

// A history from a real execution: every operation gets a linearization
// point inside [call, return] (an unknown one: none, or a time up to 40 after
// its call, possibly after its client's next operations: a client timeout of
// 20 and a request that is applied late), the operations are applied in that
// order to a map of registers, and the outputs they get are recorded. Such a
// history is linearizable.
std::vector<Operation> Generate(std::mt19937_64& rng, const GenConfig& c) {
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<Operation> ops;
  std::vector<int64_t> point;  // linearization point, -1 = never takes effect
  for (int client = 0; client < c.clients; ++client) {
    int64_t t = uniform(0, 10);
    for (int j = 0; j < c.ops; ++j) {
      const int64_t call = t, ret = call + uniform(0, 20);
      const std::string key = "k" + std::to_string(uniform(0, c.keys - 1));
      const int dice = uniform(0, 99);
      Operation op;
      if (dice < (c.kv ? 50 : 40)) {
        op = Read(client, std::nullopt, call, ret, key);
      } else if (c.kv) {
        const std::string v = "c" + std::to_string(client) + "." + std::to_string(j) + ";";
        op = dice < 65 ? Write(client, v, call, ret, key) : Append(client, v, call, ret, key);
      } else if (dice < 75) {
        op = Write(client, std::to_string(uniform(0, 4)), call, ret, key);
      } else {
        op = Cas(client, std::to_string(uniform(0, 4)), std::to_string(uniform(0, 4)), true, call,
                 ret);
        op.key = key;
      }
      int64_t at = uniform(static_cast<int>(call), static_cast<int>(ret));
      if (uniform(0, 99) < c.unknown_pct) {
        op = Unknown(op);
        at = uniform(0, 1) == 0 ? -1 : call + uniform(0, 40);
      }
      ops.push_back(op);
      point.push_back(at);
      t = ret + uniform(1, 5);
    }
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (point[i] >= 0) order.push_back(i);
  }
  std::shuffle(order.begin(), order.end(), rng);  // random order among equal points
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return point[a] < point[b]; });
  std::map<std::string, Value> state;
  for (size_t i : order) {
    Operation& op = ops[i];
    Value& v = state[op.key];
    switch (op.kind) {
      case OpKind::kRead:
        op.output = c.kv ? Value(v.value_or("")) : v;
        break;
      case OpKind::kWrite:
        v = op.value;
        break;
      case OpKind::kAppend:
        v = v.value_or("") + op.value;
        break;
      case OpKind::kCas:
        if (v == op.expected) {
          v = op.value;
        } else if (op.outcome == Outcome::kOk) {
          op.outcome = Outcome::kFail;
        }
        break;
    }
  }
  return ops;
}

void RandomHistories(bool kv, uint64_t base_seed) {
  const Model& model = kv ? static_cast<const Model&>(kKv) : kRegister;
  int mutated = 0;
  for (int round = 0; round < 300; ++round) {
    const uint64_t seed = base_seed + round;
    SCOPED_TRACE("seed " + std::to_string(seed) + (kv ? " (kv)" : " (register)"));
    std::mt19937_64 rng(seed);
    GenConfig c;
    c.kv = kv;
    c.clients = 2 + static_cast<int>(rng() % 6);
    c.keys = 1 + static_cast<int>(rng() % 3);
    c.ops = 3 + static_cast<int>(rng() % 12);
    c.unknown_pct = static_cast<int>(rng() % 3) * (kv ? 5 : 10);
    std::vector<Operation> h = Generate(rng, c);
    const CheckResult r = Check(model, h, kTestBudget);
    ASSERT_EQ(r.verdict, Verdict::kOk) << r.explanation;

    // One read that returned now returns what nobody wrote.
    std::vector<size_t> reads;
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i].kind == OpKind::kRead && h[i].outcome == Outcome::kOk) reads.push_back(i);
    }
    if (reads.empty()) continue;
    const size_t victim = reads[rng() % reads.size()];
    h[victim].output = "never-written";
    const CheckResult bad = Check(model, h, kTestBudget);
    ASSERT_EQ(bad.verdict, Verdict::kIllegal) << "mutated operation " << victim;
    EXPECT_EQ(bad.key, h[victim].key);
    ++mutated;
  }
  EXPECT_GT(mutated, 250);
}

TEST(LincheckRandomTest, RegisterHistories) { RandomHistories(false, 0x5eed0000); }
TEST(LincheckRandomTest, KvHistories) { RandomHistories(true, 0x5eed1000); }

// Fewer, larger histories on one key: long searches through the cache.
TEST(LincheckRandomTest, LargeSingleKeyHistories) {
  for (int round = 0; round < 20; ++round) {
    const uint64_t seed = 0x5eed2000 + round;
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const bool kv = round % 2 == 1;
    const Model& model = kv ? static_cast<const Model&>(kKv) : kRegister;
    std::vector<Operation> h = Generate(rng, GenConfig{kv, 5, 1, 30, 5});
    ASSERT_EQ(Check(model, h, kTestBudget).verdict, Verdict::kOk);
    std::vector<size_t> reads;
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i].kind == OpKind::kRead && h[i].outcome == Outcome::kOk) reads.push_back(i);
    }
    ASSERT_FALSE(reads.empty());
    h[reads[rng() % reads.size()]].output = "never-written";
    EXPECT_EQ(Check(model, h, kTestBudget).verdict, Verdict::kIllegal);
  }
}

// ------------------------------------------------------------------ parsers

bool Parse(Format f, const std::string& text, std::vector<Operation>* ops, std::string* error) {
  std::istringstream in(text);
  return ParseHistory(f, in, "h", ops, error);
}

TEST(LincheckParseTest, Etcd) {
  const std::string text =
      "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
      "INFO  jepsen.util - 1\t:invoke\t:write\t3\n"
      "INFO  jepsen.util - 2   :invoke :cas    [3 4]\n"
      "INFO  jepsen.util - 0\t:ok\t:read\tnil\n"
      "INFO  jepsen.util - 1\t:info\t:write\t:timed-out\n"
      "INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]\n"
      "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n"
      "INFO  jepsen.util - 3\t:fail\t:read\t:timed-out\n"
      "INFO  jepsen.util - 4\t:invoke\t:read\tnil\n"
      "INFO  jepsen.util - 4\t:ok\t:read\t3\n";
  std::vector<Operation> ops;
  std::string error;
  ASSERT_TRUE(Parse(Format::kEtcd, text, &ops, &error)) << error;
  ASSERT_EQ(ops.size(), 5u);
  EXPECT_EQ(ops[0].kind, OpKind::kRead);
  EXPECT_EQ(ops[0].outcome, Outcome::kOk);
  EXPECT_EQ(ops[0].output, std::nullopt);
  EXPECT_EQ(ops[0].call, 1);
  EXPECT_EQ(ops[0].ret, 4);
  EXPECT_EQ(ops[1].kind, OpKind::kWrite);
  EXPECT_EQ(ops[1].value, "3");
  EXPECT_EQ(ops[1].outcome, Outcome::kUnknown);  // :info is skipped, so no return
  EXPECT_EQ(ops[2].kind, OpKind::kCas);
  EXPECT_EQ(ops[2].expected, "3");
  EXPECT_EQ(ops[2].value, "4");
  EXPECT_EQ(ops[2].outcome, Outcome::kFail);
  EXPECT_EQ(ops[3].outcome, Outcome::kUnknown);  // timed-out read
  EXPECT_EQ(ops[4].output, "3");
  EXPECT_EQ(ops[4].tag, 9);
  EXPECT_EQ(Check(kRegister, ops).verdict, Verdict::kOk);
}

TEST(LincheckParseTest, EtcdErrorsNameTheLine) {
  const std::string ok_line = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {ok_line + "garbage\n", "h:2: expected"},
      {ok_line + "\n", "h:2: expected"},
      {"INFO  jepsen.util - x\t:invoke\t:read\tnil\n", "h:1: process id"},
      {"INFO  jepsen.util - 0\t:invoke\t:delete\tnil\n", "h:1: unknown function"},
      {"INFO  jepsen.util - 0\t:invoke\t:write\tfoo\n", "h:1: value \"foo\" is not an integer"},
      {"INFO  jepsen.util - 0\t:invoke\t:cas\t[1]\n", "h:1: cas value"},
      {"INFO  jepsen.util - 0\t:ok\t:read\tnil\n", "h:1: process 0 returns"},
      {ok_line + ok_line, "h:2: process 0 invokes while its call on line 1"},
      {ok_line + "INFO  jepsen.util - 0\t:ok\t:write\t1\n", "h:2: the return :write"},
      {"INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t2\n",
       "h:2: the write returns 2"},
      {ok_line + "INFO  jepsen.util - 0\t:fail\t:read\tnil\n", "h:2: a failed read"},
  };
  for (const auto& [text, want] : cases) {
    std::vector<Operation> ops;
    std::string error;
    EXPECT_FALSE(Parse(Format::kEtcd, text, &ops, &error)) << text;
    EXPECT_EQ(error.rfind(want, 0), 0u) << "got \"" << error << "\" for\n" << text;
  }
}

TEST(LincheckParseTest, Kv) {
  const std::string text =
      "{:process 0, :type :invoke, :f :append, :key \"k\", :value \"x 0 0 y\"}\n"
      "{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n"
      "{:process 0, :type :ok, :f :append, :key \"k\", :value \"x 0 0 y\"}\n"
      "{:process 1, :type :ok, :f :get, :key \"k\", :value \"\"}\n"
      "{:type :invoke, :process 2, :f :put, :key \"a\\\"b\", :value \"v\"}\n";
  std::vector<Operation> ops;
  std::string error;
  ASSERT_TRUE(Parse(Format::kKv, text, &ops, &error)) << error;
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].kind, OpKind::kAppend);
  EXPECT_EQ(ops[0].value, "x 0 0 y");
  EXPECT_EQ(ops[0].call, 1);
  EXPECT_EQ(ops[0].ret, 3);
  EXPECT_EQ(ops[1].kind, OpKind::kRead);
  EXPECT_EQ(ops[1].output, "");
  EXPECT_EQ(ops[2].key, "a\"b");
  EXPECT_EQ(ops[2].kind, OpKind::kWrite);
  EXPECT_EQ(ops[2].outcome, Outcome::kUnknown);
  EXPECT_EQ(Check(kKv, ops).verdict, Verdict::kOk);
}

TEST(LincheckParseTest, KvErrorsNameTheLine) {
  const std::string ok_line = "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {ok_line + "\n", "h:2: expected '{'"},
      {"{:process 0, :type :invoke, :f :get, :key \"k\", :value nil\n", "h:1: unterminated map"},
      {"{:process 0, :type :invoke, :f :get, :key \"k}\n", "h:1: unterminated string"},
      {"{:process 0, :type :invoke, :f :get, :key \"k\"}\n", "h:1: missing :value"},
      {"{:process 0, :type :invoke, :f :get, :key \"k\", :value nil, :time 3}\n",
       "h:1: unexpected key :time"},
      {"{:process 0, :type :fail, :f :get, :key \"k\", :value nil}\n", "h:1: :type must be"},
      {"{:process 0, :type :invoke, :f :cas, :key \"k\", :value nil}\n", "h:1: :f must be"},
      {"{:process 0, :type :invoke, :f :get, :key 7, :value nil}\n", "h:1: :key is not a string"},
      {ok_line + "{:process 0, :type :ok, :f :get, :key \"j\", :value \"\"}\n",
       "h:2: the return does not match the call on line 1"},
      {ok_line + "{:process 0, :type :ok, :f :get, :key \"k\", :value nil}\n",
       "h:2: an :ok needs a string :value"},
      {"{:process 0, :type :ok, :f :get, :key \"k\", :value \"\"}\n", "h:1: process 0 returns"},
      {ok_line + "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil} x\n",
       "h:2: text after the map"},
  };
  for (const auto& [text, want] : cases) {
    std::vector<Operation> ops;
    std::string error;
    EXPECT_FALSE(Parse(Format::kKv, text, &ops, &error)) << text;
    EXPECT_EQ(error.rfind(want, 0), 0u) << "got \"" << error << "\" for\n" << text;
  }
}

TEST(LincheckParseTest, MissingFile) {
  std::vector<Operation> ops;
  std::string error;
  EXPECT_FALSE(ReadHistoryFile(Format::kKv, "/nonexistent/history.txt", &ops, &error));
  EXPECT_NE(error.find("/nonexistent/history.txt: cannot open"), std::string::npos) << error;
}

// ------------------------------------------------------------------ recorded histories

bool HasVerdicts(const std::string& dir) { return std::ifstream(dir + "/VERDICTS").good(); }

// $LSMKV_PORCUPINE_DIR, else <source dir>/../shared/porcupine, else
// /work/shared/porcupine; "" if none has a VERDICTS file (*looked lists them).
std::string FindPorcupineDir(std::string* looked) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LSMKV_PORCUPINE_DIR")) candidates.push_back(env);
  candidates.push_back(std::string(LSMKV_SOURCE_DIR) + "/../shared/porcupine");
  candidates.push_back("/work/shared/porcupine");
  for (const std::string& dir : candidates) {
    if (HasVerdicts(dir)) return dir;
    *looked += (looked->empty() ? "" : ", ") + dir;
  }
  return "";
}

TEST(LincheckRecordedTest, PorcupineVerdictsAreReproduced) {
  std::string looked;
  const std::string dir = FindPorcupineDir(&looked);
  if (dir.empty()) {
    GTEST_SKIP() << "no recorded histories: no VERDICTS in " << looked
                 << " (set LSMKV_PORCUPINE_DIR)";
  }
  // The entries, counted independently of ReadVerdicts so that a line it
  // dropped would show.
  size_t lines = 0;
  {
    std::ifstream in(dir + "/VERDICTS");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t") != std::string::npos && line[0] != '#') ++lines;
    }
  }
  std::vector<VerdictEntry> entries;
  std::string error;
  ASSERT_TRUE(ReadVerdicts(dir, &entries, &error)) << error;
  ASSERT_EQ(entries.size(), lines);
  ASSERT_GT(lines, 0u);

  size_t checked = 0, illegal = 0;
  for (const VerdictEntry& e : entries) {
    SCOPED_TRACE(e.path);
    std::vector<Operation> ops;
    if (!ReadHistoryFile(e.format, e.path, &ops, &error)) {
      ADD_FAILURE() << error;
      continue;
    }
    const CheckResult r = Check(ModelFor(e.format), ops, kTestBudget);
    ++checked;
    EXPECT_EQ(r.verdict, e.linearizable ? Verdict::kOk : Verdict::kIllegal) << r.explanation;
    if (r.verdict == Verdict::kIllegal) {
      ++illegal;
      EXPECT_FALSE(r.explanation.empty());
    }
  }
  EXPECT_EQ(checked, lines) << "files listed in VERDICTS but not checked";
  EXPECT_GT(illegal, 0u);
}

}  // namespace
}  // namespace lsmkv::lincheck
