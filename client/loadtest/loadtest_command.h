// The load tester end to end: parse the command line, connect, set up the
// scenarios' sessions, run each load level, delete the sessions, report.
// The `sam2_loadtest` binary is a thin main() around RunLoadtest; a `sam2
// loadtest` subcommand can call the same function.

#ifndef SAM2_CLIENT_LOADTEST_LOADTEST_COMMAND_H_
#define SAM2_CLIENT_LOADTEST_LOADTEST_COMMAND_H_

#include <atomic>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/loadtest/loadtest_options.h"
#include "client/loadtest/report.h"

namespace sam2::loadtest {

// Runs every level of `options` against options.server and returns what
// was measured; progress and warnings go to `log`. Sessions created are
// deleted before it returns, on failure too. `interrupt` (may be null)
// stops the run early (what was measured so far is still reported).
absl::StatusOr<RunReport> RunLoad(const LoadtestOptions& options,
                                  std::ostream& log,
                                  const std::atomic<bool>* interrupt);

// The command: `args` exclude the program name. The table goes to `out`,
// progress and errors to `err`; --json and --plot files are written.
// Returns the exit status: 0 done, 1 failed (connection, setup, cleanup,
// output files), 2 bad command line.
int RunLoadtest(const std::vector<std::string>& args, std::ostream& out,
                std::ostream& err, const std::atomic<bool>* interrupt = nullptr);

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_LOADTEST_COMMAND_H_
