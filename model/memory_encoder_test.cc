#include "model/memory_encoder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/model_loader.h"
#include "model/safetensors.h"
#include "model/module_weights.h"
#include "model/position_encoding.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"
#include "model/state_dict_spec.h"

namespace sam2 {
namespace {

constexpr char kMicroCheckpoint[] = "tests/fixtures/sam2.1-micro/model.pt";

// Deterministic pseudo-random values in [-1, 1) that the reference-side
// generator computes bit for bit the same way (integer hash, then an exact
// int -> float conversion and power-of-two scaling).
at::Tensor Pseudo(std::vector<int64_t> shape, int64_t seed) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  const at::Tensor i = at::arange(n, at::kLong) + seed * 1000003;
  at::Tensor x = at::remainder(i * 1103515245 + 12345, 2147483648LL);
  x = at::remainder(x * 1103515245 + 12345, 2147483648LL);
  return (x.to(at::kFloat) / 2147483648.0 * 2 - 1).reshape(shape);
}

// Outputs of the reference (facebookresearch/sam2's MemoryEncoder and
// MemoryAttention built from the micro fixture's model.yaml with its
// model.pt) on the Pseudo() inputs below.
constexpr char kReferenceOutputs[] =
    "model/testdata/memory_modules_micro.safetensors";

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Exact GELU written out.
at::Tensor Gelu(const at::Tensor& x) {
  return 0.5 * x * (1 + at::erf(x / std::sqrt(2.0)));
}

// LayerNorm over the channels of [B, C, H, W], computed per pixel in double.
at::Tensor ChannelNorm(const at::Tensor& x, const at::Tensor& w,
                       const at::Tensor& b, double eps) {
  const at::Tensor xd = x.to(at::kDouble);
  const at::Tensor mean = xd.mean({1}, true);
  const at::Tensor var = (xd - mean).pow(2).mean({1}, true);
  const at::Tensor n = (xd - mean) / at::sqrt(var + eps);
  return (n * w.to(at::kDouble).view({1, -1, 1, 1}) +
          b.to(at::kDouble).view({1, -1, 1, 1}))
      .to(at::kFloat);
}

// Depthwise k x k convolution (stride 1, zero padding p) as a sum of shifted
// copies of the input.
at::Tensor DepthwiseConv(const at::Tensor& x, const at::Tensor& w,
                         const at::Tensor& b, int64_t p) {
  const int64_t k = w.size(2), h = x.size(2), wd = x.size(3);
  const at::Tensor padded = at::constant_pad_nd(x, {p, p, p, p}, 0);
  at::Tensor out = b.view({1, -1, 1, 1}).expand_as(x).clone();
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      out = out + padded.slice(2, i, i + h).slice(3, j, j + wd) *
                      w.select(2, i).select(2, j).view({1, -1, 1, 1});
    }
  }
  return out;
}

// A 1x1 convolution as a matrix product over channels.
at::Tensor Conv1x1(const at::Tensor& x, const at::Tensor& w,
                   const at::Tensor& b) {
  return at::einsum("oc,bchw->bohw", {w.flatten(1), x}) +
         b.view({1, -1, 1, 1});
}

void AddRandom(StateDict& s, const std::string& name,
               std::vector<int64_t> shape, double scale = 0.3) {
  ASSERT_TRUE(s.Add(name, scale * at::randn(shape)).ok()) << name;
}

// Random weights for every tensor of `config` under `prefix`.
StateDict RandomWeights(const Sam2Config& config, const std::string& prefix) {
  StateDict s;
  for (const TensorSpec& spec : ExpectedTensors(config)) {
    if (!absl::StartsWith(spec.name, prefix)) continue;
    EXPECT_TRUE(s.Add(spec.name, 0.1 * at::randn(spec.shape)).ok());
  }
  return s;
}

