// Tests for the expected state dict of a config, checkpoint validation and
// variant detection.
//
// Ground truth:
// - model/testdata/*.keys.txt: every tensor name and shape of the golden
//   fixtures' model.pt, in checkpoint order (read from the archive's pickle).
//   ExpectedTensors() must reproduce them exactly, order included.
// - kOfficial below: tensor and parameter counts and sample shapes of
//   `SAM2Base.state_dict()` for the eight official configs, measured by
//   instantiating each official YAML with the reference implementation
//   (torch 2.8, hydra instantiate of the file's `model` section).
//
// Optional: with SAM2_ORACLE_KEYS_DIR pointing at a directory of
// "<config stem>.txt" key lists in the same format (e.g. sam2.1_hiera_t.txt),
// OfficialKeyListsMatchOracle compares every name and shape.

#include "model/state_dict_spec.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {
namespace {

// Reads "name d0,d1,..." lines; '#' starts a comment line.
std::vector<TensorSpec> ReadKeyList(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<TensorSpec> specs;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    EXPECT_EQ(parts.size(), 2u) << line;
    if (parts.size() != 2) continue;
    TensorSpec spec{parts[0], {}};
    for (absl::string_view d :
         absl::StrSplit(parts[1], ',', absl::SkipEmpty())) {
      int64_t v = 0;
      EXPECT_TRUE(absl::SimpleAtoi(d, &v)) << line;
      spec.shape.push_back(v);
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::string SpecStr(const TensorSpec& s) {
  std::vector<std::string> dims;
  for (int64_t d : s.shape) dims.push_back(absl::StrCat(d));
  return absl::StrCat(s.name, " ", absl::StrJoin(dims, ","));
}

// First difference between two spec lists, or "".
std::string FirstDifference(const std::vector<TensorSpec>& got,
                            const std::vector<TensorSpec>& want) {
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (!(got[i] == want[i])) {
      return absl::StrCat("entry ", i, ": got '", SpecStr(got[i]),
                          "', want '", SpecStr(want[i]), "'");
    }
  }
  if (got.size() != want.size()) {
    return absl::StrCat("got ", got.size(), " entries, want ", want.size());
  }
  return "";
}

Sam2Config Preset(absl::string_view name) {
  absl::StatusOr<Sam2Config> c = PresetConfig(name);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Sam2Config();
}

Sam2Config LoadYaml(const std::string& path) {
  absl::StatusOr<Sam2Config> c = LoadConfigYaml(path);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Sam2Config();
}

// A state dict with a tensor of every expected shape; meta tensors cost no
// memory, so this works for the large presets too.
StateDict MakeStateDict(const std::vector<TensorSpec>& specs,
                        bool meta = true) {
  StateDict sd;
  for (const TensorSpec& s : specs) {
    at::Tensor t =
        meta ? at::empty(s.shape, at::TensorOptions().device(at::kMeta))
             : at::zeros(s.shape);
    EXPECT_TRUE(sd.Add(s.name, t).ok()) << s.name;
  }
  return sd;
}

const TensorSpec* FindSpec(const std::vector<TensorSpec>& specs,
                           absl::string_view name) {
  for (const TensorSpec& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// --- The golden fixtures' checkpoints --------------------------------------

struct FixtureCase {
  const char* yaml;
  const char* keys;
  size_t tensors;
  int64_t params;
};

class FixtureSpecTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FixtureSpecTest, MatchesCheckpointKeysShapesAndOrder) {
  const FixtureCase& tc = GetParam();
  const Sam2Config config = LoadYaml(tc.yaml);
  const std::vector<TensorSpec> want = ReadKeyList(tc.keys);
  ASSERT_EQ(want.size(), tc.tensors);
  const std::vector<TensorSpec> got = ExpectedTensors(config);
  EXPECT_EQ(FirstDifference(got, want), "");
  EXPECT_EQ(got.size(), tc.tensors);
  EXPECT_EQ(ExpectedParameterCount(config), tc.params);
  // A state dict of exactly these tensors validates.
  const StateDict sd = MakeStateDict(want, /*meta=*/false);
  EXPECT_EQ(sd.NumParameters(), tc.params);
  EXPECT_TRUE(ValidateStateDict(config, sd).ok())
      << ValidateStateDict(config, sd);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, FixtureSpecTest,
    ::testing::Values(
        FixtureCase{"tests/fixtures/sam2.1-micro/model.yaml",
                    "model/testdata/sam2.1-micro.keys.txt", 371, 1156714},
        FixtureCase{"tests/fixtures/sam2-micro/model.yaml",
                    "model/testdata/sam2-micro.keys.txt", 368, 1156170}));

// --- The official variants -------------------------------------------------

struct OfficialCase {
  const char* preset;
  const char* config_stem;  // official YAML name, for the oracle key lists
  size_t tensors;
  int64_t params;
  std::vector<std::pair<const char*, std::vector<int64_t>>> shapes;
};

const std::vector<OfficialCase>& OfficialCases() {
  static const auto* cases = new std::vector<OfficialCase>{
      {"sam2_hiera_tiny", "sam2_hiera_t", 468, 38946242,
       {{"image_encoder.trunk.pos_embed", {1, 96, 7, 7}},
        {"image_encoder.trunk.blocks.10.proj.weight", {768, 384}},
        {"image_encoder.neck.convs.0.conv.weight", {256, 768, 1, 1}},
        {"maskmem_tpos_enc", {7, 1, 1, 64}},
        {"sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
         {2, 128}}}},
      {"sam2_hiera_small", "sam2_hiera_s", 516, 46044098,
       {{"image_encoder.trunk.blocks.14.attn.qkv.weight", {2304, 384}},
        {"image_encoder.trunk.blocks.15.mlp.layers.1.bias", {768}}}},
      {"sam2_hiera_base_plus", "sam2_hiera_b+", 612, 80833922,
       {{"image_encoder.trunk.pos_embed", {1, 112, 14, 14}},
        {"image_encoder.trunk.pos_embed_window", {1, 112, 8, 8}},
        {"image_encoder.trunk.blocks.21.proj.weight", {896, 448}}}},
      {"sam2_hiera_large", "sam2_hiera_l", 900, 224430386,
       {{"image_encoder.trunk.pos_embed", {1, 144, 7, 7}},
        {"image_encoder.trunk.blocks.8.proj.weight", {576, 288}},
        {"image_encoder.trunk.blocks.44.attn.qkv.weight", {3456, 576}},
        {"image_encoder.neck.convs.0.conv.weight", {256, 1152, 1, 1}}}},
      {"sam2.1_hiera_tiny", "sam2.1_hiera_t", 471, 38962754,
       {{"image_encoder.trunk.pos_embed", {1, 96, 7, 7}},
        {"obj_ptr_tpos_proj.weight", {64, 256}},
        {"obj_ptr_tpos_proj.bias", {64}},
        {"no_obj_embed_spatial", {1, 64}}}},
      {"sam2.1_hiera_small", "sam2.1_hiera_s", 519, 46060610,
       {{"image_encoder.trunk.blocks.14.attn.qkv.weight", {2304, 384}}}},
      {"sam2.1_hiera_base_plus", "sam2.1_hiera_b+", 615, 80850434,
       {{"image_encoder.trunk.pos_embed", {1, 112, 14, 14}},
        {"image_encoder.neck.convs.0.conv.weight", {256, 896, 1, 1}}}},
      {"sam2.1_hiera_large", "sam2.1_hiera_l", 903, 224446898,
       {{"image_encoder.trunk.blocks.44.proj.weight", {1152, 576}},
        {"image_encoder.trunk.blocks.47.mlp.layers.1.bias", {1152}}}},
  };
  return *cases;
}

TEST(OfficialSpecTest, CountsAndShapesMatchTheReference) {
  ASSERT_EQ(OfficialCases().size(), PresetNames().size());
  for (const OfficialCase& tc : OfficialCases()) {
    SCOPED_TRACE(tc.preset);
    const Sam2Config config = Preset(tc.preset);
    const std::vector<TensorSpec> specs = ExpectedTensors(config);
    EXPECT_EQ(specs.size(), tc.tensors);
    EXPECT_EQ(ExpectedParameterCount(config), tc.params);
    for (const auto& [name, shape] : tc.shapes) {
      const TensorSpec* s = FindSpec(specs, name);
      ASSERT_NE(s, nullptr) << name;
      EXPECT_EQ(s->shape, shape) << name;
    }
    // Every official checkpoint starts and ends the same way.
    EXPECT_EQ(specs.front().name, "maskmem_tpos_enc");
    EXPECT_EQ(specs.back().name, config.family == ModelFamily::kSam2_1
                                     ? "obj_ptr_tpos_proj.bias"
                                     : "obj_ptr_proj.layers.2.bias");
  }
}

TEST(OfficialSpecTest, OfficialKeyListsMatchOracle) {
  const char* dir = std::getenv("SAM2_ORACLE_KEYS_DIR");
  if (dir == nullptr) GTEST_SKIP() << "SAM2_ORACLE_KEYS_DIR not set";
  for (const OfficialCase& tc : OfficialCases()) {
    SCOPED_TRACE(tc.preset);
    const std::vector<TensorSpec> want =
        ReadKeyList(absl::StrCat(dir, "/", tc.config_stem, ".txt"));
    EXPECT_EQ(FirstDifference(ExpectedTensors(Preset(tc.preset)), want), "");
  }
}

TEST(OfficialSpecTest, SpecsHaveNoDuplicateNames) {
  for (const std::string& name : PresetNames()) {
    const std::vector<TensorSpec> specs = ExpectedTensors(Preset(name));
    StateDict sd;
    for (const TensorSpec& s : specs) {
      ASSERT_TRUE(sd.Add(s.name, at::empty({0})).ok()) << name << " " << s.name;
    }
  }
}

// --- ValidateStateDict ------------------------------------------------------

TEST(ValidateStateDictTest, NamesMissingUnexpectedAndMisshapedTensors) {
  const Sam2Config config = Preset("sam2.1_hiera_tiny");
  std::vector<TensorSpec> specs = ExpectedTensors(config);
  // Drop one, reshape one, add one.
  specs.erase(specs.begin() + 3);  // no_obj_ptr
  for (TensorSpec& s : specs) {
    if (s.name == "sam_mask_decoder.iou_token.weight") s.shape = {1, 128};
  }
  specs.push_back({"extra.weight", {3}});
  const StateDict sd = MakeStateDict(specs);
  absl::Status status = ValidateStateDict(config, sd);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(status.message());
  EXPECT_TRUE(absl::StrContains(msg, "1 missing: no_obj_ptr")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "1 unexpected: extra.weight")) << msg;
  EXPECT_TRUE(absl::StrContains(
      msg,
      "sam_mask_decoder.iou_token.weight (expected [1, 256], got [1, 128])"))
      << msg;
  EXPECT_TRUE(absl::StrContains(msg, "sam2.1_hiera_tiny")) << msg;
}

TEST(ValidateStateDictTest, LongListsAreTruncatedWithACount) {
  const Sam2Config config = Preset("sam2.1_hiera_small");
  const StateDict empty;
  absl::Status status = ValidateStateDict(config, empty);
  const std::string msg(status.message());
  EXPECT_TRUE(absl::StrContains(msg, "519 missing: maskmem_tpos_enc")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "... and 499 more")) << msg;
  EXPECT_LT(msg.size(), 4000u);
}

TEST(ValidateStateDictTest, Sam2CheckpointAgainstSam21Config) {
  const StateDict sd =
      MakeStateDict(ExpectedTensors(Preset("sam2_hiera_tiny")));
  absl::Status status = ValidateStateDict(Preset("sam2.1_hiera_tiny"), sd);
  const std::string msg(status.message());
  EXPECT_TRUE(absl::StrContains(msg, "3 missing")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "no_obj_embed_spatial")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "obj_ptr_tpos_proj.weight")) << msg;
  EXPECT_FALSE(absl::StrContains(msg, "unexpected")) << msg;
}

