// HTTPS on HttpServer (HttpServerOptions::tls, server/http_tls.h): /ping and
// /metrics over TLS with the right CA; an untrusted CA or a plaintext
// request gets no answer; mutual TLS refuses clients without a certificate
// from the client CA; new certificate files are served without a restart
// and bad ones are refused while the previous stay; the server's bounds
// hold under TLS (431, 408), and a client that never finishes its
// handshake is cut off at the request deadline instead of holding a worker.
// Certificates are made at test time (tests/util/test_certs.h).

#include "server/http_tls.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/http_server.h"
#include "tests/util/http_client.h"
#include "tests/util/test_certs.h"

namespace sam2 {
namespace {

constexpr absl::Duration kReloadLimit = absl::Seconds(30);
constexpr absl::Duration kRetryPause = absl::Milliseconds(20);

class HttpTlsTest : public ::testing::Test {
 protected:
  HttpTlsTest()
      : dir_(std::getenv("TEST_TMPDIR")),
        ca_(TestCa::Create("https test ca")),
        untrusted_(TestCa::Create("untrusted ca")) {}

  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  // Writes `server` as the certificate files; the config serving them.
  TlsConfig WriteFiles(const TestKeyPair& server) {
    const TestCertFiles files = WriteKeyPair(server, dir_, "server");
    TlsConfig config;
    config.cert_path = files.cert;
    config.key_path = files.key;
    return config;
  }

