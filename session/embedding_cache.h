// EmbeddingCache: image features (the encoder's output) keyed by the SHA-256
// of the encoded image bytes, so that opening the same image again — a new
// session on an image another annotator already opened, a stateless
// /invocations request repeated, a session re-created after it expired —
// skips the image encoder, by far the most expensive step (seconds on a CPU).
//
// What is shared: ImageFeatures holds at::Tensors, which are reference
// counted; a hit hands out the same tensors, never a copy. The model only
// reads them (every Segment of a session already reuses its features), so
// sharing between sessions, on any threads, is safe. An entry costs memory
// only while no live session holds the same tensors.
//
// Bounds: entries are evicted least recently used first to stay within
// `max_bytes` (ImageFeatures::NumBytes); an entry larger than the whole
// budget is not kept; max_bytes 0 disables the cache (every lookup misses,
// nothing is kept). The key is cryptographic so that two different images
// can never share an embedding (a collision would hand one user's features
// to another's image).
//
// Thread-safety: every method may be called from any thread (one mutex).

#ifndef SAM2_SESSION_EMBEDDING_CACHE_H_
#define SAM2_SESSION_EMBEDDING_CACHE_H_

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/string_view.h"
#include "model/image_predictor.h"

namespace sam2 {

inline constexpr int64_t kDefaultEmbeddingCacheBytes = int64_t{1} << 30;

struct EmbeddingCacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t entries = 0;
  int64_t bytes = 0;  // sum of the kept entries' NumBytes
};

class EmbeddingCache {
 public:
  explicit EmbeddingCache(int64_t max_bytes);
  EmbeddingCache(const EmbeddingCache&) = delete;
  EmbeddingCache& operator=(const EmbeddingCache&) = delete;

  // The lowercase hex SHA-256 of `image_bytes`, then "@" and `device` when
  // one is named: features live on the device that computed them, so a
  // server with several devices keeps one entry per device and image.
  static std::string KeyOf(absl::string_view image_bytes,
                           absl::string_view device = "");

  // The cached features for `key` (now the most recently used), or nullopt.
  // Counts a hit or a miss.
  std::optional<ImageFeatures> Lookup(const std::string& key);

  // Keeps `features` under `key` (replacing an older entry), then evicts the
  // least recently used entries beyond max_bytes.
  void Insert(const std::string& key, const ImageFeatures& features);

  EmbeddingCacheStats Stats() const;
  int64_t max_bytes() const { return max_bytes_; }

 private:
  struct Entry {
    std::string key;
    ImageFeatures features;
    int64_t bytes = 0;
  };
  using Lru = std::list<Entry>;  // most recently used first

  void EvictLocked();

  const int64_t max_bytes_;
  mutable std::mutex mu_;
  Lru lru_;
  std::unordered_map<std::string, Lru::iterator> index_;
  int64_t bytes_ = 0;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
};

}  // namespace sam2

#endif  // SAM2_SESSION_EMBEDDING_CACHE_H_
