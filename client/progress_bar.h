// ProgressBar: one status line on a terminal stream (stderr), redrawn in
// place with '\r' as work advances and ended with a newline. Shared by the
// `sam2` subcommands that report progress (masks, track, remote).
//
// What the line says is the caller's formatter (e.g. FormatTrackProgress);
// the bar only decides when to redraw: the first update, every update that
// reaches the total, and otherwise at most every kProgressRedrawInterval.
//
// Thread-safety: not thread-safe; one thread updates a bar. Nothing is
// written when the bar is disabled.

#ifndef SAM2_CLIENT_PROGRESS_BAR_H_
#define SAM2_CLIENT_PROGRESS_BAR_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "absl/time/time.h"

namespace sam2 {

// Shortest interval between two redraws (except the final one).
inline constexpr absl::Duration kProgressRedrawInterval =
    absl::Milliseconds(100);
// Characters between the brackets of the bars the formatters draw.
inline constexpr int kProgressBarWidth = 24;

// "[#####...................]": `done` of `total` (clamped; an empty total
// draws a full bar) as kProgressBarWidth characters between brackets.
std::string ProgressBarText(int64_t done, int64_t total);

class ProgressBar {
 public:
  // One line of text for `done` of `total` after `elapsed_s` seconds.
  using Formatter =
      std::function<std::string(int64_t done, int64_t total, double elapsed_s)>;

  // `err` must outlive the bar. Disabled: every call is a no-op.
  ProgressBar(std::ostream& err, bool enabled, Formatter format);
  // Finish().
  ~ProgressBar();

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(int64_t done, int64_t total);
  // Ends the line (when anything was drawn); a later Update starts a new one.
  void Finish();

 private:
  std::ostream& err_;
  const bool enabled_;
  const Formatter format_;
  const absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  bool drawn_ = false;
};

}  // namespace sam2

#endif  // SAM2_CLIENT_PROGRESS_BAR_H_
