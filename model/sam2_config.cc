// Sam2Config: presets, derived sizes, validation and the Hydra YAML reader.
// See sam2_config.h. Mirrors the constructors listed there; the YAML reader
// accepts exactly the keyword arguments those constructors accept.

#include "model/sam2_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace sam2 {

absl::string_view FamilyName(ModelFamily family) {
  return family == ModelFamily::kSam2_1 ? "sam2.1" : "sam2";
}

// ---------------------------------------------------------------------------
// Derived sizes.

int HieraConfig::NumBlocks() const {
  int depth = 0;
  for (int s : stages) depth += s;
  return depth;
}

std::vector<int> HieraConfig::StageEnds() const {
  std::vector<int> ends;
  int sum = 0;
  for (int s : stages) {
    sum += s;
    ends.push_back(sum - 1);
  }
  return ends;
}

std::vector<int> HieraConfig::QPoolBlocks() const {
  std::vector<int> ends = StageEnds();
  std::vector<int> blocks;
  for (size_t i = 0; i + 1 < ends.size(); ++i) {
    if (static_cast<int>(blocks.size()) >= q_pool) break;
    blocks.push_back(ends[i] + 1);
  }
  return blocks;
}

std::vector<HieraConfig::Block> HieraConfig::Blocks() const {
  const std::vector<int> ends = StageEnds();
  const std::vector<int> pooled = QPoolBlocks();
  auto contains = [](const std::vector<int>& v, int x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  std::vector<Block> blocks;
  const int depth = NumBlocks();
  blocks.reserve(depth > 0 ? depth : 0);
  int dim = embed_dim;
  int heads = num_heads;
  size_t stage = 0;  // the stage whose window the block uses (lags by one)
  for (int i = 0; i < depth; ++i) {
    Block b;
    b.dim = dim;
    b.dim_out = dim;
    b.window_size = stage < window_spec.size() ? window_spec[stage] : 0;
    if (contains(global_att_blocks, i)) b.window_size = 0;
    if (contains(ends, i - 1)) {
      b.dim_out = static_cast<int>(dim * dim_mul);
      heads = static_cast<int>(heads * head_mul);
      ++stage;
    }
    b.num_heads = heads;
    b.q_pool = contains(pooled, i);
    blocks.push_back(b);
    dim = b.dim_out;
  }
  return blocks;
}

std::vector<int> HieraConfig::StageDims() const {
  const std::vector<Block> blocks = Blocks();
  std::vector<int> dims;
  for (int end : StageEnds()) {
    if (end >= 0 && end < static_cast<int>(blocks.size())) {
      dims.push_back(blocks[end].dim_out);
    }
  }
  return dims;
}

std::vector<int> HieraConfig::StageHeads() const {
  const std::vector<Block> blocks = Blocks();
  std::vector<int> heads;
  for (int end : StageEnds()) {
    if (end >= 0 && end < static_cast<int>(blocks.size())) {
      heads.push_back(blocks[end].num_heads);
    }
  }
  return heads;
}

std::vector<int> HieraConfig::ChannelList() const {
  std::vector<int> dims = StageDims();
  if (!return_interm_layers) {
    return dims.empty() ? dims : std::vector<int>{dims.back()};
  }
  std::reverse(dims.begin(), dims.end());
  return dims;
}

int MaskDownSamplerConfig::NumLayers() const {
  if (stride < 2 || total_stride < 1) return 0;
  int n = 0;
  int64_t product = 1;
  while (product * stride <= total_stride) {
    product *= stride;
    ++n;
  }
  return n;
}

int Sam2Config::MemDim() const {
  return memory_encoder.out_dim != memory_encoder.in_dim
             ? memory_encoder.out_dim
             : HiddenDim();
}

std::vector<int> Sam2Config::BackboneStrides() const {
  const HieraConfig& trunk = image_encoder.trunk;
  const std::vector<int> pooled = trunk.QPoolBlocks();
  const std::vector<int> ends = trunk.StageEnds();
  const int qs = trunk.q_stride.empty() ? 1 : trunk.q_stride[0];
  std::vector<int> strides;
  int stride = kPatchEmbedStride;
  for (size_t s = 0; s < ends.size(); ++s) {
    const int first_block = s == 0 ? 0 : ends[s - 1] + 1;
    if (std::find(pooled.begin(), pooled.end(), first_block) != pooled.end()) {
      stride *= qs;
    }
    strides.push_back(stride);
  }
  if (!trunk.return_interm_layers && !strides.empty()) {
    strides = {strides.back()};
  }
  const int keep = static_cast<int>(strides.size()) - image_encoder.scalp;
  strides.resize(std::max(0, std::min(keep, static_cast<int>(strides.size()))));
  return strides;
}

std::vector<std::array<int, 2>> Sam2Config::BackboneFeatureSizes() const {
  // PatchEmbed gives ceil(S / 4); each q-pool block max-pools with floor.
  const HieraConfig& trunk = image_encoder.trunk;
  const std::vector<int> pooled = trunk.QPoolBlocks();
  const std::vector<int> ends = trunk.StageEnds();
  const int qh = trunk.q_stride.size() == 2 ? trunk.q_stride[0] : 1;
  const int qw = trunk.q_stride.size() == 2 ? trunk.q_stride[1] : 1;
  std::array<int, 2> hw = {
      (image_size + 2 * kPatchEmbedPadding - kPatchEmbedKernel) /
              kPatchEmbedStride +
          1,
      (image_size + 2 * kPatchEmbedPadding - kPatchEmbedKernel) /
              kPatchEmbedStride +
          1};
  std::vector<std::array<int, 2>> sizes;
  for (size_t s = 0; s < ends.size(); ++s) {
    const int first_block = s == 0 ? 0 : ends[s - 1] + 1;
    if (std::find(pooled.begin(), pooled.end(), first_block) != pooled.end() &&
        qh > 0 && qw > 0) {
      hw = {hw[0] / qh, hw[1] / qw};
    }
    sizes.push_back(hw);
  }
  if (!trunk.return_interm_layers && !sizes.empty()) sizes = {sizes.back()};
  const int keep = static_cast<int>(sizes.size()) - image_encoder.scalp;
  sizes.resize(std::max(0, std::min(keep, static_cast<int>(sizes.size()))));
  return sizes;
}

// ---------------------------------------------------------------------------
// Equality.

bool operator==(const PositionEmbeddingSineConfig& a,
                const PositionEmbeddingSineConfig& b) {
  auto key = [](const PositionEmbeddingSineConfig& c) {
    return std::tie(c.num_pos_feats, c.temperature, c.normalize, c.scale);
  };
  return key(a) == key(b);
}

bool operator==(const HieraConfig& a, const HieraConfig& b) {
  auto key = [](const HieraConfig& c) {
    return std::tie(c.embed_dim, c.num_heads, c.drop_path_rate, c.q_pool,
                    c.q_stride, c.stages, c.dim_mul, c.head_mul,
                    c.window_pos_embed_bkg_spatial_size, c.window_spec,
                    c.global_att_blocks, c.return_interm_layers);
  };
  return key(a) == key(b);
}

bool operator==(const FpnNeckConfig& a, const FpnNeckConfig& b) {
  auto key = [](const FpnNeckConfig& c) {
    return std::tie(c.position_encoding, c.d_model, c.backbone_channel_list,
                    c.kernel_size, c.stride, c.padding, c.fpn_interp_model,
                    c.fuse_type, c.fpn_top_down_levels);
  };
  return key(a) == key(b);
}

bool operator==(const ImageEncoderConfig& a, const ImageEncoderConfig& b) {
  return a.trunk == b.trunk && a.neck == b.neck && a.scalp == b.scalp;
}

bool operator==(const RoPEAttentionConfig& a, const RoPEAttentionConfig& b) {
  auto key = [](const RoPEAttentionConfig& c) {
    return std::tie(c.embedding_dim, c.num_heads, c.downsample_rate,
                    c.dropout, c.kv_in_dim, c.rope_theta, c.feat_sizes,
                    c.rope_k_repeat);
  };
  return key(a) == key(b);
}

bool operator==(const MemoryAttentionLayerConfig& a,
                const MemoryAttentionLayerConfig& b) {
  auto key = [](const MemoryAttentionLayerConfig& c) {
    return std::tie(c.activation, c.cross_attention, c.d_model,
                    c.dim_feedforward, c.dropout, c.pos_enc_at_attn,
                    c.pos_enc_at_cross_attn_keys,
                    c.pos_enc_at_cross_attn_queries, c.self_attention);
  };
  return key(a) == key(b);
}

bool operator==(const MemoryAttentionConfig& a,
                const MemoryAttentionConfig& b) {
  auto key = [](const MemoryAttentionConfig& c) {
    return std::tie(c.d_model, c.pos_enc_at_input, c.layer, c.num_layers,
                    c.batch_first);
  };
  return key(a) == key(b);
}

bool operator==(const MaskDownSamplerConfig& a,
                const MaskDownSamplerConfig& b) {
  auto key = [](const MaskDownSamplerConfig& c) {
    return std::tie(c.embed_dim, c.kernel_size, c.stride, c.padding,
                    c.total_stride);
  };
  return key(a) == key(b);
}

bool operator==(const CXBlockConfig& a, const CXBlockConfig& b) {
  auto key = [](const CXBlockConfig& c) {
    return std::tie(c.dim, c.kernel_size, c.padding, c.drop_path,
                    c.layer_scale_init_value, c.use_dwconv);
  };
  return key(a) == key(b);
}

bool operator==(const FuserConfig& a, const FuserConfig& b) {
  auto key = [](const FuserConfig& c) {
    return std::tie(c.layer, c.num_layers, c.dim, c.input_projection);
  };
  return key(a) == key(b);
}

bool operator==(const MemoryEncoderConfig& a, const MemoryEncoderConfig& b) {
  auto key = [](const MemoryEncoderConfig& c) {
    return std::tie(c.out_dim, c.mask_downsampler, c.fuser,
                    c.position_encoding, c.in_dim);
  };
  return key(a) == key(b);
}

bool operator==(const MaskDecoderExtraArgs& a, const MaskDecoderExtraArgs& b) {
  auto key = [](const MaskDecoderExtraArgs& c) {
    return std::tie(c.dynamic_multimask_via_stability,
                    c.dynamic_multimask_stability_delta,
                    c.dynamic_multimask_stability_thresh);
  };
  return key(a) == key(b);
}

bool operator==(const VideoPredictorConfig& a, const VideoPredictorConfig& b) {
  auto key = [](const VideoPredictorConfig& c) {
    return std::tie(c.fill_hole_area, c.non_overlap_masks,
                    c.clear_non_cond_mem_around_input,
                    c.add_all_frames_to_correct_as_cond);
  };
  return key(a) == key(b);
}

bool SameSettings(const Sam2Config& a, const Sam2Config& b) {
  auto key = [](const Sam2Config& c) {
    return std::tie(
        c.image_encoder, c.memory_attention, c.memory_encoder, c.num_maskmem,
        c.image_size, c.backbone_stride, c.sigmoid_scale_for_mem_enc,
        c.sigmoid_bias_for_mem_enc, c.binarize_mask_from_pts_for_mem_enc,
        c.use_mask_input_as_output_without_sam, c.max_cond_frames_in_attn,
        c.directly_add_no_mem_embed, c.use_high_res_features_in_sam,
        c.multimask_output_in_sam, c.multimask_min_pt_num,
        c.multimask_max_pt_num, c.multimask_output_for_tracking,
        c.use_multimask_token_for_obj_ptr, c.iou_prediction_use_sigmoid,
        c.memory_temporal_stride_for_eval, c.non_overlap_masks_for_mem_enc,
        c.use_obj_ptrs_in_encoder, c.max_obj_ptrs_in_encoder,
        c.add_tpos_enc_to_obj_ptrs, c.proj_tpos_enc_in_obj_ptrs,
        c.use_signed_tpos_enc_to_obj_ptrs,
        c.only_obj_ptrs_in_the_past_for_eval, c.pred_obj_scores,
        c.pred_obj_scores_mlp, c.fixed_no_obj_ptr, c.soft_no_obj_ptr,
        c.use_mlp_for_obj_ptr_proj, c.no_obj_embed_spatial,
        c.sam_mask_decoder_extra_args, c.compile_image_encoder,
        c.video_predictor);
  };
  return key(a) == key(b);
}

bool operator==(const Sam2Config& a, const Sam2Config& b) {
  return a.name == b.name && a.family == b.family && SameSettings(a, b);
}

ModelFamily InferFamily(const Sam2Config& config) {
  return config.no_obj_embed_spatial || config.proj_tpos_enc_in_obj_ptrs ||
                 config.use_signed_tpos_enc_to_obj_ptrs
             ? ModelFamily::kSam2_1
             : ModelFamily::kSam2;
}

// ---------------------------------------------------------------------------
// Validation.

namespace {

std::string ListStr(const std::vector<int>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
}

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid model config: ", field, ": ", what));
}

#define SAM2_RETURN_IF_ERROR(expr)            \
  do {                                        \
    absl::Status sam2_status_ = (expr);       \
    if (!sam2_status_.ok()) return sam2_status_; \
  } while (false)

absl::Status CheckPositive(absl::string_view field, double value) {
  if (!(value > 0)) {
    return Invalid(field, absl::StrCat("must be > 0, is ", value));
  }
  return absl::OkStatus();
}

absl::Status ValidateSinePe(absl::string_view field,
                            const PositionEmbeddingSineConfig& pe,
                            int channels, absl::string_view channels_name) {
  const std::string f(field);
  if (pe.num_pos_feats <= 0 || pe.num_pos_feats % 2 != 0) {
    return Invalid(f + ".num_pos_feats",
                   absl::StrCat("must be a positive even number, is ",
                                pe.num_pos_feats));
  }
  if (pe.num_pos_feats != channels) {
    return Invalid(f + ".num_pos_feats",
                   absl::StrCat(pe.num_pos_feats, " must equal ",
                                channels_name, " (", channels, ")"));
  }
  SAM2_RETURN_IF_ERROR(CheckPositive(f + ".temperature", pe.temperature));
  if (pe.scale.has_value() && !pe.normalize) {
    return Invalid(f + ".scale", "needs normalize: true");
  }
  return absl::OkStatus();
}

absl::Status ValidateRoPE(absl::string_view field,
                          const RoPEAttentionConfig& a, int d_model,
                          int kv_dim, absl::string_view kv_name) {
  const std::string f(field);
  if (a.embedding_dim != d_model) {
    return Invalid(f + ".embedding_dim",
                   absl::StrCat(a.embedding_dim,
                                " must equal memory_attention.d_model (",
                                d_model, ")"));
  }
  if (a.KvInDim() != kv_dim) {
    return Invalid(f + ".kv_in_dim",
                   absl::StrCat(a.KvInDim(), " must equal ", kv_name, " (",
                                kv_dim, ")"));
  }
  if (a.num_heads <= 0) return Invalid(f + ".num_heads", "must be > 0");
  if (a.downsample_rate <= 0 || a.embedding_dim % a.downsample_rate != 0) {
    return Invalid(f + ".downsample_rate",
                   absl::StrCat(a.downsample_rate,
                                " must divide embedding_dim ",
                                a.embedding_dim));
  }
  const int internal = a.InternalDim();
  if (internal % a.num_heads != 0 || (internal / a.num_heads) % 4 != 0) {
    return Invalid(
        f + ".num_heads",
        absl::StrCat("the per-head dim (", internal, " / ", a.num_heads,
                     ") must be a whole multiple of 4 for axial RoPE"));
  }
  SAM2_RETURN_IF_ERROR(CheckPositive(f + ".rope_theta", a.rope_theta));
  if (a.feat_sizes.size() != 2 || a.feat_sizes[0] <= 0 ||
      a.feat_sizes[1] <= 0) {
    return Invalid(f + ".feat_sizes", "must be two positive sizes");
  }
  return absl::OkStatus();
}

absl::Status ValidateTrunk(const HieraConfig& t) {
  const std::string f = "image_encoder.trunk";
  if (t.embed_dim <= 0) return Invalid(f + ".embed_dim", "must be > 0");
  if (t.num_heads <= 0) return Invalid(f + ".num_heads", "must be > 0");
  if (t.stages.empty()) return Invalid(f + ".stages", "must not be empty");
  for (int s : t.stages) {
    if (s <= 0) {
      return Invalid(f + ".stages",
                     absl::StrCat(ListStr(t.stages),
                                  " has a stage without blocks"));
    }
  }
  if (t.window_spec.size() != t.stages.size()) {
    return Invalid(f + ".window_spec",
                   absl::StrCat("has ", t.window_spec.size(),
                                " entries but stages has ", t.stages.size()));
  }
  for (int w : t.window_spec) {
    if (w < 0) return Invalid(f + ".window_spec", "window sizes must be >= 0");
  }
  if (t.window_spec[0] <= 0) {
    return Invalid(f + ".window_spec",
                   "the first window size (the size of pos_embed_window) "
                   "must be > 0");
  }
  if (t.q_stride.size() != 2 || t.q_stride[0] <= 0 || t.q_stride[1] <= 0) {
    return Invalid(f + ".q_stride", "must be two positive strides");
  }
  if (t.q_stride[0] != t.q_stride[1]) {
    return Invalid(f + ".q_stride",
                   "must be square (windows shrink by q_stride[0])");
  }
  if (t.q_pool < 0 || t.q_pool > static_cast<int>(t.stages.size()) - 1) {
    return Invalid(f + ".q_pool",
                   absl::StrCat(t.q_pool, " must be within [0, ",
                                t.stages.size() - 1, "] (stage changes)"));
  }
  if (t.window_pos_embed_bkg_spatial_size.size() != 2 ||
      t.window_pos_embed_bkg_spatial_size[0] <= 0 ||
      t.window_pos_embed_bkg_spatial_size[1] <= 0) {
    return Invalid(f + ".window_pos_embed_bkg_spatial_size",
                   "must be two positive sizes");
  }
  SAM2_RETURN_IF_ERROR(CheckPositive(f + ".dim_mul", t.dim_mul));
  SAM2_RETURN_IF_ERROR(CheckPositive(f + ".head_mul", t.head_mul));
  const int depth = t.NumBlocks();
  for (int g : t.global_att_blocks) {
    if (g < 0 || g >= depth) {
      return Invalid(f + ".global_att_blocks",
                     absl::StrCat("block ", g, " is outside the ", depth,
                                  " blocks of stages ", ListStr(t.stages)));
    }
  }
  const std::vector<HieraConfig::Block> blocks = t.Blocks();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const HieraConfig::Block& b = blocks[i];
    if (b.dim_out <= 0 || b.num_heads <= 0 || b.dim_out % b.num_heads != 0) {
      return Invalid(f, absl::StrCat("block ", i, ": ", b.num_heads,
                                     " heads do not divide ", b.dim_out,
                                     " channels"));
    }
  }
  if (!t.return_interm_layers) {
    return Invalid(f + ".return_interm_layers",
                   "false is not supported (the neck needs every stage)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateConfig(const Sam2Config& c) {
  const HieraConfig& trunk = c.image_encoder.trunk;
  const FpnNeckConfig& neck = c.image_encoder.neck;
  SAM2_RETURN_IF_ERROR(ValidateTrunk(trunk));

  // Neck.
  const int hidden = c.HiddenDim();
  if (hidden <= 0) return Invalid("image_encoder.neck.d_model", "must be > 0");
  if (hidden % 16 != 0) {
    return Invalid("image_encoder.neck.d_model",
                   absl::StrCat(hidden,
                                " must be a multiple of 16 (the mask decoder "
                                "divides it by 8 and its two-way transformer "
                                "runs 8 heads at half width)"));
  }
  const std::vector<int> channels = trunk.ChannelList();
  if (neck.backbone_channel_list != channels) {
    return Invalid("image_encoder.neck.backbone_channel_list",
                   absl::StrCat(ListStr(neck.backbone_channel_list),
                                " must be the trunk's stage dims, last stage "
                                "first: ",
                                ListStr(channels)));
  }
  if (neck.stride != 1 || neck.kernel_size != 2 * neck.padding + 1) {
    return Invalid("image_encoder.neck",
                   "kernel_size/stride/padding must keep the feature size "
                   "(stride 1, kernel_size = 2 * padding + 1)");
  }
  static const std::set<std::string> kInterp = {"nearest", "nearest-exact",
                                                "bilinear", "bicubic", "area"};
  if (kInterp.count(neck.fpn_interp_model) == 0) {
    return Invalid("image_encoder.neck.fpn_interp_model",
                   absl::StrCat("'", neck.fpn_interp_model,
                                "' is not a 2-D interpolation mode"));
  }
  if (neck.fuse_type != "sum" && neck.fuse_type != "avg") {
    return Invalid("image_encoder.neck.fuse_type",
                   absl::StrCat("'", neck.fuse_type, "' must be sum or avg"));
  }
  const int levels = static_cast<int>(channels.size());
  if (neck.fpn_top_down_levels.has_value()) {
    for (int l : *neck.fpn_top_down_levels) {
      if (l < 0 || l >= levels) {
        return Invalid("image_encoder.neck.fpn_top_down_levels",
                       absl::StrCat("level ", l, " is outside [0, ", levels,
                                    ")"));
      }
    }
  }
  SAM2_RETURN_IF_ERROR(ValidateSinePe("image_encoder.neck.position_encoding",
                                      neck.position_encoding, hidden,
                                      "image_encoder.neck.d_model"));
  const int scalp = c.image_encoder.scalp;
  if (scalp < 0 || levels - scalp < c.NumFeatureLevels()) {
    return Invalid("image_encoder.scalp",
                   absl::StrCat(scalp, " leaves ", levels - scalp,
                                " backbone levels; the mask decoder needs ",
                                c.NumFeatureLevels(),
                                c.use_high_res_features_in_sam
                                    ? " (use_high_res_features_in_sam)"
                                    : ""));
  }

  // Sizes.
  if (c.image_size <= 0) return Invalid("image_size", "must be > 0");
  if (c.backbone_stride <= 0) return Invalid("backbone_stride", "must be > 0");
  const std::vector<int> strides = c.BackboneStrides();
  if (strides.back() != c.backbone_stride) {
    return Invalid("backbone_stride",
                   absl::StrCat(c.backbone_stride,
                                " must equal the stride of the image "
                                "encoder's last level (",
                                strides.back(), " with scalp ", scalp, ")"));
  }
  const int full_stride = kPatchEmbedStride *
                          static_cast<int>(std::pow(trunk.q_stride[0],
                                                    trunk.q_pool));
  if (c.image_size % full_stride != 0) {
    return Invalid("image_size",
                   absl::StrCat(c.image_size,
                                " must be a multiple of the trunk's total "
                                "stride ",
                                full_stride));
  }
  const int grid = c.image_size / kPatchEmbedStride;
  if (grid % trunk.window_spec[0] != 0) {
    return Invalid("image_size",
                   absl::StrCat("the patch grid (", c.image_size, " / ",
                                kPatchEmbedStride, " = ", grid,
                                ") must be a multiple of window_spec[0] (",
                                trunk.window_spec[0],
                                ") to tile pos_embed_window"));
  }

  // SAM2Base arguments.
  const int mem_dim = c.MemDim();
  if (c.num_maskmem < 0) return Invalid("num_maskmem", "must be >= 0");
  if (c.max_cond_frames_in_attn != -1 && c.max_cond_frames_in_attn < 2) {
    return Invalid("max_cond_frames_in_attn",
                   "must be -1 (no limit) or at least 2");
  }
  if (c.memory_temporal_stride_for_eval < 1) {
    return Invalid("memory_temporal_stride_for_eval", "must be >= 1");
  }
  if (c.multimask_min_pt_num < 0 || c.multimask_max_pt_num < 0) {
    return Invalid("multimask_min_pt_num/multimask_max_pt_num",
                   "must be >= 0");
  }
  if (c.max_obj_ptrs_in_encoder < 1) {
    return Invalid("max_obj_ptrs_in_encoder", "must be >= 1");
  }
  if (c.proj_tpos_enc_in_obj_ptrs && !c.add_tpos_enc_to_obj_ptrs) {
    return Invalid("proj_tpos_enc_in_obj_ptrs",
                   "needs add_tpos_enc_to_obj_ptrs: true");
  }
  if (c.fixed_no_obj_ptr &&
      !(c.pred_obj_scores && c.use_obj_ptrs_in_encoder)) {
    return Invalid("fixed_no_obj_ptr",
                   "needs pred_obj_scores and use_obj_ptrs_in_encoder");
  }
  if (c.use_obj_ptrs_in_encoder && (mem_dim <= 0 || hidden % mem_dim != 0)) {
    return Invalid("memory_encoder.out_dim",
                   absl::StrCat("the memory dim ", mem_dim,
                                " must divide the hidden dim ", hidden,
                                " (object pointers split into memory tokens)"));
  }
  if (c.video_predictor.fill_hole_area < 0) {
    return Invalid("fill_hole_area", "must be >= 0");
  }

  // Memory attention.
  const MemoryAttentionConfig& ma = c.memory_attention;
  if (ma.d_model != hidden) {
    return Invalid("memory_attention.d_model",
                   absl::StrCat(ma.d_model,
                                " must equal image_encoder.neck.d_model (",
                                hidden, ")"));
  }
  if (ma.layer.d_model != ma.d_model) {
    return Invalid("memory_attention.layer.d_model",
                   absl::StrCat(ma.layer.d_model,
                                " must equal memory_attention.d_model (",
                                ma.d_model, ")"));
  }
  if (ma.num_layers < 1) {
    return Invalid("memory_attention.num_layers", "must be >= 1");
  }
  if (ma.layer.dim_feedforward < 1) {
    return Invalid("memory_attention.layer.dim_feedforward", "must be >= 1");
  }
  if (ma.layer.activation != "relu" && ma.layer.activation != "gelu") {
    return Invalid("memory_attention.layer.activation",
                   absl::StrCat("'", ma.layer.activation,
                                "' must be relu or gelu"));
  }
  SAM2_RETURN_IF_ERROR(ValidateRoPE("memory_attention.layer.self_attention",
                                    ma.layer.self_attention, ma.d_model,
                                    ma.d_model, "memory_attention.d_model"));
  SAM2_RETURN_IF_ERROR(ValidateRoPE("memory_attention.layer.cross_attention",
                                    ma.layer.cross_attention, ma.d_model,
                                    mem_dim, "the memory dim"));

  // Memory encoder.
  const MemoryEncoderConfig& me = c.memory_encoder;
  if (me.out_dim <= 0) return Invalid("memory_encoder.out_dim", "must be > 0");
  if (me.in_dim != hidden) {
    return Invalid("memory_encoder.in_dim",
                   absl::StrCat(me.in_dim,
                                " must equal image_encoder.neck.d_model (",
                                hidden, "): it projects the image embedding"));
  }
  const MaskDownSamplerConfig& md = me.mask_downsampler;
  if (md.stride < 2 || md.kernel_size < 1 || md.padding < 0) {
    return Invalid("memory_encoder.mask_downsampler",
                   "needs stride >= 2, kernel_size >= 1, padding >= 0");
  }
  const int md_layers = md.NumLayers();
  if (static_cast<int64_t>(std::pow(md.stride, md_layers)) !=
      md.total_stride) {
    return Invalid("memory_encoder.mask_downsampler.total_stride",
                   absl::StrCat(md.total_stride, " must be a power of stride ",
                                md.stride));
  }
  if (md.embed_dim != me.in_dim) {
    return Invalid("memory_encoder.mask_downsampler.embed_dim",
                   absl::StrCat(md.embed_dim,
                                " must equal memory_encoder.in_dim (",
                                me.in_dim, ")"));
  }
  int mask_side = c.image_size;
  for (int i = 0; i < md_layers; ++i) {
    mask_side = (mask_side + 2 * md.padding - md.kernel_size) / md.stride + 1;
  }
  if (mask_side != c.ImageEmbeddingSize()) {
    return Invalid("memory_encoder.mask_downsampler",
                   absl::StrCat("turns a ", c.image_size, "x", c.image_size,
                                " mask into ", mask_side, "x", mask_side,
                                ", not the image embedding's ",
                                c.ImageEmbeddingSize(), "x",
                                c.ImageEmbeddingSize()));
  }
  const FuserConfig& fu = me.fuser;
  if (fu.num_layers < 0) {
    return Invalid("memory_encoder.fuser.num_layers", "must be >= 0");
  }
  if (fu.layer.dim != me.in_dim) {
    return Invalid("memory_encoder.fuser.layer.dim",
                   absl::StrCat(fu.layer.dim,
                                " must equal memory_encoder.in_dim (",
                                me.in_dim, ")"));
  }
  if (fu.layer.kernel_size != 2 * fu.layer.padding + 1) {
    return Invalid("memory_encoder.fuser.layer",
                   "kernel_size must be 2 * padding + 1 (size-preserving)");
  }
  if (fu.input_projection && fu.dim.value_or(-1) != me.in_dim) {
    return Invalid("memory_encoder.fuser.dim",
                   "input_projection needs dim equal to memory_encoder.in_dim");
  }
  SAM2_RETURN_IF_ERROR(ValidateSinePe("memory_encoder.position_encoding",
                                      me.position_encoding, mem_dim,
                                      "the memory dim"));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Presets: values from sam2/configs/sam2{,.1}/sam2{,.1}_hiera_{t,s,b+,l}.yaml.

namespace {

enum class Size { kTiny, kSmall, kBasePlus, kLarge };

constexpr Size kSizes[] = {Size::kTiny, Size::kSmall, Size::kBasePlus,
                           Size::kLarge};

absl::string_view SizeName(Size size) {
  switch (size) {
    case Size::kTiny:
      return "tiny";
    case Size::kSmall:
      return "small";
    case Size::kBasePlus:
      return "base_plus";
    case Size::kLarge:
      return "large";
  }
  return "";
}

std::string CanonicalName(ModelFamily family, Size size) {
  return absl::StrCat(FamilyName(family), "_hiera_", SizeName(size));
}

Sam2Config MakePreset(ModelFamily family, Size size) {
  Sam2Config c;
  c.name = CanonicalName(family, size);
  c.family = family;

  HieraConfig& trunk = c.image_encoder.trunk;
  FpnNeckConfig& neck = c.image_encoder.neck;
  switch (size) {
    case Size::kTiny:
      trunk.embed_dim = 96;
      trunk.num_heads = 1;
      trunk.stages = {1, 2, 7, 2};
      trunk.global_att_blocks = {5, 7, 9};
      trunk.window_pos_embed_bkg_spatial_size = {7, 7};
      neck.backbone_channel_list = {768, 384, 192, 96};
      break;
    case Size::kSmall:
      trunk.embed_dim = 96;
      trunk.num_heads = 1;
      trunk.stages = {1, 2, 11, 2};
      trunk.global_att_blocks = {7, 10, 13};
      trunk.window_pos_embed_bkg_spatial_size = {7, 7};
      neck.backbone_channel_list = {768, 384, 192, 96};
      break;
    case Size::kBasePlus:  // Hiera defaults for the rest
      trunk.embed_dim = 112;
      trunk.num_heads = 2;
      neck.backbone_channel_list = {896, 448, 224, 112};
      break;
    case Size::kLarge:
      trunk.embed_dim = 144;
      trunk.num_heads = 2;
      trunk.stages = {2, 6, 36, 4};
      trunk.global_att_blocks = {23, 33, 43};
      trunk.window_pos_embed_bkg_spatial_size = {7, 7};
      trunk.window_spec = {8, 4, 16, 8};
      neck.backbone_channel_list = {1152, 576, 288, 144};
      break;
  }
  c.image_encoder.scalp = 1;
  neck.position_encoding.num_pos_feats = 256;
  neck.position_encoding.normalize = true;
  neck.position_encoding.scale = std::nullopt;
  neck.position_encoding.temperature = 10000;
  neck.d_model = 256;
  neck.fpn_top_down_levels = std::vector<int>{2, 3};
  neck.fpn_interp_model = "nearest";

  MemoryAttentionConfig& ma = c.memory_attention;
  ma.d_model = 256;
  ma.pos_enc_at_input = true;
  ma.num_layers = 4;
  MemoryAttentionLayerConfig& layer = ma.layer;
  layer.activation = "relu";
  layer.dim_feedforward = 2048;
  layer.dropout = 0.1;
  layer.pos_enc_at_attn = false;
  layer.d_model = 256;
  layer.pos_enc_at_cross_attn_keys = true;
  layer.pos_enc_at_cross_attn_queries = false;
  RoPEAttentionConfig& sa = layer.self_attention;
  sa.rope_theta = 10000.0;
  sa.feat_sizes = {64, 64};
  sa.embedding_dim = 256;
  sa.num_heads = 1;
  sa.downsample_rate = 1;
  sa.dropout = 0.1;
  RoPEAttentionConfig& ca = layer.cross_attention;
  ca = sa;
  ca.rope_k_repeat = true;
  ca.kv_in_dim = 64;

  MemoryEncoderConfig& me = c.memory_encoder;
  me.out_dim = 64;
  me.position_encoding.num_pos_feats = 64;
  me.position_encoding.normalize = true;
  me.position_encoding.scale = std::nullopt;
  me.position_encoding.temperature = 10000;
  me.mask_downsampler.kernel_size = 3;
  me.mask_downsampler.stride = 2;
  me.mask_downsampler.padding = 1;
  me.fuser.layer.dim = 256;
  me.fuser.layer.kernel_size = 7;
  me.fuser.layer.padding = 3;
  me.fuser.layer.layer_scale_init_value = 1e-6;
  me.fuser.layer.use_dwconv = true;
  me.fuser.num_layers = 2;

  c.num_maskmem = 7;
  c.image_size = 1024;
  c.sigmoid_scale_for_mem_enc = 20.0;
  c.sigmoid_bias_for_mem_enc = -10.0;
  c.use_mask_input_as_output_without_sam = true;
  c.directly_add_no_mem_embed = true;
  c.use_high_res_features_in_sam = true;
  c.multimask_output_in_sam = true;
  c.iou_prediction_use_sigmoid = true;
  c.use_obj_ptrs_in_encoder = true;
  c.only_obj_ptrs_in_the_past_for_eval = true;
  c.pred_obj_scores = true;
  c.pred_obj_scores_mlp = true;
  c.fixed_no_obj_ptr = true;
  c.multimask_output_for_tracking = true;
  c.use_multimask_token_for_obj_ptr = true;
  c.multimask_min_pt_num = 0;
  c.multimask_max_pt_num = 1;
  c.use_mlp_for_obj_ptr_proj = true;
  c.compile_image_encoder = false;
  // The only SAM 2 / SAM 2.1 differences.
  const bool v21 = family == ModelFamily::kSam2_1;
  c.no_obj_embed_spatial = v21;
  c.add_tpos_enc_to_obj_ptrs = v21;
  c.proj_tpos_enc_in_obj_ptrs = v21;
  c.use_signed_tpos_enc_to_obj_ptrs = v21;
  return c;
}

// Parses "sam2.1_hiera_t", "configs/sam2/sam2_hiera_b+.yaml", ...
bool ParsePresetName(absl::string_view raw, ModelFamily* family, Size* size) {
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
  absl::string_view n = name;
  const size_t slash = n.find_last_of('/');
  if (slash != absl::string_view::npos) n.remove_prefix(slash + 1);
  if (!absl::ConsumeSuffix(&n, ".yaml")) absl::ConsumeSuffix(&n, ".pt");
  if (absl::ConsumePrefix(&n, "sam2.1_hiera_")) {
    *family = ModelFamily::kSam2_1;
  } else if (absl::ConsumePrefix(&n, "sam2_hiera_")) {
    *family = ModelFamily::kSam2;
  } else {
    return false;
  }
  if (n == "t" || n == "tiny") {
    *size = Size::kTiny;
  } else if (n == "s" || n == "small") {
    *size = Size::kSmall;
  } else if (n == "b+" || n == "base_plus") {
    *size = Size::kBasePlus;
  } else if (n == "l" || n == "large") {
    *size = Size::kLarge;
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> PresetNames() {
  std::vector<std::string> names;
  for (ModelFamily f : {ModelFamily::kSam2, ModelFamily::kSam2_1}) {
    for (Size s : kSizes) names.push_back(CanonicalName(f, s));
  }
  return names;
}

absl::StatusOr<Sam2Config> PresetConfig(absl::string_view name) {
  ModelFamily family;
  Size size;
  if (!ParsePresetName(name, &family, &size)) {
    return absl::NotFoundError(absl::StrCat(
        "unknown model preset '", name, "'; known presets: ",
        absl::StrJoin(PresetNames(), ", "),
        " (short forms like sam2.1_hiera_t or sam2_hiera_b+ also work)"));
  }
  return MakePreset(family, size);
}

// ---------------------------------------------------------------------------
// YAML reader.

namespace {

enum class Presence { kOptional, kRequired };

std::string NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return absl::StrCat("'", node.Scalar(), "'");
    default:
      return "nothing";
  }
}

// One YAML mapping being read into a config struct. Records which keys the
// reader asked for, so that CheckNoUnknownKeys() can name the rest.
class MapReader {
 public:
  static absl::StatusOr<MapReader> Create(const YAML::Node& node,
                                          std::string path) {
    if (!node.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": expected a mapping, got ", NodeKind(node)));
    }
    MapReader reader;
    reader.path_ = std::move(path);
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        return absl::InvalidArgumentError(
            absl::StrCat(reader.path_, ": keys must be plain strings"));
      }
      std::string key = it->first.Scalar();
      for (const auto& entry : reader.entries_) {
        if (entry.first == key) {
          return absl::InvalidArgumentError(absl::StrCat(
              reader.Path(key), ": duplicate key"));
        }
      }
      reader.entries_.emplace_back(std::move(key), it->second);
    }
    return reader;
  }

  const std::string& path() const { return path_; }
  std::string Path(absl::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  }

  // Reads `_target_`; it must be one of `targets`.
  absl::Status Target(std::initializer_list<absl::string_view> targets,
                      std::string* matched = nullptr) {
    std::string target;
    SAM2_RETURN_IF_ERROR(String("_target_", &target, Presence::kRequired));
    for (absl::string_view t : targets) {
      if (target == t) {
        if (matched != nullptr) *matched = target;
        class_name_ = std::string(t.substr(t.rfind('.') + 1));
        return absl::OkStatus();
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(
        Path("_target_"), ": expected ", absl::StrJoin(targets, " or "),
        ", got '", target, "'"));
  }

  absl::Status Int(absl::string_view key, int* out,
                   Presence presence = Presence::kOptional) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return Missing(key, presence);
    return DecodeInt(*node, Path(key), out);
  }

  absl::Status OptionalInt(absl::string_view key, std::optional<int>* out) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return absl::OkStatus();
    if (node->IsNull()) {
      *out = std::nullopt;
      return absl::OkStatus();
    }
    int value = 0;
    SAM2_RETURN_IF_ERROR(DecodeInt(*node, Path(key), &value));
    *out = value;
    return absl::OkStatus();
  }

  absl::Status Double(absl::string_view key, double* out,
                      Presence presence = Presence::kOptional) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return Missing(key, presence);
    return DecodeDouble(*node, Path(key), out);
  }

  absl::Status OptionalDouble(absl::string_view key,
                              std::optional<double>* out) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return absl::OkStatus();
    if (node->IsNull()) {
      *out = std::nullopt;
      return absl::OkStatus();
    }
    double value = 0;
    SAM2_RETURN_IF_ERROR(DecodeDouble(*node, Path(key), &value));
    *out = value;
    return absl::OkStatus();
  }

  absl::Status Bool(absl::string_view key, bool* out,
                    Presence presence = Presence::kOptional) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return Missing(key, presence);
    SAM2_RETURN_IF_ERROR(CheckScalar(*node, Path(key), "true or false", true));
    if (!YAML::convert<bool>::decode(*node, *out)) {
      return TypeError(*node, Path(key), "true or false");
    }
    return absl::OkStatus();
  }

  absl::Status String(absl::string_view key, std::string* out,
                      Presence presence = Presence::kOptional) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return Missing(key, presence);
    SAM2_RETURN_IF_ERROR(CheckScalar(*node, Path(key), "a string", false));
    *out = node->Scalar();
    return absl::OkStatus();
  }

  absl::Status IntList(absl::string_view key, std::vector<int>* out,
                       Presence presence = Presence::kOptional) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return Missing(key, presence);
    return DecodeIntList(*node, Path(key), out);
  }

  absl::Status OptionalIntList(absl::string_view key,
                               std::optional<std::vector<int>>* out) {
    const YAML::Node* node = Find(key);
    if (node == nullptr) return absl::OkStatus();
    if (node->IsNull()) {
      *out = std::nullopt;
      return absl::OkStatus();
    }
    std::vector<int> values;
    SAM2_RETURN_IF_ERROR(DecodeIntList(*node, Path(key), &values));
    *out = std::move(values);
    return absl::OkStatus();
  }

  // A nested mapping. Absent or null: std::nullopt (an error if required).
  absl::StatusOr<std::optional<MapReader>> Map(absl::string_view key,
                                               Presence presence) {
    const YAML::Node* node = Find(key);
    if (node == nullptr || node->IsNull()) {
      SAM2_RETURN_IF_ERROR(Missing(key, presence));
      return std::optional<MapReader>();
    }
    absl::StatusOr<MapReader> child = Create(*node, Path(key));
    if (!child.ok()) return child.status();
    return std::optional<MapReader>(*std::move(child));
  }

  // Marks `key` as accepted (and type-checked by the caller, if at all).
  const YAML::Node* Find(absl::string_view key) {
    known_.insert(std::string(key));
    for (const auto& entry : entries_) {
      if (entry.first == key) return &entry.second;
    }
    return nullptr;
  }

  // Every key that no reader method asked for is an error.
  absl::Status CheckNoUnknownKeys() const {
    for (const auto& entry : entries_) {
      if (known_.count(entry.first) == 0) {
        std::vector<std::string> known(known_.begin(), known_.end());
        return absl::InvalidArgumentError(absl::StrCat(
            Path(entry.first), ": unknown key",
            class_name_.empty() ? "" : absl::StrCat(" for ", class_name_),
            " (accepted: ", absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

 private:
  MapReader() = default;

  absl::Status Missing(absl::string_view key, Presence presence) const {
    if (presence == Presence::kOptional) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(Path(key), ": required key is missing"));
  }

  static absl::Status TypeError(const YAML::Node& node,
                                const std::string& path,
                                absl::string_view expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": expected ", expected, ", got ", NodeKind(node)));
  }

  // Quoted scalars are strings; `${...}` is Hydra interpolation.
  static absl::Status CheckScalar(const YAML::Node& node,
                                  const std::string& path,
                                  absl::string_view expected,
                                  bool plain_only) {
    if (!node.IsScalar()) return TypeError(node, path, expected);
    if (absl::StrContains(node.Scalar(), "${")) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": interpolation ('", node.Scalar(),
          "') is not supported; write the value"));
    }
    if (plain_only && node.Tag() == "!") {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": expected ", expected, ", got the quoted string '",
          node.Scalar(), "'"));
    }
    return absl::OkStatus();
  }

  static absl::Status DecodeInt(const YAML::Node& node,
                                const std::string& path, int* out) {
    SAM2_RETURN_IF_ERROR(CheckScalar(node, path, "an integer", true));
    if (!YAML::convert<int>::decode(node, *out)) {
      return TypeError(node, path, "an integer");
    }
    return absl::OkStatus();
  }

  static absl::Status DecodeDouble(const YAML::Node& node,
                                   const std::string& path, double* out) {
    SAM2_RETURN_IF_ERROR(CheckScalar(node, path, "a number", true));
    bool as_bool = false;
    if (YAML::convert<bool>::decode(node, as_bool) ||
        !YAML::convert<double>::decode(node, *out)) {
      return TypeError(node, path, "a number");
    }
    return absl::OkStatus();
  }

  static absl::Status DecodeIntList(const YAML::Node& node,
                                    const std::string& path,
                                    std::vector<int>* out) {
    if (!node.IsSequence()) return TypeError(node, path, "a list of integers");
    std::vector<int> values;
    for (size_t i = 0; i < node.size(); ++i) {
      int value = 0;
      SAM2_RETURN_IF_ERROR(
          DecodeInt(node[i], absl::StrCat(path, "[", i, "]"), &value));
      values.push_back(value);
    }
    *out = std::move(values);
    return absl::OkStatus();
  }

  std::string path_;
  std::string class_name_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
  std::set<std::string> known_;
};

