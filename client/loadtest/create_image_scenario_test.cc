// CreateImageScenario against the in-process server: each created session
// is deleted again; failures leave nothing to delete.

#include "client/loadtest/create_image_scenario.h"

#include <gtest/gtest.h>

#include "client/loadtest/scenario_test_util.h"
#include "tests/server/test_server.h"

namespace sam2::loadtest {
namespace {

class CreateImageScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = std::make_unique<ChannelPool>(server_->address(), 1);
    env_.channels = pool_.get();
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<ChannelPool> pool_;
  ScenarioEnv env_;
};

TEST_F(CreateImageScenarioTest, CreatesAndDeletesEachSession) {
  CreateImageScenario scenario(env_, MicroImagePng());
  ASSERT_TRUE(scenario.Setup().ok());
  OutcomeCollector outcomes;
  for (int i = 0; i < 6; ++i) scenario.Start(Clock::now(), outcomes.Callback());
  for (const Outcome& o : outcomes.Wait(6)) {
    EXPECT_EQ(o.code, grpc::StatusCode::OK) << o.message;
  }
  const CleanupResult r = scenario.Cleanup();  // waits for the deletions
  EXPECT_EQ(r.deleted, 6);
  EXPECT_EQ(r.failed, 0);
  const SessionStoreStats stats = server_->app().store().Stats();
  EXPECT_EQ(stats.live_image, 0);
  EXPECT_EQ(stats.removed_by_reason.at("image/deleted"), 6);
}

TEST_F(CreateImageScenarioTest, FailuresAreReportedAndNotDeleted) {
  CreateImageScenario scenario(env_, "not an image");
  OutcomeCollector outcomes;
  for (int i = 0; i < 3; ++i) scenario.Start(Clock::now(), outcomes.Callback());
  for (const Outcome& o : outcomes.Wait(3)) {
    EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_FALSE(o.message.empty());
  }
  EXPECT_EQ(scenario.Cleanup().deleted, 0);
}

}  // namespace
}  // namespace sam2::loadtest
