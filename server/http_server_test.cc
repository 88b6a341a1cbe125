// Tests for HttpServer: real requests over loopback TCP to a server on an
// ephemeral port, with a minimal HTTP/1.0 client written on POSIX sockets
// (hermetic: port 0, no sleeps; the server closes each connection, so the
// client reads to EOF).
//
// The binary links tests/util:large_static_tls: every test here runs in a
// process with 256 KiB of static TLS, where a server thread created with a
// small fixed stack (civetweb's 100 KiB) cannot start.

#include "server/http_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/util/http_client.h"
#include "tests/util/large_static_tls.h"

namespace sam2 {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.address = "127.0.0.1:0";
    options.routes.push_back(MetricsRoute(
        [] { return std::string("# TYPE up gauge\nup 1\n"); }));
    options.routes.push_back(HealthRoute("/ping", [this] { return healthy_.load(); }));
    options.routes.push_back(
        HealthRoute("/healthz", [this] { return healthy_.load(); }));
    auto server = HttpServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
  }

  std::atomic<bool> healthy_{true};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesMetrics) {
  StartServer();
  HttpReply response = HttpGet(server_->port(), "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"],
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.headers["content-length"], "21");
  EXPECT_EQ(response.body, "# TYPE up gauge\nup 1\n");
}

TEST_F(HttpServerTest, PingAndHealthzFollowHealth) {
  StartServer();
  for (const char* path : {"/ping", "/healthz"}) {
    healthy_ = true;
    HttpReply response = HttpGet(server_->port(), path);
    EXPECT_EQ(response.status, 200) << path;
    EXPECT_EQ(response.body, "OK\n") << path;
    healthy_ = false;
    response = HttpGet(server_->port(), path);
    EXPECT_EQ(response.status, 503) << path;
  }
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  StartServer();
  EXPECT_EQ(HttpGet(server_->port(), "/nope").status, 404);
  EXPECT_EQ(HttpGet(server_->port(), "/").status, 404);
  // Exact matches only: no prefixes, no directory or file serving.
  EXPECT_EQ(HttpGet(server_->port(), "/metrics/x").status, 404);
  EXPECT_EQ(HttpGet(server_->port(), "/../etc/passwd").status, 404);
}

TEST_F(HttpServerTest, QueryStringDoesNotChangeTheRoute) {
  StartServer();
  EXPECT_EQ(HttpGet(server_->port(), "/ping?x=1").status, 200);
}

TEST(HttpRequestTest, QueryParamDecodesItsValue) {
  HttpRequest request;
  request.query = "session=abc-1&index=12&name=a%20b+c&empty=&flag&bad=%zz%4";
  EXPECT_EQ(request.QueryParam("session"), "abc-1");
  EXPECT_EQ(request.QueryParam("index"), "12");
  EXPECT_EQ(request.QueryParam("name"), "a b c");
  EXPECT_EQ(request.QueryParam("empty"), "");
  EXPECT_EQ(request.QueryParam("flag"), "");
  EXPECT_EQ(request.QueryParam("bad"), "%zz%4");
  EXPECT_EQ(request.QueryParam("missing"), std::nullopt);
  EXPECT_EQ(request.QueryParam("sess"), std::nullopt);
  request.query = "";
  EXPECT_EQ(request.QueryParam("session"), std::nullopt);
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  StartServer();
  HttpReply response = HttpPost(server_->port(), "/metrics", "x");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers["allow"], "GET, HEAD");
  EXPECT_EQ(HttpGet(server_->port(), "/ping", "DELETE").status, 405);
}

TEST_F(HttpServerTest, HeadSendsHeadersOnly) {
  StartServer();
  HttpReply response = HttpGet(server_->port(), "/metrics", "HEAD");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-length"], "21");
  EXPECT_EQ(response.body, "");
}

TEST(HttpServerRoutesTest, PostRouteReceivesBodyWithinLimit) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_body_bytes = 8;
  HttpRoute echo;
  echo.path = "/invocations";
  echo.methods = {"POST"};
  echo.handler = [](const HttpRequest& request) {
    HttpResponse response;
    response.content_type = "application/octet-stream";
    response.body = absl::StrCat(request.method, ":", request.body);
    return response;
  };
  options.routes.push_back(echo);
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  HttpReply response = HttpPost(port, "/invocations", "12345678");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"], "application/octet-stream");
  EXPECT_EQ(response.body, "POST:12345678");

  EXPECT_EQ(HttpPost(port, "/invocations", "123456789").status, 413);
  EXPECT_EQ(HttpGet(port, "/invocations").status, 405);
}

