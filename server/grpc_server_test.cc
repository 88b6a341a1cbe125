#include "server/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "protos/grpc/health/v1/health.grpc.pb.h"

namespace sam2 {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

grpc::Status Check(int port, HealthCheckResponse* response) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return Health::NewStub(channel)->Check(&ctx, HealthCheckRequest(), response);
}

TEST(GrpcServerTest, ServesHealthOnAnEphemeralPort) {
  GrpcServerOptions options;
  options.address = "127.0.0.1:0";
  auto server = GrpcServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  HealthCheckResponse response;
  grpc::Status status = Check((*server)->port(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  (*server)->Shutdown(absl::Seconds(1));
  (*server)->Shutdown(absl::Seconds(1));  // idempotent
  EXPECT_FALSE(Check((*server)->port(), &response).ok());
}

TEST(GrpcServerTest, ReportsAnUnusableAddress) {
  GrpcServerOptions options;
  options.address = "not an address";
  auto server = GrpcServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(server.status().message().find("not an address"),
            absl::string_view::npos);
}

TEST(GrpcServerTest, PortInUseNamesTheAddressAndTheReason) {
  GrpcServerOptions options;
  options.address = "127.0.0.1:0";
  auto first = GrpcServer::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  // A second server on the same port fails (no SO_REUSEPORT sharing) and
  // says why.
  options.address = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = GrpcServer::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("cannot start gRPC server on ", options.address,
                         ": bind ", options.address,
                         ": Address already in use"));
}

}  // namespace
}  // namespace sam2
