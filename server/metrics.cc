// MetricsRegistry implementation: families, series, and the text exposition
// format 0.0.4 renderer. See metrics.h for the model and thread-safety.

#include "server/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// Integral values with magnitude below 2^53 are exact in a double, so they
// print as plain integers ("3", not "3e+00" or "3.0000000000000004").
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
// A double round-trips through at most 17 significant digits.
constexpr int kMaxRoundTripDigits = 17;
// Start from the digits a double always represents exactly, so short values
// such as 0.1 print as "0.1".
constexpr int kMinRoundTripDigits = 15;

// atomic<double> has no fetch_add before C++20.
void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta,
                                       std::memory_order_relaxed)) {
  }
}

// Shortest %.Ng (N in [from, 17]) that parses back to exactly `value`.
std::string ShortestRoundTrip(double value, int from) {
  char buf[32];
  for (int digits = from; digits <= kMaxRoundTripDigits; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

// `# HELP` text escapes only backslash and newline (format 0.0.4).
void AppendEscapedHelp(std::string& out, absl::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Label values escape backslash, double quote and newline.
void AppendEscapedLabelValue(std::string& out, absl::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void AppendHeader(std::string& out, const MetricFamilyBase& family) {
  absl::StrAppend(&out, "# HELP ", family.name(), " ");
  AppendEscapedHelp(out, family.help());
  absl::StrAppend(&out, "\n# TYPE ", family.name(), " ",
                  MetricTypeName(family.type()), "\n");
}

// One sample line: name{l1="v1",...,extra="value"} value
// `extra_label` (the histogram's `le`) is appended when non-empty. A label
// whose value is empty is left out: Prometheus treats `l=""` as no label at
// all, and leaving it out keeps a series' text the same whether or not an
// optional label (e.g. the tenant, without authentication) is in use.
void AppendSample(std::string& out, absl::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  absl::string_view extra_label,
                  absl::string_view extra_value, double value) {
  out.append(name.data(), name.size());
  bool any = false;
  for (const std::string& v : label_values) any = any || !v.empty();
  if (any || !extra_label.empty()) {
    out += '{';
    bool first = true;
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (label_values[i].empty()) continue;
      if (!first) out += ',';
      first = false;
      absl::StrAppend(&out, label_names[i], "=\"");
      AppendEscapedLabelValue(out, label_values[i]);
      out += '"';
    }
    if (!extra_label.empty()) {
      if (!first) out += ',';
      absl::StrAppend(&out, extra_label, "=\"");
      AppendEscapedLabelValue(out, extra_value);
      out += '"';
    }
    out += '}';
  }
  absl::StrAppend(&out, " ", FormatMetricValue(value), "\n");
}

void RenderSeries(std::string& out, const MetricFamilyBase& family,
                  const std::vector<std::string>& label_values,
                  const Counter& counter) {
  AppendSample(out, family.name(), family.label_names(), label_values, "", "",
               counter.Value());
}

void RenderSeries(std::string& out, const MetricFamilyBase& family,
                  const std::vector<std::string>& label_values,
                  const Gauge& gauge) {
  AppendSample(out, family.name(), family.label_names(), label_values, "", "",
               gauge.Value());
}

// Histogram series: cumulative _bucket lines (ending with le="+Inf"), then
// _sum and _count.
void RenderHistogramSeries(std::string& out, const MetricFamilyBase& family,
                           const std::vector<double>& bounds,
                           const std::vector<std::string>& label_values,
                           const Histogram& histogram) {
  const Histogram::Snapshot snapshot = histogram.Collect();
  const std::string bucket_name = absl::StrCat(family.name(), "_bucket");
  for (size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
    const std::string le = i < bounds.size() ? FormatMetricValue(bounds[i])
                                             : std::string("+Inf");
    AppendSample(out, bucket_name, family.label_names(), label_values, "le",
                 le, static_cast<double>(snapshot.cumulative_counts[i]));
  }
  AppendSample(out, absl::StrCat(family.name(), "_sum"), family.label_names(),
               label_values, "", "", snapshot.sum);
  AppendSample(out, absl::StrCat(family.name(), "_count"),
               family.label_names(), label_values, "", "",
               static_cast<double>(snapshot.count));
}

// Scrape-time family: samples come from a callback at each Render.
class CallbackFamily : public MetricFamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, MetricCallback collect)
      : MetricFamilyBase(std::move(name), std::move(help), type,
                         std::move(label_names)),
        collect_(std::move(collect)) {}

  void Render(std::string& out) const override {
    AppendHeader(out, *this);
    std::vector<CallbackSample> samples = collect_();
    // Deterministic order, and a repeated label set would make the whole
    // scrape invalid: keep the first of each, within the series cap.
    std::stable_sort(samples.begin(), samples.end(),
                     [](const CallbackSample& a, const CallbackSample& b) {
                       return a.label_values < b.label_values;
                     });
    const std::vector<std::string>* previous = nullptr;
    size_t emitted = 0;
    for (const CallbackSample& sample : samples) {
      if (sample.label_values.size() != label_names().size()) continue;
      if (previous != nullptr && *previous == sample.label_values) continue;
      if (emitted == kMaxSeriesPerFamily) break;
      previous = &sample.label_values;
      ++emitted;
      AppendSample(out, name(), label_names(), sample.label_values, "", "",
                   sample.value);
    }
  }

 private:
  const MetricCallback collect_;
};

bool IsNameChar(char c, bool allow_colon) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         (allow_colon && c == ':');
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty() || absl::StartsWith(name, "__")) return false;
  if (absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return IsNameChar(c, allow_colon); });
}

}  // namespace

