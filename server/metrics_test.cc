// Tests for MetricsRegistry: exact exposition text (format 0.0.4) for each
// metric type, escaping, value formatting, callbacks, name validation, the
// no-op sink for bad label arity, and concurrent updates (run under
// --config=tsan too).

#include "server/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace sam2 {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(FormatMetricValueTest, IntegersHaveNoExponentNoise) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(42), "42");
  EXPECT_EQ(FormatMetricValue(-7), "-7");
  EXPECT_EQ(FormatMetricValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatMetricValue(9007199254740991.0), "9007199254740991");
}

TEST(FormatMetricValueTest, FractionsRoundTrip) {
  EXPECT_EQ(FormatMetricValue(0.5), "0.5");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(1e-05), "1e-05");
  EXPECT_EQ(FormatMetricValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  for (double v : {0.1 + 0.2, 1.0 / 3, 123.456, 6.02214076e23, 5e-324}) {
    EXPECT_EQ(std::strtod(FormatMetricValue(v).c_str(), nullptr), v) << v;
  }
}

TEST(FormatMetricValueTest, SpecialValues) {
  EXPECT_EQ(FormatMetricValue(kInf), "+Inf");
  EXPECT_EQ(FormatMetricValue(-kInf), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsRegistryTest, Counter) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("sam2_requests_total", "Requests handled.",
                                    {"method", "code"});
  ASSERT_TRUE(family.ok()) << family.status();
  (*family)->WithLabels({"Segment", "OK"})->Increment();
  (*family)->WithLabels({"Segment", "OK"})->Increment(2);
  (*family)->WithLabels({"CreateImageSession", "NOT_FOUND"})->Increment(0.5);
  (*family)->WithLabels({"Segment", "OK"})->Increment(-5);  // ignored
  EXPECT_EQ(registry.Render(),
            "# HELP sam2_requests_total Requests handled.\n"
            "# TYPE sam2_requests_total counter\n"
            "sam2_requests_total{method=\"CreateImageSession\","
            "code=\"NOT_FOUND\"} 0.5\n"
            "sam2_requests_total{method=\"Segment\",code=\"OK\"} 3\n");
}

// An empty label value is no label (Prometheus's reading of `l=""`): the
// optional tenant label leaves the text of tenant-less series unchanged.
TEST(MetricsRegistryTest, EmptyLabelValuesAreLeftOut) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("requests_total", "Requests.",
                                    {"method", "tenant"});
  ASSERT_TRUE(family.ok()) << family.status();
  (*family)->WithLabels({"Segment", ""})->Increment();
  (*family)->WithLabels({"Segment", "acme"})->Increment(2);
  (*family)->WithLabels({"", ""})->Increment(4);
  auto hist = registry.AddHistogram("latency_seconds", "Latency.", {"tenant"},
                                    {1});
  ASSERT_TRUE(hist.ok()) << hist.status();
  (*hist)->WithLabels({""})->Observe(0.5);
  EXPECT_EQ(registry.Render(),
            "# HELP requests_total Requests.\n"
            "# TYPE requests_total counter\n"
            "requests_total 4\n"
            "requests_total{method=\"Segment\"} 1\n"
            "requests_total{method=\"Segment\",tenant=\"acme\"} 2\n"
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"1\"} 1\n"
            "latency_seconds_bucket{le=\"+Inf\"} 1\n"
            "latency_seconds_sum 0.5\n"
            "latency_seconds_count 1\n");
}

TEST(MetricsRegistryTest, UnlabelledSeriesIsExportedBeforeFirstUpdate) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddCounter("frames_total", "Frames.", {}).ok());
  EXPECT_EQ(registry.Render(),
            "# HELP frames_total Frames.\n"
            "# TYPE frames_total counter\n"
            "frames_total 0\n");
}

TEST(MetricsRegistryTest, LabelledFamilyWithNoSeriesRendersOnlyHeader) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddGauge("g", "G.", {"a"}).ok());
  EXPECT_EQ(registry.Render(), "# HELP g G.\n# TYPE g gauge\n");
}

