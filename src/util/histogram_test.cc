#include "util/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "util/random.h"
#include "util/testutil.h"

namespace lsmkv {
namespace {

// The nearest-rank p-th percentile of sorted (non-empty) values.
double ExactPercentile(const std::vector<double>& sorted, double p) {
  const double threshold = static_cast<double>(sorted.size()) * p / 100.0;
  size_t rank = static_cast<size_t>(std::ceil(threshold));  // 1-based
  if (rank == 0) rank = 1;
  return sorted[rank - 1];
}

double BucketWidthAt(double value) {
  const int b = Histogram::BucketFor(value);
  return Histogram::BucketUpperBound(b) - Histogram::BucketLowerBound(b);
}

void ExpectPercentilesClose(const Histogram& h, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  for (double p :
       {0.0, 0.1, 1.0, 5.0, 10.0, 25.0, 33.3, 50.0, 66.6, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0}) {
    const double exact = ExactPercentile(values, p);
    const double estimate = h.Percentile(p);
    EXPECT_NEAR(exact, estimate, BucketWidthAt(exact)) << "p=" << p;
    EXPECT_GE(estimate, values.front());
    EXPECT_LE(estimate, values.back());
  }
  EXPECT_EQ(h.Percentile(50), h.Median());
  EXPECT_DOUBLE_EQ(values.front(), h.Percentile(0));
  EXPECT_DOUBLE_EQ(values.back(), h.Percentile(100));
}

// a and b hold the same values: equal counts, extremes and percentiles, and
// moments equal but for the last bits of floating-point sums.
void ExpectSameDistribution(const Histogram& a, const Histogram& b) {
  EXPECT_EQ(a.Count(), b.Count());
  EXPECT_EQ(a.Min(), b.Min());
  EXPECT_EQ(a.Max(), b.Max());
  EXPECT_NEAR(a.Average(), b.Average(), 1e-9 * std::max(1.0, a.Average()));
  EXPECT_NEAR(a.StandardDeviation(), b.StandardDeviation(),
              1e-9 * std::max(1.0, a.StandardDeviation()));
  for (double p : {0.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_DOUBLE_EQ(a.Percentile(p), b.Percentile(p)) << p;
  }
}

TEST(HistogramTest, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(0u, h.Count());
  EXPECT_EQ(0.0, h.Min());
  EXPECT_EQ(0.0, h.Max());
  EXPECT_EQ(0.0, h.Average());
  EXPECT_EQ(0.0, h.StandardDeviation());
  EXPECT_EQ(0.0, h.Median());
  EXPECT_EQ(0.0, h.Percentile(0));
  EXPECT_EQ(0.0, h.Percentile(99));
  EXPECT_EQ(0.0, h.Percentile(100));
  const std::string s = h.ToString();
  EXPECT_NE(std::string::npos, s.find("Count: 0"));
  EXPECT_EQ(std::string::npos, s.find("nan"));
  EXPECT_EQ(std::string::npos, s.find("inf"));
}

TEST(HistogramTest, BucketTableIsContiguousAndExponential) {
  EXPECT_EQ(0.0, Histogram::BucketLowerBound(0));
  EXPECT_EQ(1.0, Histogram::BucketUpperBound(0));
  EXPECT_EQ(1e10, Histogram::BucketLowerBound(Histogram::kNumBuckets - 1));
  EXPECT_TRUE(std::isinf(Histogram::BucketUpperBound(Histogram::kNumBuckets - 1)));
  for (int b = 1; b < Histogram::kNumBuckets; b++) {
    ASSERT_EQ(Histogram::BucketUpperBound(b - 1), Histogram::BucketLowerBound(b));
    ASSERT_LT(Histogram::BucketLowerBound(b), Histogram::BucketUpperBound(b));
    if (b < Histogram::kNumBuckets - 1) {
      // Width at most 25% of the lower bound.
      ASSERT_LE(Histogram::BucketUpperBound(b), 1.25 * Histogram::BucketLowerBound(b) * (1 + 1e-12))
          << b;
    }
  }
  for (int b = 0; b < Histogram::kNumBuckets; b++) {
    const double lo = Histogram::BucketLowerBound(b);
    ASSERT_EQ(b, Histogram::BucketFor(lo)) << b;
    if (b + 1 < Histogram::kNumBuckets) {
      ASSERT_EQ(b, Histogram::BucketFor(std::nextafter(Histogram::BucketUpperBound(b), 0.0)));
    }
  }
  EXPECT_EQ(Histogram::kNumBuckets - 1, Histogram::BucketFor(1e300));
}

TEST(HistogramTest, SingleValue) {
  Histogram h;
  h.Add(42.5);
  EXPECT_EQ(1u, h.Count());
  EXPECT_EQ(42.5, h.Min());
  EXPECT_EQ(42.5, h.Max());
  EXPECT_EQ(42.5, h.Average());
  EXPECT_EQ(0.0, h.StandardDeviation());
  for (double p : {0.0, 1.0, 50.0, 99.0, 100.0}) EXPECT_EQ(42.5, h.Percentile(p)) << p;
}

TEST(HistogramTest, MomentsAreExact) {
  Histogram h;
  for (double v : {2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0}) h.Add(v);
  EXPECT_EQ(8u, h.Count());
  EXPECT_DOUBLE_EQ(5.0, h.Average());
  EXPECT_DOUBLE_EQ(2.0, h.StandardDeviation());  // the classic population example
  EXPECT_EQ(2.0, h.Min());
  EXPECT_EQ(9.0, h.Max());
}

TEST(HistogramTest, StandardDeviationOfLargeCloseValues) {
  // Naive sum-of-squares loses all precision here.
  Histogram h;
  for (int i = 0; i < 1000; i++) h.Add(1e9 + (i % 2 == 0 ? 1.0 : -1.0));
  EXPECT_NEAR(1.0, h.StandardDeviation(), 1e-6);
  EXPECT_NEAR(1e9, h.Average(), 1e-3);
}

TEST(HistogramTest, NegativeAndNanRecordedAsZero) {
  Histogram h;
  h.Add(-5);
  h.Add(std::nan(""));
  EXPECT_EQ(2u, h.Count());
  EXPECT_EQ(0.0, h.Min());
  EXPECT_EQ(0.0, h.Max());
  EXPECT_EQ(0.0, h.Average());
}

TEST(HistogramTest, PercentilesMatchSortedVectorUniform) {
  Random rnd(test::TestSeed());
  Histogram h;
  std::vector<double> values;
  for (int i = 0; i < 20000; i++) {
    const double v = rnd.Uniform(1000000) / 100.0;  // 0 .. 10000 with fractions
    values.push_back(v);
    h.Add(v);
  }
  ExpectPercentilesClose(h, values);
}

TEST(HistogramTest, PercentilesMatchSortedVectorSkewed) {
  // Latency-like: mostly small, with a long tail over many decades.
  Random rnd(test::TestSeed() + 1);
  Histogram h;
  std::vector<double> values;
  for (int i = 0; i < 20000; i++) {
    const double v = rnd.Skewed(30) + rnd.Uniform(1000) / 1000.0;
    values.push_back(v);
    h.Add(v);
  }
  ExpectPercentilesClose(h, values);
}

TEST(HistogramTest, PercentilesOfSmallSamples) {
  Random rnd(test::TestSeed() + 2);
  for (int n = 1; n <= 30; n++) {
    Histogram h;
    std::vector<double> values;
    for (int i = 0; i < n; i++) {
      const double v = rnd.Uniform(5000) * 1.5;
      values.push_back(v);
      h.Add(v);
    }
    SCOPED_TRACE("n=" + std::to_string(n));
    ExpectPercentilesClose(h, values);
  }
}

TEST(HistogramTest, PercentileIsMonotonic) {
  Random rnd(test::TestSeed() + 3);
  Histogram h;
  for (int i = 0; i < 5000; i++) h.Add(rnd.Skewed(20));
  double prev = h.Percentile(0);
  for (int i = 1; i <= 1000; i++) {
    const double cur = h.Percentile(i / 10.0);
    ASSERT_GE(cur, prev) << i;
    prev = cur;
  }
  EXPECT_EQ(h.Percentile(0), h.Percentile(-10));
  EXPECT_EQ(h.Percentile(100), h.Percentile(250));
}

TEST(HistogramTest, MergeEqualsAddingEverything) {
  Random rnd(test::TestSeed() + 4);
  Histogram a;
  Histogram b;
  Histogram all;
  for (int i = 0; i < 10000; i++) {
    const double v = rnd.Skewed(25) * 0.75;
    (rnd.OneIn(3) ? a : b).Add(v);
    all.Add(v);
  }
  Histogram merged = a;
  merged.Merge(b);
  ExpectSameDistribution(all, merged);
  // The bucket table is printed identically; only the moments may differ in
  // the last bits, so compare from the percentile line on.
  const std::string s_all = all.ToString();
  const std::string s_merged = merged.ToString();
  EXPECT_EQ(s_all.substr(s_all.find("Percentiles")), s_merged.substr(s_merged.find("Percentiles")));
}

TEST(HistogramTest, AddingCopiesEqualsAddingEachOne) {
  Random rnd(test::TestSeed() + 5);
  Histogram one_by_one;
  Histogram copies;
  copies.Add(3.0, 0);  // nothing
  EXPECT_EQ(0u, copies.Count());
  for (int i = 0; i < 200; i++) {
    const double v = rnd.Skewed(20) * 1.5;
    const uint64_t n = rnd.Uniform(50);
    for (uint64_t k = 0; k < n; k++) one_by_one.Add(v);
    copies.Add(v, n);
  }
  copies.Add(-1.0, 2);  // recorded as zeros, as Add records them
  one_by_one.Add(-1.0);
  one_by_one.Add(-1.0);
  ExpectSameDistribution(one_by_one, copies);
}

TEST(HistogramTest, MergeWithEmpty) {
  Histogram h;
  h.Add(3);
  h.Add(7);
  Histogram empty;
  h.Merge(empty);
  EXPECT_EQ(2u, h.Count());
  EXPECT_EQ(3.0, h.Min());
  EXPECT_EQ(7.0, h.Max());
  EXPECT_DOUBLE_EQ(5.0, h.Average());
  empty.Merge(h);
  EXPECT_EQ(2u, empty.Count());
  EXPECT_EQ(3.0, empty.Min());
  EXPECT_EQ(7.0, empty.Max());
  EXPECT_DOUBLE_EQ(2.0, empty.StandardDeviation());
}

TEST(HistogramTest, ClearResets) {
  Histogram h;
  for (int i = 0; i < 100; i++) h.Add(i);
  h.Clear();
  EXPECT_EQ(0u, h.Count());
  EXPECT_EQ(0.0, h.Max());
  EXPECT_EQ(0.0, h.Percentile(50));
  h.Add(10);
  EXPECT_EQ(10.0, h.Min());
  EXPECT_EQ(10.0, h.Median());
}

TEST(HistogramTest, ToStringListsBuckets) {
  Histogram h;
  for (int i = 0; i < 90; i++) h.Add(1.5);
  for (int i = 0; i < 10; i++) h.Add(300);
  const std::string s = h.ToString();
  EXPECT_NE(std::string::npos, s.find("Count: 100")) << s;
  EXPECT_NE(std::string::npos, s.find("Min: 1.5000")) << s;
  EXPECT_NE(std::string::npos, s.find("Max: 300.0000")) << s;
  // Two occupied buckets, [1.4, 1.6) and [300, 350), with their shares.
  EXPECT_NE(std::string::npos, s.find("90.000%")) << s;
  EXPECT_NE(std::string::npos, s.find("100.000%")) << s;
  EXPECT_NE(std::string::npos, s.find("1.4")) << s;
  EXPECT_NE(std::string::npos, s.find("350")) << s;
  EXPECT_EQ(2, std::count(s.begin(), s.end(), '['));
}

}  // namespace
}  // namespace lsmkv
