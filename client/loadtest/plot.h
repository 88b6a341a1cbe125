// Latency histograms as a PNG (--plot): one panel per load level and
// scenario, stacked. Each panel has axes with tick labels (ms, count),
// bars, the bar of samples beyond the range marked ">", and vertical
// markers at p50, p90 and p99. Drawn with OpenCV; readable, not fancy.

#ifndef SAM2_CLIENT_LOADTEST_PLOT_H_
#define SAM2_CLIENT_LOADTEST_PLOT_H_

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/loadtest/run_stats.h"

namespace sam2::loadtest {

inline constexpr int kPlotWidth = 960;
inline constexpr int kPlotPanelHeight = 300;
// More panels than this are left out (and the image says how many).
inline constexpr int kPlotMaxPanels = 16;

// The image: kPlotWidth wide, one panel per (level, scenario) with at least
// one OK request (a single "no successful requests" panel if none).
cv::Mat RenderLatencyPlot(const std::vector<LevelResult>& levels,
                          const std::string& title);

absl::Status WriteLatencyPlot(const std::vector<LevelResult>& levels,
                              const std::string& title,
                              const std::string& path);

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_PLOT_H_
