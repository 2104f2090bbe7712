// lsmkv.Iterator / lsmkv.RawIterator (py_iterator.h). The Iterator is a
// cursor between entries, as in plyvel: next() returns the entry after the
// cursor and moves past it, prev() the entry before it and moves before it.
// valid_ says the engine iterator is at the entry next() returns (for a
// reverse iterator: the entry before the cursor in key order).
#include "py_iterator.h"

#include <utility>

namespace lsmkv_py {

namespace {

std::optional<std::string> OptBytes(py::handle h, const char* what) {
  if (h.is_none()) return std::nullopt;
  BytesArg b;
  ToBytes(h, what, &b);
  return std::string(b.view);
}

// The smallest string greater than every string starting with p, if any.
std::optional<std::string> PrefixSuccessor(std::string p) {
  while (!p.empty()) {
    unsigned char c = static_cast<unsigned char>(p.back());
    if (c != 0xff) {
      p.back() = static_cast<char>(c + 1);
      return p;
    }
    p.pop_back();
  }
  return std::nullopt;
}

}  // namespace

IterSpec MakeSpec(const std::string& kp, bool reverse, py::object start, py::object stop,
                  bool include_start, bool include_stop, py::object prefix, bool include_key,
                  bool include_value) {
  IterSpec spec;
  spec.reverse = reverse;
  spec.include_key = include_key;
  spec.include_value = include_value;
  spec.strip = kp.size();
  if (!prefix.is_none()) {
    if (!start.is_none() || !stop.is_none()) {
      throw py::type_error("'prefix' cannot be used together with 'start' or 'stop'");
    }
    spec.prefix = kp + *OptBytes(prefix, "prefix");
    return spec;
  }
  if (auto s = OptBytes(start, "start")) {
    spec.lower = kp + *s;
    spec.lower_incl = include_start;
  }
  if (auto s = OptBytes(stop, "stop")) {
    spec.upper = kp + *s;
    spec.upper_incl = include_stop;
  }
  if (!kp.empty()) spec.prefix = kp;
  return spec;
}

void SetEngineBounds(const IterSpec& spec, bool bytewise, lsmkv::ReadOptions* ro) {
  if (spec.lower) {
    ro->lower_bound = *spec.lower;
  } else if (spec.prefix && bytewise) {
    ro->lower_bound = *spec.prefix;
  }
  if (spec.upper && !spec.upper_incl) {
    ro->upper_bound = *spec.upper;
  } else if (spec.prefix && bytewise && !spec.upper) {
    ro->upper_bound = PrefixSuccessor(*spec.prefix);
  }
}

std::unique_ptr<PyIterator> PyIterator::Create(
    std::shared_ptr<DBState> state, ChildSet* registry, py::object owner, IterSpec spec, bool raw,
    const std::function<std::unique_ptr<lsmkv::Iterator>(lsmkv::DB*)>& make, std::mutex* outer_mu) {
  std::unique_ptr<PyIterator> self(new PyIterator());
  self->state_ = state;
  self->registry_ = registry;
  self->outer_mu_ = outer_mu;
  self->owner_ = std::move(owner);
  self->spec_ = std::move(spec);
  self->raw_ = raw;
  PyIterator* p = self.get();
  state->With([&](lsmkv::DB* db) {
    std::unique_lock<std::mutex> outer;
    if (p->outer_mu_ != nullptr) outer = std::unique_lock(*p->outer_mu_);
    std::lock_guard lock(p->mu_);
    p->it_ = make(db);
    p->registry_->Add(p);
    if (!p->raw_) {
      if (p->spec_.reverse) {
        p->Last();
      } else {
        p->First();
      }
    }
    return 0;
  });
  return self;
}

PyIterator::~PyIterator() { Release(); }

void PyIterator::Release() {
  // The DB's shared lock (and the transaction's mutex): once out of the
  // registry, the DB's (or the transaction's) close no longer drops it_, so
  // it must not end before it_ is reset.
  py::gil_scoped_release nogil;
  std::shared_lock db_lock(state_->mu);
  std::unique_lock<std::mutex> outer;
  if (outer_mu_ != nullptr) outer = std::unique_lock(*outer_mu_);
  registry_->Remove(this);
  std::lock_guard lock(mu_);
  it_.reset();
  ahead_.clear();
  ahead_pos_ = ahead_len_ = 0;
}

void PyIterator::DropEngineObjects() {
  std::lock_guard lock(mu_);
  it_.reset();
  ahead_.clear();
  ahead_pos_ = ahead_len_ = 0;
}

void PyIterator::Unbuffer() {
  if (ahead_pos_ == ahead_len_) return;
  // The key exists in the iterator's view, so the seek lands on it whatever
  // the direction.
  it_->Seek(ahead_[ahead_pos_].key);
  ahead_pos_ = ahead_len_ = 0;
  Settle();
}

template <typename F>
void PyIterator::Locked(F&& fn, bool check_status) {
  lsmkv::Status s;
  {
    CheckNotInComparator();
    py::gil_scoped_release nogil;
    std::shared_lock db_lock(state_->mu);
    std::unique_lock<std::mutex> outer;
    if (outer_mu_ != nullptr) outer = std::unique_lock(*outer_mu_);
    std::lock_guard lock(mu_);
    if (!state_->db) ThrowClosed();
    if (!it_) ThrowClosed("iterator is closed");
    Unbuffer();
    fn();
    if (check_status && !it_->Valid()) s = it_->status();
  }
  if (!s.ok()) ThrowStatus(s);
}

bool PyIterator::InRange(std::string_view k) const {
  if (spec_.prefix && !k.starts_with(*spec_.prefix)) return false;
  if (spec_.lower) {
    int c = Cmp(k, *spec_.lower);
    if (c < 0 || (c == 0 && !spec_.lower_incl)) return false;
  }
  if (spec_.upper) {
    int c = Cmp(k, *spec_.upper);
    if (c > 0 || (c == 0 && !spec_.upper_incl)) return false;
  }
  return true;
}

bool PyIterator::BelowRange(std::string_view t) const {
  if (spec_.lower) {
    int c = Cmp(t, *spec_.lower);
    if (c < 0 || (c == 0 && !spec_.lower_incl)) return true;
  }
  return spec_.prefix && Cmp(t, *spec_.prefix) < 0;
}

void PyIterator::Settle() { valid_ = it_->Valid() && InRange(it_->key()); }

void PyIterator::First() {
  if (spec_.lower) {
    it_->Seek(*spec_.lower);
    if (it_->Valid() && !spec_.lower_incl && Cmp(it_->key(), *spec_.lower) == 0) it_->Next();
  } else if (spec_.prefix) {
    it_->Seek(*spec_.prefix);
  } else {
    it_->SeekToFirst();
  }
  Settle();
}

void PyIterator::Last() {
  if (spec_.upper && spec_.upper_incl) {
    it_->SeekForPrev(*spec_.upper);
  } else if (spec_.upper) {
    it_->Seek(*spec_.upper);
    if (it_->Valid()) {
      it_->Prev();
    } else {
      it_->SeekToLast();
    }
  } else {
    it_->SeekToLast();
    // Without an engine bound (prefix under a custom comparator), walk back.
    while (spec_.prefix && it_->Valid() && !InRange(it_->key()) &&
           Cmp(it_->key(), *spec_.prefix) > 0) {
      it_->Prev();
    }
  }
  Settle();
}

void PyIterator::SeekBounded(std::string_view t) {
  if (BelowRange(t)) {
    First();
    return;
  }
  it_->Seek(t);
  Settle();
}

void PyIterator::StepForward() {
  it_->Next();
  Settle();
}

void PyIterator::StepBackward() {
  it_->Prev();
  Settle();
}

void PyIterator::Capture(std::string* key, std::string* value, bool want_value) const {
  std::string_view k = it_->key();
  if (spec_.include_key) key->assign(k.substr(std::min(spec_.strip, k.size())));
  if (want_value) value->assign(it_->value());
}

py::object PyIterator::MakeItem(const std::string& key, const std::string& value) const {
  if (spec_.include_key && spec_.include_value) {
    return py::make_tuple(MakeBytes(key), MakeBytes(value));
  }
  if (spec_.include_key) return MakeBytes(key);
  if (spec_.include_value) return MakeBytes(value);
  return py::none();
}

py::object PyIterator::Next() {
  CheckNotInComparator();
  std::string key, value;
  if (read_ahead_) {
    // Pop a read-ahead entry with the GIL held (no engine call). The Python
    // objects are made after mu_ is released.
    bool got = false;
    {
      auto lock = LockReleasingGIL(mu_);
      if (it_ && ahead_pos_ < ahead_len_) {
        Ahead& a = ahead_[ahead_pos_++];
        if (spec_.include_key) key.assign(a.key, std::min(spec_.strip, a.key.size()));
        if (spec_.include_value) value.swap(a.value);
        got = true;
      }
    }
    if (got) return MakeItem(key, value);
  }
  // An engine error met while stepping past the returned entry (or reading
  // ahead) is raised by the next call, which finds the iterator invalid.
  bool got = false;
  lsmkv::Status error;
  Locked(
      [&] {
        if (!valid_) {
          if (!it_->Valid()) error = it_->status();
          return;
        }
        Capture(&key, &value, spec_.include_value);
        got = true;
        const auto step = [this] {
          if (spec_.reverse) {
            StepBackward();
          } else {
            StepForward();
          }
        };
        step();
        ++engine_steps_;
        if (!read_ahead_) return;
        // Everything read ahead before was returned (Next pops first), so
        // the buffer refills from its start, reusing its strings' capacity.
        ahead_pos_ = ahead_len_ = 0;
        size_t bytes = 0;
        while (valid_ && ahead_len_ < kReadAhead && bytes < kReadAheadBytes) {
          if (ahead_.size() == ahead_len_) ahead_.emplace_back();
          Ahead& a = ahead_[ahead_len_++];
          a.key.assign(it_->key());
          if (spec_.include_value) a.value.assign(it_->value());
          bytes += a.key.size() + a.value.size();
          step();
        }
      },
      /*check_status=*/false);
  if (!error.ok()) ThrowStatus(error);
  if (!got) throw py::stop_iteration();
  return MakeItem(key, value);
}

py::object PyIterator::Prev() {
  std::string key, value;
  bool got = false;
  Locked([&] {
    if (valid_) {
      if (spec_.reverse) {
        StepForward();
      } else {
        StepBackward();
      }
      if (!valid_) {  // the cursor was at the beginning: stay there
        if (spec_.reverse) {
          Last();
        } else {
          First();
        }
        return;
      }
    } else if (spec_.reverse) {
      First();
    } else {
      Last();
    }
    if (!valid_) return;
    Capture(&key, &value, spec_.include_value);
    got = true;
  });
  if (!got) throw py::stop_iteration();
  return MakeItem(key, value);
}

void PyIterator::SeekToStart() {
  Locked([&] {
    if (spec_.reverse) {
      valid_ = false;
    } else {
      First();
    }
  });
}

void PyIterator::SeekToStop() {
  Locked([&] {
    if (spec_.reverse) {
      Last();
    } else {
      valid_ = false;
    }
  });
}

void PyIterator::Seek(py::object target) {
  BytesArg t;
  ToBytes(target, "target", &t);
  std::string full = std::string(spec_.prefix && spec_.strip ? spec_.prefix->substr(0, spec_.strip)
                                                             : std::string()) +
                     std::string(t.view);
  Locked([&] {
    SeekBounded(full);
    if (spec_.reverse) {
      if (valid_) {
        StepBackward();
      } else {
        Last();
      }
    }
  });
}

void PyIterator::Close() {
  CheckNotInComparator();
  Release();
}

bool PyIterator::RawValid() {
  bool v = false;
  Locked([&] { v = it_->Valid(); });
  return v;
}

void PyIterator::RawSeekToFirst() {
  Locked([&] { it_->SeekToFirst(); });
}

void PyIterator::RawSeekToLast() {
  Locked([&] { it_->SeekToLast(); });
}

void PyIterator::RawSeek(py::object target) {
  BytesArg t;
  ToBytes(target, "target", &t);
  Locked([&] { it_->Seek(t.view); });
}

namespace {
[[noreturn]] void ThrowInvalid() {
  PyErr_SetString(g_exc.iterator_invalid, "iterator is not valid");
  throw py::error_already_set();
}
}  // namespace

template <typename F>
void PyIterator::WhenValid(F&& fn) {
  bool invalid = false;
  Locked([&] {
    if (!it_->Valid()) {
      invalid = true;
      return;
    }
    fn();
  });
  if (invalid) ThrowInvalid();
}

void PyIterator::RawNext() {
  WhenValid([&] { it_->Next(); });
}

void PyIterator::RawPrev() {
  WhenValid([&] { it_->Prev(); });
}

py::bytes PyIterator::RawKey() {
  std::string key;
  WhenValid([&] { key.assign(it_->key()); });
  return MakeBytes(key);
}

py::bytes PyIterator::RawValue() {
  std::string value;
  WhenValid([&] { value.assign(it_->value()); });
  return MakeBytes(value);
}

py::tuple PyIterator::RawItem() {
  std::string key, value;
  WhenValid([&] {
    key.assign(it_->key());
    value.assign(it_->value());
  });
  return py::make_tuple(MakeBytes(key), MakeBytes(value));
}

PyObject* PyIterator::NextSlot() {
  CheckNotInComparator();
  if (read_ahead_) {
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    bool got = false;
    {
      // Bytes objects are not tracked by the garbage collector: making them
      // runs no Python code, so mu_ may be held meanwhile.
      auto lock = LockReleasingGIL(mu_);
      if (it_ && ahead_pos_ < ahead_len_) {
        const Ahead& a = ahead_[ahead_pos_++];
        got = true;
        if (spec_.include_key) {
          const size_t strip = std::min(spec_.strip, a.key.size());
          key = PyBytes_FromStringAndSize(a.key.data() + strip,
                                          static_cast<Py_ssize_t>(a.key.size() - strip));
        }
        if (spec_.include_value) {
          value =
              PyBytes_FromStringAndSize(a.value.data(), static_cast<Py_ssize_t>(a.value.size()));
        }
      }
    }
    if (got) {
      if ((spec_.include_key && key == nullptr) || (spec_.include_value && value == nullptr)) {
        Py_XDECREF(key);
        Py_XDECREF(value);
        return nullptr;  // MemoryError is set
      }
      if (key != nullptr && value != nullptr) {
        PyObject* pair = PyTuple_New(2);
        if (pair == nullptr) {
          Py_DECREF(key);
          Py_DECREF(value);
          return nullptr;
        }
        PyTuple_SET_ITEM(pair, 0, key);  // steals
        PyTuple_SET_ITEM(pair, 1, value);
        return pair;
      }
      if (key != nullptr) return key;
      if (value != nullptr) return value;
      Py_RETURN_NONE;
    }
  }
  return Next().release().ptr();
}

namespace {

// tp_iternext of lsmkv.Iterator: NextSlot with C++ exceptions turned into
// Python ones (StopIteration is the end: nullptr without an exception).
const py::detail::type_info* g_iterator_type = nullptr;

PyObject* IteratorNextSlot(PyObject* self) {
  return CallGuarded([&]() -> PyObject* {
    auto* inst = reinterpret_cast<py::detail::instance*>(self);
    PyIterator* it = inst->get_value_and_holder(g_iterator_type).value_ptr<PyIterator>();
    if (it == nullptr) throw std::runtime_error("lsmkv.Iterator is not initialised");
    try {
      return it->NextSlot();
    } catch (py::stop_iteration&) {
      return nullptr;  // the end: no exception set
    }
  });
}

}  // namespace

void RegisterIterators(py::module_& m) {
  py::class_<PyIterator> iterator_class(
      m, "Iterator",
      "An iterator over a DB, snapshot, prefixed DB or transaction (plyvel's "
      "Iterator): a cursor between entries.");
  iterator_class.def("__iter__", [](py::object self) { return self; })
      .def("__next__", &PyIterator::Next, "The entry after the cursor; moves past it.")
      .def("prev", &PyIterator::Prev, "The entry before the cursor; moves before it.")
      .def("seek_to_start", &PyIterator::SeekToStart,
           "Moves the cursor before the first key of the range (in key order).")
      .def("seek_to_stop", &PyIterator::SeekToStop,
           "Moves the cursor after the last key of the range (in key order).")
      .def("seek", &PyIterator::Seek, py::arg("target"),
           "Moves the cursor before the first key >= target within the range.")
      .def("close", &PyIterator::Close, "Releases the iterator; later use raises RuntimeError.")
      .def_property_readonly(
          "_engine_steps", [](PyIterator& self) { return self.EngineSteps(); },
          "How many times __next__ has called into the engine (for tests: with read-ahead, "
          "about one call per 64 entries).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyIterator& self, py::args) { self.Close(); });
  // next(it) and for-loops call tp_iternext directly: point it at
  // IteratorNextSlot instead of the generic slot that looks __next__ up and
  // goes through pybind11's dispatcher (argument casting, type lookups) for
  // every entry. it.__next__() keeps the pybind11 method; both run the same
  // code.
  g_iterator_type = py::detail::get_type_info(typeid(PyIterator));
  auto* type = reinterpret_cast<PyTypeObject*>(iterator_class.ptr());
  type->tp_iternext = &IteratorNextSlot;
  PyType_Modified(type);

  py::class_<PyRawIterator>(m, "RawIterator",
                            "A thin wrapper of the engine iterator (plyvel's RawIterator).")
      .def("valid", [](PyRawIterator& r) { return r.core->RawValid(); })
      .def("seek_to_first", [](PyRawIterator& r) { r.core->RawSeekToFirst(); })
      .def("seek_to_last", [](PyRawIterator& r) { r.core->RawSeekToLast(); })
      .def(
          "seek", [](PyRawIterator& r, py::object t) { r.core->RawSeek(std::move(t)); },
          py::arg("target"), "Positions at the first key >= target.")
      .def(
          "next", [](PyRawIterator& r) { r.core->RawNext(); },
          "Moves to the next entry; IteratorInvalidError if not valid().")
      .def(
          "prev", [](PyRawIterator& r) { r.core->RawPrev(); },
          "Moves to the previous entry; IteratorInvalidError if not valid().")
      .def("key", [](PyRawIterator& r) { return r.core->RawKey(); })
      .def("value", [](PyRawIterator& r) { return r.core->RawValue(); })
      .def("item", [](PyRawIterator& r) { return r.core->RawItem(); })
      .def("close", [](PyRawIterator& r) { r.core->Close(); })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyRawIterator& r, py::args) { r.core->Close(); });
}

}  // namespace lsmkv_py
