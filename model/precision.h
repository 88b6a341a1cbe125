// The model's compute precision on the CPU, chosen from the hardware at
// start: bfloat16 only where the CPU has bf16 instructions (AVX-512 BF16 or
// AMX), float32 otherwise — never a fixed choice, since the machines this
// runs on differ (bf16 without those instructions is ~1000x slower than
// float32; with them, a 4096² matmul runs ~3.9x faster than float32 here).
//
// bfloat16 means what the reference does under torch.autocast: LibTorch's
// CPU autocast with bfloat16, so matmuls, convolutions and linear layers run
// in bf16 while the ops autocast keeps in float32 (softmax, norms, ...)
// stay there. Autocast is per thread: a worker applies the precision once on
// its own thread, and every model call on that thread follows it.
//
// float32 is the reference path, equal to the golden fixtures to float32
// round-off; bfloat16 is checked against float32 with its own, looser
// tolerance (tests/server/precision_api_test.cc).
//
// Thread-safety: stateless functions; UseCpuPrecisionOnThisThread touches
// only the calling thread's state.

#ifndef SAM2_MODEL_PRECISION_H_
#define SAM2_MODEL_PRECISION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

enum class Precision { kFloat32, kBFloat16 };
enum class PrecisionChoice { kAuto, kFloat32, kBFloat16 };

// "auto", "float32" or "bfloat16"; INVALID_ARGUMENT otherwise.
absl::StatusOr<PrecisionChoice> ParsePrecisionChoice(absl::string_view text);

// Whether this CPU has bf16 instructions (LibTorch's cpuinfo: AVX-512 BF16
// or AMX tiles).
bool CpuHasBf16Instructions();

// kAuto: bfloat16 iff `cpu_has_bf16`; otherwise what was asked.
Precision ResolvePrecision(PrecisionChoice choice, bool cpu_has_bf16);

// "float32" / "bfloat16".
absl::string_view PrecisionName(Precision precision);

// Sets the calling thread's CPU autocast: bfloat16 on, float32 off.
void UseCpuPrecisionOnThisThread(Precision precision);

}  // namespace sam2

#endif  // SAM2_MODEL_PRECISION_H_
