#include "table/bloom.h"

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "table/table_hash.h"
#include "util/check.h"

namespace lsmkv {

namespace {

constexpr int kMaxProbes = 30;
constexpr uint64_t kMinBits = 64;  // classic
constexpr size_t kLineBytes = 64;  // lines: one cache line
constexpr uint64_t kLineBits = kLineBytes * 8;
constexpr uint64_t kMaxLines = UINT32_MAX;  // L fits 32 bits: (h >> 32) * L is 32 x 32 bits

inline uint64_t ProbeDelta(uint64_t h) { return std::rotl(h, 21) | 1; }

// Lines: the line of a key with hash h, and the bit of probe i from g.
inline uint64_t LineOf(uint64_t h, uint64_t num_lines) { return ((h >> 32) * num_lines) >> 32; }
inline uint32_t NextProbe(uint32_t g) { return g * 0x9e3779b9u; }

}  // namespace

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key, BloomLayout layout)
    : bits_per_key_(bits_per_key < 1 ? 1 : bits_per_key), layout_(layout) {}

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
  const int k = ProbesFor(bits_per_key_);
  DCHECK(k >= 1 && k <= kMaxProbes);
  std::string filter = layout_ == BloomLayout::kLines ? FinishLines(k) : FinishClassic(k);
  filter.push_back(static_cast<char>(k));
  hashes_.clear();
  last_key_.clear();
  return filter;
}

std::string BloomFilterBuilder::FinishClassic(int k) const {
  uint64_t bits = static_cast<uint64_t>(hashes_.size()) * static_cast<uint64_t>(bits_per_key_);
  if (bits < kMinBits) bits = kMinBits;
  const uint64_t bytes = (bits + 7) / 8;
  bits = bytes * 8;
  std::string filter(static_cast<size_t>(bytes), '\0');
  for (uint64_t h : hashes_) {
    const uint64_t delta = ProbeDelta(h);
    for (int i = 0; i < k; i++) {
      const uint64_t bit = h % bits;
      filter[static_cast<size_t>(bit / 8)] |= static_cast<char>(1u << (bit % 8));
      h += delta;
    }
  }
  // What Parse accepts: at least kMinBits of bits.
  DCHECK_GE(filter.size(), kMinBits / 8);
  return filter;
}

std::string BloomFilterBuilder::FinishLines(int k) const {
  const uint64_t bits =
      static_cast<uint64_t>(hashes_.size()) * static_cast<uint64_t>(bits_per_key_);
  uint64_t lines = (bits + kLineBits - 1) / kLineBits;
  if (lines < 1) lines = 1;
  // A table of 2^32 lines would hold a 256 GiB filter: no table gets near.
  CHECK_LE(lines, kMaxLines);
  std::string filter(static_cast<size_t>(lines * kLineBytes), '\0');
  for (uint64_t h : hashes_) {
    char* line = filter.data() + LineOf(h, lines) * kLineBytes;
    uint32_t g = static_cast<uint32_t>(h);
    for (int i = 0; i < k; i++) {
      const uint32_t bit = g >> 23;  // 0..511
      line[bit / 8] = static_cast<char>(line[bit / 8] | (1u << (bit % 8)));
      g = NextProbe(g);
    }
  }
  return filter;
}

void BloomFilterReader::AlignedFree::operator()(uint8_t* p) const {
  ::operator delete[](p, std::align_val_t(kLineBytes));
}

Status BloomFilterReader::Parse(std::string_view filter, BloomLayout layout,
                                BloomFilterReader* out) {
  if (filter.empty()) return Status::Corruption("bloom filter is empty");
  const int k = static_cast<unsigned char>(filter.back());
  if (k < 1 || k > kMaxProbes) {
    return Status::Corruption("bad bloom filter probe count " + std::to_string(k));
  }
  const size_t bytes = filter.size() - 1;
  if (layout == BloomLayout::kClassic) {
    if (bytes < kMinBits / 8) {
      return Status::Corruption("bloom filter too short: " + std::to_string(filter.size()));
    }
  } else if (bytes == 0 || bytes % kLineBytes != 0 || bytes / kLineBytes > kMaxLines) {
    return Status::Corruption("bloom filter of lines has " + std::to_string(bytes) +
                              " bytes of bits, not a positive multiple of 64");
  }
  // Whole lines of storage, aligned to a line, whatever the layout.
  const size_t storage = (bytes + kLineBytes - 1) / kLineBytes * kLineBytes;
  std::unique_ptr<uint8_t[], AlignedFree> bits(
      static_cast<uint8_t*>(::operator new[](storage, std::align_val_t(kLineBytes))));
  std::memcpy(bits.get(), filter.data(), bytes);
  std::memset(bits.get() + bytes, 0, storage - bytes);
  out->bits_ = std::move(bits);
  out->size_ = filter.size();
  out->layout_ = layout;
  out->num_bits_ = static_cast<uint64_t>(bytes) * 8;
  out->num_lines_ = bytes / kLineBytes;
  out->probes_ = k;
  return Status::OK();
}

bool BloomFilterReader::KeyMayMatch(std::string_view key) const {
  if (size_ == 0) return true;
  DCHECK(bits_ != nullptr);
  const uint64_t h = TableHash64(key);
  if (layout_ == BloomLayout::kLines) {
    DCHECK_GT(num_lines_, 0u);  // set by Parse with the filter
    const uint8_t* line = bits_.get() + LineOf(h, num_lines_) * kLineBytes;
    uint32_t g = static_cast<uint32_t>(h);
    for (int i = 0; i < probes_; i++) {
      const uint32_t bit = g >> 23;
      if ((line[bit / 8] & (1u << (bit % 8))) == 0) return false;
      g = NextProbe(g);
    }
    return true;
  }
  DCHECK_GT(num_bits_, 0u);  // set by Parse with the filter
  uint64_t probe = h;
  const uint64_t delta = ProbeDelta(h);
  for (int i = 0; i < probes_; i++) {
    const uint64_t bit = probe % num_bits_;
    if ((bits_[static_cast<size_t>(bit / 8)] & (1u << (bit % 8))) == 0) return false;
    probe += delta;
  }
  return true;
}

}  // namespace lsmkv
