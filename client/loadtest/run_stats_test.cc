// Status code names and the per-scenario counters.

#include "client/loadtest/run_stats.h"

#include <gtest/gtest.h>

namespace sam2::loadtest {
namespace {

TEST(RunStatsTest, CodeNamesFollowTheGrpcSpec) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "CANCELLED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED),
            "DEADLINE_EXCEEDED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED),
            "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::ABORTED), "ABORTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(42)), "CODE_42");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(-1)), "CODE_-1");
}

TEST(RunStatsTest, CountsAndRates) {
  ScenarioStats s;
  s.sent = 10;
  s.codes = {{"OK", 7}, {"DEADLINE_EXCEEDED", 2}, {"ABORTED", 1}};
  s.frames = 40;
  EXPECT_EQ(s.completed(), 10);
  EXPECT_EQ(s.ok(), 7);
  LevelResult level;
  level.window_s = 2;
  EXPECT_DOUBLE_EQ(level.Throughput(s), 5);
  EXPECT_DOUBLE_EQ(level.FramesPerSecond(s), 20);
  level.window_s = 0;
  EXPECT_EQ(level.Throughput(s), 0);
  EXPECT_EQ(ScenarioStats().ok(), 0);
}

}  // namespace
}  // namespace sam2::loadtest
