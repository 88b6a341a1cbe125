// libFuzzer harness for the mask prompts clients send (mask_encoding.h:
// COCO RLE strings, PNG files, float32 logits), built and run by
// tests/fuzz/run_fuzzer.sh (//session:mask_encoding_fuzz_test).
// Input: byte 0 picks the encoding, bytes 1-2 the size the client declares,
// bytes 3-4 the size the session expects (sides 1..64), the rest is the
// mask's data. Every refusal must be INVALID_ARGUMENT; an accepted mask has
// the expected size and type, and accepted logits are finite.
// Thread-safety: libFuzzer calls it from one thread; no state.

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "session/mask_encoding.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr int kMaxSide = 64;
constexpr size_t kHeaderBytes = 5;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderBytes) return 0;
  sam2::EncodedMask mask;
  mask.encoding = static_cast<sam2::MaskEncoding>(data[0] % 3);
  mask.height = 1 + data[1] % kMaxSide;
  mask.width = 1 + data[2] % kMaxSide;
  const int64_t height = 1 + data[3] % kMaxSide;
  const int64_t width = 1 + data[4] % kMaxSide;
  mask.data.assign(reinterpret_cast<const char*>(data + kHeaderBytes),
                   size - kHeaderBytes);

  const absl::StatusOr<at::Tensor> binary =
      sam2::DecodeBinaryMask(mask, height, width);
  if (!binary.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(binary.status());
  } else {
    SAM2_FUZZ_CHECK(mask.encoding != sam2::MaskEncoding::kLogits,
                    "logits accepted as a binary mask");
    SAM2_FUZZ_CHECK(binary->dim() == 2 && binary->size(0) == height &&
                        binary->size(1) == width &&
                        binary->scalar_type() == at::kBool,
                    "binary mask is not bool [height, width]");
  }
  const absl::StatusOr<at::Tensor> logits =
      sam2::DecodeLogits(mask, height, width);
  if (!logits.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(logits.status());
  } else {
    SAM2_FUZZ_CHECK(mask.encoding == sam2::MaskEncoding::kLogits,
                    "a binary mask accepted as logits");
    SAM2_FUZZ_CHECK(logits->dim() == 2 && logits->size(0) == height &&
                        logits->size(1) == width &&
                        logits->scalar_type() == at::kFloat,
                    "logits are not float [height, width]");
    SAM2_FUZZ_CHECK(at::isfinite(*logits).all().item<bool>(),
                    "non-finite logits accepted");
  }
  return 0;
}
