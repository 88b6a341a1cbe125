// The web page's JSON API. See web_api.h.

#include "server/web_api.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/http_json.h"
#include "server/session_lookup.h"
#include "server/status_util.h"
#include "server/web_propagate.h"
#include "server/worker_call.h"

namespace sam2 {
namespace {

// The header that names the session of a request whose body is a file.
constexpr char kSessionHeader[] = "x-sam2-session";
constexpr char kImageTypes[] = "image/jpeg or image/png";

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool IsImageType(absl::string_view type) {
  return type == "image/jpeg" || type == "image/png";
}

// The "session" field.
absl::StatusOr<std::string> SessionField(const Json& json) {
  auto it = json.find("session");
  if (it == json.end() || !it->is_string()) {
    return Invalid("session must be the id a create call returned");
  }
  return it->get<std::string>();
}

// The body as a JSON object with only `fields`, one of them a string
// "session" (the session's id).
absl::StatusOr<Json> ParseSessionRequest(
    const HttpRequest& request, std::initializer_list<absl::string_view> fields) {
  absl::StatusOr<Json> json = ParseJsonObject(request.body);
  if (!json.ok()) return json.status();
  if (absl::Status s = OnlyFields(*json, fields); !s.ok()) return s;
  if (absl::StatusOr<std::string> id = SessionField(*json); !id.ok()) {
    return id.status();
  }
  return json;
}

// The optional "points" field with its "point_labels", appended to `out`.
absl::Status PointsField(const Json& json, std::vector<PointPrompt>& out) {
  auto points = json.find("points");
  if (points == json.end()) {
    return json.contains("point_labels") ? Invalid("point_labels without points")
                                         : absl::OkStatus();
  }
  auto labels = json.find("point_labels");
  return ParsePoints(*points, labels == json.end() ? nullptr : &*labels, out);
}

// An optional integer field; `fallback` when absent.
absl::StatusOr<int64_t> IntField(const Json& json, const char* name,
                                 std::optional<int64_t> fallback) {
  auto it = json.find(name);
  if (it == json.end()) {
    if (fallback) return *fallback;
    return Invalid(absl::StrCat(name, " is required"));
  }
  return JsonInteger(*it, name);
}

// `bytes` in a new file under `dir` (empty: $TMPDIR or /tmp); its path.
absl::StatusOr<std::string> WriteUploadFile(std::string dir,
                                            const std::string& bytes) {
  if (dir.empty()) {
    const char* tmp = getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string path = absl::StrCat(dir, "/sam2-upload-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create an upload file in ", dir));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = strerror(errno);
      close(fd);
      unlink(path.c_str());
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot store the upload (", why, ")"));
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return path;
}

class WebApi {
 public:
  explicit WebApi(const WebApiOptions& options) : options_(options) {}

  // What a handler produces: a body, or the status to answer with.
  using Result = absl::StatusOr<Json>;
  using Handler = Result (WebApi::*)(const HttpRequest&, const SessionOwner&,
                                     WorkerCallTiming&);

  // Runs `handler`, records the request's metrics as "web.<name>".
  HttpResponse Serve(absl::string_view name, Handler handler,
                     const HttpRequest& request) {
    const absl::Time start = absl::Now();
    WorkerCallTiming timing;
    HttpResponse response;
    absl::StatusCode code = absl::StatusCode::kOk;
    // Held until the response is built (a slot of the tenant's quota).
    const absl::StatusOr<Admission> admitted = AdmitCall(request);
    if (!admitted.ok()) {
      code = admitted.status().code();
      response = ErrorResponse(admitted.status());
    } else if (const std::string accepted = UnacceptedMediaType(name, request);
               !accepted.empty()) {
      code = absl::StatusCode::kInvalidArgument;
      response = UnsupportedMediaTypeResponse(MediaType(request), accepted);
    } else {
      Result result = (this->*handler)(request, admitted->owner, timing);
      code = result.status().code();
      response = result.ok() ? JsonResponse(200, *result)
                             : ErrorResponse(result.status());
    }
    if (options_.metrics != nullptr) {
      options_.metrics->RecordRequest(
          absl::StrCat("web.", name), StatusCodeName(code), timing.queue,
          timing.compute, absl::Now() - start,
          admitted.ok() ? admitted->tenant() : "");
    }
    return response;
  }

