// Sam2Service: the sam2.v1 gRPC service (callback API) — thin: it parses a
// request into the session layer's plain types, looks up the session, posts
// the work to the worker the session is pinned to, and converts the result
// back. Unary calls never block a gRPC thread: they return a reactor that
// the worker finishes. Two streaming calls have their own reactors:
//   - CreateVideoSession reads the upload (frames kept encoded in memory, or
//     video-file chunks appended to a temporary file), then creates the
//     session on a worker. It reads raw bytes and parses each message
//     itself: with typed messages gRPC reports a message that does not parse
//     exactly like the end of the stream, and a corrupt upload would become
//     a session of the frames before it; here it is INVALID_ARGUMENT;
//   - PropagateVideo runs one worker task per frame, keeps one write in
//     flight and at most `stream_outbox_frames` messages queued; when the
//     outbox is full the next frame is not computed until the client reads
//     (a slow reader holds memory for a few frames and no thread).
//     Cancellation (client cancel, deadline, disconnect, drain deadline) is
//     seen by the next frame's task, so a stream stops within one frame and
//     the session stays usable.
//
// Authentication and tenants: when `authenticator` is set, every method
// first admits its call (tenant_admission.h): the "authorization: Bearer"
// metadata names the tenant (UNAUTHENTICATED otherwise), the tenant's
// requests in flight are counted until the call (or stream) finishes
// (RESOURCE_EXHAUSTED over its quota), and every session lookup, creation
// and deletion is the tenant's: another tenant's session is NOT_FOUND
// exactly as one that never existed. This check sits at the service's entry
// rather than in an interceptor because the tenant must reach the handler
// and gRPC 1.51's server interceptors can neither refuse a call before the
// handler runs nor hand it a value. grpc.health.v1 and reflection are other
// services and stay open.
//
// Ownership: the service borrows the store, pool and metrics (they outlive
// it) and shares the model. Thread-safety: all methods are called by gRPC
// on its threads; shared state is the store and pool (thread-safe) and the
// draining flag (atomic).

#ifndef SAM2_SERVER_SAM2_SERVICE_H_
#define SAM2_SERVER_SAM2_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model/sam2_model.h"
#include "model/video_predictor.h"
#include "server/worker_model.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"
#include "server/service_metrics.h"
#include "server/segment_batcher.h"
#include "server/tenant_admission.h"
#include "server/worker_pool.h"
#include "session/image_session.h"
#include "session/session_store.h"
#include "session/video_session.h"

