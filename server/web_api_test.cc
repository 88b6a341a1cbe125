// Tests for the web page's JSON API (/api/v1/...), end to end: the whole
// server in-process (TestServer: micro SAM 2.1 model, loopback port 0) and
// real HTTP requests to its HTTP side. Masks are compared with what the
// gRPC API answers for the same prompts; every error is the HttpStatusOf
// status with the JSON error body; the propagation stream sends every frame
// and stops within a frame when its client leaves.

#include "server/web_api.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/proto_convert.h"
#include "tests/server/test_server.h"
#include "tests/util/http_client.h"

namespace sam2 {
namespace {

using Json = nlohmann::json;

class WebApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(TestServerOptions()); }

  void Start(ServerAppOptions options) {
    server_.reset();
    auto server = TestServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->app().http_port();
    ASSERT_GT(port_, 0);
  }

  HttpReply Post(const std::string& path, const Json& body) {
    return HttpPost(port_, path, body.dump(), "application/json");
  }

  static Json Body(const HttpReply& reply) {
    return Json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  }

  // The error code of a JSON error reply ("" when it is not one).
  static std::string ErrorCode(const HttpReply& reply) {
    const Json body = Body(reply);
    if (!body.is_object() || !body.contains("error")) return "";
    return body["error"]["code"].get<std::string>();
  }

  std::string CreateImage() {
    HttpReply reply =
        HttpPost(port_, "/api/v1/image/create", MicroImagePng(), "image/png");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return Body(reply).value("session", "");
  }

  // A frames video session with the fixture's frames repeated to `n`.
  std::string CreateVideo(int n) {
    HttpReply created = Post("/api/v1/video/create", Json::object());
    EXPECT_EQ(created.status, 200) << created.body;
    const std::string session = Body(created).value("session", "");
    for (const std::string& frame : RepeatedVideoFrames(n)) {
      HttpReply appended =
          HttpPost(port_, "/api/v1/video/append", frame, "image/jpeg",
                   absl::StrCat("X-Sam2-Session: ", session, "\r\n"));
      EXPECT_EQ(appended.status, 200) << appended.body;
    }
    return session;
  }

  HttpReply Prompt(const std::string& session, int frame) {
    return Post("/api/v1/video/prompts",
                {{"session", session},
                 {"frame_index", frame},
                 {"object_id", 1},
                 {"points", {{100, 90}}},
                 {"point_labels", {1}}});
  }

  std::unique_ptr<TestServer> server_;
  int port_ = 0;
};

TEST_F(WebApiTest, FrameRouteServesTheSessionsFrames) {
  const std::string session = CreateVideo(3);
  HttpReply frame = HttpGet(
      port_, absl::StrCat("/api/v1/video/frame?session=", session, "&index=2"));
  ASSERT_EQ(frame.status, 200) << frame.body;
  EXPECT_EQ(frame.headers["content-type"], "image/jpeg");
  EXPECT_EQ(frame.body.substr(0, 3), "\xff\xd8\xff");  // a JPEG file
  HttpReply outside = HttpGet(
      port_, absl::StrCat("/api/v1/video/frame?session=", session, "&index=3"));
  EXPECT_EQ(outside.status, 400);
  EXPECT_EQ(ErrorCode(outside), "OUT_OF_RANGE");
  HttpReply malformed = HttpGet(port_, "/api/v1/video/frame?index=x");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(ErrorCode(malformed), "INVALID_ARGUMENT");
  HttpReply image = HttpGet(
      port_, absl::StrCat("/api/v1/video/frame?session=", CreateImage(), "&index=0"));
  EXPECT_EQ(ErrorCode(image), "FAILED_PRECONDITION");
}

