// Runs the real sam2_server binary: it loads the micro checkpoint, answers a
// gRPC health check with SERVING, and exits 0 on SIGTERM; a bad checkpoint
// makes it exit non-zero with a message that names the problem.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "protos/grpc/health/v1/health.grpc.pb.h"

namespace {

constexpr char kServer[] = "server/sam2_server";
constexpr char kCheckpoint[] = "tests/fixtures/sam2.1-micro/model.pt";
constexpr int kStartTimeoutMs = 60000;

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // child's stdout
  int err_fd = -1;  // child's stderr
};

Child Spawn(const std::vector<std::string>& args) {
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
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
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

TEST(ServerMainTest, ServesHealthAndStopsCleanlyOnSigterm) {
  Child c = Spawn({kServer, "--address=127.0.0.1:0",
                   absl::StrCat("--checkpoint=", kCheckpoint)});
  std::string line = ReadUntil(c.out_fd, "\n", kStartTimeoutMs);
  absl::string_view rest = line;
  ASSERT_TRUE(absl::ConsumePrefix(&rest, "sam2_server listening on port "))
      << "stdout: " << line << "\nstderr: " << ReadUntil(c.err_fd, "", 1000);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(rest), &port));

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
      &ctx, grpc::health::v1::HealthCheckRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

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

}  // namespace
