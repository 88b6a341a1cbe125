// sam2_server: loads a SAM 2 checkpoint, then serves the sam2.v1 gRPC API
// (plus grpc.health.v1, reflection, and /metrics, /ping, /healthz over HTTP)
// until SIGTERM or SIGINT, which drain it: health goes NOT_SERVING, new
// sessions are refused, in-flight calls get --shutdown_grace to finish,
// streams still running then are cancelled, the process exits 0.
//
// Which model: --checkpoint when given (it must load, or the process exits
// 1 naming the file); otherwise --fallback_checkpoint, the bundled
// random-weight test model, served with a loud warning in the log and in
// GetServerInfo, because its masks are meaningless.
//
// Where: the loopback interface by default; an address reachable from other
// machines only with TLS and bearer tokens both configured, or with the
// explicit --insecure_listen_any (listen_policy.h). The log says which.
//
// Who: anyone, unless --token_file names the bearer tokens and their
// tenants (server/authenticator.h).
//
// TLS: --tls_cert and --tls_key make both ports TLS only, --tls_client_ca
// mutual TLS; the files are checked before the model loads (exit 2 naming
// the problem) and re-read every --tls_reload_interval. The log says which
// mode each port is in.

#include <signal.h>

#include <cstdio>
#include <memory>
#include <iostream>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "model/device.h"
#include "model/model_loader.h"
#include "model/precision.h"
#include "server/allocator.h"
#include "server/listen_policy.h"
#include "server/protobuf_log_limit.h"
#include "server/segment_batcher.h"
#include "server/server_app.h"
#include "server/worker_speed.h"
#include "server/thread_stacks.h"
#include "server/tls_config.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "gRPC listen address host:port (port 0 picks a free port); off "
          "the loopback interface only with TLS and --token_file, or with "
          "--insecure_listen_any.");
ABSL_FLAG(std::string, http_address, "127.0.0.1:9090",
          "HTTP address for /metrics (Prometheus), /ping, /healthz and "
          "SageMaker's POST /invocations; empty disables the HTTP side; off "
          "the loopback interface only with TLS and --token_file, or with "
          "--insecure_listen_any.");
ABSL_FLAG(bool, insecure_listen_any, false,
          "Allow --address and --http_address off the loopback interface "
          "(e.g. 0.0.0.0) without TLS and bearer tokens both configured: do "
          "this only behind a proxy or a network policy that secures the "
          "port (containers, Kubernetes, SageMaker).");
// Authentication and tenants (server/authenticator.h, README "Authentication
// and tenants").
ABSL_FLAG(std::string, token_file, "",
          "Bearer-token file: one 'tenant token [max_sessions=N] "
          "[max_session_mb=N] [max_in_flight=N]' per line (token: 16-512 "
          "printable characters, or sha256:<hex>). When set, every sam2.v1 "
          "call, /api/v1/* and /invocations need 'authorization: Bearer "
          "<token>', and each tenant sees only its own sessions. Re-read when "
          "it changes; a bad file at start is an error.");
ABSL_FLAG(absl::Duration, token_reload_interval, absl::Seconds(10),
          "How often --token_file is checked for changes (0: never).");
ABSL_FLAG(int64_t, tenant_max_sessions, 0,
          "Live sessions per tenant when its line sets no max_sessions "
          "(0: only the global --max_sessions).");
ABSL_FLAG(int64_t, tenant_session_memory_mb, 0,
          "Session memory per tenant (MiB) when its line sets no "
          "max_session_mb (0: only the global --session_memory_mb).");
ABSL_FLAG(int64_t, tenant_max_in_flight, 0,
          "Requests in flight per tenant when its line sets no max_in_flight "
          "(0: no per-tenant cap).");
ABSL_FLAG(bool, metrics_require_token, false,
          "With --token_file, /metrics needs a bearer token too.");
ABSL_FLAG(bool, invocations, true,
          "Serve SageMaker's POST /invocations on the HTTP side (image "
          "segmentation with stateful sessions; 6 MB bodies, 60 s limit).");
ABSL_FLAG(bool, web_ui, true,
          "Serve the web annotation page (GET /ui/) and its JSON API "
          "(/api/v1/...) on the HTTP side.");
ABSL_FLAG(std::string, checkpoint, "",
          "Model weights: an official SAM 2 / 2.1 .pt checkpoint or a "
          ".safetensors file.");
