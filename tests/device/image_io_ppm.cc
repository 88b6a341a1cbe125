// The GPU check build's stand-in for model/image_io.cc (tests/device only,
// never linked into the service or its tests): the lent GPU machine has no
// OpenCV image codecs (Debian's pull in GDAL and ~80 other libraries, more
// than a device run may carry), so run.sh has Pillow there decode the
// fixtures' PNG/JPEG files into binary PPM (P6, maxval 255) under their own
// names, and this file implements model/image_io.h for that format alone.
// Pillow's pixels are the reference's own (it loads images with Pillow), so
// nothing of the parity check is lost; anything but P6 is INVALID_ARGUMENT.
// The reported ImageFormat is kPng (the header's enum has no PPM; only
// messages show it).
//
// Thread-safety: free functions without shared state.

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model/image_io.h"
#include "model/torch_error.h"

namespace sam2 {
namespace {

// Reads the next whitespace-separated header token (skipping # comments).
bool NextToken(absl::string_view b, size_t* pos, std::string* token) {
  while (*pos < b.size()) {
    const char c = b[*pos];
    if (c == '#') {
      while (*pos < b.size() && b[*pos] != '\n') ++*pos;
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      ++*pos;
    } else {
      break;
    }
  }
  const size_t start = *pos;
  while (*pos < b.size() &&
         !absl::ascii_isspace(static_cast<unsigned char>(b[*pos]))) {
    ++*pos;
  }
  *token = std::string(b.substr(start, *pos - start));
  return !token->empty();
}

struct PpmHeader {
  ImageHeaderInfo info;
  size_t data_offset = 0;
};

absl::StatusOr<PpmHeader> ParsePpm(absl::string_view bytes,
                                   const ImageDecodeOptions& options) {
  if (bytes.empty()) return absl::InvalidArgumentError("image data is empty");
  if (static_cast<int64_t>(bytes.size()) > options.max_encoded_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("image data is ", bytes.size(), " bytes, over the limit of ",
                     options.max_encoded_bytes));
  }
  size_t pos = 0;
  std::string magic, w, h, maxval;
  if (!NextToken(bytes, &pos, &magic) || magic != "P6") {
    return absl::InvalidArgumentError(
        "unsupported image format (this GPU check build reads binary PPM only; "
        "tests/device/run.sh converts the fixtures)");
  }
  PpmHeader header;
  if (!NextToken(bytes, &pos, &w) || !NextToken(bytes, &pos, &h) ||
      !NextToken(bytes, &pos, &maxval) ||
      !absl::SimpleAtoi(w, &header.info.width) ||
      !absl::SimpleAtoi(h, &header.info.height) || maxval != "255" ||
      pos >= bytes.size()) {
    return absl::InvalidArgumentError("malformed PPM header (P6, maxval 255)");
  }
  header.data_offset = pos + 1;  // one whitespace byte ends the header
  const ImageHeaderInfo& i = header.info;
  if (i.width < options.min_side || i.height < options.min_side ||
      i.width > options.max_side || i.height > options.max_side ||
      i.width * i.height > options.max_pixels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PPM image is ", i.width, "x", i.height, ", outside the size limits"));
  }
  if (bytes.size() - header.data_offset <
      static_cast<size_t>(i.width * i.height * 3)) {
    return absl::InvalidArgumentError("truncated PPM data");
  }
  return header;
}

}  // namespace

const char* ImageFormatName(ImageFormat format) {
  return format == ImageFormat::kJpeg ? "JPEG" : "PNG";
}

absl::StatusOr<ImageHeaderInfo> InspectImage(absl::string_view bytes,
                                             const ImageDecodeOptions& options) {
  absl::StatusOr<PpmHeader> header = ParsePpm(bytes, options);
  if (!header.ok()) return header.status();
  return header->info;
}

absl::StatusOr<RgbImage> DecodeImage(absl::string_view bytes,
                                     const ImageDecodeOptions& options) {
  absl::StatusOr<PpmHeader> header = ParsePpm(bytes, options);
  if (!header.ok()) return header.status();
  try {
    RgbImage image;
    image.height = header->info.height;
    image.width = header->info.width;
    image.pixels = at::empty({image.height, image.width, 3}, at::kByte);
    std::memcpy(image.pixels.data_ptr<uint8_t>(),
                bytes.data() + header->data_offset,
                static_cast<size_t>(image.height * image.width * 3));
    return image;
  } catch (const c10::Error& e) {
    return TorchError("allocating the decoded image: ", e);
  }
}

absl::StatusOr<RgbImage> DecodeImageFile(const std::string& path,
                                         const ImageDecodeOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream bytes;
  bytes << in.rdbuf();
  absl::StatusOr<RgbImage> image = DecodeImage(bytes.str(), options);
  if (!image.ok()) {
    return absl::Status(image.status().code(),
                        absl::StrCat(path, ": ", image.status().message()));
  }
  return image;
}

}  // namespace sam2
