#include "server/proto_convert.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

PointPrompt ToPoint(const v1::Point& p) { return {p.x(), p.y(), p.label()}; }

BoxPrompt ToBox(const v1::Box& b) { return {b.x0(), b.y0(), b.x1(), b.y1()}; }

}  // namespace

absl::StatusOr<std::string> SessionIdFromName(absl::string_view name) {
  if (!absl::StartsWith(name, kSessionNamePrefix) ||
      name.size() == kSessionNamePrefix.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session names look like \"sessions/<id>\", got \"",
        name.substr(0, 100), "\""));
  }
  return std::string(name.substr(kSessionNamePrefix.size()));
}

std::string SessionName(absl::string_view id) {
  return absl::StrCat(kSessionNamePrefix, id);
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const timespec ts = absl::ToTimespec(t);
  out->set_seconds(ts.tv_sec);
  out->set_nanos(static_cast<int32_t>(ts.tv_nsec));
}

absl::StatusOr<MaskEncoding> ToMaskEncoding(v1::MaskFormat format) {
  switch (format) {
    case v1::MASK_FORMAT_UNSPECIFIED:
    case v1::MASK_FORMAT_RLE:
      return MaskEncoding::kRle;
    case v1::MASK_FORMAT_PNG:
      return MaskEncoding::kPng;
    case v1::MASK_FORMAT_LOGITS:
      return MaskEncoding::kLogits;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown mask_format ", static_cast<int>(format)));
  }
}

absl::StatusOr<EncodedMask> FromMaskProto(const v1::Mask& mask) {
  EncodedMask out;
  out.height = mask.height();
  out.width = mask.width();
  switch (mask.data_case()) {
    case v1::Mask::kRleCounts:
      out.encoding = MaskEncoding::kRle;
      out.data = mask.rle_counts();
      break;
    case v1::Mask::kPng:
      out.encoding = MaskEncoding::kPng;
      out.data = mask.png();
      break;
    case v1::Mask::kLogits:
      out.encoding = MaskEncoding::kLogits;
      out.data = mask.logits();
      break;
    default:
      return absl::InvalidArgumentError(
          "a mask needs rle_counts, png or logits");
  }
  if (out.height <= 0 || out.width <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a mask needs a positive height and width, got ", out.width, "x",
        out.height));
  }
  return out;
}

absl::StatusOr<SegmentInput> ToSegmentInput(const v1::SegmentRequest& request) {
  SegmentInput in;
  for (const v1::Point& p : request.points()) in.points.push_back(ToPoint(p));
  for (const v1::Box& b : request.boxes()) in.boxes.push_back(ToBox(b));
  switch (request.mask_input().source_case()) {
    case v1::MaskInput::kPrevious: {
      const v1::MaskReference& r = request.mask_input().previous();
      in.mask_reference =
          MaskReference{r.result_id(), r.prompt_index(), r.mask_index()};
      break;
    }
    case v1::MaskInput::kLogits: {
      absl::StatusOr<EncodedMask> m = FromMaskProto(request.mask_input().logits());
      if (!m.ok()) return m.status();
      in.mask_logits = *std::move(m);
      break;
    }
    default:
      break;
  }
  in.multimask_output =
      request.has_multimask_output() ? request.multimask_output() : true;
  absl::StatusOr<MaskEncoding> encoding = ToMaskEncoding(request.mask_format());
  if (!encoding.ok()) return encoding.status();
  in.encoding = *encoding;
  return in;
}

absl::StatusOr<AutomaticMaskGeneratorOptions> ToAmgOptions(
    const v1::GenerateMasksRequest& r) {
  AutomaticMaskGeneratorOptions o;
  if (r.has_points_per_side()) o.points_per_side = r.points_per_side();
  if (r.has_points_per_batch()) o.points_per_batch = r.points_per_batch();
  if (r.has_pred_iou_thresh()) o.pred_iou_thresh = r.pred_iou_thresh();
  if (r.has_stability_score_thresh()) {
    o.stability_score_thresh = r.stability_score_thresh();
  }
  if (r.has_stability_score_offset()) {
    o.stability_score_offset = r.stability_score_offset();
  }
  if (r.has_box_nms_thresh()) o.box_nms_thresh = r.box_nms_thresh();
  if (r.has_crop_n_layers()) o.crop_n_layers = r.crop_n_layers();
  if (r.has_crop_nms_thresh()) o.crop_nms_thresh = r.crop_nms_thresh();
  if (r.has_crop_overlap_ratio()) o.crop_overlap_ratio = r.crop_overlap_ratio();
  if (r.has_crop_n_points_downscale_factor()) {
    o.crop_n_points_downscale_factor = r.crop_n_points_downscale_factor();
  }
  if (r.has_min_mask_region_area()) {
    o.min_mask_region_area = r.min_mask_region_area();
  }
  if (r.has_use_m2m()) o.use_m2m = r.use_m2m();
  if (r.has_multimask_output()) o.multimask_output = r.multimask_output();
  if (absl::Status s = ValidateAmgOptions(o); !s.ok()) return s;
  return o;
}

