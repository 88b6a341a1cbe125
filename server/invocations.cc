// POST /invocations. See invocations.h.

#include "server/invocations.h"

#include <nlohmann/json.hpp>

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/status_util.h"

namespace sam2 {
namespace {

using Json = nlohmann::json;

constexpr char kMethod[] = "Invocations";
constexpr char kJsonType[] = "application/json";
// SageMaker's stateful-session headers (request name lower-cased, as
// HttpRequest keeps them).
constexpr char kSessionHeader[] = "x-amzn-sagemaker-session-id";
constexpr char kNewSessionHeader[] = "X-Amzn-SageMaker-New-Session-Id";
constexpr char kClosedSessionHeader[] = "X-Amzn-SageMaker-Closed-Session-Id";
constexpr char kNewSession[] = "NEW_SESSION";

// What one request asks for, parsed and checked before any model work.
struct Invocation {
  std::optional<std::string> image;  // encoded JPEG/PNG bytes
  SegmentInput segment;              // used when prompted
  bool prompted = false;             // points or boxes given
  AutomaticMaskGeneratorOptions automatic;
  bool close_session = false;
};

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

// A finite JSON number as float, else INVALID_ARGUMENT naming `what`.
absl::StatusOr<float> Number(const Json& value, absl::string_view what) {
  if (!value.is_number()) return Invalid(absl::StrCat(what, " must be a number"));
  return value.get<float>();
}

// [[x, y], ...] → points (labels filled in later).
absl::Status ParsePoints(const Json& points, const Json* labels,
                         SegmentInput& out) {
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
    absl::StatusOr<float> x = Number(p[0], absl::StrCat("points[", i, "][0]"));
    if (!x.ok()) return x.status();
    absl::StatusOr<float> y = Number(p[1], absl::StrCat("points[", i, "][1]"));
    if (!y.ok()) return y.status();
    if (!(*labels)[i].is_number_integer()) {
      return Invalid(absl::StrCat("point_labels[", i, "] must be 0 or 1"));
    }
    point.x = *x;
    point.y = *y;
    point.label = (*labels)[i].get<int>();
    out.points.push_back(point);
  }
  return absl::OkStatus();
}

absl::Status ParseBoxes(const Json& boxes, SegmentInput& out) {
  if (!boxes.is_array()) return Invalid("boxes must be a list of [x0, y0, x1, y1]");
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Json& b = boxes[i];
    if (!b.is_array() || b.size() != 4) {
      return Invalid(absl::StrCat("boxes[", i, "] must be [x0, y0, x1, y1]"));
    }
    float corners[4];
    for (int k = 0; k < 4; ++k) {
      absl::StatusOr<float> v = Number(b[k], absl::StrCat("boxes[", i, "][", k, "]"));
      if (!v.ok()) return v.status();
      corners[k] = *v;
    }
    out.boxes.push_back({corners[0], corners[1], corners[2], corners[3]});
  }
  return absl::OkStatus();
}