namespace sam2 {

// Messages a PropagateVideo stream may hold queued beyond the one in
// flight before it pauses tracking.
inline constexpr int kDefaultStreamOutboxFrames = 4;

struct ServiceLimits {
  ImageSessionLimits image;
  VideoSessionLimits video;
  // Bytes of one CreateVideoSession upload (file chunks or frames).
  int64_t max_video_upload_bytes = kDefaultMaxVideoUploadBytes;
  int stream_outbox_frames = kDefaultStreamOutboxFrames;
  // Where uploaded video files wait while their session lives
  // (empty: $TMPDIR or /tmp).
  std::string upload_dir;
};

struct Sam2ServiceOptions {
  // By worker index (one per pool worker): a session is served with the
  // predictors of the worker it is pinned to.
  WorkerModels workers;
  SessionStore* store = nullptr;     // not owned
  WorkerPool* pool = nullptr;        // not owned
  ServiceMetrics* metrics = nullptr;  // not owned; may be null
  // Image features by content (not owned; may be null: no cache).
  EmbeddingCache* embedding_cache = nullptr;
  // Dynamic batching of Segment calls (not owned; may be null: each call
  // runs on its own, as RunExclusive).
  SegmentBatcher* segment_batcher = nullptr;
  // Bearer tokens and tenants (not owned; null: no authentication, every
  // caller is tenant "").
  Authenticator* authenticator = nullptr;
  // Each tenant's requests in flight (not owned; may be null: not counted).
  TenantInFlight* tenant_in_flight = nullptr;
  ServiceLimits limits;
  // Returned by GetServerInfo (limits are filled in from `limits`).
  v1::ServerInfo info;
};

class Sam2Service final
    : public v1::Sam2Service::WithRawCallbackMethod_CreateVideoSession<
          v1::Sam2Service::CallbackService> {
 public:
  explicit Sam2Service(Sam2ServiceOptions options);

  // New sessions and uploads get UNAVAILABLE from now on; calls on existing
  // sessions go on (the server's drain).
  void StartDraining() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  grpc::ServerUnaryReactor* GetServerInfo(
      grpc::CallbackServerContext* ctx, const v1::GetServerInfoRequest* request,
      v1::ServerInfo* response) override;
  grpc::ServerUnaryReactor* CreateImageSession(
      grpc::CallbackServerContext* ctx,
      const v1::CreateImageSessionRequest* request,
      v1::ImageSession* response) override;
  grpc::ServerUnaryReactor* Segment(grpc::CallbackServerContext* ctx,
                                    const v1::SegmentRequest* request,
                                    v1::SegmentResponse* response) override;
  grpc::ServerUnaryReactor* GenerateMasks(
      grpc::CallbackServerContext* ctx, const v1::GenerateMasksRequest* request,
      v1::GenerateMasksResponse* response) override;
  grpc::ServerUnaryReactor* GetImageSession(
      grpc::CallbackServerContext* ctx, const v1::GetSessionRequest* request,
      v1::ImageSession* response) override;
  // Messages are CreateVideoSessionRequest, the response a VideoSession.
  grpc::ServerReadReactor<grpc::ByteBuffer>* CreateVideoSession(
      grpc::CallbackServerContext* ctx, grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* AppendFrames(
      grpc::CallbackServerContext* ctx, const v1::AppendFramesRequest* request,
      v1::VideoSession* response) override;
  grpc::ServerUnaryReactor* AddPrompts(grpc::CallbackServerContext* ctx,
                                       const v1::AddPromptsRequest* request,
                                       v1::FrameMasks* response) override;
  grpc::ServerWriteReactor<v1::PropagateVideoResponse>* PropagateVideo(
      grpc::CallbackServerContext* ctx,
      const v1::PropagateVideoRequest* request) override;
  grpc::ServerUnaryReactor* ClearPrompts(grpc::CallbackServerContext* ctx,
                                         const v1::ClearPromptsRequest* request,
                                         v1::FrameMasks* response) override;
  grpc::ServerUnaryReactor* RemoveObject(
      grpc::CallbackServerContext* ctx, const v1::RemoveObjectRequest* request,
      v1::RemoveObjectResponse* response) override;
  grpc::ServerUnaryReactor* ResetVideoSession(
      grpc::CallbackServerContext* ctx,
      const v1::ResetVideoSessionRequest* request,
      v1::VideoSession* response) override;
  grpc::ServerUnaryReactor* GetVideoSession(
      grpc::CallbackServerContext* ctx, const v1::GetSessionRequest* request,
      v1::VideoSession* response) override;
  grpc::ServerUnaryReactor* DeleteSession(
      grpc::CallbackServerContext* ctx, const v1::DeleteSessionRequest* request,
      v1::DeleteSessionResponse* response) override;

 private:
  class UnaryCall;
  class UploadReactor;
  class PropagateReactor;

  // The call's tenant and in-flight slot (see the banner).
  absl::StatusOr<Admission> Admit(const grpc::CallbackServerContext* ctx) const;
  absl::StatusOr<std::shared_ptr<ImageSession>> LookupImage(
      absl::string_view name, const std::string& tenant);
  absl::StatusOr<std::shared_ptr<VideoSession>> LookupVideo(
      absl::string_view name, const std::string& tenant);
  // Runs `body` on the session's worker while holding the session's
  // exclusivity (ABORTED if another operation holds it), then re-reads the
  // session's size for the byte budget.
  template <typename S>
  grpc::ServerUnaryReactor* RunExclusive(UnaryCall& call,
                                         std::shared_ptr<S> session,
                                         absl::string_view operation,
                                         std::function<absl::Status(S&)> body);
  absl::Status CheckAcceptingSessions(const SessionOwner& owner) const;
  // Inserts `owner`'s new session and pins it to `worker`.
  absl::StatusOr<std::string> InsertSession(std::shared_ptr<Session> session,
                                            int worker,
                                            const SessionOwner& owner);
  void FillImageSession(const ImageSession& s, v1::ImageSession* out) const;
  void FillVideoSession(const VideoSession& s, v1::VideoSession* out) const;
  StageObserver Observer() const;

  const Sam2ServiceOptions options_;
  std::atomic<bool> draining_{false};
};

}  // namespace sam2

#endif  // SAM2_SERVER_SAM2_SERVICE_H_
