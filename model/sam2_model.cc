#include "model/sam2_model.h"

#include <utility>

namespace sam2 {

Sam2Model::Sam2Model(Sam2Config config, c10::Device device,
                     ImageEncoder image_encoder, PromptEncoder prompt_encoder,
                     MaskDecoder mask_decoder)
    : config_(std::move(config)),
      device_(device),
      image_encoder_(std::move(image_encoder)),
      prompt_encoder_(std::move(prompt_encoder)),
      mask_decoder_(std::move(mask_decoder)) {}

absl::StatusOr<std::shared_ptr<const Sam2Model>> Sam2Model::Create(
    const Sam2Config& config, const StateDict& weights) {
  absl::StatusOr<c10::Device> device = weights.Device();
  if (!device.ok()) return device.status();
  absl::StatusOr<ImageEncoder> image_encoder =
      ImageEncoder::Create(config, weights);
  if (!image_encoder.ok()) return image_encoder.status();
  absl::StatusOr<PromptEncoder> prompt_encoder =
      PromptEncoder::Create(config, weights);
  if (!prompt_encoder.ok()) return prompt_encoder.status();
  absl::StatusOr<MaskDecoder> mask_decoder =
      MaskDecoder::Create(config, weights);
  if (!mask_decoder.ok()) return mask_decoder.status();
  return std::shared_ptr<const Sam2Model>(new Sam2Model(
      config, *device, *std::move(image_encoder), *std::move(prompt_encoder),
      *std::move(mask_decoder)));
}

}  // namespace sam2
