// The comparator interface is public (lsmkv/comparator.h); this header keeps
// the internal include path.
#ifndef LSMKV_UTIL_COMPARATOR_H_
#define LSMKV_UTIL_COMPARATOR_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "lsmkv/comparator.h"

namespace lsmkv {

// memcmp(a, b, n)'s sign (-1, 0 or +1), without the call: eight bytes at a
// time, read as big-endian words so that the first differing byte decides,
// then byte by byte. Keys are short (most compare in two or three words),
// and the skiplist's searches and the iterators' key checks spend much of
// their time in these comparisons.
inline int CompareBytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) {
      if constexpr (std::endian::native == std::endian::little) {
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
      }
      return x < y ? -1 : +1;
    }
  }
  for (; n > 0; a++, b++, n--) {
    if (*a != *b) return static_cast<uint8_t>(*a) < static_cast<uint8_t>(*b) ? -1 : +1;
  }
  return 0;
}

// The bytewise order of a and b (std::string_view::compare's sign).
inline int CompareBytes(std::string_view a, std::string_view b) {
  const int r = CompareBytes(a.data(), b.data(), a.size() < b.size() ? a.size() : b.size());
  if (r != 0) return r;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? +1 : 0);
}

// Strict weak order of a Comparator for ordered containers, transparent (a
// std::string container is searched with string_views). The bytewise
// comparator is compared inline.
struct ComparatorLess {
  using is_transparent = void;
  explicit ComparatorLess(const Comparator* c = BytewiseComparator())
      : cmp(c), bytewise(c == BytewiseComparator()) {}
  bool operator()(std::string_view a, std::string_view b) const {
    return bytewise ? a < b : cmp->Compare(a, b) < 0;
  }
  const Comparator* cmp;
  bool bytewise;
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_COMPARATOR_H_
