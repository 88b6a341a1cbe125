// Tests for SessionStore: insertion and identity, the session cap and the
// byte budget with their eviction order, TTL expiry on a FakeClock, the
// NOT_FOUND message for every way a session can be gone, tombstone bounds,
// Reap, Stats, removal of busy sessions, UpdateBytes, and concurrent use
// (also run under --config=tsan). No test sleeps: time moves by FakeClock.

#include "session/session_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "session/clock.h"
#include "session/session.h"
#include "session/session_id.h"

namespace sam2 {
namespace {

constexpr char kInstance[] = "inst1";

// A session whose byte count the test sets.
class TestSession : public Session {
 public:
  TestSession(SessionKind kind, int64_t bytes) : Session(kind), bytes_(bytes) {}
  int64_t NumBytes() const override { return bytes_.load(); }
  void set_bytes(int64_t bytes) { bytes_.store(bytes); }

 private:
  std::atomic<int64_t> bytes_;
};

std::shared_ptr<TestSession> Image(int64_t bytes = 1) {
  return std::make_shared<TestSession>(SessionKind::kImage, bytes);
}
std::shared_ptr<TestSession> Video(int64_t bytes = 1) {
  return std::make_shared<TestSession>(SessionKind::kVideo, bytes);
}

SessionStoreOptions Options(int64_t max_sessions = 100,
                            int64_t max_bytes = 1 << 20) {
  SessionStoreOptions options;
  options.max_sessions = max_sessions;
  options.max_bytes = max_bytes;
  return options;
}

class SessionStoreTest : public ::testing::Test {
 protected:
  // Inserts and asserts success; returns the id.
  std::string MustInsert(SessionStore& store, std::shared_ptr<Session> s,
                         int worker = 0) {
    absl::StatusOr<std::string> id = store.Insert(std::move(s), worker);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : std::string();
  }
  // Advances the clock a little so last-used times differ.
  void Tick() { clock_.Advance(absl::Seconds(1)); }
  bool Live(SessionStore& store, const std::string& id) {
    return store.Lookup(id).ok();
  }
  absl::Status LookupStatus(SessionStore& store, const std::string& id) {
    return store.Lookup(id).status();
  }

  FakeClock clock_;
};

TEST_F(SessionStoreTest, RemovalReasonNames) {
  EXPECT_EQ(RemovalReasonName(RemovalReason::kDeleted), "deleted");
  EXPECT_EQ(RemovalReasonName(RemovalReason::kIdleExpired), "idle_expired");
  EXPECT_EQ(RemovalReasonName(RemovalReason::kAbsoluteExpired),
            "absolute_expired");
  EXPECT_EQ(RemovalReasonName(RemovalReason::kEvicted), "evicted");
  EXPECT_EQ(RemovalReasonName(RemovalReason::kShutdown), "shutdown");
}

TEST_F(SessionStoreTest, InsertAssignsIdentityAndLookupFindsIt) {
  SessionStore store(Options(), kInstance, &clock_);
  EXPECT_EQ(store.instance_id(), kInstance);
  auto s = Video(42);
  const absl::Time t0 = clock_.Now();
  const std::string id = MustInsert(store, s, /*worker=*/3);
  absl::StatusOr<ParsedSessionId> parsed = ParseSessionId(id);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->instance_id, kInstance);
  EXPECT_EQ(s->id(), id);
  EXPECT_EQ(s->worker(), 3);
  EXPECT_EQ(s->create_time(), t0);
  EXPECT_EQ(s->last_used(), t0);
  EXPECT_EQ(store.size(), 1);

  clock_.Advance(absl::Minutes(1));
  absl::StatusOr<std::shared_ptr<Session>> found = store.Lookup(id);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->get(), s.get());
  EXPECT_EQ(s->last_used(), t0 + absl::Minutes(1));  // touched
  EXPECT_EQ(s->create_time(), t0);                   // not touched

  const SessionStoreStats stats = store.Stats();
  EXPECT_EQ(stats.live_image, 0);
  EXPECT_EQ(stats.live_video, 1);
  EXPECT_EQ(stats.bytes_held, 42);
}

// Instance ids with dashes (Kubernetes pod names): a replica finds its own
// sessions, and one whose name only starts like another's ("sam2-1" vs
// "sam2-10") is told apart.
TEST_F(SessionStoreTest, InstanceIdsWithDashes) {
  SessionStore store(Options(), "sam2-1", &clock_);
  const std::string id = MustInsert(store, Image());
  EXPECT_EQ(id.substr(0, 7), "sam2-1-");
  EXPECT_TRUE(Live(store, id));
  const std::string foreign = NewSessionId("sam2-10");
  const absl::Status st = LookupStatus(store, foreign);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(st.message().find("created by server instance sam2-10, this is "
                              "instance sam2-1 "),
            std::string::npos)
      << st;
}

TEST_F(SessionStoreTest, IdsAreDistinct) {
  SessionStore store(Options(1000), kInstance, &clock_);
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(MustInsert(store, Image()));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
}

TEST_F(SessionStoreTest, InsertRejectsProgrammingErrors) {
  SessionStore store(Options(), kInstance, &clock_);
  EXPECT_EQ(store.Insert(nullptr, 0).status().code(),
            absl::StatusCode::kInternal);
  auto s = Image();
  MustInsert(store, s);
  EXPECT_EQ(store.Insert(s, 0).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store.Insert(Image(-1), 0).status().code(),
            absl::StatusCode::kInternal);
  // A removed session cannot come back either.
  ASSERT_TRUE(store.Remove(s->id()).ok());
  EXPECT_EQ(store.Insert(s, 0).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store.size(), 0);
}

// ---- Session cap.

