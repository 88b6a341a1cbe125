// Sam2Client against the whole server in-process (TestServer, micro model)
// for every method and the mask decoding (and over TLS and mutual TLS),
// against a scripted fake service for the retry, deadline and cancellation
// rules, and against a recorder of the session routing and authorization
// headers (which calls carry them, with what value).

#include "client/sam2_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/dead_port.h"
#include "client/routing_recorder.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "model/rle.h"
#include "tests/server/test_server.h"
#include "tests/util/test_certs.h"

namespace sam2 {
namespace {

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

// A client of `address` that counts attempts per method.
struct CountingClient {
  std::unique_ptr<Sam2Client> client;
  std::shared_ptr<std::map<std::string, int>> attempts =
      std::make_shared<std::map<std::string, int>>();
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();

  int Attempts(const std::string& method) const {
    std::lock_guard<std::mutex> lock(*mu);
    auto it = attempts->find(method);
    return it == attempts->end() ? 0 : it->second;
  }
};

CountingClient Connect(const std::string& address,
                       ClientOptions options = ClientOptions()) {
  CountingClient c;
  options.address = address;
  auto attempts = c.attempts;
  auto mu = c.mu;
  options.attempt_observer = [attempts, mu](absl::string_view method, int) {
    std::lock_guard<std::mutex> lock(*mu);
    ++(*attempts)[std::string(method)];
  };
  absl::StatusOr<std::unique_ptr<Sam2Client>> client =
      Sam2Client::Connect(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  if (client.ok()) c.client = *std::move(client);
  return c;
}

// Fast retries for the tests.
ClientOptions FastRetries(int max_retries) {
  ClientOptions o;
  o.max_retries = max_retries;
  o.initial_backoff = absl::Milliseconds(1);
  o.max_backoff = absl::Milliseconds(5);
  o.timeout = absl::Seconds(30);
  return o;
}

// The mask as a bool tensor (for comparisons with the model's masks).
at::Tensor ToTensor(const cv::Mat& m) {
  return at::from_blob(m.data, {m.rows, m.cols}, at::kByte).ne(0).clone();
}

// ---------------------------------------------------------------------------
// Options and helpers

TEST(ClientOptionsTest, ConnectRejectsBadOptions) {
  ClientOptions o;
  EXPECT_EQ(Sam2Client::Connect(o).status().code(),
            absl::StatusCode::kInvalidArgument);  // no address
  o.address = "localhost:1";
  EXPECT_TRUE(Sam2Client::Connect(o).ok());
  ClientOptions bad = o;
  bad.max_retries = -1;
  EXPECT_FALSE(Sam2Client::Connect(bad).ok());
  bad = o;
  bad.timeout = absl::ZeroDuration();
  EXPECT_FALSE(Sam2Client::Connect(bad).ok());
  bad = o;
  bad.backoff_jitter = 1.5;
  EXPECT_FALSE(Sam2Client::Connect(bad).ok());
  bad = o;
  bad.backoff_multiplier = 0.5;
  EXPECT_FALSE(Sam2Client::Connect(bad).ok());
  bad = o;
  bad.max_message_bytes = 0;
  EXPECT_FALSE(Sam2Client::Connect(bad).ok());
  bad = o;
  bad.bearer_token = "secret token";  // short, with a space
  absl::Status s = Sam2Client::Connect(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "ClientOptions.bearer_token")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "secret")) << s;
  bad = o;
  bad.tls_server_name = "localhost";  // without TLS credentials
  EXPECT_EQ(Sam2Client::Connect(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClientOptionsTest, BackoffGrowsIsCappedAndJittered) {
  ClientOptions o;
  o.initial_backoff = absl::Milliseconds(100);
  o.backoff_multiplier = 2;
  o.max_backoff = absl::Milliseconds(500);
  o.backoff_jitter = 0.2;
  EXPECT_EQ(RetryBackoff(o, 1, 0.5), absl::Milliseconds(100));
  EXPECT_EQ(RetryBackoff(o, 2, 0.5), absl::Milliseconds(200));
  EXPECT_EQ(RetryBackoff(o, 3, 0.5), absl::Milliseconds(400));
  EXPECT_EQ(RetryBackoff(o, 4, 0.5), absl::Milliseconds(500));
  EXPECT_EQ(RetryBackoff(o, 60, 0.5), absl::Milliseconds(500));
  EXPECT_EQ(RetryBackoff(o, 1, 0.0), absl::Milliseconds(80));
  EXPECT_EQ(RetryBackoff(o, 1, 1.0), absl::Milliseconds(120));
  o.backoff_jitter = 0;
  EXPECT_EQ(RetryBackoff(o, 2, 0.9), absl::Milliseconds(200));
}

TEST(MaskCodingTest, EncodeMaskRleRoundTripsAndMatchesPycocotoolsCounts) {
  cv::Mat m = cv::Mat::zeros(37, 53, CV_8UC1);
  m(cv::Rect(5, 3, 20, 11)).setTo(1);
  m.at<uint8_t>(0, 0) = 7;  // first pixel set: counts start with 0
  m.at<uint8_t>(36, 52) = 255;
  absl::StatusOr<v1::Mask> encoded = EncodeMaskRle(m);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(encoded->height(), 37);
  EXPECT_EQ(encoded->width(), 53);
  // The model's encoder (the pycocotools path) gives the same string.
  at::Tensor t = ToTensor(m);
  absl::StatusOr<Rle> rle = MaskToRle(t);
  ASSERT_TRUE(rle.ok());
  EXPECT_EQ(encoded->rle_counts(), EncodeCocoCounts(*rle));
  absl::StatusOr<cv::Mat> decoded = DecodeMask(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->type(), CV_8UC1);
  cv::Mat expected;
  cv::compare(m, 0, expected, cv::CMP_NE);
  EXPECT_EQ(cv::countNonZero(*decoded != expected), 0);
  EXPECT_FALSE(EncodeMaskRle(cv::Mat()).ok());
  EXPECT_FALSE(EncodeMaskRle(cv::Mat::zeros(4, 4, CV_32FC1)).ok());
}

TEST(MaskCodingTest, DecodeMaskRejectsMalformedMasks) {
  v1::Mask m;
  m.set_height(4);
  m.set_width(4);
  EXPECT_EQ(DecodeMask(m).status().code(), absl::StatusCode::kInvalidArgument);
  m.set_rle_counts("3");  // covers 3 of 16 pixels
  EXPECT_EQ(DecodeMask(m).status().code(), absl::StatusCode::kInvalidArgument);
  m.set_png("not a png");
  EXPECT_EQ(DecodeMask(m).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> png;
  ASSERT_TRUE(cv::imencode(".png", cv::Mat::zeros(5, 4, CV_8UC1), png));
  m.set_png(std::string(png.begin(), png.end()));  // 4x5, not 4x4
  EXPECT_EQ(DecodeMask(m).status().code(), absl::StatusCode::kInvalidArgument);
  m.set_logits(std::string(63, '\0'));
  EXPECT_EQ(DecodeMask(m).status().code(), absl::StatusCode::kInvalidArgument);
  m.set_logits(std::string(64, '\0'));
  absl::StatusOr<cv::Mat> logits = DecodeMask(m);
  ASSERT_TRUE(logits.ok());
  EXPECT_EQ(logits->type(), CV_32FC1);
  m.set_height(-1);
  EXPECT_FALSE(DecodeMask(m).ok());
}

TEST(ClientOptionsTest, TlsCredentialsAreUsed) {
  // A TLS client cannot talk to the plaintext test server: the handshake
  // fails (a client that ignored the credentials would get the info).
  absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  ClientOptions o = FastRetries(0);
  o.credentials = TlsCredentials("not a certificate");
  ASSERT_NE(o.credentials, nullptr);
  CountingClient tls = Connect((*server)->address(), o);
  absl::StatusOr<v1::ServerInfo> info = tls.client->GetServerInfo();
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable)
      << info.status();
  CountingClient plain = Connect((*server)->address(), FastRetries(0));
  EXPECT_TRUE(plain.client->GetServerInfo().ok());
}

// ---------------------------------------------------------------------------
// Against the real server

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    counting_ = Connect(server_->address(), FastRetries(3));
    client_ = counting_.client.get();
    ASSERT_NE(client_, nullptr);
  }

