// lsmkv.Transaction: an optimistic transaction (lsmkv/transaction.h) from
// DB.transaction(). Commit raises TransactionConflictError when another
// writer committed something it depends on (nothing is written then).
#include "lsmkv/transaction.h"

#include "py_common.h"
#include "py_iterator.h"
#include "py_options.h"

namespace lsmkv_py {

namespace {

class PyTransaction : public Child {
 public:
  PyTransaction(std::shared_ptr<DBState> st, py::object db_obj, lsmkv::IsolationLevel level,
                bool sync)
      : state(std::move(st)), db_obj(std::move(db_obj)) {
    lsmkv::WriteOptions wo;
    wo.sync = sync;
    lsmkv::TransactionOptions to;
    to.isolation = level;
    state->With([&](lsmkv::DB* db) {
      std::lock_guard lock(mu);
      txn = db->BeginTransaction(wo, to);
      state->children.Add(this);
      return 0;
    });
  }
  ~PyTransaction() override {
    py::gil_scoped_release nogil;
    std::shared_lock db_lock(state->mu);
    state->children.Remove(this);
    iterators.DropAll();
    std::lock_guard lock(mu);
    txn.reset();  // rolls back if still open
  }
  void DropEngineObjects() override {
    iterators.DropAll();
    std::lock_guard lock(mu);
    txn.reset();
  }

  // Runs fn(txn) with the GIL released under the DB's shared lock and mu;
  // RuntimeError if the DB is closed, TransactionError if finished.
  template <typename F>
  lsmkv::Status Run(F&& fn) {
    bool finished = false;
    lsmkv::Status s = state->With([&](lsmkv::DB*) {
      std::lock_guard lock(mu);
      if (!txn || done) {
        finished = true;
        return lsmkv::Status::OK();
      }
      return fn(txn.get());
    });
    if (finished) {
      PyErr_SetString(g_exc.transaction_error, "the transaction is finished");
      throw py::error_already_set();
    }
    return s;
  }

  py::object Get(py::object key, py::object dflt, bool for_update) {
    BytesArg k;
    ToBytes(key, "key", &k);
    std::string value;
    lsmkv::Status s = Run([&](lsmkv::Transaction* t) {
      return for_update ? t->GetForUpdate(lsmkv::ReadOptions(), k.view, &value)
                        : t->Get(lsmkv::ReadOptions(), k.view, &value);
    });
    if (s.IsNotFound()) return dflt;
    if (!s.ok()) ThrowStatus(s);
    return MakeBytes(value);
  }
  void Put(py::object key, py::object value) {
    BytesArg k, v;
    ToBytes(key, "key", &k);
    ToBytes(value, "value", &v);
    lsmkv::Status s = Run([&](lsmkv::Transaction* t) { return t->Put(k.view, v.view); });
    if (!s.ok()) ThrowStatus(s);
  }
  void Delete(py::object key) {
    BytesArg k;
    ToBytes(key, "key", &k);
    lsmkv::Status s = Run([&](lsmkv::Transaction* t) { return t->Delete(k.view); });
    if (!s.ok()) ThrowStatus(s);
  }
  // Commit or Rollback: finishes the transaction and its iterators.
  void Finish(bool commit) {
    lsmkv::Status s = Run([&](lsmkv::Transaction* t) {
      iterators.DropAll();
      done = true;
      return commit ? t->Commit() : t->Rollback();
    });
    if (!s.ok()) ThrowStatus(s);
  }

  std::shared_ptr<DBState> state;
  py::object db_obj;
  ChildSet iterators;
  // Serialises every use of txn and of its iterators (each iterator holds it
  // around its engine calls). Lock order: DBState::mu, mu, iterators' set,
  // an iterator's own mutex.
  std::mutex mu;
  std::unique_ptr<lsmkv::Transaction> txn;  // guarded by mu
  bool done = false;                        // guarded by mu
};

}  // namespace

py::object NewTransaction(py::object owner, std::shared_ptr<DBState> state,
                          const std::string& isolation, bool sync) {
  lsmkv::IsolationLevel level;
  if (isolation == "snapshot") {
    level = lsmkv::IsolationLevel::kSnapshot;
  } else if (isolation == "serializable") {
    level = lsmkv::IsolationLevel::kSerializable;
  } else {
    throw py::value_error("isolation must be 'snapshot' or 'serializable'");
  }
  return py::cast(std::make_unique<PyTransaction>(std::move(state), std::move(owner), level, sync));
}

void RegisterTransaction(py::module_& m) {
  py::class_<PyTransaction>(
      m, "Transaction",
      "An optimistic transaction: reads as of its start plus its own writes; commit() raises "
      "TransactionConflictError if a write it depends on was committed meanwhile.")
      .def("get", &PyTransaction::Get, py::arg("key"), py::arg("default") = py::none(),
           py::kw_only(), py::arg("for_update") = false,
           "The value of key as of the start (or this transaction's own write); for_update "
           "makes commit fail if another writer commits key meanwhile.")
      .def("put", &PyTransaction::Put, py::arg("key"), py::arg("value"))
      .def("delete", &PyTransaction::Delete, py::arg("key"))
      .def(
          "iterator",
          [](py::object self, bool reverse, py::object start, py::object stop, bool include_start,
             bool include_stop, py::object prefix, bool include_key, bool include_value,
             py::object verify_checksums, bool fill_cache) {
            PyTransaction& t = self.cast<PyTransaction&>();
            IterSpec spec = MakeSpec("", reverse, start, stop, include_start, include_stop, prefix,
                                     include_key, include_value);
            lsmkv::ReadOptions ro;
            ro.verify_checksums = PyObject_IsTrue(verify_checksums.ptr()) == 1;
            ro.fill_cache = fill_cache;
            SetEngineBounds(spec, t.state->bytewise, &ro);
            bool finished = false;
            auto it = PyIterator::Create(
                t.state, &t.iterators, self, std::move(spec), false,
                [&](lsmkv::DB*) -> std::unique_ptr<lsmkv::Iterator> {
                  // t.mu is held (Create's outer_mu).
                  if (!t.txn || t.done) {
                    finished = true;
                    return std::unique_ptr<lsmkv::Iterator>(lsmkv::NewEmptyIterator());
                  }
                  return t.txn->NewIterator(ro);
                },
                &t.mu);
            if (finished) {
              PyErr_SetString(g_exc.transaction_error, "the transaction is finished");
              throw py::error_already_set();
            }
            return py::cast(std::move(it));
          },
          py::kw_only(), py::arg("reverse") = false, py::arg("start") = py::none(),
          py::arg("stop") = py::none(), py::arg("include_start") = true,
          py::arg("include_stop") = false, py::arg("prefix") = py::none(),
          py::arg("include_key") = true, py::arg("include_value") = true,
          py::arg("verify_checksums") = false, py::arg("fill_cache") = true,
          "An Iterator over the start snapshot merged with this transaction's writes.")
      .def(
          "commit", [](PyTransaction& t) { t.Finish(true); },
          "Validates and writes; TransactionConflictError on a conflict (nothing written).")
      .def(
          "rollback", [](PyTransaction& t) { t.Finish(false); }, "Drops the buffered writes.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyTransaction& t, py::object exc_type, py::object, py::object) {
        CheckNotInComparator();
        bool open;
        {
          py::gil_scoped_release nogil;
          std::lock_guard lock(t.mu);
          open = t.txn && !t.done;
        }
        if (!open) return;
        t.Finish(exc_type.is_none());
      });
}

}  // namespace lsmkv_py