TEST_F(SessionStoreTest, CapReachedAllBusyIsResourceExhausted) {
  SessionStore store(Options(/*max_sessions=*/2), kInstance, &clock_);
  auto a = Image();
  auto b = Video();
  MustInsert(store, a);
  MustInsert(store, b);
  ASSERT_TRUE(a->BeginExclusive("segment").ok());
  ASSERT_TRUE(b->BeginExclusive("propagate").ok());

  const absl::Status check = store.CheckCapacity();
  EXPECT_EQ(check.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(check.message().find("session cap of 2 reached"), std::string::npos)
      << check;
  absl::StatusOr<std::string> id = store.Insert(Image(), 0);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(id.status().message().find("session cap of 2 reached"),
            std::string::npos)
      << id.status();
  EXPECT_EQ(store.size(), 2);
  EXPECT_TRUE(Live(store, a->id()));
  EXPECT_TRUE(Live(store, b->id()));

  // Once one is idle there is room again (by evicting it).
  b->EndExclusive();
  EXPECT_TRUE(store.CheckCapacity().ok());
  MustInsert(store, Image());
  EXPECT_EQ(store.size(), 2);
  EXPECT_TRUE(Live(store, a->id()));
  EXPECT_FALSE(Live(store, b->id()));
}

TEST_F(SessionStoreTest, CheckCapacityBelowCapAndWithZeroCap) {
  SessionStore store(Options(/*max_sessions=*/1), kInstance, &clock_);
  EXPECT_TRUE(store.CheckCapacity().ok());
  SessionStore none(Options(/*max_sessions=*/0), kInstance, &clock_);
  EXPECT_EQ(none.CheckCapacity().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(none.Insert(Image(), 0).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(SessionStoreTest, CapEvictsLruImageFirstEvenIfAVideoIsOlder) {
  SessionStore store(Options(/*max_sessions=*/3), kInstance, &clock_);
  const std::string video = MustInsert(store, Video());  // oldest of all
  Tick();
  const std::string image_a = MustInsert(store, Image());
  Tick();
  const std::string image_b = MustInsert(store, Image());
  Tick();
  ASSERT_TRUE(store.Lookup(image_a).ok());  // a is now more recent than b
  Tick();

  const std::string c = MustInsert(store, Image());
  EXPECT_EQ(store.size(), 3);
  EXPECT_TRUE(Live(store, video));
  EXPECT_TRUE(Live(store, image_a));
  EXPECT_TRUE(Live(store, c));
  const absl::Status gone = LookupStatus(store, image_b);
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gone.message(), absl::StrCat("session ", image_b,
                                         " was evicted to stay within the "
                                         "session cap"));
}

TEST_F(SessionStoreTest, CapEvictsVideoOnlyWhenNoImageIsIdle) {
  SessionStore store(Options(/*max_sessions=*/3), kInstance, &clock_);
  auto v1 = Video();
  auto v2 = Video();
  auto img = Image();
  MustInsert(store, v1);
  Tick();
  MustInsert(store, v2);
  Tick();
  MustInsert(store, img);
  Tick();
  ASSERT_TRUE(img->BeginExclusive("segment").ok());
  auto v3 = Video();
  MustInsert(store, v3);
  EXPECT_FALSE(Live(store, v1->id()));  // LRU video
  EXPECT_TRUE(Live(store, v2->id()));
  EXPECT_TRUE(Live(store, img->id()));
  img->EndExclusive();
}

// ---- Byte budget.

TEST_F(SessionStoreTest, ByteBudgetEvictionOrder) {
  SessionStore store(Options(100, /*max_bytes=*/1000), kInstance, &clock_);
  auto v1 = Video(100);  // oldest
  auto i1 = Image(200);
  auto i2 = Image(200);
  auto v2 = Video(100);
  auto i3 = Image(200);  // busy: never evicted
  for (auto& s : std::vector<std::shared_ptr<TestSession>>{v1, i1, i2, v2, i3}) {
    MustInsert(store, s);
    Tick();
  }
  ASSERT_TRUE(i3->BeginExclusive("segment").ok());
  EXPECT_EQ(store.Stats().bytes_held, 800);

  // Needs held <= 500: evict i1 (600), then i2 (400). Videos untouched.
  auto i4 = Image(500);
  MustInsert(store, i4);
  Tick();
  EXPECT_FALSE(Live(store, i1->id()));
  EXPECT_FALSE(Live(store, i2->id()));
  EXPECT_TRUE(Live(store, v1->id()));
  EXPECT_TRUE(Live(store, v2->id()));
  EXPECT_TRUE(Live(store, i3->id()));
  EXPECT_EQ(store.Stats().bytes_held, 900);
  EXPECT_EQ(LookupStatus(store, i1->id()).message(),
            absl::StrCat("session ", i1->id(),
                         " was evicted to stay within the memory budget"));

  // The newest idle image goes before the oldest video: 900 - 500 + 300.
  auto i5 = Image(300);
  MustInsert(store, i5);
  Tick();
  EXPECT_FALSE(Live(store, i4->id()));
  EXPECT_TRUE(Live(store, v1->id()));
  EXPECT_EQ(store.Stats().bytes_held, 700);

  // With every image busy, videos go, least recently used first. v1 was
  // looked up last above, so v2 is now the LRU video.
  ASSERT_TRUE(i5->BeginExclusive("segment").ok());
  ASSERT_TRUE(store.Lookup(v1->id()).ok());
  Tick();
  auto v3 = Video(350);  // needs held <= 650: evicting v2 (100) → 600
  MustInsert(store, v3);
  EXPECT_FALSE(Live(store, v2->id()));
  EXPECT_TRUE(Live(store, v1->id()));
  EXPECT_EQ(store.Stats().bytes_held, 950);
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/evicted"), 3);
  EXPECT_EQ(store.Stats().removed_by_reason.at("video/evicted"), 1);
  i3->EndExclusive();
  i5->EndExclusive();
}

TEST_F(SessionStoreTest, InfeasibleInsertEvictsNothing) {
  SessionStore store(Options(100, /*max_bytes=*/1000), kInstance, &clock_);
  auto busy = Video(900);
  auto idle = Image(50);
  MustInsert(store, busy);
  MustInsert(store, idle);
  ASSERT_TRUE(busy->BeginExclusive("propagate").ok());
  absl::StatusOr<std::string> id = store.Insert(Image(200), 0);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(id.status().message(),
            "memory budget: 900 B held by busy sessions + 200 B requested > "
            "1000 B");
  EXPECT_TRUE(Live(store, idle->id()));  // not sacrificed for nothing
  EXPECT_EQ(store.Stats().bytes_held, 950);
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/evicted"), 0);
  busy->EndExclusive();
}

TEST_F(SessionStoreTest, BothLimitsNamedWhenBothExceeded) {
  SessionStore store(Options(1, /*max_bytes=*/int64_t{3} << 30), kInstance,
                     &clock_);
  auto busy = Video(int64_t{2} << 30);
  MustInsert(store, busy);
  ASSERT_TRUE(busy->BeginExclusive("propagate").ok());
  absl::StatusOr<std::string> id =
      store.Insert(Image(int64_t{3} << 29), 0);  // 1.5 GiB
  EXPECT_EQ(id.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(id.status().message(),
            "session cap of 1 reached and every session is busy; memory "
            "budget: 2.0 GiB held by busy sessions + 1.5 GiB requested > 3.0 "
            "GiB");
  busy->EndExclusive();
}

TEST_F(SessionStoreTest, OversizeSessionRejectedWithoutEvicting) {
  SessionStore store(Options(100, /*max_bytes=*/1000), kInstance, &clock_);
  auto small = Image(10);
  MustInsert(store, small);
  absl::StatusOr<std::string> id = store.Insert(Video(1001), 0);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(id.status().message().find("more than the whole budget of 1000 B"),
            std::string::npos)
      << id.status();
  EXPECT_TRUE(Live(store, small->id()));
  EXPECT_EQ(store.size(), 1);
  // Exactly the budget fits (after evicting the small one).
  MustInsert(store, Video(1000));
  EXPECT_FALSE(Live(store, small->id()));
}

TEST_F(SessionStoreTest, InsertReapsExpiredBeforeEvicting) {
  SessionStore store(Options(/*max_sessions=*/2), kInstance, &clock_);
  auto old_image = Image();
  MustInsert(store, old_image);
  clock_.Advance(absl::Minutes(9));
  auto recent = Image();
  MustInsert(store, recent);
  clock_.Advance(absl::Minutes(1));  // old_image now idle for 10m
  MustInsert(store, Image());
  EXPECT_TRUE(Live(store, recent->id()));
  EXPECT_EQ(LookupStatus(store, old_image->id()).message(),
            absl::StrCat("session ", old_image->id(),
                         " expired (idle for more than 10m)"));
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/idle_expired"), 1);
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/evicted"), 0);
}

// ---- Expiry.

TEST_F(SessionStoreTest, IdleTtlAndTouch) {
  SessionStore store(Options(), kInstance, &clock_);
  auto s = Image();
  const std::string id = MustInsert(store, s);
  EXPECT_EQ(store.ExpireTime(*s), clock_.Now() + absl::Minutes(10));
  clock_.Advance(absl::Minutes(10) - absl::Nanoseconds(1));
  ASSERT_TRUE(store.Lookup(id).ok());  // refreshes
  EXPECT_EQ(store.ExpireTime(*s), clock_.Now() + absl::Minutes(10));
  clock_.Advance(absl::Minutes(10) - absl::Nanoseconds(1));
  EXPECT_EQ(store.Reap(), 0);
  ASSERT_TRUE(store.Lookup(id).ok());
  clock_.Advance(absl::Minutes(10));  // exactly the TTL: expired
  const absl::Status st = LookupStatus(store, id);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(),
            absl::StrCat("session ", id, " expired (idle for more than 10m)"));
  EXPECT_EQ(store.size(), 0);
  // Remembered: asking again gives the same answer.
  EXPECT_EQ(LookupStatus(store, id).message(), st.message());
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/idle_expired"), 1);
}

TEST_F(SessionStoreTest, AbsoluteTtlIsNotRefreshedByTouch) {
  SessionStore store(Options(), kInstance, &clock_);
  auto s = Video();
  const absl::Time t0 = clock_.Now();
  const std::string id = MustInsert(store, s);
  for (int i = 0; i < 23; ++i) {  // to 1h55m, touching every 5 minutes
    clock_.Advance(absl::Minutes(5));
    ASSERT_TRUE(store.Lookup(id).ok()) << i;
  }
  EXPECT_EQ(store.ExpireTime(*s), t0 + absl::Hours(2));
  clock_.Advance(absl::Minutes(5) - absl::Nanoseconds(1));
  ASSERT_TRUE(store.Lookup(id).ok());
  clock_.Advance(absl::Nanoseconds(1));
  const absl::Status st = LookupStatus(store, id);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(),
            absl::StrCat("session ", id, " expired (older than 2h)"));
  EXPECT_EQ(store.Stats().removed_by_reason.at("video/absolute_expired"), 1);
}

TEST_F(SessionStoreTest, ConfiguredTtlsAppearInMessages) {
  SessionStoreOptions options = Options();
  options.idle_ttl = absl::Seconds(90);
  options.absolute_ttl = absl::Minutes(30);
  SessionStore store(options, kInstance, &clock_);
  const std::string idle = MustInsert(store, Image());
  clock_.Advance(absl::Seconds(90));
  EXPECT_EQ(LookupStatus(store, idle).message(),
            absl::StrCat("session ", idle,
                         " expired (idle for more than 1m30s)"));
  const std::string old = MustInsert(store, Image());
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(absl::Minutes(1));
    store.Lookup(old).IgnoreError();
  }
  EXPECT_EQ(LookupStatus(store, old).message(),
            absl::StrCat("session ", old, " expired (older than 30m)"));
}

TEST_F(SessionStoreTest, BusySessionsDoNotExpireAndEndExclusiveIsAUse) {
  SessionStore store(Options(), kInstance, &clock_);
  auto s = Video();
  const std::string id = MustInsert(store, s);
  ASSERT_TRUE(s->BeginExclusive("propagate").ok());
  clock_.Advance(absl::Minutes(30));  // long operation, past the idle TTL
  EXPECT_EQ(store.Reap(), 0);
  // Expired but busy: still returned.
  absl::StatusOr<std::shared_ptr<Session>> found = store.Lookup(id);
  ASSERT_TRUE(found.ok()) << found.status();
  clock_.Advance(absl::Minutes(5));
  s->EndExclusive();  // the idle clock restarts here
  EXPECT_EQ(s->last_used(), clock_.Now());
  clock_.Advance(absl::Minutes(10) - absl::Nanoseconds(1));
  EXPECT_EQ(store.Reap(), 0);
  clock_.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(store.Reap(), 1);
  EXPECT_EQ(LookupStatus(store, id).message(),
            absl::StrCat("session ", id, " expired (idle for more than 10m)"));
}

TEST_F(SessionStoreTest, BusyPastAbsoluteTtlGoesWhenIdle) {
  SessionStore store(Options(), kInstance, &clock_);
  auto s = Video();
  const std::string id = MustInsert(store, s);
  ASSERT_TRUE(s->BeginExclusive("propagate").ok());
  clock_.Advance(absl::Hours(3));
  EXPECT_EQ(store.Reap(), 0);
  s->EndExclusive();
  EXPECT_EQ(store.Reap(), 1);
  EXPECT_EQ(LookupStatus(store, id).message(),
            absl::StrCat("session ", id, " expired (older than 2h)"));
}

TEST_F(SessionStoreTest, ReapCountsAndSkipsBusy) {
  SessionStore store(Options(), kInstance, &clock_);
  auto a = Image();
  MustInsert(store, a);
  clock_.Advance(absl::Minutes(3));
  auto b = Image();
  MustInsert(store, b);
  clock_.Advance(absl::Minutes(3));
  auto c = Video();
  MustInsert(store, c);
  auto d = Video();
  MustInsert(store, d);
  ASSERT_TRUE(d->BeginExclusive("propagate").ok());
  EXPECT_EQ(store.Reap(), 0);
  clock_.Advance(absl::Minutes(4));  // a: 10m idle
  EXPECT_EQ(store.Reap(), 1);
  EXPECT_EQ(store.Reap(), 0);
  clock_.Advance(absl::Minutes(6));  // b: 13m, c: 10m; d busy
  EXPECT_EQ(store.Reap(), 2);
  EXPECT_EQ(store.size(), 1);
  EXPECT_TRUE(Live(store, d->id()));
  d->EndExclusive();
}

// ---- NOT_FOUND messages.

TEST_F(SessionStoreTest, NotFoundMessagesSayWhichCase) {
  SessionStore store(Options(/*max_sessions=*/100), kInstance, &clock_);

  // Malformed: INVALID_ARGUMENT, from ParseSessionId.
  EXPECT_EQ(LookupStatus(store, "nonsense").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Remove("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.UpdateBytes("a-b").code(),
            absl::StatusCode::kInvalidArgument);

  // Another instance.
  const std::string foreign = NewSessionId("other7");
  absl::Status st = LookupStatus(store, foreign);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(),
            absl::StrCat("session ", foreign,
                         " was created by server instance other7, this is "
                         "instance inst1 (another replica, or before a "
                         "restart)"));
  EXPECT_EQ(store.Remove(foreign).message(), st.message());
  EXPECT_EQ(store.UpdateBytes(foreign).message(), st.message());

  // Never existed.
  const std::string unknown = NewSessionId(kInstance);
  st = LookupStatus(store, unknown);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), absl::StrCat("no session ", unknown));
  EXPECT_EQ(store.Remove(unknown).message(), st.message());

  // Deleted.
  const std::string deleted = MustInsert(store, Image());
  ASSERT_TRUE(store.Remove(deleted).ok());
  st = LookupStatus(store, deleted);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), absl::StrCat("session ", deleted, " was deleted"));
  EXPECT_EQ(store.Remove(deleted).message(), st.message());
  EXPECT_EQ(store.UpdateBytes(deleted).message(), st.message());

  // Shut down.
  const std::string shut = MustInsert(store, Video());
  store.Clear();
  EXPECT_EQ(LookupStatus(store, shut).message(),
            absl::StrCat("session ", shut,
                         " was removed because the server shut down"));
  // (Idle, absolute and eviction messages are checked in their own tests.)
}

