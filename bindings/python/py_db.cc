// lsmkv.DB, lsmkv.Snapshot, lsmkv.WriteBatch and lsmkv.PrefixedDB: plyvel's
// API over the engine (docs/python.md).
#include <pybind11/stl.h>

#include <array>
#include <cinttypes>
#include <sstream>
#include <vector>

#include "lsmkv/write_batch.h"
#include "py_common.h"
#include "py_iterator.h"
#include "py_options.h"

namespace lsmkv_py {

namespace {

lsmkv::ReadOptions MakeReadOptions(py::handle verify_checksums, bool fill_cache) {
  lsmkv::ReadOptions ro;
  ro.verify_checksums = !verify_checksums.is_none() && PyObject_IsTrue(verify_checksums.ptr());
  ro.fill_cache = fill_cache;
  return ro;
}

std::string Prefixed(const std::string& kp, py::handle key, const char* what) {
  BytesArg b;
  ToBytes(key, what, &b);
  if (kp.empty()) return std::string(b.view);
  return kp + std::string(b.view);
}

py::object GetValue(DBState& st, const std::string& kp, py::handle key, py::object dflt,
                    lsmkv::ReadOptions ro) {
  BytesArg k;
  ToBytes(key, "key", &k);
  std::string full = kp.empty() ? std::string() : kp + std::string(k.view);
  std::string_view kv = kp.empty() ? k.view : std::string_view(full);
  std::string value;
  lsmkv::Status s = st.With([&](lsmkv::DB* db) { return db->Get(ro, kv, &value); });
  if (s.IsNotFound()) return dflt;
  if (!s.ok()) ThrowStatus(s);
  return MakeBytes(value);
}

// Rows "L<n> files bytes ..." of the "lsmkv.levels" property.
struct LevelRow {
  int level;
  uint64_t files;
  uint64_t bytes;
};
std::vector<LevelRow> ParseLevels(const std::string& table) {
  std::vector<LevelRow> rows;
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 2 || line[0] != 'L' || line[1] < '0' || line[1] > '9') continue;
    LevelRow r{};
    if (std::sscanf(line.c_str(), "L%d %" SCNu64 " %" SCNu64, &r.level, &r.files, &r.bytes) == 3) {
      rows.push_back(r);
    }
  }
  return rows;
}

}  // namespace

std::vector<std::pair<int, std::pair<uint64_t, uint64_t>>> LevelInfo(DBState& st) {
  std::string table;
  st.With([&](lsmkv::DB* db) { return db->GetProperty("lsmkv.levels", &table); });
  std::vector<std::pair<int, std::pair<uint64_t, uint64_t>>> out;
  for (const LevelRow& r : ParseLevels(table)) out.push_back({r.level, {r.files, r.bytes}});
  return out;
}

// LevelDB's property names under "lsmkv.", computed from the engine's.
std::optional<std::string> GetPropertyMapped(DBState& st, const std::string& name) {
  std::string value;
  auto engine = [&](const std::string& n, std::string* v) {
    return st.With([&](lsmkv::DB* db) { return db->GetProperty(n, v); });
  };
  const std::string files_at = "lsmkv.num-files-at-level";
  if (name.starts_with(files_at)) {
    std::string n = name.substr(files_at.size());
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    std::string table;
    if (!engine("lsmkv.levels", &table)) return std::nullopt;
    for (const LevelRow& r : ParseLevels(table)) {
      if (std::to_string(r.level) == n) return std::to_string(r.files);
    }
    return std::nullopt;
  }
  if (name == "lsmkv.sstables") {
    // LevelDB lists every file per level; the engine gives per-level counts
    // and bytes ("lsmkv.levels") and the live file numbers.
    std::string table, live;
    if (!engine("lsmkv.levels", &table) || !engine("lsmkv.live-files", &live)) return std::nullopt;
    for (const LevelRow& r : ParseLevels(table)) {
      value += "--- level " + std::to_string(r.level) + " --- " + std::to_string(r.files) +
               " files, " + std::to_string(r.bytes) + " bytes\n";
    }
    value += "live table files: " + live + "\n";
    return value;
  }
  if (name == "lsmkv.approximate-memory-usage") {
    // The active memtable's bytes plus write_buffer_size per frozen one
    // (an upper bound; the engine reports no block cache usage).
    std::string active, frozen;
    if (!engine("lsmkv.cur-size-active-mem-table", &active) ||
        !engine("lsmkv.num-immutable-mem-table", &frozen)) {
      return std::nullopt;
    }
    uint64_t total = std::stoull(active) + std::stoull(frozen) * st.write_buffer_size;
    return std::to_string(total);
  }
  if (!engine(name, &value)) return std::nullopt;
  return value;
}

