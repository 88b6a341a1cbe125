// LatencySamples: the latencies of one scenario in one load level, kept
// exactly (one double per request, in milliseconds), and the numbers a
// report reads from them: min/mean/max, percentiles and a histogram.
//
// Percentiles use the nearest-rank method (the value at rank
// ceil(p/100 * n) of the sorted samples, so every percentile is a latency
// that was actually observed): p50 of {1, 2, 3, 4} is 2, p100 is the max.
//
// Memory: 8 bytes a sample; a run is at most an hour, so even 1,000 req/s
// stays under 30 MiB per scenario.
//
// Thread-safety: none; the load driver fills it under its own lock.

#ifndef SAM2_CLIENT_LOADTEST_LATENCY_STATS_H_
#define SAM2_CLIENT_LOADTEST_LATENCY_STATS_H_

#include <cstdint>
#include <vector>

namespace sam2::loadtest {

struct LatencySummary {
  int64_t count = 0;
  // All zero when count is 0.
  double min = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
};

// Equal-width bins over [lo, hi] (the top edge falls in the last bin);
// samples > hi are counted in `overflow`
// (a long tail would otherwise squash every other bar into one).
struct Histogram {
  double lo = 0;
  double hi = 0;
  std::vector<int64_t> counts;
  int64_t overflow = 0;

  double bin_width() const {
    return counts.empty() ? 0 : (hi - lo) / static_cast<double>(counts.size());
  }
};

class LatencySamples {
 public:
  void Add(double value);
  void Merge(const LatencySamples& other);

  int64_t count() const { return static_cast<int64_t>(values_.size()); }
  bool empty() const { return values_.empty(); }

  // Nearest-rank percentile, p in [0, 100] (clamped); 0 when empty.
  double Percentile(double p) const;
  LatencySummary Summary() const;

  // `bins` equal bins from the smallest sample to the largest, or — when the
  // largest is more than 3x the p99 — to 1.5x the p99, the rest in
  // `overflow`. Empty samples: no bins.
  Histogram MakeHistogram(int bins) const;

  // The samples, sorted ascending.
  const std::vector<double>& sorted() const;

 private:
  mutable std::vector<double> values_;
  mutable bool sorted_ = true;
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_LATENCY_STATS_H_
