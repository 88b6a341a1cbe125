// Runs the golden runner over every fixture directory given as an argument
// and fails if any case fails or any directory cannot be run.

#include <iostream>

#include "tests/golden/golden_runner.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: golden_test FIXTURE_DIR...\n";
    return 2;
  }
  int failures = 0;
  for (int i = 1; i < argc; ++i) {
    absl::StatusOr<sam2::GoldenSummary> summary =
        sam2::RunGolden(argv[i], sam2::GoldenTolerances(), std::cout);
    if (!summary.ok()) {
      std::cout << argv[i] << ": " << summary.status() << "\n";
      ++failures;
    } else if (summary->failed > 0 || summary->passed == 0) {
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