ABSL_FLAG(std::string, config, "",
          "Model config in the official Hydra YAML schema; empty: a STEM.yaml "
          "beside the checkpoint, else detect the official variant.");
ABSL_FLAG(std::string, fallback_checkpoint, "",
          "Served when --checkpoint is empty: the bundled random-weight test "
          "model (its masks are meaningless; the server says so).");
ABSL_FLAG(int, max_receive_message_bytes, 32 << 20,
          "Largest request message accepted, in bytes.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long in-flight calls may run before they "
          "are cancelled.");
ABSL_FLAG(absl::Duration, drain_delay, absl::ZeroDuration(),
          "On SIGTERM/SIGINT, how long (within --shutdown_grace) calls on "
          "existing sessions are still served while health says NOT_SERVING "
          "and new sessions are refused, before gRPC stops taking calls.");
ABSL_FLAG(int, queue_capacity, 64,
          "Tasks waiting per worker before requests get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, intra_op_threads, 0,
          "LibTorch intra-op threads of the CPU worker (0: one per core).");
ABSL_FLAG(int, max_sessions, 256, "Live sessions of all kinds together.");
ABSL_FLAG(int64_t, session_memory_mb, 8192,
          "Memory budget of all sessions together, in MiB; least recently "
          "used idle image sessions are evicted first, then video ones.");
ABSL_FLAG(absl::Duration, idle_ttl, absl::Minutes(10),
          "A session unused for this long expires.");
ABSL_FLAG(absl::Duration, absolute_ttl, absl::Hours(2),
          "A session expires this long after its creation, however used.");
ABSL_FLAG(int, max_points, sam2::kDefaultMaxPoints, "Clicks per request.");
ABSL_FLAG(int, max_boxes, sam2::kDefaultMaxBoxes, "Boxes per request.");
ABSL_FLAG(int, max_objects, sam2::kDefaultMaxObjects,
          "Objects per video session.");
ABSL_FLAG(int, max_video_frames, 2000, "Frames per video session.");
ABSL_FLAG(int, max_video_side, 4096, "Largest video frame side, in pixels.");
ABSL_FLAG(int64_t, max_video_upload_mb, 2048,
          "Largest CreateVideoSession upload, in MiB.");
ABSL_FLAG(std::string, upload_dir, "",
          "Where uploaded video files are kept while their session lives "
          "(empty: $TMPDIR or /tmp).");
ABSL_FLAG(std::string, instance_id, "",
          "This replica's id in session names, like a DNS label: "
          "[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?, e.g. the pod name sam2-0; "
          "empty: random at each start.");
ABSL_FLAG(int64_t, embedding_cache_mb, 1024,
          "Image features kept by the SHA-256 of the image bytes, so that "
          "opening the same image again skips the encoder; beside "
          "--session_memory_mb (features a live session holds cost nothing "
          "extra). 0 disables it.");
ABSL_FLAG(std::string, precision, "auto",
          "auto (the default): bfloat16 when this CPU has bf16 instructions "
          "(AVX-512 BF16 or AMX), float32 otherwise; float32: the reference "
          "path, equal to Meta's results to float32 round-off on every CPU; "
          "bfloat16: LibTorch's CPU autocast, as the reference's "
          "torch.autocast.");
ABSL_FLAG(int, segment_max_batch, sam2::kDefaultSegmentMaxBatch,
          "Dynamic batching: Segment calls on different image sessions "
          "waiting for the same worker run as one decoder batch of at most "
          "this many calls; 1 turns it off.");
ABSL_FLAG(absl::Duration, segment_batch_delay, sam2::kDefaultSegmentBatchDelay,
          "How long a Segment call may wait for others to fill its batch "
          "(e.g. 2ms); 0: batch only calls already waiting, never delay one.");
ABSL_FLAG(std::string, device, "auto",
          "Where the model runs, one worker per device: auto (every visible "
          "GPU, else the CPU), cpu, cuda (every visible GPU), or a list such "
          "as cuda:0,cuda:1 or cuda,cpu (a CPU worker beside the GPUs). Each "
          "session stays on the worker that created it; new sessions go to "
          "the least loaded worker for its speed (--worker_speeds).");
