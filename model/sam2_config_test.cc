// Tests for Sam2Config: presets, derived sizes, validation, the Hydra YAML
// reader (on the golden fixtures' model.yaml and on hand-written snippets)
// and DescribeConfig.
//
// Optional: with SAM2_OFFICIAL_CONFIG_DIR pointing at the reference's
// sam2/configs directory, OfficialYamlsEqualPresets also parses the eight
// official YAML files (they are not copied into this repository).

#include "model/sam2_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace sam2 {

// Readable gtest failure output.
void PrintTo(const Sam2Config& config, std::ostream* os) {
  *os << "\n" << DescribeConfig(config);
}

namespace {

using ::testing::TestWithParam;
using ::testing::ValuesIn;

constexpr char kMicro21Yaml[] = "tests/fixtures/sam2.1-micro/model.yaml";
constexpr char kMicro20Yaml[] = "tests/fixtures/sam2-micro/model.yaml";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Sam2Config Preset(absl::string_view name) {
  absl::StatusOr<Sam2Config> c = PresetConfig(name);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Sam2Config();
}

// Replaces the single occurrence of `from` in `text`.
std::string ReplaceOnce(const std::string& text, absl::string_view from,
                        absl::string_view to) {
  const size_t pos = text.find(std::string(from));
  EXPECT_NE(pos, std::string::npos) << "'" << from << "' not in the YAML";
  EXPECT_EQ(text.find(std::string(from), pos + 1), std::string::npos)
      << "'" << from << "' occurs more than once";
  if (pos == std::string::npos) return text;
  std::string out = text;
  out.replace(pos, from.size(), std::string(to));
  return out;
}

// The sizes that make the golden fixtures' "micro" models, applied to an
// official preset: everything else the fixture YAMLs set must equal the
// preset (they follow the official files key for key).
Sam2Config MicroFrom(const Sam2Config& preset) {
  Sam2Config c = preset;
  c.name = "model";
  HieraConfig& t = c.image_encoder.trunk;
  t.embed_dim = 16;
  t.num_heads = 1;
  t.stages = {1, 2, 3, 2};
  t.global_att_blocks = {4};
  t.window_pos_embed_bkg_spatial_size = {7, 7};
  FpnNeckConfig& n = c.image_encoder.neck;
  n.position_encoding.num_pos_feats = 32;
  n.d_model = 32;
  n.backbone_channel_list = {128, 64, 32, 16};
  MemoryAttentionConfig& ma = c.memory_attention;
  ma.d_model = 32;
  ma.num_layers = 2;
  ma.layer.d_model = 32;
  ma.layer.dim_feedforward = 64;
  ma.layer.self_attention.embedding_dim = 32;
  ma.layer.self_attention.feat_sizes = {32, 32};
  ma.layer.cross_attention.embedding_dim = 32;
  ma.layer.cross_attention.feat_sizes = {32, 32};
  ma.layer.cross_attention.kv_in_dim = 16;
  MemoryEncoderConfig& me = c.memory_encoder;
  me.out_dim = 16;
  me.in_dim = 32;
  me.position_encoding.num_pos_feats = 16;
  me.mask_downsampler.embed_dim = 32;
  me.fuser.layer.dim = 32;
  c.image_size = 512;
  return c;
}

// --- Presets ---------------------------------------------------------------

TEST(PresetTest, EightCanonicalNames) {
  const std::vector<std::string> expected = {
      "sam2_hiera_tiny",   "sam2_hiera_small",   "sam2_hiera_base_plus",
      "sam2_hiera_large",  "sam2.1_hiera_tiny",  "sam2.1_hiera_small",
      "sam2.1_hiera_base_plus", "sam2.1_hiera_large"};
  EXPECT_EQ(PresetNames(), expected);
  for (const std::string& name : PresetNames()) {
    SCOPED_TRACE(name);
    absl::StatusOr<Sam2Config> c = PresetConfig(name);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->name, name);
    EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
    EXPECT_EQ(c->family, InferFamily(*c));
    EXPECT_EQ(c->family, absl::StartsWith(name, "sam2.1")
                             ? ModelFamily::kSam2_1
                             : ModelFamily::kSam2);
  }
}