TEST(HttpServerRoutesTest, ServesFromThreadsThatHoldTheLargeStaticTls) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  HttpRoute tls;
  tls.path = "/tls";
  tls.handler = [](const HttpRequest&) {
    HttpResponse response;
    response.body = absl::StrCat(TouchLargeStaticTls());
    return response;
  };
  options.routes.push_back(tls);
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  HttpReply response = HttpGet((*server)->port(), "/tls");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, absl::StrCat(kLargeStaticTlsBytes));
}

TEST(HttpServerRoutesTest, HandlerSeesRequestHeadersAndSetsResponseHeaders) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  HttpRoute echo;
  echo.path = "/echo";
  echo.methods = {"POST"};
  echo.handler = [](const HttpRequest& request) {
    HttpResponse response;
    const std::string* session = request.Header("x-session-id");
    response.body = absl::StrCat(session ? *session : "none", "|",
                                 request.query, "|", request.body);
    response.headers.emplace_back("X-Closed-Session-Id", "abc");
    return response;
  };
  options.routes.push_back(echo);
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  HttpReply response = HttpExchange(
      (*server)->port(),
      "POST /echo?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Session-ID: s1\r\n"
      "Content-Length: 4\r\n\r\nbody");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "s1|a=1&b=2|body");
  EXPECT_EQ(response.headers["x-closed-session-id"], "abc");
  EXPECT_EQ(response.headers["connection"], "close");
  EXPECT_EQ(response.headers["cache-control"], "no-store");
}

TEST(HttpServerLimitsTest, OversizedHeadersGet431) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_header_bytes = 1024;
  options.routes.push_back(HealthRoute("/ping", [] { return true; }));
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  // Many short headers: each line is small, the whole is not.
  std::string raw = "GET /ping HTTP/1.0\r\n";
  for (int i = 0; i < 200; ++i) absl::StrAppend(&raw, "X-H", i, ": v\r\n");
  raw += "\r\n";
  HttpReply response = HttpExchange(port, raw);
  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(response.body, "request line and headers over 1024 bytes\n");
  // Headers within the budget are served.
  EXPECT_EQ(HttpExchange(port, "GET /ping HTTP/1.0\r\nX-A: b\r\n\r\n").status,
            200);
}

TEST(HttpServerLimitsTest, StalledRequestGets408) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.request_timeout = absl::Milliseconds(200);
  options.routes.push_back(HealthRoute("/ping", [] { return true; }));
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  // The request line never ends: the server's deadline answers for it.
  HttpReply response = HttpExchange((*server)->port(), "GET /ping HTTP/1.0\r\n");
  EXPECT_EQ(response.status, 408);
}

TEST(HttpServerLimitsTest, DeclaredBodyOverTheLimitIs413UnreadAndNamed) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_body_bytes = 100;
  HttpRoute sink;
  sink.path = "/sink";
  sink.methods = {"POST"};
  sink.handler = [](const HttpRequest&) { return HttpResponse(); };
  options.routes.push_back(sink);
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  HttpReply response = HttpExchange(
      (*server)->port(), "POST /sink HTTP/1.0\r\nContent-Length: 101\r\n\r\n");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, "request body over 100 bytes\n");
}

TEST(HttpServerLimitsTest, RouteBodyLimitBelowTheServers) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_body_bytes = 100;
  HttpRoute small;
  small.path = "/small";
  small.methods = {"POST"};
  small.max_body_bytes = 4;
  small.handler = [](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.body;
    return response;
  };
  options.routes.push_back(small);
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_EQ(HttpPost(port, "/small", "1234").body, "1234");
  HttpReply declared = HttpPost(port, "/small", "12345");
  EXPECT_EQ(declared.status, 413);
  EXPECT_EQ(declared.body, "request body over 4 bytes\n");
  // Chunked: no declared length; refused once read.
  HttpReply chunked = HttpExchange(
      port,
      "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413);
}

