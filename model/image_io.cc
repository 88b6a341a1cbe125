// JPEG / PNG decoding with limits checked from the header first. Mirrors the
// input the reference's SAM2ImagePredictor.set_image expects (RGB uint8
// HWC). See the header for the checks and the deliberate differences.

#include "model/image_io.h"
#include "model/torch_error.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// Magic bytes.
constexpr unsigned char kJpegMagic[] = {0xFF, 0xD8, 0xFF};
constexpr unsigned char kPngMagic[] = {0x89, 'P',  'N',  'G',
                                       0x0D, 0x0A, 0x1A, 0x0A};

// cv::imdecode takes the encoded bytes as a Mat with an int column count.
constexpr size_t kMaxDecoderInputBytes = std::numeric_limits<int>::max();

// PNG: signature, then the IHDR chunk: u32 length (13), "IHDR", u32 width,
// u32 height, bit depth, colour type, compression, filter, interlace, CRC.
constexpr size_t kPngSignatureBytes = sizeof(kPngMagic);
constexpr uint32_t kPngIhdrDataBytes = 13;
constexpr size_t kPngIhdrEnd = kPngSignatureBytes + 4 + 4 +
                               kPngIhdrDataBytes + 4;  // through the CRC
// PNG widths and heights are at most 2^31 - 1 (PNG spec, section 11.2.2).
constexpr uint32_t kPngMaxDimension = 0x7FFFFFFF;

// JPEG markers (ITU T.81, table B.1).
constexpr unsigned char kJpegMarkerPrefix = 0xFF;
constexpr unsigned char kJpegSoi = 0xD8;
constexpr unsigned char kJpegEoi = 0xD9;
constexpr unsigned char kJpegSos = 0xDA;
constexpr unsigned char kJpegTem = 0x01;
constexpr unsigned char kJpegRst0 = 0xD0;
constexpr unsigned char kJpegRst7 = 0xD7;
constexpr unsigned char kJpegSof0 = 0xC0;
constexpr unsigned char kJpegSof15 = 0xCF;
constexpr unsigned char kJpegDht = 0xC4;  // in the SOF range, not a SOF
constexpr unsigned char kJpegJpg = 0xC8;  // reserved, not a SOF
constexpr unsigned char kJpegDac = 0xCC;  // in the SOF range, not a SOF
// SOFn payload: precision (1), height (2), width (2), component count (1),
// then 3 bytes per component; the segment length counts its own 2 bytes.
constexpr size_t kJpegSofFixedBytes = 2 + 1 + 2 + 2 + 1;
constexpr size_t kJpegSofBytesPerComponent = 3;

