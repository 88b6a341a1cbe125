// ServiceMetrics implementation: every family of the service is defined in
// Init(), in export order. See service_metrics.h.

#include "server/service_metrics.h"

#include <utility>

namespace sam2 {
namespace {

// Label values are built from string_views on each call; the registry keys
// series by std::string.
std::vector<std::string> Labels(std::initializer_list<absl::string_view> values) {
  std::vector<std::string> labels;
  labels.reserve(values.size());
  for (absl::string_view value : values) labels.emplace_back(value);
  return labels;
}

// Propagates a registration error out of Init().
#define SAM2_ASSIGN_OR_RETURN_FAMILY(lhs, expr) \
  do {                                          \
    auto result = (expr);                       \
    if (!result.ok()) return result.status();   \
    lhs = *result;                              \
  } while (false)

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceMetrics>> ServiceMetrics::Create() {
  std::unique_ptr<ServiceMetrics> metrics(new ServiceMetrics());
  absl::Status status = metrics->Init();
  if (!status.ok()) return status;
  return metrics;
}

absl::Status ServiceMetrics::Init() {
  const std::vector<double> latency = DefaultLatencyBuckets();

  absl::Status status = registry_.AddGaugeCallback(
      "sam2_model_info", "The model being served (value is always 1).",
      {"variant", "precision", "device"}, [this] {
        std::vector<CallbackSample> samples;
        std::lock_guard<std::mutex> lock(mu_);
        for (const ModelInfo& info : model_info_) {
          samples.push_back({{info.variant, info.precision, info.device}, 1});
        }
        return samples;
      });
  if (!status.ok()) return status;

  SAM2_ASSIGN_OR_RETURN_FAMILY(
      requests_,
      registry_.AddCounter("sam2_requests_total",
                           "RPCs finished, by method, status code and tenant.",
                           {"method", "code", "tenant"}));
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      failures_,
      registry_.AddCounter("sam2_request_failures_total",
                           "RPCs finished with a non-OK status code.",
                           {"method", "code", "tenant"}));
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      queue_seconds_,
      registry_.AddHistogram("sam2_request_queue_seconds",
                             "Time a request waited in its worker's queue.",
                             {"method", "tenant"}, latency));
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      compute_seconds_,
      registry_.AddHistogram("sam2_request_compute_seconds",
                             "Time a request ran on its worker.",
                             {"method", "tenant"}, latency));
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      latency_seconds_,
      registry_.AddHistogram(
          "sam2_request_latency_seconds",
          "End-to-end RPC latency (streams: until the last message).",
          {"method", "tenant"}, latency));
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      stage_seconds_,
      registry_.AddHistogram(
          "sam2_stage_seconds",
          "Time in one model stage (decode, encoder, decoder, memory, "
          "postprocess).",
          {"stage"}, latency));
  HistogramFamily* first_mask = nullptr;
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      first_mask,
      registry_.AddHistogram("sam2_stream_first_mask_seconds",
                             "Time from a streaming request to its first mask.",
                             {}, latency));
  first_mask_seconds_ = first_mask->WithLabels({});
  HistogramFamily* batch = nullptr;
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      batch, registry_.AddHistogram(
                 "sam2_segment_batch_size",
                 "Segment calls run together in one decoder batch (dynamic "
                 "batching; 1 when it is off or nothing else was waiting).",
                 {}, {1, 2, 4, 8, 16, 32}));
  segment_batch_size_ = batch->WithLabels({});
  CounterFamily* frames = nullptr;
  SAM2_ASSIGN_OR_RETURN_FAMILY(
      frames, registry_.AddCounter("sam2_stream_frames_total",
                                   "Frames of masks sent on streams.", {}));
  stream_frames_ = frames->WithLabels({});

  status = registry_.AddGaugeCallback(
      "sam2_sessions", "Live sessions, by kind.", {"kind"}, [this] {
        std::vector<CallbackSample> samples;
        if (SessionStatsCallback stats = session_stats()) {
          for (const auto& [kind, count] : stats().live_by_kind) {
            samples.push_back({{kind}, static_cast<double>(count)});
          }
        }
        return samples;
      });
  if (!status.ok()) return status;
  status = registry_.AddGaugeCallback(
      "sam2_session_bytes", "Bytes held by all sessions together.", {},
      [this] {
        std::vector<CallbackSample> samples;
        if (SessionStatsCallback stats = session_stats()) {
          samples.push_back({{}, static_cast<double>(stats().bytes)});
        }
        return samples;
      });
  if (!status.ok()) return status;
  // One sample per tenant (not the tenant-less ""), of `field`.
  const auto per_tenant = [this](int64_t SessionStats::TenantUsage::*field) {
    return [this, field] {
      std::vector<CallbackSample> samples;
      if (SessionStatsCallback stats = session_stats()) {
        for (const auto& [tenant, usage] : stats().by_tenant) {
          if (!tenant.empty()) {
            samples.push_back({{tenant}, static_cast<double>(usage.*field)});
          }
        }
      }
      return samples;
    };
  };
  status = registry_.AddGaugeCallback(
      "sam2_tenant_sessions", "Live sessions of each tenant (authentication).",
      {"tenant"}, per_tenant(&SessionStats::TenantUsage::sessions));
  if (!status.ok()) return status;
  status = registry_.AddGaugeCallback(
      "sam2_tenant_session_bytes",
      "Bytes held by each tenant's sessions (authentication).", {"tenant"},
      per_tenant(&SessionStats::TenantUsage::bytes));
  if (!status.ok()) return status;
  status = registry_.AddCallback(
      "sam2_auth_failures_total",
      "Calls refused for want of a valid bearer token, by reason (missing, "
      "invalid).",
      MetricType::kCounter, {"reason"}, [this] {
        std::vector<CallbackSample> samples;
        if (AuthStatsCallback stats = auth_stats()) {
          const AuthStats s = stats();
          samples.push_back({{"missing"}, static_cast<double>(s.missing)});
          samples.push_back({{"invalid"}, static_cast<double>(s.invalid)});
        }
        return samples;
      });
  if (!status.ok()) return status;
  status = registry_.AddCallback(
      "sam2_sessions_removed_total",
      "Sessions removed since start, by kind and reason.",
      MetricType::kCounter, {"kind", "reason"}, [this] {
        std::vector<CallbackSample> samples;
        if (SessionStatsCallback stats = session_stats()) {
          for (const auto& [key, count] : stats().removed_by_kind_reason) {
            samples.push_back(
                {{key.first, key.second}, static_cast<double>(count)});
          }
        }
        return samples;
      });
  if (!status.ok()) return status;
  status = registry_.AddCallback(
      "sam2_embedding_cache_lookups_total",
      "Image embedding cache lookups since start, by result (hit, miss).",
      MetricType::kCounter, {"result"}, [this] {
        std::vector<CallbackSample> samples;
        if (SessionStatsCallback stats = session_stats()) {
          const SessionStats s = stats();
          samples.push_back({{"hit"}, static_cast<double>(s.embedding_cache_hits)});
          samples.push_back(
              {{"miss"}, static_cast<double>(s.embedding_cache_misses)});
        }
        return samples;
      });
  if (!status.ok()) return status;
  status = registry_.AddGaugeCallback(
      "sam2_embedding_cache_bytes",
      "Bytes of image features the embedding cache keeps.", {}, [this] {
        std::vector<CallbackSample> samples;
        if (SessionStatsCallback stats = session_stats()) {
          samples.push_back(
              {{}, static_cast<double>(stats().embedding_cache_bytes)});
        }
        return samples;
      });
  if (!status.ok()) return status;
  status = AddWorkerFamily(
      "sam2_worker_queue_depth", "Tasks waiting in each worker's queue.",
      {"worker"}, [](const WorkerStats& w, std::vector<CallbackSample>& out) {
        out.push_back({{w.worker}, static_cast<double>(w.queue_depth)});
      });
  if (!status.ok()) return status;
  status = AddWorkerFamily(
      "sam2_worker_sessions", "Live sessions pinned to each worker.",
      {"worker"}, [](const WorkerStats& w, std::vector<CallbackSample>& out) {
        out.push_back({{w.worker}, static_cast<double>(w.pinned_sessions)});
      });
  if (!status.ok()) return status;
  status = AddWorkerFamily(
      "sam2_worker_session_bytes",
      "Bytes held by the sessions pinned to each worker (on its device).",
      {"worker"}, [](const WorkerStats& w, std::vector<CallbackSample>& out) {
        out.push_back({{w.worker}, static_cast<double>(w.session_bytes)});
      });
  if (!status.ok()) return status;
  return AddWorkerFamily(
      "sam2_device_memory_bytes",
      "A GPU worker's device memory as the driver reports it.",
      {"worker", "state"},
      [](const WorkerStats& w, std::vector<CallbackSample>& out) {
        if (w.device_memory_free_bytes >= 0) {
          out.push_back({{w.worker, "free"},
                         static_cast<double>(w.device_memory_free_bytes)});
        }
        if (w.device_memory_total_bytes >= 0) {
          out.push_back({{w.worker, "total"},
                         static_cast<double>(w.device_memory_total_bytes)});
        }
      });
}

