// HttpServer implementation on civetweb's C API. See http_server.h.

#include "server/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace sam2 {
namespace {

// Bounds on HttpServerOptions; far above what /metrics and /ping need, low
// enough that a typo cannot exhaust the process.
constexpr int kMaxHttpThreads = 64;
constexpr int kMaxHttpConnectionQueue = 4096;
constexpr int kMaxPort = 65535;
// mg_start2 writes its failure reason here.
constexpr size_t kStartErrorBufferBytes = 256;
// Request bodies are read in chunks of this size (on the worker's stack).
constexpr size_t kBodyReadChunkBytes = 16 << 10;
// Status codes a handler may return; anything else is a bug and becomes 500.
constexpr int kMinHttpStatus = 100;
constexpr int kMaxHttpStatus = 599;

// While Stop() waits for civetweb, it pokes the accept loop this often (see
// WakeAcceptLoop).
constexpr std::chrono::milliseconds kStopWakeInterval{10};

// civetweb's process-wide setup, once per process; never undone, since other
// servers (or tests) may start later. Features 0: no TLS library init.
std::once_flag civetweb_init_once;

bool AllowsMethod(const HttpRoute& route, absl::string_view method) {
  auto has = [&](absl::string_view m) {
    return std::find(route.methods.begin(), route.methods.end(), m) !=
           route.methods.end();
  };
  return has(method) || (method == "HEAD" && has("GET"));
}

std::string AllowHeader(const HttpRoute& route) {
  std::vector<std::string> methods = route.methods;
  if (std::find(methods.begin(), methods.end(), "GET") != methods.end() &&
      std::find(methods.begin(), methods.end(), "HEAD") == methods.end()) {
    methods.push_back("HEAD");
  }
  return absl::StrJoin(methods, ", ");
}

// Writes a complete response: status line, headers, body (not for HEAD).
// Keep-alive is off, so every response closes its connection: with only a
// few worker threads, an idle keep-alive client would hold one hostage.
void SendResponse(mg_connection* conn, bool head, const HttpResponse& response,
                  absl::string_view allow = "") {
  std::string headers = absl::StrCat(
      "HTTP/1.1 ", response.status, " ",
      mg_get_response_code_text(conn, response.status), "\r\n",
      "Content-Type: ", response.content_type, "\r\n",
      "Content-Length: ", response.body.size(), "\r\n",
      // Health and metrics must be fresh on every probe.
      "Cache-Control: no-store\r\n", "Connection: close\r\n");
  if (!allow.empty()) absl::StrAppend(&headers, "Allow: ", allow, "\r\n");
  headers += "\r\n";
  // A client that went away makes mg_write fail; nothing to do about it.
  mg_write(conn, headers.data(), headers.size());
  if (!head && !response.body.empty()) {
    mg_write(conn, response.body.data(), response.body.size());
  }
}

HttpResponse PlainResponse(int status, absl::string_view text) {
  HttpResponse response;
  response.status = status;
  response.body = absl::StrCat(text, "\n");
  return response;
}

// Reads the request body up to `limit` bytes. False if the body is larger.
bool ReadBody(mg_connection* conn, int64_t declared_length, int64_t limit,
              std::string& body) {
  if (declared_length > limit) return false;
  char chunk[kBodyReadChunkBytes];
  while (true) {
    const int n = mg_read(conn, chunk, sizeof(chunk));
    if (n <= 0) return true;  // end of body (or the client went away)
    if (static_cast<int64_t>(body.size()) + n > limit) return false;
    body.append(chunk, n);
  }
}

// "host:port" with a numeric port in [0, 65535]; civetweb does the rest.
absl::Status ValidateAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > kMaxPort) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP address \"", address, "\" is not host:port (e.g. 0.0.0.0:9090)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateOptions(const HttpServerOptions& options) {
  absl::Status status = ValidateAddress(options.address);
  if (!status.ok()) return status;
  if (options.num_threads < 1 || options.num_threads > kMaxHttpThreads) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP num_threads must be in [1, ", kMaxHttpThreads, "]"));
  }
  if (options.connection_queue < 1 ||
      options.connection_queue > kMaxHttpConnectionQueue) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP connection_queue must be in [1, ", kMaxHttpConnectionQueue, "]"));
  }
  if (options.max_body_bytes < 0 || options.max_header_bytes < 1 ||
      options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "HTTP limits must be positive (body bytes may be 0)");
  }
  std::set<std::string> paths;
  for (const HttpRoute& route : options.routes) {
    if (route.path.empty() || route.path[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP route \"", route.path, "\" must start with /"));
    }
    if (!route.handler || route.methods.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HTTP route ", route.path, " needs a handler and methods"));
    }
    if (!paths.insert(route.path).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate HTTP route ", route.path));
    }
  }
  return absl::OkStatus();
}

// civetweb 1.15's accept loop polls its listening socket in 2-second quanta
// and reads the stop flag only between polls, so mg_stop alone takes up to
// 2 s. A connection makes the poll return at once; the loop then sees the
// flag and exits without accepting it. A poke that lands before the flag is
// set is accepted as an empty connection, which the worker drops on EOF.
void WakeAcceptLoop(const sockaddr_in& address) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  // Refused once the listening socket is closed: nothing left to wake.
  connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  close(fd);
}

// Where WakeAcceptLoop connects for a server bound to `address`:
// a wildcard host is reached on loopback. False if the host is not an IPv4
// literal (then Stop just takes civetweb's own time).
bool WakeAddress(absl::string_view address, int port, sockaddr_in& out) {
  std::string host(address.substr(0, address.rfind(':')));
  if (host == "0.0.0.0") host = "127.0.0.1";
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, host.c_str(), &out.sin_addr) == 1;
}