TEST(PresetTest, AcceptsOfficialShortNamesAndFileNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"sam2.1_hiera_t", "sam2.1_hiera_tiny"},
      {"sam2.1_hiera_s", "sam2.1_hiera_small"},
      {"sam2.1_hiera_b+", "sam2.1_hiera_base_plus"},
      {"sam2.1_hiera_l", "sam2.1_hiera_large"},
      {"sam2_hiera_t", "sam2_hiera_tiny"},
      {"sam2_hiera_b+", "sam2_hiera_base_plus"},
      {"sam2_hiera_l", "sam2_hiera_large"},
      {"configs/sam2.1/sam2.1_hiera_s.yaml", "sam2.1_hiera_small"},
      {"sam2.1_hiera_base_plus.pt", "sam2.1_hiera_base_plus"},
      {"SAM2_Hiera_Large", "sam2_hiera_large"},
  };
  for (const auto& [alias, canonical] : cases) {
    absl::StatusOr<Sam2Config> c = PresetConfig(alias);
    ASSERT_TRUE(c.ok()) << alias << ": " << c.status();
    EXPECT_EQ(c->name, canonical) << alias;
  }
}

TEST(PresetTest, UnknownNameIsNotFoundAndListsPresets) {
  for (const char* bad : {"", "sam2.1_hiera_xl", "sam3_hiera_t", "tiny",
                          "sam2.1_hiera_"}) {
    absl::StatusOr<Sam2Config> c = PresetConfig(bad);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound) << bad;
    EXPECT_TRUE(absl::StrContains(c.status().message(), "sam2.1_hiera_tiny"))
        << c.status();
  }
}

TEST(PresetTest, HieraLayoutPerVariant) {
  struct Case {
    const char* name;
    std::vector<int> dims, heads, q_pool, global;
    int blocks;
  };
  const Case cases[] = {
      {"sam2.1_hiera_tiny", {96, 192, 384, 768}, {1, 2, 4, 8}, {1, 3, 10},
       {5, 7, 9}, 12},
      {"sam2.1_hiera_small", {96, 192, 384, 768}, {1, 2, 4, 8}, {1, 3, 14},
       {7, 10, 13}, 16},
      {"sam2.1_hiera_base_plus", {112, 224, 448, 896}, {2, 4, 8, 16},
       {2, 5, 21}, {12, 16, 20}, 24},
      {"sam2.1_hiera_large", {144, 288, 576, 1152}, {2, 4, 8, 16}, {2, 8, 44},
       {23, 33, 43}, 48},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    const Sam2Config c = Preset(tc.name);
    const HieraConfig& t = c.image_encoder.trunk;
    EXPECT_EQ(t.StageDims(), tc.dims);
    EXPECT_EQ(t.StageHeads(), tc.heads);
    EXPECT_EQ(t.QPoolBlocks(), tc.q_pool);
    EXPECT_EQ(t.global_att_blocks, tc.global);
    EXPECT_EQ(t.NumBlocks(), tc.blocks);
    std::vector<int> reversed(tc.dims.rbegin(), tc.dims.rend());
    EXPECT_EQ(t.ChannelList(), reversed);
    EXPECT_EQ(c.image_encoder.neck.backbone_channel_list, reversed);
  }
  EXPECT_EQ(Preset("sam2_hiera_large").image_encoder.trunk.window_spec,
            (std::vector<int>{8, 4, 16, 8}));
  EXPECT_EQ(Preset("sam2_hiera_base_plus")
                .image_encoder.trunk.window_pos_embed_bkg_spatial_size,
            (std::vector<int>{14, 14}));
}

TEST(PresetTest, TinyBlockWindowsLagOneBlockBehindStages) {
  // PORTING.md section 2: b0 w8; b1 w8 (lag); b2 w4; b3 w4 (lag);
  // b4,6,8 w14; b5,7,9 global; b10 w14 (lag); b11 w7.
  const std::vector<HieraConfig::Block> blocks =
      Preset("sam2_hiera_tiny").image_encoder.trunk.Blocks();
  ASSERT_EQ(blocks.size(), 12u);
  const int windows[] = {8, 8, 4, 4, 14, 0, 14, 0, 14, 0, 14, 7};
  const bool pooled[] = {false, true,  false, true,  false, false,
                         false, false, false, false, true,  false};
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(blocks[i].window_size, windows[i]) << "block " << i;
    EXPECT_EQ(blocks[i].q_pool, pooled[i]) << "block " << i;
  }
  EXPECT_EQ(blocks[1].dim, 96);
  EXPECT_EQ(blocks[1].dim_out, 192);
  EXPECT_EQ(blocks[1].num_heads, 2);
  EXPECT_EQ(blocks[2].dim, 192);
  EXPECT_EQ(blocks[2].dim_out, 192);
}

