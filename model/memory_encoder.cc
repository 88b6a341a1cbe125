// Mirrors modeling/memory_encoder.py (MemoryEncoder, MaskDownSampler, Fuser,
// CXBlock). See the header.

#include "model/memory_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/prompt_encoder.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// LayerNorm2d eps in the mask downsampler and in CXBlock.
constexpr double kLayerNorm2dEps = 1e-6;

LinearParams LoadConv(ModuleWeights& weights, const std::string& name,
                      int64_t in_per_group, int64_t out, int64_t kernel) {
  LinearParams p;
  p.weight = weights.Get(name + ".weight", {out, in_per_group, kernel, kernel});
  p.bias = weights.Get(name + ".bias", {out});
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------
// CXBlock

CXBlock CXBlock::Load(ModuleWeights weights, const CXBlockConfig& config) {
  const int64_t dim = config.dim;
  CXBlock b;
  b.groups_ = config.use_dwconv ? dim : 1;
  b.padding_ = config.padding;
  b.dwconv_ = LoadConv(weights, "dwconv", dim / b.groups_, dim,
                       config.kernel_size);
  b.norm_ = LinearParams::LoadNorm(weights, "norm", dim);
  b.pwconv1_ = LinearParams::Load(weights, "pwconv1", dim,
                                  int64_t{kCxBlockExpansion} * dim);
  b.pwconv2_ = LinearParams::Load(weights, "pwconv2",
                                  int64_t{kCxBlockExpansion} * dim, dim);
  if (config.layer_scale_init_value > 0) {
    b.gamma_ = weights.Get("gamma", {dim});
  }
  return b;
}

at::Tensor CXBlock::operator()(const at::Tensor& input) const {
  at::Tensor x = at::conv2d(input, dwconv_.weight, dwconv_.bias, {1, 1},
                            {padding_, padding_}, {1, 1}, groups_);
  // LayerNorm2d over the channels of the NCHW map, then the pointwise MLP
  // channels-last.
  x = LayerNorm2d(x, norm_.weight, norm_.bias, kLayerNorm2dEps);
  x = x.permute({0, 2, 3, 1});
  x = pwconv2_(at::gelu(pwconv1_(x)));
  if (gamma_.defined()) x = gamma_ * x;
  x = x.permute({0, 3, 1, 2});
  return input + x;
}

// ---------------------------------------------------------------------------
// MemoryEncoder

absl::StatusOr<MemoryEncoder> MemoryEncoder::Create(const Sam2Config& config,
                                                    const StateDict& weights) {
  return Create(config, ModuleWeights(weights, "memory_encoder."));
}

absl::StatusOr<MemoryEncoder> MemoryEncoder::Create(const Sam2Config& config,
                                                    ModuleWeights weights) {
  const MemoryEncoderConfig& mc = config.memory_encoder;
  const MaskDownSamplerConfig& md = mc.mask_downsampler;
  const FuserConfig& fc = mc.fuser;
  auto invalid = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("memory encoder: ", what));
  };
  if (mc.in_dim <= 0 || mc.out_dim <= 0) {
    return invalid(absl::StrCat("in_dim ", mc.in_dim, " and out_dim ",
                                mc.out_dim, " must be positive"));
  }
  const int num_down = md.NumLayers();
  int64_t product = 1;
  for (int i = 0; i < num_down; ++i) product *= md.stride;
  if (num_down < 1 || product != md.total_stride || md.kernel_size < 1 ||
      md.padding < 0) {
    return invalid(absl::StrCat("mask downsampler total_stride ",
                                md.total_stride, " is not a power of stride ",
                                md.stride, " (kernel ", md.kernel_size,
                                ", padding ", md.padding, ")"));
  }
  if (md.embed_dim != mc.in_dim) {
    return invalid(absl::StrCat("mask downsampler embed_dim ", md.embed_dim,
                                " != in_dim ", mc.in_dim));
  }
  if (fc.layer.dim != mc.in_dim) {
    return invalid(absl::StrCat("fuser CXBlock dim ", fc.layer.dim,
                                " != in_dim ", mc.in_dim));
  }
  if (fc.input_projection && fc.dim.value_or(0) != mc.in_dim) {
    return invalid(absl::StrCat("fuser input projection dim ",
                                fc.dim.value_or(0), " != in_dim ", mc.in_dim));
  }
  if (fc.layer.kernel_size < 1 || fc.layer.padding < 0 ||
      fc.layer.kernel_size != 2 * fc.layer.padding + 1) {
    return invalid(absl::StrCat("CXBlock kernel ", fc.layer.kernel_size,
                                " with padding ", fc.layer.padding,
                                " does not keep the feature size"));
  }
  absl::StatusOr<PositionEmbeddingSine> pe =
      PositionEmbeddingSine::Create(mc.position_encoding);
  if (!pe.ok()) return pe.status();

  MemoryEncoder e(*pe);
  e.in_dim_ = mc.in_dim;
  e.out_dim_ = mc.out_dim;
  e.down_stride_ = md.stride;
  e.down_padding_ = md.padding;
  e.down_kernel_ = md.kernel_size;

  // MaskDownSampler: Sequential indices 3i (conv), 3i + 1 (norm), 3i + 2
  // (GELU, no weights); the final 1x1 conv at 3n.
  ModuleWeights down = weights.Child("mask_downsampler").Child("encoder");
  int64_t in_chans = 1, out_chans = 1;
  for (int i = 0; i < num_down; ++i) {
    out_chans = in_chans * md.stride * md.stride;
    e.down_convs_.push_back(LoadConv(down, std::to_string(3 * i), in_chans,
                                     out_chans, md.kernel_size));
    e.down_norms_.push_back(
        LinearParams::LoadNorm(down, std::to_string(3 * i + 1), out_chans));
    in_chans = out_chans;
  }
  e.down_out_ =
      LoadConv(down, std::to_string(3 * num_down), out_chans, md.embed_dim, 1);

  e.pix_feat_proj_ =
      LoadConv(weights, "pix_feat_proj", mc.in_dim, mc.in_dim, 1);
  ModuleWeights fuser = weights.Child("fuser");
  if (fc.input_projection) {
    e.fuser_proj_ = LoadConv(fuser, "proj", mc.in_dim, mc.in_dim, 1);
  }
  ModuleWeights layers = fuser.Child("layers");
  for (int i = 0; i < fc.num_layers; ++i) {
    e.fuser_layers_.push_back(
        CXBlock::Load(layers.Child(std::to_string(i)), fc.layer));
  }
  if (mc.out_dim != mc.in_dim) {
    e.out_proj_ = LoadConv(weights, "out_proj", mc.in_dim, mc.out_dim, 1);
  }
  if (!weights.status().ok()) return weights.status();
  return e;
}

