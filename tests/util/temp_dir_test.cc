// FreshTempDir: under TEST_TMPDIR, created, and emptied when reused.

#include "tests/util/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

namespace fs = std::filesystem;

TEST(FreshTempDirTest, CreatesAnEmptyDirectoryUnderTestTmpdir) {
  const std::string dir = FreshTempDir("fresh");
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(dir.rfind(std::getenv("TEST_TMPDIR"), 0), 0u) << dir;
  std::ofstream(dir + "/leftover") << "x";
  ASSERT_TRUE(fs::exists(dir + "/leftover"));
  EXPECT_EQ(FreshTempDir("fresh"), dir);
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace
}  // namespace sam2
