// Opening a database from Python: plyvel's keyword options, the path
// argument, and the DBState that results.
#ifndef LSMKV_BINDINGS_PYTHON_PY_OPTIONS_H_
#define LSMKV_BINDINGS_PYTHON_PY_OPTIONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "lsmkv/options.h"
#include "py_common.h"

namespace lsmkv_py {

// plyvel's DB() options (None = the engine's default, but write_buffer_size:
// kDefaultWriteBufferSize below), and lsmkv's
// wal_recovery_mode ("point_in_time" by default so that transactions can
// begin; the engine's own default, "skip_any_corrupted", refuses them).
struct OptionArgs {
  bool create_if_missing = false;
  bool error_if_exists = false;
  py::object paranoid_checks = py::none();
  std::optional<size_t> write_buffer_size;
  std::optional<int> max_open_files;
  std::optional<size_t> lru_cache_size;
  std::optional<size_t> block_size;
  std::optional<int> block_restart_interval;
  std::optional<uint64_t> max_file_size;
  py::object compression = py::none();
  std::optional<int> bloom_filter_bits;
  py::object comparator = py::none();
  py::object comparator_name = py::none();
  std::string wal_recovery_mode = "point_in_time";
  // lsmkv's storage engine: "lsm", "btree" or "bitcask" (Options::engine).
  std::string engine = "lsm";
};

// Options::max_key_size of databases opened from Python (the engine's
// default is 64 KiB; LevelDB has no limit).
inline constexpr size_t kMaxKeySize = 8u << 20;
// The write buffer when none is given: LevelDB's (and so plyvel's) 4 MiB, not
// the engine's 64 MiB, so that a plyvel program keeps its memory footprint
// (the engine may hold up to max_write_buffer_number memtables of this size).
inline constexpr size_t kDefaultWriteBufferSize = 4u << 20;

struct OpenArgs {
  lsmkv::Options options;
  std::shared_ptr<PyComparator> comparator;  // nullptr: bytewise
};

// TypeError / ValueError for bad options, as plyvel.
OpenArgs ParseOptions(const OptionArgs& a);
// str, bytes or os.PathLike -> the file system path; TypeError otherwise.
std::string PathArg(py::handle name);
// Opens the database (GIL released); raises the engine's error.
std::shared_ptr<DBState> OpenState(const std::string& path, OpenArgs args);

void RegisterTransaction(py::module_& m);
// DB.transaction(): a new lsmkv.Transaction on state (owner: the DB object).
py::object NewTransaction(py::object owner, std::shared_ptr<DBState> state,
                          const std::string& isolation, bool sync);

}  // namespace lsmkv_py

#endif  // LSMKV_BINDINGS_PYTHON_PY_OPTIONS_H_
