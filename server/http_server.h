// HttpServer: the service's plain-HTTP side on its own port, beside gRPC:
// Prometheus `/metrics`, SageMaker's `/ping`, Kubernetes' `/healthz`, and any
// route added later (e.g. SageMaker `/invocations`). Built on cpp-httplib
// (Debian's libcpp-httplib), used as an HTTP/1.1 parser and response writer
// only: routes are exact paths, unknown paths get 404, known paths with
// another method 405, nothing is served from the file system.
//
// Threads are ours: Start creates the listener and the worker threads with
// std::thread, i.e. the default stack size, never one fixed inside a library.
// (civetweb, used before, fixed 100 KiB stacks, and glibc refuses a stack
// smaller than the process's static TLS: with OpenBLAS as the system BLAS the
// server could not start. server_main_test and http_server_test run with a
// large static TLS block to keep it so.)
//
// Bounds: every connection serves one request and is closed; the request
// line, headers and body must all arrive within `request_timeout` and within
// `max_header_bytes` + `max_body_bytes`; a larger declared body gets 413,
// larger headers 431. At most `num_threads` requests run at once and
// `connection_queue` accepted connections wait; beyond that the listener
// stops accepting (the kernel's backlog holds the rest).
//
// Routes are fixed at Start (HttpServerOptions::routes): nothing mutates the
// route table while requests are served.
//
// Ownership and lifetime: Start returns the only owner. Stop (and the
// destructor) waits for in-flight handlers to return, so handlers may
// capture objects that outlive the HttpServer (the metrics, a health flag).
//
// Thread-safety: handlers run on the worker threads, possibly concurrently;
// they must be thread-safe. port() may be called from any thread; Stop()
// from one.

#ifndef SAM2_SERVER_HTTP_SERVER_H_
#define SAM2_SERVER_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sam2 {

// Largest request body read (and the largest declared Content-Length
// accepted); larger requests get 413. Matches the gRPC message limit.
inline constexpr int64_t kDefaultMaxHttpBodyBytes = 32 << 20;
// Largest request line + headers; larger requests get 431.
inline constexpr int kDefaultMaxHttpHeaderBytes = 16 << 10;
// Worker threads; each serves one connection at a time.
inline constexpr int kDefaultHttpThreads = 2;
// Accepted connections waiting for a worker; beyond it the kernel backlog.
inline constexpr int kDefaultHttpConnectionQueue = 32;
// The whole request (line, headers, body) must arrive within this, and each
// write of the response must progress within it: a client that stalls
// (slowloris) is cut off.
inline constexpr absl::Duration kDefaultHttpRequestTimeout = absl::Seconds(10);

// Content type Prometheus expects for the text exposition format.
inline constexpr char kPrometheusContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // URL-decoded path, no query string
  std::string query;   // raw text after '?', or empty
  // Header names lower-cased; a name sent twice appears twice.
  std::multimap<std::string, std::string> headers;
  std::string body;    // read only for routes that accept a body

  // The first value of header `name` (lower case), or nullptr.
  const std::string* Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Sent as they are, after Content-Type; Content-Length, Connection and
  // Cache-Control are the server's.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpRoute {
  // Exact path match ("/metrics"); no prefixes or patterns.
  std::string path;
  // Methods served; "HEAD" is implied by "GET" (headers only). Others: 405.
  std::vector<std::string> methods = {"GET"};
  HttpHandler handler;
  // This route's body limit when below the server's (413 beyond it, a
  // declared length refused unread); negative: the server's.
  int64_t max_body_bytes = -1;
};

// GET `path` → 200 "OK\n" when healthy() is true, else 503 "unhealthy\n".
// SageMaker polls /ping; Kubernetes probes /healthz.
HttpRoute HealthRoute(std::string path, std::function<bool()> healthy);

// GET /metrics → 200 with render() (e.g. ServiceMetrics::Render) as
// kPrometheusContentType.
HttpRoute MetricsRoute(std::function<std::string()> render);

struct HttpServerOptions {
  // "host:port" or "[ipv6]:port" (see ParseListenAddress); port 0 picks a
  // free port (see HttpServer::port()).
  std::string address = "127.0.0.1:9090";
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
  // duplicate path, route without a handler, non-positive limits), starts
  // the threads and binds (UnavailableError naming the address and the
  // system's reason when it cannot, e.g. "bind 0.0.0.0:9090: Address already
  // in use", or the thread that could not be created).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      HttpServerOptions options);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (resolves port 0).
  int port() const { return port_; }

  // Stops accepting, lets accepted connections finish, joins the threads.
  // Idempotent; the destructor calls it.
  void Stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace sam2

#endif  // SAM2_SERVER_HTTP_SERVER_H_
