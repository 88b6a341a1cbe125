// Tests for MaskDecoder, and the golden parity test of the image predictor's
// prompt path: prompt preparation + PromptEncoder + MaskDecoder +
// post-processing against the reference's outputs in each fixture directory
// (tests/fixtures/*/cases.json, `predict*` cases).
//
// Fixture directories: SAM2_FIXTURE_DIRS (colon-separated, relative to the
// workspace root or absolute) when set, else the two micro fixtures. Nothing
// about a fixture's sizes is hard-coded: the original image size is taken
// from the expected mask_logits' last two dimensions.

#include "model/mask_decoder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "model/model_loader.h"
#include "model/prompt_encoder.h"
#include "model/mask_postprocess.h"
#include "model/prompt_transforms.h"
#include "model/safetensors.h"

namespace sam2 {
namespace {

constexpr double kLowResTol = 1e-3;
constexpr double kIouTol = 1e-4;
constexpr double kMaskTol = 1e-3;

std::vector<std::string> FixtureDirs() {
  const char* env = std::getenv("SAM2_FIXTURE_DIRS");
  if (env != nullptr && *env != '\0') {
    return absl::StrSplit(env, ':', absl::SkipEmpty());
  }
  return {"tests/fixtures/sam2.1-micro", "tests/fixtures/sam2-micro"};
}

at::Tensor JsonToTensor(const nlohmann::json& j, at::ScalarType dtype) {
  // Nested arrays of numbers -> a tensor of their shape.
  std::vector<int64_t> shape;
  const nlohmann::json* cur = &j;
  while (cur->is_array()) {
    shape.push_back(static_cast<int64_t>(cur->size()));
    if (cur->empty()) break;
    cur = &(*cur)[0];
  }
  std::vector<double> flat;
  // Depth-first, in order.
  std::function<void(const nlohmann::json&)> walk =
      [&](const nlohmann::json& v) {
        if (v.is_array()) {
          for (const auto& e : v) walk(e);
        } else {
          flat.push_back(v.get<double>());
        }
      };
  walk(j);
  return at::tensor(flat, at::TensorOptions().dtype(at::kDouble))
      .reshape(shape)
      .to(dtype);
}

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

class SamHeadsParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SamHeadsParityTest, PredictCasesMatchTheReference) {
  const std::string dir = GetParam();
  absl::StatusOr<LoadedModel> model = LoadModel(dir + "/model.pt", "");
  ASSERT_TRUE(model.ok()) << model.status();
  const Sam2Config& config = model->config;
  absl::StatusOr<PromptEncoder> encoder =
      PromptEncoder::Create(config, model->weights);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  absl::StatusOr<MaskDecoder> decoder =
      MaskDecoder::Create(config, model->weights);
  ASSERT_TRUE(decoder.ok()) << decoder.status();

  // The same decoder without the stability fallback, to report which
  // single-mask cases took it.
  Sam2Config plain_config = config;
  plain_config.sam_mask_decoder_extra_args.dynamic_multimask_via_stability =
      false;
  absl::StatusOr<MaskDecoder> plain_decoder =
      MaskDecoder::Create(plain_config, model->weights);
  ASSERT_TRUE(plain_decoder.ok()) << plain_decoder.status();

  absl::StatusOr<StateDict> embed =
      ReadSafetensors(dir + "/image_embed.safetensors");
  ASSERT_TRUE(embed.ok()) << embed.status();
  const at::Tensor* image_embed = embed->Find("image_embed");
  ASSERT_NE(image_embed, nullptr);
  std::vector<at::Tensor> high_res;
  if (config.use_high_res_features_in_sam) {
    const at::Tensor* s0 = embed->Find("high_res_feat_s0");
    const at::Tensor* s1 = embed->Find("high_res_feat_s1");
    ASSERT_NE(s0, nullptr);
    ASSERT_NE(s1, nullptr);
    high_res = {*s0, *s1};
  }

