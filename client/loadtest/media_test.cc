// Synthetic media decode to what was asked; frame directories read sorted.

#include "client/loadtest/media.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace sam2::loadtest {
namespace {

cv::Mat Decode(const std::string& bytes) {
  std::vector<uint8_t> buf(bytes.begin(), bytes.end());
  return cv::imdecode(buf, cv::IMREAD_COLOR);
}

std::string TmpDir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(MediaTest, SyntheticImageIsAPngOfTheSize) {
  absl::StatusOr<std::string> png = SyntheticImagePng(120, 80);
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->substr(1, 3), "PNG");
  const cv::Mat img = Decode(*png);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 120);
  EXPECT_EQ(img.rows, 80);
  // Not a flat colour: there is something to segment.
  cv::Scalar mean, stddev;
  cv::meanStdDev(img, mean, stddev);
  EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 10);
}

TEST(MediaTest, SyntheticVideoFramesAreJpegsThatMove) {
  absl::StatusOr<std::vector<std::string>> frames =
      SyntheticVideoJpegs(96, 64, 4);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 4u);
  cv::Mat first = Decode(frames->front());
  cv::Mat last = Decode(frames->back());
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.cols, 96);
  EXPECT_EQ(first.rows, 64);
  EXPECT_EQ(static_cast<uint8_t>((*frames)[0][0]), 0xFF);  // JPEG SOI
  EXPECT_GT(cv::norm(first, last, cv::NORM_L1), 0);
}

TEST(MediaTest, BadSizesAreRejected) {
  EXPECT_FALSE(SyntheticImagePng(4, 100).ok());
  EXPECT_FALSE(SyntheticVideoJpegs(100, 100, 0).ok());
}

TEST(MediaTest, FrameDirectoryIsReadInNameOrder) {
  const std::string dir = TmpDir("frames");
  WriteFile(dir + "/00002.jpg", "two");
  WriteFile(dir + "/00000.JPG", "zero");
  WriteFile(dir + "/00001.jpeg", "one");
  WriteFile(dir + "/notes.txt", "ignored");
  absl::StatusOr<std::vector<std::string>> frames = ReadFrameDirectory(dir);
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_EQ(*frames, (std::vector<std::string>{"zero", "one", "two"}));
}

TEST(MediaTest, MissingInputsSayWhich) {
  absl::StatusOr<std::vector<std::string>> none =
      ReadFrameDirectory("/nonexistent/frames");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("/nonexistent/frames"),
            std::string::npos);
  absl::StatusOr<std::vector<std::string>> empty =
      ReadFrameDirectory(TmpDir("empty"));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no .jpg"), std::string::npos);
  absl::StatusOr<std::string> file = ReadMediaFile("/nonexistent/a.png");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sam2::loadtest
