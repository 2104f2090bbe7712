// Clock: where lsmkv-server reads the time. Every expiry decision (a command's
// Txn clock, TTL/PTTL/EXPIRE..., EXEC's check of watched deadlines, the
// background sweep, the expiry compaction filter), and the server's other
// wall-clock readings (TIME, INFO uptime, CLIENT LIST age/idle, the idle
// timeout, command latency), come from one Clock the Server is built with.
// Production uses SystemClock(); tests build the server pieces on a
// ManualClock and move time explicitly, so expiry is tested at exact
// millisecond values without sleeping (docs/REDIS_COMPAT.md, "Expiry").
//
// What does not use it: the pacing of background work (the sweep period,
// the everysec sync, the one-second tick), which waits in real time; a
// ManualClock changes what those wake-ups see, not when they happen.
//
// Thread safety: every Clock may be read from any thread; ManualClock's
// setters may be called from any thread too.
#ifndef LSMKV_SERVER_CLOCK_H_
#define LSMKV_SERVER_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace lsmkv::server {

class Clock {
 public:
  virtual ~Clock() = default;

  // Microseconds since the Unix epoch.
  virtual int64_t NowUs() const = 0;
  // Milliseconds since the Unix epoch: NowUs() rounded down (towards minus
  // infinity, so a clock before 1970 still never runs ahead of NowUs).
  int64_t NowMs() const { return MicrosToMillis(NowUs()); }

  // Floor division by 1000.
  static int64_t MicrosToMillis(int64_t us) { return us >= 0 ? us / 1000 : -((-us + 999) / 1000); }
};

// The wall clock (std::chrono::system_clock). A process-wide object, never
// destroyed.
const Clock* SystemClock();

// A clock that stands still until told to move. Starts at start_us.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_us) : now_us_(start_us) {}

  int64_t NowUs() const override { return now_us_.load(std::memory_order_acquire); }

  // Moves the clock by delta (which may be negative: the wall clock can step
  // back too). Returns the new time.
  int64_t AdvanceUs(int64_t delta_us) {
    return now_us_.fetch_add(delta_us, std::memory_order_acq_rel) + delta_us;
  }
  int64_t AdvanceMs(int64_t delta_ms) { return MicrosToMillis(AdvanceUs(delta_ms * 1000)); }
  void SetUs(int64_t now_us) { now_us_.store(now_us, std::memory_order_release); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_CLOCK_H_
