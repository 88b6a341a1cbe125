// Tests of VideoFileFrameSource on MJPG clips written at test time with
// cv::VideoWriter: sequential and random access, limits, bad files.

#include "model/video_file_frame_source.h"

#include <ATen/ATen.h>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/util/temp_dir.h"

namespace sam2 {
namespace {

namespace fs = std::filesystem;

constexpr int kVideoFrames = 10;
constexpr int kVideoW = 64;
constexpr int kVideoH = 48;

// Writes an MJPG .avi whose frame i is a solid colour (BGR (20i, 255-20i,
// 100)). Returns "" when OpenCV cannot write it here.
std::string WriteTestVideo(const std::string& dir) {
  const std::string path = (fs::path(dir) / "clip.avi").string();
  try {
    cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                           10.0, cv::Size(kVideoW, kVideoH));
    if (!writer.isOpened()) return "";
    for (int i = 0; i < kVideoFrames; ++i) {
      writer.write(cv::Mat(kVideoH, kVideoW, CV_8UC3,
                           cv::Scalar(20 * i, 255 - 20 * i, 100)));
    }
    writer.release();
  } catch (const cv::Exception&) {
    return "";
  }
  return path;
}

TEST(VideoFileFrameSourceTest, DecodesSequentiallyAndRandomly) {
  const std::string path = WriteTestVideo(FreshTempDir("video"));
  if (path.empty()) GTEST_SKIP() << "cv::VideoWriter cannot write MJPG here";
  auto source = VideoFileFrameSource::Open(path);
  ASSERT_TRUE(source.ok()) << source.status();
  VideoFileFrameSource& src = **source;
  EXPECT_EQ(src.num_frames(), kVideoFrames);
  EXPECT_EQ(src.video_height(), kVideoH);
  EXPECT_EQ(src.video_width(), kVideoW);
  std::vector<at::Tensor> sequential;
  for (int i = 0; i < kVideoFrames; ++i) {
    absl::StatusOr<at::Tensor> f = src.GetFrame(i);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->sizes(), at::IntArrayRef({kVideoH, kVideoW, 3}));
    // RGB order: R = 100, G = 255 - 20i, B = 20i (JPEG is lossy: +-4).
    at::Tensor mean = f->to(at::kFloat).mean(at::IntArrayRef{0, 1});
    EXPECT_NEAR(mean[0].item<float>(), 100, 4) << i;
    EXPECT_NEAR(mean[1].item<float>(), 255 - 20 * i, 4) << i;
    EXPECT_NEAR(mean[2].item<float>(), 20 * i, 4) << i;
    sequential.push_back(*f);
  }
  EXPECT_EQ(src.reopen_count(), 0);
  // Random access gives the same pixels; going back reopens the file.
  for (int i : {7, 7, 3, 9, 0, 5, 4}) {
    absl::StatusOr<at::Tensor> f = src.GetFrame(i);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_TRUE(at::equal(*f, sequential[i])) << i;
  }
  // The sequential pass left the cursor at the end: 9 -> 7, 7 -> 3, 9 -> 0
  // and 5 -> 4 go backwards; the repeated 7 is the kept frame.
  EXPECT_EQ(src.reopen_count(), 4);
  EXPECT_EQ(src.NumBytes(), kVideoH * kVideoW * 3);  // the kept frame
  EXPECT_EQ(src.GetFrame(kVideoFrames).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(src.GetFrame(-1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(VideoFileFrameSourceTest, Limits) {
  const std::string path = WriteTestVideo(FreshTempDir("video_limits"));
  if (path.empty()) GTEST_SKIP() << "cv::VideoWriter cannot write MJPG here";
  FrameSourceOptions options;
  options.max_frames = kVideoFrames - 1;
  EXPECT_EQ(VideoFileFrameSource::Open(path, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.max_frames = kVideoFrames;
  EXPECT_TRUE(VideoFileFrameSource::Open(path, options).ok());
  options.max_side = kVideoW - 1;
  EXPECT_EQ(VideoFileFrameSource::Open(path, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VideoFileFrameSourceTest, MissingOrInvalidFile) {
  const std::string dir = FreshTempDir("video_bad");
  EXPECT_EQ(VideoFileFrameSource::Open(dir + "/none.mp4").status().code(),
            absl::StatusCode::kNotFound);
  const std::string garbage = dir + "/garbage.mp4";
  std::ofstream(garbage) << "this is not a video";
  EXPECT_EQ(VideoFileFrameSource::Open(garbage).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