class PyDB {
 public:
  PyDB(std::shared_ptr<DBState> st, py::object name)
      : state(std::move(st)), name(std::move(name)) {}
  ~PyDB() {
    py::gil_scoped_release nogil;
    state->Close().PermitUncheckedError();
  }
  std::shared_ptr<DBState> state;
  py::object name;
};

class PySnapshot : public Child {
 public:
  PySnapshot(std::shared_ptr<DBState> st, py::object db_obj, std::string kp)
      : state(std::move(st)), db_obj(std::move(db_obj)), kp(std::move(kp)) {
    state->With([&](lsmkv::DB* db) {
      std::lock_guard lock(mu);
      snap = db->GetSnapshot();
      state->children.Add(this);
      return 0;
    });
  }
  ~PySnapshot() override { Close(); }
  // close() / release() / __exit__ from Python.
  void CloseChecked() {
    CheckNotInComparator();
    Close();
  }
  void DropEngineObjects() override {
    std::lock_guard lock(mu);
    if (snap != nullptr && state->db) state->db->ReleaseSnapshot(snap);
    snap = nullptr;
  }
  void Close() {
    py::gil_scoped_release nogil;
    std::shared_lock db_lock(state->mu);
    state->children.Remove(this);
    std::lock_guard lock(mu);
    if (snap != nullptr && state->db) state->db->ReleaseSnapshot(snap);
    snap = nullptr;
  }
  // Sets ro->snapshot; RuntimeError if released. REQUIRES: state->mu held.
  void Use(lsmkv::ReadOptions* ro) {
    std::lock_guard lock(mu);
    if (snap == nullptr) ThrowClosed("snapshot is closed");
    ro->snapshot = snap;
  }

  std::shared_ptr<DBState> state;
  py::object db_obj;
  std::string kp;
  std::mutex mu;
  const lsmkv::Snapshot* snap = nullptr;  // guarded by mu
};

class PyWriteBatch {
 public:
  std::shared_ptr<DBState> state;
  py::object db_obj;
  std::string kp;
  bool sync = false;
  bool transaction = false;
  // Held by write() across the engine's Write (which may call a Python
  // comparator): taken with the GIL held only through LockReleasingGIL.
  std::mutex mu;
  lsmkv::WriteBatch batch;  // guarded by mu

  void CheckOpen() {
    if (state->closed()) ThrowClosed();
  }
  void Put(py::handle key, py::handle value) {
    CheckOpen();
    std::string k = Prefixed(kp, key, "key");
    BytesArg v;
    ToBytes(value, "value", &v);
    auto lock = LockReleasingGIL(mu);
    batch.Put(k, v.view);
  }
  void Delete(py::handle key) {
    CheckOpen();
    std::string k = Prefixed(kp, key, "key");
    auto lock = LockReleasingGIL(mu);
    batch.Delete(k);
  }
  // Every key in [start, stop) (within this batch's prefix, if any), as of
  // this point of the batch. write() raises lsmkv.Error unless start < stop.
  void DeleteRange(py::handle start, py::handle stop) {
    CheckOpen();
    std::string b = Prefixed(kp, start, "start");
    std::string e = Prefixed(kp, stop, "stop");
    auto lock = LockReleasingGIL(mu);
    batch.DeleteRange(b, e);
  }
  void Clear() {
    CheckNotInComparator();
    auto lock = LockReleasingGIL(mu);
    batch.Clear();
  }
  // Appends other's operations (keys as other stored them: with other's
  // prefix, if it belongs to a prefixed DB). other may be this batch.
  void Append(PyWriteBatch& other) {
    CheckOpen();
    lsmkv::WriteBatch copy;
    {
      auto lock = LockReleasingGIL(other.mu);
      copy = other.batch;
    }
    auto lock = LockReleasingGIL(mu);
    batch.Append(copy);
  }
  size_t ApproximateSize() {
    CheckNotInComparator();
    auto lock = LockReleasingGIL(mu);
    return batch.ApproximateSize();
  }
  void Write() {
    lsmkv::WriteOptions wo;
    wo.sync = sync;
    lsmkv::Status s = state->With([&](lsmkv::DB* db) {
      std::lock_guard lock(mu);
      return db->Write(wo, &batch);
    });
    if (!s.ok()) ThrowStatus(s);
  }
};

