// `sam2 masks`: automatic mask generation to COCO-style JSON. See the header.

#include "client/masks_command.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/cli_args.h"
#include "client/precision_option.h"
#include "client/mask_images.h"
#include "client/progress_bar.h"
#include "model/automatic_mask_generator.h"
#include "model/image_io.h"
#include "model/model_loader.h"
#include "model/rle.h"
#include "model/sam2_model.h"

namespace sam2 {
namespace {

constexpr char kUsage[] =
    "usage: sam2 masks --checkpoint CKPT [--config YAML] --image IMG\n"
    "         --out masks.json [--overlay overlay.png] [--points-per-side N]\n"
    "         [--points-per-batch N] [--pred-iou-thresh T]\n"
    "         [--stability-score-thresh T] [--stability-score-offset X]\n"
    "         [--box-nms-thresh T] [--crop-n-layers N] [--crop-nms-thresh T]\n"
    "         [--crop-overlap-ratio R] [--crop-n-points-downscale-factor N]\n"
    "         [--min-mask-region-area N] [--use-m2m] [--single-mask] "
    "[--progress] [--precision auto|float32|bfloat16]\n";

absl::Status ParseInt(const CliArgs& args, const char* name, int64_t* v) {
  if (!args.Has(name)) return absl::OkStatus();
  if (!absl::SimpleAtoi(args.Get(name), v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " '", args.Get(name), "' is not an integer"));
  }
  return absl::OkStatus();
}

absl::Status ParseDouble(const CliArgs& args, const char* name, double* v) {
  if (!args.Has(name)) return absl::OkStatus();
  if (!absl::SimpleAtod(args.Get(name), v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " '", args.Get(name), "' is not a number"));
  }
  return absl::OkStatus();
}

