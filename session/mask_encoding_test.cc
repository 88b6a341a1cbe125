// Tests of mask_encoding.h: RLE (pycocotools' counts), PNG and float32
// logits, both ways, and the statuses for malformed client masks.

#include "session/mask_encoding.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "model/rle.h"

namespace sam2 {
namespace {

at::Tensor Mask(const std::vector<std::vector<int>>& rows) {
  const int64_t h = static_cast<int64_t>(rows.size());
  const int64_t w = static_cast<int64_t>(rows[0].size());
  at::Tensor m = at::zeros({h, w}, at::kBool);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) m[y][x] = rows[y][x] != 0;
  }
  return m;
}

// Logits whose positive pixels are `mask`: +2.5 inside, -1.5 outside.
at::Tensor LogitsOf(const at::Tensor& mask) {
  return at::where(mask, at::full({}, 2.5f), at::full({}, -1.5f));
}

// A reproducible random mask.
at::Tensor RandomMask(int64_t h, int64_t w, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::rand({h, w}, gen) > 0.6;
}

std::string PngBytes(const cv::Mat& mat) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(".png", mat, buf));
  return std::string(buf.begin(), buf.end());
}

TEST(MaskEncodingTest, RleIsPycocotoolsCounts) {
  // Expected strings: pycocotools 2.0 mask.encode (see model/rle_test.cc).
  const at::Tensor block = Mask({{0, 0, 0, 0, 0},
                                 {0, 1, 1, 0, 0},
                                 {0, 1, 1, 1, 0},
                                 {0, 0, 0, 0, 0}});
  absl::StatusOr<EncodedMask> e = EncodeMask(LogitsOf(block), MaskEncoding::kRle);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->encoding, MaskEncoding::kRle);
  EXPECT_EQ(e->height, 4);
  EXPECT_EQ(e->width, 5);
  EXPECT_EQ(e->data, "52201O2");

  const at::Tensor random = Mask({{1, 1, 1, 1, 0},
                                  {1, 0, 1, 1, 0},
                                  {1, 1, 1, 1, 0},
                                  {0, 0, 1, 1, 1},
                                  {1, 1, 0, 1, 0},
                                  {1, 0, 1, 1, 0}});
  e = EncodeMask(LogitsOf(random), MaskEncoding::kRle);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->data, "03100N0003032JO");
  absl::StatusOr<at::Tensor> back = DecodeBinaryMask(*e, 6, 5);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->scalar_type(), at::kBool);
  EXPECT_TRUE(at::equal(*back, random));
}

TEST(MaskEncodingTest, RleRoundTripMatchesModelRle) {
  const at::Tensor mask = RandomMask(37, 53, 7);
  // Leading singleton dimensions (the predictors' [1, 1, H, W]) are squeezed;
  // a double-precision input is fine.
  absl::StatusOr<EncodedMask> e = EncodeMask(
      LogitsOf(mask).to(at::kDouble).view({1, 1, 37, 53}), MaskEncoding::kRle);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->height, 37);
  EXPECT_EQ(e->width, 53);
  absl::StatusOr<Rle> rle = MaskToRle(mask);
  ASSERT_TRUE(rle.ok()) << rle.status();
  EXPECT_EQ(e->data, EncodeCocoCounts(*rle));
  absl::StatusOr<at::Tensor> back = DecodeBinaryMask(*e, 37, 53);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(at::equal(*back, mask));
}

TEST(MaskEncodingTest, ThresholdIsStrictlyPositive) {
  // 0 (and -0) is outside, any positive value inside; a bool mask as is.
  at::Tensor logits = at::zeros({2, 3});
  logits[0][1] = 1e-7f;
  logits[1][2] = -0.0f;
  logits[1][0] = 1e-30f;
  absl::StatusOr<EncodedMask> e = EncodeMask(logits, MaskEncoding::kRle);
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<at::Tensor> back = DecodeBinaryMask(*e, 2, 3);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(at::equal(*back, Mask({{0, 1, 0}, {1, 0, 0}})));

  const at::Tensor bool_mask = RandomMask(9, 11, 3);
  e = EncodeMask(bool_mask, MaskEncoding::kRle);
  ASSERT_TRUE(e.ok()) << e.status();
  back = DecodeBinaryMask(*e, 9, 11);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(at::equal(*back, bool_mask));
}