// civetweb logs internal errors (accept failures, bad requests) here;
// without the hook they would be dropped.
int LogMessage(const mg_connection*, const char* message) {
  std::fprintf(stderr, "civetweb: %s\n", message);
  return 1;
}

}  // namespace

HttpRoute HealthRoute(std::string path, std::function<bool()> healthy) {
  HttpRoute route;
  route.path = std::move(path);
  route.handler = [healthy = std::move(healthy)](const HttpRequest&) {
    return healthy() ? PlainResponse(200, "OK")
                     : PlainResponse(503, "unhealthy");
  };
  return route;
}

HttpRoute MetricsRoute(std::function<std::string()> render) {
  HttpRoute route;
  route.path = "/metrics";
  route.handler = [render = std::move(render)](const HttpRequest&) {
    HttpResponse response;
    response.content_type = kPrometheusContentType;
    response.body = render();
    return response;
  };
  return route;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    HttpServerOptions options) {
  absl::Status status = ValidateOptions(options);
  if (!status.ok()) return status;
  std::call_once(civetweb_init_once, [] { mg_init_library(0); });

  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options)));
  const HttpServerOptions& o = server->options_;
  const std::string threads = absl::StrCat(o.num_threads);
  const std::string queue = absl::StrCat(o.connection_queue);
  const std::string header_bytes = absl::StrCat(o.max_header_bytes);
  const std::string timeout_ms =
      absl::StrCat(absl::ToInt64Milliseconds(o.request_timeout));
  // No document_root: civetweb has nothing to serve on its own, and every
  // request is answered by HandleRequest anyway.
  const char* config[] = {"listening_ports",    o.address.c_str(),
                          "num_threads",        threads.c_str(),
                          "connection_queue",   queue.c_str(),
                          "max_request_size",   header_bytes.c_str(),
                          "request_timeout_ms", timeout_ms.c_str(),
                          "enable_keep_alive",  "no",
                          nullptr};
  mg_callbacks callbacks = {};
  callbacks.begin_request = &HttpServer::HandleRequest;
  callbacks.log_message = &LogMessage;
  mg_init_data init = {};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = config;
  char error_text[kStartErrorBufferBytes] = {};
  unsigned error_code = 0;
  mg_error_data error = {};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  // Side effect (civetweb): SIGPIPE is ignored from here on, as gRPC does.
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot start HTTP server on ", o.address, ": ", error_text));
  }
  mg_server_port port = {};
  if (mg_get_server_ports(server->context_, 1, &port) != 1 || port.port <= 0) {
    return absl::InternalError(
        absl::StrCat("HTTP server on ", o.address, " reports no bound port"));
  }
  server->port_ = port.port;
  return server;
}

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (context_ == nullptr) return;
  sockaddr_in wake_address;
  const bool can_wake = WakeAddress(options_.address, port_, wake_address);
  // std::mutex, not absl: tsan sees pthread (see server/worker_pool.h).
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  // mg_stop sets the stop flag, then joins the accept loop and the workers
  // (so in-flight handlers finish first).
  std::thread stopper([&] {
    mg_stop(context_);
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    done_cv.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    while (!done_cv.wait_for(lock, kStopWakeInterval, [&] { return done; })) {
      if (can_wake) WakeAcceptLoop(wake_address);
    }
  }
  stopper.join();
  context_ = nullptr;
}

int HttpServer::HandleRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  return static_cast<HttpServer*>(info->user_data)->Dispatch(conn);
}

int HttpServer::Dispatch(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method != nullptr ? info->request_method : "";
  // local_uri is decoded and cleaned of ".."; null for an absolute URI that
  // names another host, which no route matches.
  request.path = info->local_uri != nullptr ? info->local_uri : "";
  request.query = info->query_string != nullptr ? info->query_string : "";
  const bool head = request.method == "HEAD";

  const HttpRoute* route = nullptr;
  for (const HttpRoute& candidate : options_.routes) {
    if (candidate.path == request.path) route = &candidate;
  }
  if (route == nullptr) {
    SendResponse(conn, head, PlainResponse(404, "not found"));
    return 404;
  }
  if (!AllowsMethod(*route, request.method)) {
    SendResponse(conn, head, PlainResponse(405, "method not allowed"),
                 AllowHeader(*route));
    return 405;
  }
  // An oversized body is refused unread; civetweb then closes the
  // connection, and a client still sending may see a reset, not the 413.
  if (request.method != "GET" && !head &&
      !ReadBody(conn, info->content_length, options_.max_body_bytes,
                request.body)) {
    SendResponse(conn, head,
                 PlainResponse(413, absl::StrCat("request body over ",
                                                 options_.max_body_bytes,
                                                 " bytes")));
    return 413;
  }

  HttpResponse response;
  try {
    response = route->handler(request);
  } catch (const std::exception& e) {
    // Handlers report errors with a status code; an exception is a bug, and
    // must not unwind into civetweb's C code.
    std::fprintf(stderr, "HTTP handler for %s threw: %s\n",
                 route->path.c_str(), e.what());
    response = PlainResponse(500, "internal error");
  } catch (...) {
    std::fprintf(stderr, "HTTP handler for %s threw\n", route->path.c_str());
    response = PlainResponse(500, "internal error");
  }
  if (response.status < kMinHttpStatus || response.status > kMaxHttpStatus) {
    std::fprintf(stderr, "HTTP handler for %s returned status %d\n",
                 route->path.c_str(), response.status);
    response = PlainResponse(500, "internal error");
  }
  SendResponse(conn, head, response);
  return response.status;
}

}  // namespace sam2
