#include "tests/golden/golden_runner.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "model/image_transforms.h"
#include "model/model_loader.h"
#include "model/safetensors.h"
#include "model/pillow_resize.h"
#include "model/sam2_model.h"
#include "model/video_frames.h"
#include "model/video_predictor.h"

namespace sam2 {
namespace {

using Json = nlohmann::json;

// Video logits are stored as float16: allow its rounding on top of the
// absolute tolerance (tests/fixtures/README.md).
constexpr double kFloat16Relative = 1e-3;

// One compared tensor: its name, the largest absolute error, the bound.
struct Check {
  std::string name;
  double max_error = 0;
  double tolerance = 0;
  std::string problem;  // non-empty: shapes differ or it could not be run
  // Added to `tolerance` per element: this times |expected| (float16
  // rounding of stored video logits).
  double relative = 0;
  bool within = true;  // every element within tolerance + relative·|expected|
  bool ok() const { return problem.empty() && within; }
};

Check Compare(const std::string& name, const at::Tensor& got,
              const at::Tensor& expected, double tolerance) {
  Check c{name, 0, tolerance, "", 0, true};
  if (!got.defined() || !expected.defined()) {
    c.problem = "missing";
  } else if (got.sizes() != expected.sizes()) {
    c.problem = absl::StrCat("shape [", absl::StrJoin(got.sizes(), ","),
                             "] vs expected [",
                             absl::StrJoin(expected.sizes(), ","), "]");
  } else if (got.numel() > 0) {
    c.max_error = (got.to(at::kDouble) - expected.to(at::kDouble))
                      .abs()
                      .max()
                      .item<double>();
    if (std::isnan(c.max_error)) c.problem = "NaN";
  }
  c.within = c.max_error <= tolerance;
  return c;
}

Check Failed(const std::string& name, const absl::Status& status) {
  return Check{name, 0, 0, std::string(status.message()), 0, false};
}

at::Tensor JsonToTensor(const Json& value, at::ScalarType dtype) {
  std::vector<double> flat;
  std::vector<int64_t> shape;
  const Json* v = &value;
  while (v->is_array()) {
    shape.push_back(static_cast<int64_t>(v->size()));
    if (v->empty()) break;
    v = &(*v)[0];
  }
  std::function<void(const Json&)> walk = [&](const Json& j) {
    if (j.is_array()) {
      for (const Json& x : j) walk(x);
    } else {
      flat.push_back(j.get<double>());
    }
  };
  walk(value);
  return at::tensor(flat, at::kDouble).reshape(shape).to(dtype);
}

class Runner {
 public:
  Runner(std::string dir, const GoldenTolerances& tol, std::ostream& out)
      : dir_(std::move(dir)), tol_(tol), out_(out) {}

  absl::StatusOr<GoldenSummary> Run() {
    std::ifstream in(dir_ + "/cases.json");
    if (!in) return absl::NotFoundError(absl::StrCat(dir_, "/cases.json: cannot open"));
    Json cases;
    try {
      cases = Json::parse(in);
    } catch (const Json::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir_, "/cases.json: ", e.what()));
    }
    const std::string yaml = dir_ + "/model.yaml";
    absl::StatusOr<LoadedModel> loaded = LoadModel(
        dir_ + "/model.pt", std::ifstream(yaml).good() ? yaml : "");
    if (!loaded.ok()) return loaded.status();
    absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
        Sam2Model::Create(loaded->config, loaded->weights);
    if (!model.ok()) return model.status();
    model_ = *model;
    absl::StatusOr<std::shared_ptr<const VideoPredictor>> video =
        VideoPredictor::Create(loaded->config, loaded->weights);
    if (!video.ok()) return video.status();
    video_ = *video;
    out_ << "golden: " << dir_ << " (" << loaded->config.name << ", "
         << FamilyName(loaded->config.family) << ", image_size "
         << loaded->config.image_size << ")\n";

