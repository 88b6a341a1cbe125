// Tests of the Pillow-exact bicubic resize: the golden fixture frames (the
// reference's PIL resize, stored as uint8) must be reproduced bit for bit;
// hand-made images check down-sampling, one-axis resizes and invariants
// against an independent double-precision reference.

#include "model/pillow_resize.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "model/image_io.h"
#include "model/safetensors.h"

namespace sam2 {
namespace {

constexpr char kFixtureDir[] = "tests/fixtures/sam2.1-micro/";

// --- Independent reference: the same filter evaluated in double, rounding
// to uint8 (half up) and clipping after each pass. It differs from Pillow's
// 22-bit fixed point only by rounding: at most 1 per pass.
double Cubic(double x) {
  x = std::abs(x);
  const double a = -0.5;
  if (x < 1) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
  if (x < 2) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
  return 0;
}

// Resamples along one axis: in[n][m] -> out[n'][m] where rows are the axis.
std::vector<std::vector<double>> Weights1D(int in, int out) {
  const double scale = static_cast<double>(in) / out;
  const double fs = std::max(scale, 1.0);
  std::vector<std::vector<double>> w(out, std::vector<double>(in, 0.0));
  for (int i = 0; i < out; ++i) {
    const double center = (i + 0.5) * scale;
    double sum = 0;
    for (int j = 0; j < in; ++j) {
      // Taps outside [center - support, center + support] weigh 0 anyway.
      w[i][j] = Cubic((j + 0.5 - center) / fs);
      sum += w[i][j];
    }
    for (int j = 0; j < in; ++j) w[i][j] /= sum;
  }
  return w;
}

uint8_t RoundClip(double v) {
  return static_cast<uint8_t>(std::clamp(std::floor(v + 0.5), 0.0, 255.0));
}

at::Tensor ReferenceResize(const at::Tensor& img, int64_t oh, int64_t ow) {
  const int h = img.size(0), w = img.size(1), c = img.size(2);
  at::Tensor cur = img.contiguous().clone();
  if (ow != w) {
    auto wt = Weights1D(w, ow);
    at::Tensor next = at::empty({h, ow, c}, at::kByte);
    auto a = cur.accessor<uint8_t, 3>();
    auto b = next.accessor<uint8_t, 3>();
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < ow; ++x)
        for (int k = 0; k < c; ++k) {
          double s = 0;
          for (int j = 0; j < w; ++j) s += wt[x][j] * a[y][j][k];
          b[y][x][k] = RoundClip(s);
        }
    cur = next;
  }
  if (oh != h) {
    const int cw = cur.size(1);
    auto wt = Weights1D(h, oh);
    at::Tensor next = at::empty({oh, cw, c}, at::kByte);
    auto a = cur.accessor<uint8_t, 3>();
    auto b = next.accessor<uint8_t, 3>();
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < cw; ++x)
        for (int k = 0; k < c; ++k) {
          double s = 0;
          for (int j = 0; j < h; ++j) s += wt[y][j] * a[j][x][k];
          b[y][x][k] = RoundClip(s);
        }
    cur = next;
  }
  return cur;
}

at::Tensor RandomImage(int64_t h, int64_t w, int64_t c, uint64_t seed) {
  at::Tensor t = at::empty({h, w, c}, at::kByte);
  uint8_t* p = t.data_ptr<uint8_t>();
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    p[i] = static_cast<uint8_t>(s >> 56);
  }
  return t;
}

// Smooth content (a blurred pattern) so that rounding, not clipping,
// dominates the comparison with the double reference.
at::Tensor SmoothImage(int64_t h, int64_t w, int64_t c) {
  at::Tensor t = at::empty({h, w, c}, at::kByte);
  auto a = t.accessor<uint8_t, 3>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k)
        a[y][x][k] = static_cast<uint8_t>(
            127.5 + 100 * std::sin(0.21 * x + 0.7 * k) * std::cos(0.13 * y));
  return t;
}

struct DiffStats {
  int64_t differing = 0;
  int max_abs = 0;
};

DiffStats Compare(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor d = (a.to(at::kShort) - b.to(at::kShort)).abs();
  DiffStats s;
  s.differing = d.ne(0).sum().item<int64_t>();
  s.max_abs = d.numel() ? d.max().item<int16_t>() : 0;
  return s;
}

// --- Golden fixture: PIL's resize of the reference's decoded frames. -------

