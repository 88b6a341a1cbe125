#include "model/precision.h"

#include <ATen/autocast_mode.h>
#include <ATen/cpu/Utils.h>
#include <torch/version.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sam2 {

absl::StatusOr<PrecisionChoice> ParsePrecisionChoice(absl::string_view text) {
  if (text == "auto") return PrecisionChoice::kAuto;
  if (text == "float32") return PrecisionChoice::kFloat32;
  if (text == "bfloat16") return PrecisionChoice::kBFloat16;
  return absl::InvalidArgumentError(
      absl::StrCat("precision \"", absl::CHexEscape(text),
                   "\" is not auto, float32 or bfloat16"));
}

bool CpuHasBf16Instructions() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
  // LibTorch 2.11 replaced the is_*_supported() queries with one map of
  // cpuinfo's flags.
  const auto capabilities = at::cpu::get_cpu_capabilities();
  auto has = [&](const char* name) {
    auto it = capabilities.find(name);
    return it != capabilities.end() && it->second.isBool() &&
           it->second.toBool();
  };
  return has("avx512_bf16") || has("amx_tile");
#else
  return at::cpu::is_avx512_bf16_supported() || at::cpu::is_amx_tile_supported();
#endif
}

Precision ResolvePrecision(PrecisionChoice choice, bool cpu_has_bf16) {
  switch (choice) {
    case PrecisionChoice::kFloat32: return Precision::kFloat32;
    case PrecisionChoice::kBFloat16: return Precision::kBFloat16;
    case PrecisionChoice::kAuto: break;
  }
  return cpu_has_bf16 ? Precision::kBFloat16 : Precision::kFloat32;
}

absl::string_view PrecisionName(Precision precision) {
  return precision == Precision::kBFloat16 ? "bfloat16" : "float32";
}

void UseCpuPrecisionOnThisThread(Precision precision) {
  const bool bf16 = precision == Precision::kBFloat16;
  if (bf16) at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, bf16);
}

}  // namespace sam2
