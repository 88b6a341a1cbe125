#include "model/device.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace sam2 {
namespace {

std::vector<std::string> Names(const std::vector<c10::Device>& devices) {
  std::vector<std::string> out;
  for (const c10::Device& d : devices) out.push_back(DeviceName(d));
  return out;
}

TEST(ResolveDevicesTest, CpuAndAuto) {
  EXPECT_EQ(Names(*ResolveDevices("cpu", 2)), std::vector<std::string>{"cpu"});
  EXPECT_EQ(Names(*ResolveDevices("auto", 0)),
            std::vector<std::string>{"cpu"});
  EXPECT_EQ(Names(*ResolveDevices("auto", 2)),
            (std::vector<std::string>{"cuda:0", "cuda:1"}));
}

TEST(ResolveDevicesTest, CudaNeedsAVisibleGpu) {
  EXPECT_EQ(Names(*ResolveDevices("cuda", 3)),
            (std::vector<std::string>{"cuda:0", "cuda:1", "cuda:2"}));
  absl::StatusOr<std::vector<c10::Device>> none = ResolveDevices("cuda", 0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "no CUDA device"))
      << none.status();
}

TEST(ResolveDevicesTest, ExplicitList) {
  EXPECT_EQ(Names(*ResolveDevices(" cuda:1, cuda:0 ", 2)),
            (std::vector<std::string>{"cuda:1", "cuda:0"}));
  absl::StatusOr<std::vector<c10::Device>> out_of_range =
      ResolveDevices("cuda:3", 1);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().message(),
            "device cuda:3 asked for, 1 CUDA device visible");
  absl::StatusOr<std::vector<c10::Device>> twice =
      ResolveDevices("cuda:0,cuda:0", 2);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "device cuda:0 named twice");
  EXPECT_EQ(Names(*ResolveDevices("cuda:0,cpu", 1)),
            (std::vector<std::string>{"cuda:0", "cpu"}));
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:x", "cpu,cpu",
                          "cpu,auto", ""}) {
    absl::StatusOr<std::vector<c10::Device>> r = ResolveDevices(bad, 2);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(DeviceTest, CpuPrecisionFollowsTheCpu) {
  const c10::Device cpu(c10::kCPU);
  EXPECT_EQ(CudaComputeCapabilityMajor(cpu), 0);
  EXPECT_EQ(ResolveDevicePrecision(PrecisionChoice::kFloat32, cpu),
            Precision::kFloat32);
  EXPECT_EQ(ResolveDevicePrecision(PrecisionChoice::kAuto, cpu),
            ResolvePrecision(PrecisionChoice::kAuto, CpuHasBf16Instructions()));
}

TEST(DeviceTest, DeviceKindTellsTheCpuFromGpus) {
  EXPECT_EQ(DeviceKind(c10::Device(c10::kCPU)), "cpu");
  // A GPU's kind starts with "cuda" whatever the build can say of it (no
  // GPU here: "cuda" alone, never an error).
  EXPECT_TRUE(absl::StartsWith(DeviceKind(c10::Device(c10::kCUDA, 0)), "cuda"));
}

TEST(DeviceTest, StateBudgetIsAShareOfFreeMemory) {
  const DeviceMemory h100{70LL << 30, 80LL << 30};
  EXPECT_EQ(DeviceStateBudget(8LL << 30, h100, 0.8), 8LL << 30);
  EXPECT_EQ(DeviceStateBudget(100LL << 30, h100, 0.8), 56LL << 30);
  EXPECT_EQ(DeviceStateBudget(100LL << 30, h100, 2.0), 70LL << 30);
  EXPECT_EQ(DeviceStateBudget(100LL << 30, h100, -1.0), 0);
}

TEST(DeviceTest, CpuHasNoDeviceMemoryQuery) {
  EXPECT_EQ(QueryDeviceMemory(c10::Device(c10::kCPU)).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(DeviceTest, ToDeviceKeepsATensorAlreadyThere) {
  const at::Tensor t = at::arange(6);
  EXPECT_TRUE(ToDevice(t, c10::Device(c10::kCPU)).is_same(t));
  EXPECT_FALSE(ToDevice(at::Tensor(), c10::Device(c10::kCPU)).defined());
  // Another device: a copy there (meta stands in for a GPU here).
  const at::Tensor moved = ToDevice(t, c10::Device(c10::kMeta));
  EXPECT_TRUE(moved.is_meta());
  EXPECT_EQ(moved.sizes(), t.sizes());
}

TEST(DeviceTest, CpuWorkerGetsTheCpuPrecision) {
  UseDeviceOnThisThread(c10::Device(c10::kCPU), Precision::kBFloat16);
  EXPECT_TRUE(at::autocast::is_autocast_enabled(at::kCPU));
  EXPECT_EQ(at::autocast::get_autocast_dtype(at::kCPU), at::kBFloat16);
  UseDeviceOnThisThread(c10::Device(c10::kCPU), Precision::kFloat32);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
}

}  // namespace
}  // namespace sam2
