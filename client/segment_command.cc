#include "client/segment_command.h"

#include <ATen/ATen.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/cli_args.h"
#include "client/mask_images.h"
#include "client/precision_option.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "model/model_loader.h"
#include "model/sam2_model.h"

namespace sam2 {
namespace {

constexpr char kUsage[] =
    "usage: sam2 segment --checkpoint CKPT [--config YAML] --image IMG\n"
    "         --point x,y[,label] ... [--box x0,y0,x1,y1] [--multimask]\n"
    "         --out mask.png [--overlay overlay.png]\n"
    "         [--precision auto|float32|bfloat16]\n";

absl::Status Segment(const CliArgs& args, std::ostream& out) {
  const std::string checkpoint = args.Get("checkpoint");
  const std::string image_path = args.Get("image");
  const std::string out_path = args.Get("out");
  if (checkpoint.empty() || image_path.empty() || out_path.empty()) {
    return absl::InvalidArgumentError(
        "--checkpoint, --image and --out are required");
  }
  absl::StatusOr<SegmentPrompts> prompts = ParseSegmentPrompts(args);
  if (!prompts.ok()) return prompts.status();

  absl::StatusOr<Precision> precision = UsePrecisionOption(args);
  if (!precision.ok()) return precision.status();
  absl::StatusOr<LoadedModel> loaded = LoadModel(checkpoint, args.Get("config"));
  if (!loaded.ok()) return loaded.status();
  absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
      Sam2Model::Create(loaded->config, loaded->weights);
  if (!model.ok()) return model.status();
  absl::StatusOr<RgbImage> image = DecodeImageFile(image_path);
  if (!image.ok()) return image.status();

  ImagePredictor predictor(*model);
  absl::Time t0 = absl::Now();
  if (absl::Status s = predictor.SetImage(image->pixels); !s.ok()) return s;
  absl::Time t1 = absl::Now();

  ImagePromptInput prompt;
  if (!prompts->points.empty()) {
    std::vector<float> coords;
    std::vector<int> labels;
    for (const SegmentPoint& p : prompts->points) {
      coords.push_back(static_cast<float>(p.x));
      coords.push_back(static_cast<float>(p.y));
      labels.push_back(p.label);
    }
    prompt.point_coords = at::tensor(coords).reshape(
        {static_cast<int64_t>(prompts->points.size()), 2});
    prompt.point_labels = at::tensor(labels, at::kInt);
  }
  if (prompts->box) {
    prompt.box = at::tensor(std::vector<float>(prompts->box->begin(),
                                               prompts->box->end()));
  }
  PredictOptions options;
  options.multimask_output = args.Switch("multimask");
  absl::StatusOr<Prediction> p = predictor.Predict(prompt, options);
  if (!p.ok()) return p.status();
  absl::Time t2 = absl::Now();

  const at::Tensor iou = p->iou_predictions.reshape({-1});
  const int64_t best = iou.argmax().item<int64_t>();
  const at::Tensor masks = p->masks.reshape({-1, image->height, image->width});
  for (int64_t i = 0; i < iou.size(0); ++i) {
    out << FormatSegmentMaskLine(static_cast<int>(i), iou[i].item<double>(),
                                 masks[i].sum().item<int64_t>(), i == best);
  }
  if (absl::Status s = WriteMaskPng(masks[best], out_path); !s.ok()) return s;
  out << "wrote " << out_path << "\n";
  if (options.multimask_output) {
    for (int64_t i = 0; i < masks.size(0); ++i) {
      const std::string path = IndexedMaskPath(out_path, static_cast<int>(i));
      if (absl::Status s = WriteMaskPng(masks[i], path); !s.ok()) return s;
      out << "wrote " << path << "\n";
    }
  }
  if (args.Has("overlay")) {
    const std::string overlay = args.Get("overlay");
    if (absl::Status s =
            WriteSegmentOverlay(image->pixels, masks[best], *prompts, overlay);
        !s.ok()) {
      return s;
    }
    out << "wrote " << overlay << "\n";
  }
  out << absl::StrFormat("image embedding %.1f ms, prediction %.1f ms\n",
                         absl::ToDoubleMilliseconds(t1 - t0),
                         absl::ToDoubleMilliseconds(t2 - t1));
  return absl::OkStatus();
}

}  // namespace

const CliSpec& SegmentCliSpec() {
  static const CliSpec* spec = new CliSpec{
      {"checkpoint", "config", "image", "point", "box", "out", "overlay",
       kPrecisionOption},
      {"multimask"},
      /*max_positional=*/0};
  return *spec;
}

absl::StatusOr<SegmentPrompts> ParseSegmentPrompts(const CliArgs& args) {
  SegmentPrompts prompts;
  for (const std::string& p : args.GetAll("point")) {
    absl::StatusOr<std::vector<double>> v = ParseNumberList(p, 2, 3, "--point");
    if (!v.ok()) return v.status();
    SegmentPoint point;
    point.x = (*v)[0];
    point.y = (*v)[1];
    point.label = v->size() == 3 ? static_cast<int>((*v)[2]) : 1;
    prompts.points.push_back(point);
  }
  const std::vector<std::string> boxes = args.GetAll("box");
  if (boxes.size() > 1) {
    return absl::InvalidArgumentError("give at most one --box");
  }
  if (!boxes.empty()) {
    absl::StatusOr<std::vector<double>> v =
        ParseNumberList(boxes[0], 4, 4, "--box");
    if (!v.ok()) return v.status();
    prompts.box = std::array<double, 4>{(*v)[0], (*v)[1], (*v)[2], (*v)[3]};
  }
  if (prompts.points.empty() && !prompts.box) {
    return absl::InvalidArgumentError("give at least one --point or a --box");
  }
  return prompts;
}

std::string IndexedMaskPath(const std::string& path, int index) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return absl::StrCat(path, "_", index);
  }
  return absl::StrCat(path.substr(0, dot), "_", index, path.substr(dot));
}

std::string FormatSegmentMaskLine(int index, double iou, int64_t area,
                                  bool best) {
  return absl::StrFormat("mask %d: predicted IoU %.4f, area %d px%s\n", index,
                         iou, area, best ? " (best)" : "");
}

absl::Status WriteSegmentOverlay(const at::Tensor& rgb, const at::Tensor& mask,
                                 const SegmentPrompts& prompts,
                                 const std::string& path) {
  absl::StatusOr<cv::Mat> bgr = RgbTensorToBgr(rgb);
  if (!bgr.ok()) return bgr.status();
  if (absl::Status s = TintMask(*bgr, mask, ObjectColor(0)); !s.ok()) return s;
  std::vector<DrawnPrompt> drawn;
  for (const SegmentPoint& p : prompts.points) {
    DrawnPrompt d;
    d.x = p.x;
    d.y = p.y;
    d.label = p.label == 1 ? 1 : 0;
    drawn.push_back(d);
  }
  if (prompts.box) {
    DrawnPrompt d;
    d.is_box = true;
    d.x = (*prompts.box)[0];
    d.y = (*prompts.box)[1];
    d.x1 = (*prompts.box)[2];
    d.y1 = (*prompts.box)[3];
    drawn.push_back(d);
  }
  DrawPrompts(*bgr, drawn);
  return WriteImage(*bgr, path);
}

int RunSegment(const std::vector<std::string>& argv, std::ostream& out,
               std::ostream& err) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, SegmentCliSpec());
  if (!args.ok()) {
    err << "sam2 segment: " << args.status().message() << "\n" << kUsage;
    return 2;
  }
  absl::Status s = Segment(*args, out);
  if (!s.ok()) {
    err << "sam2 segment: " << s << "\n";
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sam2
