// libFuzzer harness for the Hydra YAML config reader (sam2_config.h), built
// and run by tests/fuzz/run_fuzzer.sh (//model:sam2_config_fuzz_test).
// A config file is operator input, but it is text from outside the process
// all the same: refusals must be INVALID_ARGUMENT naming the problem (no
// yaml-cpp exception may escape, no stack overflow on deep nesting), and a
// config that reads must pass ValidateConfig, which the reader promises.
// Thread-safety: libFuzzer calls it from one thread; no state.

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "model/sam2_config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<sam2::Sam2Config> config = sam2::ParseConfigYaml(text);
  if (!config.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(config.status());
    return 0;
  }
  SAM2_FUZZ_CHECK(sam2::ValidateConfig(*config).ok(),
                  "ParseConfigYaml returned a config ValidateConfig refuses");
  return 0;
}
