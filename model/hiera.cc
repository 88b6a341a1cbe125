// Hiera trunk; see hiera.h.
// Reference: sam2/modeling/backbones/hieradet.py, backbones/utils.py.

#include "model/hiera.h"
#include "model/torch_error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

constexpr double kLayerNormEps = 1e-6;

// do_pool: max-pools channels-last x [B, H, W, C] by `stride` (kernel ==
// stride, floor mode).
at::Tensor PoolChannelsLast(const at::Tensor& x,
                            const std::vector<int>& stride) {
  const std::vector<int64_t> k = {stride[0], stride[1]};
  at::Tensor y = at::max_pool2d(x.permute({0, 3, 1, 2}), k, k);
  return y.permute({0, 2, 3, 1});
}

int64_t PadTo(int64_t n, int64_t window) {
  return (window - n % window) % window;
}

}  // namespace

namespace hiera_internal {

at::Tensor WindowPartition(const at::Tensor& x, int64_t window_size,
                           std::array<int64_t, 2>* padded_hw) {
  TORCH_CHECK(x.dim() == 4, "window_partition expects [B, H, W, C]");
  TORCH_CHECK(window_size > 0, "window_partition: window size must be > 0");
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  const int64_t pad_h = PadTo(h, window_size);
  const int64_t pad_w = PadTo(w, window_size);
  at::Tensor padded = x;
  if (pad_h > 0 || pad_w > 0) {
    // (last dim: 0, 0), (W: 0, pad_w), (H: 0, pad_h); zeros.
    padded = at::constant_pad_nd(x, {0, 0, 0, pad_w, 0, pad_h}, 0);
  }
  const int64_t hp = h + pad_h, wp = w + pad_w;
  *padded_hw = {hp, wp};
  return padded
      .reshape({b, hp / window_size, window_size, wp / window_size,
                window_size, c})
      .permute({0, 1, 3, 2, 4, 5})
      .reshape({-1, window_size, window_size, c});
}

at::Tensor WindowUnpartition(const at::Tensor& windows, int64_t window_size,
                             std::array<int64_t, 2> padded_hw,
                             std::array<int64_t, 2> hw) {
  TORCH_CHECK(windows.dim() == 4, "window_unpartition expects 4-D windows");
  TORCH_CHECK(window_size > 0, "window_unpartition: window size must be > 0");
  const int64_t hp = padded_hw[0], wp = padded_hw[1];
  const int64_t per_image = (hp / window_size) * (wp / window_size);
  TORCH_CHECK(per_image > 0 && windows.size(0) % per_image == 0,
              "window_unpartition: window count does not match the map");
  const int64_t b = windows.size(0) / per_image;
  at::Tensor x = windows
                     .reshape({b, hp / window_size, wp / window_size,
                               window_size, window_size, -1})
                     .permute({0, 1, 3, 2, 4, 5})
                     .reshape({b, hp, wp, -1});
  if (hp > hw[0] || wp > hw[1]) {
    x = x.slice(1, 0, hw[0]).slice(2, 0, hw[1]);
  }
  return x;
}

at::Tensor BlockForward(const Hiera::Block& block,
                        const std::vector<int>& q_stride, const at::Tensor& x) {
  const HieraConfig::Block& cfg = block.config;
  const int64_t dim = cfg.dim, dim_out = cfg.dim_out;
  at::Tensor shortcut = x;  // [B, H, W, dim]
  at::Tensor xn =
      at::layer_norm(x, {dim}, block.norm1_w, block.norm1_b, kLayerNormEps);
  if (dim != dim_out) {
    shortcut = at::linear(xn, block.proj_w, block.proj_b);
    if (cfg.q_pool) shortcut = PoolChannelsLast(shortcut, q_stride);
  }

  int64_t h = xn.size(1), w = xn.size(2);
  std::array<int64_t, 2> pad_hw = {h, w};
  at::Tensor t = xn;
  if (cfg.window_size > 0) {
    t = WindowPartition(xn, cfg.window_size, &pad_hw);
  }

  // MultiScaleAttention on t [B', Ht, Wt, dim].
  {
    const int64_t bw = t.size(0), ht = t.size(1), wt = t.size(2);
    const int64_t heads = cfg.num_heads;
    at::Tensor qkv = at::linear(t, block.qkv_w, block.qkv_b)
                         .reshape({bw, ht * wt, 3, heads, -1});
    std::vector<at::Tensor> parts = at::unbind(qkv, 2);  // [B', N, heads, hd]
    at::Tensor q = parts[0], k = parts[1], v = parts[2];
    int64_t hq = ht, wq = wt;
    if (cfg.q_pool) {
      q = PoolChannelsLast(q.reshape({bw, ht, wt, -1}), q_stride);
      hq = q.size(1);
      wq = q.size(2);
      q = q.reshape({bw, hq * wq, heads, -1});
    }
    at::Tensor o = at::scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));
    o = o.transpose(1, 2).reshape({bw, hq, wq, -1});
    t = at::linear(o, block.attn_proj_w, block.attn_proj_b);
  }

  int64_t window = cfg.window_size;
  if (cfg.q_pool) {
    // Shapes changed with q pooling: re-derive the padded map from the
    // (pooled) shortcut.
    window = cfg.window_size / q_stride[0];
    h = shortcut.size(1);
    w = shortcut.size(2);
    if (window > 0) pad_hw = {h + PadTo(h, window), w + PadTo(w, window)};
  }
  if (cfg.window_size > 0) {
    t = WindowUnpartition(t, window, pad_hw, {h, w});
  }

  at::Tensor y = shortcut + t;
  at::Tensor z =
      at::layer_norm(y, {dim_out}, block.norm2_w, block.norm2_b, kLayerNormEps);
  z = at::linear(z, block.mlp0_w, block.mlp0_b);
  z = at::gelu(z);  // exact (erf) GELU
  z = at::linear(z, block.mlp1_w, block.mlp1_b);
  return y + z;
}

}  // namespace hiera_internal

