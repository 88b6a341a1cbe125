// ConstantCache: a small, bounded, thread-safe map from a key to a tensor
// that depends only on the key and the model's weights (position encodings
// of a given size, on a given device and dtype), computed on first use and
// shared afterwards. Past `max_entries` keys, values are computed and not
// kept, so an unusual stream of sizes cannot grow it without bound.
//
// Ownership: copies of a ConstantCache share one table (models are copied by
// value when built; all copies hold the same constants).
// Thread-safety: Get() may be called concurrently; two threads missing on
// one key may both compute it (the first stored wins). Cached tensors are
// never written; callers must not write into them.

#ifndef SAM2_MODEL_CONSTANT_CACHE_H_
#define SAM2_MODEL_CONSTANT_CACHE_H_

#include <ATen/core/Tensor.h>
#include <c10/core/InferenceMode.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace sam2 {

template <typename Key>
class ConstantCache {
 public:
  explicit ConstantCache(int max_entries)
      : table_(std::make_shared<Table>()), max_entries_(max_entries) {}

  // The cached value for `key`, or compute() (run under InferenceMode, as
  // every model entry point is, so cached values are inference tensors).
  at::Tensor Get(const Key& key, absl::FunctionRef<at::Tensor()> compute) const {
    {
      absl::MutexLock lock(&table_->mu);
      auto it = table_->values.find(key);
      if (it != table_->values.end()) return it->second;
    }
    at::Tensor value;
    {
      c10::InferenceMode guard;
      value = compute();
    }
    absl::MutexLock lock(&table_->mu);
    if (static_cast<int>(table_->values.size()) < max_entries_) {
      return table_->values.emplace(key, value).first->second;
    }
    return value;
  }

 private:
  struct Table {
    absl::Mutex mu;
    absl::flat_hash_map<Key, at::Tensor> values ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<Table> table_;
  int max_entries_;
};

}  // namespace sam2

#endif  // SAM2_MODEL_CONSTANT_CACHE_H_
