#include "server/worker_speed.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

using Mode = WorkerSpeedsChoice::Mode;

TEST(WorkerSpeedTest, ParsesTheModesAndAList) {
  EXPECT_EQ(ParseWorkerSpeeds("auto")->mode, Mode::kAuto);
  EXPECT_EQ(ParseWorkerSpeeds(" measure ")->mode, Mode::kMeasure);
  EXPECT_EQ(ParseWorkerSpeeds("equal")->mode, Mode::kEqual);
  absl::StatusOr<WorkerSpeedsChoice> given = ParseWorkerSpeeds("4, 4,0.5");
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->mode, Mode::kGiven);
  EXPECT_EQ(given->given, (std::vector<double>{4.0, 4.0, 0.5}));
}

TEST(WorkerSpeedTest, RefusesWhatIsNotAPositiveNumber) {
  for (const char* bad : {"", "fast", "4,,1", "1,0", "-1", "1,inf", "nan"}) {
    absl::StatusOr<WorkerSpeedsChoice> r = ParseWorkerSpeeds(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(WorkerSpeedTest, AutoMeasuresOnlyDifferentKindsOfDevice) {
  const WorkerSpeedsChoice autos;
  const std::vector<std::string> gpus = {"cuda sm_9.0, 132 SMs, 139 GiB",
                                         "cuda sm_9.0, 132 SMs, 139 GiB"};
  const std::vector<std::string> mixed = {"cuda sm_9.0, 132 SMs, 139 GiB",
                                          "cpu"};
  const std::vector<std::string> two_models = {"cuda sm_9.0, 132 SMs, 79 GiB",
                                               "cuda sm_8.0, 108 SMs, 79 GiB"};
  EXPECT_FALSE(ShouldMeasureWorkerSpeeds(autos, {"cpu"}));
  EXPECT_FALSE(ShouldMeasureWorkerSpeeds(autos, gpus));
  EXPECT_TRUE(ShouldMeasureWorkerSpeeds(autos, mixed));
  EXPECT_TRUE(ShouldMeasureWorkerSpeeds(autos, two_models));

  EXPECT_TRUE(ShouldMeasureWorkerSpeeds(*ParseWorkerSpeeds("measure"), gpus));
  EXPECT_FALSE(ShouldMeasureWorkerSpeeds(*ParseWorkerSpeeds("equal"), mixed));
  EXPECT_FALSE(ShouldMeasureWorkerSpeeds(*ParseWorkerSpeeds("1,1"), mixed));
}

TEST(WorkerSpeedTest, RelativeSpeedsAreFastestOverEachTime) {
  const std::vector<absl::Duration> times = {
      absl::Milliseconds(20), absl::Milliseconds(1000), absl::Milliseconds(25)};
  const std::vector<double> speeds = RelativeSpeeds(times);
  ASSERT_EQ(speeds.size(), 3u);
  EXPECT_DOUBLE_EQ(speeds[0], 1.0);
  EXPECT_DOUBLE_EQ(speeds[1], 0.02);
  EXPECT_DOUBLE_EQ(speeds[2], 0.8);
  EXPECT_TRUE(RelativeSpeeds({}).empty());
  EXPECT_EQ(RelativeSpeeds({absl::ZeroDuration(), absl::Milliseconds(3)}),
            (std::vector<double>{1.0, 1.0}));
}

}  // namespace
}  // namespace sam2