  std::ifstream in(dir + "/cases.json");
  ASSERT_TRUE(in.good()) << dir << "/cases.json";
  const nlohmann::json cases = nlohmann::json::parse(in);
  int num_predict = 0;
  for (const nlohmann::json& c : cases.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    if (c.at("kind").get<std::string>() != "predict") continue;
    ++num_predict;
    SCOPED_TRACE(dir + " " + name);
    absl::StatusOr<StateDict> expected =
        ReadSafetensors(dir + "/" + c.at("expected").get<std::string>());
    ASSERT_TRUE(expected.ok()) << expected.status();
    const at::Tensor* exp_masks = expected->Find("mask_logits");
    const at::Tensor* exp_iou = expected->Find("iou");
    const at::Tensor* exp_low = expected->Find("low_res_logits");
    ASSERT_NE(exp_masks, nullptr);
    ASSERT_NE(exp_iou, nullptr);
    ASSERT_NE(exp_low, nullptr);
    const int64_t orig_h = exp_masks->size(-2);
    const int64_t orig_w = exp_masks->size(-1);

    const nlohmann::json& inputs = c.at("inputs");
    ImagePromptInput prompt;
    if (inputs.contains("point_coords")) {
      prompt.point_coords = JsonToTensor(inputs["point_coords"], at::kFloat);
      prompt.point_labels = JsonToTensor(inputs["point_labels"], at::kInt);
    }
    if (inputs.contains("box")) {
      prompt.box = JsonToTensor(inputs["box"], at::kFloat);
    }
    if (inputs.contains("mask_input")) {
      const at::Tensor* m =
          expected->Find(inputs["mask_input"].get<std::string>());
      ASSERT_NE(m, nullptr);
      prompt.mask_input = *m;
    }
    const bool multimask = inputs.value("multimask_output", true);

    absl::StatusOr<PreparedPrompts> prepared =
        PreparePrompts(prompt, orig_h, orig_w, config.image_size);
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    absl::StatusOr<PromptEmbeddings> emb = encoder->Forward(
        prepared->point_coords, prepared->point_labels, prepared->mask_input);
    ASSERT_TRUE(emb.ok()) << emb.status();
    absl::StatusOr<MaskDecoderOutput> out = decoder->Forward(
        *image_embed, encoder->GetDensePe(), emb->sparse, emb->dense,
        multimask, prepared->repeat_image, high_res);
    ASSERT_TRUE(out.ok()) << out.status();
    absl::StatusOr<at::Tensor> masks =
        PostprocessMasks(out->masks, orig_h, orig_w, /*max_hole_area=*/0,
                         /*max_sprinkle_area=*/0);
    ASSERT_TRUE(masks.ok()) << masks.status();
    absl::StatusOr<at::Tensor> low = ClampLowResLogits(out->masks);
    ASSERT_TRUE(low.ok()) << low.status();

    // predict() squeezes a batch of one.
    ASSERT_EQ(masks->numel(), exp_masks->numel());
    ASSERT_EQ(out->iou_pred.numel(), exp_iou->numel());
    ASSERT_EQ(low->numel(), exp_low->numel());
    const double e_masks =
        MaxAbsDiff(masks->reshape(exp_masks->sizes()), *exp_masks);
    const double e_iou =
        MaxAbsDiff(out->iou_pred.reshape(exp_iou->sizes()), *exp_iou);
    const double e_low = MaxAbsDiff(low->reshape(exp_low->sizes()), *exp_low);
    const char* path = "multimask";
    if (!multimask) {
      absl::StatusOr<MaskDecoderOutput> token0 = plain_decoder->Forward(
          *image_embed, encoder->GetDensePe(), emb->sparse, emb->dense, false,
          prepared->repeat_image, high_res);
      ASSERT_TRUE(token0.ok()) << token0.status();
      path = at::equal(token0->masks, out->masks) ? "single: token 0"
                                                  : "single: stability fallback";
    }
    std::printf("%-28s %-26s low_res %.3g  iou %.3g  masks %.3g  (%s)\n",
                dir.c_str(), name.c_str(), e_low, e_iou, e_masks, path);
    EXPECT_LE(e_low, kLowResTol);
    EXPECT_LE(e_iou, kIouTol);
    EXPECT_LE(e_masks, kMaskTol);
  }
  EXPECT_GT(num_predict, 0) << "no predict cases in " << dir;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SamHeadsParityTest,
                         ::testing::ValuesIn(FixtureDirs()));

// ---------------------------------------------------------------------------
// Unit tests on the micro model with hand-made inputs.

class MaskDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedModel> model =
        LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
    absl::StatusOr<MaskDecoder> decoder =
        MaskDecoder::Create(model_.config, model_.weights);
    ASSERT_TRUE(decoder.ok()) << decoder.status();
    decoder_.emplace(*std::move(decoder));
    absl::StatusOr<PromptEncoder> encoder =
        PromptEncoder::Create(model_.config, model_.weights);
    ASSERT_TRUE(encoder.ok()) << encoder.status();
    encoder_.emplace(*std::move(encoder));
    c_ = model_.config.HiddenDim();
    e_ = model_.config.ImageEmbeddingSize();
  }

  std::vector<at::Tensor> HighRes(int64_t b) const {
    return {at::randn({b, c_ / 8, 4 * e_, 4 * e_}),
            at::randn({b, c_ / 4, 2 * e_, 2 * e_})};
  }

  LoadedModel model_;
  std::optional<MaskDecoder> decoder_;
  std::optional<PromptEncoder> encoder_;
  int64_t c_ = 0, e_ = 0;
};

