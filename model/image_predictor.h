// ImagePredictor: SAM 2 on single images — embed an image once, then
// predict masks for any number of prompts (clicks, boxes, an earlier mask).
//
// Mirrors `SAM2ImagePredictor` (sam2/sam2_image_predictor.py): set_image /
// set_image_batch, predict / predict_batch, with the same defaults and
// post-processing (mask_threshold, max_hole_area, max_sprinkle_area,
// multimask_output, return_logits, normalize_coords, low-resolution logits
// clamped to +-32). Prompt semantics live in prompt_transforms.h; this file
// strings the modules together.
//
// Two layers:
//  - free functions EmbedImages / PredictMasks are stateless: the service
//    keeps ImageFeatures per session and calls them from its workers;
//  - class ImagePredictor holds the features of the last set image(s), as
//    the reference does, for the command-line tools and golden tests.
// Deliberate differences: bad prompts (points off the image, inverted boxes,
// unknown labels, empty prompts) are errors rather than silently used; the
// model stays on the CPU (device placement comes with the CUDA path).
//
// Thread-safety: the free functions are thread-safe given a shared const
// Sam2Model. An ImagePredictor is not: one thread at a time, or const
// Predict* calls concurrently once set.

#ifndef SAM2_MODEL_IMAGE_PREDICTOR_H_
#define SAM2_MODEL_IMAGE_PREDICTOR_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/prompt_transforms.h"
#include "model/sam2_model.h"
#include "model/two_way_transformer.h"

namespace sam2 {

// What set_image keeps for one image.
struct ImageFeatures {
  at::Tensor image_embed;                  // [1, C, S/16, S/16]
  std::vector<at::Tensor> high_res_feats;  // [1, C/8, S/4, S/4], [1, C/4, S/8, S/8]
  // The mask decoder's first-layer image side for prompts without a mask
  // input (MaskDecoder::ProjectImage with the no-mask embedding), computed
  // with the embedding: every click on the image reuses it. 3 x 2 MB in
  // float32 at S = 1024 (half in bfloat16); a click saves its 3 projections
  // over S/16 x S/16 tokens. Undefined: every click computes it.
  TwoWayImageProjections decoder_image;
  int64_t orig_h = 0;
  int64_t orig_w = 0;
  // Bytes held by the tensors (for session budgets).
  int64_t NumBytes() const;
};

// SAM2ImagePredictor's constructor arguments.
struct ImagePredictorOptions {
  double mask_threshold = 0.0;
  // > 0: fill holes (connected components of logits <= threshold) up to
  // this area; 8-connectivity.
  int64_t max_hole_area = 0;
  // > 0: remove sprinkles (components of logits > threshold) up to this area.
  int64_t max_sprinkle_area = 0;
};

struct PredictOptions {
  bool multimask_output = true;
  // True: masks are float logits; false: bool masks (logits > threshold).
  bool return_logits = false;
};

// predict()'s result. C = 3 with multimask_output, else 1. One prompt set:
// masks [C, H, W], iou_predictions [C], low_res_logits [C, S/4, S/4]; B > 1
// prompt sets (several boxes): a leading [B, ...] dimension, as predict()
// returns.
struct Prediction {
  at::Tensor masks;
  at::Tensor iou_predictions;
  at::Tensor low_res_logits;
};

// set_image / set_image_batch after decoding: each image an RGB uint8
// [H, W, 3] tensor. Preprocesses (resize to S x S with antialiasing,
// ImageNet normalisation) and runs the image encoder once on the batch.
absl::StatusOr<std::vector<ImageFeatures>> EmbedImages(
    const Sam2Model& model, absl::Span<const at::Tensor> rgb_images);

// The same from an already preprocessed input [B, 3, S, S] float32 and the
// original sizes (golden tests check the model apart from preprocessing).
absl::StatusOr<std::vector<ImageFeatures>> EmbedPreprocessed(
    const Sam2Model& model, const at::Tensor& input,
    absl::Span<const std::pair<int64_t, int64_t>> orig_hw);

// predict() on stored features.
absl::StatusOr<Prediction> PredictMasks(const Sam2Model& model,
                                        const ImagePredictorOptions& options,
                                        const ImageFeatures& features,
                                        const ImagePromptInput& prompt,
                                        const PredictOptions& predict_options);

// One predict() of a batch that may span several images (sessions).
struct PredictRequest {
  const ImageFeatures* features = nullptr;  // not owned; outlives the call
  ImagePromptInput prompt;
  PredictOptions options;
};

// predict() for each request, with requests of the same prompt layout run
// through one prompt-encoder + mask-decoder call on their stacked features
// (dynamic batching across sessions; see BatchKey in the .cc for what may
// share a call). Each result equals PredictMasks on its own to float32
// round-off; a request's error fails that request only. Results are in
// request order.
std::vector<absl::StatusOr<Prediction>> PredictMasksBatch(
    const Sam2Model& model, const ImagePredictorOptions& options,
    absl::Span<const PredictRequest> requests);

class ImagePredictor {
 public:
  explicit ImagePredictor(std::shared_ptr<const Sam2Model> model,
                          ImagePredictorOptions options = {});

  absl::Status SetImage(const at::Tensor& rgb);
  absl::Status SetImageBatch(absl::Span<const at::Tensor> rgb_images);
  // Sets precomputed features (e.g. from EmbedPreprocessed).
  void SetFeatures(std::vector<ImageFeatures> features, bool batch);

  // FAILED_PRECONDITION before SetImage, or after SetImageBatch.
  absl::StatusOr<Prediction> Predict(const ImagePromptInput& prompt,
                                     const PredictOptions& options = {}) const;
  // One prompt per image of the batch. FAILED_PRECONDITION unless
  // SetImageBatch ran; INVALID_ARGUMENT if the counts differ.
  absl::StatusOr<std::vector<Prediction>> PredictBatch(
      absl::Span<const ImagePromptInput> prompts,
      const PredictOptions& options = {}) const;

  void ResetPredictor();
  bool is_image_set() const { return !features_.empty(); }
  const std::vector<ImageFeatures>& features() const { return features_; }
  const Sam2Model& model() const { return *model_; }

 private:
  std::shared_ptr<const Sam2Model> model_;
  ImagePredictorOptions options_;
  std::vector<ImageFeatures> features_;
  bool is_batch_ = false;
};

}  // namespace sam2

#endif  // SAM2_MODEL_IMAGE_PREDICTOR_H_
