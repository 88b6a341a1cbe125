// Clock implementations: the real wall clock and the test FakeClock.
// See clock.h for ownership and thread-safety.

#include "session/clock.h"

#include "absl/time/clock.h"

namespace sam2 {
namespace {

class RealClockImpl : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock::~Clock() = default;

Clock* RealClock() {
  // Leaked on purpose: a function-local static that is never destroyed cannot
  // be used after destruction by threads still running at exit.
  static Clock* const clock = new RealClockImpl;
  return clock;
}

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void FakeClock::Advance(absl::Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

void FakeClock::Set(absl::Time t) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = t;
}

}  // namespace sam2
