// Tests of ImageSession on the micro SAM 2.1 fixture (random weights): image
// bytes in, encoded masks out, the same masks as the image predictor's
// PredictMasks on the same prompts, kept results for refinement, limits and
// bad requests, stage timings, automatic masks.

#include "session/image_session.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "model/automatic_mask_generator.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "model/model_loader.h"
#include "session/mask_encoding.h"
#include "tests/util/png_bytes.h"

namespace sam2 {
namespace {

constexpr char kFixture[] = "tests/fixtures/sam2.1-micro";
constexpr int64_t kImageH = 400;  // image.png is 600x400
constexpr int64_t kImageW = 600;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

PointPrompt Point(float x, float y, int label = 1) {
  PointPrompt p;
  p.x = x;
  p.y = y;
  p.label = label;
  return p;
}

BoxPrompt Box(float x0, float y0, float x1, float y1) {
  BoxPrompt b;
  b.x0 = x0;
  b.y0 = y0;
  b.x1 = x1;
  b.y1 = y1;
  return b;
}

at::Tensor DecodeOk(const EncodedMask& m, int64_t h, int64_t w) {
  absl::StatusOr<at::Tensor> t = DecodeBinaryMask(m, h, w);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : at::Tensor();
}

at::Tensor LogitsOk(const EncodedMask& m, int64_t h, int64_t w) {
  absl::StatusOr<at::Tensor> t = DecodeLogits(m, h, w);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : at::Tensor();
}

class ImageSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel(std::string(kFixture) + "/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
        Sam2Model::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new std::shared_ptr<const Sam2Model>(*model);
    png_ = new std::string(ReadAll(std::string(kFixture) + "/image.png"));
    ASSERT_GT(png_->size(), 1000u);
    // What the session must compute: the image predictor's features of the
    // same decoded pixels.
    absl::StatusOr<RgbImage> image = DecodeImage(*png_);
    ASSERT_TRUE(image.ok()) << image.status();
    absl::StatusOr<std::vector<ImageFeatures>> features =
        EmbedImages(**model_, absl::MakeConstSpan(&image->pixels, 1));
    ASSERT_TRUE(features.ok()) << features.status();
    features_ = new ImageFeatures(features->front());
  }

  static const Sam2Model& model() { return **model_; }
  // The low-resolution side, derived from the config: image_size / 4.
  static int64_t LowRes() { return model().config().image_size / 4; }

