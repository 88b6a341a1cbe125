// The load tester's scenarios send the session routing header
// (client/session_routing.h) on every call that names a session, and none on
// the calls that create one — so a load test through the session-affine
// proxy (deploy/proxy) reaches the replicas that hold its sessions. Checked
// against RoutingRecorder, which records each call's header values.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "client/loadtest/create_image_scenario.h"
#include "client/loadtest/propagate_scenario.h"
#include "client/loadtest/scenario_test_util.h"
#include "client/loadtest/segment_scenario.h"
#include "client/routing_recorder.h"

namespace sam2::loadtest {
namespace {

using Calls = std::vector<std::pair<std::string, std::vector<std::string>>>;

class RoutingHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(recorder_.port(), 0);
    pool_ = std::make_unique<ChannelPool>(recorder_.address(), 2);
    env_.channels = pool_.get();
    env_.timeout = env_.setup_timeout = absl::Seconds(10);
  }

  // Setup, one request, Cleanup; returns how many sessions Cleanup deleted
  // (the recorder's NOT_FOUND counts as deleted).
  int RunOnce(Scenario& scenario) {
    EXPECT_TRUE(scenario.Setup().ok());
    OutcomeCollector outcomes;
    scenario.Start(Clock::now(), outcomes.Callback());
    EXPECT_EQ(outcomes.Wait(1).size(), 1u);
    return scenario.Cleanup().deleted;
  }

  // (method, header values) of every call so far.
  Calls Recorded() const {
    Calls out;
    for (const RoutingRecorder::Call& c : recorder_.calls()) {
      out.emplace_back(c.method, c.sessions);
    }
    return out;
  }

  RoutingRecorder recorder_;
  std::unique_ptr<ChannelPool> pool_;
  ScenarioEnv env_;
};

const std::string kImage = "sessions/replica-a-" + std::string(32, 'a');
const std::string kVideo = "sessions/sam2-1-" + std::string(32, 'b');

TEST_F(RoutingHeaderTest, SegmentScenario) {
  v1::ImageSession image;
  image.set_name(kImage);
  image.set_width(10);
  image.set_height(10);
  recorder_.SetReply("CreateImageSession", image);
  SegmentScenario scenario(env_, "png", 1);
  EXPECT_EQ(RunOnce(scenario), 1);
  EXPECT_EQ(Recorded(), (Calls{{"CreateImageSession", {}},
                               {"Segment", {kImage}},
                               {"DeleteSession", {kImage}}}));
}

TEST_F(RoutingHeaderTest, CreateImageScenario) {
  v1::ImageSession image;
  image.set_name(kImage);
  recorder_.SetReply("CreateImageSession", image);
  CreateImageScenario scenario(env_, "png");
  EXPECT_EQ(RunOnce(scenario), 1);  // Cleanup waits for the delete
  EXPECT_EQ(Recorded(), (Calls{{"CreateImageSession", {}},
                               {"DeleteSession", {kImage}}}));
}

TEST_F(RoutingHeaderTest, PropagateScenario) {
  v1::VideoSession video;
  video.set_name(kVideo);
  video.set_num_frames(1);
  video.set_width(10);
  video.set_height(10);
  recorder_.SetReply("CreateVideoSession", video);
  recorder_.SetReply("AddPrompts", v1::FrameMasks());
  PropagateScenario scenario(env_, {"frame"}, 1, 0);
  EXPECT_EQ(RunOnce(scenario), 1);
  EXPECT_EQ(Recorded(), (Calls{{"CreateVideoSession", {}},
                               {"AddPrompts", {kVideo}},
                               {"PropagateVideo", {kVideo}},
                               {"DeleteSession", {kVideo}}}));
}

}  // namespace
}  // namespace sam2::loadtest
