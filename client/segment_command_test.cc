#include "client/segment_command.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>

#include "model/safetensors.h"
#include "model/sam2_config.h"
#include "model/state_dict_spec.h"

namespace sam2 {
namespace {

const std::string kDir = "tests/fixtures/sam2.1-micro/";

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

TEST(SegmentCommandTest, WritesMasksAndOverlay) {
  std::ostringstream out, err;
  const int rc = RunSegment(
      {"--checkpoint", kDir + "model.pt", "--image", kDir + "image.png",
       "--point", "270,220", "--point=120,120,0", "--box", "60,80,420,360",
       "--multimask", "--out", Tmp("mask.png"), "--overlay", Tmp("overlay.png")},
      out, err);
  ASSERT_EQ(rc, 0) << err.str();
  EXPECT_NE(out.str().find("(best)"), std::string::npos) << out.str();
  cv::Mat mask = cv::imread(Tmp("mask.png"), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(mask.empty());
  EXPECT_EQ(mask.cols, 600);
  EXPECT_EQ(mask.rows, 400);
  EXPECT_EQ(mask.channels(), 1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(cv::imread(Tmp("mask_" + std::to_string(i) + ".png")).empty());
  }
  cv::Mat overlay = cv::imread(Tmp("overlay.png"), cv::IMREAD_COLOR);
  ASSERT_FALSE(overlay.empty());
  EXPECT_EQ(overlay.cols, 600);
}

// An official layout at full size (sam2.1_hiera_tiny, 1024x1024 input,
// random weights): the variant is detected from the tensors, no config.
TEST(SegmentCommandTest, DetectsAnOfficialVariantAndRunsAtFullSize) {
  absl::StatusOr<Sam2Config> config = PresetConfig("sam2.1_hiera_tiny");
  ASSERT_TRUE(config.ok()) << config.status();
  StateDict weights;
  at::manual_seed(0);
  for (const TensorSpec& spec : ExpectedTensors(*config)) {
    ASSERT_TRUE(weights.Add(spec.name, at::randn(spec.shape) * 0.02).ok());
  }
  const std::string checkpoint = Tmp("sam2.1_hiera_tiny.safetensors");
  ASSERT_TRUE(WriteSafetensors(weights, checkpoint).ok());
  std::ostringstream out, err;
  ASSERT_EQ(RunSegment({"--checkpoint", checkpoint, "--image",
                        kDir + "image.png", "--point", "300,200", "--out",
                        Tmp("full.png")},
                       out, err),
            0)
      << err.str();
  EXPECT_NE(out.str().find("mask 0: predicted IoU"), std::string::npos)
      << out.str();
  cv::Mat mask = cv::imread(Tmp("full.png"), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(mask.cols, 600);
  EXPECT_EQ(mask.rows, 400);
}

TEST(SegmentCommandTest, ReportsBadArguments) {
  std::ostringstream out, err;
  EXPECT_EQ(RunSegment({"--image", "x.png"}, out, err), 2);
  EXPECT_NE(err.str().find("required"), std::string::npos);

  std::ostringstream out2, err2;
  EXPECT_EQ(RunSegment({"--checkpoint", kDir + "model.pt", "--image",
                        kDir + "image.png", "--point", "1,x", "--out",
                        Tmp("m.png")},
                       out2, err2),
            2);
  EXPECT_NE(err2.str().find("not a number"), std::string::npos) << err2.str();

  std::ostringstream out3, err3;
  EXPECT_EQ(RunSegment({"--checkpoint", kDir + "model.pt", "--image",
                        kDir + "image.png", "--point", "5000,10", "--out",
                        Tmp("m.png")},
                       out3, err3),
            2);
  EXPECT_NE(err3.str().find("must lie on the image"), std::string::npos)
      << err3.str();

  std::ostringstream out4, err4;
  EXPECT_EQ(RunSegment({"--bogus"}, out4, err4), 2);
  EXPECT_NE(err4.str().find("unknown option --bogus"), std::string::npos);
}

}  // namespace
}  // namespace sam2