TEST_F(SessionStoreTest, RemoveOfExpiredSessionReportsExpiry) {
  SessionStore store(Options(), kInstance, &clock_);
  const std::string id = MustInsert(store, Image());
  clock_.Advance(absl::Minutes(11));
  const absl::Status st = store.Remove(id);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(),
            absl::StrCat("session ", id, " expired (idle for more than 10m)"));
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/deleted"), 0);
  EXPECT_EQ(store.Stats().removed_by_reason.at("image/idle_expired"), 1);
}

TEST_F(SessionStoreTest, TombstonesAreBoundedFifo) {
  SessionStoreOptions options = Options();
  options.max_tombstones = 2;
  SessionStore store(options, kInstance, &clock_);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(MustInsert(store, Image()));
    ASSERT_TRUE(store.Remove(ids.back()).ok());
  }
  EXPECT_EQ(LookupStatus(store, ids[0]).message(),
            absl::StrCat("no session ", ids[0]));  // forgotten, oldest first
  EXPECT_EQ(LookupStatus(store, ids[1]).message(),
            absl::StrCat("session ", ids[1], " was deleted"));
  EXPECT_EQ(LookupStatus(store, ids[2]).message(),
            absl::StrCat("session ", ids[2], " was deleted"));

  options.max_tombstones = 0;
  SessionStore forgetful(options, kInstance, &clock_);
  const std::string id = MustInsert(forgetful, Image());
  ASSERT_TRUE(forgetful.Remove(id).ok());
  EXPECT_EQ(LookupStatus(forgetful, id).message(),
            absl::StrCat("no session ", id));
}

