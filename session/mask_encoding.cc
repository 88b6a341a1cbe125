#include "session/mask_encoding.h"

#include <cstring>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/image_io.h"
#include "model/rle.h"

namespace sam2 {
namespace {

absl::Status WrongPngSize(int64_t png_width, int64_t png_height, int64_t width,
                          int64_t height) {
  return absl::InvalidArgumentError(absl::StrCat("PNG mask is ", png_width,
                                                 "x", png_height, ", expected ",
                                                 width, "x", height));
}

// [1, ..., 1, H, W] -> [H, W]; anything else is a caller bug reported as
// INTERNAL (masks come from the model, not from clients).
absl::StatusOr<at::Tensor> As2d(const at::Tensor& t) {
  if (!t.defined() || t.dim() < 2) {
    return absl::InternalError("mask tensor must have at least 2 dimensions");
  }
  for (int64_t d = 0; d + 2 < t.dim(); ++d) {
    if (t.size(d) != 1) {
      return absl::InternalError(
          absl::StrCat("mask tensor has a non-singleton leading dimension ",
                       d, " of size ", t.size(d)));
    }
  }
  return t.reshape({t.size(-2), t.size(-1)});
}

absl::Status CheckSize(const EncodedMask& m, int64_t height, int64_t width) {
  if (m.height != height || m.width != width) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask is ", m.width, "x", m.height, ", expected ", width,
                     "x", height));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EncodedMask> EncodeMask(const at::Tensor& logits,
                                       MaskEncoding encoding) {
  absl::StatusOr<at::Tensor> hw = As2d(logits);
  if (!hw.ok()) return hw.status();
  try {
    EncodedMask out;
    out.height = hw->size(0);
    out.width = hw->size(1);
    out.encoding = encoding;
    switch (encoding) {
      case MaskEncoding::kRle: {
        absl::StatusOr<Rle> rle =
            MaskToRle(hw->scalar_type() == at::kBool ? *hw : *hw > 0);
        if (!rle.ok()) return rle.status();
        out.data = EncodeCocoCounts(*rle);
        break;
      }
      case MaskEncoding::kPng: {
        at::Tensor u8 = ((*hw > 0).to(at::kByte) * 255).contiguous();
        cv::Mat mat(static_cast<int>(out.height), static_cast<int>(out.width),
                    CV_8UC1, u8.data_ptr<uint8_t>());
        std::vector<uint8_t> buf;
        if (!cv::imencode(".png", mat, buf)) {
          return absl::InternalError("PNG encoding of a mask failed");
        }
        out.data.assign(buf.begin(), buf.end());
        break;
      }
      case MaskEncoding::kLogits: {
        // x86-64 and aarch64 are little-endian, so the float32 bytes are
        // already in wire order.
        at::Tensor f = hw->to(at::kFloat).contiguous();
        out.data.assign(reinterpret_cast<const char*>(f.data_ptr<float>()),
                        static_cast<size_t>(f.numel()) * sizeof(float));
        break;
      }
    }
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("mask encoding failed: ", e.what()));
  }
}

absl::StatusOr<at::Tensor> DecodeBinaryMask(const EncodedMask& mask,
                                            int64_t height, int64_t width) {
  if (absl::Status s = CheckSize(mask, height, width); !s.ok()) return s;
  switch (mask.encoding) {
    case MaskEncoding::kRle: {
      absl::StatusOr<Rle> rle = DecodeCocoCounts(mask.data, height, width);
      if (!rle.ok()) return rle.status();
      return RleToMask(*rle);
    }
    case MaskEncoding::kPng: {
      ImageDecodeOptions options;
      options.min_side = 1;
      absl::StatusOr<ImageHeaderInfo> header = InspectImage(mask.data, options);
      if (!header.ok()) return header.status();
      if (header->format != ImageFormat::kPng) {
        return absl::InvalidArgumentError("a PNG mask must be a PNG file");
      }
      // The size is known from the header: a mask of another size (sides
      // swapped at most, by an EXIF orientation) is refused before a pixel
      // is decoded, so a tiny PNG claiming 40 Mpx costs nothing.
      const bool same = header->height == height && header->width == width;
      const bool swapped = header->height == width && header->width == height;
      if (!same && !swapped) {
        return WrongPngSize(header->width, header->height, width, height);
      }
      absl::StatusOr<RgbImage> image = DecodeImage(mask.data, options);
      if (!image.ok()) return image.status();
      if (image->height != height || image->width != width) {
        return WrongPngSize(image->width, image->height, width, height);
      }
      return image->pixels.select(2, 0) != 0;
    }
    case MaskEncoding::kLogits:
      break;
  }
  return absl::InvalidArgumentError(
      "a mask prompt must be RLE or PNG, not logits");
}

absl::StatusOr<at::Tensor> DecodeLogits(const EncodedMask& mask,
                                        int64_t height, int64_t width) {
  if (mask.encoding != MaskEncoding::kLogits) {
    return absl::InvalidArgumentError("mask logits must be sent as logits");
  }
  if (absl::Status s = CheckSize(mask, height, width); !s.ok()) return s;
  const size_t expected = static_cast<size_t>(height * width) * sizeof(float);
  if (mask.data.size() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask logits hold ", mask.data.size(), " bytes, expected ",
                     expected, " (", width, "x", height, " float32)"));
  }
  at::Tensor out = at::empty({height, width}, at::kFloat);
  std::memcpy(out.data_ptr<float>(), mask.data.data(), expected);
  if (!at::isfinite(out).all().item<bool>()) {
    return absl::InvalidArgumentError("mask logits must be finite");
  }
  return out;
}

}  // namespace sam2
