// libFuzzer harness for the torch.save checkpoint reader
// (torch_checkpoint.h: zip archive + pickle + storages), built and run by
// tests/fuzz/run_fuzzer.sh (//model:torch_checkpoint_fuzz_test).
// Refusals must be INVALID_ARGUMENT (a missing entry included) or
// RESOURCE_EXHAUSTED (an entry over a size limit), never INTERNAL: the
// reader promises to check every size, offset and stride itself, so a
// LibTorch error would mean a check is missing. Every tensor read must lie
// inside the memory it views: the harness reads its first and last element
// through instrumented code, where ASan sees an out-of-bounds read.
// Thread-safety: libFuzzer calls it from one thread; no state.

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "model/torch_checkpoint.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<sam2::StateDict> dict =
      sam2::ReadTorchCheckpointFromBuffer(bytes);
  if (!dict.ok()) {
    const absl::StatusCode code = dict.status().code();
    SAM2_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                        code == absl::StatusCode::kResourceExhausted,
                    std::string("unexpected refusal: ") +
                        dict.status().ToString());
    SAM2_FUZZ_CHECK(!dict.status().message().empty(), "refusal without a message");
    return 0;
  }
  for (const sam2::NamedTensor& t : *dict) {
    SAM2_FUZZ_CHECK(t.tensor.defined() && t.tensor.device().is_cpu(),
                    "a tensor that is not a defined CPU tensor");
    if (t.tensor.numel() == 0) continue;
    // The element farthest from the start of the view.
    int64_t last = 0;
    for (int64_t d = 0; d < t.tensor.dim(); ++d) {
      SAM2_FUZZ_CHECK(t.tensor.stride(d) >= 0, "negative stride");
      last += (t.tensor.size(d) - 1) * t.tensor.stride(d);
    }
    const auto* first =
        static_cast<const volatile uint8_t*>(t.tensor.data_ptr());
    const int64_t item = static_cast<int64_t>(t.tensor.element_size());
    volatile uint8_t sink = first[0] ^ first[last * item + item - 1];
    (void)sink;
  }
  return 0;
}