absl::Status ServiceMetrics::AddWorkerFamily(
    std::string name, std::string help, std::vector<std::string> labels,
    std::function<void(const WorkerStats&, std::vector<CallbackSample>&)>
        sample) {
  return registry_.AddGaugeCallback(
      std::move(name), std::move(help), std::move(labels),
      [this, sample = std::move(sample)] {
        std::vector<CallbackSample> samples;
        if (WorkerStatsCallback stats = worker_stats()) {
          for (const WorkerStats& w : stats()) sample(w, samples);
        }
        return samples;
      });
}

#undef SAM2_ASSIGN_OR_RETURN_FAMILY

std::function<void(absl::string_view, absl::Duration)> StageRecorder(
    ServiceMetrics* metrics) {
  if (metrics == nullptr) return {};
  return [metrics](absl::string_view stage, absl::Duration d) {
    metrics->RecordStage(stage, d);
  };
}

void ServiceMetrics::RecordRequest(absl::string_view method,
                                   absl::string_view code,
                                   std::optional<absl::Duration> queue,
                                   std::optional<absl::Duration> compute,
                                   absl::Duration total,
                                   absl::string_view tenant) {
  const std::vector<std::string> method_and_code =
      Labels({method, code, tenant});
  requests_->WithLabels(method_and_code)->Increment();
  if (code != "OK") failures_->WithLabels(method_and_code)->Increment();
  const std::vector<std::string> method_only = Labels({method, tenant});
  if (queue.has_value()) {
    queue_seconds_->WithLabels(method_only)
        ->Observe(absl::ToDoubleSeconds(*queue));
  }
  if (compute.has_value()) {
    compute_seconds_->WithLabels(method_only)
        ->Observe(absl::ToDoubleSeconds(*compute));
  }
  latency_seconds_->WithLabels(method_only)
      ->Observe(absl::ToDoubleSeconds(total));
}

