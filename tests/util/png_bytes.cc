#include "tests/util/png_bytes.h"

#include <zlib.h>

#include "absl/strings/str_cat.h"

namespace sam2 {

std::string PngBe32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>((value >> (24 - 8 * i)) & 0xFF);
  }
  return out;
}

std::string PngChunk(absl::string_view type, absl::string_view data) {
  const std::string body = absl::StrCat(type, data);
  const uLong crc =
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()),
            static_cast<uInt>(body.size()));
  return absl::StrCat(PngBe32(static_cast<uint32_t>(data.size())), body,
                      PngBe32(static_cast<uint32_t>(crc)));
}

std::string PngSignature() { return std::string("\x89PNG\r\n\x1a\n", 8); }

std::string PngHeaderOnly(uint32_t width, uint32_t height) {
  return absl::StrCat(
      PngSignature(),
      PngChunk("IHDR", absl::StrCat(PngBe32(width), PngBe32(height),
                                    std::string("\x08\x02\x00\x00\x00", 5))),
      PngChunk("IEND", ""));
}

}  // namespace sam2
