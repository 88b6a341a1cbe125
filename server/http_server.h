// HttpServer: the service's plain-HTTP side on its own port, beside gRPC:
// Prometheus `/metrics`, SageMaker's `/ping`, Kubernetes' `/healthz`, and any
// route added later (e.g. SageMaker `/invocations`). Built on civetweb's C
// API, used as a small request router only: every request goes to our
// dispatcher (civetweb's begin_request hook), so civetweb never serves files
// or directories (no document_root), and unknown paths get 404, known paths
// with another method 405.
//
// Routes are fixed at Start (HttpServerOptions::routes): nothing mutates the
// route table while requests are served.
//
// Ownership and lifetime: Start returns the only owner. The destructor stops
// the server and waits for in-flight handlers to return, so handlers may
// capture objects that outlive the HttpServer (the metrics, a health flag).
//
// Thread-safety: handlers run on civetweb's worker threads
// (HttpServerOptions::num_threads of them), possibly concurrently; they must
// be thread-safe. port() may be called from any thread; Stop() from one.

#ifndef SAM2_SERVER_HTTP_SERVER_H_
#define SAM2_SERVER_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct mg_context;
struct mg_connection;

namespace sam2 {

// Largest request body read (and the largest declared Content-Length
// accepted); larger requests get 413. Matches the gRPC message limit.
inline constexpr int64_t kDefaultMaxHttpBodyBytes = 32 << 20;
// Largest request line + headers civetweb buffers; larger requests get
// "400 Bad Request" from civetweb itself.
inline constexpr int kDefaultMaxHttpHeaderBytes = 16 << 10;
// Worker threads; each serves one connection at a time.
inline constexpr int kDefaultHttpThreads = 2;
// Accepted connections waiting for a worker; beyond it the kernel backlog.
inline constexpr int kDefaultHttpConnectionQueue = 32;
// A client that stalls sending its request (slowloris) is cut off after this.
inline constexpr absl::Duration kDefaultHttpRequestTimeout = absl::Seconds(10);

// Content type Prometheus expects for the text exposition format.
inline constexpr char kPrometheusContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // URL-decoded path, no query string
  std::string query;   // raw text after '?', or empty
  std::string body;    // read only for routes that accept a body
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpRoute {
  // Exact path match ("/metrics"); no prefixes or patterns.
  std::string path;
  // Methods served; "HEAD" is implied by "GET" (headers only). Others: 405.
  std::vector<std::string> methods = {"GET"};
  HttpHandler handler;
};

// GET `path` → 200 "OK\n" when healthy() is true, else 503 "unhealthy\n".
// SageMaker polls /ping; Kubernetes probes /healthz.
HttpRoute HealthRoute(std::string path, std::function<bool()> healthy);

// GET /metrics → 200 with render() (e.g. ServiceMetrics::Render) as
// kPrometheusContentType.
HttpRoute MetricsRoute(std::function<std::string()> render);

struct HttpServerOptions {
  // IPv4 "host:port"; port 0 picks a free port (see HttpServer::port()).
  std::string address = "0.0.0.0:9090";
  int num_threads = kDefaultHttpThreads;
  int connection_queue = kDefaultHttpConnectionQueue;
  int64_t max_body_bytes = kDefaultMaxHttpBodyBytes;
  int max_header_bytes = kDefaultMaxHttpHeaderBytes;
  absl::Duration request_timeout = kDefaultHttpRequestTimeout;
  std::vector<HttpRoute> routes;
};

class HttpServer {
 public:
  // Validates the options and routes (InvalidArgumentError: bad address,
  // duplicate path, route without a handler, non-positive limits), then
  // binds and starts serving (UnavailableError if it cannot listen).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      HttpServerOptions options);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (resolves port 0).
  int port() const { return port_; }

  // Stops accepting, waits for in-flight handlers, frees the threads; takes
  // milliseconds (see WakeAcceptLoop in the .cc for why that needs help).
  // Idempotent; the destructor calls it.
  void Stop();

 private:
  explicit HttpServer(HttpServerOptions options);

  // civetweb's begin_request hook; `conn` carries `this` as user data.
  static int HandleRequest(mg_connection* conn);
  // Serves one request; returns the HTTP status sent (for civetweb's log).
  int Dispatch(mg_connection* conn);

  const HttpServerOptions options_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace sam2

#endif  // SAM2_SERVER_HTTP_SERVER_H_
