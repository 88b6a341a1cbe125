// Parity of the image encoder path with the reference (golden fixtures:
// image_embed.safetensors = SAM2ImagePredictor.set_image's features), plus
// the config / weight checks of ImageEncoder::Create.

#include "model/image_encoder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "model/model_loader.h"
#include "model/safetensors.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {
namespace {

constexpr double kTolerance = 1e-4;  // fixtures/README.md: image embeddings

double MaxAbsError(const at::Tensor& got, const at::Tensor& want) {
  return (got.to(at::kDouble) - want.to(at::kDouble))
      .abs()
      .max()
      .item<double>();
}

class ImageEncoderParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ImageEncoderParityTest, MatchesTheReferenceSetImageFeatures) {
  const std::string dir = GetParam();
  absl::StatusOr<LoadedModel> model = LoadModel(dir + "/model.pt", "");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<StateDict> expected =
      ReadSafetensors(dir + "/image_embed.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  const at::Tensor* input = expected->Find("input");
  const at::Tensor* image_embed = expected->Find("image_embed");
  const at::Tensor* s0 = expected->Find("high_res_feat_s0");
  const at::Tensor* s1 = expected->Find("high_res_feat_s1");
  ASSERT_TRUE(input && image_embed && s0 && s1);

  absl::StatusOr<ImageEncoder> encoder =
      ImageEncoder::Create(model->config, model->weights);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  absl::StatusOr<ImageEmbedding> emb = encoder->Embed(*input);
  ASSERT_TRUE(emb.ok()) << emb.status();

  const Sam2Config& c = model->config;
  const int64_t hidden = c.HiddenDim();
  const std::vector<std::array<int, 2>> sizes = c.BackboneFeatureSizes();
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(emb->image_embed.sizes(),
            at::IntArrayRef({1, hidden, sizes[2][0], sizes[2][1]}));
  ASSERT_EQ(emb->high_res_feats.size(), 2u);
  EXPECT_EQ(emb->high_res_feats[0].sizes(),
            at::IntArrayRef({1, hidden / 8, sizes[0][0], sizes[0][1]}));
  EXPECT_EQ(emb->high_res_feats[1].sizes(),
            at::IntArrayRef({1, hidden / 4, sizes[1][0], sizes[1][1]}));
  ASSERT_EQ(emb->image_embed.sizes(), image_embed->sizes());
  ASSERT_EQ(emb->high_res_feats[0].sizes(), s0->sizes());
  ASSERT_EQ(emb->high_res_feats[1].sizes(), s1->sizes());

  const double e_embed = MaxAbsError(emb->image_embed, *image_embed);
  const double e_s0 = MaxAbsError(emb->high_res_feats[0], *s0);
  const double e_s1 = MaxAbsError(emb->high_res_feats[1], *s1);
  std::printf("%s: max abs error image_embed %.3g, high_res_feat_s0 %.3g, "
              "high_res_feat_s1 %.3g (max |expected| %.3g)\n",
              dir.c_str(), e_embed, e_s0, e_s1,
              image_embed->abs().max().item<double>());
  EXPECT_LE(e_embed, kTolerance);
  EXPECT_LE(e_s0, kTolerance);
  EXPECT_LE(e_s1, kTolerance);

  // The raw backbone output keeps no_mem_embed out and has one position
  // encoding per level.
  const BackboneOutput& bb = emb->backbone;
  ASSERT_EQ(bb.backbone_fpn.size(), 3u);
  ASSERT_EQ(bb.vision_pos_enc.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(bb.vision_pos_enc[i].size(1), hidden);
    EXPECT_EQ(bb.vision_pos_enc[i].size(2), sizes[i][0]);
    EXPECT_EQ(bb.vision_pos_enc[i].size(3), sizes[i][1]);
  }
  EXPECT_TRUE(at::equal(bb.vision_features, bb.backbone_fpn[2]));
  if (c.directly_add_no_mem_embed) {
    const at::Tensor* no_mem = model->weights.Find("no_mem_embed");
    ASSERT_NE(no_mem, nullptr);
    EXPECT_TRUE(at::allclose(bb.backbone_fpn[2] + no_mem->view({1, -1, 1, 1}),
                             emb->image_embed));
  }

  // ForwardImage == Embed's backbone; Forward keeps the neck's levels 0/1.
  absl::StatusOr<BackboneOutput> fwd = encoder->Forward(*input);
  ASSERT_TRUE(fwd.ok()) << fwd.status();
  EXPECT_EQ(fwd->backbone_fpn[0].size(1), hidden);
  EXPECT_TRUE(at::equal(fwd->backbone_fpn[2], bb.backbone_fpn[2]));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ImageEncoderParityTest,
                         ::testing::Values("tests/fixtures/sam2.1-micro",
                                           "tests/fixtures/sam2-micro"));

TEST(ImageEncoderTest, RejectsAWrongImageSize) {
  absl::StatusOr<LoadedModel> model =
      LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<ImageEncoder> encoder =
      ImageEncoder::Create(model->config, model->weights);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const int s = model->config.image_size;
  EXPECT_EQ(encoder->Embed(at::zeros({1, 3, s / 2, s})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder->Embed(at::zeros({1, 4, s, s})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder->Embed(at::Tensor()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ImageEncoderTest, NamesAMissingWeight) {
  absl::StatusOr<LoadedModel> model =
      LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
  ASSERT_TRUE(model.ok()) << model.status();
  for (const char* dropped :
       {"image_encoder.trunk.blocks.1.proj.weight",
        "image_encoder.neck.convs.2.conv.bias",
        "sam_mask_decoder.conv_s1.weight", "no_mem_embed"}) {
    StateDict partial;
    for (const NamedTensor& t : model->weights) {
      if (t.name != dropped) {
        ASSERT_TRUE(partial.Add(t.name, t.tensor).ok());
      }
    }
    absl::StatusOr<ImageEncoder> encoder =
        ImageEncoder::Create(model->config, partial);
    ASSERT_FALSE(encoder.ok()) << dropped;
    EXPECT_EQ(encoder.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(encoder.status().message().find(dropped), absl::string_view::npos)
        << encoder.status();
  }
}

TEST(ImageEncoderTest, RejectsMismatchedTrunkAndNeck) {
  absl::StatusOr<LoadedModel> model =
      LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
  ASSERT_TRUE(model.ok()) << model.status();
  Sam2Config config = model->config;
  config.image_encoder.neck.backbone_channel_list[0] += 1;
  absl::StatusOr<ImageEncoder> encoder =
      ImageEncoder::Create(config, model->weights);
  ASSERT_FALSE(encoder.ok());
  EXPECT_EQ(encoder.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
