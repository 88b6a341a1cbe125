// Listen policy: loopback addresses pass, every other address needs TLS
// and tokens together or --insecure_listen_any, and the log line says which
// one the server took.

#include "server/listen_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace sam2 {
namespace {

constexpr ListenSecurity kOpen{/*tls=*/false, /*tokens=*/false};
constexpr ListenSecurity kTlsOnly{/*tls=*/true, /*tokens=*/false};
constexpr ListenSecurity kTokensOnly{/*tls=*/false, /*tokens=*/true};
constexpr ListenSecurity kSecured{/*tls=*/true, /*tokens=*/true};

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
  EXPECT_TRUE(CheckListenAddress("gRPC", "127.0.0.1:50051", kOpen, false).ok());
  EXPECT_TRUE(CheckListenAddress("gRPC", "[::1]:0", kOpen, false).ok());
  EXPECT_TRUE(CheckListenAddress("HTTP", "localhost:9090", kOpen, false).ok());
  const absl::Status refused = CheckListenAddress("gRPC", "0.0.0.0:50051", kOpen, false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("0.0.0.0:50051"), std::string::npos);
  EXPECT_NE(refused.message().find("--insecure_listen_any"), std::string::npos);
  EXPECT_EQ(CheckListenAddress("HTTP", "[::]:9090", kOpen, false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckListenAddress("HTTP", "sam2.internal:9090", kOpen, false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckListenAddress("gRPC", "0.0.0.0:50051", kOpen, true).ok());
  EXPECT_TRUE(CheckListenAddress("HTTP", "[::]:9090", kOpen, true).ok());
  EXPECT_EQ(CheckListenAddress("gRPC", "no port", kOpen, true).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ListenPolicyTest, DescriptionSaysWhichExposure) {
  EXPECT_EQ(DescribeListenExposure("gRPC", "127.0.0.1:50051", kOpen),
            "gRPC on 127.0.0.1:50051 (loopback only)");
  EXPECT_EQ(DescribeListenExposure("HTTP", "0.0.0.0:9090", kOpen),
            "HTTP on 0.0.0.0:9090: reachable from other machines, WITHOUT TLS "
            "OR AUTHENTICATION (--insecure_listen_any)");
}

TEST(ListenPolicyTest, TlsAndTokensTogetherAllowEveryAddress) {
  EXPECT_TRUE(CheckListenAddress("gRPC", "0.0.0.0:50051", kSecured, false).ok());
  EXPECT_TRUE(CheckListenAddress("HTTP", "[::]:9090", kSecured, false).ok());
  const absl::Status tls_only =
      CheckListenAddress("gRPC", "0.0.0.0:50051", kTlsOnly, false);
  EXPECT_EQ(tls_only.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(tls_only.message().find("has no authentication"), std::string::npos)
      << tls_only;
  const absl::Status tokens_only =
      CheckListenAddress("gRPC", "0.0.0.0:50051", kTokensOnly, false);
  EXPECT_EQ(tokens_only.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(tokens_only.message().find("has no TLS:"), std::string::npos)
      << tokens_only;
  EXPECT_EQ(DescribeListenExposure("gRPC", "0.0.0.0:50051", kSecured),
            "gRPC on 0.0.0.0:50051: reachable from other machines, with TLS "
            "and bearer tokens");
  EXPECT_EQ(DescribeListenExposure("gRPC", "0.0.0.0:50051", kTlsOnly),
            "gRPC on 0.0.0.0:50051: reachable from other machines, WITHOUT "
            "AUTHENTICATION (--insecure_listen_any)");
  EXPECT_EQ(DescribeListenExposure("gRPC", "0.0.0.0:50051", kTokensOnly),
            "gRPC on 0.0.0.0:50051: reachable from other machines, WITHOUT "
            "TLS (--insecure_listen_any)");
}

}  // namespace
}  // namespace sam2
