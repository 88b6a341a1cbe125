// Tests of video frame preprocessing (against the reference's stored model
// input), the frame sources of video_frames.h and the preprocessed-frame
// cache (video files: video_file_frame_source_test.cc).

#include "model/video_frames.h"

#include <ATen/ATen.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/util/temp_dir.h"
#include "model/image_io.h"
#include "model/pillow_resize.h"
#include "model/safetensors.h"

namespace sam2 {
namespace {

namespace fs = std::filesystem;

constexpr char kFixtureDir[] = "tests/fixtures/sam2.1-micro/";
constexpr char kFramesDir[] = "tests/fixtures/sam2.1-micro/frames";
constexpr int64_t kFixtureFrames = 8;

std::string FixtureFrame(int i) {
  return absl::StrCat(kFramesDir, "/", absl::StrFormat("%05d", i), ".jpg");
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

at::Tensor PatternFrame(int64_t h, int64_t w, int seed) {
  at::Tensor t = at::empty({h, w, 3}, at::kByte);
  auto a = t.accessor<uint8_t, 3>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        a[y][x][c] = static_cast<uint8_t>((x * 7 + y * 3 + c * 50 + seed * 31) % 256);
  return t;
}

// RGB uint8 [H, W, 3] -> PNG bytes (lossless: decoding gives `rgb` back).
std::string EncodePng(const at::Tensor& rgb) {
  at::Tensor c = rgb.contiguous();
  cv::Mat view(static_cast<int>(c.size(0)), static_cast<int>(c.size(1)), CV_8UC3,
               c.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(".png", bgr, buf));
  return std::string(buf.begin(), buf.end());
}

// --- Preprocessing -----------------------------------------------------------

TEST(PreprocessVideoFrameTest, MatchesReferenceModelInput) {
  absl::StatusOr<StateDict> sd =
      ReadSafetensors(absl::StrCat(kFixtureDir, "video_frames.safetensors"));
  ASSERT_TRUE(sd.ok()) << sd.status();
  const at::Tensor* image0 = sd->Find("image0");
  ASSERT_NE(image0, nullptr);
  const int64_t s = image0->size(-1);
  absl::StatusOr<RgbImage> img = DecodeImageFile(FixtureFrame(0));
  ASSERT_TRUE(img.ok()) << img.status();
  absl::StatusOr<at::Tensor> x = PreprocessVideoFrame(img->pixels, s);
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_EQ(x->sizes(), at::IntArrayRef({3, s, s}));
  EXPECT_EQ(x->scalar_type(), at::kFloat);
  const double max_diff = (*x - (*image0)[0]).abs().max().item<double>();
  std::printf("frame 0 preprocessed vs image0: max |diff| %g\n", max_diff);
  EXPECT_LE(max_diff, 1e-6);
}

TEST(PreprocessVideoFrameTest, EqualsResizeThenNormalize) {
  const at::Tensor frame = PatternFrame(30, 50, 1);
  absl::StatusOr<at::Tensor> x = PreprocessVideoFrame(frame, 24);
  ASSERT_TRUE(x.ok()) << x.status();
  absl::StatusOr<at::Tensor> r = PillowBicubicResize(frame, 24, 24);
  ASSERT_TRUE(r.ok());
  at::Tensor f = r->permute({2, 0, 1}).to(at::kDouble).div(255.0).to(at::kFloat);
  at::Tensor mean = at::tensor({0.485, 0.456, 0.406}, at::kFloat).view({3, 1, 1});
  at::Tensor std = at::tensor({0.229, 0.224, 0.225}, at::kFloat).view({3, 1, 1});
  EXPECT_TRUE(at::equal(*x, (f - mean) / std));
}

TEST(PreprocessVideoFrameTest, RejectsBadInput) {
  EXPECT_EQ(PreprocessVideoFrame(at::zeros({4, 4, 3}, at::kFloat), 8)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreprocessVideoFrame(at::zeros({4, 4, 1}, at::kByte), 8)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreprocessVideoFrame(at::zeros({4, 4, 3}, at::kByte), 0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// --- JPEG folder -------------------------------------------------------------

TEST(JpegFolderFrameSourceTest, ReadsFixtureFrames) {
  auto source = JpegFolderFrameSource::Open(kFramesDir);
  ASSERT_TRUE(source.ok()) << source.status();
  FrameSource& src = **source;
  EXPECT_EQ(src.num_frames(), kFixtureFrames);
  EXPECT_EQ(src.video_height(), 180);
  EXPECT_EQ(src.video_width(), 320);
  for (int i = 0; i < kFixtureFrames; ++i) {
    absl::StatusOr<at::Tensor> f = src.GetFrame(i);
    ASSERT_TRUE(f.ok()) << f.status();
    absl::StatusOr<RgbImage> img = DecodeImageFile(FixtureFrame(i));
    ASSERT_TRUE(img.ok());
    EXPECT_TRUE(at::equal(*f, img->pixels)) << i;
  }
  EXPECT_EQ(src.GetFrame(-1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(src.GetFrame(kFixtureFrames).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(JpegFolderFrameSourceTest, SortsByIntegerStemCaseInsensitively) {
  const std::string dir = FreshTempDir("sorted");
  // Fixture frames i -> names with various widths and extension cases.
  const std::vector<std::pair<int, std::string>> names = {
      {0, "10.jpg"}, {1, "2.JPG"}, {2, "0.jpeg"}, {3, "0001.JPEG"}};
  for (const auto& [i, name] : names) {
    fs::copy_file(FixtureFrame(i), fs::path(dir) / name);
  }
  std::ofstream(fs::path(dir) / "notes.txt") << "not a frame";
  std::ofstream(fs::path(dir) / "x.png") << "not a frame";
  fs::create_directory(fs::path(dir) / "7.jpg");  // a directory: ignored
  auto source = JpegFolderFrameSource::Open(dir);
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_EQ((*source)->num_frames(), 4);
  const std::vector<std::string>& paths = (*source)->frame_paths();
  EXPECT_EQ(fs::path(paths[0]).filename(), "0.jpeg");
  EXPECT_EQ(fs::path(paths[1]).filename(), "0001.JPEG");
  EXPECT_EQ(fs::path(paths[2]).filename(), "2.JPG");
  EXPECT_EQ(fs::path(paths[3]).filename(), "10.jpg");
  // Frame 2 of the video is the file "2.JPG" = fixture frame 1.
  absl::StatusOr<at::Tensor> f = (*source)->GetFrame(2);
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<RgbImage> expected = DecodeImageFile(FixtureFrame(1));
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE(at::equal(*f, expected->pixels));
}

TEST(JpegFolderFrameSourceTest, RejectsNonIntegerStems) {
  const std::string dir = FreshTempDir("nonint");
  fs::copy_file(FixtureFrame(0), fs::path(dir) / "00000.jpg");
  fs::copy_file(FixtureFrame(1), fs::path(dir) / "frame_1.jpg");
  auto source = JpegFolderFrameSource::Open(dir);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(source.status().message().find("frame_1.jpg"), std::string::npos)
      << source.status();
}

TEST(JpegFolderFrameSourceTest, MissingEmptyAndTooLong) {
  EXPECT_EQ(JpegFolderFrameSource::Open(FreshTempDir("x") + "/nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(JpegFolderFrameSource::Open(FreshTempDir("empty")).status().code(),
            absl::StatusCode::kInvalidArgument);
  FrameSourceOptions options;
  options.max_frames = 5;
  auto source = JpegFolderFrameSource::Open(kFramesDir, options);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument)
      << source.status();
  options.max_frames = kFixtureFrames;
  EXPECT_TRUE(JpegFolderFrameSource::Open(kFramesDir, options).ok());
}

TEST(JpegFolderFrameSourceTest, SideLimits) {
  FrameSourceOptions options;
  options.max_side = 200;  // the fixture frames are 320 wide
  auto source = JpegFolderFrameSource::Open(kFramesDir, options);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument)
      << source.status();
}

TEST(JpegFolderFrameSourceTest, FrameOfAnotherSizeIsNamed) {
  const std::string dir = FreshTempDir("mixed");
  fs::copy_file(FixtureFrame(0), fs::path(dir) / "0.jpg");
  cv::Mat small(90, 160, CV_8UC3, cv::Scalar(10, 20, 30));
  ASSERT_TRUE(cv::imwrite((fs::path(dir) / "1.jpg").string(), small));
  // Undecodable content.
  std::ofstream(fs::path(dir) / "2.jpg") << "garbage";
  auto source = JpegFolderFrameSource::Open(dir);
  ASSERT_TRUE(source.ok()) << source.status();
  absl::StatusOr<at::Tensor> f = (*source)->GetFrame(1);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("1.jpg"), std::string::npos)
      << f.status();
  absl::StatusOr<at::Tensor> g = (*source)->GetFrame(2);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("2.jpg"), std::string::npos)
      << g.status();
  EXPECT_TRUE((*source)->GetFrame(0).ok());
}

// --- In-memory frames --------------------------------------------------------

TEST(InMemoryFrameSourceTest, AppendAndRead) {
  InMemoryFrameSource src;
  EXPECT_EQ(src.num_frames(), 0);
  EXPECT_EQ(src.video_height(), 0);
  EXPECT_EQ(src.GetFrame(0).status().code(), absl::StatusCode::kOutOfRange);
  at::Tensor f0 = PatternFrame(20, 30, 0);
  absl::StatusOr<int64_t> i0 = src.AppendFrame(f0);
  ASSERT_TRUE(i0.ok()) << i0.status();
  EXPECT_EQ(*i0, 0);
  // A non-contiguous view is accepted and copied.
  at::Tensor f1 = PatternFrame(30, 20, 1).transpose(0, 1);
  absl::StatusOr<int64_t> i1 = src.AppendFrame(f1);
  ASSERT_TRUE(i1.ok()) << i1.status();
  EXPECT_EQ(*i1, 1);
  f0.fill_(0);  // the source holds its own copy
  EXPECT_EQ(src.num_frames(), 2);
  EXPECT_EQ(src.video_height(), 20);
  EXPECT_EQ(src.video_width(), 30);
  absl::StatusOr<at::Tensor> g0 = src.GetFrame(0);
  ASSERT_TRUE(g0.ok());
  EXPECT_TRUE(at::equal(*g0, PatternFrame(20, 30, 0)));
  absl::StatusOr<at::Tensor> g1 = src.GetFrame(1);
  ASSERT_TRUE(g1.ok());
  EXPECT_TRUE(at::equal(*g1, f1));
  EXPECT_TRUE(g1->is_contiguous());
  EXPECT_EQ(src.GetFrame(2).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(src.NumBytes(), 2 * 20 * 30 * 3);  // the decoded pixels
}

TEST(InMemoryFrameSourceTest, RejectsBadFrames) {
  FrameSourceOptions options;
  options.max_frames = 2;
  InMemoryFrameSource src(options);
  EXPECT_EQ(src.AppendFrame(at::zeros({20, 30, 3}, at::kFloat)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(src.AppendFrame(at::zeros({20, 30}, at::kByte)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(src.AppendFrame(at::zeros({4, 30, 3}, at::kByte)).status().code(),
            absl::StatusCode::kInvalidArgument);  // below min side
  EXPECT_EQ(src.AppendFrame(at::zeros({20, 4097, 3}, at::kByte)).status().code(),
            absl::StatusCode::kInvalidArgument);  // above max side
  ASSERT_TRUE(src.AppendFrame(at::zeros({20, 30, 3}, at::kByte)).ok());
  absl::StatusOr<int64_t> other = src.AppendFrame(at::zeros({30, 20, 3}, at::kByte));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(src.AppendFrame(at::zeros({20, 30, 3}, at::kByte)).ok());
  EXPECT_EQ(src.AppendFrame(at::zeros({20, 30, 3}, at::kByte)).status().code(),
            absl::StatusCode::kInvalidArgument);  // max_frames reached
  EXPECT_EQ(src.num_frames(), 2);
}

TEST(InMemoryFrameSourceTest, AppendEncodedFrame) {
  InMemoryFrameSource src;
  absl::StatusOr<int64_t> i = src.AppendEncodedFrame(ReadAll(FixtureFrame(3)));
  ASSERT_TRUE(i.ok()) << i.status();
  absl::StatusOr<at::Tensor> f = src.GetFrame(0);
  ASSERT_TRUE(f.ok());
  absl::StatusOr<RgbImage> expected = DecodeImageFile(FixtureFrame(3));
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE(at::equal(*f, expected->pixels));
  EXPECT_EQ(src.AppendEncodedFrame("not an image").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(InMemoryFrameSourceTest, ConcurrentAppendAndRead) {
  InMemoryFrameSource src;
  constexpr int kFrames = 200;
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      const int64_t n = src.num_frames();
      if (n == 0) continue;
      absl::StatusOr<at::Tensor> f = src.GetFrame(n - 1);
      if (!f.ok() || f->view({-1})[0].item<uint8_t>() !=
                         static_cast<uint8_t>((n - 1) % 256)) {
        ++bad;
      }
    }
  });
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_TRUE(src.AppendFrame(at::full({8, 8, 3}, i % 256, at::kByte)).ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(src.num_frames(), kFrames);
}

// --- Encoded frames ----------------------------------------------------------

TEST(EncodedFrameSourceTest, AppendAndReadRoundTrip) {
  EncodedFrameSource src;
  EXPECT_EQ(src.num_frames(), 0);
  EXPECT_EQ(src.video_height(), 0);
  EXPECT_EQ(src.encoded_bytes(), 0);
  EXPECT_EQ(src.GetFrame(0).status().code(), absl::StatusCode::kOutOfRange);
  // A JPEG (the fixture frame) and a PNG of the same size.
  const std::string jpeg = ReadAll(FixtureFrame(3));
  const at::Tensor pattern = PatternFrame(180, 320, 7);
  const std::string png = EncodePng(pattern);
  absl::StatusOr<int64_t> i0 = src.AppendEncodedFrame(jpeg);
  ASSERT_TRUE(i0.ok()) << i0.status();
  EXPECT_EQ(*i0, 0);
  absl::StatusOr<int64_t> i1 = src.AppendEncodedFrame(png);
  ASSERT_TRUE(i1.ok()) << i1.status();
  EXPECT_EQ(*i1, 1);
  EXPECT_EQ(src.num_frames(), 2);
  EXPECT_EQ(src.video_height(), 180);
  EXPECT_EQ(src.video_width(), 320);
  // Kept encoded: the bytes held are the bytes appended.
  const int64_t encoded = static_cast<int64_t>(jpeg.size() + png.size());
  EXPECT_EQ(src.encoded_bytes(), encoded);
  EXPECT_EQ(src.NumBytes(), encoded);
  EXPECT_LT(src.NumBytes(), 2 * 180 * 320 * 3);
  // Decoded on demand: image_io's pixels for the same bytes, every time.
  absl::StatusOr<RgbImage> want0 = DecodeImage(jpeg);
  ASSERT_TRUE(want0.ok());
  for (int pass = 0; pass < 2; ++pass) {
    absl::StatusOr<at::Tensor> f0 = src.GetFrame(0);
    ASSERT_TRUE(f0.ok()) << f0.status();
    EXPECT_TRUE(at::equal(*f0, want0->pixels));
    EXPECT_TRUE(f0->is_contiguous());
    absl::StatusOr<at::Tensor> f1 = src.GetFrame(1);
    ASSERT_TRUE(f1.ok()) << f1.status();
    EXPECT_TRUE(at::equal(*f1, pattern));  // PNG is lossless
  }
  EXPECT_EQ(src.GetFrame(2).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(src.GetFrame(-1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(EncodedFrameSourceTest, RejectsBadFramesAndKeepsNothingOfThem) {
  FrameSourceOptions options;
  options.max_frames = 2;
  EncodedFrameSource src(options);
  // Not an image, a truncated PNG, an image below the side limit.
  EXPECT_EQ(src.AppendEncodedFrame("not an image").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string png = EncodePng(PatternFrame(20, 30, 0));
  EXPECT_EQ(src.AppendEncodedFrame(png.substr(0, png.size() / 2)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(src.AppendEncodedFrame(EncodePng(PatternFrame(4, 30, 0))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(src.num_frames(), 0);
  EXPECT_EQ(src.encoded_bytes(), 0);
  ASSERT_TRUE(src.AppendEncodedFrame(png).ok());
  // Another size than the first frame's.
  absl::StatusOr<int64_t> other =
      src.AppendEncodedFrame(EncodePng(PatternFrame(30, 20, 1)));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("first frame"), absl::string_view::npos)
      << other.status();
  ASSERT_TRUE(src.AppendEncodedFrame(EncodePng(PatternFrame(20, 30, 2))).ok());
  // max_frames reached.
  EXPECT_EQ(src.AppendEncodedFrame(png).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(src.num_frames(), 2);
  EXPECT_EQ(src.encoded_bytes(),
            static_cast<int64_t>(png.size() +
                                 EncodePng(PatternFrame(20, 30, 2)).size()));
}

TEST(EncodedFrameSourceTest, ConcurrentAppendAndRead) {
  EncodedFrameSource src;
  constexpr int kFrames = 60;
  std::vector<std::string> encoded;
  for (int i = 0; i < kFrames; ++i) {
    encoded.push_back(EncodePng(at::full({8, 8, 3}, i, at::kByte)));
  }
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      const int64_t n = src.num_frames();
      if (n == 0) continue;
      absl::StatusOr<at::Tensor> f = src.GetFrame(n - 1);
      if (!f.ok() || f->view({-1})[0].item<uint8_t>() !=
                         static_cast<uint8_t>(n - 1)) {
        ++bad;
      }
    }
  });
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_TRUE(src.AppendEncodedFrame(encoded[i]).ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(src.num_frames(), kFrames);
}

TEST(FrameSourceNumBytesTest, FileSourcesHoldAFrameAtMost) {
  auto source = JpegFolderFrameSource::Open(kFramesDir);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->NumBytes(), 180 * 320 * 3);  // frame 0, kept decoded
}

// --- Preprocessed frame cache ------------------------------------------------

TEST(PreprocessedFrameCacheTest, LruHitsMissesAndBytes) {
  InMemoryFrameSource src;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(src.AppendFrame(PatternFrame(20, 30, i)).ok());
  constexpr int64_t kS = 16;
  const int64_t frame_bytes = 3 * kS * kS * sizeof(float);
  PreprocessedFrameCache cache(&src, kS, /*capacity=*/2);
  EXPECT_EQ(cache.capacity(), 2);
  auto get = [&](int64_t i) {
    absl::StatusOr<at::Tensor> x = cache.Get(i);
    EXPECT_TRUE(x.ok()) << x.status();
    absl::StatusOr<at::Tensor> want =
        PreprocessVideoFrame(PatternFrame(20, 30, static_cast<int>(i)), kS);
    EXPECT_TRUE(want.ok());
    if (x.ok() && want.ok()) {
      EXPECT_TRUE(at::equal(*x, *want)) << i;
    }
  };
  get(0);  // miss
  get(1);  // miss
  get(0);  // hit; LRU order: 0, 1
  EXPECT_EQ(cache.hits(), 1);
  EXPECT_EQ(cache.misses(), 2);
  EXPECT_EQ(cache.size(), 2);
  EXPECT_EQ(cache.bytes_held(), 2 * frame_bytes);
  get(2);  // miss, evicts 1
  get(0);  // hit
  get(1);  // miss, evicts 2
  EXPECT_EQ(cache.hits(), 2);
  EXPECT_EQ(cache.misses(), 4);
  get(2);  // miss (was evicted)
  EXPECT_EQ(cache.misses(), 5);
  EXPECT_EQ(cache.size(), 2);
  EXPECT_EQ(cache.bytes_held(), 2 * frame_bytes);
  // Errors pass through and cache nothing.
  EXPECT_EQ(cache.Get(9).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(cache.size(), 2);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0);
  EXPECT_EQ(cache.bytes_held(), 0);
}

TEST(PreprocessedFrameCacheTest, ZeroCapacityCachesNothing) {
  InMemoryFrameSource src;
  ASSERT_TRUE(src.AppendFrame(PatternFrame(20, 30, 0)).ok());
  PreprocessedFrameCache cache(&src, 8, /*capacity=*/0);
  ASSERT_TRUE(cache.Get(0).ok());
  ASSERT_TRUE(cache.Get(0).ok());
  EXPECT_EQ(cache.hits(), 0);
  EXPECT_EQ(cache.misses(), 2);
  EXPECT_EQ(cache.bytes_held(), 0);
}

TEST(PreprocessedFrameCacheTest, FixtureFramesThroughJpegFolder) {
  absl::StatusOr<StateDict> sd =
      ReadSafetensors(absl::StrCat(kFixtureDir, "video_frames.safetensors"));
  ASSERT_TRUE(sd.ok()) << sd.status();
  const at::Tensor image0 = (*sd->Find("image0"))[0];
  auto source = JpegFolderFrameSource::Open(kFramesDir);
  ASSERT_TRUE(source.ok()) << source.status();
  PreprocessedFrameCache cache(source->get(), image0.size(-1), 3);
  absl::StatusOr<at::Tensor> x = cache.Get(0);
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_LE((*x - image0).abs().max().item<double>(), 1e-6);
  absl::StatusOr<at::Tensor> again = cache.Get(0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data_ptr(), x->data_ptr());  // served from the cache
  EXPECT_EQ(cache.hits(), 1);
}

TEST(PreprocessedFrameCacheTest, ConcurrentGets) {
  InMemoryFrameSource src;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(src.AppendFrame(PatternFrame(12, 12, i)).ok());
  PreprocessedFrameCache cache(&src, 8, 3);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) {
        if (!cache.Get((k * (t + 1)) % 6).ok()) ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(cache.hits() + cache.misses(), 800);
  EXPECT_LE(cache.size(), 3);
  EXPECT_EQ(cache.bytes_held(), cache.size() * 3 * 8 * 8 * 4);
}

}  // namespace
}  // namespace sam2