// --- DetectVariant ----------------------------------------------------------

TEST(DetectVariantTest, RecognisesEveryPreset) {
  for (const std::string& name : PresetNames()) {
    SCOPED_TRACE(name);
    const Sam2Config preset = Preset(name);
    const StateDict sd = MakeStateDict(ExpectedTensors(preset));
    absl::StatusOr<Sam2Config> got = DetectVariant(sd);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->name, name);
    EXPECT_EQ(*got, preset);
  }
}

TEST(DetectVariantTest, MicroFixtureIsNoPresetAndSuggestsConfig) {
  const std::vector<TensorSpec> specs =
      ReadKeyList("model/testdata/sam2.1-micro.keys.txt");
  absl::StatusOr<Sam2Config> got = DetectVariant(MakeStateDict(specs));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(got.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "embed_dim 16")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "8 blocks")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "--config")) << msg;
}

TEST(DetectVariantTest, NearMissNamesTheBadTensor) {
  const Sam2Config preset = Preset("sam2.1_hiera_base_plus");
  std::vector<TensorSpec> specs = ExpectedTensors(preset);

  {  // missing key
    std::vector<TensorSpec> s = specs;
    s.erase(s.begin() + 50);
    const std::string dropped = specs[50].name;
    absl::StatusOr<Sam2Config> got = DetectVariant(MakeStateDict(s));
    ASSERT_FALSE(got.ok());
    const std::string msg(got.status().message());
    EXPECT_TRUE(absl::StrContains(msg, absl::StrCat("missing: ", dropped)))
        << msg;
    EXPECT_TRUE(absl::StrContains(msg, "sam2.1_hiera_base_plus")) << msg;
    EXPECT_TRUE(absl::StrContains(msg, "--config")) << msg;
  }
  {  // extra key
    std::vector<TensorSpec> s = specs;
    s.push_back({"memory_encoder.extra", {4}});
    absl::StatusOr<Sam2Config> got = DetectVariant(MakeStateDict(s));
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(
        absl::StrContains(got.status().message(), "memory_encoder.extra"))
        << got.status();
  }
  {  // wrong shape
    std::vector<TensorSpec> s = specs;
    for (TensorSpec& t : s) {
      if (t.name == "memory_attention.layers.2.linear1.weight") {
        t.shape = {1024, 256};
      }
    }
    absl::StatusOr<Sam2Config> got = DetectVariant(MakeStateDict(s));
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(absl::StrContains(
        got.status().message(),
        "memory_attention.layers.2.linear1.weight (expected [2048, 256], got "
        "[1024, 256])"))
        << got.status();
  }
}

TEST(DetectVariantTest, EmptyStateDict) {
  absl::StatusOr<Sam2Config> got = DetectVariant(StateDict());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "--config"));
}

}  // namespace
}  // namespace sam2