  void Start(const TlsConfig& tls, HttpServerOptions options = {}) {
    options.address = "127.0.0.1:0";
    options.tls = tls;
    options.routes.push_back(
        MetricsRoute([] { return std::string("# TYPE up gauge\nup 1\n"); }));
    options.routes.push_back(HealthRoute("/ping", [] { return true; }));
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  TlsClientOptions Trusting(const TestCa& ca,
                            const TestKeyPair* client = nullptr) const {
    TlsClientOptions tls;
    tls.ca_pem = ca.cert_pem();
    if (client != nullptr) {
      tls.cert_pem = client->cert_pem;
      tls.key_pem = client->key_pem;
    }
    return tls;
  }

  const std::string dir_;
  const TestCa ca_;
  const TestCa untrusted_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpTlsTest, ServesPingAndMetricsOverTls) {
  Start(WriteFiles(ca_.IssueServer()));
  HttpReply ping = HttpsGet(server_->port(), "/ping", Trusting(ca_));
  EXPECT_EQ(ping.status, 200) << ping.error;
  EXPECT_EQ(ping.body, "OK\n");
  HttpReply metrics = HttpsGet(server_->port(), "/metrics", Trusting(ca_));
  EXPECT_EQ(metrics.status, 200) << metrics.error;
  EXPECT_EQ(metrics.body, "# TYPE up gauge\nup 1\n");
  EXPECT_EQ(HttpsGet(server_->port(), "/nope", Trusting(ca_)).status, 404);
}

TEST_F(HttpTlsTest, UntrustedCaAndPlaintextGetNoAnswer) {
  Start(WriteFiles(ca_.IssueServer()));
  HttpReply untrusted = HttpsGet(server_->port(), "/ping", Trusting(untrusted_));
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_TRUE(absl::StrContains(untrusted.error, "TLS handshake failed"))
      << untrusted.error;
  HttpReply plaintext = HttpGet(server_->port(), "/ping");
  EXPECT_EQ(plaintext.status, 0) << plaintext.body;
  // The server is unharmed.
  EXPECT_EQ(HttpsGet(server_->port(), "/ping", Trusting(ca_)).status, 200);
}

TEST_F(HttpTlsTest, MutualTlsNeedsACertificateFromTheClientCa) {
  TlsConfig config = WriteFiles(ca_.IssueServer());
  config.client_ca_path = Path("client_ca.pem");
  ASSERT_TRUE(ReplaceFile(config.client_ca_path, ca_.cert_pem()).ok());
  Start(config);

  const TestKeyPair client = ca_.IssueClient();
  HttpReply good = HttpsGet(server_->port(), "/ping", Trusting(ca_, &client));
  EXPECT_EQ(good.status, 200) << good.error;
  EXPECT_EQ(HttpsGet(server_->port(), "/ping", Trusting(ca_)).status, 0);
  const TestKeyPair stranger = untrusted_.IssueClient();
  EXPECT_EQ(HttpsGet(server_->port(), "/ping", Trusting(ca_, &stranger)).status,
            0);
}

TEST_F(HttpTlsTest, BadFilesAtStartAreAStartError) {
  TlsConfig config = WriteFiles(ca_.IssueServer());
  ASSERT_TRUE(ReplaceFile(config.key_path, ca_.IssueServer().key_pem).ok());
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.tls = config;
  options.routes.push_back(HealthRoute("/ping", [] { return true; }));
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(std::move(options));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(server.status().message(), "does not match"))
      << server.status();
}

TEST_F(HttpTlsTest, NewCertificateIsServedWithoutARestart) {
  TlsConfig config = WriteFiles(ca_.IssueServer());
  config.reload_interval = absl::Milliseconds(50);
  Start(config);
  ASSERT_EQ(HttpsGet(server_->port(), "/ping", Trusting(ca_)).status, 200);
  const TestCa next = TestCa::Create("next year's ca");
  EXPECT_EQ(HttpsGet(server_->port(), "/ping", Trusting(next)).status, 0);

  WriteFiles(next.IssueServer());
  bool served = false;
  for (const absl::Time give_up = absl::Now() + kReloadLimit;
       !served && absl::Now() < give_up; absl::SleepFor(kRetryPause)) {
    served = HttpsGet(server_->port(), "/ping", Trusting(next)).status == 200;
  }
  EXPECT_TRUE(served) << "the new certificate was not served within "
                      << absl::FormatDuration(kReloadLimit);
  EXPECT_EQ(HttpsGet(server_->port(), "/metrics", Trusting(next)).status, 200);
  EXPECT_EQ(HttpsGet(server_->port(), "/ping", Trusting(ca_)).status, 0);
}

TEST_F(HttpTlsTest, ReloadKeepsThePreviousContextWhenNewFilesAreBad) {
  TlsConfig config = WriteFiles(ca_.IssueServer());
  config.reload_interval = absl::Hours(1);  // only explicit reloads
  absl::StatusOr<std::unique_ptr<HttpTlsContext>> context =
      HttpTlsContext::Create(config);
  ASSERT_TRUE(context.ok()) << context.status();
  const std::shared_ptr<SSL_CTX> first = (*context)->Current();
  EXPECT_TRUE((*context)->Reload().ok());  // unchanged files
  EXPECT_EQ((*context)->Current(), first);

  // A key that is not the certificate's (a half-done renewal): refused.
  ASSERT_TRUE(ReplaceFile(config.key_path, ca_.IssueServer().key_pem).ok());
  const absl::Status refused = (*context)->Reload();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_EQ((*context)->Current(), first);
  ASSERT_TRUE(std::remove(config.cert_path.c_str()) == 0);
  EXPECT_EQ((*context)->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*context)->Current(), first);

  // Both files renewed: served.
  WriteFiles(ca_.IssueServer());
  EXPECT_TRUE((*context)->Reload().ok());
  EXPECT_NE((*context)->Current(), first);
}

TEST_F(HttpTlsTest, BoundsHoldUnderTls) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  options.request_timeout = absl::Milliseconds(500);
  Start(WriteFiles(ca_.IssueServer()), options);
  HttpReply big = HttpsExchange(
      server_->port(),
      absl::StrCat("GET /ping HTTP/1.0\r\nX-Big: ", std::string(4096, 'a'),
                   "\r\n\r\n"),
      Trusting(ca_));
  EXPECT_EQ(big.status, 431) << big.error;
  // Headers that never end: 408 at the deadline, over TLS.
  HttpReply stalled =
      HttpsExchange(server_->port(), "GET /ping HTTP/1.0\r\n", Trusting(ca_));
  EXPECT_EQ(stalled.status, 408) << stalled.error;
}

