// ValidateAmgOptions: every option outside its range is INVALID_ARGUMENT.

#include "model/amg_options.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "model/amg_utils.h"

namespace sam2 {
namespace {

TEST(AmgOptionsTest, RejectsBadOptions) {
  AutomaticMaskGeneratorOptions o;
  EXPECT_TRUE(ValidateAmgOptions(o).ok());
  auto bad = [](auto edit) {
    AutomaticMaskGeneratorOptions x;
    edit(x);
    const absl::Status s = ValidateAmgOptions(x);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  };
  bad([](auto& x) { x.points_per_side = 0; });
  bad([](auto& x) { x.points_per_side = -4; });
  bad([](auto& x) { x.points_per_side.reset(); });  // neither
  bad([](auto& x) { x.point_grids = {at::rand({4, 2}, at::kDouble)}; });  // both
  bad([](auto& x) { x.pred_iou_thresh = 1.5; });
  bad([](auto& x) { x.stability_score_thresh = -0.1; });
  bad([](auto& x) { x.box_nms_thresh = 2; });
  bad([](auto& x) { x.crop_nms_thresh = std::nan(""); });
  bad([](auto& x) { x.crop_n_layers = kMaxCropLayers + 1; });
  bad([](auto& x) { x.crop_n_layers = -1; });
  bad([](auto& x) { x.points_per_batch = 0; });
  bad([](auto& x) { x.crop_n_points_downscale_factor = 0; });
  bad([](auto& x) { x.crop_overlap_ratio = 1.0; });
  bad([](auto& x) { x.min_mask_region_area = -1; });
  bad([](auto& x) {
    x.points_per_side.reset();
    x.point_grids = {at::full({3, 2}, 1.5, at::kDouble)};
  });
  bad([](auto& x) {  // one grid, two layers
    x.points_per_side.reset();
    x.crop_n_layers = 1;
    x.point_grids = {at::rand({3, 2}, at::kDouble)};
  });
}

}  // namespace
}  // namespace sam2
