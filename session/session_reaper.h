// SessionReaper: a background thread that calls SessionStore::Reap() every
// `interval`, so expired sessions release their memory even when nobody
// looks them up (Triton's idle-sequence reaper).
//
// Stopping is prompt: the thread waits on a condition variable with a
// timeout rather than sleeping, so the destructor wakes it at once and joins
// it — server shutdown is never delayed by up to an interval.
//
// Ownership: the store is not owned and must outlive the reaper. The reaper
// owns its thread. Thread-safety: passes(), reaped() and WaitForPasses() may
// be called from any thread; construct and destroy from one thread.
// (std::mutex/condition_variable rather than absl::Mutex: see clock.h.)

#ifndef SAM2_SESSION_SESSION_REAPER_H_
#define SAM2_SESSION_SESSION_REAPER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "session/session_store.h"

namespace sam2 {

class SessionReaper {
 public:
  // Starts the thread; the first pass runs one `interval` from now (real
  // time: the reaper's period is not the store's clock, so a FakeClock store
  // is still reaped). Intervals below 1 ms are raised to 1 ms (a zero
  // interval would spin).
  SessionReaper(SessionStore* store, absl::Duration interval);
  // Wakes the thread, waits for a pass in progress to finish, joins.
  ~SessionReaper();
  SessionReaper(const SessionReaper&) = delete;
  SessionReaper& operator=(const SessionReaper&) = delete;

  // Completed Reap() calls, and the sessions they removed in total.
  int64_t passes() const;
  int64_t reaped() const;

  // Blocks until at least `n` passes have completed or `timeout` (real time)
  // has passed; returns whether `n` were reached. For tests and for shutdown
  // diagnostics; the effect of pass n is visible in the store on return.
  bool WaitForPasses(int64_t n, absl::Duration timeout) const;

 private:
  void Run();

  SessionStore* const store_;
  const absl::Duration interval_;

  mutable std::mutex mu_;
  // Signalled when stop_ is set (wakes Run) and after each pass (wakes
  // WaitForPasses).
  mutable std::condition_variable changed_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t passes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reaped_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread thread_;  // last: starts after everything above is ready
};

}  // namespace sam2

#endif  // SAM2_SESSION_SESSION_REAPER_H_
