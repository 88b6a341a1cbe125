// Clock: the source of "now" for everything in session/ that expires.
//
// Session expiry (idle and absolute TTLs) is time-driven; injecting the clock
// lets tests move time forward explicitly instead of sleeping, so they stay
// fast and deterministic (the Envoy pattern: hermetic tests, injected clock).
//
// Ownership: RealClock() is a process-wide singleton that is never destroyed
// (it holds no state, so it is not "global mutable state"); a FakeClock is
// owned by the test that creates it and must outlive every user.
// Thread-safety: both implementations are safe to call from any thread.
//
// Locking in session/ uses std::mutex, not absl::Mutex: Debian's Abseil is
// not built with ThreadSanitizer, so tsan cannot see absl::Mutex's
// happens-before edges and --config=tsan would report only false races
// (server/worker_pool.h made the same choice). std::mutex is pthread
// underneath, which tsan intercepts.

#ifndef SAM2_SESSION_CLOCK_H_
#define SAM2_SESSION_CLOCK_H_

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace sam2 {

class Clock {
 public:
  virtual ~Clock();
  // The current time. Implementations must be thread-safe.
  virtual absl::Time Now() const = 0;
};

// The wall clock (absl::Now()). Process-wide, never null, never deleted.
Clock* RealClock();

// A clock that only moves when told to. Thread-safe: a test may advance it
// while other threads (a reaper, request threads) read it.
class FakeClock : public Clock {
 public:
  // The default start is an arbitrary, clearly-not-now instant well away from
  // the epoch, so "zero" times in buggy code do not accidentally look valid.
  explicit FakeClock(absl::Time start = absl::UnixEpoch() + absl::Hours(1000));

  absl::Time Now() const override;

  // Moves time forward by `d` (a negative `d` moves it back; tests of expiry
  // normally only move forward).
  void Advance(absl::Duration d);
  // Jumps to `t`.
  void Set(absl::Time t);

 private:
  mutable std::mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sam2

#endif  // SAM2_SESSION_CLOCK_H_
