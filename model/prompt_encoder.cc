// Mirrors modeling/sam/prompt_encoder.py (PromptEncoder) and
// modeling/position_encoding.py (PositionEmbeddingRandom). See the header.

#include "model/prompt_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

constexpr double kTwoPi = 2.0 * M_PI;
// sam2_utils.LayerNorm2d's default eps.
constexpr double kLayerNorm2dEps = 1e-6;

}  // namespace

at::Tensor LayerNorm2d(const at::Tensor& x, const at::Tensor& weight,
                       const at::Tensor& bias, double eps) {
  const at::Tensor u = x.mean({1}, /*keepdim=*/true);
  const at::Tensor centred = x - u;
  const at::Tensor s = centred.pow(2).mean({1}, /*keepdim=*/true);
  const at::Tensor normed = centred / at::sqrt(s + eps);
  return weight.view({-1, 1, 1}) * normed + bias.view({-1, 1, 1});
}

// ---------------------------------------------------------------------------
// PositionEmbeddingRandom

PositionEmbeddingRandom::PositionEmbeddingRandom(at::Tensor gaussian_matrix)
    : gaussian_matrix_(std::move(gaussian_matrix)) {}

at::Tensor PositionEmbeddingRandom::EncodeNormalized(
    const at::Tensor& coords) const {
  at::Tensor v = coords * 2 - 1;
  v = at::matmul(v, gaussian_matrix_);
  v = v * kTwoPi;
  return at::cat({at::sin(v), at::cos(v)}, -1);
}

at::Tensor PositionEmbeddingRandom::Grid(int64_t h, int64_t w) const {
  const at::Tensor grid = at::ones({h, w}, gaussian_matrix_.options());
  const at::Tensor y = (grid.cumsum(0) - 0.5) / static_cast<double>(h);
  const at::Tensor x = (grid.cumsum(1) - 0.5) / static_cast<double>(w);
  return EncodeNormalized(at::stack({x, y}, -1)).permute({2, 0, 1});
}

at::Tensor PositionEmbeddingRandom::EncodePixels(const at::Tensor& coords,
                                                 int64_t image_h,
                                                 int64_t image_w) const {
  const at::Tensor x = coords.select(-1, 0) / static_cast<double>(image_w);
  const at::Tensor y = coords.select(-1, 1) / static_cast<double>(image_h);
  return EncodeNormalized(at::stack({x, y}, -1).to(at::kFloat));
}

// ---------------------------------------------------------------------------
// PromptEncoder

absl::StatusOr<PromptEncoder> PromptEncoder::Create(const Sam2Config& config,
                                                    const StateDict& weights) {
  return Create(config, ModuleWeights(weights, "sam_prompt_encoder."));
}

absl::StatusOr<PromptEncoder> PromptEncoder::Create(const Sam2Config& config,
                                                    ModuleWeights weights) {
  const int64_t c = config.HiddenDim();
  if (c <= 0 || c % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt encoder: embedding dim ", c, " must be positive and even"));
  }
  if (config.ImageEmbeddingSize() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt encoder: image_size ", config.image_size,
        " / backbone_stride ", config.backbone_stride, " is not positive"));
  }
  PromptEncoder enc;
  enc.embed_dim_ = c;
  enc.embedding_size_ = config.ImageEmbeddingSize();
  enc.input_image_size_ = config.image_size;
  enc.mask_input_size_ = config.MaskInputSize();

  const at::Tensor gaussian =
      weights.Get("pe_layer.positional_encoding_gaussian_matrix", {2, c / 2});
  std::vector<at::Tensor> point_embeddings;
  for (int i = 0; i < kPromptNumPointEmbeddings; ++i) {
    point_embeddings.push_back(
        weights.Get(absl::StrCat("point_embeddings.", i, ".weight"), {1, c}));
  }
  enc.not_a_point_embed_ = weights.Get("not_a_point_embed.weight", {1, c});
  enc.no_mask_embed_ = weights.Get("no_mask_embed.weight", {1, c});
  const int64_t m = kPromptMaskInChans;
  enc.conv0_ = {weights.Get("mask_downscaling.0.weight", {m / 4, 1, 2, 2}),
                weights.Get("mask_downscaling.0.bias", {m / 4})};
  enc.norm1_ = {weights.Get("mask_downscaling.1.weight", {m / 4}),
                weights.Get("mask_downscaling.1.bias", {m / 4})};
  enc.conv3_ = {weights.Get("mask_downscaling.3.weight", {m, m / 4, 2, 2}),
                weights.Get("mask_downscaling.3.bias", {m})};
  enc.norm4_ = {weights.Get("mask_downscaling.4.weight", {m}),
                weights.Get("mask_downscaling.4.bias", {m})};
  enc.conv6_ = {weights.Get("mask_downscaling.6.weight", {c, m, 1, 1}),
                weights.Get("mask_downscaling.6.bias", {c})};
  if (!weights.status().ok()) return weights.status();

  try {
    c10::InferenceMode guard;
    enc.point_embeddings_ = at::cat(point_embeddings, 0);
    enc.pe_layer_ = PositionEmbeddingRandom(gaussian);
    enc.dense_pe_ =
        enc.pe_layer_.Grid(enc.embedding_size_, enc.embedding_size_)
            .unsqueeze(0);
  } catch (const c10::Error& e) {
    return TorchError("prompt encoder: ", e);
  }
  return enc;
}