TEST(MetricsRegistryTest, Gauge) {
  MetricsRegistry registry;
  auto family = registry.AddGauge("temperature", "Degrees.", {});
  ASSERT_TRUE(family.ok()) << family.status();
  Gauge* gauge = (*family)->WithLabels({});
  gauge->Set(10);
  gauge->Add(-12.5);
  EXPECT_EQ(gauge->Value(), -2.5);
  EXPECT_EQ(registry.Render(),
            "# HELP temperature Degrees.\n"
            "# TYPE temperature gauge\n"
            "temperature -2.5\n");
  gauge->Set(kInf);
  EXPECT_EQ(registry.Render(),
            "# HELP temperature Degrees.\n"
            "# TYPE temperature gauge\n"
            "temperature +Inf\n");
}

TEST(MetricsRegistryTest, HistogramIsCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  auto family = registry.AddHistogram("latency_seconds", "Latency.",
                                      {"method"}, {0.25, 0.5, 1});
  ASSERT_TRUE(family.ok()) << family.status();
  Histogram* h = (*family)->WithLabels({"Segment"});
  h->Observe(0.125);  // <= 0.25
  h->Observe(0.25);   // le is inclusive: also <= 0.25
  h->Observe(0.375);  // <= 0.5
  h->Observe(2);     // +Inf only
  h->Observe(std::nan(""));  // ignored
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{method=\"Segment\",le=\"0.25\"} 2\n"
            "latency_seconds_bucket{method=\"Segment\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{method=\"Segment\",le=\"1\"} 3\n"
            "latency_seconds_bucket{method=\"Segment\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{method=\"Segment\"} 2.75\n"
            "latency_seconds_count{method=\"Segment\"} 4\n");
}

TEST(MetricsRegistryTest, UnlabelledHistogramAndTrailingInfBound) {
  MetricsRegistry registry;
  auto family = registry.AddHistogram("h", "H.", {}, {1, kInf});
  ASSERT_TRUE(family.ok()) << family.status();
  (*family)->WithLabels({})->Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP h H.\n"
            "# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\n"
            "h_bucket{le=\"+Inf\"} 1\n"
            "h_sum 3\n"
            "h_count 1\n");
}

TEST(MetricsRegistryTest, EscapesHelpAndLabelValues) {
  MetricsRegistry registry;
  auto family = registry.AddCounter(
      "escapes_total", "Back\\slash, \"quotes\" stay,\nnew line.", {"v"});
  ASSERT_TRUE(family.ok()) << family.status();
  (*family)->WithLabels({"a\\b\"c\nd"})->Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP escapes_total Back\\\\slash, \"quotes\" stay,\\nnew "
            "line.\n"
            "# TYPE escapes_total counter\n"
            "escapes_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistryTest, FamiliesRenderInRegistrationOrder) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddGauge("zeta", "Z.", {}).ok());
  ASSERT_TRUE(registry.AddCounter("alpha_total", "A.", {}).ok());
  EXPECT_EQ(registry.Render(),
            "# HELP zeta Z.\n# TYPE zeta gauge\nzeta 0\n"
            "# HELP alpha_total A.\n# TYPE alpha_total counter\n"
            "alpha_total 0\n");
}

TEST(MetricsRegistryTest, GaugeCallbackRunsAtEachRender) {
  MetricsRegistry registry;
  int live = 1;
  ASSERT_TRUE(registry
                  .AddGaugeCallback("sessions", "Live sessions.", {"kind"},
                                    [&live] {
                                      return std::vector<CallbackSample>{
                                          {{"video"}, 2},
                                          {{"image"}, double(live)},
                                      };
                                    })
                  .ok());
  EXPECT_EQ(registry.Render(),
            "# HELP sessions Live sessions.\n"
            "# TYPE sessions gauge\n"
            "sessions{kind=\"image\"} 1\n"
            "sessions{kind=\"video\"} 2\n");
  live = 5;
  EXPECT_EQ(registry.Render(),
            "# HELP sessions Live sessions.\n"
            "# TYPE sessions gauge\n"
            "sessions{kind=\"image\"} 5\n"
            "sessions{kind=\"video\"} 2\n");
}

