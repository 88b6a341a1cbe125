// Thread stack sizes for the whole server process: every thread gets the
// system's default stack size (glibc's default attribute, i.e. RLIMIT_STACK,
// typically 8 MiB), never one a library fixed when it was compiled.
//
// Why it matters: glibc refuses to create a thread whose stack is smaller
// than the process's static TLS plus a minimum, and that TLS grows with
// every library loaded (OpenBLAS, LibTorch, CUDA). Our threads are
// std::threads (default size); gRPC's and OpenMP's use the default too. The
// one library that fixes its own is oneTBB, OpenCV's parallel backend (4 MiB
// on 64-bit); ThreadStacks::Install sets TBB's to the default as well.
//
// Thread-safety: Install once, from main, before any thread of TBB starts
// (i.e. before the first OpenCV call). The returned object must outlive
// every use of OpenCV: TBB applies the setting while it exists.

#ifndef SAM2_SERVER_THREAD_STACKS_H_
#define SAM2_SERVER_THREAD_STACKS_H_

#include <cstddef>
#include <memory>

namespace sam2 {

// glibc's default thread stack size in this process, in bytes.
size_t DefaultThreadStackBytes();

class ThreadStacks {
 public:
  static std::unique_ptr<ThreadStacks> Install();
  ~ThreadStacks();

  ThreadStacks(const ThreadStacks&) = delete;
  ThreadStacks& operator=(const ThreadStacks&) = delete;

 private:
  struct TbbControl;
  explicit ThreadStacks(std::unique_ptr<TbbControl> tbb);
  std::unique_ptr<TbbControl> tbb_;
};

}  // namespace sam2

#endif  // SAM2_SERVER_THREAD_STACKS_H_