    GoldenSummary summary;
    try {
      for (const Json& c : cases.at("cases")) {
        const std::string name = c.at("name").get<std::string>();
        const std::string kind = c.at("kind").get<std::string>();
        std::vector<Check> checks;
        if (kind == "set_image") {
          checks = RunSetImage(c);
        } else if (kind == "predict") {
          checks = RunPredict(c);
        } else if (kind == "video_frames") {
          checks = RunVideoFrames(c);
        } else if (kind == "video_script") {
          checks = RunVideoScript(c);
        } else {
          out_ << absl::StrFormat("  %-28s SKIPPED (case kind '%s' not supported yet)\n",
                                  name, kind);
          ++summary.skipped;
          continue;
        }
        bool ok = !checks.empty();
        for (const Check& check : checks) ok = ok && check.ok();
        out_ << absl::StrFormat("  %-28s %s\n", name, ok ? "PASSED" : "FAILED");
        for (const Check& check : checks) {
          if (check.problem.empty()) {
            out_ << absl::StrFormat("      %-22s max abs error %.3g (tolerance %.0e%s)%s\n",
                                    check.name, check.max_error, check.tolerance,
                                    check.relative > 0
                                        ? absl::StrFormat(" + %.0e x |expected|", check.relative)
                                        : "",
                                    check.ok() ? "" : "  <-- over");
          } else {
            out_ << absl::StrFormat("      %-22s %s\n", check.name, check.problem);
          }
        }
        ok ? ++summary.passed : ++summary.failed;
      }
    } catch (const Json::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir_, "/cases.json: malformed case: ", e.what()));
    }
    out_ << summary.passed << " passed, " << summary.failed << " failed";
    if (summary.skipped > 0) out_ << ", " << summary.skipped << " skipped";
    out_ << "\n";
    return summary;
  }

 private:
  absl::StatusOr<StateDict> Expected(const Json& c) {
    return ReadSafetensors(dir_ + "/" + c.at("expected").get<std::string>());
  }

  // The decoded image of a case (cached by file name).
  absl::StatusOr<RgbImage> Image(const std::string& file) {
    auto it = images_.find(file);
    if (it != images_.end()) return it->second;
    absl::StatusOr<RgbImage> image = DecodeImageFile(dir_ + "/" + file);
    if (image.ok()) images_.emplace(file, *image);
    return image;
  }

  std::vector<Check> RunSetImage(const Json& c) {
    std::vector<Check> checks;
    absl::StatusOr<StateDict> expected = Expected(c);
    if (!expected.ok()) return {Failed("expected file", expected.status())};
    absl::StatusOr<RgbImage> image =
        Image(c.at("inputs").at("image").get<std::string>());
    if (!image.ok()) return {Failed("image", image.status())};
    const at::Tensor* input = expected->Find("input");

    // 1. Our preprocessing against the stored input.
    absl::StatusOr<at::Tensor> ours =
        PreprocessImage(image->pixels, model_->config().image_size);
    if (!ours.ok()) return {Failed("input", ours.status())};
    if (input != nullptr) {
      checks.push_back(Compare("input", *ours, *input, tol_.preprocessed_input));
    }
    // 2. The model alone, from the stored input.
    if (input != nullptr) {
      absl::StatusOr<std::vector<ImageFeatures>> f = EmbedPreprocessed(
          *model_, *input, {{image->height, image->width}});
      if (!f.ok()) return {Failed("embedding", f.status())};
      AddFeatureChecks(f->front(), *expected, "", tol_.embedding, &checks);
      stored_features_ = f->front();
    }
    // 3. End to end from the image file.
    absl::StatusOr<std::vector<ImageFeatures>> e2e =
        EmbedImages(*model_, {image->pixels});
    if (!e2e.ok()) return {Failed("embedding", e2e.status())};
    AddFeatureChecks(e2e->front(), *expected, " (from image)",
                     tol_.embedding_end_to_end, &checks);
    if (!stored_features_) stored_features_ = e2e->front();
    return checks;
  }

  void AddFeatureChecks(const ImageFeatures& f, const StateDict& expected,
                        const std::string& suffix, double tol,
                        std::vector<Check>* checks) {
    const std::pair<const char*, at::Tensor> outputs[] = {
        {"image_embed", f.image_embed},
        {"high_res_feat_s0",
         f.high_res_feats.size() > 0 ? f.high_res_feats[0] : at::Tensor()},
        {"high_res_feat_s1",
         f.high_res_feats.size() > 1 ? f.high_res_feats[1] : at::Tensor()},
    };
    for (const auto& [name, got] : outputs) {
      const at::Tensor* want = expected.Find(name);
      if (want == nullptr) continue;
      checks->push_back(Compare(name + suffix, got, *want, tol));
    }
  }

  // Features for predict cases: the model's output on the stored input of
  // the set_image case when there is one (checks the heads apart from the
  // encoder's round-off), else from the image.
  absl::StatusOr<ImageFeatures> FeaturesFor(const Json& inputs) {
    if (stored_features_) return *stored_features_;
    absl::StatusOr<RgbImage> image =
        Image(inputs.contains("image") ? inputs["image"].get<std::string>()
                                       : "image.png");
    if (!image.ok()) return image.status();
    absl::StatusOr<std::vector<ImageFeatures>> f =
        EmbedImages(*model_, {image->pixels});
    if (!f.ok()) return f.status();
    stored_features_ = f->front();
    return *stored_features_;
  }

  std::vector<Check> RunPredict(const Json& c) {
    absl::StatusOr<StateDict> expected = Expected(c);
    if (!expected.ok()) return {Failed("expected file", expected.status())};
    const Json& inputs = c.at("inputs");
    absl::StatusOr<ImageFeatures> features = FeaturesFor(inputs);
    if (!features.ok()) return {Failed("features", features.status())};
    ImagePromptInput prompt;
    if (inputs.contains("point_coords")) {
      prompt.point_coords = JsonToTensor(inputs["point_coords"], at::kFloat);
      prompt.point_labels = JsonToTensor(inputs["point_labels"], at::kInt);
    }
    if (inputs.contains("box")) prompt.box = JsonToTensor(inputs["box"], at::kFloat);
    if (inputs.contains("mask_input")) {
      const at::Tensor* m = expected->Find(inputs["mask_input"].get<std::string>());
      if (m == nullptr) {
        return {Failed("mask_input", absl::NotFoundError("not in the expected file"))};
      }
      prompt.mask_input = *m;
    }
    if (inputs.contains("normalize_coords")) {
      prompt.normalize_coords = inputs["normalize_coords"].get<bool>();
    }
    PredictOptions options;
    options.multimask_output = inputs.value("multimask_output", true);
    options.return_logits = true;
    absl::StatusOr<Prediction> p =
        PredictMasks(*model_, ImagePredictorOptions(), *features, prompt, options);
    if (!p.ok()) return {Failed("predict", p.status())};
    std::vector<Check> checks;
    const std::pair<const char*, std::pair<at::Tensor, double>> outputs[] = {
        {"mask_logits", {p->masks, tol_.mask_logits}},
        {"iou", {p->iou_predictions, tol_.iou}},
        {"low_res_logits", {p->low_res_logits, tol_.mask_logits}},
    };
    for (const auto& [name, got_tol] : outputs) {
      const at::Tensor* want = expected->Find(name);
      if (want == nullptr) continue;
      checks.push_back(Compare(name, got_tol.first, *want, got_tol.second));
    }
    return checks;
  }

  // video_frames: our Pillow-exact resize of every frame against the
  // reference's uint8 pixels, and frame 0's model input.
  std::vector<Check> RunVideoFrames(const Json& c) {
    absl::StatusOr<StateDict> expected = Expected(c);
    if (!expected.ok()) return {Failed("expected file", expected.status())};
    const at::Tensor* resized = expected->Find("resized_u8");
    const at::Tensor* image0 = expected->Find("image0");
    std::vector<Check> checks;
    const Json& frames = c.at("inputs").at("frames");
    const int64_t s = model_->config().image_size;
    std::vector<at::Tensor> ours;
    at::Tensor first;
    for (const Json& name : frames) {
      absl::StatusOr<RgbImage> frame =
          DecodeImageFile(dir_ + "/frames/" + name.get<std::string>());
      if (!frame.ok()) return {Failed("frame " + name.get<std::string>(), frame.status())};
      if (!first.defined()) first = frame->pixels;
      absl::StatusOr<at::Tensor> r = PillowBicubicResize(frame->pixels, s, s);
      if (!r.ok()) return {Failed("resize", r.status())};
      ours.push_back(*r);
    }
    if (resized != nullptr) {
      checks.push_back(Compare("resized_u8", at::stack(ours, 0), *resized, 0));
    }
    if (image0 != nullptr && first.defined()) {
      absl::StatusOr<at::Tensor> x = PreprocessVideoFrame(first, s);
      if (!x.ok()) return {Failed("image0", x.status())};
      checks.push_back(Compare("image0", x->unsqueeze(0), *image0, tol_.embedding));
    }
    return checks;
  }

  // One video mask check: |ours - expected| <= tol + float16 rounding of the
  // expected value (1e-3 relative), object ids equal.
  Check CompareVideoMasks(const std::string& name, const VideoFrameMasks& got,
                          const Json& step, const StateDict& expected,
                          double tol) {
    const at::Tensor* want = expected.Find(step.at("out").get<std::string>());
    if (want == nullptr) return Check{name, 0, tol, "expected tensor missing", 0, false};
    std::vector<int64_t> ids;
    for (const Json& id : step.at("obj_ids")) ids.push_back(id.get<int64_t>());
    if (got.obj_ids != ids) {
      return Check{name, 0, tol,
                   absl::StrCat("object ids [", absl::StrJoin(got.obj_ids, ","),
                                "] vs expected [", absl::StrJoin(ids, ","), "]"),
                   0, false};
    }
    Check c = Compare(name, got.masks, *want, tol);
    if (!c.problem.empty()) return c;
    c.relative = kFloat16Relative;
    const at::Tensor w = want->to(at::kDouble);
    const at::Tensor excess =
        (got.masks.to(at::kDouble) - w).abs() - (tol + c.relative * w.abs());
    c.within = excess.max().item<double>() <= 0;
    return c;
  }

  std::vector<Check> RunVideoScript(const Json& c) {
    absl::StatusOr<StateDict> expected = Expected(c);
    if (!expected.ok()) return {Failed("expected file", expected.status())};
    absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>> source =
        JpegFolderFrameSource::Open(dir_ + "/frames");
    if (!source.ok()) return {Failed("frames", source.status())};
    absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
        video_->InitState(*std::move(source));
    if (!state.ok()) return {Failed("init_state", state.status())};
    VideoInferenceState& st = **state;
    std::vector<Check> checks;
    const Json& steps = c.at("inputs").at("steps");
    for (size_t i = 0; i < steps.size(); ++i) {
      const Json& step = steps[i];
      const std::string op = step.at("op").get<std::string>();
      const std::string label = step.contains("out")
                                    ? absl::StrCat(op, " ", step["out"].get<std::string>())
                                    : op;
      if (op == "add_points" || op == "add_box") {
        at::Tensor points, labels, box;
        if (step.contains("points")) {
          points = JsonToTensor(step["points"], at::kFloat);
          labels = JsonToTensor(step["labels"], at::kInt);
        }
        if (step.contains("box")) box = JsonToTensor(step["box"], at::kFloat);
        absl::StatusOr<VideoFrameMasks> m = video_->AddNewPointsOrBox(
            st, step.at("frame").get<int64_t>(), step.at("obj_id").get<int64_t>(),
            points, labels, box, step.value("clear_old_points", true),
            step.value("normalize_coords", true));
        if (!m.ok()) return Append(checks, Failed(label, m.status()));
        checks.push_back(CompareVideoMasks(label, *m, step, *expected, tol_.video_prompted));
      } else if (op == "add_mask") {
        const at::Tensor* mask = expected->Find(step.at("mask").get<std::string>());
        if (mask == nullptr) return Append(checks, Check{label, 0, 0, "mask tensor missing", 0, false});
        absl::StatusOr<VideoFrameMasks> m = video_->AddNewMask(
            st, step.at("frame").get<int64_t>(), step.at("obj_id").get<int64_t>(),
            *mask > 0);
        if (!m.ok()) return Append(checks, Failed(label, m.status()));
        checks.push_back(CompareVideoMasks(label, *m, step, *expected, tol_.video_prompted));
      } else if (op == "propagate") {
        // Consecutive propagate steps with the same arguments are the frames
        // of one propagate_in_video call.
        PropagateOptions options;
        if (step.contains("start_frame")) options.start_frame = step["start_frame"].get<int64_t>();
        if (step.contains("max_frames")) options.max_frames = step["max_frames"].get<int64_t>();
        options.reverse = step.value("reverse", false);
        auto same_call = [&](const Json& other) {
          return other.at("op") == "propagate" &&
                 other.value("start_frame", -1) == step.value("start_frame", -1) &&
                 other.value("max_frames", -1) == step.value("max_frames", -1) &&
                 other.value("reverse", false) == options.reverse;
        };
        size_t end = i + 1;
        while (end < steps.size() && same_call(steps[end])) ++end;
        std::vector<VideoFrameMasks> frames;
        absl::Status s = video_->PropagateInVideo(
            st, options, [&](const VideoFrameMasks& f) {
              frames.push_back(f);
              return absl::OkStatus();
            });
        if (!s.ok()) return Append(checks, Failed(label, s));
        if (frames.size() != end - i) {
          return Append(checks, Check{label, 0, 0,
                                      absl::StrCat("propagation gave ", frames.size(),
                                                   " frames, expected ", end - i),
                                      0, false});
        }
        for (size_t k = i; k < end; ++k) {
          const Json& fs = steps[k];
          const std::string fl = absl::StrCat("propagate ", fs.at("out").get<std::string>());
          if (frames[k - i].frame_idx != fs.at("frame").get<int64_t>()) {
            checks.push_back(Check{fl, 0, 0,
                                   absl::StrCat("frame ", frames[k - i].frame_idx, " vs expected ",
                                                fs.at("frame").get<int64_t>()),
                                   0, false});
            continue;
          }
          checks.push_back(CompareVideoMasks(fl, frames[k - i], fs, *expected, tol_.video_propagated));
        }
        i = end - 1;
      } else if (op == "remove_object") {
        absl::StatusOr<RemoveObjectResult> r =
            video_->RemoveObject(st, step.at("obj_id").get<int64_t>());
        if (!r.ok()) return Append(checks, Failed(label, r.status()));
      } else if (op == "reset_state") {
        video_->ResetState(st);
      } else {
        return Append(checks, Check{label, 0, 0, "unsupported step", 0, false});
      }
    }
    return checks;
  }

  static std::vector<Check> Append(std::vector<Check>& checks, Check c) {
    checks.push_back(std::move(c));
    return checks;
  }

  std::string dir_;
  GoldenTolerances tol_;
  std::ostream& out_;
  std::shared_ptr<const Sam2Model> model_;
  std::shared_ptr<const VideoPredictor> video_;
  std::map<std::string, RgbImage> images_;
  std::optional<ImageFeatures> stored_features_;
};

}  // namespace

absl::StatusOr<GoldenSummary> RunGolden(const std::string& fixture_dir,
                                        const GoldenTolerances& tolerances,
                                        std::ostream& out) {
  try {
    return Runner(fixture_dir, tolerances, out).Run();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("golden run failed: ", e.what_without_backtrace()));
  }
}

}  // namespace sam2