absl::StatusOr<Hiera> Hiera::Create(const HieraConfig& config,
                                    ModuleWeights weights) {
  if (config.embed_dim <= 0 || config.num_heads <= 0) {
    return absl::InvalidArgumentError(
        "Hiera: embed_dim and num_heads must be positive");
  }
  if (config.q_stride.size() != 2 || config.q_stride[0] <= 0 ||
      config.q_stride[1] <= 0) {
    return absl::InvalidArgumentError("Hiera: q_stride must be two positives");
  }
  if (config.stages.empty() ||
      config.window_spec.size() != config.stages.size()) {
    return absl::InvalidArgumentError(
        "Hiera: window_spec must have one entry per stage");
  }
  if (config.window_pos_embed_bkg_spatial_size.size() != 2) {
    return absl::InvalidArgumentError(
        "Hiera: window_pos_embed_bkg_spatial_size must have two entries");
  }
  Hiera h;
  h.config_ = config;
  h.stage_ends_ = config.StageEnds();
  const int64_t e = config.embed_dim;
  h.patch_w_ = weights.Get("patch_embed.proj.weight",
                           {e, kPatchEmbedInChannels, kPatchEmbedKernel,
                            kPatchEmbedKernel});
  // Channels-last once here, for the convolution in ForwardUnchecked.
  if (h.patch_w_.defined()) {
    h.patch_w_ = h.patch_w_.contiguous(at::MemoryFormat::ChannelsLast);
  }
  h.patch_b_ = weights.Get("patch_embed.proj.bias", {e});
  h.pos_embed_ = weights.Get("pos_embed",
                             {1, e, config.window_pos_embed_bkg_spatial_size[0],
                              config.window_pos_embed_bkg_spatial_size[1]});
  h.pos_embed_window_ =
      weights.Get("pos_embed_window",
                  {1, e, config.window_spec[0], config.window_spec[0]});
  const std::vector<HieraConfig::Block> layout = config.Blocks();
  for (size_t i = 0; i < layout.size(); ++i) {
    const HieraConfig::Block& c = layout[i];
    if (c.num_heads <= 0 || c.dim_out % c.num_heads != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Hiera: block ", i, " has ", c.dim_out,
                       " channels, not divisible into ", c.num_heads,
                       " heads"));
    }
    ModuleWeights bw = weights.Child(absl::StrCat("blocks.", i));
    const int64_t d = c.dim, d_out = c.dim_out;
    const int64_t hidden = static_cast<int64_t>(d_out * kHieraMlpRatio);
    Block b;
    b.config = c;
    b.norm1_w = bw.Get("norm1.weight", {d});
    b.norm1_b = bw.Get("norm1.bias", {d});
    b.qkv_w = bw.Get("attn.qkv.weight", {3 * d_out, d});
    b.qkv_b = bw.Get("attn.qkv.bias", {3 * d_out});
    b.attn_proj_w = bw.Get("attn.proj.weight", {d_out, d_out});
    b.attn_proj_b = bw.Get("attn.proj.bias", {d_out});
    b.norm2_w = bw.Get("norm2.weight", {d_out});
    b.norm2_b = bw.Get("norm2.bias", {d_out});
    b.mlp0_w = bw.Get("mlp.layers.0.weight", {hidden, d_out});
    b.mlp0_b = bw.Get("mlp.layers.0.bias", {hidden});
    b.mlp1_w = bw.Get("mlp.layers.1.weight", {d_out, hidden});
    b.mlp1_b = bw.Get("mlp.layers.1.bias", {d_out});
    if (d != d_out) {
      b.proj_w = bw.Get("proj.weight", {d_out, d});
      b.proj_b = bw.Get("proj.bias", {d_out});
    }
    h.blocks_.push_back(std::move(b));
  }
  if (!weights.status().ok()) {
    return absl::Status(weights.status().code(),
                        absl::StrCat("Hiera: ", weights.status().message()));
  }
  return h;
}

