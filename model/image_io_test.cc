// Tests of JPEG / PNG decoding: the fixture photo, cv::imencode round trips,
// bit depths and channel layouts, every rejected input, limits checked from
// the header before decoding, and EXIF orientation.

#include "model/image_io.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <opencv2/core.hpp>
#include <random>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/util/png_bytes.h"

namespace sam2 {
namespace {

constexpr char kFixtureImage[] = "tests/fixtures/sam2.1-micro/image.png";
constexpr int64_t kFixtureWidth = 600;
constexpr int64_t kFixtureHeight = 400;

std::string Encode(const cv::Mat& mat, const std::string& ext,
                   const std::vector<int>& params = {}) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, mat, buf, params));
  return std::string(buf.begin(), buf.end());
}

// A BGR test pattern with distinct values per channel and position.
cv::Mat Pattern(int rows, int cols) {
  cv::Mat m(rows, cols, CV_8UC3);
  cv::randu(m, 0, 256);
  return m;
}

// The RGB pixels of a BGR cv::Mat as a [H, W, 3] uint8 tensor.
at::Tensor RgbTensor(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).clone();
}

void ExpectInvalid(const absl::StatusOr<RgbImage>& r,
                   const std::string& needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
      << r.status();
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << r.status();
}

// Offset of the first SOF0 marker's payload (its length field) in a JPEG.
size_t FindSof0(const std::string& jpeg) {
  for (size_t i = 2; i + 1 < jpeg.size(); ++i) {
    if (static_cast<uint8_t>(jpeg[i]) == 0xFF &&
        static_cast<uint8_t>(jpeg[i + 1]) == 0xC0) {
      return i + 2;
    }
  }
  return std::string::npos;
}

// Inserts a minimal APP1 Exif segment (big-endian TIFF, IFD0 with one entry:
// Orientation = `orientation`) right after SOI.
std::string WithExifOrientation(const std::string& jpeg, int orientation) {
  const unsigned char app1[] = {
      0xFF, 0xE1, 0x00, 34,  // APP1, length 34
      'E',  'x',  'i',  'f', 0, 0,
      'M',  'M',  0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,  // TIFF header, IFD @8
      0x00, 0x01,                                      // one entry
      0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,  // 0x0112 SHORT x1
      0x00, static_cast<unsigned char>(orientation), 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00,  // no next IFD
  };
  std::string out = jpeg.substr(0, 2);
  out.append(reinterpret_cast<const char*>(app1), sizeof(app1));
  out.append(jpeg.substr(2));
  return out;
}

// Inserts an eXIf chunk (big-endian TIFF, Orientation = `orientation`)
// right after IHDR.
std::string PngWithExifOrientation(const std::string& png, int orientation) {
  const unsigned char tiff[] = {
      'M',  'M',  0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01,
      0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
      0x00, static_cast<unsigned char>(orientation), 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00,
  };
  const std::string chunk = PngChunk(
      "eXIf", std::string(reinterpret_cast<const char*>(tiff), sizeof(tiff)));
  constexpr size_t kIhdrEnd = 8 + 4 + 4 + 13 + 4;
  return png.substr(0, kIhdrEnd) + chunk + png.substr(kIhdrEnd);
}

TEST(ImageIoTest, DecodesTheFixturePhoto) {
  absl::StatusOr<RgbImage> image = DecodeImageFile(kFixtureImage);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, kFixtureWidth);
  EXPECT_EQ(image->height, kFixtureHeight);
  EXPECT_EQ(image->pixels.sizes(),
            at::IntArrayRef({kFixtureHeight, kFixtureWidth, 3}));
  EXPECT_EQ(image->pixels.scalar_type(), at::kByte);
  EXPECT_TRUE(image->pixels.is_contiguous());
  // RGB order: the same pixels as OpenCV's own decode, channels reversed.
  const cv::Mat bgr = cv::imread(kFixtureImage, cv::IMREAD_COLOR);
  ASSERT_FALSE(bgr.empty());
  EXPECT_TRUE(at::equal(image->pixels, RgbTensor(bgr)));
}

