// Whole-table bloom filters (docs/format/table.md, "filter"), in two layouts.
//
// Line (BloomLayout::kLines, what tables are written with):
//
//   filter := lines[L * 64] k
//
// L >= 1 lines of 64 bytes (512 bits, one cache line); k (1..30, one byte)
// probes. A key is hashed once with TableHash64 into h; its line is
// ((h >> 32) * L) >> 32, and its k bits all lie in that line: with
// g = low 32 bits of h, probe i tests bit (g >> 23) of the line and then
// sets g = g * 0x9e3779b9 (mod 2^32). A lookup thus touches one cache line
// and divides nothing, where the classic layout touches k lines scattered
// over the whole filter and takes k remainders; the price is a slightly
// higher false positive rate for the same bits (lines fill unevenly).
// The builder chooses L = max(1, ceil(n * bits_per_key / 512)) and k as
// below.
//
// Classic (BloomLayout::kClassic, written before the line layout and for
// format_version 1; still read):
//
//   filter := bits[m/8] k
//
// m is a multiple of 8 and at least 64; probe i tests bit
// (h + i * delta) mod m where delta = rotl(h, 21) | 1 (double hashing).
// The builder chooses m = max(64, n * bits_per_key) rounded up to a byte.
//
// Both: k = round(bits_per_key * ln 2) clamped to [1, 30].
//
// Thread safety: BloomFilterBuilder is not thread safe; BloomFilterReader is
// immutable and thread safe.
#ifndef LSMKV_TABLE_BLOOM_H_
#define LSMKV_TABLE_BLOOM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lsmkv/status.h"

namespace lsmkv {

enum class BloomLayout : uint8_t {
  kClassic,  // bits over the whole filter (meta-index name filter.lsmkv.bloom)
  kLines,    // every key's bits in one 64-byte line (filter.lsmkv.bloom-lines)
};

class BloomFilterBuilder {
 public:
  // bits_per_key < 1 is treated as 1.
  explicit BloomFilterBuilder(int bits_per_key, BloomLayout layout = BloomLayout::kLines);

  // Adds a key. Consecutive duplicates are counted once.
  void AddKey(std::string_view key);
  size_t num_keys() const { return hashes_.size(); }

  // The filter over every key added, in the builder's layout; the builder
  // is then empty again.
  std::string Finish();
  BloomLayout layout() const { return layout_; }

  // The probe count for bits_per_key.
  static int ProbesFor(int bits_per_key);

 private:
  std::string FinishClassic(int k) const;
  std::string FinishLines(int k) const;

  const int bits_per_key_;
  const BloomLayout layout_;
  std::vector<uint64_t> hashes_;
  std::string last_key_;
};

class BloomFilterReader {
 public:
  // An empty reader: KeyMayMatch is always true (no filter).
  BloomFilterReader() = default;

  // Validates a filter BloomFilterBuilder built in layout and keeps a copy
  // of it (a line filter's lines start on a 64-byte boundary in memory, so
  // that each is one cache line). Corruption (without a file name) if it is
  // malformed.
  static Status Parse(std::string_view filter, BloomLayout layout, BloomFilterReader* out);

  // False only if key was certainly not added.
  bool KeyMayMatch(std::string_view key) const;
  bool empty() const { return size_ == 0; }
  BloomLayout layout() const { return layout_; }
  int num_probes() const { return probes_; }
  // The filter's size in bytes, its probe count included.
  size_t size() const { return size_; }

 private:
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t[], AlignedFree> bits_;  // the filter without its last byte
  size_t size_ = 0;                               // 0: no filter
  uint64_t num_bits_ = 0;                         // classic: m
  uint64_t num_lines_ = 0;                        // lines: L
  BloomLayout layout_ = BloomLayout::kLines;
  int probes_ = 0;
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_BLOOM_H_
