// ServiceMetrics: the SAM 2 service's own Prometheus metrics, defined in one
// place (names, help, labels, buckets) on top of MetricsRegistry. The server
// calls plain methods; no gRPC or proto types appear here, so status codes
// arrive as their canonical names ("OK", "NOT_FOUND", ...).
//
// Exported families (in this order):
//   sam2_model_info{variant,precision,device}        gauge, 1 once set
//   sam2_requests_total{method,code,tenant}          counter
//   sam2_request_failures_total{method,code,tenant}  counter, non-OK only
//   sam2_request_queue_seconds{method,tenant}        histogram
//   sam2_request_compute_seconds{method,tenant}      histogram
//   sam2_request_latency_seconds{method,tenant}      histogram, end to end
//   sam2_stage_seconds{stage}                        histogram
//   sam2_stream_first_mask_seconds                   histogram
//   sam2_stream_frames_total                         counter
//   sam2_sessions{kind}                              gauge (callback)
//   sam2_session_bytes                               gauge (callback)
//   sam2_tenant_sessions{tenant}                     gauge (callback)
//   sam2_tenant_session_bytes{tenant}                gauge (callback)
//   sam2_auth_failures_total{reason}                 counter (callback)
//   sam2_sessions_removed_total{kind,reason}         counter (callback)
//   sam2_embedding_cache_lookups_total{result}       counter (callback), hit/miss
//   sam2_embedding_cache_bytes                       gauge (callback)
//   sam2_worker_queue_depth{worker}                  gauge (callback)
//   sam2_worker_sessions{worker}                     gauge (callback), pinned
//   sam2_worker_session_bytes{worker}                gauge (callback)
//   sam2_device_memory_bytes{worker,state}           gauge (callback), GPU
//                                                    workers: free / total
//
// The worker label names the worker's device ("cpu", "cuda:0"; "cpu#1"
// when two workers share one). sam2_model_info has one sample per worker.
//
// The tenant label: the tenant of the bearer token a call carried (tenants
// come only from the token file, so its values are bounded). Without
// authentication it is "", which the registry leaves out of the text (see
// metrics.h), so the series read exactly as they did before tenants; the
// tenant families then export nothing, nor does sam2_auth_failures_total.
//
// Ownership: the server owns one ServiceMetrics for the process's life and
// hands Render (e.g. as a lambda) to the HTTP /metrics handler. Callbacks
// installed with Set*Callback must stay callable until the ServiceMetrics is
// destroyed or the callback is replaced (pass nullptr to remove one).
//
// Thread-safety: every method may be called from any thread. Record* take
// only a family's reader lock (a writer lock the first time a label
// combination is seen) and update atomics; Set*Callback and Render may race
// safely (a scrape sees the old or the new callback). Callbacks run on the
// scraping thread with no metrics lock held.

#ifndef SAM2_SERVER_SERVICE_METRICS_H_
#define SAM2_SERVER_SERVICE_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/metrics.h"

