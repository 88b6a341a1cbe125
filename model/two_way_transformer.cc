// Mirrors modeling/sam/transformer.py (TwoWayTransformer,
// TwoWayAttentionBlock, Attention) and sam2_utils.MLP. See the header.

#include "model/two_way_transformer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// nn.LayerNorm's default eps, used by the two-way transformer.
constexpr double kTwoWayLayerNormEps = 1e-5;

}  // namespace

LinearParams LinearParams::LoadNorm(ModuleWeights& weights,
                                    const std::string& name, int64_t dim) {
  LinearParams p;
  p.weight = weights.Get(name + ".weight", {dim});
  p.bias = weights.Get(name + ".bias", {dim});
  return p;
}

LinearParams LinearParams::Load(ModuleWeights& weights,
                                const std::string& name, int64_t in_dim,
                                int64_t out_dim) {
  LinearParams p;
  p.weight = weights.Get(name + ".weight", {out_dim, in_dim});
  p.bias = weights.Get(name + ".bias", {out_dim});
  return p;
}

at::Tensor LinearParams::operator()(const at::Tensor& x) const {
  return at::linear(x, weight, bias);
}

at::Tensor TwoWayLayerNorm(const at::Tensor& x, const LinearParams& norm) {
  return at::layer_norm(x, {x.size(-1)}, norm.weight, norm.bias,
                        kTwoWayLayerNormEps);
}

// ---------------------------------------------------------------------------
// SamMlp

SamMlp SamMlp::Load(ModuleWeights weights, int64_t input_dim,
                    int64_t hidden_dim, int64_t output_dim, int num_layers,
                    bool sigmoid_output, Activation activation) {
  SamMlp mlp;
  mlp.sigmoid_output_ = sigmoid_output;
  mlp.activation_ = activation;
  ModuleWeights layers = weights.Child("layers");
  for (int i = 0; i < num_layers; ++i) {
    const int64_t in = i == 0 ? input_dim : hidden_dim;
    const int64_t out = i == num_layers - 1 ? output_dim : hidden_dim;
    mlp.layers_.push_back(LinearParams::Load(layers, std::to_string(i), in, out));
  }
  return mlp;
}

at::Tensor SamMlp::operator()(const at::Tensor& input) const {
  at::Tensor x = input;
  const size_t n = layers_.size();
  for (size_t i = 0; i < n; ++i) {
    x = layers_[i](x);
    if (i + 1 < n) {
      x = activation_ == Activation::kRelu ? at::relu(x) : at::gelu(x);
    }
  }
  if (sigmoid_output_) x = at::sigmoid(x);
  return x;
}

// ---------------------------------------------------------------------------
// TwoWayAttention

TwoWayAttention TwoWayAttention::Load(ModuleWeights weights,
                                      int64_t embedding_dim, int64_t num_heads,
                                      int64_t downsample_rate) {
  TwoWayAttention a;
  a.num_heads_ = num_heads;
  a.internal_dim_ = embedding_dim / downsample_rate;
  a.q_proj_ =
      LinearParams::Load(weights, "q_proj", embedding_dim, a.internal_dim_);
  a.k_proj_ =
      LinearParams::Load(weights, "k_proj", embedding_dim, a.internal_dim_);
  a.v_proj_ =
      LinearParams::Load(weights, "v_proj", embedding_dim, a.internal_dim_);
  a.out_proj_ =
      LinearParams::Load(weights, "out_proj", a.internal_dim_, embedding_dim);
  return a;
}

at::Tensor TwoWayAttention::operator()(const at::Tensor& q_in,
                                       const at::Tensor& k_in,
                                       const at::Tensor& v_in) const {
  return Attend(ProjectQueries(q_in), ProjectKeys(k_in), ProjectValues(v_in));
}

namespace {

// [B, N, D] -> [B, heads, N, D / heads].
at::Tensor SeparateHeads(const at::Tensor& x, int64_t heads) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  return x.reshape({b, n, heads, c / heads}).transpose(1, 2);
}

}  // namespace