TEST(HttpServerRoutesTest, HandlerFailuresBecome500) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  HttpRoute throws;
  throws.path = "/throws";
  throws.handler = [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("bug");
  };
  HttpRoute bad_status;
  bad_status.path = "/bad-status";
  bad_status.handler = [](const HttpRequest&) {
    HttpResponse response;
    response.status = 1234;
    return response;
  };
  options.routes = {throws, bad_status};
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(HttpGet((*server)->port(), "/throws").status, 500);
  EXPECT_EQ(HttpGet((*server)->port(), "/bad-status").status, 500);
  // The server is still serving.
  EXPECT_EQ(HttpGet((*server)->port(), "/nope").status, 404);
}

TEST(HttpServerStartTest, TwoServersOnPortZeroGetDistinctPorts) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  auto a = HttpServer::Start(options);
  auto b = HttpServer::Start(options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*a)->port(), (*b)->port());
}

TEST(HttpServerStartTest, PortInUseIsUnavailable) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  auto first = HttpServer::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  options.address = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = HttpServer::Start(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable)
      << second.status();
  // The message names the address and the system's reason.
  EXPECT_EQ(second.status().message(),
            absl::StrCat("cannot start HTTP server on ", options.address,
                         ": bind ", options.address,
                         ": Address already in use"));
}

TEST(HttpServerStartTest, ListensOnIpv6Loopback) {
  HttpServerOptions options;
  options.address = "[::1]:0";
  options.routes.push_back(HealthRoute("/ping", [] { return true; }));
  auto server = HttpServer::Start(options);
  if (!server.ok() &&
      absl::StrContains(server.status().message(), "Cannot assign")) {
    GTEST_SKIP() << "no IPv6 loopback here: " << server.status();
  }
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GT((*server)->port(), 0);
}

TEST(HttpServerStartTest, RejectsBadOptions) {
  auto start = [](HttpServerOptions options) {
    return HttpServer::Start(std::move(options)).status().code();
  };
  HttpServerOptions options;
  options.address = "no-port";
  EXPECT_EQ(start(options), absl::StatusCode::kInvalidArgument);
  options.address = "127.0.0.1:70000";
  EXPECT_EQ(start(options), absl::StatusCode::kInvalidArgument);
  options.address = ":80";
  EXPECT_EQ(start(options), absl::StatusCode::kInvalidArgument);

  options = {};
  options.address = "127.0.0.1:0";
  options.num_threads = 0;
  EXPECT_EQ(start(options), absl::StatusCode::kInvalidArgument);

  options = {};
  options.address = "127.0.0.1:0";
  options.routes = {HealthRoute("/ping", [] { return true; }),
                    HealthRoute("/ping", [] { return true; })};
  EXPECT_EQ(start(options), absl::StatusCode::kInvalidArgument);

  options.routes = {HealthRoute("ping", [] { return true; })};
  EXPECT_EQ(start(options), absl::StatusCode::kInvalidArgument);

  HttpRoute no_handler;
  no_handler.path = "/x";
  options.routes = {no_handler};
  EXPECT_EQ(start(options), absl::StatusCode::kInvalidArgument);
}

TEST(HttpServerStartTest, StopIsIdempotentAndClosesThePort) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.routes.push_back(HealthRoute("/ping", [] { return true; }));
  auto server = HttpServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_EQ(HttpGet(port, "/ping").status, 200);
  (*server)->Stop();
  (*server)->Stop();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
}