  // GET /api/v1/video/frame?session=ID&index=N: the frame as JPEG.
  HttpResponse VideoFrame(const HttpRequest& request) {
    const absl::Time start = absl::Now();
    WorkerCallTiming timing;
    const absl::StatusOr<Admission> admitted = AdmitCall(request);
    absl::StatusOr<std::string> jpeg =
        admitted.ok() ? FrameJpeg(request, admitted->tenant(), timing)
                      : admitted.status();
    if (options_.metrics != nullptr) {
      options_.metrics->RecordRequest(
          "web.VideoFrame", StatusCodeName(jpeg.status().code()), timing.queue,
          timing.compute, absl::Now() - start,
          admitted.ok() ? admitted->tenant() : "");
    }
    if (!jpeg.ok()) return ErrorResponse(jpeg.status());
    HttpResponse response;
    response.content_type = "image/jpeg";
    response.body = *std::move(jpeg);
    return response;
  }

  HttpResponse Info(const HttpRequest&) {
    HttpResponse response;
    response.content_type = kJsonContentType;
    response.body = options_.info_json;
    return response;
  }

  Result ImageCreate(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    if (absl::Status s = CheckAcceptingSessions(caller); !s.ok()) return s;
    const int worker = PickSessionWorker(*options_.pool, *options_.store);
    Json out;
    absl::Status status = RunOnWorker(
        *options_.pool, worker, Deadline(),
        [&]() -> absl::Status {
          absl::StatusOr<std::unique_ptr<ImageSession>> created =
              ImageSession::Create(*options_.workers.at(worker).image,
                                   request.body, options_.limits.image,
                                   Observer(), options_.embedding_cache);
          if (!created.ok()) return created.status();
          std::shared_ptr<ImageSession> session = *std::move(created);
          absl::StatusOr<std::string> id =
              options_.store->Insert(session, worker, caller);
          if (!id.ok()) return id.status();
          out = {{"session", *id},
                 {"height", session->height()},
                 {"width", session->width()},
                 {"expire_time", FormatUtc(options_.store->ExpireTime(*session))}};
          return absl::OkStatus();
        },
        &timing);
    if (!status.ok()) return status;
    return out;
  }

