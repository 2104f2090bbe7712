// Range tombstones: what DB::DeleteRange(begin, end) leaves behind — "every
// entry of a user key in [begin, end) with a sequence below seq is deleted"
// (docs/design.md, "Range deletions").
//
// A tombstone lives in the memtable its batch was applied to until that
// memtable is flushed; the flush moves it into the version (a MANIFEST
// record, docs/format/manifest.md), where it stays until no table can still
// hold an entry it covers. It is never written into a table.
//
// The rule every reader and compaction applies: an entry (key, s) read at
// sequence S is deleted by a tombstone [b, e) @ t iff b <= key < e and
// s < t <= S.
//
// Thread safety: RangeTombstoneSet is immutable after construction and may
// be read by any number of threads.
#ifndef LSMKV_DB_RANGE_TOMBSTONES_H_
#define LSMKV_DB_RANGE_TOMBSTONES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/dbformat.h"
#include "lsmkv/comparator.h"

namespace lsmkv {

struct RangeTombstone {
  SequenceNumber seq = 0;  // unique: the sequence of its DeleteRange operation
  std::string begin;       // inclusive
  std::string end;         // exclusive; begin < end in the user order
};

// A set of tombstones cut into disjoint fragments, each with the sorted
// sequences of the tombstones covering it, so that a lookup is one binary
// search over the fragments and one over the sequences.
class RangeTombstoneSet {
 public:
  // REQUIRES: every tombstone has begin < end under ucmp, which outlives
  // the set.
  RangeTombstoneSet(const Comparator* ucmp, const std::vector<RangeTombstone>& tombstones);

  bool empty() const { return fragments_.empty(); }

  // True iff some tombstone covering key has a sequence in (above, upto]:
  // an entry of key with sequence `above` is deleted for a reader at
  // sequence `upto`.
  bool Covers(std::string_view key, SequenceNumber above, SequenceNumber upto) const;

  // The largest sequence <= upto of a tombstone covering key; 0 if none.
  SequenceNumber NewestCovering(std::string_view key, SequenceNumber upto) const;

  // Appends to *seqs the sequences > above of the tombstones covering key.
  void CoveringAbove(std::string_view key, SequenceNumber above,
                     std::vector<SequenceNumber>* seqs) const;

  // The exclusive end of the fragment holding key (every key in [key, that
  // end) is covered by the same tombstones), or nullptr if no tombstone
  // covers key.
  const std::string* FragmentEnd(std::string_view key) const;

 private:
  struct Fragment {
    std::string begin, end;
    std::vector<SequenceNumber> seqs;  // ascending
  };
  const Fragment* Find(std::string_view key) const;

  const Comparator* ucmp_;
  std::vector<Fragment> fragments_;  // ascending, disjoint
};

// True iff [begin, end) and [lo, hi] (user keys; hi inclusive) overlap.
bool RangeOverlaps(const Comparator* ucmp, std::string_view begin, std::string_view end,
                   std::string_view lo, std::string_view hi);

}  // namespace lsmkv

#endif  // LSMKV_DB_RANGE_TOMBSTONES_H_