absl::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::fabs(value) < kMaxExactInteger && value == std::trunc(value)) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return ShortestRoundTrip(value, kMinRoundTripDigits);
}

bool IsValidMetricName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/true);
}

bool IsValidLabelName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/false);
}

std::vector<double> ExponentialBuckets(double start, double factor,
                                       int count) {
  std::vector<double> bounds;
  if (!(start > 0) || !(factor > 1) || count < 1 ||
      static_cast<size_t>(count) > kMaxHistogramBuckets) {
    return bounds;
  }
  bounds.reserve(count);
  char buf[32];
  double bound = start;
  for (int i = 0; i < count; ++i) {
    // Round away the multiplication noise so `le` labels read cleanly.
    std::snprintf(buf, sizeof(buf), "%.*g", kBucketSignificantDigits, bound);
    const double rounded = std::strtod(buf, nullptr);
    if (!std::isfinite(rounded)) break;
    if (!bounds.empty() && rounded <= bounds.back()) break;
    bounds.push_back(rounded);
    bound *= factor;
  }
  return bounds;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
          1,     2,     5,     10,   20,   30,   60,  120, 300};
}

void Counter::Increment(double amount) {
  if (!(amount >= 0)) return;  // negative or NaN
  AtomicAdd(value_, amount);
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds),
      buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // First bound >= value: Prometheus buckets are "less than or equal".
  const size_t index =
      std::lower_bound(bounds_->begin(), bounds_->end(), value) -
      bounds_->begin();
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snapshot;
  snapshot.cumulative_counts.reserve(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help,
                                   MetricType type,
                                   std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

template <typename T>
MetricFamily<T>::MetricFamily(std::string name, std::string help,
                              MetricType type,
                              std::vector<std::string> label_names,
                              std::vector<double> bounds)
    : MetricFamilyBase(std::move(name), std::move(help), type,
                       std::move(label_names)),
      bounds_(std::move(bounds)),
      sink_(NewSeries()) {
  if (label_names_.empty()) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    series_.emplace(std::vector<std::string>(), NewSeries());
  }
}

template <>
std::unique_ptr<Histogram> MetricFamily<Histogram>::NewSeries() const {
  return std::make_unique<Histogram>(&bounds_);
}

template <typename T>
std::unique_ptr<T> MetricFamily<T>::NewSeries() const {
  return std::make_unique<T>();
}

template <typename T>
T* MetricFamily<T>::WithLabels(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) return sink_.get();
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = series_.find(label_values);
    if (it != series_.end()) return it->second.get();
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = series_.find(label_values);  // another thread may have added it
  if (it != series_.end()) return it->second.get();
  if (series_.size() >= kMaxSeriesPerFamily) return sink_.get();
  return series_.emplace(label_values, NewSeries()).first->second.get();
}

template <typename T>
void MetricFamily<T>::Render(std::string& out) const {
  AppendHeader(out, *this);
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [label_values, series] : series_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      RenderHistogramSeries(out, *this, bounds_, label_values, *series);
    } else {
      RenderSeries(out, *this, label_values, *series);
    }
  }
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

