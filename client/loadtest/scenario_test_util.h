// Test helper: collects a scenario's outcomes and waits for them.

#ifndef SAM2_CLIENT_LOADTEST_SCENARIO_TEST_UTIL_H_
#define SAM2_CLIENT_LOADTEST_SCENARIO_TEST_UTIL_H_

#include <condition_variable>
#include <mutex>
#include <vector>

#include "client/loadtest/scenario.h"

namespace sam2::loadtest {

class OutcomeCollector {
 public:
  DoneCallback Callback() {
    return [this](Outcome o) {
      std::lock_guard<std::mutex> lock(mu_);
      outcomes_.push_back(std::move(o));
      cv_.notify_all();
    };
  }

  // The outcomes once `n` have arrived (fewer after 30 s: the test fails on
  // the count).
  std::vector<Outcome> Wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30),
                 [&] { return outcomes_.size() >= n; });
    return outcomes_;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Outcome> outcomes_;
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_SCENARIO_TEST_UTIL_H_