int64_t MemoryEncoder::DownsampledSide(int64_t side) const {
  for (size_t i = 0; i < down_convs_.size(); ++i) {
    const int64_t span = side + 2 * down_padding_ - down_kernel_;
    if (span < 0) return 0;
    side = span / down_stride_ + 1;
  }
  return side;
}

at::Tensor MemoryEncoder::DownsampleMask(const at::Tensor& masks) const {
  at::Tensor x = masks;
  for (size_t i = 0; i < down_convs_.size(); ++i) {
    x = at::conv2d(x, down_convs_[i].weight, down_convs_[i].bias,
                   {down_stride_, down_stride_},
                   {down_padding_, down_padding_});
    x = at::gelu(LayerNorm2d(x, down_norms_[i].weight, down_norms_[i].bias,
                             kLayerNorm2dEps));
  }
  return at::conv2d(x, down_out_.weight, down_out_.bias);
}

absl::StatusOr<MemoryEncoderOutput> MemoryEncoder::Forward(
    const at::Tensor& pix_feat, const at::Tensor& masks,
    bool skip_mask_sigmoid) const {
  if (!pix_feat.defined() || pix_feat.dim() != 4 ||
      pix_feat.size(1) != in_dim_ || !pix_feat.is_floating_point()) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory encoder: pix_feat must be a float [B, ", in_dim_,
                     ", h, w] tensor, got ", ShapeOf(pix_feat)));
  }
  const int64_t b = pix_feat.size(0), h = pix_feat.size(2),
                w = pix_feat.size(3);
  if (!masks.defined() || masks.dim() != 4 || masks.size(0) != b ||
      masks.size(1) != 1 || !masks.is_floating_point() ||
      DownsampledSide(masks.size(2)) != h ||
      DownsampledSide(masks.size(3)) != w) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory encoder: masks must be a float [", b,
        ", 1, H, W] tensor that the mask downsampler takes to ", h, "x", w,
        " (pix_feat ", ShapeOf(pix_feat), "), got ", ShapeOf(masks)));
  }
  try {
    c10::InferenceMode guard;
    at::Tensor m = masks.to(at::kFloat);
    if (!skip_mask_sigmoid) m = at::sigmoid(m);
    m = DownsampleMask(m);

    at::Tensor x = at::conv2d(pix_feat.to(m.device(), at::kFloat),
                              pix_feat_proj_.weight, pix_feat_proj_.bias);
    x = x + m;
    if (fuser_proj_.weight.defined()) {
      x = at::conv2d(x, fuser_proj_.weight, fuser_proj_.bias);
    }
    for (const CXBlock& layer : fuser_layers_) x = layer(x);
    if (out_proj_.weight.defined()) {
      x = at::conv2d(x, out_proj_.weight, out_proj_.bias);
    }
    MemoryEncoderOutput out;
    out.vision_pos_enc = position_encoding_.Encode(
        x.size(0), x.size(2), x.size(3), x.device(), x.scalar_type());
    out.vision_features = std::move(x);
    return out;
  } catch (const c10::Error& e) {
    return TorchError("memory encoder: ", e);
  }
}

}  // namespace sam2
