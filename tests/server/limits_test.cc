// End to end: every row of DESIGN.md's status-code table and every limit of
// its "Limits" section, through a real gRPC channel to the in-process server
// (micro model). Each test checks the status code AND that the message says
// something a client can act on.
//
// Not covered here (and why):
//   - UNAUTHENTICATED / PERMISSION_DENIED: the server has no credentials or
//     tenants yet; status_util_test covers the mapping.
//   - INTERNAL: only a bug or a model failure produces it; status_util_test
//     covers the mapping (never UNKNOWN).
//   - AppendFrames to a video-file session (FAILED_PRECONDITION): needs a
//     video file upload; video_api_test (end to end) and video_session_test
//     cover it. Here: AddPrompts, ClearPrompts and PropagateVideo on an
//     empty frames session.
//
// Clocks: the TTL, cap and byte-budget tests inject a FakeClock
// (ServerAppOptions::clock). The worker pool reads the same clock for its
// queue deadlines while gRPC deadlines are wall-clock times, so those tests
// keep the FakeClock's default start (year 1970 + 1000 h): every wall-clock
// deadline then lies far in its future and the pool never expires a task by
// mistake, however far the test advances it. The queue and deadline tests
// use the real clock.

#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "session/clock.h"
#include "session/session_id.h"
#include "tests/server/test_server.h"
#include "tests/util/http_client.h"
#include "tests/util/png_bytes.h"

namespace sam2 {
namespace {

using grpc::StatusCode;

constexpr int kMicroImageWidth = 600;   // tests/fixtures/sam2.1-micro/image.png
constexpr int kMicroImageHeight = 400;

// ---------------------------------------------------------------------------
// Helpers

::testing::AssertionResult HasStatus(const grpc::Status& s, StatusCode code,
                                     absl::string_view needle) {
  if (s.error_code() == code && absl::StrContains(s.error_message(), needle)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got code " << s.error_code() << " \"" << s.error_message()
         << "\"; want code " << code << " with a message containing \""
         << needle << "\"";
}

std::string IdOf(const std::string& name) {
  return name.substr(std::string("sessions/").size());
}

// Occupies the (single) worker until Release(): the test's way to hold work
// in the queue deterministically. The task's state is shared, so the worker
// may still be returning from it after this object is gone.
class WorkerBlocker {
 public:
  explicit WorkerBlocker(WorkerPool& pool)
      : state_(std::make_shared<State>()) {
    std::shared_ptr<State> state = state_;
    submitted_ = pool.Submit(0, absl::InfiniteFuture(),
                             [state](const absl::Status&, const TaskContext&) {
                               state->running.Notify();
                               state->release.WaitForNotification();
                             });
    // Running, not merely queued: the queue is empty again.
    if (submitted_.ok()) state_->running.WaitForNotification();
  }
  ~WorkerBlocker() { Release(); }
  const absl::Status& submitted() const { return submitted_; }
  void Release() {
    if (!state_->release.HasBeenNotified()) state_->release.Notify();
  }

 private:
  struct State {
    absl::Notification running;
    absl::Notification release;
  };
  std::shared_ptr<State> state_;
  absl::Status submitted_;
};

// One asynchronous Segment call whose state outlives the test body if need
// be (the callback may run after a failed assertion returned).
struct AsyncSegment {
  grpc::ClientContext ctx;
  v1::SegmentRequest request;
  v1::SegmentResponse response;
  std::promise<grpc::Status> done;
};

std::shared_ptr<AsyncSegment> StartSegment(v1::Sam2Service::Stub& stub,
                                           const v1::SegmentRequest& request) {
  auto call = std::make_shared<AsyncSegment>();
  call->request = request;
  call->ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
  stub.async()->Segment(&call->ctx, &call->request, &call->response,
                        [call](grpc::Status s) { call->done.set_value(s); });
  return call;
}

// The value of the sample whose name and labels are exactly `series` (e.g.
// `sam2_sessions{kind="image"}`), or -1 if the exposition has no such line.
double MetricValue(const std::string& exposition, const std::string& series) {
  const std::string prefix = series + " ";
  size_t pos = 0;
  while (pos < exposition.size()) {
    size_t end = exposition.find('\n', pos);
    if (end == std::string::npos) end = exposition.size();
    absl::string_view line(exposition.data() + pos, end - pos);
    if (absl::StartsWith(line, prefix)) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(prefix.size()), &v)) return v;
      return -1;
    }
    pos = end + 1;
  }
  return -1;
}

class LimitsTest : public ::testing::Test {
 protected:
  // Frames of tests/fixtures/sam2.1-micro/frames.
  const int num_video_frames_ = static_cast<int>(MicroVideoFrames().size());

  void StartServer(ServerAppOptions options = TestServerOptions()) {
    stub_.reset();
    server_.reset();
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = server_->NewStub();
  }

  ServerApp& app() { return server_->app(); }

  grpc::Status TryCreateImage(const std::string& bytes,
                              v1::ImageSession* out = nullptr) {
    v1::CreateImageSessionRequest request;
    request.set_image(bytes);
    v1::ImageSession session;
    grpc::Status s = stub_->CreateImageSession(ContextWithDeadline().get(),
                                               request, &session);
    if (out != nullptr) *out = session;
    return s;
  }

  v1::ImageSession CreateImage() {
    v1::ImageSession session;
    grpc::Status s = TryCreateImage(MicroImagePng(), &session);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return session;
  }