absl::Status Masks(const CliArgs& args, std::ostream& out, std::ostream& err,
                   bool show_progress) {
  const std::string checkpoint = args.Get("checkpoint");
  const std::string image_path = args.Get("image");
  const std::string out_path = args.Get("out");
  if (checkpoint.empty() || image_path.empty() || out_path.empty()) {
    return absl::InvalidArgumentError(
        "--checkpoint, --image and --out are required");
  }
  absl::StatusOr<AutomaticMaskGeneratorOptions> options =
      ParseMasksOptions(args);
  if (!options.ok()) return options.status();

  absl::StatusOr<Precision> precision = UsePrecisionOption(args);
  if (!precision.ok()) return precision.status();
  absl::StatusOr<LoadedModel> loaded = LoadModel(checkpoint, args.Get("config"));
  if (!loaded.ok()) return loaded.status();
  absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
      Sam2Model::Create(loaded->config, loaded->weights);
  if (!model.ok()) return model.status();
  absl::StatusOr<RgbImage> image = DecodeImageFile(image_path);
  if (!image.ok()) return image.status();
  absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> amg =
      AutomaticMaskGenerator::Create(*model, *options);
  if (!amg.ok()) return amg.status();

  const absl::Time t0 = absl::Now();
  absl::StatusOr<std::vector<MaskRecord>> records;
  {
    ProgressBar bar(err, show_progress, FormatMasksProgress);
    records = (*amg)->Generate(image->pixels, [&](int64_t done, int64_t total) {
      bar.Update(done, total);
      return absl::OkStatus();
    });
  }
  if (!records.ok()) return records.status();
  const absl::Time t1 = absl::Now();

  std::ofstream file(out_path);
  file << MasksToCocoJson(image_path, image->height, image->width, *records)
              .dump()
       << "\n";
  file.close();
  if (!file) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", out_path));
  }
  out << absl::StrFormat("%d masks in %.2f s\n", records->size(),
                         absl::ToDoubleSeconds(t1 - t0));
  out << "wrote " << out_path << "\n";
  if (args.Has("overlay")) {
    const std::string overlay = args.Get("overlay");
    if (absl::Status s = WriteMasksOverlay(image->pixels, *records, overlay);
        !s.ok()) {
      return s;
    }
    out << "wrote " << overlay << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

const CliSpec& MasksCliSpec() {
  static const CliSpec* spec = new CliSpec{
      {"checkpoint", "config", "image", "out", "overlay", "points-per-side",
       "points-per-batch", "pred-iou-thresh", "stability-score-thresh",
       "stability-score-offset", "box-nms-thresh", "crop-n-layers",
       "crop-nms-thresh", "crop-overlap-ratio",
       "crop-n-points-downscale-factor", "min-mask-region-area",
       kPrecisionOption},
      {"use-m2m", "single-mask", "progress"},
      /*max_positional=*/0};
  return *spec;
}

absl::StatusOr<AutomaticMaskGeneratorOptions> ParseMasksOptions(
    const CliArgs& args) {
  AutomaticMaskGeneratorOptions o;
  o.output_mode = AmgOutputMode::kCocoRle;
  int64_t side = *o.points_per_side;
  absl::Status s = ParseInt(args, "points-per-side", &side);
  if (s.ok()) s = ParseInt(args, "points-per-batch", &o.points_per_batch);
  if (s.ok()) s = ParseDouble(args, "pred-iou-thresh", &o.pred_iou_thresh);
  if (s.ok()) s = ParseDouble(args, "stability-score-thresh", &o.stability_score_thresh);
  if (s.ok()) s = ParseDouble(args, "stability-score-offset", &o.stability_score_offset);
  if (s.ok()) s = ParseDouble(args, "box-nms-thresh", &o.box_nms_thresh);
  if (s.ok()) s = ParseInt(args, "crop-n-layers", &o.crop_n_layers);
  if (s.ok()) s = ParseDouble(args, "crop-nms-thresh", &o.crop_nms_thresh);
  if (s.ok()) s = ParseDouble(args, "crop-overlap-ratio", &o.crop_overlap_ratio);
  if (s.ok()) {
    s = ParseInt(args, "crop-n-points-downscale-factor",
                 &o.crop_n_points_downscale_factor);
  }
  if (s.ok()) s = ParseInt(args, "min-mask-region-area", &o.min_mask_region_area);
  if (!s.ok()) return s;
  o.points_per_side = side;
  o.use_m2m = args.Switch("use-m2m");
  o.multimask_output = !args.Switch("single-mask");
  if (absl::Status v = ValidateAmgOptions(o); !v.ok()) return v;
  return o;
}

nlohmann::json MasksToCocoJson(const std::string& image_path, int64_t height,
                               int64_t width,
                               const std::vector<MaskRecord>& records) {
  nlohmann::json annotations = nlohmann::json::array();
  for (size_t i = 0; i < records.size(); ++i) {
    const MaskRecord& r = records[i];
    annotations.push_back({
        {"id", i},
        {"segmentation",
         {{"size", {r.rle.height, r.rle.width}}, {"counts", r.coco_counts}}},
        {"area", r.area},
        {"bbox", r.bbox},
        {"predicted_iou", r.predicted_iou},
        {"point_coords", nlohmann::json::array({r.point_coords})},
        {"stability_score", r.stability_score},
        {"crop_box", r.crop_box},
    });
  }
  return {{"image",
           {{"file_name", image_path},
            {"height", height},
            {"width", width}}},
          {"annotations", annotations}};
}

absl::Status WriteMasksOverlay(const at::Tensor& rgb,
                               const std::vector<MaskRecord>& records,
                               const std::string& path) {
  absl::StatusOr<cv::Mat> bgr = RgbTensorToBgr(rgb);
  if (!bgr.ok()) return bgr.status();
  std::vector<size_t> order(records.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return records[a].area > records[b].area;
  });
  for (size_t k = 0; k < order.size(); ++k) {
    absl::StatusOr<at::Tensor> mask = RleToMask(records[order[k]].rle);
    if (!mask.ok()) return mask.status();
    if (absl::Status s = TintMask(*bgr, *mask, ObjectColor(static_cast<int>(k)));
        !s.ok()) {
      return s;
    }
  }
  return WriteImage(*bgr, path);
}

std::string FormatMasksProgress(int64_t done, int64_t total, double elapsed_s) {
  const int64_t t = std::max<int64_t>(total, 1);
  const int64_t d = std::clamp<int64_t>(done, 0, t);
  const int filled = static_cast<int>(d * kProgressBarWidth / t);
  return absl::StrFormat("[%s%s] %d/%d batches %3d%% %.1fs",
                         std::string(static_cast<size_t>(filled), '#'),
                         std::string(static_cast<size_t>(kProgressBarWidth - filled), '.'),
                         done, total, static_cast<int>(d * 100 / t), elapsed_s);
}

int RunMasks(const std::vector<std::string>& argv, std::ostream& out,
             std::ostream& err, bool err_is_tty) {
  if (argv.empty() || argv[0] == "--help") {
    err << kUsage;
    return argv.empty() ? 2 : 0;
  }
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, MasksCliSpec());
  if (!args.ok()) {
    err << "sam2 masks: " << args.status().message() << "\n" << kUsage;
    return 2;
  }
  absl::Status s =
      Masks(*args, out, err, err_is_tty || args->Switch("progress"));
  if (!s.ok()) {
    err << "sam2 masks: " << s << "\n";
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sam2
