#include "tests/server/test_server.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/model_loader.h"
#include "server/proto_convert.h"

namespace sam2 {

const ServedModel& MicroModel() {
  static const ServedModel* model = [] {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel(absl::StrCat(kMicroFixtureDir, "/model.pt"), "");
    if (!loaded.ok()) {
      std::cerr << "cannot load the micro model: " << loaded.status() << "\n";
      std::abort();
    }
    absl::StatusOr<ServedModel> served =
        BuildServedModel(*loaded, /*meaningless=*/true);
    if (!served.ok()) {
      std::cerr << "cannot build the micro model: " << served.status() << "\n";
      std::abort();
    }
    return new ServedModel(*std::move(served));
  }();
  return *model;
}

ServerAppOptions TestServerOptions() {
  ServerAppOptions options;
  options.grpc.address = "127.0.0.1:0";
  options.http_address = "127.0.0.1:0";
  options.warm_up = false;
  options.reap_interval = absl::ZeroDuration();
  return options;
}

const std::shared_ptr<const Sam2Model>& MicroImageModel() {
  return MicroModel().workers.front().image;
}

ServedModel MicroModelAt(Precision precision, int workers) {
  ServedModel model = MicroModel();
  model.workers.assign(workers, model.workers.front());
  for (WorkerModel& w : model.workers) w.precision = precision;
  return model;
}

absl::StatusOr<std::unique_ptr<TestServer>> TestServer::Start(
    ServerAppOptions options) {
  return Start(std::move(options), MicroModel());
}

absl::StatusOr<std::unique_ptr<TestServer>> TestServer::Start(
    ServerAppOptions options, ServedModel model) {
  absl::StatusOr<std::unique_ptr<ServerApp>> app =
      ServerApp::Start(std::move(options), std::move(model));
  if (!app.ok()) return app.status();
  auto server = std::unique_ptr<TestServer>(new TestServer());
  server->app_ = *std::move(app);
  return server;
}

std::string TestServer::address() const {
  return absl::StrCat("127.0.0.1:", app_->port());
}

std::shared_ptr<grpc::Channel> TestServer::NewChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A separate connection per channel (tests of several clients).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<v1::Sam2Service::Stub> TestServer::NewStub() const {
  return v1::Sam2Service::NewStub(NewChannel());
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string MicroImagePng() {
  return ReadFileBytes(absl::StrCat(kMicroFixtureDir, "/image.png"));
}

std::vector<std::string> MicroVideoFrames() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(
           absl::StrCat(kMicroFixtureDir, "/frames"))) {
    paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> frames;
  for (const std::string& p : paths) frames.push_back(ReadFileBytes(p));
  return frames;
}

std::vector<std::string> RepeatedVideoFrames(int n) {
  const std::vector<std::string> base = MicroVideoFrames();
  std::vector<std::string> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(base[i % base.size()]);
  return out;
}

grpc::Status CreateVideoFromFrames(v1::Sam2Service::Stub& stub, int frames,
                                   v1::VideoSession* session,
                                   double deadline_seconds) {
  auto ctx = ContextWithDeadline(deadline_seconds);
  auto writer = stub.CreateVideoSession(ctx.get(), session);
  v1::CreateVideoSessionRequest request;
  request.mutable_config();
  bool ok = writer->Write(request);
  for (const std::string& frame : RepeatedVideoFrames(frames)) {
    if (!ok) break;
    request.set_frame(frame);
    ok = writer->Write(request);
  }
  writer->WritesDone();
  return writer->Finish();
}

int64_t MetricSum(ServerApp& app, const std::string& prefix) {
  const std::string text = app.metrics().Render();
  int64_t sum = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0 && line.size() > prefix.size() &&
        (line[prefix.size()] == ' ' || line[prefix.size()] == ',' ||
         line[prefix.size()] == '{')) {
      sum += std::stoll(line.substr(line.rfind(' ') + 1));
    }
    pos = end + 1;
  }
  return sum;
}

bool PollUntil(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time give_up = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

bool Busy(ServerApp& app, const std::string& name) {
  absl::StatusOr<std::string> id = SessionIdFromName(name);
  if (!id.ok()) return false;
  absl::StatusOr<std::shared_ptr<Session>> s = app.store().Lookup(*id);
  return s.ok() && (*s)->busy();
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(double seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::microseconds(
                        static_cast<int64_t>(seconds * 1e6)));
  return ctx;
}

}  // namespace sam2
