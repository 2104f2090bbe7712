// Small iterator adapters used by the table code.
//
// Thread safety: like any Iterator, not thread safe.
#ifndef LSMKV_TABLE_ITERATOR_UTIL_H_
#define LSMKV_TABLE_ITERATOR_UTIL_H_

#include <functional>

#include "lsmkv/iterator.h"
#include "lsmkv/status.h"

namespace lsmkv {

// An iterator over nothing whose status() is s.
Iterator* NewTableErrorIterator(Status s);

// Forwards every call to base (which it owns) and runs cleanup after base is
// destroyed. Used to keep a block or a table pinned while an iterator lives.
Iterator* NewCleanupIterator(Iterator* base, std::function<void()> cleanup);

}  // namespace lsmkv

#endif  // LSMKV_TABLE_ITERATOR_UTIL_H_