TEST_F(MaskDecoderTest, OutputShapes) {
  at::manual_seed(0);
  const at::Tensor image = at::randn({1, c_, e_, e_});
  const at::Tensor sparse = at::randn({1, 3, c_});
  const at::Tensor dense = at::randn({1, c_, e_, e_});
  for (bool multimask : {true, false}) {
    absl::StatusOr<MaskDecoderOutput> out =
        decoder_->Forward(image, encoder_->GetDensePe(), sparse, dense,
                          multimask, false, HighRes(1));
    ASSERT_TRUE(out.ok()) << out.status();
    const int64_t m = multimask ? kNumMultimaskOutputs : 1;
    EXPECT_EQ(out->masks.sizes(), at::IntArrayRef({1, m, 4 * e_, 4 * e_}));
    EXPECT_EQ(out->iou_pred.sizes(), at::IntArrayRef({1, m}));
    EXPECT_EQ(out->sam_tokens_out.sizes(), at::IntArrayRef({1, m, c_}));
    EXPECT_EQ(out->object_score_logits.sizes(), at::IntArrayRef({1, 1}));
    // iou_prediction_use_sigmoid: scores in [0, 1].
    EXPECT_GE(out->iou_pred.min().item<float>(), 0.f);
    EXPECT_LE(out->iou_pred.max().item<float>(), 1.f);
  }
}

TEST_F(MaskDecoderTest, RepeatImageRunsEachPromptAgainstTheOneImage) {
  at::manual_seed(1);
  const at::Tensor image = at::randn({1, c_, e_, e_});
  const at::Tensor sparse = at::randn({2, 3, c_});
  const at::Tensor dense = at::randn({2, c_, e_, e_});
  const std::vector<at::Tensor> hr = HighRes(1);
  absl::StatusOr<MaskDecoderOutput> both = decoder_->Forward(
      image, encoder_->GetDensePe(), sparse, dense, true, true, hr);
  ASSERT_TRUE(both.ok()) << both.status();
  for (int64_t i = 0; i < 2; ++i) {
    absl::StatusOr<MaskDecoderOutput> one = decoder_->Forward(
        image, encoder_->GetDensePe(), sparse.slice(0, i, i + 1),
        dense.slice(0, i, i + 1), true, false, hr);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_TRUE(at::allclose(one->masks, both->masks.slice(0, i, i + 1),
                             1e-4, 1e-4));
  }
}