  grpc::Status TryCreateVideo(const std::vector<std::string>& frames,
                              v1::VideoSession* out = nullptr) {
    auto ctx = ContextWithDeadline();
    v1::VideoSession session;
    std::unique_ptr<grpc::ClientWriter<v1::CreateVideoSessionRequest>> writer =
        stub_->CreateVideoSession(ctx.get(), &session);
    v1::CreateVideoSessionRequest config;
    config.mutable_config();
    if (writer->Write(config)) {
      for (const std::string& f : frames) {
        v1::CreateVideoSessionRequest m;
        m.set_frame(f);
        if (!writer->Write(m)) break;
      }
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (out != nullptr) *out = session;
    return s;
  }

  v1::VideoSession CreateVideo(
      const std::vector<std::string>& frames = MicroVideoFrames()) {
    v1::VideoSession session;
    grpc::Status s = TryCreateVideo(frames, &session);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return session;
  }

  grpc::Status Segment(const v1::SegmentRequest& request,
                       v1::SegmentResponse* out = nullptr) {
    v1::SegmentResponse response;
    grpc::Status s =
        stub_->Segment(ContextWithDeadline().get(), request, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  grpc::Status GetImage(const std::string& name,
                        v1::ImageSession* out = nullptr) {
    v1::GetSessionRequest request;
    request.set_name(name);
    v1::ImageSession session;
    grpc::Status s =
        stub_->GetImageSession(ContextWithDeadline().get(), request, &session);
    if (out != nullptr) *out = session;
    return s;
  }

  grpc::Status GetVideo(const std::string& name) {
    v1::GetSessionRequest request;
    request.set_name(name);
    v1::VideoSession session;
    return stub_->GetVideoSession(ContextWithDeadline().get(), request,
                                  &session);
  }

  grpc::Status AddPrompts(const v1::AddPromptsRequest& request) {
    v1::FrameMasks response;
    return stub_->AddPrompts(ContextWithDeadline().get(), request, &response);
  }

  // Reads the whole stream; `frames` gets the number of messages.
  grpc::Status Propagate(const v1::PropagateVideoRequest& request,
                         int* frames = nullptr) {
    auto ctx = ContextWithDeadline();
    std::unique_ptr<grpc::ClientReader<v1::PropagateVideoResponse>> reader =
        stub_->PropagateVideo(ctx.get(), request);
    v1::PropagateVideoResponse message;
    int n = 0;
    while (reader->Read(&message)) ++n;
    if (frames != nullptr) *frames = n;
    return reader->Finish();
  }

  static v1::SegmentRequest Click(const std::string& session, float x = 30,
                                  float y = 20, int label = 1) {
    v1::SegmentRequest request;
    request.set_session(session);
    v1::Point* p = request.add_points();
    p->set_x(x);
    p->set_y(y);
    p->set_label(label);
    return request;
  }

  static v1::AddPromptsRequest VideoClick(const std::string& session,
                                          int frame, int64_t object,
                                          float x = 40, float y = 30) {
    v1::AddPromptsRequest request;
    request.set_session(session);
    request.set_frame_index(frame);
    request.set_object_id(object);
    v1::Point* p = request.add_points();
    p->set_x(x);
    p->set_y(y);
    p->set_label(1);
    return request;
  }

  // The /metrics exposition of the running server.
  std::string Metrics() {
    const HttpReply reply = HttpGet(app().http_port(), "/metrics");
    return reply.status == 200 ? reply.body : "";
  }

  // Holds `name`'s session busy (as an operation in progress would) until
  // the returned session's EndExclusive.
  std::shared_ptr<Session> HoldBusy(const std::string& name) {
    absl::StatusOr<std::shared_ptr<Session>> s =
        app().store().Lookup(IdOf(name));
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return nullptr;
    absl::Status begun = (*s)->BeginExclusive("held by the test");
    EXPECT_TRUE(begun.ok()) << begun;
    return *s;
  }

  // Declared before the server, which reads it until it is destroyed.
  FakeClock clock_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<v1::Sam2Service::Stub> stub_;
};

// ---------------------------------------------------------------------------
// NOT_FOUND / INVALID_ARGUMENT / FAILED_PRECONDITION: session names

TEST_F(LimitsTest, UnknownSessionOfThisInstanceIsNotFound) {
  StartServer();
  const std::string name =
      absl::StrCat("sessions/", NewSessionId(app().info().instance_id()));
  EXPECT_TRUE(HasStatus(Segment(Click(name)), StatusCode::NOT_FOUND,
                        "no session"));
  EXPECT_TRUE(HasStatus(GetImage(name), StatusCode::NOT_FOUND, "no session"));
  EXPECT_TRUE(HasStatus(GetVideo(name), StatusCode::NOT_FOUND, "no session"));
  v1::DeleteSessionRequest del;
  del.set_name(name);
  v1::DeleteSessionResponse deleted;
  EXPECT_TRUE(HasStatus(
      stub_->DeleteSession(ContextWithDeadline().get(), del, &deleted),
      StatusCode::NOT_FOUND, "no session"));
}

TEST_F(LimitsTest, MalformedSessionNameIsInvalidArgument) {
  StartServer();
  const std::string good_id = NewSessionId(app().info().instance_id());
  // Not "sessions/...".
  EXPECT_TRUE(HasStatus(Segment(Click(good_id)), StatusCode::INVALID_ARGUMENT,
                        "sessions/<id>"));
  EXPECT_TRUE(HasStatus(GetImage(absl::StrCat("session/", good_id)),
                        StatusCode::INVALID_ARGUMENT, "sessions/<id>"));
  EXPECT_TRUE(HasStatus(GetVideo(""), StatusCode::INVALID_ARGUMENT,
                        "sessions/<id>"));
  // "sessions/" and something that is not an id.
  const grpc::Status bad_id = Segment(Click("sessions/NOT-an-id"));
  EXPECT_EQ(bad_id.error_code(), StatusCode::INVALID_ARGUMENT)
      << bad_id.error_message();
  EXPECT_FALSE(bad_id.error_message().empty());
}

TEST_F(LimitsTest, SessionOfAnotherInstanceIsNotFoundSayingSo) {
  StartServer();
  ASSERT_NE(app().info().instance_id(), "otherinstance");
  const std::string name =
      absl::StrCat("sessions/", NewSessionId("otherinstance"));
  const grpc::Status s = Segment(Click(name));
  EXPECT_TRUE(HasStatus(s, StatusCode::NOT_FOUND, "otherinstance"));
  EXPECT_TRUE(HasStatus(s, StatusCode::NOT_FOUND, "restart"));
  EXPECT_TRUE(HasStatus(s, StatusCode::NOT_FOUND, app().info().instance_id()));
}

TEST_F(LimitsTest, DeletedSessionIsNotFoundSayingDeleted) {
  StartServer();
  const v1::ImageSession session = CreateImage();
  v1::DeleteSessionRequest del;
  del.set_name(session.name());
  v1::DeleteSessionResponse deleted;
  ASSERT_TRUE(
      stub_->DeleteSession(ContextWithDeadline().get(), del, &deleted).ok());
  EXPECT_TRUE(HasStatus(Segment(Click(session.name())), StatusCode::NOT_FOUND,
                        "was deleted"));
  EXPECT_TRUE(HasStatus(
      stub_->DeleteSession(ContextWithDeadline().get(), del, &deleted),
      StatusCode::NOT_FOUND, "was deleted"));
}

TEST_F(LimitsTest, SessionOfTheOtherKindIsFailedPrecondition) {
  StartServer();
  const v1::ImageSession image = CreateImage();
  const v1::VideoSession video = CreateVideo();
  EXPECT_TRUE(HasStatus(AddPrompts(VideoClick(image.name(), 0, 1)),
                        StatusCode::FAILED_PRECONDITION,
                        "is an image session, not a video one"));
  v1::PropagateVideoRequest propagate;
  propagate.set_session(image.name());
  EXPECT_TRUE(HasStatus(Propagate(propagate), StatusCode::FAILED_PRECONDITION,
                        "is an image session"));
  EXPECT_TRUE(HasStatus(GetVideo(image.name()), StatusCode::FAILED_PRECONDITION,
                        "is an image session"));
  EXPECT_TRUE(HasStatus(Segment(Click(video.name())),
                        StatusCode::FAILED_PRECONDITION,
                        "is a video session, not an image one"));
}

// ---------------------------------------------------------------------------
// FAILED_PRECONDITION: wrong state

TEST_F(LimitsTest, PropagateWithNoPromptsIsFailedPrecondition) {
  StartServer();
  const v1::VideoSession video = CreateVideo();
  ASSERT_EQ(video.num_frames(), num_video_frames_);
  v1::PropagateVideoRequest request;
  request.set_session(video.name());
  int frames = -1;
  EXPECT_TRUE(HasStatus(Propagate(request, &frames),
                        StatusCode::FAILED_PRECONDITION,
                        "no object has prompts"));
  EXPECT_EQ(frames, 0);
  // The session stays usable: a prompt, then the same request works.
  ASSERT_TRUE(AddPrompts(VideoClick(video.name(), 0, 1)).ok());
  grpc::Status s = Propagate(request, &frames);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(frames, num_video_frames_);
}

TEST_F(LimitsTest, PromptsOnAFramesSessionWithoutFramesAreFailedPrecondition) {
  StartServer();
  const v1::VideoSession empty = CreateVideo({});
  ASSERT_EQ(empty.num_frames(), 0);
  ASSERT_EQ(empty.source(), "frames");
  EXPECT_TRUE(HasStatus(AddPrompts(VideoClick(empty.name(), 0, 1)),
                        StatusCode::FAILED_PRECONDITION, "no frames yet"));
  v1::PropagateVideoRequest propagate;
  propagate.set_session(empty.name());
  EXPECT_TRUE(HasStatus(Propagate(propagate), StatusCode::FAILED_PRECONDITION,
                        "no frames yet"));
  v1::ClearPromptsRequest clear;
  clear.set_session(empty.name());
  v1::FrameMasks masks;
  EXPECT_TRUE(HasStatus(
      stub_->ClearPrompts(ContextWithDeadline().get(), clear, &masks),
      StatusCode::FAILED_PRECONDITION, "no frames yet"));
}

// ---------------------------------------------------------------------------
// OUT_OF_RANGE: frame index outside the video

TEST_F(LimitsTest, FrameIndexOutsideTheVideoIsOutOfRange) {
  StartServer();
  const v1::VideoSession video = CreateVideo();
  ASSERT_EQ(video.num_frames(), num_video_frames_);
  const std::string outside = absl::StrCat("outside the video (",
                                           num_video_frames_, " frames)");
  for (int frame : {num_video_frames_, -1, 1 << 30}) {
    SCOPED_TRACE(frame);
    EXPECT_TRUE(HasStatus(AddPrompts(VideoClick(video.name(), frame, 1)),
                          StatusCode::OUT_OF_RANGE, outside));
  }
  // Nothing was added by the failed prompts.
  v1::GetSessionRequest get;
  get.set_name(video.name());
  v1::VideoSession got;
  ASSERT_TRUE(
      stub_->GetVideoSession(ContextWithDeadline().get(), get, &got).ok());
  EXPECT_EQ(got.object_ids_size(), 0);

  ASSERT_TRUE(AddPrompts(VideoClick(video.name(), 1, 1)).ok());
  v1::ClearPromptsRequest clear;
  clear.set_session(video.name());
  clear.set_object_id(1);
  clear.set_frame_index(num_video_frames_ + 2);
  v1::FrameMasks masks;
  EXPECT_TRUE(HasStatus(
      stub_->ClearPrompts(ContextWithDeadline().get(), clear, &masks),
      StatusCode::OUT_OF_RANGE, outside));

  v1::PropagateVideoRequest propagate;
  propagate.set_session(video.name());
  for (int start : {num_video_frames_, -1}) {
    SCOPED_TRACE(start);
    propagate.set_start_frame(start);
    int frames = -1;
    EXPECT_TRUE(HasStatus(Propagate(propagate, &frames),
                          StatusCode::OUT_OF_RANGE, outside));
    EXPECT_EQ(frames, 0);
  }
  // The last frame is inside.
  propagate.set_start_frame(num_video_frames_ - 1);
  int frames = -1;
  grpc::Status s = Propagate(propagate, &frames);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(frames, 1);
}

// ---------------------------------------------------------------------------
// INVALID_ARGUMENT / RESOURCE_EXHAUSTED: image bytes

TEST_F(LimitsTest, OversizeImageIsRejectedFromItsHeaderWithoutDecoding) {
  StartServer();
  // 20000 x 20000: a side over 8192. The bytes hold no pixel data, so only
  // the header check can produce a message about the size (a decode attempt
  // would say "truncated or corrupt").
  const absl::Time start = absl::Now();
  EXPECT_TRUE(HasStatus(TryCreateImage(PngHeaderOnly(20000, 20000)),
                        StatusCode::INVALID_ARGUMENT,
                        "PNG image is 20000x20000; each side must be between "
                        "8 and 8192 pixels"));
  // 8000 x 8000: each side allowed, 64 Mpx over the 40 Mpx limit.
  EXPECT_TRUE(HasStatus(TryCreateImage(PngHeaderOnly(8000, 8000)),
                        StatusCode::INVALID_ARGUMENT,
                        "over the limit of 40000000"));
  // 4 x 4: under the minimum side.
  EXPECT_TRUE(HasStatus(TryCreateImage(PngHeaderOnly(4, 4)),
                        StatusCode::INVALID_ARGUMENT, "between 8 and 8192"));
  // Within the limits, the same header-only bytes reach the decoder (which
  // proves the messages above came from the header check).
  EXPECT_TRUE(HasStatus(TryCreateImage(PngHeaderOnly(64, 64)),
                        StatusCode::INVALID_ARGUMENT, "truncated or corrupt"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(app().store().size(), 0);
}

TEST_F(LimitsTest, ImageOverTheMessageLimitIsResourceExhaustedFromGrpc) {
  StartServer();
  // gRPC itself refuses a request over max_receive_message_bytes (32 MiB)
  // before the service sees it: RESOURCE_EXHAUSTED "... larger than max
  // (<size> vs. 33554432)". It never reaches the handler, so the service's
  // request counter does not record it.
  const int64_t limit = app().info().limits().max_message_bytes();
  ASSERT_EQ(limit, int64_t{32} << 20);
  std::string big = MicroImagePng();
  big.resize(static_cast<size_t>(limit) + 1024, '\0');
  const grpc::Status s = TryCreateImage(big);
  EXPECT_TRUE(HasStatus(s, StatusCode::RESOURCE_EXHAUSTED, "larger than max"));
  EXPECT_TRUE(HasStatus(s, StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat(limit)));
  EXPECT_EQ(app().store().size(), 0);
  const std::string metrics = Metrics();
  ASSERT_FALSE(metrics.empty());
  EXPECT_EQ(MetricValue(metrics, "sam2_requests_total{method="
                                 "\"CreateImageSession\",code="
                                 "\"RESOURCE_EXHAUSTED\"}"),
            -1);
  // The server is fine afterwards.
  CreateImage();
}

TEST_F(LimitsTest, NonImageAndEmptyBytesAreInvalidArgument) {
  StartServer();
  EXPECT_TRUE(HasStatus(TryCreateImage("this is not an image at all"),
                        StatusCode::INVALID_ARGUMENT,
                        "unsupported image format"));
  EXPECT_TRUE(HasStatus(TryCreateImage("GIF89a\x01\x00\x01\x00"),
                        StatusCode::INVALID_ARGUMENT,
                        "only JPEG and PNG are accepted"));
  EXPECT_TRUE(HasStatus(TryCreateImage(""), StatusCode::INVALID_ARGUMENT,
                        "empty"));
  // A truncated real PNG: the header passes, the decode fails.
  const std::string png = MicroImagePng();
  EXPECT_TRUE(HasStatus(TryCreateImage(png.substr(0, png.size() / 2)),
                        StatusCode::INVALID_ARGUMENT, "cannot decode"));
  EXPECT_EQ(app().store().size(), 0);
}

// Request bytes that do not parse as the method's message: INVALID_ARGUMENT
// (gRPC alone would answer UNIMPLEMENTED for a unary call, and end an upload
// early as if the client had half-closed, creating a session of the frames
// before the corrupt message).
TEST_F(LimitsTest, UnparseableRequestBytesAreInvalidArgument) {
  StartServer();
  const std::shared_ptr<grpc::Channel> channel = server_->NewChannel();
  auto slice_of = [](const std::string& bytes) {
    grpc::Slice slice(bytes);
    return grpc::ByteBuffer(&slice, 1);
  };
  // Field 1 (bytes image) claiming far more bytes than follow.
  const std::string lying_length("\x0a\xff\xff\xff\xff\x0f" "abc", 9);
  {
    auto ctx = ContextWithDeadline();
    grpc::ByteBuffer reply;
    const grpc::Status s =
        grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
            channel.get(),
            grpc::internal::RpcMethod("/sam2.v1.Sam2Service/CreateImageSession",
                                      grpc::internal::RpcMethod::NORMAL_RPC),
            ctx.get(), slice_of(lying_length), &reply);
    EXPECT_TRUE(HasStatus(s, StatusCode::INVALID_ARGUMENT,
                          "cannot parse the request of "
                          "/sam2.v1.Sam2Service/CreateImageSession"));
  }
  {
    auto ctx = ContextWithDeadline();
    grpc::ByteBuffer reply;
    std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
        grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
            channel.get(),
            grpc::internal::RpcMethod("/sam2.v1.Sam2Service/CreateVideoSession",
                                      grpc::internal::RpcMethod::CLIENT_STREAMING),
            ctx.get(), &reply));
    v1::CreateVideoSessionRequest config;
    config.mutable_config();
    v1::CreateVideoSessionRequest frame;
    frame.set_frame(MicroVideoFrames()[0]);
    // Field 3 (bytes frame) whose length runs past the message's end.
    const std::string corrupt("\x1a\xff\xff\xff\xff\x0f" "jpeg", 10);
    bool open = writer->Write(slice_of(config.SerializeAsString())) &&
                writer->Write(slice_of(frame.SerializeAsString())) &&
                writer->Write(slice_of(corrupt));
    if (open) writer->Write(slice_of(frame.SerializeAsString()));
    writer->WritesDone();
    EXPECT_TRUE(HasStatus(writer->Finish(), StatusCode::INVALID_ARGUMENT,
                          "cannot parse message 3 of the upload"));
  }
  EXPECT_EQ(app().store().size(), 0);
}

// ---------------------------------------------------------------------------
// INVALID_ARGUMENT: prompts

TEST_F(LimitsTest, BadPointsAndBoxesAreInvalidArgument) {
  StartServer();
  const v1::ImageSession session = CreateImage();
  ASSERT_EQ(session.width(), kMicroImageWidth);
  ASSERT_EQ(session.height(), kMicroImageHeight);
  const std::string& name = session.name();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();

  EXPECT_TRUE(HasStatus(Segment(Click(name, nan, 20)),
                        StatusCode::INVALID_ARGUMENT, "non-finite"));
  EXPECT_TRUE(HasStatus(Segment(Click(name, 30, inf)),
                        StatusCode::INVALID_ARGUMENT, "non-finite"));
  EXPECT_TRUE(HasStatus(Segment(Click(name, 30, -inf)),
                        StatusCode::INVALID_ARGUMENT, "non-finite"));
  EXPECT_TRUE(HasStatus(Segment(Click(name, kMicroImageWidth + 1, 20)),
                        StatusCode::INVALID_ARGUMENT, "must lie on the image"));
  EXPECT_TRUE(HasStatus(Segment(Click(name, 30, -0.5f)),
                        StatusCode::INVALID_ARGUMENT, "must lie on the image"));
  EXPECT_TRUE(HasStatus(Segment(Click(name, 30, 20, 7)),
                        StatusCode::INVALID_ARGUMENT,
                        "point labels must be in"));
  EXPECT_TRUE(HasStatus(Segment(Click(name, 30, 20, -2)),
                        StatusCode::INVALID_ARGUMENT,
                        "point labels must be in"));

  v1::SegmentRequest inverted;
  inverted.set_session(name);
  v1::Box* box = inverted.add_boxes();
  box->set_x0(50);
  box->set_y0(10);
  box->set_x1(20);  // x1 < x0
  box->set_y1(40);
  EXPECT_TRUE(HasStatus(Segment(inverted), StatusCode::INVALID_ARGUMENT,
                        "x0 <= x1 and y0 <= y1"));
  v1::SegmentRequest nan_box = inverted;
  nan_box.mutable_boxes(0)->set_x1(nan);
  EXPECT_TRUE(HasStatus(Segment(nan_box), StatusCode::INVALID_ARGUMENT,
                        "non-finite"));

  v1::SegmentRequest empty;
  empty.set_session(name);
  EXPECT_TRUE(HasStatus(Segment(empty), StatusCode::INVALID_ARGUMENT,
                        "empty prompt"));

  // None of these created a result: the next good one is result 1.
  v1::SegmentResponse response;
  ASSERT_TRUE(Segment(Click(name), &response).ok());
  EXPECT_EQ(response.result_id(), 1);
}

TEST_F(LimitsTest, TooManyPointsOrBoxesAreInvalidArgument) {
  StartServer();
  const v1::ImageSession session = CreateImage();
  v1::SegmentRequest points;
  points.set_session(session.name());
  for (int i = 0; i < kDefaultMaxPoints; ++i) {
    v1::Point* p = points.add_points();
    p->set_x(static_cast<float>(i));
    p->set_y(static_cast<float>(i));
    p->set_label(i % 2);
  }
  grpc::Status at_limit = Segment(points);
  EXPECT_TRUE(at_limit.ok()) << at_limit.error_message();  // 64 is allowed
  *points.add_points() = points.points(0);
  EXPECT_TRUE(HasStatus(Segment(points), StatusCode::INVALID_ARGUMENT,
                        "65 points in one request; the limit is 64"));

  v1::SegmentRequest boxes;
  boxes.set_session(session.name());
  for (int i = 0; i < kDefaultMaxBoxes; ++i) {
    v1::Box* b = boxes.add_boxes();
    b->set_x0(static_cast<float>(i));
    b->set_y0(static_cast<float>(i));
    b->set_x1(static_cast<float>(100 + i));
    b->set_y1(static_cast<float>(100 + i));
  }
  boxes.set_multimask_output(false);
  grpc::Status boxes_at_limit = Segment(boxes);
  EXPECT_TRUE(boxes_at_limit.ok()) << boxes_at_limit.error_message();
  *boxes.add_boxes() = boxes.boxes(0);
  EXPECT_TRUE(HasStatus(Segment(boxes), StatusCode::INVALID_ARGUMENT,
                        "17 boxes in one request; the limit is 16"));

  // Points with several boxes are refused too (the reference's rule).
  v1::SegmentRequest mixed = boxes;
  mixed.mutable_boxes()->RemoveLast();
  *mixed.add_points() = points.points(1);
  EXPECT_TRUE(HasStatus(Segment(mixed), StatusCode::INVALID_ARGUMENT,
                        "points cannot be combined with several boxes"));
}

TEST_F(LimitsTest, TooManyObjectsInAVideoIsInvalidArgument) {
  ServerAppOptions options = TestServerOptions();
  options.limits.video.max_objects = 2;
  StartServer(options);
  EXPECT_EQ(app().info().limits().max_objects(), 2);
  const v1::VideoSession video = CreateVideo();
  ASSERT_TRUE(AddPrompts(VideoClick(video.name(), 0, 10)).ok());
  ASSERT_TRUE(AddPrompts(VideoClick(video.name(), 1, 20)).ok());
  EXPECT_TRUE(HasStatus(AddPrompts(VideoClick(video.name(), 0, 30)),
                        StatusCode::INVALID_ARGUMENT,
                        "object 30 would be object number 3; a video session "
                        "tracks at most 2 objects"));
  // Known objects may still get prompts.
  EXPECT_TRUE(AddPrompts(VideoClick(video.name(), 2, 20)).ok());

  // ClearPrompts of an object the session does not have must not add one
  // (the predictor's clear_all_prompts_in_frame creates unknown ids, as the
  // reference's does): that would bypass max_objects and leave an object
  // without prompts, which blocks every later propagation.
  v1::ClearPromptsRequest clear;
  clear.set_session(video.name());
  clear.set_frame_index(0);
  clear.set_object_id(99);
  v1::FrameMasks masks;
  EXPECT_TRUE(HasStatus(
      stub_->ClearPrompts(ContextWithDeadline().get(), clear, &masks),
      StatusCode::NOT_FOUND, "object 99 is not in this video"));
  v1::GetSessionRequest get;
  get.set_name(video.name());
  v1::VideoSession got;
  ASSERT_TRUE(
      stub_->GetVideoSession(ContextWithDeadline().get(), get, &got).ok());
  EXPECT_EQ(
      std::vector<int64_t>(got.object_ids().begin(), got.object_ids().end()),
      (std::vector<int64_t>{10, 20}));
  v1::PropagateVideoRequest propagate;
  propagate.set_session(video.name());
  const grpc::Status propagated = Propagate(propagate);
  EXPECT_TRUE(propagated.ok()) << propagated.error_message();
}

TEST_F(LimitsTest, UnknownEnumValuesAndNegativeMaxFramesAreInvalidArgument) {
  StartServer();
  const v1::ImageSession image = CreateImage();
  v1::SegmentRequest segment = Click(image.name());
  segment.set_mask_format(static_cast<v1::MaskFormat>(99));
  EXPECT_TRUE(HasStatus(Segment(segment), StatusCode::INVALID_ARGUMENT,
                        "unknown mask_format 99"));

  const v1::VideoSession video = CreateVideo();
  v1::AddPromptsRequest prompt = VideoClick(video.name(), 0, 1);
  prompt.set_mask_format(static_cast<v1::MaskFormat>(99));
  EXPECT_TRUE(HasStatus(AddPrompts(prompt), StatusCode::INVALID_ARGUMENT,
                        "unknown mask_format 99"));
  ASSERT_TRUE(AddPrompts(VideoClick(video.name(), 0, 1)).ok());

  v1::PropagateVideoRequest propagate;
  propagate.set_session(video.name());
  propagate.set_direction(static_cast<v1::Direction>(99));
  EXPECT_TRUE(HasStatus(Propagate(propagate), StatusCode::INVALID_ARGUMENT,
                        "unknown direction 99"));
  propagate.set_direction(v1::DIRECTION_FORWARD);
  propagate.set_mask_format(static_cast<v1::MaskFormat>(-3));
  EXPECT_TRUE(HasStatus(Propagate(propagate), StatusCode::INVALID_ARGUMENT,
                        "unknown mask_format -3"));
  propagate.set_mask_format(v1::MASK_FORMAT_RLE);
  propagate.set_max_frames(-1);
  EXPECT_TRUE(HasStatus(Propagate(propagate), StatusCode::INVALID_ARGUMENT,
                        "max_frames must be >= 0"));
  propagate.set_max_frames(0);
  int frames = -1;
  grpc::Status s = Propagate(propagate, &frames);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(frames, 1);  // the start frame only

  v1::ClearPromptsRequest clear;
  clear.set_session(video.name());
  clear.set_object_id(1);
  clear.set_mask_format(static_cast<v1::MaskFormat>(99));
  v1::FrameMasks masks;
  EXPECT_TRUE(HasStatus(
      stub_->ClearPrompts(ContextWithDeadline().get(), clear, &masks),
      StatusCode::INVALID_ARGUMENT, "unknown mask_format 99"));
}

TEST_F(LimitsTest, MaskInputsAreCheckedAgainstKeptResultsAndSizes) {
  StartServer();
  const v1::ImageSession session = CreateImage();
  v1::SegmentResponse first;
  ASSERT_TRUE(Segment(Click(session.name()), &first).ok());
  ASSERT_EQ(first.prompts(0).masks_size(), 3);

  v1::SegmentRequest by_ref = Click(session.name());
  v1::MaskReference* ref = by_ref.mutable_mask_input()->mutable_previous();
  ref->set_result_id(first.result_id() + 1000);
  EXPECT_TRUE(HasStatus(Segment(by_ref), StatusCode::NOT_FOUND,
                        absl::StrCat("result ", first.result_id() + 1000,
                                     " is not kept")));
  ref->set_result_id(first.result_id());
  ref->set_mask_index(3);  // 0..2 after a multimask call
  EXPECT_TRUE(HasStatus(Segment(by_ref), StatusCode::INVALID_ARGUMENT,
                        "no prompt_index 0 mask_index 3"));
  ref->set_mask_index(-1);
  EXPECT_TRUE(HasStatus(Segment(by_ref), StatusCode::INVALID_ARGUMENT,
                        "mask_index -1"));
  ref->set_mask_index(0);
  ref->set_prompt_index(1);
  EXPECT_TRUE(HasStatus(Segment(by_ref), StatusCode::INVALID_ARGUMENT,
                        "no prompt_index 1"));
  ref->set_prompt_index(0);
  EXPECT_TRUE(Segment(by_ref).ok());

  const int low_res = 4 * MicroImageModel()->config().ImageEmbeddingSize();
  v1::SegmentRequest by_data = Click(session.name());
  v1::Mask* logits = by_data.mutable_mask_input()->mutable_logits();
  logits->set_height(low_res);
  logits->set_width(low_res);
  logits->set_logits(
      std::string(static_cast<size_t>(low_res * low_res * 4 - 4), '\0'));
  EXPECT_TRUE(HasStatus(
      Segment(by_data), StatusCode::INVALID_ARGUMENT,
      absl::StrCat("mask logits hold ", low_res * low_res * 4 - 4,
                   " bytes, expected ", low_res * low_res * 4)));
  logits->set_height(low_res * 2);
  logits->set_logits(
      std::string(static_cast<size_t>(low_res * low_res * 8), '\0'));
  const grpc::Status wrong_size = Segment(by_data);
  EXPECT_EQ(wrong_size.error_code(), StatusCode::INVALID_ARGUMENT)
      << wrong_size.error_message();
  EXPECT_TRUE(absl::StrContains(
      wrong_size.error_message(),
      absl::StrCat("mask is ", low_res, "x", 2 * low_res, ", expected ",
                   low_res, "x", low_res)))
      << wrong_size.error_message();
  logits->set_height(0);
  EXPECT_TRUE(HasStatus(Segment(by_data), StatusCode::INVALID_ARGUMENT,
                        "positive height and width"));
}

// ---------------------------------------------------------------------------
// RESOURCE_EXHAUSTED: the worker queue

TEST_F(LimitsTest, FullQueueIsResourceExhaustedAtOnceAndQueuedWorkCompletes) {
  ServerAppOptions options = TestServerOptions();
  options.queue_capacity = 1;
  StartServer(options);
  const v1::ImageSession session = CreateImage();
  WorkerBlocker blocker(app().pool());
  ASSERT_TRUE(blocker.submitted().ok()) << blocker.submitted();

  // Fills the queue (capacity 1) behind the blocked worker.
  std::shared_ptr<AsyncSegment> queued =
      StartSegment(*stub_, Click(session.name()));
  const absl::Time wait_until = absl::Now() + absl::Seconds(20);
  while (app().pool().QueueDepth(0) < 1 && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_EQ(app().pool().QueueDepth(0), 1);

  // Short deadlines: were the calls queued instead, they would fail with
  // DEADLINE_EXCEEDED after 5 s rather than hang until the release.
  const absl::Time start = absl::Now();
  v1::SegmentResponse response;
  EXPECT_TRUE(HasStatus(stub_->Segment(ContextWithDeadline(5).get(),
                                       Click(session.name()), &response),
                        StatusCode::RESOURCE_EXHAUSTED,
                        "worker 0 queue full (1 tasks)"));
  v1::CreateImageSessionRequest create;
  create.set_image(MicroImagePng());
  v1::ImageSession created;
  EXPECT_TRUE(HasStatus(stub_->CreateImageSession(ContextWithDeadline(5).get(),
                                                  create, &created),
                        StatusCode::RESOURCE_EXHAUSTED, "queue full"));
  // At once: not after the blocked work.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(app().pool().QueueDepth(0), 1);

  blocker.Release();
  std::future<grpc::Status> done = queued->done.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const grpc::Status s = done.get();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(queued->response.prompts_size(), 1);
}

// ---------------------------------------------------------------------------
// DEADLINE_EXCEEDED: queued work whose deadline passes never runs

TEST_F(LimitsTest, DeadlinePassedWhileQueuedIsDeadlineExceededAndNeverRuns) {
  StartServer();
  const v1::ImageSession session = CreateImage();
  v1::SegmentResponse before;
  ASSERT_TRUE(Segment(Click(session.name()), &before).ok());
  const std::string compute_count =
      "sam2_request_compute_seconds_count{method=\"Segment\"}";
  const std::string expired_count =
      "sam2_requests_total{method=\"Segment\",code=\"DEADLINE_EXCEEDED\"}";
  ASSERT_EQ(MetricValue(Metrics(), compute_count), 1);

  {
    WorkerBlocker blocker(app().pool());
    ASSERT_TRUE(blocker.submitted().ok()) << blocker.submitted();
    auto ctx = ContextWithDeadline(0.2);
    v1::SegmentResponse response;
    const absl::Time start = absl::Now();
    const grpc::Status s =
        stub_->Segment(ctx.get(), Click(session.name()), &response);
    // gRPC's own status, on the client, when the 200 ms are up.
    EXPECT_EQ(s.error_code(), StatusCode::DEADLINE_EXCEEDED)
        << s.error_message();
    EXPECT_LT(absl::Now() - start, absl::Seconds(10));
    EXPECT_EQ(app().pool().QueueDepth(0), 1);
    // The server's copy of the deadline (received a moment later) must be
    // past too before the worker frees up.
    absl::SleepFor(absl::Milliseconds(300));
  }  // releases the worker: it dequeues the expired call

  // The server finishes the expired call with DEADLINE_EXCEEDED (counted
  // under that code) without computing: the compute histogram, which every
  // executed Segment feeds, did not move.
  std::string metrics;
  const absl::Time wait_until = absl::Now() + absl::Seconds(20);
  do {
    metrics = Metrics();
    if (MetricValue(metrics, expired_count) >= 1) break;
    absl::SleepFor(absl::Milliseconds(10));
  } while (absl::Now() < wait_until);
  EXPECT_EQ(MetricValue(metrics, expired_count), 1) << metrics;
  EXPECT_EQ(MetricValue(metrics, compute_count), 1);
  // And the session saw no Segment: the next result id follows the first.
  v1::SegmentResponse after;
  ASSERT_TRUE(Segment(Click(session.name()), &after).ok());
  EXPECT_EQ(after.result_id(), before.result_id() + 1);
}

// ---------------------------------------------------------------------------
// Session cap: LRU eviction, RESOURCE_EXHAUSTED when all are busy, ABORTED

TEST_F(LimitsTest, SessionCapEvictsTheLeastRecentlyUsedAndRefusesWhenAllBusy) {
  ServerAppOptions options = TestServerOptions();
  options.clock = &clock_;
  options.sessions.max_sessions = 2;
  StartServer(options);
  EXPECT_EQ(app().info().limits().max_sessions(), 2);

  const v1::ImageSession a = CreateImage();
  clock_.Advance(absl::Seconds(1));
  const v1::ImageSession b = CreateImage();
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(GetImage(a.name()).ok());  // a is now more recent than b
  clock_.Advance(absl::Seconds(1));
  const v1::ImageSession c = CreateImage();
  ASSERT_FALSE(c.name().empty());

  EXPECT_TRUE(HasStatus(GetImage(b.name()), StatusCode::NOT_FOUND,
                        "was evicted to stay within the session cap"));
  EXPECT_TRUE(GetImage(a.name()).ok());
  EXPECT_TRUE(Segment(Click(c.name())).ok());
  EXPECT_EQ(app().store().size(), 2);

  // Both sessions busy: nothing can make room.
  std::shared_ptr<Session> held_a = HoldBusy(a.name());
  std::shared_ptr<Session> held_c = HoldBusy(c.name());
  ASSERT_TRUE(held_a != nullptr && held_c != nullptr);
  EXPECT_TRUE(HasStatus(TryCreateImage(MicroImagePng()),
                        StatusCode::RESOURCE_EXHAUSTED,
                        "session cap of 2 reached and every session is busy"));
  EXPECT_TRUE(HasStatus(TryCreateVideo(MicroVideoFrames()),
                        StatusCode::RESOURCE_EXHAUSTED, "session cap of 2"));
  // ABORTED: a conflicting operation on a busy session.
  EXPECT_TRUE(HasStatus(Segment(Click(a.name())), StatusCode::ABORTED,
                        "session is busy: held by the test"));
  // Busy sessions are never evicted.
  EXPECT_TRUE(GetImage(a.name()).ok());
  EXPECT_TRUE(GetImage(c.name()).ok());

  held_a->EndExclusive();
  clock_.Advance(absl::Seconds(1));
  held_c->EndExclusive();  // c is now the more recent
  clock_.Advance(absl::Seconds(1));
  const v1::ImageSession d = CreateImage();
  ASSERT_FALSE(d.name().empty());
  EXPECT_TRUE(HasStatus(GetImage(a.name()), StatusCode::NOT_FOUND, "evicted"));
  EXPECT_TRUE(GetImage(c.name()).ok());
}

// ---------------------------------------------------------------------------
// TTLs with an injected clock

TEST_F(LimitsTest, IdleAndAbsoluteTtlsExpireSessionsWithTheReasonSaid) {
  ServerAppOptions options = TestServerOptions();
  options.clock = &clock_;
  options.sessions.idle_ttl = absl::Minutes(1);
  options.sessions.absolute_ttl = absl::Minutes(3);
  StartServer(options);
  EXPECT_EQ(app().info().limits().idle_ttl_seconds(), 60);
  EXPECT_EQ(app().info().limits().absolute_ttl_seconds(), 180);

  // Idle expiry, found by the reaper.
  const v1::ImageSession idle = CreateImage();
  EXPECT_EQ(idle.expire_time().seconds() - idle.create_time().seconds(), 60);
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(app().store().Reap(), 1);
  EXPECT_TRUE(HasStatus(Segment(Click(idle.name())), StatusCode::NOT_FOUND,
                        "expired (idle for more than 1m)"));

  // Idle expiry, found by the lookup itself (no reap).
  const v1::ImageSession unreaped = CreateImage();
  clock_.Advance(absl::Seconds(61));
  EXPECT_TRUE(HasStatus(GetImage(unreaped.name()), StatusCode::NOT_FOUND,
                        "expired (idle for more than 1m)"));

  // Each use moves the idle expiry; the absolute one still comes.
  const v1::ImageSession used = CreateImage();
  const int64_t created = used.create_time().seconds();
  for (int step = 1; step <= 4; ++step) {
    SCOPED_TRACE(step);
    clock_.Advance(absl::Seconds(40));
    EXPECT_EQ(app().store().Reap(), 0);
    v1::ImageSession got;
    ASSERT_TRUE(GetImage(used.name(), &got).ok());
    // min(last use + 1 min, creation + 3 min).
    EXPECT_EQ(got.expire_time().seconds() - created,
              std::min<int64_t>(40 * step + 60, 180));
  }
  // 160 s after creation (> the idle TTL, thanks to the uses) it is alive;
  // at 200 s the absolute TTL has passed, however recently it was used.
  clock_.Advance(absl::Seconds(40));
  EXPECT_EQ(app().store().Reap(), 1);
  EXPECT_TRUE(HasStatus(GetImage(used.name()), StatusCode::NOT_FOUND,
                        "expired (older than 3m)"));

  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions_removed_total{kind=\"image\","
                                 "reason=\"idle_expired\"}"),
            2);
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions_removed_total{kind=\"image\","
                                 "reason=\"absolute_expired\"}"),
            1);
}

// ---------------------------------------------------------------------------
// Byte budget: least recently used image first, videos last

TEST_F(LimitsTest, ByteBudgetEvictsTheLeastRecentlyUsedImageBeforeAnyVideo) {
  // One image session's and one video session's size, on a throwaway
  // server (the same inputs give the same sizes).
  StartServer();
  const int64_t image_bytes = CreateImage().bytes_held();
  const int64_t video_bytes = CreateVideo().bytes_held();
  ASSERT_GT(image_bytes, 0);
  ASSERT_GT(video_bytes, 0);

  // Room for the video and two and a half images.
  ServerAppOptions options = TestServerOptions();
  options.clock = &clock_;
  options.sessions.max_bytes = video_bytes + 2 * image_bytes + image_bytes / 2;
  StartServer(options);
  const v1::ImageSession a = CreateImage();
  clock_.Advance(absl::Seconds(1));
  const v1::VideoSession v = CreateVideo();
  clock_.Advance(absl::Seconds(1));
  const v1::ImageSession b = CreateImage();
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(GetImage(a.name()).ok());  // a: more recent than v and b
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(a.bytes_held(), image_bytes);
  ASSERT_EQ(v.bytes_held(), video_bytes);
  const v1::ImageSession c = CreateImage();  // one session has to go
  ASSERT_FALSE(c.name().empty());

  // Not a (used since), not v (older than b, but a video): b.
  EXPECT_TRUE(HasStatus(GetImage(b.name()), StatusCode::NOT_FOUND,
                        "was evicted to stay within the memory budget"));
  EXPECT_TRUE(GetImage(a.name()).ok());
  EXPECT_TRUE(GetImage(c.name()).ok());
  EXPECT_TRUE(GetVideo(v.name()).ok());
  EXPECT_EQ(app().store().size(), 3);

  // Everything busy: the budget cannot be met, nothing is evicted.
  std::shared_ptr<Session> held_a = HoldBusy(a.name());
  std::shared_ptr<Session> held_c = HoldBusy(c.name());
  std::shared_ptr<Session> held_v = HoldBusy(v.name());
  ASSERT_TRUE(held_a != nullptr && held_c != nullptr && held_v != nullptr);
  EXPECT_TRUE(HasStatus(TryCreateImage(MicroImagePng()),
                        StatusCode::RESOURCE_EXHAUSTED,
                        "held by busy sessions"));
  EXPECT_EQ(app().store().size(), 3);
  held_a->EndExclusive();
  held_c->EndExclusive();
  held_v->EndExclusive();

  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions_removed_total{kind=\"image\","
                                 "reason=\"evicted\"}"),
            1);
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions_removed_total{kind=\"video\","
                                 "reason=\"evicted\"}"),
            0);
  EXPECT_EQ(MetricValue(metrics, "sam2_session_bytes"),
            static_cast<double>(video_bytes + 2 * image_bytes));

  // A session larger than the whole budget.
  ServerAppOptions tiny = TestServerOptions();
  tiny.sessions.max_bytes = image_bytes / 2;
  StartServer(tiny);
  EXPECT_TRUE(HasStatus(TryCreateImage(MicroImagePng()),
                        StatusCode::RESOURCE_EXHAUSTED,
                        "more than the whole budget"));
}

