// Block: a read-only view of one uncompressed block built by BlockBuilder
// (format in block_builder.h and docs/format/table.md).
//
// The contents come from disk and are not trusted: the constructor checks the
// restart array against the block size, and the iterators check every entry
// they decode. Bad contents give an iterator whose status() is Corruption and
// which is !Valid(); no read ever leaves the block.
//
// Thread safety: a Block is immutable; any number of iterators may be used
// concurrently (each iterator by one thread at a time).
#ifndef LSMKV_TABLE_BLOCK_H_
#define LSMKV_TABLE_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lsmkv/iterator.h"
#include "lsmkv/status.h"
#include "table/format.h"
#include "table/iterator_util.h"
#include "util/comparator.h"

namespace lsmkv {

class Block {
 public:
  // Takes ownership of the contents.
  explicit Block(BlockContents contents);
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  // Bytes of the contents (what a cache charges for the block).
  size_t size() const { return contents_.size; }
  // OK, or Corruption if the restart array is malformed.
  const Status& status() const { return status_; }
  // Number of restart points (0 if the block is malformed).
  uint32_t num_restarts() const { return num_restarts_; }

  // An iterator over the entries in the order of comparator, which must be the
  // order the block was built in. Entries whose key is shorter than
  // min_key_size are Corruption (internal keys need 8 bytes before they may be
  // given to InternalKeyComparator). Corruption messages start with
  // error_context (e.g. a file name) when it is not empty; it must outlive the
  // iterator, as must the block — unless pin keeps the block alive: it is
  // released when the iterator is destroyed (at once if the block is
  // malformed). Never null.
  Iterator* NewIterator(const Comparator* comparator, size_t min_key_size = 0,
                        std::string_view error_context = {}, IteratorPin pin = {}) const;

 private:
  class Iter;

  BlockContents contents_;
  uint32_t restarts_offset_ = 0;  // offset of the restart array
  uint32_t num_restarts_ = 0;
  Status status_;
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_BLOCK_H_