// Unwraps a required nested mapping (the reader guarantees presence).
#define SAM2_ASSIGN_MAP(var, reader, key)                                  \
  absl::StatusOr<std::optional<MapReader>> var##_or =                      \
      (reader).Map((key), Presence::kRequired);                            \
  if (!var##_or.ok()) return var##_or.status();                            \
  MapReader& var = **var##_or

constexpr absl::string_view kSineTarget =
    "sam2.modeling.position_encoding.PositionEmbeddingSine";

absl::Status ParseSinePe(MapReader& r, PositionEmbeddingSineConfig* pe) {
  SAM2_RETURN_IF_ERROR(r.Target({kSineTarget}));
  SAM2_RETURN_IF_ERROR(
      r.Int("num_pos_feats", &pe->num_pos_feats, Presence::kRequired));
  SAM2_RETURN_IF_ERROR(r.Double("temperature", &pe->temperature));
  SAM2_RETURN_IF_ERROR(r.Bool("normalize", &pe->normalize));
  SAM2_RETURN_IF_ERROR(r.OptionalDouble("scale", &pe->scale));
  // Cache warm-up hints of the reference; type-checked, then unused.
  bool warmup_cache = true;
  int image_size = 0;
  std::vector<int> strides;
  SAM2_RETURN_IF_ERROR(r.Bool("warmup_cache", &warmup_cache));
  SAM2_RETURN_IF_ERROR(r.Int("image_size", &image_size));
  SAM2_RETURN_IF_ERROR(r.IntList("strides", &strides));
  return r.CheckNoUnknownKeys();
}

absl::Status ParseHiera(MapReader& r, HieraConfig* t) {
  SAM2_RETURN_IF_ERROR(r.Target({"sam2.modeling.backbones.hieradet.Hiera"}));
  SAM2_RETURN_IF_ERROR(r.Int("embed_dim", &t->embed_dim));
  SAM2_RETURN_IF_ERROR(r.Int("num_heads", &t->num_heads));
  SAM2_RETURN_IF_ERROR(r.Double("drop_path_rate", &t->drop_path_rate));
  SAM2_RETURN_IF_ERROR(r.Int("q_pool", &t->q_pool));
  SAM2_RETURN_IF_ERROR(r.IntList("q_stride", &t->q_stride));
  SAM2_RETURN_IF_ERROR(r.IntList("stages", &t->stages));
  SAM2_RETURN_IF_ERROR(r.Double("dim_mul", &t->dim_mul));
  SAM2_RETURN_IF_ERROR(r.Double("head_mul", &t->head_mul));
  SAM2_RETURN_IF_ERROR(r.IntList("window_pos_embed_bkg_spatial_size",
                                 &t->window_pos_embed_bkg_spatial_size));
  SAM2_RETURN_IF_ERROR(r.IntList("window_spec", &t->window_spec));
  std::optional<std::vector<int>> global = t->global_att_blocks;
  SAM2_RETURN_IF_ERROR(r.OptionalIntList("global_att_blocks", &global));
  t->global_att_blocks = global.value_or(std::vector<int>());
  SAM2_RETURN_IF_ERROR(
      r.Bool("return_interm_layers", &t->return_interm_layers));
  const YAML::Node* weights = r.Find("weights_path");
  if (weights != nullptr && !weights->IsNull()) {
    return absl::InvalidArgumentError(absl::StrCat(
        r.Path("weights_path"),
        ": loading trunk weights from a separate file is not supported; "
        "leave it null and load a full checkpoint"));
  }
  return r.CheckNoUnknownKeys();
}

absl::Status ParseImageEncoder(MapReader& r, ImageEncoderConfig* ie) {
  SAM2_RETURN_IF_ERROR(
      r.Target({"sam2.modeling.backbones.image_encoder.ImageEncoder"}));
  SAM2_RETURN_IF_ERROR(r.Int("scalp", &ie->scalp));
  {
    SAM2_ASSIGN_MAP(trunk, r, "trunk");
    SAM2_RETURN_IF_ERROR(ParseHiera(trunk, &ie->trunk));
  }
  {
    SAM2_ASSIGN_MAP(neck, r, "neck");
    FpnNeckConfig& n = ie->neck;
    SAM2_RETURN_IF_ERROR(
        neck.Target({"sam2.modeling.backbones.image_encoder.FpnNeck"}));
    {
      SAM2_ASSIGN_MAP(pe, neck, "position_encoding");
      SAM2_RETURN_IF_ERROR(ParseSinePe(pe, &n.position_encoding));
    }
    SAM2_RETURN_IF_ERROR(neck.Int("d_model", &n.d_model, Presence::kRequired));
    SAM2_RETURN_IF_ERROR(neck.IntList("backbone_channel_list",
                                      &n.backbone_channel_list,
                                      Presence::kRequired));
    SAM2_RETURN_IF_ERROR(neck.Int("kernel_size", &n.kernel_size));
    SAM2_RETURN_IF_ERROR(neck.Int("stride", &n.stride));
    SAM2_RETURN_IF_ERROR(neck.Int("padding", &n.padding));
    SAM2_RETURN_IF_ERROR(neck.String("fpn_interp_model", &n.fpn_interp_model));
    SAM2_RETURN_IF_ERROR(neck.String("fuse_type", &n.fuse_type));
    SAM2_RETURN_IF_ERROR(
        neck.OptionalIntList("fpn_top_down_levels", &n.fpn_top_down_levels));
    SAM2_RETURN_IF_ERROR(neck.CheckNoUnknownKeys());
  }
  return r.CheckNoUnknownKeys();
}

absl::Status ParseRoPEAttention(MapReader& r, RoPEAttentionConfig* a) {
  SAM2_RETURN_IF_ERROR(
      r.Target({"sam2.modeling.sam.transformer.RoPEAttention"}));
  SAM2_RETURN_IF_ERROR(
      r.Int("embedding_dim", &a->embedding_dim, Presence::kRequired));
  SAM2_RETURN_IF_ERROR(r.Int("num_heads", &a->num_heads, Presence::kRequired));
  SAM2_RETURN_IF_ERROR(r.Int("downsample_rate", &a->downsample_rate));
  SAM2_RETURN_IF_ERROR(r.Double("dropout", &a->dropout));
  SAM2_RETURN_IF_ERROR(r.OptionalInt("kv_in_dim", &a->kv_in_dim));
  SAM2_RETURN_IF_ERROR(r.Double("rope_theta", &a->rope_theta));
  SAM2_RETURN_IF_ERROR(r.IntList("feat_sizes", &a->feat_sizes));
  SAM2_RETURN_IF_ERROR(r.Bool("rope_k_repeat", &a->rope_k_repeat));
  return r.CheckNoUnknownKeys();
}

absl::Status ParseMemoryAttention(MapReader& r, MemoryAttentionConfig* ma) {
  SAM2_RETURN_IF_ERROR(
      r.Target({"sam2.modeling.memory_attention.MemoryAttention"}));
  SAM2_RETURN_IF_ERROR(r.Int("d_model", &ma->d_model, Presence::kRequired));
  SAM2_RETURN_IF_ERROR(
      r.Bool("pos_enc_at_input", &ma->pos_enc_at_input, Presence::kRequired));
  SAM2_RETURN_IF_ERROR(
      r.Int("num_layers", &ma->num_layers, Presence::kRequired));
  SAM2_RETURN_IF_ERROR(r.Bool("batch_first", &ma->batch_first));
  {
    SAM2_ASSIGN_MAP(layer, r, "layer");
    MemoryAttentionLayerConfig& l = ma->layer;
    SAM2_RETURN_IF_ERROR(
        layer.Target({"sam2.modeling.memory_attention.MemoryAttentionLayer"}));
    SAM2_RETURN_IF_ERROR(
        layer.String("activation", &l.activation, Presence::kRequired));
    SAM2_RETURN_IF_ERROR(layer.Int("d_model", &l.d_model, Presence::kRequired));
    SAM2_RETURN_IF_ERROR(layer.Int("dim_feedforward", &l.dim_feedforward,
                                   Presence::kRequired));
    SAM2_RETURN_IF_ERROR(
        layer.Double("dropout", &l.dropout, Presence::kRequired));
    SAM2_RETURN_IF_ERROR(layer.Bool("pos_enc_at_attn", &l.pos_enc_at_attn,
                                    Presence::kRequired));
    SAM2_RETURN_IF_ERROR(layer.Bool("pos_enc_at_cross_attn_keys",
                                    &l.pos_enc_at_cross_attn_keys,
                                    Presence::kRequired));
    SAM2_RETURN_IF_ERROR(layer.Bool("pos_enc_at_cross_attn_queries",
                                    &l.pos_enc_at_cross_attn_queries,
                                    Presence::kRequired));
    {
      SAM2_ASSIGN_MAP(sa, layer, "self_attention");
      SAM2_RETURN_IF_ERROR(ParseRoPEAttention(sa, &l.self_attention));
    }
    {
      SAM2_ASSIGN_MAP(ca, layer, "cross_attention");
      SAM2_RETURN_IF_ERROR(ParseRoPEAttention(ca, &l.cross_attention));
    }
    SAM2_RETURN_IF_ERROR(layer.CheckNoUnknownKeys());
  }
  return r.CheckNoUnknownKeys();
}

absl::Status ParseMemoryEncoder(MapReader& r, MemoryEncoderConfig* me) {
  SAM2_RETURN_IF_ERROR(
      r.Target({"sam2.modeling.memory_encoder.MemoryEncoder"}));
  SAM2_RETURN_IF_ERROR(r.Int("out_dim", &me->out_dim, Presence::kRequired));
  SAM2_RETURN_IF_ERROR(r.Int("in_dim", &me->in_dim));
  {
    SAM2_ASSIGN_MAP(md, r, "mask_downsampler");
    MaskDownSamplerConfig& m = me->mask_downsampler;
    SAM2_RETURN_IF_ERROR(
        md.Target({"sam2.modeling.memory_encoder.MaskDownSampler"}));
    SAM2_RETURN_IF_ERROR(md.Int("embed_dim", &m.embed_dim));
    SAM2_RETURN_IF_ERROR(md.Int("kernel_size", &m.kernel_size));
    SAM2_RETURN_IF_ERROR(md.Int("stride", &m.stride));
    SAM2_RETURN_IF_ERROR(md.Int("padding", &m.padding));
    SAM2_RETURN_IF_ERROR(md.Int("total_stride", &m.total_stride));
    SAM2_RETURN_IF_ERROR(md.CheckNoUnknownKeys());
  }
  {
    SAM2_ASSIGN_MAP(fuser, r, "fuser");
    FuserConfig& f = me->fuser;
    SAM2_RETURN_IF_ERROR(fuser.Target({"sam2.modeling.memory_encoder.Fuser"}));
    SAM2_RETURN_IF_ERROR(
        fuser.Int("num_layers", &f.num_layers, Presence::kRequired));
    SAM2_RETURN_IF_ERROR(fuser.OptionalInt("dim", &f.dim));
    SAM2_RETURN_IF_ERROR(fuser.Bool("input_projection", &f.input_projection));
    {
      SAM2_ASSIGN_MAP(cx, fuser, "layer");
      CXBlockConfig& b = f.layer;
      SAM2_RETURN_IF_ERROR(cx.Target({"sam2.modeling.memory_encoder.CXBlock"}));
      SAM2_RETURN_IF_ERROR(cx.Int("dim", &b.dim, Presence::kRequired));
      SAM2_RETURN_IF_ERROR(cx.Int("kernel_size", &b.kernel_size));
      SAM2_RETURN_IF_ERROR(cx.Int("padding", &b.padding));
      SAM2_RETURN_IF_ERROR(cx.Double("drop_path", &b.drop_path));
      SAM2_RETURN_IF_ERROR(
          cx.Double("layer_scale_init_value", &b.layer_scale_init_value));
      SAM2_RETURN_IF_ERROR(cx.Bool("use_dwconv", &b.use_dwconv));
      SAM2_RETURN_IF_ERROR(cx.CheckNoUnknownKeys());
    }
    SAM2_RETURN_IF_ERROR(fuser.CheckNoUnknownKeys());
  }
  {
    SAM2_ASSIGN_MAP(pe, r, "position_encoding");
    SAM2_RETURN_IF_ERROR(ParseSinePe(pe, &me->position_encoding));
  }
  return r.CheckNoUnknownKeys();
}

constexpr absl::string_view kSam2BaseTarget =
    "sam2.modeling.sam2_base.SAM2Base";
constexpr absl::string_view kVideoTarget =
    "sam2.sam2_video_predictor.SAM2VideoPredictor";
constexpr absl::string_view kVideoVosTarget =
    "sam2.sam2_video_predictor.SAM2VideoPredictorVOS";

absl::Status ParseModel(MapReader& r, Sam2Config* c) {
  std::string target;
  SAM2_RETURN_IF_ERROR(
      r.Target({kSam2BaseTarget, kVideoTarget, kVideoVosTarget}, &target));
  {
    SAM2_ASSIGN_MAP(ie, r, "image_encoder");
    SAM2_RETURN_IF_ERROR(ParseImageEncoder(ie, &c->image_encoder));
  }
  {
    SAM2_ASSIGN_MAP(ma, r, "memory_attention");
    SAM2_RETURN_IF_ERROR(ParseMemoryAttention(ma, &c->memory_attention));
  }
  {
    SAM2_ASSIGN_MAP(me, r, "memory_encoder");
    SAM2_RETURN_IF_ERROR(ParseMemoryEncoder(me, &c->memory_encoder));
  }
  SAM2_RETURN_IF_ERROR(r.Int("num_maskmem", &c->num_maskmem));
  SAM2_RETURN_IF_ERROR(r.Int("image_size", &c->image_size));
  SAM2_RETURN_IF_ERROR(r.Int("backbone_stride", &c->backbone_stride));
  SAM2_RETURN_IF_ERROR(
      r.Double("sigmoid_scale_for_mem_enc", &c->sigmoid_scale_for_mem_enc));
  SAM2_RETURN_IF_ERROR(
      r.Double("sigmoid_bias_for_mem_enc", &c->sigmoid_bias_for_mem_enc));
  SAM2_RETURN_IF_ERROR(r.Bool("binarize_mask_from_pts_for_mem_enc",
                              &c->binarize_mask_from_pts_for_mem_enc));
  SAM2_RETURN_IF_ERROR(r.Bool("use_mask_input_as_output_without_sam",
                              &c->use_mask_input_as_output_without_sam));
  SAM2_RETURN_IF_ERROR(
      r.Int("max_cond_frames_in_attn", &c->max_cond_frames_in_attn));
  SAM2_RETURN_IF_ERROR(
      r.Bool("directly_add_no_mem_embed", &c->directly_add_no_mem_embed));
  SAM2_RETURN_IF_ERROR(r.Bool("use_high_res_features_in_sam",
                              &c->use_high_res_features_in_sam));
  SAM2_RETURN_IF_ERROR(
      r.Bool("multimask_output_in_sam", &c->multimask_output_in_sam));
  SAM2_RETURN_IF_ERROR(r.Int("multimask_min_pt_num", &c->multimask_min_pt_num));
  SAM2_RETURN_IF_ERROR(r.Int("multimask_max_pt_num", &c->multimask_max_pt_num));
  SAM2_RETURN_IF_ERROR(r.Bool("multimask_output_for_tracking",
                              &c->multimask_output_for_tracking));
  SAM2_RETURN_IF_ERROR(r.Bool("use_multimask_token_for_obj_ptr",
                              &c->use_multimask_token_for_obj_ptr));
  SAM2_RETURN_IF_ERROR(
      r.Bool("iou_prediction_use_sigmoid", &c->iou_prediction_use_sigmoid));
  SAM2_RETURN_IF_ERROR(r.Int("memory_temporal_stride_for_eval",
                             &c->memory_temporal_stride_for_eval));
  SAM2_RETURN_IF_ERROR(r.Bool("non_overlap_masks_for_mem_enc",
                              &c->non_overlap_masks_for_mem_enc));
  SAM2_RETURN_IF_ERROR(
      r.Bool("use_obj_ptrs_in_encoder", &c->use_obj_ptrs_in_encoder));
  SAM2_RETURN_IF_ERROR(
      r.Int("max_obj_ptrs_in_encoder", &c->max_obj_ptrs_in_encoder));
  SAM2_RETURN_IF_ERROR(
      r.Bool("add_tpos_enc_to_obj_ptrs", &c->add_tpos_enc_to_obj_ptrs));
  SAM2_RETURN_IF_ERROR(
      r.Bool("proj_tpos_enc_in_obj_ptrs", &c->proj_tpos_enc_in_obj_ptrs));
  SAM2_RETURN_IF_ERROR(r.Bool("use_signed_tpos_enc_to_obj_ptrs",
                              &c->use_signed_tpos_enc_to_obj_ptrs));
  SAM2_RETURN_IF_ERROR(r.Bool("only_obj_ptrs_in_the_past_for_eval",
                              &c->only_obj_ptrs_in_the_past_for_eval));
  SAM2_RETURN_IF_ERROR(r.Bool("pred_obj_scores", &c->pred_obj_scores));
  SAM2_RETURN_IF_ERROR(r.Bool("pred_obj_scores_mlp", &c->pred_obj_scores_mlp));
  SAM2_RETURN_IF_ERROR(r.Bool("fixed_no_obj_ptr", &c->fixed_no_obj_ptr));
  SAM2_RETURN_IF_ERROR(r.Bool("soft_no_obj_ptr", &c->soft_no_obj_ptr));
  SAM2_RETURN_IF_ERROR(
      r.Bool("use_mlp_for_obj_ptr_proj", &c->use_mlp_for_obj_ptr_proj));
  SAM2_RETURN_IF_ERROR(
      r.Bool("no_obj_embed_spatial", &c->no_obj_embed_spatial));
  SAM2_RETURN_IF_ERROR(
      r.Bool("compile_image_encoder", &c->compile_image_encoder));
  {
    absl::StatusOr<std::optional<MapReader>> extra =
        r.Map("sam_mask_decoder_extra_args", Presence::kOptional);
    if (!extra.ok()) return extra.status();
    if (extra->has_value()) {
      MapReader& e = **extra;
      MaskDecoderExtraArgs& x = c->sam_mask_decoder_extra_args;
      SAM2_RETURN_IF_ERROR(e.Bool("dynamic_multimask_via_stability",
                                  &x.dynamic_multimask_via_stability));
      SAM2_RETURN_IF_ERROR(e.Double("dynamic_multimask_stability_delta",
                                    &x.dynamic_multimask_stability_delta));
      SAM2_RETURN_IF_ERROR(e.Double("dynamic_multimask_stability_thresh",
                                    &x.dynamic_multimask_stability_thresh));
      SAM2_RETURN_IF_ERROR(e.CheckNoUnknownKeys());
    }
  }
  if (target != kSam2BaseTarget) {
    VideoPredictorConfig& v = c->video_predictor;
    SAM2_RETURN_IF_ERROR(r.Int("fill_hole_area", &v.fill_hole_area));
    SAM2_RETURN_IF_ERROR(r.Bool("non_overlap_masks", &v.non_overlap_masks));
    SAM2_RETURN_IF_ERROR(r.Bool("clear_non_cond_mem_around_input",
                                &v.clear_non_cond_mem_around_input));
    SAM2_RETURN_IF_ERROR(r.Bool("add_all_frames_to_correct_as_cond",
                                &v.add_all_frames_to_correct_as_cond));
  }
  return r.CheckNoUnknownKeys();
}

absl::StatusOr<Sam2Config> ParseYamlOrThrow(absl::string_view text,
                                            absl::string_view name) {
  const YAML::Node root = YAML::Load(std::string(text));
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: expected a mapping with a 'model' key at the top "
        "level, got ",
        NodeKind(root)));
  }
  absl::StatusOr<MapReader> top = MapReader::Create(root, "");
  if (!top.ok()) return top.status();
  absl::StatusOr<std::optional<MapReader>> model =
      top->Map("model", Presence::kOptional);
  if (!model.ok()) return model.status();
  if (!model->has_value()) {
    return absl::InvalidArgumentError(
        "model config: the top-level 'model' key is missing");
  }
  // Other top-level sections (trainer, dataset, ...) are ignored.
  // Arguments the reference requires start out empty in Sam2Config, so a
  // missing one is reported; the others start at the constructor defaults.
  Sam2Config config;
  SAM2_RETURN_IF_ERROR(ParseModel(**model, &config));
  config.family = InferFamily(config);
  SAM2_RETURN_IF_ERROR(ValidateConfig(config));
  config.name = std::string(name);
  for (const std::string& preset_name : PresetNames()) {
    absl::StatusOr<Sam2Config> preset = PresetConfig(preset_name);
    if (preset.ok() && SameSettings(*preset, config)) {
      config.name = preset->name;
      break;
    }
  }
  return config;
}

}  // namespace

