// Random: a small, fast, seeded pseudo-random generator for tests, benchmarks
// and randomized internal choices (e.g. skiplist heights). Not for anything
// that needs unpredictability: the sequence is a pure function of the seed.
//
// The generator is SplitMix64 (a Weyl sequence passed through a 64-bit
// finalizer); every 64-bit seed, including 0, gives a full-period stream.
//
// Thread safety: not thread safe; give each thread its own Random.
#ifndef LSMKV_UTIL_RANDOM_H_
#define LSMKV_UTIL_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/check.h"

namespace lsmkv {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  // 64 uniformly distributed bits.
  uint64_t Next64() {
    state_ += kWeylIncrement;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // 32 uniformly distributed bits.
  uint32_t Next() { return static_cast<uint32_t>(Next64() >> 32); }

  // Uniform in [0, n), without modulo bias.
  // REQUIRES: n > 0.
  uint32_t Uniform(uint32_t n) {
    DCHECK(n > 0);
    // Multiply-shift reduction; reject the few low products that would make
    // some outcomes one draw more likely than others.
    uint64_t product = static_cast<uint64_t>(Next()) * n;
    auto low = static_cast<uint32_t>(product);
    if (low < n) {
      const uint32_t threshold = static_cast<uint32_t>(-n) % n;  // 2^32 mod n
      while (low < threshold) {
        product = static_cast<uint64_t>(Next()) * n;
        low = static_cast<uint32_t>(product);
      }
    }
    return static_cast<uint32_t>(product >> 32);
  }

  // True with probability 1/n.
  // REQUIRES: n > 0.
  bool OneIn(uint32_t n) { return Uniform(n) == 0; }

  // Picks base uniformly from [0, max_log], then returns a value uniform in
  // [0, 2^base): small values are much more likely than large ones.
  // REQUIRES: 0 <= max_log <= 32.
  uint32_t Skewed(int max_log) {
    DCHECK(max_log >= 0 && max_log <= 32);
    const uint32_t base = Uniform(static_cast<uint32_t>(max_log) + 1);
    if (base == 0) return 0;
    const uint32_t mask = base >= 32 ? 0xffffffffu : (uint32_t{1} << base) - 1;
    return Next() & mask;
  }

  // len arbitrary bytes (every value 0x00..0xff can occur).
  std::string RandomBytes(size_t len) {
    std::string result(len, '\0');
    size_t i = 0;
    while (i < len) {
      uint64_t bits = Next64();
      for (int b = 0; b < 8 && i < len; b++, i++) {
        result[i] = static_cast<char>(bits & 0xff);
        bits >>= 8;
      }
    }
    return result;
  }

  // len printable, non-space ASCII characters ('!' .. '~').
  std::string RandomKey(size_t len) {
    constexpr uint32_t kFirst = '!';
    constexpr uint32_t kCount = '~' - '!' + 1;
    std::string result(len, '\0');
    for (size_t i = 0; i < len; i++) result[i] = static_cast<char>(kFirst + Uniform(kCount));
    return result;
  }

 private:
  static constexpr uint64_t kWeylIncrement = 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio

  uint64_t state_;
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_RANDOM_H_
