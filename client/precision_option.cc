#include "client/precision_option.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace sam2 {

absl::StatusOr<Precision> UsePrecisionOption(const CliArgs& args) {
  absl::StatusOr<PrecisionChoice> choice = ParsePrecisionChoice(
      args.Get(kPrecisionOption, kDefaultPrecisionChoice));
  if (!choice.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--precision: ", choice.status().message()));
  }
  const Precision precision =
      ResolvePrecision(*choice, CpuHasBf16Instructions());
  UseCpuPrecisionOnThisThread(precision);
  return precision;
}

}  // namespace sam2
