// TableHash64: the 64-bit hash behind the table bloom filter and the cache's
// shard choice: util/hash.h's Hash64, under the name the table code uses.
// Persisted through the filter bits: never change its output for a given
// (bytes, seed) — doing so needs a new table format version.
//
// Thread safety: a pure function.
#ifndef LSMKV_TABLE_TABLE_HASH_H_
#define LSMKV_TABLE_TABLE_HASH_H_

#include <cstdint>
#include <string_view>

#include "util/hash.h"

namespace lsmkv {

inline uint64_t TableHash64(std::string_view data, uint64_t seed = 0) { return Hash64(data, seed); }

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_HASH_H_
