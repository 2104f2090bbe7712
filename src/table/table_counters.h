// TableCounters: statistics the table readers update as they work. One
// instance may be shared by every table of a database (TableOptions::counters).
//
// Thread safety: every field is a StripedCounter (util/striped_counter.h);
// readers and updaters need no lock, and concurrent point reads do not share
// a cache line through them. Updates are relaxed: the counts are statistics,
// not synchronisation.
#ifndef LSMKV_TABLE_TABLE_COUNTERS_H_
#define LSMKV_TABLE_TABLE_COUNTERS_H_

#include <cstdint>

#include "util/striped_counter.h"

namespace lsmkv {

struct TableCounters {
  // Point lookups that consulted a bloom filter.
  StripedCounter bloom_checks;
  // ... of which the filter said "absent", saving a block read.
  StripedCounter bloom_useful;
  // Point lookups past the filter whose data block the index fences named
  // without a search of the index block (Table::InternalGet), and those the
  // fences left to that search (equal fences).
  StripedCounter index_fence_hits;
  StripedCounter index_fence_ties;
  // Data block lookups in the block cache that hit / missed.
  StripedCounter block_cache_hits;
  StripedCounter block_cache_misses;
  // Blocks read from table files (any kind of block) and the bytes those
  // reads returned (trailers and footers included).
  StripedCounter block_reads;
  StripedCounter bytes_read;
  // Damage worked around (format version 2): tables opened although a footer
  // copy or their filter, properties, meta-index or index block was damaged;
  // data blocks salvaged after failing their checksum, and the entry groups
  // (restart intervals) those salvages lost. A block read again is salvaged
  // (and counted) again.
  StripedCounter damaged_tables_opened;
  StripedCounter blocks_salvaged;
  StripedCounter salvage_groups_lost;
};

// Adds n to counter when counters is not null.
inline void BumpCounter(TableCounters* counters, StripedCounter TableCounters::*counter,
                        uint64_t n = 1) {
  if (counters != nullptr) (counters->*counter).fetch_add(n, std::memory_order_relaxed);
}

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_COUNTERS_H_
