// TableCounters: statistics the table readers update as they work. One
// instance may be shared by every table of a database (TableOptions::counters).
//
// Thread safety: every field is atomic; readers and updaters need no lock.
// Updates use relaxed ordering: the counts are statistics, not synchronisation.
#ifndef LSMKV_TABLE_TABLE_COUNTERS_H_
#define LSMKV_TABLE_TABLE_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace lsmkv {

struct TableCounters {
  // Point lookups that consulted a bloom filter.
  std::atomic<uint64_t> bloom_checks{0};
  // ... of which the filter said "absent", saving a block read.
  std::atomic<uint64_t> bloom_useful{0};
  // Data block lookups in the block cache that hit / missed.
  std::atomic<uint64_t> block_cache_hits{0};
  std::atomic<uint64_t> block_cache_misses{0};
  // Blocks read from table files (any kind of block) and the bytes those
  // reads returned (trailers and footers included).
  std::atomic<uint64_t> block_reads{0};
  std::atomic<uint64_t> bytes_read{0};
  // Damage worked around (format version 2): tables opened although a footer
  // copy or their filter, properties, meta-index or index block was damaged;
  // data blocks salvaged after failing their checksum, and the entry groups
  // (restart intervals) those salvages lost. A block read again is salvaged
  // (and counted) again.
  std::atomic<uint64_t> damaged_tables_opened{0};
  std::atomic<uint64_t> blocks_salvaged{0};
  std::atomic<uint64_t> salvage_groups_lost{0};
};

// Adds n to counter when counters is not null.
inline void BumpCounter(TableCounters* counters, std::atomic<uint64_t> TableCounters::*counter,
                        uint64_t n = 1) {
  if (counters != nullptr) (counters->*counter).fetch_add(n, std::memory_order_relaxed);
}

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_COUNTERS_H_
