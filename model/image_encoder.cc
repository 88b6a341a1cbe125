// ImageEncoder and the SAM2Base / SAM2ImagePredictor image plumbing; see
// image_encoder.h.
// Reference: sam2/modeling/backbones/image_encoder.py (ImageEncoder),
// sam2/modeling/sam2_base.py (forward_image, _prepare_backbone_features),
// sam2/sam2_image_predictor.py (set_image).

#include "model/image_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/module_weights.h"
#include "model/pointwise_conv.h"
#include "model/torch_error.h"

namespace sam2 {

absl::StatusOr<ImageEncoder> ImageEncoder::Create(const Sam2Config& config,
                                                  const StateDict& state) {
  const ImageEncoderConfig& ie = config.image_encoder;
  if (ie.trunk.ChannelList() != ie.neck.backbone_channel_list) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ImageEncoder: trunk channels [",
        absl::StrJoin(ie.trunk.ChannelList(), ","),
        "] do not match the neck's backbone_channel_list [",
        absl::StrJoin(ie.neck.backbone_channel_list, ","), "]"));
  }
  const int levels = static_cast<int>(ie.neck.backbone_channel_list.size());
  if (ie.scalp < 0 || ie.scalp >= levels) {
    return absl::InvalidArgumentError(
        absl::StrCat("ImageEncoder: scalp ", ie.scalp, " must be in [0, ",
                     levels, ")"));
  }
  if (config.NumFeatureLevels() > levels - ie.scalp) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ImageEncoder: the decoder needs ", config.NumFeatureLevels(),
        " feature levels, the encoder keeps ", levels - ie.scalp));
  }
  absl::StatusOr<Hiera> trunk = Hiera::Create(config, state);
  if (!trunk.ok()) return trunk.status();
  absl::StatusOr<FpnNeck> neck = FpnNeck::Create(config, state);
  if (!neck.ok()) return neck.status();

  ImageEncoder enc(std::move(*trunk), std::move(*neck));
  enc.scalp_ = ie.scalp;
  enc.image_size_ = config.image_size;
  enc.use_high_res_ = config.use_high_res_features_in_sam;
  enc.add_no_mem_embed_ = config.directly_add_no_mem_embed;
  enc.num_feature_levels_ = config.NumFeatureLevels();
  const int64_t c = config.HiddenDim();
  ModuleWeights root(state, "");
  if (enc.use_high_res_) {
    ModuleWeights dec = root.Child("sam_mask_decoder");
    enc.conv_s0_w_ = dec.Get("conv_s0.weight", {c / 8, c, 1, 1});
    enc.conv_s0_b_ = dec.Get("conv_s0.bias", {c / 8});
    enc.conv_s1_w_ = dec.Get("conv_s1.weight", {c / 4, c, 1, 1});
    enc.conv_s1_b_ = dec.Get("conv_s1.bias", {c / 4});
  }
  if (enc.add_no_mem_embed_) {
    enc.no_mem_embed_ = root.Get("no_mem_embed", {1, 1, c});
  }
  if (!root.status().ok()) {
    return absl::Status(root.status().code(),
                        absl::StrCat("ImageEncoder: ",
                                     root.status().message()));
  }
  return enc;
}

absl::Status ImageEncoder::CheckImage(const at::Tensor& image) const {
  if (!image.defined() || image.dim() != 4 ||
      image.size(1) != kPatchEmbedInChannels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ImageEncoder: expected a [B, ", kPatchEmbedInChannels, ", ",
        image_size_, ", ", image_size_, "] image"));
  }
  if (image.size(2) != image_size_ || image.size(3) != image_size_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ImageEncoder: the image is ", image.size(2), "x", image.size(3),
        ", the model expects ", image_size_, "x", image_size_));
  }
  return absl::OkStatus();
}

BackboneOutput ImageEncoder::ForwardUnchecked(const at::Tensor& image) const {
  FpnNeck::Output neck = neck_.ForwardUnchecked(trunk_.ForwardUnchecked(image));
  BackboneOutput out;
  const size_t keep = neck.features.size() - scalp_;
  out.backbone_fpn.assign(neck.features.begin(), neck.features.begin() + keep);
  out.vision_pos_enc.assign(neck.pos.begin(), neck.pos.begin() + keep);
  out.vision_features = out.backbone_fpn.back();
  return out;
}

BackboneOutput ImageEncoder::ForwardImageUnchecked(
    const at::Tensor& image) const {
  BackboneOutput out = ForwardUnchecked(image);
  if (use_high_res_) {
    out.backbone_fpn[0] =
        PointwiseConv2d(out.backbone_fpn[0], conv_s0_w_, conv_s0_b_);
    out.backbone_fpn[1] =
        PointwiseConv2d(out.backbone_fpn[1], conv_s1_w_, conv_s1_b_);
  }
  return out;
}

absl::StatusOr<BackboneOutput> ImageEncoder::Forward(
    const at::Tensor& image) const {
  if (absl::Status s = CheckImage(image); !s.ok()) return s;
  try {
    c10::InferenceMode guard;
    return ForwardUnchecked(image.to(at::kFloat));
  } catch (const c10::Error& e) {
    return TorchError("ImageEncoder: ", e);
  }
}

absl::StatusOr<BackboneOutput> ImageEncoder::ForwardImage(
    const at::Tensor& image) const {
  if (absl::Status s = CheckImage(image); !s.ok()) return s;
  try {
    c10::InferenceMode guard;
    return ForwardImageUnchecked(image.to(at::kFloat));
  } catch (const c10::Error& e) {
    return TorchError("ImageEncoder: ", e);
  }
}

absl::StatusOr<ImageEmbedding> ImageEncoder::Embed(
    const at::Tensor& image) const {
  if (absl::Status s = CheckImage(image); !s.ok()) return s;
  try {
    c10::InferenceMode guard;
    ImageEmbedding emb;
    emb.backbone = ForwardImageUnchecked(image.to(at::kFloat));
    const std::vector<at::Tensor>& fpn = emb.backbone.backbone_fpn;
    at::Tensor last = fpn.back();
    if (add_no_mem_embed_) {
      // no_mem_embed [1, 1, C] added to every token == per channel on NCHW.
      last = last + no_mem_embed_.view({1, -1, 1, 1});
    }
    emb.image_embed = last.contiguous();
    // The decoder's other levels: the num_feature_levels - 1 above the last.
    const size_t first = fpn.size() - num_feature_levels_;
    for (size_t i = first; i + 1 < fpn.size(); ++i) {
      emb.high_res_feats.push_back(fpn[i].contiguous());
    }
    return emb;
  } catch (const c10::Error& e) {
    return TorchError("ImageEncoder: ", e);
  }
}

}  // namespace sam2
