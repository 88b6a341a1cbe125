#include "tests/golden/xz_file.h"

#include <lzma.h>

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace sam2 {

absl::StatusOr<std::string> ReadXzFile(const std::string& path,
                                       int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const std::string packed((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
  lzma_stream stream = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&stream, UINT64_MAX, 0) != LZMA_OK) {
    return absl::InternalError("cannot start an xz decoder");
  }
  std::string out;
  stream.next_in = reinterpret_cast<const uint8_t*>(packed.data());
  stream.avail_in = packed.size();
  char chunk[1 << 16];
  lzma_ret ret = LZMA_OK;
  while (ret == LZMA_OK) {
    stream.next_out = reinterpret_cast<uint8_t*>(chunk);
    stream.avail_out = sizeof(chunk);
    ret = lzma_code(&stream, LZMA_FINISH);
    out.append(chunk, sizeof(chunk) - stream.avail_out);
    if (static_cast<int64_t>(out.size()) > max_bytes) {
      lzma_end(&stream);
      return absl::ResourceExhaustedError(absl::StrCat(
          path, " decompresses to more than ", max_bytes, " bytes"));
    }
  }
  lzma_end(&stream);
  if (ret != LZMA_STREAM_END) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a complete .xz stream (liblzma error ",
                     static_cast<int>(ret), ")"));
  }
  return out;
}

}  // namespace sam2
