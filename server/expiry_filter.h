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

#include "lsmkv/compaction_filter.h"
#include "server/clock.h"

namespace lsmkv::server {

class ExpiryFilter : public CompactionFilter {
 public:
  // Values are expired as of clock->NowMs() when compaction sees them (the
  // server's clock, so a test's ManualClock decides here too).
  // REQUIRES: clock outlives the filter.
  explicit ExpiryFilter(const Clock* clock) : clock_(clock) {}

  Decision Filter(int level, std::string_view key, std::string_view value) const override;
  const char* Name() const override { return "lsmkv-server.ExpiryFilter"; }

  // Values removed so far (INFO lsmkv: expired_by_compaction).
  uint64_t removed() const { return removed_.load(std::memory_order_relaxed); }

 private:
  const Clock* const clock_;
  mutable std::atomic<uint64_t> removed_{0};
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_EXPIRY_FILTER_H_