TEST(ImageIoTest, PngRoundTripIsExact) {
  const cv::Mat bgr = Pattern(37, 53);
  absl::StatusOr<RgbImage> image = DecodeImage(Encode(bgr, ".png"));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, 53);
  EXPECT_EQ(image->height, 37);
  EXPECT_TRUE(at::equal(image->pixels, RgbTensor(bgr)));
}

TEST(ImageIoTest, JpegRoundTripIsClose) {
  cv::Mat bgr(48, 64, CV_8UC3);
  // Smooth content (JPEG-friendly) with distinct channels.
  for (int y = 0; y < bgr.rows; ++y) {
    for (int x = 0; x < bgr.cols; ++x) {
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 3),
                                          static_cast<uchar>(y * 4),
                                          static_cast<uchar>(200));
    }
  }
  const std::string jpeg =
      Encode(bgr, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 100});
  absl::StatusOr<RgbImage> image = DecodeImage(jpeg);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, 64);
  EXPECT_EQ(image->height, 48);
  const double mean_err = (image->pixels.to(at::kFloat) -
                           RgbTensor(bgr).to(at::kFloat))
                              .abs()
                              .mean()
                              .item<double>();
  EXPECT_LT(mean_err, 2.0);
  // Channel order: red (BGR index 2 = 200) is channel 0 in RGB.
  EXPECT_NEAR(image->pixels.select(2, 0).to(at::kFloat).mean().item<double>(),
              200.0, 2.0);
}

TEST(ImageIoTest, InspectReadsTheHeaderOnly) {
  const std::string png = Encode(Pattern(20, 30), ".png");
  absl::StatusOr<ImageHeaderInfo> info = InspectImage(png);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, ImageFormat::kPng);
  EXPECT_EQ(info->width, 30);
  EXPECT_EQ(info->height, 20);
  const std::string jpeg = Encode(Pattern(20, 30), ".jpg");
  info = InspectImage(jpeg);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, ImageFormat::kJpeg);
  EXPECT_EQ(info->width, 30);
  EXPECT_EQ(info->height, 20);
}