TEST_F(WebApiTest, SegmentAnswersTheGrpcApisMasks) {
  const std::string session = CreateImage();
  HttpReply reply = Post("/api/v1/image/segment",
                         {{"session", session},
                          {"points", {{270, 220}}},
                          {"point_labels", {1}}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  const Json web = Body(reply);
  ASSERT_EQ(web["prompts"].size(), 1);
  ASSERT_EQ(web["prompts"][0]["masks"].size(), 3);

  auto stub = server_->NewStub();
  v1::CreateImageSessionRequest create;
  create.set_image(MicroImagePng());
  v1::ImageSession grpc_session;
  ASSERT_TRUE(stub->CreateImageSession(ContextWithDeadline().get(), create,
                                       &grpc_session)
                  .ok());
  v1::SegmentRequest segment;
  segment.set_session(grpc_session.name());
  auto* point = segment.add_points();
  point->set_x(270);
  point->set_y(220);
  point->set_label(1);
  v1::SegmentResponse grpc;
  ASSERT_TRUE(
      stub->Segment(ContextWithDeadline().get(), segment, &grpc).ok());
  ASSERT_EQ(grpc.prompts(0).masks_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const Json& mask = web["prompts"][0]["masks"][i];
    EXPECT_EQ(mask["counts"], grpc.prompts(0).masks(i).rle_counts()) << i;
    EXPECT_EQ(mask["size"], Json({400, 600}));
    EXPECT_FLOAT_EQ(web["prompts"][0]["scores"][i].get<float>(),
                    grpc.prompts(0).iou_scores(i));
  }

  // A box and a refinement from the kept result are accepted too.
  HttpReply refined =
      Post("/api/v1/image/segment",
           {{"session", session},
            {"boxes", {{200, 150, 350, 300}}},
            {"multimask_output", false},
            {"mask_input",
             {{"result_id", web["result_id"]}, {"mask_index", 0}}}});
  EXPECT_EQ(refined.status, 200) << refined.body;
  EXPECT_EQ(Body(refined)["prompts"][0]["masks"].size(), 1);
}

TEST_F(WebApiTest, GenerateReturnsCocoRecords) {
  const std::string session = CreateImage();
  HttpReply reply = Post("/api/v1/image/generate",
                         {{"session", session},
                          {"automatic", {{"points_per_side", 4}}}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  for (const Json& record : Body(reply)["annotations"]) {
    EXPECT_EQ(record["segmentation"]["size"], Json({400, 600}));
    EXPECT_GT(record["area"].get<int64_t>(), 0);
    EXPECT_EQ(record["bbox"].size(), 4);
  }
}

TEST_F(WebApiTest, ErrorsCarryTheStatusAndTheJsonError) {
  const std::string image = CreateImage();
  const std::string video = CreateVideo(2);
  struct Case {
    HttpReply reply;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {HttpPost(port_, "/api/v1/image/create", "not an image", "image/png"),
       400, "INVALID_ARGUMENT"},
      {HttpPost(port_, "/api/v1/image/create", MicroImagePng(), "text/plain"),
       415, "INVALID_ARGUMENT"},
      {HttpPost(port_, "/api/v1/image/segment", "{", "application/json"), 400,
       "INVALID_ARGUMENT"},
      {Post("/api/v1/image/segment", {{"session", image}, {"pointz", 1}}),
       400, "INVALID_ARGUMENT"},
      {Post("/api/v1/image/segment",
            {{"session", image}, {"points", {{9000, 1}}}, {"point_labels", {1}}}),
       400, "INVALID_ARGUMENT"},
      {Post("/api/v1/image/segment",
            {{"session", absl::StrCat(server_->app().store().instance_id(),
                                      "-0123456789abcdef0123456789abcdef")},
             {"points", {{1, 1}}},
             {"point_labels", {1}}}),
       404, "NOT_FOUND"},
      {Post("/api/v1/image/segment",
            {{"session", video}, {"points", {{1, 1}}}, {"point_labels", {1}}}),
       400, "FAILED_PRECONDITION"},
      {Post("/api/v1/video/prompts",
            {{"session", video}, {"frame_index", 5}, {"object_id", 1},
             {"points", {{1, 1}}}, {"point_labels", {1}}}),
       400, "OUT_OF_RANGE"},
      {Post("/api/v1/video/propagate", {{"session", video}}), 400,
       "FAILED_PRECONDITION"},
      {Post("/api/v1/video/propagate",
            {{"session", video}, {"direction", "sideways"}}),
       400, "INVALID_ARGUMENT"},
      {HttpPost(port_, "/api/v1/video/create", "not a video",
                "application/octet-stream"),
       400, "INVALID_ARGUMENT"},
      {HttpPost(port_, "/api/v1/video/append", "x", "image/jpeg"), 400,
       "INVALID_ARGUMENT"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(cases[i].reply.status, cases[i].status)
        << "case " << i << ": " << cases[i].reply.body;
    EXPECT_EQ(ErrorCode(cases[i].reply), cases[i].code)
        << "case " << i << ": " << cases[i].reply.body;
    EXPECT_EQ(cases[i].reply.headers.at("content-type"), "application/json")
        << "case " << i;
  }
  EXPECT_EQ(Post("/api/v1/session/delete", {{"session", image}}).status, 200);
  HttpReply gone = Post("/api/v1/image/segment", {{"session", image},
                                                  {"points", {{1, 1}}},
                                                  {"point_labels", {1}}});
  EXPECT_EQ(gone.status, 404);
  EXPECT_TRUE(absl::StrContains(Body(gone)["error"]["message"].get<std::string>(),
                                "was deleted"))
      << gone.body;
}

TEST_F(WebApiTest, PropagationStreamsEveryFrameAsNdjson) {
  const std::string session = CreateVideo(8);
  HttpReply prompted = Prompt(session, 3);
  ASSERT_EQ(prompted.status, 200) << prompted.body;
  EXPECT_EQ(Body(prompted)["frame_index"], 3);
  EXPECT_EQ(Body(prompted)["objects"][0]["object_id"], 1);

  HttpReply reply = HttpExchange(
      port_, absl::StrCat("POST /api/v1/video/propagate HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: application/json\r\nContent-Length: ",
                          Json({{"session", session}, {"direction", "both"}})
                              .dump()
                              .size(),
                          "\r\n\r\n",
                          Json({{"session", session}, {"direction", "both"}})
                              .dump()));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.headers["content-type"], "application/x-ndjson");
  const std::optional<std::string> body = DecodeChunked(reply.body);
  ASSERT_TRUE(body.has_value()) << reply.body;
  std::vector<std::string> lines =
      absl::StrSplit(*body, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 9u) << *body;
  std::set<int64_t> frames;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    const Json line = Json::parse(lines[i]);
    frames.insert(line["frame"]["frame_index"].get<int64_t>());
    EXPECT_EQ(line["frames_done"], i + 1);
    EXPECT_EQ(line["frames_total"], 8);
    EXPECT_EQ(line["frame"]["objects"].size(), 1);
  }
  EXPECT_EQ(frames, std::set<int64_t>({0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(Json::parse(lines.back()), Json({{"done", true}, {"frames_done", 8}}));
  // The session was given back: it takes prompts again.
  EXPECT_EQ(Prompt(session, 5).status, 200);
}

TEST_F(WebApiTest, StreamStopsWithinAFrameWhenTheClientLeaves) {
  constexpr int kFrames = 120;
  const std::string session = CreateVideo(kFrames);
  ASSERT_EQ(Prompt(session, 0).status, 200);
  const int64_t frames_before =
      MetricSum(server_->app(), "sam2_stream_frames_total");

  const int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  const std::string body = Json({{"session", session}}).dump();
  const std::string request = absl::StrCat(
      "POST /api/v1/video/propagate HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: ",
      body.size(), "\r\n\r\n", body);
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[4096];
  while (!absl::StrContains(got, "\"frames_done\":2")) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << got;
    got.append(buf, static_cast<size_t>(n));
  }
  // While it streams, the session is busy for everything else: 409.
  HttpReply busy = Prompt(session, 1);
  EXPECT_EQ(busy.status, 409) << busy.body;
  EXPECT_EQ(ErrorCode(busy), "ABORTED");
  close(fd);  // the page's cancel button: the fetch is aborted

  auto stored = server_->app().store().Lookup(session);
  ASSERT_TRUE(stored.ok()) << stored.status();
  std::shared_ptr<Session> s = *stored;
  ASSERT_TRUE(PollUntil([&] { return !s->busy(); }));
  const int64_t streamed =
      MetricSum(server_->app(), "sam2_stream_frames_total") - frames_before;
  // Seen before the next frame: the frames read, the ones the server had
  // finished meanwhile (a frame being computed when the client left, and
  // the socket buffers), far from the 120 asked for.
  EXPECT_GE(streamed, 2);
  EXPECT_LT(streamed, 12) << "the stream went on after its client left";
  EXPECT_EQ(Prompt(session, 1).status, 200);
}

// Opens a propagation stream of `session` and reads until its first frame;
// returns the connection (the caller closes it), or -1.
int OpenStream(int port, const std::string& session) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return -1;
  const std::string body = Json({{"session", session}}).dump();
  const std::string request = absl::StrCat(
      "POST /api/v1/video/propagate HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: ",
      body.size(), "\r\n\r\n", body);
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return -1;
  }
  std::string got;
  char buf[4096];
  while (!absl::StrContains(got, "\"frames_done\":1")) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      close(fd);
      return -1;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return fd;
}

TEST_F(WebApiTest, StreamsAreCappedAndLeaveWorkersForMetricsAndPing) {
  std::vector<std::string> sessions;
  for (int i = 0; i < kWebMaxStreams; ++i) {
    sessions.push_back(CreateVideo(120));
    ASSERT_EQ(Prompt(sessions.back(), 0).status, 200);
  }
  std::vector<int> streams;
  for (const std::string& session : sessions) {
    streams.push_back(OpenStream(port_, session));
    ASSERT_GE(streams.back(), 0);
  }
  HttpReply over = Post("/api/v1/video/propagate", {{"session", sessions[0]}});
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(ErrorCode(over), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(over.headers["retry-after"], "1");
  // The streams hold threads of their own: the rest of the side answers.
  EXPECT_EQ(HttpGet(port_, "/ping").status, 200);
  EXPECT_EQ(HttpGet(port_, "/metrics").status, 200);
  EXPECT_EQ(Post("/api/v1/video/get", {{"session", sessions[0]}}).status, 200);
  for (int fd : streams) close(fd);
}

TEST_F(WebApiTest, VideoFileUploadHasTheGrpcSidesLimit) {
  ServerAppOptions options = TestServerOptions();
  options.limits.max_video_upload_bytes = 1000;
  Start(options);
  HttpReply over = HttpPost(port_, "/api/v1/video/create", std::string(1001, 'v'),
                            "video/mp4");
  EXPECT_EQ(over.status, 413) << over.body;
  EXPECT_EQ(ErrorCode(over), "INVALID_ARGUMENT");
  EXPECT_EQ(Body(over)["error"]["message"], "request body over 1000 bytes");
  HttpReply within = HttpPost(port_, "/api/v1/video/create",
                              std::string(1000, 'v'), "video/mp4");
  EXPECT_EQ(within.status, 400) << within.body;  // read, then not a video
  EXPECT_EQ(ErrorCode(within), "INVALID_ARGUMENT");
}

TEST_F(WebApiTest, DrainingRefusesNewSessionsButServesOldOnes) {
  const std::string session = CreateImage();
  server_->app().service().StartDraining();
  HttpReply refused =
      HttpPost(port_, "/api/v1/image/create", MicroImagePng(), "image/png");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(ErrorCode(refused), "UNAVAILABLE");
  EXPECT_EQ(Post("/api/v1/video/create", Json::object()).status, 503);
  EXPECT_EQ(Post("/api/v1/image/segment", {{"session", session},
                                           {"points", {{1, 1}}},
                                           {"point_labels", {1}}})
                .status,
            200);
}

TEST_F(WebApiTest, InfoAndTheStreamCap) {
  HttpReply info = HttpGet(port_, "/api/v1/info");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(Body(info)["meaninglessMasks"], true);  // the micro model
  EXPECT_EQ(Body(info)["limits"]["maxObjects"], 16);

  WebApiOptions options;
  options.limits.max_video_upload_bytes = int64_t{1} << 40;
  for (const HttpRoute& route : WebApiRoutes(options)) {
    if (route.path == "/api/v1/video/propagate") {
      EXPECT_EQ(route.max_in_flight, kWebMaxStreams);
    } else if (route.path == "/api/v1/video/create") {
      EXPECT_EQ(route.max_body_bytes, kWebMaxVideoFileBytes);
      EXPECT_EQ(route.request_timeout, kWebUploadTimeout);
    } else {
      EXPECT_EQ(route.max_in_flight, 0) << route.path;
      EXPECT_EQ(route.max_body_bytes, -1) << route.path;
    }
    if (route.path == "/api/v1/video/propagate" ||
        route.path == "/api/v1/info") {
      EXPECT_EQ(route.group, nullptr) << route.path;
    } else {
      ASSERT_NE(route.group, nullptr) << route.path;
      EXPECT_EQ(route.group->limit(), kWebMaxCalls);
    }
  }
}

TEST_F(WebApiTest, WebUiFlagOffLeavesNoRoutes) {
  ServerAppOptions options = TestServerOptions();
  options.web_ui = false;
  Start(options);
  EXPECT_EQ(HttpGet(port_, "/ui/").status, 404);
  EXPECT_EQ(HttpPost(port_, "/api/v1/image/create", MicroImagePng(), "image/png")
                .status,
            404);
  EXPECT_EQ(HttpGet(port_, "/ping").status, 200);
}

}  // namespace
}  // namespace sam2