TEST(CXBlockTest, MatchesTheDirectFormula) {
  at::manual_seed(1);
  constexpr int64_t kDim = 6;
  CXBlockConfig c;
  c.dim = kDim;
  c.kernel_size = 5;
  c.padding = 2;
  StateDict s;
  AddRandom(s, "blk.dwconv.weight", {kDim, 1, 5, 5});
  AddRandom(s, "blk.dwconv.bias", {kDim});
  AddRandom(s, "blk.norm.weight", {kDim});
  AddRandom(s, "blk.norm.bias", {kDim});
  AddRandom(s, "blk.pwconv1.weight", {4 * kDim, kDim});
  AddRandom(s, "blk.pwconv1.bias", {4 * kDim});
  AddRandom(s, "blk.pwconv2.weight", {kDim, 4 * kDim});
  AddRandom(s, "blk.pwconv2.bias", {kDim});
  AddRandom(s, "blk.gamma", {kDim});
  ModuleWeights w(s, "blk.");
  const CXBlock block = CXBlock::Load(w, c);
  ASSERT_TRUE(w.status().ok()) << w.status();

  const at::Tensor x = at::randn({2, kDim, 7, 5});
  const at::Tensor got = block(x);

  auto t = [&](const std::string& n) { return *s.Find("blk." + n); };
  at::Tensor y = DepthwiseConv(x, t("dwconv.weight"), t("dwconv.bias"), 2);
  y = ChannelNorm(y, t("norm.weight"), t("norm.bias"), 1e-6);
  // Pointwise MLP on every pixel: channels-last matrix products.
  at::Tensor hwc = y.permute({0, 2, 3, 1});
  hwc = at::matmul(hwc, t("pwconv1.weight").t()) + t("pwconv1.bias");
  hwc = at::matmul(Gelu(hwc), t("pwconv2.weight").t()) + t("pwconv2.bias");
  hwc = hwc * t("gamma");
  const at::Tensor want = x + hwc.permute({0, 3, 1, 2});
  EXPECT_LT(MaxAbsDiff(got, want), 1e-5);

  // Dense (non-depthwise) conv and no layer scale.
  c.use_dwconv = false;
  c.layer_scale_init_value = 0;
  StateDict dense;
  AddRandom(dense, "blk.dwconv.weight", {kDim, kDim, 5, 5});
  for (const char* n : {"dwconv.bias", "norm.weight", "norm.bias",
                        "pwconv1.weight", "pwconv1.bias", "pwconv2.weight",
                        "pwconv2.bias"}) {
    ASSERT_TRUE(dense.Add(absl::StrCat("blk.", n), t(n)).ok());
  }
  ModuleWeights dw(dense, "blk.");
  const CXBlock dense_block = CXBlock::Load(dw, c);
  ASSERT_TRUE(dw.status().ok()) << dw.status();
  const at::Tensor got_dense = dense_block(x);
  at::Tensor yd = at::conv2d(x, *dense.Find("blk.dwconv.weight"),
                             t("dwconv.bias"), 1, 2);
  yd = ChannelNorm(yd, t("norm.weight"), t("norm.bias"), 1e-6);
  at::Tensor hd = yd.permute({0, 2, 3, 1});
  hd = at::matmul(hd, t("pwconv1.weight").t()) + t("pwconv1.bias");
  hd = at::matmul(Gelu(hd), t("pwconv2.weight").t()) + t("pwconv2.bias");
  EXPECT_LT(MaxAbsDiff(got_dense, x + hd.permute({0, 3, 1, 2})), 1e-5);
}

// A small encoder: in_dim 8, out_dim 4, mask downsampler stride 2 total 4
// (1 -> 4 -> 16 channels, then 1x1 to 8), a fuser with an input projection
// and one CXBlock (k3, p1).
Sam2Config SmallConfig() {
  Sam2Config c;
  MemoryEncoderConfig& m = c.memory_encoder;
  m.in_dim = 8;
  m.out_dim = 4;
  m.mask_downsampler.embed_dim = 8;
  m.mask_downsampler.kernel_size = 3;
  m.mask_downsampler.stride = 2;
  m.mask_downsampler.padding = 1;
  m.mask_downsampler.total_stride = 4;
  m.fuser.layer.dim = 8;
  m.fuser.layer.kernel_size = 3;
  m.fuser.layer.padding = 1;
  m.fuser.num_layers = 1;
  m.fuser.dim = 8;
  m.fuser.input_projection = true;
  m.position_encoding.num_pos_feats = 4;
  return c;
}

