// JSON helpers of the HTTP side. See http_json.h.

#include "server/http_json.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/status_util.h"

namespace sam2 {
namespace {

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

}  // namespace

absl::StatusOr<Json> ParseJsonObject(const std::string& body) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Invalid("the body is not a JSON object");
  }
  return json;
}

absl::Status OnlyFields(const Json& json,
                        std::initializer_list<absl::string_view> known) {
  for (const auto& [key, value] : json.items()) {
    bool found = false;
    for (absl::string_view k : known) found = found || key == k;
    if (!found) {
      return Invalid(absl::StrCat("unknown field \"", absl::CHexEscape(key),
                                  "\" (", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<float> JsonNumber(const Json& value, absl::string_view what) {
  if (!value.is_number()) return Invalid(absl::StrCat(what, " must be a number"));
  return value.get<float>();
}

absl::StatusOr<int64_t> JsonInteger(const Json& value, absl::string_view what) {
  if (!value.is_number_integer()) {
    return Invalid(absl::StrCat(what, " must be an integer"));
  }
  return value.get<int64_t>();
}

absl::Status ParsePoints(const Json& points, const Json* labels,
                         std::vector<PointPrompt>& out) {
  if (!points.is_array()) return Invalid("points must be a list of [x, y]");
  if (labels == nullptr || !labels->is_array() ||
      labels->size() != points.size()) {
    return Invalid(
        "point_labels must be a list with one label (1 foreground, 0 "
        "background) per point");
  }
  for (size_t i = 0; i < points.size(); ++i) {
    const Json& p = points[i];
    if (!p.is_array() || p.size() != 2) {
      return Invalid(absl::StrCat("points[", i, "] must be [x, y]"));
    }
    PointPrompt point;
    absl::StatusOr<float> x = JsonNumber(p[0], absl::StrCat("points[", i, "][0]"));
    if (!x.ok()) return x.status();
    absl::StatusOr<float> y = JsonNumber(p[1], absl::StrCat("points[", i, "][1]"));
    if (!y.ok()) return y.status();
    if (!(*labels)[i].is_number_integer()) {
      return Invalid(absl::StrCat("point_labels[", i, "] must be 0 or 1"));
    }
    point.x = *x;
    point.y = *y;
    point.label = (*labels)[i].get<int>();
    out.push_back(point);
  }
  return absl::OkStatus();
}

absl::StatusOr<BoxPrompt> ParseBox(const Json& box, absl::string_view what) {
  if (!box.is_array() || box.size() != 4) {
    return Invalid(absl::StrCat(what, " must be [x0, y0, x1, y1]"));
  }
  float corners[4];
  for (int k = 0; k < 4; ++k) {
    absl::StatusOr<float> v = JsonNumber(box[k], absl::StrCat(what, "[", k, "]"));
    if (!v.ok()) return v.status();
    corners[k] = *v;
  }
  return BoxPrompt{corners[0], corners[1], corners[2], corners[3]};
}

absl::Status ParseBoxes(const Json& boxes, std::vector<BoxPrompt>& out) {
  if (!boxes.is_array()) return Invalid("boxes must be a list of [x0, y0, x1, y1]");
  for (size_t i = 0; i < boxes.size(); ++i) {
    absl::StatusOr<BoxPrompt> box = ParseBox(boxes[i], absl::StrCat("boxes[", i, "]"));
    if (!box.ok()) return box.status();
    out.push_back(*box);
  }
  return absl::OkStatus();
}

absl::Status ParseAutomatic(const Json& in, AutomaticMaskGeneratorOptions& out) {
  if (!in.is_object()) return Invalid("automatic must be an object");
  for (const auto& [key, value] : in.items()) {
    if (key == "points_per_side" || key == "points_per_batch") {
      absl::StatusOr<int64_t> n = JsonInteger(value, absl::StrCat("automatic.", key));
      if (!n.ok()) return n.status();
      if (key == "points_per_side") {
        out.points_per_side = *n;
      } else {
        out.points_per_batch = *n;
      }
    } else if (key == "pred_iou_thresh" || key == "stability_score_thresh" ||
               key == "box_nms_thresh") {
      absl::StatusOr<float> v = JsonNumber(value, absl::StrCat("automatic.", key));
      if (!v.ok()) return v.status();
      if (key == "pred_iou_thresh") {
        out.pred_iou_thresh = *v;
      } else if (key == "stability_score_thresh") {
        out.stability_score_thresh = *v;
      } else {
        out.box_nms_thresh = *v;
      }
    } else {
      return Invalid(absl::StrCat(
          "unknown automatic option \"", absl::CHexEscape(key),
          "\" (points_per_side, points_per_batch, pred_iou_thresh, "
          "stability_score_thresh, box_nms_thresh)"));
    }
  }
  return ValidateAmgOptions(out);
}

Json RleJson(const EncodedMask& mask) {
  return {{"size", {mask.height, mask.width}}, {"counts", mask.data}};
}

Json FrameMasksJson(const FrameMasksOutput& frame) {
  Json objects = Json::array();
  for (const ObjectMaskOutput& object : frame.objects) {
    objects.push_back({{"object_id", object.object_id},
                       {"mask", RleJson(object.mask)},
                       {"object_score", object.object_score}});
  }
  return {{"frame_index", frame.frame_index}, {"objects", std::move(objects)}};
}

Json AnnotationJson(const GeneratedMaskOutput& m) {
  return {{"segmentation", RleJson(m.mask)},
          {"area", m.area},
          {"bbox", m.bbox},
          {"predicted_iou", m.predicted_iou},
          {"stability_score", m.stability_score},
          {"point_coords", Json::array({m.point})},
          {"crop_box", m.crop_box}};
}

std::string MediaType(const HttpRequest& request) {
  const std::string* type = request.Header("content-type");
  if (type == nullptr) return "";
  return absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(absl::string_view(*type).substr(
          0, type->find(';'))));
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse response;
  response.status = status;
  response.content_type = kJsonContentType;
  // Invalid UTF-8 (from a client's bytes in a message) is replaced, never
  // thrown.
  response.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return response;
}

Json ErrorJson(const absl::Status& status) {
  return {{"error",
           {{"code", std::string(StatusCodeName(status.code()))},
            {"message", std::string(status.message())}}}};
}

HttpResponse UnsupportedMediaTypeResponse(absl::string_view type,
                                          absl::string_view accepted) {
  HttpResponse response = ErrorResponse(Invalid(
      absl::StrCat("unsupported Content-Type \"", absl::CHexEscape(type),
                   "\": send ", accepted)));
  response.status = 415;
  return response;
}

HttpResponse JsonLimitResponse(int status, const std::string& message) {
  HttpResponse response =
      ErrorResponse(status == 429   ? absl::ResourceExhaustedError(message)
                    : status == 401 ? absl::UnauthenticatedError(message)
                                    : absl::InvalidArgumentError(message));
  response.status = status;
  return response;
}

HttpResponse ErrorResponse(const absl::Status& status) {
  HttpResponse response =
      JsonResponse(HttpStatusOf(status.code()), ErrorJson(status));
  // RFC 6750: a 401 names the scheme the client should use.
  if (response.status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return response;
}

}  // namespace sam2