  std::unique_ptr<ImageSession> NewSession(
      const ImageSessionLimits& limits = {}) {
    absl::StatusOr<std::unique_ptr<ImageSession>> s =
        ImageSession::Create(model(), *png_, limits);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  // PredictMasks on the reference features.
  static Prediction Predict(const ImagePromptInput& prompt, bool multimask) {
    PredictOptions options;
    options.multimask_output = multimask;
    absl::StatusOr<Prediction> p =
        PredictMasks(model(), ImagePredictorOptions{}, *features_, prompt, options);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : Prediction();
  }

  static ImagePromptInput Clicks(const std::vector<PointPrompt>& points) {
    ImagePromptInput p;
    const int64_t n = static_cast<int64_t>(points.size());
    p.point_coords = at::empty({n, 2});
    p.point_labels = at::empty({n}, at::kInt);
    for (int64_t i = 0; i < n; ++i) {
      p.point_coords[i][0] = points[i].x;
      p.point_coords[i][1] = points[i].y;
      p.point_labels[i] = points[i].label;
    }
    return p;
  }

  // Every mask of `out` (prompt set b, mask c) decodes to `masks` [B, C, H, W]
  // and the scores are `ious` [B, C].
  static void ExpectSameAs(const SegmentOutput& out, const at::Tensor& masks,
                           const at::Tensor& ious) {
    ASSERT_EQ(static_cast<int64_t>(out.prompts.size()), masks.size(0));
    for (int64_t b = 0; b < masks.size(0); ++b) {
      const PromptMasks& p = out.prompts[b];
      ASSERT_EQ(static_cast<int64_t>(p.masks.size()), masks.size(1));
      ASSERT_EQ(p.iou_scores.size(), p.masks.size());
      for (int64_t c = 0; c < masks.size(1); ++c) {
        EXPECT_EQ(p.masks[c].height, kImageH);
        EXPECT_EQ(p.masks[c].width, kImageW);
        const at::Tensor got = DecodeOk(p.masks[c], kImageH, kImageW);
        ASSERT_TRUE(got.defined());
        EXPECT_TRUE(at::equal(got, masks[b][c])) << "prompt " << b << " mask " << c;
        EXPECT_EQ(p.iou_scores[c], ious[b][c].item<float>());
      }
    }
  }

  static std::shared_ptr<const Sam2Model>* model_;
  static std::string* png_;
  static ImageFeatures* features_;
};
std::shared_ptr<const Sam2Model>* ImageSessionTest::model_ = nullptr;
std::string* ImageSessionTest::png_ = nullptr;
ImageFeatures* ImageSessionTest::features_ = nullptr;

TEST_F(ImageSessionTest, CreateFromPngBytes) {
  std::vector<std::string> stages;
  absl::StatusOr<std::unique_ptr<ImageSession>> s = ImageSession::Create(
      model(), *png_, ImageSessionLimits{},
      [&](absl::string_view stage, absl::Duration d) {
        EXPECT_GE(d, absl::ZeroDuration());
        stages.emplace_back(stage);
      });
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->height(), kImageH);
  EXPECT_EQ((*s)->width(), kImageW);
  EXPECT_EQ((*s)->kind(), SessionKind::kImage);
  EXPECT_EQ(stages, (std::vector<std::string>{"decode", "encoder"}));
  // The features and the encoded image, nothing else yet.
  EXPECT_EQ((*s)->NumBytes(),
            features_->NumBytes() + static_cast<int64_t>(png_->size()));
}

TEST_F(ImageSessionTest, CacheHitSkipsTheEncoderAndGivesTheSameMasks) {
  EmbeddingCache cache(kDefaultEmbeddingCacheBytes);
  std::vector<std::string> stages;
  auto observe = [&](absl::string_view stage, absl::Duration) {
    stages.emplace_back(stage);
  };
  absl::StatusOr<std::unique_ptr<ImageSession>> first = ImageSession::Create(
      model(), *png_, ImageSessionLimits{}, observe, &cache);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(stages, (std::vector<std::string>{"cache", "decode", "encoder"}));
  EXPECT_EQ(cache.Stats().entries, 1);
  EXPECT_EQ(cache.Stats().bytes, features_->NumBytes());

  stages.clear();
  absl::StatusOr<std::unique_ptr<ImageSession>> second = ImageSession::Create(
      model(), *png_, ImageSessionLimits{}, observe, &cache);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(stages, (std::vector<std::string>{"cache"}));
  EXPECT_EQ(cache.Stats().hits, 1);
  EXPECT_EQ((*second)->height(), kImageH);
  EXPECT_EQ((*second)->width(), kImageW);

  SegmentInput input;
  input.points.push_back({300, 200, 1});
  absl::StatusOr<SegmentOutput> a = (*first)->Segment(model(), input);
  absl::StatusOr<SegmentOutput> b = (*second)->Segment(model(), input);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->prompts[0].masks.size(), b->prompts[0].masks.size());
  for (size_t i = 0; i < a->prompts[0].masks.size(); ++i) {
    EXPECT_EQ(a->prompts[0].masks[i].data, b->prompts[0].masks[i].data);
    EXPECT_EQ(a->prompts[0].iou_scores[i], b->prompts[0].iou_scores[i]);
  }

  // Other bytes (the same image re-encoded would be too): a miss.
  std::string other = *png_;
  other.back() ^= 1;  // the PNG's trailing CRC: decoders ignore IEND's CRC
  stages.clear();
  absl::StatusOr<std::unique_ptr<ImageSession>> third = ImageSession::Create(
      model(), other, ImageSessionLimits{}, observe, &cache);
  if (third.ok()) {
    EXPECT_EQ(stages, (std::vector<std::string>{"cache", "decode", "encoder"}));
  }
  EXPECT_EQ(cache.Stats().misses, 2);
}

