// TableOptions: how sorted tables are written and read. The same options
// (in particular the same comparator) must be used to write and to read a
// table; the comparator's name is stored in the table and checked at Open.
//
// Thread safety: a plain value; the objects it points to must be thread safe
// (Comparator, Cache, TableCounters are).
#ifndef LSMKV_TABLE_TABLE_OPTIONS_H_
#define LSMKV_TABLE_TABLE_OPTIONS_H_

#include <cstddef>

#include "lsmkv/options.h"
#include "table/table_counters.h"
#include "util/comparator.h"

namespace lsmkv {

class Cache;

struct TableOptions {
  // The order of the keys. For tables of internal keys this is an
  // InternalKeyComparator. Must outlive every table using it.
  // Default: BytewiseComparator().
  const Comparator* comparator = BytewiseComparator();
  // Uncompressed bytes of entries per data block (a block is cut once it
  // reaches this size). Default: 4 KiB.
  size_t block_size = 4096;
  // Entries between restart points in data blocks (< 1 means 1). Default: 16.
  int block_restart_interval = 16;
  // Compression of data blocks (meta, index and filter blocks are never
  // compressed). Default: kNone.
  CompressionType compression = CompressionType::kNone;
  // Bloom filter bits per key; 0 (or less) writes no filter. Default: 10.
  int bloom_bits_per_key = 10;
  // The keys are internal keys (docs/format/table.md, "internal key"): every
  // key must be at least 8 bytes, the filter is built over the user key part
  // and num_deletions is counted. Also implied when comparator is an
  // InternalKeyComparator. Default: true.
  bool filter_user_keys = true;
  // Shared cache of uncompressed data blocks; nullptr disables caching. Must
  // outlive every table using it. Default: nullptr.
  Cache* block_cache = nullptr;
  // Statistics updated by readers; nullptr disables them. Default: nullptr.
  TableCounters* counters = nullptr;
};

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_OPTIONS_H_
