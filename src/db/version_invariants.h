// The structural invariants of a Version, checked on its metadata alone (no
// table is read): what every version this engine installs must satisfy.
#ifndef LSMKV_DB_VERSION_INVARIANTS_H_
#define LSMKV_DB_VERSION_INVARIANTS_H_

#include <cstdint>

#include "base/dbformat.h"
#include "db/version_set.h"
#include "lsmkv/status.h"

namespace lsmkv {

// Checks that
//  - every file has a non-zero number below next_file_number, appears in one
//    level only, has valid internal keys smallest <= largest,
//    smallest_seqno <= largest_seqno and num_deletions <= num_entries;
//  - level 0 lists the newest (highest-numbered) file first, and each file
//    holds only sequences above those of every older level-0 file;
//  - every level >= 1 is sorted by smallest key and its files' user-key
//    ranges are disjoint (a user key lives in one file per level);
//  - every range tombstone has begin < end and a non-empty set of pending
//    tables, all of them in the version.
// Returns OK, or Corruption naming the first violation.
//
// A version recovered from a MANIFEST may violate these (the MANIFEST is
// input); a version built by LogAndApply from one that satisfied them must
// satisfy them too (VersionSet asserts this in builds with DCHECK on).
Status CheckVersionInvariants(const Version& v, const InternalKeyComparator& icmp,
                              uint64_t next_file_number);

}  // namespace lsmkv

#endif  // LSMKV_DB_VERSION_INVARIANTS_H_
