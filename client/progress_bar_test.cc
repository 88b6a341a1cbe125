// ProgressBar: when it draws, what it writes, and nothing when disabled.

#include "client/progress_bar.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

std::string Plain(int64_t done, int64_t total, double) {
  return absl::StrCat(done, "/", total);
}

TEST(ProgressBarTest, DrawsFirstAndLastUpdatesAndEndsTheLine) {
  std::ostringstream err;
  {
    ProgressBar bar(err, /*enabled=*/true, Plain);
    bar.Update(1, 100);
    // Within the redraw interval: skipped, except the one reaching the total.
    for (int i = 2; i < 100; ++i) bar.Update(i, 100);
    bar.Update(100, 100);
  }
  EXPECT_EQ(err.str(), "\r1/100\r100/100\n");
}

TEST(ProgressBarTest, FinishStartsANewLineOnlyAfterDrawing) {
  std::ostringstream err;
  ProgressBar bar(err, true, Plain);
  bar.Finish();
  EXPECT_EQ(err.str(), "");
  bar.Update(3, 3);
  bar.Finish();
  bar.Finish();
  EXPECT_EQ(err.str(), "\r3/3\n");
}

TEST(ProgressBarTest, DisabledWritesNothing) {
  std::ostringstream err;
  {
    ProgressBar bar(err, false, Plain);
    bar.Update(1, 2);
    bar.Update(2, 2);
  }
  EXPECT_EQ(err.str(), "");
}

TEST(ProgressBarTest, BarText) {
  EXPECT_EQ(ProgressBarText(0, 4), "[........................]");
  EXPECT_EQ(ProgressBarText(1, 4), "[######..................]");
  EXPECT_EQ(ProgressBarText(9, 4), "[########################]");
  EXPECT_EQ(ProgressBarText(-1, 4), "[........................]");
  EXPECT_EQ(ProgressBarText(0, 0), "[########################]");
}

}  // namespace
}  // namespace sam2
