// PropagateScenario: video tracking streams. Setup uploads the frames into
// `sessions` video sessions (CreateVideoSession, one frame per message) and
// clicks one object on frame 0 of each (AddPrompts). Each request is one
// PropagateVideo stream over a free session, read to the end: its latency
// is the whole stream; time to first mask and the gaps between frames are
// recorded too.
//
// A session tracks one stream at a time (the server answers ABORTED to a
// second), so sessions are checked out: a request that finds none free
// waits, client-side, for the next one released — its latency includes that
// wait. Closed loop sizes the pool to the concurrency, so nothing waits.

#ifndef SAM2_CLIENT_LOADTEST_PROPAGATE_SCENARIO_H_
#define SAM2_CLIENT_LOADTEST_PROPAGATE_SCENARIO_H_

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "client/loadtest/scenario.h"

namespace sam2::loadtest {

class PropagateScenario : public Scenario {
 public:
  // `frames`: JPEG/PNG bytes of each frame, in order (>= 1). `max_frames`:
  // per stream, 0 for the whole video.
  PropagateScenario(ScenarioEnv env, std::vector<std::string> frames,
                    int sessions, int max_frames);

  ScenarioKind kind() const override { return ScenarioKind::kPropagate; }
  bool streaming() const override { return true; }
  absl::Status Setup() override;
  void Start(Clock::time_point issued, DoneCallback done) override;
  void CancelAll() override;
  CleanupResult Cleanup() override;
  std::string SetupSummary() const override;

  const std::vector<std::string>& session_names() const { return names_; }

 private:
  class Call;
  struct Waiter {
    Clock::time_point issued;
    DoneCallback done;
  };

  absl::Status SetUpOne(int index);
  void Launch(const std::string& session, Clock::time_point issued,
              DoneCallback done);
  // Gives `session` back, or straight to the oldest waiter.
  void Release(const std::string& session);

  ScenarioEnv env_;
  std::vector<std::string> frames_;
  int sessions_;
  int max_frames_;
  std::vector<std::string> names_;
  int width_ = 0;
  int height_ = 0;
  CallTracker calls_;

  std::mutex mu_;
  std::vector<std::string> free_;
  std::deque<Waiter> waiters_;
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_PROPAGATE_SCENARIO_H_
