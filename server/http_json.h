// JSON over the HTTP side: the pieces every JSON route shares (SageMaker's
// /invocations and the web page's /api/v1/... routes) — prompt parsing into
// the session layer's plain types, masks and automatic-mask records as JSON,
// JSON responses, and the one error body {"error": {"code": "NOT_FOUND",
// "message": "..."}} whose HTTP status is HttpStatusOf's.
//
// Parsing never trusts the client: every value is type-checked, and a
// mistake is INVALID_ARGUMENT naming the field (e.g. "points[2][0] must be a
// number"). Prompt semantics (coordinates on the image, labels) are the
// session layer's to check.
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_SERVER_HTTP_JSON_H_
#define SAM2_SERVER_HTTP_JSON_H_

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/automatic_mask_generator.h"
#include "server/http_server.h"
#include "session/image_session.h"
#include "session/mask_encoding.h"
#include "session/video_session.h"

namespace sam2 {

using Json = nlohmann::json;

inline constexpr char kJsonContentType[] = "application/json";

// The request body as a JSON object, else INVALID_ARGUMENT "the body is not
// a JSON object".
absl::StatusOr<Json> ParseJsonObject(const std::string& body);

// INVALID_ARGUMENT naming the first key of `json` not in `known` (and
// listing those), so that a misspelt field is an error, not ignored.
absl::Status OnlyFields(const Json& json,
                        std::initializer_list<absl::string_view> known);

// A finite JSON number as float, else INVALID_ARGUMENT naming `what`.
absl::StatusOr<float> JsonNumber(const Json& value, absl::string_view what);

// An integer, else INVALID_ARGUMENT naming `what`.
absl::StatusOr<int64_t> JsonInteger(const Json& value, absl::string_view what);

// [[x, y], ...] with `labels` [1, 0, ...] (one per point; may be null only
// when `points` is) appended to `out`.
absl::Status ParsePoints(const Json& points, const Json* labels,
                         std::vector<PointPrompt>& out);

// [x0, y0, x1, y1]; `what` names it in errors.
absl::StatusOr<BoxPrompt> ParseBox(const Json& box, absl::string_view what);

// [[x0, y0, x1, y1], ...] appended to `out`.
absl::Status ParseBoxes(const Json& boxes, std::vector<BoxPrompt>& out);

// The automatic mask generator options a request may set (points_per_side,
// points_per_batch, pred_iou_thresh, stability_score_thresh,
// box_nms_thresh), validated.
absl::Status ParseAutomatic(const Json& in, AutomaticMaskGeneratorOptions& out);

// A kRle mask as COCO RLE: {"size": [h, w], "counts": "..."}.
Json RleJson(const EncodedMask& mask);

// One frame's masks: {frame_index, objects: [{object_id, mask (RLE),
// object_score}]}.
Json FrameMasksJson(const FrameMasksOutput& frame);

// One automatic mask as a COCO-style record (segmentation, area, bbox,
// predicted_iou, stability_score, point_coords, crop_box).
Json AnnotationJson(const GeneratedMaskOutput& mask);

// The media type of the request ("image/png; charset=x" → "image/png"),
// lower case; empty without a Content-Type.
std::string MediaType(const HttpRequest& request);

HttpResponse JsonResponse(int status, const Json& body);

// 415 with an INVALID_ARGUMENT error body naming `type` and what the route
// accepts (e.g. "application/json, image/jpeg or image/png").
HttpResponse UnsupportedMediaTypeResponse(absl::string_view type,
                                          absl::string_view accepted);

// HttpRoute::limit_response of a JSON route: the server's 413 and 429 with
// the JSON error body (INVALID_ARGUMENT for a size limit, as DESIGN.md's
// table says; RESOURCE_EXHAUSTED for 429, load).
HttpResponse JsonLimitResponse(int status, const std::string& message);

// HttpStatusOf(status) with {"error": {"code": ..., "message": ...}}.
HttpResponse ErrorResponse(const absl::Status& status);

// The error body alone (also a stream's last line).
Json ErrorJson(const absl::Status& status);

}  // namespace sam2

#endif  // SAM2_SERVER_HTTP_JSON_H_
