// TestServer: the whole server (ServerApp) in-process on 127.0.0.1 port 0
// with the micro SAM 2.1 test model, for end-to-end tests of the sam2.v1 API
// through real gRPC channels. The model is loaded once per test binary and
// shared by every server the binary starts.
//
// Defaults suit hermetic tests: no warm-up, no reaper thread (tests call
// SessionStore::Reap with an injected clock), HTTP side on port 0.
//
// Thread-safety: Start from the test thread; stubs may be used from any
// thread (gRPC stubs are thread-safe).

#ifndef SAM2_TESTS_SERVER_TEST_SERVER_H_
#define SAM2_TESTS_SERVER_TEST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"
#include "server/server_app.h"

namespace sam2 {

inline constexpr char kMicroFixtureDir[] = "tests/fixtures/sam2.1-micro";

// The micro model, loaded on first use (aborts the test binary if the
// fixture is missing: nothing could run without it).
const ServedModel& MicroModel();
// Its image predictor (worker 0's).
const std::shared_ptr<const Sam2Model>& MicroImageModel();
// The micro model on `workers` CPU workers (sharing its weights) computing
// at `precision`.
ServedModel MicroModelAt(Precision precision, int workers = 1);

// Options for a test server: loopback port 0, no warm-up, no reaper.
ServerAppOptions TestServerOptions();

class TestServer {
 public:
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(
      ServerAppOptions options = TestServerOptions());
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(
      ServerAppOptions options, ServedModel model);

  std::string address() const;
  std::shared_ptr<grpc::Channel> NewChannel() const;
  std::unique_ptr<v1::Sam2Service::Stub> NewStub() const;
  ServerApp& app() { return *app_; }

 private:
  std::unique_ptr<ServerApp> app_;
};

// File bytes ("" when unreadable; tests then fail on the missing data).
std::string ReadFileBytes(const std::string& path);
// The fixture's image.png.
std::string MicroImagePng();
// The fixture's video frames as encoded JPEG bytes, in order.
std::vector<std::string> MicroVideoFrames();

// `n` encoded frames: the fixture's 8 frames, repeated.
std::vector<std::string> RepeatedVideoFrames(int n);

// CreateVideoSession streaming the default config, then RepeatedVideoFrames(
// frames), within `deadline_seconds`.
grpc::Status CreateVideoFromFrames(v1::Sam2Service::Stub& stub, int frames,
                                   v1::VideoSession* session,
                                   double deadline_seconds = 300);

// Sum of the samples in the server's /metrics text whose line starts with
// `prefix` (a metric name, or a name with its first labels, e.g.
// `sam2_requests_total{method="X"`).
int64_t MetricSum(ServerApp& app, const std::string& prefix);

// Polls `done` until it holds or `limit` passes; true if it held. For
// waiting on the server's own state (never on time).
bool PollUntil(const std::function<bool()>& done,
               absl::Duration limit = absl::Seconds(120));

// Whether the store's session `name` is busy with an operation (false when
// it is gone).
bool Busy(ServerApp& app, const std::string& name);

// A context with a deadline `seconds` from now.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(double seconds = 60);

}  // namespace sam2

#endif  // SAM2_TESTS_SERVER_TEST_SERVER_H_
