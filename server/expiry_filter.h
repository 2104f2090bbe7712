// ExpiryFilter: the compaction filter lsmkv-server installs in the engine
// (Options::compaction_filter). It removes values whose deadline has passed,
// so expired keys leave the disk as compaction reaches them, without a
// server-side scan. Keys that are not data keys ('k' prefix) and values it
// cannot decode are kept. Reads check deadlines too, so a value the filter
// has not seen yet is still never returned after its deadline.
//
// Thread safety: Filter may run on several compaction threads at once.
#ifndef LSMKV_SERVER_EXPIRY_FILTER_H_
#define LSMKV_SERVER_EXPIRY_FILTER_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "lsmkv/compaction_filter.h"

namespace lsmkv::server {

class ExpiryFilter : public CompactionFilter {
 public:
  // clock returns Unix milliseconds; default UnixTimeMs (tests inject one).
  explicit ExpiryFilter(std::function<int64_t()> clock = nullptr);

  Decision Filter(int level, std::string_view key, std::string_view value) const override;
  const char* Name() const override { return "lsmkv-server.ExpiryFilter"; }

  // Values removed so far (INFO lsmkv: expired_by_compaction).
  uint64_t removed() const { return removed_.load(std::memory_order_relaxed); }

 private:
  std::function<int64_t()> clock_;
  mutable std::atomic<uint64_t> removed_{0};
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_EXPIRY_FILTER_H_
