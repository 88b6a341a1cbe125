// `sam2 track` on the micro model and the 8 fixture frames (320x180): the
// prompt grammar, files written, the overlay video, bad arguments.

#include "client/track_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>
#include <string>

namespace sam2 {
namespace {

const std::string kDir = "tests/fixtures/sam2.1-micro/";

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

int CountFiles(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    n += e.path().extension() == ".png";
  }
  return n;
}

TEST(TrackPromptsTest, GroupsByObjectAndFrame) {
  absl::StatusOr<std::vector<TrackPrompt>> p = ParseTrackPrompts(
      {"--checkpoint", "x", "--point", "1,2", "--obj-id", "4", "--frame=3",
       "--point", "5,6,0", "--box", "0,0,9,9", "--point", "7,8", "--frame",
       "5", "--mask", "m.png", "--obj-id", "1", "--point", "3,3", "--out", "d"});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].obj_id, kDefaultTrackObjectId);
  EXPECT_EQ((*p)[0].frame, 0);
  // The second "--obj-id 1" adds to the first group (object 1, frame 0).
  EXPECT_EQ((*p)[0].point_xy, (std::vector<float>{1, 2, 3, 3}));
  EXPECT_EQ((*p)[1].obj_id, 4);
  EXPECT_EQ((*p)[1].frame, 3);
  EXPECT_EQ((*p)[1].point_xy, (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ((*p)[1].labels, (std::vector<int>{0, 1}));
  ASSERT_TRUE((*p)[1].box.has_value());
  EXPECT_EQ((*p)[2].frame, 5);
  EXPECT_EQ((*p)[2].mask_path, "m.png");
}

TEST(TrackPromptsTest, RejectsBadGrammar) {
  EXPECT_FALSE(ParseTrackPrompts({"--out", "d"}).ok());  // no prompt
  EXPECT_FALSE(ParseTrackPrompts({"--point", "1,2", "--obj-id", "2"}).ok());
  EXPECT_FALSE(ParseTrackPrompts({"--frame", "2", "--obj-id", "1", "--point",
                                  "1,1"}).ok());
  EXPECT_FALSE(ParseTrackPrompts({"--box", "0,0,1,1", "--box", "0,0,2,2"}).ok());
  EXPECT_FALSE(ParseTrackPrompts({"--point", "1,1", "--mask", "m.png"}).ok());
  EXPECT_FALSE(ParseTrackPrompts({"--point", "1,1,2"}).ok());
  EXPECT_FALSE(ParseTrackPrompts({"--frame", "-1", "--point", "1,1"}).ok());
  EXPECT_FALSE(ParseTrackPrompts({"--obj-id", "x", "--point", "1,1"}).ok());
}

TEST(TrackProgressTest, FormatsBarRateAndEta) {
  EXPECT_EQ(FormatTrackProgress(3, 12, 1.5),
            "[######..................] 3/12 frames  2.00 frames/s  ETA 0:05");
  EXPECT_EQ(FormatTrackProgress(0, 8, 0),
            "[........................] 0/8 frames  0.00 frames/s  ETA --:--");
  EXPECT_EQ(FormatTrackProgress(8, 8, 4).substr(0, 26),
            "[########################]");
}

TEST(TrackCommandTest, TracksTwoObjectsAndWritesMasksAndOverlay) {
  const std::string out_dir = Tmp("track");
  std::ostringstream out, err;
  const int rc = RunTrack(
      {"--checkpoint", kDir + "model.pt", "--video", kDir + "frames",
       "--obj-id", "1", "--point", "160,90", "--point", "20,20,0",
       "--obj-id", "7", "--frame", "2", "--box", "200,40,300,160", "--out",
       out_dir, "--overlay-video", Tmp("overlay.mp4"), "--reverse"},
      out, err);
  ASSERT_EQ(rc, 0) << err.str();
  EXPECT_EQ(err.str(), "");  // no progress bar when stderr is not a terminal
  // Forward from frame 0 (object 1's prompt) covers every frame; --reverse
  // adds nothing before frame 0.
  EXPECT_EQ(CountFiles(out_dir), 16) << out.str();
  for (int f = 0; f < 8; ++f) {
    for (int id : {1, 7}) {
      char name[64];
      std::snprintf(name, sizeof(name), "/%05d_obj%d.png", f, id);
      cv::Mat m = cv::imread(out_dir + name, cv::IMREAD_UNCHANGED);
      ASSERT_FALSE(m.empty()) << name;
      EXPECT_EQ(m.cols, 320);
      EXPECT_EQ(m.rows, 180);
      EXPECT_EQ(m.type(), CV_8UC1);
    }
  }
  EXPECT_NE(out.str().find("object 1: prompted on frame 0;"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("object 7: prompted on frame 2;"), std::string::npos);
  EXPECT_NE(out.str().find("over 8 frames (0..7) of 8; wrote 16 masks"),
            std::string::npos)
      << out.str();
  // The overlay: MP4 when OpenCV can write it here, else the MJPG fallback.
  std::string video = Tmp("overlay.mp4");
  if (out.str().find("writing MJPG AVI") != std::string::npos) {
    video = Tmp("overlay.avi");
  }
  cv::VideoCapture capture(video);
  ASSERT_TRUE(capture.isOpened()) << out.str();
  int frames = 0;
  cv::Mat frame;
  while (capture.read(frame)) {
    EXPECT_EQ(frame.cols, 320);
    EXPECT_EQ(frame.rows, 180);
    ++frames;
  }
  EXPECT_EQ(frames, 8);
}

TEST(TrackCommandTest, ReverseAndMaxFramesFromALaterFrame) {
  const std::string out_dir = Tmp("track_rev");
  std::ostringstream out, err;
  ASSERT_EQ(RunTrack({"--checkpoint", kDir + "model.pt", "--video",
                      kDir + "frames", "--frame", "4", "--point", "160,90",
                      "--out", out_dir, "--reverse", "--max-frames", "2",
                      "--progress"},
                     out, err),
            0)
      << err.str();
  // Frames 2..6: two either side of frame 4.
  EXPECT_EQ(CountFiles(out_dir), 5);
  EXPECT_TRUE(std::filesystem::exists(out_dir + "/00002_obj1.png"));
  EXPECT_TRUE(std::filesystem::exists(out_dir + "/00006_obj1.png"));
  EXPECT_FALSE(std::filesystem::exists(out_dir + "/00001_obj1.png"));
  // --progress forces the bar: 3 forward + 3 backward visits.
  EXPECT_NE(err.str().find("6/6 frames"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("ETA"), std::string::npos);
}

TEST(TrackCommandTest, NoBackwardPassFromFrameZero) {
  std::ostringstream out, err;
  ASSERT_EQ(RunTrack({"--checkpoint", kDir + "model.pt", "--video",
                      kDir + "frames", "--point", "160,90", "--out",
                      Tmp("track_zero"), "--reverse", "--max-frames=1",
                      "--progress"},
                     out, err),
            0)
      << err.str();
  EXPECT_EQ(CountFiles(Tmp("track_zero")), 2);  // frames 0 and 1
  EXPECT_NE(err.str().find("2/2 frames"), std::string::npos) << err.str();
}

TEST(TrackCommandTest, AMaskPrompt) {
  const std::string mask = Tmp("prompt_mask.png");
  cv::Mat m(180, 320, CV_8UC1, cv::Scalar(0));
  m(cv::Rect(100, 50, 80, 60)).setTo(cv::Scalar(255));
  ASSERT_TRUE(cv::imwrite(mask, m));
  std::ostringstream out, err;
  ASSERT_EQ(RunTrack({"--checkpoint", kDir + "model.pt", "--video",
                      kDir + "frames", "--obj-id", "3", "--frame", "6",
                      "--mask", mask, "--out", Tmp("track_mask")},
                     out, err),
            0)
      << err.str();
  EXPECT_EQ(CountFiles(Tmp("track_mask")), 2);  // frames 6 and 7
}

TEST(TrackCommandTest, ReportsBadArguments) {
  const std::vector<std::string> base = {"--checkpoint", kDir + "model.pt",
                                         "--video", kDir + "frames", "--out",
                                         Tmp("bad")};
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--bogus", "1"}, "unknown option --bogus"},
      {{}, "give at least one prompt"},
      {{"--frame", "8", "--point", "1,1"},
       "--frame 8 is outside the video (8 frames: 0..7)"},
      {{"--point", "1,x"}, "not a number"},
      {{"--point", "1000,10"}, "object 1, frame 0:"},
      {{"--point", "1,1", "--max-frames", "-3"}, "--max-frames"},
      {{"--point", "1,1", "stray"}, "unexpected argument 'stray'"},
      {{"--mask", Tmp("missing.png")}, "cannot read the image"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = base;
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    std::ostringstream out, err;
    EXPECT_EQ(RunTrack(args, out, err), 2) << c.message << ": " << err.str();
    EXPECT_NE(err.str().find(c.message), std::string::npos) << err.str();
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunTrack({"--point", "1,1"}, out, err), 2);
  EXPECT_NE(err.str().find("required"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(RunTrack({"--help"}, out2, err2), 0);
  EXPECT_NE(out2.str().find("--obj-id K starts object K"), std::string::npos);
}

}  // namespace
}  // namespace sam2