TEST(MaskEncodingTest, PngIs8BitGray255Inside) {
  const at::Tensor mask = RandomMask(21, 34, 11);
  absl::StatusOr<EncodedMask> e = EncodeMask(LogitsOf(mask), MaskEncoding::kPng);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->encoding, MaskEncoding::kPng);
  EXPECT_EQ(e->height, 21);
  EXPECT_EQ(e->width, 34);
  ASSERT_GE(e->data.size(), 8u);
  EXPECT_EQ(e->data.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::vector<uchar> buf(e->data.begin(), e->data.end());
  cv::Mat img = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.type(), CV_8UC1);
  ASSERT_EQ(img.rows, 21);
  ASSERT_EQ(img.cols, 34);
  int64_t mismatches = 0;
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      const int expected = mask[y][x].item<bool>() ? 255 : 0;
      if (img.at<uint8_t>(y, x) != expected) ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0);
  absl::StatusOr<at::Tensor> back = DecodeBinaryMask(*e, 21, 34);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(at::equal(*back, mask));
}

TEST(MaskEncodingTest, PngMaskReadsTheFirstChannel) {
  // An RGB PNG from a client: nonzero red (the first channel) is inside,
  // whatever the other channels hold. OpenCV writes BGR, so red is index 2.
  cv::Mat bgr(4, 6, CV_8UC3, cv::Scalar(0, 0, 0));
  bgr.at<cv::Vec3b>(1, 2) = cv::Vec3b(0, 0, 1);    // red 1: inside
  bgr.at<cv::Vec3b>(3, 5) = cv::Vec3b(0, 0, 200);  // red 200: inside
  bgr.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 255, 0);  // no red: outside
  EncodedMask m;
  m.height = 4;
  m.width = 6;
  m.encoding = MaskEncoding::kPng;
  m.data = PngBytes(bgr);
  absl::StatusOr<at::Tensor> back = DecodeBinaryMask(m, 4, 6);
  ASSERT_TRUE(back.ok()) << back.status();
  at::Tensor expected = at::zeros({4, 6}, at::kBool);
  expected[1][2] = true;
  expected[3][5] = true;
  EXPECT_TRUE(at::equal(*back, expected));
  // A 1x1 mask is a valid mask (the image limits' minimum side does not
  // apply to masks).
  EncodedMask tiny;
  tiny.height = 1;
  tiny.width = 1;
  tiny.encoding = MaskEncoding::kPng;
  tiny.data = PngBytes(cv::Mat(1, 1, CV_8UC1, cv::Scalar(255)));
  back = DecodeBinaryMask(tiny, 1, 1);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->item<bool>());
}

TEST(MaskEncodingTest, LogitsAreLittleEndianFloat32) {
  at::Generator gen = at::detail::createCPUGenerator(5);
  const at::Tensor logits = at::randn({13, 17}, gen) * 10;
  absl::StatusOr<EncodedMask> e =
      EncodeMask(logits.unsqueeze(0), MaskEncoding::kLogits);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->encoding, MaskEncoding::kLogits);
  EXPECT_EQ(e->height, 13);
  EXPECT_EQ(e->width, 17);
  ASSERT_EQ(e->data.size(), 13u * 17u * sizeof(float));
  // Row-major: element (2, 5) is float number 2 * 17 + 5.
  float v = 0;
  std::memcpy(&v, e->data.data() + (2 * 17 + 5) * sizeof(float), sizeof(float));
  EXPECT_EQ(v, logits[2][5].item<float>());
  absl::StatusOr<at::Tensor> back = DecodeLogits(*e, 13, 17);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(*back, logits));

  // A half-precision input becomes float32 values.
  const at::Tensor half = logits.to(at::kHalf);
  e = EncodeMask(half, MaskEncoding::kLogits);
  ASSERT_TRUE(e.ok()) << e.status();
  back = DecodeLogits(*e, 13, 17);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(at::equal(*back, half.to(at::kFloat)));
}

