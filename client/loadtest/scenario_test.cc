// The scenarios' shared pieces: DeleteSessions against a real server,
// CallTracker cancelling live calls, setup errors keeping the gRPC code.

#include "client/loadtest/scenario.h"

#include <gtest/gtest.h>

#include "tests/server/test_server.h"

namespace sam2::loadtest {
namespace {

class ScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = std::make_unique<ChannelPool>(server_->address(), 2);
  }

  std::string CreateImageSession() {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Seconds(60));
    v1::CreateImageSessionRequest request;
    request.set_image(MicroImagePng());
    v1::ImageSession session;
    EXPECT_TRUE(pool_->Next().CreateImageSession(&ctx, request, &session).ok());
    return session.name();
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<ChannelPool> pool_;
};

TEST_F(ScenarioTest, DeleteSessionsDeletesAndForgivesNotFound) {
  const std::string a = CreateImageSession();
  const std::string b = CreateImageSession();
  ASSERT_EQ(server_->app().store().Stats().live_image, 2);
  // `a` twice: the second time it is already gone (NOT_FOUND).
  CleanupResult r = DeleteSessions(*pool_, {a, b, a}, absl::Seconds(30));
  EXPECT_EQ(r.deleted, 3);
  EXPECT_EQ(r.failed, 0) << r.first_error;
  EXPECT_EQ(server_->app().store().Stats().live_image, 0);
}

TEST(DeleteSessionsTest, CountsFailuresAndSaysWhichAndWhy) {
  // Nothing listens on port 1: every call fails (UNAVAILABLE, or
  // DEADLINE_EXCEEDED if the deadline wins the race).
  ChannelPool nowhere("127.0.0.1:1", 1);
  CleanupResult r = DeleteSessions(nowhere, {"sessions/x", "sessions/y"},
                                   absl::Milliseconds(200));
  EXPECT_EQ(r.deleted, 0);
  EXPECT_EQ(r.failed, 2);
  EXPECT_EQ(r.first_error.rfind("DeleteSession sessions/x: ", 0), 0u)
      << r.first_error;
  EXPECT_TRUE(r.first_error.find("(UNAVAILABLE)") != std::string::npos ||
              r.first_error.find("(DEADLINE_EXCEEDED)") != std::string::npos)
      << r.first_error;
}

TEST_F(ScenarioTest, CallTrackerCancelsLiveCalls) {
  // Cancelled through the tracker before it starts: the call ends CANCELLED.
  grpc::ClientContext ctx;
  SetDeadline(&ctx, absl::Seconds(60));
  CallTracker tracker;
  tracker.Add(&ctx);
  EXPECT_EQ(tracker.size(), 1u);
  tracker.CancelAll();
  v1::ServerInfo info;
  const grpc::Status s = pool_->Next().GetServerInfo(&ctx, {}, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  tracker.Remove(&ctx);
  EXPECT_EQ(tracker.size(), 0u);
}

TEST(SetupErrorTest, KeepsTheCodeAndSaysWhat) {
  absl::Status s = SetupError(
      "segment setup", grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    "session cap of 2 reached"));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("segment setup failed: session cap of 2 reached "
                             "(RESOURCE_EXHAUSTED)"),
            std::string::npos)
      << s;
}

TEST(CleanupResultTest, AddKeepsTheFirstError) {
  CleanupResult a{1, 0, ""};
  a.Add({2, 1, "first"});
  a.Add({0, 1, "second"});
  EXPECT_EQ(a.deleted, 3);
  EXPECT_EQ(a.failed, 2);
  EXPECT_EQ(a.first_error, "first");
}

}  // namespace
}  // namespace sam2::loadtest
