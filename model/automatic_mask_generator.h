// AutomaticMaskGenerator: "segment everything" — prompts SAM 2 with a grid
// of single positive clicks over the image (and optionally over crops of
// it), keeps the good, stable, non-duplicate masks and returns one record
// per mask.
//
// Mirrors `SAM2AutomaticMaskGenerator` (sam2/automatic_mask_generator.py)
// with the helpers of sam2/utils/amg.py (amg_utils.h, rle.h): the same
// options and defaults, crop layers, batched decoding, filtering by
// predicted IoU and stability score, crop-edge filtering, box NMS within and
// across crops, the optional mask-to-mask refinement (use_m2m), and the
// record fields. Points reach the predictor as the reference passes them:
// the float64 grid times the crop's (w, h), rounded to float32, then
// divided by (w, h) and scaled to the model's input size in float32.
// min_mask_region_area, as in the reference, only becomes the image
// predictor's max_hole_area and max_sprinkle_area (its
// postprocess_small_regions is never called, so neither is it here).
//
// Deliberate differences: options are validated up front with
// INVALID_ARGUMENT statuses (the reference asserts or fails later);
// output_mode "uncompressed_rle" needs no mode of its own because every
// record carries its uncompressed RLE; a progress callback reports each
// decoded batch and may stop the run by returning a non-OK status; the
// full-image features may be passed in when the caller already has them.
//
// Thread-safety: immutable after Create(); Generate may run concurrently
// on one instance (the model is shared and const).

#ifndef SAM2_MODEL_AUTOMATIC_MASK_GENERATOR_H_
#define SAM2_MODEL_AUTOMATIC_MASK_GENERATOR_H_

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/amg_options.h"
#include "model/amg_utils.h"
#include "model/image_predictor.h"
#include "model/rle.h"
#include "model/sam2_model.h"

namespace sam2 {

// One generated mask (the reference's record dict).
struct MaskRecord {
  at::Tensor segmentation;  // kBinaryMask: bool [H, W]; else undefined
  std::string coco_counts;  // kCocoRle: pycocotools' counts string
  Rle rle;                  // always: the uncompressed RLE
  std::array<double, 4> bbox{};  // x, y, w, h; w = x1 - x0 of inclusive extents
  int64_t area = 0;
  double predicted_iou = 0;
  std::array<double, 2> point_coords{};  // the prompt, image pixels
  double stability_score = 0;
  std::array<int64_t, 4> crop_box{};  // x, y, w, h
};

// Called after every decoded batch with the batches done and the total over
// all crops. A non-OK return stops Generate, which returns that status.
using AmgProgressCallback =
    std::function<absl::Status(int64_t batches_done, int64_t batches_total)>;

class AutomaticMaskGenerator {
 public:
  static absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> Create(
      std::shared_ptr<const Sam2Model> model,
      AutomaticMaskGeneratorOptions options = {});

  // generate(): `rgb` uint8 [H, W, 3]. Records in the reference's order
  // (by NMS score). `full_image_features`, when given, must be this image's
  // features (EmbedImages) and spares embedding the whole image again.
  absl::StatusOr<std::vector<MaskRecord>> Generate(
      const at::Tensor& rgb, const AmgProgressCallback& progress = nullptr,
      const ImageFeatures* full_image_features = nullptr) const;

  // Batches one Generate call decodes for an image of this size.
  absl::StatusOr<int64_t> CountBatches(int64_t height, int64_t width) const;

  const AutomaticMaskGeneratorOptions& options() const { return options_; }

 private:
  AutomaticMaskGenerator(std::shared_ptr<const Sam2Model> model,
                         AutomaticMaskGeneratorOptions options,
                         std::vector<at::Tensor> point_grids);

  std::shared_ptr<const Sam2Model> model_;
  AutomaticMaskGeneratorOptions options_;
  std::vector<at::Tensor> point_grids_;  // float64 [N, 2] per crop layer
};

}  // namespace sam2

#endif  // SAM2_MODEL_AUTOMATIC_MASK_GENERATOR_H_