TEST(MaskEncodingTest, NonSingletonLeadingDimensionIsACallerBug) {
  EXPECT_EQ(EncodeMask(at::zeros({2, 4, 4}), MaskEncoding::kRle).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(EncodeMask(at::zeros({4}), MaskEncoding::kPng).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(EncodeMask(at::Tensor(), MaskEncoding::kLogits).status().code(),
            absl::StatusCode::kInternal);
}

TEST(MaskEncodingTest, SizeMismatchIsInvalidArgument) {
  const at::Tensor mask = RandomMask(8, 10, 1);
  for (MaskEncoding enc : {MaskEncoding::kRle, MaskEncoding::kPng}) {
    absl::StatusOr<EncodedMask> e = EncodeMask(mask, enc);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_TRUE(DecodeBinaryMask(*e, 8, 10).ok());
    EXPECT_EQ(DecodeBinaryMask(*e, 10, 8).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(DecodeBinaryMask(*e, 8, 11).status().code(),
              absl::StatusCode::kInvalidArgument);
    // The declared size matches, the content does not (an RLE of 80 pixels
    // would be a valid 4x20 mask: make it 4x10).
    EncodedMask lying = *e;
    lying.height = 4;
    lying.width = 10;
    EXPECT_EQ(DecodeBinaryMask(lying, 4, 10).status().code(),
              absl::StatusCode::kInvalidArgument)
        << static_cast<int>(enc);
  }
  absl::StatusOr<EncodedMask> e = EncodeMask(at::zeros({8, 10}), MaskEncoding::kLogits);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(DecodeLogits(*e, 8, 10).ok());
  EXPECT_EQ(DecodeLogits(*e, 10, 8).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MaskEncodingTest, BadLogitsAreInvalidArgument) {
  EncodedMask m;
  m.height = 3;
  m.width = 4;
  m.encoding = MaskEncoding::kLogits;
  std::vector<float> values(12, 1.0f);
  auto set = [&] {
    m.data.assign(reinterpret_cast<const char*>(values.data()),
                  values.size() * sizeof(float));
  };
  set();
  ASSERT_TRUE(DecodeLogits(m, 3, 4).ok());
  // Wrong byte counts.
  m.data.pop_back();
  EXPECT_EQ(DecodeLogits(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  m.data += std::string(5, '\0');
  EXPECT_EQ(DecodeLogits(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  m.data.clear();
  EXPECT_EQ(DecodeLogits(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Values that are not finite.
  values[7] = std::nanf("");
  set();
  EXPECT_EQ(DecodeLogits(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  values[7] = -std::numeric_limits<float>::infinity();
  set();
  EXPECT_EQ(DecodeLogits(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Not logits at all.
  values[7] = 0;
  set();
  m.encoding = MaskEncoding::kRle;
  EXPECT_EQ(DecodeLogits(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MaskEncodingTest, BadBinaryMasksAreInvalidArgument) {
  EncodedMask m;
  m.height = 3;
  m.width = 4;
  // Logits are not a binary mask, even when well formed.
  m.encoding = MaskEncoding::kLogits;
  m.data = std::string(12 * sizeof(float), '\0');
  EXPECT_EQ(DecodeBinaryMask(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  // RLE counts that do not add up, or bad characters.
  m.encoding = MaskEncoding::kRle;
  m.data = "0<";  // 12 pixels: fine
  EXPECT_TRUE(DecodeBinaryMask(m, 3, 4).ok());
  m.data = "0:";  // 10 pixels
  EXPECT_EQ(DecodeBinaryMask(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  m.data = "0\x7f";
  EXPECT_EQ(DecodeBinaryMask(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  m.data = "";
  EXPECT_EQ(DecodeBinaryMask(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  // PNG: garbage, a truncated PNG, a JPEG.
  m.encoding = MaskEncoding::kPng;
  m.data = "definitely not a PNG file";
  EXPECT_EQ(DecodeBinaryMask(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string png = PngBytes(cv::Mat(3, 4, CV_8UC1, cv::Scalar(255)));
  m.data = png;
  EXPECT_TRUE(DecodeBinaryMask(m, 3, 4).ok());
  m.data = png.substr(0, png.size() / 2);
  EXPECT_EQ(DecodeBinaryMask(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(3, 4, CV_8UC1, cv::Scalar(255)), jpeg));
  m.data.assign(jpeg.begin(), jpeg.end());
  EXPECT_EQ(DecodeBinaryMask(m, 3, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MaskEncodingTest, PngOfAnotherSizeIsRefusedFromItsHeader) {
  // A PNG whose header claims 4000 x 3000 over a 4 x 3 image's data: the
  // size is refused before decoding (which would fail on the data, or
  // decode 12 Mpx of a tiny file that lied well).
  std::string png = PngBytes(cv::Mat(3, 4, CV_8UC1, cv::Scalar(255)));
  const std::string claimed("\x00\x00\x0f\xa0\x00\x00\x0b\xb8", 8);
  png.replace(16, 8, claimed);  // IHDR width and height, big-endian
  EncodedMask m;
  m.encoding = MaskEncoding::kPng;
  m.height = 3;
  m.width = 4;
  m.data = png;
  const absl::Status s = DecodeBinaryMask(m, 3, 4).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "PNG mask is 4000x3000, expected 4x3");
}

}  // namespace
}  // namespace sam2
