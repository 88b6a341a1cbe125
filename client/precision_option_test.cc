#include "client/precision_option.h"

#include <ATen/autocast_mode.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

CliArgs Parse(const std::vector<std::string>& argv) {
  CliSpec spec;
  spec.value_options = {kPrecisionOption};
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, spec);
  EXPECT_TRUE(args.ok()) << args.status();
  return *args;
}

TEST(PrecisionOptionTest, ExplicitChoicesApplyToThisThread) {
  absl::StatusOr<Precision> f32 = UsePrecisionOption(Parse({"--precision=float32"}));
  ASSERT_TRUE(f32.ok()) << f32.status();
  EXPECT_EQ(*f32, Precision::kFloat32);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  absl::StatusOr<Precision> bf16 = UsePrecisionOption(Parse({"--precision", "bfloat16"}));
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  EXPECT_EQ(*bf16, Precision::kBFloat16);
  EXPECT_TRUE(at::autocast::is_autocast_enabled(at::kCPU));
  UseCpuPrecisionOnThisThread(Precision::kFloat32);
}

TEST(PrecisionOptionTest, DefaultFollowsTheHardwareAsTheServer) {
  absl::StatusOr<Precision> p = UsePrecisionOption(Parse({}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, CpuHasBf16Instructions() ? Precision::kBFloat16
                                         : Precision::kFloat32);
  UseCpuPrecisionOnThisThread(Precision::kFloat32);
}

TEST(PrecisionOptionTest, UnknownValueNamesTheOption) {
  absl::StatusOr<Precision> p = UsePrecisionOption(Parse({"--precision=fp8"}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(p.status().message()).find("--precision"),
            std::string::npos);
}

}  // namespace
}  // namespace sam2
