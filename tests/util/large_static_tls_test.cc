// The reproduction works: in a process holding the large static TLS block,
// glibc refuses a thread with civetweb's fixed 100 KiB stack (EINVAL), while
// a thread with the default stack size starts and can use its copy.

#include "tests/util/large_static_tls.h"

#include <pthread.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <thread>

namespace sam2 {
namespace {

// civetweb 1.15's compile-time thread stack size on Debian 12.
constexpr size_t kCivetwebStackBytes = 102400;

void* Touch(void*) {
  TouchLargeStaticTls();
  return nullptr;
}

TEST(LargeStaticTlsTest, FixedSmallStackIsRefused) {
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, kCivetwebStackBytes), 0);
  pthread_t thread;
  const int created = pthread_create(&thread, &attr, &Touch, nullptr);
  pthread_attr_destroy(&attr);
  if (created == 0) pthread_join(thread, nullptr);
  EXPECT_EQ(created, EINVAL);
}

TEST(LargeStaticTlsTest, DefaultStackWorks) {
  size_t size = 0;
  std::thread thread([&] { size = TouchLargeStaticTls(); });
  thread.join();
  EXPECT_EQ(size, kLargeStaticTlsBytes);
}

}  // namespace
}  // namespace sam2
