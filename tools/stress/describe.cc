#include "stress/describe.h"

#include <algorithm>

namespace lsmkv::stress {

std::string ToHex(std::string_view bytes, size_t limit) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < limit; i++) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  if (bytes.size() > limit) out += "...";
  return out;
}

std::string DescribeState(uint32_t index, bool exists, uint32_t value_id) {
  if (!exists) return "absent";
  return "value id " + std::to_string(value_id) + " (" +
         std::to_string(ValueFor(index, value_id).size()) + " bytes)";
}

std::string DescribeFound(uint32_t index, const Slot& slot, bool found, const std::string& value) {
  if (!found) return "absent";
  const uint32_t newest = std::max(slot.value_id, slot.pending_value_id) + 4;
  for (uint32_t id = newest; id >= 1 && id + 64 > newest; id--) {
    if (ValueFor(index, id) == value)
      return "value id " + std::to_string(id) + " (stale or future)";
  }
  return "unknown value of " + std::to_string(value.size()) + " bytes: " + ToHex(value, 24);
}

std::string KeyName(uint32_t index) {
  return "key " + std::to_string(index) + " ('" + KeyFor(index) + "')";
}

}  // namespace lsmkv::stress
