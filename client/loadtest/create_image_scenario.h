// CreateImageScenario: encoder throughput. Each request is one
// CreateImageSession with the same image; when it succeeds the session is
// deleted at once (DeleteSession, asynchronous, not measured), so a run
// holds at most `concurrency` sessions on the server. Cleanup waits for
// those deletions.
//
// A call that fails client-side (DEADLINE_EXCEEDED) after the server
// created its session leaves that session to the server's idle TTL: the
// client never learns its name.

#ifndef SAM2_CLIENT_LOADTEST_CREATE_IMAGE_SCENARIO_H_
#define SAM2_CLIENT_LOADTEST_CREATE_IMAGE_SCENARIO_H_

#include <condition_variable>
#include <mutex>
#include <string>

#include "client/loadtest/scenario.h"

namespace sam2::loadtest {

class CreateImageScenario : public Scenario {
 public:
  CreateImageScenario(ScenarioEnv env, std::string image);
  ~CreateImageScenario() override;

  ScenarioKind kind() const override { return ScenarioKind::kCreateImage; }
  absl::Status Setup() override;
  void Start(Clock::time_point issued, DoneCallback done) override;
  void CancelAll() override { calls_.CancelAll(); }
  CleanupResult Cleanup() override;
  std::string SetupSummary() const override;

 private:
  void DeleteAsync(const std::string& name);

  ScenarioEnv env_;
  std::string image_;
  CallTracker calls_;

  std::mutex mu_;
  std::condition_variable deletes_done_;
  int pending_deletes_ = 0;
  CleanupResult deletes_;
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_CREATE_IMAGE_SCENARIO_H_
