// ConstantCache: computes once per key, shares the value between copies and
// threads, stops storing past its bound, and hands out inference tensors.

#include "model/constant_cache.h"

#include <ATen/ATen.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sam2 {
namespace {

TEST(ConstantCacheTest, ComputesOncePerKeyAndSharesBetweenCopies) {
  ConstantCache<int> cache(/*max_entries=*/2);
  int computed = 0;
  auto make = [&](int v) {
    return [&computed, v] {
      ++computed;
      return at::full({2}, v);
    };
  };
  const at::Tensor a = cache.Get(1, make(1));
  EXPECT_TRUE(a.is_inference());
  EXPECT_EQ(cache.Get(1, make(99)).data_ptr(), a.data_ptr());
  const ConstantCache<int> copy = cache;
  EXPECT_EQ(copy.Get(1, make(99)).data_ptr(), a.data_ptr());
  EXPECT_EQ(computed, 1);
  cache.Get(2, make(2));
  // Full: key 3 is computed on every call and never stored.
  const at::Tensor c1 = cache.Get(3, make(3));
  const at::Tensor c2 = cache.Get(3, make(3));
  EXPECT_NE(c1.data_ptr(), c2.data_ptr());
  EXPECT_TRUE(at::equal(c1, c2));
  EXPECT_EQ(computed, 4);
}

TEST(ConstantCacheTest, ConcurrentGetsAgreeOnOneValue) {
  ConstantCache<int> cache(4);
  std::atomic<int> computed{0};
  std::vector<void*> seen(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      seen[t] = cache
                    .Get(7,
                         [&] {
                           ++computed;
                           return at::arange(16);
                         })
                    .data_ptr();
    });
  }
  for (std::thread& t : threads) t.join();
  const void* stored = cache.Get(7, [] { return at::Tensor(); }).data_ptr();
  EXPECT_GE(computed.load(), 1);
  // Whoever computed, every later caller gets the stored value.
  EXPECT_NE(stored, nullptr);
  EXPECT_EQ(cache.Get(7, [] { return at::Tensor(); }).data_ptr(), stored);
}

}  // namespace
}  // namespace sam2
