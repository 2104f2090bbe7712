#include "server/expiry_filter.h"

#include "server/value_codec.h"

namespace lsmkv::server {

CompactionFilter::Decision ExpiryFilter::Filter(int level, std::string_view key,
                                                std::string_view value) const {
  if (key.empty() || key[0] != kDataPrefix) return Decision::kKeep;
  DecodedValue decoded;
  if (!DecodeValue(value, &decoded)) return Decision::kKeep;
  if (!IsExpired(decoded.deadline_ms, clock_->NowMs())) return Decision::kKeep;
  removed_.fetch_add(1, std::memory_order_relaxed);
  return Decision::kRemove;
}

}  // namespace lsmkv::server
