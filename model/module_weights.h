// ModuleWeights: typed access to one module's tensors in a StateDict, for the
// network modules' Create() functions.
//
// A module asks for each of its tensors by name relative to its prefix and
// the shape it expects; the first problem (missing tensor, wrong shape) is
// remembered and reported by status(), so a constructor reads every weight
// straight-line and checks once at the end. Tensors are returned as float32
// CPU tensors sharing memory with the StateDict where they already are.
// Not thread-safe (one constructor uses one ModuleWeights).

#ifndef SAM2_MODEL_MODULE_WEIGHTS_H_
#define SAM2_MODEL_MODULE_WEIGHTS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "model/state_dict.h"

namespace sam2 {

class ModuleWeights {
 public:
  // `prefix` is prepended to every name, e.g. "image_encoder.trunk.".
  ModuleWeights(const StateDict& state, std::string prefix);

  // A view for a child module: prefix + child + ".". Shares the error slot
  // with this one, so status() of the parent reports the child's errors.
  ModuleWeights Child(absl::string_view child) const;

  // The tensor `name` with shape `shape` (-1 matches any size). On error
  // returns an undefined tensor and records the first error.
  at::Tensor Get(absl::string_view name, const std::vector<int64_t>& shape);

  // Full name of `name` under this prefix.
  std::string FullName(absl::string_view name) const;

  // OK, or the first error met by any Get() on this object or its children.
  absl::Status status() const { return *error_; }

 private:
  ModuleWeights(const StateDict& state, std::string prefix,
                std::shared_ptr<absl::Status> error);

  const StateDict* state_;
  std::string prefix_;
  std::shared_ptr<absl::Status> error_;
};

}  // namespace sam2

#endif  // SAM2_MODEL_MODULE_WEIGHTS_H_
