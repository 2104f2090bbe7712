// The lsmkv Python module (docs/python.md): exceptions, shared helpers,
// repair_db / destroy_db, and the module definition.
#include <pybind11/stl.h>

#include <cstdlib>
#include <vector>

#include "lsmkv/tools.h"
#include "py_common.h"
#include "py_options.h"

namespace lsmkv_py {

Exceptions g_exc;
thread_local int g_comparator_depth = 0;

void ThrowStatus(const lsmkv::Status& s) {
  PyObject* cls = g_exc.error;
  if (s.IsCorruption()) {
    cls = g_exc.corruption_error;
  } else if (s.IsIOError()) {
    cls = g_exc.io_error;
  } else if (s.IsBusy()) {
    cls = g_exc.conflict_error;
  } else if (s.IsAborted()) {
    cls = g_exc.transaction_error;
  }
  PyErr_SetString(cls, s.ToString().c_str());
  throw py::error_already_set();
}

void ThrowClosed(const char* what) { throw std::runtime_error(what); }

bool IsBytesLike(py::handle h) {
  return PyBytes_Check(h.ptr()) || (!PyUnicode_Check(h.ptr()) && PyObject_CheckBuffer(h.ptr()));
}

void ToBytes(py::handle h, const char* what, BytesArg* out) {
  if (PyBytes_Check(h.ptr())) {
    out->view = std::string_view(PyBytes_AS_STRING(h.ptr()),
                                 static_cast<size_t>(PyBytes_GET_SIZE(h.ptr())));
    return;
  }
  if (PyUnicode_Check(h.ptr()) || !PyObject_CheckBuffer(h.ptr())) {
    throw py::type_error(std::string(what) +
                         " must be bytes-like (bytes, bytearray, memoryview), not " +
                         std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  }
  Py_buffer buf;
  if (PyObject_GetBuffer(h.ptr(), &buf, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  out->copy.assign(static_cast<const char*>(buf.buf), static_cast<size_t>(buf.len));
  PyBuffer_Release(&buf);
  out->view = out->copy;
}

namespace {
// Python comparator calls in progress in any thread, and whether the cyclic
// garbage collector was enabled when the first of them began. Guarded by
// the GIL.
int g_gc_pauses = 0;
bool g_gc_was_enabled = false;
}  // namespace

int PyComparator::Compare(std::string_view a, std::string_view b) const {
  py::gil_scoped_acquire gil;
  struct Depth {
    Depth() { ++g_comparator_depth; }
    ~Depth() { --g_comparator_depth; }
  } depth;
  // The cyclic garbage collector is paused while any comparator runs: a
  // collection triggered by the comparator's allocations would run the
  // destructors of unreachable lsmkv objects in this thread, and they take
  // the database's locks, which the engine call running this comparator, or
  // a close() waiting for this thread, may hold (a deadlock). The collector
  // resumes, if it was enabled, when the last comparator call returns.
  struct GcPause {
    GcPause() {
      if (g_gc_pauses++ == 0) g_gc_was_enabled = PyGC_Disable() != 0;
    }
    ~GcPause() {
      if (--g_gc_pauses == 0 && g_gc_was_enabled) PyGC_Enable();
    }
  } gc_pause;
  try {
    py::object r = fn_(MakeBytes(a), MakeBytes(b));
    if (!PyLong_Check(r.ptr())) throw py::type_error("comparator must return an int");
    long v = r.cast<long>();
    return v < 0 ? -1 : v > 0 ? 1 : 0;
  } catch (py::error_already_set& e) {
    e.restore();
    PyErr_Print();
  } catch (std::exception& e) {
    PySys_WriteStderr("lsmkv: comparator failed: %s\n", e.what());
  }
  // The engine cannot take an error here and a wrong answer corrupts the
  // order of the database: stop (plyvel does the same).
  PySys_WriteStderr("lsmkv: the Python comparator raised; aborting\n");
  std::abort();
}

namespace {
std::mutex g_open_mu;
std::set<DBState*> g_open;  // guarded by g_open_mu
}  // namespace

// CloseAll holds g_open_mu without the GIL while closing engines whose
// background work may call a Python comparator: wait for it without the GIL.
DBState::DBState() {
  auto lock = LockReleasingGIL(g_open_mu);
  g_open.insert(this);
}

DBState::~DBState() {
  {
    auto lock = LockReleasingGIL(g_open_mu);
    g_open.erase(this);
  }
  {
    py::gil_scoped_release nogil;
    Close().PermitUncheckedError();
  }
  py_comparator.reset();
}

lsmkv::Status DBState::Close() {
  std::unique_lock lock(mu);
  if (!db) return lsmkv::Status::OK();
  children.DropAll();
  lsmkv::Status s = db->Close();
  db.reset();
  return s;
}

void DBState::CloseAll() {
  py::gil_scoped_release nogil;
  std::lock_guard lock(g_open_mu);
  for (DBState* s : g_open) s->Close().PermitUncheckedError();
}

std::string PathArg(py::handle name) {
  if (PyUnicode_Check(name.ptr()) || PyBytes_Check(name.ptr()) || py::hasattr(name, "__fspath__")) {
    py::object p = py::module_::import("os").attr("fsencode")(name);
    return p.cast<std::string>();
  }
  throw py::type_error("name must be str, bytes or os.PathLike, not " +
                       std::string(py::str(py::type::handle_of(name).attr("__name__"))));
}

OpenArgs ParseOptions(const OptionArgs& a) {
  OpenArgs out;
  lsmkv::Options& o = out.options;
  o.create_if_missing = a.create_if_missing;
  o.error_if_exists = a.error_if_exists;
  // LevelDB (and so plyvel) has no key size limit; the engine's default is
  // 64 KiB. plyvel's own tests write 100 KB keys.
  o.max_key_size = kMaxKeySize;
  if (!a.paranoid_checks.is_none()) o.paranoid_checks = py::bool_(a.paranoid_checks);
  o.write_buffer_size = a.write_buffer_size.value_or(kDefaultWriteBufferSize);
  if (a.max_open_files) o.max_open_files = *a.max_open_files;
  if (a.lru_cache_size) o.block_cache_size = *a.lru_cache_size;
  if (a.block_size) o.block_size = *a.block_size;
  if (a.block_restart_interval) o.block_restart_interval = *a.block_restart_interval;
  if (a.max_file_size) o.target_file_size = *a.max_file_size;
  if (a.bloom_filter_bits) o.bloom_bits_per_key = *a.bloom_filter_bits;
  if (a.compression.is_none()) {
    o.compression = lsmkv::CompressionType::kNone;
  } else {
    if (!PyUnicode_Check(a.compression.ptr()) && !PyBytes_Check(a.compression.ptr())) {
      throw py::type_error("compression must be None or a string");
    }
    std::string c = PyBytes_Check(a.compression.ptr()) ? a.compression.cast<std::string>()
                                                       : a.compression.cast<std::string>();
    if (c == "snappy") {
      o.compression = lsmkv::CompressionType::kSnappy;
    } else if (c == "lz4") {
      o.compression = lsmkv::CompressionType::kLZ4;
    } else if (c == "zstd") {
      o.compression = lsmkv::CompressionType::kZstd;
    } else {
      throw py::value_error("compression must be None, 'snappy', 'lz4' or 'zstd', not '" + c + "'");
    }
  }
  const std::string& w = a.wal_recovery_mode;
  if (w == "point_in_time") {
    o.wal_recovery_mode = lsmkv::WalRecoveryMode::kPointInTime;
  } else if (w == "tolerate_corrupted_tail") {
    o.wal_recovery_mode = lsmkv::WalRecoveryMode::kTolerateCorruptedTail;
  } else if (w == "absolute_consistency") {
    o.wal_recovery_mode = lsmkv::WalRecoveryMode::kAbsoluteConsistency;
  } else if (w == "skip_any_corrupted") {
    o.wal_recovery_mode = lsmkv::WalRecoveryMode::kSkipAnyCorrupted;
  } else {
    throw py::value_error(
        "wal_recovery_mode must be 'point_in_time', 'tolerate_corrupted_tail', "
        "'absolute_consistency' or 'skip_any_corrupted'");
  }
  bool engine_known = false;
  for (lsmkv::StorageEngine e :
       {lsmkv::StorageEngine::kLsm, lsmkv::StorageEngine::kBTree, lsmkv::StorageEngine::kBitcask}) {
    if (a.engine == lsmkv::StorageEngineName(e)) {
      o.engine = e;
      engine_known = true;
    }
  }
  if (!engine_known) {
    throw py::value_error("engine must be 'lsm', 'btree' or 'bitcask', not '" + a.engine + "'");
  }
  if (a.comparator.is_none()) {
    if (!a.comparator_name.is_none()) {
      throw py::value_error("comparator_name given without a comparator");
    }
  } else {
    if (!PyCallable_Check(a.comparator.ptr())) throw py::type_error("comparator must be callable");
    if (!PyBytes_Check(a.comparator_name.ptr()) && !PyUnicode_Check(a.comparator_name.ptr())) {
      if (a.comparator_name.is_none())
        throw py::value_error("a comparator needs a comparator_name");
      throw py::type_error("comparator_name must be bytes or str");
    }
    std::string name = a.comparator_name.cast<std::string>();
    out.comparator = std::make_shared<PyComparator>(a.comparator, name);
    o.comparator = out.comparator.get();
  }
  return out;
}

std::shared_ptr<DBState> OpenState(const std::string& path, OpenArgs args) {
  auto state = std::make_shared<DBState>();
  state->py_comparator = args.comparator;
  if (args.comparator) {
    state->cmp = args.comparator.get();
    state->bytewise = false;
  }
  state->write_buffer_size = args.options.write_buffer_size;
  lsmkv::Status s;
  {
    py::gil_scoped_release nogil;
    std::unique_lock lock(state->mu);
    s = lsmkv::DB::Open(args.options, path, &state->db);
  }
  if (!s.ok()) ThrowStatus(s);
  return state;
}

namespace {

void RepairDB(py::object name, const OptionArgs& a) {
  std::string path = PathArg(name);
  OpenArgs args = ParseOptions(a);
  lsmkv::RepairOptions ro;
  ro.db_options = args.options;
  lsmkv::RepairReport report;
  lsmkv::Status s;
  {
    py::gil_scoped_release nogil;
    s = lsmkv::RepairDB(path, ro, &report);
  }
  if (!s.ok()) ThrowStatus(s);
}

void DestroyDB(py::object name) {
  std::string path = PathArg(name);
  lsmkv::Status s;
  {
    py::gil_scoped_release nogil;
    s = lsmkv::DestroyDB(path, lsmkv::Options());
  }
  if (!s.ok()) ThrowStatus(s);
}

PyObject* NewException(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  std::string full = std::string("lsmkv.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(full.c_str(), doc, bases.ptr(), nullptr);
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(cls));
  return cls;
}

}  // namespace

}  // namespace lsmkv_py

PYBIND11_MODULE(lsmkv, m) {
  using namespace lsmkv_py;
  m.doc() =
      "lsmkv: Python bindings of the lsmkv storage engine. DB follows plyvel's API (change "
      "`import plyvel` to `import lsmkv as plyvel`); LSMKVStore is the str-keyed store of the "
      "original Python lsmkv. See docs/python.md.";
  m.attr("__version__") = LSMKV_PY_VERSION;
  // plyvel programs check this for LevelDB features: the LevelDB API level
  // DB mirrors (LevelDB 1.23), not an lsmkv version.
  m.attr("__leveldb_version__") = "1.23";

  py::handle base_exc(PyExc_Exception);
  g_exc.error = NewException(m, "Error", py::make_tuple(base_exc), "Base class of lsmkv's errors.");
  py::handle err(g_exc.error);
  g_exc.io_error = NewException(m, "IOError", py::make_tuple(err, py::handle(PyExc_IOError)),
                                "An I/O error of the engine (also a builtin IOError/OSError).");
  g_exc.corruption_error =
      NewException(m, "CorruptionError", py::make_tuple(err), "Damaged data was detected.");
  g_exc.iterator_invalid = NewException(m, "IteratorInvalidError", py::make_tuple(err),
                                        "A RawIterator was used while not valid().");
  g_exc.transaction_error = NewException(m, "TransactionError", py::make_tuple(err),
                                         "A transaction failed (expired, finished, ...).");
  g_exc.conflict_error = NewException(
      m, "TransactionConflictError", py::make_tuple(py::handle(g_exc.transaction_error)),
      "Commit found a conflicting write: nothing was written; retry the transaction.");

  RegisterIterators(m);
  RegisterDB(m);
  RegisterTransaction(m);
  RegisterStore(m);

  m.def(
      "repair_db",
      [](py::object name, bool create_if_missing, bool error_if_exists, py::object paranoid_checks,
         std::optional<size_t> write_buffer_size, std::optional<int> max_open_files,
         std::optional<size_t> lru_cache_size, std::optional<size_t> block_size,
         std::optional<int> block_restart_interval, std::optional<uint64_t> max_file_size,
         py::object compression, std::optional<int> bloom_filter_bits, py::object comparator,
         py::object comparator_name) {
        OptionArgs a{create_if_missing, error_if_exists, paranoid_checks,   write_buffer_size,
                     max_open_files,    lru_cache_size,  block_size,        block_restart_interval,
                     max_file_size,     compression,     bloom_filter_bits, comparator,
                     comparator_name,   "point_in_time"};
        RepairDB(name, a);
      },
      py::arg("name"), py::kw_only(), py::arg("create_if_missing") = false,
      py::arg("error_if_exists") = false, py::arg("paranoid_checks") = py::none(),
      py::arg("write_buffer_size") = py::none(), py::arg("max_open_files") = py::none(),
      py::arg("lru_cache_size") = py::none(), py::arg("block_size") = py::none(),
      py::arg("block_restart_interval") = py::none(), py::arg("max_file_size") = py::none(),
      py::arg("compression") = "snappy", py::arg("bloom_filter_bits") = py::none(),
      py::arg("comparator") = py::none(), py::arg("comparator_name") = py::none(),
      "Rebuilds the database in name from its readable tables and logs (lsmkv's RepairDB; "
      "previous files go to name/lost/). Pass the database's comparator if it has one.");
  m.def("destroy_db", &DestroyDB, py::arg("name"),
        "Removes the database at name and its directory. Fails if it is open.");

  py::module_::import("atexit").attr("register")(py::cpp_function([] { DBState::CloseAll(); }));
}
