#include "client/loadtest/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sam2::loadtest {

void LatencySamples::Add(double value) {
  if (sorted_ && !values_.empty() && value < values_.back()) sorted_ = false;
  values_.push_back(value);
}

void LatencySamples::Merge(const LatencySamples& other) {
  for (double v : other.values_) Add(v);
}

const std::vector<double>& LatencySamples::sorted() const {
  if (!sorted_) {
    std::sort(values_.begin(), values_.end());
    sorted_ = true;
  }
  return values_;
}

double LatencySamples::Percentile(double p) const {
  const std::vector<double>& v = sorted();
  if (v.empty()) return 0;
  p = std::clamp(p, 0.0, 100.0);
  const double n = static_cast<double>(v.size());
  // Rank 1..n; the tiny epsilon keeps p/100*n exact for values such as
  // 0.9 * 10 that binary floating point puts a hair above the integer.
  int64_t rank = static_cast<int64_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<int64_t>(rank, 1, static_cast<int64_t>(v.size()));
  return v[static_cast<size_t>(rank - 1)];
}

LatencySummary LatencySamples::Summary() const {
  LatencySummary s;
  const std::vector<double>& v = sorted();
  if (v.empty()) return s;
  s.count = static_cast<int64_t>(v.size());
  s.min = v.front();
  s.max = v.back();
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  s.p50 = Percentile(50);
  s.p90 = Percentile(90);
  s.p95 = Percentile(95);
  s.p99 = Percentile(99);
  return s;
}

Histogram LatencySamples::MakeHistogram(int bins) const {
  Histogram h;
  const std::vector<double>& v = sorted();
  if (v.empty() || bins <= 0) return h;
  h.lo = v.front();
  h.hi = v.back();
  const double p99 = Percentile(99);
  if (h.hi > 3 * p99 && p99 > h.lo) h.hi = 1.5 * p99;
  if (h.hi <= h.lo) h.hi = h.lo + std::max(1e-3, std::abs(h.lo) * 1e-3);
  h.counts.assign(static_cast<size_t>(bins), 0);
  const double width = h.bin_width();
  for (double x : v) {
    if (x > h.hi) {
      ++h.overflow;
      continue;
    }
    int64_t bin = static_cast<int64_t>((x - h.lo) / width);
    // The largest sample sits on the upper edge of the last bin.
    bin = std::clamp<int64_t>(bin, 0, bins - 1);
    ++h.counts[static_cast<size_t>(bin)];
  }
  return h;
}

}  // namespace sam2::loadtest
