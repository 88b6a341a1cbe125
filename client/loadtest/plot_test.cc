// The latency plot: a decodable PNG with one panel per level and scenario.

#include "client/loadtest/plot.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace sam2::loadtest {
namespace {

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

LevelResult Level(const std::string& label, int n, double scale) {
  LevelResult level;
  level.label = label;
  ScenarioStats s;
  s.scenario = "segment";
  for (int i = 0; i < n; ++i) s.latency_ms.Add(scale * (1 + (i * 37) % 100));
  s.latency_ms.Add(scale * 900);  // a tail, drawn as the overflow bar
  level.scenarios.push_back(s);
  ScenarioStats failed;  // nothing OK: no panel
  failed.scenario = "create_image";
  level.scenarios.push_back(failed);
  return level;
}

int NonWhite(const cv::Mat& img) {
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
  return cv::countNonZero(grey < 250);
}

TEST(PlotTest, WritesADecodablePngWithAPanelPerLevel) {
  const std::string path = Tmp("latency.png");
  const std::vector<LevelResult> levels = {Level("concurrency=1", 500, 1),
                                           Level("concurrency=4", 500, 3)};
  ASSERT_TRUE(WriteLatencyPlot(levels, "test plot", path).ok());
  const cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty()) << "not a decodable image";
  EXPECT_EQ(img.cols, kPlotWidth);
  EXPECT_EQ(img.rows, 40 + 2 * kPlotPanelHeight);
  // Axes, bars and text: a good part of the image is drawn on.
  EXPECT_GT(NonWhite(img), img.rows * img.cols / 50);
  // Both panels have bars (the bar colour appears in each half).
  const cv::Scalar bar(200, 120, 40);
  for (int panel = 0; panel < 2; ++panel) {
    const cv::Mat half = img(cv::Rect(0, 40 + panel * kPlotPanelHeight,
                                      kPlotWidth, kPlotPanelHeight));
    cv::Mat mask;
    cv::inRange(half, bar, bar, mask);
    EXPECT_GT(cv::countNonZero(mask), 500) << "panel " << panel;
  }
}

TEST(PlotTest, NoSuccessfulRequestsStillMakesAnImage) {
  LevelResult level;
  level.label = "rate=5/s";
  level.scenarios.push_back(ScenarioStats());
  const cv::Mat img = RenderLatencyPlot({level}, "empty");
  EXPECT_EQ(img.rows, 40 + kPlotPanelHeight);
  EXPECT_GT(NonWhite(img), 100);  // the title and the message
}

TEST(PlotTest, UnwritablePathIsAnError) {
  EXPECT_FALSE(WriteLatencyPlot({Level("c", 10, 1)}, "t",
                                "/nonexistent/dir/p.png")
                   .ok());
}

}  // namespace
}  // namespace sam2::loadtest