TEST(PresetTest, DerivedSizesAt1024) {
  const Sam2Config c = Preset("sam2.1_hiera_tiny");
  EXPECT_EQ(c.HiddenDim(), 256);
  EXPECT_EQ(c.MemDim(), 64);
  EXPECT_EQ(c.ImageEmbeddingSize(), 64);
  EXPECT_EQ(c.MaskInputSize(), 256);
  EXPECT_EQ(c.NumFeatureLevels(), 3);
  using Hw = std::array<int, 2>;
  EXPECT_EQ(c.BackboneFeatureSizes(),
            (std::vector<Hw>{Hw{256, 256}, Hw{128, 128}, Hw{64, 64}}));
  EXPECT_EQ(c.BackboneStrides(), (std::vector<int>{4, 8, 16}));
  EXPECT_EQ(c.memory_encoder.mask_downsampler.NumLayers(), 4);
}

TEST(PresetTest, OfficialSharedValues) {
  const Sam2Config c = Preset("sam2.1_hiera_base_plus");
  EXPECT_EQ(c.num_maskmem, 7);
  EXPECT_EQ(c.image_size, 1024);
  EXPECT_EQ(c.backbone_stride, 16);
  EXPECT_EQ(c.sigmoid_scale_for_mem_enc, 20.0);
  EXPECT_EQ(c.sigmoid_bias_for_mem_enc, -10.0);
  EXPECT_TRUE(c.use_mask_input_as_output_without_sam);
  EXPECT_TRUE(c.directly_add_no_mem_embed);
  EXPECT_TRUE(c.use_high_res_features_in_sam);
  EXPECT_TRUE(c.multimask_output_in_sam);
  EXPECT_EQ(c.multimask_min_pt_num, 0);
  EXPECT_EQ(c.multimask_max_pt_num, 1);
  EXPECT_TRUE(c.multimask_output_for_tracking);
  EXPECT_TRUE(c.use_multimask_token_for_obj_ptr);
  EXPECT_TRUE(c.iou_prediction_use_sigmoid);
  EXPECT_TRUE(c.use_obj_ptrs_in_encoder);
  EXPECT_EQ(c.max_obj_ptrs_in_encoder, 16);
  EXPECT_TRUE(c.only_obj_ptrs_in_the_past_for_eval);
  EXPECT_TRUE(c.pred_obj_scores);
  EXPECT_TRUE(c.pred_obj_scores_mlp);
  EXPECT_TRUE(c.fixed_no_obj_ptr);
  EXPECT_FALSE(c.soft_no_obj_ptr);
  EXPECT_TRUE(c.use_mlp_for_obj_ptr_proj);
  EXPECT_EQ(c.max_cond_frames_in_attn, -1);
  EXPECT_EQ(c.memory_temporal_stride_for_eval, 1);
  // Builder post-processing.
  EXPECT_TRUE(c.sam_mask_decoder_extra_args.dynamic_multimask_via_stability);
  EXPECT_EQ(c.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta,
            0.05);
  EXPECT_EQ(c.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh,
            0.98);
  EXPECT_TRUE(c.binarize_mask_from_pts_for_mem_enc);
  EXPECT_EQ(c.video_predictor.fill_hole_area, 8);
  // Modules.
  EXPECT_EQ(c.image_encoder.scalp, 1);
  EXPECT_EQ(c.image_encoder.neck.fpn_interp_model, "nearest");
  EXPECT_EQ(c.image_encoder.neck.fpn_top_down_levels,
            (std::vector<int>{2, 3}));
  const MemoryAttentionLayerConfig& l = c.memory_attention.layer;
  EXPECT_EQ(c.memory_attention.num_layers, 4);
  EXPECT_EQ(l.dim_feedforward, 2048);
  EXPECT_EQ(l.activation, "relu");
  EXPECT_FALSE(l.pos_enc_at_attn);
  EXPECT_TRUE(l.pos_enc_at_cross_attn_keys);
  EXPECT_FALSE(l.pos_enc_at_cross_attn_queries);
  EXPECT_FALSE(l.self_attention.rope_k_repeat);
  EXPECT_FALSE(l.self_attention.kv_in_dim.has_value());
  EXPECT_TRUE(l.cross_attention.rope_k_repeat);
  EXPECT_EQ(l.cross_attention.KvInDim(), 64);
  const MemoryEncoderConfig& me = c.memory_encoder;
  EXPECT_EQ(me.mask_downsampler.kernel_size, 3);
  EXPECT_EQ(me.mask_downsampler.stride, 2);
  EXPECT_EQ(me.mask_downsampler.padding, 1);
  EXPECT_EQ(me.mask_downsampler.embed_dim, 256);
  EXPECT_EQ(me.mask_downsampler.total_stride, 16);
  EXPECT_EQ(me.fuser.num_layers, 2);
  EXPECT_EQ(me.fuser.layer.layer_scale_init_value, 1e-6);
}

