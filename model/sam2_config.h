// Sam2Config: every setting that shapes a SAM 2 / SAM 2.1 model, the eight
// official presets, and a reader for the official Hydra YAML schema.
//
// Mirrors the constructor arguments of the reference (facebookresearch/sam2):
// `SAM2Base` (modeling/sam2_base.py), `ImageEncoder` + `FpnNeck`
// (modeling/backbones/image_encoder.py), `Hiera` (modeling/backbones/
// hieradet.py), `MemoryAttention` + `MemoryAttentionLayer`
// (modeling/memory_attention.py), `RoPEAttention` (modeling/sam/
// transformer.py), `MemoryEncoder`, `MaskDownSampler`, `Fuser`, `CXBlock`
// (modeling/memory_encoder.py) and `PositionEmbeddingSine`
// (modeling/position_encoding.py), grouped as the YAML files group them. Field
// names are the reference's argument names; defaults are its constructor
// defaults. Arguments without a default in the reference are marked
// "required": their zero value here is invalid and ValidateConfig() rejects it.
//
// Deliberate difference: the post-processing settings that the reference's
// builders (`build_sam2`, `build_sam2_video_predictor` in build_sam.py) force
// on top of the YAML — the mask decoder's dynamic multimask fallback,
// `binarize_mask_from_pts_for_mem_enc` and the video predictor's
// `fill_hole_area` — default here to the builders' values, because that is
// how the reference is always run; a YAML file may still set them.
//
// Sizes that the reference hard-codes (PatchEmbed's stem, the prompt
// encoder's mask channels, the two-way transformer, the IoU head) are the
// named constants below; every other size is derived from the config, never
// written as a literal (no 1024, 256 or 64 anywhere in model/).
//
// Ownership/thread-safety: plain values; a const Sam2Config may be shared
// freely across threads. All functions are thread-safe and never throw
// (yaml-cpp exceptions are caught and become statuses).

#ifndef SAM2_MODEL_SAM2_CONFIG_H_
#define SAM2_MODEL_SAM2_CONFIG_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// ---------------------------------------------------------------------------
// Sizes the reference hard-codes rather than reading from the config.

// Hiera's PatchEmbed (modeling/backbones/utils.py): Conv2d(3, E, 7, 4, 3).
inline constexpr int kPatchEmbedInChannels = 3;
inline constexpr int kPatchEmbedKernel = 7;
inline constexpr int kPatchEmbedStride = 4;
inline constexpr int kPatchEmbedPadding = 3;
// MultiScaleBlock: MLP hidden = dim_out * 4.0; LayerNorm eps 1e-6.
inline constexpr double kHieraMlpRatio = 4.0;
// SAM2Base._build_sam_heads.
inline constexpr int kPromptMaskInChans = 16;
inline constexpr int kPromptNumPointEmbeddings = 4;  // pos, neg, 2 box corners
inline constexpr int kNumMultimaskOutputs = 3;
inline constexpr int kNumMaskTokens = kNumMultimaskOutputs + 1;
inline constexpr int kTwoWayDepth = 2;
inline constexpr int kTwoWayNumHeads = 8;
inline constexpr int kTwoWayMlpDim = 2048;
inline constexpr int kTwoWayAttentionDownsampleRate = 2;
inline constexpr int kIouHeadDepth = 3;
inline constexpr int kIouHeadHiddenDim = 256;
inline constexpr int kObjPtrProjMlpLayers = 3;
// SAM2Base.mask_downsample: Conv2d(1, 1, kernel_size=4, stride=4).
inline constexpr int kMaskDownsampleKernel = 4;
// CXBlock: pointwise expansion 4 * dim.
inline constexpr int kCxBlockExpansion = 4;

// ---------------------------------------------------------------------------

enum class ModelFamily {
  kSam2,    // SAM 2 (July 2024 checkpoints)
  kSam2_1,  // SAM 2.1 (September 2024 checkpoints)
};
// "sam2" or "sam2.1".
absl::string_view FamilyName(ModelFamily family);

// position_encoding.PositionEmbeddingSine.
struct PositionEmbeddingSineConfig {
  int num_pos_feats = 0;  // required; even; the output channel count
  double temperature = 10000;
  bool normalize = true;
  std::optional<double> scale;  // null: 2*pi (needs normalize)
};

