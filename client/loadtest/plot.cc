#include "client/loadtest/plot.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sam2::loadtest {
namespace {

const cv::Scalar kBlack(0, 0, 0);
const cv::Scalar kGrey(150, 150, 150);
const cv::Scalar kLight(230, 230, 230);
const cv::Scalar kBar(200, 120, 40);       // blue-ish (BGR)
const cv::Scalar kOverflow(60, 60, 200);   // red-ish
const cv::Scalar kP50(40, 160, 40);
const cv::Scalar kP90(0, 140, 230);
const cv::Scalar kP99(40, 40, 220);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kTitleHeight = 40;
constexpr int kBins = 40;

void Text(cv::Mat& img, const std::string& s, cv::Point at, double scale,
          const cv::Scalar& color, int thickness = 1) {
  cv::putText(img, s, at, kFont, scale, color, thickness, cv::LINE_AA);
}

// Centred horizontally on x.
void CenteredText(cv::Mat& img, const std::string& s, int x, int y,
                  double scale, const cv::Scalar& color) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(s, kFont, scale, 1, &baseline);
  Text(img, s, {x - size.width / 2, y}, scale, color);
}

std::string Tick(double v) {
  if (v >= 100) return absl::StrFormat("%.0f", v);
  if (v >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2f", v);
}

// "Nice" count axis maximum: 1, 2 or 5 times a power of ten.
int64_t NiceMax(int64_t v) {
  if (v <= 1) return 1;
  double p = std::pow(10.0, std::floor(std::log10(static_cast<double>(v))));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= static_cast<double>(v)) return static_cast<int64_t>(m * p);
  }
  return v;
}

void DrawPanel(cv::Mat& img, int top, const std::string& heading,
               const LatencySamples& samples) {
  const int left = 80;
  const int right = img.cols - 30;
  const int plot_top = top + 45;
  const int bottom = top + kPlotPanelHeight - 45;
  const LatencySummary s = samples.Summary();
  Text(img, heading, {left, top + 22}, 0.55, kBlack, 1);
  Text(img,
       absl::StrFormat("n=%d  min %s  p50 %s  p90 %s  p99 %s  max %s ms",
                       s.count, Tick(s.min), Tick(s.p50), Tick(s.p90),
                       Tick(s.p99), Tick(s.max)),
       {left, top + 40}, 0.42, kGrey);

  const Histogram h = samples.MakeHistogram(kBins);
  const int nbars = static_cast<int>(h.counts.size()) + (h.overflow > 0 ? 1 : 0);
  int64_t top_count = h.overflow;
  for (int64_t c : h.counts) top_count = std::max(top_count, c);
  const int64_t ymax = NiceMax(top_count);

  // Grid and y axis labels (counts).
  for (int i = 0; i <= 4; ++i) {
    const int y = bottom - (bottom - plot_top) * i / 4;
    cv::line(img, {left, y}, {right, y}, kLight, 1);
    const std::string label = absl::StrCat(ymax * i / 4);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(label, kFont, 0.4, 1, &baseline);
    Text(img, label, {left - 8 - size.width, y + 4}, 0.4, kBlack);
  }
  // Bars.
  const double bar_w =
      static_cast<double>(right - left) / std::max(1, nbars);
  auto bar = [&](int i, int64_t count, const cv::Scalar& color) {
    if (count == 0) return;
    const int x0 = left + static_cast<int>(i * bar_w) + 1;
    const int x1 = left + static_cast<int>((i + 1) * bar_w) - 1;
    const int y = bottom - static_cast<int>((bottom - plot_top) *
                                            static_cast<double>(count) /
                                            static_cast<double>(ymax));
    cv::rectangle(img, {x0, y}, {std::max(x0, x1), bottom}, color, cv::FILLED);
  };
  for (int i = 0; i < static_cast<int>(h.counts.size()); ++i) {
    bar(i, h.counts[static_cast<size_t>(i)], kBar);
  }
  if (h.overflow > 0) {
    bar(nbars - 1, h.overflow, kOverflow);
    CenteredText(img, absl::StrCat(">", Tick(h.hi)),
                 left + static_cast<int>((nbars - 0.5) * bar_w), bottom + 18,
                 0.38, kOverflow);
  }
  // Axes.
  cv::line(img, {left, plot_top}, {left, bottom}, kBlack, 1);
  cv::line(img, {left, bottom}, {right, bottom}, kBlack, 1);
  // x ticks (ms) over the binned range.
  const int binned_right =
      left + static_cast<int>(static_cast<double>(h.counts.size()) * bar_w);
  for (int i = 0; i <= 5; ++i) {
    const int x = left + (binned_right - left) * i / 5;
    cv::line(img, {x, bottom}, {x, bottom + 4}, kBlack, 1);
    CenteredText(img, Tick(h.lo + (h.hi - h.lo) * i / 5), x, bottom + 18, 0.4,
                 kBlack);
  }
  CenteredText(img, "latency (ms)", (left + right) / 2, bottom + 36, 0.45,
               kBlack);
  Text(img, "count", {8, plot_top - 6}, 0.42, kBlack);
  // Percentile markers.
  auto marker = [&](double v, const char* name, const cv::Scalar& color,
                    int row) {
    if (v < h.lo || v > h.hi) return;
    const int x = left + static_cast<int>((v - h.lo) / (h.hi - h.lo) *
                                          (binned_right - left));
    for (int y = plot_top; y < bottom; y += 8) {
      cv::line(img, {x, y}, {x, std::min(bottom, y + 4)}, color, 2);
    }
    Text(img, name, {x + 4, plot_top + 14 + 16 * row}, 0.45, color, 1);
  };
  marker(s.p50, "p50", kP50, 0);
  marker(s.p90, "p90", kP90, 1);
  marker(s.p99, "p99", kP99, 2);
}

}  // namespace