bool HasPrefix(absl::string_view bytes, const unsigned char* magic,
               size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

uint8_t U8(absl::string_view b, size_t i) {
  return static_cast<uint8_t>(b[i]);
}
uint32_t Be16(absl::string_view b, size_t i) {
  return (uint32_t{U8(b, i)} << 8) | U8(b, i + 1);
}
uint32_t Be32(absl::string_view b, size_t i) {
  return (uint32_t{U8(b, i)} << 24) | (uint32_t{U8(b, i + 1)} << 16) |
         (uint32_t{U8(b, i + 2)} << 8) | U8(b, i + 3);
}

absl::Status BadHeader(const char* format, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", format, " header: ", why));
}

absl::StatusOr<ImageHeaderInfo> ParsePngHeader(absl::string_view b) {
  if (b.size() < kPngIhdrEnd) return BadHeader("PNG", "file too short");
  size_t pos = kPngSignatureBytes;
  if (Be32(b, pos) != kPngIhdrDataBytes ||
      std::memcmp(b.data() + pos + 4, "IHDR", 4) != 0) {
    return BadHeader("PNG", "the first chunk is not a 13-byte IHDR");
  }
  pos += 8;
  const uint32_t width = Be32(b, pos);
  const uint32_t height = Be32(b, pos + 4);
  const uint8_t bit_depth = U8(b, pos + 8);
  const uint8_t color_type = U8(b, pos + 9);
  if (width == 0 || height == 0 || width > kPngMaxDimension ||
      height > kPngMaxDimension) {
    return BadHeader("PNG", absl::StrCat("bad dimensions ", width, "x",
                                         height));
  }
  // Allowed bit depths per colour type (PNG spec, table 11.1).
  bool depth_ok = false;
  switch (color_type) {
    case 0:  // grayscale
      depth_ok = bit_depth == 1 || bit_depth == 2 || bit_depth == 4 ||
                 bit_depth == 8 || bit_depth == 16;
      break;
    case 3:  // palette
      depth_ok = bit_depth == 1 || bit_depth == 2 || bit_depth == 4 ||
                 bit_depth == 8;
      break;
    case 2:  // RGB
    case 4:  // grayscale + alpha
    case 6:  // RGBA
      depth_ok = bit_depth == 8 || bit_depth == 16;
      break;
    default:
      return BadHeader("PNG", absl::StrCat("unknown colour type ",
                                           int{color_type}));
  }
  if (!depth_ok) {
    return BadHeader("PNG", absl::StrCat("bit depth ", int{bit_depth},
                                         " is invalid for colour type ",
                                         int{color_type}));
  }
  if (U8(b, pos + 10) != 0 || U8(b, pos + 11) != 0 || U8(b, pos + 12) > 1) {
    return BadHeader("PNG", "unknown compression, filter or interlace method");
  }
  return ImageHeaderInfo{ImageFormat::kPng, width, height};
}

bool IsJpegSof(unsigned char marker) {
  return marker >= kJpegSof0 && marker <= kJpegSof15 && marker != kJpegDht &&
         marker != kJpegJpg && marker != kJpegDac;
}

// Walks the marker segments from SOI to the first SOFn (the frame header,
// which holds the size). When `sos_end` is given, keeps walking to the first
// SOS and stores the offset just past its header there.
absl::StatusOr<ImageHeaderInfo> ParseJpegHeader(absl::string_view b,
                                                size_t* sos_end = nullptr) {
  std::optional<ImageHeaderInfo> info;
  size_t pos = 2;  // past SOI
  while (true) {
    if (pos >= b.size()) {
      return BadHeader("JPEG", info ? "no scan data" : "no frame header");
    }
    if (U8(b, pos) != kJpegMarkerPrefix) {
      return BadHeader("JPEG", absl::StrCat("marker expected at offset ",
                                            pos));
    }
    // Any number of 0xFF fill bytes may precede a marker code.
    while (pos < b.size() && U8(b, pos) == kJpegMarkerPrefix) ++pos;
    if (pos >= b.size()) return BadHeader("JPEG", "file ends in a marker");
    const unsigned char marker = U8(b, pos++);
    if (marker == kJpegTem || (marker >= kJpegRst0 && marker <= kJpegRst7)) {
      continue;  // standalone markers without a length
    }
    if (marker == 0x00 || marker == kJpegSoi || marker == kJpegEoi) {
      return BadHeader("JPEG", absl::StrCat("unexpected marker 0x",
                                            absl::Hex(marker), " before ",
                                            info ? "the scan" : "the frame"));
    }
    if (pos + 2 > b.size()) return BadHeader("JPEG", "truncated segment");
    const size_t length = Be16(b, pos);
    if (length < 2 || pos + length > b.size()) {
      return BadHeader("JPEG", absl::StrCat("segment 0x", absl::Hex(marker),
                                            " has a bad length ", length));
    }
    if (IsJpegSof(marker) && !info) {
      if (length < kJpegSofFixedBytes) {
        return BadHeader("JPEG", "frame header too short");
      }
      const size_t components = U8(b, pos + 7);
      if (components == 0 ||
          length != kJpegSofFixedBytes +
                        components * kJpegSofBytesPerComponent) {
        return BadHeader("JPEG", "frame header length does not match its "
                                 "component count");
      }
      const uint32_t height = Be16(b, pos + 3);
      const uint32_t width = Be16(b, pos + 5);
      if (height == 0) {
        return BadHeader("JPEG", "height defined later by a DNL marker is "
                                 "not supported");
      }
      if (width == 0) return BadHeader("JPEG", "width is 0");
      info = ImageHeaderInfo{ImageFormat::kJpeg, width, height};
      if (sos_end == nullptr) return *info;
    } else if (marker == kJpegSos) {
      if (!info) return BadHeader("JPEG", "scan before the frame header");
      *sos_end = pos + length;
      return *info;
    }
    pos += length;
  }
}

absl::Status CheckLimits(const ImageHeaderInfo& info,
                         const ImageDecodeOptions& options) {
  const char* name = ImageFormatName(info.format);
  if (info.width < options.min_side || info.height < options.min_side ||
      info.width > options.max_side || info.height > options.max_side) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " image is ", info.width, "x", info.height,
        "; each side must be between ", options.min_side, " and ",
        options.max_side, " pixels"));
  }
  if (info.width * info.height > options.max_pixels) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " image is ", info.width, "x", info.height, " = ",
        info.width * info.height, " pixels, over the limit of ",
        options.max_pixels));
  }
  return absl::OkStatus();
}

