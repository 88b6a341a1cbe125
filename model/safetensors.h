// Safetensors: reads and writes the safetensors checkpoint format
// (https://github.com/huggingface/safetensors) with LibTorch tensors.
//
// Mirrors the reference's `safetensors.torch.load_file` / `save_file`, the
// second checkpoint format beside torch.save's zip archives (DESIGN.md).
// Layout: an 8-byte little-endian u64 header length N, N bytes of JSON header
// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
//   ..., "__metadata__": {"key": "value"}}` (optionally padded with trailing
// spaces), then the data buffer that the tensors' byte ranges tile exactly.
//
// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
//
// Reading validates the header strictly (sane length, one JSON object, each
// entry exactly {dtype, shape, data_offsets} with the right types, a known
// dtype, non-negative dims without overflow, ranges matching the shape, inside
// the buffer, neither overlapping nor leaving holes); every error names the
// offending tensor. All failures are statuses; nothing throws or aborts.
// Read tensors own their memory (copied out of the input) and keep the
// header's order. Writing emits tensors in StateDict order, data packed in
// that order, the header padded with spaces to a multiple of 8 bytes.
//
// Deliberate differences from the reference: the writer does not sort
// tensors by dtype alignment (readers copy, so alignment does not matter to
// us), and the reader rejects BOOL bytes other than 0 and 1.
//
// Thread-safety: all functions are free functions without shared state and
// may be called concurrently. Concurrent writes to one path each use their
// own temporary file; the last rename wins.

#ifndef SAM2_MODEL_SAFETENSORS_H_
#define SAM2_MODEL_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/state_dict.h"

namespace sam2 {

// Largest JSON header accepted on read (the reference uses the same bound).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// The whole content of a safetensors file.
struct SafetensorsContents {
  StateDict tensors;
  // The header's optional "__metadata__" string map (empty when absent).
  std::map<std::string, std::string> metadata;
};

// Reads the file at `path`. NOT_FOUND when it does not exist, another errno
// code when it cannot be opened or read, INVALID_ARGUMENT when it is not a
// valid safetensors file.
absl::StatusOr<SafetensorsContents> ReadSafetensorsWithMetadata(
    const std::string& path);
absl::StatusOr<StateDict> ReadSafetensors(const std::string& path);

// Parses an in-memory safetensors file. The tensors own copies of the data;
// `bytes` may be freed afterwards. INVALID_ARGUMENT when malformed.
absl::StatusOr<SafetensorsContents> ParseSafetensorsWithMetadata(
    absl::string_view bytes);
absl::StatusOr<StateDict> ParseSafetensors(absl::string_view bytes);

// Serializes `tensors` (non-contiguous or non-CPU tensors are made contiguous
// CPU copies first). INVALID_ARGUMENT for an unsupported dtype or layout, a
// tensor named "__metadata__", or names/metadata that are not valid UTF-8.
absl::StatusOr<std::string> SerializeSafetensors(
    const StateDict& tensors,
    const std::map<std::string, std::string>& metadata = {});

// Writes `tensors` to `path` atomically: into a temporary file in the same
// directory, flushed to disk, then renamed over `path`. On failure `path` is
// left untouched and the temporary file removed.
absl::Status WriteSafetensors(
    const StateDict& tensors, const std::string& path,
    const std::map<std::string, std::string>& metadata = {});

}  // namespace sam2

#endif  // SAM2_MODEL_SAFETENSORS_H_
