#include "tests/golden/xz_file.h"

#include <gtest/gtest.h>
#include <lzma.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace sam2 {
namespace {

std::string Compress(const std::string& data) {
  std::string out(lzma_stream_buffer_bound(data.size()), '\0');
  size_t used = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(
                6, LZMA_CHECK_CRC64, nullptr,
                reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                reinterpret_cast<uint8_t*>(out.data()), &used, out.size()),
            LZMA_OK);
  out.resize(used);
  return out;
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(XzFileTest, RoundTripsLargerThanOneChunk) {
  std::string data;
  for (int i = 0; i < 200000; ++i) data += static_cast<char>((i * 7919) % 251);
  const std::string path = WriteTemp("data.xz", Compress(data));
  absl::StatusOr<std::string> read = ReadXzFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);
}

TEST(XzFileTest, RefusesMissingTruncatedAndOversizedInput) {
  EXPECT_EQ(ReadXzFile("/nonexistent/file.xz").status().code(),
            absl::StatusCode::kNotFound);
  const std::string packed = Compress(std::string(100000, 'a'));
  const std::string truncated =
      WriteTemp("truncated.xz", packed.substr(0, packed.size() / 2));
  EXPECT_EQ(ReadXzFile(truncated).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string whole = WriteTemp("whole.xz", packed);
  EXPECT_EQ(ReadXzFile(whole, /*max_bytes=*/1000).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sam2
