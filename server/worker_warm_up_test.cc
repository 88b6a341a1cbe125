#include "server/worker_warm_up.h"

#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace sam2 {
namespace {

TEST(WorkerWarmUpTest, WarmsEveryPathOfTheMicroModel) {
  const ServedModel& model = MicroModel();
  ASSERT_EQ(model.workers.size(), 1u);
  EXPECT_TRUE(WarmUpWorker(model.workers[0]).ok());
}

TEST(WorkerWarmUpTest, TimesTheImageEncoder) {
  const WorkerModel& worker = MicroModel().workers[0];
  absl::StatusOr<absl::Duration> once = TimeImageEncoder(worker, 1);
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_GT(*once, absl::ZeroDuration());
  EXPECT_LT(*once, absl::InfiniteDuration());
  // Runs below one count as one.
  absl::StatusOr<absl::Duration> none = TimeImageEncoder(worker, 0);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_LT(*none, absl::InfiniteDuration());
}

}  // namespace
}  // namespace sam2