class PyPrefixedDB {
 public:
  py::object db_obj;  // the lsmkv.DB
  std::shared_ptr<DBState> state;
  std::string kp;
};

namespace {

py::object MakeIterator(std::shared_ptr<DBState> st, py::object owner, const std::string& kp,
                        PySnapshot* snap, bool reverse, py::object start, py::object stop,
                        bool include_start, bool include_stop, py::object prefix, bool include_key,
                        bool include_value, py::object verify_checksums, bool fill_cache) {
  IterSpec spec = MakeSpec(kp, reverse, start, stop, include_start, include_stop, prefix,
                           include_key, include_value);
  lsmkv::ReadOptions ro = MakeReadOptions(verify_checksums, fill_cache);
  SetEngineBounds(spec, st->bytewise, &ro);
  ChildSet* reg = &st->children;
  auto it = PyIterator::Create(st, reg, owner, std::move(spec), false, [&](lsmkv::DB* db) {
    if (snap != nullptr) snap->Use(&ro);
    return db->NewIterator(ro);
  });
  it->EnableReadAhead();  // a DB's or a snapshot's iterator: an immutable view
  return py::cast(std::move(it));
}

py::object MakeRawIterator(std::shared_ptr<DBState> st, py::object owner, PySnapshot* snap,
                           py::object verify_checksums, bool fill_cache) {
  lsmkv::ReadOptions ro = MakeReadOptions(verify_checksums, fill_cache);
  auto core = PyIterator::Create(st, &st->children, owner, IterSpec(), true, [&](lsmkv::DB* db) {
    if (snap != nullptr) snap->Use(&ro);
    return db->NewIterator(ro);
  });
  auto raw = std::make_unique<PyRawIterator>();
  raw->core = std::move(core);
  return py::cast(std::move(raw));
}

void Put(DBState& st, const std::string& kp, py::handle key, py::handle value, bool sync) {
  std::string k = Prefixed(kp, key, "key");
  BytesArg v;
  ToBytes(value, "value", &v);
  lsmkv::WriteOptions wo;
  wo.sync = sync;
  lsmkv::Status s = st.With([&](lsmkv::DB* db) { return db->Put(wo, k, v.view); });
  if (!s.ok()) ThrowStatus(s);
}

void Delete(DBState& st, const std::string& kp, py::handle key, bool sync) {
  std::string k = Prefixed(kp, key, "key");
  lsmkv::WriteOptions wo;
  wo.sync = sync;
  lsmkv::Status s = st.With([&](lsmkv::DB* db) { return db->Delete(wo, k); });
  if (!s.ok()) ThrowStatus(s);
}

// DB::DeleteRange over [kp + start, kp + stop).
void DeleteRange(DBState& st, const std::string& kp, py::handle start, py::handle stop, bool sync) {
  std::string b = Prefixed(kp, start, "start");
  std::string e = Prefixed(kp, stop, "stop");
  lsmkv::WriteOptions wo;
  wo.sync = sync;
  lsmkv::Status s = st.With([&](lsmkv::DB* db) { return db->DeleteRange(wo, b, e); });
  if (!s.ok()) ThrowStatus(s);
}

py::object NewBatch(std::shared_ptr<DBState> st, py::object owner, const std::string& kp,
                    bool transaction, bool sync) {
  if (st->closed()) ThrowClosed();
  auto wb = std::make_unique<PyWriteBatch>();
  wb->state = std::move(st);
  wb->db_obj = std::move(owner);
  wb->kp = kp;
  wb->transaction = transaction;
  wb->sync = sync;
  return py::cast(std::move(wb));
}

py::object NewSnapshot(std::shared_ptr<DBState> st, py::object owner, const std::string& kp) {
  return py::cast(std::make_unique<PySnapshot>(std::move(st), std::move(owner), kp));
}

// The iterator() keyword arguments shared by DB, Snapshot, PrefixedDB and
// Transaction.
#define LSMKV_ITER_ARGS                                                                           \
  py::arg("reverse") = false, py::arg("start") = py::none(), py::arg("stop") = py::none(),        \
  py::arg("include_start") = true, py::arg("include_stop") = false,                               \
  py::arg("prefix") = py::none(), py::arg("include_key") = true, py::arg("include_value") = true, \
  py::arg("verify_checksums") = false, py::arg("fill_cache") = true

const char* kIteratorDoc =
    "An Iterator over [start, stop) (include_start / include_stop change the ends) or over "
    "the keys starting with prefix, in reverse with reverse=True; yields (key, value), key, "
    "value or None per include_key / include_value.";

// ---- DB.get / DB.put as vectorcall methods ----
//
// The two calls a program makes most go straight to CPython's fast calling
// convention instead of pybind11's dispatcher, which looks the types up and
// builds keyword defaults on every call (a get of an absent key spent about
// 100 ns there). Same arguments, defaults, errors and code underneath as the
// pybind11 definitions they replace.

const py::detail::type_info* g_db_type = nullptr;

PyDB& SelfDB(PyObject* self) {
  auto* inst = reinterpret_cast<py::detail::instance*>(self);
  PyDB* d = inst->get_value_and_holder(g_db_type).value_ptr<PyDB>();
  if (d == nullptr) throw std::runtime_error("lsmkv.DB is not initialised");
  return *d;
}

// Matches fast-call arguments to names: names[0..npos) may come by position,
// every name by keyword. out[i] is the argument or nullptr.
template <size_t N>
void ParseArgs(const char* fname, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
               const std::array<const char*, N>& names, size_t npos,
               std::array<PyObject*, N>* out) {
  out->fill(nullptr);
  if (nargs < 0 || static_cast<size_t>(nargs) > npos) {
    throw py::type_error(std::string(fname) + "() takes at most " + std::to_string(npos) +
                         " positional arguments (" + std::to_string(nargs) + " given)");
  }
  for (Py_ssize_t i = 0; i < nargs; i++) (*out)[static_cast<size_t>(i)] = args[i];
  const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < nkw; k++) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    size_t i = 0;
    while (i < N && PyUnicode_CompareWithASCIIString(name, names[i]) != 0) i++;
    if (i == N) {
      throw py::type_error(std::string(fname) + "() got an unexpected keyword argument '" +
                           py::str(name).cast<std::string>() + "'");
    }
    if ((*out)[i] != nullptr) {
      throw py::type_error(std::string(fname) + "() got multiple values for argument '" + names[i] +
                           "'");
    }
    (*out)[i] = args[nargs + k];
  }
}

