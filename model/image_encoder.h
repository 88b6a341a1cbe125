// ImageEncoder: Hiera trunk + FPN neck + scalp, and the image side of
// SAM2Base / SAM2ImagePredictor that turns its output into the features the
// mask decoder and the video tracker consume.
//
// Mirrors:
//  - `ImageEncoder.forward` (sam2/modeling/backbones/image_encoder.py):
//    neck(trunk(x)), the `scalp` lowest-resolution levels dropped,
//    vision_features = the last remaining level;
//  - `SAM2Base.forward_image` (sam2/modeling/sam2_base.py): with
//    use_high_res_features_in_sam, levels 0 and 1 replaced by
//    `sam_mask_decoder.conv_s0` / `conv_s1` of themselves;
//  - `SAM2ImagePredictor.set_image` (sam2/sam2_image_predictor.py) after
//    preprocessing: `no_mem_embed` added to the lowest-resolution level when
//    directly_add_no_mem_embed, then image_embed = that level and
//    high_res_feats = the levels above it that the decoder uses.
// Deliberate differences: feature sizes come from the tensors rather than the
// predictor's hard-coded `_bb_feat_sizes`; the flatten to [HW, B, C] and back
// that `_prepare_backbone_features` / set_image do is skipped (adding
// no_mem_embed [1, 1, C] per token equals adding it per channel on NCHW).
// Preprocessing (resize, normalize) is not part of this module.
//
// Thread-safety: immutable after Create(); the Forward functions may be
// called concurrently. Nothing throws: LibTorch errors become INTERNAL.

#ifndef SAM2_MODEL_IMAGE_ENCODER_H_
#define SAM2_MODEL_IMAGE_ENCODER_H_

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/fpn_neck.h"
#include "model/hiera.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"

namespace sam2 {

// What ImageEncoder.forward / SAM2Base.forward_image return.
struct BackboneOutput {
  // Levels after scalp, highest resolution first, NCHW.
  std::vector<at::Tensor> backbone_fpn;
  // Sine position encoding of each level, same shapes.
  std::vector<at::Tensor> vision_pos_enc;
  // The lowest-resolution level as the neck produced it (before
  // conv_s0/conv_s1; those only touch levels 0 and 1).
  at::Tensor vision_features;
};

// What SAM2ImagePredictor.set_image keeps, plus the raw backbone output for
// the video path (which must not see no_mem_embed; PORTING trap 8).
struct ImageEmbedding {
  // [B, C, S/16, S/16]: the lowest-resolution level, + no_mem_embed when
  // directly_add_no_mem_embed.
  at::Tensor image_embed;
  // With use_high_res_features_in_sam: {conv_s0(level 0) [B, C/8, S/4, S/4],
  // conv_s1(level 1) [B, C/4, S/8, S/8]}; else empty.
  std::vector<at::Tensor> high_res_feats;
  // forward_image's output (conv_s0/conv_s1 applied, no no_mem_embed).
  BackboneOutput backbone;
};

class ImageEncoder {
 public:
  // Fetches and shape-checks image_encoder.trunk.*, image_encoder.neck.*,
  // and (with use_high_res_features_in_sam) sam_mask_decoder.conv_s0/conv_s1
  // and (with directly_add_no_mem_embed) no_mem_embed. INVALID_ARGUMENT on a
  // missing/mis-shaped tensor or an inconsistent config.
  static absl::StatusOr<ImageEncoder> Create(const Sam2Config& config,
                                             const StateDict& state);

  // ImageEncoder.forward: `image` [B, 3, S, S] preprocessed float32.
  absl::StatusOr<BackboneOutput> Forward(const at::Tensor& image) const;
  // SAM2Base.forward_image.
  absl::StatusOr<BackboneOutput> ForwardImage(const at::Tensor& image) const;
  // SAM2ImagePredictor.set_image on an already preprocessed image.
  absl::StatusOr<ImageEmbedding> Embed(const at::Tensor& image) const;

  const Hiera& trunk() const { return trunk_; }
  const FpnNeck& neck() const { return neck_; }

 private:
  ImageEncoder(Hiera trunk, FpnNeck neck)
      : trunk_(std::move(trunk)), neck_(std::move(neck)) {}
  absl::Status CheckImage(const at::Tensor& image) const;
  BackboneOutput ForwardUnchecked(const at::Tensor& image) const;
  BackboneOutput ForwardImageUnchecked(const at::Tensor& image) const;

  Hiera trunk_;
  FpnNeck neck_;
  int scalp_ = 0;
  int image_size_ = 0;
  bool use_high_res_ = false;
  bool add_no_mem_embed_ = false;
  int num_feature_levels_ = 1;
  at::Tensor conv_s0_w_, conv_s0_b_, conv_s1_w_, conv_s1_b_;
  at::Tensor no_mem_embed_;  // [1, 1, C]
};

}  // namespace sam2

#endif  // SAM2_MODEL_IMAGE_ENCODER_H_
