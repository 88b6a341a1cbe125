#include "server/sam2_service.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/proto_convert.h"
#include "server/session_lookup.h"
#include "server/status_util.h"
#include "server/worker_call.h"

namespace sam2 {
namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext* ctx) {
  const auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// The "authorization" metadata of a call (nullptr: none).
std::optional<std::string> AuthorizationOf(
    const grpc::CallbackServerContext* ctx) {
  const auto& metadata = ctx->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

// One unary call: finishes its reactor exactly once and records the call's
// metrics. Created on the gRPC thread; Run() hands it to a worker.
class Sam2Service::UnaryCall {
 public:
  using Body = std::function<absl::Status()>;

  // Admits the call (Sam2Service::Admit); a handler whose call was not
  // admitted() finishes it at once with admission_status().
  UnaryCall(const Sam2Service* service, grpc::CallbackServerContext* ctx,
            absl::string_view method)
      : service_(service),
        ctx_(ctx),
        reactor_(ctx->DefaultReactor()),
        method_(method),
        start_(absl::Now()) {
    absl::StatusOr<Admission> admitted = service->Admit(ctx);
    admission_status_ = admitted.status();
    if (admitted.ok()) admission_ = *std::move(admitted);
  }

  bool admitted() const { return admission_status_.ok(); }
  const absl::Status& admission_status() const { return admission_status_; }
  const std::string& tenant() const { return admission_.tenant(); }
  const SessionOwner& owner() const { return admission_.owner; }

  // Finishes at once (rejected before reaching a worker).
  grpc::ServerUnaryReactor* Finish(const absl::Status& status) {
    Done(status, std::nullopt, std::nullopt);
    return reactor_;
  }

  // Runs `body` on `worker` unless the queue is full, the deadline passes
  // while queued, or the client has gone.
  grpc::ServerUnaryReactor* Run(int worker, Body body) {
    grpc::ServerUnaryReactor* reactor = reactor_;
    UnaryCall call = *this;
    absl::Status submitted = service_->options_.pool->Submit(
        worker, DeadlineOf(ctx_),
        [call, body = std::move(body)](const absl::Status& status,
                                       const TaskContext& task) {
          if (!status.ok()) {
            call.Done(status, task.queued, std::nullopt);
            return;
          }
          if (call.ctx_->IsCancelled()) {
            call.Done(absl::CancelledError("the client cancelled the call"),
                      task.queued, std::nullopt);
            return;
          }
          const absl::Time start = absl::Now();
          absl::Status result;
          try {
            result = body();
          } catch (const std::exception& e) {
            result = absl::InternalError(absl::StrCat(
                "unexpected exception: ", e.what()));
          }
          call.Done(result, task.queued, absl::Now() - start);
        });
    if (!submitted.ok()) Done(submitted, std::nullopt, std::nullopt);
    return reactor;
  }

  // Queues a Segment on `batcher` (dynamic batching): the batcher checks
  // the deadline, cancellation and the session's exclusivity; `fill` writes
  // the response from a successful result, on the worker.
  grpc::ServerUnaryReactor* RunBatched(
      SegmentBatcher& batcher, std::shared_ptr<ImageSession> session,
      SegmentInput input,
      std::function<void(ImageSession&, const SegmentOutput&)> fill) {
    grpc::ServerUnaryReactor* reactor = reactor_;
    UnaryCall call = *this;
    const int worker = session->worker();
    SegmentBatchCall batched;
    batched.input = std::move(input);
    batched.deadline = DeadlineOf(ctx_);
    batched.cancelled = [ctx = ctx_] { return ctx->IsCancelled(); };
    batched.done = [call, session, fill = std::move(fill)](
                       absl::StatusOr<SegmentOutput> out,
                       const SegmentBatchRun& run) {
      if (out.ok()) fill(*session, *out);
      call.Done(out.status(), run.queued, run.compute);
    };
    batched.session = std::move(session);
    absl::Status submitted = batcher.Submit(worker, std::move(batched));
    if (!submitted.ok()) Done(submitted, std::nullopt, std::nullopt);
    return reactor;
  }

 private:
  void Done(const absl::Status& status, std::optional<absl::Duration> queue,
            std::optional<absl::Duration> compute) const {
    if (ServiceMetrics* m = service_->options_.metrics) {
      m->RecordRequest(method_, StatusCodeName(status.code()), queue, compute,
                       absl::Now() - start_, admission_.tenant());
    }
    // Copies of this call share the slot: the first Release counts.
    admission_.Release();
    reactor_->Finish(ToGrpcStatus(status));
  }

  const Sam2Service* service_;
  grpc::CallbackServerContext* ctx_;
  grpc::ServerUnaryReactor* reactor_;
  std::string method_;
  absl::Time start_;
  absl::Status admission_status_;
  Admission admission_;
};

Sam2Service::Sam2Service(Sam2ServiceOptions options)
    : options_(std::move(options)) {}

StageObserver Sam2Service::Observer() const {
  return StageRecorder(options_.metrics);
}

absl::StatusOr<Admission> Sam2Service::Admit(
    const grpc::CallbackServerContext* ctx) const {
  if (options_.authenticator == nullptr) return Admission{};
  const std::optional<std::string> authorization = AuthorizationOf(ctx);
  return sam2::Admit(options_.authenticator, options_.tenant_in_flight,
                     authorization ? &*authorization : nullptr);
}

absl::Status Sam2Service::CheckAcceptingSessions(
    const SessionOwner& owner) const {
  if (draining()) {
    return absl::UnavailableError(
        "the server is draining and takes no new sessions; retry on another "
        "replica");
  }
  return options_.store->CheckCapacity(owner);
}

absl::StatusOr<std::string> Sam2Service::InsertSession(
    std::shared_ptr<Session> session, int worker, const SessionOwner& owner) {
  return options_.store->Insert(std::move(session), worker, owner);
}

template <typename S>
grpc::ServerUnaryReactor* Sam2Service::RunExclusive(
    UnaryCall& call, std::shared_ptr<S> session, absl::string_view operation,
    std::function<absl::Status(S&)> body) {
  const int worker = session->worker();
  return call.Run(worker, [this, s = std::move(session),
                           operation = std::string(operation),
                           body = std::move(body)]() -> absl::Status {
    ScopedExclusive exclusive(*s, operation);
    if (!exclusive.status().ok()) return exclusive.status();
    absl::Status status = body(*s);
    // The operation may have changed the session's size, even when it
    // failed part-way; a budget overrun evicts other idle sessions and never
    // fails this call.
    options_.store->UpdateBytes(s->id()).IgnoreError();
    return status;
  });
}

absl::StatusOr<std::shared_ptr<ImageSession>> Sam2Service::LookupImage(
    absl::string_view name, const std::string& tenant) {
  absl::StatusOr<std::string> id = SessionIdFromName(name);
  if (!id.ok()) return id.status();
  return LookupImageSession(*options_.store, *id, tenant);
}

absl::StatusOr<std::shared_ptr<VideoSession>> Sam2Service::LookupVideo(
    absl::string_view name, const std::string& tenant) {
  absl::StatusOr<std::string> id = SessionIdFromName(name);
  if (!id.ok()) return id.status();
  return LookupVideoSession(*options_.store, *id, tenant);
}

void Sam2Service::FillImageSession(const ImageSession& s,
                                   v1::ImageSession* out) const {
  out->set_name(SessionName(s.id()));
  out->set_height(static_cast<int32_t>(s.height()));
  out->set_width(static_cast<int32_t>(s.width()));
  out->set_bytes_held(s.NumBytes());
  SetTimestamp(s.create_time(), out->mutable_create_time());
  SetTimestamp(options_.store->ExpireTime(s), out->mutable_expire_time());
}

void Sam2Service::FillVideoSession(const VideoSession& s,
                                   v1::VideoSession* out) const {
  ToVideoSessionProto(s.Info(), out);
  out->set_name(SessionName(s.id()));
  out->set_bytes_held(s.NumBytes());
  SetTimestamp(s.create_time(), out->mutable_create_time());
  SetTimestamp(options_.store->ExpireTime(s), out->mutable_expire_time());
}

// ---------------------------------------------------------------------------
// Server and image sessions

grpc::ServerUnaryReactor* Sam2Service::GetServerInfo(
    grpc::CallbackServerContext* ctx, const v1::GetServerInfoRequest*,
    v1::ServerInfo* response) {
  UnaryCall call(this, ctx, "GetServerInfo");
  if (!call.admitted()) return call.Finish(call.admission_status());
  *response = options_.info;
  return call.Finish(absl::OkStatus());
}

grpc::ServerUnaryReactor* Sam2Service::CreateImageSession(
    grpc::CallbackServerContext* ctx,
    const v1::CreateImageSessionRequest* request, v1::ImageSession* response) {
  UnaryCall call(this, ctx, "CreateImageSession");
  if (!call.admitted()) return call.Finish(call.admission_status());
  if (absl::Status s = CheckAcceptingSessions(call.owner()); !s.ok()) {
    return call.Finish(s);
  }
  const int worker = PickSessionWorker(*options_.pool, *options_.store);
  return call.Run(worker, [this, request, response, worker,
                           owner = call.owner()]() -> absl::Status {
    absl::StatusOr<std::unique_ptr<ImageSession>> session =
        ImageSession::Create(*options_.workers.at(worker).image,
                             request->image(), options_.limits.image,
                             Observer(), options_.embedding_cache);
    if (!session.ok()) return session.status();
    std::shared_ptr<ImageSession> shared = *std::move(session);
    absl::StatusOr<std::string> id = InsertSession(shared, worker, owner);
    if (!id.ok()) return id.status();
    FillImageSession(*shared, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* Sam2Service::Segment(
    grpc::CallbackServerContext* ctx, const v1::SegmentRequest* request,
    v1::SegmentResponse* response) {
  UnaryCall call(this, ctx, "Segment");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<ImageSession>> session =
      LookupImage(request->session(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  absl::StatusOr<SegmentInput> input = ToSegmentInput(*request);
  if (!input.ok()) return call.Finish(input.status());
  if (options_.segment_batcher != nullptr) {
    return call.RunBatched(
        *options_.segment_batcher, *std::move(session), *std::move(input),
        [this, response](ImageSession& s, const SegmentOutput& out) {
          ToSegmentResponse(out, response);
          SetTimestamp(options_.store->ExpireTime(s),
                       response->mutable_expire_time());
        });
  }
  return RunExclusive<ImageSession>(
      call, *session, "Segment",
      [this, in = *std::move(input), response](ImageSession& s) -> absl::Status {
        absl::StatusOr<SegmentOutput> out =
            s.Segment(*options_.workers.at(s.worker()).image, in, Observer());
        if (!out.ok()) return out.status();
        ToSegmentResponse(*out, response);
        SetTimestamp(options_.store->ExpireTime(s),
                     response->mutable_expire_time());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* Sam2Service::GenerateMasks(
    grpc::CallbackServerContext* ctx, const v1::GenerateMasksRequest* request,
    v1::GenerateMasksResponse* response) {
  UnaryCall call(this, ctx, "GenerateMasks");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<ImageSession>> session =
      LookupImage(request->session(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  absl::StatusOr<AutomaticMaskGeneratorOptions> amg = ToAmgOptions(*request);
  if (!amg.ok()) return call.Finish(amg.status());
  absl::StatusOr<MaskEncoding> encoding =
      ToMaskEncoding(request->mask_format());
  if (!encoding.ok()) return call.Finish(encoding.status());
  const absl::Time deadline = DeadlineOf(ctx);
  return RunExclusive<ImageSession>(
      call, *session, "GenerateMasks",
      [this, ctx, deadline, amg = *amg, encoding = *encoding,
       response](ImageSession& s) -> absl::Status {
        // The generator runs many decoder batches: stop between batches when
        // the client goes or the deadline passes.
        auto progress = [ctx, deadline](int64_t, int64_t) -> absl::Status {
          if (ctx->IsCancelled()) return absl::CancelledError("call cancelled");
          if (absl::Now() > deadline) {
            return absl::DeadlineExceededError(
                "the deadline passed while generating masks");
          }
          return absl::OkStatus();
        };
        absl::StatusOr<std::vector<GeneratedMaskOutput>> masks =
            s.GenerateMasks(options_.workers.at(s.worker()).image, amg,
                            encoding, progress, Observer());
        if (!masks.ok()) return masks.status();
        for (const GeneratedMaskOutput& m : *masks) {
          ToGeneratedMaskProto(m, response->add_masks());
        }
        SetTimestamp(options_.store->ExpireTime(s),
                     response->mutable_expire_time());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* Sam2Service::GetImageSession(
    grpc::CallbackServerContext* ctx, const v1::GetSessionRequest* request,
    v1::ImageSession* response) {
  UnaryCall call(this, ctx, "GetImageSession");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<ImageSession>> session =
      LookupImage(request->name(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  // On the worker: the kept results change under Segment.
  return call.Run((*session)->worker(),
                  [this, s = *session, response]() -> absl::Status {
                    FillImageSession(*s, response);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* Sam2Service::DeleteSession(
    grpc::CallbackServerContext* ctx, const v1::DeleteSessionRequest* request,
    v1::DeleteSessionResponse*) {
  UnaryCall call(this, ctx, "DeleteSession");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::string> id = SessionIdFromName(request->name());
  if (!id.ok()) return call.Finish(id.status());
  return call.Finish(options_.store->Remove(*id, call.tenant()));
}

// ---------------------------------------------------------------------------
// Video sessions: upload

class Sam2Service::UploadReactor
    : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  UploadReactor(Sam2Service* service, grpc::CallbackServerContext* ctx,
                grpc::ByteBuffer* response)
      : service_(service),
        ctx_(ctx),
        response_(response),
        start_(absl::Now()) {
    absl::StatusOr<Admission> admitted = service_->Admit(ctx);
    if (!admitted.ok()) {
      FinishCall(admitted.status());
      return;
    }
    admission_ = *std::move(admitted);
    if (absl::Status s = service_->CheckAcceptingSessions(admission_.owner);
        !s.ok()) {
      FinishCall(s);
      return;
    }
    StartRead(&buffer_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or the call broke: then gRPC cancels it and
      // the worker task sees IsCancelled).
      Create();
      return;
    }
    absl::Status s = Parse();
    if (s.ok()) s = Consume();
    if (!s.ok()) {
      FinishCall(s);
      return;
    }
    StartRead(&buffer_);
  }

  void OnDone() override {
    if (fd_ >= 0) close(fd_);
    if (!path_.empty()) unlink(path_.c_str());
    delete this;
  }

 private:
  enum class Kind { kNone, kFile, kFrames };

  // buffer_ -> message_ (the buffer is consumed).
  absl::Status Parse() {
    ++messages_;
    message_.Clear();
    const grpc::Status parsed =
        grpc::SerializationTraits<v1::CreateVideoSessionRequest>::Deserialize(
            &buffer_, &message_);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot parse message ", messages_,
          " of the upload as a sam2.v1.CreateVideoSessionRequest (not a "
          "valid protobuf message of that type)"));
    }
    return absl::OkStatus();
  }

  absl::Status Consume() {
    if (message_.part_case() == v1::CreateVideoSessionRequest::kConfig) {
      if (has_config_) {
        return absl::InvalidArgumentError("the config was sent twice");
      }
      has_config_ = true;
      config_.long_video_window = message_.config().long_video_window();
      return absl::OkStatus();
    }
    if (!has_config_) {
      return absl::InvalidArgumentError(
          "the first CreateVideoSession message must carry the config");
    }
    const Kind kind =
        message_.part_case() == v1::CreateVideoSessionRequest::kVideoChunk
            ? Kind::kFile
        : message_.part_case() == v1::CreateVideoSessionRequest::kFrame
            ? Kind::kFrames
            : Kind::kNone;
    if (kind == Kind::kNone) {
      return absl::InvalidArgumentError("an empty CreateVideoSession message");
    }
    if (kind_ != Kind::kNone && kind != kind_) {
      return absl::InvalidArgumentError(
          "send either video_chunk messages or frame messages, not both");
    }
    kind_ = kind;
    const std::string& data = kind == Kind::kFile ? message_.video_chunk()
                                                  : message_.frame();
    bytes_ += static_cast<int64_t>(data.size());
    const int64_t limit = service_->options_.limits.max_video_upload_bytes;
    if (bytes_ > limit) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the upload exceeds ", limit, " bytes (max_video_upload_bytes)"));
    }
    if (kind == Kind::kFrames) {
      const int64_t max_frames =
          service_->options_.limits.video.frames.max_frames;
      if (static_cast<int64_t>(frames_.size()) >= max_frames) {
        return absl::InvalidArgumentError(absl::StrCat(
            "more than ", max_frames, " frames (the frame limit)"));
      }
      frames_.push_back(std::move(*message_.mutable_frame()));
      return absl::OkStatus();
    }
    return AppendToFile(data);
  }

  absl::Status AppendToFile(const std::string& data) {
    if (fd_ < 0) {
      std::string dir = service_->options_.limits.upload_dir;
      if (dir.empty()) {
        const char* tmp = getenv("TMPDIR");
        dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
      }
      std::string pattern = absl::StrCat(dir, "/sam2-upload-XXXXXX");
      fd_ = mkstemp(pattern.data());
      if (fd_ < 0) {
        return absl::InternalError(
            absl::StrCat("cannot create an upload file in ", dir));
      }
      path_ = pattern;
    }
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = write(fd_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::ResourceExhaustedError(
            absl::StrCat("cannot store the upload (", strerror(errno), ")"));
      }
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  void Create() {
    if (!has_config_) {
      FinishCall(absl::InvalidArgumentError(
          "the first CreateVideoSession message must carry the config"));
      return;
    }
    if (kind_ == Kind::kFile) {
      close(fd_);
      fd_ = -1;
    }
    const int worker = PickSessionWorker(*service_->options_.pool,
                                         *service_->options_.store);
    absl::Status submitted = service_->options_.pool->Submit(
        worker, DeadlineOf(ctx_),
        [this, worker](const absl::Status& status, const TaskContext& task) {
          queued_ = task.queued;
          if (!status.ok()) {
            FinishCall(status);
            return;
          }
          if (ctx_->IsCancelled()) {
            FinishCall(absl::CancelledError("the client cancelled the upload"));
            return;
          }
          const absl::Time start = absl::Now();
          absl::Status s = CreateOnWorker(worker);
          compute_ = absl::Now() - start;
          FinishCall(s);
        });
    if (!submitted.ok()) FinishCall(submitted);
  }

  absl::Status CreateOnWorker(int worker) {
    const Sam2ServiceOptions& o = service_->options_;
    const std::shared_ptr<const VideoPredictor>& predictor =
        o.workers.at(worker).video;
    absl::StatusOr<std::unique_ptr<VideoSession>> session;
    if (kind_ == Kind::kFile) {
      std::string path = std::move(path_);
      path_.clear();  // the session owns the file now
      session = VideoSession::CreateFromFile(predictor, std::move(path),
                                             config_, o.limits.video);
    } else {
      session = VideoSession::CreateFromFrames(predictor, frames_, config_,
                                               o.limits.video);
      frames_.clear();
      frames_.shrink_to_fit();
    }
    if (!session.ok()) return session.status();
    std::shared_ptr<VideoSession> shared = *std::move(session);
    absl::StatusOr<std::string> id =
        service_->InsertSession(shared, worker, admission_.owner);
    if (!id.ok()) return id.status();
    if (ctx_->IsCancelled()) {
      // Nobody would learn the session's name: do not leave it to its TTL.
      service_->options_.store->Remove(*id, admission_.tenant()).IgnoreError();
      return absl::CancelledError("the client cancelled the upload");
    }
    v1::VideoSession info;
    service_->FillVideoSession(*shared, &info);
    bool own_buffer = false;
    const grpc::Status serialized =
        grpc::SerializationTraits<v1::VideoSession>::Serialize(
            info, response_, &own_buffer);
    if (!serialized.ok()) {
      return absl::InternalError(absl::StrCat(
          "serializing the VideoSession: ", serialized.error_message()));
    }
    return absl::OkStatus();
  }

  // Finishes the call with `status` (OK included); called once.
  void FinishCall(const absl::Status& status) {
    if (ServiceMetrics* m = service_->options_.metrics) {
      m->RecordRequest("CreateVideoSession", StatusCodeName(status.code()),
                       queued_, compute_, absl::Now() - start_,
                       admission_.tenant());
    }
    admission_.Release();
    Finish(ToGrpcStatus(status));
  }

  Sam2Service* service_;
  grpc::CallbackServerContext* ctx_;
  grpc::ByteBuffer* response_;
  const absl::Time start_;
  grpc::ByteBuffer buffer_;  // the message being read
  int64_t messages_ = 0;     // messages read so far
  v1::CreateVideoSessionRequest message_;
  bool has_config_ = false;
  VideoSessionConfig config_;
  Kind kind_ = Kind::kNone;
  int64_t bytes_ = 0;
  std::vector<std::string> frames_;
  int fd_ = -1;
  std::string path_;
  std::optional<absl::Duration> queued_;
  std::optional<absl::Duration> compute_;
  Admission admission_;
};

grpc::ServerReadReactor<grpc::ByteBuffer>* Sam2Service::CreateVideoSession(
    grpc::CallbackServerContext* ctx, grpc::ByteBuffer* response) {
  return new UploadReactor(this, ctx, response);
}

// ---------------------------------------------------------------------------
// Video sessions: unary operations

grpc::ServerUnaryReactor* Sam2Service::AppendFrames(
    grpc::CallbackServerContext* ctx, const v1::AppendFramesRequest* request,
    v1::VideoSession* response) {
  UnaryCall call(this, ctx, "AppendFrames");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<VideoSession>> session =
      LookupVideo(request->session(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  return RunExclusive<VideoSession>(
      call, *session, "AppendFrames",
      [this, request, response](VideoSession& s) -> absl::Status {
        std::vector<std::string> frames(request->frames().begin(),
                                        request->frames().end());
        absl::StatusOr<int64_t> n = s.AppendFrames(frames);
        if (!n.ok()) return n.status();
        FillVideoSession(s, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* Sam2Service::AddPrompts(
    grpc::CallbackServerContext* ctx, const v1::AddPromptsRequest* request,
    v1::FrameMasks* response) {
  UnaryCall call(this, ctx, "AddPrompts");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<VideoSession>> session =
      LookupVideo(request->session(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  absl::StatusOr<VideoPromptInput> input = ToVideoPromptInput(*request);
  if (!input.ok()) return call.Finish(input.status());
  return RunExclusive<VideoSession>(
      call, *session, "AddPrompts",
      [this, in = *std::move(input), response](VideoSession& s) -> absl::Status {
        absl::StatusOr<FrameMasksOutput> out = s.AddPrompts(in, Observer());
        if (!out.ok()) return out.status();
        ToFrameMasksProto(*out, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* Sam2Service::ClearPrompts(
    grpc::CallbackServerContext* ctx, const v1::ClearPromptsRequest* request,
    v1::FrameMasks* response) {
  UnaryCall call(this, ctx, "ClearPrompts");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<VideoSession>> session =
      LookupVideo(request->session(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  absl::StatusOr<MaskEncoding> encoding =
      ToMaskEncoding(request->mask_format());
  if (!encoding.ok()) return call.Finish(encoding.status());
  return RunExclusive<VideoSession>(
      call, *session, "ClearPrompts",
      [request, encoding = *encoding, response](VideoSession& s) -> absl::Status {
        absl::StatusOr<FrameMasksOutput> out = s.ClearPrompts(
            request->frame_index(), request->object_id(), encoding);
        if (!out.ok()) return out.status();
        ToFrameMasksProto(*out, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* Sam2Service::RemoveObject(
    grpc::CallbackServerContext* ctx, const v1::RemoveObjectRequest* request,
    v1::RemoveObjectResponse* response) {
  UnaryCall call(this, ctx, "RemoveObject");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<VideoSession>> session =
      LookupVideo(request->session(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  absl::StatusOr<MaskEncoding> encoding =
      ToMaskEncoding(request->mask_format());
  if (!encoding.ok()) return call.Finish(encoding.status());
  return RunExclusive<VideoSession>(
      call, *session, "RemoveObject",
      [request, encoding = *encoding, response](VideoSession& s) -> absl::Status {
        absl::StatusOr<RemoveObjectOutput> out =
            s.RemoveObject(request->object_id(), encoding);
        if (!out.ok()) return out.status();
        for (int64_t id : out->object_ids) response->add_object_ids(id);
        for (const FrameMasksOutput& f : out->updated_frames) {
          ToFrameMasksProto(f, response->add_updated_frames());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* Sam2Service::ResetVideoSession(
    grpc::CallbackServerContext* ctx,
    const v1::ResetVideoSessionRequest* request, v1::VideoSession* response) {
  UnaryCall call(this, ctx, "ResetVideoSession");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<VideoSession>> session =
      LookupVideo(request->session(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  return RunExclusive<VideoSession>(
      call, *session, "ResetVideoSession",
      [this, response](VideoSession& s) -> absl::Status {
        s.Reset();
        FillVideoSession(s, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* Sam2Service::GetVideoSession(
    grpc::CallbackServerContext* ctx, const v1::GetSessionRequest* request,
    v1::VideoSession* response) {
  UnaryCall call(this, ctx, "GetVideoSession");
  if (!call.admitted()) return call.Finish(call.admission_status());
  absl::StatusOr<std::shared_ptr<VideoSession>> session =
      LookupVideo(request->name(), call.tenant());
  if (!session.ok()) return call.Finish(session.status());
  // On the worker, between frames of a propagation if one runs: the state
  // is consistent there, and a Get must not be refused as a conflict.
  return call.Run((*session)->worker(),
                  [this, s = *session, response]() -> absl::Status {
                    FillVideoSession(*s, response);
                    return absl::OkStatus();
                  });
}

// ---------------------------------------------------------------------------
// Video sessions: propagation stream

class Sam2Service::PropagateReactor
    : public grpc::ServerWriteReactor<v1::PropagateVideoResponse> {
 public:
  PropagateReactor(Sam2Service* service, grpc::CallbackServerContext* ctx,
                   const v1::PropagateVideoRequest* request)
      : service_(service),
        ctx_(ctx),
        deadline_(DeadlineOf(ctx)),
        start_(absl::Now()) {
    absl::StatusOr<Admission> admitted = service_->Admit(ctx);
    if (!admitted.ok()) {
      Complete(admitted.status(), /*began=*/false);
      return;
    }
    admission_ = *std::move(admitted);
    absl::StatusOr<std::shared_ptr<VideoSession>> session =
        service_->LookupVideo(request->session(), admission_.tenant());
    if (!session.ok()) {
      Complete(session.status(), /*began=*/false);
      return;
    }
    session_ = *std::move(session);
    absl::StatusOr<PropagationRequest> parsed = ToPropagationRequest(*request);
    if (!parsed.ok()) {
      Complete(parsed.status(), /*began=*/false);
      return;
    }
    request_ = *parsed;
    Schedule(/*continuation=*/false);
  }

  void OnWriteDone(bool ok) override {
    bool resume = false;
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      write_in_flight_ = false;
      if (!ok) {
        // The stream broke (client gone): stop tracking at the next frame.
        cancelled_ = true;
        outbox_.clear();
      }
      if (!outbox_.empty()) {
        StartNextWriteLocked();
      } else if (job_done_) {
        finish = true;
      }
      if (paused_ && (cancelled_ || static_cast<int>(outbox_.size()) <
                                        service_->options_.limits
                                            .stream_outbox_frames)) {
        paused_ = false;
        resume = true;
      }
    }
    if (resume) Schedule(/*continuation=*/true);
    if (finish) FinishOnce();
  }

  void OnCancel() override {
    bool resume = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      if (paused_) {
        paused_ = false;
        resume = true;  // nobody else would end the job
      }
    }
    if (resume) Schedule(/*continuation=*/true);
  }

  void OnDone() override { delete this; }

 private:
  // Posts the next step to the session's worker.
  void Schedule(bool continuation) {
    absl::Status s = service_->options_.pool->Submit(
        session_->worker(), deadline_,
        [this](const absl::Status& status, const TaskContext& task) {
          if (!queued_) queued_ = task.queued;
          Step(status);
        },
        continuation);
    if (!s.ok()) Complete(s, began_);
  }

  // One worker task: begin the propagation, or track one more frame.
  void Step(const absl::Status& status) {
    if (!status.ok()) {
      Complete(status, began_);
      return;
    }
    if (IsCancelled()) {
      Complete(absl::CancelledError("the stream was cancelled"), began_);
      return;
    }
    const absl::Time compute_start = absl::Now();
    if (!began_) {
      if (absl::Status s = session_->BeginExclusive("PropagateVideo"); !s.ok()) {
        Complete(s, /*began=*/false);
        return;
      }
      began_ = true;
      absl::StatusOr<int64_t> total = session_->BeginPropagation(request_);
      if (!total.ok()) {
        Complete(total.status(), began_);
        return;
      }
      total_ = *total;
    }
    if (!session_->HasNextFrame()) {
      compute_ += absl::Now() - compute_start;
      Complete(absl::OkStatus(), began_);
      return;
    }
    absl::StatusOr<FrameMasksOutput> frame =
        session_->PropagateNext(service_->Observer());
    if (!frame.ok()) {
      Complete(frame.status(), began_);
      return;
    }
    v1::PropagateVideoResponse response;
    ToFrameMasksProto(*frame, response.mutable_frame());
    response.set_frames_done(static_cast<int32_t>(++done_));
    response.set_frames_total(static_cast<int32_t>(total_));
    compute_ += absl::Now() - compute_start;
    if (ServiceMetrics* m = service_->options_.metrics) {
      if (done_ == 1) m->RecordFirstMask(absl::Now() - start_);
      m->RecordStreamFrame();
    }
    const bool more = session_->HasNextFrame();
    // What happens next is decided under the lock, once: after `paused_` is
    // set, OnWriteDone/OnCancel own the resumption (and may run the next
    // step at once on this worker's queue), so this task must not look at
    // the cancellation flag again and end the job a second time.
    enum class Next { kDone, kCancelled, kSchedule, kPaused } next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!cancelled_) {
        outbox_.push_back(std::move(response));
        if (!write_in_flight_) StartNextWriteLocked();
      }
      if (!more) {
        next = Next::kDone;
      } else if (cancelled_) {
        next = Next::kCancelled;
      } else if (static_cast<int>(outbox_.size()) <
                 service_->options_.limits.stream_outbox_frames) {
        next = Next::kSchedule;
      } else {
        paused_ = true;  // OnWriteDone (or OnCancel) resumes
        next = Next::kPaused;
      }
    }
    switch (next) {
      case Next::kDone:
        Complete(absl::OkStatus(), began_);
        break;
      case Next::kCancelled:
        Complete(absl::CancelledError("the stream was cancelled"), began_);
        break;
      case Next::kSchedule:
        Schedule(/*continuation=*/true);
        break;
      case Next::kPaused:
        break;  // `this` may already be resumed (or gone): touch nothing
    }
  }

  bool IsCancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  void StartNextWriteLocked() {
    write_in_flight_ = true;
    current_ = std::move(outbox_.front());
    outbox_.pop_front();
    StartWrite(&current_);
  }

  // Ends the job (on the worker, or at once when it never started): gives
  // the session back, then finishes the call once the outbox has drained.
  // Nothing touches `this` after the call finishes (OnDone deletes it).
  void Complete(const absl::Status& status, bool began) {
    if (began) {
      session_->EndPropagation();
      service_->options_.store->UpdateBytes(session_->id()).IgnoreError();
      session_->EndExclusive();
    }
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      final_status_ = status;
      job_done_ = true;
      if (!status.ok()) outbox_.clear();
      finish = !write_in_flight_ && outbox_.empty();
    }
    if (finish) FinishOnce();
  }

  void FinishOnce() {
    absl::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      status = final_status_;
    }
    if (ServiceMetrics* m = service_->options_.metrics) {
      m->RecordRequest("PropagateVideo", StatusCodeName(status.code()),
                       queued_, began_ ? std::optional(compute_) : std::nullopt,
                       absl::Now() - start_, admission_.tenant());
    }
    admission_.Release();
    Finish(ToGrpcStatus(status));
  }

  Sam2Service* const service_;
  grpc::CallbackServerContext* const ctx_;
  const absl::Time deadline_;
  const absl::Time start_;
  std::shared_ptr<VideoSession> session_;
  PropagationRequest request_;
  Admission admission_;  // set in the constructor, before any worker task

  // Owned by the worker task in progress (one at a time).
  bool began_ = false;
  int64_t total_ = 0;
  int64_t done_ = 0;
  std::optional<absl::Duration> queued_;
  absl::Duration compute_ = absl::ZeroDuration();

  std::mutex mu_;
  std::deque<v1::PropagateVideoResponse> outbox_;
  v1::PropagateVideoResponse current_;  // the message being written
  bool write_in_flight_ = false;
  bool paused_ = false;
  bool cancelled_ = false;
  bool job_done_ = false;
  bool finished_ = false;
  absl::Status final_status_;
};

grpc::ServerWriteReactor<v1::PropagateVideoResponse>*
Sam2Service::PropagateVideo(grpc::CallbackServerContext* ctx,
                            const v1::PropagateVideoRequest* request) {
  return new PropagateReactor(this, ctx, request);
}

}  // namespace sam2
