// Tests for ServiceMetrics: the exported families and their exact samples
// after the server's Record* calls and installed callbacks.

#include "server/service_metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace sam2 {
namespace {

std::unique_ptr<ServiceMetrics> MakeMetrics() {
  auto metrics = ServiceMetrics::Create();
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return metrics.ok() ? std::move(*metrics) : nullptr;
}

// The sample lines (not comments) that start with `prefix`.
std::vector<std::string> Samples(const std::string& text,
                                 absl::string_view prefix) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) lines.emplace_back(line);
  }
  return lines;
}

TEST(ServiceMetricsTest, ExportsEveryFamilyWithItsType) {
  auto metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  const std::string text = metrics->Render();
  for (const char* line : {
           "# TYPE sam2_model_info gauge\n",
           "# TYPE sam2_requests_total counter\n",
           "# TYPE sam2_request_failures_total counter\n",
           "# TYPE sam2_request_queue_seconds histogram\n",
           "# TYPE sam2_request_compute_seconds histogram\n",
           "# TYPE sam2_request_latency_seconds histogram\n",
           "# TYPE sam2_stage_seconds histogram\n",
           "# TYPE sam2_stream_first_mask_seconds histogram\n",
           "# TYPE sam2_stream_frames_total counter\n",
           "# TYPE sam2_sessions gauge\n",
           "# TYPE sam2_session_bytes gauge\n",
           "# TYPE sam2_sessions_removed_total counter\n",
           "# TYPE sam2_worker_queue_depth gauge\n",
           "# TYPE sam2_worker_sessions gauge\n",
           "# TYPE sam2_worker_session_bytes gauge\n",
           "# TYPE sam2_device_memory_bytes gauge\n",
       }) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line;
  }
  // Unlabelled families are exported before their first update.
  EXPECT_EQ(Samples(text, "sam2_stream_frames_total"),
            std::vector<std::string>{"sam2_stream_frames_total 0"});
  EXPECT_EQ(Samples(text, "sam2_stream_first_mask_seconds_count"),
            std::vector<std::string>{"sam2_stream_first_mask_seconds_count 0"});
  // No callbacks installed yet: no session or queue samples.
  EXPECT_TRUE(Samples(text, "sam2_sessions").empty());
  EXPECT_TRUE(Samples(text, "sam2_session_bytes").empty());
  EXPECT_TRUE(Samples(text, "sam2_worker_queue_depth").empty());
  EXPECT_TRUE(Samples(text, "sam2_model_info").empty());
}

