// `sam2 masks`: automatic mask generation ("segment everything") on one
// image, locally:
//   sam2 masks --checkpoint CKPT [--config YAML] --image IMG --out masks.json
//       [--overlay overlay.png] [--points-per-side 32] [--points-per-batch 64]
//       [--pred-iou-thresh 0.8] [--stability-score-thresh 0.95]
//       [--stability-score-offset 1] [--box-nms-thresh 0.7]
//       [--crop-n-layers 0] [--crop-nms-thresh 0.7]
//       [--crop-overlap-ratio 0.3413] [--crop-n-points-downscale-factor 1]
//       [--min-mask-region-area 0] [--use-m2m] [--single-mask] [--progress]
// Defaults are SAM2AutomaticMaskGenerator's (model/automatic_mask_generator.h).
// Writes COCO-style JSON: {"image": {file_name, height, width},
// "annotations": [{id, segmentation: {size: [h, w], counts: "<COCO RLE>"},
// area, bbox [x, y, w, h], predicted_iou, point_coords [[x, y]],
// stability_score, crop_box [x, y, w, h]}, ...]} in the generator's order;
// optionally an overlay with every mask tinted (largest first). A progress
// bar (decoded batches) goes to `err` when `err_is_tty` or with --progress.
// Writes only the files named and to the given streams; returns a process
// exit code (2 for bad arguments).
//
// The option parsing, the JSON and the overlay are shared with
// `sam2 remote masks` (client/remote_command.h), which generates the masks
// on a server with the same options.

#ifndef SAM2_CLIENT_MASKS_COMMAND_H_
#define SAM2_CLIENT_MASKS_COMMAND_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cli_args.h"
#include "model/automatic_mask_generator.h"

namespace sam2 {

// The options of `sam2 masks` (for CliArgs::Parse).
const CliSpec& MasksCliSpec();

// The generator options of a `sam2 masks` command line (the options above;
// output mode COCO RLE), validated (ValidateAmgOptions). INVALID_ARGUMENT
// naming the option otherwise.
absl::StatusOr<AutomaticMaskGeneratorOptions> ParseMasksOptions(
    const CliArgs& args);

// The COCO-style document described above. Uses each record's coco_counts,
// rle (size), area, bbox, predicted_iou, point_coords, stability_score and
// crop_box.
nlohmann::json MasksToCocoJson(const std::string& image_path, int64_t height,
                               int64_t width,
                               const std::vector<MaskRecord>& records);

// The image (RGB uint8 [H, W, 3]) with every record's mask (its rle) tinted
// in its own colour, the largest first so small masks stay visible.
absl::Status WriteMasksOverlay(const at::Tensor& rgb,
                               const std::vector<MaskRecord>& records,
                               const std::string& path);

// One progress line (no carriage return): a bar, batches done / total and
// the elapsed time.
std::string FormatMasksProgress(int64_t done, int64_t total, double elapsed_s);

int RunMasks(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err, bool err_is_tty = false);

}  // namespace sam2

#endif  // SAM2_CLIENT_MASKS_COMMAND_H_
