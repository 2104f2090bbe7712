// Comparator: a total order over keys, and the helpers tables use to shorten
// index keys. Implementations must be thread safe.
#ifndef LSMKV_UTIL_COMPARATOR_H_
#define LSMKV_UTIL_COMPARATOR_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace lsmkv {

class Comparator {
 public:
  virtual ~Comparator() = default;
  // <0, 0, >0 as a is before, equal to, after b.
  virtual int Compare(std::string_view a, std::string_view b) const = 0;
  // A name persisted with tables so that a table is never read with another order.
  virtual const char* Name() const = 0;
  // May change *start to a shorter string s with *start <= s < limit.
  // REQUIRES: *start < limit.
  virtual void FindShortestSeparator(std::string* start, std::string_view limit) const = 0;
  // May change *key to a shorter string s >= *key.
  virtual void FindShortSuccessor(std::string* key) const = 0;
  // The length below which a key cannot be ordered by this comparator (a
  // reader treats a shorter stored key as damage). Default: 0.
  virtual size_t MinimumKeySize() const { return 0; }
};

// Lexicographic order of unsigned bytes. A process-wide singleton.
const Comparator* BytewiseComparator();

}  // namespace lsmkv

#endif  // LSMKV_UTIL_COMPARATOR_H_
