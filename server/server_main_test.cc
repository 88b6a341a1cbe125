// Runs the real sam2_server binary: it loads the micro checkpoint, answers a
// gRPC health check with SERVING, and exits 0 on SIGTERM; a bad checkpoint
// or an address it cannot listen on makes it exit non-zero with a message
// that names the problem, and so does an address off the loopback interface
// without TLS and tokens or --insecure_listen_any. Under tests/util:libthread_stack_probe.so (256 KiB
// of static TLS, as OpenBLAS + LibTorch + CUDA bring on a user's machine)
// it still serves both sides, and no thread of it has a fixed stack size.
// With --tls_cert/--tls_key it serves TLS and says so; bad TLS files or a
// half TLS configuration make it exit 2 naming the problem before the model
// loads.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "protos/grpc/health/v1/health.grpc.pb.h"
#include "tests/util/http_client.h"
#include "tests/util/large_static_tls.h"
#include "tests/util/test_certs.h"

namespace {

constexpr char kServer[] = "server/sam2_server";
constexpr char kCheckpoint[] = "tests/fixtures/sam2.1-micro/model.pt";
constexpr char kStackProbe[] = "tests/util/libthread_stack_probe.so";
constexpr int kStartTimeoutMs = 60000;

extern "C" char** environ;

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // child's stdout
  int err_fd = -1;  // child's stderr
};

// Starts `args` with this process's environment plus `extra_env`
// ("NAME=value" each, set after the inherited ones so they win).
Child Spawn(const std::vector<std::string>& args,
            const std::vector<std::string>& extra_env = {}) {
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const std::string& e : extra_env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  int out[2], err[2];
  EXPECT_EQ(pipe(out), 0);
  EXPECT_EQ(pipe(err), 0);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  c.out_fd = out[0];
  c.err_fd = err[0];
  return c;
}

// Reads from fd until `stop` appears or EOF/timeout; returns what was read.
std::string ReadUntil(int fd, const std::string& stop, int timeout_ms) {
  std::string text;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(timeout_ms);
  while (stop.empty() || text.find(stop) == std::string::npos) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) break;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, n);
  }
  return text;
}

int WaitExit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The port of "sam2_server listening on port N" on the child's stdout; 0,
// with a test failure naming both outputs, if it never comes.
int ListeningPort(const Child& c) {
  const std::string line = ReadUntil(c.out_fd, "\n", kStartTimeoutMs);
  absl::string_view rest = line;
  int port = 0;
  if (!absl::ConsumePrefix(&rest, "sam2_server listening on port ") ||
      !absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(rest), &port)) {
    ADD_FAILURE() << "stdout: " << line
                  << "\nstderr: " << ReadUntil(c.err_fd, "", 1000);
    return 0;
  }
  return port;
}

// Expects gRPC health SERVING on 127.0.0.1:port; returns the channel, which
// stays connected while the caller holds it.
std::shared_ptr<grpc::Channel> ExpectServing(int port) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
      &ctx, grpc::health::v1::HealthCheckRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  return channel;
}

TEST(ServerMainTest, ServesHealthAndStopsCleanlyOnSigterm) {
  Child c = Spawn({kServer, "--address=127.0.0.1:0",
                   "--http_address=127.0.0.1:0",
                   absl::StrCat("--checkpoint=", kCheckpoint)});
  const int port = ListeningPort(c);
  ASSERT_GT(port, 0);
  const std::shared_ptr<grpc::Channel> channel = ExpectServing(port);

  // The client stays connected: an idle connection must not hold up the
  // drain.
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  std::string err = ReadUntil(c.err_fd, "stopped", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(c.pid), 0) << err;
  // Reported, not asserted: gRPC closes idle connections with a GOAWAY
  // handshake, which takes a few seconds.
  std::cerr << "drained and exited "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms after SIGTERM\n";
  EXPECT_NE(err.find("tensors:    371"), std::string::npos) << err;
  EXPECT_NE(err.find("received SIGTERM"), std::string::npos) << err;
  EXPECT_NE(err.find("gRPC on 127.0.0.1:0 (loopback only)"), std::string::npos)
      << err;
}

