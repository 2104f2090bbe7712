// Helpers shared by the operator tools (verify, repair, dump, checkpoint):
// rendering of arbitrary bytes, the files of a database directory, the line
// for a damaged WAL region and throttled progress reports (copying a file is
// env/env_util.h).
//
// Thread safety: the free functions are thread safe; Progress is not.
#ifndef LSMKV_ADMIN_TOOL_UTIL_H_
#define LSMKV_ADMIN_TOOL_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/filename.h"
#include "lsmkv/env.h"
#include "lsmkv/status.h"
#include "lsmkv/tools.h"
#include "wal/batch_reader.h"

namespace lsmkv::tools {

// Printable ASCII as is, backslash as "\\", every other byte as \xNN. The
// result never contains a tab, newline or other control character.
std::string EscapeAll(std::string_view bytes);
// Two lowercase hex digits per byte.
std::string HexString(std::string_view bytes);
// EscapeAll or HexString.
inline std::string Render(std::string_view bytes, bool hex) {
  return hex ? HexString(bytes) : EscapeAll(bytes);
}

// The numbered files of a database directory, by type (number -> name).
struct DbFiles {
  std::map<uint64_t, std::string> tables, logs, manifests, temps;
  bool has_current = false;
  bool has_lock = false;
};
// Lists dbname. The Env's error if the directory cannot be listed.
Status ListDbFiles(Env* env, const std::string& dbname, DbFiles* files);

// OK unless dbname's ENGINE file names another engine than the LSM (verify
// and repair read LSM files only): then InvalidArgument naming the engine;
// the ENGINE file's own error if it is damaged. A directory without one is
// taken for an LSM database (or none).
Status RequireLsmDirectory(Env* env, const std::string& dbname);

// The size of fname, or 0 if it cannot be read.
uint64_t FileSizeOrZero(Env* env, const std::string& fname);

// How verify, repair and dump describe a kDropped event: its reason, then
// "(<bytes> bytes dropped at offset <offset>)".
std::string DescribeWalDrop(const log::WalEvent& dropped);

// "12.3 KiB", "4.0 MiB".
std::string HumanBytes(uint64_t bytes);

// Forwards progress to a ProgressFunction at most every 64 KiB of work, and
// always at Finish.
class Progress {
 public:
  Progress(const ProgressFunction& fn, uint64_t total) : fn_(fn), total_(total) {}
  void Add(uint64_t bytes) {
    done_ += bytes;
    if (fn_ && done_ - reported_ >= (64u << 10)) {
      reported_ = done_;
      fn_(done_, total_);
    }
  }
  void Finish() {
    if (fn_) fn_(total_ > done_ ? total_ : done_, total_ > done_ ? total_ : done_);
  }

 private:
  const ProgressFunction& fn_;
  const uint64_t total_;
  uint64_t done_ = 0;
  uint64_t reported_ = 0;
};

}  // namespace lsmkv::tools

#endif  // LSMKV_ADMIN_TOOL_UTIL_H_
