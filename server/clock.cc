#include "server/clock.h"

#include <chrono>

namespace lsmkv::server {

namespace {

class WallClock : public Clock {
 public:
  int64_t NowUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

const Clock* SystemClock() {
  static const WallClock* const clock = new WallClock;
  return clock;
}

}  // namespace lsmkv::server