TEST_F(ImageSessionTest, CreateRejectsBytesThatAreNotAnImage) {
  for (const std::string& bytes :
       {std::string(), std::string("GIF89a, not JPEG or PNG"),
        png_->substr(0, 200), std::string("\xff\xd8\xff\xe0 not a real JPEG")}) {
    absl::StatusOr<std::unique_ptr<ImageSession>> s =
        ImageSession::Create(model(), bytes, ImageSessionLimits{});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument)
        << s.status() << " for " << bytes.size() << " bytes";
  }
}

TEST_F(ImageSessionTest, CreateRejectsOversizeImagesByTheirHeader) {
  // 100000 x 100000 with no pixel data: rejected from the header, before any
  // allocation.
  const std::string huge = PngHeaderOnly(100000, 100000);
  ASSERT_TRUE(InspectImage(PngHeaderOnly(64, 64)).ok());
  std::vector<std::string> stages;
  absl::StatusOr<std::unique_ptr<ImageSession>> s = ImageSession::Create(
      model(), huge, ImageSessionLimits{},
      [&](absl::string_view stage, absl::Duration) { stages.emplace_back(stage); });
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_EQ(stages, std::vector<std::string>{"decode"});  // no encoder run
  // Within the side limit but over the pixel budget.
  EXPECT_EQ(ImageSession::Create(model(), PngHeaderOnly(8000, 8000),
                                 ImageSessionLimits{})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // The real image against small limits.
  ImageSessionLimits small;
  small.decode.max_side = kImageW - 1;
  EXPECT_EQ(ImageSession::Create(model(), *png_, small).status().code(),
            absl::StatusCode::kInvalidArgument);
  small = {};
  small.decode.max_pixels = kImageW * kImageH - 1;
  EXPECT_EQ(ImageSession::Create(model(), *png_, small).status().code(),
            absl::StatusCode::kInvalidArgument);
  small = {};
  small.decode.max_encoded_bytes = static_cast<int64_t>(png_->size()) - 1;
  EXPECT_EQ(ImageSession::Create(model(), *png_, small).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ImageSessionTest, OneClickMultimaskEqualsPredictMasks) {
  std::unique_ptr<ImageSession> session = NewSession();
  ASSERT_NE(session, nullptr);
  SegmentInput in;
  in.points = {Point(270, 220)};
  std::vector<std::string> stages;
  absl::StatusOr<SegmentOutput> out = session->Segment(
      model(), in, [&](absl::string_view stage, absl::Duration d) {
        EXPECT_GE(d, absl::ZeroDuration());
        stages.emplace_back(stage);
      });
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(stages, (std::vector<std::string>{"decoder", "postprocess"}));
  ASSERT_EQ(out->prompts.size(), 1u);
  EXPECT_EQ(out->prompts[0].masks.size(), 3u);
  EXPECT_EQ(out->prompts[0].iou_scores.size(), 3u);
  for (const EncodedMask& m : out->prompts[0].masks) {
    EXPECT_EQ(m.encoding, MaskEncoding::kRle);
  }
  const Prediction p = Predict(Clicks({Point(270, 220)}), true);
  ExpectSameAs(*out, p.masks.unsqueeze(0), p.iou_predictions.unsqueeze(0));
  // Not every mask is empty (else the comparison proves little).
  EXPECT_GT(p.masks.sum().item<int64_t>(), 0);
  EXPECT_EQ(out->result_id, 1);
}

// Dynamic batching: three sessions' clicks in one call give each session
// what its own Segment gives (to float32 round-off), keep their results per
// session, and a bad request fails alone.
TEST_F(ImageSessionTest, SegmentBatchEqualsEachSessionAlone) {
  std::vector<std::unique_ptr<ImageSession>> batched, alone;
  for (int i = 0; i < 4; ++i) {
    batched.push_back(NewSession());
    alone.push_back(NewSession());
    ASSERT_NE(batched.back(), nullptr);
    ASSERT_NE(alone.back(), nullptr);
  }
  std::vector<SegmentInput> inputs(4);
  inputs[0].points = {Point(270, 220)};
  inputs[1].points = {Point(120, 80)};
  inputs[2].points = {Point(300, 200), Point(50, 60, 0)};  // its own layout
  inputs[3].points = {Point(-5, 10)};                      // off the image
  std::vector<ImageSession*> sessions;
  std::vector<const SegmentInput*> in;
  for (int i = 0; i < 4; ++i) {
    sessions.push_back(batched[i].get());
    in.push_back(&inputs[i]);
  }
  int decoder_stages = 0;
  std::vector<absl::StatusOr<SegmentOutput>> out = ImageSession::SegmentBatch(
      model(), sessions, in, [&](absl::string_view stage, absl::Duration) {
        decoder_stages += stage == "decoder";
      });
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(decoder_stages, 3);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    absl::StatusOr<SegmentOutput> want = alone[i]->Segment(model(), inputs[i]);
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_TRUE(out[i].ok()) << out[i].status();
    EXPECT_EQ(out[i]->result_id, 1);
    ASSERT_EQ(out[i]->prompts.size(), 1u);
    ASSERT_EQ(out[i]->prompts[0].masks.size(), 3u);
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(out[i]->prompts[0].iou_scores[c],
                  want->prompts[0].iou_scores[c], 1e-5);
      const at::Tensor got = DecodeOk(out[i]->prompts[0].masks[c], kImageH, kImageW);
      const at::Tensor exp = DecodeOk(want->prompts[0].masks[c], kImageH, kImageW);
      ASSERT_TRUE(got.defined() && exp.defined());
      EXPECT_LE(at::ne(got, exp).sum().item<int64_t>(), kImageH * kImageW / 10000);
    }
    // The result is kept by its own session: a mask reference to it works.
    SegmentInput refine;
    refine.points = {Point(200, 150)};
    refine.mask_reference = MaskReference{out[i]->result_id, 0, 0};
    EXPECT_TRUE(batched[i]->Segment(model(), refine).ok());
  }
  EXPECT_EQ(out[3].status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ImageSessionTest, SingleMaskAndPngEqualPredictMasks) {
  std::unique_ptr<ImageSession> session = NewSession();
  ASSERT_NE(session, nullptr);
  SegmentInput in;
  in.points = {Point(270, 220), Point(120, 120, 0)};
  in.multimask_output = false;
  absl::StatusOr<SegmentOutput> out = session->Segment(model(), in);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->prompts.size(), 1u);
  ASSERT_EQ(out->prompts[0].masks.size(), 1u);
  const Prediction p = Predict(Clicks(in.points), false);
  ExpectSameAs(*out, p.masks.unsqueeze(0), p.iou_predictions.unsqueeze(0));

  in.encoding = MaskEncoding::kPng;
  out = session->Segment(model(), in);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->prompts.size(), 1u);
  ASSERT_EQ(out->prompts[0].masks.size(), 1u);
  EXPECT_EQ(out->prompts[0].masks[0].encoding, MaskEncoding::kPng);
  ExpectSameAs(*out, p.masks.unsqueeze(0), p.iou_predictions.unsqueeze(0));
  EXPECT_EQ(out->result_id, 2);
}