at::Tensor TwoWayAttention::ProjectQueries(const at::Tensor& x) const {
  return SeparateHeads(q_proj_(x), num_heads_);
}

at::Tensor TwoWayAttention::ProjectKeys(const at::Tensor& x) const {
  return SeparateHeads(k_proj_(x), num_heads_);
}

at::Tensor TwoWayAttention::ProjectValues(const at::Tensor& x) const {
  return SeparateHeads(v_proj_(x), num_heads_);
}

at::Tensor TwoWayAttention::Attend(at::Tensor q, at::Tensor k,
                                   at::Tensor v) const {
  // A side shared by the whole prompt batch (batch 1: the image of a
  // shared-image decode) was projected once; SDPA reads it broadcast.
  const int64_t batch = std::max({q.size(0), k.size(0), v.size(0)});
  const auto broadcast = [batch](at::Tensor& t) {
    if (t.size(0) != batch) t = t.expand({batch, -1, -1, -1});
  };
  broadcast(q);
  broadcast(k);
  broadcast(v);

  at::Tensor out = at::scaled_dot_product_attention(q, k, v);

  // [B, heads, N, d] -> [B, N, heads * d].
  const int64_t b = out.size(0), h = out.size(1), n = out.size(2),
                d = out.size(3);
  out = out.transpose(1, 2).reshape({b, n, h * d});
  return out_proj_(out);
}

// ---------------------------------------------------------------------------
// TwoWayAttentionBlock

TwoWayAttentionBlock TwoWayAttentionBlock::Load(
    ModuleWeights weights, int64_t embedding_dim, int64_t num_heads,
    int64_t mlp_dim, int64_t downsample_rate, bool skip_first_layer_pe) {
  TwoWayAttentionBlock blk;
  blk.embedding_dim_ = embedding_dim;
  blk.skip_first_layer_pe_ = skip_first_layer_pe;
  blk.self_attn_ = TwoWayAttention::Load(weights.Child("self_attn"),
                                         embedding_dim, num_heads, 1);
  blk.norm1_ = LinearParams::LoadNorm(weights, "norm1", embedding_dim);
  blk.cross_attn_token_to_image_ =
      TwoWayAttention::Load(weights.Child("cross_attn_token_to_image"),
                            embedding_dim, num_heads, downsample_rate);
  blk.norm2_ = LinearParams::LoadNorm(weights, "norm2", embedding_dim);
  blk.mlp_ = SamMlp::Load(weights.Child("mlp"), embedding_dim, mlp_dim,
                          embedding_dim, 2);
  blk.norm3_ = LinearParams::LoadNorm(weights, "norm3", embedding_dim);
  blk.norm4_ = LinearParams::LoadNorm(weights, "norm4", embedding_dim);
  blk.cross_attn_image_to_token_ =
      TwoWayAttention::Load(weights.Child("cross_attn_image_to_token"),
                            embedding_dim, num_heads, downsample_rate);
  return blk;
}

