// Expected state dict of a Sam2Config; see state_dict_spec.h.
//
// Order follows torch.nn.Module.state_dict(): a module's own parameters (in
// registration order), then its persistent buffers, then its children (in
// registration order). A child that the reference first registers as one
// module and later replaces (SAM2Base.obj_ptr_proj, MaskDecoder.
// pred_obj_score_head, Fuser.proj) keeps its first position.

#include "model/state_dict_spec.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace sam2 {

int64_t TensorSpec::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool operator==(const TensorSpec& a, const TensorSpec& b) {
  return a.name == b.name && a.shape == b.shape;
}

namespace {

// Appends the parameters of the torch.nn building blocks the reference uses.
class SpecBuilder {
 public:
  void Add(std::string name, std::vector<int64_t> shape) {
    specs_.push_back({std::move(name), std::move(shape)});
  }
  // nn.Linear(in, out).
  void Linear(const std::string& p, int64_t in, int64_t out) {
    Add(p + ".weight", {out, in});
    Add(p + ".bias", {out});
  }
  // nn.Conv2d(in, out, k, groups=g).
  void Conv2d(const std::string& p, int64_t in, int64_t out, int64_t k,
              int64_t groups = 1) {
    Add(p + ".weight", {out, in / groups, k, k});
    Add(p + ".bias", {out});
  }
  // nn.ConvTranspose2d(in, out, k).
  void ConvTranspose2d(const std::string& p, int64_t in, int64_t out,
                       int64_t k) {
    Add(p + ".weight", {in, out, k, k});
    Add(p + ".bias", {out});
  }
  // nn.LayerNorm(dim) and sam2_utils.LayerNorm2d(dim).
  void LayerNorm(const std::string& p, int64_t dim) {
    Add(p + ".weight", {dim});
    Add(p + ".bias", {dim});
  }
  // nn.Embedding(n, dim).
  void Embedding(const std::string& p, int64_t n, int64_t dim) {
    Add(p + ".weight", {n, dim});
  }
  // sam2_utils.MLP(in, hidden, out, num_layers).
  void Mlp(const std::string& p, int64_t in, int64_t hidden, int64_t out,
           int num_layers) {
    for (int i = 0; i < num_layers; ++i) {
      const int64_t n_in = i == 0 ? in : hidden;
      const int64_t n_out = i == num_layers - 1 ? out : hidden;
      Linear(absl::StrCat(p, ".layers.", i), n_in, n_out);
    }
  }
  // sam.transformer.Attention / RoPEAttention.
  void Attention(const std::string& p, int64_t embedding_dim,
                 int64_t downsample_rate, int64_t kv_in_dim) {
    const int64_t internal = embedding_dim / downsample_rate;
    Linear(p + ".q_proj", embedding_dim, internal);
    Linear(p + ".k_proj", kv_in_dim, internal);
    Linear(p + ".v_proj", kv_in_dim, internal);
    Linear(p + ".out_proj", internal, embedding_dim);
  }

  std::vector<TensorSpec> Take() { return std::move(specs_); }