TEST_F(ImageSessionTest, SeveralBoxesGiveOneResultPerBox) {
  std::unique_ptr<ImageSession> session = NewSession();
  ASSERT_NE(session, nullptr);
  SegmentInput in;
  in.boxes = {Box(30, 20, 300, 200), Box(240, 120, 570, 380),
              Box(0, 0, kImageW, kImageH)};
  in.multimask_output = false;
  absl::StatusOr<SegmentOutput> out = session->Segment(model(), in);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->prompts.size(), 3u);
  ImagePromptInput prompt;
  prompt.box = at::tensor({30.f, 20.f, 300.f, 200.f, 240.f, 120.f, 570.f, 380.f,
                           0.f, 0.f, static_cast<float>(kImageW),
                           static_cast<float>(kImageH)})
                   .view({3, 4});
  const Prediction p = Predict(prompt, false);
  ExpectSameAs(*out, p.masks, p.iou_predictions);
  // Distinct boxes, distinct masks.
  EXPECT_NE(out->prompts[0].masks[0].data, out->prompts[1].masks[0].data);

  // One box with points is one prompt set.
  SegmentInput box_and_point;
  box_and_point.boxes = {Box(60, 80, 420, 360)};
  box_and_point.points = {Point(180, 240, 0)};
  out = session->Segment(model(), box_and_point);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->prompts.size(), 1u);
  ImagePromptInput bp = Clicks(box_and_point.points);
  bp.box = at::tensor({60.f, 80.f, 420.f, 360.f});
  const Prediction q = Predict(bp, true);
  ExpectSameAs(*out, q.masks.unsqueeze(0), q.iou_predictions.unsqueeze(0));
}

