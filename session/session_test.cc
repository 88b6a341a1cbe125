// Tests for the Session base class: kind names, defaults before insertion,
// and exclusivity (one operation at a time, from any number of threads).
// Store-driven behaviour (identity, last use, removal) is tested in
// session_store_test.cc, which drives the store-only entry points.

#include "session/session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sam2 {
namespace {

class TestSession : public Session {
 public:
  explicit TestSession(SessionKind kind) : Session(kind) {}
  int64_t NumBytes() const override { return 123; }
};

}  // namespace

// Reaches the entry points only SessionStore uses, so their contract is
// tested here directly rather than only through the store.
class SessionTestPeer {
 public:
  static bool Attach(Session& s, std::string id, int worker, absl::Time now,
                     Clock* clock) {
    return s.Attach(std::move(id), worker, now, clock);
  }
  static void Touch(Session& s, absl::Time now) { s.Touch(now); }
  static bool RetireIfIdle(Session& s, const absl::Status& why,
                           absl::Time last_used_at_most) {
    return s.RetireIfIdle(why, last_used_at_most);
  }
  static void Retire(Session& s, const absl::Status& why) { s.Retire(why); }
};

namespace {

TEST(SessionKindTest, Names) {
  EXPECT_EQ(SessionKindName(SessionKind::kImage), "image");
  EXPECT_EQ(SessionKindName(SessionKind::kVideo), "video");
}

TEST(SessionTest, DefaultsBeforeInsertion) {
  TestSession s(SessionKind::kVideo);
  EXPECT_EQ(s.kind(), SessionKind::kVideo);
  EXPECT_EQ(s.id(), "");
  EXPECT_EQ(s.worker(), -1);
  EXPECT_EQ(s.create_time(), absl::InfinitePast());
  EXPECT_EQ(s.last_used(), absl::InfinitePast());
  EXPECT_FALSE(s.busy());
  EXPECT_EQ(s.operation(), "");
  EXPECT_EQ(s.NumBytes(), 123);
}

TEST(SessionTest, BeginAndEndExclusive) {
  TestSession s(SessionKind::kImage);
  ASSERT_TRUE(s.BeginExclusive("propagate").ok());
  EXPECT_TRUE(s.busy());
  EXPECT_EQ(s.operation(), "propagate");

  const absl::Status second = s.BeginExclusive("segment");
  EXPECT_EQ(second.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(second.message(), "session is busy: propagate");
  EXPECT_EQ(s.operation(), "propagate");  // the loser changed nothing

  s.EndExclusive();
  EXPECT_FALSE(s.busy());
  EXPECT_EQ(s.operation(), "");
  EXPECT_TRUE(s.BeginExclusive("segment").ok());
  EXPECT_EQ(s.operation(), "segment");
  s.EndExclusive();
}

TEST(SessionTest, EndExclusiveWhenIdleIsANoOp) {
  TestSession s(SessionKind::kImage);
  s.EndExclusive();
  EXPECT_FALSE(s.busy());
  EXPECT_TRUE(s.BeginExclusive("a").ok());
}

TEST(SessionTest, UnnamedOperationStillNamedInMessage) {
  TestSession s(SessionKind::kImage);
  ASSERT_TRUE(s.BeginExclusive("").ok());
  EXPECT_EQ(s.BeginExclusive("x").message(),
            "session is busy: unnamed operation");
}

TEST(SessionTest, AttachSetsIdentityOnce) {
  FakeClock clock;
  TestSession s(SessionKind::kImage);
  const absl::Time t0 = clock.Now();
  ASSERT_TRUE(SessionTestPeer::Attach(s, "i-x", 2, t0, &clock));
  EXPECT_EQ(s.id(), "i-x");
  EXPECT_EQ(s.worker(), 2);
  EXPECT_EQ(s.create_time(), t0);
  EXPECT_EQ(s.last_used(), t0);
  EXPECT_FALSE(SessionTestPeer::Attach(s, "i-y", 3, t0, &clock));
  EXPECT_EQ(s.id(), "i-x");
  EXPECT_EQ(s.worker(), 2);
}

TEST(SessionTest, TouchAndEndExclusiveRecordUse) {
  FakeClock clock;
  TestSession s(SessionKind::kImage);
  const absl::Time t0 = clock.Now();
  SessionTestPeer::Attach(s, "i-x", 0, t0, &clock);
  SessionTestPeer::Touch(s, t0 + absl::Seconds(5));
  EXPECT_EQ(s.last_used(), t0 + absl::Seconds(5));
  SessionTestPeer::Touch(s, t0 + absl::Seconds(1));  // never backwards
  EXPECT_EQ(s.last_used(), t0 + absl::Seconds(5));
  ASSERT_TRUE(s.BeginExclusive("op").ok());
  clock.Advance(absl::Minutes(3));
  EXPECT_EQ(s.last_used(), t0 + absl::Seconds(5));  // starting is no use yet
  s.EndExclusive();
  EXPECT_EQ(s.last_used(), t0 + absl::Minutes(3));
}

TEST(SessionTest, EndExclusiveBeforeAttachLeavesLastUsed) {
  TestSession s(SessionKind::kVideo);
  ASSERT_TRUE(s.BeginExclusive("create").ok());
  s.EndExclusive();
  EXPECT_EQ(s.last_used(), absl::InfinitePast());
}

TEST(SessionTest, RetireIfIdleRefusesBusyOrRecentlyUsed) {
  FakeClock clock;
  TestSession s(SessionKind::kImage);
  const absl::Time t0 = clock.Now();
  SessionTestPeer::Attach(s, "i-x", 0, t0, &clock);
  const absl::Status why = absl::NotFoundError("session i-x was evicted");

  ASSERT_TRUE(s.BeginExclusive("segment").ok());
  EXPECT_FALSE(SessionTestPeer::RetireIfIdle(s, why, absl::InfiniteFuture()));
  s.EndExclusive();  // last_used = t0 (clock not advanced)
  SessionTestPeer::Touch(s, t0 + absl::Seconds(1));
  // Used after the caller's snapshot: not retired.
  EXPECT_FALSE(SessionTestPeer::RetireIfIdle(s, why, t0));
  EXPECT_TRUE(s.BeginExclusive("segment").ok());
  s.EndExclusive();

  EXPECT_TRUE(
      SessionTestPeer::RetireIfIdle(s, why, t0 + absl::Seconds(1)));
  const absl::Status st = s.BeginExclusive("segment");
  EXPECT_EQ(st, why);
  EXPECT_FALSE(s.busy());
}

TEST(SessionTest, RetireWhileBusyLetsTheOperationFinish) {
  FakeClock clock;
  TestSession s(SessionKind::kVideo);
  SessionTestPeer::Attach(s, "i-x", 0, clock.Now(), &clock);
  ASSERT_TRUE(s.BeginExclusive("propagate").ok());
  const absl::Status why = absl::NotFoundError("session i-x was deleted");
  SessionTestPeer::Retire(s, why);
  EXPECT_TRUE(s.busy());
  EXPECT_EQ(s.operation(), "propagate");
  const absl::Time before = s.last_used();
  clock.Advance(absl::Minutes(1));
  s.EndExclusive();
  EXPECT_FALSE(s.busy());
  EXPECT_EQ(s.last_used(), before);  // no longer reads the store's clock
  EXPECT_EQ(s.BeginExclusive("segment"), why);
}

// Many threads race for the session; at any instant at most one holds it.
TEST(SessionTest, ExclusiveUnderContention) {
  TestSession s(SessionKind::kVideo);
  std::atomic<int> holders{0};
  std::atomic<int> max_holders{0};
  std::atomic<int> wins{0};
  std::atomic<int> aborted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const absl::Status st = s.BeginExclusive("op");
        if (!st.ok()) {
          EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
          aborted.fetch_add(1);
          continue;
        }
        const int now = holders.fetch_add(1) + 1;
        int seen = max_holders.load();
        while (now > seen && !max_holders.compare_exchange_weak(seen, now)) {
        }
        wins.fetch_add(1);
        holders.fetch_sub(1);
        s.EndExclusive();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(max_holders.load(), 1);
  EXPECT_EQ(wins.load() + aborted.load(), 8 * 2000);
  EXPECT_GT(wins.load(), 0);
  EXPECT_FALSE(s.busy());
}

}  // namespace
}  // namespace sam2
