// HttpServer: the service's HTTP side on its own port, beside gRPC:
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
// HTTPS: with HttpServerOptions::tls the port speaks TLS only (mutual TLS
// with a client CA); the handshake is part of the request and must finish
// within its deadline; certificates are re-read without a restart (see
// server/http_tls.h). Every bound below holds the same under TLS.
//
// Bounds: every connection serves one request and is closed; the request
// line, headers and body (and the TLS handshake) must all arrive within
// `request_timeout` and within `max_header_bytes` + `max_body_bytes` (a
// route may set its own deadline and body limit, e.g. for uploads); a
// larger declared body gets 413, larger headers 431. At most `num_threads`
// requests run at once and `connection_queue` accepted connections wait;
// beyond that the listener stops accepting (the kernel's backlog holds the
// rest).
//
// Streams: a handler may answer with a streamed body (HttpResponse::stream),
// sent with chunked transfer encoding as it is produced, on the worker thread
// that served the request: each piece is written before the next is produced
// (the server buffers at most one), a write that does not progress within
// `request_timeout` ends the stream, and the producer can see a client that
// has gone (HttpStreamWriter::ClientGone) without writing. A route's
// `max_in_flight` caps how many of its requests (streams included, until
// their last byte) run at once, and an HttpInFlightGroup caps several
// routes together, so that long requests cannot take every worker from
// /metrics and /ping: beyond either the answer is 429.
//
// Authentication: a route's `authenticate` hook (bearer tokens) runs before
// its body is read; handlers that need the caller's identity (a tenant) read
// the same headers themselves.
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
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/tls_config.h"

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
  // The first value of query parameter `name` ("a=1&b=x%20y": "1", "x y";
  // '+' is a space), or nullopt. A malformed %-escape is kept as it is.
  std::optional<std::string> QueryParam(absl::string_view name) const;
};

// What a streamed body is written through (see HttpResponse::stream). Used
// by one thread, only during the HttpStreamBody call it is passed to.
class HttpStreamWriter {
 public:
  virtual ~HttpStreamWriter() = default;
  // Sends `data` (non-empty) as one chunk. False when the client has gone or
  // the write made no progress within the request timeout: stop producing.
  virtual bool Write(absl::string_view data) = 0;
  // True once the client has closed or reset its side of the connection
  // (checked without blocking or writing).
  virtual bool ClientGone() = 0;
};

// Produces a streamed body; returns when it is complete (or the writer
// failed). Called at most once; if the response is never written (the
// client left first) it is destroyed without being called, so whatever it
// owns must clean up in its destructor.
using HttpStreamBody = std::function<void(HttpStreamWriter&)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Sent as they are, after Content-Type; Content-Length, Connection and
  // Cache-Control are the server's.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is this stream instead of `body` (chunked transfer
  // encoding; no Content-Length).
  HttpStreamBody stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// A cap on the requests in flight of several routes together (see
// HttpRoute::group), e.g. every route of an API, so that together they never
// hold more than `limit` worker threads. Shared (shared_ptr) by the routes
// that name it. Thread-safe.
class HttpInFlightGroup {
 public:
  // `name` appears in the 429's message; `limit` >= 1.
  HttpInFlightGroup(std::string name, int limit)
      : name_(std::move(name)), limit_(limit) {}
  HttpInFlightGroup(const HttpInFlightGroup&) = delete;
  HttpInFlightGroup& operator=(const HttpInFlightGroup&) = delete;

  const std::string& name() const { return name_; }
  int limit() const { return limit_; }
  // Takes a slot; false at the limit.
  bool TryAcquire();
  // Gives back a slot TryAcquire took.
  void Release();

 private:
  const std::string name_;
  const int limit_;
  std::mutex mu_;
  int in_flight_ = 0;  // guarded by mu_
};

struct HttpRoute {
  // Exact path match ("/metrics"); no prefixes or patterns.
  std::string path;
  // Methods served; "HEAD" is implied by "GET" (headers only). Others: 405.
  std::vector<std::string> methods = {"GET"};
  HttpHandler handler;
  // This route's body limit, above or below the server's (413 beyond it, a
  // declared length refused unread); negative: the server's.
  int64_t max_body_bytes = -1;
  // This route's deadline for receiving the whole request, counted from the
  // connection's start (e.g. longer for large uploads); zero: the server's.
  absl::Duration request_timeout = absl::ZeroDuration();
  // Requests of this route served at once (a stream counts until its last
  // byte); beyond it 429 "too many requests". 0: no cap of its own.
  int max_in_flight = 0;
  // A cap this route shares with others (429 beyond it); null: none.
  std::shared_ptr<HttpInFlightGroup> group;
  // How this route's own limits are answered (413 body too large, 429 over
  // max_in_flight): the response for (status, message); empty: plain text.
  // E.g. a JSON API answers them in its JSON error format.
  std::function<HttpResponse(int status, const std::string& message)>
      limit_response;
  // Who may call this route, checked after the headers and before the body
  // is read (an unauthenticated client's upload is never read): given the
  // request without its body, a non-OK status (its message, never a
  // credential) is answered 401 with `WWW-Authenticate: Bearer`, in
  // limit_response's format. Null: anyone.
  std::function<absl::Status(const HttpRequest& headers_only)> authenticate;
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
  // HTTPS (and mutual TLS) with these files, re-read every reload_interval
  // (server/http_tls.h); no certificate: plaintext HTTP.
  TlsConfig tls;
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