TEST_F(ImageSessionTest, RejectsBadPrompts) {
  ImageSessionLimits limits;
  limits.max_points = 3;
  limits.max_boxes = 2;
  std::unique_ptr<ImageSession> session = NewSession(limits);
  ASSERT_NE(session, nullptr);
  auto code = [&](const SegmentInput& in) {
    return session->Segment(model(), in).status().code();
  };
  SegmentInput in;
  // Points with several boxes.
  in.points = {Point(10, 10)};
  in.boxes = {Box(0, 0, 50, 50), Box(10, 10, 60, 60)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  // Too many points, too many boxes (limits of this session).
  in = {};
  in.points.assign(4, Point(10, 10));
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  in.points.assign(3, Point(10, 10));
  EXPECT_TRUE(session->Segment(model(), in).ok());
  in = {};
  in.boxes.assign(3, Box(0, 0, 50, 50));
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  // Non-finite coordinates.
  in = {};
  in.points = {Point(std::nanf(""), 10)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  in.points = {Point(10, std::numeric_limits<float>::infinity())};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  in = {};
  in.boxes = {Box(0, 0, std::nanf(""), 50)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  // Off the image (x in [0, W], y in [0, H]).
  in = {};
  in.points = {Point(kImageW + 1, 10)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  in.points = {Point(10, -1)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  in.points = {Point(kImageW, kImageH)};  // the far corner is on the image
  EXPECT_TRUE(session->Segment(model(), in).ok());
  // A box off the image, an inverted box, a bad label, nothing at all.
  in = {};
  in.boxes = {Box(0, 0, kImageW + 10, 50)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  in.boxes = {Box(50, 50, 10, 60)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  in = {};
  in.points = {Point(10, 10, 7)};
  EXPECT_EQ(code(in), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(SegmentInput{}), absl::StatusCode::kInvalidArgument);
  // Failed requests consume no result id: two successes so far.
  in = {};
  in.points = {Point(10, 10)};
  absl::StatusOr<SegmentOutput> out = session->Segment(model(), in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->result_id, 3);
}

TEST_F(ImageSessionTest, LogitsOutputIsLowResolutionFloat32) {
  std::unique_ptr<ImageSession> session = NewSession();
  ASSERT_NE(session, nullptr);
  SegmentInput in;
  in.points = {Point(270, 220)};
  in.encoding = MaskEncoding::kLogits;
  absl::StatusOr<SegmentOutput> out = session->Segment(model(), in);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->prompts.size(), 1u);
  ASSERT_EQ(out->prompts[0].masks.size(), 3u);
  const Prediction p = Predict(Clicks(in.points), true);
  const int64_t m = LowRes();
  ASSERT_EQ(m, 128);  // the micro model: image_size 512
  for (int c = 0; c < 3; ++c) {
    const EncodedMask& e = out->prompts[0].masks[c];
    EXPECT_EQ(e.encoding, MaskEncoding::kLogits);
    EXPECT_EQ(e.height, m);
    EXPECT_EQ(e.width, m);
    EXPECT_EQ(e.data.size(), static_cast<size_t>(m * m) * sizeof(float));
    const at::Tensor logits = LogitsOk(e, m, m);
    ASSERT_TRUE(logits.defined());
    EXPECT_TRUE(at::equal(logits, p.low_res_logits[c].to(at::kFloat))) << c;
  }
}

TEST_F(ImageSessionTest, MaskReferenceEqualsSendingTheSameLogits) {
  std::unique_ptr<ImageSession> session = NewSession();
  ASSERT_NE(session, nullptr);
  SegmentInput first;
  first.points = {Point(270, 220)};
  first.encoding = MaskEncoding::kLogits;
  absl::StatusOr<SegmentOutput> r1 = session->Segment(model(), first);
  ASSERT_TRUE(r1.ok()) << r1.status();

  SegmentInput by_ref;
  by_ref.points = {Point(300, 200)};
  by_ref.multimask_output = false;
  by_ref.mask_reference = MaskReference{r1->result_id, 0, 2};
  absl::StatusOr<SegmentOutput> a = session->Segment(model(), by_ref);
  ASSERT_TRUE(a.ok()) << a.status();

  SegmentInput by_logits = by_ref;
  by_logits.mask_reference.reset();
  by_logits.mask_logits = r1->prompts[0].masks[2];
  absl::StatusOr<SegmentOutput> b = session->Segment(model(), by_logits);
  ASSERT_TRUE(b.ok()) << b.status();

  ASSERT_EQ(a->prompts.size(), 1u);
  ASSERT_EQ(b->prompts.size(), 1u);
  ASSERT_EQ(a->prompts[0].masks.size(), 1u);
  EXPECT_EQ(a->prompts[0].masks[0].data, b->prompts[0].masks[0].data);
  EXPECT_EQ(a->prompts[0].iou_scores, b->prompts[0].iou_scores);
  // And both are PredictMasks with that mask input.
  ImagePromptInput prompt = Clicks(by_ref.points);
  prompt.mask_input = LogitsOk(r1->prompts[0].masks[2], LowRes(), LowRes()).unsqueeze(0);
  const Prediction p = Predict(prompt, false);
  ExpectSameAs(*a, p.masks.unsqueeze(0), p.iou_predictions.unsqueeze(0));
  // The mask input matters: without it the result differs.
  by_ref.mask_reference = MaskReference{r1->result_id, 0, 0};
  absl::StatusOr<SegmentOutput> other = session->Segment(model(), by_ref);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->prompts[0].iou_scores, a->prompts[0].iou_scores);

  // A mask reference alone is a prompt.
  SegmentInput ref_only;
  ref_only.mask_reference = MaskReference{a->result_id, 0, 0};
  EXPECT_TRUE(session->Segment(model(), ref_only).ok());
}

TEST_F(ImageSessionTest, BadMaskPrompts) {
  ImageSessionLimits limits;
  limits.kept_results = 2;
  std::unique_ptr<ImageSession> session = NewSession(limits);
  ASSERT_NE(session, nullptr);
  SegmentInput click;
  click.points = {Point(270, 220)};
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<SegmentOutput> out = session->Segment(model(), click);
    ASSERT_TRUE(out.ok()) << out.status();
    ids.push_back(out->result_id);
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  auto with_ref = [&](int64_t id, int prompt, int mask) {
    SegmentInput in = click;
    in.multimask_output = false;
    in.mask_reference = MaskReference{id, prompt, mask};
    return session->Segment(model(), in).status().code();
  };
  // Result 1 was dropped (2 kept), 99 never existed.
  EXPECT_EQ(with_ref(1, 0, 0), absl::StatusCode::kNotFound);
  EXPECT_EQ(with_ref(99, 0, 0), absl::StatusCode::kNotFound);
  // Result 2 is kept; that success becomes result 4 and drops result 2.
  EXPECT_EQ(with_ref(2, 0, 2), absl::StatusCode::kOk);
  EXPECT_EQ(with_ref(2, 0, 0), absl::StatusCode::kNotFound);
  // Bad indices into a kept result (3: one prompt set of 3 masks).
  EXPECT_EQ(with_ref(3, 1, 0), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with_ref(3, -1, 0), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with_ref(3, 0, 3), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with_ref(3, 0, -1), absl::StatusCode::kInvalidArgument);
  // Result 4 is a single-mask result.
  EXPECT_EQ(with_ref(4, 0, 1), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with_ref(4, 0, 0), absl::StatusCode::kOk);

  const int64_t m = LowRes();
  EncodedMask logits;
  logits.height = m;
  logits.width = m;
  logits.encoding = MaskEncoding::kLogits;
  logits.data.assign(static_cast<size_t>(m * m) * sizeof(float), '\0');
  SegmentInput in = click;
  in.mask_logits = logits;
  EXPECT_TRUE(session->Segment(model(), in).ok());
  // Both a reference and logits.
  in.mask_reference = MaskReference{5, 0, 0};
  EXPECT_EQ(session->Segment(model(), in).status().code(),
            absl::StatusCode::kInvalidArgument);
  in.mask_reference.reset();
  // Logits of the wrong size, NaN logits, a binary mask instead of logits.
  EncodedMask bad = logits;
  bad.height = bad.width = m / 2;
  bad.data.resize(static_cast<size_t>(m / 2 * m / 2) * sizeof(float));
  in.mask_logits = bad;
  EXPECT_EQ(session->Segment(model(), in).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = logits;
  const float nan = std::nanf("");
  std::memcpy(&bad.data[100 * sizeof(float)], &nan, sizeof(float));
  in.mask_logits = bad;
  EXPECT_EQ(session->Segment(model(), in).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = logits;
  bad.encoding = MaskEncoding::kRle;
  in.mask_logits = bad;
  EXPECT_EQ(session->Segment(model(), in).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A mask prompt with several boxes: one mask for several prompt sets.
  in = {};
  in.boxes = {Box(0, 0, 50, 50), Box(10, 10, 60, 60)};
  in.mask_logits = logits;
  EXPECT_EQ(session->Segment(model(), in).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ImageSessionTest, NumBytesGrowsWithKeptResultsAndIsBounded) {
  ImageSessionLimits limits;
  limits.kept_results = 2;
  std::unique_ptr<ImageSession> session = NewSession(limits);
  ASSERT_NE(session, nullptr);
  const int64_t m = LowRes();
  const int64_t per_mask = m * m * static_cast<int64_t>(sizeof(float));
  SegmentInput multi;
  multi.points = {Point(270, 220)};
  SegmentInput single = multi;
  single.multimask_output = false;

  std::vector<int64_t> bytes = {session->NumBytes()};
  for (const SegmentInput* in : {&multi, &single, &multi, &multi, &multi}) {
    ASSERT_TRUE(session->Segment(model(), *in).ok());
    bytes.push_back(session->NumBytes());
  }
  EXPECT_EQ(bytes[1] - bytes[0], 3 * per_mask);  // result 1: 3 masks
  EXPECT_EQ(bytes[2] - bytes[1], 1 * per_mask);  // result 2: 1 mask
  EXPECT_EQ(bytes[3], bytes[0] + 4 * per_mask);  // results 2 and 3
  EXPECT_EQ(bytes[4], bytes[0] + 6 * per_mask);  // results 3 and 4
  EXPECT_EQ(bytes[5], bytes[4]);                 // results 4 and 5: bounded

  // kept_results = 0 keeps nothing.
  limits.kept_results = 0;
  session = NewSession(limits);
  ASSERT_NE(session, nullptr);
  const int64_t before = session->NumBytes();
  absl::StatusOr<SegmentOutput> out = session->Segment(model(), multi);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(session->NumBytes(), before);
  SegmentInput ref = multi;
  ref.mask_reference = MaskReference{out->result_id, 0, 0};
  EXPECT_EQ(session->Segment(model(), ref).status().code(),
            absl::StatusCode::kNotFound);
}

AutomaticMaskGeneratorOptions SmallGrid() {
  AutomaticMaskGeneratorOptions o;
  o.points_per_side = 4;
  o.pred_iou_thresh = 0;
  o.stability_score_thresh = 0;
  o.box_nms_thresh = 0.9;
  return o;
}

TEST_F(ImageSessionTest, GenerateMasksAsRleAndPng) {
  std::unique_ptr<ImageSession> session = NewSession();
  ASSERT_NE(session, nullptr);
  std::vector<std::string> stages;
  absl::StatusOr<std::vector<GeneratedMaskOutput>> rle = session->GenerateMasks(
      *model_, SmallGrid(), MaskEncoding::kRle, nullptr,
      [&](absl::string_view stage, absl::Duration) { stages.emplace_back(stage); });
  ASSERT_TRUE(rle.ok()) << rle.status();
  EXPECT_EQ(stages, (std::vector<std::string>{"decode", "decoder"}));
  ASSERT_FALSE(rle->empty());
  // The generator run directly on the same image gives the same records.
  AutomaticMaskGeneratorOptions direct_options = SmallGrid();
  direct_options.output_mode = AmgOutputMode::kCocoRle;
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> generator =
      AutomaticMaskGenerator::Create(*model_, direct_options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  absl::StatusOr<RgbImage> image = DecodeImage(*png_);
  ASSERT_TRUE(image.ok()) << image.status();
  absl::StatusOr<std::vector<MaskRecord>> records =
      (*generator)->Generate(image->pixels);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), rle->size());

  std::vector<at::Tensor> masks;
  for (size_t i = 0; i < rle->size(); ++i) {
    const GeneratedMaskOutput& g = (*rle)[i];
    EXPECT_EQ(g.mask.encoding, MaskEncoding::kRle);
    EXPECT_EQ(g.mask.height, kImageH);
    EXPECT_EQ(g.mask.width, kImageW);
    const at::Tensor m = DecodeOk(g.mask, kImageH, kImageW);
    ASSERT_TRUE(m.defined());
    EXPECT_EQ(m.sum().item<int64_t>(), g.area) << "mask " << i;
    EXPECT_GT(g.area, 0);
    EXPECT_EQ(g.mask.data, (*records)[i].coco_counts) << "mask " << i;
    EXPECT_EQ(g.area, (*records)[i].area);
    EXPECT_EQ(g.bbox, (*records)[i].bbox);
    EXPECT_EQ(g.predicted_iou, (*records)[i].predicted_iou);
    EXPECT_EQ(g.stability_score, (*records)[i].stability_score);
    EXPECT_EQ(g.point, (*records)[i].point_coords);
    EXPECT_EQ(g.crop_box,
              (std::array<int64_t, 4>{0, 0, kImageW, kImageH}));  // no crops
    masks.push_back(m);
  }

  absl::StatusOr<std::vector<GeneratedMaskOutput>> png =
      session->GenerateMasks(*model_, SmallGrid(), MaskEncoding::kPng);
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_EQ(png->size(), rle->size());
  for (size_t i = 0; i < png->size(); ++i) {
    EXPECT_EQ((*png)[i].mask.encoding, MaskEncoding::kPng);
    const at::Tensor m = DecodeOk((*png)[i].mask, kImageH, kImageW);
    ASSERT_TRUE(m.defined());
    EXPECT_TRUE(at::equal(m, masks[i])) << "mask " << i;
    EXPECT_EQ((*png)[i].area, (*rle)[i].area);
  }
}

TEST_F(ImageSessionTest, GenerateMasksRejectsLogitsBadOptionsAndStops) {
  std::unique_ptr<ImageSession> session = NewSession();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->GenerateMasks(*model_, SmallGrid(), MaskEncoding::kLogits)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  AutomaticMaskGeneratorOptions bad = SmallGrid();
  bad.points_per_side = 0;
  EXPECT_EQ(session->GenerateMasks(*model_, bad, MaskEncoding::kRle).status().code(),
            absl::StatusCode::kInvalidArgument);
  int calls = 0;
  absl::StatusOr<std::vector<GeneratedMaskOutput>> stopped =
      session->GenerateMasks(*model_, SmallGrid(), MaskEncoding::kRle,
                             [&](int64_t, int64_t) {
                               ++calls;
                               return absl::CancelledError("stop");
                             });
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
  // The session is still usable.
  SegmentInput in;
  in.points = {Point(10, 10)};
  EXPECT_TRUE(session->Segment(model(), in).ok());
}

}  // namespace
}  // namespace sam2