// Without TLS and tokens, an address off the loopback interface is refused
// (exit 2, before the model is loaded) unless --insecure_listen_any says
// so, and the log then says the API is exposed.
TEST(ServerMainTest, ListensOffLoopbackOnlyWithTheInsecureFlag) {
  for (const auto& [flag, address] :
       {std::pair<std::string, std::string>{"--address", "0.0.0.0:0"},
        {"--http_address", "[::]:0"}}) {
    const bool grpc = flag == "--address";
    Child c = Spawn({kServer, absl::StrCat(flag, "=", address),
                     absl::StrCat(grpc ? "--http_address" : "--address",
                                  "=127.0.0.1:0"),
                     absl::StrCat("--checkpoint=", kCheckpoint)});
    const std::string err = ReadUntil(c.err_fd, "", kStartTimeoutMs);
    EXPECT_EQ(WaitExit(c.pid), 2) << err;
    EXPECT_NE(err.find(absl::StrCat(grpc ? "gRPC" : "HTTP", " address ",
                                    address, " is reachable from other "
                                             "machines")),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("--insecure_listen_any"), std::string::npos) << err;
    EXPECT_EQ(err.find("tensors:"), std::string::npos) << "loaded first: " << err;
  }

  Child c = Spawn({kServer, "--address=0.0.0.0:0", "--http_address=127.0.0.1:0",
                   "--insecure_listen_any",
                   absl::StrCat("--checkpoint=", kCheckpoint)});
  const int port = ListeningPort(c);
  ASSERT_GT(port, 0);
  ExpectServing(port);
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  const std::string err = ReadUntil(c.err_fd, "stopped", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(c.pid), 0) << err;
  EXPECT_NE(err.find("gRPC on 0.0.0.0:0: reachable from other machines, "
                     "WITHOUT TLS OR AUTHENTICATION (--insecure_listen_any)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("HTTP on 127.0.0.1:0 (loopback only)"), std::string::npos)
      << err;
}

TEST(ServerMainTest, FailsClearlyWithoutAUsableCheckpoint) {
  Child c = Spawn({kServer, "--address=127.0.0.1:0",
                   "--checkpoint=tests/fixtures/no-such-model.pt"});
  std::string err = ReadUntil(c.err_fd, "", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(c.pid), 1) << err;
  EXPECT_NE(err.find("cannot load the model"), std::string::npos) << err;
  EXPECT_NE(err.find("no-such-model.pt"), std::string::npos) << err;

  Child bad = Spawn({kServer, "--address=127.0.0.1:0",
                     "--checkpoint=tests/fixtures/sam2.1-micro/image.png"});
  err = ReadUntil(bad.err_fd, "", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(bad.pid), 1) << err;
  EXPECT_NE(err.find("image.png"), std::string::npos) << err;

  Child none = Spawn({kServer, "--address=127.0.0.1:0"});
  err = ReadUntil(none.err_fd, "", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(none.pid), 2) << err;
  EXPECT_NE(err.find("--checkpoint is required"), std::string::npos) << err;
}

// A TCP socket listening on 127.0.0.1 on a free port; closed on destruction.
struct Squatter {
  Squatter() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd, 1), 0);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = ntohs(addr.sin_port);
  }
  ~Squatter() { close(fd); }
  int fd = -1;
  int port = 0;
};