at::Tensor PromptEncoder::EmbedPoints(const at::Tensor& coords_in,
                                      const at::Tensor& labels_in) const {
  const int64_t b = coords_in.size(0);
  // Pixel centres, then the pad point (0, 0) with label -1.
  at::Tensor coords = coords_in.to(at::kFloat) + 0.5;
  coords = at::cat({coords, at::zeros({b, 1, 2}, coords.options())}, 1);
  const at::Tensor labels =
      at::cat({labels_in.to(at::kFloat),
               -at::ones({b, 1}, coords.options())},
              1)
          .unsqueeze(-1);

  at::Tensor emb =
      pe_layer_.EncodePixels(coords, input_image_size_, input_image_size_);
  emb = at::where(labels == -1, at::zeros_like(emb) + not_a_point_embed_, emb);
  for (int i = 0; i < kPromptNumPointEmbeddings; ++i) {
    emb = at::where(labels == i, emb + point_embeddings_.slice(0, i, i + 1),
                    emb);
  }
  return emb;
}

at::Tensor PromptEncoder::EmbedMasks(const at::Tensor& masks) const {
  at::Tensor x = at::conv2d(masks, conv0_.weight, conv0_.bias, {2, 2});
  x = at::gelu(LayerNorm2d(x, norm1_.weight, norm1_.bias, kLayerNorm2dEps));
  x = at::conv2d(x, conv3_.weight, conv3_.bias, {2, 2});
  x = at::gelu(LayerNorm2d(x, norm4_.weight, norm4_.bias, kLayerNorm2dEps));
  return at::conv2d(x, conv6_.weight, conv6_.bias);
}

absl::StatusOr<PromptEmbeddings> PromptEncoder::Forward(
    const at::Tensor& point_coords, const at::Tensor& point_labels,
    const at::Tensor& masks) const {
  const bool has_points = point_coords.defined();
  if (has_points != point_labels.defined()) {
    return absl::InvalidArgumentError(
        "prompt encoder: point coordinates and labels must come together");
  }
  if (has_points) {
    if (point_coords.dim() != 3 || point_coords.size(2) != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("prompt encoder: point coordinates must be [B,N,2], got ",
                       ShapeOf(point_coords)));
    }
    if (point_labels.dim() != 2 || point_labels.size(0) != point_coords.size(0) ||
        point_labels.size(1) != point_coords.size(1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prompt encoder: point labels ", ShapeOf(point_labels),
          " do not match the coordinates ", ShapeOf(point_coords)));
    }
  }
  if (masks.defined()) {
    if (masks.dim() != 4 || masks.size(1) != 1 ||
        masks.size(2) != mask_input_size_ || masks.size(3) != mask_input_size_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prompt encoder: mask input must be [B,1,", mask_input_size_, ",",
          mask_input_size_, "], got ", ShapeOf(masks)));
    }
    if (has_points && masks.size(0) != point_coords.size(0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prompt encoder: mask batch ", masks.size(0),
          " differs from the point batch ", point_coords.size(0)));
    }
  }
  const int64_t bs = has_points      ? point_coords.size(0)
                     : masks.defined() ? masks.size(0)
                                       : 1;
  try {
    c10::InferenceMode guard;
    PromptEmbeddings out;
    if (has_points) {
      out.sparse = EmbedPoints(point_coords, point_labels);
    } else {
      out.sparse = at::empty({bs, 0, embed_dim_}, no_mask_embed_.options());
    }
    if (masks.defined()) {
      out.dense = EmbedMasks(masks.to(at::kFloat));
    } else {
      out.dense = no_mask_embed_.reshape({1, -1, 1, 1})
                      .expand({bs, -1, embedding_size_, embedding_size_});
    }
    return out;
  } catch (const c10::Error& e) {
    return TorchError("prompt encoder failed: ", e);
  }
}

}  // namespace sam2