StateDict SmallWeights() {
  StateDict s;
  const std::string d = "memory_encoder.mask_downsampler.encoder.";
  AddRandom(s, d + "0.weight", {4, 1, 3, 3});
  AddRandom(s, d + "0.bias", {4});
  AddRandom(s, d + "1.weight", {4});
  AddRandom(s, d + "1.bias", {4});
  AddRandom(s, d + "3.weight", {16, 4, 3, 3});
  AddRandom(s, d + "3.bias", {16});
  AddRandom(s, d + "4.weight", {16});
  AddRandom(s, d + "4.bias", {16});
  AddRandom(s, d + "6.weight", {8, 16, 1, 1});
  AddRandom(s, d + "6.bias", {8});
  AddRandom(s, "memory_encoder.pix_feat_proj.weight", {8, 8, 1, 1});
  AddRandom(s, "memory_encoder.pix_feat_proj.bias", {8});
  AddRandom(s, "memory_encoder.fuser.proj.weight", {8, 8, 1, 1});
  AddRandom(s, "memory_encoder.fuser.proj.bias", {8});
  const std::string f = "memory_encoder.fuser.layers.0.";
  AddRandom(s, f + "gamma", {8});
  AddRandom(s, f + "dwconv.weight", {8, 1, 3, 3});
  AddRandom(s, f + "dwconv.bias", {8});
  AddRandom(s, f + "norm.weight", {8});
  AddRandom(s, f + "norm.bias", {8});
  AddRandom(s, f + "pwconv1.weight", {32, 8});
  AddRandom(s, f + "pwconv1.bias", {32});
  AddRandom(s, f + "pwconv2.weight", {8, 32});
  AddRandom(s, f + "pwconv2.bias", {8});
  AddRandom(s, "memory_encoder.out_proj.weight", {4, 8, 1, 1});
  AddRandom(s, "memory_encoder.out_proj.bias", {4});
  return s;
}

TEST(MemoryEncoderTest, SmallEncoderMatchesStepByStepComputation) {
  at::manual_seed(2);
  const Sam2Config config = SmallConfig();
  const StateDict s = SmallWeights();
  absl::StatusOr<MemoryEncoder> enc = MemoryEncoder::Create(config, s);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->DownsampledSide(12), 3);
  EXPECT_EQ(enc->DownsampledSide(11), 3);

  const at::Tensor pix = at::randn({2, 8, 3, 5});
  const at::Tensor masks = 4 * at::randn({2, 1, 12, 20});
  absl::StatusOr<MemoryEncoderOutput> out = enc->Forward(pix, masks, false);
  ASSERT_TRUE(out.ok()) << out.status();

  auto t = [&](const std::string& n) {
    return *s.Find("memory_encoder." + n);
  };
  // Mask downsampler.
  const std::string d = "mask_downsampler.encoder.";
  at::Tensor m = at::sigmoid(masks);
  for (int i = 0; i < 2; ++i) {
    m = at::conv2d(m, t(absl::StrCat(d, 3 * i, ".weight")),
                   t(absl::StrCat(d, 3 * i, ".bias")), 2, 1);
    m = Gelu(ChannelNorm(m, t(absl::StrCat(d, 3 * i + 1, ".weight")),
                         t(absl::StrCat(d, 3 * i + 1, ".bias")), 1e-6));
  }
  m = Conv1x1(m, t(d + "6.weight"), t(d + "6.bias"));
  ASSERT_EQ(m.sizes(), at::IntArrayRef({2, 8, 3, 5}));
  EXPECT_LT(MaxAbsDiff(enc->DownsampleMask(at::sigmoid(masks)), m), 1e-5);

  at::Tensor x = Conv1x1(pix, t("pix_feat_proj.weight"),
                         t("pix_feat_proj.bias")) + m;
  x = Conv1x1(x, t("fuser.proj.weight"), t("fuser.proj.bias"));
  // CXBlock.
  const std::string f = "fuser.layers.0.";
  at::Tensor y =
      DepthwiseConv(x, t(f + "dwconv.weight"), t(f + "dwconv.bias"), 1);
  y = ChannelNorm(y, t(f + "norm.weight"), t(f + "norm.bias"), 1e-6)
          .permute({0, 2, 3, 1});
  y = Gelu(at::matmul(y, t(f + "pwconv1.weight").t()) + t(f + "pwconv1.bias"));
  y = (at::matmul(y, t(f + "pwconv2.weight").t()) + t(f + "pwconv2.bias")) *
      t(f + "gamma");
  x = x + y.permute({0, 3, 1, 2});
  x = Conv1x1(x, t("out_proj.weight"), t("out_proj.bias"));

  ASSERT_EQ(out->vision_features.sizes(), at::IntArrayRef({2, 4, 3, 5}));
  EXPECT_LT(MaxAbsDiff(out->vision_features, x), 1e-5);
  absl::StatusOr<PositionEmbeddingSine> pe = PositionEmbeddingSine::Create(
      config.memory_encoder.position_encoding);
  ASSERT_TRUE(pe.ok());
  EXPECT_TRUE(at::equal(out->vision_pos_enc, pe->Encode(2, 3, 5, at::kCPU)));

  // skip_mask_sigmoid takes the masks as they are.
  absl::StatusOr<MemoryEncoderOutput> skipped =
      enc->Forward(pix, at::sigmoid(masks), true);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_LT(MaxAbsDiff(skipped->vision_features, out->vision_features), 1e-6);
}

