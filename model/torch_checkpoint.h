// Reads official PyTorch checkpoints (torch.save zip archives) into a
// StateDict, without Python and without executing anything from the file.
//
// Format (torch/serialization.py, "_use_new_zipfile_serialization"): a zip
// archive whose entries sit under one top-level folder of any name:
//   <prefix>/data.pkl    the pickled object (protocol 2)
//   <prefix>/data/<key>  one raw little-endian storage per key
//   <prefix>/version     format version ("3")
//   <prefix>/byteorder   optional; must be "little" when present
// The pickle is read by pickle_reader (only allow-listed globals: OrderedDict,
// _rebuild_tensor_v2, _rebuild_parameter, typed storages) and interpreted
// here: BINPERSID ('storage', <dtype>Storage, key, location, numel) names a
// storage, _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
// hooks[, metadata]) a view of it, _rebuild_parameter(data, ...) unwraps to
// data.
//
// Which dict is the state dict: the root must be a dict (or OrderedDict). If
// it has a key "model" (how SAM 2's official checkpoints are saved:
// torch.save({"model": state_dict})), its value is the state dict; otherwise
// the root itself is, which covers torch.save(model.state_dict()). Every
// value of the state dict must be a tensor.
//
// Checks: storage entry size == numel * element size; offset, sizes and
// strides non-negative and every tensor's extent inside its storage;
// location "cpu" or "cuda:N" (always loaded to CPU); dtypes float32,
// float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool. Errors
// name the tensor's key. Legacy (pre-1.6, non-zip) checkpoints are refused.
//
// Result: CPU tensors that own their memory. A storage used by several
// tensors is read once and the tensors are views sharing it, as in PyTorch;
// a view that is not contiguous (e.g. saved transposed) is copied into a
// contiguous tensor of its own.
//
// Errors: NOT_FOUND for a missing file; INVALID_ARGUMENT for anything wrong
// with the content; INTERNAL if LibTorch throws (c10::Error is caught here,
// no exception escapes). Thread-safety: the functions are reentrant; the
// returned StateDict belongs to the caller.

#ifndef SAM2_MODEL_TORCH_CHECKPOINT_H_
#define SAM2_MODEL_TORCH_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/state_dict.h"

namespace sam2 {

// Largest data.pkl read. The pickle only holds structure (names, shapes);
// an official SAM 2 large checkpoint's is well under 1 MiB.
inline constexpr uint64_t kMaxTorchPickleBytes = uint64_t{64} << 20;

// Reads the checkpoint file at `path`.
absl::StatusOr<StateDict> ReadTorchCheckpoint(const std::string& path);

// Reads a checkpoint held in memory. `bytes` is only used during the call;
// the tensors returned do not point into it.
absl::StatusOr<StateDict> ReadTorchCheckpointFromBuffer(
    absl::string_view bytes);

}  // namespace sam2

#endif  // SAM2_MODEL_TORCH_CHECKPOINT_H_
