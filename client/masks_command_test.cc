// Tests of `sam2 masks` on the micro fixture (random weights): JSON layout,
// RLE round trip, overlay, progress output and argument errors.

#include "client/masks_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>

#include "model/rle.h"

namespace sam2 {
namespace {

const std::string kDir = "tests/fixtures/sam2.1-micro/";

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

std::vector<std::string> BaseArgs(const std::string& out) {
  return {"--checkpoint",    kDir + "model.pt", "--image", kDir + "image.png",
          "--points-per-side", "4",  "--pred-iou-thresh", "0",
          "--stability-score-thresh", "0", "--out", out};
}

TEST(MasksCommandTest, WritesCocoJsonAndOverlay) {
  std::ostringstream out, err;
  std::vector<std::string> args = BaseArgs(Tmp("masks.json"));
  args.insert(args.end(), {"--overlay", Tmp("overlay.png")});
  ASSERT_EQ(RunMasks(args, out, err), 0) << err.str();
  EXPECT_TRUE(err.str().empty()) << err.str();  // no progress without a TTY
  EXPECT_NE(out.str().find("masks in"), std::string::npos) << out.str();

  std::ifstream in(Tmp("masks.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["image"]["height"], 400);
  EXPECT_EQ(j["image"]["width"], 600);
  const nlohmann::json& anns = j["annotations"];
  ASSERT_FALSE(anns.empty());
  for (const nlohmann::json& a : anns) {
    const nlohmann::json& seg = a["segmentation"];
    EXPECT_EQ(seg["size"], nlohmann::json::array({400, 600}));
    absl::StatusOr<Rle> rle =
        DecodeCocoCounts(seg["counts"].get<std::string>(), 400, 600);
    ASSERT_TRUE(rle.ok()) << rle.status();
    EXPECT_EQ(RleArea(*rle), a["area"].get<int64_t>());
    EXPECT_EQ(a["bbox"].size(), 4u);
    EXPECT_EQ(a["point_coords"].size(), 1u);
    EXPECT_EQ(a["point_coords"][0].size(), 2u);
    EXPECT_EQ(a["crop_box"], nlohmann::json::array({0, 0, 600, 400}));
    EXPECT_TRUE(a.contains("predicted_iou"));
    EXPECT_TRUE(a.contains("stability_score"));
  }
  const cv::Mat overlay = cv::imread(Tmp("overlay.png"));
  ASSERT_FALSE(overlay.empty());
  EXPECT_EQ(overlay.cols, 600);
  EXPECT_EQ(overlay.rows, 400);
}

TEST(MasksCommandTest, ProgressOnRequest) {
  std::ostringstream out, err;
  std::vector<std::string> args = BaseArgs(Tmp("progress.json"));
  args.insert(args.end(), {"--points-per-batch", "4", "--progress"});
  ASSERT_EQ(RunMasks(args, out, err), 0) << err.str();
  EXPECT_NE(err.str().find("4/4 batches 100%"), std::string::npos) << err.str();
  EXPECT_EQ(FormatMasksProgress(1, 4, 2.0).substr(0, 26),
            "[######..................]");
}

TEST(MasksCommandTest, BadArguments) {
  const std::string out_path = Tmp("bad.json");
  auto run = [&](std::vector<std::string> extra) {
    std::ostringstream out, err;
    std::vector<std::string> args = BaseArgs(out_path);
    args.insert(args.end(), extra.begin(), extra.end());
    const int rc = RunMasks(args, out, err);
    return std::make_pair(rc, err.str());
  };
  auto [rc, msg] = run({"--points-per-side", "0"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(msg.find("points_per_side"), std::string::npos) << msg;
  std::tie(rc, msg) = run({"--pred-iou-thresh", "1.5"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(msg.find("pred_iou_thresh"), std::string::npos) << msg;
  std::tie(rc, msg) = run({"--crop-n-layers", "99"});
  EXPECT_EQ(rc, 2);
  std::tie(rc, msg) = run({"--points-per-side", "many"});
  EXPECT_EQ(rc, 2);
  std::tie(rc, msg) = run({"--no-such-option", "1"});
  EXPECT_EQ(rc, 2);
  std::ostringstream out, err;
  EXPECT_EQ(RunMasks({"--image", kDir + "image.png"}, out, err), 2);
}

}  // namespace
}  // namespace sam2
