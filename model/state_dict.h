// StateDict: the named tensors of a model, in checkpoint order.
//
// Mirrors a PyTorch state dict (an OrderedDict of name -> tensor). Produced by
// the checkpoint readers (torch_checkpoint, safetensors), checked against the
// config by state_dict_spec, consumed by the model builders. Owns its tensors
// (at::Tensor is reference counted; tensors may share storage with others).
// Not thread-safe for mutation; const access from many threads is fine.

#ifndef SAM2_MODEL_STATE_DICT_H_
#define SAM2_MODEL_STATE_DICT_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

class StateDict {
 public:
  // Appends a tensor; fails with INVALID_ARGUMENT on a duplicate name or an
  // undefined tensor.
  absl::Status Add(std::string name, at::Tensor tensor);

  // The tensor called `name`, or nullptr.
  const at::Tensor* Find(absl::string_view name) const;
  bool Contains(absl::string_view name) const { return Find(name) != nullptr; }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<NamedTensor>& entries() const { return entries_; }
  std::vector<NamedTensor>::const_iterator begin() const {
    return entries_.begin();
  }
  std::vector<NamedTensor>::const_iterator end() const {
    return entries_.end();
  }

  // Sum of numel() over all tensors.
  int64_t NumParameters() const;
  // Sum of nbytes() over all tensors.
  int64_t NumBytes() const;

  // The one device every tensor is on (the CPU for an empty dict);
  // INVALID_ARGUMENT naming two tensors on different devices.
  absl::StatusOr<c10::Device> Device() const;

  // A copy with every tensor on `device` (sharing storage with this one
  // where a tensor is already there). May throw c10::Error (out of device
  // memory); callers at the model/ boundary convert it (torch_error.h).
  StateDict To(c10::Device device) const;

 private:
  std::vector<NamedTensor> entries_;
  absl::flat_hash_map<std::string, size_t> index_;
};

}  // namespace sam2

#endif  // SAM2_MODEL_STATE_DICT_H_
