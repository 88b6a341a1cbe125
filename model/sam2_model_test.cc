#include "model/sam2_model.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/model_loader.h"

namespace sam2 {
namespace {

TEST(Sam2ModelTest, BuildsFromTheMicroCheckpoint) {
  absl::StatusOr<LoadedModel> loaded =
      LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
      Sam2Model::Create(loaded->config, loaded->weights);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->config().image_size, 512);
  EXPECT_EQ((*model)->prompt_encoder().mask_input_size(), 128);
  EXPECT_EQ((*model)->device(), c10::Device(c10::kCPU));
}

TEST(Sam2ModelTest, NamesAMissingTensor) {
  absl::StatusOr<LoadedModel> loaded =
      LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  StateDict partial;
  for (const NamedTensor& t : loaded->weights) {
    if (t.name == "sam_mask_decoder.iou_token.weight") continue;
    ASSERT_TRUE(partial.Add(t.name, t.tensor).ok());
  }
  absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
      Sam2Model::Create(loaded->config, partial);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("sam_mask_decoder.iou_token.weight"),
            absl::string_view::npos)
      << model.status();
}

}  // namespace
}  // namespace sam2