TEST(PillowResizeTest, ReproducesFixtureFramesBitForBit) {
  absl::StatusOr<StateDict> sd =
      ReadSafetensors(absl::StrCat(kFixtureDir, "video_frames.safetensors"));
  ASSERT_TRUE(sd.ok()) << sd.status();
  const at::Tensor* expected = sd->Find("resized_u8");
  ASSERT_NE(expected, nullptr);
  ASSERT_EQ(expected->dim(), 4);
  const int64_t n = expected->size(0);
  const int64_t s_h = expected->size(1), s_w = expected->size(2);
  int64_t total_differing = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::string path =
        absl::StrCat(kFixtureDir, "frames/", absl::StrFormat("%05d", i), ".jpg");
    absl::StatusOr<RgbImage> img = DecodeImageFile(path);
    ASSERT_TRUE(img.ok()) << path << ": " << img.status();
    // Both pass orders agree here (both sides grow); check both.
    absl::StatusOr<at::Tensor> old_order = PillowBicubicResize(
        img->pixels, s_h, s_w, PillowPassOrder::kHorizontalFirst);
    ASSERT_TRUE(old_order.ok()) << old_order.status();
    EXPECT_TRUE(at::equal(*old_order, (*expected)[i])) << path;
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<at::Tensor> out = PillowBicubicResize(img->pixels, s_h, s_w);
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start)
                          .count();
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->sizes(), at::IntArrayRef({s_h, s_w, 3}));
    const DiffStats d = Compare(*out, (*expected)[i]);
    total_differing += d.differing;
    std::printf("frame %s (%ldx%ld -> %ldx%ld): %ld differing values, max |diff| "
                "%d, %.2f ms\n",
                path.c_str(), static_cast<long>(img->height),
                static_cast<long>(img->width), static_cast<long>(s_h),
                static_cast<long>(s_w), static_cast<long>(d.differing),
                d.max_abs, ms);
    EXPECT_EQ(d.differing, 0) << path << ": max |diff| " << d.max_abs;
  }
  EXPECT_EQ(total_differing, 0);
}

// --- Hand-made data. --------------------------------------------------------

TEST(PillowResizeTest, KnownValuesDownsampleByTwo) {
  // One row [0, 0, 255, 255] -> 2 pixels. scale 2, support 4: both outputs
  // read all four inputs with weights cubic((j + 0.5 - center) / 2):
  //   out0 = 255 * (0.2265625 - 0.0703125) / 1.890625 = 21.07 -> 21
  //   out1 = 255 * (2 * 0.8671875) / 1.890625 = 233.93 -> 234.
  at::Tensor img = at::tensor({0, 0, 255, 255}, at::kByte).reshape({1, 4, 1});
  absl::StatusOr<at::Tensor> out = PillowBicubicResize(img, 1, 2);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->sizes(), at::IntArrayRef({1, 2, 1}));
  EXPECT_EQ((*out)[0][0][0].item<uint8_t>(), 21);
  EXPECT_EQ((*out)[0][1][0].item<uint8_t>(), 234);
  // The same along the other axis.
  absl::StatusOr<at::Tensor> col =
      PillowBicubicResize(img.reshape({4, 1, 1}), 2, 1);
  ASSERT_TRUE(col.ok()) << col.status();
  EXPECT_EQ((*col)[0][0][0].item<uint8_t>(), 21);
  EXPECT_EQ((*col)[1][0][0].item<uint8_t>(), 234);
}

TEST(PillowResizeTest, ConstantImagesStayConstant) {
  for (int v : {0, 1, 77, 128, 254, 255}) {
    at::Tensor img = at::full({37, 53, 3}, v, at::kByte);
    for (auto [oh, ow] : std::vector<std::pair<int, int>>{
             {512, 512}, {10, 11}, {37, 100}, {5, 53}, {1, 1}, {200, 3}}) {
      absl::StatusOr<at::Tensor> out = PillowBicubicResize(img, oh, ow);
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_TRUE(out->eq(v).all().item<bool>())
          << "value " << v << " -> " << oh << "x" << ow;
    }
  }
}

TEST(PillowResizeTest, DownsamplingMatchesDoubleReference) {
  // 96x160 -> 40x64 (both axes shrink; scales 2.4 and 2.5).
  const at::Tensor img = SmoothImage(96, 160, 3);
  absl::StatusOr<at::Tensor> out = PillowBicubicResize(img, 40, 64);
  ASSERT_TRUE(out.ok()) << out.status();
  const DiffStats d = Compare(*out, ReferenceResize(img, 40, 64));
  // Fixed point vs double: at most one unit per pass, rarely any.
  EXPECT_LE(d.max_abs, 2);
  EXPECT_LE(d.differing, out->numel() / 50) << d.differing;
}