namespace sam2 {

// Stage names for RecordStage. The label is free-form (the registry caps the
// number of distinct values at kMaxSeriesPerFamily); these are the ones the
// server uses, so dashboards can rely on them.
inline constexpr absl::string_view kStageDecode = "decode";  // image/video decode
inline constexpr absl::string_view kStageEncoder = "encoder";  // image encoder
inline constexpr absl::string_view kStageDecoder = "decoder";  // prompt + mask decoder
inline constexpr absl::string_view kStageMemory = "memory";  // memory attention/encoder
inline constexpr absl::string_view kStagePostprocess = "postprocess";  // resize, RLE, PNG

// Session-store figures read at each scrape.
struct SessionStats {
  // Live sessions by kind ("image", "video").
  std::map<std::string, int64_t> live_by_kind;
  // Bytes held by all sessions together (what the byte budget counts).
  int64_t bytes = 0;
  // Sessions removed since start, by (kind, reason); reason e.g. "deleted",
  // "expired", "evicted". Monotonic: exported as a counter.
  std::map<std::pair<std::string, std::string>, int64_t> removed_by_kind_reason;
  // The embedding cache beside the store (session/embedding_cache.h):
  // lookups since start (monotonic) and the bytes it keeps.
  int64_t embedding_cache_hits = 0;
  int64_t embedding_cache_misses = 0;
  int64_t embedding_cache_bytes = 0;
  // Live sessions and their bytes by tenant ("" without authentication:
  // not exported).
  struct TenantUsage {
    int64_t sessions = 0;
    int64_t bytes = 0;
  };
  std::map<std::string, TenantUsage> by_tenant;
};
using SessionStatsCallback = std::function<SessionStats()>;

// Calls refused by the authenticator since start, by reason.
struct AuthStats {
  int64_t missing = 0;  // no token sent
  int64_t invalid = 0;  // malformed, or no tenant has it
};
using AuthStatsCallback = std::function<AuthStats()>;

// Queued tasks per worker; `worker` names the device, e.g. "cpu", "cuda:0".
// One worker (= device) at scrape time.
struct WorkerStats {
  std::string worker;
  int64_t queue_depth = 0;
  int64_t pinned_sessions = 0;
  int64_t session_bytes = 0;
  // Negative: not a GPU, or the driver could not say.
  int64_t device_memory_free_bytes = -1;
  int64_t device_memory_total_bytes = -1;
};
using WorkerStatsCallback = std::function<std::vector<WorkerStats>()>;

// Labels of sam2_model_info.
struct ModelInfo {
  std::string variant;    // e.g. "sam2.1_hiera_tiny"
  std::string precision;  // "float32" or "bfloat16"
  std::string device;     // "cpu", "cuda"
};

class ServiceMetrics;

// RecordStage of `metrics` as a callable, e.g. a session's StageObserver;
// empty when `metrics` is null.
std::function<void(absl::string_view stage, absl::Duration duration)>
StageRecorder(ServiceMetrics* metrics);

class ServiceMetrics {
 public:
  // Registers every family. Fails only on a programming error in the
  // definitions (an invalid or duplicate name).
  static absl::StatusOr<std::unique_ptr<ServiceMetrics>> Create();

  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  // One finished RPC. `code` is the canonical status code name ("OK",
  // "INVALID_ARGUMENT", ...); non-OK codes also count as failures. `queue`
  // and `compute` are nullopt when the request never reached a worker (e.g.
  // rejected while parsing), so they don't skew those histograms with zeros.
  // `total` is the end-to-end latency (for a stream: until the last message).
  // `tenant`: the caller's tenant, "" without authentication.
  void RecordRequest(absl::string_view method, absl::string_view code,
                     std::optional<absl::Duration> queue,
                     std::optional<absl::Duration> compute,
                     absl::Duration total, absl::string_view tenant = "");

  // Time spent in one stage of the model (see kStage*).
  void RecordStage(absl::string_view stage, absl::Duration duration);

  // A streaming call's time from the start of the request to its first mask.
  void RecordFirstMask(absl::Duration duration);

  // One frame's masks sent on a stream.
  void RecordStreamFrame();

  // Segment calls run as one decoder batch (server/segment_batcher.h).
  void RecordSegmentBatch(int size);

  // Exports sam2_model_info with these labels (value 1); a later call
  // replaces the labels.
  void SetModelInfo(std::vector<ModelInfo> info);

  // Scrape-time sources; nullptr removes one (its families then export no
  // samples). The session callback runs once for each of its three families
  // per scrape, so it should be a cheap snapshot under the store's lock.
  void SetSessionStatsCallback(SessionStatsCallback callback);
  void SetWorkerStatsCallback(WorkerStatsCallback callback);
  // Installed only when the server authenticates.
  void SetAuthStatsCallback(AuthStatsCallback callback);

  // The exposition text for /metrics.
  std::string Render() const { return registry_.Render(); }

  // For metrics defined elsewhere that should be scraped with these.
  MetricsRegistry& registry() { return registry_; }

 private:
  ServiceMetrics() = default;
  absl::Status Init();

  // Copies of the installed callbacks, taken under mu_ and called outside it.
  SessionStatsCallback session_stats() const;
  WorkerStatsCallback worker_stats() const;
  // Adds a sam2_worker_* / sam2_device_* gauge family whose samples
  // `sample` appends for each worker.
  absl::Status AddWorkerFamily(
      std::string name, std::string help, std::vector<std::string> labels,
      std::function<void(const WorkerStats&, std::vector<CallbackSample>&)>
          sample);
  AuthStatsCallback auth_stats() const;

  MetricsRegistry registry_;
  CounterFamily* requests_ = nullptr;
  CounterFamily* failures_ = nullptr;
  HistogramFamily* queue_seconds_ = nullptr;
  HistogramFamily* compute_seconds_ = nullptr;
  HistogramFamily* latency_seconds_ = nullptr;
  HistogramFamily* stage_seconds_ = nullptr;
  Histogram* first_mask_seconds_ = nullptr;
  Histogram* segment_batch_size_ = nullptr;
  Counter* stream_frames_ = nullptr;

  // std::mutex, not absl::Mutex, so --config=tsan sees it (see metrics.h).
  mutable std::mutex mu_;
  std::vector<ModelInfo> model_info_ ABSL_GUARDED_BY(mu_);
  SessionStatsCallback session_stats_ ABSL_GUARDED_BY(mu_);
  WorkerStatsCallback worker_stats_ ABSL_GUARDED_BY(mu_);
  AuthStatsCallback auth_stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sam2

#endif  // SAM2_SERVER_SERVICE_METRICS_H_