TEST_F(HttpTlsTest, StalledHandshakesAreCutOffAtTheRequestDeadline) {
  HttpServerOptions options;
  options.num_threads = 1;
  options.request_timeout = absl::Milliseconds(500);
  Start(WriteFiles(ca_.IssueServer()), options);
  // One connection says nothing, the other starts a TLS record and stops:
  // with one worker, each holds it until its deadline, no longer.
  const int silent = ConnectLoopback(server_->port());
  const int partial = ConnectLoopback(server_->port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  const char record_start[] = {0x16, 0x03, 0x01, 0x02};
  ASSERT_EQ(send(partial, record_start, sizeof(record_start), MSG_NOSIGNAL),
            static_cast<ssize_t>(sizeof(record_start)));

  const auto start = std::chrono::steady_clock::now();
  HttpReply ping = HttpsGet(server_->port(), "/ping", Trusting(ca_));
  EXPECT_EQ(ping.status, 200) << ping.error;
  // Both were closed by the server (end of file, not the client's own
  // 30 s receive timeout).
  char byte;
  EXPECT_EQ(recv(silent, &byte, 1, 0), 0);
  EXPECT_EQ(recv(partial, &byte, 1, 0), 0);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, std::chrono::seconds(kHttpClientTimeoutSeconds / 2));
  close(silent);
  close(partial);
}

// Sends `request` over TLS (not verifying the server) and closes its
// sending side; waits until `ready()`, then closes the connection without
// reading the answer. The server, which saw the end of the request stream,
// then gets EPIPE on its next write (the case where write() would raise
// SIGPIPE).
void RequestAndLeave(int port, const std::string& request,
                     const std::function<bool()>& ready) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  const int fd = ConnectLoopback(port);
  ASSERT_GE(fd, 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  EXPECT_EQ(SSL_connect(ssl), 1);
  size_t written = 0;
  EXPECT_EQ(SSL_write_ex(ssl, request.data(), request.size(), &written), 1);
  shutdown(fd, SHUT_WR);
  for (const absl::Time give_up = absl::Now() + absl::Seconds(30);
       !ready() && absl::Now() < give_up; absl::SleepFor(kRetryPause)) {
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
}

TEST_F(HttpTlsTest, ClientLeavingMidResponseDoesNotStopTheServer) {
  // A large body: the server is writing it when the client resets. Its TLS
  // writes must then fail quietly, without SIGPIPE, which would end this
  // test process. (cpp-httplib's Server ignores SIGPIPE process-wide when it
  // is built; the server must not depend on that, so the default action is
  // back while this runs, as in a process that restored it.)
  HttpServerOptions options;
  options.num_threads = 1;
  std::atomic<int> served{0};
  HttpRoute big;
  big.path = "/big";
  big.handler = [&served](const HttpRequest&) {
    HttpResponse response;
    response.body = std::string(8 << 20, 'x');
    ++served;
    return response;
  };
  options.routes.push_back(std::move(big));
  Start(WriteFiles(ca_.IssueServer()), options);
  struct sigaction fatal = {};
  fatal.sa_handler = SIG_DFL;
  struct sigaction saved = {};
  ASSERT_EQ(sigaction(SIGPIPE, &fatal, &saved), 0);
  for (int i = 1; i <= 3; ++i) {
    RequestAndLeave(server_->port(), "GET /big HTTP/1.0\r\n\r\n",
                    [&served, i] { return served.load() >= i; });
  }
  EXPECT_EQ(served.load(), 3);
  HttpReply ping = HttpsGet(server_->port(), "/ping", Trusting(ca_));
  EXPECT_EQ(ping.status, 200) << ping.error;
  sigaction(SIGPIPE, &saved, nullptr);
}

}  // namespace
}  // namespace sam2
