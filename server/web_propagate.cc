// The web page's propagation stream. See web_propagate.h.

#include "server/web_propagate.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/http_json.h"
#include "server/session_lookup.h"
#include "server/status_util.h"
#include "server/worker_call.h"

namespace sam2 {
namespace {

constexpr char kMethod[] = "web.VideoPropagate";

absl::StatusOr<PropagationRequest> ParseRequest(const Json& json,
                                                std::string& session) {
  if (absl::Status s = OnlyFields(
          json, {"session", "start_frame", "max_frames", "direction"});
      !s.ok()) {
    return s;
  }
  auto id = json.find("session");
  if (id == json.end() || !id->is_string()) {
    return absl::InvalidArgumentError(
        "session must be the id a create call returned");
  }
  session = id->get<std::string>();
  PropagationRequest request;
  for (auto [name, field] : {std::pair("start_frame", &request.start_frame),
                             std::pair("max_frames", &request.max_frames)}) {
    auto it = json.find(name);
    if (it == json.end()) continue;
    absl::StatusOr<int64_t> n = JsonInteger(*it, name);
    if (!n.ok()) return n.status();
    *field = *n;
  }
  if (auto it = json.find("direction"); it != json.end()) {
    const std::string direction = it->is_string() ? it->get<std::string>() : "";
    if (direction == "forward") {
      request.direction = PropagationDirection::kForward;
    } else if (direction == "backward") {
      request.direction = PropagationDirection::kReverse;
    } else if (direction == "both") {
      request.direction = PropagationDirection::kBoth;
    } else {
      return absl::InvalidArgumentError(
          "direction must be \"forward\", \"backward\" or \"both\"");
    }
  }
  return request;
}

// One propagation: begun on the worker by Begin, streamed by Stream, and
// ended (the plan forgotten, the size re-read, the session given back) by
// the destructor, whether or not the stream ever ran.
class Propagation {
 public:
  // `admission` (the caller's tenant and in-flight slot) is held until the
  // propagation ends.
  Propagation(const WebApiOptions& options,
              std::shared_ptr<VideoSession> session, absl::Time start,
              Admission admission)
      : options_(options),
        session_(std::move(session)),
        start_(start),
        admission_(std::move(admission)) {}

  ~Propagation() {
    if (began_) {
      auto end = [this]() -> absl::Status {
        session_->EndPropagation();
        options_.store->UpdateBytes(session_->id()).IgnoreError();
        session_->EndExclusive();
        return absl::OkStatus();
      };
      // On the worker, like every other touch of the state; inline when the
      // pool takes no more work (we still hold the exclusivity).
      if (!RunOnWorker(*options_.pool, session_->worker(),
                       absl::InfiniteFuture(), end, nullptr,
                       /*continuation=*/true)
               .ok()) {
        end().IgnoreError();
      }
    }
    if (options_.metrics != nullptr) {
      options_.metrics->RecordRequest(kMethod, StatusCodeName(final_.code()),
                                      timing_.queue, timing_.compute,
                                      absl::Now() - start_,
                                      admission_.tenant());
    }
  }

  // Takes the session and plans the frames; an error is answered as an
  // ordinary JSON error.
  absl::Status Begin(const PropagationRequest& request) {
    absl::Status status = RunOnWorker(
        *options_.pool, session_->worker(), Deadline(),
        [&]() -> absl::Status {
          if (absl::Status s = session_->BeginExclusive("PropagateVideo");
              !s.ok()) {
            return s;
          }
          began_ = true;
          absl::StatusOr<int64_t> total = session_->BeginPropagation(request);
          if (!total.ok()) return total.status();
          total_ = *total;
          return absl::OkStatus();
        },
        &timing_);
    final_ = status;
    return status;
  }