 private:
  std::vector<TensorSpec> specs_;
};

void AddHiera(const HieraConfig& t, SpecBuilder& b) {
  const std::string p = "image_encoder.trunk";
  const int64_t e = t.embed_dim;
  const int64_t bkg_h = t.window_pos_embed_bkg_spatial_size.size() > 0
                            ? t.window_pos_embed_bkg_spatial_size[0]
                            : 0;
  const int64_t bkg_w = t.window_pos_embed_bkg_spatial_size.size() > 1
                            ? t.window_pos_embed_bkg_spatial_size[1]
                            : 0;
  const int64_t win = t.window_spec.empty() ? 0 : t.window_spec[0];
  b.Add(p + ".pos_embed", {1, e, bkg_h, bkg_w});
  b.Add(p + ".pos_embed_window", {1, e, win, win});
  b.Conv2d(p + ".patch_embed.proj", kPatchEmbedInChannels, e,
           kPatchEmbedKernel);
  const std::vector<HieraConfig::Block> blocks = t.Blocks();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const HieraConfig::Block& blk = blocks[i];
    const std::string bp = absl::StrCat(p, ".blocks.", i);
    const int64_t hidden = static_cast<int64_t>(blk.dim_out * kHieraMlpRatio);
    b.LayerNorm(bp + ".norm1", blk.dim);
    b.Linear(bp + ".attn.qkv", blk.dim, 3 * int64_t{blk.dim_out});
    b.Linear(bp + ".attn.proj", blk.dim_out, blk.dim_out);
    b.LayerNorm(bp + ".norm2", blk.dim_out);
    b.Mlp(bp + ".mlp", blk.dim_out, hidden, blk.dim_out, 2);
    if (blk.dim != blk.dim_out) b.Linear(bp + ".proj", blk.dim, blk.dim_out);
  }
}

void AddNeck(const FpnNeckConfig& n, SpecBuilder& b) {
  for (size_t i = 0; i < n.backbone_channel_list.size(); ++i) {
    b.Conv2d(absl::StrCat("image_encoder.neck.convs.", i, ".conv"),
             n.backbone_channel_list[i], n.d_model, n.kernel_size);
  }
}

void AddMemoryAttention(const MemoryAttentionConfig& ma, SpecBuilder& b) {
  const MemoryAttentionLayerConfig& l = ma.layer;
  for (int i = 0; i < ma.num_layers; ++i) {
    const std::string p = absl::StrCat("memory_attention.layers.", i);
    const RoPEAttentionConfig& sa = l.self_attention;
    const RoPEAttentionConfig& ca = l.cross_attention;
    b.Attention(p + ".self_attn", sa.embedding_dim, sa.downsample_rate,
                sa.KvInDim());
    b.Attention(p + ".cross_attn_image", ca.embedding_dim, ca.downsample_rate,
                ca.KvInDim());
    b.Linear(p + ".linear1", l.d_model, l.dim_feedforward);
    b.Linear(p + ".linear2", l.dim_feedforward, l.d_model);
    b.LayerNorm(p + ".norm1", l.d_model);
    b.LayerNorm(p + ".norm2", l.d_model);
    b.LayerNorm(p + ".norm3", l.d_model);
  }
  b.LayerNorm("memory_attention.norm", ma.d_model);
}

void AddMemoryEncoder(const MemoryEncoderConfig& me, SpecBuilder& b) {
  // MaskDownSampler: [Conv2d, LayerNorm2d, GELU] x n, then a 1x1 Conv2d.
  const MaskDownSamplerConfig& md = me.mask_downsampler;
  const std::string mp = "memory_encoder.mask_downsampler.encoder.";
  int64_t in_chans = 1;
  int64_t out_chans = 1;
  const int n = md.NumLayers();
  for (int i = 0; i < n; ++i) {
    out_chans = in_chans * md.stride * md.stride;
    b.Conv2d(absl::StrCat(mp, 3 * i), in_chans, out_chans, md.kernel_size);
    b.LayerNorm(absl::StrCat(mp, 3 * i + 1), out_chans);
    in_chans = out_chans;
  }
  b.Conv2d(absl::StrCat(mp, 3 * n), out_chans, md.embed_dim, 1);

  b.Conv2d("memory_encoder.pix_feat_proj", me.in_dim, me.in_dim, 1);

  const FuserConfig& f = me.fuser;
  if (f.input_projection) {
    const int64_t dim = f.dim.value_or(0);
    b.Conv2d("memory_encoder.fuser.proj", dim, dim, 1);
  }
  const CXBlockConfig& cx = f.layer;
  for (int i = 0; i < f.num_layers; ++i) {
    const std::string p = absl::StrCat("memory_encoder.fuser.layers.", i);
    if (cx.layer_scale_init_value > 0) b.Add(p + ".gamma", {cx.dim});
    b.Conv2d(p + ".dwconv", cx.dim, cx.dim, cx.kernel_size,
             cx.use_dwconv ? cx.dim : 1);
    b.LayerNorm(p + ".norm", cx.dim);
    b.Linear(p + ".pwconv1", cx.dim, int64_t{kCxBlockExpansion} * cx.dim);
    b.Linear(p + ".pwconv2", int64_t{kCxBlockExpansion} * cx.dim, cx.dim);
  }
  if (me.out_dim != me.in_dim) {
    b.Conv2d("memory_encoder.out_proj", me.in_dim, me.out_dim, 1);
  }
}