TEST(PillowResizeTest, OneAxisOnlyMatchesDoubleReferenceWithinOne) {
  const at::Tensor img = SmoothImage(60, 90, 3);
  for (auto [oh, ow] : std::vector<std::pair<int, int>>{
           {60, 31}, {60, 200}, {17, 90}, {150, 90}}) {
    absl::StatusOr<at::Tensor> out = PillowBicubicResize(img, oh, ow);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->sizes(), at::IntArrayRef({oh, ow, 3}));
    const DiffStats d = Compare(*out, ReferenceResize(img, oh, ow));
    EXPECT_LE(d.max_abs, 1) << oh << "x" << ow;
    EXPECT_LE(d.differing, out->numel() / 50) << oh << "x" << ow;
  }
}

TEST(PillowResizeTest, OneAxisResizeWorksRowByRowOrColumnByColumn) {
  // Only the changing axis is resampled: each row (or column) on its own.
  const at::Tensor img = RandomImage(7, 40, 3, 1);
  absl::StatusOr<at::Tensor> wide = PillowBicubicResize(img, 7, 97);
  ASSERT_TRUE(wide.ok()) << wide.status();
  for (int64_t y = 0; y < 7; ++y) {
    absl::StatusOr<at::Tensor> row =
        PillowBicubicResize(img.slice(0, y, y + 1), 1, 97);
    ASSERT_TRUE(row.ok());
    EXPECT_TRUE(at::equal(*row, wide->slice(0, y, y + 1))) << y;
  }
  const at::Tensor tall_in = RandomImage(40, 5, 3, 2);
  absl::StatusOr<at::Tensor> short_out = PillowBicubicResize(tall_in, 13, 5);
  ASSERT_TRUE(short_out.ok()) << short_out.status();
  for (int64_t x = 0; x < 5; ++x) {
    absl::StatusOr<at::Tensor> col =
        PillowBicubicResize(tall_in.slice(1, x, x + 1), 13, 1);
    ASSERT_TRUE(col.ok());
    EXPECT_TRUE(at::equal(*col, short_out->slice(1, x, x + 1))) << x;
  }
}

TEST(PillowResizeTest, RandomContentClipsAndStaysClose) {
  // Noise exercises the clipping of negative lobes / overshoot.
  const at::Tensor img = RandomImage(33, 45, 1, 3);
  for (auto [oh, ow] : std::vector<std::pair<int, int>>{
           {100, 130}, {11, 9}, {33, 12}, {70, 45}}) {
    absl::StatusOr<at::Tensor> out = PillowBicubicResize(img, oh, ow);
    ASSERT_TRUE(out.ok()) << out.status();
    const DiffStats d = Compare(*out, ReferenceResize(img, oh, ow));
    EXPECT_LE(d.max_abs, 2) << oh << "x" << ow;
  }
}

// --- Pass order (Pillow 13 vs earlier). ------------------------------------

TEST(PillowResizeTest, PassOrderRuleObservedOnPillow13) {
  // (in_h, in_w, out_h, out_w) -> vertical first? as Pillow 13.0.0 resizes.
  struct Case {
    int64_t in_h, in_w, out_h, out_w;
    bool vertical_first;
  };
  for (const Case& c : std::vector<Case>{
           {300, 300, 200, 250, false},  // h shrinks by exactly 2x as much
           {300, 300, 199, 250, true},
           {300, 300, 201, 250, false},
           {100, 100, 89, 95, true},
           {1920, 1080, 1024, 1024, true},   // portrait frame
           {1080, 1920, 1024, 1024, false},  // landscape frame
           {200, 100, 199, 300, true},       // h shrinks, w grows
           {200, 300, 199, 100, false},
           {180, 320, 512, 512, false},      // both grow (the fixtures)
           {193, 208, 304, 380, false},
           {300, 124, 300, 10, false},       // one pass only
       }) {
    EXPECT_EQ(PillowVerticalPassFirst(c.in_h, c.in_w, c.out_h, c.out_w,
                                      PillowPassOrder::kPillow13),
              c.vertical_first)
        << c.in_h << "x" << c.in_w << " -> " << c.out_h << "x" << c.out_w;
    EXPECT_FALSE(PillowVerticalPassFirst(c.in_h, c.in_w, c.out_h, c.out_w,
                                         PillowPassOrder::kHorizontalFirst));
  }
}

