#include "tests/golden/golden_cli.h"

#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "model/device.h"
#include "model/precision.h"
#include "tests/golden/golden_runner.h"

namespace sam2 {
namespace {

constexpr char kUsage[] =
    "usage: golden [--device=cpu|cuda|cuda:N] "
    "[--precision=float32|bfloat16|auto] [--long_video_window=N] "
    "FIXTURE_DIR...\n";

// The value of `--name=value` in `arg`, or false when `arg` is another flag.
bool FlagValue(absl::string_view arg, absl::string_view name,
               std::string* value) {
  const std::string prefix = std::string("--") + std::string(name) + "=";
  if (!absl::StartsWith(arg, prefix)) return false;
  *value = std::string(arg.substr(prefix.size()));
  return true;
}

}  // namespace

int RunGoldenCli(const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err) {
  GoldenOptions options;
  std::string device_spec, precision_text = "float32", window;
  std::vector<std::string> dirs;
  for (const std::string& arg : args) {
    if (FlagValue(arg, "device", &device_spec) ||
        FlagValue(arg, "precision", &precision_text)) {
      continue;
    }
    if (FlagValue(arg, "long_video_window", &window)) {
      if (!absl::SimpleAtoi(window, &options.long_video_window) ||
          options.long_video_window < 0) {
        err << "golden: bad " << arg << "\n" << kUsage;
        return 2;
      }
      continue;
    }
    if (absl::StartsWith(arg, "-")) {
      err << "golden: unknown option " << arg << "\n" << kUsage;
      return 2;
    }
    dirs.push_back(arg);
  }
  if (dirs.empty()) {
    err << "golden: give one or more fixture directories\n" << kUsage;
    return 2;
  }
  if (!device_spec.empty()) {
    absl::StatusOr<std::vector<c10::Device>> devices =
        ResolveDevices(device_spec, CudaDeviceCount());
    if (!devices.ok() || devices->size() != 1) {
      err << "golden: --device: "
          << (devices.ok() ? "name one device" : devices.status().message())
          << "\n";
      return 2;
    }
    options.device = devices->front();
  }
  absl::StatusOr<PrecisionChoice> choice = ParsePrecisionChoice(precision_text);
  if (!choice.ok()) {
    err << "golden: --precision: " << choice.status().message() << "\n";
    return 2;
  }
  const Precision precision = ResolveDevicePrecision(*choice, options.device);
  options.mixed_precision = precision != Precision::kFloat32;
  UseDeviceOnThisThread(options.device, precision);
  out << "golden: " << DeviceName(options.device) << ", "
      << PrecisionName(precision) << "\n";
  int failures = 0;
  for (const std::string& dir : dirs) {
    absl::StatusOr<GoldenSummary> summary = RunGolden(dir, options, out);
    if (!summary.ok()) {
      err << "golden: " << dir << ": " << summary.status() << "\n";
      ++failures;
    } else if (summary->failed > 0 || summary->passed == 0) {
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace sam2
