// Tests for SessionReaper: it reaps expired sessions on its own, and it
// starts and stops promptly even with a long interval. Time for expiry is a
// FakeClock; waiting is on the reaper's condition, never a sleep.

#include "session/session_reaper.h"

#include <gtest/gtest.h>

#include <memory>

#include "absl/time/clock.h"

#include "session/clock.h"
#include "session/session.h"
#include "session/session_store.h"

namespace sam2 {
namespace {

class TestSession : public Session {
 public:
  explicit TestSession(SessionKind kind) : Session(kind) {}
  int64_t NumBytes() const override { return 10; }
};

TEST(SessionReaperTest, ReapsExpiredSessions) {
  FakeClock clock;
  SessionStore store(SessionStoreOptions(), "inst1", &clock);
  auto expired = std::make_shared<TestSession>(SessionKind::kImage);
  auto busy = std::make_shared<TestSession>(SessionKind::kVideo);
  ASSERT_TRUE(store.Insert(expired, 0).ok());
  ASSERT_TRUE(store.Insert(busy, 0).ok());
  ASSERT_TRUE(busy->BeginExclusive("propagate").ok());
  clock.Advance(absl::Hours(1));

  SessionReaper reaper(&store, absl::Milliseconds(1));
  ASSERT_TRUE(reaper.WaitForPasses(1, absl::Seconds(30)));
  EXPECT_GE(reaper.passes(), 1);
  EXPECT_EQ(reaper.reaped(), 1);
  EXPECT_EQ(store.size(), 1);
  EXPECT_EQ(store.Lookup(expired->id()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/idle_expired"), 1);

  // Later passes keep running: the busy one goes once idle.
  busy->EndExclusive();
  clock.Advance(absl::Hours(1));
  const int64_t after = reaper.passes();
  ASSERT_TRUE(reaper.WaitForPasses(after + 2, absl::Seconds(30)));
  EXPECT_EQ(store.size(), 0);
  EXPECT_EQ(reaper.reaped(), 2);
}

TEST(SessionReaperTest, StopsPromptlyWithALongInterval) {
  FakeClock clock;
  SessionStore store(SessionStoreOptions(), "inst1", &clock);
  const absl::Time start = absl::Now();
  {
    SessionReaper reaper(&store, absl::Hours(1));
    EXPECT_EQ(reaper.passes(), 0);
    // Times out (nothing happens within an hour's interval).
    EXPECT_FALSE(reaper.WaitForPasses(1, absl::Milliseconds(1)));
  }
  // Joined without waiting out the interval.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(SessionReaperTest, ZeroIntervalDoesNotSpinForever) {
  FakeClock clock;
  SessionStore store(SessionStoreOptions(), "inst1", &clock);
  SessionReaper reaper(&store, absl::ZeroDuration());
  EXPECT_TRUE(reaper.WaitForPasses(2, absl::Seconds(30)));
}

}  // namespace
}  // namespace sam2
