// libFuzzer harness for the safetensors reader (safetensors.h), built and
// run by tests/fuzz/run_fuzzer.sh (//model:safetensors_fuzz_test). A file
// that parses must hold well-formed tensors, and writing them back and
// reading the result must give the same names, dtypes, shapes, values and
// metadata; every refusal is INVALID_ARGUMENT.
// Thread-safety: libFuzzer calls it from one thread; no state.

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"
#include "model/safetensors.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<sam2::SafetensorsContents> contents =
      sam2::ParseSafetensorsWithMetadata(bytes);
  if (!contents.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(contents.status());
    return 0;
  }
  int64_t total_bytes = 0;
  for (const sam2::NamedTensor& t : contents->tensors) {
    SAM2_FUZZ_CHECK(t.tensor.defined() && t.tensor.is_contiguous() &&
                        t.tensor.device().is_cpu(),
                    "a tensor that is not a contiguous CPU tensor");
    total_bytes += static_cast<int64_t>(t.tensor.nbytes());
  }
  SAM2_FUZZ_CHECK(total_bytes <= static_cast<int64_t>(size),
                  "tensors hold more bytes than the file");
  const absl::StatusOr<std::string> written =
      sam2::SerializeSafetensors(contents->tensors, contents->metadata);
  SAM2_FUZZ_CHECK(written.ok(), "what was read cannot be written back");
  const absl::StatusOr<sam2::SafetensorsContents> again =
      sam2::ParseSafetensorsWithMetadata(*written);
  SAM2_FUZZ_CHECK(again.ok(), "what was written cannot be read back");
  SAM2_FUZZ_CHECK(again->metadata == contents->metadata, "metadata changed");
  SAM2_FUZZ_CHECK(again->tensors.size() == contents->tensors.size(),
                  "tensor count changed");
  for (size_t i = 0; i < contents->tensors.size(); ++i) {
    const sam2::NamedTensor& a = contents->tensors.entries()[i];
    const sam2::NamedTensor& b = again->tensors.entries()[i];
    SAM2_FUZZ_CHECK(a.name == b.name, "tensor name changed");
    SAM2_FUZZ_CHECK(a.tensor.scalar_type() == b.tensor.scalar_type() &&
                        a.tensor.sizes() == b.tensor.sizes(),
                    "tensor dtype or shape changed");
    // Bytes, not values: NaN payloads must survive too.
    SAM2_FUZZ_CHECK(a.tensor.nbytes() == b.tensor.nbytes() &&
                        (a.tensor.nbytes() == 0 ||
                         std::memcmp(a.tensor.data_ptr(), b.tensor.data_ptr(),
                                     a.tensor.nbytes()) == 0),
                    "tensor bytes changed");
  }
  return 0;
}
