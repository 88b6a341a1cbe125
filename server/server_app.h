// ServerApp: the whole server assembled — model, session store and its
// reaper, worker pool, the sam2.v1 service, the gRPC server (health,
// reflection, keepalive, size limits) and the HTTP side (/metrics, /ping,
// /healthz) — so the binary's main() and the in-process tests start exactly
// the same thing.
//
// Start order: the model is loaded (BuildServedModel) and, when placement
// needs them, the workers' speeds timed (server/worker_speed.h) before
// anything listens; the gRPC server starts NOT_SERVING, a warm-up runs every model
// path once on the workers (first calls allocate and pick kernels), and only
// then does health say SERVING. Drain(grace) is the SIGTERM path: health
// NOT_SERVING and no new sessions (UNAVAILABLE) at once; existing sessions
// are still served for `drain_delay`; then gRPC takes no new calls,
// in-flight unary calls finish, streams are cancelled at the grace deadline
// (they stop within one frame), and the workers and the HTTP side stop.
//
// Thread-safety: Start and Drain from one thread (main or a test); the
// accessors from any thread.

#ifndef SAM2_SERVER_SERVER_APP_H_
#define SAM2_SERVER_SERVER_APP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/model_loader.h"
#include "model/sam2_model.h"
#include "model/video_predictor.h"
#include "protos/sam2/v1/sam2.pb.h"
#include "model/precision.h"
#include "server/authenticator.h"
#include "server/grpc_server.h"
#include "server/http_server.h"
#include "server/invocations.h"
#include "server/web_api.h"
#include "server/sam2_service.h"
#include "server/service_metrics.h"
#include "server/segment_batcher.h"
#include "server/tenant_in_flight.h"
#include "server/tls_config.h"
#include "server/worker_model.h"
#include "server/worker_speed.h"
#include "server/worker_pool.h"
#include "session/clock.h"
#include "session/session_reaper.h"
#include "session/embedding_cache.h"
#include "session/session_store.h"

