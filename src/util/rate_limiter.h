// RateLimiter: a token bucket shared by every background writer (flush and
// compaction threads). Request(n) returns once n bytes may be written,
// sleeping through the Env when the bucket is empty.
//
// Thread safety: safe to call from any number of threads. The internal lock is
// a leaf lock, never held while sleeping.
#ifndef LSMKV_UTIL_RATE_LIMITER_H_
#define LSMKV_UTIL_RATE_LIMITER_H_

#include <algorithm>
#include <cstdint>

#include "lsmkv/env.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

class RateLimiter {
 public:
  // bytes_per_sec == 0 disables limiting (Request returns at once).
  RateLimiter(Env* env, uint64_t bytes_per_sec) : env_(env), rate_(bytes_per_sec) {}

  void Request(uint64_t bytes) EXCLUDES(mu_) {
    if (rate_ == 0 || bytes == 0) return;
    int64_t sleep_micros = 0;
    {
      MutexLock guard(&mu_);
      const uint64_t now = env_->NowMicros();
      const double rate = static_cast<double>(rate_);
      if (last_micros_ == 0) last_micros_ = now;
      // At most one second of burst accumulates.
      tokens_ = std::min(rate, tokens_ + static_cast<double>(now - last_micros_) * rate / 1e6);
      last_micros_ = now;
      tokens_ -= static_cast<double>(bytes);
      if (tokens_ < 0) sleep_micros = static_cast<int64_t>(-tokens_ / rate * 1e6);
    }
    // The debt stays in tokens_, so concurrent callers queue up behind it.
    if (sleep_micros > 0) env_->SleepForMicroseconds(static_cast<int>(sleep_micros));
  }

 private:
  Env* const env_;
  const uint64_t rate_;
  Mutex mu_;
  double tokens_ GUARDED_BY(mu_) = 0;  // negative = debt
  uint64_t last_micros_ GUARDED_BY(mu_) = 0;
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_RATE_LIMITER_H_
