// Prefetching ahead of sequential writes.
#ifndef LSMKV_UTIL_PREFETCH_H_
#define LSMKV_UTIL_PREFETCH_H_

#include <cstddef>
#include <cstdint>

namespace lsmkv {

inline constexpr uintptr_t kCacheLineBytes = 64;

// Calls fn(address) for every cache line that starts in
// [from + distance, to + distance), lowest first. A writer that advances its
// cursor through memory, from `from` to `to` at each step, is thus given
// each line `distance` bytes ahead of it exactly once.
// REQUIRES: from <= to.
template <typename Fn>
inline void ForEachLineAhead(const char* from, const char* to, size_t distance, Fn&& fn) {
  uintptr_t line =
      (reinterpret_cast<uintptr_t>(from) + distance + kCacheLineBytes - 1) & ~(kCacheLineBytes - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(to) + distance;
  for (; line < end; line += kCacheLineBytes) fn(reinterpret_cast<const char*>(line));
}

// For a writer that fills memory front to back (an arena, a log's mapped
// window) and has just advanced its cursor from `from` to `to`: asks for the
// lines it will write `distance` bytes later (ForEachLineAhead), for
// writing, so that their read-for-ownership has ended when the writes get
// there. A store to a line still loading holds every later store in the
// store buffer, and the writer's next locked instruction (a mutex) waits
// for all of them. A prefetch never faults: lines past the end of a mapping
// cost nothing.
// REQUIRES: from <= to.
inline void PrefetchAheadOfWrites(const char* from, const char* to, size_t distance) {
  ForEachLineAhead(from, to, distance,
                   [](const char* line) { __builtin_prefetch(line, /*rw=*/1, /*locality=*/3); });
}

}  // namespace lsmkv

#endif  // LSMKV_UTIL_PREFETCH_H_
