// Linearizability checker: decides whether a recorded concurrent history of
// operations on registers (or the keys of a key-value store) is linearizable,
// i.e. whether every operation can be given a single point in time between
// its call and its return such that applying the operations in the order of
// those points to a sequential model reproduces every recorded output.
//
// The search is Wing & Gong's, with Lowe's "just-in-time" linearization and
// memoization (as in Porcupine): the calls and returns of a history form a
// time-ordered doubly linked list; the search linearizes a pending call when
// the model accepts it (lifting the call and its return out of the list),
// backtracks when it meets the return of an operation it has not linearized,
// and never revisits a configuration (set of linearized operations, model
// state) it has explored before, nor one dominated by it. Keys are
// independent (P-compositionality): the history is split per key and each
// key is searched on its own.
//
// An operation whose outcome is unknown (a call with no return seen, e.g. a
// client timeout) may have taken effect at any point after its call, or never:
// it is searched as if it returned at +infinity, and its output constrains
// nothing. docs/lincheck.md describes the algorithm, the formats and the
// validation against Porcupine's recorded verdicts.
//
// Thread safety: the models are stateless and may be shared; Check and the
// parsers keep no global state and may run concurrently on different data.
#ifndef LSMKV_REPLICATION_LINCHECK_H_
#define LSMKV_REPLICATION_LINCHECK_H_

#include <chrono>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace lsmkv::lincheck {

// The value of a register or of a key: nullopt when it has none (never
// written). Every register and key starts without a value.
using Value = std::optional<std::string>;

enum class OpKind : uint8_t {
  kRead,    // reads the value; `output` is what it returned
  kWrite,   // sets the value to `value` (a key-value put)
  kCas,     // if the value equals `expected`, sets it to `value`
  kAppend,  // sets the value to its old value (or "" if none) followed by `value`
};

enum class Outcome : uint8_t {
  // Returned and took effect: a read returned `output`, a write/append was
  // applied, a cas found `expected` and stored `value`.
  kOk,
  // Returned without effect. For a cas: the value differed from `expected` at
  // its linearization point (this constrains the history). For any other kind
  // the operation is left out of the search (it constrains nothing).
  kFail,
  // No return was seen: the operation took effect at some point after `call`,
  // or never. `ret` and `output` are ignored; a read with this outcome
  // constrains nothing and is left out of the search.
  kUnknown,
};

// One operation of a history. Times are in any unit, only their order
// matters; a call and a return at the same time count as concurrent.
struct Operation {
  int64_t client = 0;  // who issued it (informational; shown in explanations)
  std::string key;     // operations on different keys are independent
  OpKind kind = OpKind::kRead;
  std::string value;  // kWrite, kAppend: the value written or appended; kCas: the new value
  Value expected;     // kCas: the value required (nullopt: requires that there is none)
  Value output;       // kRead with kOk: the value read (nullopt: there was none)
  Outcome outcome = Outcome::kOk;
  int64_t call = 0;  // when it was invoked
  int64_t ret = 0;   // when it returned; REQUIRES ret >= call unless outcome is kUnknown
  int64_t tag = -1;  // caller's reference shown in explanations, e.g. its line in a file
};

// Formats `op` on one line, e.g. `client 3 cas 1->4 ok [call 17, return 20] (line 17)`.
std::string DescribeOperation(const Operation& op);
// "nil" for no value, else the value (quoted if `quote`).
std::string DescribeValue(const Value& v, bool quote);

// The sequential specification an operation is checked against. A model is
// stateless: the state of one key is a Value, threaded through Step by the
// checker. Implementations must be deterministic.
class Model {
 public:
  virtual ~Model() = default;
  virtual const char* Name() const = 0;
  // Empty if `op` is something this model can judge, else why not (e.g. an
  // append given to the register model).
  virtual std::string Validate(const Operation& op) const = 0;
  // False for an operation that can neither change the state nor be
  // inconsistent with any state (an unknown-outcome read, a failed write); the
  // checker leaves such operations out of the search.
  virtual bool Constrains(const Operation& op) const = 0;
  // Applies `op` at a linearization point where the value is `state`. Returns
  // false if op's recorded outcome or output is impossible in `state`;
  // otherwise stores the value after it in *next and returns true. REQUIRES:
  // Validate(op) is empty. An op with outcome kUnknown is always possible.
  virtual bool Step(const Value& state, const Operation& op, Value* next) const = 0;
  // The value as this model's clients see it, for explanations.
  virtual std::string DescribeState(const Value& state) const = 0;
};