absl::Status MetricsRegistry::Register(
    const std::string& name, MetricType type,
    const std::vector<std::string>& label_names,
    absl::string_view reserved_label) {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid metric name \"", name, "\""));
  }
  if (type == MetricType::kCounter && !absl::EndsWith(name, "_total")) {
    return absl::InvalidArgumentError(
        absl::StrCat("counter name \"", name, "\" must end in _total"));
  }
  if (label_names.size() > kMaxLabelsPerFamily) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metric \"", name, "\" has ", label_names.size(),
        " labels; at most ", kMaxLabelsPerFamily, " allowed"));
  }
  std::set<absl::string_view> seen;
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric \"", name, "\": invalid label name \"", label, "\""));
    }
    if (!reserved_label.empty() && label == reserved_label) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric \"", name, "\": label name \"", label, "\" is reserved"));
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric \"", name, "\": duplicate label name \"", label, "\""));
    }
  }
  std::vector<std::string> samples = {name};
  if (type == MetricType::kHistogram) {
    samples.push_back(absl::StrCat(name, "_bucket"));
    samples.push_back(absl::StrCat(name, "_sum"));
    samples.push_back(absl::StrCat(name, "_count"));
  }
  for (const std::string& sample : samples) {
    if (sample_names_.contains(sample)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "metric \"", name, "\" collides with a registered sample name \"",
          sample, "\""));
    }
  }
  sample_names_.insert(samples.begin(), samples.end());
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> MetricsRegistry::AddCounter(
    std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status status =
      Register(name, MetricType::kCounter, label_names, /*reserved_label=*/"");
  if (!status.ok()) return status;
  auto* family =
      new CounterFamily(std::move(name), std::move(help), MetricType::kCounter,
                        std::move(label_names), /*bounds=*/{});
  families_.emplace_back(family);
  return family;
}

absl::StatusOr<GaugeFamily*> MetricsRegistry::AddGauge(
    std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status status =
      Register(name, MetricType::kGauge, label_names, /*reserved_label=*/"");
  if (!status.ok()) return status;
  auto* family =
      new GaugeFamily(std::move(name), std::move(help), MetricType::kGauge,
                      std::move(label_names), /*bounds=*/{});
  families_.emplace_back(family);
  return family;
}

absl::StatusOr<HistogramFamily*> MetricsRegistry::AddHistogram(
    std::string name, std::string help, std::vector<std::string> label_names,
    std::vector<double> bucket_bounds) {
  if (!bucket_bounds.empty() && bucket_bounds.back() ==
                                    std::numeric_limits<double>::infinity()) {
    bucket_bounds.pop_back();  // +Inf is implicit
  }
  if (bucket_bounds.size() > kMaxHistogramBuckets) {
    return absl::InvalidArgumentError(absl::StrCat(
        "histogram \"", name, "\" has ", bucket_bounds.size(),
        " buckets; at most ", kMaxHistogramBuckets, " allowed"));
  }
  for (size_t i = 0; i < bucket_bounds.size(); ++i) {
    if (!std::isfinite(bucket_bounds[i]) ||
        (i > 0 && !(bucket_bounds[i] > bucket_bounds[i - 1]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram \"", name,
          "\": bucket bounds must be finite and strictly increasing"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status status = Register(name, MetricType::kHistogram, label_names,
                                 /*reserved_label=*/"le");
  if (!status.ok()) return status;
  auto* family = new HistogramFamily(std::move(name), std::move(help),
                                     MetricType::kHistogram,
                                     std::move(label_names),
                                     std::move(bucket_bounds));
  families_.emplace_back(family);
  return family;
}

absl::Status MetricsRegistry::AddCallback(std::string name, std::string help,
                                          MetricType type,
                                          std::vector<std::string> label_names,
                                          MetricCallback collect) {
  if (type == MetricType::kHistogram) {
    return absl::InvalidArgumentError(absl::StrCat(
        "callback metric \"", name, "\" must be a counter or a gauge"));
  }
  if (!collect) {
    return absl::InvalidArgumentError(
        absl::StrCat("callback metric \"", name, "\" has no callback"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status status = Register(name, type, label_names, "");
  if (!status.ok()) return status;
  families_.push_back(std::make_unique<CallbackFamily>(
      std::move(name), std::move(help), type, std::move(label_names),
      std::move(collect)));
  return absl::OkStatus();
}

absl::Status MetricsRegistry::AddGaugeCallback(
    std::string name, std::string help, std::vector<std::string> label_names,
    MetricCallback collect) {
  return AddCallback(std::move(name), std::move(help), MetricType::kGauge,
                     std::move(label_names), std::move(collect));
}

std::string MetricsRegistry::Render() const {
  // Families are never removed, so the pointers outlive the lock; render
  // without it so callbacks may take their owners' locks freely.
  std::vector<const MetricFamilyBase*> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    families.reserve(families_.size());
    for (const auto& family : families_) families.push_back(family.get());
  }
  std::string out;
  for (const MetricFamilyBase* family : families) family->Render(out);
  return out;
}

}  // namespace sam2
