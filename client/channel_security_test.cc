// Channel security: tokens are checked without ever being echoed, token
// files are read and trimmed, and a channel made with a token sends it on
// every kind of call — over plaintext, TLS and mutual TLS (the recorder
// sees the client certificate there).

#include "client/channel_security.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/routing_recorder.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"
#include "tests/util/test_certs.h"

namespace sam2 {
namespace {

constexpr char kToken[] = "tok_0123456789abcdefXYZ";

std::string TempPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  return context;
}

// One unary, one client-streaming and one server-streaming call.
void CallEveryKind(v1::Sam2Service::Stub& stub) {
  {
    v1::ServerInfo info;
    EXPECT_TRUE(stub.GetServerInfo(Context().get(), {}, &info).ok());
  }
  {
    auto context = Context();
    v1::VideoSession session;
    auto writer = stub.CreateVideoSession(context.get(), &session);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    auto context = Context();
    v1::PropagateVideoRequest request;
    request.set_session("sessions/x");
    auto reader = stub.PropagateVideo(context.get(), request);
    v1::PropagateVideoResponse frame;
    while (reader->Read(&frame)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

// The three calls of CallEveryKind, each with the token once and the client
// certificate's common name `client_cn` (empty: none).
void ExpectTokenOnEveryKind(const RoutingRecorder& recorder,
                            const std::string& client_cn) {
  const std::vector<RoutingRecorder::Call> calls = recorder.calls();
  ASSERT_EQ(calls.size(), 3u);
  for (const RoutingRecorder::Call& call : calls) {
    EXPECT_EQ(call.authorizations,
              std::vector<std::string>{absl::StrCat("Bearer ", kToken)})
        << call.method;
    EXPECT_EQ(call.client_common_name, client_cn) << call.method;
  }
}

TEST(CheckBearerTokenTest, AcceptsPrintableTokensOfTheRightLength) {
  EXPECT_TRUE(CheckBearerToken(kToken, "t").ok());
  EXPECT_TRUE(CheckBearerToken(std::string(kMinBearerTokenBytes, 'a'), "t").ok());
  EXPECT_TRUE(CheckBearerToken(std::string(kMaxBearerTokenBytes, '~'), "t").ok());
}

TEST(CheckBearerTokenTest, RefusesOthersWithoutEchoingThem) {
  const std::string short_token(kMinBearerTokenBytes - 1, 's');
  const std::vector<std::string> bad = {
      short_token, std::string(kMaxBearerTokenBytes + 1, 'L'),
      "secret with spaces inside", "secret\twith-a-tab-inside",
      "secret-with-a-newline\n", "secret-non-ascii-\xc3\xa9-token"};
  for (const std::string& token : bad) {
    const absl::Status s = CheckBearerToken(token, "--token-file t.txt");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), "--token-file t.txt: ")) << s;
    EXPECT_FALSE(absl::StrContains(s.message(), "secret")) << s;
    EXPECT_FALSE(absl::StrContains(s.message(), short_token)) << s;
  }
}

TEST(ReadTokenFileTest, TrimsTheFileAndNamesItOnErrors) {
  const std::string path = TempPath("token.txt");
  ASSERT_TRUE(ReplaceFile(path, absl::StrCat("  ", kToken, "\r\n")).ok());
  absl::StatusOr<std::string> token = ReadTokenFile(path, "tokens");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, kToken);

  EXPECT_EQ(ReadTokenFile(TempPath("missing.txt"), "the file").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(ReplaceFile(path, "two secret\nlines-of-token\n").ok());
  absl::Status s = ReadTokenFile(path, "the file").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(s.message(), "secret")) << s;
  ASSERT_TRUE(ReplaceFile(path, std::string(kMaxTokenFileBytes + 1, 'x')).ok());
  s = ReadTokenFile(path, "the file").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "not a token file")) << s;
}

TEST(CreateChannelWithTokenTest, EveryKindOfCallCarriesTheToken) {
  RoutingRecorder recorder;
  ASSERT_GT(recorder.port(), 0);
  recorder.SetReply("GetServerInfo", v1::ServerInfo());
  auto channel = CreateChannelWithToken(recorder.address(),
                                        grpc::InsecureChannelCredentials(),
                                        grpc::ChannelArguments(), kToken);
  auto stub = v1::Sam2Service::NewStub(channel);
  CallEveryKind(*stub);
  ExpectTokenOnEveryKind(recorder, "");
}

TEST(CreateChannelWithTokenTest, NoTokenNoHeader) {
  RoutingRecorder recorder;
  recorder.SetReply("GetServerInfo", v1::ServerInfo());
  auto stub = v1::Sam2Service::NewStub(CreateChannelWithToken(
      recorder.address(), grpc::InsecureChannelCredentials(),
      grpc::ChannelArguments(), ""));
  v1::ServerInfo info;
  ASSERT_TRUE(stub->GetServerInfo(Context().get(), {}, &info).ok());
  ASSERT_EQ(recorder.calls().size(), 1u);
  EXPECT_TRUE(recorder.calls()[0].authorizations.empty());
}

TEST(CreateChannelWithTokenTest, TokenAndClientCertificateOverMutualTls) {
  const TestCa ca = TestCa::Create("client test ca");
  const TestKeyPair server = ca.IssueServer();
  grpc::SslServerCredentialsOptions tls(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = ca.cert_pem();
  tls.pem_key_cert_pairs.push_back({server.key_pem, server.cert_pem});
  RoutingRecorder recorder(grpc::SslServerCredentials(tls));
  ASSERT_GT(recorder.port(), 0);
  recorder.SetReply("GetServerInfo", v1::ServerInfo());

  const TestKeyPair client = ca.IssueClient("tester");
  auto stub = v1::Sam2Service::NewStub(CreateChannelWithToken(
      recorder.address(),
      TlsCredentials(ca.cert_pem(), client.cert_pem, client.key_pem),
      grpc::ChannelArguments(), kToken));
  CallEveryKind(*stub);
  ExpectTokenOnEveryKind(recorder, "tester");

  // Without the client certificate the server refuses the connection.
  auto anonymous = v1::Sam2Service::NewStub(CreateChannelWithToken(
      recorder.address(), TlsCredentials(ca.cert_pem()),
      grpc::ChannelArguments(), kToken));
  v1::ServerInfo info;
  EXPECT_EQ(anonymous->GetServerInfo(Context().get(), {}, &info).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(recorder.calls().size(), 3u);
}

}  // namespace
}  // namespace sam2
