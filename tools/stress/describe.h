// How lsmkv_stress names keys, values and states in its messages (mismatch
// reports of the workload and of the verification).
//
// Thread safety: pure functions.
#ifndef LSMKV_TOOLS_STRESS_DESCRIBE_H_
#define LSMKV_TOOLS_STRESS_DESCRIBE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stress/expected_state.h"

namespace lsmkv::stress {

// The first limit bytes of bytes in hex, with "..." if there were more.
std::string ToHex(std::string_view bytes, size_t limit);

// An expected state of key index: "absent" or the value id and its size.
std::string DescribeState(uint32_t index, bool exists, uint32_t value_id);

// What the DB returned for key index (found: value is its value), named by
// the value id it matches if it is one of the recent values of the key
// (around slot's ids), else shown as bytes.
std::string DescribeFound(uint32_t index, const Slot& slot, bool found, const std::string& value);

// "key <index> ('<KeyFor(index)>')".
std::string KeyName(uint32_t index);

}  // namespace lsmkv::stress

#endif  // LSMKV_TOOLS_STRESS_DESCRIBE_H_
