// Listen policy: loopback addresses pass, every other address needs
// --insecure_listen_any, and the log line says which one the server took.

#include "server/listen_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace sam2 {
namespace {

TEST(ListenPolicyTest, LoopbackHosts) {
  for (const char* host :
       {"127.0.0.1", "127.8.9.10", "localhost", "LocalHost", "::1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.5", "128.0.0.1",
                           "::ffff:127.0.0.1", "example.com", "", "127.0.0"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(ListenPolicyTest, OtherAddressesNeedTheFlag) {
  EXPECT_TRUE(CheckListenAddress("gRPC", "127.0.0.1:50051", false).ok());
  EXPECT_TRUE(CheckListenAddress("gRPC", "[::1]:0", false).ok());
  EXPECT_TRUE(CheckListenAddress("HTTP", "localhost:9090", false).ok());
  const absl::Status refused = CheckListenAddress("gRPC", "0.0.0.0:50051", false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("0.0.0.0:50051"), std::string::npos);
  EXPECT_NE(refused.message().find("--insecure_listen_any"), std::string::npos);
  EXPECT_EQ(CheckListenAddress("HTTP", "[::]:9090", false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckListenAddress("HTTP", "sam2.internal:9090", false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckListenAddress("gRPC", "0.0.0.0:50051", true).ok());
  EXPECT_TRUE(CheckListenAddress("HTTP", "[::]:9090", true).ok());
  EXPECT_EQ(CheckListenAddress("gRPC", "no port", true).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ListenPolicyTest, DescriptionSaysWhichExposure) {
  EXPECT_EQ(DescribeListenExposure("gRPC", "127.0.0.1:50051"),
            "gRPC on 127.0.0.1:50051 (loopback only)");
  EXPECT_EQ(DescribeListenExposure("HTTP", "0.0.0.0:9090"),
            "HTTP on 0.0.0.0:9090: reachable from other machines, WITHOUT TLS "
            "OR AUTHENTICATION (--insecure_listen_any)");
}

}  // namespace
}  // namespace sam2
