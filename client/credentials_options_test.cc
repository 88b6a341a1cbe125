// The command-line clients' TLS and token options: both spellings parse,
// files are read into working credentials (checked against a mutual-TLS
// server), half or bad options are INVALID_ARGUMENT naming the option in
// the tool's spelling, the token comes from the file before $SAM2_TOKEN
// and is never echoed, and a token about to travel in clear off this
// machine is warned about.

#include "client/credentials_options.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/channel_security.h"
#include "client/routing_recorder.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"
#include "tests/util/test_certs.h"

namespace sam2 {
namespace {

constexpr char kToken[] = "secret-token-0123456789";

std::string Write(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  EXPECT_TRUE(ReplaceFile(path, contents).ok());
  return path;
}

absl::StatusOr<CredentialsOptions> Parse(const std::vector<std::string>& args,
                                         OptionStyle style) {
  CliSpec spec;
  AddCredentialsOptions(style, &spec);
  absl::StatusOr<CliArgs> parsed = CliArgs::Parse(args, spec);
  if (!parsed.ok()) return parsed.status();
  return GetCredentialsOptions(*parsed, style);
}

TEST(CredentialsOptionsTest, BothSpellingsParse) {
  absl::StatusOr<CredentialsOptions> dashes =
      Parse({"--tls", "--ca-cert", "ca.pem", "--client-cert=c.pem",
             "--client-key", "k.pem", "--token-file", "t.txt"},
            OptionStyle::kDashes);
  ASSERT_TRUE(dashes.ok()) << dashes.status();
  EXPECT_TRUE(dashes->tls);
  EXPECT_EQ(dashes->ca_cert, "ca.pem");
  EXPECT_EQ(dashes->client_cert, "c.pem");
  EXPECT_EQ(dashes->client_key, "k.pem");
  EXPECT_EQ(dashes->token_file, "t.txt");

  absl::StatusOr<CredentialsOptions> underscores = Parse(
      {"--ca_cert=ca.pem", "--token_file=t.txt"}, OptionStyle::kUnderscores);
  ASSERT_TRUE(underscores.ok()) << underscores.status();
  EXPECT_FALSE(underscores->tls);
  EXPECT_EQ(underscores->ca_cert, "ca.pem");
  EXPECT_EQ(underscores->token_file, "t.txt");
  // Each tool knows only its own spelling.
  EXPECT_FALSE(Parse({"--ca_cert=x"}, OptionStyle::kDashes).ok());
  EXPECT_FALSE(Parse({"--ca-cert=x"}, OptionStyle::kUnderscores).ok());
}

TEST(CredentialsOptionsTest, NothingGivenIsPlaintextWithoutAToken) {
  absl::StatusOr<ClientCredentials> c =
      LoadClientCredentials({}, OptionStyle::kDashes, nullptr);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->channel, nullptr);
  EXPECT_EQ(c->bearer_token, "");
  c = LoadClientCredentials({}, OptionStyle::kDashes, "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->bearer_token, "");

  CredentialsOptions tls;
  tls.tls = true;
  c = LoadClientCredentials(tls, OptionStyle::kDashes, nullptr);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(c->channel, nullptr);
}

TEST(CredentialsOptionsTest, LoadedFilesMakeWorkingMutualTls) {
  const TestCa ca = TestCa::Create("cli ca");
  const TestKeyPair server = ca.IssueServer();
  const TestKeyPair client = ca.IssueClient("cli");
  grpc::SslServerCredentialsOptions tls(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = ca.cert_pem();
  tls.pem_key_cert_pairs.push_back({server.key_pem, server.cert_pem});
  RoutingRecorder recorder(grpc::SslServerCredentials(tls));
  recorder.SetReply("GetServerInfo", v1::ServerInfo());

  CredentialsOptions options;
  options.ca_cert = Write("ca.pem", ca.cert_pem());
  options.client_cert = Write("client.pem", client.cert_pem);
  options.client_key = Write("client.key", client.key_pem);
  options.token_file = Write("token.txt", absl::StrCat(kToken, "\n"));
  absl::StatusOr<ClientCredentials> c =
      LoadClientCredentials(options, OptionStyle::kDashes, "ignored-env-token-value");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, kToken);  // the file wins over the environment

  auto stub = v1::Sam2Service::NewStub(CreateChannelWithToken(
      recorder.address(), c->channel, grpc::ChannelArguments(),
      c->bearer_token));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::ServerInfo info;
  const grpc::Status s = stub->GetServerInfo(&context, {}, &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(recorder.calls().size(), 1u);
  EXPECT_EQ(recorder.calls()[0].client_common_name, "cli");
  EXPECT_EQ(recorder.calls()[0].authorizations,
            std::vector<std::string>{absl::StrCat("Bearer ", kToken)});
}

TEST(CredentialsOptionsTest, HalfOrBadOptionsNameTheOption) {
  const TestCa ca = TestCa::Create("cli ca");
  CredentialsOptions options;
  options.client_cert = Write("only-cert.pem", ca.IssueClient().cert_pem);
  absl::Status s =
      LoadClientCredentials(options, OptionStyle::kDashes, nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--client-cert and --client-key"))
      << s;
  s = LoadClientCredentials(options, OptionStyle::kUnderscores, nullptr)
          .status();
  EXPECT_TRUE(absl::StrContains(s.message(), "--client_cert and --client_key"))
      << s;

  options = CredentialsOptions();
  options.ca_cert = absl::StrCat(std::getenv("TEST_TMPDIR"), "/missing.pem");
  s = LoadClientCredentials(options, OptionStyle::kDashes, nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--ca-cert")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "missing.pem")) << s;

  options.ca_cert = Write("not-pem.txt", "hello");
  s = LoadClientCredentials(options, OptionStyle::kDashes, nullptr).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "not a PEM file")) << s;

  options = CredentialsOptions();
  options.token_file = absl::StrCat(std::getenv("TEST_TMPDIR"), "/no-token");
  s = LoadClientCredentials(options, OptionStyle::kUnderscores, nullptr)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--token_file")) << s;
  options.token_file = Write("short-token.txt", "secret");
  s = LoadClientCredentials(options, OptionStyle::kDashes, nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(s.message(), "secret")) << s;
}

TEST(CredentialsOptionsTest, EnvironmentTokenIsUsedAndChecked) {
  absl::StatusOr<ClientCredentials> c =
      LoadClientCredentials({}, OptionStyle::kDashes, "env-token-0123456789\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, "env-token-0123456789");
  const absl::Status s =
      LoadClientCredentials({}, OptionStyle::kDashes, "secret env").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "$SAM2_TOKEN")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "secret")) << s;
}

TEST(CredentialsOptionsTest, LoopbackTargets) {
  for (const char* local :
       {"127.0.0.1:50051", "localhost:1", "[::1]:50051", "127.9.8.7:1",
        "dns:///localhost:50051", "ipv4:127.0.0.1:80", "unix:/tmp/sock"}) {
    EXPECT_TRUE(IsLoopbackTarget(local)) << local;
  }
  for (const char* remote :
       {"10.0.0.1:50051", "example.com:443", "[2001:db8::1]:50051",
        "128.0.0.1:1", "127.0.0.1.example.com:1", "dns:///sam2:50051"}) {
    EXPECT_FALSE(IsLoopbackTarget(remote)) << remote;
  }
}

TEST(CredentialsOptionsTest, WarnsOfATokenInClearOffThisMachine) {
  ClientCredentials plaintext;
  plaintext.bearer_token = kToken;
  const std::string warning = CleartextTokenWarning(plaintext, "sam2.example:443");
  EXPECT_TRUE(absl::StrContains(warning, "without TLS")) << warning;
  EXPECT_FALSE(absl::StrContains(warning, kToken)) << warning;
  EXPECT_EQ(CleartextTokenWarning(plaintext, "127.0.0.1:50051"), "");
  ClientCredentials tls = plaintext;
  tls.channel = TlsCredentials("");
  EXPECT_EQ(CleartextTokenWarning(tls, "sam2.example:443"), "");
  EXPECT_EQ(CleartextTokenWarning(ClientCredentials(), "sam2.example:443"), "");
}

}  // namespace
}  // namespace sam2
