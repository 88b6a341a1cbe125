#include "server/server_app.h"

#include <ATen/Parallel.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/worker_call.h"
#include "absl/time/clock.h"
#include "model/device.h"
#include "model/image_predictor.h"
#include "model/model_loader.h"
#include "model/precision.h"
#include "model/torch_error.h"
#include "model/video_frames.h"
#include "server/tls_credentials.h"
#include "server/web_ui.h"
#include "server/worker_warm_up.h"
#include "session/session_id.h"

namespace sam2 {
namespace {

constexpr char kVersion[] = "0.1.0";
// Timed encoder runs per worker when placement measures the workers' speeds;
// the fastest counts (they run before the warm-up, so the first pays for
// allocations and, on a GPU, kernel choices).
constexpr int kEncoderTimingRuns = 3;
constexpr char kMeaninglessWarning[] =
    "THIS SERVER RUNS THE BUNDLED TEST MODEL WITH RANDOM WEIGHTS: ITS MASKS "
    "ARE MEANINGLESS. Start it with --checkpoint=<an official SAM 2 / 2.1 "
    "checkpoint> (scripts/download_checkpoints.sh fetches them).";

// Sets the pool's worker speeds for placement (server/worker_speed.h),
// timing the image encoder on every worker when `choice` asks for it, and
// reports them in `info` (indexed like the workers).
absl::Status WeighWorkers(const WorkerModels& workers,
                          const WorkerSpeedsChoice& choice, WorkerPool& pool,
                          std::vector<v1::WorkerInfo>& info) {
  std::vector<double> speeds(workers.size(), 1.0);
  std::vector<absl::Duration> encoder(workers.size(), absl::ZeroDuration());
  std::vector<std::string> kinds;
  for (const WorkerModel& w : workers) kinds.push_back(DeviceKind(w.device));
  if (choice.mode == WorkerSpeedsChoice::Mode::kGiven) {
    speeds = choice.given;
  } else if (ShouldMeasureWorkerSpeeds(choice, kinds)) {
    for (size_t w = 0; w < workers.size(); ++w) {
      const WorkerModel* worker = &workers[w];
      absl::Duration* out = &encoder[w];
      const absl::Status timed = RunOnWorker(
          pool, static_cast<int>(w), absl::InfiniteFuture(),
          [worker, out]() -> absl::Status {
            absl::StatusOr<absl::Duration> t =
                TimeImageEncoder(*worker, kEncoderTimingRuns);
            if (!t.ok()) return t.status();
            *out = *t;
            return absl::OkStatus();
          });
      if (!timed.ok()) {
        return absl::Status(
            timed.code(), absl::StrCat("timing the encoder on ",
                                       DeviceName(worker->device), ": ",
                                       timed.message()));
      }
    }
    speeds = RelativeSpeeds(encoder);
  }
  if (absl::Status s = pool.SetWorkerSpeeds(speeds); !s.ok()) return s;
  // Reported relative to the fastest, whatever scale a given list used.
  const double fastest = *std::max_element(speeds.begin(), speeds.end());
  for (size_t w = 0; w < workers.size(); ++w) {
    info[w].set_relative_speed(speeds[w] / fastest);
    info[w].set_encoder_ms(absl::ToDoubleMilliseconds(encoder[w]));
    if (workers.size() > 1) {
      const std::string name = DeviceName(workers[w].device);
      std::cerr << absl::StrFormat(
          "sam2_server: worker %d (%s): relative speed %.3g", w,
          kinds[w] == name ? name : absl::StrCat(name, ", ", kinds[w]),
          info[w].relative_speed());
      if (encoder[w] > absl::ZeroDuration()) {
        std::cerr << absl::StrFormat(" (image encoder %.1f ms)",
                                     info[w].encoder_ms());
      }
      std::cerr << "\n";
    }
  }
  return absl::OkStatus();
}

void FillLimits(const ServerAppOptions& o, v1::Limits* out) {
  out->set_max_message_bytes(o.grpc.max_receive_message_bytes);
  out->set_max_image_side(o.limits.image.decode.max_side);
  out->set_max_image_pixels(o.limits.image.decode.max_pixels);
  out->set_max_points(o.limits.image.max_points);
  out->set_max_boxes(o.limits.image.max_boxes);
  out->set_max_objects(o.limits.video.max_objects);
  out->set_max_video_frames(static_cast<int32_t>(o.limits.video.frames.max_frames));
  out->set_max_video_side(static_cast<int32_t>(o.limits.video.frames.max_side));
  out->set_max_video_upload_bytes(o.limits.max_video_upload_bytes);
  out->set_idle_ttl_seconds(absl::ToInt64Seconds(o.sessions.idle_ttl));
  out->set_absolute_ttl_seconds(absl::ToInt64Seconds(o.sessions.absolute_ttl));
  out->set_max_sessions(static_cast<int32_t>(o.sessions.max_sessions));
}

// Metric labels for the workers: the device name, and "#<worker>" after it
// when two workers share a device.
std::vector<std::string> WorkerLabels(const WorkerModels& workers) {
  std::map<std::string, int> uses;
  for (const WorkerModel& w : workers) ++uses[DeviceName(w.device)];
  std::vector<std::string> labels;
  for (size_t i = 0; i < workers.size(); ++i) {
    const std::string name = DeviceName(workers[i].device);
    labels.push_back(uses[name] > 1 ? absl::StrCat(name, "#", i) : name);
  }
  return labels;
}

}  // namespace

absl::StatusOr<ServedModel> BuildServedModel(
    const LoadedModel& loaded, bool meaningless,
    const std::vector<c10::Device>& devices, PrecisionChoice precision) {
  if (devices.empty()) {
    return absl::InvalidArgumentError("the model needs at least one device");
  }
  ServedModel model;
  for (const c10::Device& device : devices) {
    WorkerModel worker;
    worker.device = device;
    worker.precision = ResolveDevicePrecision(precision, device);
    // A device named twice shares one copy of the weights and the
    // predictors (--device refuses duplicates; tests build such models).
    for (const WorkerModel& built : model.workers) {
      if (built.device == device) {
        worker.image = built.image;
        worker.video = built.video;
      }
    }
    if (worker.image == nullptr) {
      StateDict weights;
      try {
        weights = loaded.weights.To(device);
      } catch (const c10::Error& e) {
        return TorchError(
            absl::StrCat("moving the weights to ", DeviceName(device), ": "),
            e);
      }
      absl::StatusOr<std::shared_ptr<const Sam2Model>> image =
          Sam2Model::Create(loaded.config, weights);
      if (!image.ok()) return image.status();
      worker.image = *std::move(image);
      absl::StatusOr<std::shared_ptr<const VideoPredictor>> video =
          VideoPredictor::Create(loaded.config, weights);
      if (!video.ok()) return video.status();
      worker.video = *std::move(video);
    }
    model.workers.push_back(std::move(worker));
  }
  model.variant = loaded.config.name;
  model.checkpoint = loaded.checkpoint_path;
  model.meaningless = meaningless;
  return model;
}

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(
    ServerAppOptions options, ServedModel model) {
  if (model.workers.empty()) {
    return absl::InvalidArgumentError("ServerApp needs a loaded model");
  }
  for (const WorkerModel& w : model.workers) {
    if (w.image == nullptr || w.video == nullptr) {
      return absl::InvalidArgumentError("ServerApp needs a loaded model");
    }
  }
  if (absl::Status s = ValidateTlsConfig(options.tls); !s.ok()) return s;
  // Each worker's sessions live on its device: a GPU's budget is also
  // bounded by what it has free after the weights.
  std::vector<v1::WorkerInfo> worker_info;
  options.sessions.worker_max_bytes.assign(model.workers.size(), 0);
  for (size_t w = 0; w < model.workers.size(); ++w) {
    const WorkerModel& worker = model.workers[w];
    v1::WorkerInfo& out = worker_info.emplace_back();
    out.set_device(DeviceName(worker.device));
    out.set_precision(std::string(PrecisionName(worker.precision)));
    out.set_session_budget_bytes(options.sessions.max_bytes);
    if (!worker.device.is_cuda()) continue;
    absl::StatusOr<DeviceMemory> memory = QueryDeviceMemory(worker.device);
    if (!memory.ok()) return memory.status();
    const int64_t budget = DeviceStateBudget(
        options.sessions.max_bytes, *memory, options.device_memory_fraction);
    std::cerr << "sam2_server: " << DeviceName(worker.device) << ": "
              << (memory->free_bytes >> 20) << " MiB free of "
              << (memory->total_bytes >> 20) << " MiB; session budget "
              << (budget >> 20) << " MiB\n";
    options.sessions.worker_max_bytes[w] = budget;
    out.set_memory_total_bytes(memory->total_bytes);
    out.set_memory_free_bytes(memory->free_bytes);
    out.set_session_budget_bytes(budget);
  }
  std::unique_ptr<ServerApp> app(new ServerApp());
  app->model_ = std::move(model);
  app->options_ = options;
  const ServedModel& m = app->model_;
  Clock* clock = options.clock != nullptr ? options.clock : RealClock();

  std::string instance_id =
      options.instance_id.empty() ? NewInstanceId() : options.instance_id;
  if (absl::Status s = ValidateInstanceId(instance_id); !s.ok()) return s;

  absl::StatusOr<std::unique_ptr<ServiceMetrics>> metrics =
      ServiceMetrics::Create();
  if (!metrics.ok()) return metrics.status();
  app->metrics_ = *std::move(metrics);
  app->tenant_in_flight_ = std::make_unique<TenantInFlight>();
  if (!options.auth.token_file.empty()) {
    absl::StatusOr<std::unique_ptr<Authenticator>> auth =
        Authenticator::Create(options.auth);
    if (!auth.ok()) return auth.status();
    app->auth_ = *std::move(auth);
    Authenticator* a = app->auth_.get();
    app->metrics_->SetAuthStatsCallback([a] {
      return AuthStats{a->failures(AuthFailure::kMissing),
                       a->failures(AuthFailure::kInvalid)};
    });
  }
  Authenticator* authenticator = app->auth_.get();
  TenantInFlight* tenant_in_flight = app->tenant_in_flight_.get();
  {
    // One sample per device (workers sharing a device share its labels).
    std::vector<ModelInfo> model_info;
    std::set<std::string> devices;
    for (const WorkerModel& w : m.workers) {
      if (!devices.insert(DeviceName(w.device)).second) continue;
      model_info.push_back(
          {m.meaningless ? "random-weight test model (" + m.variant + ")"
                         : m.variant,
           std::string(PrecisionName(w.precision)), DeviceName(w.device)});
    }
    app->metrics_->SetModelInfo(std::move(model_info));
  }

  app->store_ = std::make_unique<SessionStore>(options.sessions, instance_id,
                                               clock);
  app->embedding_cache_ =
      std::make_unique<EmbeddingCache>(options.embedding_cache_bytes);
  EmbeddingCache* embedding_cache = app->embedding_cache_.get();
  if (options.reap_interval > absl::ZeroDuration()) {
    app->reaper_ = std::make_unique<SessionReaper>(app->store_.get(),
                                                   options.reap_interval);
  }

  // One worker per device.
  WorkerPoolOptions pool_options;
  pool_options.num_workers = static_cast<int>(m.workers.size());
  pool_options.queue_capacity = options.queue_capacity;
  const int threads = options.intra_op_threads;
  pool_options.on_worker_start = [threads, workers = m.workers](int w) {
    if (threads > 0) at::set_num_threads(threads);
    // Autocast and the current device are per thread: every model call of
    // this worker follows them.
    UseDeviceOnThisThread(workers[w].device, workers[w].precision);
  };
  // Deadlines are gRPC's, in real time: the pool reads the real clock even
  // when a test injects a fake one for session expiry.
  app->pool_ = std::make_unique<WorkerPool>(pool_options, RealClock());
  // Before anything listens: GetServerInfo reports the speeds.
  if (absl::Status s = WeighWorkers(m.workers, options.worker_speeds,
                                    *app->pool_, worker_info);
      !s.ok()) {
    return s;
  }

  SessionStore* store = app->store_.get();
  WorkerPool* pool = app->pool_.get();
  app->metrics_->SetSessionStatsCallback([store, embedding_cache] {
    const SessionStoreStats stats = store->Stats();
    SessionStats out;
    const EmbeddingCacheStats cache = embedding_cache->Stats();
    out.embedding_cache_hits = cache.hits;
    out.embedding_cache_misses = cache.misses;
    out.embedding_cache_bytes = cache.bytes;
    out.live_by_kind["image"] = stats.live_image;
    out.live_by_kind["video"] = stats.live_video;
    out.bytes = stats.bytes_held;
    for (const auto& [tenant, usage] : stats.by_tenant) {
      out.by_tenant[tenant] = {usage.sessions, usage.bytes};
    }
    for (const auto& [key, n] : stats.removed_by_reason) {
      const size_t slash = key.find('/');
      out.removed_by_kind_reason[{key.substr(0, slash),
                                  key.substr(slash + 1)}] = n;
    }
    return out;
  });
  app->metrics_->SetWorkerStatsCallback([pool, store,
                                         labels = WorkerLabels(m.workers),
                                         workers = m.workers] {
    const SessionStoreStats sessions = store->Stats();
    std::vector<WorkerStats> out;
    for (int w = 0; w < pool->num_workers(); ++w) {
      WorkerStats stats;
      stats.worker = labels[w];
      stats.queue_depth = pool->QueueDepth(w);
      auto n = sessions.sessions_by_worker.find(w);
      stats.pinned_sessions =
          n == sessions.sessions_by_worker.end() ? 0 : n->second;
      auto held = sessions.bytes_by_worker.find(w);
      stats.session_bytes =
          held == sessions.bytes_by_worker.end() ? 0 : held->second;
      if (workers[w].device.is_cuda()) {
        absl::StatusOr<DeviceMemory> memory =
            QueryDeviceMemory(workers[w].device);
        if (memory.ok()) {
          stats.device_memory_free_bytes = memory->free_bytes;
          stats.device_memory_total_bytes = memory->total_bytes;
        }
      }
      out.push_back(std::move(stats));
    }
    return out;
  });

  v1::ServerInfo& info = app->info_;
  info.set_instance_id(instance_id);
  info.set_model_variant(m.variant);
  info.set_checkpoint(m.checkpoint);
  info.set_meaningless_masks(m.meaningless);
  if (m.meaningless) info.set_warning(kMeaninglessWarning);
  info.set_image_size(m.workers.front().image->config().image_size);
  for (v1::WorkerInfo& w : worker_info) {
    info.add_devices(w.device());
    *info.add_workers() = std::move(w);
  }
  info.set_version(kVersion);
  FillLimits(options, info.mutable_limits());

  Sam2ServiceOptions service_options;
  service_options.workers = m.workers;
  service_options.store = store;
  service_options.pool = pool;
  service_options.metrics = app->metrics_.get();
  service_options.embedding_cache = embedding_cache;
  service_options.authenticator = authenticator;
  service_options.tenant_in_flight = tenant_in_flight;
  if (options.segment_batching.max_batch > 1) {
    SegmentBatcherOptions batching = options.segment_batching;
    batching.queue_capacity = options.queue_capacity;
    ServiceMetrics* metrics = app->metrics_.get();
    app->segment_batcher_ = std::make_unique<SegmentBatcher>(
        pool, m.workers, store, batching, StageRecorder(metrics),
        [metrics](int size) { metrics->RecordSegmentBatch(size); });
    service_options.segment_batcher = app->segment_batcher_.get();
  }
  service_options.limits = options.limits;
  service_options.info = info;
  app->service_ = std::make_unique<Sam2Service>(std::move(service_options));

  GrpcServerOptions grpc_options = options.grpc;
  grpc_options.credentials = GrpcServerCredentials(options.tls);
  grpc_options.services.push_back(app->service_.get());
  grpc_options.serving_at_start = false;
  absl::StatusOr<std::unique_ptr<GrpcServer>> grpc =
      GrpcServer::Start(grpc_options);
  if (!grpc.ok()) return grpc.status();
  app->grpc_ = *std::move(grpc);

  if (!options.http_address.empty()) {
    HttpServerOptions http_options;
    http_options.address = options.http_address;
    http_options.tls = options.tls;
    ServerApp* self = app.get();
    ServiceMetrics* metrics_ptr = app->metrics_.get();
    http_options.routes.push_back(
        MetricsRoute([metrics_ptr] { return metrics_ptr->Render(); }));
    http_options.routes.push_back(
        HealthRoute("/ping", [self] { return self->serving(); }));
    http_options.routes.push_back(
        HealthRoute("/healthz", [self] { return self->serving(); }));
    if (options.invocations) {
      InvocationsOptions invocations;
      invocations.workers = m.workers;
      invocations.store = store;
      invocations.pool = pool;
      invocations.metrics = metrics_ptr;
      invocations.embedding_cache = embedding_cache;
      invocations.authenticator = authenticator;
      invocations.tenant_in_flight = tenant_in_flight;
      invocations.limits = options.limits.image;
      Sam2Service* service = app->service_.get();
      invocations.draining = [service] { return service->draining(); };
      http_options.routes.push_back(InvocationsRoute(std::move(invocations)));
    }
    if (options.web_ui) {
      WebApiOptions web;
      web.workers = m.workers;
      web.store = store;
      web.pool = pool;
      web.metrics = metrics_ptr;
      web.embedding_cache = embedding_cache;
      web.authenticator = authenticator;
      web.tenant_in_flight = tenant_in_flight;
      web.limits = options.limits;
      Sam2Service* service = app->service_.get();
      web.draining = [service] { return service->draining(); };
      web.info_json.clear();  // MessageToJsonString appends
      if (!google::protobuf::util::MessageToJsonString(info, &web.info_json)
               .ok()) {
        return absl::InternalError("cannot write the server info as JSON");
      }
      for (HttpRoute& route : WebApiRoutes(web)) {
        http_options.routes.push_back(std::move(route));
      }
      for (HttpRoute& route : WebUiRoutes()) {
        http_options.routes.push_back(std::move(route));
      }
      // The API's calls and streams hold a thread each while they run:
      // threads of their own (their caps), so /metrics and /ping keep
      // theirs.
      http_options.num_threads += web.max_streams + web.max_calls;
    }
    if (authenticator != nullptr) {
      // Refused before their bodies are read; the handlers then admit the
      // caller as their tenant. /ping, /healthz and the page stay open.
      for (HttpRoute& route : http_options.routes) {
        if (absl::StartsWith(route.path, "/api/v1/") ||
            route.path == "/invocations" ||
            (route.path == "/metrics" && options.metrics_require_token)) {
          route.authenticate = [authenticator](const HttpRequest& request) {
            return authenticator->Authenticate(request.Header("authorization"))
                .status();
          };
        }
      }
    }
    absl::StatusOr<std::unique_ptr<HttpServer>> http =
        HttpServer::Start(http_options);
    if (!http.ok()) return http.status();
    app->http_ = *std::move(http);
  }

  // Every worker warms its own device, one after the other.
  for (int w = 0; options.warm_up && w < pool->num_workers(); ++w) {
    const WorkerModel* worker = &m.workers[w];
    const absl::Status warm =
        RunOnWorker(*pool, w, absl::InfiniteFuture(),
                    [worker] { return WarmUpWorker(*worker); }, nullptr);
    if (!warm.ok()) {
      return absl::Status(
          warm.code(), absl::StrCat("warm-up failed on ",
                                    DeviceName(worker->device), ": ",
                                    warm.message()));
    }
  }
  if (m.meaningless) {
    std::cerr << "sam2_server: WARNING: " << kMeaninglessWarning << "\n";
  }
  app->serving_.store(true);
  app->grpc_->SetServing(true);
  return app;
}

bool ServerApp::serving() const { return serving_.load(); }

void ServerApp::Drain(absl::Duration grace) {
  if (drained_) return;
  drained_ = true;
  serving_.store(false);
  grpc_->SetServing(false);
  service_->StartDraining();
  const absl::Duration delay = std::min(options_.drain_delay, grace);
  if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
  // Unary calls get until the grace deadline; streams still running then
  // are cancelled and stop at their next frame.
  grpc_->Shutdown(grace - delay);
  pool_->Shutdown();
  reaper_.reset();
  http_.reset();
}

ServerApp::~ServerApp() {
  if (grpc_ != nullptr) Drain(absl::ZeroDuration());
}

}  // namespace sam2