namespace sam2 {

inline constexpr absl::Duration kDefaultReapInterval = absl::Seconds(15);
inline constexpr double kDefaultDeviceMemoryFraction = 0.8;

// The model as the server serves it.
struct ServedModel {
  // One per worker of the pool, in worker order: its device, precision and
  // predictors (server/worker_model.h). At least one.
  WorkerModels workers;
  std::string variant;     // "sam2.1_hiera_tiny", or "custom"
  std::string checkpoint;  // file it came from
  // The bundled random-weight test model: masks mean nothing.
  bool meaningless = false;
};

// Builds both predictors from loaded weights + config (model_loader.h) for
// each of `devices`, one worker each (the weights are copied to a device
// once; its image and video predictors share that copy), computing at the
// precision `precision` resolves to on that device (ResolveDevicePrecision).
// RESOURCE_EXHAUSTED when a device has no room for the weights;
// INVALID_ARGUMENT for no device.
absl::StatusOr<ServedModel> BuildServedModel(
    const LoadedModel& loaded, bool meaningless,
    const std::vector<c10::Device>& devices = {c10::Device(c10::kCPU)},
    PrecisionChoice precision = PrecisionChoice::kFloat32);

struct ServerAppOptions {
  GrpcServerOptions grpc;
  // HTTP side (/metrics, /ping, /healthz); empty: none.
  std::string http_address = "127.0.0.1:9090";
  // Also serve SageMaker's POST /invocations there (server/invocations.h).
  bool invocations = true;
  // Also serve the web annotation page and its JSON API there
  // (server/web_ui.h, server/web_api.h).
  bool web_ui = true;
  // TLS on both ports (gRPC and HTTP) from these files, mutual TLS with a
  // client CA, re-read without a restart (server/tls_config.h); no
  // certificate: plaintext. Start fails when the files do not check out.
  TlsConfig tls;
  // Queued tasks per worker; LibTorch's intra-op threads (0: its default),
  // for every worker.
  int queue_capacity = 64;
  int intra_op_threads = 0;
  // Dynamic batching of Segment calls (server/segment_batcher.h); max_batch
  // 1 turns it off. Its queue_capacity is queue_capacity above.
  SegmentBatcherOptions segment_batching;
  SessionStoreOptions sessions;
  // Sessions on a GPU worker may also hold at most this share of the
  // device's free memory (after the weights); see DeviceStateBudget. Sets
  // sessions.worker_max_bytes.
  double device_memory_fraction = kDefaultDeviceMemoryFraction;
  // How placement weighs the workers (server/worker_speed.h): by default
  // measured at start when they run on different kinds of device. A given
  // list needs one value per worker.
  WorkerSpeedsChoice worker_speeds;
  // Image features kept by content hash beside the sessions (0: none); see
  // session/embedding_cache.h.
  int64_t embedding_cache_bytes = kDefaultEmbeddingCacheBytes;
  ServiceLimits limits;
  absl::Duration reap_interval = kDefaultReapInterval;
  // Empty: a random one (NewInstanceId). Kubernetes may pass the pod name.
  std::string instance_id;
  // Not owned; null: the real clock. Tests inject a FakeClock.
  Clock* clock = nullptr;
  bool warm_up = true;
  // Drain, phase one: for this long (within the grace period) health says
  // NOT_SERVING and new sessions get UNAVAILABLE while calls on existing
  // sessions are still served, so load balancers route new work elsewhere
  // before gRPC stops taking calls.
  absl::Duration drain_delay = absl::ZeroDuration();
  // Bearer tokens and tenants (server/authenticator.h): with a token file
  // every sam2.v1 call, /api/v1/* and /invocations need a valid token
  // (health, reflection, /ping, /healthz and the /ui/ page stay open);
  // empty token_file: no authentication, one anonymous tenant "".
  AuthOptions auth;
  // With a token file, /metrics needs a token too.
  bool metrics_require_token = false;
};

class ServerApp {
 public:
  static absl::StatusOr<std::unique_ptr<ServerApp>> Start(
      ServerAppOptions options, ServedModel model);
  ~ServerApp();  // Drain(0) if not drained

  int port() const { return grpc_->port(); }
  // 0 when there is no HTTP side.
  int http_port() const { return http_ ? http_->port() : 0; }
  const v1::ServerInfo& info() const { return info_; }
  SessionStore& store() { return *store_; }
  // Null without a token file.
  Authenticator* authenticator() { return auth_.get(); }
  TenantInFlight& tenant_in_flight() { return *tenant_in_flight_; }
  ServiceMetrics& metrics() { return *metrics_; }
  WorkerPool& pool() { return *pool_; }
  // The sam2.v1 service (tests: StartDraining alone, without stopping gRPC).
  Sam2Service& service() { return *service_; }
  bool serving() const;

  void Drain(absl::Duration grace);

 private:
  ServerApp() = default;

  ServerAppOptions options_;
  ServedModel model_;
  v1::ServerInfo info_;
  std::unique_ptr<ServiceMetrics> metrics_;
  // Before everything that serves calls: they use them until stopped.
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<TenantInFlight> tenant_in_flight_;
  std::unique_ptr<SessionStore> store_;
  std::unique_ptr<EmbeddingCache> embedding_cache_;
  std::unique_ptr<SessionReaper> reaper_;
  // Before pool_: the pool's shutdown runs the batcher's queued drain tasks.
  std::unique_ptr<SegmentBatcher> segment_batcher_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<Sam2Service> service_;
  std::unique_ptr<GrpcServer> grpc_;
  std::unique_ptr<HttpServer> http_;
  std::atomic<bool> serving_{false};
  bool drained_ = false;
};

}  // namespace sam2

#endif  // SAM2_SERVER_SERVER_APP_H_
