// Mirrors mask_to_rle_pytorch / rle_to_mask / area_from_rle /
// coco_encode_rle (sam2/utils/amg.py) and pycocotools' string coding. See
// the header.

#include "model/rle.h"
#include "model/torch_error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sam2 {
namespace {

// The compressed string's alphabet: 6-bit groups offset by this character.
constexpr int kCharOffset = 48;
// Payload bits per character, the sign bit of the last group, and the
// continuation flag.
constexpr int kGroupBits = 5;
constexpr int64_t kGroupMask = 0x1f;
constexpr int64_t kSignBit = 0x10;
constexpr int64_t kContinueBit = 0x20;
// More groups than this cannot belong to a count of a mask within limits.
constexpr int kMaxGroupsPerCount = 12;
// Counts from this index on are delta-coded against counts[i - 2].
constexpr size_t kFirstDeltaIndex = 3;

absl::Status CheckCounts(const Rle& rle) {
  if (rle.height < 0 || rle.width < 0 || rle.height > kMaxRleSide ||
      rle.width > kMaxRleSide) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RLE size ", rle.height, "x", rle.width, " must be within 0..",
        kMaxRleSide));
  }
  int64_t total = 0;
  for (int64_t c : rle.counts) {
    if (c < 0) return absl::InvalidArgumentError("RLE counts must be >= 0");
    total += c;
    if (total > rle.height * rle.width) break;
  }
  if (total != rle.height * rle.width) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RLE counts cover ", total, " pixels, the mask has ",
        rle.height * rle.width));
  }
  return absl::OkStatus();
}

// Runs of one column-major mask of n pixels.
Rle RunsOf(const uint8_t* pixels, int64_t n, int64_t h, int64_t w) {
  Rle rle;
  rle.height = h;
  rle.width = w;
  uint8_t current = 0;
  int64_t run = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t v = pixels[i] != 0 ? 1 : 0;
    if (v != current) {
      rle.counts.push_back(run);
      run = 0;
      current = v;
    }
    ++run;
  }
  rle.counts.push_back(run);
  return rle;
}

}  // namespace

absl::StatusOr<std::vector<Rle>> MasksToRle(const at::Tensor& masks) {
  if (!masks.defined() || masks.dim() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "masks must be [B, H, W], got ",
        masks.defined() ? absl::StrCat("[", absl::StrJoin(masks.sizes(), ","), "]")
                        : "undefined"));
  }
  const int64_t b = masks.size(0), h = masks.size(1), w = masks.size(2);
  if (h <= 0 || w <= 0 || h > kMaxRleSide || w > kMaxRleSide) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask size ", h, "x", w, " must be within 1..", kMaxRleSide));
  }
  try {
    c10::InferenceMode guard;
    // 0/1 bytes, row-major [B, H, W] (a bool tensor is already that).
    at::Tensor bytes = masks.to(at::kCPU);
    bytes = (bytes.scalar_type() == at::kBool ? bytes : bytes.ne(0))
                .to(at::kByte)
                .contiguous();
    const uint8_t* data = bytes.data_ptr<uint8_t>();
    // COCO counts run over the pixels in Fortran (column-major) order. A
    // tiled transpose into one reused buffer keeps both sides in cache;
    // permute().contiguous() walked one side with a stride of W bytes and
    // was most of the cost of encoding a mask.
    constexpr int64_t kTile = 64;
    std::vector<uint8_t> cols(static_cast<size_t>(h * w));
    std::vector<Rle> out;
    out.reserve(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i) {
      const uint8_t* m = data + i * h * w;
      for (int64_t y0 = 0; y0 < h; y0 += kTile) {
        const int64_t y1 = std::min(y0 + kTile, h);
        for (int64_t x0 = 0; x0 < w; x0 += kTile) {
          const int64_t x1 = std::min(x0 + kTile, w);
          for (int64_t y = y0; y < y1; ++y) {
            const uint8_t* row = m + y * w;
            for (int64_t x = x0; x < x1; ++x) cols[x * h + y] = row[x];
          }
        }
      }
      out.push_back(RunsOf(cols.data(), h * w, h, w));
    }
    return out;
  } catch (const c10::Error& e) {
    return TorchError("encoding masks: ", e);
  }
}