TEST(PillowResizeTest, KnownValuesBothPassOrders) {
  // An 8x5 RGB pattern resized to 3x4 (WxH 4x3): Pillow 13.0.0 runs the
  // vertical pass first here (8 - 3 > 2 * (5 - 4)); Pillow <= 12 runs the
  // horizontal pass first (computed with Pillow 13 as two one-axis resizes).
  at::Tensor img = at::empty({8, 5, 3}, at::kByte);
  auto a = img.accessor<uint8_t, 3>();
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c)
        a[y][x][c] = static_cast<uint8_t>((x * 67 + y * 41 + c * 29 + x * y * 13) % 256);
  const std::vector<int> pillow13 = {
      54,  80,  118, 130, 149, 139, 117, 147, 81,  95,  124, 88,
      147, 152, 147, 122, 95,  104, 96,  135, 150, 118, 149, 110,
      161, 109, 87,  113, 154, 156, 140, 115, 116, 142, 151, 134};
  const std::vector<int> horizontal_first = {
      54,  79,  118, 130, 148, 139, 117, 147, 81,  95,  124, 89,
      147, 152, 147, 123, 96,  104, 97,  135, 150, 118, 149, 109,
      162, 109, 87,  113, 154, 156, 140, 115, 116, 142, 151, 133};
  auto as_tensor = [](const std::vector<int>& v) {
    return at::tensor(v, at::kInt).to(at::kByte).reshape({3, 4, 3});
  };
  absl::StatusOr<at::Tensor> new_order =
      PillowBicubicResize(img, 3, 4, PillowPassOrder::kPillow13);
  ASSERT_TRUE(new_order.ok()) << new_order.status();
  EXPECT_TRUE(at::equal(*new_order, as_tensor(pillow13)));
  absl::StatusOr<at::Tensor> old_order =
      PillowBicubicResize(img, 3, 4, PillowPassOrder::kHorizontalFirst);
  ASSERT_TRUE(old_order.ok()) << old_order.status();
  EXPECT_TRUE(at::equal(*old_order, as_tensor(horizontal_first)));
}

TEST(PillowResizeTest, PassOrdersEqualTwoOneAxisResizes) {
  const at::Tensor img = RandomImage(60, 50, 3, 7);
  // 60 - 20 > 2 * (50 - 45): Pillow 13 goes vertical first.
  absl::StatusOr<at::Tensor> v = PillowBicubicResize(img, 20, 50);
  absl::StatusOr<at::Tensor> h = PillowBicubicResize(img, 60, 45);
  ASSERT_TRUE(v.ok() && h.ok());
  absl::StatusOr<at::Tensor> vh = PillowBicubicResize(*v, 20, 45);
  absl::StatusOr<at::Tensor> hv = PillowBicubicResize(*h, 20, 45);
  ASSERT_TRUE(vh.ok() && hv.ok());
  absl::StatusOr<at::Tensor> p13 =
      PillowBicubicResize(img, 20, 45, PillowPassOrder::kPillow13);
  absl::StatusOr<at::Tensor> old =
      PillowBicubicResize(img, 20, 45, PillowPassOrder::kHorizontalFirst);
  ASSERT_TRUE(p13.ok() && old.ok());
  EXPECT_TRUE(at::equal(*p13, *vh));
  EXPECT_TRUE(at::equal(*old, *hv));
  EXPECT_FALSE(at::equal(*p13, *old));  // the uint8 intermediate matters
}

TEST(PillowResizeTest, SameSizeIsACopy) {
  const at::Tensor img = RandomImage(9, 14, 3, 4);
  absl::StatusOr<at::Tensor> out = PillowBicubicResize(img, 9, 14);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(at::equal(*out, img));
  EXPECT_NE(out->data_ptr(), img.data_ptr());
}

TEST(PillowResizeTest, AcceptsNonContiguousInput) {
  const at::Tensor base = RandomImage(20, 30, 3, 5);
  const at::Tensor strided = base.permute({1, 0, 2}).transpose(0, 1);
  absl::StatusOr<at::Tensor> a = PillowBicubicResize(strided, 41, 17);
  absl::StatusOr<at::Tensor> b = PillowBicubicResize(base, 41, 17);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(at::equal(*a, *b));
}

TEST(PillowResizeTest, RejectsBadInput) {
  EXPECT_EQ(PillowBicubicResize(at::Tensor(), 4, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PillowBicubicResize(at::zeros({4, 4, 3}, at::kFloat), 4, 4)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PillowBicubicResize(at::zeros({4, 4, 4}, at::kByte), 4, 4)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PillowBicubicResize(at::zeros({4, 4}, at::kByte), 4, 4)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PillowBicubicResize(at::zeros({0, 4, 3}, at::kByte), 4, 4)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PillowBicubicResize(at::zeros({4, 4, 3}, at::kByte), 0, 4)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PillowBicubicResize(at::zeros({4, 4, 3}, at::kByte), 4,
                                kPillowResizeMaxSide + 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
