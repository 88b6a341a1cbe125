// SegmentScenario: the interactive click. Setup creates `sessions` image
// sessions from one image (the embedding is computed once per session);
// each request is a Segment call with one random foreground click inside
// the image on the next session (round-robin), so only the prompt encoder
// and mask decoder run on the server.

#ifndef SAM2_CLIENT_LOADTEST_SEGMENT_SCENARIO_H_
#define SAM2_CLIENT_LOADTEST_SEGMENT_SCENARIO_H_

#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "client/loadtest/scenario.h"

namespace sam2::loadtest {

class SegmentScenario : public Scenario {
 public:
  // `image` is JPEG/PNG bytes; `sessions` >= 1.
  SegmentScenario(ScenarioEnv env, std::string image, int sessions);

  ScenarioKind kind() const override { return ScenarioKind::kSegment; }
  absl::Status Setup() override;
  void Start(Clock::time_point issued, DoneCallback done) override;
  void CancelAll() override { calls_.CancelAll(); }
  CleanupResult Cleanup() override;
  std::string SetupSummary() const override;

  const std::vector<std::string>& session_names() const { return names_; }

 private:
  struct Target {
    std::string name;
    int width = 0;
    int height = 0;
  };

  ScenarioEnv env_;
  std::string image_;
  int sessions_;
  std::vector<Target> targets_;
  std::vector<std::string> names_;
  std::atomic<uint64_t> next_{0};
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
  CallTracker calls_;
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_SEGMENT_SCENARIO_H_