// glibc's default thread stack size; the server inherits our RLIMIT_STACK.
size_t DefaultStackBytes() {
  pthread_attr_t attr;
  size_t bytes = 0;
  EXPECT_EQ(pthread_getattr_default_np(&attr), 0);
  pthread_attr_getstacksize(&attr, &bytes);
  pthread_attr_destroy(&attr);
  return bytes;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ServerMainTest, ServesUnderLargeStaticTlsWithNoFixedThreadStacks) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string probe_log =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/stack_probe.log");
  std::remove(probe_log.c_str());
  Child c = Spawn({kServer, "--address=127.0.0.1:0",
                   "--http_address=127.0.0.1:0",
                   absl::StrCat("--checkpoint=", kCheckpoint)},
                  {absl::StrCat("LD_PRELOAD=", kStackProbe),
                   absl::StrCat("SAM2_STACK_PROBE_LOG=", probe_log)});
  const int grpc_port = ListeningPort(c);
  ASSERT_GT(grpc_port, 0);
  // "sam2_server: metrics at http://127.0.0.1:PORT/metrics" came before.
  std::string err = ReadUntil(c.err_fd, "/metrics\n", kStartTimeoutMs);
  const size_t at = err.find("metrics at http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << err;
  int http_port = 0;
  const size_t digits = at + std::string("metrics at http://127.0.0.1:").size();
  ASSERT_TRUE(absl::SimpleAtoi(
      err.substr(digits, err.find('/', digits) - digits), &http_port))
      << err;

  EXPECT_EQ(sam2::HttpGet(http_port, "/ping").status, 200);
  EXPECT_EQ(sam2::HttpGet(http_port, "/healthz").status, 200);
  EXPECT_EQ(sam2::HttpGet(http_port, "/metrics").status, 200);
  ExpectServing(grpc_port);

  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  err += ReadUntil(c.err_fd, "stopped", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(c.pid), 0) << err;
  // The probe was active: its TLS block was in the process.
  const std::string log = ReadFile(probe_log);
  const std::string loaded =
      absl::StrCat("thread_stack_probe loaded ", sam2::kLargeStaticTlsBytes);
  EXPECT_TRUE(absl::StartsWith(log, loaded + "\n")) << log;
  // Every stack size fixed in the process (only oneTBB fixes one, see
  // server/thread_stacks.h) is glibc's default: no library's own.
  for (absl::string_view entry : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (entry == loaded) continue;
    EXPECT_EQ(entry, absl::StrCat("pthread_attr_setstacksize ",
                                  DefaultStackBytes()));
  }
}

// Starts the server with `flag` (--address or --http_address) on a port that
// another socket holds: it must exit 1, name the address and the system's
// reason, and never say it is listening.
void ExpectExitOnTakenPort(const std::string& flag, const std::string& other,
                           const std::string& side) {
  Squatter squatter;
  const std::string address = absl::StrCat("127.0.0.1:", squatter.port);
  Child c = Spawn({kServer, absl::StrCat(flag, "=", address),
                   absl::StrCat(other, "=127.0.0.1:0"), "--warm_up=false",
                   absl::StrCat("--checkpoint=", kCheckpoint)});
  std::string err = ReadUntil(c.err_fd, "", kStartTimeoutMs);
  std::string out = ReadUntil(c.out_fd, "", 1000);
  EXPECT_EQ(WaitExit(c.pid), 1) << err;
  EXPECT_TRUE(absl::StrContains(
      err, absl::StrCat("cannot start ", side, " server on ", address,
                        ": bind ", address, ": Address already in use")))
      << err;
  EXPECT_EQ(out, "");
}

std::string TmpFile(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  EXPECT_TRUE(sam2::ReplaceFile(path, contents).ok());
  return path;
}

TEST(ServerMainTest, BadOrHalfTlsConfigurationExitsTwoBeforeLoading) {
  const sam2::TestCa ca = sam2::TestCa::Create("main test ca");
  const sam2::TestKeyPair server = ca.IssueServer();
  const std::string cert = TmpFile("bad_cert.pem", server.cert_pem);
  const std::string key = TmpFile("bad_key.pem", server.key_pem);
  const std::string other_key =
      TmpFile("other_key.pem", ca.IssueServer().key_pem);
  const std::string missing =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/missing.pem");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--tls_cert=" + cert, "--tls_key=" + other_key},
       "the key does not match the certificate"},
      {{"--tls_cert=" + cert}, "--tls_cert needs --tls_key"},
      {{"--tls_key=" + key}, "--tls_key needs --tls_cert"},
      {{"--tls_client_ca=" + cert}, "--tls_client_ca (mutual TLS) needs"},
      {{"--tls_cert=" + missing, "--tls_key=" + key},
       absl::StrCat("--tls_cert ", missing, ": cannot read the file")},
      {{"--tls_cert=" + cert, "--tls_key=" + key, "--tls_client_ca=" + key},
       "--tls_client_ca"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {kServer, "--address=127.0.0.1:0",
                                     "--http_address=127.0.0.1:0",
                                     absl::StrCat("--checkpoint=", kCheckpoint)};
    args.insert(args.end(), flags.begin(), flags.end());
    Child c = Spawn(args);
    const std::string err = ReadUntil(c.err_fd, "", kStartTimeoutMs);
    EXPECT_EQ(WaitExit(c.pid), 2) << err;
    EXPECT_NE(err.find("sam2_server: TLS: "), std::string::npos) << err;
    EXPECT_NE(err.find(message), std::string::npos) << err;
    EXPECT_EQ(err.find("tensors:"), std::string::npos) << "loaded first: " << err;
    EXPECT_EQ(err.find("PRIVATE KEY"), std::string::npos) << err;
  }
}

