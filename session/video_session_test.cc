// Tests of VideoSession on the micro SAM 2.1 fixture (random weights) and
// its 8 frames (320x180 JPEG): sessions from frames and from a video file,
// prompts, incremental propagation in every direction (the same masks as the
// video predictor's own API on a fresh state), the session's bookkeeping and
// bad requests.

#include "session/video_session.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "model/model_loader.h"
#include "model/video_frames.h"
#include "model/video_predictor.h"
#include "session/mask_encoding.h"

namespace sam2 {
namespace {

namespace fs = std::filesystem;

constexpr char kFixture[] = "tests/fixtures/sam2.1-micro";
constexpr int64_t kFrames = 8;
constexpr int64_t kH = 180;
constexpr int64_t kW = 320;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FramePath(int i) {
  return absl::StrFormat("%s/frames/%05d.jpg", kFixture, i);
}

std::string TempPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return (fs::path(base != nullptr ? base : "/tmp") / name).string();
}

bool Exists(const std::string& path) { return fs::exists(fs::path(path)); }

// Writes the first `n` fixture frames as an MJPG .avi at `path`. False when
// OpenCV cannot write one here.
bool WriteVideo(const std::string& path, int n) {
  try {
    cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                           10.0, cv::Size(kW, kH));
    if (!writer.isOpened()) return false;
    for (int i = 0; i < n; ++i) {
      cv::Mat bgr = cv::imread(FramePath(i), cv::IMREAD_COLOR);
      if (bgr.empty()) return false;
      writer.write(bgr);
    }
    writer.release();
  } catch (const cv::Exception&) {
    return false;
  }
  return Exists(path);
}

PointPrompt Point(float x, float y, int label = 1) {
  PointPrompt p;
  p.x = x;
  p.y = y;
  p.label = label;
  return p;
}

VideoPromptInput Click(int64_t frame, int64_t obj, float x, float y) {
  VideoPromptInput in;
  in.frame_index = frame;
  in.object_id = obj;
  in.points = {Point(x, y)};
  return in;
}

VideoPromptInput BoxPromptOn(int64_t frame, int64_t obj, float x0, float y0,
                             float x1, float y1) {
  VideoPromptInput in;
  in.frame_index = frame;
  in.object_id = obj;
  in.box = BoxPrompt{x0, y0, x1, y1};
  return in;
}

PropagationRequest Request(PropagationDirection direction,
                           std::optional<int64_t> start = std::nullopt,
                           std::optional<int64_t> max = std::nullopt) {
  PropagationRequest r;
  r.direction = direction;
  r.start_frame = start;
  r.max_frames = max;
  return r;
}

class VideoSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel(std::string(kFixture) + "/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<std::shared_ptr<const VideoPredictor>> p =
        VideoPredictor::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(p.ok()) << p.status();
    predictor_ = new std::shared_ptr<const VideoPredictor>(*p);
    jpegs_ = new std::vector<std::string>();
    for (int i = 0; i < kFrames; ++i) {
      jpegs_->push_back(ReadAll(FramePath(i)));
      ASSERT_GT(jpegs_->back().size(), 100u) << FramePath(i);
    }
  }

  static const std::vector<std::string>& Jpegs() { return *jpegs_; }

  std::unique_ptr<VideoSession> NewSession(
      const std::vector<std::string>& frames, const VideoSessionLimits& limits = {}) {
    absl::StatusOr<std::unique_ptr<VideoSession>> s = VideoSession::CreateFromFrames(
        *predictor_, frames, VideoSessionConfig{}, limits);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  // A fresh predictor state over the same encoded frames (the session's
  // source, so the pixels are the same).
  std::unique_ptr<VideoInferenceState> ReferenceState() {
    auto source = std::make_unique<EncodedFrameSource>();
    for (const std::string& f : Jpegs()) {
      EXPECT_TRUE(source->AppendEncodedFrame(f).ok());
    }
    absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
        (*predictor_)->InitState(std::move(source));
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *std::move(state) : nullptr;
  }

  // The model API's equivalent of the session's AddPrompts.
  absl::StatusOr<VideoFrameMasks> ReferencePrompt(VideoInferenceState& state,
                                                  const VideoPromptInput& in) {
    at::Tensor points, labels, box;
    if (!in.points.empty()) {
      const int64_t n = static_cast<int64_t>(in.points.size());
      points = at::empty({n, 2});
      labels = at::empty({n}, at::kInt);
      for (int64_t i = 0; i < n; ++i) {
        points[i][0] = in.points[i].x;
        points[i][1] = in.points[i].y;
        labels[i] = in.points[i].label;
      }
    }
    if (in.box) {
      box = at::tensor({in.box->x0, in.box->y0, in.box->x1, in.box->y1});
    }
    return (*predictor_)->AddNewPointsOrBox(state, in.frame_index, in.object_id,
                                           points, labels, box,
                                           in.clear_old_points);
  }

  // `got` (RLE) holds exactly `expected`'s objects, masks and scores.
  static void ExpectSameFrame(const FrameMasksOutput& got,
                              const VideoFrameMasks& expected) {
    EXPECT_EQ(got.frame_index, expected.frame_idx);
    ASSERT_EQ(got.objects.size(), expected.obj_ids.size())
        << "frame " << expected.frame_idx;
    const at::Tensor scores = expected.object_score_logits.to(at::kFloat).cpu();
    for (size_t i = 0; i < got.objects.size(); ++i) {
      const ObjectMaskOutput& o = got.objects[i];
      EXPECT_EQ(o.object_id, expected.obj_ids[i]);
      absl::StatusOr<EncodedMask> e = EncodeMask(
          expected.masks[static_cast<int64_t>(i)], MaskEncoding::kRle);
      ASSERT_TRUE(e.ok()) << e.status();
      EXPECT_EQ(o.mask.encoding, MaskEncoding::kRle);
      EXPECT_EQ(o.mask.height, kH);
      EXPECT_EQ(o.mask.width, kW);
      EXPECT_EQ(o.mask.data, e->data)
          << "frame " << expected.frame_idx << " object " << o.object_id;
      EXPECT_EQ(o.object_score, scores[static_cast<int64_t>(i)].item<float>())
          << "frame " << expected.frame_idx << " object " << o.object_id;
    }
  }

  // Every frame a planned propagation reports, in order; checks that the
  // count BeginPropagation announced is the number of PropagateNext calls.
  static std::vector<FrameMasksOutput> RunPropagation(
      VideoSession& session, const PropagationRequest& request) {
    std::vector<FrameMasksOutput> frames;
    absl::StatusOr<int64_t> n = session.BeginPropagation(request);
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok()) return frames;
    while (session.HasNextFrame()) {
      absl::StatusOr<FrameMasksOutput> f = session.PropagateNext();
      EXPECT_TRUE(f.ok()) << f.status() << " after " << frames.size() << " frames";
      if (!f.ok()) break;
      frames.push_back(*std::move(f));
      if (static_cast<int64_t>(frames.size()) > 2 * kFrames) break;  // runaway
    }
    EXPECT_EQ(static_cast<int64_t>(frames.size()), *n);
    EXPECT_EQ(session.PropagateNext().status().code(),
              absl::StatusCode::kFailedPrecondition);
    session.EndPropagation();
    return frames;
  }

  static std::vector<int64_t> Indices(const std::vector<FrameMasksOutput>& frames) {
    std::vector<int64_t> out;
    for (const FrameMasksOutput& f : frames) out.push_back(f.frame_index);
    return out;
  }

  static std::shared_ptr<const VideoPredictor>* predictor_;
  static std::vector<std::string>* jpegs_;
};
std::shared_ptr<const VideoPredictor>* VideoSessionTest::predictor_ = nullptr;
std::vector<std::string>* VideoSessionTest::jpegs_ = nullptr;

