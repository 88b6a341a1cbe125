// Percentiles, summary and histogram of LatencySamples on known data.

#include "client/loadtest/latency_stats.h"

#include <gtest/gtest.h>

#include <numeric>

namespace sam2::loadtest {
namespace {

LatencySamples OneToN(int n, bool reversed = false) {
  LatencySamples s;
  for (int i = 1; i <= n; ++i) s.Add(reversed ? n + 1 - i : i);
  return s;
}

TEST(LatencyStatsTest, NearestRankPercentilesOfOneToHundred) {
  // Added in descending order: the percentiles must not depend on it.
  const LatencySamples s = OneToN(100, /*reversed=*/true);
  EXPECT_EQ(s.Percentile(0), 1);
  EXPECT_EQ(s.Percentile(1), 1);
  EXPECT_EQ(s.Percentile(50), 50);
  EXPECT_EQ(s.Percentile(90), 90);
  EXPECT_EQ(s.Percentile(95), 95);
  EXPECT_EQ(s.Percentile(99), 99);
  EXPECT_EQ(s.Percentile(99.5), 100);
  EXPECT_EQ(s.Percentile(100), 100);
  EXPECT_EQ(s.Percentile(250), 100);  // clamped
}

TEST(LatencyStatsTest, SmallSetsPickObservedValues) {
  LatencySamples s;
  for (double v : {4.0, 1.0, 3.0, 2.0}) s.Add(v);
  EXPECT_EQ(s.Percentile(50), 2);  // rank ceil(2) = 2
  EXPECT_EQ(s.Percentile(51), 3);  // rank ceil(2.04) = 3
  EXPECT_EQ(s.Percentile(75), 3);
  EXPECT_EQ(s.Percentile(76), 4);
  // p90 of ten samples is the 9th, not an interpolation.
  LatencySamples ten = OneToN(10);
  EXPECT_EQ(ten.Percentile(90), 9);
  EXPECT_EQ(ten.Percentile(91), 10);
}

TEST(LatencyStatsTest, SummaryOfKnownData) {
  LatencySamples s;
  for (double v : {5.0, 1.0, 9.0, 3.0, 7.0}) s.Add(v);
  const LatencySummary sum = s.Summary();
  EXPECT_EQ(sum.count, 5);
  EXPECT_EQ(sum.min, 1);
  EXPECT_EQ(sum.max, 9);
  EXPECT_DOUBLE_EQ(sum.mean, 5);
  EXPECT_EQ(sum.p50, 5);
  EXPECT_EQ(sum.p90, 9);
  EXPECT_EQ(sum.p99, 9);
}

TEST(LatencyStatsTest, EmptyIsAllZero) {
  const LatencySamples s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.Percentile(50), 0);
  const LatencySummary sum = s.Summary();
  EXPECT_EQ(sum.count, 0);
  EXPECT_EQ(sum.max, 0);
  EXPECT_TRUE(s.MakeHistogram(10).counts.empty());
}

TEST(LatencyStatsTest, AddAfterReadingKeepsOrder) {
  LatencySamples s = OneToN(3);
  EXPECT_EQ(s.Percentile(100), 3);
  s.Add(0.5);
  EXPECT_EQ(s.Percentile(0), 0.5);
  EXPECT_EQ(s.Percentile(100), 3);
  LatencySamples other;
  other.Add(10);
  s.Merge(other);
  EXPECT_EQ(s.count(), 5);
  EXPECT_EQ(s.Percentile(100), 10);
}

TEST(LatencyStatsTest, HistogramCountsEverySampleOnce) {
  const LatencySamples s = OneToN(100);
  const Histogram h = s.MakeHistogram(10);
  EXPECT_EQ(h.lo, 1);
  EXPECT_EQ(h.hi, 100);
  ASSERT_EQ(h.counts.size(), 10u);
  EXPECT_EQ(h.overflow, 0);
  EXPECT_EQ(std::accumulate(h.counts.begin(), h.counts.end(), int64_t{0}), 100);
  // Width 9.9: [1, 10.9) holds 1..10; the last bin [90.1, 100] holds
  // 91..100 (the maximum sits on its upper edge).
  for (int64_t c : h.counts) EXPECT_EQ(c, 10);
}

TEST(LatencyStatsTest, HistogramPutsALongTailInOverflow) {
  LatencySamples s;
  for (int i = 0; i < 200; ++i) s.Add(10 + (i % 10));  // 10..19
  s.Add(1000);                                           // one outlier
  const Histogram h = s.MakeHistogram(20);
  EXPECT_EQ(h.overflow, 1);
  EXPECT_DOUBLE_EQ(h.hi, 1.5 * s.Percentile(99));
  EXPECT_EQ(std::accumulate(h.counts.begin(), h.counts.end(), int64_t{0}) +
                h.overflow,
            201);
}

TEST(LatencyStatsTest, HistogramOfEqualValues) {
  LatencySamples s;
  for (int i = 0; i < 7; ++i) s.Add(2.5);
  const Histogram h = s.MakeHistogram(5);
  EXPECT_GT(h.hi, h.lo);
  EXPECT_EQ(h.counts[0], 7);
  EXPECT_EQ(h.overflow, 0);
}

}  // namespace
}  // namespace sam2::loadtest
