// FilterPolicy: the per-table filter that lets a point lookup skip a table
// that certainly does not hold the key (docs/format/table.md, "filter").
//
// Every table is written with at most one filter, built over the user keys
// of all its entries, and records the policy's Name() beside it (the
// meta-index key "filter.<name>"). A reader uses a table's filter only when
// the name matches its own policy's; a table written under another policy
// (or none) is read without a filter — slower, never wrong. So a policy
// whose format changes must change its name.
//
// The default (Options::filter_policy unset) is the built-in bloom filter,
// NewBloomFilterPolicy(Options::bloom_bits_per_key). A database writes it
// under "filter.lsmkv.bloom-lines" (every key's bits in one 64-byte line)
// and reads that and the older "filter.lsmkv.bloom" (its classic layout,
// still written with table_format_version 1); the policy object's own
// CreateFilter/KeyMayMatch, called directly, use the classic layout.
//
// Thread safety: CreateFilter and KeyMayMatch are called from many threads
// at once and must be thread safe. A policy in Options is shared (shared_ptr)
// and lives as long as anything uses it.
#ifndef LSMKV_INCLUDE_FILTER_POLICY_H_
#define LSMKV_INCLUDE_FILTER_POLICY_H_

#include <memory>
#include <string>
#include <string_view>

namespace lsmkv {

class FilterPolicy {
 public:
  virtual ~FilterPolicy() = default;

  // Recorded with each table. Names starting with "lsmkv." are reserved.
  virtual const char* Name() const = 0;

  // Appends to *dst a filter summarising keys[0, n) (user keys in the
  // database's order, possibly with duplicates). n may be large: every key
  // of one table (about target_file_size / entry size).
  virtual void CreateFilter(const std::string_view* keys, size_t n, std::string* dst) const = 0;

  // filter is what CreateFilter appended for some key set S. Must return
  // true if key is in S; may return true or false otherwise. False makes a
  // lookup skip the table, so a false negative loses the key for reads.
  virtual bool KeyMayMatch(std::string_view key, std::string_view filter) const = 0;
};

// The built-in bloom filter (named "lsmkv.bloom"): about bits_per_key bits
// per distinct key, round(bits_per_key * ln 2) probes; 10 bits give about 1 %
// false positives. Tables written with any bits_per_key are read with any
// other (the probe count is stored in the filter). bits_per_key < 1 is
// treated as 1.
std::shared_ptr<const FilterPolicy> NewBloomFilterPolicy(int bits_per_key);

}  // namespace lsmkv

#endif  // LSMKV_INCLUDE_FILTER_POLICY_H_
