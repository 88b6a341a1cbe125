#include "server/thread_stacks.h"

#include <oneapi/tbb/global_control.h>
#include <pthread.h>

#include <utility>

namespace sam2 {
namespace {

// glibc's own fallback when RLIMIT_STACK is unlimited (x86-64).
constexpr size_t kFallbackStackBytes = 8 << 20;

}  // namespace

size_t DefaultThreadStackBytes() {
  pthread_attr_t attr;
  size_t bytes = 0;
  if (pthread_getattr_default_np(&attr) == 0) {
    pthread_attr_getstacksize(&attr, &bytes);
    pthread_attr_destroy(&attr);
  }
  return bytes > 0 ? bytes : kFallbackStackBytes;
}

struct ThreadStacks::TbbControl {
  oneapi::tbb::global_control stack_size{
      oneapi::tbb::global_control::thread_stack_size,
      DefaultThreadStackBytes()};
};

std::unique_ptr<ThreadStacks> ThreadStacks::Install() {
  return std::unique_ptr<ThreadStacks>(
      new ThreadStacks(std::make_unique<TbbControl>()));
}

ThreadStacks::ThreadStacks(std::unique_ptr<TbbControl> tbb)
    : tbb_(std::move(tbb)) {}

ThreadStacks::~ThreadStacks() = default;

}  // namespace sam2
