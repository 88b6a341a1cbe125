// MetricsRegistry: a small, self-contained Prometheus metrics registry that
// renders the text exposition format 0.0.4 (the format Prometheus scrapes from
// `/metrics`). prometheus-cpp is not packaged for Debian 12, and the service
// needs only counters, gauges, histograms and scrape-time callbacks, so the
// whole thing lives here.
//
// Model:
//   - A *family* is one metric name with its help text, type and label names.
//     Families are registered once at start-up (Add*) and live as long as the
//     registry; the returned pointers stay valid for the registry's life.
//   - A *series* is one combination of label values within a family; it is
//     created on first use (WithLabels) and never removed. Callers on hot paths
//     may keep the returned Counter*/Gauge*/Histogram* and skip the lookup.
//
// Errors: registration problems (bad metric or label names, duplicate names,
// bad bucket bounds) are programmer errors and come back as absl::Status from
// Add*. A wrong number of label values at WithLabels, or a family that has
// reached kMaxSeriesPerFamily, is never fatal: WithLabels returns a metric that
// accepts updates and is never exported (a documented no-op), so a bug in a
// metrics call can never take the server down.
//
// Thread-safety: every method is safe to call from any thread. Counter, Gauge
// and Histogram updates are lock-free (atomics); WithLabels takes a reader lock
// on the family (a writer lock only when it creates a series); Render takes
// locks briefly to snapshot and calls the callbacks without holding any
// registry lock, so a callback may itself take its owner's locks.
//
// Locks are std::mutex / std::shared_mutex, not absl::Mutex: Debian's Abseil
// is not built with ThreadSanitizer, so tsan cannot see absl::Mutex's
// happens-before edges and --config=tsan would report only false races
// (server/worker_pool.h made the same choice).

#ifndef SAM2_SERVER_METRICS_H_
#define SAM2_SERVER_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// Most series (label-value combinations) one family keeps; beyond it new label
// sets go to the unexported sink. Bounds memory and scrape size if a caller
// ever feeds an unbounded value (e.g. a session id) into a label.
inline constexpr size_t kMaxSeriesPerFamily = 1000;
// Most label names on one family.
inline constexpr size_t kMaxLabelsPerFamily = 16;
// Most finite bucket bounds on one histogram (+Inf is implicit and extra).
inline constexpr size_t kMaxHistogramBuckets = 64;
// Significant digits ExponentialBuckets keeps, so 0.1 * 3^k prints as
// "0.9" rather than "0.9000000000000001" in the `le` label.
inline constexpr int kBucketSignificantDigits = 12;

enum class MetricType { kCounter, kGauge, kHistogram };

// "counter", "gauge" or "histogram": the word used on the `# TYPE` line.
absl::string_view MetricTypeName(MetricType type);

// Formats a sample value the way Prometheus parses it: integral values below
// 2^53 in plain decimal ("42", "0"), others in the shortest form that
// round-trips ("0.25", "1e-05"), and "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);

// Prometheus data-model name checks: metric names match
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*; names that
// start with "__" are reserved for Prometheus itself.
bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);

// `count` bounds: start, start*factor, ..., start*factor^(count-1), each
// rounded to kBucketSignificantDigits. Returns an empty vector (a histogram
// with only the +Inf bucket) unless start > 0, factor > 1 and
// 1 <= count <= kMaxHistogramBuckets.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// Request and stage latencies in seconds: 1 ms .. 5 min in 1-2-5 steps
// (CPU encoders take seconds; a long video propagation takes minutes).
std::vector<double> DefaultLatencyBuckets();

