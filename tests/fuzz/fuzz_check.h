// Invariant checks for the libFuzzer harnesses (run_fuzzer.sh builds them
// with clang++ outside Bazel). A broken invariant prints what broke and
// aborts, which libFuzzer reports as a crash and saves the input for.
// Header-only, so a harness needs nothing beyond its parser's sources.
// Thread-safety: stateless.

#ifndef SAM2_TESTS_FUZZ_FUZZ_CHECK_H_
#define SAM2_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sam2::fuzz {

[[noreturn]] inline void Fail(absl::string_view what, const char* file,
                              int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %.*s\n", file, line,
               static_cast<int>(what.size()), what.data());
  std::abort();
}

// A parser's answer to bytes it refuses: INVALID_ARGUMENT with a message
// (DESIGN.md: malformed input is INVALID_ARGUMENT; anything else, INTERNAL
// above all, would tell a client that the server failed).
inline void CheckRejection(const absl::Status& status, const char* file,
                           int line) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Fail(std::string("a rejection that is not INVALID_ARGUMENT: ") +
             status.ToString(),
         file, line);
  }
  if (status.message().empty()) Fail("a rejection without a message", file, line);
}

}  // namespace sam2::fuzz

#define SAM2_FUZZ_CHECK(condition, what)                          \
  do {                                                            \
    if (!(condition)) ::sam2::fuzz::Fail(what, __FILE__, __LINE__); \
  } while (0)

#define SAM2_FUZZ_CHECK_REJECTION(status) \
  ::sam2::fuzz::CheckRejection((status), __FILE__, __LINE__)

#endif  // SAM2_TESTS_FUZZ_FUZZ_CHECK_H_
