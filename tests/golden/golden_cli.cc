#include "tests/golden/golden_cli.h"

#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "client/cli_args.h"
#include "model/device.h"
#include "model/precision.h"
#include "tests/golden/golden_runner.h"

namespace sam2 {
namespace {

constexpr char kUsage[] =
    "usage: golden [--device=cpu|cuda|cuda:N] "
    "[--precision=float32|bfloat16|auto] [--long_video_window=N] "
    "FIXTURE_DIR...\n";

}  // namespace

int RunGoldenCli(const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err) {
  absl::StatusOr<CliArgs> args_or = CliArgs::Parse(
      args, {{"device", "precision", "long_video_window"}, {}});
  if (!args_or.ok()) {
    err << "golden: " << args_or.status().message() << "\n" << kUsage;
    return 2;
  }
  const CliArgs& cli = *args_or;
  GoldenOptions options;
  if (cli.Has("long_video_window") &&
      (!absl::SimpleAtoi(cli.Get("long_video_window"),
                         &options.long_video_window) ||
       options.long_video_window < 0)) {
    err << "golden: bad --long_video_window=" << cli.Get("long_video_window")
        << "\n" << kUsage;
    return 2;
  }
  const std::vector<std::string>& dirs = cli.positional();
  if (dirs.empty()) {
    err << "golden: give one or more fixture directories\n" << kUsage;
    return 2;
  }
  const std::string device_spec = cli.Get("device");
  const std::string precision_text = cli.Get("precision", "float32");
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
