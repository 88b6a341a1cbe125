// HttpServer implementation on cpp-httplib. See http_server.h.
//
// cpp-httplib provides the accept loop, the HTTP/1.1 parser and the response
// writer. Three parts are ours, because the library's own would break a
// promise of the header:
//   - ConnectionWorkers: the threads that serve connections, started before
//     the socket is bound (a failure is a Status, not an exception on the
//     library's thread), with a bounded queue (the library's is unbounded);
//   - LimitedSocketStream: the socket as cpp-httplib reads it, with a
//     deadline for the whole request and a byte budget for its headers (the
//     library counts neither: a client could stream headers forever);
//   - RouterServer::process_and_close_socket: one request per connection on
//     that stream, and a 431/408 when the headers overran their bounds.

#include "server/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/http_tls.h"
#include "server/listen_address.h"

namespace sam2 {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Bounds on HttpServerOptions; far above what /metrics and /ping need, low
// enough that a typo cannot exhaust the process.
constexpr int kMaxHttpThreads = 64;
constexpr int kMaxHttpConnectionQueue = 4096;
// Socket reads are buffered in chunks of this size (cpp-httplib reads the
// request line and headers a byte at a time).
constexpr size_t kReadBufferBytes = 4096;
// Status codes a handler may return; anything else is a bug and becomes 500.
constexpr int kMinHttpStatus = 100;
constexpr int kMaxHttpStatus = 599;
// Name of the server's threads in ps/top/gdb (at most 15 characters).
constexpr char kThreadName[] = "sam2-http";
constexpr char kPlainText[] = "text/plain; charset=utf-8";

// What the connection's own code answers when the request never reached a
// handler (cpp-httplib gave up on it without writing anything).
constexpr char kHeadersTooLarge[] = "431 Request Header Fields Too Large";
constexpr char kRequestTimeout[] = "408 Request Timeout";
constexpr char kRequestTimeoutText[] = "request not received in time";

void NameThread(std::thread& thread) {
  pthread_setname_np(thread.native_handle(), kThreadName);
}

// std::thread, turning its failure (std::system_error, e.g. EAGAIN when the
// process is out of threads or memory) into a Status that says what failed.
absl::StatusOr<std::thread> StartThread(absl::string_view what,
                                        std::function<void()> body) {
  try {
    std::thread thread(std::move(body));
    NameThread(thread);
    return thread;
  } catch (const std::system_error& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the HTTP ", what, " thread: ", e.what()));
  }
}

// The threads that serve accepted connections, one connection each at a
// time, with a bounded queue of accepted connections in front of them.
// Enqueue blocks while the queue is full: the listener stops accepting, and
// the kernel's backlog holds what comes next. Thread-safe.
class ConnectionWorkers {
 public:
  ~ConnectionWorkers() { Shutdown(); }

  // Starts `threads` threads; on failure the ones started are joined.
  absl::Status Start(int threads, int queue_capacity) {
    capacity_ = static_cast<size_t>(queue_capacity);
    for (int i = 0; i < threads; ++i) {
      absl::StatusOr<std::thread> thread =
          StartThread("worker", [this] { Run(); });
      if (!thread.ok()) {
        Shutdown();
        return thread.status();
      }
      threads_.push_back(*std::move(thread));
    }
    return absl::OkStatus();
  }

  void Enqueue(std::function<void()> job) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      space_cv_.wait(lock,
                     [&] { return jobs_.size() < capacity_ || stopping_; });
      if (!stopping_) {
        jobs_.push_back(std::move(job));
        work_cv_.notify_one();
        return;
      }
    }
    job();  // after Shutdown: serve it here rather than leak its socket
  }

  // Serves what is queued, then joins the threads. Idempotent.
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) return;  // stopping, nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      space_cv_.notify_one();
      job();
    }
  }

  // std::mutex, not absl: tsan sees pthread (see server/worker_pool.h).
  std::mutex mu_;
  std::condition_variable work_cv_;   // a job arrived, or stopping
  std::condition_variable space_cv_;  // a job left, or stopping
  std::deque<std::function<void()>> jobs_;
  size_t capacity_ = 1;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // touched by Start/Shutdown only
};