// Reads from `fd` until `marker` has arrived (or EOF / the client's timeout);
// returns what was read.
std::string ReadUntil(int fd, absl::string_view marker) {
  std::string got;
  char buf[4096];
  while (!absl::StrContains(got, marker)) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Connects and sends an empty HTTP/1.1 POST to `path`, leaving the reply
// to be read; the connection, or -1.
int SendEmptyPost(int port, absl::string_view path) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return -1;
  const std::string request = absl::StrCat(
      "POST ", path, " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

HttpRoute StreamRoute(std::string path, HttpStreamBody body) {
  HttpRoute route;
  route.path = std::move(path);
  route.methods = {"POST"};
  route.handler = [body = std::move(body)](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/x-ndjson";
    response.stream = body;
    return response;
  };
  return route;
}

TEST(HttpServerStreamTest, StreamedBodyIsChunkedAndComplete) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.routes.push_back(StreamRoute("/stream", [](HttpStreamWriter& out) {
    for (int i = 0; i < 3; ++i) {
      if (!out.Write(absl::StrCat("{\"n\":", i, "}\n"))) return;
    }
  }));
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  HttpReply reply = HttpExchange(
      (*server)->port(),
      "POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["transfer-encoding"], "chunked");
  EXPECT_EQ(reply.headers["content-type"], "application/x-ndjson");
  EXPECT_EQ(reply.headers.count("content-length"), 0);
  EXPECT_EQ(DecodeChunked(reply.body).value_or("<malformed>"),
            "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
}

TEST(HttpServerStreamTest, ProducerSeesTheClientLeave) {
  absl::Notification first_sent, saw_gone;
  std::atomic<int> writes_after_gone{0};
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.routes.push_back(
      StreamRoute("/stream", [&](HttpStreamWriter& out) {
        ASSERT_FALSE(out.ClientGone());
        ASSERT_TRUE(out.Write("first\n"));
        first_sent.Notify();
        const auto give_up =
            std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!out.ClientGone() &&
               std::chrono::steady_clock::now() < give_up) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (out.ClientGone()) saw_gone.Notify();
        // Writing to a client that left fails (at the latest on the
        // second write, once its RST arrived).
        for (int i = 0; i < 2 && out.Write("more\n"); ++i) ++writes_after_gone;
      }));
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int fd = SendEmptyPost((*server)->port(), "/stream");
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(absl::StrContains(ReadUntil(fd, "first\n"), "first\n"));
  ASSERT_TRUE(first_sent.WaitForNotificationWithTimeout(absl::Seconds(20)));
  close(fd);
  EXPECT_TRUE(saw_gone.WaitForNotificationWithTimeout(absl::Seconds(20)));
  (*server)->Stop();  // joins the worker: the stream has returned
  EXPECT_LT(writes_after_gone.load(), 2);
}

TEST(HttpServerStreamTest, StreamNeverWrittenIsDestroyedUncalled) {
  auto called = std::make_shared<std::atomic<bool>>(false);
  std::weak_ptr<std::atomic<bool>> alive = called;
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  HttpRoute route;
  route.path = "/stream";
  route.handler = [called](const HttpRequest&) {
    HttpResponse response;
    response.stream = [called](HttpStreamWriter&) { *called = true; };
    return response;
  };
  options.routes.push_back(route);
  route = {};
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  std::shared_ptr<std::atomic<bool>> flag = called;
  called.reset();
  // HEAD: headers only; the stream is dropped without being run.
  EXPECT_EQ(HttpGet((*server)->port(), "/stream", "HEAD").status, 200);
  EXPECT_FALSE(*flag);
  EXPECT_EQ(HttpGet((*server)->port(), "/stream").status, 200);
  EXPECT_TRUE(*flag);
}

TEST(HttpServerStreamTest, MaxInFlightAnswers429AndKeepsWorkersForOthers) {
  absl::Notification started, release;
  std::atomic<int> runs{0};
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.num_threads = 2;
  HttpRoute stream = StreamRoute("/stream", [&](HttpStreamWriter& out) {
    out.Write("started\n");
    if (runs++ == 0) started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(20));
    out.Write("done\n");
  });
  stream.max_in_flight = 1;
  options.routes.push_back(stream);
  options.routes.push_back(HealthRoute("/ping", [] { return true; }));
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  const int fd = SendEmptyPost(port, "/stream");
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(20)));

  HttpReply busy = HttpPost(port, "/stream", "");
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.headers["retry-after"], "1");
  EXPECT_EQ(busy.body,
            "too many requests in flight on /stream (at most 1); retry "
            "later\n");
  EXPECT_EQ(HttpGet(port, "/ping").status, 200);

  release.Notify();
  // To the end: the server closes the connection after the response is
  // released, so the slot is free once EOF arrives.
  const std::string rest = ReadUntil(fd, "<never sent>");
  close(fd);
  EXPECT_TRUE(absl::StrContains(rest, "done\n")) << rest;
  // The slot came back with the stream's last byte.
  HttpReply again = HttpExchange(
      port, "POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(again.status, 200);
}