std::pair<at::Tensor, at::Tensor> TwoWayAttentionBlock::operator()(
    const at::Tensor& queries_in, const at::Tensor& keys_in,
    const at::Tensor& query_pe, const at::Tensor& key_pe,
    const TwoWayImageProjections* image) const {
  at::Tensor queries = queries_in;
  at::Tensor keys = keys_in;

  // (1) Token self-attention. Layer 0: no PE and no residual.
  if (skip_first_layer_pe_) {
    queries = self_attn_(queries, queries, queries);
  } else {
    const at::Tensor q = queries + query_pe;
    queries = queries + self_attn_(q, q, queries);
  }
  queries = TwoWayLayerNorm(queries, norm1_);

  // The image's side of (2) and (4): the keys do not change before (4)
  // ends, so keys + PE is one add for both.
  TwoWayImageProjections projected;
  if (image == nullptr) {
    projected = ProjectImage(keys, key_pe);
    image = &projected;
  }

  // (2) Tokens attend to the image.
  {
    const at::Tensor q = queries + query_pe;
    queries = queries + cross_attn_token_to_image_.Attend(
                            cross_attn_token_to_image_.ProjectQueries(q),
                            image->keys, image->values);
    queries = TwoWayLayerNorm(queries, norm2_);
  }

  // (3) MLP on the tokens.
  queries = queries + mlp_(queries);
  queries = TwoWayLayerNorm(queries, norm3_);

  // (4) The image attends to the tokens.
  {
    const at::Tensor q = queries + query_pe;
    keys = keys + cross_attn_image_to_token_.Attend(
                      image->image_queries,
                      cross_attn_image_to_token_.ProjectKeys(q),
                      cross_attn_image_to_token_.ProjectValues(queries));
    keys = TwoWayLayerNorm(keys, norm4_);
  }
  return {queries, keys};
}

TwoWayImageProjections TwoWayAttentionBlock::ProjectImage(
    const at::Tensor& keys, const at::Tensor& key_pe) const {
  const at::Tensor k = keys + key_pe;
  TwoWayImageProjections out;
  out.keys = cross_attn_token_to_image_.ProjectKeys(k);
  out.values = cross_attn_token_to_image_.ProjectValues(keys);
  out.image_queries = cross_attn_image_to_token_.ProjectQueries(k);
  return out;
}

int64_t TwoWayImageProjections::NumBytes() const {
  int64_t n = 0;
  for (const at::Tensor* t : {&keys, &values, &image_queries}) {
    if (t->defined()) n += t->nbytes();
  }
  return n;
}

// ---------------------------------------------------------------------------
// TwoWayTransformer

absl::StatusOr<TwoWayTransformer> TwoWayTransformer::Create(
    const Sam2Config& config, const StateDict& weights) {
  return Create(config, ModuleWeights(weights, "sam_mask_decoder.transformer."));
}

absl::StatusOr<TwoWayTransformer> TwoWayTransformer::Create(
    const Sam2Config& config, ModuleWeights weights) {
  const int64_t dim = config.HiddenDim();
  if (dim <= 0 || dim % kTwoWayAttentionDownsampleRate != 0 ||
      (dim / kTwoWayAttentionDownsampleRate) % kTwoWayNumHeads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "two-way transformer: embedding dim ", dim, " is not divisible by ",
        kTwoWayNumHeads, " heads after downsampling by ",
        kTwoWayAttentionDownsampleRate));
  }
  TwoWayTransformer t;
  t.embedding_dim_ = dim;
  ModuleWeights layers = weights.Child("layers");
  for (int i = 0; i < kTwoWayDepth; ++i) {
    t.layers_.push_back(TwoWayAttentionBlock::Load(
        layers.Child(std::to_string(i)), dim, kTwoWayNumHeads, kTwoWayMlpDim,
        kTwoWayAttentionDownsampleRate, /*skip_first_layer_pe=*/i == 0));
  }
  t.final_attn_token_to_image_ =
      TwoWayAttention::Load(weights.Child("final_attn_token_to_image"), dim,
                            kTwoWayNumHeads, kTwoWayAttentionDownsampleRate);
  t.norm_final_attn_ = LinearParams::LoadNorm(weights, "norm_final_attn", dim);
  if (!weights.status().ok()) return weights.status();
  return t;
}

namespace {

// [B, C, h, w] -> [B, hw, C], made contiguous once: as a transposed view
// (the reference's) every residual add of the first layer runs a strided,
// mixed-dtype loop (~4 ms each at 1024x1024 on 2 cores, three of them)
// instead of one ~1 ms copy here. Same values.
at::Tensor ImageTokens(const at::Tensor& image_embedding) {
  return image_embedding.flatten(2).permute({0, 2, 1}).contiguous();
}

at::Tensor PeTokens(const at::Tensor& image_pe) {
  return image_pe.flatten(2).permute({0, 2, 1});
}

}  // namespace

