// TwoWayTransformer: the SAM mask decoder's transformer, in which the prompt
// tokens and the image embedding attend to each other.
//
// Mirrors `TwoWayTransformer`, `TwoWayAttentionBlock` and `Attention` of the
// reference's modeling/sam/transformer.py, and `MLP` of
// modeling/sam2_utils.py (here `SamMlp`, also used by the mask decoder's
// heads). Sizes come from the config (embedding dim = the neck's d_model)
// and from the constants the reference hard-codes in `_build_sam_heads`
// (depth 2, 8 heads, MLP dim 2048, cross-attention downsample rate 2).
//
// Numerics kept from the reference:
//   - layer 0 (`skip_first_layer_pe`): the token self-attention takes the
//     tokens without PE as q, k and v, and its output REPLACES the tokens (no
//     residual); later layers add the PE to q and k and keep the residual;
//   - nn.LayerNorm eps 1e-5 everywhere; ReLU MLP;
//   - attention is at::scaled_dot_product_attention (softmax(q k^T /
//     sqrt(head_dim)) v per head), as the reference calls
//     F.scaled_dot_product_attention; no dropout. (On the golden fixtures it
//     matches the reference slightly better than an explicit
//     matmul-softmax-matmul; both are within 1e-5 on the low-res logits.)
// Deliberate differences: a batch-1 image shared by several prompt sets is
// not repeated per set (the reference's repeat_interleave): its side of the
// first layer is computed once and broadcast (see Forward); and that side
// may come precomputed (ProjectImage, kept per image by the image
// predictor); same values either way.
//
// Ownership/thread-safety: every class holds its weights as plain tensors
// (shared with the StateDict it was created from) and is immutable after
// Create(); const methods may be called from many threads at once.

#ifndef SAM2_MODEL_TWO_WAY_TRANSFORMER_H_
#define SAM2_MODEL_TWO_WAY_TRANSFORMER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/module_weights.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

// An nn.Linear's parameters.
struct LinearParams {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]

  // Fetches `<name>.weight` [out, in] and `<name>.bias` [out].
  static LinearParams Load(ModuleWeights& weights, const std::string& name,
                           int64_t in_dim, int64_t out_dim);
  // A (Layer)norm's `<name>.weight` and `<name>.bias`, both [dim].
  static LinearParams LoadNorm(ModuleWeights& weights, const std::string& name,
                               int64_t dim);
  // x @ weight^T + bias. May throw c10::Error.
  at::Tensor operator()(const at::Tensor& x) const;
};

// sam2_utils.MLP: num_layers Linear layers, the activation between them
// (ReLU for every SAM head), an optional sigmoid at the end.
class SamMlp {
 public:
  enum class Activation { kRelu, kGelu };

  // Reads `layers.{0..num_layers-1}` under `weights`. Errors are recorded in
  // `weights` (see ModuleWeights::status()).
  static SamMlp Load(ModuleWeights weights, int64_t input_dim,
                     int64_t hidden_dim, int64_t output_dim, int num_layers,
                     bool sigmoid_output = false,
                     Activation activation = Activation::kRelu);

  // Applies the MLP to the last dimension of x. May throw c10::Error.
  at::Tensor operator()(const at::Tensor& x) const;

  int num_layers() const { return static_cast<int>(layers_.size()); }

 private:
  std::vector<LinearParams> layers_;
  bool sigmoid_output_ = false;
  Activation activation_ = Activation::kRelu;
};

// What the transformer's first layer computes from one image's tokens and
// their PE alone, before any prompt token is involved (heads split,
// [1, heads, HW, d]): the key and value projections of the tokens'
// attention to the image, and the query projection of the image's attention
// to the tokens. The same for every prompt on that image without a mask
// input, so the image predictor computes it once per image
// (TwoWayTransformer::ProjectImage) and every click reuses it.
struct TwoWayImageProjections {
  at::Tensor keys;           // k_proj(image + PE), token-to-image attention
  at::Tensor values;         // v_proj(image), token-to-image attention
  at::Tensor image_queries;  // q_proj(image + PE), image-to-token attention

  bool defined() const { return keys.defined(); }
  int64_t NumBytes() const;
};

// transformer.Attention: q/k/v projections to embedding_dim /
// downsample_rate channels, multi-head scaled dot-product attention, output
// projection back to embedding_dim.
class TwoWayAttention {
 public:
  static TwoWayAttention Load(ModuleWeights weights, int64_t embedding_dim,
                              int64_t num_heads, int64_t downsample_rate);

  // q [B, Nq, C], k and v [B, Nk, C] -> [B, Nq, C]. May throw c10::Error.
  at::Tensor operator()(const at::Tensor& q, const at::Tensor& k,
                        const at::Tensor& v) const;