TEST(MetricsRegistryTest, CounterCallbackSkipsBadArityAndDuplicates) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry
                  .AddCallback("removed_total", "Removed.",
                               MetricType::kCounter, {"kind", "reason"},
                               [] {
                                 return std::vector<CallbackSample>{
                                     {{"image", "expired"}, 3},
                                     {{"image"}, 9},  // wrong arity
                                     {{"image", "expired"}, 4},  // duplicate
                                     {{"image", "evicted"}, 1},
                                 };
                               })
                  .ok());
  EXPECT_EQ(registry.Render(),
            "# HELP removed_total Removed.\n"
            "# TYPE removed_total counter\n"
            "removed_total{kind=\"image\",reason=\"evicted\"} 1\n"
            "removed_total{kind=\"image\",reason=\"expired\"} 3\n");
}

TEST(MetricsRegistryTest, CallbackRejectsHistogramTypeAndEmptyFunction) {
  MetricsRegistry registry;
  auto collect = [] { return std::vector<CallbackSample>{}; };
  EXPECT_EQ(registry.AddCallback("h", "", MetricType::kHistogram, {}, collect)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGaugeCallback("g", "", {}, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      registry.AddCallback("c", "", MetricType::kCounter, {}, collect).code(),
      absl::StatusCode::kInvalidArgument);  // counter without _total
}

TEST(MetricsRegistryTest, WrongLabelCountIsANoOp) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("c_total", "C.", {"a", "b"});
  ASSERT_TRUE(family.ok());
  Counter* sink = (*family)->WithLabels({"only-one"});
  ASSERT_NE(sink, nullptr);
  sink->Increment();
  (*family)->WithLabels({"x", "y", "z"})->Increment();
  EXPECT_EQ(registry.Render(), "# HELP c_total C.\n# TYPE c_total counter\n");
}

TEST(MetricsRegistryTest, SeriesBeyondTheCapGoToTheSink) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("c_total", "C.", {"id"});
  ASSERT_TRUE(family.ok());
  for (size_t i = 0; i < kMaxSeriesPerFamily; ++i) {
    (*family)->WithLabels({std::to_string(i)})->Increment();
  }
  Counter* last = (*family)->WithLabels({"one-too-many"});
  last->Increment();
  EXPECT_EQ(registry.Render().find("one-too-many"), std::string::npos);
  // Existing series are still found.
  EXPECT_EQ((*family)->WithLabels({"0"})->Value(), 1);
}

TEST(MetricsRegistryTest, SeriesPointersAreStable) {
  MetricsRegistry registry;
  auto family = registry.AddGauge("g", "G.", {"k"});
  ASSERT_TRUE(family.ok());
  Gauge* first = (*family)->WithLabels({"a"});
  for (int i = 0; i < 100; ++i) {
    (*family)->WithLabels({std::to_string(i)});
  }
  EXPECT_EQ((*family)->WithLabels({"a"}), first);
}