  void Stream(HttpStreamWriter& out) {
    int64_t done = 0;
    absl::Status status;
    bool client_gone = false;
    while (session_->HasNextFrame()) {
      if (out.ClientGone()) {
        client_gone = true;
        break;
      }
      std::optional<FrameMasksOutput> frame;
      WorkerCallTiming step;
      status = RunOnWorker(
          *options_.pool, session_->worker(), Deadline(),
          [&]() -> absl::Status {
            absl::StatusOr<FrameMasksOutput> next =
                session_->PropagateNext(StageRecorder(options_.metrics));
            if (!next.ok()) return next.status();
            frame = *std::move(next);
            return absl::OkStatus();
          },
          &step, /*continuation=*/true);
      if (step.compute) {
        timing_.compute = timing_.compute.value_or(absl::ZeroDuration()) +
                          *step.compute;
      }
      if (!status.ok()) break;
      ++done;
      if (options_.metrics != nullptr) {
        if (done == 1) options_.metrics->RecordFirstMask(absl::Now() - start_);
        options_.metrics->RecordStreamFrame();
      }
      const Json line = {{"frame", FrameMasksJson(*frame)},
                         {"frames_done", done},
                         {"frames_total", total_}};
      if (!out.Write(absl::StrCat(line.dump(), "\n"))) {
        client_gone = true;
        break;
      }
    }
    if (client_gone) {
      final_ = absl::CancelledError("the client went away");
      return;
    }
    final_ = status;
    const Json last = status.ok()
                          ? Json{{"done", true}, {"frames_done", done}}
                          : ErrorJson(status);
    out.Write(absl::StrCat(
        last.dump(-1, ' ', false, Json::error_handler_t::replace), "\n"));
  }

 private:
  absl::Time Deadline() const { return absl::Now() + options_.task_timeout; }

  const WebApiOptions& options_;
  const std::shared_ptr<VideoSession> session_;
  const absl::Time start_;
  const Admission admission_;
  bool began_ = false;
  int64_t total_ = 0;
  WorkerCallTiming timing_;
  absl::Status final_;
};

}  // namespace

HttpRoute WebPropagateRoute(const WebApiOptions& options) {
  auto shared = std::make_shared<const WebApiOptions>(options);
  HttpRoute route;
  route.path = "/api/v1/video/propagate";
  route.methods = {"POST"};
  route.max_in_flight = options.max_streams;
  route.limit_response = JsonLimitResponse;
  route.handler = [shared](const HttpRequest& request) -> HttpResponse {
    const WebApiOptions& o = *shared;
    const absl::Time start = absl::Now();
    absl::StatusOr<Admission> admitted =
        Admit(o.authenticator, o.tenant_in_flight,
              request.Header("authorization"));
    auto fail = [&](const absl::Status& status) {
      if (o.metrics != nullptr) {
        o.metrics->RecordRequest(kMethod, StatusCodeName(status.code()),
                                 std::nullopt, std::nullopt,
                                 absl::Now() - start,
                                 admitted.ok() ? admitted->tenant() : "");
      }
      return ErrorResponse(status);
    };
    if (!admitted.ok()) return fail(admitted.status());
    if (MediaType(request) != kJsonContentType) {
      return UnsupportedMediaTypeResponse(MediaType(request), kJsonContentType);
    }
    absl::StatusOr<Json> json = ParseJsonObject(request.body);
    if (!json.ok()) return fail(json.status());
    std::string id;
    absl::StatusOr<PropagationRequest> parsed = ParseRequest(*json, id);
    if (!parsed.ok()) return fail(parsed.status());
    absl::StatusOr<std::shared_ptr<VideoSession>> session =
        LookupVideoSession(*o.store, id, admitted->tenant());
    if (!session.ok()) return fail(session.status());
    // Shared with the stream; keeps the options alive as long as it runs.
    auto propagation = std::shared_ptr<Propagation>(
        new Propagation(o, *std::move(session), start, *std::move(admitted)),
        [shared](Propagation* p) { delete p; });
    if (absl::Status s = propagation->Begin(*parsed); !s.ok()) {
      return ErrorResponse(s);  // recorded by the destructor
    }
    HttpResponse response;
    response.content_type = kNdjsonContentType;
    response.stream = [propagation](HttpStreamWriter& out) {
      propagation->Stream(out);
    };
    return response;
  };
  return route;
}

}  // namespace sam2
