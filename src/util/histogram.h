// Histogram: summary statistics of a stream of non-negative values, meant for
// latencies in microseconds (benchmarks, "lsmkv.stats").
//
// Values are counted in exponentially spaced buckets: bucket 0 is [0, 1),
// then 15 buckets per decade (bounds 1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5,
// 4, 5, 6, 7, 8, 9 times a power of ten) up to 1e10, and a final bucket
// [1e10, +inf). A bucket's width is at most 25% of its lower bound.
// Percentiles interpolate linearly inside the bucket that holds the requested
// rank, so Percentile(p) lies in the same bucket as the exact p-th percentile
// sample; Min, Max, Average and StandardDeviation are exact.
//
// An empty histogram reports 0 for every statistic.
//
// Thread safety: not thread safe. Use one Histogram per thread and Merge them,
// or synchronise externally.
#ifndef LSMKV_UTIL_HISTOGRAM_H_
#define LSMKV_UTIL_HISTOGRAM_H_

#include <cstdint>
#include <string>

namespace lsmkv {

class Histogram {
 public:
  static constexpr int kNumBuckets = 152;

  Histogram() { Clear(); }

  void Clear();
  // Records one value. Negative values and NaN are recorded as 0.
  void Add(double value);
  // Records n copies of value (n == 0: nothing), as n calls of Add(value)
  // would, in constant time.
  void Add(double value, uint64_t n);
  // Adds every value recorded in other to this histogram.
  void Merge(const Histogram& other);

  uint64_t Count() const { return count_; }
  double Min() const { return count_ == 0 ? 0.0 : min_; }
  double Max() const { return count_ == 0 ? 0.0 : max_; }
  double Average() const;
  // Population standard deviation.
  double StandardDeviation() const;
  double Median() const { return Percentile(50.0); }
  // The value below which p percent of the recorded values fall (p is clamped
  // to [0, 100]); Percentile(0) == Min(), Percentile(100) == Max().
  double Percentile(double p) const;

  // A multi-line table: count and moments, a few percentiles, then one line
  // per non-empty bucket with its share, cumulative share and a bar.
  std::string ToString() const;

  // Bucket b covers [BucketLowerBound(b), BucketUpperBound(b)); the last
  // bucket's upper bound is +infinity. REQUIRES: 0 <= b < kNumBuckets.
  static double BucketLowerBound(int b);
  static double BucketUpperBound(int b);
  // The bucket a (non-negative) value is counted in.
  static int BucketFor(double value);

 private:
  uint64_t count_;
  double min_;
  double max_;
  double mean_;  // running mean (Welford)
  double m2_;    // sum of squared deviations from mean_
  uint64_t buckets_[kNumBuckets];
};

}  // namespace lsmkv

#endif  // LSMKV_UTIL_HISTOGRAM_H_
