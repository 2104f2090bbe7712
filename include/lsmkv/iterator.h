// Iterator: ordered access to key/value pairs.
//
// Thread safety: an Iterator is not thread safe; use one per thread. Const
// methods may be called concurrently only if no non-const method runs.
#ifndef LSMKV_INCLUDE_ITERATOR_H_
#define LSMKV_INCLUDE_ITERATOR_H_

#include <string_view>

#include "lsmkv/status.h"

namespace lsmkv {

class Iterator {
 public:
  Iterator() = default;
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  virtual ~Iterator() = default;

  // True iff the iterator is positioned at an entry.
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // Positions at the first entry with key >= target.
  virtual void Seek(std::string_view target) = 0;
  // Positions at the last entry with key <= target.
  virtual void SeekForPrev(std::string_view target) = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  // REQUIRES: Valid().
  virtual void Prev() = 0;
  // REQUIRES: Valid(). The bytes stay valid until the iterator moves.
  virtual std::string_view key() const = 0;
  // REQUIRES: Valid(). The bytes stay valid until the iterator moves.
  virtual std::string_view value() const = 0;
  // Not OK if an error (e.g. corruption) was met; such an iterator is !Valid().
  virtual Status status() const = 0;
};

// An iterator over nothing, carrying status s.
Iterator* NewEmptyIterator(Status s = Status::OK());

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_ITERATOR_H_
