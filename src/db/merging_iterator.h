// A merging iterator: one ordered view over several ordered iterators
// (memtables, level-0 tables, deeper levels). Used by range scans and by
// compaction; it streams, holding only the children's own positions.
//
// Entries are ordered by cmp; entries with equal keys in different children
// are all produced, ordered by child index (lower index first going forward).
// With internal keys equal keys never occur (sequence numbers are unique).
//
// Next/Prev/Seek cost O(log n) comparisons for n children (a binary heap of
// the positioned children). Changing direction repositions every other child
// (n seeks).
//
// Errors are never skipped: as soon as a child reports a non-OK status the
// merging iterator is !Valid() and status() returns the first non-OK child
// status (in child order), until a Seek* call repositions every child.
//
// Thread safety: not thread safe.
#ifndef LSMKV_DB_MERGING_ITERATOR_H_
#define LSMKV_DB_MERGING_ITERATOR_H_

#include <memory>
#include <vector>

#include "lsmkv/iterator.h"
#include "util/comparator.h"

namespace lsmkv {

// Takes ownership of children (none may be null). cmp must outlive the
// result. The caller owns the result; never null.
Iterator* NewMergingIterator(const Comparator* cmp,
                             std::vector<std::unique_ptr<Iterator>> children);

}  // namespace lsmkv

#endif  // LSMKV_DB_MERGING_ITERATOR_H_
