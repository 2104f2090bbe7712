#include "table/iterator_util.h"

#include <utility>

namespace lsmkv {

Iterator* NewTableErrorIterator(Status s) { return NewEmptyIterator(std::move(s)); }

}  // namespace lsmkv