TEST(ImageIoTest, GrayscaleSixteenBitAndAlphaPngsBecomeRgb8) {
  cv::Mat gray(16, 24, CV_8UC1);
  cv::randu(gray, 0, 256);
  absl::StatusOr<RgbImage> g = DecodeImage(Encode(gray, ".png"));
  ASSERT_TRUE(g.ok()) << g.status();
  const at::Tensor gt =
      at::from_blob(gray.data, {16, 24}, at::kByte).clone();
  for (int c = 0; c < 3; ++c) {
    EXPECT_TRUE(at::equal(g->pixels.select(2, c), gt)) << c;
  }

  // 16-bit BGRA: 257 * v maps to v; alpha is dropped.
  cv::Mat wide(16, 24, CV_16UC4, cv::Scalar(257 * 10, 257 * 20, 257 * 30,
                                             257 * 7));
  absl::StatusOr<RgbImage> w = DecodeImage(Encode(wide, ".png"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->pixels.sizes(), at::IntArrayRef({16, 24, 3}));
  EXPECT_EQ(w->pixels.scalar_type(), at::kByte);
  EXPECT_EQ(w->pixels[3][5][0].item<int>(), 30);
  EXPECT_EQ(w->pixels[3][5][1].item<int>(), 20);
  EXPECT_EQ(w->pixels[3][5][2].item<int>(), 10);

  cv::Mat bgra(16, 24, CV_8UC4, cv::Scalar(1, 2, 3, 0));
  absl::StatusOr<RgbImage> a = DecodeImage(Encode(bgra, ".png"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->pixels[0][0][0].item<int>(), 3);
  EXPECT_EQ(a->pixels[0][0][1].item<int>(), 2);
  EXPECT_EQ(a->pixels[0][0][2].item<int>(), 1);
}

TEST(ImageIoTest, RejectsEmptyAndUnsupportedFormats) {
  ExpectInvalid(DecodeImage(""), "empty");
  ExpectInvalid(DecodeImage("GIF89a\x01\x00\x01\x00"),
                "unsupported image format");
  ExpectInvalid(DecodeImage(std::string("BM\0\0\0\0\0\0", 8)),
                "unsupported image format");
  // Near misses of the magic bytes.
  ExpectInvalid(DecodeImage(std::string("\xFF\xD8\x00\x00", 4)),
                "unsupported image format");
  ExpectInvalid(DecodeImage(std::string("\x89PNG\r\n\x1a", 7)),
                "unsupported image format");
  // TIFF (little-endian byte order mark) is refused before decoding too.
  ExpectInvalid(DecodeImage(std::string("II*\0\x08\0\0\0", 8)),
                "unsupported image format");
}

TEST(ImageIoTest, RejectsUnparsableHeaders) {
  // Magic bytes alone.
  ExpectInvalid(DecodeImage(std::string("\x89PNG\r\n\x1a\n", 8)),
                "invalid PNG header");
  ExpectInvalid(DecodeImage(std::string("\xFF\xD8\xFF", 3)),
                "invalid JPEG header");
  // First PNG chunk not IHDR.
  std::string png = PngHeaderOnly(32, 32);
  png[12] = 'X';
  ExpectInvalid(DecodeImage(png), "IHDR");
  // Zero width; bad bit depth for the colour type.
  ExpectInvalid(DecodeImage(PngHeaderOnly(0, 32)), "invalid PNG header");
  png = PngHeaderOnly(32, 32);
  png[24] = 4;  // RGB at 4 bits
  ExpectInvalid(DecodeImage(png), "bit depth");
  // JPEG: a segment length running past the end; garbage after SOI.
  ExpectInvalid(DecodeImage(std::string("\xFF\xD8\xFF\xE0\x7F\xFF", 6)),
                "bad length");
  ExpectInvalid(DecodeImage(std::string("\xFF\xD8\xFF\xE0\x00\x04\x00\x00"
                                        "ABCD",
                                        12)),
                "marker expected");
  // A JPEG with its frame header cut away.
  const std::string jpeg = Encode(Pattern(16, 16), ".jpg");
  const size_t sof = FindSof0(jpeg);
  ASSERT_NE(sof, std::string::npos);
  ExpectInvalid(DecodeImage(jpeg.substr(0, sof + 3)), "invalid JPEG header");
}

TEST(ImageIoTest, RejectsOversizedPngFromTheHeaderBeforeDecoding) {
  // Only a header: were it decoded, the error would be about missing data.
  const std::string png = PngHeaderOnly(9000, 9000);
  absl::StatusOr<ImageHeaderInfo> info = InspectImage(png);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectInvalid(DecodeImage(png), "9000x9000");
  // Each side allowed, the pixel count not (8000 x 6000 = 48 Mpx).
  ExpectInvalid(DecodeImage(PngHeaderOnly(8000, 6000)), "48000000 pixels");
  // Too small.
  ExpectInvalid(DecodeImage(PngHeaderOnly(7, 100)), "7x100");
  // The same header passes with the sizes in range (then fails decoding).
  ExpectInvalid(DecodeImage(PngHeaderOnly(100, 100)), "cannot decode");
}

TEST(ImageIoTest, RejectsOversizedJpegFromTheFrameHeader) {
  std::string jpeg = Encode(Pattern(16, 16), ".jpg");
  const size_t sof = FindSof0(jpeg);
  ASSERT_NE(sof, std::string::npos);
  // Height at sof + 3, width at sof + 5 (after the length and precision).
  jpeg[sof + 5] = static_cast<char>(9000 >> 8);
  jpeg[sof + 6] = static_cast<char>(9000 & 0xFF);
  ExpectInvalid(DecodeImage(jpeg), "9000x16");
  // Too small a real image.
  ExpectInvalid(DecodeImage(Encode(Pattern(4, 40), ".jpg")), "40x4");
  ExpectInvalid(DecodeImage(Encode(Pattern(40, 4), ".png")), "4x40");
}

TEST(ImageIoTest, LimitsComeFromTheOptions) {
  const std::string png = Encode(Pattern(20, 30), ".png");
  ImageDecodeOptions options;
  options.max_side = 25;
  ExpectInvalid(DecodeImage(png, options), "between 8 and 25");
  options = ImageDecodeOptions();
  options.max_pixels = 599;
  ExpectInvalid(DecodeImage(png, options), "over the limit of 599");
  options = ImageDecodeOptions();
  options.min_side = 21;
  ExpectInvalid(DecodeImage(png, options), "30x20");
  options = ImageDecodeOptions();
  options.max_encoded_bytes = 10;
  ExpectInvalid(DecodeImage(png, options), "over the limit of 10");
  EXPECT_TRUE(DecodeImage(png).ok());
}

TEST(ImageIoTest, RejectsTruncatedAndCorruptData) {
  const std::string png = Encode(Pattern(40, 40), ".png");
  ExpectInvalid(DecodeImage(png.substr(0, png.size() - 20)), "cannot decode");
  ExpectInvalid(DecodeImage(png.substr(0, png.size() / 2)), "cannot decode");
  std::string corrupt = png;
  for (size_t i = 60; i < 120 && i < corrupt.size(); ++i) corrupt[i] ^= 0x5A;
  ExpectInvalid(DecodeImage(corrupt), "cannot decode");

  const std::string jpeg = Encode(Pattern(64, 64), ".jpg");
  ASSERT_TRUE(DecodeImage(jpeg).ok());
  // libjpeg alone would decode these (gray-filled) with a warning only.
  ExpectInvalid(DecodeImage(jpeg.substr(0, jpeg.size() - 2)), "truncated");
  ExpectInvalid(DecodeImage(jpeg.substr(0, jpeg.size() - 100)), "truncated");
  ExpectInvalid(DecodeImage(jpeg.substr(0, jpeg.size() / 2)), "truncated");
}

TEST(ImageIoTest, DecodeImageFileErrors) {
  absl::StatusOr<RgbImage> r = DecodeImageFile("no/such/image.png");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  // A directory is not an image.
  r = DecodeImageFile("tests/fixtures/sam2.1-micro");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
      << r.status();
  // A file that is not an image: the message names the file.
  r = DecodeImageFile("tests/fixtures/sam2.1-micro/model.yaml");
  ExpectInvalid(r, "unsupported image format");
  EXPECT_NE(r.status().message().find("model.yaml"), std::string::npos);
}

TEST(ImageIoTest, AppliesExifOrientation) {
  // 20 rows x 40 cols, a red block in the top-left corner (BGR).
  cv::Mat bgr(20, 40, CV_8UC3, cv::Scalar(0, 0, 0));
  bgr(cv::Rect(0, 0, 10, 10)).setTo(cv::Scalar(0, 0, 255));
  const std::string jpeg =
      Encode(bgr, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 100});
  auto red_at = [](const RgbImage& im, int64_t y, int64_t x) {
    return im.pixels[y][x][0].item<int>() > 200 &&
           im.pixels[y][x][1].item<int>() < 50 &&
           im.pixels[y][x][2].item<int>() < 50;
  };

  absl::StatusOr<RgbImage> plain = DecodeImage(jpeg);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->width, 40);
  EXPECT_EQ(plain->height, 20);
  EXPECT_TRUE(red_at(*plain, 2, 2));

  // 1: as stored.
  absl::StatusOr<RgbImage> o1 = DecodeImage(WithExifOrientation(jpeg, 1));
  ASSERT_TRUE(o1.ok()) << o1.status();
  EXPECT_EQ(o1->width, 40);
  EXPECT_TRUE(red_at(*o1, 2, 2));

  // 6: rotate 90 degrees clockwise to display; top-left goes top-right.
  absl::StatusOr<RgbImage> o6 = DecodeImage(WithExifOrientation(jpeg, 6));
  ASSERT_TRUE(o6.ok()) << o6.status();
  EXPECT_EQ(o6->width, 20);
  EXPECT_EQ(o6->height, 40);
  EXPECT_EQ(o6->pixels.sizes(), at::IntArrayRef({40, 20, 3}));
  EXPECT_TRUE(red_at(*o6, 2, 17));
  EXPECT_FALSE(red_at(*o6, 2, 2));

  // 3: rotate 180 degrees; top-left goes bottom-right.
  absl::StatusOr<RgbImage> o3 = DecodeImage(WithExifOrientation(jpeg, 3));
  ASSERT_TRUE(o3.ok()) << o3.status();
  EXPECT_EQ(o3->width, 40);
  EXPECT_EQ(o3->height, 20);
  EXPECT_TRUE(red_at(*o3, 17, 37));
  EXPECT_FALSE(red_at(*o3, 2, 2));

  // 8: rotate 90 degrees counter-clockwise; top-left goes bottom-left.
  absl::StatusOr<RgbImage> o8 = DecodeImage(WithExifOrientation(jpeg, 8));
  ASSERT_TRUE(o8.ok()) << o8.status();
  EXPECT_EQ(o8->width, 20);
  EXPECT_EQ(o8->height, 40);
  EXPECT_TRUE(red_at(*o8, 37, 2));
}