absl::StatusOr<VideoPromptInput> ToVideoPromptInput(
    const v1::AddPromptsRequest& request) {
  VideoPromptInput in;
  in.frame_index = request.frame_index();
  in.object_id = request.object_id();
  for (const v1::Point& p : request.points()) in.points.push_back(ToPoint(p));
  if (request.has_box()) in.box = ToBox(request.box());
  if (request.has_mask()) {
    absl::StatusOr<EncodedMask> m = FromMaskProto(request.mask());
    if (!m.ok()) return m.status();
    in.mask = *std::move(m);
  }
  in.clear_old_points =
      request.has_clear_old_points() ? request.clear_old_points() : true;
  absl::StatusOr<MaskEncoding> encoding = ToMaskEncoding(request.mask_format());
  if (!encoding.ok()) return encoding.status();
  in.encoding = *encoding;
  return in;
}

absl::StatusOr<PropagationRequest> ToPropagationRequest(
    const v1::PropagateVideoRequest& request) {
  PropagationRequest out;
  if (request.has_start_frame()) out.start_frame = request.start_frame();
  if (request.has_max_frames()) {
    if (request.max_frames() < 0) {
      return absl::InvalidArgumentError("max_frames must be >= 0");
    }
    out.max_frames = request.max_frames();
  }
  switch (request.direction()) {
    case v1::DIRECTION_UNSPECIFIED:
    case v1::DIRECTION_FORWARD:
      out.direction = PropagationDirection::kForward;
      break;
    case v1::DIRECTION_REVERSE:
      out.direction = PropagationDirection::kReverse;
      break;
    case v1::DIRECTION_BOTH:
      out.direction = PropagationDirection::kBoth;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown direction ", static_cast<int>(request.direction())));
  }
  absl::StatusOr<MaskEncoding> encoding = ToMaskEncoding(request.mask_format());
  if (!encoding.ok()) return encoding.status();
  out.encoding = *encoding;
  return out;
}

void ToMaskProto(const EncodedMask& mask, v1::Mask* out) {
  out->set_height(static_cast<int32_t>(mask.height));
  out->set_width(static_cast<int32_t>(mask.width));
  switch (mask.encoding) {
    case MaskEncoding::kRle:
      out->set_rle_counts(mask.data);
      break;
    case MaskEncoding::kPng:
      out->set_png(mask.data);
      break;
    case MaskEncoding::kLogits:
      out->set_logits(mask.data);
      break;
  }
}

void ToFrameMasksProto(const FrameMasksOutput& frame, v1::FrameMasks* out) {
  out->set_frame_index(static_cast<int32_t>(frame.frame_index));
  for (const ObjectMaskOutput& o : frame.objects) {
    v1::ObjectMask* m = out->add_objects();
    m->set_object_id(o.object_id);
    ToMaskProto(o.mask, m->mutable_mask());
    m->set_object_score(o.object_score);
  }
}

void ToSegmentResponse(const SegmentOutput& output, v1::SegmentResponse* out) {
  for (const PromptMasks& p : output.prompts) {
    v1::PromptResult* r = out->add_prompts();
    for (const EncodedMask& m : p.masks) ToMaskProto(m, r->add_masks());
    for (float s : p.iou_scores) r->add_iou_scores(s);
  }
  out->set_result_id(output.result_id);
}

void ToGeneratedMaskProto(const GeneratedMaskOutput& mask,
                          v1::GeneratedMask* out) {
  ToMaskProto(mask.mask, out->mutable_mask());
  for (double v : mask.bbox) out->add_bbox(static_cast<float>(v));
  out->set_area(mask.area);
  out->set_predicted_iou(static_cast<float>(mask.predicted_iou));
  out->set_stability_score(static_cast<float>(mask.stability_score));
  out->set_point_x(static_cast<float>(mask.point[0]));
  out->set_point_y(static_cast<float>(mask.point[1]));
  for (int64_t v : mask.crop_box) out->add_crop_box(static_cast<int32_t>(v));
}

void ToVideoSessionProto(const VideoSessionInfo& info, v1::VideoSession* out) {
  out->set_num_frames(static_cast<int32_t>(info.num_frames));
  out->set_height(static_cast<int32_t>(info.height));
  out->set_width(static_cast<int32_t>(info.width));
  for (int64_t id : info.object_ids) out->add_object_ids(id);
  for (const auto& [id, frames] : info.prompted_frames) {
    v1::PromptedFrames* p = out->add_prompted_frames();
    p->set_object_id(id);
    for (int64_t f : frames) p->add_frame_indices(static_cast<int32_t>(f));
  }
  out->set_source(info.source == VideoSourceKind::kVideoFile ? "video_file"
                                                             : "frames");
}

}  // namespace sam2
