// Tests of AutomaticMaskGenerator on the micro fixture (random weights):
// record invariants, crops, m2m, progress and stopping.
// Parity with the reference is checked by the golden runner's
// `automatic_masks` case (tests/golden).

#include "model/automatic_mask_generator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>

#include "model/image_io.h"
#include "model/model_loader.h"

namespace sam2 {
namespace {

constexpr char kFixture[] = "tests/fixtures/sam2.1-micro";

class AmgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel(std::string(kFixture) + "/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
        Sam2Model::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new std::shared_ptr<const Sam2Model>(*model);
    absl::StatusOr<RgbImage> image =
        DecodeImageFile(std::string(kFixture) + "/image.png");
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = new at::Tensor(image->pixels);
  }
  static std::shared_ptr<const Sam2Model>* model_;
  static at::Tensor* image_;
};
std::shared_ptr<const Sam2Model>* AmgTest::model_ = nullptr;
at::Tensor* AmgTest::image_ = nullptr;

AutomaticMaskGeneratorOptions Loose() {
  AutomaticMaskGeneratorOptions o;
  o.points_per_side = 4;
  o.points_per_batch = 5;  // uneven last batch, and a batch of one
  o.pred_iou_thresh = 0;
  o.stability_score_thresh = 0;
  o.box_nms_thresh = 0.9;
  return o;
}

TEST_F(AmgTest, RecordsAreConsistent) {
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> amg =
      AutomaticMaskGenerator::Create(*model_, Loose());
  ASSERT_TRUE(amg.ok()) << amg.status();
  std::vector<std::pair<int64_t, int64_t>> progress;
  absl::StatusOr<std::vector<MaskRecord>> records = (*amg)->Generate(
      *image_, [&](int64_t done, int64_t total) {
        progress.emplace_back(done, total);
        return absl::OkStatus();
      });
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(progress.size(), 4u);  // 16 points in batches of 5
  EXPECT_EQ(progress.back(), (std::pair<int64_t, int64_t>{4, 4}));
  ASSERT_FALSE(records->empty());
  const int64_t h = image_->size(0), w = image_->size(1);
  for (size_t i = 0; i < records->size(); ++i) {
    const MaskRecord& r = (*records)[i];
    ASSERT_TRUE(r.segmentation.defined());
    EXPECT_EQ(r.segmentation.sizes(), (std::vector<int64_t>{h, w}));
    EXPECT_EQ(r.area, r.segmentation.sum().item<int64_t>());
    EXPECT_EQ(r.crop_box, (std::array<int64_t, 4>{0, 0, w, h}));
    if (i > 0) {
      EXPECT_LE(r.predicted_iou, (*records)[i - 1].predicted_iou);
    }
    if (r.area > 0) {
      const at::Tensor ys = r.segmentation.any(1).nonzero();
      const at::Tensor xs = r.segmentation.any(0).nonzero();
      EXPECT_EQ(r.bbox[0], xs.min().item<int64_t>());
      EXPECT_EQ(r.bbox[1], ys.min().item<int64_t>());
      EXPECT_EQ(r.bbox[2], xs.max().item<int64_t>() - xs.min().item<int64_t>());
      EXPECT_EQ(r.bbox[3], ys.max().item<int64_t>() - ys.min().item<int64_t>());
    }
    // The prompt is a grid point: (i + 0.5) / 4 of the side.
    const double gx = r.point_coords[0] / w * 4 - 0.5;
    EXPECT_NEAR(gx, std::round(gx), 1e-4);
  }

  // COCO RLE output: same masks.
  AutomaticMaskGeneratorOptions o = Loose();
  o.output_mode = AmgOutputMode::kCocoRle;
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> rle_amg =
      AutomaticMaskGenerator::Create(*model_, o);
  ASSERT_TRUE(rle_amg.ok());
  absl::StatusOr<std::vector<MaskRecord>> rle_records = (*rle_amg)->Generate(*image_);
  ASSERT_TRUE(rle_records.ok());
  ASSERT_EQ(rle_records->size(), records->size());
  for (size_t i = 0; i < records->size(); ++i) {
    EXPECT_FALSE((*rle_records)[i].segmentation.defined());
    EXPECT_EQ((*rle_records)[i].coco_counts,
              EncodeCocoCounts((*records)[i].rle));
  }
}

TEST_F(AmgTest, ProgressCanStop) {
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> amg =
      AutomaticMaskGenerator::Create(*model_, Loose());
  ASSERT_TRUE(amg.ok());
  int calls = 0;
  absl::StatusOr<std::vector<MaskRecord>> records =
      (*amg)->Generate(*image_, [&](int64_t, int64_t) {
        ++calls;
        return absl::CancelledError("stop");
      });
  EXPECT_EQ(records.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE((*amg)->Generate(at::zeros({4, 4}, at::kFloat)).ok());
}

TEST_F(AmgTest, CropsAndRefinement) {
  AutomaticMaskGeneratorOptions o = Loose();
  o.points_per_side = 2;
  o.crop_n_layers = 1;
  o.use_m2m = true;
  o.min_mask_region_area = 4;
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> amg =
      AutomaticMaskGenerator::Create(*model_, o);
  ASSERT_TRUE(amg.ok());
  absl::StatusOr<int64_t> batches = (*amg)->CountBatches(image_->size(0), image_->size(1));
  ASSERT_TRUE(batches.ok());
  EXPECT_EQ(*batches, 5);  // the image and 4 crops, 4 points each
  absl::StatusOr<std::vector<MaskRecord>> records = (*amg)->Generate(*image_);
  ASSERT_TRUE(records.ok()) << records.status();
  for (const MaskRecord& r : *records) {
    // Crops come from generate_crop_boxes; points lie inside their crop.
    EXPECT_GE(r.point_coords[0], r.crop_box[0]);
    EXPECT_LE(r.point_coords[0], r.crop_box[0] + r.crop_box[2]);
    EXPECT_GE(r.point_coords[1], r.crop_box[1]);
    EXPECT_LE(r.point_coords[1], r.crop_box[1] + r.crop_box[3]);
  }

  // Explicit grids, one per layer.
  AutomaticMaskGeneratorOptions g = Loose();
  g.points_per_side.reset();
  g.point_grids = {at::tensor({0.25, 0.25, 0.75, 0.5}, at::kDouble).reshape({2, 2})};
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> grid_amg =
      AutomaticMaskGenerator::Create(*model_, g);
  ASSERT_TRUE(grid_amg.ok()) << grid_amg.status();
  absl::StatusOr<std::vector<MaskRecord>> grid_records = (*grid_amg)->Generate(*image_);
  ASSERT_TRUE(grid_records.ok()) << grid_records.status();
  for (const MaskRecord& r : *grid_records) {
    EXPECT_TRUE((r.point_coords == std::array<double, 2>{150, 100}) ||
                (r.point_coords == std::array<double, 2>{450, 200}));
  }
}

}  // namespace
}  // namespace sam2