// A monotonically increasing value. Lock-free.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `amount`. Negative or NaN amounts are ignored: a counter that goes
  // down is read by Prometheus as a restart.
  void Increment(double amount = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down. Lock-free.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations sorted into buckets with upper bounds `le`. Lock-free.
class Histogram {
 public:
  // `bounds` strictly increasing and finite (validated by AddHistogram).
  explicit Histogram(const std::vector<double>* bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in the first bucket whose bound is >= value (+Inf if none)
  // and adds it to the sum. NaN is ignored: it would turn the sum into NaN for
  // the life of the process.
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;  // == cumulative_counts.back()
  };
  // Counts read bucket by bucket; under concurrent Observe calls the sum may
  // lag or lead the counts by those in-flight observations (as in every
  // Prometheus client), but _count always equals the +Inf bucket.
  Snapshot Collect() const;

 private:
  const std::vector<double>* bounds_;  // owned by the family
  // Non-cumulative per-bucket counts; the last one is the +Inf bucket.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// Shared plumbing of the three family types: name, help, label names and the
// series map. Not used directly.
class MetricFamilyBase {
 public:
  virtual ~MetricFamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends this family's `# HELP`, `# TYPE` and sample lines to `out`.
  virtual void Render(std::string& out) const = 0;

 protected:
  MetricFamilyBase(std::string name, std::string help, MetricType type,
                   std::vector<std::string> label_names);

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// One family of series of type T (Counter, Gauge or Histogram).
template <typename T>
class MetricFamily : public MetricFamilyBase {
 public:
  // The series for `label_values` (one per label name, in order), created on
  // first use. Never null. If the number of values is wrong, or the family
  // already holds kMaxSeriesPerFamily series, returns a sink that is never
  // exported: updates to it are a no-op as far as scrapes are concerned.
  T* WithLabels(const std::vector<std::string>& label_values);

  void Render(std::string& out) const override;

 private:
  friend class MetricsRegistry;
  MetricFamily(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names,
               std::vector<double> bounds);
  std::unique_ptr<T> NewSeries() const;

  // Histogram bucket bounds (empty for counters and gauges); never changes.
  const std::vector<double> bounds_;
  mutable std::shared_mutex mu_;
  // Ordered by label values so scrapes are deterministic.
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_
      ABSL_GUARDED_BY(mu_);
  std::unique_ptr<T> sink_;
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

// One sample reported by a scrape-time callback.
struct CallbackSample {
  std::vector<std::string> label_values;  // one per label name, in order
  double value = 0;
};
using MetricCallback = std::function<std::vector<CallbackSample>()>;

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Each Add* validates the names (see IsValidMetricName/IsValidLabelName;
  // label names unique, at most kMaxLabelsPerFamily), rejects a name already
  // taken (including a histogram's _bucket/_sum/_count sample names) and
  // returns InvalidArgumentError or AlreadyExistsError. Counter names must end
  // in "_total", the exposition convention. Families render in registration
  // order. A family with no labels has its single series created at once, so
  // it is exported (as 0) before its first update.
  absl::StatusOr<CounterFamily*> AddCounter(
      std::string name, std::string help,
      std::vector<std::string> label_names);
  absl::StatusOr<GaugeFamily*> AddGauge(std::string name, std::string help,
                                        std::vector<std::string> label_names);
  // `bucket_bounds`: strictly increasing, no NaN, at most kMaxHistogramBuckets
  // finite values; a trailing +Inf is accepted and dropped (it is implicit).
  // The label name "le" is reserved.
  absl::StatusOr<HistogramFamily*> AddHistogram(
      std::string name, std::string help, std::vector<std::string> label_names,
      std::vector<double> bucket_bounds);

  // A counter or gauge whose samples `collect` computes at each Render (e.g.
  // live sessions read from the session store). `type` must be kCounter or
  // kGauge. `collect` runs on the scraping thread with no registry lock held;
  // samples with the wrong number of label values, or repeating an earlier
  // sample's label values, are skipped, as are samples beyond
  // kMaxSeriesPerFamily.
  absl::Status AddCallback(std::string name, std::string help, MetricType type,
                           std::vector<std::string> label_names,
                           MetricCallback collect);
  // AddCallback with type kGauge.
  absl::Status AddGaugeCallback(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                MetricCallback collect);

  // The exposition text (format 0.0.4), every line ending in '\n'.
  std::string Render() const;

 private:
  // Checks names and reserves every sample name the family will emit.
  absl::Status Register(const std::string& name, MetricType type,
                        const std::vector<std::string>& label_names,
                        absl::string_view reserved_label)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamilyBase>> families_
      ABSL_GUARDED_BY(mu_);
  // Sample names in use (a histogram reserves name_bucket, name_sum,
  // name_count and name), so no two families can emit the same sample.
  absl::flat_hash_set<std::string> sample_names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sam2

#endif  // SAM2_SERVER_METRICS_H_