// A register with read, write and compare-and-set (Jepsen's etcd test): a
// read returns the value or nil; a cas with outcome kFail requires that the
// value differs from `expected` and changes nothing.
class RegisterModel final : public Model {
 public:
  const char* Name() const override { return "register"; }
  std::string Validate(const Operation& op) const override;
  bool Constrains(const Operation& op) const override;
  bool Step(const Value& state, const Operation& op, Value* next) const override;
  std::string DescribeState(const Value& state) const override;
};

// A string key-value map with get (kRead), put (kWrite) and append: a get of
// an absent key returns "" (an output of nullopt counts as "" too).
class KvModel final : public Model {
 public:
  const char* Name() const override { return "kv"; }
  std::string Validate(const Operation& op) const override;
  bool Constrains(const Operation& op) const override;
  bool Step(const Value& state, const Operation& op, Value* next) const override;
  std::string DescribeState(const Value& state) const override;
};

// Limits on one Check call, over all its keys. When one is exhausted before a
// verdict is reached, Check returns kUnknown.
struct Budget {
  // Wall-clock time; zero or negative = no limit.
  std::chrono::milliseconds time = std::chrono::seconds(60);
  // Search steps (one per call or return entry visited); 0 = no limit.
  uint64_t steps = 0;
};

enum class Verdict : uint8_t {
  kOk,       // linearizable
  kIllegal,  // not linearizable: `key` and `explanation` say where
  kUnknown,  // a budget ran out first (no key was found illegal before that)
  kInvalid,  // the history is malformed (ret < call, an op the model cannot judge)
};
const char* VerdictName(Verdict v);  // "linearizable", "not linearizable", "unknown", "invalid"

struct CheckResult {
  Verdict verdict = Verdict::kOk;
  std::string key;          // kIllegal: the key with no linearization
  std::string explanation;  // kIllegal, kUnknown, kInvalid: a short human-readable reason
  // kIllegal: indices in the history of the longest linearizable prefix the
  // search found on `key`, in linearization order, and of the operation whose
  // return that prefix could not be extended past.
  std::vector<size_t> prefix;
  size_t blocked = 0;
  uint64_t steps = 0;     // search steps taken, over all keys
  size_t operations = 0;  // operations searched (after leaving out the unconstraining ones)
  size_t keys = 0;        // distinct keys
};

// Decides whether `history` is linearizable with respect to `model`, each key
// starting without a value. The operations may be in any order; `history`
// is only read. Keys take turns (quanta of search steps that double each
// turn, keys in order of first appearance), and the first key found illegal
// decides; kOk needs every key. Deterministic for a given history when the
// budget is in steps only. Returns kUnknown rather than exceed `budget`.
CheckResult Check(const Model& model, const std::vector<Operation>& history,
                  const Budget& budget = Budget());

// ------------------------------------------------------------------ files

enum class Format : uint8_t {
  kEtcd,  // Jepsen's etcd log: one register (key ""), read/write/cas
  kKv,    // EDN maps, one per line: string keys, get/put/append
};
// "etcd" or "kv" -> *format; false for anything else.
bool ParseFormat(const std::string& name, Format* format);
// The model a format's histories are checked against (a static instance).
const Model& ModelFor(Format format);

// Parse `in`, a whole file in `format`, appending its operations to *ops.
// Times are line numbers; each operation's tag is the line of its call.
// Returns false on malformed input, with *error = "NAME:LINE: what was wrong"
// (NAME is `name`, used only for messages); *ops is then unspecified. Lines
// are skipped only where docs/lincheck.md says so (etcd: events of a type
// other than invoke/ok/fail, e.g. :info). A call with no return at the end of
// the file is an operation of unknown outcome.
bool ParseHistory(Format format, std::istream& in, const std::string& name,
                  std::vector<Operation>* ops, std::string* error);
// ParseHistory on the file at `path` (an unreadable file is an error).
bool ReadHistoryFile(Format format, const std::string& path, std::vector<Operation>* ops,
                     std::string* error);

// One line of a VERDICTS file: `NAME true|false` (true = linearizable).
struct VerdictEntry {
  std::string name;  // as written in VERDICTS
  std::string path;  // the file: DIR/NAME if it exists, else DIR/jepsen/NAME
  Format format;     // by name: *.log -> kEtcd, *.txt -> kKv
  bool linearizable;
};
// Reads DIR/VERDICTS (blank lines and lines starting with '#' are comments).
// Returns false with *error = "FILE:LINE: what" on a malformed line, an
// unknown extension or an unreadable VERDICTS; a listed file that does not
// exist is not an error here (checking it fails).
bool ReadVerdicts(const std::string& dir, std::vector<VerdictEntry>* entries, std::string* error);

}  // namespace lsmkv::lincheck

#endif  // LSMKV_REPLICATION_LINCHECK_H_