  v1::VideoSession CreateVideo(int repeat = 1) {
    std::vector<std::string> frames;
    for (int i = 0; i < repeat; ++i) {
      for (std::string& f : MicroVideoFrames()) frames.push_back(std::move(f));
    }
    absl::StatusOr<v1::VideoSession> video =
        client_->CreateVideoSessionFromFrames(frames);
    EXPECT_TRUE(video.ok()) << video.status();
    return video.ok() ? *video : v1::VideoSession();
  }

  absl::StatusOr<v1::FrameMasks> Click(const std::string& session, int frame,
                                       int64_t object_id, float x, float y) {
    v1::AddPromptsRequest request;
    request.set_session(session);
    request.set_frame_index(frame);
    request.set_object_id(object_id);
    *request.add_points() = MakePoint(x, y);
    return client_->AddPrompts(request);
  }

  std::unique_ptr<TestServer> server_;
  CountingClient counting_;
  Sam2Client* client_ = nullptr;
};

TEST_F(ClientTest, ServerInfo) {
  absl::StatusOr<v1::ServerInfo> info = client_->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->meaningless_masks());
  EXPECT_EQ(info->instance_id(), server_->app().info().instance_id());
  EXPECT_GT(info->limits().max_message_bytes(), 0);
  EXPECT_EQ(client_->attempts(), 1);
  EXPECT_EQ(counting_.Attempts("GetServerInfo"), 1);
}

TEST_F(ClientTest, ImageSessionLifecycle) {
  absl::StatusOr<v1::ImageSession> session =
      client_->CreateImageSession(MicroImagePng());
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->width(), 600);
  EXPECT_EQ(session->height(), 400);
  absl::StatusOr<v1::ImageSession> got =
      client_->GetImageSession(session->name());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name(), session->name());

  SegmentPrompt prompt;
  prompt.boxes.push_back(MakeBox(60, 80, 420, 360));
  prompt.boxes.push_back(MakeBox(10, 10, 100, 100));
  prompt.multimask_output = false;
  absl::StatusOr<v1::SegmentResponse> r =
      client_->Segment(session->name(), prompt);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->prompts_size(), 2);
  EXPECT_EQ(r->prompts(0).masks_size(), 1);

  // A refinement by reference to the previous result.
  SegmentPrompt refine;
  refine.points.push_back(MakePoint(270, 220));
  refine.mask_input.emplace();
  refine.mask_input->mutable_previous()->set_result_id(r->result_id());
  refine.mask_input->mutable_previous()->set_prompt_index(1);
  absl::StatusOr<v1::SegmentResponse> r2 =
      client_->Segment(session->name(), refine);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->prompts(0).masks_size(), 3);  // the server's default

  {
    ScopedSession scoped(client_, session->name());
    EXPECT_EQ(scoped.name(), session->name());
  }
  EXPECT_EQ(client_->GetImageSession(session->name()).status().code(),
            absl::StatusCode::kNotFound);
  // Deleting again: NOT_FOUND from the client, ignored by ScopedSession.
  EXPECT_EQ(client_->DeleteSession(session->name()).code(),
            absl::StatusCode::kNotFound);
  ScopedSession gone(client_, session->name());
  EXPECT_TRUE(gone.Delete().ok());
  EXPECT_EQ(counting_.Attempts("DeleteSession"), 3);

  // Released sessions stay.
  absl::StatusOr<v1::ImageSession> kept =
      client_->CreateImageSession(MicroImagePng());
  ASSERT_TRUE(kept.ok());
  {
    ScopedSession scoped(client_, kept->name());
    EXPECT_EQ(scoped.Release(), kept->name());
  }
  EXPECT_TRUE(client_->GetImageSession(kept->name()).ok());
}