// backbones.hieradet.Hiera.
struct HieraConfig {
  int embed_dim = 96;
  int num_heads = 1;
  double drop_path_rate = 0.0;  // training only
  int q_pool = 3;               // number of stage changes that pool q
  std::vector<int> q_stride = {2, 2};
  std::vector<int> stages = {2, 3, 16, 3};  // blocks per stage
  double dim_mul = 2.0;
  double head_mul = 2.0;
  std::vector<int> window_pos_embed_bkg_spatial_size = {14, 14};
  std::vector<int> window_spec = {8, 4, 14, 7};  // window per stage
  std::vector<int> global_att_blocks = {12, 16, 20};
  bool return_interm_layers = true;

  // One entry per block, as Hiera.__init__ lays them out.
  struct Block {
    int dim = 0;        // input channels
    int dim_out = 0;    // output channels (differs at a stage change)
    int num_heads = 0;
    int window_size = 0;  // 0: global attention
    bool q_pool = false;  // max-pools q (and the shortcut) by q_stride
  };
  std::vector<Block> Blocks() const;
  int NumBlocks() const;
  // Index of the last block of each stage.
  std::vector<int> StageEnds() const;
  // Blocks that pool q: the first block of stages 2..q_pool+1.
  std::vector<int> QPoolBlocks() const;
  // Output channels of each stage, first stage first.
  std::vector<int> StageDims() const;
  // Heads of each stage, first stage first.
  std::vector<int> StageHeads() const;
  // Hiera.channel_list: stage dims, last stage first (what FpnNeck expects).
  std::vector<int> ChannelList() const;
};

// backbones.image_encoder.FpnNeck.
struct FpnNeckConfig {
  PositionEmbeddingSineConfig position_encoding;  // required
  int d_model = 0;                                // required
  std::vector<int> backbone_channel_list;         // required
  int kernel_size = 1;
  int stride = 1;
  int padding = 0;
  std::string fpn_interp_model = "bilinear";
  std::string fuse_type = "sum";
  // null: every level gets the top-down path.
  std::optional<std::vector<int>> fpn_top_down_levels;
};

// backbones.image_encoder.ImageEncoder.
struct ImageEncoderConfig {
  HieraConfig trunk;
  FpnNeckConfig neck;
  int scalp = 0;  // lowest-resolution levels dropped after the neck
};

// sam.transformer.RoPEAttention (and its base Attention).
struct RoPEAttentionConfig {
  int embedding_dim = 0;  // required
  int num_heads = 0;      // required
  int downsample_rate = 1;
  double dropout = 0.0;
  std::optional<int> kv_in_dim;  // null: embedding_dim
  double rope_theta = 10000.0;
  std::vector<int> feat_sizes = {64, 64};  // only a cache hint; see PORTING
  bool rope_k_repeat = false;

  int KvInDim() const { return kv_in_dim.value_or(embedding_dim); }
  int InternalDim() const {
    return downsample_rate > 0 ? embedding_dim / downsample_rate : 0;
  }
};

// memory_attention.MemoryAttentionLayer: all arguments are required.
struct MemoryAttentionLayerConfig {
  std::string activation;  // "relu" or "gelu"
  RoPEAttentionConfig cross_attention;
  int d_model = 0;
  int dim_feedforward = 0;
  double dropout = 0.0;
  bool pos_enc_at_attn = false;
  bool pos_enc_at_cross_attn_keys = false;
  bool pos_enc_at_cross_attn_queries = false;
  RoPEAttentionConfig self_attention;
};

// memory_attention.MemoryAttention.
struct MemoryAttentionConfig {
  int d_model = 0;                // required
  bool pos_enc_at_input = false;  // required
  MemoryAttentionLayerConfig layer;
  int num_layers = 0;  // required
  bool batch_first = true;
};

// memory_encoder.MaskDownSampler.
struct MaskDownSamplerConfig {
  int embed_dim = 256;
  int kernel_size = 4;
  int stride = 4;
  int padding = 0;
  int total_stride = 16;
  // Conv layers before the final 1x1: log(total_stride) / log(stride).
  int NumLayers() const;
};

// memory_encoder.CXBlock.
struct CXBlockConfig {
  int dim = 0;  // required
  int kernel_size = 7;
  int padding = 3;
  double drop_path = 0.0;  // training only
  double layer_scale_init_value = 1e-6;  // <= 0: no gamma parameter
  bool use_dwconv = true;
};