// True when FF D9 (EOI) occurs at or after `from`. In entropy-coded data a
// 0xFF byte is always followed by 0x00 or a marker code, so this finds the
// end of the image, not a coincidence of the pixel data.
bool HasJpegEoiAfter(absl::string_view b, size_t from) {
  for (size_t i = from; i + 1 < b.size(); ++i) {
    if (U8(b, i) == kJpegMarkerPrefix && U8(b, i + 1) == kJpegEoi) return true;
  }
  return false;
}

absl::StatusOr<RgbImage> DecodeChecked(absl::string_view bytes,
                                       const ImageHeaderInfo& info) {
  const char* name = ImageFormatName(info.format);
  // imdecode only reads its input; the Mat merely wraps the bytes.
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                        const_cast<char*>(bytes.data()));
  const cv::Mat bgr = cv::imdecode(encoded, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot decode the ", name, " image: truncated or corrupt data"));
  }
  if (bgr.type() != CV_8UC3) {
    return absl::InternalError(absl::StrCat(
        "OpenCV decoded a ", name, " image to type ", bgr.type(),
        ", not 8-bit 3-channel"));
  }
  const bool same = bgr.cols == info.width && bgr.rows == info.height;
  const bool swapped = bgr.cols == info.height && bgr.rows == info.width;
  // EXIF orientations 5-8 swap the sides (JPEG APP1 Exif, PNG eXIf).
  if (!same && !swapped) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", name, " header says ", info.width, "x", info.height,
        " but the image decodes to ", bgr.cols, "x", bgr.rows));
  }
  RgbImage image;
  image.height = bgr.rows;
  image.width = bgr.cols;
  image.pixels = at::empty({image.height, image.width, 3}, at::kByte);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, image.pixels.data_ptr<uint8_t>());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  if (rgb.data != image.pixels.data_ptr<uint8_t>()) {
    return absl::InternalError("cvtColor reallocated its output");
  }
  return image;
}

}  // namespace

const char* ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
  }
  return "unknown";
}

absl::StatusOr<ImageHeaderInfo> InspectImage(
    absl::string_view bytes, const ImageDecodeOptions& options) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError("image data is empty");
  }
  if (static_cast<int64_t>(bytes.size()) > options.max_encoded_bytes ||
      bytes.size() > kMaxDecoderInputBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("image data is ", bytes.size(), " bytes, over the limit "
                     "of ", options.max_encoded_bytes));
  }
  absl::StatusOr<ImageHeaderInfo> info;
  if (HasPrefix(bytes, kPngMagic, sizeof(kPngMagic))) {
    info = ParsePngHeader(bytes);
  } else if (HasPrefix(bytes, kJpegMagic, sizeof(kJpegMagic))) {
    info = ParseJpegHeader(bytes);
  } else {
    return absl::InvalidArgumentError(
        "unsupported image format (only JPEG and PNG are accepted)");
  }
  if (!info.ok()) return info.status();
  if (absl::Status s = CheckLimits(*info, options); !s.ok()) return s;
  return info;
}

absl::StatusOr<RgbImage> DecodeImage(absl::string_view bytes,
                                     const ImageDecodeOptions& options) {
  absl::StatusOr<ImageHeaderInfo> info = InspectImage(bytes, options);
  if (!info.ok()) return info.status();
  if (info->format == ImageFormat::kJpeg) {
    size_t sos_end = 0;
    absl::StatusOr<ImageHeaderInfo> full = ParseJpegHeader(bytes, &sos_end);
    if (!full.ok()) return full.status();
    if (!HasJpegEoiAfter(bytes, sos_end)) {
      return absl::InvalidArgumentError(
          "truncated JPEG data: no end-of-image marker after the scan");
    }
  }
  try {
    return DecodeChecked(bytes, *info);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot decode the ", ImageFormatName(info->format),
        " image: ", e.what()));
  } catch (const c10::Error& e) {
    return TorchError("allocating the decoded image: ", e);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("decoding the image: ",
                                            e.what()));
  }
}

absl::StatusOr<RgbImage> DecodeImageFile(const std::string& path,
                                         const ImageDecodeOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  }
  std::string bytes;
  absl::Status status;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("fstat ", path));
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  } else if (st.st_size > options.max_encoded_bytes) {
    status = absl::InvalidArgumentError(absl::StrCat(
        path, " is ", st.st_size, " bytes, over the image limit of ",
        options.max_encoded_bytes));
  } else {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::read(fd, &bytes[done], bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = absl::ErrnoToStatus(errno, absl::StrCat("reading ", path));
        break;
      }
      if (n == 0) {  // shrank while reading
        bytes.resize(done);
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  if (!status.ok()) return status;
  absl::StatusOr<RgbImage> image = DecodeImage(bytes, options);
  if (!image.ok()) {
    return absl::Status(image.status().code(),
                        absl::StrCat(path, ": ", image.status().message()));
  }
  return image;
}

}  // namespace sam2