absl::StatusOr<Rle> MaskToRle(const at::Tensor& mask) {
  if (!mask.defined() || mask.dim() != 2) {
    return absl::InvalidArgumentError("mask must be [H, W]");
  }
  absl::StatusOr<std::vector<Rle>> r = MasksToRle(mask.unsqueeze(0));
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

absl::StatusOr<at::Tensor> RleToMask(const Rle& rle) {
  if (absl::Status s = CheckCounts(rle); !s.ok()) return s;
  try {
    c10::InferenceMode guard;
    at::Tensor cols = at::zeros({rle.width, rle.height}, at::kBool);
    bool* data = cols.data_ptr<bool>();
    int64_t idx = 0;
    bool value = false;
    for (int64_t c : rle.counts) {
      if (value) std::fill(data + idx, data + idx + c, true);
      idx += c;
      value = !value;
    }
    return cols.t().contiguous();
  } catch (const c10::Error& e) {
    return TorchError("decoding RLE: ", e);
  }
}

int64_t RleArea(const Rle& rle) {
  int64_t area = 0;
  for (size_t i = 1; i < rle.counts.size(); i += 2) area += rle.counts[i];
  return area;
}

std::array<double, 4> RleToBbox(const Rle& rle) {
  const int64_t h = rle.height;
  if (h <= 0 || RleArea(rle) == 0) return {0, 0, 0, 0};
  int64_t xs = rle.width, ys = h, xe = 0, ye = 0;
  int64_t idx = 0;
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    const int64_t c = rle.counts[i];
    if (i % 2 == 1 && c > 0) {
      const int64_t first = idx, last = idx + c - 1;
      const int64_t x0 = first / h, x1 = last / h;
      xs = std::min(xs, x0);
      xe = std::max(xe, x1);
      if (x0 != x1) {
        // The run wraps past a column end: it covers whole rows.
        ys = 0;
        ye = h - 1;
      } else {
        ys = std::min(ys, first % h);
        ye = std::max(ye, last % h);
      }
    }
    idx += c;
  }
  return {static_cast<double>(xs), static_cast<double>(ys),
          static_cast<double>(xe - xs + 1), static_cast<double>(ye - ys + 1)};
}

std::string EncodeCocoCounts(const Rle& rle) {
  std::string s;
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t x = rle.counts[i];
    if (i >= kFirstDeltaIndex) x -= rle.counts[i - 2];
    bool more = true;
    while (more) {
      int64_t c = x & kGroupMask;
      x >>= kGroupBits;  // arithmetic shift: keeps the sign
      more = (c & kSignBit) ? x != -1 : x != 0;
      if (more) c |= kContinueBit;
      s.push_back(static_cast<char>(c + kCharOffset));
    }
  }
  return s;
}

absl::StatusOr<Rle> DecodeCocoCounts(absl::string_view counts, int64_t height,
                                     int64_t width) {
  Rle rle;
  rle.height = height;
  rle.width = width;
  size_t p = 0;
  while (p < counts.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= counts.size()) {
        return absl::InvalidArgumentError(
            "RLE counts string ends inside a count");
      }
      if (k >= kMaxGroupsPerCount) {
        return absl::InvalidArgumentError("RLE count too long");
      }
      const int64_t c = static_cast<unsigned char>(counts[p]) - kCharOffset;
      if (c < 0 || c > (kGroupMask | kContinueBit)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid character in RLE counts at offset ", p));
      }
      x |= (c & kGroupMask) << (kGroupBits * k);
      more = (c & kContinueBit) != 0;
      ++p;
      ++k;
      if (!more && (c & kSignBit)) {
        // Sign-extend from the top of the last group.
        x |= ~((int64_t{1} << (kGroupBits * k)) - 1);
      }
    }
    if (rle.counts.size() >= kFirstDeltaIndex) {
      x += rle.counts[rle.counts.size() - 2];
    }
    rle.counts.push_back(x);
  }
  if (absl::Status s = CheckCounts(rle); !s.ok()) return s;
  return rle;
}

}  // namespace sam2
