// Several workers in one server (one per device; here two CPU workers
// sharing the micro model, the shape a GPU-per-worker server takes): new
// sessions go to the worker with the fewest, each session is served by its
// own worker's model from creation to deletion, GetServerInfo lists the
// workers, and /metrics reports each one; placement weighs the workers by
// their speeds, given or measured.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace sam2 {
namespace {

class MultiWorkerTest : public ::testing::Test {
 protected:
  virtual ServerAppOptions Options() {
    ServerAppOptions options = TestServerOptions();
    options.warm_up = true;  // every path once on each worker
    return options;
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(Options(), MicroModelAt(Precision::kFloat32, 2));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = server_->NewStub();
  }

  std::string CreateImage() {
    v1::CreateImageSessionRequest request;
    request.set_image(MicroImagePng());
    v1::ImageSession session;
    grpc::Status s = stub_->CreateImageSession(ContextWithDeadline().get(),
                                               request, &session);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return session.name();
  }

  v1::ServerInfo Info() {
    v1::ServerInfo info;
    grpc::Status s = stub_->GetServerInfo(ContextWithDeadline().get(),
                                          v1::GetServerInfoRequest(), &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  std::string CreateVideo() {
    v1::VideoSession session;
    grpc::Status s = CreateVideoFromFrames(*stub_, 3, &session);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return session.name();
  }

  // The worker the store pinned session `name` to (-1 when gone).
  int WorkerOf(const std::string& name) {
    absl::StatusOr<std::shared_ptr<Session>> session =
        server_->app().store().Lookup(absl::StripPrefix(name, "sessions/"));
    return session.ok() ? (*session)->worker() : -1;
  }

  std::string Segment(const std::string& name) {
    v1::SegmentRequest request;
    request.set_session(name);
    v1::Point* p = request.add_points();
    p->set_x(300);
    p->set_y(200);
    p->set_label(1);
    v1::SegmentResponse response;
    grpc::Status s =
        stub_->Segment(ContextWithDeadline().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::string masks;
    for (const v1::Mask& m : response.prompts(0).masks()) {
      absl::StrAppend(&masks, m.rle_counts(), "|");
    }
    return masks;
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<v1::Sam2Service::Stub> stub_;
};

TEST_F(MultiWorkerTest, ServerInfoListsEveryWorker) {
  const v1::ServerInfo info = Info();
  ASSERT_EQ(info.devices_size(), 2);
  ASSERT_EQ(info.workers_size(), 2);
  for (const v1::WorkerInfo& w : info.workers()) {
    EXPECT_EQ(w.device(), "cpu");
    EXPECT_EQ(w.precision(), "float32");
    EXPECT_EQ(w.memory_total_bytes(), 0);  // not a GPU
    EXPECT_EQ(w.session_budget_bytes(),
              TestServerOptions().sessions.max_bytes);
    // Workers of one kind of device count as equal, without a timing.
    EXPECT_EQ(w.relative_speed(), 1.0);
    EXPECT_EQ(w.encoder_ms(), 0.0);
  }
}

TEST_F(MultiWorkerTest, SessionsSpreadAndStayOnTheirWorker) {
  const std::string a = CreateImage();
  const std::string b = CreateImage();
  EXPECT_EQ((std::set<int>{WorkerOf(a), WorkerOf(b)}), (std::set<int>{0, 1}));
  // Each is served by its own worker's model: the same click on the same
  // image gives the same masks on both.
  const std::string masks_a = Segment(a);
  EXPECT_FALSE(masks_a.empty());
  EXPECT_EQ(Segment(b), masks_a);

  // Ties go to the lower index; a video session is placed the same way.
  const std::string c = CreateImage();
  EXPECT_EQ(WorkerOf(c), 0);
  const std::string video = CreateVideo();
  EXPECT_EQ(WorkerOf(video), 1);
  EXPECT_EQ(server_->app().store().SessionsPerWorker(2),
            (std::vector<int64_t>{2, 2}));
  v1::AddPromptsRequest click;
  click.set_session(video);
  click.set_object_id(1);
  v1::Point* p = click.add_points();
  p->set_x(60);
  p->set_y(90);
  p->set_label(1);
  v1::FrameMasks added;
  grpc::Status s =
      stub_->AddPrompts(ContextWithDeadline().get(), click, &added);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(added.objects_size(), 1);

  // /metrics: sessions and bytes per worker, one model-info sample for the
  // device the two share, no device memory for CPU workers.
  ServerApp& app = server_->app();
  EXPECT_EQ(MetricSum(app, "sam2_worker_sessions{worker=\"cpu#0\"}"), 2);
  EXPECT_EQ(MetricSum(app, "sam2_worker_sessions{worker=\"cpu#1\"}"), 2);
  EXPECT_GT(MetricSum(app, "sam2_worker_session_bytes{worker=\"cpu#1\"}"), 0);
  EXPECT_EQ(MetricSum(app, "sam2_model_info"), 1);
  EXPECT_EQ(MetricSum(app, "sam2_device_memory_bytes"), 0);

  // A deleted session frees its worker's place: the next one goes there.
  const int worker_b = WorkerOf(b);
  v1::DeleteSessionRequest del;
  del.set_name(b);
  v1::DeleteSessionResponse deleted;
  ASSERT_TRUE(
      stub_->DeleteSession(ContextWithDeadline().get(), del, &deleted).ok());
  const std::string d = CreateImage();
  EXPECT_EQ(WorkerOf(b), -1);
  EXPECT_EQ(WorkerOf(d), worker_b);
}

// Two workers, no warm-up, placement weighed by --worker_speeds=`flag`.
ServerAppOptions WithSpeeds(const char* flag) {
  ServerAppOptions options = TestServerOptions();
  options.worker_speeds = *ParseWorkerSpeeds(flag);
  return options;
}

// Given speeds: worker 0 twice as fast takes two new sessions for each one
// worker 1 takes.
class GivenSpeedsTest : public MultiWorkerTest {
 protected:
  ServerAppOptions Options() override { return WithSpeeds("4,2"); }
};

TEST_F(GivenSpeedsTest, PlacementFollowsTheSpeeds) {
  const v1::ServerInfo info = Info();
  ASSERT_EQ(info.workers_size(), 2);
  EXPECT_EQ(info.workers(0).relative_speed(), 1.0);
  EXPECT_EQ(info.workers(1).relative_speed(), 0.5);
  EXPECT_EQ(info.workers(1).encoder_ms(), 0.0);
  // Loads (n + 1) / speed: 1/4 vs 1/2; 2/4 vs 1/2 (tie: index); 3/4 vs 1/2;
  // 3/4 vs 2/2.
  std::vector<int> placed;
  for (int i = 0; i < 4; ++i) placed.push_back(WorkerOf(CreateImage()));
  EXPECT_EQ(placed, (std::vector<int>{0, 0, 1, 0}));
}

// "measure" times the encoder on each worker even when they are alike.
class MeasuredSpeedsTest : public MultiWorkerTest {
 protected:
  ServerAppOptions Options() override { return WithSpeeds("measure"); }
};

TEST_F(MeasuredSpeedsTest, ServerInfoReportsTheTimings) {
  const v1::ServerInfo info = Info();
  ASSERT_EQ(info.workers_size(), 2);
  double fastest = 0;
  for (const v1::WorkerInfo& w : info.workers()) {
    EXPECT_GT(w.encoder_ms(), 0.0);
    EXPECT_GT(w.relative_speed(), 0.0);
    EXPECT_LE(w.relative_speed(), 1.0);
    fastest = std::max(fastest, w.relative_speed());
  }
  EXPECT_EQ(fastest, 1.0);
  const v1::WorkerInfo& a = info.workers(0);
  const v1::WorkerInfo& b = info.workers(1);
  // Each speed is the fastest time over the worker's own.
  // (Durations and milliseconds round differently: near, not equal.)
  EXPECT_NEAR(a.relative_speed(),
              std::min(a.encoder_ms(), b.encoder_ms()) / a.encoder_ms(), 1e-9);
  EXPECT_DOUBLE_EQ(server_->app().info().workers(1).relative_speed(),
                   b.relative_speed());
}

TEST(MultiWorkerStartTest, RefusesOneSpeedPerWorkerTooFew) {
  absl::StatusOr<std::unique_ptr<TestServer>> server =
      TestServer::Start(WithSpeeds("3"), MicroModelAt(Precision::kFloat32, 2));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("1 worker speeds for 2 workers"),
            std::string::npos)
      << server.status();
}

}  // namespace
}  // namespace sam2
