// CopyForward: a memcpy whose stores happen strictly in address order.
//
// memcpy promises nothing about the order of its stores, and glibc's x86-64
// versions store the first 32 or 64 bytes of a long copy last. That matters
// where a copy goes straight into a file's pages (a WAL written through a
// shared mapping, src/env/posix_env.cc): a process killed in the middle of
// the copy keeps whatever it stored, and a record whose header was not yet
// stored in front of payload that was reads as corruption at recovery, not
// as the torn tail a cut write(2) leaves.
#ifndef LSMKV_UTIL_COPY_FORWARD_H_
#define LSMKV_UTIL_COPY_FORWARD_H_

#include <cstddef>
#include <initializer_list>

namespace lsmkv {

// Copies n bytes from src to dst (which must not overlap), 16 bytes at a
// time, each store after the previous one: if the copy stops at any
// instruction (a fault, a signal that kills the thread), the bytes stored
// form a prefix of dst[0, n). The last 16 bytes of a copy of 16 or more are
// one store that may overlap the previous one (it rewrites bytes already
// stored with the same values, so the prefix property holds); a shorter copy
// stores 8, 4, 2 and 1 bytes as its length needs. The empty asm statements
// keep the compiler from turning the stores back into a memcpy call or
// reordering them.
inline void CopyForward(char* dst, const char* src, size_t n) {
  if (n >= 16) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      __builtin_memcpy(dst + i, src + i, 16);
      asm volatile("" : : "r"(dst + i) : "memory");
    }
    if (i < n) {
      __builtin_memcpy(dst + n - 16, src + n - 16, 16);
      asm volatile("" : : "r"(dst + n - 16) : "memory");
    }
    return;
  }
  size_t i = 0;
  for (size_t step : {size_t{8}, size_t{4}, size_t{2}, size_t{1}}) {
    if ((n & step) != 0) {
      __builtin_memcpy(dst + i, src + i, step);
      asm volatile("" : : "r"(dst + i) : "memory");
      i += step;
    }
  }
}

}  // namespace lsmkv

#endif  // LSMKV_UTIL_COPY_FORWARD_H_