// ---------------------------------------------------------------------------
// UNAVAILABLE: draining

TEST_F(LimitsTest, DrainingRefusesNewSessionsWithUnavailable) {
  StartServer();
  const v1::ImageSession session = CreateImage();
  app().service().StartDraining();
  EXPECT_TRUE(HasStatus(TryCreateImage(MicroImagePng()),
                        StatusCode::UNAVAILABLE, "draining"));
  EXPECT_TRUE(HasStatus(TryCreateVideo(MicroVideoFrames()),
                        StatusCode::UNAVAILABLE, "draining"));
  // Work on existing sessions goes on.
  EXPECT_TRUE(Segment(Click(session.name())).ok());

  // The whole drain stops the gRPC server: every new call is then refused
  // by gRPC itself, still UNAVAILABLE.
  app().Drain(absl::ZeroDuration());
  EXPECT_FALSE(app().serving());
  EXPECT_EQ(Segment(Click(session.name())).error_code(),
            StatusCode::UNAVAILABLE);
}

// The SIGTERM path with a drain delay: during the delay health says
// NOT_SERVING and new sessions are refused, while calls on existing sessions
// are still served; then gRPC stops. Drain runs on its own thread; the test
// waits for the server's own flag, not for time to pass.
TEST_F(LimitsTest, DrainDelayKeepsServingExistingSessions) {
  ServerAppOptions options = TestServerOptions();
  options.drain_delay = absl::Seconds(5);
  StartServer(options);
  const v1::ImageSession session = CreateImage();
  std::thread drain([this] { app().Drain(absl::Seconds(6)); });
  const absl::Time give_up = absl::Now() + absl::Seconds(4);
  while (app().serving() && absl::Now() < give_up) std::this_thread::yield();
  ASSERT_FALSE(app().serving());
  EXPECT_TRUE(HasStatus(TryCreateImage(MicroImagePng()),
                        StatusCode::UNAVAILABLE, "draining"));
  EXPECT_TRUE(Segment(Click(session.name())).ok());
  drain.join();
  EXPECT_EQ(Segment(Click(session.name())).error_code(),
            StatusCode::UNAVAILABLE);
}

