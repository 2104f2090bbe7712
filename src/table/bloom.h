// A whole-table bloom filter (docs/format/table.md, "filter").
//
//   filter := bits[m/8] k
//
// m is a multiple of 8 and at least 64; k (1..30, one byte) is the number of
// probes. A key is hashed once with TableHash64; probe i tests bit
// (h + i * delta) mod m where delta = rotl(h, 21) | 1 (double hashing).
// The builder chooses m = max(64, n * bits_per_key) rounded up to a byte and
// k = round(bits_per_key * ln 2) clamped to [1, 30].
//
// Thread safety: BloomFilterBuilder is not thread safe; BloomFilterReader is
// immutable and thread safe.
#ifndef LSMKV_TABLE_BLOOM_H_
#define LSMKV_TABLE_BLOOM_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/status.h"

namespace lsmkv {

class BloomFilterBuilder {
 public:
  // bits_per_key < 1 is treated as 1.
  explicit BloomFilterBuilder(int bits_per_key);

  // Adds a key. Consecutive duplicates are counted once.
  void AddKey(std::string_view key);
  size_t num_keys() const { return hashes_.size(); }

  // The filter over every key added; the builder is then empty again.
  std::string Finish();

  // The probe count for bits_per_key.
  static int ProbesFor(int bits_per_key);

 private:
  const int bits_per_key_;
  std::vector<uint64_t> hashes_;
  std::string last_key_;
};

class BloomFilterReader {
 public:
  // An empty reader: KeyMayMatch is always true (no filter).
  BloomFilterReader() = default;

  // Validates a filter built by BloomFilterBuilder and takes it over.
  // Corruption (without a file name) if it is malformed.
  static Status Parse(std::string filter, BloomFilterReader* out);

  // False only if key was certainly not added.
  bool KeyMayMatch(std::string_view key) const;
  bool empty() const { return filter_.empty(); }
  int num_probes() const { return probes_; }
  size_t size() const { return filter_.size(); }

 private:
  std::string filter_;
  uint64_t num_bits_ = 0;
  int probes_ = 0;
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_BLOOM_H_
