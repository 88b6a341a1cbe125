#include "model/model_loader.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "model/safetensors.h"
#include "model/state_dict_spec.h"

namespace sam2 {
namespace {

constexpr char kMicro21[] = "tests/fixtures/sam2.1-micro/model.pt";
constexpr char kMicro21Yaml[] = "tests/fixtures/sam2.1-micro/model.yaml";
constexpr char kMicro20[] = "tests/fixtures/sam2-micro/model.pt";
constexpr char kMicro20Yaml[] = "tests/fixtures/sam2-micro/model.yaml";

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(ModelLoaderTest, LoadsTheMicroCheckpointWithItsSiblingConfig) {
  absl::StatusOr<LoadedModel> model = LoadModel(kMicro21, "");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->format, CheckpointFormat::kTorchZip);
  EXPECT_EQ(model->weights.size(), 371u);
  EXPECT_EQ(model->weights.NumParameters(), 1156714);
  EXPECT_EQ(model->config.image_size, 512);
  EXPECT_EQ(model->config.family, ModelFamily::kSam2_1);
  EXPECT_EQ(model->config_source,
            std::string("file ") + kMicro21Yaml + " (beside the checkpoint)");
  const std::string report = DescribeLoadedModel(*model);
  EXPECT_NE(report.find("tensors:    371"), std::string::npos) << report;
  EXPECT_NE(report.find("parameters: 1156714"), std::string::npos) << report;
  EXPECT_NE(report.find("Float x371"), std::string::npos) << report;
  EXPECT_NE(report.find("sam2.1"), std::string::npos) << report;
}

TEST(ModelLoaderTest, LoadsSam2WithAnExplicitConfig) {
  absl::StatusOr<LoadedModel> model = LoadModel(kMicro20, kMicro20Yaml);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->config.family, ModelFamily::kSam2);
  EXPECT_EQ(model->weights.size(), ExpectedTensors(model->config).size());
  EXPECT_EQ(model->config_source, std::string("file ") + kMicro20Yaml);
}

TEST(ModelLoaderTest, NamesTheKeysWhenCheckpointAndConfigDisagree) {
  // A SAM 2.1 checkpoint with a SAM 2.0 config: 2.1-only tensors are extra.
  absl::StatusOr<LoadedModel> model = LoadModel(kMicro21, kMicro20Yaml);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("no_obj_embed_spatial"),
            absl::string_view::npos)
      << model.status();
  EXPECT_NE(model.status().message().find(kMicro20Yaml),
            absl::string_view::npos);
}

TEST(ModelLoaderTest, SafetensorsLoadToTheSameTensors) {
  absl::StatusOr<LoadedModel> pt = LoadModel(kMicro21, kMicro21Yaml);
  ASSERT_TRUE(pt.ok()) << pt.status();
  const std::string path = TempPath("micro.safetensors");
  ASSERT_TRUE(WriteSafetensors(pt->weights, path).ok());
  absl::StatusOr<LoadedModel> st = LoadModel(path, kMicro21Yaml);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->format, CheckpointFormat::kSafetensors);
  ASSERT_EQ(st->weights.size(), pt->weights.size());
  for (size_t i = 0; i < pt->weights.size(); ++i) {
    const NamedTensor& a = pt->weights.entries()[i];
    const NamedTensor& b = st->weights.entries()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_TRUE(at::equal(a.tensor, b.tensor)) << a.name;
  }
}

TEST(ModelLoaderTest, AnUnknownModelWithoutConfigAsksForOne) {
  // Copy the checkpoint away from its YAML: detection must refuse it.
  const std::string lonely = TempPath("lonely.pt");
  {
    std::ifstream in(kMicro21, std::ios::binary);
    std::ofstream out(lonely, std::ios::binary);
    out << in.rdbuf();
  }
  absl::StatusOr<LoadedModel> model = LoadModel(lonely, "");
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("--config"), absl::string_view::npos)
      << model.status();
  EXPECT_NE(model.status().message().find(lonely), absl::string_view::npos);
}

TEST(ModelLoaderTest, RejectsFilesThatAreNotCheckpoints) {
  absl::StatusOr<LoadedModel> png =
      LoadModel("tests/fixtures/sam2.1-micro/image.png", "");
  ASSERT_FALSE(png.ok());
  EXPECT_EQ(png.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(png.status().message().find("not a model checkpoint"),
            absl::string_view::npos);

  absl::StatusOr<LoadedModel> missing = LoadModel("no/such/file.pt", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no/such/file.pt"),
            absl::string_view::npos);

  absl::StatusOr<LoadedModel> bad_config =
      LoadModel(kMicro21, "no/such/config.yaml");
  ASSERT_FALSE(bad_config.ok());
  EXPECT_NE(bad_config.status().message().find("no/such/config.yaml"),
            absl::string_view::npos);
}

TEST(ModelLoaderTest, FindsTheSiblingConfig) {
  EXPECT_EQ(SiblingConfigPath(kMicro21), kMicro21Yaml);
  EXPECT_EQ(SiblingConfigPath("no/such/model.pt"), "");
}

}  // namespace
}  // namespace sam2