TEST(PresetTest, Sam2AndSam21DifferOnlyInTheObjectPointerSettings) {
  for (const char* size : {"tiny", "small", "base_plus", "large"}) {
    Sam2Config v20 = Preset(absl::StrCat("sam2_hiera_", size));
    const Sam2Config v21 = Preset(absl::StrCat("sam2.1_hiera_", size));
    EXPECT_FALSE(v20.add_tpos_enc_to_obj_ptrs);
    EXPECT_FALSE(v20.no_obj_embed_spatial);
    EXPECT_FALSE(SameSettings(v20, v21));
    v20.name = v21.name;
    v20.family = ModelFamily::kSam2_1;
    v20.no_obj_embed_spatial = true;
    v20.add_tpos_enc_to_obj_ptrs = true;
    v20.proj_tpos_enc_in_obj_ptrs = true;
    v20.use_signed_tpos_enc_to_obj_ptrs = true;
    EXPECT_EQ(v20, v21) << size;
  }
}

// --- YAML: the golden fixtures ---------------------------------------------

TEST(ConfigYamlTest, LoadsSam21MicroFixture) {
  absl::StatusOr<Sam2Config> c = LoadConfigYaml(kMicro21Yaml);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "model");
  EXPECT_EQ(c->family, ModelFamily::kSam2_1);
  EXPECT_EQ(c->image_size, 512);
  EXPECT_EQ(c->HiddenDim(), 32);
  EXPECT_EQ(c->MemDim(), 16);
  EXPECT_EQ(c->ImageEmbeddingSize(), 32);
  EXPECT_EQ(c->MaskInputSize(), 128);
  using Hw = std::array<int, 2>;
  EXPECT_EQ(c->BackboneFeatureSizes(),
            (std::vector<Hw>{Hw{128, 128}, Hw{64, 64}, Hw{32, 32}}));
  EXPECT_EQ(c->image_encoder.trunk.StageDims(),
            (std::vector<int>{16, 32, 64, 128}));
  EXPECT_EQ(c->image_encoder.trunk.QPoolBlocks(), (std::vector<int>{1, 3, 6}));
  // Not in the fixture: Hiera's default window_spec.
  EXPECT_EQ(c->image_encoder.trunk.window_spec,
            (std::vector<int>{8, 4, 14, 7}));
  EXPECT_EQ(*c, MicroFrom(Preset("sam2.1_hiera_tiny")));
}

TEST(ConfigYamlTest, LoadsSam2MicroFixture) {
  absl::StatusOr<Sam2Config> c = LoadConfigYaml(kMicro20Yaml);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, ModelFamily::kSam2);
  EXPECT_FALSE(c->add_tpos_enc_to_obj_ptrs);
  EXPECT_FALSE(c->proj_tpos_enc_in_obj_ptrs);
  EXPECT_EQ(*c, MicroFrom(Preset("sam2_hiera_tiny")));
}

