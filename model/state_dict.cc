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

absl::StatusOr<c10::Device> StateDict::Device() const {
  if (entries_.empty()) return c10::Device(c10::kCPU);
  const c10::Device first = entries_.front().tensor.device();
  for (const NamedTensor& e : entries_) {
    if (e.tensor.device() != first) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weights on two devices: '", entries_.front().name, "' on ",
          first.str(), ", '", e.name, "' on ", e.tensor.device().str()));
    }
  }
  return first;
}

StateDict StateDict::To(c10::Device device) const {
  StateDict out;
  out.entries_.reserve(entries_.size());
  for (const NamedTensor& e : entries_) {
    out.entries_.push_back({e.name, e.tensor.to(device)});
  }
  out.index_ = index_;
  return out;
}

}  // namespace sam2