// ---- Stats.

TEST_F(SessionStoreTest, StatsCountByKindAndReason) {
  SessionStore store(Options(/*max_sessions=*/3), kInstance, &clock_);
  SessionStoreStats stats = store.Stats();
  EXPECT_EQ(stats.removed_by_reason.size(), 10u);
  for (const auto& [key, count] : stats.removed_by_reason) {
    EXPECT_EQ(count, 0) << key;
  }
  EXPECT_TRUE(stats.removed_by_reason.count("image/deleted"));
  EXPECT_TRUE(stats.removed_by_reason.count("video/shutdown"));

  const std::string img = MustInsert(store, Image(10));
  MustInsert(store, Video(20));
  ASSERT_TRUE(store.Remove(img).ok());           // image/deleted
  MustInsert(store, Image(30));
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(store.Reap(), 2);                    // video + image idle
  MustInsert(store, Video(1));
  MustInsert(store, Video(2));
  MustInsert(store, Video(3));
  MustInsert(store, Image(4));                   // evicts the LRU video
  stats = store.Stats();
  EXPECT_EQ(stats.live_image, 1);
  EXPECT_EQ(stats.live_video, 2);
  EXPECT_EQ(stats.bytes_held, 2 + 3 + 4);
  store.Clear();                                 // 1 image, 2 videos
  stats = store.Stats();
  EXPECT_EQ(stats.live_image, 0);
  EXPECT_EQ(stats.live_video, 0);
  EXPECT_EQ(stats.bytes_held, 0);
  const std::map<std::string, int64_t> expected = {
      {"image/deleted", 1},          {"image/idle_expired", 1},
      {"image/absolute_expired", 0}, {"image/evicted", 0},
      {"image/shutdown", 1},         {"video/deleted", 0},
      {"video/idle_expired", 1},     {"video/absolute_expired", 0},
      {"video/evicted", 1},          {"video/shutdown", 2},
  };
  EXPECT_EQ(stats.removed_by_reason, expected);
}