// A bool argument as pybind11 converts one: truthiness (None is false).
bool Truthy(PyObject* o, bool dflt) {
  if (o == nullptr) return dflt;
  const int t = PyObject_IsTrue(o);
  if (t < 0) throw py::error_already_set();
  return t != 0;
}

PyObject* DbGet(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  return CallGuarded([&]() -> PyObject* {
    static constexpr std::array<const char*, 4> kNames = {"key", "default", "verify_checksums",
                                                          "fill_cache"};
    std::array<PyObject*, 4> a;
    ParseArgs("get", args, PyVectorcall_NARGS(nargsf), kwnames, kNames, 2, &a);
    if (a[0] == nullptr) throw py::type_error("get() missing required argument 'key'");
    py::object dflt = a[1] == nullptr ? py::none() : py::reinterpret_borrow<py::object>(a[1]);
    py::handle verify = a[2] == nullptr ? py::handle(Py_False) : py::handle(a[2]);
    return GetValue(*SelfDB(self).state, "", a[0], dflt,
                    MakeReadOptions(verify, Truthy(a[3], true)))
        .release()
        .ptr();
  });
}

PyObject* DbPut(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  return CallGuarded([&]() -> PyObject* {
    static constexpr std::array<const char*, 3> kNames = {"key", "value", "sync"};
    std::array<PyObject*, 3> a;
    ParseArgs("put", args, PyVectorcall_NARGS(nargsf), kwnames, kNames, 2, &a);
    if (a[0] == nullptr) throw py::type_error("put() missing required argument 'key'");
    if (a[1] == nullptr) throw py::type_error("put() missing required argument 'value'");
    Put(*SelfDB(self).state, "", a[0], a[1], Truthy(a[2], false));
    Py_RETURN_NONE;
  });
}

PyMethodDef g_db_get_def = {
    "get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&DbGet)),
    METH_FASTCALL | METH_KEYWORDS,
    "get($self, /, key, default=None, *, verify_checksums=False, fill_cache=True)\n--\n\n"
    "The value of key, or default if it is absent."};