TEST_F(ClientTest, DecodedMasksEqualTheModelsInEveryFormat) {
  absl::StatusOr<v1::ImageSession> session =
      client_->CreateImageSession(MicroImagePng());
  ASSERT_TRUE(session.ok()) << session.status();
  ScopedSession scoped(client_, session->name());
  std::map<v1::MaskFormat, v1::SegmentResponse> responses;
  for (v1::MaskFormat format :
       {v1::MASK_FORMAT_RLE, v1::MASK_FORMAT_PNG, v1::MASK_FORMAT_LOGITS}) {
    SegmentPrompt prompt;
    prompt.points.push_back(MakePoint(30, 20));
    prompt.mask_format = format;
    absl::StatusOr<v1::SegmentResponse> r =
        client_->Segment(scoped.name(), prompt);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->prompts(0).masks_size(), 3);
    responses[format] = *r;
  }

  // The same click in-process.
  absl::StatusOr<RgbImage> image = DecodeImage(MicroImagePng());
  ASSERT_TRUE(image.ok());
  const Sam2Model& model = *MicroImageModel();
  absl::StatusOr<std::vector<ImageFeatures>> features =
      EmbedImages(model, absl::MakeConstSpan(&image->pixels, 1));
  ASSERT_TRUE(features.ok());
  ImagePromptInput input;
  input.point_coords = at::tensor({30.0f, 20.0f}).reshape({1, 2});
  input.point_labels = at::tensor({1}, at::kInt);
  absl::StatusOr<Prediction> expected = PredictMasks(
      model, {}, features->front(), input, PredictOptions{});
  ASSERT_TRUE(expected.ok());

  for (int c = 0; c < 3; ++c) {
    const at::Tensor want = expected->masks[c].to(at::kBool);
    ASSERT_GT(want.sum().item<int64_t>(), 0) << "an empty mask proves little";
    for (v1::MaskFormat format : {v1::MASK_FORMAT_RLE, v1::MASK_FORMAT_PNG}) {
      absl::StatusOr<cv::Mat> m =
          DecodeMask(responses[format].prompts(0).masks(c));
      ASSERT_TRUE(m.ok()) << m.status();
      ASSERT_EQ(m->type(), CV_8UC1);
      ASSERT_EQ(m->rows, 400);
      ASSERT_EQ(m->cols, 600);
      double lo, hi;
      cv::minMaxLoc(*m, &lo, &hi);
      EXPECT_EQ(hi, 255);
      EXPECT_EQ(cv::countNonZero(*m == 255), cv::countNonZero(*m));
      EXPECT_TRUE(at::equal(ToTensor(*m), want)) << format << " mask " << c;
    }
    absl::StatusOr<cv::Mat> logits =
        DecodeMask(responses[v1::MASK_FORMAT_LOGITS].prompts(0).masks(c));
    ASSERT_TRUE(logits.ok()) << logits.status();
    ASSERT_EQ(logits->type(), CV_32FC1);
    const at::Tensor want_logits =
        expected->low_res_logits.reshape({-1, logits->rows, logits->cols})[c]
            .contiguous();
    const at::Tensor got = at::from_blob(
        logits->ptr<float>(), {logits->rows, logits->cols}, at::kFloat);
    EXPECT_TRUE(at::equal(got, want_logits)) << "logits " << c;
  }
}