void AddPromptEncoder(int64_t c, SpecBuilder& b) {
  const std::string p = "sam_prompt_encoder";
  b.Add(p + ".pe_layer.positional_encoding_gaussian_matrix", {2, c / 2});
  for (int i = 0; i < kPromptNumPointEmbeddings; ++i) {
    b.Embedding(absl::StrCat(p, ".point_embeddings.", i), 1, c);
  }
  b.Embedding(p + ".not_a_point_embed", 1, c);
  const int64_t quarter = kPromptMaskInChans / 4;
  b.Conv2d(p + ".mask_downscaling.0", 1, quarter, 2);
  b.LayerNorm(p + ".mask_downscaling.1", quarter);
  b.Conv2d(p + ".mask_downscaling.3", quarter, kPromptMaskInChans, 2);
  b.LayerNorm(p + ".mask_downscaling.4", kPromptMaskInChans);
  b.Conv2d(p + ".mask_downscaling.6", kPromptMaskInChans, c, 1);
  b.Embedding(p + ".no_mask_embed", 1, c);
}

void AddMaskDecoder(const Sam2Config& config, int64_t c, SpecBuilder& b) {
  const std::string p = "sam_mask_decoder";
  const std::string tp = p + ".transformer";
  for (int i = 0; i < kTwoWayDepth; ++i) {
    const std::string lp = absl::StrCat(tp, ".layers.", i);
    b.Attention(lp + ".self_attn", c, 1, c);
    b.LayerNorm(lp + ".norm1", c);
    b.Attention(lp + ".cross_attn_token_to_image", c,
                kTwoWayAttentionDownsampleRate, c);
    b.LayerNorm(lp + ".norm2", c);
    b.Mlp(lp + ".mlp", c, kTwoWayMlpDim, c, 2);
    b.LayerNorm(lp + ".norm3", c);
    b.LayerNorm(lp + ".norm4", c);
    b.Attention(lp + ".cross_attn_image_to_token", c,
                kTwoWayAttentionDownsampleRate, c);
  }
  b.Attention(tp + ".final_attn_token_to_image", c,
              kTwoWayAttentionDownsampleRate, c);
  b.LayerNorm(tp + ".norm_final_attn", c);

  b.Embedding(p + ".iou_token", 1, c);
  b.Embedding(p + ".mask_tokens", kNumMaskTokens, c);
  if (config.pred_obj_scores) b.Embedding(p + ".obj_score_token", 1, c);
  b.ConvTranspose2d(p + ".output_upscaling.0", c, c / 4, 2);
  b.LayerNorm(p + ".output_upscaling.1", c / 4);
  b.ConvTranspose2d(p + ".output_upscaling.3", c / 4, c / 8, 2);
  if (config.use_high_res_features_in_sam) {
    b.Conv2d(p + ".conv_s0", c, c / 8, 1);
    b.Conv2d(p + ".conv_s1", c, c / 4, 1);
  }
  for (int i = 0; i < kNumMaskTokens; ++i) {
    b.Mlp(absl::StrCat(p, ".output_hypernetworks_mlps.", i), c, c, c / 8, 3);
  }
  b.Mlp(p + ".iou_prediction_head", c, kIouHeadHiddenDim, kNumMaskTokens,
        kIouHeadDepth);
  if (config.pred_obj_scores) {
    if (config.pred_obj_scores_mlp) {
      b.Mlp(p + ".pred_obj_score_head", c, c, 1, 3);
    } else {
      b.Linear(p + ".pred_obj_score_head", c, 1);
    }
  }
}

