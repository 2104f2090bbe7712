// The built-in bloom filter as a FilterPolicy (lsmkv/filter_policy.h), and
// how the table layer tells it from a user's policy: tables written with the
// built-in policy keep using the fast path of table/bloom.h (hashes kept
// while building, the filter parsed once when the table opens).
#ifndef LSMKV_TABLE_FILTER_POLICY_H_
#define LSMKV_TABLE_FILTER_POLICY_H_

#include <string>

#include "lsmkv/filter_policy.h"

namespace lsmkv {

// The built-in policy's name ("lsmkv.bloom"). A database turns the policy
// into TableOptions::bloom_bits_per_key: its tables' meta-index key is
// "filter.lsmkv.bloom-lines" (kLineFilterBlockName), or "filter.lsmkv.bloom"
// (kFilterBlockName) for the classic layout (table/bloom.h).
inline constexpr char kBuiltinBloomPolicyName[] = "lsmkv.bloom";

// The bits per key of policy if it is the built-in bloom policy (from
// NewBloomFilterPolicy), else -1.
int BuiltinBloomBitsPerKey(const FilterPolicy* policy);

// The meta-index key of a filter written by the policy named name.
inline std::string FilterBlockNameFor(const std::string& name) { return "filter." + name; }

}  // namespace lsmkv

#endif  // LSMKV_TABLE_FILTER_POLICY_H_