TEST(ImageIoTest, AppliesPngExifOrientation) {
  cv::Mat bgr(20, 40, CV_8UC3, cv::Scalar(0, 0, 0));
  bgr(cv::Rect(0, 0, 10, 10)).setTo(cv::Scalar(0, 0, 255));
  const std::string png = PngWithExifOrientation(Encode(bgr, ".png"), 6);
  absl::StatusOr<RgbImage> image = DecodeImage(png);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, 20);
  EXPECT_EQ(image->height, 40);
  // Lossless: the rotated pattern exactly.
  cv::Mat rotated;
  cv::rotate(bgr, rotated, cv::ROTATE_90_CLOCKWISE);
  EXPECT_TRUE(at::equal(image->pixels, RgbTensor(rotated)));
}

// Random byte flips and truncations of valid files: every outcome is a
// decoded image or INVALID_ARGUMENT, never a crash or another code (run it
// under --config=asan too).
TEST(ImageIoTest, MutatedFilesFailCleanly) {
  const std::vector<std::string> seeds = {
      Encode(Pattern(24, 32), ".png"),
      Encode(Pattern(24, 32), ".jpg"),
      Encode(Pattern(24, 32), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
      WithExifOrientation(Encode(Pattern(24, 32), ".jpg"), 6),
  };
  constexpr int kMutationsPerSeed = 300;
  std::mt19937 rng(1234);
  int decoded = 0, rejected = 0;
  for (const std::string& seed : seeds) {
    for (int i = 0; i < kMutationsPerSeed; ++i) {
      std::string bytes = seed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        // Mostly in the headers, where the parsers live.
        const size_t span = (rng() % 2 == 0) ? std::min<size_t>(bytes.size(),
                                                                 200)
                                             : bytes.size();
        bytes[rng() % span] = static_cast<char>(rng() % 256);
      }
      if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
      absl::StatusOr<RgbImage> r = DecodeImage(bytes);
      if (r.ok()) {
        ++decoded;
        EXPECT_EQ(r->pixels.sizes(),
                  at::IntArrayRef({r->height, r->width, 3}));
      } else {
        ++rejected;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
            << r.status();
      }
    }
  }
  EXPECT_GT(rejected, 0);
  std::printf("mutated files: %d decoded, %d rejected\n", decoded, rejected);
}

}  // namespace
}  // namespace sam2
