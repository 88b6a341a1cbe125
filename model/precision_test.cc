// Tests for the precision choice and the per-thread CPU autocast.

#include "model/precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <thread>

namespace sam2 {
namespace {

TEST(PrecisionTest, ParsesTheThreeChoices) {
  EXPECT_EQ(*ParsePrecisionChoice("auto"), PrecisionChoice::kAuto);
  EXPECT_EQ(*ParsePrecisionChoice("float32"), PrecisionChoice::kFloat32);
  EXPECT_EQ(*ParsePrecisionChoice("bfloat16"), PrecisionChoice::kBFloat16);
  for (const char* bad : {"", "fp32", "Float32", "bf16", "float16"}) {
    EXPECT_EQ(ParsePrecisionChoice(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(PrecisionTest, AutoFollowsTheHardwareOthersAreKept) {
  EXPECT_EQ(ResolvePrecision(PrecisionChoice::kAuto, true), Precision::kBFloat16);
  EXPECT_EQ(ResolvePrecision(PrecisionChoice::kAuto, false), Precision::kFloat32);
  for (bool bf16 : {false, true}) {
    EXPECT_EQ(ResolvePrecision(PrecisionChoice::kFloat32, bf16), Precision::kFloat32);
    EXPECT_EQ(ResolvePrecision(PrecisionChoice::kBFloat16, bf16), Precision::kBFloat16);
  }
  EXPECT_EQ(PrecisionName(Precision::kFloat32), "float32");
  EXPECT_EQ(PrecisionName(Precision::kBFloat16), "bfloat16");
  // Whatever the machine, the answer is stable.
  EXPECT_EQ(CpuHasBf16Instructions(), CpuHasBf16Instructions());
}

TEST(PrecisionTest, Bfloat16RunsMatmulsInBf16OnThisThreadOnly) {
  c10::InferenceMode guard;
  const at::Tensor a = at::randn({8, 8});
  std::thread worker([&] {
    c10::InferenceMode worker_guard;
    UseCpuPrecisionOnThisThread(Precision::kBFloat16);
    EXPECT_EQ(at::matmul(a, a).scalar_type(), at::kBFloat16);
    // Ops autocast keeps in float32 stay there.
    EXPECT_EQ(at::softmax(a, -1).scalar_type(), at::kFloat);
    UseCpuPrecisionOnThisThread(Precision::kFloat32);
    EXPECT_EQ(at::matmul(a, a).scalar_type(), at::kFloat);
  });
  worker.join();
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  EXPECT_EQ(at::matmul(a, a).scalar_type(), at::kFloat);
}

}  // namespace
}  // namespace sam2
