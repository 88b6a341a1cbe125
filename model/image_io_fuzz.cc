// libFuzzer harness for the image header probe and decoders (image_io.h),
// built and run by tests/fuzz/run_fuzzer.sh (//model:image_io_fuzz_test).
// Bytes as a client would send them in CreateImageSession: InspectImage and
// DecodeImage must refuse anything they cannot read with INVALID_ARGUMENT,
// agree with each other, and decode only images within the limits, to
// exactly the size the header announced (sides swapped by EXIF orientation
// at most). Limits are smaller than the service's so one input decodes in
// milliseconds.
// Thread-safety: libFuzzer calls it from one thread; no state.

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "model/image_io.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr int kFuzzMaxSide = 1024;
constexpr int64_t kFuzzMaxPixels = int64_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sam2::ImageDecodeOptions* const options = [] {
    auto* o = new sam2::ImageDecodeOptions();
    o->max_side = kFuzzMaxSide;
    o->max_pixels = kFuzzMaxPixels;
    return o;
  }();
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<sam2::ImageHeaderInfo> header =
      sam2::InspectImage(bytes, *options);
  const absl::StatusOr<sam2::RgbImage> image =
      sam2::DecodeImage(bytes, *options);
  if (!header.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(header.status());
    SAM2_FUZZ_CHECK(!image.ok() && image.status() == header.status(),
                    "DecodeImage disagrees with InspectImage's refusal");
    return 0;
  }
  SAM2_FUZZ_CHECK(header->width >= options->min_side &&
                      header->height >= options->min_side &&
                      header->width <= options->max_side &&
                      header->height <= options->max_side &&
                      header->width * header->height <= options->max_pixels,
                  "InspectImage accepted a size outside the limits");
  if (!image.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(image.status());
    return 0;
  }
  const bool same = image->width == header->width &&
                    image->height == header->height;
  const bool swapped = image->width == header->height &&
                       image->height == header->width;
  SAM2_FUZZ_CHECK(same || swapped, "decoded size differs from the header's");
  const at::Tensor& pixels = image->pixels;
  SAM2_FUZZ_CHECK(pixels.defined() && pixels.dim() == 3 &&
                      pixels.size(0) == image->height &&
                      pixels.size(1) == image->width && pixels.size(2) == 3 &&
                      pixels.scalar_type() == at::kByte &&
                      pixels.is_contiguous(),
                  "pixels are not contiguous uint8 [H, W, 3]");
  // Touch the first and the last byte (ASan checks the allocation).
  const uint8_t* p = pixels.data_ptr<uint8_t>();
  volatile uint8_t sink = p[0] ^ p[pixels.numel() - 1];
  (void)sink;
  return 0;
}
