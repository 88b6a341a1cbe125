// A fresh, empty directory for a test: $TEST_TMPDIR/<name> (Bazel gives each
// test its own TEST_TMPDIR), or /tmp/<name> outside Bazel; whatever was there
// before is removed. Thread-safety: not for concurrent calls with one name.

#ifndef SAM2_TESTS_UTIL_TEMP_DIR_H_
#define SAM2_TESTS_UTIL_TEMP_DIR_H_

#include <string>

namespace sam2 {

std::string FreshTempDir(const std::string& name);

}  // namespace sam2

#endif  // SAM2_TESTS_UTIL_TEMP_DIR_H_
