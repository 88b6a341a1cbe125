// Proves that the libraries we combine coexist in one process: PyPI's
// LibTorch (built with the C++11 ABI, carrying its own Protobuf and OpenMP),
// and Debian's gRPC, Protobuf, Abseil and OpenCV. A std::string crossing the
// LibTorch boundary fails to link under an ABI mismatch, so this test
// building at all is the first half of the proof; running is the second.

#include <grpcpp/grpcpp.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "protos/grpc/health/v1/health.grpc.pb.h"

namespace {

TEST(DependencyMixTest, LibTorchUsesTheCxx11Abi) {
  // c10 returns std::string across the library boundary; with the old ABI
  // this would not link against code compiled by Debian's g++ defaults.
  const std::string name = c10::toString(torch::kBFloat16);
  EXPECT_EQ(name, "BFloat16");
  const std::string repr = torch::ones({2}).toString();
  EXPECT_NE(repr.find("Float"), std::string::npos) << repr;
}

TEST(DependencyMixTest, GrpcOpenCvAndTorchInOneProcess) {
  // gRPC: a real call to the built-in health service on an ephemeral port.
  // As the real server does: built-in health service plus reflection.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&ctx, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // OpenCV: decode the fixture's PNG.
  cv::Mat bgr = cv::imread("tests/fixtures/sam2.1-micro/image.png",
                           cv::IMREAD_COLOR);
  ASSERT_FALSE(bgr.empty());
  EXPECT_EQ(bgr.cols, 600);
  EXPECT_EQ(bgr.rows, 400);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);

  // LibTorch: wrap the pixels, resize with antialiasing (uses OpenMP across
  // threads) and check the mean is preserved within round-off.
  torch::InferenceMode guard;
  torch::Tensor img = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3},
                                       torch::kUInt8)
                          .permute({2, 0, 1})
                          .unsqueeze(0)
                          .to(torch::kFloat32)
                          .div(255.0);
  torch::Tensor small = torch::nn::functional::interpolate(
      img, torch::nn::functional::InterpolateFuncOptions()
               .size(std::vector<int64_t>{100, 150})
               .mode(torch::kBilinear)
               .align_corners(false)
               .antialias(true));
  EXPECT_EQ(small.sizes(), (std::vector<int64_t>{1, 3, 100, 150}));
  EXPECT_NEAR(small.mean().item<float>(), img.mean().item<float>(), 2e-3);
  torch::Tensor m = torch::randn({256, 256});
  EXPECT_TRUE(torch::allclose(torch::mm(m, torch::eye(256)), m));

  // Abseil status strings survive too.
  EXPECT_EQ(absl::InvalidArgumentError("x").ToString(), "INVALID_ARGUMENT: x");
  server->Shutdown();
}

}  // namespace