absl::StatusOr<Sam2Config> ParseConfigYaml(absl::string_view text,
                                           absl::string_view name) {
  try {
    return ParseYamlOrThrow(text, name.empty() ? "custom" : name);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("model config is not valid YAML: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("reading the model config failed: ", e.what()));
  }
}

absl::StatusOr<Sam2Config> LoadConfigYaml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open model config '", path, "'"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(
        absl::StrCat("error reading model config '", path, "'"));
  }
  absl::string_view stem = path;
  const size_t slash = stem.find_last_of('/');
  if (slash != absl::string_view::npos) stem.remove_prefix(slash + 1);
  if (!absl::ConsumeSuffix(&stem, ".yaml")) absl::ConsumeSuffix(&stem, ".yml");
  absl::StatusOr<Sam2Config> config = ParseConfigYaml(buffer.str(), stem);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

// ---------------------------------------------------------------------------
// Description.

std::string DescribeConfig(const Sam2Config& c) {
  const HieraConfig& t = c.image_encoder.trunk;
  const FpnNeckConfig& n = c.image_encoder.neck;
  const MemoryAttentionConfig& ma = c.memory_attention;
  const MemoryEncoderConfig& me = c.memory_encoder;
  auto yes_no = [](bool b) { return b ? "yes" : "no"; };
  std::string out;
  absl::StrAppend(&out, c.name, " (",
                  c.family == ModelFamily::kSam2_1 ? "SAM 2.1" : "SAM 2",
                  ")\n");
  absl::StrAppend(&out, "  input: ", c.image_size, "x", c.image_size,
                  ", backbone stride ", c.backbone_stride, ", image embedding ",
                  c.ImageEmbeddingSize(), "x", c.ImageEmbeddingSize(),
                  ", hidden dim ", c.HiddenDim(), ", memory dim ", c.MemDim(),
                  "\n");
  std::vector<std::string> levels;
  for (const auto& hw : c.BackboneFeatureSizes()) {
    levels.push_back(absl::StrCat(hw[0], "x", hw[1]));
  }
  absl::StrAppend(
      &out, "  image encoder: Hiera embed_dim ", t.embed_dim, ", heads ",
      t.num_heads, ", stages ", ListStr(t.stages), " (", t.NumBlocks(),
      " blocks), stage dims ", ListStr(t.StageDims()), "\n",
      "    windows ", ListStr(t.window_spec), ", global attention blocks ",
      ListStr(t.global_att_blocks), ", q-pool blocks ",
      ListStr(t.QPoolBlocks()), ", pos embed ",
      absl::StrJoin(t.window_pos_embed_bkg_spatial_size, "x"), " + window ",
      t.window_spec.empty() ? 0 : t.window_spec[0], "x",
      t.window_spec.empty() ? 0 : t.window_spec[0], "\n",
      "    FPN neck: d_model ", n.d_model, ", channels ",
      ListStr(n.backbone_channel_list), ", top-down levels ",
      n.fpn_top_down_levels.has_value() ? ListStr(*n.fpn_top_down_levels)
                                        : std::string("all"),
      " (", n.fpn_interp_model, ", ", n.fuse_type, "), scalp ",
      c.image_encoder.scalp, " -> levels ", absl::StrJoin(levels, ", "), "\n");
  const RoPEAttentionConfig& sa = ma.layer.self_attention;
  const RoPEAttentionConfig& ca = ma.layer.cross_attention;
  absl::StrAppend(
      &out, "  memory attention: ", ma.num_layers, " layers, d_model ",
      ma.d_model, ", feed-forward ", ma.layer.dim_feedforward, " (",
      ma.layer.activation, "), RoPE theta ", sa.rope_theta, "; self ",
      sa.num_heads, " head(s); cross ", ca.num_heads, " head(s), kv_in_dim ",
      ca.KvInDim(), ca.rope_k_repeat ? ", keys repeat RoPE" : "", "\n");
  absl::StrAppend(
      &out, "  memory encoder: in ", me.in_dim, " -> out ", me.out_dim,
      "; mask downsampler ", me.mask_downsampler.NumLayers(), " x conv k",
      me.mask_downsampler.kernel_size, " s", me.mask_downsampler.stride,
      " -> ", me.mask_downsampler.embed_dim, "; fuser ", me.fuser.num_layers,
      " x CXBlock(", me.fuser.layer.dim, ", k", me.fuser.layer.kernel_size,
      me.fuser.layer.use_dwconv ? ", depthwise" : "", ")\n");
  absl::StrAppend(
      &out, "  memory: ", c.num_maskmem, " mask memories, stride ",
      c.memory_temporal_stride_for_eval, ", max cond frames ",
      c.max_cond_frames_in_attn, ", object pointers ",
      yes_no(c.use_obj_ptrs_in_encoder));
  if (c.use_obj_ptrs_in_encoder) {
    absl::StrAppend(&out, " (max ", c.max_obj_ptrs_in_encoder,
                    c.use_mlp_for_obj_ptr_proj ? ", MLP projection" : "",
                    ", temporal PE ",
                    !c.add_tpos_enc_to_obj_ptrs ? "off"
                    : c.proj_tpos_enc_in_obj_ptrs ? "projected"
                                                  : "on",
                    c.use_signed_tpos_enc_to_obj_ptrs ? ", signed" : "",
                    c.only_obj_ptrs_in_the_past_for_eval ? ", past only" : "",
                    ")");
  }
  absl::StrAppend(&out, ", no_obj_embed_spatial ",
                  yes_no(c.no_obj_embed_spatial), "\n");
  absl::StrAppend(
      &out, "  heads: high-res features ",
      yes_no(c.use_high_res_features_in_sam), ", multimask ",
      yes_no(c.multimask_output_in_sam), " (", c.multimask_min_pt_num, "..",
      c.multimask_max_pt_num, " points",
      c.multimask_output_for_tracking ? ", also when tracking" : "",
      "), IoU sigmoid ", yes_no(c.iou_prediction_use_sigmoid),
      ", object scores ",
      c.pred_obj_scores ? (c.pred_obj_scores_mlp ? "MLP" : "linear") : "no",
      c.fixed_no_obj_ptr ? ", fixed no-object pointer" : "",
      c.soft_no_obj_ptr ? ", soft no-object pointer" : "", "\n");
  absl::StrAppend(
      &out, "  memory input: mask sigmoid scale ", c.sigmoid_scale_for_mem_enc,
      ", bias ", c.sigmoid_bias_for_mem_enc, ", mask input as output ",
      yes_no(c.use_mask_input_as_output_without_sam),
      ", directly add no-memory embedding ",
      yes_no(c.directly_add_no_mem_embed), "\n");
  const MaskDecoderExtraArgs& x = c.sam_mask_decoder_extra_args;
  absl::StrAppend(&out, "  post-processing: dynamic multimask via stability ",
                  yes_no(x.dynamic_multimask_via_stability));
  if (x.dynamic_multimask_via_stability) {
    absl::StrAppend(&out, " (delta ", x.dynamic_multimask_stability_delta,
                    ", thresh ", x.dynamic_multimask_stability_thresh, ")");
  }
  absl::StrAppend(&out, ", binarize click masks for memory ",
                  yes_no(c.binarize_mask_from_pts_for_mem_enc),
                  ", fill holes up to ", c.video_predictor.fill_hole_area,
                  " px\n");
  return out;
}

}  // namespace sam2