TEST(MemoryEncoderTest, MicroCheckpointShapes) {
  absl::StatusOr<LoadedModel> model = LoadModel(kMicroCheckpoint, "");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<MemoryEncoder> enc =
      MemoryEncoder::Create(model->config, model->weights);
  ASSERT_TRUE(enc.ok()) << enc.status();
  const int64_t c = model->config.HiddenDim();
  const int64_t mem = model->config.MemDim();
  const int64_t side = model->config.ImageEmbeddingSize();
  const int64_t s = model->config.image_size;
  EXPECT_EQ(enc->in_dim(), c);
  EXPECT_EQ(enc->out_dim(), mem);
  at::manual_seed(3);
  absl::StatusOr<MemoryEncoderOutput> out = enc->Forward(
      at::randn({2, c, side, side}), 20 * at::randn({2, 1, s, s}) - 10, true);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->vision_features.sizes(),
            at::IntArrayRef({2, mem, side, side}));
  EXPECT_EQ(out->vision_pos_enc.sizes(),
            at::IntArrayRef({2, mem, side, side}));
  EXPECT_TRUE(at::isfinite(out->vision_features).all().item<bool>());
}

TEST(MemoryEncoderTest, TinyPresetShapes) {
  absl::StatusOr<Sam2Config> config = PresetConfig("sam2.1_hiera_tiny");
  ASSERT_TRUE(config.ok()) << config.status();
  at::manual_seed(4);
  const StateDict s = RandomWeights(*config, "memory_encoder.");
  absl::StatusOr<MemoryEncoder> enc = MemoryEncoder::Create(*config, s);
  ASSERT_TRUE(enc.ok()) << enc.status();
  const int64_t c = config->HiddenDim();
  const int64_t mem = config->MemDim();
  const int64_t side = config->ImageEmbeddingSize();
  const int64_t img = config->image_size;
  absl::StatusOr<MemoryEncoderOutput> out = enc->Forward(
      at::randn({1, c, side, side}), at::randn({1, 1, img, img}), true);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->vision_features.sizes(),
            at::IntArrayRef({1, mem, side, side}));
  EXPECT_EQ(out->vision_pos_enc.sizes(),
            at::IntArrayRef({1, mem, side, side}));
}

