#include "util/histogram.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace lsmkv {
namespace {

// Upper bounds of buckets 0 .. kNumBuckets-2 (the last bucket is unbounded).
constexpr int kNumFiniteBounds = Histogram::kNumBuckets - 1;
// Upper bounds within one decade, in tenths of its first power of ten.
constexpr std::array<int, 15> kDecadeSteps = {12, 14, 16, 18, 20, 25, 30, 35,
                                              40, 50, 60, 70, 80, 90, 100};
constexpr int kDecades = 10;  // 1 .. 1e10
static_assert(1 + kDecades * static_cast<int>(kDecadeSteps.size()) == kNumFiniteBounds,
              "kNumBuckets does not match the bucket table");

constexpr std::array<double, kNumFiniteBounds> MakeUpperBounds() {
  std::array<double, kNumFiniteBounds> bounds{};
  bounds[0] = 1.0;
  double power = 1.0;
  int i = 1;
  for (int d = 0; d < kDecades; d++) {
    for (int step : kDecadeSteps) bounds[i++] = step * power / 10.0;
    power *= 10.0;
  }
  return bounds;
}

constexpr std::array<double, kNumFiniteBounds> kUpperBounds = MakeUpperBounds();
static_assert(kUpperBounds[kNumFiniteBounds - 1] == 1e10, "table must end at 1e10");

}  // namespace

double Histogram::BucketLowerBound(int b) { return b == 0 ? 0.0 : kUpperBounds[b - 1]; }

double Histogram::BucketUpperBound(int b) {
  return b < kNumFiniteBounds ? kUpperBounds[b] : std::numeric_limits<double>::infinity();
}

int Histogram::BucketFor(double value) {
  return static_cast<int>(std::upper_bound(kUpperBounds.begin(), kUpperBounds.end(), value) -
                          kUpperBounds.begin());
}

void Histogram::Clear() {
  count_ = 0;
  min_ = 0;
  max_ = 0;
  mean_ = 0;
  m2_ = 0;
  std::fill(std::begin(buckets_), std::end(buckets_), 0);
}

void Histogram::Add(double value) {
  if (!(value >= 0)) value = 0;  // also catches NaN
  buckets_[BucketFor(value)]++;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  // Welford's update keeps the variance accurate for large, close values.
  count_++;
  const double delta = value - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (value - mean_);
}

void Histogram::Add(double value, uint64_t n) {
  if (n == 0) return;
  if (!(value >= 0)) value = 0;
  buckets_[BucketFor(value)] += n;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  // Merge's combination with a histogram of n equal values (no deviation).
  const double n_a = static_cast<double>(count_);
  const double n_b = static_cast<double>(n);
  const double delta = value - mean_;
  mean_ += delta * n_b / (n_a + n_b);
  m2_ += delta * delta * n_a * n_b / (n_a + n_b);
  count_ += n;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  for (int b = 0; b < kNumBuckets; b++) buckets_[b] += other.buckets_[b];
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  // Chan et al.'s pairwise combination of mean and squared deviations.
  const double n_a = static_cast<double>(count_);
  const double n_b = static_cast<double>(other.count_);
  const double n = n_a + n_b;
  const double delta = other.mean_ - mean_;
  mean_ += delta * n_b / n;
  m2_ += other.m2_ + delta * delta * n_a * n_b / n;
  count_ += other.count_;
}

double Histogram::Average() const { return count_ == 0 ? 0.0 : mean_; }

double Histogram::StandardDeviation() const {
  if (count_ == 0) return 0.0;
  return std::sqrt(std::max(0.0, m2_ / static_cast<double>(count_)));
}

double Histogram::Percentile(double p) const {
  if (count_ == 0) return 0.0;
  p = std::clamp(p, 0.0, 100.0);
  const double threshold = static_cast<double>(count_) * (p / 100.0);
  double before = 0;  // values in buckets below b
  for (int b = 0; b < kNumBuckets; b++) {
    if (buckets_[b] == 0) continue;
    const double in_bucket = static_cast<double>(buckets_[b]);
    if (before + in_bucket >= threshold) {
      // The exact min and max narrow the first and last occupied buckets.
      const double lo = std::max(BucketLowerBound(b), min_);
      const double hi = std::min(BucketUpperBound(b), max_);
      const double fraction = (threshold - before) / in_bucket;
      return lo + (hi - lo) * fraction;
    }
    before += in_bucket;
  }
  return max_;
}

std::string Histogram::ToString() const {
  std::string out;
  char line[200];
  std::snprintf(line, sizeof(line), "Count: %llu  Average: %.4f  StdDev: %.2f\n",
                static_cast<unsigned long long>(count_), Average(), StandardDeviation());
  out.append(line);
  std::snprintf(line, sizeof(line), "Min: %.4f  Median: %.4f  Max: %.4f\n", Min(), Median(), Max());
  out.append(line);
  std::snprintf(line, sizeof(line),
                "Percentiles: P50: %.2f  P75: %.2f  P90: %.2f  P99: %.2f  P99.9: %.2f  "
                "P99.99: %.2f\n",
                Percentile(50), Percentile(75), Percentile(90), Percentile(99), Percentile(99.9),
                Percentile(99.99));
  out.append(line);
  out.append(std::string(72, '-')).append("\n");
  if (count_ == 0) return out;
  constexpr int kBarWidth = 20;
  const double total = static_cast<double>(count_);
  double cumulative = 0;
  for (int b = 0; b < kNumBuckets; b++) {
    if (buckets_[b] == 0) continue;
    const double share = static_cast<double>(buckets_[b]) / total;
    cumulative += static_cast<double>(buckets_[b]);
    const int bar = static_cast<int>(std::lround(share * kBarWidth));
    std::snprintf(line, sizeof(line), "[ %10.6g, %10.6g ) %10llu %8.3f%% %8.3f%% %s\n",
                  BucketLowerBound(b), BucketUpperBound(b),
                  static_cast<unsigned long long>(buckets_[b]), 100.0 * share,
                  100.0 * cumulative / total, std::string(static_cast<size_t>(bar), '#').c_str());
    out.append(line);
  }
  return out;
}

}  // namespace lsmkv