void ServiceMetrics::RecordStage(absl::string_view stage,
                                 absl::Duration duration) {
  stage_seconds_->WithLabels(Labels({stage}))
      ->Observe(absl::ToDoubleSeconds(duration));
}

void ServiceMetrics::RecordFirstMask(absl::Duration duration) {
  first_mask_seconds_->Observe(absl::ToDoubleSeconds(duration));
}

void ServiceMetrics::RecordStreamFrame() { stream_frames_->Increment(); }

void ServiceMetrics::RecordSegmentBatch(int size) {
  segment_batch_size_->Observe(size);
}

void ServiceMetrics::SetModelInfo(std::vector<ModelInfo> info) {
  std::lock_guard<std::mutex> lock(mu_);
  model_info_ = std::move(info);
}

void ServiceMetrics::SetSessionStatsCallback(SessionStatsCallback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  session_stats_ = std::move(callback);
}

void ServiceMetrics::SetWorkerStatsCallback(WorkerStatsCallback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  worker_stats_ = std::move(callback);
}

SessionStatsCallback ServiceMetrics::session_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return session_stats_;
}

void ServiceMetrics::SetAuthStatsCallback(AuthStatsCallback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  auth_stats_ = std::move(callback);
}

AuthStatsCallback ServiceMetrics::auth_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return auth_stats_;
}

WorkerStatsCallback ServiceMetrics::worker_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return worker_stats_;
}

}  // namespace sam2
