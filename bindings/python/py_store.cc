// lsmkv.LSMKVStore: the API of the original Python lsmkv (put/get/delete,
// flush, stats, get_level_info) over the engine, with str keys and values
// (UTF-8) and bytes accepted too. Everything the old store lost (keys and
// values with '|' or newlines, empty ones, non-ASCII) is stored as bytes
// and round-trips.
#include <pybind11/stl.h>

#include "py_common.h"
#include "py_options.h"

namespace lsmkv_py {

std::vector<std::pair<int, std::pair<uint64_t, uint64_t>>> LevelInfo(DBState& st);

namespace {

// str -> its UTF-8; bytes-like -> its bytes; TypeError otherwise (None too).
std::string TextOrBytes(py::handle h, const char* what) {
  if (PyUnicode_Check(h.ptr())) {
    Py_ssize_t n = 0;
    const char* p = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (p == nullptr) throw py::error_already_set();
    return std::string(p, static_cast<size_t>(n));
  }
  if (!IsBytesLike(h)) {
    throw py::type_error(std::string(what) + " must be str or bytes, not " +
                         std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  }
  BytesArg b;
  ToBytes(h, what, &b);
  return std::string(b.view);
}

class PyStore {
 public:
  PyStore(py::object data_dir, bool sync) : data_dir_(data_dir), sync_(sync) {
    std::string path = PathArg(data_dir);
    OptionArgs a;
    a.create_if_missing = true;
    a.compression = py::none();
    // The data directory may not exist yet (the old store created it).
    py::module_::import("os").attr("makedirs")(data_dir, py::arg("exist_ok") = true);
    state_ = OpenState(path, ParseOptions(a));
  }
  ~PyStore() {
    py::gil_scoped_release nogil;
    state_->Close().PermitUncheckedError();
  }

  bool Put(py::object key, py::object value) {
    std::string k = TextOrBytes(key, "key"), v = TextOrBytes(value, "value");
    lsmkv::WriteOptions wo;
    wo.sync = sync_;
    lsmkv::Status s = state_->With([&](lsmkv::DB* db) { return db->Put(wo, k, v); });
    if (!s.ok()) ThrowStatus(s);
    return true;
  }
  // The value as str if key is a str, as bytes if key is bytes; None if absent.
  py::object Get(py::object key) {
    std::string k = TextOrBytes(key, "key"), v;
    lsmkv::Status s =
        state_->With([&](lsmkv::DB* db) { return db->Get(lsmkv::ReadOptions(), k, &v); });
    if (s.IsNotFound()) return py::none();
    if (!s.ok()) ThrowStatus(s);
    if (PyUnicode_Check(key.ptr())) {
      PyObject* str = PyUnicode_DecodeUTF8(v.data(), static_cast<Py_ssize_t>(v.size()), "strict");
      if (str == nullptr) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(str);
    }
    return MakeBytes(v);
  }
  bool Delete(py::object key) {
    std::string k = TextOrBytes(key, "key");
    lsmkv::WriteOptions wo;
    wo.sync = sync_;
    lsmkv::Status s = state_->With([&](lsmkv::DB* db) { return db->Delete(wo, k); });
    if (!s.ok()) ThrowStatus(s);
    return true;
  }
  void Flush() {
    lsmkv::Status s = state_->With([&](lsmkv::DB* db) { return db->Flush(); });
    if (!s.ok()) ThrowStatus(s);
  }
  void Close() {
    CheckNotInComparator();
    lsmkv::Status s;
    {
      py::gil_scoped_release nogil;
      s = state_->Close();
    }
    if (!s.ok()) ThrowStatus(s);
  }
  py::dict LevelInfoDict() {
    py::dict out;
    for (const auto& [level, fb] : LevelInfo(*state_)) {
      py::dict d;
      d["file_count"] = fb.first;
      d["size_bytes"] = fb.second;
      out[py::int_(level)] = d;
    }
    return out;
  }
  py::dict Stats() {
    auto prop = [&](const char* name) {
      std::string v;
      state_->With([&](lsmkv::DB* db) { return db->GetProperty(name, &v); });
      return v;
    };
    py::dict d;
    d["data_dir"] = data_dir_;
    py::dict levels = LevelInfoDict();
    uint64_t files = 0, bytes = 0;
    for (auto item : levels) {
      files += item.second["file_count"].cast<uint64_t>();
      bytes += item.second["size_bytes"].cast<uint64_t>();
    }
    d["levels"] = levels;
    d["sstable_count"] = files;
    d["sstable_bytes"] = bytes;
    d["memtable_entries"] = std::stoull(prop("lsmkv.num-entries-active-mem-table"));
    d["memtable_bytes"] = std::stoull(prop("lsmkv.cur-size-active-mem-table"));
    d["immutable_memtables"] = std::stoull(prop("lsmkv.num-immutable-mem-table"));
    d["last_sequence"] = std::stoull(prop("lsmkv.last-sequence"));
    d["engine_stats"] = prop("lsmkv.stats");
    return d;
  }

 private:
  py::object data_dir_;
  bool sync_;
  std::shared_ptr<DBState> state_;
};

}  // namespace

void RegisterStore(py::module_& m) {
  py::class_<PyStore>(m, "LSMKVStore",
                      "The store of the original Python lsmkv, now over the engine: str (UTF-8) "
                      "or bytes keys and values. Thread safe.")
      .def(py::init<py::object, bool>(), py::arg("data_dir") = "./data", py::kw_only(),
           py::arg("sync") = false,
           "Opens (creating if needed) the store in data_dir. sync=True makes every write "
           "durable before it returns.")
      .def("put", &PyStore::Put, py::arg("key"), py::arg("value"), "Stores value; returns True.")
      .def("get", &PyStore::Get, py::arg("key"),
           "The value (str for a str key, bytes for a bytes key), or None.")
      .def("delete", &PyStore::Delete, py::arg("key"), "Removes key; returns True.")
      .def("flush", &PyStore::Flush, "Writes the memtable to a table file and waits.")
      .def("close", &PyStore::Close,
           "Closes the store (idempotent); later calls raise RuntimeError.")
      .def("stats", &PyStore::Stats, "A dict of counters: levels, sstable_count, memtable_*, ...")
      .def("get_level_info", &PyStore::LevelInfoDict,
           "{level: {'file_count': n, 'size_bytes': b}} for every level.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyStore& s, py::args) { s.Close(); });
}

}  // namespace lsmkv_py