ABSL_FLAG(std::string, worker_speeds, "auto",
          "How placement weighs the workers: auto (time the image encoder on "
          "each worker at start when they run on different kinds of device, "
          "such as a GPU and the CPU; else equal), measure (always time "
          "them), equal, or one relative speed per worker such as 4,4,1. A "
          "worker of speed 4 takes four new sessions for each one a worker "
          "of speed 1 takes.");
ABSL_FLAG(double, device_memory_fraction, sam2::kDefaultDeviceMemoryFraction,
          "On a GPU, the share of its free memory (after the weights) that "
          "sessions may hold, besides --session_memory_mb.");
ABSL_FLAG(bool, warm_up, true,
          "Run every model path once before reporting SERVING.");

// TLS on both ports (server/tls_config.h).
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain (the server's certificate first): the gRPC "
          "and HTTP ports speak TLS only. Needs --tls_key.");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key of --tls_cert (unencrypted).");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM bundle of the CAs that sign client certificates: mutual TLS "
          "on both ports (a client without a certificate it signs is "
          "refused). Needs --tls_cert and --tls_key.");
ABSL_FLAG(absl::Duration, tls_reload_interval, sam2::kDefaultTlsReloadInterval,
          "How often the TLS files are re-read: a renewed certificate (or "
          "client CA) is served to new connections without a restart (gRPC "
          "checks at whole seconds, at least 1s).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "SAM 2 segmentation and tracking service.\n"
      "Usage: sam2_server --checkpoint=MODEL.pt [--config=MODEL.yaml] "
      "[--address=127.0.0.1:50051] [--http_address=127.0.0.1:9090] "
      "[--insecure_listen_any] [--tls_cert=CERT.pem --tls_key=KEY.pem "
      "[--tls_client_ca=CA.pem]]");
  absl::ParseCommandLine(argc, argv);
  // Clients can make Protobuf log (a string that is not UTF-8): bounded.
  sam2::InstallProtobufLogLimit();

  const std::string grpc_address = absl::GetFlag(FLAGS_address);
  const std::string http_address = absl::GetFlag(FLAGS_http_address);
  // TLS files are checked before the model loads: a bad certificate or a
  // key that does not match it fails in a second, before anything listens.
  sam2::TlsConfig tls;
  tls.cert_path = absl::GetFlag(FLAGS_tls_cert);
  tls.key_path = absl::GetFlag(FLAGS_tls_key);
  tls.client_ca_path = absl::GetFlag(FLAGS_tls_client_ca);
  tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  if (absl::Status s = sam2::ValidateTlsConfig(tls); !s.ok()) {
    std::cerr << "sam2_server: TLS: " << s.message() << "\n";
    return 2;
  }
  std::cerr << "sam2_server: gRPC port: " << sam2::DescribeTls(tls) << "\n";
  if (!http_address.empty()) {
    std::cerr << "sam2_server: HTTP port: " << sam2::DescribeTls(tls) << "\n";
  }

  // Before anything slow: where the server may listen (listen_policy.h).
  // A bad token file still stops the start later, before anything listens.
  const bool listen_any = absl::GetFlag(FLAGS_insecure_listen_any);
  const sam2::ListenSecurity security{
      /*tls=*/tls.mode() != sam2::TlsMode::kPlaintext,
      /*tokens=*/!absl::GetFlag(FLAGS_token_file).empty()};
  for (const auto& [what, address] :
       {std::pair<const char*, const std::string*>{"gRPC", &grpc_address},
        {"HTTP", &http_address}}) {
    if (address->empty()) continue;  // the HTTP side disabled
    if (absl::Status s = sam2::CheckListenAddress(what, *address, security,
                                                  listen_any);
        !s.ok()) {
      std::cerr << "sam2_server: " << s.message() << "\n";
      return 2;
    }
    std::cerr << "sam2_server: "
              << sam2::DescribeListenExposure(what, *address, security) << "\n";
  }

  // Block the stop signals in every thread (gRPC's and the workers' threads
  // inherit this mask) so that only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Before any OpenCV call starts TBB's threads; lives until exit.
  const std::unique_ptr<sam2::ThreadStacks> thread_stacks =
      sam2::ThreadStacks::Install();

  std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  bool meaningless = false;
  if (checkpoint.empty()) {
    checkpoint = absl::GetFlag(FLAGS_fallback_checkpoint);
    meaningless = true;
    if (checkpoint.empty()) {
      std::cerr << "sam2_server: --checkpoint is required (an official SAM 2 "
                   ".pt file or a .safetensors file)\n";
      return 2;
    }
  }
  std::vector<c10::Device> devices;
  {
    const int gpus = sam2::CudaDeviceCount();
    absl::StatusOr<std::vector<c10::Device>> resolved =
        sam2::ResolveDevices(absl::GetFlag(FLAGS_device), gpus);
    if (!resolved.ok()) {
      std::cerr << "sam2_server: --device: " << resolved.status().message()
                << "\n";
      return 2;
    }
    devices = *std::move(resolved);
    std::vector<std::string> names;
    for (const c10::Device& d : devices) names.push_back(sam2::DeviceName(d));
    std::cerr << "sam2_server: " << devices.size() << " worker"
              << (devices.size() == 1 ? "" : "s") << ": "
              << absl::StrJoin(names, ", ") << " (" << gpus << " CUDA device"
              << (gpus == 1 ? "" : "s") << " visible)\n";
  }
  absl::StatusOr<sam2::WorkerSpeedsChoice> worker_speeds =
      sam2::ParseWorkerSpeeds(absl::GetFlag(FLAGS_worker_speeds));
  if (worker_speeds.ok() &&
      worker_speeds->mode == sam2::WorkerSpeedsChoice::Mode::kGiven &&
      worker_speeds->given.size() != devices.size()) {
    worker_speeds = absl::InvalidArgumentError(absl::StrCat(
        worker_speeds->given.size(), " speeds for ", devices.size(),
        " worker", devices.size() == 1 ? "" : "s"));
  }
  if (!worker_speeds.ok()) {
    std::cerr << "sam2_server: --worker_speeds: "
              << worker_speeds.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<sam2::PrecisionChoice> precision_choice =
      sam2::ParsePrecisionChoice(absl::GetFlag(FLAGS_precision));
  if (!precision_choice.ok()) {
    std::cerr << "sam2_server: --precision: "
              << precision_choice.status().message() << "\n";
    return 2;
  }
  const absl::Time load_start = absl::Now();
  absl::StatusOr<sam2::ServedModel> model;
  {
    absl::StatusOr<sam2::LoadedModel> loaded =
        sam2::LoadModel(checkpoint, absl::GetFlag(FLAGS_config));
    if (!loaded.ok()) {
      std::cerr << "sam2_server: cannot load the model: " << loaded.status()
                << "\n";
      return 1;
    }
    std::cerr << sam2::DescribeLoadedModel(*loaded);
    // The predictors copy what they need; the checkpoint's tensors go with
    // `loaded` at the end of this block.
    model = sam2::BuildServedModel(*loaded, meaningless, devices,
                                   *precision_choice);
  }
  if (!model.ok()) {
    std::cerr << "sam2_server: cannot build the model: " << model.status()
              << "\n";
    return 1;
  }
  std::cerr << "model loaded in "
            << absl::FormatDuration(absl::Now() - load_start) << "\n";

  sam2::ServerAppOptions options;
  options.grpc.address = grpc_address;
  options.grpc.max_receive_message_bytes =
      absl::GetFlag(FLAGS_max_receive_message_bytes);
  options.http_address = http_address;
  options.invocations = absl::GetFlag(FLAGS_invocations);
  options.web_ui = absl::GetFlag(FLAGS_web_ui);
  options.queue_capacity = absl::GetFlag(FLAGS_queue_capacity);
  options.intra_op_threads = absl::GetFlag(FLAGS_intra_op_threads);
  options.sessions.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  options.sessions.max_bytes = absl::GetFlag(FLAGS_session_memory_mb) << 20;
  options.device_memory_fraction = absl::GetFlag(FLAGS_device_memory_fraction);
  options.worker_speeds = *worker_speeds;
  options.sessions.idle_ttl = absl::GetFlag(FLAGS_idle_ttl);
  options.embedding_cache_bytes = absl::GetFlag(FLAGS_embedding_cache_mb) << 20;
  options.sessions.absolute_ttl = absl::GetFlag(FLAGS_absolute_ttl);
  options.limits.image.max_points = absl::GetFlag(FLAGS_max_points);
  options.limits.image.max_boxes = absl::GetFlag(FLAGS_max_boxes);
  options.limits.image.decode.max_encoded_bytes =
      options.grpc.max_receive_message_bytes;
  options.limits.video.max_points = absl::GetFlag(FLAGS_max_points);
  options.limits.video.max_objects = absl::GetFlag(FLAGS_max_objects);
  options.limits.video.frames.max_frames = absl::GetFlag(FLAGS_max_video_frames);
  options.limits.video.frames.max_side = absl::GetFlag(FLAGS_max_video_side);
  options.limits.max_video_upload_bytes =
      absl::GetFlag(FLAGS_max_video_upload_mb) << 20;
  options.limits.upload_dir = absl::GetFlag(FLAGS_upload_dir);
  options.limits.video.spill_dir = absl::GetFlag(FLAGS_upload_dir);
  options.instance_id = absl::GetFlag(FLAGS_instance_id);
  std::cerr << "sam2_server: allocator " << sam2::MallocLibrary() << "\n";
  for (const sam2::WorkerModel& worker : model->workers) {
    std::cerr << "sam2_server: " << sam2::DeviceName(worker.device)
              << " precision " << sam2::PrecisionName(worker.precision)
              << " (--precision=" << absl::GetFlag(FLAGS_precision) << "; ";
    if (worker.device.is_cuda()) {
      std::cerr << "compute capability "
                << sam2::CudaComputeCapabilityMajor(worker.device) << ".x)\n";
    } else {
      std::cerr << "this CPU "
                << (sam2::CpuHasBf16Instructions() ? "has" : "has no")
                << " bf16 instructions)\n";
    }
  }
  options.segment_batching.max_batch = absl::GetFlag(FLAGS_segment_max_batch);
  options.segment_batching.max_delay = absl::GetFlag(FLAGS_segment_batch_delay);
  if (options.segment_batching.max_batch < 1 ||
      options.segment_batching.max_delay < absl::ZeroDuration()) {
    std::cerr << "sam2_server: --segment_max_batch must be >= 1 and "
                 "--segment_batch_delay >= 0\n";
    return 2;
  }
  options.auth.token_file = absl::GetFlag(FLAGS_token_file);
  options.auth.reload_interval = absl::GetFlag(FLAGS_token_reload_interval);
  options.auth.default_quotas.max_sessions =
      absl::GetFlag(FLAGS_tenant_max_sessions);
  options.auth.default_quotas.max_session_bytes =
      absl::GetFlag(FLAGS_tenant_session_memory_mb) << 20;
  options.auth.default_quotas.max_in_flight =
      absl::GetFlag(FLAGS_tenant_max_in_flight);
  options.metrics_require_token = absl::GetFlag(FLAGS_metrics_require_token);
  if (options.auth.default_quotas.max_sessions < 0 ||
      options.auth.default_quotas.max_session_bytes < 0 ||
      options.auth.default_quotas.max_in_flight < 0) {
    std::cerr << "sam2_server: --tenant_* quotas must be >= 0\n";
    return 2;
  }
  if (!options.auth.token_file.empty()) {
    std::cerr << "sam2_server: bearer tokens required (" << options.auth.token_file
              << ")\n";
  }
  options.warm_up = absl::GetFlag(FLAGS_warm_up);
  options.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  options.tls = tls;

  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<sam2::ServerApp>> app =
      sam2::ServerApp::Start(options, *std::move(model));
  if (!app.ok()) {
    std::cerr << "sam2_server: " << app.status() << "\n";
    return 1;
  }
  std::cerr << "sam2_server: instance " << (*app)->info().instance_id()
            << ", ready in " << absl::FormatDuration(absl::Now() - start)
            << (options.warm_up ? " (warm-up included)" : "") << "\n";
  if ((*app)->http_port() != 0) {
    std::cerr << "sam2_server: metrics at "
              << (tls.mode() == sam2::TlsMode::kPlaintext ? "http" : "https")
              << "://"
              << options.http_address.substr(0, options.http_address.rfind(':'))
              << ":" << (*app)->http_port() << "/metrics\n";
  }
  // One line on stdout, flushed, that launchers and tests wait for.
  std::printf("sam2_server listening on port %d\n", (*app)->port());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cerr << "sam2_server: received "
            << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
            << ", draining\n";
  (*app)->Drain(absl::GetFlag(FLAGS_shutdown_grace));
  std::cerr << "sam2_server: stopped\n";
  return 0;
}
