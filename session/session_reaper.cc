// SessionReaper: periodic SessionStore::Reap() on a thread that stops
// promptly. See session_reaper.h.

#include "session/session_reaper.h"

#include <algorithm>
#include <chrono>

namespace sam2 {
namespace {

// A duration std::condition_variable can add to steady_clock::now() without
// overflowing (absl::InfiniteDuration() and the like become ~100 years).
std::chrono::nanoseconds ToWaitDuration(absl::Duration d) {
  const absl::Duration capped =
      std::clamp(d, absl::ZeroDuration(), absl::Hours(24 * 365 * 100));
  return absl::ToChronoNanoseconds(capped);
}

}  // namespace

SessionReaper::SessionReaper(SessionStore* store, absl::Duration interval)
    : store_(store),
      interval_(std::max(interval, absl::Milliseconds(1))),
      thread_([this] { Run(); }) {}

SessionReaper::~SessionReaper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();  // wakes the wait in Run at once
  thread_.join();
}

void SessionReaper::Run() {
  const std::chrono::nanoseconds interval = ToWaitDuration(interval_);
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Returns as soon as stop_ is set, else after the interval (spurious
      // wake-ups are absorbed by the predicate).
      if (changed_.wait_for(lock, interval, [this]() { return stop_; })) {
        return;
      }
    }
    // Not under mu_: Reap takes the store's mutex, and passes() callers
    // should not wait behind it.
    const int64_t removed = store_->Reap();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++passes_;
      reaped_ += removed;
    }
    changed_.notify_all();
  }
}

int64_t SessionReaper::passes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return passes_;
}

int64_t SessionReaper::reaped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reaped_;
}

bool SessionReaper::WaitForPasses(int64_t n, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, ToWaitDuration(timeout),
                           [this, n]() { return passes_ >= n; });
}

}  // namespace sam2
