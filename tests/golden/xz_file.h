// ReadXzFile: the decompressed contents of an .xz file (liblzma), for the
// golden runner, which reads a fixture's expected tensors from `X` or, as
// the repository stores them, from `X.xz` (tests/fixtures/xz_files.bzl).
//
// Bounded: output beyond `max_bytes` is refused rather than allocated, so a
// corrupt or hostile file cannot exhaust memory. Thread-safe (no state).

#ifndef SAM2_TESTS_GOLDEN_XZ_FILE_H_
#define SAM2_TESTS_GOLDEN_XZ_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace sam2 {

// The largest decompressed file read by default (the fixtures' largest is
// under 10 MB; full-size fixtures' under 200 MB).
inline constexpr int64_t kMaxXzOutputBytes = int64_t{1} << 30;

// NOT_FOUND when the file cannot be opened; INVALID_ARGUMENT for data that
// is not a complete .xz stream; RESOURCE_EXHAUSTED past `max_bytes`.
absl::StatusOr<std::string> ReadXzFile(const std::string& path,
                                       int64_t max_bytes = kMaxXzOutputBytes);

}  // namespace sam2

#endif  // SAM2_TESTS_GOLDEN_XZ_FILE_H_
