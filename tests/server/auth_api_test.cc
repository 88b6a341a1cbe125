// End to end: bearer tokens and tenants through the sam2.v1 API and the
// HTTP side (in-process server with a token file, micro model, real gRPC
// channels and loopback HTTP): no / wrong / right token, every method
// guarded, health open, tenants isolated from each other's sessions (and
// from the reasons they went), the session and in-flight quotas, a token
// file reloaded while serving, and the HTTP routes' 401s.

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protos/grpc/health/v1/health.grpc.pb.h"
#include "server/proto_convert.h"
#include "session/session_id.h"
#include "tests/server/test_server.h"
#include "tests/util/http_client.h"

namespace sam2 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAcme[] = "acme-token-0123456789abcdef";
constexpr char kLabs[] = "labs-token-0123456789abcdef";
constexpr char kNewco[] = "newco-token-0123456789abcdef";
constexpr char kWrong[] = "wrong-token-0123456789abcdef";

std::string TokenPath() {
  const char* dir = getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/auth-api-tokens-",
                      getpid());
}

// Replaces the file atomically (a new inode), as deployment tools do.
void WriteTokens(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp, std::ios::trunc) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::unique_ptr<grpc::ClientContext> As(absl::string_view token) {
  std::unique_ptr<grpc::ClientContext> ctx = ContextWithDeadline();
  if (!token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
  return ctx;
}

class AuthApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TokenPath();
    WriteTokens(path_, absl::StrCat("# test tenants\n", "acme ", kAcme,
                                    " max_sessions=2 max_in_flight=1\n",
                                    "labs ", kLabs, "\n"));
    ServerAppOptions options = TestServerOptions();
    options.auth.token_file = path_;
    options.auth.reload_interval = absl::ZeroDuration();  // Reload() by hand
    options.metrics_require_token = metrics_require_token_;
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = server_->NewStub();
  }
  void TearDown() override {
    server_.reset();
    std::remove(path_.c_str());
  }

  ServerApp& app() { return server_->app(); }

  grpc::Status CreateImage(absl::string_view token, v1::ImageSession* out) {
    v1::CreateImageSessionRequest request;
    request.set_image(MicroImagePng());
    return stub_->CreateImageSession(As(token).get(), request, out);
  }

  grpc::Status Click(absl::string_view token, const std::string& name) {
    v1::SegmentRequest request;
    request.set_session(name);
    v1::Point* p = request.add_points();
    p->set_x(30);
    p->set_y(20);
    p->set_label(1);
    v1::SegmentResponse response;
    return stub_->Segment(As(token).get(), request, &response);
  }

  std::string CreateVideo(absl::string_view token) {
    auto ctx = As(token);
    v1::VideoSession session;
    auto writer = stub_->CreateVideoSession(ctx.get(), &session);
    v1::CreateVideoSessionRequest request;
    request.mutable_config();
    bool ok = writer->Write(request);
    for (const std::string& frame : RepeatedVideoFrames(2)) {
      request.set_frame(frame);
      ok = ok && writer->Write(request);
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return session.name();
  }

  // A well-formed session name of this instance that never existed.
  std::string NeverExisted() {
    return SessionName(NewSessionId(app().info().instance_id()));
  }

  bool metrics_require_token_ = false;
  std::string path_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<v1::Sam2Service::Stub> stub_;
};

// The message of a NOT_FOUND for `name`, with the name replaced by "X" so
// answers about different names can be compared.
std::string Generic(const grpc::Status& s, const std::string& name) {
  std::string message = s.error_message();
  const std::string id = name.substr(name.find('/') + 1);
  const size_t at = message.find(id);
  if (at != std::string::npos) message.replace(at, id.size(), "X");
  return absl::StrCat(s.error_code(), ": ", message);
}

