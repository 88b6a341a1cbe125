#include "tests/golden/golden_runner.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "model/automatic_mask_generator.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "model/image_transforms.h"
#include "model/model_loader.h"
#include "model/safetensors.h"
#include "model/torch_error.h"
#include "tests/golden/xz_file.h"
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
// automatic_masks (issue 5): each mask matched to the reference's with at
// least this IoU; scores and prompt points within this.
constexpr double kAmgMinIou = 0.99;
constexpr double kAmgScoreTolerance = 1e-3;

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
  // Mixed precision: what was measured against what bound (printed instead
  // of the float32 line).
  std::string mixed_measure;
  bool ok() const { return problem.empty() && within; }
};

// ||got - expected|| / ||expected|| (L2 over all elements).
double RelativeL2(const at::Tensor& got, const at::Tensor& expected) {
  const at::Tensor w = expected.to(at::kDouble);
  const double denom = w.norm().item<double>();
  const double num = (got.to(at::kCPU, at::kDouble) - w).norm().item<double>();
  return denom == 0 ? num : num / denom;
}

// Pixels whose mask (logit > 0) differs from the expected one where
// |expected| is outside the band tolerance + relative·|expected|, and the
// pixels compared.
struct MaskTally {
  int64_t mismatches = 0;
  int64_t pixels = 0;
  double share() const {
    return pixels == 0 ? 0 : static_cast<double>(mismatches) / pixels;
  }
};

MaskTally CountMaskMismatches(const at::Tensor& got, const at::Tensor& expected,
                              double tolerance, double relative) {
  const at::Tensor w = expected.to(at::kDouble);
  const at::Tensor band = w.abs() <= (tolerance + relative * w.abs());
  const at::Tensor differ =
      (got.to(at::kCPU).gt(0) != w.gt(0)) & band.logical_not();
  return MaskTally{differ.sum().item<int64_t>(), w.numel()};
}

