// ProgressBar: see the header.

#include "client/progress_bar.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace sam2 {

std::string ProgressBarText(int64_t done, int64_t total) {
  const int64_t t = std::max<int64_t>(total, 0);
  const int64_t d = std::clamp<int64_t>(done, 0, t);
  const int filled =
      t == 0 ? kProgressBarWidth : static_cast<int>(d * kProgressBarWidth / t);
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(kProgressBarWidth - filled), '.') +
         "]";
}

ProgressBar::ProgressBar(std::ostream& err, bool enabled, Formatter format)
    : err_(err),
      enabled_(enabled),
      format_(std::move(format)),
      start_(absl::Now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(int64_t done, int64_t total) {
  if (!enabled_) return;
  const absl::Time now = absl::Now();
  if (drawn_ && done < total && now - last_draw_ < kProgressRedrawInterval) {
    return;
  }
  last_draw_ = now;
  drawn_ = true;
  err_ << "\r" << format_(done, total, absl::ToDoubleSeconds(now - start_))
       << std::flush;
}

void ProgressBar::Finish() {
  if (drawn_) err_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace sam2
