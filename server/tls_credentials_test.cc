// The gRPC port with GrpcServerCredentials: a health check over real
// channels succeeds with TLS and the right CA and fails (UNAVAILABLE) with
// an untrusted CA or in plaintext; mutual TLS refuses a client without a
// certificate or with one from another CA; a certificate from a new CA
// written over the files is served to new connections without a restart.
// Certificates are made at test time (tests/util/test_certs.h).

#include "server/tls_credentials.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "protos/grpc/health/v1/health.grpc.pb.h"
#include "server/grpc_server.h"
#include "tests/util/test_certs.h"

namespace sam2 {
namespace {

// How long a reload may take to show: a few reload intervals.
constexpr absl::Duration kReloadLimit = absl::Seconds(30);
constexpr absl::Duration kRetryPause = absl::Milliseconds(50);

grpc::SslCredentialsOptions Trusting(const std::string& ca_pem,
                                     const TestKeyPair* client = nullptr) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  if (client != nullptr) {
    ssl.pem_cert_chain = client->cert_pem;
    ssl.pem_private_key = client->key_pem;
  }
  return ssl;
}

class TlsCredentialsTest : public ::testing::Test {
 protected:
  TlsCredentialsTest()
      : dir_(std::getenv("TEST_TMPDIR")),
        ca_(TestCa::Create("grpc test ca")),
        untrusted_(TestCa::Create("untrusted ca")) {}

  // Writes `server` as the certificate files; the config serving them,
  // re-read every second.
  TlsConfig WriteFiles(const TestKeyPair& server) {
    const TestCertFiles files = WriteKeyPair(server, dir_, "server");
    TlsConfig config;
    config.cert_path = files.cert;
    config.key_path = files.key;
    config.reload_interval = absl::Seconds(1);
    return config;
  }

  void Start(const TlsConfig& config) {
    ASSERT_TRUE(ValidateTlsConfig(config).ok()) << ValidateTlsConfig(config);
    GrpcServerOptions options;
    options.address = "127.0.0.1:0";
    options.credentials = GrpcServerCredentials(config);
    absl::StatusOr<std::unique_ptr<GrpcServer>> server =
        GrpcServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A health check on a new connection with `credentials`.
  grpc::Status Check(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    // A connection of its own: a failed one's backoff must not be shared.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", server_->port()), credentials, args);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status =
        grpc::health::v1::Health::NewStub(channel)->Check(
            &context, grpc::health::v1::HealthCheckRequest(), &response);
    if (status.ok()) {
      EXPECT_EQ(response.status(),
                grpc::health::v1::HealthCheckResponse::SERVING);
    }
    return status;
  }

  // Polls Check(credentials) until it succeeds or kReloadLimit passes.
  bool EventuallyAccepted(
      const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    const absl::Time give_up = absl::Now() + kReloadLimit;
    while (absl::Now() < give_up) {
      if (Check(credentials).ok()) return true;
      absl::SleepFor(kRetryPause);
    }
    return false;
  }

  const std::string dir_;
  const TestCa ca_;
  const TestCa untrusted_;
  std::unique_ptr<GrpcServer> server_;
};

TEST(GrpcReloadSecondsTest, WholeSecondsAtLeastOne) {
  EXPECT_EQ(GrpcReloadSeconds(absl::Milliseconds(1)), 1u);
  EXPECT_EQ(GrpcReloadSeconds(absl::Seconds(1)), 1u);
  EXPECT_EQ(GrpcReloadSeconds(absl::Milliseconds(1500)), 2u);
  EXPECT_EQ(GrpcReloadSeconds(absl::Minutes(1)), 60u);
}

TEST_F(TlsCredentialsTest, PlaintextConfigServesPlaintext) {
  Start(TlsConfig());
  EXPECT_TRUE(Check(grpc::InsecureChannelCredentials()).ok());
}

TEST_F(TlsCredentialsTest, TlsAcceptsTheRightCaOnly) {
  Start(WriteFiles(ca_.IssueServer()));
  const grpc::Status good = Check(grpc::SslCredentials(Trusting(ca_.cert_pem())));
  EXPECT_TRUE(good.ok()) << good.error_message();

  const grpc::Status untrusted =
      Check(grpc::SslCredentials(Trusting(untrusted_.cert_pem())));
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE)
      << untrusted.error_message();
  const grpc::Status plaintext = Check(grpc::InsecureChannelCredentials());
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE)
      << plaintext.error_message();
}

TEST_F(TlsCredentialsTest, MutualTlsNeedsAClientCertificateFromTheClientCa) {
  TlsConfig config = WriteFiles(ca_.IssueServer());
  config.client_ca_path = absl::StrCat(dir_, "/client_ca.pem");
  ASSERT_TRUE(ReplaceFile(config.client_ca_path, ca_.cert_pem()).ok());
  Start(config);

  const TestKeyPair client = ca_.IssueClient("good client");
  const grpc::Status good =
      Check(grpc::SslCredentials(Trusting(ca_.cert_pem(), &client)));
  EXPECT_TRUE(good.ok()) << good.error_message();

  const grpc::Status anonymous =
      Check(grpc::SslCredentials(Trusting(ca_.cert_pem())));
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAVAILABLE)
      << anonymous.error_message();
  const TestKeyPair stranger = untrusted_.IssueClient("stranger");
  const grpc::Status untrusted =
      Check(grpc::SslCredentials(Trusting(ca_.cert_pem(), &stranger)));
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE)
      << untrusted.error_message();
}

TEST_F(TlsCredentialsTest, NewCertificateIsServedWithoutARestart) {
  Start(WriteFiles(ca_.IssueServer()));
  ASSERT_TRUE(Check(grpc::SslCredentials(Trusting(ca_.cert_pem()))).ok());
  const TestCa next = TestCa::Create("next year's ca");
  auto trusting_next = grpc::SslCredentials(Trusting(next.cert_pem()));
  EXPECT_FALSE(Check(trusting_next).ok());

  WriteFiles(next.IssueServer());
  EXPECT_TRUE(EventuallyAccepted(trusting_next))
      << "the new certificate was not served within "
      << absl::FormatDuration(kReloadLimit);
  // New connections no longer get the old certificate.
  EXPECT_EQ(Check(grpc::SslCredentials(Trusting(ca_.cert_pem()))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace sam2
