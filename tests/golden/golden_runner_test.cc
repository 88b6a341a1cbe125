// Tests of the golden runner's mixed-precision comparison on the sam2.1-micro
// fixture, run in float32 (fast on every CPU): float32's outputs meet the
// bfloat16 tolerances, so that mode passes every case it runs (and skips the
// automatic masks); with a relative-L2 bound of zero the same outputs fail,
// so the bound is applied and not merely printed.

#include "tests/golden/golden_runner.h"

#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "model/device.h"
#include "model/precision.h"

namespace sam2 {
namespace {

constexpr char kFixture[] = "tests/fixtures/sam2.1-micro";

class GoldenRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UseDeviceOnThisThread(c10::Device(c10::kCPU), Precision::kFloat32);
  }
};

TEST_F(GoldenRunnerTest, MixedPrecisionBoundsHoldForFloat32Outputs) {
  GoldenOptions options;
  options.mixed_precision = true;
  std::ostringstream out;
  absl::StatusOr<GoldenSummary> summary = RunGolden(kFixture, options, out);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->failed, 0) << out.str();
  EXPECT_EQ(summary->skipped, 1) << out.str();  // amg: float32 only
  EXPECT_GE(summary->passed, 9) << out.str();
  EXPECT_EQ(summary->selection_flips, 0) << out.str();
  EXPECT_NE(out.str().find("relative L2 error"), std::string::npos);
  EXPECT_NE(out.str().find("all masks of the script"), std::string::npos);
}

TEST_F(GoldenRunnerTest, MixedPrecisionBoundIsEnforced) {
  GoldenOptions options;
  options.mixed_precision = true;
  options.mixed.relative_l2 = 0;
  std::ostringstream out;
  absl::StatusOr<GoldenSummary> summary = RunGolden(kFixture, options, out);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->failed, 0) << out.str();
  EXPECT_NE(out.str().find("<-- over"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace sam2