TEST(ConfigYamlTest, ParseNamesThePresetItMatches) {
  // The fixture with the official tiny sizes put back is the official file.
  std::string text = ReadFile(kMicro21Yaml);
  const Sam2Config tiny = Preset("sam2.1_hiera_tiny");
  text = ReplaceOnce(text, "embed_dim: 16", "embed_dim: 96");
  text = ReplaceOnce(text, "      - 1\n      - 2\n      - 3\n      - 2\n",
                     "      - 1\n      - 2\n      - 7\n      - 2\n");
  text = ReplaceOnce(text, "      global_att_blocks:\n      - 4\n",
                     "      global_att_blocks: [5, 7, 9]\n");
  text = ReplaceOnce(text, "num_pos_feats: 32", "num_pos_feats: 256");
  text = ReplaceOnce(text, "      d_model: 32\n      backbone_channel_list:\n"
                           "      - 128\n      - 64\n      - 32\n      - 16\n",
                     "      d_model: 256\n      backbone_channel_list: "
                     "[768, 384, 192, 96]\n");
  text = absl::StrReplaceAll(text, {{"d_model: 32", "d_model: 256"},
                                    {"embedding_dim: 32", "embedding_dim: 256"},
                                    {"- 32\n        - 32",
                                     "- 64\n        - 64"},
                                    {"dim_feedforward: 64",
                                     "dim_feedforward: 2048"},
                                    {"kv_in_dim: 16", "kv_in_dim: 64"},
                                    {"num_layers: 2\n  memory_encoder",
                                     "num_layers: 4\n  memory_encoder"},
                                    {"out_dim: 16", "out_dim: 64"},
                                    {"num_pos_feats: 16", "num_pos_feats: 64"},
                                    {"embed_dim: 32", "embed_dim: 256"},
                                    {"dim: 32", "dim: 256"},
                                    {"image_size: 512", "image_size: 1024"}});
  absl::StatusOr<Sam2Config> c = ParseConfigYaml(text, "whatever");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, tiny);
  // Any other setting keeps the given name.
  c = ParseConfigYaml(ReplaceOnce(text, "num_maskmem: 7", "num_maskmem: 6"),
                      "whatever");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "whatever");
}

// The official files themselves, when available (not part of this repo).
TEST(ConfigYamlTest, OfficialYamlsEqualPresets) {
  const char* dir = std::getenv("SAM2_OFFICIAL_CONFIG_DIR");
  if (dir == nullptr) GTEST_SKIP() << "SAM2_OFFICIAL_CONFIG_DIR not set";
  for (const char* family : {"sam2", "sam2.1"}) {
    for (const char* size : {"t", "s", "b+", "l"}) {
      const std::string stem = absl::StrCat(family, "_hiera_", size);
      const std::string path =
          absl::StrCat(dir, "/", family, "/", stem, ".yaml");
      SCOPED_TRACE(path);
      absl::StatusOr<Sam2Config> parsed = LoadConfigYaml(path);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(*parsed, Preset(stem));
    }
  }
}

// --- YAML: hand-written snippets -------------------------------------------

// Only the arguments the reference requires; everything else defaults.
constexpr char kMinimalYaml[] = R"(
# @package _global_
model:
  _target_: sam2.modeling.sam2_base.SAM2Base
  image_encoder:
    _target_: sam2.modeling.backbones.image_encoder.ImageEncoder
    scalp: 1
    trunk: {_target_: sam2.modeling.backbones.hieradet.Hiera}
    neck:
      _target_: sam2.modeling.backbones.image_encoder.FpnNeck
      position_encoding:
        _target_: sam2.modeling.position_encoding.PositionEmbeddingSine
        num_pos_feats: 256
      d_model: 256
      backbone_channel_list: [768, 384, 192, 96]
  memory_attention:
    _target_: sam2.modeling.memory_attention.MemoryAttention
    d_model: 256
    pos_enc_at_input: true
    num_layers: 1
    layer:
      _target_: sam2.modeling.memory_attention.MemoryAttentionLayer
      activation: gelu
      d_model: 256
      dim_feedforward: 512
      dropout: 0.0
      pos_enc_at_attn: false
      pos_enc_at_cross_attn_keys: true
      pos_enc_at_cross_attn_queries: false
      self_attention:
        _target_: sam2.modeling.sam.transformer.RoPEAttention
        embedding_dim: 256
        num_heads: 1
      cross_attention:
        _target_: sam2.modeling.sam.transformer.RoPEAttention
        embedding_dim: 256
        num_heads: 1
        kv_in_dim: 64
  memory_encoder:
    _target_: sam2.modeling.memory_encoder.MemoryEncoder
    out_dim: 64
    position_encoding:
      _target_: sam2.modeling.position_encoding.PositionEmbeddingSine
      num_pos_feats: 64
    mask_downsampler: {_target_: sam2.modeling.memory_encoder.MaskDownSampler}
    fuser:
      _target_: sam2.modeling.memory_encoder.Fuser
      num_layers: 1
      layer: {_target_: sam2.modeling.memory_encoder.CXBlock, dim: 256}
trainer:
  anything: [goes, here]
)";

