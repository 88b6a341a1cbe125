// ImageSession: one image embedded once and prompted many times — the
// session-layer face of the image predictor and the automatic mask
// generator, in plain C++ types (the transport converts its messages to
// these and back).
//
// Holds the image's features (ImageFeatures: the embedding and the
// high-resolution features), the encoded image bytes (automatic masks need
// the pixels again; the encoded file is far smaller than decoded pixels and
// decoding costs little next to the generator), and the low-resolution
// logits of the most recent Segment results, so a client can refine a mask
// by referring to it instead of sending 256 KiB of logits back.
//
// Client input is validated here before any model code runs: counts of
// points and boxes against ImageSessionLimits, references to kept results,
// mask sizes; the prompt semantics (finite coordinates on the image, labels,
// box corners) are checked by model/prompt_transforms.
//
// Thread-safety: one operation at a time (the service holds the session's
// exclusivity, Session::BeginExclusive, around each call). The model passed
// in is shared and const.

#ifndef SAM2_SESSION_IMAGE_SESSION_H_
#define SAM2_SESSION_IMAGE_SESSION_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "model/automatic_mask_generator.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "model/sam2_model.h"
#include "session/embedding_cache.h"
#include "session/mask_encoding.h"
#include "session/session.h"

namespace sam2 {

// DESIGN.md limits per request, and what a session keeps.
inline constexpr int kDefaultMaxPoints = 64;
inline constexpr int kDefaultMaxBoxes = 16;
inline constexpr int kDefaultKeptResults = 8;

struct ImageSessionLimits {
  ImageDecodeOptions decode;
  int max_points = kDefaultMaxPoints;
  int max_boxes = kDefaultMaxBoxes;
  // Segment results whose low-resolution logits stay referable.
  int kept_results = kDefaultKeptResults;
};

// Told the duration of each stage of a request ("decode", "encoder",
// "decoder", "postprocess") for the service's metrics. May be empty.
using StageObserver =
    std::function<void(absl::string_view stage, absl::Duration duration)>;

struct PointPrompt {
  float x = 0;
  float y = 0;
  int label = 1;
};

struct BoxPrompt {
  float x0 = 0;
  float y0 = 0;
  float x1 = 0;
  float y1 = 0;
};

// One mask of an earlier Segment result of the same session.
struct MaskReference {
  int64_t result_id = 0;
  int prompt_index = 0;
  int mask_index = 0;
};

struct SegmentInput {
  std::vector<PointPrompt> points;
  std::vector<BoxPrompt> boxes;
  // At most one of these two mask prompts.
  std::optional<MaskReference> mask_reference;
  std::optional<EncodedMask> mask_logits;  // kLogits, low-resolution side
  bool multimask_output = true;
  MaskEncoding encoding = MaskEncoding::kRle;
};

struct PromptMasks {
  std::vector<EncodedMask> masks;
  std::vector<float> iou_scores;
};

struct SegmentOutput {
  std::vector<PromptMasks> prompts;  // one per prompt set (per box if > 1)
  int64_t result_id = 0;
};

struct GeneratedMaskOutput {
  EncodedMask mask;
  std::array<double, 4> bbox{};  // x, y, w, h
  int64_t area = 0;
  double predicted_iou = 0;
  double stability_score = 0;
  std::array<double, 2> point{};
  std::array<int64_t, 4> crop_box{};
};

class ImageSession : public Session {
 public:
  // Decodes `image_bytes` (JPEG/PNG, limits in `limits.decode`) and embeds
  // the image. INVALID_ARGUMENT for bad bytes; INTERNAL for model failures.
  // With a `cache`, bytes seen before skip decoding and the encoder (the
  // "cache" stage is observed instead), and new features are kept there.
  static absl::StatusOr<std::unique_ptr<ImageSession>> Create(
      const Sam2Model& model, std::string image_bytes,
      const ImageSessionLimits& limits, const StageObserver& observe = {},
      EmbeddingCache* cache = nullptr);

  // Masks for one request; keeps its low-resolution logits under the
  // returned result_id (the oldest kept result is dropped beyond
  // limits.kept_results).
  absl::StatusOr<SegmentOutput> Segment(const Sam2Model& model,
                                        const SegmentInput& input,
                                        const StageObserver& observe = {});

  // Segment for several sessions at once (dynamic batching): requests of
  // the same prompt layout share one decoder call (PredictMasksBatch); each
  // result equals that session's Segment to float32 round-off, and an error
  // fails its own request only. The caller holds every session's
  // exclusivity; a session appears at most once. One result per session, in
  // order.
  static std::vector<absl::StatusOr<SegmentOutput>> SegmentBatch(
      const Sam2Model& model, absl::Span<ImageSession* const> sessions,
      absl::Span<const SegmentInput* const> inputs,
      const StageObserver& observe = {});

  // SAM2AutomaticMaskGenerator.generate on this image, reusing its
  // features. `encoding` kRle or kPng. `progress` may stop the run.
  absl::StatusOr<std::vector<GeneratedMaskOutput>> GenerateMasks(
      std::shared_ptr<const Sam2Model> model,
      const AutomaticMaskGeneratorOptions& options, MaskEncoding encoding,
      const AmgProgressCallback& progress = nullptr,
      const StageObserver& observe = {});

  int64_t height() const { return features_.orig_h; }
  int64_t width() const { return features_.orig_w; }
  int64_t NumBytes() const override;

 private:
  ImageSession(ImageFeatures features, std::string image_bytes,
               ImageSessionLimits limits);

  // Segment's halves around the model call: validation and prompt tensors
  // (the request points into features_), then encoding and keeping the
  // result.
  absl::StatusOr<PredictRequest> PrepareSegment(const Sam2Model& model,
                                                const SegmentInput& input) const;
  absl::StatusOr<SegmentOutput> FinishSegment(const SegmentInput& input,
                                              const Prediction& prediction,
                                              const StageObserver& observe);

  absl::StatusOr<at::Tensor> ResolveMaskInput(const SegmentInput& input,
                                              int64_t low_res_side) const;

  const ImageFeatures features_;
  const std::string image_bytes_;
  const ImageSessionLimits limits_;
  // (result_id, low-res logits [B, C, M, M]) of the latest results, oldest
  // first.
  std::deque<std::pair<int64_t, at::Tensor>> results_;
  int64_t next_result_id_ = 1;
};

}  // namespace sam2

#endif  // SAM2_SESSION_IMAGE_SESSION_H_
