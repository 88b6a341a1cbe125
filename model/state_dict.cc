#include "model/state_dict.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sam2 {

absl::Status StateDict::Add(std::string name, at::Tensor tensor) {
  if (!tensor.defined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "' is undefined"));
  }
  if (index_.contains(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("duplicate tensor name '", name, "'"));
  }
  index_.emplace(name, entries_.size());
  entries_.push_back({std::move(name), std::move(tensor)});
  return absl::OkStatus();
}

const at::Tensor* StateDict::Find(absl::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second].tensor;
}

int64_t StateDict::NumParameters() const {
  int64_t n = 0;
  for (const NamedTensor& e : entries_) n += e.tensor.numel();
  return n;
}

int64_t StateDict::NumBytes() const {
  int64_t n = 0;
  for (const NamedTensor& e : entries_) n += e.tensor.nbytes();
  return n;
}

}  // namespace sam2
