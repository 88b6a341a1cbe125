// Worker speeds. See worker_speed.h.

#include "server/worker_speed.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sam2 {

absl::StatusOr<WorkerSpeedsChoice> ParseWorkerSpeeds(absl::string_view flag) {
  flag = absl::StripAsciiWhitespace(flag);
  WorkerSpeedsChoice choice;
  if (flag == "auto") return choice;
  if (flag == "measure") {
    choice.mode = WorkerSpeedsChoice::Mode::kMeasure;
    return choice;
  }
  if (flag == "equal") {
    choice.mode = WorkerSpeedsChoice::Mode::kEqual;
    return choice;
  }
  choice.mode = WorkerSpeedsChoice::Mode::kGiven;
  for (absl::string_view item : absl::StrSplit(flag, ',')) {
    item = absl::StripAsciiWhitespace(item);
    double speed = 0;
    if (!absl::SimpleAtod(item, &speed) || !std::isfinite(speed) ||
        speed <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "worker speeds \"", flag, "\": \"", item,
          "\" is not a positive number (expected auto, measure, equal, or "
          "one number per worker such as 4,4,1)"));
    }
    choice.given.push_back(speed);
  }
  return choice;
}

bool ShouldMeasureWorkerSpeeds(const WorkerSpeedsChoice& choice,
                               absl::Span<const std::string> device_kinds) {
  switch (choice.mode) {
    case WorkerSpeedsChoice::Mode::kMeasure:
      return true;
    case WorkerSpeedsChoice::Mode::kAuto:
      return std::any_of(
          device_kinds.begin(), device_kinds.end(),
          [&](const std::string& kind) { return kind != device_kinds[0]; });
    case WorkerSpeedsChoice::Mode::kEqual:
    case WorkerSpeedsChoice::Mode::kGiven:
      return false;
  }
  return false;
}

std::vector<double> RelativeSpeeds(absl::Span<const absl::Duration> times) {
  std::vector<double> out;
  if (times.empty()) return out;
  const absl::Duration fastest = *std::min_element(times.begin(), times.end());
  for (const absl::Duration t : times) {
    // A time of zero (a clock too coarse for the work) counts as the fastest.
    out.push_back(t <= absl::ZeroDuration() || fastest <= absl::ZeroDuration()
                      ? 1.0
                      : absl::FDivDuration(fastest, t));
  }
  return out;
}

}  // namespace sam2