// A gRPC health check over TLS, trusting `ca_pem`.
grpc::Status TlsHealthCheck(int port, const std::string& ca_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::SslCredentials(ssl));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse response;
  return grpc::health::v1::Health::NewStub(channel)->Check(
      &ctx, grpc::health::v1::HealthCheckRequest(), &response);
}

TEST(ServerMainTest, ServesTlsOnBothPortsAndSaysSo) {
  const sam2::TestCa ca = sam2::TestCa::Create("main test ca");
  const sam2::TestKeyPair server = ca.IssueServer();
  Child c = Spawn({kServer, "--address=127.0.0.1:0", "--http_address=127.0.0.1:0",
                   absl::StrCat("--checkpoint=", kCheckpoint),
                   "--tls_cert=" + TmpFile("cert.pem", server.cert_pem),
                   "--tls_key=" + TmpFile("key.pem", server.key_pem),
                   "--tls_reload_interval=5s"});
  const int port = ListeningPort(c);
  ASSERT_GT(port, 0);
  const grpc::Status status = TlsHealthCheck(port, ca.cert_pem());
  EXPECT_TRUE(status.ok()) << status.error_message();

  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  const std::string err = ReadUntil(c.err_fd, "stopped", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(c.pid), 0) << err;
  EXPECT_NE(err.find("gRPC port: TLS (certificate "), std::string::npos) << err;
  EXPECT_NE(err.find("HTTP port: TLS (certificate "), std::string::npos) << err;
  EXPECT_NE(err.find("files re-read every 5s"), std::string::npos) << err;
  EXPECT_NE(err.find("metrics at https://127.0.0.1:"), std::string::npos) << err;
  EXPECT_EQ(err.find("PRIVATE KEY"), std::string::npos) << err;
}

// TLS and bearer tokens together lift the loopback rule; either alone does
// not.
TEST(ServerMainTest, ListensOffLoopbackWithTlsAndTokensTogether) {
  const sam2::TestCa ca = sam2::TestCa::Create("listen test ca");
  const sam2::TestKeyPair server = ca.IssueServer();
  const std::string cert = TmpFile("listen_cert.pem", server.cert_pem);
  const std::string key = TmpFile("listen_key.pem", server.key_pem);
  const std::string tokens =
      TmpFile("listen_tokens.txt", "acme  listen-test-token-0123456789\n");

  Child tls_only = Spawn({kServer, "--address=0.0.0.0:0",
                          "--http_address=127.0.0.1:0",
                          absl::StrCat("--checkpoint=", kCheckpoint),
                          "--tls_cert=" + cert, "--tls_key=" + key});
  std::string err = ReadUntil(tls_only.err_fd, "", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(tls_only.pid), 2) << err;
  EXPECT_NE(err.find("this server has no authentication"), std::string::npos)
      << err;

  Child c = Spawn({kServer, "--address=0.0.0.0:0", "--http_address=127.0.0.1:0",
                   absl::StrCat("--checkpoint=", kCheckpoint),
                   "--tls_cert=" + cert, "--tls_key=" + key,
                   "--token_file=" + tokens});
  const int port = ListeningPort(c);
  ASSERT_GT(port, 0);
  const grpc::Status status = TlsHealthCheck(port, ca.cert_pem());
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  err = ReadUntil(c.err_fd, "stopped", kStartTimeoutMs);
  EXPECT_EQ(WaitExit(c.pid), 0) << err;
  EXPECT_NE(err.find("gRPC on 0.0.0.0:0: reachable from other machines, with "
                     "TLS and bearer tokens"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("listen-test-token"), std::string::npos) << err;
}

TEST(ServerMainTest, HttpAddressInUseExitsOneNamingTheCause) {
  ExpectExitOnTakenPort("--http_address", "--address", "HTTP");
}

TEST(ServerMainTest, GrpcAddressInUseExitsOneNamingTheCause) {
  ExpectExitOnTakenPort("--address", "--http_address", "gRPC");
}

}  // namespace
