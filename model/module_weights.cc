#include "model/module_weights.h"

#include <ATen/ATen.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sam2 {

ModuleWeights::ModuleWeights(const StateDict& state, std::string prefix)
    : ModuleWeights(state, std::move(prefix),
                    std::make_shared<absl::Status>()) {}

ModuleWeights::ModuleWeights(const StateDict& state, std::string prefix,
                             std::shared_ptr<absl::Status> error)
    : state_(&state), prefix_(std::move(prefix)), error_(std::move(error)) {}

ModuleWeights ModuleWeights::Child(absl::string_view child) const {
  return ModuleWeights(*state_, absl::StrCat(prefix_, child, "."), error_);
}

std::string ModuleWeights::FullName(absl::string_view name) const {
  return absl::StrCat(prefix_, name);
}

at::Tensor ModuleWeights::Get(absl::string_view name,
                              const std::vector<int64_t>& shape) {
  const std::string full = FullName(name);
  const at::Tensor* t = state_->Find(full);
  absl::Status problem;
  if (t == nullptr) {
    problem = absl::InvalidArgumentError(
        absl::StrCat("missing tensor '", full, "'"));
  } else {
    bool match = t->dim() == static_cast<int64_t>(shape.size());
    for (size_t i = 0; match && i < shape.size(); ++i) {
      match = shape[i] < 0 || t->size(i) == shape[i];
    }
    if (!match) {
      problem = absl::InvalidArgumentError(absl::StrCat(
          "tensor '", full, "' has shape [", absl::StrJoin(t->sizes(), ","),
          "], expected [", absl::StrJoin(shape, ","), "]"));
    }
  }
  if (!problem.ok()) {
    if (error_->ok()) *error_ = problem;
    return at::Tensor();
  }
  at::Tensor weight = t->scalar_type() == at::kFloat
                         ? t->detach()
                         : t->to(at::kFloat).contiguous();
  // A leaf that "requires grad", only so that autocast (bfloat16) casts it
  // once per thread and keeps the copy, as it does for the reference's
  // nn.Parameters, instead of re-casting every weight on every call. No
  // graph is ever built: every forward pass runs under c10::InferenceMode.
  weight.set_requires_grad(true);
  return weight;
}

}  // namespace sam2
