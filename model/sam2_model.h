// Sam2Model: the network modules of one SAM 2 / 2.1 model, built once from a
// config and its weights and shared by every predictor and session.
//
// Mirrors the module tree of the reference's `SAM2Base`
// (sam2/modeling/sam2_base.py): image encoder (with SAM2Base's image-side
// plumbing), prompt encoder, mask decoder. The video-side modules (memory
// encoder, memory attention) join it with the video predictor.
//
// Ownership/thread-safety: immutable after Create(); hold it in a
// std::shared_ptr<const Sam2Model> and call the modules' const methods from
// any number of threads.

#ifndef SAM2_MODEL_SAM2_MODEL_H_
#define SAM2_MODEL_SAM2_MODEL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "model/image_encoder.h"
#include "model/mask_decoder.h"
#include "model/prompt_encoder.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

class Sam2Model {
 public:
  // Builds every module from `weights` (float32 copies of other dtypes), on
  // the device the weights are on (StateDict::To moves them first).
  // INVALID_ARGUMENT names the first missing or mis-shaped tensor, or
  // weights spread over two devices.
  static absl::StatusOr<std::shared_ptr<const Sam2Model>> Create(
      const Sam2Config& config, const StateDict& weights);

  const Sam2Config& config() const { return config_; }
  // Where the weights are, and so where every forward pass runs: callers
  // pass host tensors, the model's entry points upload them (device.h).
  c10::Device device() const { return device_; }
  const ImageEncoder& image_encoder() const { return image_encoder_; }
  const PromptEncoder& prompt_encoder() const { return prompt_encoder_; }
  const MaskDecoder& mask_decoder() const { return mask_decoder_; }

 private:
  Sam2Model(Sam2Config config, c10::Device device, ImageEncoder image_encoder,
            PromptEncoder prompt_encoder, MaskDecoder mask_decoder);

  Sam2Config config_;
  c10::Device device_;
  ImageEncoder image_encoder_;
  PromptEncoder prompt_encoder_;
  MaskDecoder mask_decoder_;
};

}  // namespace sam2

#endif  // SAM2_MODEL_SAM2_MODEL_H_
