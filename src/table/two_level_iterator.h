// A two-level iterator: an index iterator whose values name blocks, and a
// function that opens an iterator over the block a value names. Used by
// Table to iterate over its data blocks, reading each lazily when first
// reached.
//
// Errors are never skipped: if the index iterator or a block iterator reports
// a non-OK status (e.g. a block fails its checksum), the two-level iterator
// becomes !Valid() and status() returns that error until the next Seek*
// call, which starts over.
//
// Thread safety: not thread safe.
#ifndef LSMKV_TABLE_TWO_LEVEL_ITERATOR_H_
#define LSMKV_TABLE_TWO_LEVEL_ITERATOR_H_

#include <functional>
#include <string_view>

#include "lsmkv/iterator.h"
#include "table/iterator_util.h"

namespace lsmkv {

// Opens an iterator over the block named by an index value; never null (an
// iterator with an error status instead).
using BlockIteratorFunction = std::function<Iterator*(std::string_view index_value)>;

// Takes ownership of index_iter. pin (optional) is released when the result
// is destroyed, after the index and block iterators are gone (e.g. to keep
// the table that owns the index block open).
Iterator* NewTwoLevelIterator(Iterator* index_iter, BlockIteratorFunction block_function,
                              IteratorPin pin = {});

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TWO_LEVEL_ITERATOR_H_