// ---- Removal of busy sessions.

TEST_F(SessionStoreTest, RemoveWhileBusy) {
  SessionStore store(Options(), kInstance, &clock_);
  auto s = Video(100);
  std::weak_ptr<Session> weak = s;
  const std::string id = MustInsert(store, s);
  ASSERT_TRUE(s->BeginExclusive("propagate").ok());

  ASSERT_TRUE(store.Remove(id).ok());
  EXPECT_EQ(store.size(), 0);
  EXPECT_EQ(store.Stats().bytes_held, 0);
  EXPECT_EQ(store.Stats().removed_by_reason.at("video/deleted"), 1);
  EXPECT_EQ(LookupStatus(store, id).message(),
            absl::StrCat("session ", id, " was deleted"));

  // The running operation still holds the session and finishes normally.
  EXPECT_TRUE(s->busy());
  EXPECT_EQ(s->NumBytes(), 100);
  s->EndExclusive();
  // Nothing new may start on it.
  const absl::Status again = s->BeginExclusive("segment");
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(again.message(), absl::StrCat("session ", id, " was deleted"));
  // The store kept no reference: the last holder frees it.
  s.reset();
  EXPECT_TRUE(weak.expired());
}

TEST_F(SessionStoreTest, EvictedBetweenLookupAndBeginExclusive) {
  SessionStore store(Options(/*max_sessions=*/1), kInstance, &clock_);
  const std::string id = MustInsert(store, Image());
  absl::StatusOr<std::shared_ptr<Session>> held = store.Lookup(id);
  ASSERT_TRUE(held.ok());
  // The request is queued on its worker; meanwhile another client's
  // session needs the slot.
  MustInsert(store, Image());
  const absl::Status st = (*held)->BeginExclusive("segment");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), absl::StrCat("session ", id,
                                       " was evicted to stay within the "
                                       "session cap"));
}

