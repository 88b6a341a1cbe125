// The golden parity runner's command line, shared by `sam2 golden` and the
// golden tests' main (and the GPU check build, tests/device):
//
//   [--device=cpu|cuda|cuda:N] [--precision=float32|bfloat16|auto]
//   [--long_video_window=N] FIXTURE_DIR...
//
// float32 (the default) runs in strict float32 (no autocast, no TF32) with
// the fixtures' float32 tolerances; bfloat16 runs the model under bf16
// autocast, as the reference does on a GPU, and compares with
// MixedPrecisionTolerances; auto picks what the device would (model/device.h).
// Exit status: 0 when every directory passed (at least one case each), 1 when
// a case failed or a directory could not be run, 2 for a usage error.
//
// Thread-safety: sets the calling thread's device and precision.

#ifndef SAM2_TESTS_GOLDEN_GOLDEN_CLI_H_
#define SAM2_TESTS_GOLDEN_GOLDEN_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace sam2 {

int RunGoldenCli(const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err);

}  // namespace sam2

#endif  // SAM2_TESTS_GOLDEN_GOLDEN_CLI_H_
