// sam2_loadtest: a load generator for the sam2.v1 service (ghz /
// perf_analyzer style). `sam2_loadtest --help` for the options.

#include <atomic>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "client/loadtest/loadtest_command.h"

namespace {

std::atomic<bool> g_interrupted{false};

// First Ctrl-C / SIGTERM: stop the run, cancel what is outstanding, delete
// the sessions and report. A second one: the default action (exit now).
extern "C" void OnSignal(int sig) {
  g_interrupted.store(true);
  std::signal(sig, SIG_DFL);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  const std::vector<std::string> args(argv + 1, argv + argc);
  return sam2::loadtest::RunLoadtest(args, std::cout, std::cerr,
                                     &g_interrupted);
}