absl::StatusOr<TwoWayImageProjections> TwoWayTransformer::ProjectImage(
    const at::Tensor& image_embedding, const at::Tensor& image_pe) const {
  if (!image_embedding.defined() || image_embedding.dim() != 4 ||
      image_embedding.size(0) != 1 ||
      image_embedding.size(1) != embedding_dim_ || !image_pe.defined() ||
      image_pe.sizes() != image_embedding.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "two-way transformer: projecting an image needs an embedding [1,",
        embedding_dim_, ",h,w] and a PE of its shape, got ",
        ShapeOf(image_embedding), " and ", ShapeOf(image_pe)));
  }
  try {
    c10::InferenceMode guard;
    return layers_.front().ProjectImage(ImageTokens(image_embedding),
                                        PeTokens(image_pe));
  } catch (const c10::Error& e) {
    return TorchError("two-way transformer: projecting the image: ", e);
  }
}

absl::StatusOr<TwoWayTransformerOutput> TwoWayTransformer::Forward(
    const at::Tensor& image_embedding, const at::Tensor& image_pe,
    const at::Tensor& point_embedding,
    const TwoWayImageProjections* first_layer_image) const {
  if (!image_embedding.defined() || image_embedding.dim() != 4 ||
      image_embedding.size(1) != embedding_dim_) {
    return absl::InvalidArgumentError(
        absl::StrCat("two-way transformer: image embedding must be [B,",
                     embedding_dim_, ",h,w], got ", ShapeOf(image_embedding)));
  }
  if (!image_pe.defined() || image_pe.sizes() != image_embedding.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "two-way transformer: image PE ", ShapeOf(image_pe),
        " does not match the image embedding ", ShapeOf(image_embedding)));
  }
  if (!point_embedding.defined() || point_embedding.dim() != 3 ||
      (point_embedding.size(0) != image_embedding.size(0) &&
       image_embedding.size(0) != 1) ||
      point_embedding.size(2) != embedding_dim_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "two-way transformer: point embedding must be [",
        image_embedding.size(0) == 1 ? "B"
                                     : std::to_string(image_embedding.size(0)),
        ",N,", embedding_dim_, "], got ",
        ShapeOf(point_embedding)));
  }
  if (first_layer_image != nullptr) {
    const int64_t hw = image_embedding.size(2) * image_embedding.size(3);
    for (const at::Tensor* t :
         {&first_layer_image->keys, &first_layer_image->values,
          &first_layer_image->image_queries}) {
      if (!t->defined() || t->dim() != 4 ||
          t->size(0) != image_embedding.size(0) || t->size(2) != hw) {
        return absl::InvalidArgumentError(absl::StrCat(
            "two-way transformer: the first layer's image projections ",
            ShapeOf(*t), " do not belong to the image embedding ",
            ShapeOf(image_embedding)));
      }
    }
  }
  try {
    c10::InferenceMode guard;
    const at::Tensor pe_tokens = PeTokens(image_pe);
    at::Tensor queries = point_embedding;
    at::Tensor keys = ImageTokens(image_embedding);
    for (size_t i = 0; i < layers_.size(); ++i) {
      std::tie(queries, keys) =
          layers_[i](queries, keys, point_embedding, pe_tokens,
                     i == 0 ? first_layer_image : nullptr);
    }
    const at::Tensor q = queries + point_embedding;
    const at::Tensor k = keys + pe_tokens;
    queries = queries + final_attn_token_to_image_(q, k, keys);
    queries = TwoWayLayerNorm(queries, norm_final_attn_);
    return TwoWayTransformerOutput{queries, keys};
  } catch (const c10::Error& e) {
    return TorchError("two-way transformer failed: ", e);
  }
}

}  // namespace sam2
