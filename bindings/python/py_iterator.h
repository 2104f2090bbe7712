// lsmkv.Iterator and lsmkv.RawIterator: plyvel's iterators over a DB, a
// snapshot, a prefixed DB or a transaction.
//
// Thread safety: an iterator may be shared between threads; each call holds
// the iterator's mutex (and the DB's shared lock) with the GIL released.
#ifndef LSMKV_BINDINGS_PYTHON_PY_ITERATOR_H_
#define LSMKV_BINDINGS_PYTHON_PY_ITERATOR_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "py_common.h"

namespace lsmkv_py {

// What an Iterator covers and yields. Keys here carry strip bytes of a
// prefixed DB's prefix; yielded keys drop them.
struct IterSpec {
  bool reverse = false;
  bool include_key = true;
  bool include_value = true;
  std::optional<std::string> lower;  // with lower_incl
  std::optional<std::string> upper;  // with upper_incl
  bool lower_incl = true;
  bool upper_incl = false;
  std::optional<std::string> prefix;  // every key starts with it
  size_t strip = 0;
};

// Builds a spec from plyvel's iterator arguments under the key prefix kp
// (TypeError for prefix with start/stop or non-bytes arguments).
IterSpec MakeSpec(const std::string& kp, bool reverse, py::object start, py::object stop,
                  bool include_start, bool include_stop, py::object prefix, bool include_key,
                  bool include_value);
// The engine bounds implied by spec (exact for any comparator; the prefix
// bound only with the bytewise comparator).
void SetEngineBounds(const IterSpec& spec, bool bytewise, lsmkv::ReadOptions* ro);

class PyIterator : public Child {
 public:
  // Opens the engine iterator with make(db) under state's shared lock and
  // registers with registry (the DB's or a transaction's children); owner
  // is the object it was made from (kept alive). RuntimeError if closed.
  // outer_mu (a transaction's mutex, which owner keeps alive) is held, after
  // state's lock and before the iterator's, around every use of the engine
  // iterator (make included): the engine's transaction and its iterators
  // are for one thread at a time.
  static std::unique_ptr<PyIterator> Create(
      std::shared_ptr<DBState> state, ChildSet* registry, py::object owner, IterSpec spec, bool raw,
      const std::function<std::unique_ptr<lsmkv::Iterator>(lsmkv::DB*)>& make,
      std::mutex* outer_mu = nullptr);
  ~PyIterator() override;

  void DropEngineObjects() override;

  // Lets __next__ read ahead: each engine round trip (GIL released, locks
  // taken) captures up to kReadAhead entries, later __next__ calls pop them
  // with the GIL held. Only for iterators over an immutable view (a DB's or
  // a snapshot's, which pin their sequence): a transaction's iterator sees
  // the transaction's later writes, so it must step live. Every other call
  // first moves the engine iterator back to the first unread entry.
  void EnableReadAhead() { read_ahead_ = true; }
  static constexpr size_t kReadAhead = 64;
  static constexpr size_t kReadAheadBytes = 64 * 1024;
  // How many __next__ calls went to the engine (the others were served
  // from the read-ahead): what tests use to see that reading ahead works.
  uint64_t EngineSteps() {
    auto lock = LockReleasingGIL(mu_);
    return engine_steps_;
  }

  // plyvel Iterator.
  py::object Next();
  // Next for the type's tp_iternext slot (RegisterIterators): a new
  // reference, or nullptr at the end (no exception set) or on an error
  // (exception set). Pops a read-ahead entry straight into bytes objects,
  // without pybind11's call machinery; the rest goes through Next.
  PyObject* NextSlot();
  py::object Prev();
  void SeekToStart();
  void SeekToStop();
  void Seek(py::object target);
  void Close();

  // plyvel RawIterator.
  bool RawValid();
  void RawSeekToFirst();
  void RawSeekToLast();
  void RawSeek(py::object target);
  void RawNext();
  void RawPrev();
  py::bytes RawKey();
  py::bytes RawValue();
  py::tuple RawItem();

 private:
  PyIterator() = default;
  // Runs fn with the GIL released, the DB's shared lock and mu_ held;
  // RuntimeError if the iterator or its DB is closed; then (check_status)
  // raises the engine iterator's error, if any.
  template <typename F>
  void Locked(F&& fn, bool check_status = true);
  // Leaves the registry and frees the engine iterator and the read-ahead,
  // under the DB's shared lock (and the transaction's mutex), GIL released.
  // Idempotent (the destructor and Close).
  void Release();
  // The raw iterator's calls: Locked(fn) when the engine iterator is
  // valid, else plyvel's IteratorInvalidError.
  template <typename F>
  void WhenValid(F&& fn);
  int Cmp(std::string_view a, std::string_view b) const { return state_->cmp->Compare(a, b); }
  bool InRange(std::string_view k) const;
  bool BelowRange(std::string_view t) const;
  void Settle();  // valid_ = engine valid && in range
  void First();
  void Last();
  void SeekBounded(std::string_view t);
  void StepForward();
  void StepBackward();
  void Capture(std::string* key, std::string* value, bool want_value) const;
  py::object MakeItem(const std::string& key, const std::string& value) const;

  std::shared_ptr<DBState> state_;
  ChildSet* registry_ = nullptr;
  std::mutex* outer_mu_ = nullptr;  // see Create
  py::object owner_;
  IterSpec spec_;
  bool raw_ = false;
  // Held around engine calls (which may call a Python comparator): taken
  // with the GIL held only through LockReleasingGIL.
  std::mutex mu_;
  std::unique_ptr<lsmkv::Iterator> it_;  // guarded by mu_; nullptr once closed
  bool valid_ = false;                   // guarded by mu_
  // Read ahead (EnableReadAhead): entries [ahead_pos_, ahead_len_) of ahead_
  // were captured by __next__ but not yet returned; the engine iterator is
  // past them. Guarded by mu_.
  struct Ahead {
    std::string key;  // the whole engine key (Unbuffer seeks to it)
    std::string value;
  };
  bool read_ahead_ = false;
  std::vector<Ahead> ahead_;
  // Calls of __next__ that went to the engine (the rest were served from
  // ahead_). Guarded by mu_.
  uint64_t engine_steps_ = 0;
  size_t ahead_pos_ = 0;
  size_t ahead_len_ = 0;
  // Moves the engine iterator back to the first unread entry and empties
  // the read-ahead. REQUIRES: mu_ held, it_ set.
  void Unbuffer();
};

// lsmkv.RawIterator: the same core, bound with plyvel's raw methods.
struct PyRawIterator {
  std::unique_ptr<PyIterator> core;
};

}  // namespace lsmkv_py

#endif  // LSMKV_BINDINGS_PYTHON_PY_ITERATOR_H_