absl::StatusOr<Hiera> Hiera::Create(const Sam2Config& config,
                                    const StateDict& state) {
  return Create(config.image_encoder.trunk,
                ModuleWeights(state, "image_encoder.trunk."));
}

at::Tensor Hiera::PosEmbedUnchecked(int64_t h, int64_t w) const {
  const int64_t wh = pos_embed_window_.size(2), ww = pos_embed_window_.size(3);
  TORCH_CHECK(h % wh == 0 && w % ww == 0, "Hiera: the token grid ", h, "x", w,
              " is not a multiple of the window position embedding ", wh, "x",
              ww);
  const c10::Device device = pos_embed_.device();
  return pos_embed_cache_.Get(
      {h, w, static_cast<int>(device.type()), device.index()}, [&] {
        at::Tensor pos = at::upsample_bicubic2d(pos_embed_, {h, w},
                                                /*align_corners=*/false);
        pos = pos + pos_embed_window_.tile({1, 1, h / wh, w / ww});
        return pos.permute({0, 2, 3, 1}).contiguous();
      });
}

absl::StatusOr<at::Tensor> Hiera::PosEmbed(int64_t h, int64_t w) const {
  if (h <= 0 || w <= 0 || h % pos_embed_window_.size(2) != 0 ||
      w % pos_embed_window_.size(3) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Hiera: the token grid ", h, "x", w,
        " must be a positive multiple of the window position embedding (",
        pos_embed_window_.size(2), ")"));
  }
  try {
    c10::InferenceMode guard;
    return PosEmbedUnchecked(h, w);
  } catch (const c10::Error& e) {
    return TorchError("Hiera: ", e);
  }
}

std::vector<at::Tensor> Hiera::ForwardUnchecked(const at::Tensor& image) const {
  // Channels-last input and weight (the weight is 96 x 3 x 7 x 7): oneDNN
  // then convolves without reordering the image and writes [B, H, W, E]
  // memory, so the permute below copies nothing. On a 1024² image, 21 ms
  // less per SetImage (bfloat16, 2 threads; the convolution with its NCHW
  // copies took 21.5 ms, now 3.6).
  at::Tensor x = at::conv2d(image.contiguous(at::MemoryFormat::ChannelsLast),
                            patch_w_, patch_b_,
                            {kPatchEmbedStride, kPatchEmbedStride},
                            {kPatchEmbedPadding, kPatchEmbedPadding});
  // [B, H, W, E], contiguous (already, from the channels-last
  // convolution): as a permuted view of NCHW memory (the reference's),
  // every block of the first stage would run on strided memory (each linear
  // layer copying its input) and the stage's output reach the FPN neck as
  // NCHW.
  x = x.permute({0, 2, 3, 1}).contiguous();
  x = x + PosEmbedUnchecked(x.size(1), x.size(2));
  std::vector<at::Tensor> outputs;
  const int last = stage_ends_.empty() ? -1 : stage_ends_.back();
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = hiera_internal::BlockForward(blocks_[i], config_.q_stride, x);
    const int idx = static_cast<int>(i);
    const bool stage_end = std::find(stage_ends_.begin(), stage_ends_.end(),
                                     idx) != stage_ends_.end();
    if (idx == last || (stage_end && config_.return_interm_layers)) {
      outputs.push_back(x.permute({0, 3, 1, 2}));
    }
  }
  return outputs;
}

absl::StatusOr<std::vector<at::Tensor>> Hiera::Forward(
    const at::Tensor& image) const {
  if (!image.defined() || image.dim() != 4 ||
      image.size(1) != kPatchEmbedInChannels) {
    return absl::InvalidArgumentError(
        absl::StrCat("Hiera: expected a [B, ", kPatchEmbedInChannels,
                     ", H, W] image"));
  }
  try {
    c10::InferenceMode guard;
    return ForwardUnchecked(image.to(at::kFloat));
  } catch (const c10::Error& e) {
    return TorchError("Hiera: ", e);
  }
}

}  // namespace sam2
