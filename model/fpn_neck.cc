// FpnNeck; see fpn_neck.h.
// Reference: sam2/modeling/backbones/image_encoder.py (FpnNeck).

#include "model/fpn_neck.h"
#include "model/pointwise_conv.h"
#include "model/torch_error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {

absl::StatusOr<FpnNeck> FpnNeck::Create(const FpnNeckConfig& config,
                                        ModuleWeights weights) {
  if (config.d_model <= 0 || config.backbone_channel_list.empty()) {
    return absl::InvalidArgumentError(
        "FpnNeck: d_model and backbone_channel_list are required");
  }
  if (config.fuse_type != "sum" && config.fuse_type != "avg") {
    return absl::InvalidArgumentError(
        absl::StrCat("FpnNeck: fuse_type must be sum or avg, got ",
                     config.fuse_type));
  }
  if (config.fpn_interp_model != "nearest" &&
      config.fpn_interp_model != "bilinear" &&
      config.fpn_interp_model != "bicubic") {
    return absl::InvalidArgumentError(
        absl::StrCat("FpnNeck: unsupported fpn_interp_model ",
                     config.fpn_interp_model));
  }
  if (config.kernel_size <= 0 || config.stride <= 0 || config.padding < 0) {
    return absl::InvalidArgumentError("FpnNeck: bad conv geometry");
  }
  absl::StatusOr<PositionEmbeddingSine> pe =
      PositionEmbeddingSine::Create(config.position_encoding);
  if (!pe.ok()) return pe.status();
  FpnNeck neck(config, *pe);
  const int n = static_cast<int>(config.backbone_channel_list.size());
  if (config.fpn_top_down_levels.has_value()) {
    neck.top_down_levels_ = *config.fpn_top_down_levels;
  } else {
    for (int i = 0; i < n; ++i) neck.top_down_levels_.push_back(i);
  }
  for (int k = 0; k < n; ++k) {
    ModuleWeights conv = weights.Child(absl::StrCat("convs.", k, ".conv"));
    neck.conv_w_.push_back(
        conv.Get("weight", {config.d_model, config.backbone_channel_list[k],
                            config.kernel_size, config.kernel_size}));
    neck.conv_b_.push_back(conv.Get("bias", {config.d_model}));
  }
  if (!weights.status().ok()) {
    return absl::Status(weights.status().code(),
                        absl::StrCat("FpnNeck: ", weights.status().message()));
  }
  return neck;
}

absl::StatusOr<FpnNeck> FpnNeck::Create(const Sam2Config& config,
                                        const StateDict& state) {
  return Create(config.image_encoder.neck,
                ModuleWeights(state, "image_encoder.neck."));
}

FpnNeck::Output FpnNeck::ForwardUnchecked(
    const std::vector<at::Tensor>& xs) const {
  const int n = static_cast<int>(conv_w_.size());
  TORCH_CHECK(static_cast<int>(xs.size()) == n, "FpnNeck: expected ", n,
              " levels, got ", xs.size());
  Output out;
  out.features.resize(n);
  out.pos.resize(n);
  at::Tensor prev;
  for (int i = n - 1; i >= 0; --i) {
    const int k = n - 1 - i;
    at::Tensor lateral =
        config_.kernel_size == 1 && config_.stride == 1 && config_.padding == 0
            ? PointwiseConv2d(xs[i], conv_w_[k], conv_b_[k])
            : at::conv2d(xs[i], conv_w_[k], conv_b_[k],
                         {config_.stride, config_.stride},
                         {config_.padding, config_.padding});
    const bool top_down = std::find(top_down_levels_.begin(),
                                    top_down_levels_.end(),
                                    i) != top_down_levels_.end();
    if (top_down && prev.defined()) {
      const at::Tensor p = prev.to(at::kFloat);
      const std::vector<int64_t> size = {2 * p.size(2), 2 * p.size(3)};
      at::Tensor up;
      // scale_factor=2.0 (the output size follows from it; scales passed
      // through as the reference's F.interpolate does).
      if (config_.fpn_interp_model == "nearest") {
        up = at::upsample_nearest2d(p, size, 2.0, 2.0);
      } else if (config_.fpn_interp_model == "bilinear") {
        up = at::upsample_bilinear2d(p, size, /*align_corners=*/false, 2.0,
                                     2.0);
      } else {
        up = at::upsample_bicubic2d(p, size, /*align_corners=*/false, 2.0,
                                    2.0);
      }
      prev = lateral + up;
      if (config_.fuse_type == "avg") prev = prev / 2;
    } else {
      prev = lateral;
    }
    out.features[i] = prev;
    out.pos[i] = position_encoding_.Encode(prev.size(0), prev.size(2),
                                           prev.size(3), prev.device(),
                                           prev.scalar_type());
  }
  return out;
}

absl::StatusOr<FpnNeck::Output> FpnNeck::Forward(
    const std::vector<at::Tensor>& xs) const {
  if (xs.size() != conv_w_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("FpnNeck: expected ", conv_w_.size(), " levels, got ",
                     xs.size()));
  }
  for (size_t i = 0; i < xs.size(); ++i) {
    const int64_t c = config_.backbone_channel_list[xs.size() - 1 - i];
    if (!xs[i].defined() || xs[i].dim() != 4 || xs[i].size(1) != c) {
      return absl::InvalidArgumentError(absl::StrCat(
          "FpnNeck: level ", i, " must be [B, ", c, ", H, W]"));
    }
  }
  try {
    c10::InferenceMode guard;
    return ForwardUnchecked(xs);
  } catch (const c10::Error& e) {
    return TorchError("FpnNeck: ", e);
  }
}

}  // namespace sam2