std::string ShapeStr(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// "a, b, c ... and 7 more" with at most `limit` items.
std::string Truncated(const std::vector<std::string>& items, size_t limit) {
  if (items.size() <= limit) return absl::StrJoin(items, ", ");
  std::vector<std::string> head(items.begin(), items.begin() + limit);
  return absl::StrCat(absl::StrJoin(head, ", "), " ... and ",
                      items.size() - limit, " more");
}

constexpr size_t kMaxListed = 20;

}  // namespace

std::vector<TensorSpec> ExpectedTensors(const Sam2Config& config) {
  SpecBuilder b;
  const int64_t c = config.HiddenDim();
  const int64_t mem = config.MemDim();

  // SAM2Base's own parameters, in registration order.
  b.Add("maskmem_tpos_enc", {config.num_maskmem, 1, 1, mem});
  b.Add("no_mem_embed", {1, 1, c});
  b.Add("no_mem_pos_enc", {1, 1, c});
  if (config.pred_obj_scores && config.use_obj_ptrs_in_encoder) {
    b.Add("no_obj_ptr", {1, c});
  }
  if (config.no_obj_embed_spatial) b.Add("no_obj_embed_spatial", {1, mem});

  // Children, in registration order.
  AddHiera(config.image_encoder.trunk, b);
  AddNeck(config.image_encoder.neck, b);
  if (config.use_obj_ptrs_in_encoder) {
    b.Conv2d("mask_downsample", 1, 1, kMaskDownsampleKernel);
  }
  AddMemoryAttention(config.memory_attention, b);
  AddMemoryEncoder(config.memory_encoder, b);
  AddPromptEncoder(c, b);
  AddMaskDecoder(config, c, b);
  if (config.use_obj_ptrs_in_encoder) {
    if (config.use_mlp_for_obj_ptr_proj) {
      b.Mlp("obj_ptr_proj", c, c, c, kObjPtrProjMlpLayers);
    } else {
      b.Linear("obj_ptr_proj", c, c);
    }
  }
  if (config.proj_tpos_enc_in_obj_ptrs) {
    b.Linear("obj_ptr_tpos_proj", c, mem);
  }
  return b.Take();
}

int64_t ExpectedParameterCount(const Sam2Config& config) {
  int64_t n = 0;
  for (const TensorSpec& spec : ExpectedTensors(config)) {
    n += spec.NumElements();
  }
  return n;
}

absl::Status ValidateStateDict(const Sam2Config& config,
                               const StateDict& state_dict) {
  const std::vector<TensorSpec> expected = ExpectedTensors(config);
  absl::flat_hash_set<std::string> expected_names;
  std::vector<std::string> missing;
  std::vector<std::string> misshaped;
  for (const TensorSpec& spec : expected) {
    expected_names.insert(spec.name);
    const at::Tensor* tensor = state_dict.Find(spec.name);
    if (tensor == nullptr) {
      missing.push_back(spec.name);
      continue;
    }
    const std::vector<int64_t> got(tensor->sizes().begin(),
                                   tensor->sizes().end());
    if (got != spec.shape) {
      misshaped.push_back(absl::StrCat(spec.name, " (expected ",
                                       ShapeStr(spec.shape), ", got ",
                                       ShapeStr(got), ")"));
    }
  }
  std::vector<std::string> unexpected;
  for (const NamedTensor& entry : state_dict) {
    if (!expected_names.contains(entry.name)) {
      unexpected.push_back(entry.name);
    }
  }
  if (missing.empty() && unexpected.empty() && misshaped.empty()) {
    return absl::OkStatus();
  }
  std::vector<std::string> parts;
  if (!missing.empty()) {
    parts.push_back(absl::StrCat(missing.size(), " missing: ",
                                 Truncated(missing, kMaxListed)));
  }
  if (!unexpected.empty()) {
    parts.push_back(absl::StrCat(unexpected.size(), " unexpected: ",
                                 Truncated(unexpected, kMaxListed)));
  }
  if (!misshaped.empty()) {
    parts.push_back(absl::StrCat(misshaped.size(), " with the wrong shape: ",
                                 Truncated(misshaped, kMaxListed)));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "checkpoint does not match model config '", config.name, "' (",
      expected.size(), " tensors expected, ", state_dict.size(),
      " present): ", absl::StrJoin(parts, "; ")));
}

