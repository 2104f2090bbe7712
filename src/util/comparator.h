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

namespace compare_internal {

// The order of the big-endian words at a and b (n bytes each, n 4 or 8):
// -1, 0 or +1 as memcmp's sign over those bytes.
template <typename Word>
inline int CompareWordsAt(const char* a, const char* b) {
  Word x, y;
  std::memcpy(&x, a, sizeof(Word));
  std::memcpy(&y, b, sizeof(Word));
  if (x == y) return 0;
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof(Word) == 8) {
      x = __builtin_bswap64(x);
      y = __builtin_bswap64(y);
    } else {
      x = __builtin_bswap32(x);
      y = __builtin_bswap32(y);
    }
  }
  return x < y ? -1 : +1;
}

}  // namespace compare_internal

// memcmp(a, b, n)'s sign (-1, 0 or +1), without the call: eight bytes at a
// time, read as big-endian words so that the first differing byte decides.
// The last word is the one ending at byte n, overlapping the word before it
// when n is not a multiple of eight: its bytes before the overlap are known
// equal, so the first differing byte still decides (a 30-byte key is four
// loads instead of three and a six-byte loop). Keys shorter than a word
// compare as two overlapping four-byte words, or byte by byte under four.
// Keys are short (most compare in two to four words), and the skiplist's
// searches and the iterators' key checks spend much of their time here.
inline int CompareBytes(const char* a, const char* b, size_t n) {
  using compare_internal::CompareWordsAt;
  if (n >= 8) {
    const size_t last = n - 8;
    for (size_t i = 0; i < last; i += 8) {
      const int r = CompareWordsAt<uint64_t>(a + i, b + i);
      if (r != 0) return r;
    }
    return CompareWordsAt<uint64_t>(a + last, b + last);
  }
  if (n >= 4) {
    const int r = CompareWordsAt<uint32_t>(a, b);
    if (r != 0) return r;
    return CompareWordsAt<uint32_t>(a + n - 4, b + n - 4);
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
