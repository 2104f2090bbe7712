// LevelIterator: the entries of one level >= 1 (files sorted by key, never
// overlapping) as one iterator over internal keys. A file's table is opened
// only when the position reaches it; Seek/SeekForPrev find the file by binary
// search.
//
// Files lying entirely outside [options.lower_bound, options.upper_bound)
// (user keys of the file's smallest and largest keys) are never opened: their
// entries are not produced. Entries outside the bounds that live in a file
// overlapping them are produced (the DB iterator enforces the bounds).
//
// Errors are never skipped: if a table cannot be opened or its iterator
// fails, the level iterator is !Valid() with that error as status() until
// the next Seek*, which tries again.
//
// Thread safety: not thread safe.
#ifndef LSMKV_DB_LEVEL_ITERATOR_H_
#define LSMKV_DB_LEVEL_ITERATOR_H_

#include <vector>

#include "base/dbformat.h"
#include "db/version_set.h"
#include "lsmkv/iterator.h"
#include "lsmkv/options.h"
#include "table/table_cache.h"

namespace lsmkv {

// files: one level's files in key order, non-overlapping. table_cache and
// icmp must outlive the result; the files stay alive as long as it does.
// The caller owns the result; never null.
Iterator* NewLevelIterator(TableCache* table_cache, const ReadOptions& options,
                           const InternalKeyComparator* icmp, std::vector<FileRef> files);

}  // namespace lsmkv

#endif  // LSMKV_DB_LEVEL_ITERATOR_H_
