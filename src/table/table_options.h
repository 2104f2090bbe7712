// TableOptions: how sorted tables are written and read. The same options
// (in particular the same comparator) must be used to write and to read a
// table; the comparator's name is stored in the table and checked at Open.
//
// Thread safety: a plain value; the objects it points to must be thread safe
// (Comparator, Cache, TableCounters are).
#ifndef LSMKV_TABLE_TABLE_OPTIONS_H_
#define LSMKV_TABLE_TABLE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lsmkv/filter_policy.h"
#include "lsmkv/options.h"
#include "table/bloom.h"
#include "table/filter_policy.h"
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
  // Entries between restart points in data blocks (< 1 means 1). A restart
  // interval is also the unit of salvage (format version 2): a data block
  // that fails its checksum loses only the intervals whose own checksums
  // fail. Default: 8.
  int block_restart_interval = 8;
  // Compression of data blocks (meta, index and filter blocks are never
  // compressed). Default: kNone.
  CompressionType compression = CompressionType::kNone;
  // Bloom filter bits per key of the built-in filter; 0 (or less) writes no
  // built-in filter. Not used when filter_policy is set. Default: 10.
  int bloom_bits_per_key = 10;
  // The built-in filter's layout (table/bloom.h): kLines, or kClassic for
  // tables that readers older than the line layout must use the filter of.
  // Tables of format version 1 always get kClassic. Readers read both
  // whatever this says. Default: kLines.
  BloomLayout bloom_layout = BloomLayout::kLines;
  // A user's filter policy (never the built-in one: TableOptionsFromOptions
  // turns that into bloom_bits_per_key). Set: tables are written with its
  // filter under "filter.<name>" and read with a filter only of that name.
  // Unset: the built-in bloom filter ("filter.lsmkv.bloom-lines", or
  // "filter.lsmkv.bloom" in the classic layout) is written per
  // bloom_bits_per_key and read whenever present. Default: unset.
  std::shared_ptr<const FilterPolicy> filter_policy;
  // The keys are internal keys (docs/format/table.md, "internal key"): every
  // key must be at least 8 bytes, the filter is built over the user key part
  // and num_deletions is counted. False for tables of plain keys. Recorded in
  // the table's properties as filter_user_keys. Default: true.
  bool internal_keys = true;
  // Shared cache of uncompressed data blocks; nullptr disables caching. Must
  // outlive every table using it. Default: nullptr.
  Cache* block_cache = nullptr;
  // Statistics updated by readers; nullptr disables them. Default: nullptr.
  TableCounters* counters = nullptr;
  // The table format TableBuilder writes: 2 (footer written twice with a
  // checksum, salvage data for data blocks) or 1 (the older format, still
  // read; for tests and for tables that older readers must open). Readers
  // read both whatever this says. Default: kTableFormatVersion (2).
  uint32_t format_version = 2;
  // Told about damage a reader worked around (docs/format/table.md,
  // "Validation by the reader"): a table opened with a damaged footer copy,
  // filter, properties, meta-index or index block (once per Table::Open), a
  // data block salvaged (once per block and open table). The message names
  // the file. Called from reading threads; must be thread safe. Default: none.
  std::function<void(const std::string& message)> damage_reporter;
};

// The table options a database opened with `options` writes and reads its
// tables with: internal keys ordered by `internal_comparator` (which must
// outlive the tables), block size, restart interval, compression, filter
// (the built-in bloom's bits or a user's policy) and table format version
// from `options`; no cache, counters or damage reporter (the caller
// adds what it has).
inline TableOptions TableOptionsFromOptions(const Options& options,
                                            const Comparator* internal_comparator) {
  TableOptions t;
  t.comparator = internal_comparator;
  t.block_size = options.block_size;
  t.block_restart_interval = options.block_restart_interval;
  t.compression = options.compression;
  t.bloom_bits_per_key = options.bloom_bits_per_key;
  if (options.filter_policy != nullptr) {
    const int builtin_bits = BuiltinBloomBitsPerKey(options.filter_policy.get());
    t.bloom_bits_per_key = builtin_bits >= 0 ? builtin_bits : 0;
    if (builtin_bits < 0) t.filter_policy = options.filter_policy;
  }
  t.format_version = options.table_format_version;
  t.internal_keys = true;
  return t;
}

}  // namespace lsmkv

#endif  // LSMKV_TABLE_TABLE_OPTIONS_H_
