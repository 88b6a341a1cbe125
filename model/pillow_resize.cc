// Pillow-exact bicubic resize; mirrors Pillow's src/libImaging/Resample.c as
// used by the reference's frame loading. See the header.

#include "model/pillow_resize.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_checks.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// Pillow's BICUBIC: support 2, a = -0.5.
constexpr double kBicubicSupport = 2.0;
constexpr double kBicubicA = -0.5;

double BicubicFilter(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((kBicubicA + 2.0) * x - (kBicubicA + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * kBicubicA;
  return 0.0;
}

// The fixed-point coefficients of one pass (Pillow's precompute_coeffs +
// normalize_coeffs_8bpc).
struct PassCoeffs {
  int ksize = 0;
  std::vector<int> first;      // first input index per output index
  std::vector<int> count;      // number of taps per output index
  std::vector<int32_t> taps;   // out_size * ksize, fixed point
};

PassCoeffs PrecomputeCoeffs(int in_size, int out_size) {
  // Pillow passes the box as floats: in0 = 0, in1 = in_size.
  const float in0 = 0.0f;
  const float in1 = static_cast<float>(in_size);
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = kBicubicSupport * filterscale;
  PassCoeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.taps.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = BicubicFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    int32_t* out = &c.taps[static_cast<size_t>(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      double v = k[x];
      if (ww != 0.0) v /= ww;
      // Rounded half away from zero (normalize_coeffs_8bpc).
      out[x] = v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPillowPrecisionBits))
                     : static_cast<int32_t>(0.5 + v * (1 << kPillowPrecisionBits));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

inline uint8_t Clip8(int32_t acc) {
  const int32_t v = acc >> kPillowPrecisionBits;  // arithmetic shift
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

constexpr int32_t kRoundingInit = int32_t{1} << (kPillowPrecisionBits - 1);

// Horizontal pass over rows [row0, row0 + rows) of `in` ([in_h, in_w, ch]).
void ResampleHorizontal(const uint8_t* in, int in_w, int ch, int row0,
                        int rows, const PassCoeffs& c, int out_w,
                        uint8_t* out) {
  int32_t acc[3];
  for (int yy = 0; yy < rows; ++yy) {
    const uint8_t* src = in + static_cast<size_t>(yy + row0) * in_w * ch;
    uint8_t* dst = out + static_cast<size_t>(yy) * out_w * ch;
    for (int xx = 0; xx < out_w; ++xx) {
      const int xmin = c.first[xx];
      const int n = c.count[xx];
      const int32_t* k = &c.taps[static_cast<size_t>(xx) * c.ksize];
      for (int b = 0; b < ch; ++b) acc[b] = kRoundingInit;
      for (int x = 0; x < n; ++x) {
        const uint8_t* p = src + static_cast<size_t>(x + xmin) * ch;
        for (int b = 0; b < ch; ++b) acc[b] += static_cast<int32_t>(p[b]) * k[x];
      }
      for (int b = 0; b < ch; ++b) dst[xx * ch + b] = Clip8(acc[b]);
    }
  }
}

// Vertical pass: `in` is [in_rows, w, ch]; `c.first` is relative to row 0 of
// `in` minus `row_offset`.
void ResampleVertical(const uint8_t* in, int w, int ch, int row_offset,
                      const PassCoeffs& c, int out_h, uint8_t* out) {
  const size_t row_len = static_cast<size_t>(w) * ch;
  std::vector<int32_t> acc(row_len);
  for (int yy = 0; yy < out_h; ++yy) {
    const int ymin = c.first[yy] - row_offset;
    const int n = c.count[yy];
    const int32_t* k = &c.taps[static_cast<size_t>(yy) * c.ksize];
    std::fill(acc.begin(), acc.end(), kRoundingInit);
    for (int y = 0; y < n; ++y) {
      const uint8_t* src = in + static_cast<size_t>(y + ymin) * row_len;
      const int32_t ky = k[y];
      for (size_t i = 0; i < row_len; ++i) {
        acc[i] += static_cast<int32_t>(src[i]) * ky;
      }
    }
    uint8_t* dst = out + static_cast<size_t>(yy) * row_len;
    for (size_t i = 0; i < row_len; ++i) dst[i] = Clip8(acc[i]);
  }
}

absl::StatusOr<at::Tensor> ResizeUnchecked(const at::Tensor& image,
                                           int64_t out_h64, int64_t out_w64,
                                           PillowPassOrder order) {
  const at::Tensor in_t = image.to(at::kCPU).contiguous();
  const int in_h = static_cast<int>(in_t.size(0));
  const int in_w = static_cast<int>(in_t.size(1));
  const int ch = static_cast<int>(in_t.size(2));
  const int out_h = static_cast<int>(out_h64);
  const int out_w = static_cast<int>(out_w64);
  const uint8_t* in = in_t.data_ptr<uint8_t>();

  const bool need_horizontal = out_w != in_w;
  const bool need_vertical = out_h != in_h;
  if (!need_horizontal && !need_vertical) return in_t.clone();

  at::Tensor out_t = at::empty({out_h, out_w, ch}, at::kByte);
  if (need_horizontal && !need_vertical) {
    const PassCoeffs ch_coeffs = PrecomputeCoeffs(in_w, out_w);
    ResampleHorizontal(in, in_w, ch, 0, in_h, ch_coeffs, out_w,
                       out_t.data_ptr<uint8_t>());
    return out_t;
  }
  const PassCoeffs cv = PrecomputeCoeffs(in_h, out_h);
  if (!need_horizontal) {
    ResampleVertical(in, in_w, ch, 0, cv, out_h, out_t.data_ptr<uint8_t>());
    return out_t;
  }
  if (PillowVerticalPassFirst(in_h, in_w, out_h, out_w, order)) {
    // Pillow 13: vertical pass over the whole width, then horizontal.
    std::vector<uint8_t> temp(static_cast<size_t>(out_h) * in_w * ch);
    ResampleVertical(in, in_w, ch, 0, cv, out_h, temp.data());
    const PassCoeffs chz = PrecomputeCoeffs(in_w, out_w);
    ResampleHorizontal(temp.data(), in_w, ch, 0, out_h, chz, out_w,
                       out_t.data_ptr<uint8_t>());
    return out_t;
  }
  // Both, horizontal first: the horizontal pass only over the input rows the vertical pass
  // reads (as Pillow does; the result is the same either way).
  const PassCoeffs chz = PrecomputeCoeffs(in_w, out_w);
  const int row_first = cv.first[0];
  const int row_last = cv.first[out_h - 1] + cv.count[out_h - 1];
  const int rows = row_last - row_first;
  std::vector<uint8_t> temp(static_cast<size_t>(rows) * out_w * ch);
  ResampleHorizontal(in, in_w, ch, row_first, rows, chz, out_w, temp.data());
  ResampleVertical(temp.data(), out_w, ch, row_first, cv, out_h,
                   out_t.data_ptr<uint8_t>());
  return out_t;
}

}  // namespace

bool PillowVerticalPassFirst(int64_t in_h, int64_t in_w, int64_t out_h,
                             int64_t out_w, PillowPassOrder order) {
  if (order != PillowPassOrder::kPillow13) return false;
  if (out_h == in_h || out_w == in_w) return false;  // a single pass
  return out_h < in_h && (in_h - out_h) > 2 * (in_w - out_w);
}

absl::StatusOr<at::Tensor> PillowBicubicResize(const at::Tensor& image,
                                               int64_t out_h, int64_t out_w,
                                               PillowPassOrder order) {
  if (!image.defined() || image.dim() != 3 ||
      (image.size(2) != 1 && image.size(2) != 3) || image.size(0) < 1 ||
      image.size(1) < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Pillow resize needs an image [H, W, C] with C = 1 or 3 and H, W >= 1, "
        "got ",
        ShapeOf(image)));
  }
  if (image.scalar_type() != at::kByte) {
    return absl::InvalidArgumentError(
        absl::StrCat("Pillow resize needs uint8 pixels, got ",
                     c10::toString(image.scalar_type())));
  }
  if (image.size(0) > kPillowResizeMaxSide ||
      image.size(1) > kPillowResizeMaxSide) {
    return absl::InvalidArgumentError(
        absl::StrCat("Pillow resize input ", ShapeOf(image),
                     " has a side above ", kPillowResizeMaxSide));
  }
  if (out_h < 1 || out_w < 1 || out_h > kPillowResizeMaxSide ||
      out_w > kPillowResizeMaxSide) {
    return absl::InvalidArgumentError(
        absl::StrCat("Pillow resize output size ", out_h, "x", out_w,
                     " must have sides in [1, ", kPillowResizeMaxSide, "]"));
  }
  try {
    return ResizeUnchecked(image, out_h, out_w, order);
  } catch (const c10::Error& e) {
    return TorchError("Pillow resize failed: ", e);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("Pillow resize failed: ", e.what()));
  }
}

}  // namespace sam2
