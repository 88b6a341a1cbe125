// Tests for Clock: RealClock tracks absl::Now(); FakeClock starts where told,
// moves only when told, and is safe to use from several threads.

#include "session/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "absl/time/clock.h"

namespace sam2 {
namespace {

TEST(RealClockTest, IsASingletonCloseToAbslNow) {
  Clock* clock = RealClock();
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock, RealClock());
  const absl::Time before = absl::Now();
  const absl::Time now = clock->Now();
  const absl::Time after = absl::Now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

TEST(FakeClockTest, DefaultStart) {
  FakeClock clock;
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Hours(1000));
}

TEST(FakeClockTest, StartsWhereToldAndOnlyMovesWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1700000000);
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.Now(), start);  // reading does not move it
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), start + absl::Seconds(5));
  clock.Advance(absl::Milliseconds(-2));
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(4998));
  clock.Set(absl::UnixEpoch());
  EXPECT_EQ(clock.Now(), absl::UnixEpoch());
}

TEST(FakeClockTest, UsableThroughTheInterface) {
  FakeClock fake;
  const Clock& clock = fake;
  const absl::Time t0 = clock.Now();
  fake.Advance(absl::Minutes(1));
  EXPECT_EQ(clock.Now() - t0, absl::Minutes(1));
}

// Run under --config=tsan, this also proves the locking.
TEST(FakeClockTest, ConcurrentAdvanceAndRead) {
  FakeClock clock(absl::UnixEpoch());
  constexpr int kThreads = 4;
  constexpr int kSteps = 1000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&clock] {
      absl::Time last = clock.Now();
      for (int j = 0; j < kSteps; ++j) {
        clock.Advance(absl::Nanoseconds(1));
        const absl::Time now = clock.Now();
        EXPECT_GT(now, last);  // only ever advanced
        last = now;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Nanoseconds(kThreads * kSteps));
}

}  // namespace
}  // namespace sam2