TEST(MemoryEncoderTest, MissingOrMisshapedWeightIsNamed) {
  const Sam2Config config = SmallConfig();
  const StateDict full = SmallWeights();
  StateDict missing;
  for (const NamedTensor& t : full) {
    if (t.name == "memory_encoder.fuser.layers.0.gamma") continue;
    ASSERT_TRUE(missing.Add(t.name, t.tensor).ok());
  }
  absl::StatusOr<MemoryEncoder> enc = MemoryEncoder::Create(config, missing);
  ASSERT_EQ(enc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(enc.status().message(),
                                "memory_encoder.fuser.layers.0.gamma"))
      << enc.status();

  StateDict bad;
  for (const NamedTensor& t : full) {
    at::Tensor v = t.tensor;
    if (t.name == "memory_encoder.mask_downsampler.encoder.3.weight") {
      v = at::zeros({16, 4, 2, 2});
    }
    ASSERT_TRUE(bad.Add(t.name, v).ok());
  }
  enc = MemoryEncoder::Create(config, bad);
  ASSERT_EQ(enc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(enc.status().message(),
                                "mask_downsampler.encoder.3.weight"))
      << enc.status();

  Sam2Config inconsistent = config;
  inconsistent.memory_encoder.mask_downsampler.total_stride = 6;
  EXPECT_EQ(MemoryEncoder::Create(inconsistent, full).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MemoryEncoderTest, BadInputShapesAreInvalidArgument) {
  const StateDict s = SmallWeights();
  absl::StatusOr<MemoryEncoder> enc = MemoryEncoder::Create(SmallConfig(), s);
  ASSERT_TRUE(enc.ok()) << enc.status();
  const at::Tensor pix = at::randn({1, 8, 3, 3});
  const at::Tensor masks = at::randn({1, 1, 12, 12});
  ASSERT_TRUE(enc->Forward(pix, masks, false).ok());
  const std::vector<std::pair<at::Tensor, at::Tensor>> bad = {
      {at::randn({1, 7, 3, 3}), masks},           // wrong channels
      {at::randn({8, 3, 3}), masks},              // no batch
      {pix, at::randn({1, 1, 16, 16})},           // mask size mismatch
      {pix, at::randn({1, 2, 12, 12})},           // two mask channels
      {pix, at::randn({2, 1, 12, 12})},           // batch mismatch
      {pix, at::Tensor()},                        // undefined
      {pix, at::ones({1, 1, 12, 12}, at::kInt)},  // not float
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(enc->Forward(bad[i].first, bad[i].second, false).status().code(),
              absl::StatusCode::kInvalidArgument)
        << i;
  }
}


TEST(MemoryEncoderTest, MatchesReferenceOnMicroCheckpoint) {
  absl::StatusOr<LoadedModel> model = LoadModel(kMicroCheckpoint, "");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<StateDict> ref = ReadSafetensors(kReferenceOutputs);
  ASSERT_TRUE(ref.ok()) << ref.status();
  absl::StatusOr<MemoryEncoder> enc =
      MemoryEncoder::Create(model->config, model->weights);
  ASSERT_TRUE(enc.ok()) << enc.status();
  const int64_t c = model->config.HiddenDim();
  const int64_t side = model->config.ImageEmbeddingSize();
  const int64_t s = model->config.image_size;
  absl::StatusOr<MemoryEncoderOutput> out =
      enc->Forward(Pseudo({1, c, side, side}, 1),
                   20 * Pseudo({1, 1, s, s}, 2), /*skip_mask_sigmoid=*/false);
  ASSERT_TRUE(out.ok()) << out.status();
  const at::Tensor* feats = ref->Find("memory_encoder.vision_features");
  const at::Tensor* pos = ref->Find("memory_encoder.vision_pos_enc");
  ASSERT_NE(feats, nullptr);
  ASSERT_NE(pos, nullptr);
  ASSERT_EQ(out->vision_features.sizes(), feats->sizes());
  ASSERT_EQ(out->vision_pos_enc.sizes(), pos->sizes());
  const double feat_err = MaxAbsDiff(out->vision_features, *feats);
  const double pos_err = MaxAbsDiff(out->vision_pos_enc, *pos);
  std::cout << "vision_features max |diff| " << feat_err << " (max |ref| "
            << feats->abs().max().item<double>() << "), vision_pos_enc "
            << pos_err << "\n";
  EXPECT_LT(feat_err, 1e-5);
  EXPECT_LT(pos_err, 1e-5);
}

}  // namespace
}  // namespace sam2