// memory_encoder.Fuser.
struct FuserConfig {
  CXBlockConfig layer;  // required
  int num_layers = 0;   // required
  std::optional<int> dim;
  bool input_projection = false;
};

// memory_encoder.MemoryEncoder.
struct MemoryEncoderConfig {
  int out_dim = 0;  // required
  MaskDownSamplerConfig mask_downsampler;
  FuserConfig fuser;
  PositionEmbeddingSineConfig position_encoding;  // required
  int in_dim = 256;
};

// SAM2Base.sam_mask_decoder_extra_args (MaskDecoder keyword arguments).
// Defaults: the builders' apply_postprocessing=True values.
struct MaskDecoderExtraArgs {
  bool dynamic_multimask_via_stability = true;
  double dynamic_multimask_stability_delta = 0.05;
  double dynamic_multimask_stability_thresh = 0.98;
};

// sam2_video_predictor.SAM2VideoPredictor's own arguments. fill_hole_area
// defaults to build_sam2_video_predictor's 8 (the class default is 0).
struct VideoPredictorConfig {
  int fill_hole_area = 8;
  bool non_overlap_masks = false;
  bool clear_non_cond_mem_around_input = false;
  bool add_all_frames_to_correct_as_cond = false;
};

struct Sam2Config {
  // Canonical preset name ("sam2.1_hiera_tiny"), the YAML file's stem, or
  // "custom".
  std::string name = "custom";
  // Inferred from the 2.1-only settings; see InferFamily().
  ModelFamily family = ModelFamily::kSam2;

  ImageEncoderConfig image_encoder;
  MemoryAttentionConfig memory_attention;
  MemoryEncoderConfig memory_encoder;

  // SAM2Base arguments, reference defaults (see PORTING.md section 1).
  int num_maskmem = 7;
  int image_size = 512;
  int backbone_stride = 16;
  double sigmoid_scale_for_mem_enc = 1.0;
  double sigmoid_bias_for_mem_enc = 0.0;
  // The video builder's value (the class default is false).
  bool binarize_mask_from_pts_for_mem_enc = true;
  bool use_mask_input_as_output_without_sam = false;
  int max_cond_frames_in_attn = -1;  // -1: no limit
  bool directly_add_no_mem_embed = false;
  bool use_high_res_features_in_sam = false;
  bool multimask_output_in_sam = false;
  int multimask_min_pt_num = 1;
  int multimask_max_pt_num = 1;
  bool multimask_output_for_tracking = false;
  bool use_multimask_token_for_obj_ptr = false;
  bool iou_prediction_use_sigmoid = false;
  int memory_temporal_stride_for_eval = 1;
  bool non_overlap_masks_for_mem_enc = false;
  bool use_obj_ptrs_in_encoder = false;
  int max_obj_ptrs_in_encoder = 16;
  bool add_tpos_enc_to_obj_ptrs = true;
  bool proj_tpos_enc_in_obj_ptrs = false;
  bool use_signed_tpos_enc_to_obj_ptrs = false;
  bool only_obj_ptrs_in_the_past_for_eval = false;
  bool pred_obj_scores = false;
  bool pred_obj_scores_mlp = false;
  bool fixed_no_obj_ptr = false;
  bool soft_no_obj_ptr = false;
  bool use_mlp_for_obj_ptr_proj = false;
  bool no_obj_embed_spatial = false;
  MaskDecoderExtraArgs sam_mask_decoder_extra_args;
  bool compile_image_encoder = false;  // accepted, no effect here

  VideoPredictorConfig video_predictor;

  // --- Derived values (the reference computes these in its constructors).

  // SAM2Base.hidden_dim: the neck's d_model (C).
  int HiddenDim() const { return image_encoder.neck.d_model; }
  // SAM2Base.mem_dim: out_dim when the memory encoder projects (out_dim !=
  // in_dim), else the hidden dim.
  int MemDim() const;
  // image_size / backbone_stride: the side of the lowest-resolution level
  // the heads see (64 for the official configs).
  int ImageEmbeddingSize() const { return image_size / backbone_stride; }
  // PromptEncoder.mask_input_size side: 4 * ImageEmbeddingSize().
  int MaskInputSize() const { return 4 * ImageEmbeddingSize(); }
  // 3 with high-resolution features in the decoder, else 1.
  int NumFeatureLevels() const { return use_high_res_features_in_sam ? 3 : 1; }
  // {H, W} of each backbone level the image encoder returns (after scalp),
  // highest resolution first: {S/4, S/8, S/16} for the official configs.
  std::vector<std::array<int, 2>> BackboneFeatureSizes() const;
  // Stride (in input pixels) of each level BackboneFeatureSizes() lists.
  std::vector<int> BackboneStrides() const;
};