  // The same in two steps: each input projected and split into heads
  // ([B, N, C] -> [B, heads, N, d]), then attention over projected heads
  // (a batch-1 side is broadcast to the others' batch) and the output
  // projection. May throw c10::Error.
  at::Tensor ProjectQueries(const at::Tensor& x) const;
  at::Tensor ProjectKeys(const at::Tensor& x) const;
  at::Tensor ProjectValues(const at::Tensor& x) const;
  at::Tensor Attend(at::Tensor q, at::Tensor k, at::Tensor v) const;

  int64_t internal_dim() const { return internal_dim_; }

 private:
  LinearParams q_proj_, k_proj_, v_proj_, out_proj_;
  int64_t num_heads_ = 0;
  int64_t internal_dim_ = 0;
};

// transformer.TwoWayAttentionBlock.
class TwoWayAttentionBlock {
 public:
  static TwoWayAttentionBlock Load(ModuleWeights weights,
                                   int64_t embedding_dim, int64_t num_heads,
                                   int64_t mlp_dim, int64_t downsample_rate,
                                   bool skip_first_layer_pe);

  // queries/query_pe [B, N, C], keys/key_pe [B, HW, C] -> (queries, keys).
  // `image`, when not null, is ProjectImage(keys, key_pe), computed earlier.
  // May throw c10::Error.
  std::pair<at::Tensor, at::Tensor> operator()(
      const at::Tensor& queries, const at::Tensor& keys,
      const at::Tensor& query_pe, const at::Tensor& key_pe,
      const TwoWayImageProjections* image = nullptr) const;

  // The block's projections of keys [1, HW, C] and key_pe that depend on
  // nothing else. May throw c10::Error.
  TwoWayImageProjections ProjectImage(const at::Tensor& keys,
                                      const at::Tensor& key_pe) const;

 private:
  TwoWayAttention self_attn_, cross_attn_token_to_image_,
      cross_attn_image_to_token_;
  LinearParams norm1_, norm2_, norm3_, norm4_;  // LayerNorm weight/bias
  SamMlp mlp_;
  int64_t embedding_dim_ = 0;
  bool skip_first_layer_pe_ = false;
};

struct TwoWayTransformerOutput {
  at::Tensor queries;  // [B, N, C]: the processed point/token embeddings
  at::Tensor keys;     // [B, HW, C]: the processed image embedding
};

class TwoWayTransformer {
 public:
  // Weights under "sam_mask_decoder.transformer.".
  static absl::StatusOr<TwoWayTransformer> Create(const Sam2Config& config,
                                                  const StateDict& weights);
  // Weights under the prefix of `weights` (e.g. a Child of the decoder's).
  static absl::StatusOr<TwoWayTransformer> Create(const Sam2Config& config,
                                                  ModuleWeights weights);

  // image_embedding [B, C, h, w], image_pe [B, C, h, w], point_embedding
  // [B, N, C]; or image_embedding and image_pe with batch 1, shared by B
  // prompt sets: the same as passing them repeated B times, with the image
  // side of the first layer (its key/value projections for the tokens'
  // attention, and the query projection of the image's attention to the
  // tokens) computed once and broadcast. INVALID_ARGUMENT on shape
  // mismatches, INTERNAL if LibTorch fails. Runs under c10::InferenceMode.
  // `first_layer_image`, when not null, is ProjectImage(image_embedding,
  // image_pe) computed earlier (for a batch of images, each one's stacked
  // along the batch): the first layer reuses it instead of projecting the
  // image again, with the same values.
  absl::StatusOr<TwoWayTransformerOutput> Forward(
      const at::Tensor& image_embedding, const at::Tensor& image_pe,
      const at::Tensor& point_embedding,
      const TwoWayImageProjections* first_layer_image = nullptr) const;

  // The first layer's image side for image_embedding and image_pe, both
  // [1, C, h, w]. INVALID_ARGUMENT on shape mismatches, INTERNAL if LibTorch
  // fails. Runs under c10::InferenceMode.
  absl::StatusOr<TwoWayImageProjections> ProjectImage(
      const at::Tensor& image_embedding, const at::Tensor& image_pe) const;

  int64_t embedding_dim() const { return embedding_dim_; }

 private:
  std::vector<TwoWayAttentionBlock> layers_;
  TwoWayAttention final_attn_token_to_image_;
  LinearParams norm_final_attn_;
  int64_t embedding_dim_ = 0;
};

// nn.LayerNorm over the last dimension with eps 1e-5 (the two-way
// transformer's). May throw c10::Error.
at::Tensor TwoWayLayerNorm(const at::Tensor& x, const LinearParams& norm);

}  // namespace sam2

#endif  // SAM2_MODEL_TWO_WAY_TRANSFORMER_H_
