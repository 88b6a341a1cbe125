// libFuzzer harness for COCO RLE counts strings (rle.h), built and run by
// tests/fuzz/run_fuzzer.sh (//model:rle_fuzz_test). Clients send such
// strings as mask prompts. Input: two size bytes, then the counts string.
// Small sizes (first byte's high bit clear, sides 1..64) are decoded to a
// mask and checked against every other RLE function; large ones (sides up
// to kMaxRleSide) only exercise DecodeCocoCounts' arithmetic. A string that
// decodes must cover exactly height * width pixels with non-negative runs,
// and survive the round trips the service relies on.
// Thread-safety: libFuzzer calls it from one thread; no state.

#include <ATen/ATen.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "model/rle.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr int kSmallSide = 64;
constexpr uint8_t kLargeFlag = 0x80;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool large = (data[0] & kLargeFlag) != 0;
  // Large: height 1..8192 from 13 bits, width 8189..8192.
  const int64_t height =
      large ? 1 + (int64_t{data[0] & 0x7f} << 6 | (data[1] & 0x3f))
            : 1 + data[0] % kSmallSide;
  const int64_t width = large ? sam2::kMaxRleSide - (data[1] >> 6)
                              : 1 + data[1] % kSmallSide;
  const absl::string_view counts(reinterpret_cast<const char*>(data + 2),
                                 size - 2);
  const absl::StatusOr<sam2::Rle> rle =
      sam2::DecodeCocoCounts(counts, height, width);
  if (!rle.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(rle.status());
    return 0;
  }
  SAM2_FUZZ_CHECK(rle->height == height && rle->width == width,
                  "decoded RLE has another size");
  int64_t total = 0;
  for (int64_t c : rle->counts) {
    SAM2_FUZZ_CHECK(c >= 0, "negative run");
    total += c;
  }
  SAM2_FUZZ_CHECK(total == height * width, "runs do not cover the mask");
  // Re-encoding gives a string that decodes to the same runs.
  const absl::StatusOr<sam2::Rle> again =
      sam2::DecodeCocoCounts(sam2::EncodeCocoCounts(*rle), height, width);
  SAM2_FUZZ_CHECK(again.ok() && *again == *rle, "encode/decode round trip");
  if (large) return 0;

  const absl::StatusOr<at::Tensor> mask = sam2::RleToMask(*rle);
  SAM2_FUZZ_CHECK(mask.ok(), "RleToMask refused a decoded RLE");
  SAM2_FUZZ_CHECK(mask->dim() == 2 && mask->size(0) == height &&
                      mask->size(1) == width,
                  "mask has another size");
  const int64_t area = mask->sum().item<int64_t>();
  SAM2_FUZZ_CHECK(area == sam2::RleArea(*rle), "RleArea differs from the mask");
  const absl::StatusOr<sam2::Rle> canonical = sam2::MaskToRle(*mask);
  SAM2_FUZZ_CHECK(canonical.ok() && sam2::RleArea(*canonical) == area,
                  "MaskToRle differs in area");
  const absl::StatusOr<at::Tensor> back = sam2::RleToMask(*canonical);
  SAM2_FUZZ_CHECK(back.ok() && at::equal(*back, *mask),
                  "mask -> RLE -> mask round trip");
  const std::array<double, 4> box = sam2::RleToBbox(*rle);
  SAM2_FUZZ_CHECK(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= width &&
                      box[1] + box[3] <= height,
                  "bounding box outside the mask");
  return 0;
}