// What cpp-httplib's listener hands connections to; it owns (and deletes)
// this adapter, while the workers belong to the HttpServer.
class WorkersQueue final : public httplib::TaskQueue {
 public:
  explicit WorkersQueue(ConnectionWorkers* workers) : workers_(workers) {}
  void enqueue(std::function<void()> fn) override {
    workers_->Enqueue(std::move(fn));
  }
  // Called by the listener when it stops accepting.
  void shutdown() override { workers_->Shutdown(); }

 private:
  ConnectionWorkers* const workers_;
};

// One accepted connection as cpp-httplib reads and writes it, plaintext or
// through `tls` (not owned; null: plaintext). Reads are buffered; each read
// waits at most until `read_deadline` (the whole request must have arrived
// by then); until SetHeadersDone the bytes received (decrypted, with TLS)
// are capped at `header_budget`. Writes wait at most `write_timeout` each.
// One thread uses it.
class LimitedSocketStream final : public httplib::Stream {
 public:
  LimitedSocketStream(int fd, TlsConnection* tls, SteadyClock::time_point start,
                      SteadyClock::time_point read_deadline,
                      size_t header_budget,
                      std::chrono::milliseconds write_timeout)
      : fd_(fd),
        tls_(tls),
        start_(start),
        read_deadline_(read_deadline),
        header_budget_(header_budget),
        write_timeout_(write_timeout) {}

  bool is_readable() const override {
    return buffered() > 0 || (tls_ != nullptr && tls_->HasBufferedData()) ||
           Wait(POLLIN, ReadLeft());
  }
  bool is_writable() const override { return Wait(POLLOUT, write_timeout_); }