TEST(HttpServerStreamTest, GroupCapsSeveralRoutesTogether) {
  absl::Notification started, release;
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.num_threads = 3;
  auto group = std::make_shared<HttpInFlightGroup>("the API", 1);
  HttpRoute slow = StreamRoute("/slow", [&](HttpStreamWriter& out) {
    out.Write("started\n");
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(20));
  });
  slow.group = group;
  HttpRoute other = HealthRoute("/other", [] { return true; });
  other.group = group;
  options.routes = {slow, other, HealthRoute("/ping", [] { return true; })};
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  EXPECT_EQ(HttpGet(port, "/other").status, 200);  // the group is free
  const int fd = SendEmptyPost(port, "/slow");
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(20)));
  HttpReply refused = HttpGet(port, "/other");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.body,
            "too many requests in flight on the API (at most 1); retry later\n");
  EXPECT_EQ(HttpGet(port, "/ping").status, 200);  // not in the group
  release.Notify();
  ReadUntil(fd, "<never sent>");
  close(fd);
  EXPECT_EQ(HttpGet(port, "/other").status, 200);  // given back
}

TEST(HttpServerLimitsTest, RouteBodyLimitAboveTheServers) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_body_bytes = 4;
  HttpRoute upload;
  upload.path = "/upload";
  upload.methods = {"POST"};
  upload.max_body_bytes = 10;
  upload.handler = [](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.body;
    return response;
  };
  HttpRoute other = upload;
  other.path = "/other";
  other.max_body_bytes = -1;
  options.routes = {upload, other};
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_EQ(HttpPost(port, "/upload", "0123456789").body, "0123456789");
  HttpReply over = HttpPost(port, "/upload", "0123456789a");
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(over.body, "request body over 10 bytes\n");
  // Other routes keep the server's limit, declared or chunked.
  EXPECT_EQ(HttpPost(port, "/other", "12345").status, 413);
  HttpReply chunked = HttpExchange(
      port,
      "POST /other HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413);
}

TEST(HttpServerLimitsTest, RouteAnswersItsOwnLimitsInItsFormat) {
  absl::Notification started, release;
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  HttpRoute route = StreamRoute("/api", [&](HttpStreamWriter& out) {
    out.Write("x");
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(20));
  });
  route.max_body_bytes = 4;
  route.max_in_flight = 1;
  route.limit_response = [](int status, const std::string& message) {
    HttpResponse response;
    response.status = 200;  // the server keeps the limit's status
    response.content_type = "application/json";
    response.body = absl::StrCat("{\"status\":", status, ",\"message\":\"",
                                 message, "\"}");
    return response;
  };
  options.routes.push_back(route);
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  HttpReply declared = HttpPost(port, "/api", "12345");
  EXPECT_EQ(declared.status, 413);
  EXPECT_EQ(declared.headers["content-type"], "application/json");
  EXPECT_EQ(declared.body,
            "{\"status\":413,\"message\":\"request body over 4 bytes\"}");
  HttpReply chunked = HttpExchange(
      port,
      "POST /api HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(chunked.headers["content-type"], "application/json");

  const int fd = SendEmptyPost(port, "/api");
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(20)));
  HttpReply busy = HttpPost(port, "/api", "");
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.headers["retry-after"], "1");
  EXPECT_EQ(busy.body,
            "{\"status\":429,\"message\":\"too many requests in flight on /api "
            "(at most 1); retry later\"}");
  release.Notify();
  close(fd);
}

TEST(HttpServerLimitsTest, RouteRequestTimeoutReplacesTheServers) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.request_timeout = absl::Milliseconds(300);
  HttpRoute slow;
  slow.path = "/slow";
  slow.methods = {"POST"};
  slow.request_timeout = absl::Seconds(20);
  slow.handler = [](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.body;
    return response;
  };
  options.routes.push_back(slow);
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int fd = ConnectLoopback((*server)->port());
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /slow HTTP/1.0\r\nContent-Length: 4\r\n\r\nab";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(head.size()));
  // Past the server's deadline, within the route's.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  ASSERT_EQ(send(fd, "cd", 2, MSG_NOSIGNAL), 2);
  const std::string reply = ReadUntil(fd, "abcd");
  close(fd);
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 200")) << reply;
  EXPECT_TRUE(absl::EndsWith(reply, "abcd")) << reply;
}

TEST(HttpServerStartTest, RejectsNegativeRouteLimits) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  HttpRoute route = HealthRoute("/ping", [] { return true; });
  route.max_in_flight = -1;
  options.routes = {route};
  EXPECT_EQ(HttpServer::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  route.max_in_flight = 0;
  route.request_timeout = absl::Seconds(-1);
  options.routes = {route};
  EXPECT_EQ(HttpServer::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  route.request_timeout = absl::ZeroDuration();
  route.group = std::make_shared<HttpInFlightGroup>("g", 0);
  options.routes = {route};
  EXPECT_EQ(HttpServer::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
