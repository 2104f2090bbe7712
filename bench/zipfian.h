// YCSB's scrambled zipfian key chooser, shared by the benchmarks.
#ifndef LSMKV_BENCH_ZIPFIAN_H_
#define LSMKV_BENCH_ZIPFIAN_H_

#include <cmath>
#include <cstdint>

#include "util/random.h"

namespace peerbench {

// YCSB's scrambled zipfian (theta 0.99) over [0, n).
class Zipfian {
 public:
  Zipfian(uint64_t n, uint64_t seed) : n_(n), rnd_(seed) {
    for (uint64_t i = 1; i <= n; i++) zetan_ += 1.0 / std::pow(static_cast<double>(i), kTheta);
    const double zeta2 = 1.0 + 1.0 / std::pow(2.0, kTheta);
    alpha_ = 1.0 / (1.0 - kTheta);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - kTheta)) / (1.0 - zeta2 / zetan_);
  }
  uint64_t Next() {
    const double u = static_cast<double>(rnd_.Next64() >> 11) * (1.0 / 9007199254740992.0);
    const double uz = u * zetan_;
    uint64_t rank;
    if (uz < 1.0) {
      rank = 0;
    } else if (uz < 1.0 + std::pow(0.5, kTheta)) {
      rank = 1;
    } else {
      rank =
          static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    }
    // Scramble so the hot keys are spread over the key space.
    uint64_t z = rank + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) % n_;
  }

 private:
  static constexpr double kTheta = 0.99;
  uint64_t n_;
  lsmkv::Random rnd_;
  double zetan_ = 0, alpha_ = 0, eta_ = 0;
};

}  // namespace peerbench

#endif  // LSMKV_BENCH_ZIPFIAN_H_