  ssize_t read(char* out, size_t size) override {
    if (buffered() == 0) {
      size_t room = sizeof(buffer_);
      if (!headers_done_) {
        if (received_ >= header_budget_) {
          over_header_budget_ = true;
          return -1;
        }
        room = std::min(room, header_budget_ - received_);
      }
      ssize_t n;
      if (tls_ != nullptr) {
        n = tls_->Read(buffer_, room, read_deadline_);
        if (n == TlsConnection::kTimedOut) {
          timed_out_ = true;
          return -1;
        }
      } else {
        if (!Wait(POLLIN, ReadLeft())) {
          timed_out_ = true;
          return -1;
        }
        n = recv(fd_, buffer_, room, 0);
      }
      if (n <= 0) return n;
      received_ += static_cast<size_t>(n);
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, buffered());
    std::memcpy(out, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* data, size_t size) override {
    if (tls_ != nullptr) {
      const ssize_t n =
          tls_->Write(data, size, SteadyClock::now() + write_timeout_);
      if (n <= 0) return -1;
      written_ += static_cast<size_t>(n);
      return n;
    }
    if (!Wait(POLLOUT, write_timeout_)) return -1;
    // MSG_NOSIGNAL: a client that went away must not raise SIGPIPE.
    const ssize_t n = send(fd_, data, size, MSG_NOSIGNAL);
    if (n > 0) written_ += static_cast<size_t>(n);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Describe(getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Describe(getsockname, ip, port);
  }
  socket_t socket() const override { return fd_; }

  // The request line and headers are parsed: from here on only the read
  // deadline and the body limit (cpp-httplib's payload_max_length) apply.
  void SetHeadersDone() { headers_done_ = true; }
  bool headers_done() const { return headers_done_; }
  // A route's own deadline for the rest of the request, counted from the
  // connection's start.
  void SetReadTimeout(std::chrono::milliseconds timeout) {
    read_deadline_ = start_ + timeout;
  }
  // The client closed or reset its side. The one request was read in full,
  // so anything readable now is an end of file (or bytes nobody will read).
  bool ClientGone() const {
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    int n;
    do {
      n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
    char byte;
    return recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  bool over_header_budget() const { return over_header_budget_; }
  bool timed_out() const { return timed_out_; }
  size_t written() const { return written_; }

 private:
  size_t buffered() const { return end_ - begin_; }

  std::chrono::milliseconds ReadLeft() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        read_deadline_ - SteadyClock::now());
  }

  bool Wait(short events, std::chrono::milliseconds timeout) const {
    if (timeout.count() <= 0) return false;
    pollfd p{fd_, events, 0};
    int n;
    do {
      n = poll(&p, 1, static_cast<int>(timeout.count()));
    } while (n < 0 && errno == EINTR);
    return n > 0;
  }

  void Describe(int (*name_of)(int, sockaddr*, socklen_t*), std::string& ip,
                int& port) const {
    sockaddr_storage address = {};
    socklen_t length = sizeof(address);
    ip.clear();
    port = -1;
    if (name_of(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
      inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
      port = ntohs(v4->sin_port);
    } else if (address.ss_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
      port = ntohs(v6->sin6_port);
    }
    ip = text;
  }

  const int fd_;
  TlsConnection* const tls_;
  const SteadyClock::time_point start_;
  SteadyClock::time_point read_deadline_;
  const size_t header_budget_;
  const std::chrono::milliseconds write_timeout_;
  char buffer_[kReadBufferBytes];
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t received_ = 0;
  size_t written_ = 0;
  bool headers_done_ = false;
  bool over_header_budget_ = false;
  bool timed_out_ = false;
};

// The connection being served on this thread, for the pre-routing handler
// (cpp-httplib passes it only the request). Set and cleared by
// RouterServer::process_and_close_socket around the one request it serves.
thread_local LimitedSocketStream* current_stream = nullptr;

std::string HeadersTooLargeText(size_t max_header_bytes) {
  return absl::StrCat("request line and headers over ", max_header_bytes,
                      " bytes");
}

std::string BodyTooLargeText(int64_t max_body_bytes) {
  return absl::StrCat("request body over ", max_body_bytes, " bytes");
}

void SendPlain(LimitedSocketStream& stream, absl::string_view status_line,
               absl::string_view text) {
  const std::string body = absl::StrCat(text, "\n");
  const std::string response = absl::StrCat(
      "HTTP/1.1 ", status_line, "\r\nContent-Type: ", kPlainText,
      "\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n", body);
  size_t sent = 0;
  while (sent < response.size()) {
    const ssize_t n = stream.write(response.data() + sent, response.size() - sent);
    if (n <= 0) return;  // the client went away
    sent += static_cast<size_t>(n);
  }
}

// cpp-httplib's Server with our per-connection handling: with HTTPS the TLS
// handshake, within the request's deadline; then one request on a
// LimitedSocketStream, then close. (process_and_close_socket is a private
// virtual of httplib::Server, made to be overridden this way.)
class RouterServer final : public httplib::Server {
 public:
  // `tls`: not owned, outlives the server; null: plaintext.
  RouterServer(size_t max_header_bytes, absl::Duration request_timeout,
               HttpTlsContext* tls)
      : max_header_bytes_(max_header_bytes),
        request_timeout_(absl::ToChronoMilliseconds(request_timeout)),
        tls_(tls) {}

 private:
  bool process_and_close_socket(socket_t sock) override {
    const SteadyClock::time_point start = SteadyClock::now();
    const SteadyClock::time_point deadline = start + request_timeout_;
    std::unique_ptr<TlsConnection> tls;
    if (tls_ != nullptr) {
      // A failed handshake gets no answer: there is no channel to send one.
      absl::StatusOr<std::unique_ptr<TlsConnection>> accepted =
          TlsConnection::Accept(tls_->Current(), sock, deadline);
      if (!accepted.ok()) {
        shutdown(sock, SHUT_RDWR);
        close(sock);
        return false;
      }
      tls = *std::move(accepted);
    }
    LimitedSocketStream stream(sock, tls.get(), start, deadline,
                               max_header_bytes_, request_timeout_);
    current_stream = &stream;
    bool connection_closed = false;
    const bool ok = process_request(stream, /*close_connection=*/true,
                                    connection_closed, nullptr);
    current_stream = nullptr;
    if (!ok && stream.written() == 0 && !stream.headers_done()) {
      if (stream.over_header_budget()) {
        SendPlain(stream, kHeadersTooLarge,
                  HeadersTooLargeText(max_header_bytes_));
      } else if (stream.timed_out()) {
        SendPlain(stream, kRequestTimeout, kRequestTimeoutText);
      }
    }
    if (tls != nullptr) tls->Close();
    tls.reset();
    shutdown(sock, SHUT_RDWR);
    close(sock);
    return ok;
  }

  const size_t max_header_bytes_;
  const std::chrono::milliseconds request_timeout_;
  HttpTlsContext* const tls_;
};

HttpResponse PlainResponse(int status, absl::string_view text) {
  HttpResponse response;
  response.status = status;
  response.body = absl::StrCat(text, "\n");
  return response;
}

// HttpStreamWriter over cpp-httplib's DataSink of a chunked response.
class SinkWriter final : public HttpStreamWriter {
 public:
  SinkWriter(httplib::DataSink& sink, const LimitedSocketStream* stream)
      : sink_(sink), stream_(stream) {}
  bool Write(absl::string_view data) override {
    if (data.empty()) return !ClientGone();  // an empty chunk would end it
    return sink_.write(data.data(), data.size());
  }
  bool ClientGone() override {
    return stream_ != nullptr && stream_->ClientGone();
  }

 private:
  httplib::DataSink& sink_;
  const LimitedSocketStream* const stream_;
};

// `hold` lives as long as the response (a stream: until its last byte).
void SetResponse(HttpResponse from, httplib::Response& to,
                 std::shared_ptr<void> hold = nullptr) {
  to.status = from.status;
  for (const auto& [name, value] : from.headers) to.set_header(name, value);
  if (!from.stream) {
    to.set_content(from.body, from.content_type);
    return;
  }
  // cpp-httplib calls the provider on this thread while it writes the
  // response; the whole stream is produced in its first call.
  auto body = std::make_shared<HttpStreamBody>(std::move(from.stream));
  to.set_chunked_content_provider(
      from.content_type,
      [body, hold](size_t, httplib::DataSink& sink) {
        if (*body) {
          SinkWriter writer(sink, current_stream);
          HttpStreamBody run = std::move(*body);
          *body = nullptr;
          try {
            run(writer);
          } catch (const std::exception& e) {
            // The status line is gone: the stream just ends here.
            std::fprintf(stderr, "HTTP stream threw: %s\n", e.what());
          } catch (...) {
            std::fprintf(stderr, "HTTP stream threw\n");
          }
        }
        sink.done();
        return true;
      });
}

// The route's answer to one of its limits (its limit_response, else text).
HttpResponse LimitResponse(const HttpRoute& route, int status,
                           const std::string& message) {
  if (!route.limit_response) return PlainResponse(status, message);
  HttpResponse response;
  try {
    response = route.limit_response(status, message);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "HTTP limit response for %s threw: %s\n",
                 route.path.c_str(), e.what());
    return PlainResponse(status, message);
  }
  response.status = status;
  response.stream = nullptr;
  return response;
}

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

// Runs the handler; an exception or an impossible status is a bug in it,
// reported on stderr and answered with 500.
HttpResponse CallHandler(const HttpRoute& route, const HttpRequest& request) {
  HttpResponse response;
  try {
    response = route.handler(request);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "HTTP handler for %s threw: %s\n", route.path.c_str(),
                 e.what());
    return PlainResponse(500, "internal error");
  } catch (...) {
    std::fprintf(stderr, "HTTP handler for %s threw\n", route.path.c_str());
    return PlainResponse(500, "internal error");
  }
  if (response.status < kMinHttpStatus || response.status > kMaxHttpStatus) {
    std::fprintf(stderr, "HTTP handler for %s returned status %d\n",
                 route.path.c_str(), response.status);
    return PlainResponse(500, "internal error");
  }
  return response;
}

HttpRequest ToHttpRequest(const httplib::Request& in, bool with_body = true) {
  HttpRequest out;
  out.method = in.method;
  out.path = in.path;
  const size_t question = in.target.find('?');
  if (question != std::string::npos) out.query = in.target.substr(question + 1);
  for (const auto& [name, value] : in.headers) {
    out.headers.emplace(absl::AsciiStrToLower(name), value);
  }
  if (with_body) out.body = in.body;
  return out;
}

// The parsed address when the options and routes are valid.
absl::StatusOr<ListenAddress> ValidateOptions(const HttpServerOptions& options) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.address);
  if (!address.ok()) return address.status();
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
      options.request_timeout < absl::Milliseconds(1)) {
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
    if (route.request_timeout < absl::ZeroDuration() ||
        route.max_in_flight < 0 ||
        (route.group != nullptr && route.group->limit() < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HTTP route ", route.path,
          " needs a non-negative request_timeout and max_in_flight, and a "
          "group limit of at least 1"));
    }
    if (!paths.insert(route.path).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate HTTP route ", route.path));
    }
  }
  return address;
}

}  // namespace

