// Hand-made PNG bytes for tests of image decoding limits: chunks with
// correct CRCs, and a file that is nothing but a header claiming a size
// (signature, IHDR, IEND — no pixel data), so a test can tell a check made
// from the header apart from a failed decode. Test-only.
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_TESTS_UTIL_PNG_BYTES_H_
#define SAM2_TESTS_UTIL_PNG_BYTES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sam2 {

// Big-endian 4 bytes, as PNG stores lengths and sizes.
std::string PngBe32(uint32_t value);

// One chunk: length, type, data, CRC-32 of type + data (zlib's crc32).
std::string PngChunk(absl::string_view type, absl::string_view data);

// The 8-byte PNG signature.
std::string PngSignature();

// Signature + IHDR claiming width x height, 8-bit RGB + IEND.
std::string PngHeaderOnly(uint32_t width, uint32_t height);

}  // namespace sam2

#endif  // SAM2_TESTS_UTIL_PNG_BYTES_H_
