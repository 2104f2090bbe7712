// ScanCursors: maps the numeric cursors SCAN hands out to the key it stopped
// after. Redis cursors are numbers, lsmkv's position is a key, so the server
// remembers positions: a bounded table (oldest cursors are forgotten first);
// SCAN with a forgotten cursor gets "ERR invalid cursor". Cursors do not
// survive a restart.
//
// Thread safety: thread-safe.
#ifndef LSMKV_SERVER_SCAN_CURSORS_H_
#define LSMKV_SERVER_SCAN_CURSORS_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

class ScanCursors {
 public:
  // Keeps at most max_cursors cursors and max_bytes of keys.
  explicit ScanCursors(size_t max_cursors = 65536, size_t max_bytes = 64 << 20);

  // Remembers position and returns a new non-zero cursor for it.
  uint64_t Save(std::string_view position) EXCLUDES(mu_);
  // The position of cursor; false if unknown (never issued or forgotten).
  bool Find(uint64_t cursor, std::string* position) const EXCLUDES(mu_);

 private:
  const size_t max_cursors_;
  const size_t max_bytes_;
  mutable Mutex mu_;
  uint64_t next_ GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, std::string> positions_ GUARDED_BY(mu_);
  std::deque<uint64_t> order_ GUARDED_BY(mu_);  // oldest first
  size_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_SCAN_CURSORS_H_
