#include "table/bloom.h"

#include <bit>
#include <cmath>

#include "table/table_hash.h"
#include "util/check.h"

namespace lsmkv {

namespace {

constexpr int kMaxProbes = 30;
constexpr uint64_t kMinBits = 64;

inline uint64_t ProbeDelta(uint64_t h) { return std::rotl(h, 21) | 1; }

}  // namespace

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key)
    : bits_per_key_(bits_per_key < 1 ? 1 : bits_per_key) {}

int BloomFilterBuilder::ProbesFor(int bits_per_key) {
  const long k = std::lround(static_cast<double>(bits_per_key) * 0.69314718055994530942);
  if (k < 1) return 1;
  if (k > kMaxProbes) return kMaxProbes;
  return static_cast<int>(k);
}

void BloomFilterBuilder::AddKey(std::string_view key) {
  if (!hashes_.empty() && key == last_key_) return;
  last_key_.assign(key.data(), key.size());
  hashes_.push_back(TableHash64(key));
}

std::string BloomFilterBuilder::Finish() {
  uint64_t bits = static_cast<uint64_t>(hashes_.size()) * static_cast<uint64_t>(bits_per_key_);
  if (bits < kMinBits) bits = kMinBits;
  const uint64_t bytes = (bits + 7) / 8;
  bits = bytes * 8;
  const int k = ProbesFor(bits_per_key_);

  std::string filter(static_cast<size_t>(bytes), '\0');
  for (uint64_t h : hashes_) {
    const uint64_t delta = ProbeDelta(h);
    for (int i = 0; i < k; i++) {
      const uint64_t bit = h % bits;
      filter[static_cast<size_t>(bit / 8)] |= static_cast<char>(1u << (bit % 8));
      h += delta;
    }
  }
  filter.push_back(static_cast<char>(k));
  // What Parse accepts: at least kMinBits of bits and a probe count in range.
  DCHECK_GE(filter.size(), kMinBits / 8 + 1);
  DCHECK(k >= 1 && k <= kMaxProbes);
  hashes_.clear();
  last_key_.clear();
  return filter;
}

Status BloomFilterReader::Parse(std::string filter, BloomFilterReader* out) {
  if (filter.size() < kMinBits / 8 + 1) {
    return Status::Corruption("bloom filter too short: " + std::to_string(filter.size()));
  }
  const int k = static_cast<unsigned char>(filter.back());
  if (k < 1 || k > kMaxProbes) {
    return Status::Corruption("bad bloom filter probe count " + std::to_string(k));
  }
  out->num_bits_ = static_cast<uint64_t>(filter.size() - 1) * 8;
  out->probes_ = k;
  out->filter_ = std::move(filter);
  return Status::OK();
}

bool BloomFilterReader::KeyMayMatch(std::string_view key) const {
  if (filter_.empty()) return true;
  DCHECK_GT(num_bits_, 0u);  // set by Parse with the filter
  DCHECK_EQ(num_bits_, static_cast<uint64_t>(filter_.size() - 1) * 8);
  uint64_t h = TableHash64(key);
  const uint64_t delta = ProbeDelta(h);
  for (int i = 0; i < probes_; i++) {
    const uint64_t bit = h % num_bits_;
    if ((static_cast<unsigned char>(filter_[static_cast<size_t>(bit / 8)]) & (1u << (bit % 8))) ==
        0) {
      return false;
    }
    h += delta;
  }
  return true;
}

}  // namespace lsmkv
