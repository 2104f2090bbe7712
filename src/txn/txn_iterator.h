// TxnIterator: a transaction's iterator — the DB's iterator at the
// transaction's snapshot merged with its buffered writes (which win; a
// buffered delete hides the key), within the read bounds. It can record the
// key ranges it covers for serializable validation.
#ifndef LSMKV_TXN_TXN_ITERATOR_H_
#define LSMKV_TXN_TXN_ITERATOR_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/conflict_tracker.h"
#include "lsmkv/iterator.h"
#include "util/comparator.h"

namespace lsmkv {

// key -> value, or nullopt for a buffered delete; in the database's key
// order (construct it with the database's ComparatorLess).
using TxnWriteMap = std::map<std::string, std::optional<std::string>, ComparatorLess>;

// Where an iterator records the ranges it covers, appending to *ranges while
// may_add() allows (it returns the error to report otherwise).
struct RangeSink {
  std::vector<KeyRange>* ranges = nullptr;
  std::function<Status()> may_add;
  // The sequence the iterator reads at (a new range's KeyRange::since).
  SequenceNumber since = 0;
};

// base: the DB's iterator at the snapshot, with the same bounds. writes is
// read live and must outlive the iterator (and not be replaced while it is
// used). sink: nullptr not to track; copied (its ranges vector must outlive
// the iterator).
std::unique_ptr<Iterator> NewTxnIterator(std::unique_ptr<Iterator> base, const TxnWriteMap* writes,
                                         std::optional<std::string> lower_bound,
                                         std::optional<std::string> upper_bound,
                                         const RangeSink* sink);

}  // namespace lsmkv

#endif  // LSMKV_TXN_TXN_ITERATOR_H_