TEST_F(SessionStoreTest, ClearRemovesBusySessionsToo) {
  SessionStore store(Options(), kInstance, &clock_);
  auto busy = Video();
  MustInsert(store, busy);
  MustInsert(store, Image());
  ASSERT_TRUE(busy->BeginExclusive("propagate").ok());
  store.Clear();
  EXPECT_EQ(store.size(), 0);
  busy->EndExclusive();
  EXPECT_EQ(busy->BeginExclusive("x").code(), absl::StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, SessionOutlivingStoreAndClock) {
  std::shared_ptr<TestSession> s = Video();
  {
    auto clock = std::make_unique<FakeClock>();
    SessionStore store(Options(), kInstance, clock.get());
    MustInsert(store, s);
    ASSERT_TRUE(s->BeginExclusive("propagate").ok());
  }  // store, then clock, destroyed while the operation runs
  s->EndExclusive();  // must not read the destroyed clock
  const absl::Status st = s->BeginExclusive("x");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(st.message().find("shut down"), std::string::npos) << st;
}

// ---- UpdateBytes.

TEST_F(SessionStoreTest, UpdateBytesTracksGrowthAndShrinkage) {
  SessionStore store(Options(100, 1000), kInstance, &clock_);
  auto s = Video(100);
  const std::string id = MustInsert(store, s);
  s->set_bytes(400);
  ASSERT_TRUE(store.UpdateBytes(id).ok());
  EXPECT_EQ(store.Stats().bytes_held, 400);
  s->set_bytes(50);
  ASSERT_TRUE(store.UpdateBytes(id).ok());
  EXPECT_EQ(store.Stats().bytes_held, 50);
}

TEST_F(SessionStoreTest, UpdateBytesEvictsOthersInOrderNeverSelf) {
  SessionStore store(Options(100, 1000), kInstance, &clock_);
  auto v_old = Video(100);
  auto i_old = Image(100);
  auto i_new = Image(100);
  auto busy = Image(100);
  auto self = Video(100);
  for (auto& s : std::vector<std::shared_ptr<TestSession>>{v_old, i_old, i_new,
                                                           busy, self}) {
    MustInsert(store, s);
    Tick();
  }
  ASSERT_TRUE(busy->BeginExclusive("segment").ok());
  ASSERT_TRUE(self->BeginExclusive("add_prompts").ok());

  self->set_bytes(650);  // held 1050 → evict i_old (950) and stop
  ASSERT_TRUE(store.UpdateBytes(self->id()).ok());
  EXPECT_FALSE(Live(store, i_old->id()));
  EXPECT_TRUE(Live(store, i_new->id()));
  EXPECT_TRUE(Live(store, v_old->id()));
  EXPECT_EQ(store.Stats().bytes_held, 950);

  self->set_bytes(800);  // held 1100 → i_new (1000); videos untouched
  ASSERT_TRUE(store.UpdateBytes(self->id()).ok());
  EXPECT_FALSE(Live(store, i_new->id()));
  EXPECT_TRUE(Live(store, v_old->id()));

  self->set_bytes(850);  // held 1050 → only v_old left to evict (950)
  ASSERT_TRUE(store.UpdateBytes(self->id()).ok());
  EXPECT_FALSE(Live(store, v_old->id()));
  EXPECT_EQ(store.Stats().bytes_held, 950);

  // Still over after evicting everything evictable (busy 100 + self 1000):
  // RESOURCE_EXHAUSTED, the session itself stays, with its real size.
  self->set_bytes(1000);
  const absl::Status st = store.UpdateBytes(self->id());
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("memory budget: 1.1 KiB held > 1000 B"),
            std::string::npos)
      << st;
  EXPECT_TRUE(Live(store, self->id()));
  EXPECT_TRUE(Live(store, busy->id()));
  EXPECT_EQ(store.Stats().bytes_held, 1100);
  self->EndExclusive();
  // Idle now, but UpdateBytes still never evicts the session it updates.
  EXPECT_EQ(store.UpdateBytes(self->id()).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(Live(store, self->id()));
  busy->EndExclusive();
}

TEST_F(SessionStoreTest, WorkerBudgetEvictsOnlyThatWorkersSessions) {
  SessionStoreOptions options = Options(100, 10000);
  options.worker_max_bytes = {0, 300};  // worker 0: global budget only
  SessionStore store(options, kInstance, &clock_);
  auto cpu_old = Image(500);
  auto gpu_old = Image(100);
  auto gpu_busy = Image(100);
  auto gpu_new = Image(100);
  MustInsert(store, cpu_old, 0);
  Tick();
  MustInsert(store, gpu_old, 1);
  Tick();
  MustInsert(store, gpu_busy, 1);
  Tick();
  MustInsert(store, gpu_new, 1);
  Tick();
  ASSERT_TRUE(gpu_busy->BeginExclusive("segment").ok());
  EXPECT_EQ(store.Stats().bytes_by_worker, (std::map<int, int64_t>{{0, 500},
                                                                   {1, 300}}));
  EXPECT_EQ(store.Stats().sessions_by_worker,
            (std::map<int, int64_t>{{0, 1}, {1, 3}}));
  EXPECT_EQ(store.SessionsPerWorker(3), (std::vector<int64_t>{1, 3, 0}));

  // Worker 1 is full: its least recently used idle session goes, not worker
  // 0's older (and larger) one.
  auto gpu_next = Image(100);
  MustInsert(store, gpu_next, 1);
  EXPECT_FALSE(Live(store, gpu_old->id()));
  EXPECT_TRUE(Live(store, cpu_old->id()));
  EXPECT_EQ(LookupStatus(store, gpu_old->id()).message(),
            absl::StrCat("session ", gpu_old->id(),
                         " was evicted to stay within the memory budget"));
  // Worker 0 has room whatever worker 1 holds.
  MustInsert(store, Image(1000), 0);

  // More than worker 1's whole budget: refused, nothing evicted.
  absl::StatusOr<std::string> huge = store.Insert(Image(301), 1);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(huge.status().message(),
            "memory budget of worker 1: the session needs 301 B, more than "
            "the whole budget of 300 B");
  // Busy sessions on worker 1 leave too little even after evicting its idle
  // ones: refused, and the idle ones stay.
  ASSERT_TRUE(gpu_new->BeginExclusive("segment").ok());
  absl::StatusOr<std::string> refused = store.Insert(Image(150), 1);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find(
                "memory budget of worker 1: 200 B held by busy sessions + "
                "150 B requested > 300 B"),
            std::string::npos)
      << refused.status();
  EXPECT_TRUE(Live(store, gpu_next->id()));

  // Growth on worker 1 evicts its own idle sessions, then reports what is
  // still over.
  gpu_busy->set_bytes(150);
  ASSERT_TRUE(store.UpdateBytes(gpu_busy->id()).ok());  // 350 → evict next
  EXPECT_FALSE(Live(store, gpu_next->id()));
  EXPECT_TRUE(Live(store, cpu_old->id()));
  gpu_busy->set_bytes(250);
  const absl::Status over = store.UpdateBytes(gpu_busy->id());
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.message().find("memory budget of worker 1: 350 B held > "
                                "300 B after evicting its idle sessions"),
            std::string::npos)
      << over;
  EXPECT_EQ(store.Stats().bytes_by_worker.at(1), 350);
  gpu_new->EndExclusive();
  gpu_busy->EndExclusive();
  ASSERT_TRUE(store.Remove(gpu_busy->id()).ok());
  EXPECT_EQ(store.Stats().bytes_by_worker.at(1), 100);
  EXPECT_EQ(store.SessionsPerWorker(2), (std::vector<int64_t>{2, 1}));
}