TEST_F(VideoSessionTest, CreateFromJpegAndPngFrames) {
  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->kind(), SessionKind::kVideo);
  VideoSessionInfo info = session->Info();
  EXPECT_EQ(info.num_frames, kFrames);
  EXPECT_EQ(info.height, kH);
  EXPECT_EQ(info.width, kW);
  EXPECT_EQ(info.source, VideoSourceKind::kFrames);
  EXPECT_TRUE(info.object_ids.empty());
  EXPECT_TRUE(info.prompted_frames.empty());
  int64_t encoded = 0;
  for (const std::string& f : Jpegs()) encoded += static_cast<int64_t>(f.size());
  EXPECT_GE(session->NumBytes(), encoded);  // the frames are kept encoded

  // The same frames as PNG files.
  std::vector<std::string> pngs;
  for (int i = 0; i < 3; ++i) {
    cv::Mat bgr = cv::imread(FramePath(i), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty());
    std::vector<uchar> buf;
    ASSERT_TRUE(cv::imencode(".png", bgr, buf));
    pngs.emplace_back(buf.begin(), buf.end());
  }
  session = NewSession(pngs);
  ASSERT_NE(session, nullptr);
  info = session->Info();
  EXPECT_EQ(info.num_frames, 3);
  EXPECT_EQ(info.height, kH);
  EXPECT_EQ(info.width, kW);
  absl::StatusOr<FrameMasksOutput> out = session->AddPrompts(Click(2, 1, 160, 90));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->frame_index, 2);

  // Bad frames at creation.
  EXPECT_EQ(VideoSession::CreateFromFrames(*predictor_, {Jpegs()[0], "garbage"},
                                           VideoSessionConfig{}, {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  VideoSessionConfig bad_config;
  bad_config.long_video_window = -1;
  EXPECT_EQ(VideoSession::CreateFromFrames(*predictor_, Jpegs(), bad_config, {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(VideoSessionTest, FrameJpegIsTheFrameAtTheVideosSize) {
  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  for (int i : {0, 7}) {
    absl::StatusOr<std::string> jpeg = session->FrameJpeg(i);
    ASSERT_TRUE(jpeg.ok()) << jpeg.status();
    const std::vector<uchar> bytes(jpeg->begin(), jpeg->end());
    cv::Mat shown = cv::imdecode(bytes, cv::IMREAD_COLOR);
    cv::Mat original = cv::imread(FramePath(i), cv::IMREAD_COLOR);
    ASSERT_EQ(shown.cols, kW);
    ASSERT_EQ(shown.rows, kH);
    // The same picture, re-encoded: a few grey levels apart on average (a
    // channel swap or another frame would be tens).
    cv::Mat diff;
    cv::absdiff(shown, original, diff);
    const cv::Scalar mean = cv::mean(diff);
    EXPECT_LT(mean[0] + mean[1] + mean[2], 3 * 4.0) << "frame " << i;
  }
  EXPECT_EQ(session->FrameJpeg(kFrames).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(session->FrameJpeg(-1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(NewSession({})->FrameJpeg(0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(VideoSessionTest, EmptySessionNeedsFramesFirst) {
  std::unique_ptr<VideoSession> session = NewSession({});
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->Info().num_frames, 0);
  EXPECT_EQ(session->NumBytes(), 0);
  EXPECT_EQ(session->AddPrompts(Click(0, 1, 10, 10)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(session->ClearPrompts(0, 1, MaskEncoding::kRle).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(session->RemoveObject(1, MaskEncoding::kRle).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(session->BeginPropagation(Request(PropagationDirection::kForward))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(session->HasNextFrame());
  session->Reset();  // harmless

  absl::StatusOr<int64_t> n = session->AppendFrames({Jpegs()[0], Jpegs()[1]});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_GT(session->NumBytes(), 0);
  absl::StatusOr<FrameMasksOutput> out = session->AddPrompts(Click(1, 1, 160, 90));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(session->AddPrompts(Click(2, 1, 160, 90)).status().code(),
            absl::StatusCode::kOutOfRange);
  n = session->AppendFrames({Jpegs()[2]});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(session->Info().num_frames, 3);
  EXPECT_TRUE(session->AddPrompts(Click(2, 1, 160, 90)).ok());
  EXPECT_EQ(*session->AppendFrames({}), 3);
}

TEST_F(VideoSessionTest, AppendFramesKeepsTheFramesBeforeABadOne) {
  std::unique_ptr<VideoSession> session = NewSession({});
  ASSERT_NE(session, nullptr);
  absl::StatusOr<int64_t> n = session->AppendFrames({Jpegs()[0], "not an image"});
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  // Frame 0 stayed appended, and the session can track it.
  EXPECT_EQ(session->Info().num_frames, 1);
  EXPECT_EQ(session->Info().height, kH);
  EXPECT_TRUE(session->AddPrompts(Click(0, 1, 160, 90)).ok());
  // A frame of another size.
  cv::Mat small(48, 64, CV_8UC3, cv::Scalar(10, 20, 30));
  std::vector<uchar> buf;
  ASSERT_TRUE(cv::imencode(".png", small, buf));
  n = session->AppendFrames({Jpegs()[1], std::string(buf.begin(), buf.end())});
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(session->Info().num_frames, 2);
  // The frame limit.
  VideoSessionLimits limits;
  limits.frames.max_frames = 2;
  session = NewSession({}, limits);
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->AppendFrames({Jpegs()[0], Jpegs()[1], Jpegs()[2]})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(session->Info().num_frames, 2);
}

TEST_F(VideoSessionTest, VideoFileSessionOwnsItsFile) {
  const std::string path = TempPath("clip.avi");
  if (!WriteVideo(path, 4)) GTEST_SKIP() << "cv::VideoWriter cannot write MJPG here";
  {
    absl::StatusOr<std::unique_ptr<VideoSession>> s = VideoSession::CreateFromFile(
        *predictor_, path, VideoSessionConfig{}, VideoSessionLimits{});
    ASSERT_TRUE(s.ok()) << s.status();
    VideoSession& session = **s;
    const VideoSessionInfo info = session.Info();
    EXPECT_EQ(info.source, VideoSourceKind::kVideoFile);
    EXPECT_EQ(info.num_frames, 4);
    EXPECT_EQ(info.height, kH);
    EXPECT_EQ(info.width, kW);
    EXPECT_EQ(session.AppendFrames({Jpegs()[0]}).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(session.Info().num_frames, 4);
    absl::StatusOr<FrameMasksOutput> out = session.AddPrompts(Click(1, 1, 160, 90));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(Indices(RunPropagation(session, Request(PropagationDirection::kBoth))),
              (std::vector<int64_t>{1, 2, 3, 0}));
    EXPECT_TRUE(Exists(path));  // still in use
  }
  EXPECT_FALSE(Exists(path)) << "the session's file outlived it";
}

TEST_F(VideoSessionTest, VideoFileFailuresDeleteTheFile) {
  // Garbage bytes.
  const std::string garbage = TempPath("garbage.mp4");
  {
    std::ofstream out(garbage, std::ios::binary);
    out << std::string(4096, 'x');
  }
  ASSERT_TRUE(Exists(garbage));
  const absl::Status garbage_status =
      VideoSession::CreateFromFile(*predictor_, garbage, VideoSessionConfig{},
                                   VideoSessionLimits{})
          .status();
  EXPECT_EQ(garbage_status.code(), absl::StatusCode::kInvalidArgument);
  // The client learns nothing of the server's file system.
  EXPECT_EQ(garbage_status.message().find(garbage), absl::string_view::npos)
      << garbage_status;
  EXPECT_NE(garbage_status.message().find("cannot open <upload> as a video"),
            absl::string_view::npos)
      << garbage_status;
  EXPECT_FALSE(Exists(garbage));
  // An empty file.
  const std::string empty = TempPath("empty.avi");
  { std::ofstream out(empty, std::ios::binary); }
  ASSERT_TRUE(Exists(empty));
  EXPECT_EQ(VideoSession::CreateFromFile(*predictor_, empty, VideoSessionConfig{},
                                         VideoSessionLimits{})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Exists(empty));
  // A file that does not exist is the client's bad upload too.
  EXPECT_EQ(VideoSession::CreateFromFile(*predictor_, TempPath("missing.avi"),
                                         VideoSessionConfig{}, VideoSessionLimits{})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  const std::string path = TempPath("clip2.avi");
  if (!WriteVideo(path, 3)) GTEST_SKIP() << "cv::VideoWriter cannot write MJPG here";
  // A valid video over the limits, or with a bad config.
  VideoSessionLimits limits;
  limits.frames.max_frames = 2;
  EXPECT_EQ(VideoSession::CreateFromFile(*predictor_, path, VideoSessionConfig{},
                                         limits)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Exists(path));
  ASSERT_TRUE(WriteVideo(path, 3));
  VideoSessionConfig bad;
  bad.long_video_window = kMaxLongVideoWindow + 1;
  EXPECT_EQ(VideoSession::CreateFromFile(*predictor_, path, bad,
                                         VideoSessionLimits{})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Exists(path));
}

TEST_F(VideoSessionTest, AddPromptsReturnsEveryObjectAsTheModelDoes) {
  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  std::unique_ptr<VideoInferenceState> ref = ReferenceState();
  ASSERT_NE(ref, nullptr);

  const VideoPromptInput click = Click(0, 1, 160, 90);
  std::vector<std::string> stages;
  absl::StatusOr<FrameMasksOutput> a = session->AddPrompts(
      click, [&](absl::string_view stage, absl::Duration d) {
        EXPECT_GE(d, absl::ZeroDuration());
        stages.emplace_back(stage);
      });
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(stages, std::vector<std::string>{"decoder"});
  absl::StatusOr<VideoFrameMasks> ra = ReferencePrompt(*ref, click);
  ASSERT_TRUE(ra.ok()) << ra.status();
  ExpectSameFrame(*a, *ra);

  // A box for a second object on the same frame: both objects come back.
  const VideoPromptInput box = BoxPromptOn(0, 7, 32, 18, 128, 108);
  absl::StatusOr<FrameMasksOutput> b = session->AddPrompts(box);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->objects.size(), 2u);
  EXPECT_EQ(b->objects[0].object_id, 1);
  EXPECT_EQ(b->objects[1].object_id, 7);
  absl::StatusOr<VideoFrameMasks> rb = ReferencePrompt(*ref, box);
  ASSERT_TRUE(rb.ok()) << rb.status();
  ExpectSameFrame(*b, *rb);

  // A refinement click (clear_old_points = false), as PNG and as logits.
  VideoPromptInput more = Click(0, 1, 200, 100);
  more.clear_old_points = false;
  more.encoding = MaskEncoding::kLogits;
  absl::StatusOr<FrameMasksOutput> c = session->AddPrompts(more);
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<VideoFrameMasks> rc = ReferencePrompt(*ref, more);
  ASSERT_TRUE(rc.ok()) << rc.status();
  ASSERT_EQ(c->objects.size(), 2u);
  for (int64_t i = 0; i < 2; ++i) {
    const EncodedMask& m = c->objects[i].mask;
    EXPECT_EQ(m.encoding, MaskEncoding::kLogits);
    absl::StatusOr<at::Tensor> logits = DecodeLogits(m, kH, kW);
    ASSERT_TRUE(logits.ok()) << logits.status();
    EXPECT_TRUE(at::equal(*logits, rc->masks[i].reshape({kH, kW}).to(at::kFloat)));
  }
  VideoPromptInput png = Click(0, 1, 100, 60);
  png.clear_old_points = false;
  png.encoding = MaskEncoding::kPng;
  absl::StatusOr<FrameMasksOutput> d = session->AddPrompts(png);
  ASSERT_TRUE(d.ok()) << d.status();
  absl::StatusOr<VideoFrameMasks> rd = ReferencePrompt(*ref, png);
  ASSERT_TRUE(rd.ok()) << rd.status();
  ASSERT_EQ(d->objects.size(), 2u);
  absl::StatusOr<at::Tensor> decoded = DecodeBinaryMask(d->objects[0].mask, kH, kW);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(at::equal(*decoded, rd->masks[0].reshape({kH, kW}) > 0));

  const VideoSessionInfo info = session->Info();
  EXPECT_EQ(info.object_ids, (std::vector<int64_t>{1, 7}));
}

TEST_F(VideoSessionTest, MaskPromptsAsRleAndPng) {
  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  std::unique_ptr<VideoInferenceState> ref = ReferenceState();
  ASSERT_NE(ref, nullptr);
  // A mask: the block [40, 120) x [30, 100) of the frame.
  at::Tensor mask = at::zeros({kH, kW}, at::kBool);
  mask.slice(0, 30, 100).slice(1, 40, 120).fill_(true);
  absl::StatusOr<EncodedMask> rle = EncodeMask(mask, MaskEncoding::kRle);
  ASSERT_TRUE(rle.ok()) << rle.status();
  VideoPromptInput in;
  in.frame_index = 2;
  in.object_id = 3;
  in.mask = *rle;
  absl::StatusOr<FrameMasksOutput> out = session->AddPrompts(in);
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<VideoFrameMasks> expected =
      (*predictor_)->AddNewMask(*ref, 2, 3, mask);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ExpectSameFrame(*out, *expected);

  // The same mask as a PNG, for another object on another frame.
  absl::StatusOr<EncodedMask> png = EncodeMask(mask, MaskEncoding::kPng);
  ASSERT_TRUE(png.ok()) << png.status();
  in.frame_index = 5;
  in.object_id = 4;
  in.mask = *png;
  out = session->AddPrompts(in);
  ASSERT_TRUE(out.ok()) << out.status();
  expected = (*predictor_)->AddNewMask(*ref, 5, 4, mask);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ExpectSameFrame(*out, *expected);

  // A mask of another size, logits, a broken RLE.
  absl::StatusOr<EncodedMask> small =
      EncodeMask(at::ones({kH / 2, kW / 2}, at::kBool), MaskEncoding::kRle);
  ASSERT_TRUE(small.ok());
  in.mask = *small;
  EXPECT_EQ(session->AddPrompts(in).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<EncodedMask> logits = EncodeMask(at::ones({kH, kW}), MaskEncoding::kLogits);
  ASSERT_TRUE(logits.ok());
  in.mask = *logits;
  EXPECT_EQ(session->AddPrompts(in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.mask = *rle;
  in.mask->data = "0<";
  EXPECT_EQ(session->AddPrompts(in).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A mask on a frame outside the video.
  in.mask = *rle;
  in.frame_index = kFrames;
  EXPECT_EQ(session->AddPrompts(in).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(session->Info().object_ids, (std::vector<int64_t>{3, 4}));
}

TEST_F(VideoSessionTest, RejectsBadPrompts) {
  VideoSessionLimits limits;
  limits.max_objects = 2;
  limits.max_points = 3;
  std::unique_ptr<VideoSession> session = NewSession(Jpegs(), limits);
  ASSERT_NE(session, nullptr);
  auto code = [&](const VideoPromptInput& in) {
    return session->AddPrompts(in).status().code();
  };
  // Both a mask and points (or a box); nothing at all.
  absl::StatusOr<EncodedMask> mask =
      EncodeMask(at::ones({kH, kW}, at::kBool), MaskEncoding::kRle);
  ASSERT_TRUE(mask.ok());
  VideoPromptInput both = Click(0, 1, 10, 10);
  both.mask = *mask;
  EXPECT_EQ(code(both), absl::StatusCode::kInvalidArgument);
  VideoPromptInput box_and_mask = BoxPromptOn(0, 1, 0, 0, 50, 50);
  box_and_mask.mask = *mask;
  EXPECT_EQ(code(box_and_mask), absl::StatusCode::kInvalidArgument);
  VideoPromptInput nothing;
  EXPECT_EQ(code(nothing), absl::StatusCode::kInvalidArgument);
  // Too many points.
  VideoPromptInput many = Click(0, 1, 10, 10);
  many.points.assign(4, Point(10, 10));
  EXPECT_EQ(code(many), absl::StatusCode::kInvalidArgument);
  // Off the frame, NaN, a bad label, an inverted box.
  EXPECT_EQ(code(Click(0, 1, kW + 1, 10)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Click(0, 1, 10, -0.5f)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Click(0, 1, std::nanf(""), 10)), absl::StatusCode::kInvalidArgument);
  VideoPromptInput label = Click(0, 1, 10, 10);
  label.points[0].label = 9;
  EXPECT_EQ(code(label), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(BoxPromptOn(0, 1, 100, 10, 50, 60)),
            absl::StatusCode::kInvalidArgument);
  // Frames outside the video.
  EXPECT_EQ(code(Click(kFrames, 1, 10, 10)), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(code(Click(-1, 1, 10, 10)), absl::StatusCode::kOutOfRange);
  // None of that created an object.
  EXPECT_TRUE(session->Info().object_ids.empty());

  // At most two objects; prompting a known object again is fine.
  EXPECT_TRUE(session->AddPrompts(Click(0, 1, 160, 90)).ok());
  EXPECT_TRUE(session->AddPrompts(Click(1, 2, 100, 50)).ok());
  EXPECT_EQ(code(Click(0, 3, 60, 60)), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(session->AddPrompts(Click(3, 1, 60, 60)).ok());
  EXPECT_EQ(session->Info().object_ids, (std::vector<int64_t>{1, 2}));
  // After removing one, there is room again.
  ASSERT_TRUE(session->RemoveObject(2, MaskEncoding::kRle).ok());
  EXPECT_TRUE(session->AddPrompts(Click(0, 3, 60, 60)).ok());

  // Out-of-range frames elsewhere.
  EXPECT_EQ(session->ClearPrompts(kFrames, 1, MaskEncoding::kRle).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(session->BeginPropagation(
                        Request(PropagationDirection::kForward, kFrames))
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(session->HasNextFrame());
  EXPECT_EQ(session->BeginPropagation(
                        Request(PropagationDirection::kBoth, -1))
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(session->BeginPropagation(
                        Request(PropagationDirection::kBoth, 0, -1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(session->HasNextFrame());
}

TEST_F(VideoSessionTest, PropagationCountsMatchTheFramesReported) {
  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  // Nothing to propagate yet.
  EXPECT_EQ(session->BeginPropagation(Request(PropagationDirection::kForward))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(session->HasNextFrame());
  EXPECT_EQ(session->PropagateNext().status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(session->AddPrompts(Click(3, 1, 160, 90)).ok());

  using D = PropagationDirection;
  struct Case {
    PropagationRequest request;
    std::vector<int64_t> frames;
  };
  const std::vector<Case> cases = {
      {Request(D::kForward), {3, 4, 5, 6, 7}},
      {Request(D::kForward, std::nullopt, 2), {3, 4, 5}},
      {Request(D::kForward, 7), {7}},
      {Request(D::kReverse), {3, 2, 1, 0}},
      {Request(D::kReverse, std::nullopt, 1), {3, 2}},
      {Request(D::kReverse, 0), {}},
      {Request(D::kBoth), {3, 4, 5, 6, 7, 2, 1, 0}},
      {Request(D::kBoth, std::nullopt, 2), {3, 4, 5, 2, 1}},
      {Request(D::kBoth, 5, 1), {5, 6, 4}},
      {Request(D::kBoth, 0), {0, 1, 2, 3, 4, 5, 6, 7}},
      {Request(D::kBoth, 0, 3), {0, 1, 2, 3}},
      {Request(D::kBoth, 7), {7, 6, 5, 4, 3, 2, 1, 0}},
      {Request(D::kBoth, std::nullopt, 0), {3}},
      {Request(D::kForward, std::nullopt, 0), {3}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("case %d", i));
    const std::vector<FrameMasksOutput> frames =
        RunPropagation(*session, cases[i].request);
    EXPECT_EQ(Indices(frames), cases[i].frames);
    const std::vector<int64_t> idx = Indices(frames);
    EXPECT_EQ(std::set<int64_t>(idx.begin(), idx.end()).size(), idx.size())
        << "a frame was reported twice";
    for (const FrameMasksOutput& f : frames) {
      ASSERT_EQ(f.objects.size(), 1u);
      EXPECT_EQ(f.objects[0].object_id, 1);
    }
  }
  // A new plan replaces an unfinished one; EndPropagation forgets it.
  ASSERT_TRUE(session->BeginPropagation(Request(D::kBoth)).ok());
  ASSERT_TRUE(session->PropagateNext().ok());
  absl::StatusOr<int64_t> n = session->BeginPropagation(Request(D::kReverse));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 4);
  EXPECT_TRUE(session->HasNextFrame());
  session->EndPropagation();
  EXPECT_FALSE(session->HasNextFrame());
  EXPECT_EQ(session->PropagateNext().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(VideoSessionTest, BothDirectionsEqualForwardThenReverse) {
  // Two objects prompted on different frames: the backward pass starts on a
  // frame that is a conditioning frame for one object only.
  const VideoPromptInput p1 = Click(3, 1, 160, 90);
  const VideoPromptInput p2 = BoxPromptOn(5, 2, 32, 18, 128, 108);

  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->AddPrompts(p1).ok());
  ASSERT_TRUE(session->AddPrompts(p2).ok());
  const int64_t before = session->NumBytes();
  const std::vector<FrameMasksOutput> both =
      RunPropagation(*session, Request(PropagationDirection::kBoth));
  EXPECT_EQ(Indices(both), (std::vector<int64_t>{3, 4, 5, 6, 7, 2, 1, 0}));
  EXPECT_GT(session->NumBytes(), before);  // memories of the tracked frames

  // The reference's demo: propagate_in_video forward, then in reverse, on a
  // fresh state with the same prompts.
  std::unique_ptr<VideoInferenceState> ref = ReferenceState();
  ASSERT_NE(ref, nullptr);
  ASSERT_TRUE(ReferencePrompt(*ref, p1).ok());
  ASSERT_TRUE(ReferencePrompt(*ref, p2).ok());
  std::vector<VideoFrameMasks> expected;
  auto collect = [&](const VideoFrameMasks& f) {
    expected.push_back(f);
    return absl::OkStatus();
  };
  PropagateOptions forward;
  ASSERT_TRUE((*predictor_)->PropagateInVideo(*ref, forward, collect).ok());
  PropagateOptions reverse;
  reverse.reverse = true;
  const size_t forward_count = expected.size();
  ASSERT_TRUE((*predictor_)->PropagateInVideo(*ref, reverse, collect).ok());
  ASSERT_EQ(forward_count, 5u);
  ASSERT_EQ(expected.size(), 9u);
  // The reverse pass reports its start frame again; the session does not.
  EXPECT_EQ(expected[forward_count].frame_idx, 3);
  expected.erase(expected.begin() + forward_count);
  ASSERT_EQ(both.size(), expected.size());
  for (size_t i = 0; i < both.size(); ++i) {
    ASSERT_EQ(both[i].objects.size(), 2u);
    ExpectSameFrame(both[i], expected[i]);
  }
}

TEST_F(VideoSessionTest, PropagationEncodings) {
  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->AddPrompts(Click(6, 1, 160, 90)).ok());
  PropagationRequest r = Request(PropagationDirection::kForward);
  r.encoding = MaskEncoding::kLogits;
  std::vector<std::string> stages;
  ASSERT_TRUE(session->BeginPropagation(r).ok());
  int frames = 0;
  while (session->HasNextFrame()) {
    absl::StatusOr<FrameMasksOutput> f = session->PropagateNext(
        [&](absl::string_view stage, absl::Duration) { stages.emplace_back(stage); });
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->objects.size(), 1u);
    const EncodedMask& m = f->objects[0].mask;
    EXPECT_EQ(m.encoding, MaskEncoding::kLogits);
    EXPECT_EQ(m.height, kH);
    EXPECT_EQ(m.width, kW);
    EXPECT_TRUE(DecodeLogits(m, kH, kW).ok());
    ++frames;
  }
  EXPECT_EQ(frames, 2);  // frames 6 and 7
  EXPECT_EQ(stages, (std::vector<std::string>{"memory", "postprocess", "memory",
                                              "postprocess"}));
  r.encoding = MaskEncoding::kPng;
  r.direction = PropagationDirection::kReverse;
  r.max_frames = 1;
  for (const FrameMasksOutput& f : RunPropagation(*session, r)) {
    ASSERT_EQ(f.objects.size(), 1u);
    EXPECT_EQ(f.objects[0].mask.encoding, MaskEncoding::kPng);
    EXPECT_TRUE(DecodeBinaryMask(f.objects[0].mask, kH, kW).ok());
  }
}

TEST_F(VideoSessionTest, ClearRemoveResetAndInfo) {
  std::unique_ptr<VideoSession> session = NewSession(Jpegs());
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->AddPrompts(Click(4, 1, 160, 90)).ok());
  ASSERT_TRUE(session->AddPrompts(Click(0, 1, 100, 50)).ok());
  ASSERT_TRUE(session->AddPrompts(BoxPromptOn(2, 5, 32, 18, 128, 108)).ok());
  VideoSessionInfo info = session->Info();
  EXPECT_EQ(info.object_ids, (std::vector<int64_t>{1, 5}));
  using Prompted = std::vector<std::pair<int64_t, std::vector<int64_t>>>;
  EXPECT_EQ(info.prompted_frames,
            (Prompted{{1, {0, 4}}, {5, {2}}}));

  // Clearing object 1's prompts on frame 4 returns that frame's masks.
  absl::StatusOr<FrameMasksOutput> cleared =
      session->ClearPrompts(4, 1, MaskEncoding::kRle);
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_EQ(cleared->frame_index, 4);
  EXPECT_EQ(session->Info().prompted_frames, (Prompted{{1, {0}}, {5, {2}}}));

  // Removing an unknown object is NOT_FOUND and changes nothing.
  EXPECT_EQ(session->RemoveObject(42, MaskEncoding::kRle).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(session->Info().object_ids, (std::vector<int64_t>{1, 5}));
  absl::StatusOr<RemoveObjectOutput> removed =
      session->RemoveObject(1, MaskEncoding::kRle);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->object_ids, std::vector<int64_t>{5});
  for (const FrameMasksOutput& f : removed->updated_frames) {
    for (const ObjectMaskOutput& o : f.objects) EXPECT_EQ(o.object_id, 5);
  }
  EXPECT_EQ(session->Info().object_ids, std::vector<int64_t>{5});
  EXPECT_EQ(session->RemoveObject(1, MaskEncoding::kRle).status().code(),
            absl::StatusCode::kNotFound);

  // Reset forgets objects, prompts and any plan; the frames stay.
  ASSERT_TRUE(session->BeginPropagation(Request(PropagationDirection::kForward)).ok());
  EXPECT_TRUE(session->HasNextFrame());
  session->Reset();
  EXPECT_FALSE(session->HasNextFrame());
  info = session->Info();
  EXPECT_TRUE(info.object_ids.empty());
  EXPECT_TRUE(info.prompted_frames.empty());
  EXPECT_EQ(info.num_frames, kFrames);
  EXPECT_EQ(session->BeginPropagation(Request(PropagationDirection::kBoth))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(session->AddPrompts(Click(1, 9, 160, 90)).ok());
  EXPECT_EQ(session->Info().object_ids, std::vector<int64_t>{9});
}

}  // namespace
}  // namespace sam2
