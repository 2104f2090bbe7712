// Hash64 and Mix64: the 64-bit hash behind the table bloom filter, the block
// cache's shard choice (as TableHash64, table/table_hash.h) and the memtable
// key filter. Persisted through the table filter bits: never change Hash64's
// output for a given (bytes, seed) — doing so needs a new table format
// version.
//
// Design: the state starts from the seed, a constant and the length; the input is consumed in
// little-endian 8-byte words; each word is scrambled (multiply, rotate, multiply) and folded into
// the state, which is rotated and stepped after every word; the tail (0..7 bytes) is one last,
// zero-extended word; Mix64, a 64-bit avalanche finalizer, ends it.
//
// Thread safety: pure functions.
#ifndef LSMKV_UTIL_HASH_H_
#define LSMKV_UTIL_HASH_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace lsmkv {

// Avalanche: every input bit affects every output bit. Also a cheap way to
// derive a further independent-looking 64-bit value from a hash.
inline uint64_t Mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

inline uint64_t Hash64(std::string_view data, uint64_t seed = 0) {
  constexpr uint64_t kMul1 = 0x87c37b91114253d5ull;
  constexpr uint64_t kMul2 = 0x4cf5ad432745937full;
  constexpr uint64_t kStep = 0x52dce729ull;
  auto scramble = [](uint64_t w) { return std::rotl(w * kMul1, 31) * kMul2; };
  // A whole word in one load (the byte loop below is not merged into one by
  // the compiler: a 25-byte key took about 230 instructions, not 60).
  auto load8 = [](const unsigned char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
  };
  auto load = [](const unsigned char* p, size_t n) {
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= static_cast<uint64_t>(p[i]) << (8 * i);
    return w;
  };

  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  constexpr uint64_t kInit = 0x9e3779b97f4a7c15ull;
  uint64_t h = seed ^ kInit ^ (static_cast<uint64_t>(n) * kMul2);
  while (n >= 8) {
    h ^= scramble(load8(p));
    h = std::rotl(h, 27) * 5 + kStep;
    p += 8;
    n -= 8;
  }
  if (n > 0) h ^= scramble(load(p, n));
  h ^= static_cast<uint64_t>(data.size());
  return Mix64(h);
}

}  // namespace lsmkv

#endif  // LSMKV_UTIL_HASH_H_