TEST_F(SessionStoreTest, UpdateBytesDoesNotTouch) {
  SessionStore store(Options(), kInstance, &clock_);
  auto s = Image();
  const std::string id = MustInsert(store, s);
  const absl::Time t0 = s->last_used();
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(store.UpdateBytes(id).ok());
  EXPECT_EQ(s->last_used(), t0);
}

// ---- Concurrency (meaningful under --config=tsan).

TEST_F(SessionStoreTest, ConcurrentInsertLookupRemoveUpdateReap) {
  SessionStore store(Options(/*max_sessions=*/32, /*max_bytes=*/32 * 100),
                     kInstance, &clock_);
  constexpr int kThreads = 8;
  constexpr int kIterations = 400;
  std::vector<std::thread> threads;
  std::atomic<int> inserted{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<std::string> mine;
      for (int i = 0; i < kIterations; ++i) {
        const int op = static_cast<int>(rng() % 6);
        if (op <= 1 || mine.empty()) {
          auto s = (rng() % 2) ? Image(1 + rng() % 150) : Video(1 + rng() % 150);
          absl::StatusOr<std::string> id = store.Insert(s, t);
          if (id.ok()) {
            mine.push_back(*id);
            inserted.fetch_add(1);
          } else {
            EXPECT_EQ(id.status().code(), absl::StatusCode::kResourceExhausted);
          }
          continue;
        }
        const std::string& id = mine[rng() % mine.size()];
        if (op == 2) {
          absl::StatusOr<std::shared_ptr<Session>> s = store.Lookup(id);
          if (!s.ok()) {
            EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
            continue;
          }
          if ((*s)->BeginExclusive("op").ok()) {
            auto* ts = static_cast<TestSession*>(s->get());
            ts->set_bytes(1 + rng() % 200);
            const absl::Status u = store.UpdateBytes(id);
            EXPECT_TRUE(u.ok() || u.code() == absl::StatusCode::kNotFound ||
                        u.code() == absl::StatusCode::kResourceExhausted)
                << u;
            (*s)->EndExclusive();
          }
        } else if (op == 3) {
          const absl::Status r = store.Remove(id);
          EXPECT_TRUE(r.ok() || r.code() == absl::StatusCode::kNotFound) << r;
        } else if (op == 4) {
          store.CheckCapacity().IgnoreError();
          store.Stats();
        } else {
          store.Reap();
        }
      }
    });
  }
  // Time moves while they work, so expiry paths run too.
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) {
      clock_.Advance(absl::Seconds(7));
      store.Reap();
    }
  });
  for (std::thread& t : threads) t.join();

  EXPECT_GT(inserted.load(), 0);
  const SessionStoreStats stats = store.Stats();
  EXPECT_EQ(stats.live_image + stats.live_video, store.size());
  EXPECT_LE(store.size(), 32);
  int64_t removed = 0;
  for (const auto& [key, count] : stats.removed_by_reason) removed += count;
  EXPECT_EQ(removed + store.size(), inserted.load());
  store.Clear();
  EXPECT_EQ(store.Stats().bytes_held, 0);
  EXPECT_EQ(store.size(), 0);
}

// ---------------------------------------------------------------------------
// Tenants

SessionOwner Owner(const std::string& tenant, int64_t max_sessions = 0,
                   int64_t max_bytes = 0) {
  return SessionOwner{tenant, max_sessions, max_bytes};
}