TEST_F(ClientTest, GenerateMasks) {
  absl::StatusOr<v1::ImageSession> session =
      client_->CreateImageSession(MicroImagePng());
  ASSERT_TRUE(session.ok()) << session.status();
  v1::GenerateMasksRequest request;
  request.set_session(session->name());
  request.set_points_per_side(4);
  request.set_pred_iou_thresh(0);
  request.set_stability_score_thresh(0);
  absl::StatusOr<v1::GenerateMasksResponse> r = client_->GenerateMasks(request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GT(r->masks_size(), 0);
  for (const v1::GeneratedMask& g : r->masks()) {
    absl::StatusOr<cv::Mat> m = DecodeMask(g.mask());
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(cv::countNonZero(*m), g.area());
  }
  EXPECT_TRUE(client_->DeleteSession(session->name()).ok());
}

TEST_F(ClientTest, VideoSessionFromFramesEveryMethod) {
  std::vector<std::string> frames = MicroVideoFrames();
  ASSERT_EQ(frames.size(), 8u);
  std::vector<std::pair<int64_t, int64_t>> progress;
  VideoUploadOptions upload;
  upload.on_progress = [&](int64_t sent, int64_t total) {
    progress.emplace_back(sent, total);
  };
  // Six frames now, two appended.
  absl::StatusOr<v1::VideoSession> video =
      client_->CreateVideoSessionFromFrames(
          std::vector<std::string>(frames.begin(), frames.begin() + 6), upload);
  ASSERT_TRUE(video.ok()) << video.status();
  ScopedSession scoped(client_, video->name());
  EXPECT_EQ(video->num_frames(), 6);
  EXPECT_EQ(video->source(), "frames");
  int64_t six = 0;
  for (int i = 0; i < 6; ++i) six += static_cast<int64_t>(frames[i].size());
  ASSERT_EQ(progress.size(), 7u);  // (0, total) and one per frame
  EXPECT_EQ(progress.front(), std::make_pair(int64_t{0}, six));
  EXPECT_EQ(progress.back(), std::make_pair(six, six));
  absl::StatusOr<v1::VideoSession> appended = client_->AppendFrames(
      scoped.name(),
      std::vector<std::string>(frames.begin() + 6, frames.end()));
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->num_frames(), 8);

  absl::StatusOr<v1::FrameMasks> m1 = Click(scoped.name(), 0, 1, 160, 90);
  ASSERT_TRUE(m1.ok()) << m1.status();
  ASSERT_EQ(m1->objects_size(), 1);
  absl::StatusOr<v1::FrameMasks> m2 = Click(scoped.name(), 2, 5, 40, 40);
  ASSERT_TRUE(m2.ok()) << m2.status();
  EXPECT_EQ(m2->objects_size(), 2);
  absl::StatusOr<v1::VideoSession> got =
      client_->GetVideoSession(scoped.name());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->object_ids_size(), 2);

  v1::PropagateVideoRequest request;
  request.set_session(scoped.name());
  std::vector<int> seen;
  absl::Status s =
      client_->Propagate(request, [&](const v1::PropagateVideoResponse& r) {
        seen.push_back(r.frame().frame_index());
        EXPECT_EQ(r.frames_total(), 8);
        EXPECT_EQ(r.frames_done(), static_cast<int>(seen.size()));
        EXPECT_EQ(r.frame().objects_size(), 2);
        for (const v1::ObjectMask& o : r.frame().objects()) {
          absl::StatusOr<cv::Mat> m = DecodeMask(o.mask());
          EXPECT_TRUE(m.ok()) << m.status();
          EXPECT_EQ(m->cols, 320);
        }
        return absl::OkStatus();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));

  // A callback error stops the stream and is returned.
  int calls = 0;
  s = client_->Propagate(request, [&](const v1::PropagateVideoResponse&) {
    ++calls;
    return absl::AbortedError("enough");
  });
  EXPECT_EQ(s, absl::AbortedError("enough"));
  EXPECT_EQ(calls, 1);

  absl::StatusOr<v1::FrameMasks> cleared =
      client_->ClearPrompts(scoped.name(), 2, 5, v1::MASK_FORMAT_PNG);
  // The server may still be releasing the cancelled stream's session.
  for (int i = 0;
       i < 100 && cleared.status().code() == absl::StatusCode::kAborted; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    cleared = client_->ClearPrompts(scoped.name(), 2, 5, v1::MASK_FORMAT_PNG);
  }
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_EQ(cleared->frame_index(), 2);
  ASSERT_GT(cleared->objects_size(), 0);
  EXPECT_EQ(cleared->objects(0).mask().data_case(), v1::Mask::kPng);
  absl::StatusOr<v1::RemoveObjectResponse> removed =
      client_->RemoveObject(scoped.name(), 5);
  ASSERT_TRUE(removed.ok()) << removed.status();
  ASSERT_EQ(removed->object_ids_size(), 1);
  EXPECT_EQ(removed->object_ids(0), 1);
  absl::StatusOr<v1::VideoSession> reset =
      client_->ResetVideoSession(scoped.name());
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_EQ(reset->object_ids_size(), 0);
  EXPECT_EQ(reset->num_frames(), 8);
  EXPECT_TRUE(scoped.Delete().ok());
  EXPECT_EQ(client_->GetVideoSession(video->name()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ClientTest, VideoSessionFromAFileInChunks) {
  // An MJPG AVI of the fixture frames (OpenCV writes it without FFmpeg).
  const std::string path = Tmp("micro.avi");
  {
    cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                           10, cv::Size(320, 180));
    ASSERT_TRUE(writer.isOpened());
    for (const std::string& f : MicroVideoFrames()) {
      writer.write(cv::imdecode(std::vector<uint8_t>(f.begin(), f.end()),
                                cv::IMREAD_COLOR));
    }
  }
  const std::string bytes = ReadFileBytes(path);
  ASSERT_GT(bytes.size(), 10000u);
  VideoUploadOptions upload;
  upload.chunk_bytes = 4096;
  int64_t calls = 0, last = -1;
  upload.on_progress = [&](int64_t sent, int64_t total) {
    ++calls;
    EXPECT_EQ(total, static_cast<int64_t>(bytes.size()));
    EXPECT_GE(sent, last);
    last = sent;
  };
  absl::StatusOr<v1::VideoSession> video =
      client_->CreateVideoSessionFromFile(path, upload);
  ASSERT_TRUE(video.ok()) << video.status();
  ScopedSession scoped(client_, video->name());
  EXPECT_EQ(video->num_frames(), 8);
  EXPECT_EQ(video->width(), 320);
  EXPECT_EQ(video->source(), "video_file");
  EXPECT_EQ(last, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(calls, 1 + (static_cast<int64_t>(bytes.size()) + 4095) / 4096);

  absl::StatusOr<v1::VideoSession> from_bytes =
      client_->CreateVideoSessionFromBytes(bytes);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status();
  EXPECT_EQ(from_bytes->num_frames(), 8);
  EXPECT_TRUE(client_->DeleteSession(from_bytes->name()).ok());

  // A file that is not there: NOT_FOUND before any call.
  const int64_t before = client_->attempts();
  EXPECT_EQ(
      client_->CreateVideoSessionFromFile(Tmp("missing.mp4")).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->attempts(), before);
  upload.chunk_bytes = 0;
  EXPECT_EQ(client_->CreateVideoSessionFromFile(path, upload).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Not a video: the server's INVALID_ARGUMENT, not retried.
  const std::string junk = Tmp("junk.mp4");
  {
    std::ofstream out(junk);
    out << "this is not a video";
  }
  EXPECT_EQ(client_->CreateVideoSessionFromFile(junk).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counting_.Attempts("CreateVideoSession"), 3);
}

TEST_F(ClientTest, RangeForWithEarlyBreakCancelsAndTheSessionStaysUsable) {
  // 40 frames: far more than the server computes before the cancel lands.
  const v1::VideoSession video = CreateVideo(/*repeat=*/5);
  ASSERT_EQ(video.num_frames(), 40);
  ScopedSession scoped(client_, video.name());
  ASSERT_TRUE(Click(scoped.name(), 0, 1, 160, 90).ok());

  v1::PropagateVideoRequest request;
  request.set_session(scoped.name());
  PropagateStream stream = client_->PropagateFrames(request);
  int n = 0;
  for (const v1::PropagateVideoResponse& r : stream) {
    EXPECT_EQ(r.frame().frame_index(), n);
    EXPECT_EQ(r.frames_total(), 40);
    if (++n == 2) break;
  }
  EXPECT_EQ(n, 2);
  EXPECT_EQ(stream.frames_received(), 2);
  const absl::Status s = stream.status();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_NE(s.message().find("after 2 frames"), std::string::npos) << s;
  EXPECT_EQ(stream.status(), s);  // stable
  EXPECT_EQ(counting_.Attempts("PropagateVideo"), 1);

  // A temporary in the range-for: cancelled when the loop ends.
  n = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (true) {
    for (const v1::PropagateVideoResponse& r :
         client_->PropagateFrames(request)) {
      (void)r;
      if (++n == 1) break;
    }
    if (n > 0 || absl::Now() > deadline) break;
    absl::SleepFor(absl::Milliseconds(20));  // ABORTED: still releasing
  }
  EXPECT_EQ(n, 1);

  // Still usable: a new prompt, and a full propagation.
  absl::StatusOr<v1::FrameMasks> more = Click(scoped.name(), 3, 2, 40, 40);
  while (more.status().code() == absl::StatusCode::kAborted &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    more = Click(scoped.name(), 3, 2, 40, 40);
  }
  ASSERT_TRUE(more.ok()) << more.status();
  request.set_max_frames(3);
  std::vector<int> frames;
  PropagateStream full = client_->PropagateFrames(request);
  for (const v1::PropagateVideoResponse& r : full) {
    frames.push_back(r.frame().frame_index());
  }
  EXPECT_TRUE(full.status().ok()) << full.status();
  EXPECT_EQ(frames, (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(ClientTest, ServerErrorsAreNotRetried) {
  absl::StatusOr<v1::ImageSession> bad =
      client_->CreateImageSession("not an image");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counting_.Attempts("CreateImageSession"), 1);
  absl::StatusOr<v1::ImageSession> deleted =
      client_->CreateImageSession(MicroImagePng());
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_TRUE(client_->DeleteSession(deleted->name()).ok());
  absl::StatusOr<v1::VideoSession> missing =
      client_->GetVideoSession(deleted->name());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(counting_.Attempts("GetVideoSession"), 1);
  v1::PropagateVideoRequest request;
  request.set_session(deleted->name());
  PropagateStream stream = client_->PropagateFrames(request);
  EXPECT_EQ(stream.begin(), stream.end());
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(counting_.Attempts("PropagateVideo"), 1);
}

TEST_F(ClientTest, DeadlineExceeded) {
  ClientOptions o = FastRetries(3);
  o.timeout = absl::Microseconds(1);
  CountingClient hurried = Connect(server_->address(), o);
  absl::StatusOr<v1::ImageSession> r =
      hurried.client->CreateImageSession(MicroImagePng());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_EQ(hurried.Attempts("CreateImageSession"), 1);
}

// ---------------------------------------------------------------------------
// Retries: nothing listening

TEST(RetryTest, UnreachableServerIsUnavailableAfterMaxRetries) {
  DeadPort dead;
  ASSERT_GT(dead.port(), 0);
  CountingClient c = Connect(dead.address(), FastRetries(3));
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::ServerInfo> info = c.client->GetServerInfo();
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(info.status().message().find("after 4 attempts"), std::string::npos)
      << info.status();
  EXPECT_EQ(c.Attempts("GetServerInfo"), 4);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  // The streams too.
  absl::StatusOr<v1::VideoSession> video =
      c.client->CreateVideoSessionFromFrames({"x"});
  EXPECT_EQ(video.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(c.Attempts("CreateVideoSession"), 4);
  PropagateStream stream = c.client->PropagateFrames({});
  EXPECT_EQ(stream.begin(), stream.end());
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(c.Attempts("PropagateVideo"), 4);
  EXPECT_EQ(c.client->attempts(), 12);

  CountingClient once = Connect(dead.address(), FastRetries(0));
  EXPECT_EQ(once.client->DeleteSession("sessions/x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(once.Attempts("DeleteSession"), 1);
}

TEST(RetryTest, TheDeadlineBoundsTheRetries) {
  DeadPort dead;
  ClientOptions o = FastRetries(1000);
  o.initial_backoff = o.max_backoff = absl::Milliseconds(20);
  o.timeout = absl::Milliseconds(300);
  CountingClient c = Connect(dead.address(), o);
  const absl::Time start = absl::Now();
  EXPECT_EQ(c.client->GetServerInfo().status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_GT(c.Attempts("GetServerInfo"), 1);
  EXPECT_LT(c.Attempts("GetServerInfo"), 30);
}

// ---------------------------------------------------------------------------
// Retries: a scripted server

// Answers UNAVAILABLE a set number of times, then as scripted.
class FakeService final : public v1::Sam2Service::Service {
 public:
  std::atomic<int> unavailable_first{0};  // calls to fail before succeeding
  std::atomic<int> info_calls{0};
  std::atomic<int> upload_calls{0};
  std::atomic<int> propagate_calls{0};
  std::atomic<int> frames_in_last_upload{0};
  // PropagateVideo: frames to send before failing with UNAVAILABLE.
  std::atomic<int> frames_before_failure{0};

  grpc::Status GetServerInfo(grpc::ServerContext*,
                             const v1::GetServerInfoRequest*,
                             v1::ServerInfo* info) override {
    if (info_calls++ < unavailable_first) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
    }
    info->set_instance_id("fake");
    return grpc::Status::OK;
  }

  grpc::Status GetImageSession(grpc::ServerContext* ctx,
                               const v1::GetSessionRequest*,
                               v1::ImageSession*) override {
    // Slower than any deadline the tests set.
    for (int i = 0; i < 100 && !ctx->IsCancelled(); ++i) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return grpc::Status::OK;
  }

  grpc::Status CreateVideoSession(
      grpc::ServerContext*,
      grpc::ServerReader<v1::CreateVideoSessionRequest>* reader,
      v1::VideoSession* session) override {
    const bool fail = upload_calls++ < unavailable_first;
    v1::CreateVideoSessionRequest part;
    int frames = 0;
    while (reader->Read(&part)) frames += part.has_frame();
    frames_in_last_upload = frames;
    if (fail) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
    session->set_num_frames(frames);
    return grpc::Status::OK;
  }

  grpc::Status PropagateVideo(
      grpc::ServerContext*, const v1::PropagateVideoRequest*,
      grpc::ServerWriter<v1::PropagateVideoResponse>* writer) override {
    const bool fail = propagate_calls++ < unavailable_first;
    for (int i = 0; i < frames_before_failure; ++i) {
      v1::PropagateVideoResponse r;
      r.mutable_frame()->set_frame_index(i);
      writer->Write(r);
    }
    if (fail) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
    return grpc::Status::OK;
  }

  grpc::Status Segment(grpc::ServerContext*, const v1::SegmentRequest*,
                       v1::SegmentResponse*) override {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad click");
  }
};

class FakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  FakeService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(FakeServerTest, RetriesUnavailableUntilItSucceeds) {
  service_.unavailable_first = 2;
  CountingClient c = Connect(address(), FastRetries(3));
  absl::StatusOr<v1::ServerInfo> info = c.client->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->instance_id(), "fake");
  EXPECT_EQ(service_.info_calls, 3);
  EXPECT_EQ(c.Attempts("GetServerInfo"), 3);

  service_.info_calls = 0;
  service_.unavailable_first = 5;
  EXPECT_EQ(c.client->GetServerInfo().status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.info_calls, 4);  // max_retries + 1
}

TEST_F(FakeServerTest, RetriesAnUploadFromTheStart) {
  service_.unavailable_first = 1;
  CountingClient c = Connect(address(), FastRetries(3));
  std::vector<int64_t> starts;
  VideoUploadOptions upload;
  upload.on_progress = [&](int64_t sent, int64_t) {
    if (sent == 0) starts.push_back(sent);
  };
  absl::StatusOr<v1::VideoSession> video =
      c.client->CreateVideoSessionFromFrames({"a", "b", "c"}, upload);
  ASSERT_TRUE(video.ok()) << video.status();
  EXPECT_EQ(video->num_frames(), 3);  // every frame sent again
  EXPECT_EQ(service_.upload_calls, 2);
  EXPECT_EQ(starts.size(), 2u);
}

TEST_F(FakeServerTest, NeverRetriesOtherCodes) {
  CountingClient c = Connect(address(), FastRetries(3));
  SegmentPrompt prompt;
  prompt.points.push_back(MakePoint(1, 1));
  absl::StatusOr<v1::SegmentResponse> r =
      c.client->Segment("sessions/x", prompt);
  EXPECT_EQ(r.status(), absl::InvalidArgumentError("bad click"));
  EXPECT_EQ(c.Attempts("Segment"), 1);
}

TEST_F(FakeServerTest, RetriesAStreamOnlyBeforeItsFirstMessage) {
  CountingClient c = Connect(address(), FastRetries(3));
  // UNAVAILABLE before any frame: retried, then the frames arrive.
  service_.unavailable_first = 2;
  service_.frames_before_failure = 0;
  {
    PropagateStream stream = c.client->PropagateFrames({});
    int n = 0;
    for (const auto& r : stream) n += r.has_frame();
    EXPECT_TRUE(stream.status().ok()) << stream.status();
    EXPECT_EQ(n, 0);
    EXPECT_EQ(service_.propagate_calls, 3);
  }
  // UNAVAILABLE after two frames: not retried (they would come twice).
  service_.propagate_calls = 0;
  service_.unavailable_first = 1;
  service_.frames_before_failure = 2;
  PropagateStream stream = c.client->PropagateFrames({});
  std::vector<int> frames;
  for (const auto& r : stream) frames.push_back(r.frame().frame_index());
  EXPECT_EQ(frames, (std::vector<int>{0, 1}));
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.propagate_calls, 1);
}

TEST_F(FakeServerTest, DeadlineExceededOnASlowCall) {
  ClientOptions o = FastRetries(3);
  o.timeout = absl::Milliseconds(100);
  CountingClient c = Connect(address(), o);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::ImageSession> r = c.client->GetImageSession("sessions/x");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(c.Attempts("GetImageSession"), 1);
}

TEST_F(FakeServerTest, ConcurrentCallsFromManyThreads) {
  CountingClient c = Connect(address(), FastRetries(0));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) ok += c.client->GetServerInfo().ok();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, 80);
  EXPECT_EQ(c.client->attempts(), 80);
  EXPECT_EQ(c.Attempts("GetServerInfo"), 80);
}

// ---------------------------------------------------------------------------
// The session routing header

// Every call that names a session sends it as `x-sam2-session`, once, also
// on each retry; GetServerInfo and the calls that create a session send none.
TEST(RoutingHeaderTest, SessionCallsCarryTheirSessionCreateCallsNone) {
  RoutingRecorder recorder;
  ASSERT_GT(recorder.port(), 0);
  CountingClient c = Connect(recorder.address(), FastRetries(0));
  const std::string image = "sessions/replica-a-" + std::string(32, 'a');
  const std::string video = "sessions/sam2-7d9f8-abcde-" + std::string(32, 'b');

  // Calls without a session (every answer is NOT_FOUND "recorded").
  EXPECT_FALSE(c.client->GetServerInfo().ok());
  EXPECT_FALSE(c.client->CreateImageSession("png").ok());
  EXPECT_FALSE(c.client->CreateVideoSessionFromFrames({"a", "b"}).ok());
  EXPECT_FALSE(c.client->CreateVideoSessionFromBytes("video").ok());
  const std::string file = Tmp("routing.avi");
  std::ofstream(file) << "not a video";
  EXPECT_FALSE(c.client->CreateVideoSessionFromFile(file).ok());
  const size_t creates = recorder.calls().size();

  // Image session calls.
  SegmentPrompt prompt;
  prompt.points.push_back(MakePoint(1, 1));
  EXPECT_EQ(c.client->Segment(image, prompt).status().code(),
            absl::StatusCode::kNotFound);
  v1::GenerateMasksRequest masks;
  masks.set_session(image);
  EXPECT_FALSE(c.client->GenerateMasks(masks).ok());
  EXPECT_FALSE(c.client->GetImageSession(image).ok());
  // Video session calls.
  EXPECT_FALSE(c.client->AppendFrames(video, {"a"}).ok());
  v1::AddPromptsRequest prompts;
  prompts.set_session(video);
  EXPECT_FALSE(c.client->AddPrompts(prompts).ok());
  v1::PropagateVideoRequest propagate;
  propagate.set_session(video);
  EXPECT_EQ(c.client
                ->Propagate(propagate,
                            [](const v1::PropagateVideoResponse&) {
                              return absl::OkStatus();
                            })
                .code(),
            absl::StatusCode::kNotFound);
  PropagateStream stream = c.client->PropagateFrames(propagate);
  for (const v1::PropagateVideoResponse& frame : stream) (void)frame;
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(c.client->ClearPrompts(video, 0, 1).ok());
  EXPECT_FALSE(c.client->RemoveObject(video, 1).ok());
  EXPECT_FALSE(c.client->ResetVideoSession(video).ok());
  EXPECT_FALSE(c.client->GetVideoSession(video).ok());
  // Both, and ScopedSession's delete (NOT_FOUND counts as deleted).
  EXPECT_FALSE(c.client->DeleteSession(image).ok());
  EXPECT_TRUE(ScopedSession(c.client.get(), video).Delete().ok());

  const std::vector<RoutingRecorder::Call> calls = recorder.calls();
  const std::vector<std::pair<std::string, std::string>> want = {
      {"GetServerInfo", ""},
      {"CreateImageSession", ""},
      {"CreateVideoSession", ""},
      {"CreateVideoSession", ""},
      {"CreateVideoSession", ""},
      {"Segment", image},
      {"GenerateMasks", image},
      {"GetImageSession", image},
      {"AppendFrames", video},
      {"AddPrompts", video},
      {"PropagateVideo", video},
      {"PropagateVideo", video},
      {"ClearPrompts", video},
      {"RemoveObject", video},
      {"ResetVideoSession", video},
      {"GetVideoSession", video},
      {"DeleteSession", image},
      {"DeleteSession", video},
  };
  EXPECT_EQ(creates, 5u);
  ASSERT_EQ(calls.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(calls[i].method, want[i].first) << i;
    if (want[i].second.empty()) {
      EXPECT_TRUE(calls[i].sessions.empty()) << calls[i].method;
    } else {
      EXPECT_EQ(calls[i].sessions, std::vector<std::string>{want[i].second})
          << calls[i].method;
    }
  }
}

constexpr char kToken[] = "client-test-token-0123456789";

// A retried call (UNAVAILABLE) carries the header on every attempt, unary
// calls and a stream before its first message alike; and the bearer token
// (ClientOptions::bearer_token), once on each.
TEST(RoutingHeaderTest, EveryRetryCarriesItAndTheToken) {
  RoutingRecorder recorder;
  ASSERT_GT(recorder.port(), 0);
  const grpc::Status draining(grpc::StatusCode::UNAVAILABLE, "draining");
  recorder.SetError("GetImageSession", draining);
  recorder.SetError("PropagateVideo", draining);
  ClientOptions options = FastRetries(2);
  options.bearer_token = kToken;
  CountingClient c = Connect(recorder.address(), options);
  const std::string name = "sessions/a-" + std::string(32, 'c');
  EXPECT_EQ(c.client->GetImageSession(name).status().code(),
            absl::StatusCode::kUnavailable);
  v1::PropagateVideoRequest propagate;
  propagate.set_session(name);
  PropagateStream stream = c.client->PropagateFrames(propagate);
  for (const v1::PropagateVideoResponse& frame : stream) (void)frame;
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kUnavailable);
  const std::vector<RoutingRecorder::Call> calls = recorder.calls();
  ASSERT_EQ(calls.size(), 6u);  // 3 attempts each
  for (const RoutingRecorder::Call& call : calls) {
    EXPECT_EQ(call.sessions, std::vector<std::string>{name}) << call.method;
    EXPECT_EQ(call.authorizations,
              std::vector<std::string>{absl::StrCat("Bearer ", kToken)})
        << call.method;
  }
  EXPECT_EQ(c.Attempts("GetImageSession"), 3);
  EXPECT_EQ(c.Attempts("PropagateVideo"), 3);
}

// A name that gRPC metadata cannot carry, or none, goes without the header;
// the call is still made (the server answers it).
TEST(RoutingHeaderTest, UnsendableNamesGoWithoutIt) {
  RoutingRecorder recorder;
  ASSERT_GT(recorder.port(), 0);
  CountingClient c = Connect(recorder.address(), FastRetries(0));
  EXPECT_FALSE(c.client->GetImageSession("sessions/a\nb").ok());
  EXPECT_FALSE(c.client->GetImageSession("").ok());
  EXPECT_FALSE(c.client->DeleteSession(std::string(300, 'a')).ok());
  const std::vector<RoutingRecorder::Call> calls = recorder.calls();
  ASSERT_EQ(calls.size(), 3u);
  for (const RoutingRecorder::Call& call : calls) {
    EXPECT_TRUE(call.sessions.empty()) << call.method;
  }
}

// ---------------------------------------------------------------------------
// TLS and bearer tokens

// The whole server over mutual TLS (ServerAppOptions::tls): the client with
// its certificate and a token segments an image; without the certificate,
// or checking the server's name against another name, it gets UNAVAILABLE.
TEST(TlsTest, MutualTlsAgainstTheRealServer) {
  const TestCa ca = TestCa::Create("client tls ca");
  const TestKeyPair server_pair = ca.IssueServer();
  ServerAppOptions server_options = TestServerOptions();
  server_options.tls.cert_path = Tmp("server.pem");
  server_options.tls.key_path = Tmp("server.key");
  server_options.tls.client_ca_path = Tmp("client_ca.pem");
  ASSERT_TRUE(ReplaceFile(server_options.tls.cert_path, server_pair.cert_pem).ok());
  ASSERT_TRUE(ReplaceFile(server_options.tls.key_path, server_pair.key_pem).ok());
  ASSERT_TRUE(ReplaceFile(server_options.tls.client_ca_path, ca.cert_pem()).ok());
  absl::StatusOr<std::unique_ptr<TestServer>> server =
      TestServer::Start(server_options);
  ASSERT_TRUE(server.ok()) << server.status();

  const TestKeyPair client_pair = ca.IssueClient("client test");
  ClientOptions o = FastRetries(0);
  o.credentials =
      TlsCredentials(ca.cert_pem(), client_pair.cert_pem, client_pair.key_pem);
  o.bearer_token = kToken;
  o.tls_server_name = "localhost";  // the certificate names it (and 127.0.0.1)
  CountingClient tls = Connect((*server)->address(), o);
  absl::StatusOr<v1::ImageSession> image =
      tls.client->CreateImageSession(MicroImagePng());
  ASSERT_TRUE(image.ok()) << image.status();
  ScopedSession scoped(tls.client.get(), image->name());
  SegmentPrompt prompt;
  prompt.points.push_back(MakePoint(100, 100));
  absl::StatusOr<v1::SegmentResponse> masks =
      tls.client->Segment(image->name(), prompt);
  ASSERT_TRUE(masks.ok()) << masks.status();
  EXPECT_GT(masks->prompts(0).masks_size(), 0);

  ClientOptions anonymous = FastRetries(0);
  anonymous.credentials = TlsCredentials(ca.cert_pem());
  EXPECT_EQ(Connect((*server)->address(), anonymous)
                .client->GetServerInfo()
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  ClientOptions wrong_name = o;
  wrong_name.tls_server_name = "sam2.example.com";
  EXPECT_EQ(Connect((*server)->address(), wrong_name)
                .client->GetServerInfo()
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  ClientOptions plaintext = FastRetries(0);
  EXPECT_EQ(Connect((*server)->address(), plaintext)
                .client->GetServerInfo()
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sam2
