// Comparator: the total order of a database's keys.
//
// A database is created with one comparator (Options::comparator) and must
// always be opened with one of the same Name(): the name is recorded in the
// MANIFEST and in every table, and Open fails with InvalidArgument naming
// both when they differ. The order itself is trusted: a comparator that
// changes its order under the same name makes reads miss keys, and nothing
// can detect it — give a changed order a new name.
//
// Thread safety: Compare and the helpers are called from many threads at
// once and must be thread safe. A comparator given in Options must outlive
// every database and tool run with those options.
#ifndef LSMKV_INCLUDE_COMPARATOR_H_
#define LSMKV_INCLUDE_COMPARATOR_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace lsmkv {

class Comparator {
 public:
  virtual ~Comparator() = default;
  // <0, 0, >0 as a is before, equal to, after b. Must be a strict weak order
  // whose equivalence is equality of keys (two keys comparing 0 are the same
  // key: the newer version hides the older).
  virtual int Compare(std::string_view a, std::string_view b) const = 0;
  // A name persisted with the database and its tables so that they are
  // never read in another order. Names starting with "lsmkv." are reserved.
  virtual const char* Name() const = 0;
  // May change *start to a shorter string s with *start <= s < limit (index
  // keys of tables are shortened with it). Leaving *start alone is correct.
  // REQUIRES: *start < limit.
  virtual void FindShortestSeparator(std::string* start, std::string_view limit) const = 0;
  // May change *key to a shorter string s >= *key. Leaving it alone is
  // correct.
  virtual void FindShortSuccessor(std::string* key) const = 0;
  // The length below which a key cannot be ordered by this comparator (a
  // reader treats a shorter stored key as damage). Default: 0.
  virtual size_t MinimumKeySize() const { return 0; }
};

// Lexicographic order of unsigned bytes (memcmp, shorter first on a tie),
// named "lsmkv.BytewiseComparator". A process-wide singleton; the default.
const Comparator* BytewiseComparator();

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_COMPARATOR_H_
