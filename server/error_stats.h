// ErrorStats: how many error replies the server sent, in total and by error
// code (the reply's first word: "ERR", "WRONGTYPE", "NOAUTH", ...), for
// INFO's total_error_replies and errorstats sections and the metrics
// endpoint.
//
// Every error reply is recorded exactly once, where it is written
// (Reply::Error with a sink set), so the per-code counts always add up to
// the total. The number of distinct codes is bounded (kMaxCodes): codes
// first seen after the table is full are counted under "OTHER", so a client
// inventing error codes cannot grow server memory.
//
// Thread safety: thread-safe. Record takes a mutex only for a code's first
// occurrence; later ones update an atomic.
#ifndef LSMKV_SERVER_ERROR_STATS_H_
#define LSMKV_SERVER_ERROR_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv::server {

class ErrorStats {
 public:
  static constexpr size_t kMaxCodes = 64;
  static constexpr size_t kMaxCodeLength = 32;

  ErrorStats() = default;
  ErrorStats(const ErrorStats&) = delete;
  ErrorStats& operator=(const ErrorStats&) = delete;

  // Records one error reply whose text (without the leading '-') is error.
  void Record(std::string_view error) EXCLUDES(mu_);
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  // (code, count) for every code with a count, in first-seen order.
  std::vector<std::pair<std::string, uint64_t>> ByCode() const EXCLUDES(mu_);
  // CONFIG RESETSTAT: zeroes the counts (the codes stay known, so the table
  // still bounds them).
  void Reset() EXCLUDES(mu_);

  // The code of an error text: its first word, at most kMaxCodeLength bytes.
  static std::string_view CodeOf(std::string_view error);

 private:
  struct Slot {
    std::string code;  // written once, under mu_, before used_ publishes it
    std::atomic<uint64_t> count{0};
  };

  std::atomic<uint64_t> total_{0};
  mutable Mutex mu_;
  std::array<Slot, kMaxCodes + 1> slots_;  // the last is "OTHER"
  std::atomic<size_t> used_{0};            // slots [0, used_) have their code set
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_ERROR_STATS_H_