std::optional<std::string> HttpRequest::QueryParam(absl::string_view name) const {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) != name) continue;
    if (equals == absl::string_view::npos) return std::string();
    const absl::string_view raw = pair.substr(equals + 1);
    std::string value;
    for (size_t i = 0; i < raw.size(); ++i) {
      int hex = 0;
      if (raw[i] == '%' && i + 2 < raw.size() &&
          absl::ascii_isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
          absl::ascii_isxdigit(static_cast<unsigned char>(raw[i + 2])) &&
          absl::SimpleHexAtoi(raw.substr(i + 1, 2), &hex)) {
        value.push_back(static_cast<char>(hex));
        i += 2;
      } else {
        value.push_back(raw[i] == '+' ? ' ' : raw[i]);
      }
    }
    return value;
  }
  return std::nullopt;
}

bool HttpInFlightGroup::TryAcquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (in_flight_ >= limit_) return false;
  ++in_flight_;
  return true;
}

void HttpInFlightGroup::Release() {
  std::lock_guard<std::mutex> lock(mu_);
  --in_flight_;
}

const std::string* HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

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

// Owns the cpp-httplib server and the threads. Start runs once; Stop from
// one thread.
class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, ListenAddress address,
       std::unique_ptr<HttpTlsContext> tls)
      : options_(std::move(options)),
        address_(std::move(address)),
        tls_(std::move(tls)),
        server_(static_cast<size_t>(options_.max_header_bytes),
                options_.request_timeout, tls_.get()) {}

  ~Impl() { Stop(); }

  // Starts the threads, binds, and returns once the listener accepts.
  absl::StatusOr<int> Start() {
    Configure();
    if (absl::Status s =
            workers_.Start(options_.num_threads, options_.connection_queue);
        !s.ok()) {
      return Failed(s);
    }
    // The listener exists before the socket does, so that no failure can
    // leave a bound socket without a thread to close it.
    absl::StatusOr<std::thread> listener =
        StartThread("listener", [this] { Listen(); });
    if (!listener.ok()) {
      workers_.Shutdown();
      return Failed(listener.status());
    }
    listener_ = *std::move(listener);

    const int port =
        address_.port == 0
            ? server_.bind_to_any_port(address_.host)
            : (server_.bind_to_port(address_.host, address_.port)
                   ? address_.port
                   : -1);
    std::unique_lock<std::mutex> lock(mu_);
    if (port <= 0) {
      go_ = Go::kAbort;
      cv_.notify_all();
      lock.unlock();
      Stop();
      // cpp-httplib does not say why; try again ourselves to find out.
      absl::Status why = DiagnoseListen(address_);
      return Failed(why.ok() ? absl::UnavailableError("the bind failed")
                             : why);
    }
    go_ = Go::kListen;
    cv_.notify_all();
    cv_.wait(lock, [&] { return accepting_ || listener_done_; });
    if (!accepting_) {
      lock.unlock();
      Stop();
      return Failed(absl::UnavailableError("the listener stopped at start"));
    }
    return port;
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    if (listener_.joinable()) {
      bool accepting;
      {
        std::lock_guard<std::mutex> lock(mu_);
        accepting = accepting_;
      }
      // Closes the listening socket; the accept loop ends, shuts the
      // workers down (they finish accepted connections), and returns.
      if (accepting) server_.stop();
      listener_.join();
    }
    workers_.Shutdown();
  }

 private:
  absl::Status Failed(const absl::Status& why) const {
    return absl::Status(why.code(), absl::StrCat("cannot start HTTP server on ",
                                                 options_.address, ": ",
                                                 why.message()));
  }

  void Configure() {
    // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which
    // a second server on the same port would bind silently and share it.
    server_.set_socket_options([](socket_t fd) {
      int yes = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    int64_t largest_body = options_.max_body_bytes;
    for (const HttpRoute& route : options_.routes) {
      largest_body = std::max(largest_body, BodyLimit(route));
    }
    // Each route's own limit is checked before and after the read.
    server_.set_payload_max_length(static_cast<size_t>(largest_body));
    server_.set_read_timeout(absl::ToChronoMilliseconds(options_.request_timeout));
    server_.set_write_timeout(
        absl::ToChronoMilliseconds(options_.request_timeout));
    server_.set_default_headers({{"Cache-Control", "no-store"}});
    server_.new_task_queue = [this]() -> httplib::TaskQueue* {
      {
        std::lock_guard<std::mutex> lock(mu_);
        accepting_ = true;
      }
      cv_.notify_all();
      return new WorkersQueue(&workers_);
    };

    // After the headers, before the body is read: unknown paths and methods
    // are answered here, so their bodies are never read.
    server_.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          if (current_stream != nullptr) current_stream->SetHeadersDone();
          const HttpRoute* route = Find(req.path);
          if (route == nullptr) {
            SetResponse(PlainResponse(404, "not found"), res);
            return httplib::Server::HandlerResponse::Handled;
          }
          if (!AllowsMethod(*route, req.method)) {
            HttpResponse response = PlainResponse(405, "method not allowed");
            response.headers.emplace_back("Allow", AllowHeader(*route));
            SetResponse(response, res);
            return httplib::Server::HandlerResponse::Handled;
          }
          if (route->authenticate) {
            HttpRequest headers_only = ToHttpRequest(req, /*with_body=*/false);
            const absl::Status allowed = route->authenticate(headers_only);
            if (!allowed.ok()) {
              HttpResponse refused =
                  LimitResponse(*route, 401, std::string(allowed.message()));
              if (std::none_of(refused.headers.begin(), refused.headers.end(),
                               [](const auto& h) {
                                 return h.first == "WWW-Authenticate";
                               })) {
                refused.headers.emplace_back("WWW-Authenticate", "Bearer");
              }
              SetResponse(std::move(refused), res);
              return httplib::Server::HandlerResponse::Handled;
            }
          }
          if (route->request_timeout > absl::ZeroDuration() &&
              current_stream != nullptr) {
            current_stream->SetReadTimeout(
                absl::ToChronoMilliseconds(route->request_timeout));
          }
          // Refused unread (cpp-httplib would first read and discard it);
          // a client still sending may then see a reset, not the 413.
          uint64_t declared = 0;
          const int64_t limit = BodyLimit(*route);
          if (absl::SimpleAtoi(req.get_header_value("Content-Length"),
                               &declared) &&
              declared > static_cast<uint64_t>(limit)) {
            SetResponse(LimitResponse(*route, 413, BodyTooLargeText(limit)),
                        res);
            return httplib::Server::HandlerResponse::Handled;
          }
          return httplib::Server::HandlerResponse::Unhandled;
        });
    // Every path reaches Dispatch; the pre-routing handler has let through
    // only routed paths with an allowed method. HEAD is served by Get.
    const std::string any = ".*";
    auto dispatch = [this](const httplib::Request& req,
                           httplib::Response& res) { Dispatch(req, res); };
    server_.Get(any, dispatch);
    server_.Post(any, dispatch);
    server_.Put(any, dispatch);
    server_.Patch(any, dispatch);
    server_.Delete(any, dispatch);
    server_.Options(any, dispatch);

    // Errors cpp-httplib answers itself (400, 413, 414, ...) get a text
    // body; its 400 for headers that could not be read becomes 431 or 408
    // when our stream cut them off.
    server_.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          const LimitedSocketStream* stream = current_stream;
          std::string text = absl::StrCat("HTTP error ", res.status);
          if (res.status == 413) {
            text = BodyTooLargeText(options_.max_body_bytes);
          } else if (stream != nullptr && !stream->headers_done() &&
                     stream->over_header_budget()) {
            res.status = 431;
            text = HeadersTooLargeText(options_.max_header_bytes);
          } else if (stream != nullptr && !stream->headers_done() &&
                     stream->timed_out()) {
            res.status = 408;
            text = kRequestTimeoutText;
          }
          res.set_content(absl::StrCat(text, "\n"), kPlainText);
          return httplib::Server::HandlerResponse::Handled;
        }));
    server_.set_exception_handler([](const httplib::Request& req,
                                     httplib::Response& res,
                                     std::exception_ptr) {
      std::fprintf(stderr, "HTTP request for %s failed inside cpp-httplib\n",
                   req.path.c_str());
      SetResponse(PlainResponse(500, "internal error"), res);
    });
  }

  const HttpRoute* Find(const std::string& path) const {
    for (const HttpRoute& route : options_.routes) {
      if (route.path == path) return &route;
    }
    return nullptr;
  }

  // A slot of `route`'s max_in_flight, given back when the returned holder
  // is released; null when the route is at its cap. Routes without a cap
  // get a holder that holds nothing.
  // `why` says which cap refused it.
  std::shared_ptr<void> AcquireSlot(const HttpRoute& route, std::string& why) {
    const size_t index = static_cast<size_t>(&route - options_.routes.data());
    if (route.max_in_flight > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (in_flight_[index] >= route.max_in_flight) {
        why = absl::StrCat(route.path, " (at most ", route.max_in_flight, ")");
        return nullptr;
      }
      ++in_flight_[index];
    }
    auto release_route = [this, index, capped = route.max_in_flight > 0] {
      if (!capped) return;
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_[index];
    };
    HttpInFlightGroup* group = route.group.get();
    if (group != nullptr && !group->TryAcquire()) {
      release_route();
      why = absl::StrCat(group->name(), " (at most ", group->limit(), ")");
      return nullptr;
    }
    // Non-null, so that the caller can tell it from "at the cap".
    return std::shared_ptr<void>(this, [release_route, group](void*) {
      if (group != nullptr) group->Release();
      release_route();
    });
  }

  void Dispatch(const httplib::Request& req, httplib::Response& res) {
    const HttpRoute* route = Find(req.path);
    if (route == nullptr) {  // cannot happen: pre-routing answered it
      SetResponse(PlainResponse(404, "not found"), res);
      return;
    }
    // A chunked body carries no length up front: checked once read.
    const int64_t limit = BodyLimit(*route);
    if (static_cast<int64_t>(req.body.size()) > limit) {
      SetResponse(LimitResponse(*route, 413, BodyTooLargeText(limit)), res);
      return;
    }
    std::string why;
    std::shared_ptr<void> slot = AcquireSlot(*route, why);
    if (slot == nullptr) {
      HttpResponse busy = LimitResponse(
          *route, 429,
          absl::StrCat("too many requests in flight on ", why,
                       "; retry later"));
      busy.headers.emplace_back("Retry-After", "1");
      SetResponse(std::move(busy), res);
      return;
    }
    SetResponse(CallHandler(*route, ToHttpRequest(req)), res, std::move(slot));
  }

  int64_t BodyLimit(const HttpRoute& route) const {
    return route.max_body_bytes < 0 ? options_.max_body_bytes
                                    : route.max_body_bytes;
  }

  void Listen() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return go_ != Go::kWait; });
      if (go_ == Go::kAbort) return;
    }
    server_.listen_after_bind();
    std::lock_guard<std::mutex> lock(mu_);
    listener_done_ = true;
    cv_.notify_all();
  }

  const HttpServerOptions options_;
  const ListenAddress address_;
  // Before server_, which uses it; null: plaintext.
  const std::unique_ptr<HttpTlsContext> tls_;
  RouterServer server_;
  ConnectionWorkers workers_;
  std::thread listener_;
  bool stopped_ = false;

  // std::mutex, not absl: tsan sees pthread (see server/worker_pool.h).
  std::mutex mu_;
  std::condition_variable cv_;
  enum class Go { kWait, kListen, kAbort };
  Go go_ = Go::kWait;            // guarded by mu_: what the listener does
  // guarded by mu_: requests in progress per route (by index in routes)
  std::vector<int> in_flight_ = std::vector<int>(options_.routes.size(), 0);
  bool accepting_ = false;       // guarded by mu_: the accept loop is up
  bool listener_done_ = false;   // guarded by mu_
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    HttpServerOptions options) {
  absl::StatusOr<ListenAddress> address = ValidateOptions(options);
  if (!address.ok()) return address.status();
  std::unique_ptr<HttpTlsContext> tls;
  if (options.tls.mode() != TlsMode::kPlaintext) {
    absl::StatusOr<std::unique_ptr<HttpTlsContext>> context =
        HttpTlsContext::Create(options.tls);
    if (!context.ok()) {
      return absl::Status(
          context.status().code(),
          absl::StrCat("cannot start HTTP server on ", options.address, ": ",
                       context.status().message()));
    }
    tls = *std::move(context);
  }
  auto impl = std::make_unique<Impl>(std::move(options), *std::move(address),
                                     std::move(tls));
  absl::StatusOr<int> port = impl->Start();
  if (!port.ok()) return port.status();
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  server->port_ = *port;
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace sam2
