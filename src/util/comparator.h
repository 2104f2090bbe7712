// The comparator interface is public (lsmkv/comparator.h); this header keeps
// the internal include path.
#ifndef LSMKV_UTIL_COMPARATOR_H_
#define LSMKV_UTIL_COMPARATOR_H_

#include <string_view>

#include "lsmkv/comparator.h"

namespace lsmkv {

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