TEST(ConfigYamlSnippetTest, UnsetKeysTakeConstructorDefaults) {
  absl::StatusOr<Sam2Config> c = ParseConfigYaml(kMinimalYaml);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "custom");
  EXPECT_EQ(c->family, ModelFamily::kSam2);
  const HieraConfig& t = c->image_encoder.trunk;
  EXPECT_EQ(t.embed_dim, 96);
  EXPECT_EQ(t.num_heads, 1);
  EXPECT_EQ(t.stages, (std::vector<int>{2, 3, 16, 3}));
  EXPECT_EQ(t.global_att_blocks, (std::vector<int>{12, 16, 20}));
  EXPECT_EQ(t.window_pos_embed_bkg_spatial_size, (std::vector<int>{14, 14}));
  EXPECT_EQ(t.window_spec, (std::vector<int>{8, 4, 14, 7}));
  EXPECT_EQ(t.q_pool, 3);
  EXPECT_EQ(t.q_stride, (std::vector<int>{2, 2}));
  const FpnNeckConfig& n = c->image_encoder.neck;
  EXPECT_EQ(n.fpn_interp_model, "bilinear");
  EXPECT_EQ(n.fuse_type, "sum");
  EXPECT_FALSE(n.fpn_top_down_levels.has_value());
  EXPECT_EQ(n.position_encoding.temperature, 10000);
  EXPECT_TRUE(n.position_encoding.normalize);
  EXPECT_FALSE(n.position_encoding.scale.has_value());
  const RoPEAttentionConfig& sa = c->memory_attention.layer.self_attention;
  EXPECT_EQ(sa.rope_theta, 10000.0);
  EXPECT_EQ(sa.feat_sizes, (std::vector<int>{64, 64}));
  EXPECT_EQ(sa.downsample_rate, 1);
  EXPECT_FALSE(sa.rope_k_repeat);
  EXPECT_TRUE(c->memory_attention.batch_first);
  const MemoryEncoderConfig& me = c->memory_encoder;
  EXPECT_EQ(me.in_dim, 256);
  EXPECT_EQ(me.mask_downsampler.kernel_size, 4);
  EXPECT_EQ(me.mask_downsampler.stride, 4);
  EXPECT_EQ(me.mask_downsampler.padding, 0);
  EXPECT_EQ(me.mask_downsampler.total_stride, 16);
  EXPECT_EQ(me.mask_downsampler.NumLayers(), 2);
  EXPECT_EQ(me.fuser.layer.kernel_size, 7);
  EXPECT_EQ(me.fuser.layer.padding, 3);
  EXPECT_TRUE(me.fuser.layer.use_dwconv);
  EXPECT_FALSE(me.fuser.input_projection);
  // SAM2Base defaults.
  EXPECT_EQ(c->num_maskmem, 7);
  EXPECT_EQ(c->image_size, 512);
  EXPECT_EQ(c->backbone_stride, 16);
  EXPECT_EQ(c->sigmoid_scale_for_mem_enc, 1.0);
  EXPECT_EQ(c->sigmoid_bias_for_mem_enc, 0.0);
  EXPECT_FALSE(c->use_high_res_features_in_sam);
  EXPECT_FALSE(c->use_obj_ptrs_in_encoder);
  EXPECT_TRUE(c->add_tpos_enc_to_obj_ptrs);
  EXPECT_EQ(c->multimask_min_pt_num, 1);
  EXPECT_EQ(c->multimask_max_pt_num, 1);
  EXPECT_EQ(c->NumFeatureLevels(), 1);
  // Builder post-processing defaults.
  EXPECT_TRUE(c->binarize_mask_from_pts_for_mem_enc);
  EXPECT_TRUE(c->sam_mask_decoder_extra_args.dynamic_multimask_via_stability);
  EXPECT_EQ(c->video_predictor.fill_hole_area, 8);
}

TEST(ConfigYamlSnippetTest, VideoPredictorTargetAndExtraArgs) {
  std::string text = ReplaceOnce(
      kMinimalYaml, "_target_: sam2.modeling.sam2_base.SAM2Base",
      "_target_: sam2.sam2_video_predictor.SAM2VideoPredictor\n"
      "  fill_hole_area: 0\n"
      "  add_all_frames_to_correct_as_cond: true\n"
      "  binarize_mask_from_pts_for_mem_enc: false\n"
      "  sam_mask_decoder_extra_args:\n"
      "    dynamic_multimask_via_stability: false\n"
      "    dynamic_multimask_stability_delta: 0.1\n");
  absl::StatusOr<Sam2Config> c = ParseConfigYaml(text);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->video_predictor.fill_hole_area, 0);
  EXPECT_TRUE(c->video_predictor.add_all_frames_to_correct_as_cond);
  EXPECT_FALSE(c->binarize_mask_from_pts_for_mem_enc);
  EXPECT_FALSE(c->sam_mask_decoder_extra_args.dynamic_multimask_via_stability);
  EXPECT_EQ(c->sam_mask_decoder_extra_args.dynamic_multimask_stability_delta,
            0.1);
  EXPECT_EQ(c->sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh,
            0.98);
}