TEST_F(AuthApiTest, NoTokenWrongTokenRightToken) {
  v1::ServerInfo info;
  grpc::Status s = stub_->GetServerInfo(As("").get(), {}, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("missing bearer token"));

  s = stub_->GetServerInfo(As(kWrong).get(), {}, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("not accepted"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr(kWrong)));

  auto basic = ContextWithDeadline();
  basic->AddMetadata("authorization", absl::StrCat("Basic ", kAcme));
  s = stub_->GetServerInfo(basic.get(), {}, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("'Bearer <token>'"));

  s = stub_->GetServerInfo(As(kAcme).get(), {}, &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.instance_id(), app().info().instance_id());

  const std::string metrics = app().metrics().Render();
  EXPECT_THAT(metrics, HasSubstr("sam2_auth_failures_total{reason=\"missing\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("sam2_auth_failures_total{reason=\"invalid\"} 2\n"));
  EXPECT_EQ(MetricSum(app(), "sam2_requests_total{method=\"GetServerInfo\","
                             "code=\"OK\",tenant=\"acme\"}"),
            1);
}

TEST_F(AuthApiTest, EveryMethodNeedsAToken) {
  const auto refused = [](const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  };
  v1::ImageSession image;
  v1::VideoSession video;
  v1::FrameMasks frame;
  v1::ServerInfo info;
  EXPECT_TRUE(refused(stub_->GetServerInfo(As("").get(), {}, &info)));
  EXPECT_TRUE(refused(stub_->CreateImageSession(As("").get(), {}, &image)));
  v1::SegmentResponse segment;
  EXPECT_TRUE(refused(stub_->Segment(As("").get(), {}, &segment)));
  v1::GenerateMasksResponse generated;
  EXPECT_TRUE(refused(stub_->GenerateMasks(As("").get(), {}, &generated)));
  EXPECT_TRUE(refused(stub_->GetImageSession(As("").get(), {}, &image)));
  EXPECT_TRUE(refused(stub_->AppendFrames(As("").get(), {}, &video)));
  EXPECT_TRUE(refused(stub_->AddPrompts(As("").get(), {}, &frame)));
  EXPECT_TRUE(refused(stub_->ClearPrompts(As("").get(), {}, &frame)));
  v1::RemoveObjectResponse removed;
  EXPECT_TRUE(refused(stub_->RemoveObject(As("").get(), {}, &removed)));
  EXPECT_TRUE(refused(stub_->ResetVideoSession(As("").get(), {}, &video)));
  EXPECT_TRUE(refused(stub_->GetVideoSession(As("").get(), {}, &video)));
  v1::DeleteSessionResponse deleted;
  EXPECT_TRUE(refused(stub_->DeleteSession(As("").get(), {}, &deleted)));
  {
    auto ctx = As("");
    auto writer = stub_->CreateVideoSession(ctx.get(), &video);
    writer->WritesDone();
    EXPECT_TRUE(refused(writer->Finish()));
  }
  {
    auto ctx = As("");
    auto reader = stub_->PropagateVideo(ctx.get(), {});
    v1::PropagateVideoResponse response;
    while (reader->Read(&response)) {
    }
    EXPECT_TRUE(refused(reader->Finish()));
  }
  EXPECT_EQ(app().store().size(), 0);
}

TEST_F(AuthApiTest, HealthStaysOpen) {
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext ctx;
  const grpc::Status s =
      grpc::health::v1::Health::NewStub(server_->NewChannel())
          ->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(AuthApiTest, TenantsCannotSeeEachOthersImageSessions) {
  v1::ImageSession mine;
  ASSERT_TRUE(CreateImage(kAcme, &mine).ok());
  const std::string never = NeverExisted();
  const grpc::Status never_status = Click(kLabs, never);
  ASSERT_EQ(never_status.error_code(), grpc::StatusCode::NOT_FOUND);

  // labs: Segment, GetImageSession, DeleteSession all answer as for a
  // session that never existed.
  const grpc::Status segment = Click(kLabs, mine.name());
  EXPECT_EQ(Generic(segment, mine.name()), Generic(never_status, never));
  v1::GetSessionRequest get;
  get.set_name(mine.name());
  v1::ImageSession got;
  const grpc::Status get_status =
      stub_->GetImageSession(As(kLabs).get(), get, &got);
  EXPECT_EQ(Generic(get_status, mine.name()), Generic(never_status, never));
  v1::DeleteSessionRequest del;
  del.set_name(mine.name());
  v1::DeleteSessionResponse deleted;
  const grpc::Status del_status =
      stub_->DeleteSession(As(kLabs).get(), del, &deleted);
  EXPECT_EQ(Generic(del_status, mine.name()), Generic(never_status, never));

  // Untouched for its owner; once deleted, only the owner learns why.
  ASSERT_TRUE(Click(kAcme, mine.name()).ok());
  ASSERT_TRUE(stub_->DeleteSession(As(kAcme).get(), del, &deleted).ok());
  EXPECT_THAT(Click(kAcme, mine.name()).error_message(),
              HasSubstr("was deleted"));
  EXPECT_EQ(Generic(Click(kLabs, mine.name()), mine.name()),
            Generic(never_status, never));
}

TEST_F(AuthApiTest, TenantsCannotSeeEachOthersVideoSessions) {
  const std::string name = CreateVideo(kLabs);
  ASSERT_FALSE(name.empty());
  const std::string never = NeverExisted();
  v1::GetSessionRequest get;
  get.set_name(never);
  v1::VideoSession video;
  const grpc::Status never_status =
      stub_->GetVideoSession(As(kAcme).get(), get, &video);
  ASSERT_EQ(never_status.error_code(), grpc::StatusCode::NOT_FOUND);

  get.set_name(name);
  EXPECT_EQ(Generic(stub_->GetVideoSession(As(kAcme).get(), get, &video), name),
            Generic(never_status, never));
  v1::AddPromptsRequest prompts;
  prompts.set_session(name);
  v1::Point* p = prompts.add_points();
  p->set_x(10);
  p->set_y(10);
  p->set_label(1);
  prompts.set_object_id(1);
  v1::FrameMasks masks;
  EXPECT_EQ(Generic(stub_->AddPrompts(As(kAcme).get(), prompts, &masks), name),
            Generic(never_status, never));
  {
    v1::PropagateVideoRequest request;
    request.set_session(name);
    auto ctx = As(kAcme);
    auto reader = stub_->PropagateVideo(ctx.get(), request);
    v1::PropagateVideoResponse response;
    EXPECT_FALSE(reader->Read(&response));
    EXPECT_EQ(Generic(reader->Finish(), name), Generic(never_status, never));
  }
  // The owner still has it.
  ASSERT_TRUE(stub_->GetVideoSession(As(kLabs).get(), get, &video).ok());
  EXPECT_EQ(video.num_frames(), 2);
}

TEST_F(AuthApiTest, SessionQuotaNamesTheTenant) {
  v1::ImageSession a, b, c;
  ASSERT_TRUE(CreateImage(kAcme, &a).ok());
  ASSERT_TRUE(CreateImage(kAcme, &b).ok());
  const grpc::Status third = CreateImage(kAcme, &c);
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(third.error_message(),
              HasSubstr("tenant 'acme' session quota of 2 reached"));
  // labs has no quota of its own; acme's sessions were not evicted.
  ASSERT_TRUE(CreateImage(kLabs, &c).ok());
  EXPECT_TRUE(Click(kAcme, a.name()).ok());
  EXPECT_EQ(MetricSum(app(), "sam2_tenant_sessions{tenant=\"acme\"}"), 2);
  EXPECT_EQ(MetricSum(app(), "sam2_tenant_sessions{tenant=\"labs\"}"), 1);
}

TEST_F(AuthApiTest, InFlightQuotaCountsOpenStreams) {
  // An upload left open holds acme's only slot.
  auto upload_ctx = As(kAcme);
  v1::VideoSession video;
  auto writer = stub_->CreateVideoSession(upload_ctx.get(), &video);
  v1::CreateVideoSessionRequest config;
  config.mutable_config();
  ASSERT_TRUE(writer->Write(config));
  ASSERT_TRUE(PollUntil(
      [&] { return app().tenant_in_flight().InFlight("acme") == 1; }));

  v1::ServerInfo info;
  const grpc::Status over = stub_->GetServerInfo(As(kAcme).get(), {}, &info);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(over.error_message(),
              HasSubstr("tenant 'acme': 1 requests in flight (quota)"));
  EXPECT_TRUE(stub_->GetServerInfo(As(kLabs).get(), {}, &info).ok());

  upload_ctx->TryCancel();
  writer->Finish().IgnoreError();
  ASSERT_TRUE(PollUntil(
      [&] { return app().tenant_in_flight().InFlight("acme") == 0; }));
  EXPECT_TRUE(stub_->GetServerInfo(As(kAcme).get(), {}, &info).ok());
  EXPECT_EQ(app().tenant_in_flight().InFlight("acme"), 0);
}

TEST_F(AuthApiTest, TokenFileReloadWhileServing) {
  v1::ImageSession mine;
  ASSERT_TRUE(CreateImage(kLabs, &mine).ok());
  WriteTokens(path_, absl::StrCat("labs ", kLabs, "\nnewco ", kNewco, "\n"));
  ASSERT_TRUE(app().authenticator()->ReloadIfChanged().ok());
  v1::ServerInfo info;
  EXPECT_EQ(stub_->GetServerInfo(As(kAcme).get(), {}, &info).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(stub_->GetServerInfo(As(kNewco).get(), {}, &info).ok());
  EXPECT_TRUE(Click(kLabs, mine.name()).ok());

  // A broken file keeps the tokens in force.
  WriteTokens(path_, absl::StrCat("newco ", kNewco, "\nnewco ", kLabs, "\n"));
  EXPECT_FALSE(app().authenticator()->ReloadIfChanged().ok());
  EXPECT_TRUE(stub_->GetServerInfo(As(kNewco).get(), {}, &info).ok());
  EXPECT_TRUE(Click(kLabs, mine.name()).ok());
}

// ---------------------------------------------------------------------------
// HTTP side

HttpReply GetWithToken(int port, absl::string_view path,
                       absl::string_view token) {
  return HttpExchange(
      port, absl::StrCat("GET ", path, " HTTP/1.0\r\n",
                         token.empty() ? ""
                                       : absl::StrCat("Authorization: Bearer ",
                                                      token, "\r\n"),
                         "\r\n"));
}

TEST_F(AuthApiTest, HttpApiNeedsATokenPingAndPageDoNot) {
  const int port = app().http_port();
  HttpReply reply = GetWithToken(port, "/api/v1/info", "");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.headers["www-authenticate"], "Bearer");
  EXPECT_THAT(reply.body, HasSubstr("\"code\":\"UNAUTHENTICATED\""));
  EXPECT_THAT(reply.body, HasSubstr("missing bearer token"));
  reply = GetWithToken(port, "/api/v1/info", kWrong);
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(reply.body, Not(HasSubstr(kWrong)));
  EXPECT_EQ(GetWithToken(port, "/api/v1/info", kAcme).status, 200);

  // Refused before the body is read: a declared body that never comes
  // (the server would otherwise wait for it) gets the 401 at once.
  reply = HttpExchange(port,
                       "POST /api/v1/image/create HTTP/1.0\r\n"
                       "Content-Type: image/png\r\nContent-Length: 1000000\r\n"
                       "\r\n");
  EXPECT_EQ(reply.status, 401);
  reply = HttpPost(port, "/invocations", "{}", "application/json");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.headers["www-authenticate"], "Bearer");

  EXPECT_EQ(GetWithToken(port, "/ping", "").status, 200);
  EXPECT_EQ(GetWithToken(port, "/healthz", "").status, 200);
  EXPECT_EQ(GetWithToken(port, "/ui/", "").status, 200);
  EXPECT_EQ(GetWithToken(port, "/metrics", "").status, 200);
}

TEST_F(AuthApiTest, HttpSessionsAreTheTenants) {
  const int port = app().http_port();
  HttpReply created =
      HttpPost(port, "/api/v1/image/create", MicroImagePng(), "image/png",
               absl::StrCat("Authorization: Bearer ", kAcme, "\r\n"));
  ASSERT_EQ(created.status, 200) << created.body;
  const size_t at = created.body.find("\"session\":\"");
  ASSERT_NE(at, std::string::npos);
  const std::string id =
      created.body.substr(at + 11, created.body.find('"', at + 11) - at - 11);
  const std::string body = absl::StrCat("{\"session\":\"", id, "\"}");
  HttpReply other =
      HttpPost(port, "/api/v1/video/get", body, "application/json",
               absl::StrCat("Authorization: Bearer ", kLabs, "\r\n"));
  EXPECT_EQ(other.status, 404);
  EXPECT_THAT(other.body, HasSubstr(absl::StrCat("no session ", id)));
  // The gRPC side agrees: the session is acme's.
  EXPECT_TRUE(Click(kAcme, SessionName(id)).ok());
  EXPECT_EQ(Click(kLabs, SessionName(id)).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

class AuthMetricsTest : public AuthApiTest {
 protected:
  void SetUp() override {
    metrics_require_token_ = true;
    AuthApiTest::SetUp();
  }
};

TEST_F(AuthMetricsTest, MetricsCanRequireAToken) {
  const int port = app().http_port();
  EXPECT_EQ(GetWithToken(port, "/metrics", "").status, 401);
  const HttpReply reply = GetWithToken(port, "/metrics", kLabs);
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(reply.body, HasSubstr("sam2_auth_failures_total"));
  EXPECT_EQ(GetWithToken(port, "/ping", "").status, 200);
}

}  // namespace
}  // namespace sam2