TEST(MetricNameTest, Validation) {
  EXPECT_TRUE(IsValidMetricName("sam2_requests_total"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("2fast"));
  EXPECT_FALSE(IsValidMetricName("has-dash"));
  EXPECT_FALSE(IsValidMetricName("has space"));
  EXPECT_FALSE(IsValidMetricName("__reserved"));
  EXPECT_FALSE(IsValidMetricName("caf\xc3\xa9"));

  EXPECT_TRUE(IsValidLabelName("method"));
  EXPECT_TRUE(IsValidLabelName("_x1"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(MetricsRegistryTest, RejectsInvalidRegistrations) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.AddGauge("bad-name", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("g", "", {"bad-label"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("g", "", {"__x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("g", "", {"a", "a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("requests", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {"le"}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {2, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {std::nan("")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {-kInf, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry
                .AddHistogram("h", "", {},
                              std::vector<double>(kMaxHistogramBuckets + 1, 1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry
                .AddGauge("g", "",
                          std::vector<std::string>(kMaxLabelsPerFamily + 1, "l"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing above was registered.
  EXPECT_EQ(registry.Render(), "");
}

TEST(MetricsRegistryTest, RejectsDuplicateAndCollidingNames) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddHistogram("lat", "", {}, {1}).ok());
  EXPECT_EQ(registry.AddGauge("lat", "", {}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddGauge("lat_count", "", {}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddCounter("lat_sum", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);  // no _total, checked first
  ASSERT_TRUE(registry.AddGauge("x_bucket", "", {}).ok());
  EXPECT_EQ(registry.AddHistogram("x", "", {}, {1}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry
                .AddGaugeCallback("lat_bucket", "", {},
                                  [] { return std::vector<CallbackSample>{}; })
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(BucketsTest, Exponential) {
  EXPECT_EQ(ExponentialBuckets(0.001, 2, 4),
            (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
  // Multiplication noise is rounded away: 0.1 * 3 * 3 is 0.9000000000000001.
  EXPECT_EQ(ExponentialBuckets(0.1, 3, 3), (std::vector<double>{0.1, 0.3, 0.9}));
  EXPECT_TRUE(ExponentialBuckets(0, 2, 3).empty());
  EXPECT_TRUE(ExponentialBuckets(1, 1, 3).empty());
  EXPECT_TRUE(ExponentialBuckets(1, 2, 0).empty());
  EXPECT_TRUE(ExponentialBuckets(1, 2, kMaxHistogramBuckets + 1).empty());
  EXPECT_EQ(ExponentialBuckets(1, 10, 3), (std::vector<double>{1, 10, 100}));
}

TEST(BucketsTest, DefaultLatencyBucketsAreUsable) {
  const std::vector<double> bounds = DefaultLatencyBuckets();
  ASSERT_FALSE(bounds.empty());
  EXPECT_EQ(bounds.front(), 0.001);
  EXPECT_GE(bounds.back(), 60);
  MetricsRegistry registry;
  EXPECT_TRUE(registry.AddHistogram("h", "", {}, bounds).ok());
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAndRendersAreExact) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 5000;
  MetricsRegistry registry;
  auto counters = registry.AddCounter("c_total", "C.", {"k"});
  auto gauges = registry.AddGauge("g", "G.", {});
  auto histograms = registry.AddHistogram("h", "H.", {"k"}, {0.5});
  ASSERT_TRUE(counters.ok() && gauges.ok() && histograms.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string own = std::to_string(t);
      for (int i = 0; i < kIterations; ++i) {
        // Lookups race with series creation on purpose.
        (*counters)->WithLabels({"shared"})->Increment();
        (*counters)->WithLabels({own})->Increment();
        (*gauges)->WithLabels({})->Add(1);
        (*histograms)->WithLabels({"shared"})->Observe(i % 2 == 0 ? 0.25 : 1);
        if (i % 1000 == 0) registry.Render();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ((*counters)->WithLabels({"shared"})->Value(), kThreads * kIterations);
  EXPECT_EQ((*counters)->WithLabels({"3"})->Value(), kIterations);
  EXPECT_EQ((*gauges)->WithLabels({})->Value(), kThreads * kIterations);
  const Histogram::Snapshot snapshot =
      (*histograms)->WithLabels({"shared"})->Collect();
  EXPECT_EQ(snapshot.count, uint64_t{kThreads} * kIterations);
  EXPECT_EQ(snapshot.cumulative_counts[0], uint64_t{kThreads} * kIterations / 2);
  EXPECT_EQ(snapshot.sum, kThreads * kIterations / 2 * 1.25);
}

}  // namespace
}  // namespace sam2
