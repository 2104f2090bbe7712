// DBIter: the user-facing iterator. It turns an iterator over internal keys
// (typically a merging iterator over memtables and tables) into an iterator
// over user keys as of one sequence number:
//   - key() is the user key, value() the value of its newest version with
//     sequence <= the snapshot sequence;
//   - user keys whose newest visible version is a deletion, or is covered by
//     a range tombstone (of any set in tombstones) visible at the sequence,
//     are skipped;
//   - entries newer than the snapshot sequence are invisible;
//   - positions are restricted to [lower_bound, upper_bound) (user keys).
//
// It streams: whatever the number of versions and deleted keys skipped, it
// holds at most one user key and (when moving backward) one value.
//
// Errors are never skipped: an entry whose internal key does not parse makes
// the iterator !Valid() with status() Corruption, and an error of the
// internal iterator makes it !Valid() with that error, until the next Seek*.
// Moving backward, a key is produced only after the entry before all of its
// versions was read (that entry could be a newer version of it), so a damaged
// entry also stops the scan at the key that follows it.
//
// Thread safety: not thread safe.
#ifndef LSMKV_DB_DB_ITER_H_
#define LSMKV_DB_DB_ITER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/dbformat.h"
#include "db/range_tombstones.h"
#include "lsmkv/iterator.h"
#include "util/comparator.h"

namespace lsmkv {

// Takes ownership of internal_iter (ordered by an InternalKeyComparator over
// user_comparator). user_comparator must outlive the result. The bounds are
// user keys: lower_bound inclusive, upper_bound exclusive. keep_alive
// (optional) is held until internal_iter has been destroyed: what the
// internal iterator reads (e.g. a DB's read view) without a wrapper layer
// per call. Never null.
// Read sampling (read-triggered compaction): sampler, if set, is called
// with the internal key of every Seek / SeekForPrev target and, while the
// iterator moves, of one entry about every 1 MiB of keys and values read.
using ReadSampler = std::function<void(std::string_view internal_key)>;

Iterator* NewDBIterator(const Comparator* user_comparator, Iterator* internal_iter,
                        SequenceNumber sequence, std::optional<std::string> lower_bound,
                        std::optional<std::string> upper_bound,
                        std::shared_ptr<const void> keep_alive = nullptr,
                        ReadSampler sampler = nullptr,
                        std::vector<std::shared_ptr<const RangeTombstoneSet>> tombstones = {});

}  // namespace lsmkv

#endif  // LSMKV_DB_DB_ITER_H_