TEST(ServiceMetricsTest, RecordRequestCountsAndTimes) {
  auto metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  metrics->RecordRequest("Segment", "OK", absl::Milliseconds(1),
                         absl::Milliseconds(40), absl::Milliseconds(45));
  metrics->RecordRequest("Segment", "OK", absl::Milliseconds(3),
                         absl::Milliseconds(60), absl::Milliseconds(70));
  // Rejected before reaching a worker: no queue or compute observation.
  metrics->RecordRequest("Segment", "INVALID_ARGUMENT", std::nullopt,
                         std::nullopt, absl::Microseconds(250));
  const std::string text = metrics->Render();
  EXPECT_EQ(Samples(text, "sam2_requests_total"),
            (std::vector<std::string>{
                "sam2_requests_total{method=\"Segment\","
                "code=\"INVALID_ARGUMENT\"} 1",
                "sam2_requests_total{method=\"Segment\",code=\"OK\"} 2",
            }));
  EXPECT_EQ(Samples(text, "sam2_request_failures_total"),
            std::vector<std::string>{
                "sam2_request_failures_total{method=\"Segment\","
                "code=\"INVALID_ARGUMENT\"} 1"});
  EXPECT_EQ(Samples(text, "sam2_request_queue_seconds_count"),
            std::vector<std::string>{
                "sam2_request_queue_seconds_count{method=\"Segment\"} 2"});
  EXPECT_EQ(Samples(text, "sam2_request_compute_seconds_count"),
            std::vector<std::string>{
                "sam2_request_compute_seconds_count{method=\"Segment\"} 2"});
  EXPECT_EQ(Samples(text, "sam2_request_compute_seconds_sum"),
            std::vector<std::string>{
                "sam2_request_compute_seconds_sum{method=\"Segment\"} 0.1"});
  EXPECT_EQ(Samples(text, "sam2_request_latency_seconds_count"),
            std::vector<std::string>{
                "sam2_request_latency_seconds_count{method=\"Segment\"} 3"});
  // 0.25 ms, 45 ms, 70 ms: one at or below 1 ms, all three by 100 ms.
  EXPECT_TRUE(absl::StrContains(
      text,
      "sam2_request_latency_seconds_bucket{method=\"Segment\",le=\"0.001\"} "
      "1\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "sam2_request_latency_seconds_bucket{method=\"Segment\",le=\"0.05\"} "
      "2\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "sam2_request_latency_seconds_bucket{method=\"Segment\",le=\"0.1\"} "
      "3\n"));
}

TEST(ServiceMetricsTest, StagesAndStreams) {
  auto metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  metrics->RecordStage(kStageEncoder, absl::Seconds(2));
  metrics->RecordStage(kStageDecoder, absl::Milliseconds(5));
  metrics->RecordStage(kStageEncoder, absl::Seconds(3));
  metrics->RecordFirstMask(absl::Milliseconds(500));
  metrics->RecordStreamFrame();
  metrics->RecordStreamFrame();
  const std::string text = metrics->Render();
  EXPECT_EQ(Samples(text, "sam2_stage_seconds_sum"),
            (std::vector<std::string>{
                "sam2_stage_seconds_sum{stage=\"decoder\"} 0.005",
                "sam2_stage_seconds_sum{stage=\"encoder\"} 5",
            }));
  EXPECT_EQ(Samples(text, "sam2_stream_first_mask_seconds_sum"),
            std::vector<std::string>{"sam2_stream_first_mask_seconds_sum 0.5"});
  EXPECT_EQ(Samples(text, "sam2_stream_frames_total"),
            std::vector<std::string>{"sam2_stream_frames_total 2"});
}

TEST(ServiceMetricsTest, SessionAndQueueCallbacks) {
  auto metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  int64_t image_sessions = 3;
  metrics->SetSessionStatsCallback([&image_sessions] {
    SessionStats stats;
    stats.live_by_kind = {{"image", image_sessions}, {"video", 1}};
    stats.bytes = 123456789;
    stats.removed_by_kind_reason = {{{"image", "evicted"}, 4},
                                    {{"video", "expired"}, 2}};
    return stats;
  });
  metrics->SetWorkerStatsCallback([] {
    return std::vector<WorkerStats>{{"cuda:0", 7, 3, 4096, 1000, 8000},
                                    {"cpu", 0, 1, 512, -1, -1}};
  });
  metrics->SetModelInfo({{"sam2.1_hiera_tiny", "bfloat16", "cuda:0"},
                         {"sam2.1_hiera_tiny", "float32", "cpu"}});
  std::string text = metrics->Render();
  EXPECT_EQ(Samples(text, "sam2_sessions{"),
            (std::vector<std::string>{"sam2_sessions{kind=\"image\"} 3",
                                      "sam2_sessions{kind=\"video\"} 1"}));
  EXPECT_EQ(Samples(text, "sam2_session_bytes"),
            std::vector<std::string>{"sam2_session_bytes 123456789"});
  EXPECT_EQ(Samples(text, "sam2_sessions_removed_total"),
            (std::vector<std::string>{
                "sam2_sessions_removed_total{kind=\"image\",reason=\"evicted\"}"
                " 4",
                "sam2_sessions_removed_total{kind=\"video\",reason=\"expired\"}"
                " 2"}));
  EXPECT_EQ(Samples(text, "sam2_worker_queue_depth"),
            (std::vector<std::string>{
                "sam2_worker_queue_depth{worker=\"cpu\"} 0",
                "sam2_worker_queue_depth{worker=\"cuda:0\"} 7"}));
  EXPECT_EQ(Samples(text, "sam2_worker_sessions"),
            (std::vector<std::string>{
                "sam2_worker_sessions{worker=\"cpu\"} 1",
                "sam2_worker_sessions{worker=\"cuda:0\"} 3"}));
  EXPECT_EQ(Samples(text, "sam2_worker_session_bytes"),
            (std::vector<std::string>{
                "sam2_worker_session_bytes{worker=\"cpu\"} 512",
                "sam2_worker_session_bytes{worker=\"cuda:0\"} 4096"}));
  // Only the GPU worker reports device memory.
  EXPECT_EQ(Samples(text, "sam2_device_memory_bytes"),
            (std::vector<std::string>{
                "sam2_device_memory_bytes{worker=\"cuda:0\",state=\"free\"} "
                "1000",
                "sam2_device_memory_bytes{worker=\"cuda:0\",state=\"total\"} "
                "8000"}));
  EXPECT_EQ(Samples(text, "sam2_model_info"),
            (std::vector<std::string>{
                "sam2_model_info{variant=\"sam2.1_hiera_tiny\","
                "precision=\"bfloat16\",device=\"cuda:0\"} 1",
                "sam2_model_info{variant=\"sam2.1_hiera_tiny\","
                "precision=\"float32\",device=\"cpu\"} 1"}));

  image_sessions = 0;
  text = metrics->Render();
  EXPECT_EQ(Samples(text, "sam2_sessions{kind=\"image\"}"),
            std::vector<std::string>{"sam2_sessions{kind=\"image\"} 0"});

  // Removing the callbacks removes their samples.
  metrics->SetSessionStatsCallback(nullptr);
  metrics->SetWorkerStatsCallback(nullptr);
  text = metrics->Render();
  EXPECT_TRUE(Samples(text, "sam2_sessions").empty());
  EXPECT_TRUE(Samples(text, "sam2_session_bytes").empty());
  EXPECT_TRUE(Samples(text, "sam2_worker_queue_depth").empty());
}

TEST(ServiceMetricsTest, TenantLabelsAndAuthFailures) {
  auto metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  metrics->RecordRequest("Segment", "OK", std::nullopt, std::nullopt,
                         absl::Milliseconds(2), "acme");
  metrics->RecordRequest("Segment", "OK", std::nullopt, std::nullopt,
                         absl::Milliseconds(2));
  metrics->SetSessionStatsCallback([] {
    SessionStats stats;
    stats.by_tenant = {{"", {5, 50}}, {"acme", {2, 2048}}};
    return stats;
  });
  std::string text = metrics->Render();
  EXPECT_TRUE(Samples(text, "sam2_auth_failures_total").empty());
  metrics->SetAuthStatsCallback([] { return AuthStats{3, 4}; });
  text = metrics->Render();
  EXPECT_EQ(Samples(text, "sam2_requests_total"),
            (std::vector<std::string>{
                "sam2_requests_total{method=\"Segment\",code=\"OK\"} 1",
                "sam2_requests_total{method=\"Segment\",code=\"OK\","
                "tenant=\"acme\"} 1"}));
  EXPECT_EQ(Samples(text, "sam2_request_latency_seconds_count"),
            (std::vector<std::string>{
                "sam2_request_latency_seconds_count{method=\"Segment\"} 1",
                "sam2_request_latency_seconds_count{method=\"Segment\","
                "tenant=\"acme\"} 1"}));
  // The tenant-less sessions are not a tenant's.
  EXPECT_EQ(Samples(text, "sam2_tenant_sessions"),
            std::vector<std::string>{"sam2_tenant_sessions{tenant=\"acme\"} 2"});
  EXPECT_EQ(Samples(text, "sam2_tenant_session_bytes"),
            std::vector<std::string>{
                "sam2_tenant_session_bytes{tenant=\"acme\"} 2048"});
  EXPECT_EQ(Samples(text, "sam2_auth_failures_total"),
            (std::vector<std::string>{
                "sam2_auth_failures_total{reason=\"invalid\"} 4",
                "sam2_auth_failures_total{reason=\"missing\"} 3"}));
}

}  // namespace
}  // namespace sam2