cv::Mat RenderLatencyPlot(const std::vector<LevelResult>& levels,
                          const std::string& title) {
  struct Panel {
    std::string heading;
    const LatencySamples* samples;
  };
  std::vector<Panel> panels;
  int left_out = 0;
  for (const LevelResult& level : levels) {
    for (const ScenarioStats& s : level.scenarios) {
      if (s.latency_ms.empty()) continue;
      if (static_cast<int>(panels.size()) >= kPlotMaxPanels) {
        ++left_out;
        continue;
      }
      panels.push_back({absl::StrCat(s.scenario, "  ", level.label),
                        &s.latency_ms});
    }
  }
  const int n = std::max<int>(1, static_cast<int>(panels.size()));
  cv::Mat img(kTitleHeight + n * kPlotPanelHeight, kPlotWidth, CV_8UC3,
              cv::Scalar(255, 255, 255));
  std::string heading = title;
  if (left_out > 0) heading += absl::StrCat("  (", left_out, " more not shown)");
  Text(img, heading, {12, 27}, 0.65, kBlack, 2);
  if (panels.empty()) {
    CenteredText(img, "no successful requests: nothing to plot",
                 kPlotWidth / 2, kTitleHeight + kPlotPanelHeight / 2, 0.7,
                 kP99);
  }
  for (size_t i = 0; i < panels.size(); ++i) {
    const int top = kTitleHeight + static_cast<int>(i) * kPlotPanelHeight;
    if (i > 0) cv::line(img, {0, top}, {kPlotWidth, top}, kLight, 1);
    DrawPanel(img, top, panels[i].heading, *panels[i].samples);
  }
  return img;
}

absl::Status WriteLatencyPlot(const std::vector<LevelResult>& levels,
                              const std::string& title,
                              const std::string& path) {
  const cv::Mat img = RenderLatencyPlot(levels, title);
  bool ok = false;
  try {
    ok = cv::imwrite(path, img);
  } catch (const cv::Exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", e.what()));
  }
  if (!ok) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace sam2::loadtest