TEST_F(MaskDecoderTest, ProjectedImageSideGivesTheSameMasks) {
  at::manual_seed(2);
  const at::Tensor image = at::randn({1, c_, e_, e_});
  const at::Tensor dense = at::randn({1, c_, e_, e_});
  const at::Tensor pe = encoder_->GetDensePe();
  const std::vector<at::Tensor> hr = HighRes(1);
  absl::StatusOr<TwoWayImageProjections> projected =
      decoder_->ProjectImage(image, pe, dense);
  ASSERT_TRUE(projected.ok()) << projected.status();
  // One prompt set, and two sharing the image (the dense prompt broadcast).
  for (int64_t b : {1, 2}) {
    const at::Tensor sparse = at::randn({b, 3, c_});
    const at::Tensor d = dense.expand({b, -1, -1, -1});
    absl::StatusOr<MaskDecoderOutput> fresh =
        decoder_->Forward(image, pe, sparse, d, true, b > 1, hr);
    absl::StatusOr<MaskDecoderOutput> reused =
        decoder_->Forward(image, pe, sparse, d, true, b > 1, hr, &*projected);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    ASSERT_TRUE(reused.ok()) << reused.status();
    EXPECT_TRUE(at::equal(fresh->masks, reused->masks)) << b;
    EXPECT_TRUE(at::equal(fresh->iou_pred, reused->iou_pred)) << b;
  }
  EXPECT_EQ(decoder_->ProjectImage(at::randn({2, c_, e_, e_}), pe,
                                   at::randn({2, c_, e_, e_}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder_->ProjectImage(image, pe, at::randn({1, c_, e_, e_ + 1}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MaskDecoderTest, RejectsBadShapes) {
  const at::Tensor image = at::randn({1, c_, e_, e_});
  const at::Tensor sparse = at::randn({1, 3, c_});
  const at::Tensor dense = at::randn({1, c_, e_, e_});
  const at::Tensor pe = encoder_->GetDensePe();
  EXPECT_EQ(decoder_->Forward(image, pe, sparse, dense, true, false, {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);  // high-res features missing
  EXPECT_EQ(decoder_
                ->Forward(at::randn({1, c_ + 1, e_, e_}), pe, sparse, dense,
                          true, false, HighRes(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder_
                ->Forward(image, pe, at::randn({2, 3, c_}), dense, true, false,
                          HighRes(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MaskDecoderTest, CreateNamesAMissingTensor) {
  StateDict partial;
  for (const NamedTensor& t : model_.weights) {
    if (t.name == "sam_mask_decoder.iou_prediction_head.layers.2.bias") continue;
    ASSERT_TRUE(partial.Add(t.name, t.tensor).ok());
  }
  absl::StatusOr<MaskDecoder> d = MaskDecoder::Create(model_.config, partial);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("iou_prediction_head.layers.2.bias"),
            absl::string_view::npos)
      << d.status();
}

TEST_F(MaskDecoderTest, StabilityFallbackOffGivesTokenZero) {
  Sam2Config config = model_.config;
  config.sam_mask_decoder_extra_args.dynamic_multimask_via_stability = false;
  absl::StatusOr<MaskDecoder> plain = MaskDecoder::Create(config, model_.weights);
  ASSERT_TRUE(plain.ok()) << plain.status();
  at::manual_seed(2);
  const at::Tensor image = at::randn({1, c_, e_, e_});
  const at::Tensor sparse = at::randn({1, 2, c_});
  const at::Tensor dense = at::randn({1, c_, e_, e_});
  const std::vector<at::Tensor> hr = HighRes(1);
  const at::Tensor pe = encoder_->GetDensePe();
  absl::StatusOr<MaskDecoderOutput> single =
      plain->Forward(image, pe, sparse, dense, false, false, hr);
  absl::StatusOr<MaskDecoderOutput> multi =
      plain->Forward(image, pe, sparse, dense, true, false, hr);
  ASSERT_TRUE(single.ok() && multi.ok());
  // Token 0's mask differs from each multimask output.
  for (int64_t i = 0; i < kNumMultimaskOutputs; ++i) {
    EXPECT_FALSE(at::allclose(single->masks, multi->masks.slice(1, i, i + 1)));
  }
}

TEST_F(MaskDecoderTest, WithoutHighResFeaturesOrObjectScores) {
  Sam2Config config = model_.config;
  config.use_high_res_features_in_sam = false;
  config.pred_obj_scores = false;
  config.pred_obj_scores_mlp = false;
  absl::StatusOr<MaskDecoder> d = MaskDecoder::Create(config, model_.weights);
  ASSERT_TRUE(d.ok()) << d.status();
  const at::Tensor image = at::randn({1, c_, e_, e_});
  absl::StatusOr<MaskDecoderOutput> out =
      d->Forward(image, encoder_->GetDensePe(), at::randn({1, 2, c_}),
                 at::randn({1, c_, e_, e_}), true, false, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->masks.sizes(), at::IntArrayRef({1, 3, 4 * e_, 4 * e_}));
  EXPECT_TRUE(at::equal(out->object_score_logits, at::full({1, 1}, 10.f)));
  // High-res features given to a model that does not use them.
  EXPECT_EQ(d->Forward(image, encoder_->GetDensePe(), at::randn({1, 2, c_}),
                       at::randn({1, c_, e_, e_}), true, false, HighRes(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MaskDecoderTest, LinearObjectScoreHead) {
  Sam2Config config = model_.config;
  config.pred_obj_scores_mlp = false;
  absl::StatusOr<MaskDecoder> missing =
      MaskDecoder::Create(config, model_.weights);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("pred_obj_score_head.weight"),
            absl::string_view::npos)
      << missing.status();

  StateDict weights;
  for (const NamedTensor& t : model_.weights) {
    if (t.name.find("pred_obj_score_head.") != std::string::npos) continue;
    ASSERT_TRUE(weights.Add(t.name, t.tensor).ok());
  }
  // weight 0, bias -3: every object score is -3.
  ASSERT_TRUE(weights
                  .Add("sam_mask_decoder.pred_obj_score_head.weight",
                       at::zeros({1, c_}))
                  .ok());
  ASSERT_TRUE(weights
                  .Add("sam_mask_decoder.pred_obj_score_head.bias",
                       at::full({1}, -3.f))
                  .ok());
  absl::StatusOr<MaskDecoder> d = MaskDecoder::Create(config, weights);
  ASSERT_TRUE(d.ok()) << d.status();
  absl::StatusOr<MaskDecoderOutput> out = d->Forward(
      at::randn({1, c_, e_, e_}), encoder_->GetDensePe(), at::randn({2, 2, c_}),
      at::randn({2, c_, e_, e_}), false, true, HighRes(1));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(at::equal(out->object_score_logits, at::full({2, 1}, -3.f)));
  EXPECT_EQ(out->sam_tokens_out.sizes(), at::IntArrayRef({2, 1, c_}));
}

}  // namespace
}  // namespace sam2
