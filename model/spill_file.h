// SpillFile: an append-only scratch file for tensors a video state keeps but
// rarely reads (long-video mode moves old frames' mask logits here), so the
// state's memory stays bounded however long the video.
//
// The file is created in a directory of the caller's choosing and unlinked
// at once: it has no name, and the space returns to the file system when the
// SpillFile is destroyed (or the process dies). Space is never reused; a
// tensor written again takes new space. Not thread-safe: owned by one video
// state, used under its serialisation.

#ifndef SAM2_MODEL_SPILL_FILE_H_
#define SAM2_MODEL_SPILL_FILE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sam2 {

// Where one tensor lies in a SpillFile.
struct SpillRef {
  int64_t offset = 0;
  int64_t nbytes = 0;
  std::vector<int64_t> shape;
  at::ScalarType dtype = at::kFloat;
};

class SpillFile {
 public:
  // A new unnamed file in `dir` (empty: $TMPDIR, else /tmp).
  static absl::StatusOr<std::unique_ptr<SpillFile>> Create(
      const std::string& dir = "");
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // Appends a tensor's values (any layout; a device tensor is copied to
  // the host first).
  absl::StatusOr<SpillRef> Write(const at::Tensor& t);
  // Reads a tensor written earlier.
  absl::StatusOr<at::Tensor> Read(const SpillRef& ref) const;

  int64_t bytes_written() const { return end_; }

 private:
  explicit SpillFile(int fd) : fd_(fd) {}
  int fd_;
  int64_t end_ = 0;
};

}  // namespace sam2

#endif  // SAM2_MODEL_SPILL_FILE_H_
