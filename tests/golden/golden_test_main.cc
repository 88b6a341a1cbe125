// Runs the golden runner over every fixture directory given as an argument
// and fails if any case fails or any directory cannot be run.
//   golden_test [--long_video_window=N] FIXTURE_DIR...

#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "tests/golden/golden_runner.h"

int main(int argc, char** argv) {
  sam2::GoldenOptions options;
  int failures = 0, dirs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    constexpr char kWindow[] = "--long_video_window=";
    if (absl::StartsWith(arg, kWindow)) {
      if (!absl::SimpleAtoi(arg.substr(sizeof(kWindow) - 1),
                            &options.long_video_window) ||
          options.long_video_window < 0) {
        std::cerr << "bad " << arg << "\n";
        return 2;
      }
      continue;
    }
    ++dirs;
    absl::StatusOr<sam2::GoldenSummary> summary =
        sam2::RunGolden(arg, options, std::cout);
    if (!summary.ok()) {
      std::cout << arg << ": " << summary.status() << "\n";
      ++failures;
    } else if (summary->failed > 0 || summary->passed == 0) {
      ++failures;
    }
  }
  if (dirs == 0) {
    std::cerr << "usage: golden_test [--long_video_window=N] FIXTURE_DIR...\n";
    return 2;
  }
  return failures == 0 ? 0 : 1;
}