TEST_F(SessionStoreTest, AnotherTenantsSessionLooksNeverToHaveExisted) {
  SessionStore store(Options(), kInstance, &clock_);
  auto s = Image();
  absl::StatusOr<std::string> id = store.Insert(s, 0, Owner("acme"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(s->tenant(), "acme");
  // A well-formed id of this instance that never existed, for comparison.
  const std::string never = NewSessionId(kInstance);
  const absl::Status never_status = store.Lookup(never, "labs").status();
  ASSERT_EQ(never_status.code(), absl::StatusCode::kNotFound);

  for (absl::string_view other : {"labs", ""}) {
    const absl::Status seen = store.Lookup(*id, other).status();
    EXPECT_EQ(seen.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(seen.message(), absl::StrCat("no session ", *id));
    const absl::Status removed = store.Remove(*id, other);
    EXPECT_EQ(removed.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(removed.message(), absl::StrCat("no session ", *id));
  }
  // Nothing happened to it: its owner still finds it.
  ASSERT_TRUE(store.Lookup(*id, "acme").ok());
  EXPECT_EQ(store.size(), 1);
  EXPECT_EQ(never_status.message(), absl::StrCat("no session ", never));
}

TEST_F(SessionStoreTest, TombstonesAreTenantScoped) {
  SessionStoreOptions options = Options();
  options.idle_ttl = absl::Minutes(1);
  SessionStore store(options, kInstance, &clock_);
  absl::StatusOr<std::string> deleted = store.Insert(Image(), 0, Owner("acme"));
  absl::StatusOr<std::string> expired = store.Insert(Image(), 0, Owner("acme"));
  ASSERT_TRUE(deleted.ok() && expired.ok());
  ASSERT_TRUE(store.Remove(*deleted, "acme").ok());
  clock_.Advance(absl::Minutes(2));
  // Not reaped yet: another tenant's lookup must neither reveal nor reap it.
  EXPECT_EQ(store.Lookup(*expired, "labs").status().message(),
            absl::StrCat("no session ", *expired));
  EXPECT_EQ(store.size(), 1);
  EXPECT_EQ(store.Reap(), 1);

  EXPECT_EQ(store.Lookup(*deleted, "labs").status().message(),
            absl::StrCat("no session ", *deleted));
  EXPECT_EQ(store.Lookup(*expired, "labs").status().message(),
            absl::StrCat("no session ", *expired));
  EXPECT_EQ(store.Remove(*deleted, "labs").message(),
            absl::StrCat("no session ", *deleted));
  // The owner is told why.
  EXPECT_EQ(store.Lookup(*deleted, "acme").status().message(),
            absl::StrCat("session ", *deleted, " was deleted"));
  EXPECT_EQ(store.Lookup(*expired, "acme").status().message(),
            absl::StrCat("session ", *expired,
                         " expired (idle for more than 1m)"));
}

TEST_F(SessionStoreTest, TenantSessionQuotaRefusesWithoutEvicting) {
  SessionStore store(Options(/*max_sessions=*/3), kInstance, &clock_);
  ASSERT_TRUE(store.Insert(Image(), 0, Owner("acme", 2)).ok());
  ASSERT_TRUE(store.Insert(Image(), 0, Owner("acme", 2)).ok());
  const absl::Status at_quota = store.CheckCapacity(Owner("acme", 2));
  EXPECT_EQ(at_quota.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(at_quota.message(),
            "tenant 'acme' session quota of 2 reached (delete a session or "
            "let one expire)");
  absl::StatusOr<std::string> third = store.Insert(Image(), 0, Owner("acme", 2));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().message(), at_quota.message());
  EXPECT_EQ(store.size(), 2);  // its idle sessions were not evicted
  // Another tenant is not held to acme's quota; over the global cap it
  // evicts the least recently used idle session, whoever's it is.
  EXPECT_TRUE(store.CheckCapacity(Owner("labs", 1)).ok());
  ASSERT_TRUE(store.Insert(Image(), 0, Owner("labs", 1)).ok());
  ASSERT_TRUE(store.Insert(Image(), 0, Owner("")).ok());
  const SessionStoreStats stats = store.Stats();
  EXPECT_EQ(stats.by_tenant.at("acme").sessions, 1);
  EXPECT_EQ(stats.by_tenant.at("labs").sessions, 1);
  EXPECT_EQ(stats.by_tenant.at("").sessions, 1);
  // Under quota again after the eviction.
  EXPECT_TRUE(store.CheckCapacity(Owner("acme", 2)).ok());
}

TEST_F(SessionStoreTest, TenantMemoryQuotaAtInsertAndUpdateBytes) {
  SessionStore store(Options(100, 1 << 20), kInstance, &clock_);
  auto a = Image(300);
  auto b = Image(300);
  ASSERT_TRUE(store.Insert(a, 0, Owner("acme", 0, 1000)).ok());
  Tick();
  ASSERT_TRUE(store.Insert(b, 0, Owner("acme", 0, 1000)).ok());
  Tick();
  auto other = Image(5000);  // another tenant's; the global budget is larger
  ASSERT_TRUE(store.Insert(other, 0, Owner("labs")).ok());
  absl::StatusOr<std::string> big = store.Insert(Image(500), 0,
                                                 Owner("acme", 0, 1000));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(big.status().message(),
            "tenant 'acme' memory quota: 600 B held + 500 B requested > "
            "1000 B");
  EXPECT_EQ(store.size(), 3);

  // b grows past the quota: acme's own idle session a goes, labs's stays.
  b->set_bytes(800);
  ASSERT_TRUE(store.UpdateBytes(b->id()).ok());
  EXPECT_FALSE(store.Lookup(a->id(), "acme").ok());
  EXPECT_TRUE(store.Lookup(other->id(), "labs").ok());
  EXPECT_EQ(store.Stats().by_tenant.at("acme").bytes, 800);
  // Beyond what evicting its own sessions can fix: the error names it.
  b->set_bytes(1200);
  const absl::Status over = store.UpdateBytes(b->id());
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(over.message(),
            absl::StrCat("tenant 'acme' memory quota: 1.2 KiB held > 1000 B "
                         "after evicting its idle sessions (session ",
                         b->id(), " holds 1.2 KiB)"));
  EXPECT_TRUE(store.Lookup(other->id(), "labs").ok());
  ASSERT_TRUE(store.Lookup(b->id(), "acme").ok());
}

}  // namespace
}  // namespace sam2