bool operator==(const PositionEmbeddingSineConfig& a,
                const PositionEmbeddingSineConfig& b);
bool operator==(const HieraConfig& a, const HieraConfig& b);
bool operator==(const FpnNeckConfig& a, const FpnNeckConfig& b);
bool operator==(const ImageEncoderConfig& a, const ImageEncoderConfig& b);
bool operator==(const RoPEAttentionConfig& a, const RoPEAttentionConfig& b);
bool operator==(const MemoryAttentionLayerConfig& a,
                const MemoryAttentionLayerConfig& b);
bool operator==(const MemoryAttentionConfig& a,
                const MemoryAttentionConfig& b);
bool operator==(const MaskDownSamplerConfig& a,
                const MaskDownSamplerConfig& b);
bool operator==(const CXBlockConfig& a, const CXBlockConfig& b);
bool operator==(const FuserConfig& a, const FuserConfig& b);
bool operator==(const MemoryEncoderConfig& a, const MemoryEncoderConfig& b);
bool operator==(const MaskDecoderExtraArgs& a, const MaskDecoderExtraArgs& b);
bool operator==(const VideoPredictorConfig& a, const VideoPredictorConfig& b);
// Field by field, `name` and `family` included.
bool operator==(const Sam2Config& a, const Sam2Config& b);
inline bool operator!=(const Sam2Config& a, const Sam2Config& b) {
  return !(a == b);
}

// Compares architecture and behaviour, ignoring `name` (and `family`, which
// follows from the settings).
bool SameSettings(const Sam2Config& a, const Sam2Config& b);

// kSam2_1 if any 2.1-only setting is on (no_obj_embed_spatial,
// proj_tpos_enc_in_obj_ptrs, use_signed_tpos_enc_to_obj_ptrs), else kSam2.
ModelFamily InferFamily(const Sam2Config& config);

// Checks that the settings describe a model the reference could build and
// run: the asserts of its constructors plus the shape agreements between
// modules (channel lists, d_model, mem_dim, strides, window sizes).
// INVALID_ARGUMENT naming the offending field on failure.
absl::Status ValidateConfig(const Sam2Config& config);

// The eight official variants, canonical names first:
//   sam2_hiera_{tiny,small,base_plus,large}, sam2.1_hiera_{...}.
// Also accepted: the official config and checkpoint short names
// ("sam2.1_hiera_t", "sam2_hiera_b+", "sam2.1_hiera_l.yaml",
// "configs/sam2.1/sam2.1_hiera_s.yaml", "sam2.1_hiera_base_plus.pt").
// NOT_FOUND (listing the names) for anything else.
absl::StatusOr<Sam2Config> PresetConfig(absl::string_view name);
// The eight canonical names, sam2 first, tiny to large.
std::vector<std::string> PresetNames();

// Reads the official Hydra schema: a top-level `model:` mapping whose
// `_target_` is SAM2Base (or SAM2VideoPredictor/SAM2VideoPredictorVOS, which
// also take the VideoPredictorConfig keys), with nested `_target_`-tagged
// modules as in sam2/configs/sam2.1/*.yaml. Other top-level keys are ignored.
// Keys left out take the reference constructors' defaults; a required key
// left out, an unknown key, a wrong `_target_` or a wrong type is
// INVALID_ARGUMENT naming the key path (e.g. "model.image_encoder.trunk.
// embed_dim"); so is a config that fails ValidateConfig(). Hydra
// interpolation (${...}) is not supported. The returned name is the preset's
// canonical name when the settings equal a preset's, else `name`.
absl::StatusOr<Sam2Config> ParseConfigYaml(absl::string_view text,
                                           absl::string_view name = "custom");
// As ParseConfigYaml on the file's contents, named after the file's stem.
// NOT_FOUND if the file cannot be opened.
absl::StatusOr<Sam2Config> LoadConfigYaml(const std::string& path);

// A multi-line, human-readable summary (for `sam2 inspect`).
std::string DescribeConfig(const Sam2Config& config);

}  // namespace sam2

#endif  // SAM2_MODEL_SAM2_CONFIG_H_