// The automatic mask generator options a request may set.
absl::Status ParseAutomatic(const Json& in, AutomaticMaskGeneratorOptions& out) {
  if (!in.is_object()) return Invalid("automatic must be an object");
  for (const auto& [key, value] : in.items()) {
    if (key == "points_per_side" || key == "points_per_batch") {
      if (!value.is_number_integer()) {
        return Invalid(absl::StrCat("automatic.", key, " must be an integer"));
      }
      if (key == "points_per_side") {
        out.points_per_side = value.get<int64_t>();
      } else {
        out.points_per_batch = value.get<int64_t>();
      }
    } else if (key == "pred_iou_thresh" || key == "stability_score_thresh" ||
               key == "box_nms_thresh") {
      absl::StatusOr<float> v = Number(value, absl::StrCat("automatic.", key));
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

absl::StatusOr<Invocation> ParseJson(const std::string& body) {
  const Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Invalid("the body is not a JSON object");
  }
  Invocation inv;
  const Json* labels = nullptr;
  if (auto it = json.find("point_labels"); it != json.end()) labels = &*it;
  for (const auto& [key, value] : json.items()) {
    absl::Status status;
    if (key == "image") {
      std::string bytes;
      if (!value.is_string() ||
          !absl::Base64Unescape(value.get<std::string>(), &bytes)) {
        return Invalid("image must be a base64 string of a JPEG or PNG file");
      }
      inv.image = std::move(bytes);
    } else if (key == "points") {
      status = ParsePoints(value, labels, inv.segment);
    } else if (key == "point_labels") {
      if (json.find("points") == json.end()) {
        return Invalid("point_labels without points");
      }
    } else if (key == "boxes") {
      status = ParseBoxes(value, inv.segment);
    } else if (key == "multimask_output") {
      if (!value.is_boolean()) return Invalid("multimask_output must be true or false");
      inv.segment.multimask_output = value.get<bool>();
    } else if (key == "automatic") {
      status = ParseAutomatic(value, inv.automatic);
    } else if (key == "close_session") {
      if (!value.is_boolean()) return Invalid("close_session must be true or false");
      inv.close_session = value.get<bool>();
    } else {
      return Invalid(absl::StrCat(
          "unknown field \"", absl::CHexEscape(key),
          "\" (image, points, point_labels, boxes, multimask_output, "
          "automatic, close_session)"));
    }
    if (!status.ok()) return status;
  }
  inv.prompted = !inv.segment.points.empty() || !inv.segment.boxes.empty();
  return inv;
}

// "image/png; charset=x" → "image/png".
std::string MediaType(const HttpRequest& request) {
  const std::string* type = request.Header("content-type");
  if (type == nullptr) return "";
  return absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(absl::string_view(*type).substr(
          0, type->find(';'))));
}

Json RleJson(const EncodedMask& mask) {
  return {{"size", {mask.height, mask.width}}, {"counts", mask.data}};
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse response;
  response.status = status;
  response.content_type = kJsonType;
  response.body = body.dump();
  return response;
}

HttpResponse ErrorResponse(const absl::Status& status) {
  return JsonResponse(HttpStatusOf(status.code()),
                      {{"error",
                        {{"code", std::string(StatusCodeName(status.code()))},
                         {"message", std::string(status.message())}}}});
}

class Invocations {
 public:
  explicit Invocations(InvocationsOptions options)
      : options_(std::move(options)) {}

  HttpResponse Handle(const HttpRequest& request) {
    const absl::Time start = absl::Now();
    Timing timing;
    HttpResponse response = Serve(request, start + options_.timeout, timing);
    if (options_.metrics != nullptr) {
      const absl::StatusCode code =
          response.status == 200 ? absl::StatusCode::kOk : timing.code;
      options_.metrics->RecordRequest(kMethod, StatusCodeName(code),
                                      timing.queue, timing.compute,
                                      absl::Now() - start);
    }
    return response;
  }

 private:
  struct Timing {
    std::optional<absl::Duration> queue;
    std::optional<absl::Duration> compute;
    absl::StatusCode code = absl::StatusCode::kInternal;
  };

  HttpResponse Fail(const absl::Status& status, Timing& timing) const {
    timing.code = status.code();
    return ErrorResponse(status);
  }

  HttpResponse Serve(const HttpRequest& request, absl::Time deadline,
                     Timing& timing) {
    const std::string type = MediaType(request);
    Invocation inv;
    if (type == kJsonType) {
      absl::StatusOr<Invocation> parsed = ParseJson(request.body);
      if (!parsed.ok()) return Fail(parsed.status(), timing);
      inv = *std::move(parsed);
    } else if (type == "image/jpeg" || type == "image/png" ||
               type == "application/x-image") {
      inv.image = request.body;
    } else {
      timing.code = absl::StatusCode::kInvalidArgument;
      HttpResponse response = ErrorResponse(Invalid(absl::StrCat(
          "unsupported Content-Type \"", absl::CHexEscape(type),
          "\": send application/json, image/jpeg or image/png")));
      response.status = 415;
      return response;
    }

    const std::string* session_header = request.Header(kSessionHeader);
    if (session_header == nullptr) return Stateless(inv, deadline, timing);
    if (*session_header == kNewSession) return Create(inv, deadline, timing);
    return Continue(*session_header, inv, deadline, timing);
  }

  // No session: embed, answer, free.
  HttpResponse Stateless(const Invocation& inv, absl::Time deadline,
                         Timing& timing) {
    if (inv.close_session) {
      return Fail(Invalid("close_session needs the X-Amzn-SageMaker-Session-Id "
                          "header of an open session"),
                  timing);
    }
    if (!inv.image) return Fail(Invalid("image is required without a session"), timing);
    Json result;
    absl::Status status = RunOnWorker(
        options_.pool->PickWorker(), deadline, timing, [&]() -> absl::Status {
          absl::StatusOr<std::unique_ptr<ImageSession>> session =
              ImageSession::Create(*options_.model, *inv.image, options_.limits,
                                   Observer(), options_.embedding_cache);
          if (!session.ok()) return session.status();
          absl::StatusOr<Json> out = Run(**session, inv, deadline);
          if (!out.ok()) return out.status();
          result = *std::move(out);
          return absl::OkStatus();
        });
    if (!status.ok()) return Fail(status, timing);
    return JsonResponse(200, result);
  }

  // NEW_SESSION: embed, keep, then answer the prompts if any.
  HttpResponse Create(const Invocation& inv, absl::Time deadline,
                      Timing& timing) {
    if (inv.close_session) {
      return Fail(Invalid("close_session with NEW_SESSION: nothing to close"),
                  timing);
    }
    if (!inv.image) return Fail(Invalid("NEW_SESSION needs an image"), timing);
    if (options_.draining && options_.draining()) {
      return Fail(absl::UnavailableError(
                      "the server is draining and takes no new sessions"),
                  timing);
    }
    if (absl::Status s = options_.store->CheckCapacity(); !s.ok()) {
      return Fail(s, timing);
    }
    Json result;
    std::string id;
    absl::Time expires;
    const int worker = options_.pool->PickWorker();
    absl::Status status =
        RunOnWorker(worker, deadline, timing, [&]() -> absl::Status {
          absl::StatusOr<std::unique_ptr<ImageSession>> created =
              ImageSession::Create(*options_.model, *inv.image,
                                   options_.limits, Observer(),
                                   options_.embedding_cache);
          if (!created.ok()) return created.status();
          std::shared_ptr<ImageSession> session = *std::move(created);
          absl::StatusOr<std::string> inserted =
              options_.store->Insert(session, worker);
          if (!inserted.ok()) return inserted.status();
          id = *inserted;
          if (inv.prompted) {
            absl::StatusOr<Json> out = RunExclusive(*session, inv, deadline);
            if (!out.ok()) return out.status();
            result = *std::move(out);
          } else {
            result = {{"image_size", {session->height(), session->width()}}};
          }
          expires = options_.store->ExpireTime(*session);
          return absl::OkStatus();
        });
    if (!status.ok()) {
      // A session inserted before a later step failed is not left behind.
      if (!id.empty()) options_.store->Remove(id).IgnoreError();
      return Fail(status, timing);
    }
    result["session_id"] = id;
    HttpResponse response = JsonResponse(200, result);
    response.headers.emplace_back(
        kNewSessionHeader,
        absl::StrCat(id, "; Expires=",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", expires,
                                      absl::UTCTimeZone())));
    return response;
  }

  // An open session: prompt it, or close it.
  HttpResponse Continue(const std::string& id, const Invocation& inv,
                        absl::Time deadline, Timing& timing) {
    if (inv.close_session) {
      if (inv.image || inv.prompted) {
        return Fail(Invalid("close_session takes no image or prompts"), timing);
      }
      if (absl::Status s = options_.store->Remove(id); !s.ok()) {
        return Fail(s, timing);
      }
      HttpResponse response = JsonResponse(200, {{"closed_session_id", id}});
      response.headers.emplace_back(kClosedSessionHeader, id);
      return response;
    }
    if (inv.image) {
      return Fail(Invalid("the session already holds its image; send prompts "
                          "only, or use NEW_SESSION for another image"),
                  timing);
    }
    absl::StatusOr<std::shared_ptr<Session>> found = options_.store->Lookup(id);
    if (!found.ok()) return Fail(found.status(), timing);
    std::shared_ptr<ImageSession> session =
        std::dynamic_pointer_cast<ImageSession>(*found);
    if (session == nullptr) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(
                      "session ", id, " is a video session, not an image one")),
                  timing);
    }
    Json result;
    absl::Status status = RunOnWorker(
        session->worker(), deadline, timing, [&]() -> absl::Status {
          absl::StatusOr<Json> out = RunExclusive(*session, inv, deadline);
          if (!out.ok()) return out.status();
          result = *std::move(out);
          return absl::OkStatus();
        });
    if (!status.ok()) return Fail(status, timing);
    return JsonResponse(200, result);
  }

  // Run on a session of the store, holding its exclusivity; its size is
  // re-accounted after, even when the run failed part-way.
  absl::StatusOr<Json> RunExclusive(ImageSession& session,
                                    const Invocation& inv, absl::Time deadline) {
    ScopedExclusive exclusive(session, kMethod);
    if (!exclusive.status().ok()) return exclusive.status();
    absl::StatusOr<Json> out = Run(session, inv, deadline);
    options_.store->UpdateBytes(session.id()).IgnoreError();
    return out;
  }

  // The prompts' masks, or automatic masks without prompts.
  absl::StatusOr<Json> Run(ImageSession& session, const Invocation& inv,
                           absl::Time deadline) {
    Json out = {{"image_size", {session.height(), session.width()}}};
    if (inv.prompted) {
      absl::StatusOr<SegmentOutput> segmented =
          session.Segment(*options_.model, inv.segment, Observer());
      if (!segmented.ok()) return segmented.status();
      Json predictions = Json::array();
      for (const PromptMasks& prompt : segmented->prompts) {
        Json masks = Json::array();
        for (const EncodedMask& mask : prompt.masks) masks.push_back(RleJson(mask));
        predictions.push_back({{"masks", masks}, {"scores", prompt.iou_scores}});
      }
      out["predictions"] = std::move(predictions);
      return out;
    }
    auto progress = [deadline](int64_t, int64_t) -> absl::Status {
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(
            "automatic masks did not finish within the invocation's time "
            "limit; use fewer points (automatic.points_per_side) or prompts");
      }
      return absl::OkStatus();
    };
    absl::StatusOr<std::vector<GeneratedMaskOutput>> generated =
        session.GenerateMasks(options_.model, inv.automatic, MaskEncoding::kRle,
                              progress, Observer());
    if (!generated.ok()) return generated.status();
    Json annotations = Json::array();
    for (const GeneratedMaskOutput& m : *generated) {
      annotations.push_back({{"segmentation", RleJson(m.mask)},
                             {"area", m.area},
                             {"bbox", m.bbox},
                             {"predicted_iou", m.predicted_iou},
                             {"stability_score", m.stability_score},
                             {"point_coords", Json::array({m.point})},
                             {"crop_box", m.crop_box}});
    }
    out["annotations"] = std::move(annotations);
    return out;
  }

  // Runs `body` on `worker` and waits for it. Work still queued at
  // `deadline` never runs (DEADLINE_EXCEEDED).
  absl::Status RunOnWorker(int worker, absl::Time deadline, Timing& timing,
                           const std::function<absl::Status()>& body) {
    absl::Notification done;
    absl::Status result;
    absl::Status submitted = options_.pool->Submit(
        worker, deadline,
        [&](const absl::Status& status, const TaskContext& task) {
          timing.queue = task.queued;
          if (status.ok()) {
            const absl::Time start = absl::Now();
            try {
              result = body();
            } catch (const std::exception& e) {
              result = absl::InternalError(
                  absl::StrCat("unexpected exception: ", e.what()));
            }
            timing.compute = absl::Now() - start;
          } else {
            result = status;
          }
          done.Notify();
        });
    if (!submitted.ok()) return submitted;
    done.WaitForNotification();
    return result;
  }

  StageObserver Observer() const { return StageRecorder(options_.metrics); }

  const InvocationsOptions options_;
};

}  // namespace

HttpRoute InvocationsRoute(InvocationsOptions options) {
  HttpRoute route;
  route.path = "/invocations";
  route.methods = {"POST"};
  route.max_body_bytes = options.max_body_bytes;
  auto invocations = std::make_shared<Invocations>(std::move(options));
  route.handler = [invocations](const HttpRequest& request) {
    return invocations->Handle(request);
  };
  return route;
}

}  // namespace sam2
