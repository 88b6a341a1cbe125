// Tests of the image predictor's preprocessing: parity with the reference's
// model input on the golden fixture, step order, the batched variant and
// input validation.

#include "model/image_transforms.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "model/image_io.h"
#include "model/safetensors.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {
namespace {

constexpr char kFixtureDir[] = "tests/fixtures/sam2.1-micro";
// Float32 round-off is ~1e-6 on values of magnitude ~2.6; the budget leaves
// room for another summation order, nothing more.
constexpr double kParityTolerance = 1e-4;

double MaxAbsError(const at::Tensor& got, const at::Tensor& want) {
  return (got.to(at::kDouble) - want.to(at::kDouble))
      .abs()
      .max()
      .item<double>();
}

at::Tensor RandomImage(int64_t h, int64_t w, int64_t seed) {
  at::manual_seed(seed);
  return at::randint(0, 256, {h, w, 3}, at::kByte);
}

TEST(ImageTransformsTest, MatchesTheReferenceInputOnTheFixture) {
  const std::string dir = kFixtureDir;
  absl::StatusOr<Sam2Config> config = LoadConfigYaml(dir + "/model.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<RgbImage> image = DecodeImageFile(dir + "/image.png");
  ASSERT_TRUE(image.ok()) << image.status();
  absl::StatusOr<StateDict> expected =
      ReadSafetensors(dir + "/image_embed.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  const at::Tensor* want = expected->Find("input");
  ASSERT_NE(want, nullptr);

  absl::StatusOr<at::Tensor> got = PreprocessImage(image->pixels, *config);
  ASSERT_TRUE(got.ok()) << got.status();
  const int64_t s = config->image_size;
  EXPECT_EQ(got->sizes(), at::IntArrayRef({1, 3, s, s}));
  EXPECT_EQ(got->scalar_type(), at::kFloat);
  ASSERT_EQ(got->sizes(), want->sizes());
  const double err = MaxAbsError(*got, *want);
  std::printf("preprocessing max abs error vs the reference input: %.3g\n",
              err);
  RecordProperty("max_abs_error", std::to_string(err));
  EXPECT_LE(err, kParityTolerance);

  // The order matters: resizing the uint8 image (or normalizing before the
  // resize in a different way) would not give the reference's input. Resize
  // without antialiasing is measurably different on this 600x400 -> SxS
  // downscale, which shows the test can tell the variants apart.
  const at::Tensor x = image->pixels.permute({2, 0, 1}).unsqueeze(0).to(
                           at::kFloat) /
                       kPixelValueScale;
  const at::Tensor no_aa = at::upsample_bilinear2d(x, {s, s}, false,
                                                   std::nullopt, std::nullopt);
  const at::Tensor mean =
      at::tensor({0.485, 0.456, 0.406}).to(at::kFloat).view({1, 3, 1, 1});
  const at::Tensor std =
      at::tensor({0.229, 0.224, 0.225}).to(at::kFloat).view({1, 3, 1, 1});
  EXPECT_GT(MaxAbsError((no_aa - mean) / std, *want), 100 * kParityTolerance);
}

TEST(ImageTransformsTest, NormalizesPerChannelInRgbOrder) {
  // A constant image keeps its value through any resize.
  at::Tensor rgb = at::empty({10, 14, 3}, at::kByte);
  rgb.select(2, 0).fill_(255);
  rgb.select(2, 1).fill_(0);
  rgb.select(2, 2).fill_(128);
  absl::StatusOr<at::Tensor> out = PreprocessImage(rgb, 32);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->sizes(), at::IntArrayRef({1, 3, 32, 32}));
  const double want[3] = {(1.0 - 0.485) / 0.229, (0.0 - 0.456) / 0.224,
                          (128.0 / 255.0 - 0.406) / 0.225};
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR((*out)[0][c].min().item<double>(), want[c], 1e-5) << c;
    EXPECT_NEAR((*out)[0][c].max().item<double>(), want[c], 1e-5) << c;
  }
}

TEST(ImageTransformsTest, ImageOfTheModelSizeIsNotResampled) {
  const at::Tensor rgb = RandomImage(24, 24, 1);
  absl::StatusOr<at::Tensor> out = PreprocessImage(rgb, 24);
  ASSERT_TRUE(out.ok()) << out.status();
  const at::Tensor mean =
      at::tensor({0.485, 0.456, 0.406}).to(at::kFloat).view({1, 3, 1, 1});
  const at::Tensor std =
      at::tensor({0.229, 0.224, 0.225}).to(at::kFloat).view({1, 3, 1, 1});
  const at::Tensor want =
      (rgb.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 255.0 - mean) /
      std;
  EXPECT_TRUE(at::equal(*out, want));
}

TEST(ImageTransformsTest, AcceptsNonContiguousInput) {
  const at::Tensor rgb = RandomImage(40, 30, 2);
  const at::Tensor flipped = rgb.flip({1});  // a copy
  const at::Tensor strided = rgb.transpose(0, 1);  // [30, 40, 3] view
  absl::StatusOr<at::Tensor> a = PreprocessImage(strided, 16);
  absl::StatusOr<at::Tensor> b = PreprocessImage(strided.contiguous(), 16);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(at::equal(*a, *b));
  EXPECT_TRUE(PreprocessImage(flipped, 16).ok());
}

TEST(ImageTransformsTest, BatchStacksSingleImageResults) {
  const std::vector<at::Tensor> images = {RandomImage(40, 30, 3),
                                          RandomImage(17, 61, 4),
                                          RandomImage(16, 16, 5)};
  Sam2Config config;
  config.image_size = 16;
  absl::StatusOr<at::Tensor> batch = PreprocessImageBatch(images, config);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->sizes(), at::IntArrayRef({3, 3, 16, 16}));
  for (size_t i = 0; i < images.size(); ++i) {
    absl::StatusOr<at::Tensor> one = PreprocessImage(images[i], config);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_TRUE(at::equal((*batch)[i], (*one)[0])) << i;
  }
}

TEST(ImageTransformsTest, RejectsBadInputs) {
  const at::Tensor good = RandomImage(10, 10, 6);
  auto invalid = [](const absl::StatusOr<at::Tensor>& r) {
    return !r.ok() && r.status().code() == absl::StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(invalid(PreprocessImage(at::Tensor(), 16)));
  EXPECT_TRUE(invalid(PreprocessImage(good, 0)));
  EXPECT_TRUE(invalid(PreprocessImage(good, -5)));
  EXPECT_TRUE(invalid(PreprocessImage(good.to(at::kFloat), 16)));
  EXPECT_TRUE(invalid(PreprocessImage(at::zeros({10, 10, 4}, at::kByte), 16)));
  EXPECT_TRUE(invalid(PreprocessImage(at::zeros({10, 10}, at::kByte), 16)));
  EXPECT_TRUE(invalid(PreprocessImage(at::zeros({0, 10, 3}, at::kByte), 16)));
  EXPECT_TRUE(invalid(PreprocessImage(good.unsqueeze(0), 16)));
  EXPECT_TRUE(invalid(PreprocessImageBatch({}, 16)));
  EXPECT_TRUE(invalid(PreprocessImageBatch({good, good.to(at::kFloat)}, 16)));
  EXPECT_TRUE(invalid(PreprocessImageBatch({good}, 0)));
}

}  // namespace
}  // namespace sam2