struct BadYamlCase {
  const char* label;
  const char* from;  // replaced once in kMinimalYaml
  const char* to;
  const char* expect1;  // substrings of the message
  const char* expect2;
};

class BadYamlTest : public TestWithParam<BadYamlCase> {};

TEST_P(BadYamlTest, IsInvalidArgumentNamingTheKey) {
  const BadYamlCase& tc = GetParam();
  const std::string text = ReplaceOnce(kMinimalYaml, tc.from, tc.to);
  absl::StatusOr<Sam2Config> c = ParseConfigYaml(text);
  ASSERT_FALSE(c.ok()) << tc.label;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument)
      << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), tc.expect1))
      << tc.label << ": " << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), tc.expect2))
      << tc.label << ": " << c.status();
}

constexpr char kTrunkLine[] =
    "trunk: {_target_: sam2.modeling.backbones.hieradet.Hiera}";

const BadYamlCase kBadYamlCases[] = {
    {"unknown key", "d_model: 256\n      backbone",
     "d_model: 256\n      bogus: 1\n      backbone",
     "model.image_encoder.neck.bogus", "unknown key"},
    {"unknown top model key", "  memory_encoder:\n",
     "  use_magic: true\n  memory_encoder:\n", "model.use_magic",
     "unknown key"},
    {"video key on SAM2Base", "  memory_encoder:\n",
     "  fill_hole_area: 8\n  memory_encoder:\n", "model.fill_hole_area",
     "unknown key"},
    {"int as text", "d_model: 256\n      backbone",
     "d_model: big\n      backbone", "model.image_encoder.neck.d_model",
     "expected an integer, got 'big'"},
    {"int as float", "out_dim: 64", "out_dim: 64.5",
     "model.memory_encoder.out_dim", "integer"},
    {"quoted int", "num_layers: 1\n    layer", "num_layers: \"1\"\n    layer",
     "model.memory_attention.num_layers", "quoted string"},
    {"bool as int", "pos_enc_at_input: true", "pos_enc_at_input: 1",
     "model.memory_attention.pos_enc_at_input", "true or false"},
    {"list as scalar", "backbone_channel_list: [768, 384, 192, 96]",
     "backbone_channel_list: 768", "backbone_channel_list", "list"},
    {"list element", "backbone_channel_list: [768, 384, 192, 96]",
     "backbone_channel_list: [768, 384, x, 96]",
     "model.image_encoder.neck.backbone_channel_list[2]", "integer"},
    {"number as bool", "dropout: 0.0", "dropout: yes",
     "model.memory_attention.layer.dropout", "number"},
    {"map as scalar", kTrunkLine,
     "trunk: 5", "model.image_encoder.trunk", "mapping"},
    {"wrong target", "_target_: sam2.modeling.backbones.hieradet.Hiera",
     "_target_: sam2.modeling.backbones.hieradet.Other",
     "model.image_encoder.trunk._target_", "hieradet.Other"},
    {"missing target", "      _target_: sam2.modeling.memory_encoder.Fuser\n",
     "", "model.memory_encoder.fuser._target_", "required"},
    {"missing required", "      d_model: 256\n      backbone", "      backbone",
     "model.image_encoder.neck.d_model", "required key is missing"},
    {"interpolation", "out_dim: 64", "out_dim: ${scratch.mem_dim}",
     "model.memory_encoder.out_dim", "interpolation"},
    {"duplicate key", "out_dim: 64", "out_dim: 64\n    out_dim: 32",
     "model.memory_encoder.out_dim", "duplicate"},
    {"channel list order", "backbone_channel_list: [768, 384, 192, 96]",
     "backbone_channel_list: [96, 192, 384, 768]", "backbone_channel_list",
     "[768, 384, 192, 96]"},
    {"window_spec length", kTrunkLine,
     "trunk: {_target_: sam2.modeling.backbones.hieradet.Hiera, "
     "window_spec: [8, 4, 14]}",
     "window_spec", "stages has 4"},
    {"image size", "  memory_encoder:\n",
     "  image_size: 520\n  memory_encoder:\n",
     "image_size", "multiple"},
    {"memory attention width", "      d_model: 256\n      dim_feedforward",
     "      d_model: 128\n      dim_feedforward",
     "memory_attention.layer.d_model", "must equal"},
    {"kv_in_dim", "kv_in_dim: 64", "kv_in_dim: 32",
     "cross_attention.kv_in_dim", "memory dim"},
    {"pe width", "num_pos_feats: 64", "num_pos_feats: 32",
     "memory_encoder.position_encoding.num_pos_feats", "memory dim"},
    {"needs add_tpos", "  memory_encoder:\n",
     "  add_tpos_enc_to_obj_ptrs: false\n  proj_tpos_enc_in_obj_ptrs: true\n"
     "  memory_encoder:\n",
     "proj_tpos_enc_in_obj_ptrs", "add_tpos_enc_to_obj_ptrs"},
    {"scalp", "scalp: 1", "scalp: 0", "backbone_stride", "32"},
    {"weights_path", kTrunkLine,
     "trunk: {_target_: sam2.modeling.backbones.hieradet.Hiera, "
     "weights_path: /x.pt}",
     "model.image_encoder.trunk.weights_path", "not supported"},
};

