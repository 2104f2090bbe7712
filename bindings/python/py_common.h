// Shared pieces of the lsmkv Python module (docs/python.md): the exception
// classes, bytes arguments, the state of an open database shared by the DB
// object and everything made from it, and the Python comparator.
//
// Thread safety: DBState is shared between threads; every use of the engine
// holds DBState::mu shared with the GIL released, Close holds it exclusive.
// Lock order: the GIL is never held while waiting for mu; mu before any
// child's own mutex. A mutex a Python comparator may run under (the engine
// calls it with the mutex held and takes the GIL) is only waited for with the
// GIL released (LockReleasingGIL).
//
// A Python comparator must not use the database: it runs inside the
// database's own calls (with their locks held). Every entry point checks
// CheckNotInComparator and raises RuntimeError instead of deadlocking.
#ifndef LSMKV_BINDINGS_PYTHON_PY_COMMON_H_
#define LSMKV_BINDINGS_PYTHON_PY_COMMON_H_

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "lsmkv/comparator.h"
#include "lsmkv/db.h"
#include "lsmkv/status.h"

namespace lsmkv_py {

namespace py = pybind11;

// The exception classes (set by the module's init).
struct Exceptions {
  PyObject* error = nullptr;              // lsmkv.Error
  PyObject* io_error = nullptr;           // lsmkv.IOError (also a builtin IOError)
  PyObject* corruption_error = nullptr;   // lsmkv.CorruptionError
  PyObject* iterator_invalid = nullptr;   // lsmkv.IteratorInvalidError
  PyObject* transaction_error = nullptr;  // lsmkv.TransactionError
  PyObject* conflict_error = nullptr;     // lsmkv.TransactionConflictError
};
extern Exceptions g_exc;

// Raises the Python exception matching s (REQUIRES: !s.ok(), GIL held).
[[noreturn]] void ThrowStatus(const lsmkv::Status& s);
[[noreturn]] void ThrowClosed(const char* what = "database is closed");

// How many Python comparator calls this thread is inside (PyComparator).
extern thread_local int g_comparator_depth;
// RuntimeError if this thread runs a Python comparator (REQUIRES: GIL held).
inline void CheckNotInComparator() {
  if (g_comparator_depth > 0) {
    throw std::runtime_error(
        "an lsmkv comparator cannot use a database: it runs inside the database's own calls");
  }
}

// Locks m, the GIL held; if m is busy, waits with the GIL released (m's
// holder may be waiting for the GIL, e.g. in a Python comparator).
template <typename M>
std::unique_lock<M> LockReleasingGIL(M& m) {
  std::unique_lock<M> lock(m, std::try_to_lock);
  if (!lock.owns_lock()) {
    py::gil_scoped_release nogil;
    lock.lock();
  }
  return lock;
}

// For slots and methods installed without pybind11's dispatcher: runs fn
// and turns the C++ exceptions the binding throws into a set Python error
// (returning nullptr), as the dispatcher would.
template <typename F>
PyObject* CallGuarded(F&& fn) {
  try {
    return fn();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (py::builtin_exception& e) {
    e.set_error();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// A bytes-like argument (bytes, bytearray, memoryview, any buffer; never
// str). view stays valid while the argument object lives.
struct BytesArg {
  std::string_view view;
  std::string copy;
  BytesArg() = default;
  BytesArg(const BytesArg&) = delete;
  BytesArg& operator=(const BytesArg&) = delete;
};
// Fills *out; TypeError naming what if h is not bytes-like.
void ToBytes(py::handle h, const char* what, BytesArg* out);
bool IsBytesLike(py::handle h);
inline py::bytes MakeBytes(std::string_view s) { return py::bytes(s.data(), s.size()); }

// Something made from a DB that holds engine objects (iterator, snapshot,
// transaction) and must drop them before the DB (or its transaction) ends.
class Child {
 public:
  virtual ~Child() = default;
  // Called by ChildSet::DropAll without the GIL (with DBState::mu held).
  virtual void DropEngineObjects() = 0;
};

// The children of a DB or of a transaction. A child removes itself in its
// destructor before taking its own mutex (DropAll holds set_mu and then
// takes the child's).
class ChildSet {
 public:
  void Add(Child* c) {
    std::lock_guard lock(set_mu_);
    set_.insert(c);
  }
  void Remove(Child* c) {
    std::lock_guard lock(set_mu_);
    set_.erase(c);
  }
  void DropAll() {
    std::lock_guard lock(set_mu_);
    for (Child* c : set_) c->DropEngineObjects();
    set_.clear();
  }

 private:
  std::mutex set_mu_;
  std::set<Child*> set_;  // guarded by set_mu_
};

// A comparator calling a Python callable (plyvel's comparator=...). The
// callable runs with the GIL (taken here: the engine calls Compare from its
// own threads). An exception or a non-int result cannot be reported to the
// engine: it is printed and the process aborts, as a wrong order would
// corrupt the database.
class PyComparator : public lsmkv::Comparator {
 public:
  PyComparator(py::object fn, std::string name) : fn_(std::move(fn)), name_(std::move(name)) {}
  ~PyComparator() override {
    py::gil_scoped_acquire gil;
    fn_ = py::object();
  }
  int Compare(std::string_view a, std::string_view b) const override;
  const char* Name() const override { return name_.c_str(); }
  void FindShortestSeparator(std::string*, std::string_view) const override {}
  void FindShortSuccessor(std::string*) const override {}

 private:
  py::object fn_;
  std::string name_;
};

class DBState {
 public:
  DBState();
  ~DBState();
  DBState(const DBState&) = delete;
  DBState& operator=(const DBState&) = delete;

  // Runs fn(db) with the GIL released and mu held shared; RuntimeError if
  // the database is closed.
  template <typename F>
  auto With(F&& fn) {
    CheckNotInComparator();
    py::gil_scoped_release nogil;
    std::shared_lock lock(mu);
    if (!db) ThrowClosed();
    return fn(db.get());
  }
  bool closed() {
    CheckNotInComparator();
    py::gil_scoped_release nogil;
    std::shared_lock lock(mu);
    return db == nullptr;
  }
  // Drops every child's engine objects, then closes the engine. REQUIRES:
  // the GIL is not held (callers from Python check CheckNotInComparator
  // first). Idempotent (OK when already closed).
  lsmkv::Status Close();

  // Closes every database still open (the module's atexit hook).
  static void CloseAll();

  std::shared_mutex mu;
  std::unique_ptr<lsmkv::DB> db;                // guarded by mu; nullptr once closed
  std::shared_ptr<PyComparator> py_comparator;  // outlives db
  const lsmkv::Comparator* cmp = lsmkv::BytewiseComparator();
  bool bytewise = true;
  size_t write_buffer_size = 0;  // Options::write_buffer_size of the open
  ChildSet children;
};

// Registers the classes of each file (py_db.cc, py_iterator.cc, py_store.cc).
void RegisterIterators(py::module_& m);
void RegisterDB(py::module_& m);
void RegisterStore(py::module_& m);

}  // namespace lsmkv_py

#endif  // LSMKV_BINDINGS_PYTHON_PY_COMMON_H_
