// Small iterator adapters used by the table code.
//
// Thread safety: like any Iterator, not thread safe.
#ifndef LSMKV_TABLE_ITERATOR_UTIL_H_
#define LSMKV_TABLE_ITERATOR_UTIL_H_

#include "lsmkv/iterator.h"
#include "lsmkv/status.h"

namespace lsmkv {

// A release action that costs no allocation: fn(arg1, arg2) runs once, when
// the iterator holding the pin is destroyed (after it stopped reading what
// the pin keeps alive). An empty pin (fn null) does nothing.
struct IteratorPin {
  void (*fn)(void* arg1, void* arg2) = nullptr;
  void* arg1 = nullptr;
  void* arg2 = nullptr;

  // Runs fn (at most once over the pin's life).
  void Release() {
    if (fn == nullptr) return;
    auto* f = fn;
    fn = nullptr;
    f(arg1, arg2);
  }
};

// An iterator over nothing whose status() is s.
Iterator* NewTableErrorIterator(Status s);

}  // namespace lsmkv

#endif  // LSMKV_TABLE_ITERATOR_UTIL_H_