INSTANTIATE_TEST_SUITE_P(Cases, BadYamlTest, ValuesIn(kBadYamlCases));

TEST(ConfigYamlErrorTest, InvalidSyntax) {
  absl::StatusOr<Sam2Config> c = ParseConfigYaml("model: [1, 2\n  x: {");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "not valid YAML"))
      << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "line")) << c.status();
}

TEST(ConfigYamlErrorTest, NotAModelConfig) {
  for (const char* text : {"", "just a string", "- 1\n- 2\n",
                           "trainer: {a: 1}\n", "model: null\n"}) {
    absl::StatusOr<Sam2Config> c = ParseConfigYaml(text);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_TRUE(absl::StrContains(c.status().message(), "model"))
        << c.status();
  }
  absl::StatusOr<Sam2Config> c = ParseConfigYaml("model: 3\n");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "mapping"))
      << c.status();
}

TEST(ConfigYamlErrorTest, MissingFileIsNotFound) {
  absl::StatusOr<Sam2Config> c = LoadConfigYaml("/nonexistent/dir/x.yaml");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      absl::StrContains(c.status().message(), "/nonexistent/dir/x.yaml"))
      << c.status();
}

// --- Validation and description -------------------------------------------

TEST(ValidateConfigTest, ReferenceAssertions) {
  Sam2Config c = Preset("sam2.1_hiera_tiny");
  c.pred_obj_scores = false;
  EXPECT_TRUE(absl::StrContains(ValidateConfig(c).message(),
                                "fixed_no_obj_ptr"));
  c = Preset("sam2.1_hiera_tiny");
  c.memory_encoder.mask_downsampler.total_stride = 12;
  EXPECT_TRUE(absl::StrContains(ValidateConfig(c).message(), "total_stride"));
  c = Preset("sam2.1_hiera_tiny");
  c.image_encoder.trunk.q_pool = 4;
  EXPECT_TRUE(absl::StrContains(ValidateConfig(c).message(), "q_pool"));
  c = Preset("sam2.1_hiera_tiny");
  c.image_encoder.trunk.global_att_blocks = {12};
  EXPECT_TRUE(
      absl::StrContains(ValidateConfig(c).message(), "global_att_blocks"));
  c = Preset("sam2.1_hiera_tiny");
  c.image_size = 1000;  // not a multiple of the 32-pixel trunk stride
  EXPECT_EQ(ValidateConfig(c).code(), absl::StatusCode::kInvalidArgument);
  c = Preset("sam2.1_hiera_tiny");
  c.image_size = 512;  // other sizes are fine
  EXPECT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
  EXPECT_EQ(c.ImageEmbeddingSize(), 32);
}

TEST(DescribeConfigTest, SummarisesThePreset) {
  const std::string text = DescribeConfig(Preset("sam2.1_hiera_tiny"));
  for (const char* part :
       {"sam2.1_hiera_tiny (SAM 2.1)", "1024x1024", "hidden dim 256",
        "memory dim 64", "Hiera embed_dim 96", "[1, 2, 7, 2] (12 blocks)",
        "levels 256x256, 128x128, 64x64", "4 layers", "fill holes up to 8"}) {
    EXPECT_TRUE(absl::StrContains(text, part)) << part << " in\n" << text;
  }
  EXPECT_GT(std::count(text.begin(), text.end(), '\n'), 5);
}

}  // namespace
}  // namespace sam2