absl::StatusOr<Sam2Config> DetectVariant(const StateDict& state_dict) {
  // What the checkpoint says about itself.
  const at::Tensor* patch = state_dict.Find(
      "image_encoder.trunk.patch_embed.proj.weight");
  const at::Tensor* pos = state_dict.Find("image_encoder.trunk.pos_embed");
  int64_t embed_dim = -1;
  if (patch != nullptr && patch->dim() == 4) embed_dim = patch->size(0);
  std::vector<int64_t> pos_hw;
  if (pos != nullptr && pos->dim() == 4) pos_hw = {pos->size(2), pos->size(3)};
  int64_t num_blocks = 0;
  constexpr absl::string_view kBlocks = "image_encoder.trunk.blocks.";
  for (const NamedTensor& entry : state_dict) {
    absl::string_view name = entry.name;
    if (!absl::ConsumePrefix(&name, kBlocks)) continue;
    const size_t dot = name.find('.');
    int64_t index = 0;
    if (absl::SimpleAtoi(name.substr(0, dot), &index)) {
      num_blocks = std::max(num_blocks, index + 1);
    }
  }
  const bool has_21_keys = state_dict.Contains("no_obj_embed_spatial") ||
                           state_dict.Contains("obj_ptr_tpos_proj.weight");
  const ModelFamily family =
      has_21_keys ? ModelFamily::kSam2_1 : ModelFamily::kSam2;

  const std::string found = absl::StrCat(
      "Hiera embed_dim ",
      embed_dim < 0 ? std::string("unknown") : absl::StrCat(embed_dim), ", ",
      num_blocks, " blocks, pos_embed ",
      pos_hw.empty() ? std::string("missing") : absl::StrJoin(pos_hw, "x"),
      ", ", has_21_keys ? "SAM 2.1" : "SAM 2", " object-pointer keys");

  std::string near_miss;
  for (const std::string& name : PresetNames()) {
    absl::StatusOr<Sam2Config> preset = PresetConfig(name);
    if (!preset.ok()) return preset.status();
    const HieraConfig& trunk = preset->image_encoder.trunk;
    const bool signature_matches =
        preset->family == family && trunk.embed_dim == embed_dim &&
        trunk.NumBlocks() == num_blocks &&
        pos_hw == std::vector<int64_t>(
                      trunk.window_pos_embed_bkg_spatial_size.begin(),
                      trunk.window_pos_embed_bkg_spatial_size.end());
    if (!signature_matches) continue;
    absl::Status valid = ValidateStateDict(*preset, state_dict);
    if (valid.ok()) return *std::move(preset);
    near_miss = std::string(valid.message());
  }
  std::string message = absl::StrCat(
      "the checkpoint (", state_dict.size(), " tensors: ", found,
      ") is none of the official variants (",
      absl::StrJoin(PresetNames(), ", "), ")");
  if (!near_miss.empty()) {
    absl::StrAppend(&message, "; closest: ", near_miss);
  }
  absl::StrAppend(&message,
                  "; pass the model config explicitly with --config");
  return absl::InvalidArgumentError(message);
}

}  // namespace sam2