// Mixed precision, predict cases: a mask that differs on more than this share
// of its pixels is another mask than the reference's, not round-off: the
// decoder chose a different candidate (single-mask output picks by
// stability score against a 0.98 threshold, a discrete decision that
// bfloat16 round-off can tip). Reported as a selection flip, not a failure,
// when the case's IoU predictions meet their bound.
constexpr double kSelectionFlipShare = 0.2;

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
    c.max_error = (got.to(at::kCPU, at::kDouble) - expected.to(at::kDouble))
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
  Runner(std::string dir, const GoldenOptions& options, std::ostream& out)
      : dir_(std::move(dir)),
        tol_(options.tolerances),
        long_video_window_(options.long_video_window),
        mixed_(options.mixed_precision),
        mixed_tol_(options.mixed),
        device_(options.device),
        out_(out) {}

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
    StateDict weights;
    try {
      weights = loaded->weights.To(device_);
    } catch (const c10::Error& e) {
      return TorchError(absl::StrCat("moving the weights to ", device_.str(), ": "), e);
    }
    absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
        Sam2Model::Create(loaded->config, weights);
    if (!model.ok()) return model.status();
    model_ = *model;
    absl::StatusOr<std::shared_ptr<const VideoPredictor>> video =
        VideoPredictor::Create(loaded->config, weights);
    if (!video.ok()) return video.status();
    video_ = *video;
    out_ << "golden: " << dir_
         << (long_video_window_ > 0
                 ? absl::StrCat(" [long-video mode, window ", long_video_window_, "]")
                 : "")
         << " (" << loaded->config.name << ", "
         << FamilyName(loaded->config.family) << ", image_size "
         << loaded->config.image_size << ")"
         << (mixed_ ? " [mixed precision: bfloat16 tolerances]" : "") << "\n";

    GoldenSummary summary;
    try {
      for (const Json& c : cases.at("cases")) {
        const std::string name = c.at("name").get<std::string>();
        const std::string kind = c.at("kind").get<std::string>();
        const absl::Time case_start = absl::Now();
        std::vector<Check> checks;
        if (kind == "set_image") {
          checks = RunSetImage(c);
        } else if (kind == "predict") {
          checks = RunPredict(c);
        } else if (kind == "automatic_masks" && mixed_) {
          out_ << absl::StrFormat("  %-28s SKIPPED (compared in float32 only)\n", name);
          ++summary.skipped;
          continue;
        } else if (kind == "automatic_masks") {
          checks = RunAmg(c);
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
        out_ << absl::StrFormat("  %-28s %s (%.1f s)\n", name, ok ? "PASSED" : "FAILED",
                                absl::ToDoubleSeconds(absl::Now() - case_start));
        for (const Check& check : checks) {
          if (check.problem.empty() && !check.mixed_measure.empty()) {
            out_ << absl::StrFormat("      %-22s %s (max abs error %.3g)%s\n", check.name,
                                    check.mixed_measure, check.max_error,
                                    check.ok() ? "" : "  <-- over");
          } else if (check.problem.empty()) {
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
    summary.selection_flips = selection_flips_;
    out_ << summary.passed << " passed, " << summary.failed << " failed";
    if (summary.skipped > 0) out_ << ", " << summary.skipped << " skipped";
    if (summary.selection_flips > 0) {
      out_ << ", " << summary.selection_flips << " mask selection flip(s)";
    }
    out_ << "\n";
    return summary;
  }

 private:
  // The expected tensors: `X`, or `X.xz` as the repository stores them.
  absl::StatusOr<StateDict> Expected(const Json& c) {
    const std::string path = dir_ + "/" + c.at("expected").get<std::string>();
    if (std::ifstream(path).good()) return ReadSafetensors(path);
    absl::StatusOr<std::string> bytes = ReadXzFile(path + ".xz");
    if (absl::IsNotFound(bytes.status())) return ReadSafetensors(path);
    if (!bytes.ok()) return bytes.status();
    return ParseSafetensors(*bytes);
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
      checks->push_back(ModelOutput(Compare(name + suffix, got, *want, tol), got, *want));
    }
  }

  // Mixed precision: a model output other than mask logits, held to the
  // relative L2 bound. Float32: `c` as it is.
  Check ModelOutput(Check c, const at::Tensor& got, const at::Tensor& want) {
    if (!mixed_ || !c.problem.empty()) return c;
    const double rel = RelativeL2(got, want);
    c.within = rel <= mixed_tol_.relative_l2;
    c.mixed_measure = absl::StrFormat("relative L2 error %.3g (limit %.3g)", rel,
                                      mixed_tol_.relative_l2);
    return c;
  }

  // Mixed precision: mask logits, held to the mismatch-share bound outside
  // the band `tol` + `relative`·|expected| (per tensor; video steps add to
  // the script's tally instead, see CompareVideoMasks).
  Check MaskOutput(Check c, const at::Tensor& got, const at::Tensor& want,
                   double tol, double relative) {
    if (!mixed_ || !c.problem.empty()) return c;
    const MaskTally t = CountMaskMismatches(got, want, tol, relative);
    c.within = t.share() <= mixed_tol_.predict_mask_mismatch_share;
    c.mixed_measure = absl::StrFormat(
        "mask mismatch %.4f %% outside the band (limit %.2f %%)", 100 * t.share(),
        100 * mixed_tol_.predict_mask_mismatch_share);
    return c;
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
      Check check = Compare(name, got_tol.first, *want, got_tol.second);
      checks.push_back(std::string(name) == "iou"
                           ? ModelOutput(check, got_tol.first, *want)
                           : MaskOutput(check, got_tol.first, *want, got_tol.second, 0));
    }
    if (mixed_) ExcuseSelectionFlips(*p, *expected, &checks);
    return checks;
  }

  // Mixed precision: masks (one per prompt) that differ on more than
  // kSelectionFlipShare of their pixels are selection flips when the IoU
  // predictions met their bound: their mismatches leave the tally, the flip
  // is named and counted (GoldenSummary::selection_flips).
  void ExcuseSelectionFlips(const Prediction& p, const StateDict& expected,
                            std::vector<Check>* checks) {
    bool iou_ok = false;
    for (const Check& c : *checks) {
      if (c.name == "iou") iou_ok = c.ok();
    }
    const at::Tensor* want = expected.Find("mask_logits");
    if (!iou_ok || want == nullptr || want->sizes() != p.masks.sizes() ||
        p.masks.dim() < 3) {
      return;
    }
    // Masks as [N, H, W] (N = prompts x candidates).
    const at::Tensor got = p.masks.reshape({-1, p.masks.size(-2), p.masks.size(-1)});
    const at::Tensor ref = want->reshape({-1, want->size(-2), want->size(-1)});
    // Per mask: its tally, and whether it is another candidate altogether.
    const int64_t n = got.size(0);
    std::vector<MaskTally> tallies;
    std::vector<bool> flipped;
    int flips = 0;
    for (int64_t i = 0; i < n; ++i) {
      tallies.push_back(CountMaskMismatches(got[i], ref[i], tol_.mask_logits, 0));
      flipped.push_back(tallies.back().share() > kSelectionFlipShare);
      flips += flipped.back() ? 1 : 0;
    }
    if (flips == 0) return;
    selection_flips_ += flips;
    // The masks that are not flipped, summed.
    auto kept_of = [&](const std::vector<MaskTally>& per_mask) {
      MaskTally kept;
      for (int64_t i = 0; i < n; ++i) {
        if (flipped[i]) continue;
        kept.mismatches += per_mask[i].mismatches;
        kept.pixels += per_mask[i].pixels;
      }
      return kept;
    };
    const MaskTally kept = kept_of(tallies);
    for (Check& c : *checks) {
      if (c.name != "mask_logits") continue;
      c.within = kept.share() <= mixed_tol_.predict_mask_mismatch_share;
      c.mixed_measure = absl::StrFormat(
          "%d of %d masks another candidate (selection flip); the rest: mask "
          "mismatch %.4f %% (limit %.2f %%)",
          flips, n, 100 * kept.share(),
          100 * mixed_tol_.predict_mask_mismatch_share);
    }
    // low_res_logits flip with their masks: the same masks are excluded.
    const at::Tensor* want_low = expected.Find("low_res_logits");
    if (want_low == nullptr || want_low->sizes() != p.low_res_logits.sizes()) return;
    const at::Tensor got_low =
        p.low_res_logits.reshape({-1, p.low_res_logits.size(-2), p.low_res_logits.size(-1)});
    const at::Tensor ref_low = want_low->reshape({-1, want_low->size(-2), want_low->size(-1)});
    if (got_low.size(0) != n) return;
    std::vector<MaskTally> low_tallies;
    for (int64_t i = 0; i < n; ++i) {
      low_tallies.push_back(
          flipped[i] ? MaskTally{}
                     : CountMaskMismatches(got_low[i], ref_low[i], tol_.mask_logits, 0));
    }
    const MaskTally kept_low = kept_of(low_tallies);
    for (Check& c : *checks) {
      if (c.name != "low_res_logits") continue;
      c.within = kept_low.share() <= mixed_tol_.predict_mask_mismatch_share;
      c.mixed_measure = absl::StrFormat(
          "without the flipped masks: mask mismatch %.4f %% (limit %.2f %%)",
          100 * kept_low.share(), 100 * mixed_tol_.predict_mask_mismatch_share);
    }
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
    if (mixed_) {
      // Per step for the report; the bound applies to the script's tally.
      const MaskTally t = CountMaskMismatches(got.masks, *want, tol, kFloat16Relative);
      video_tally_.mismatches += t.mismatches;
      video_tally_.pixels += t.pixels;
      c.mixed_measure = absl::StrFormat("mask mismatch %.4f %% outside the band",
                                        100 * t.share());
      c.within = true;
      return c;
    }
    c.relative = kFloat16Relative;
    const at::Tensor w = want->to(at::kDouble);
    const at::Tensor excess =
        (got.masks.to(at::kCPU, at::kDouble) - w).abs() -
        (tol + c.relative * w.abs());
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
        video_->InitState(*std::move(source), VideoOptions());
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
    if (mixed_) {
      Check all{"all masks of the script", 0, 0, "", 0, true};
      all.within = video_tally_.share() <= mixed_tol_.video_mask_mismatch_share;
      all.mixed_measure = absl::StrFormat(
          "mask mismatch %.4f %% of %d px outside the band (limit %.2f %%)",
          100 * video_tally_.share(), video_tally_.pixels,
          100 * mixed_tol_.video_mask_mismatch_share);
      checks.push_back(all);
    }
    return checks;
  }

  // automatic_masks: SAM2AutomaticMaskGenerator.generate on the case's image
  // with its options. Records are matched one to one (greedily, each
  // expected mask to the unmatched one of ours with the highest IoU; the
  // expected file sorts masks by area, our order is the reference's NMS
  // order). Passes with the same count, every IoU >= kAmgMinIou, areas and
  // boxes equal up to the pixels where the two masks differ (exact for
  // identical masks), scores and points within tolerance.
  std::vector<Check> RunAmg(const Json& c) {
    absl::StatusOr<StateDict> expected = Expected(c);
    if (!expected.ok()) return {Failed("expected file", expected.status())};
    const Json& in = c.at("inputs");
    absl::StatusOr<RgbImage> image = Image(in.value("image", std::string("image.png")));
    if (!image.ok()) return {Failed("image", image.status())};
    AutomaticMaskGeneratorOptions o;
    if (in.contains("points_per_side")) {
      o.points_per_side = in["points_per_side"].get<int64_t>();
    }
    o.points_per_batch = in.value("points_per_batch", o.points_per_batch);
    o.pred_iou_thresh = in.value("pred_iou_thresh", o.pred_iou_thresh);
    o.stability_score_thresh = in.value("stability_score_thresh", o.stability_score_thresh);
    o.stability_score_offset = in.value("stability_score_offset", o.stability_score_offset);
    o.mask_threshold = in.value("mask_threshold", o.mask_threshold);
    o.box_nms_thresh = in.value("box_nms_thresh", o.box_nms_thresh);
    o.crop_n_layers = in.value("crop_n_layers", o.crop_n_layers);
    o.crop_nms_thresh = in.value("crop_nms_thresh", o.crop_nms_thresh);
    o.crop_overlap_ratio = in.value("crop_overlap_ratio", o.crop_overlap_ratio);
    o.crop_n_points_downscale_factor =
        in.value("crop_n_points_downscale_factor", o.crop_n_points_downscale_factor);
    o.min_mask_region_area = in.value("min_mask_region_area", o.min_mask_region_area);
    o.use_m2m = in.value("use_m2m", o.use_m2m);
    o.multimask_output = in.value("multimask_output", o.multimask_output);
    absl::StatusOr<std::unique_ptr<AutomaticMaskGenerator>> amg =
        AutomaticMaskGenerator::Create(model_, o);
    if (!amg.ok()) return {Failed("options", amg.status())};
    absl::StatusOr<std::vector<MaskRecord>> records = (*amg)->Generate(image->pixels);
    if (!records.ok()) return {Failed("generate", records.status())};

    const at::Tensor* segs = expected->Find("segmentations");
    if (segs == nullptr) return {Failed("segmentations", absl::NotFoundError("not in the expected file"))};
    const int64_t n = segs->size(0);
    const int64_t got_n = static_cast<int64_t>(records->size());
    std::vector<Check> checks;
    Check count{"mask count", static_cast<double>(std::abs(got_n - n)), 0, "", 0, true};
    count.within = got_n == n;
    if (got_n != n) count.problem = absl::StrCat(got_n, " masks vs expected ", n);
    checks.push_back(count);
    if (got_n != n) return checks;

    auto field = [&](const char* name) -> at::Tensor {
      const at::Tensor* t = expected->Find(name);
      return t == nullptr ? at::Tensor() : t->to(at::kDouble);
    };
    const at::Tensor want_bbox = field("bbox"), want_area = field("area"),
                     want_iou = field("predicted_iou"),
                     want_stab = field("stability_score"),
                     want_pts = field("point_coords");
    std::vector<bool> used(static_cast<size_t>(n), false);
    double worst_iou_gap = 0, area_excess = 0, bbox_excess = 0, iou_err = 0,
           stab_err = 0, pts_err = 0;
    int64_t differing_pixels = 0;
    std::string problem;
    for (int64_t e = 0; e < n; ++e) {
      const at::Tensor want = (*segs)[e].ne(0);
      int64_t best = -1;
      double best_iou = -1;
      int64_t best_xor = 0;
      for (int64_t g = 0; g < n; ++g) {
        if (used[static_cast<size_t>(g)]) continue;
        const at::Tensor& ours = (*records)[static_cast<size_t>(g)].segmentation;
        if (!ours.defined() || ours.sizes() != want.sizes()) continue;
        const double inter = (ours & want).sum().item<double>();
        const double uni = (ours | want).sum().item<double>();
        const double iou = uni == 0 ? 1.0 : inter / uni;
        if (iou > best_iou) {
          best_iou = iou;
          best = g;
          best_xor = (ours ^ want).sum().item<int64_t>();
        }
      }
      if (best < 0) {
        problem = absl::StrCat("expected mask ", e, " has no counterpart");
        break;
      }
      used[static_cast<size_t>(best)] = true;
      const MaskRecord& r = (*records)[static_cast<size_t>(best)];
      worst_iou_gap = std::max(worst_iou_gap, 1.0 - best_iou);
      differing_pixels += best_xor;
      if (want_area.defined()) {
        area_excess = std::max(
            area_excess, std::abs(r.area - want_area[e].item<double>()) - best_xor);
      }
      if (want_bbox.defined()) {
        double d = 0;
        for (int k = 0; k < 4; ++k) {
          d = std::max(d, std::abs(r.bbox[k] - want_bbox[e][k].item<double>()));
        }
        // A box may move only where the masks differ.
        if (best_xor == 0) bbox_excess = std::max(bbox_excess, d);
      }
      if (want_iou.defined()) {
        iou_err = std::max(iou_err, std::abs(r.predicted_iou - want_iou[e].item<double>()));
      }
      if (want_stab.defined()) {
        const double w = want_stab[e].item<double>();
        if (std::isnan(w) != std::isnan(r.stability_score)) {
          stab_err = std::numeric_limits<double>::infinity();
        } else if (!std::isnan(w)) {
          stab_err = std::max(stab_err, std::abs(r.stability_score - w));
        }
      }
      if (want_pts.defined()) {
        for (int k = 0; k < 2; ++k) {
          pts_err = std::max(pts_err, std::abs(r.point_coords[k] - want_pts[e][k].item<double>()));
        }
      }
    }
    if (!problem.empty()) return Append(checks, Check{"masks", 0, 0, problem, 0, false});
    auto add = [&](const std::string& name, double err, double tol) {
      Check ch{name, err, tol, "", 0, true};
      ch.within = err <= tol;
      checks.push_back(ch);
    };
    add(absl::StrCat("1 - mask IoU (", differing_pixels, " px differ)"), worst_iou_gap,
        1.0 - kAmgMinIou);
    add("area beyond diff px", area_excess, 0);
    add("bbox (same masks)", bbox_excess, 0);
    add("predicted_iou", iou_err, kAmgScoreTolerance);
    add("stability_score", stab_err, kAmgScoreTolerance);
    add("point_coords", pts_err, kAmgScoreTolerance);
    return checks;
  }

  VideoStateOptions VideoOptions() const {
    VideoStateOptions options;
    options.long_video_window = long_video_window_;
    return options;
  }

  static std::vector<Check> Append(std::vector<Check>& checks, Check c) {
    checks.push_back(std::move(c));
    return checks;
  }

  std::string dir_;
  GoldenTolerances tol_;
  int64_t long_video_window_ = 0;
  bool mixed_ = false;
  MixedPrecisionTolerances mixed_tol_;
  MaskTally video_tally_;   // mixed precision: the video script's masks
  int selection_flips_ = 0;  // mixed precision: see ExcuseSelectionFlips
  c10::Device device_;
  std::ostream& out_;
  std::shared_ptr<const Sam2Model> model_;
  std::shared_ptr<const VideoPredictor> video_;
  std::map<std::string, RgbImage> images_;
  std::optional<ImageFeatures> stored_features_;
};

}  // namespace

absl::StatusOr<GoldenSummary> RunGolden(const std::string& fixture_dir,
                                        const GoldenOptions& options,
                                        std::ostream& out) {
  try {
    return Runner(fixture_dir, options, out).Run();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("golden run failed: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<GoldenSummary> RunGolden(const std::string& fixture_dir,
                                        const GoldenTolerances& tolerances,
                                        std::ostream& out) {
  GoldenOptions options;
  options.tolerances = tolerances;
  return RunGolden(fixture_dir, options, out);
}

}  // namespace sam2