  Result ImageSegment(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    absl::StatusOr<Json> json = ParseSessionRequest(
        request, {"session", "points", "point_labels", "boxes",
                  "multimask_output", "mask_input"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    SegmentInput input;
    if (absl::Status s = PointsField(*json, input.points); !s.ok()) return s;
    if (auto it = json->find("boxes"); it != json->end()) {
      if (absl::Status s = ParseBoxes(*it, input.boxes); !s.ok()) return s;
    }
    if (auto it = json->find("multimask_output"); it != json->end()) {
      if (!it->is_boolean()) return Invalid("multimask_output must be true or false");
      input.multimask_output = it->get<bool>();
    }
    if (auto it = json->find("mask_input"); it != json->end()) {
      if (!it->is_object()) {
        return Invalid("mask_input must be {result_id, mask_index}");
      }
      absl::StatusOr<int64_t> result_id = IntField(*it, "result_id", std::nullopt);
      if (!result_id.ok()) return result_id.status();
      absl::StatusOr<int64_t> mask_index = IntField(*it, "mask_index", 0);
      if (!mask_index.ok()) return mask_index.status();
      input.mask_reference =
          MaskReference{*result_id, 0, static_cast<int>(*mask_index)};
    }
    absl::StatusOr<std::shared_ptr<ImageSession>> session =
        LookupImageSession(*options_.store, id, caller.tenant);
    if (!session.ok()) return session.status();
    Json out;
    absl::Status status = RunExclusiveOnWorker(
        *options_.pool, *options_.store, **session, "Segment", Deadline(),
        [&]() -> absl::Status {
          absl::StatusOr<SegmentOutput> segmented =
              (*session)->Segment(
                  *options_.workers.at((*session)->worker()).image, input,
                  Observer());
          if (!segmented.ok()) return segmented.status();
          Json prompts = Json::array();
          for (const PromptMasks& prompt : segmented->prompts) {
            Json masks = Json::array();
            for (const EncodedMask& m : prompt.masks) masks.push_back(RleJson(m));
            prompts.push_back({{"masks", masks}, {"scores", prompt.iou_scores}});
          }
          out = {{"result_id", segmented->result_id},
                 {"prompts", std::move(prompts)}};
          return absl::OkStatus();
        },
        &timing);
    if (!status.ok()) return status;
    return out;
  }

  Result ImageGenerate(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    absl::StatusOr<Json> json = ParseSessionRequest(
        request, {"session", "automatic"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    AutomaticMaskGeneratorOptions automatic;
    if (auto it = json->find("automatic"); it != json->end()) {
      if (absl::Status s = ParseAutomatic(*it, automatic); !s.ok()) return s;
    }
    absl::StatusOr<std::shared_ptr<ImageSession>> session =
        LookupImageSession(*options_.store, id, caller.tenant);
    if (!session.ok()) return session.status();
    Json annotations = Json::array();
    absl::Status status = RunExclusiveOnWorker(
        *options_.pool, *options_.store, **session, "GenerateMasks", Deadline(),
        [&]() -> absl::Status {
          absl::StatusOr<std::vector<GeneratedMaskOutput>> generated =
              (*session)->GenerateMasks(
                  options_.workers.at((*session)->worker()).image, automatic,
                                        MaskEncoding::kRle, nullptr, Observer());
          if (!generated.ok()) return generated.status();
          for (const GeneratedMaskOutput& m : *generated) {
            annotations.push_back(AnnotationJson(m));
          }
          return absl::OkStatus();
        },
        &timing);
    if (!status.ok()) return status;
    return Json{{"annotations", std::move(annotations)}};
  }

  Result VideoCreate(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    const bool frames = MediaType(request) == kJsonContentType;
    VideoSessionConfig config;
    if (frames) {
      absl::StatusOr<Json> json = ParseJsonObject(request.body);
      if (!json.ok()) return json.status();
      if (absl::Status s = OnlyFields(*json, {"long_video_window"}); !s.ok()) {
        return s;
      }
      absl::StatusOr<int64_t> window = IntField(*json, "long_video_window", 0);
      if (!window.ok()) return window.status();
      config.long_video_window = *window;
    } else if (request.body.empty()) {
      return Invalid("the body must be a video file");
    }
    if (absl::Status s = CheckAcceptingSessions(caller); !s.ok()) return s;
    std::string path;
    if (!frames) {
      absl::StatusOr<std::string> written =
          WriteUploadFile(options_.limits.upload_dir, request.body);
      if (!written.ok()) return written.status();
      path = *std::move(written);
    }
    const int worker = PickSessionWorker(*options_.pool, *options_.store);
    Json out;
    bool owned = false;  // whether the session (created or not) took the file
    absl::Status status = RunOnWorker(
        *options_.pool, worker, Deadline(),
        [&]() -> absl::Status {
          const std::shared_ptr<const VideoPredictor>& predictor =
              options_.workers.at(worker).video;
          absl::StatusOr<std::unique_ptr<VideoSession>> created;
          if (frames) {
            created = VideoSession::CreateFromFrames(predictor, {}, config,
                                                     options_.limits.video);
          } else {
            owned = true;
            created = VideoSession::CreateFromFile(predictor, path, config,
                                                   options_.limits.video);
          }
          if (!created.ok()) return created.status();
          std::shared_ptr<VideoSession> session = *std::move(created);
          absl::StatusOr<std::string> id =
              options_.store->Insert(session, worker, caller);
          if (!id.ok()) return id.status();
          out = VideoJson(*session);
          return absl::OkStatus();
        },
        &timing);
    if (!owned && !path.empty()) unlink(path.c_str());  // never reached a worker
    if (!status.ok()) return status;
    return out;
  }

  Result VideoAppend(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    const std::string* id = request.Header(kSessionHeader);
    if (id == nullptr) {
      return Invalid("the X-Sam2-Session header must name the video session");
    }
    return OnVideo(caller, *id, "AppendFrames", timing, [&](VideoSession& s) -> Result {
      absl::StatusOr<int64_t> n = s.AppendFrames({request.body});
      if (!n.ok()) return n.status();
      return VideoJson(s);
    });
  }

  Result VideoGet(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    absl::StatusOr<Json> json = ParseSessionRequest(request, {"session"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    absl::StatusOr<std::shared_ptr<VideoSession>> session =
        LookupVideoSession(*options_.store, id, caller.tenant);
    if (!session.ok()) return session.status();
    // On the worker, between frames of a propagation if one runs (as the
    // gRPC GetVideoSession): never refused as a conflict.
    Json out;
    absl::Status status = RunOnWorker(
        *options_.pool, (*session)->worker(), Deadline(),
        [&]() -> absl::Status {
          out = VideoJson(**session);
          return absl::OkStatus();
        },
        &timing);
    if (!status.ok()) return status;
    return out;
  }

  Result VideoPrompts(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    absl::StatusOr<Json> json = ParseSessionRequest(
        request, {"session", "frame_index", "object_id", "points",
                  "point_labels", "box", "clear_old_points"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    VideoPromptInput input;
    absl::StatusOr<int64_t> frame = IntField(*json, "frame_index", std::nullopt);
    if (!frame.ok()) return frame.status();
    absl::StatusOr<int64_t> object = IntField(*json, "object_id", std::nullopt);
    if (!object.ok()) return object.status();
    input.frame_index = *frame;
    input.object_id = *object;
    if (absl::Status s = PointsField(*json, input.points); !s.ok()) return s;
    if (auto it = json->find("box"); it != json->end()) {
      absl::StatusOr<BoxPrompt> box = ParseBox(*it, "box");
      if (!box.ok()) return box.status();
      input.box = *box;
    }
    if (auto it = json->find("clear_old_points"); it != json->end()) {
      if (!it->is_boolean()) return Invalid("clear_old_points must be true or false");
      input.clear_old_points = it->get<bool>();
    }
    return OnVideo(caller, id, "AddPrompts", timing, [&](VideoSession& s) -> Result {
      absl::StatusOr<FrameMasksOutput> out = s.AddPrompts(input, Observer());
      if (!out.ok()) return out.status();
      return FrameMasksJson(*out);
    });
  }

  Result VideoClear(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    absl::StatusOr<Json> json = ParseSessionRequest(
        request, {"session", "frame_index", "object_id"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    absl::StatusOr<int64_t> frame = IntField(*json, "frame_index", std::nullopt);
    if (!frame.ok()) return frame.status();
    absl::StatusOr<int64_t> object = IntField(*json, "object_id", std::nullopt);
    if (!object.ok()) return object.status();
    return OnVideo(caller, id, "ClearPrompts", timing, [&](VideoSession& s) -> Result {
      absl::StatusOr<FrameMasksOutput> out =
          s.ClearPrompts(*frame, *object, MaskEncoding::kRle);
      if (!out.ok()) return out.status();
      return FrameMasksJson(*out);
    });
  }

  Result VideoRemoveObject(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    absl::StatusOr<Json> json = ParseSessionRequest(
        request, {"session", "object_id"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    absl::StatusOr<int64_t> object = IntField(*json, "object_id", std::nullopt);
    if (!object.ok()) return object.status();
    return OnVideo(caller, id, "RemoveObject", timing, [&](VideoSession& s) -> Result {
      absl::StatusOr<RemoveObjectOutput> out =
          s.RemoveObject(*object, MaskEncoding::kRle);
      if (!out.ok()) return out.status();
      Json frames = Json::array();
      for (const FrameMasksOutput& f : out->updated_frames) {
        frames.push_back(FrameMasksJson(f));
      }
      return Json{{"object_ids", out->object_ids},
                  {"updated_frames", std::move(frames)}};
    });
  }

  Result VideoReset(const HttpRequest& request, const SessionOwner& caller,
                WorkerCallTiming& timing) {
    absl::StatusOr<Json> json = ParseSessionRequest(request, {"session"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    return OnVideo(caller, id, "ResetVideoSession", timing,
                   [&](VideoSession& s) -> Result {
                     s.Reset();
                     return VideoJson(s);
                   });
  }

  Result SessionDelete(const HttpRequest& request, const SessionOwner& caller,
                       WorkerCallTiming&) {
    absl::StatusOr<Json> json = ParseSessionRequest(request, {"session"});
    if (!json.ok()) return json.status();
    const std::string id = (*json)["session"].get<std::string>();
    if (absl::Status s = options_.store->Remove(id, caller.tenant); !s.ok()) {
      return s;
    }
    return Json::object();
  }

 private:
  // The media types each route takes: "" when `request`'s is one of them,
  // else the list to name in a 415.
  static std::string UnacceptedMediaType(absl::string_view route,
                                         const HttpRequest& request) {
    const std::string type = MediaType(request);
    if (route == "ImageCreate" || route == "VideoAppend") {
      return IsImageType(type) ? "" : kImageTypes;
    }
    if (route == "VideoCreate") {
      return type == kJsonContentType || absl::StartsWith(type, "video/") ||
                     type == "application/octet-stream"
                 ? ""
                 : "a video file (video/*, application/octet-stream) or "
                   "application/json";
    }
    return type == kJsonContentType ? "" : "application/json";
  }

  absl::StatusOr<std::string> FrameJpeg(const HttpRequest& request,
                                        const std::string& tenant,
                                        WorkerCallTiming& timing) {
    const std::optional<std::string> id = request.QueryParam("session");
    const std::optional<std::string> index_text = request.QueryParam("index");
    int64_t index = 0;
    if (!id || !index_text || !absl::SimpleAtoi(*index_text, &index)) {
      return Invalid("the query must be ?session=ID&index=N");
    }
    absl::StatusOr<std::shared_ptr<VideoSession>> session =
        LookupVideoSession(*options_.store, *id, tenant);
    if (!session.ok()) return session.status();
    // On the worker without the exclusivity (as VideoGet): between frames of
    // a propagation, so the page can show frames while it runs.
    absl::StatusOr<std::string> jpeg;
    absl::Status status = RunOnWorker(
        *options_.pool, (*session)->worker(), Deadline(),
        [&]() -> absl::Status {
          jpeg = (*session)->FrameJpeg(index);
          return jpeg.status();
        },
        &timing);
    if (!status.ok()) return status;
    return jpeg;
  }

  absl::StatusOr<Admission> AdmitCall(const HttpRequest& request) const {
    return Admit(options_.authenticator, options_.tenant_in_flight,
                 request.Header("authorization"));
  }

  absl::Status CheckAcceptingSessions(const SessionOwner& caller) const {
    if (options_.draining && options_.draining()) {
      return absl::UnavailableError(
          "the server is draining and takes no new sessions");
    }
    return options_.store->CheckCapacity(caller);
  }

  // `body` on the video session `id`'s worker, holding its exclusivity.
  Result OnVideo(const SessionOwner& caller, const std::string& id,
                 absl::string_view operation,
                 WorkerCallTiming& timing,
                 const std::function<Result(VideoSession&)>& body) {
    absl::StatusOr<std::shared_ptr<VideoSession>> session =
        LookupVideoSession(*options_.store, id, caller.tenant);
    if (!session.ok()) return session.status();
    Result out = Json();
    absl::Status status = RunExclusiveOnWorker(
        *options_.pool, *options_.store, **session, operation, Deadline(),
        [&]() -> absl::Status {
          out = body(**session);
          return out.status();
        },
        &timing);
    if (!status.ok()) return status;
    return out;
  }

  Json VideoJson(const VideoSession& s) const {
    const VideoSessionInfo info = s.Info();
    return {{"session", s.id()},
            {"num_frames", info.num_frames},
            {"height", info.height},
            {"width", info.width},
            {"object_ids", info.object_ids},
            {"expire_time", FormatUtc(options_.store->ExpireTime(s))}};
  }

  absl::Time Deadline() const { return absl::Now() + options_.task_timeout; }
  StageObserver Observer() const { return StageRecorder(options_.metrics); }

  const WebApiOptions options_;
};

}  // namespace

std::vector<HttpRoute> WebApiRoutes(const WebApiOptions& options) {
  auto api = std::make_shared<WebApi>(options);
  auto calls = std::make_shared<HttpInFlightGroup>("the web API",
                                                   options.max_calls);
  std::vector<HttpRoute> routes;
  auto add = [&](const char* path, const char* name, WebApi::Handler handler) {
    HttpRoute route;
    route.path = path;
    route.methods = {"POST"};
    route.handler = [api, name, handler](const HttpRequest& request) {
      return api->Serve(name, handler, request);
    };
    route.limit_response = JsonLimitResponse;
    route.group = calls;
    routes.push_back(std::move(route));
    return &routes.back();
  };
  add("/api/v1/image/create", "ImageCreate", &WebApi::ImageCreate);
  add("/api/v1/image/segment", "ImageSegment", &WebApi::ImageSegment);
  add("/api/v1/image/generate", "ImageGenerate", &WebApi::ImageGenerate);
  HttpRoute* create =
      add("/api/v1/video/create", "VideoCreate", &WebApi::VideoCreate);
  create->max_body_bytes = std::min(options.max_video_file_bytes,
                                    options.limits.max_video_upload_bytes);
  create->request_timeout = options.upload_timeout;
  add("/api/v1/video/append", "VideoAppend", &WebApi::VideoAppend);
  add("/api/v1/video/get", "VideoGet", &WebApi::VideoGet);
  add("/api/v1/video/prompts", "VideoPrompts", &WebApi::VideoPrompts);
  add("/api/v1/video/clear", "VideoClear", &WebApi::VideoClear);
  add("/api/v1/video/remove_object", "VideoRemoveObject",
      &WebApi::VideoRemoveObject);
  add("/api/v1/video/reset", "VideoReset", &WebApi::VideoReset);
  add("/api/v1/session/delete", "SessionDelete", &WebApi::SessionDelete);
  HttpRoute frame;
  frame.path = "/api/v1/video/frame";
  frame.handler = [api](const HttpRequest& request) {
    return api->VideoFrame(request);
  };
  frame.limit_response = JsonLimitResponse;
  frame.group = calls;
  routes.push_back(std::move(frame));
  HttpRoute info;
  info.path = "/api/v1/info";
  info.handler = [api](const HttpRequest& request) { return api->Info(request); };
  info.limit_response = JsonLimitResponse;  // e.g. the 401 without a token
  routes.push_back(std::move(info));
  routes.push_back(WebPropagateRoute(options));
  return routes;
}

}  // namespace sam2
