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

namespace lsmkv {

// Copies n bytes from src to dst (which must not overlap), 16 bytes at a
// time and then byte by byte, each store after the previous one: if the copy
// stops at any instruction (a fault, a signal that kills the thread), the
// bytes stored form a prefix of dst[0, n). The empty asm statements keep the
// compiler from turning the loops back into a memcpy call or reordering
// their stores.
inline void CopyForward(char* dst, const char* src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __builtin_memcpy(dst + i, src + i, 16);
    asm volatile("" : : "r"(dst + i) : "memory");
  }
  for (; i < n; i++) {
    dst[i] = src[i];
    asm volatile("" : : "r"(dst + i) : "memory");
  }
}

}  // namespace lsmkv

#endif  // LSMKV_UTIL_COPY_FORWARD_H_