// ---------------------------------------------------------------------------
// Metrics: what the calls above leave in /metrics

TEST_F(LimitsTest, MetricsCountRequestsByMethodAndCodeAndSessionsByKind) {
  ServerAppOptions options = TestServerOptions();
  options.sessions.max_sessions = 2;
  StartServer(options);
  const v1::ImageSession first = CreateImage();
  CreateImage();
  CreateImage();  // evicts `first`
  const std::string unknown =
      absl::StrCat("sessions/", NewSessionId(app().info().instance_id()));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Segment(Click(unknown)).error_code(), StatusCode::NOT_FOUND);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Segment(Click("bad")).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(GetImage(first.name()).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(TryCreateImage("").error_code(), StatusCode::INVALID_ARGUMENT);

  const std::string metrics = Metrics();
  ASSERT_FALSE(metrics.empty());
  auto requests = [&](const std::string& method, const std::string& code) {
    return MetricValue(metrics,
                       absl::StrCat("sam2_requests_total{method=\"", method,
                                    "\",code=\"", code, "\"}"));
  };
  EXPECT_EQ(requests("CreateImageSession", "OK"), 3);
  EXPECT_EQ(requests("CreateImageSession", "INVALID_ARGUMENT"), 1);
  EXPECT_EQ(requests("Segment", "NOT_FOUND"), 3);
  EXPECT_EQ(requests("Segment", "INVALID_ARGUMENT"), 2);
  EXPECT_EQ(requests("GetImageSession", "NOT_FOUND"), 1);
  EXPECT_EQ(requests("Segment", "OK"), -1);  // never sent
  EXPECT_EQ(MetricValue(metrics, "sam2_request_failures_total{method="
                                 "\"Segment\",code=\"NOT_FOUND\"}"),
            3);
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions{kind=\"image\"}"), 2);
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions{kind=\"video\"}"), 0);
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions_removed_total{kind=\"image\","
                                 "reason=\"evicted\"}"),
            1);
  EXPECT_EQ(MetricValue(metrics, "sam2_sessions_removed_total{kind=\"image\","
                                 "reason=\"deleted\"}"),
            0);
  EXPECT_EQ(MetricValue(metrics, "sam2_worker_queue_depth{worker=\"cpu\"}"), 0);
}

}  // namespace
}  // namespace sam2
