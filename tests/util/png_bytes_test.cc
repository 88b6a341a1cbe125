// The hand-made PNG bytes: chunk layout and CRC (checked against the IEND
// chunk every PNG ends with), and a header-only file whose size the image
// reader reads back without decoding.

#include "tests/util/png_bytes.h"

#include "gtest/gtest.h"
#include "model/image_io.h"

namespace sam2 {
namespace {

TEST(PngBytesTest, ChunkHasLengthTypeDataAndCrc) {
  // Every PNG's IEND chunk is these 12 bytes (CRC 0xAE426082).
  EXPECT_EQ(PngChunk("IEND", ""),
            std::string("\0\0\0\0IEND\xAE\x42\x60\x82", 12));
  EXPECT_EQ(PngChunk("abcd", "xyz").substr(0, 11),
            std::string("\0\0\0\x03" "abcdxyz", 11));
}

TEST(PngBytesTest, HeaderOnlyReportsItsSizeWithoutPixels) {
  const std::string png = PngHeaderOnly(300, 200);
  absl::StatusOr<ImageHeaderInfo> info = InspectImage(png);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, ImageFormat::kPng);
  EXPECT_EQ(info->width, 300);
  EXPECT_EQ(info->height, 200);
  EXPECT_FALSE(DecodeImage(png).ok());  // no pixel data
}

}  // namespace
}  // namespace sam2