PyMethodDef g_db_put_def = {"put",
                            reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&DbPut)),
                            METH_FASTCALL | METH_KEYWORDS,
                            "put($self, /, key, value, *, sync=False)\n--\n\n"
                            "Stores value under key (sync=True: durable before it returns)."};

// Replaces the pybind11 methods of the type with the vectorcall ones.
void InstallFastMethods(py::handle cls) {
  g_db_type = py::detail::get_type_info(typeid(PyDB));
  auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  for (PyMethodDef* def : {&g_db_get_def, &g_db_put_def}) {
    py::object descr = py::reinterpret_steal<py::object>(PyDescr_NewMethod(type, def));
    if (!descr) throw py::error_already_set();
    if (PyDict_SetItemString(type->tp_dict, def->ml_name, descr.ptr()) != 0) {
      throw py::error_already_set();
    }
  }
  PyType_Modified(type);
}

}  // namespace

void RegisterDB(py::module_& m) {
  py::class_<PyDB>(m, "DB",
                   "An lsmkv database with plyvel's API. Thread safe: share it between threads.")
      .def(py::init([](py::object name, bool create_if_missing, bool error_if_exists,
                       py::object paranoid_checks, std::optional<size_t> write_buffer_size,
                       std::optional<int> max_open_files, std::optional<size_t> lru_cache_size,
                       std::optional<size_t> block_size, std::optional<int> block_restart_interval,
                       std::optional<uint64_t> max_file_size, py::object compression,
                       std::optional<int> bloom_filter_bits, py::object comparator,
                       py::object comparator_name, std::string wal_recovery_mode,
                       std::string engine) {
             std::string path = PathArg(name);
             OptionArgs a{create_if_missing, error_if_exists,        paranoid_checks,
                          write_buffer_size, max_open_files,         lru_cache_size,
                          block_size,        block_restart_interval, max_file_size,
                          compression,       bloom_filter_bits,      comparator,
                          comparator_name,   wal_recovery_mode,      engine};
             return std::make_unique<PyDB>(OpenState(path, ParseOptions(a)), name);
           }),
           py::arg("name"), py::arg("create_if_missing") = false,
           py::arg("error_if_exists") = false, py::arg("paranoid_checks") = py::none(),
           py::arg("write_buffer_size") = py::none(), py::arg("max_open_files") = py::none(),
           py::arg("lru_cache_size") = py::none(), py::arg("block_size") = py::none(),
           py::arg("block_restart_interval") = py::none(), py::arg("max_file_size") = py::none(),
           py::arg("compression") = "snappy", py::arg("bloom_filter_bits") = py::none(),
           py::arg("comparator") = py::none(), py::arg("comparator_name") = py::none(),
           py::arg("wal_recovery_mode") = "point_in_time", py::arg("engine") = "lsm")
      .def_property_readonly(
          "name", [](PyDB& d) { return d.name; }, "The name given to DB().")
      .def_property_readonly("closed", [](PyDB& d) { return d.state->closed(); })
      .def(
          "close",
          [](PyDB& d) {
            CheckNotInComparator();
            lsmkv::Status s;
            {
              py::gil_scoped_release nogil;
              s = d.state->Close();
            }
            if (!s.ok()) ThrowStatus(s);
          },
          "Closes the database; its iterators and snapshots become unusable (RuntimeError).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](PyDB& d, py::args) {
             CheckNotInComparator();
             lsmkv::Status s;
             {
               py::gil_scoped_release nogil;
               s = d.state->Close();
             }
             if (!s.ok()) ThrowStatus(s);
           })
      .def(
          "get",
          [](PyDB& d, py::object key, py::object dflt, py::object verify_checksums,
             bool fill_cache) {
            return GetValue(*d.state, "", key, dflt, MakeReadOptions(verify_checksums, fill_cache));
          },
          py::arg("key"), py::arg("default") = py::none(), py::kw_only(),
          py::arg("verify_checksums") = false, py::arg("fill_cache") = true,
          "The value of key, or default if it is absent.")
      .def(
          "put",
          [](PyDB& d, py::object k, py::object v, bool sync) { Put(*d.state, "", k, v, sync); },
          py::arg("key"), py::arg("value"), py::kw_only(), py::arg("sync") = false)
      .def(
          "delete", [](PyDB& d, py::object k, bool sync) { Delete(*d.state, "", k, sync); },
          py::arg("key"), py::kw_only(), py::arg("sync") = false)
      .def(
          "delete_range",
          [](PyDB& d, py::object start, py::object stop, bool sync) {
            DeleteRange(*d.state, "", start, stop, sync);
          },
          py::arg("start"), py::arg("stop"), py::kw_only(), py::arg("sync") = false,
          "Deletes every key in [start, stop) in O(1) (DB::DeleteRange); lsmkv.Error unless "
          "start < stop.")
      .def("__contains__",
           [](PyDB& d, py::object key) {
             return !GetValue(*d.state, "", key, py::none(), lsmkv::ReadOptions()).is_none();
           })
      .def(
          "write_batch",
          [](py::object self, bool transaction, bool sync) {
            return NewBatch(self.cast<PyDB&>().state, self, "", transaction, sync);
          },
          py::kw_only(), py::arg("transaction") = false, py::arg("sync") = false,
          "A WriteBatch; as a context manager it writes on exit (with transaction=True only "
          "if no exception was raised).")
      .def(
          "iterator",
          [](py::object self, bool reverse, py::object start, py::object stop, bool include_start,
             bool include_stop, py::object prefix, bool include_key, bool include_value,
             py::object verify_checksums, bool fill_cache) {
            return MakeIterator(self.cast<PyDB&>().state, self, "", nullptr, reverse, start, stop,
                                include_start, include_stop, prefix, include_key, include_value,
                                verify_checksums, fill_cache);
          },
          py::kw_only(), LSMKV_ITER_ARGS, kIteratorDoc)
      .def("__iter__",
           [](py::object self) {
             return MakeIterator(self.cast<PyDB&>().state, self, "", nullptr, false, py::none(),
                                 py::none(), true, false, py::none(), true, true, py::bool_(false),
                                 true);
           })
      .def(
          "raw_iterator",
          [](py::object self, py::object verify_checksums, bool fill_cache) {
            return MakeRawIterator(self.cast<PyDB&>().state, self, nullptr, verify_checksums,
                                   fill_cache);
          },
          py::kw_only(), py::arg("verify_checksums") = false, py::arg("fill_cache") = true)
      .def(
          "snapshot",
          [](py::object self) { return NewSnapshot(self.cast<PyDB&>().state, self, ""); },
          "A consistent read-only view as of now.")
      .def(
          "prefixed_db",
          [](py::object self, py::object prefix) {
            BytesArg p;
            ToBytes(prefix, "prefix", &p);
            auto pdb = std::make_unique<PyPrefixedDB>();
            pdb->db_obj = self;
            pdb->state = self.cast<PyDB&>().state;
            pdb->kp = std::string(p.view);
            return pdb;
          },
          py::arg("prefix"), "A PrefixedDB: this DB seen through the keys starting with prefix.")
      .def(
          "get_property",
          [](PyDB& d, py::object name) -> py::object {
            if (!PyBytes_Check(name.ptr()) && !PyUnicode_Check(name.ptr())) {
              throw py::type_error("property name must be bytes or str");
            }
            auto v = GetPropertyMapped(*d.state, name.cast<std::string>());
            if (!v) return py::none();
            return MakeBytes(*v);
          },
          py::arg("name"),
          "The property's value as bytes, or None if unknown: lsmkv.stats, lsmkv.sstables, "
          "lsmkv.num-files-at-levelN, lsmkv.approximate-memory-usage, lsmkv.levels, ...")
      .def(
          "approximate_size",
          [](PyDB& d, py::object start, py::object stop) {
            BytesArg a, b;
            ToBytes(start, "start", &a);
            ToBytes(stop, "stop", &b);
            uint64_t size = 0;
            lsmkv::Range r{a.view, b.view};
            lsmkv::Status s =
                d.state->With([&](lsmkv::DB* db) { return db->GetApproximateSizes(&r, 1, &size); });
            if (!s.ok()) ThrowStatus(s);
            return size;
          },
          py::arg("start"), py::arg("stop"), "Approximate bytes of table files in [start, stop).")
      .def(
          "approximate_sizes",
          [](PyDB& d, py::args ranges) {
            std::vector<std::unique_ptr<BytesArg>> keep;
            std::vector<lsmkv::Range> rs;
            for (py::handle h : ranges) {
              if (!PyTuple_Check(h.ptr()) || PyTuple_GET_SIZE(h.ptr()) != 2) {
                throw py::type_error("each range must be a (start, stop) tuple of bytes");
              }
              auto a = std::make_unique<BytesArg>(), b = std::make_unique<BytesArg>();
              ToBytes(PyTuple_GET_ITEM(h.ptr(), 0), "start", a.get());
              ToBytes(PyTuple_GET_ITEM(h.ptr(), 1), "stop", b.get());
              rs.push_back({a->view, b->view});
              keep.push_back(std::move(a));
              keep.push_back(std::move(b));
            }
            std::vector<uint64_t> sizes(rs.size());
            if (!rs.empty()) {
              lsmkv::Status s = d.state->With([&](lsmkv::DB* db) {
                return db->GetApproximateSizes(rs.data(), static_cast<int>(rs.size()),
                                               sizes.data());
              });
              if (!s.ok()) ThrowStatus(s);
            }
            return sizes;
          },
          "A list of approximate_size for each (start, stop) range.")
      .def(
          "compact_range",
          [](PyDB& d, py::object start, py::object stop) {
            std::optional<std::string> a, b;
            if (!start.is_none()) a = Prefixed("", start, "start");
            if (!stop.is_none()) b = Prefixed("", stop, "stop");
            lsmkv::Status s = d.state->With([&](lsmkv::DB* db) {
              return db->CompactRange(a ? &*a : nullptr, b ? &*b : nullptr);
            });
            if (!s.ok()) ThrowStatus(s);
          },
          py::kw_only(), py::arg("start") = py::none(), py::arg("stop") = py::none(),
          "Compacts the key range [start, stop] (None: unbounded) and waits.")
      .def(
          "transaction",
          [](py::object self, const std::string& isolation, bool sync) {
            return NewTransaction(self, self.cast<PyDB&>().state, isolation, sync);
          },
          py::kw_only(), py::arg("isolation") = "snapshot", py::arg("sync") = false,
          "An optimistic Transaction (isolation 'snapshot' or 'serializable'); as a context "
          "manager it commits on a clean exit and rolls back on an exception.");

  py::class_<PySnapshot>(m, "Snapshot", "A consistent read-only view of a DB (plyvel's Snapshot).")
      .def(
          "get",
          [](PySnapshot& sn, py::object key, py::object dflt, py::object verify_checksums,
             bool fill_cache) {
            lsmkv::ReadOptions ro = MakeReadOptions(verify_checksums, fill_cache);
            BytesArg k;
            ToBytes(key, "key", &k);
            std::string full = sn.kp + std::string(k.view);
            std::string value;
            lsmkv::Status s = sn.state->With([&](lsmkv::DB* db) {
              sn.Use(&ro);
              return db->Get(ro, full, &value);
            });
            if (s.IsNotFound()) return dflt;
            if (!s.ok()) ThrowStatus(s);
            return py::object(MakeBytes(value));
          },
          py::arg("key"), py::arg("default") = py::none(), py::kw_only(),
          py::arg("verify_checksums") = false, py::arg("fill_cache") = true)
      .def(
          "iterator",
          [](py::object self, bool reverse, py::object start, py::object stop, bool include_start,
             bool include_stop, py::object prefix, bool include_key, bool include_value,
             py::object verify_checksums, bool fill_cache) {
            PySnapshot& sn = self.cast<PySnapshot&>();
            return MakeIterator(sn.state, self, sn.kp, &sn, reverse, start, stop, include_start,
                                include_stop, prefix, include_key, include_value, verify_checksums,
                                fill_cache);
          },
          py::kw_only(), LSMKV_ITER_ARGS, kIteratorDoc)
      .def("__iter__",
           [](py::object self) {
             PySnapshot& sn = self.cast<PySnapshot&>();
             return MakeIterator(sn.state, self, sn.kp, &sn, false, py::none(), py::none(), true,
                                 false, py::none(), true, true, py::bool_(false), true);
           })
      .def(
          "raw_iterator",
          [](py::object self, py::object verify_checksums, bool fill_cache) {
            PySnapshot& sn = self.cast<PySnapshot&>();
            return MakeRawIterator(sn.state, self, &sn, verify_checksums, fill_cache);
          },
          py::kw_only(), py::arg("verify_checksums") = false, py::arg("fill_cache") = true)
      .def("close", &PySnapshot::CloseChecked,
           "Releases the snapshot; later reads raise RuntimeError.")
      .def("release", &PySnapshot::CloseChecked, "Same as close().")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PySnapshot& sn, py::args) { sn.CloseChecked(); });

  py::class_<PyWriteBatch>(m, "WriteBatch", "Writes applied atomically by write().")
      .def("put", &PyWriteBatch::Put, py::arg("key"), py::arg("value"))
      .def("delete", &PyWriteBatch::Delete, py::arg("key"))
      .def("delete_range", &PyWriteBatch::DeleteRange, py::arg("start"), py::arg("stop"))
      .def("clear", &PyWriteBatch::Clear)
      .def("write", &PyWriteBatch::Write, "Applies the batch (it is not cleared).")
      .def("append", &PyWriteBatch::Append, py::arg("source"),
           "Appends every operation of another write batch (plyvel 1.5.1).")
      .def("approximate_size", &PyWriteBatch::ApproximateSize)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyWriteBatch& wb, py::object exc_type, py::object, py::object) {
        if (wb.transaction && !exc_type.is_none()) return;
        wb.Write();
      });

  py::class_<PyPrefixedDB>(m, "PrefixedDB",
                           "A DB seen through the keys starting with prefix (plyvel's PrefixedDB).")
      .def_property_readonly("prefix", [](PyPrefixedDB& p) { return MakeBytes(p.kp); })
      .def_property_readonly("db", [](PyPrefixedDB& p) { return p.db_obj; })
      .def(
          "get",
          [](PyPrefixedDB& p, py::object key, py::object dflt, py::object verify_checksums,
             bool fill_cache) {
            return GetValue(*p.state, p.kp, key, dflt,
                            MakeReadOptions(verify_checksums, fill_cache));
          },
          py::arg("key"), py::arg("default") = py::none(), py::kw_only(),
          py::arg("verify_checksums") = false, py::arg("fill_cache") = true)
      .def(
          "put",
          [](PyPrefixedDB& p, py::object k, py::object v, bool sync) {
            Put(*p.state, p.kp, k, v, sync);
          },
          py::arg("key"), py::arg("value"), py::kw_only(), py::arg("sync") = false)
      .def(
          "delete",
          [](PyPrefixedDB& p, py::object k, bool sync) { Delete(*p.state, p.kp, k, sync); },
          py::arg("key"), py::kw_only(), py::arg("sync") = false)
      .def(
          "delete_range",
          [](PyPrefixedDB& p, py::object start, py::object stop, bool sync) {
            DeleteRange(*p.state, p.kp, start, stop, sync);
          },
          py::arg("start"), py::arg("stop"), py::kw_only(), py::arg("sync") = false)
      .def("__contains__",
           [](PyPrefixedDB& p, py::object key) {
             return !GetValue(*p.state, p.kp, key, py::none(), lsmkv::ReadOptions()).is_none();
           })
      .def(
          "write_batch",
          [](PyPrefixedDB& p, bool transaction, bool sync) {
            return NewBatch(p.state, p.db_obj, p.kp, transaction, sync);
          },
          py::kw_only(), py::arg("transaction") = false, py::arg("sync") = false)
      .def(
          "iterator",
          [](PyPrefixedDB& p, bool reverse, py::object start, py::object stop, bool include_start,
             bool include_stop, py::object prefix, bool include_key, bool include_value,
             py::object verify_checksums, bool fill_cache) {
            return MakeIterator(p.state, p.db_obj, p.kp, nullptr, reverse, start, stop,
                                include_start, include_stop, prefix, include_key, include_value,
                                verify_checksums, fill_cache);
          },
          py::kw_only(), LSMKV_ITER_ARGS, kIteratorDoc)
      .def("__iter__",
           [](PyPrefixedDB& p) {
             return MakeIterator(p.state, p.db_obj, p.kp, nullptr, false, py::none(), py::none(),
                                 true, false, py::none(), true, true, py::bool_(false), true);
           })
      .def("snapshot", [](PyPrefixedDB& p) { return NewSnapshot(p.state, p.db_obj, p.kp); })
      .def(
          "prefixed_db",
          [](PyPrefixedDB& p, py::object prefix) {
            BytesArg b;
            ToBytes(prefix, "prefix", &b);
            auto pdb = std::make_unique<PyPrefixedDB>();
            pdb->db_obj = p.db_obj;
            pdb->state = p.state;
            pdb->kp = p.kp + std::string(b.view);
            return pdb;
          },
          py::arg("prefix"));
  InstallFastMethods(m.attr("DB"));
}

}  // namespace lsmkv_py
