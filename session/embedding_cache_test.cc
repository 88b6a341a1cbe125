// Tests for EmbeddingCache: the key, hits that share tensors, LRU eviction
// within the byte budget, replacement, the disabled cache.

#include "session/embedding_cache.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sam2 {
namespace {

// Features of `floats` float32 values in all (embedding only).
ImageFeatures Features(int64_t floats, float value = 0) {
  ImageFeatures f;
  f.image_embed = at::full({1, floats}, value, at::kFloat);
  f.orig_h = 3;
  f.orig_w = 4;
  return f;
}

TEST(EmbeddingCacheTest, KeyIsTheSha256OfTheBytes) {
  EXPECT_EQ(EmbeddingCache::KeyOf("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(EmbeddingCache::KeyOf("abc"), EmbeddingCache::KeyOf("abd"));
  // Per device: the same image's features on two devices are two entries.
  EXPECT_EQ(EmbeddingCache::KeyOf("abc", "cuda:1"),
            EmbeddingCache::KeyOf("abc") + "@cuda:1");
  EXPECT_NE(EmbeddingCache::KeyOf("abc", "cuda:0"),
            EmbeddingCache::KeyOf("abc", "cuda:1"));
}

TEST(EmbeddingCacheTest, HitSharesTheTensorsAndCounts) {
  EmbeddingCache cache(1 << 20);
  EXPECT_FALSE(cache.Lookup("a").has_value());
  const ImageFeatures stored = Features(16, 2);
  cache.Insert("a", stored);
  std::optional<ImageFeatures> hit = cache.Lookup("a");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->image_embed.data_ptr(), stored.image_embed.data_ptr());
  EXPECT_EQ(hit->orig_h, 3);
  EXPECT_EQ(hit->orig_w, 4);
  const EmbeddingCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 16 * 4);
}

TEST(EmbeddingCacheTest, EvictsLeastRecentlyUsedWithinTheBudget) {
  EmbeddingCache cache(3 * 64);  // three entries of 16 floats
  cache.Insert("a", Features(16));
  cache.Insert("b", Features(16));
  cache.Insert("c", Features(16));
  ASSERT_TRUE(cache.Lookup("a").has_value());  // a is now the most recent
  cache.Insert("d", Features(16));             // evicts b
  EXPECT_TRUE(cache.Lookup("a").has_value());
  EXPECT_FALSE(cache.Lookup("b").has_value());
  EXPECT_TRUE(cache.Lookup("c").has_value());
  EXPECT_TRUE(cache.Lookup("d").has_value());
  EXPECT_EQ(cache.Stats().bytes, 3 * 64);
  EXPECT_EQ(cache.Stats().entries, 3);
}

TEST(EmbeddingCacheTest, ReplacesAnEntryAndSkipsOneLargerThanTheBudget) {
  EmbeddingCache cache(100);
  cache.Insert("a", Features(16, 1));
  cache.Insert("a", Features(8, 2));
  EXPECT_EQ(cache.Stats().entries, 1);
  EXPECT_EQ(cache.Stats().bytes, 32);
  EXPECT_EQ(cache.Lookup("a")->image_embed[0][0].item<float>(), 2);
  cache.Insert("big", Features(26));  // 104 bytes > 100
  EXPECT_FALSE(cache.Lookup("big").has_value());
  EXPECT_TRUE(cache.Lookup("a").has_value());
}

TEST(EmbeddingCacheTest, ZeroBytesDisablesIt) {
  EmbeddingCache cache(0);
  cache.Insert("a", Features(1));
  EXPECT_FALSE(cache.Lookup("a").has_value());
  EXPECT_EQ(cache.Stats().entries, 0);
}

}  // namespace
}  // namespace sam2
