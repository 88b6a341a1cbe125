#include "session/embedding_cache.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sam2 {

EmbeddingCache::EmbeddingCache(int64_t max_bytes)
    : max_bytes_(std::max<int64_t>(0, max_bytes)) {}

std::string EmbeddingCache::KeyOf(absl::string_view image_bytes,
                                  absl::string_view device) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(image_bytes.data()),
         image_bytes.size(), digest);
  std::string key = absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest), sizeof(digest)));
  if (!device.empty()) absl::StrAppend(&key, "@", device);
  return key;
}

std::optional<ImageFeatures> EmbeddingCache::Lookup(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->features;
}

void EmbeddingCache::Insert(const std::string& key,
                            const ImageFeatures& features) {
  const int64_t bytes = features.NumBytes();
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    index_.erase(it);
  }
  if (bytes > max_bytes_) return;
  lru_.push_front(Entry{key, features, bytes});
  index_[key] = lru_.begin();
  bytes_ += bytes;
  EvictLocked();
}

void EmbeddingCache::EvictLocked() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().bytes;
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

EmbeddingCacheStats EmbeddingCache::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {hits_, misses_, static_cast<int64_t>(lru_.size()), bytes_};
}

}  // namespace sam2
