// POST /invocations. See invocations.h.

#include "server/invocations.h"

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
#include "absl/time/clock.h"
#include "server/http_json.h"
#include "server/session_lookup.h"
#include "server/status_util.h"
#include "server/worker_call.h"

namespace sam2 {
namespace {

constexpr char kMethod[] = "Invocations";
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

absl::StatusOr<Invocation> ParseJson(const std::string& body) {
  absl::StatusOr<Json> parsed = ParseJsonObject(body);
  if (!parsed.ok()) return parsed.status();
  const Json& json = *parsed;
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
      status = ParsePoints(value, labels, inv.segment.points);
    } else if (key == "point_labels") {
      if (json.find("points") == json.end()) {
        return Invalid("point_labels without points");
      }
    } else if (key == "boxes") {
      status = ParseBoxes(value, inv.segment.boxes);
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

class Invocations {
 public:
  explicit Invocations(InvocationsOptions options)
      : options_(std::move(options)) {}

  HttpResponse Handle(const HttpRequest& request) {
    const absl::Time start = absl::Now();
    Timing timing;
    // Held until the response is built (a slot of the tenant's quota).
    const absl::StatusOr<Admission> admitted =
        Admit(options_.authenticator, options_.tenant_in_flight,
              request.Header("authorization"));
    HttpResponse response =
        admitted.ok()
            ? Serve(request, admitted->owner, start + options_.timeout, timing)
            : Fail(admitted.status(), timing);
    if (options_.metrics != nullptr) {
      const absl::StatusCode code =
          response.status == 200 ? absl::StatusCode::kOk : timing.code;
      options_.metrics->RecordRequest(kMethod, StatusCodeName(code),
                                      timing.queue, timing.compute,
                                      absl::Now() - start,
                                      admitted.ok() ? admitted->tenant() : "");
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

  HttpResponse Serve(const HttpRequest& request, const SessionOwner& caller,
                     absl::Time deadline, Timing& timing) {
    const std::string type = MediaType(request);
    Invocation inv;
    if (type == kJsonContentType) {
      absl::StatusOr<Invocation> parsed = ParseJson(request.body);
      if (!parsed.ok()) return Fail(parsed.status(), timing);
      inv = *std::move(parsed);
    } else if (type == "image/jpeg" || type == "image/png" ||
               type == "application/x-image") {
      inv.image = request.body;
    } else {
      timing.code = absl::StatusCode::kInvalidArgument;
      return UnsupportedMediaTypeResponse(
          type, "application/json, image/jpeg or image/png");
    }

    const std::string* session_header = request.Header(kSessionHeader);
    if (session_header == nullptr) return Stateless(inv, deadline, timing);
    if (*session_header == kNewSession) {
      return Create(inv, caller, deadline, timing);
    }
    return Continue(*session_header, inv, caller, deadline, timing);
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
    const int worker = PickSessionWorker(*options_.pool, *options_.store);
    absl::Status status = RunOnWorker(
        worker, deadline, timing, [&]() -> absl::Status {
          absl::StatusOr<std::unique_ptr<ImageSession>> session =
              ImageSession::Create(*options_.workers.at(worker).image,
                                   *inv.image, options_.limits, Observer(),
                                   options_.embedding_cache);
          if (!session.ok()) return session.status();
          absl::StatusOr<Json> out = Run(**session, worker, inv, deadline);
          if (!out.ok()) return out.status();
          result = *std::move(out);
          return absl::OkStatus();
        });
    if (!status.ok()) return Fail(status, timing);
    return JsonResponse(200, result);
  }

  // NEW_SESSION: embed, keep, then answer the prompts if any.
  HttpResponse Create(const Invocation& inv, const SessionOwner& caller,
                      absl::Time deadline, Timing& timing) {
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
    if (absl::Status s = options_.store->CheckCapacity(caller); !s.ok()) {
      return Fail(s, timing);
    }
    Json result;
    std::string id;
    absl::Time expires;
    const int worker = PickSessionWorker(*options_.pool, *options_.store);
    absl::Status status =
        RunOnWorker(worker, deadline, timing, [&]() -> absl::Status {
          absl::StatusOr<std::unique_ptr<ImageSession>> created =
              ImageSession::Create(*options_.workers.at(worker).image,
                                   *inv.image, options_.limits, Observer(),
                                   options_.embedding_cache);
          if (!created.ok()) return created.status();
          std::shared_ptr<ImageSession> session = *std::move(created);
          absl::StatusOr<std::string> inserted =
              options_.store->Insert(session, worker, caller);
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
      if (!id.empty()) options_.store->Remove(id, caller.tenant).IgnoreError();
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
                        const SessionOwner& caller, absl::Time deadline,
                        Timing& timing) {
    if (inv.close_session) {
      if (inv.image || inv.prompted) {
        return Fail(Invalid("close_session takes no image or prompts"), timing);
      }
      if (absl::Status s = options_.store->Remove(id, caller.tenant); !s.ok()) {
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
    absl::StatusOr<std::shared_ptr<ImageSession>> found =
        LookupImageSession(*options_.store, id, caller.tenant);
    if (!found.ok()) return Fail(found.status(), timing);
    std::shared_ptr<ImageSession> session = *std::move(found);
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
    absl::StatusOr<Json> out = Run(session, session.worker(), inv, deadline);
    options_.store->UpdateBytes(session.id()).IgnoreError();
    return out;
  }

  // The prompts' masks, or automatic masks without prompts, with `worker`'s
  // model (the session may be a stateless one, never pinned).
  absl::StatusOr<Json> Run(ImageSession& session, int worker,
                           const Invocation& inv, absl::Time deadline) {
    const std::shared_ptr<const Sam2Model>& model =
        options_.workers.at(worker).image;
    Json out = {{"image_size", {session.height(), session.width()}}};
    if (inv.prompted) {
      absl::StatusOr<SegmentOutput> segmented =
          session.Segment(*model, inv.segment, Observer());
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
        session.GenerateMasks(model, inv.automatic, MaskEncoding::kRle,
                              progress, Observer());
    if (!generated.ok()) return generated.status();
    Json annotations = Json::array();
    for (const GeneratedMaskOutput& m : *generated) {
      annotations.push_back(AnnotationJson(m));
    }
    out["annotations"] = std::move(annotations);
    return out;
  }

  // Runs `body` on `worker` and waits for it (worker_call.h).
  absl::Status RunOnWorker(int worker, absl::Time deadline, Timing& timing,
                           const std::function<absl::Status()>& body) {
    WorkerCallTiming call;
    absl::Status status =
        sam2::RunOnWorker(*options_.pool, worker, deadline, body, &call);
    timing.queue = call.queue;
    timing.compute = call.compute;
    return status;
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
