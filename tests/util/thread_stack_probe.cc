// libthread_stack_probe.so: an LD_PRELOAD library for tests of whole
// processes (server_main_test runs sam2_server under it). It does two
// things:
//   - brings the 256 KiB static TLS block of large_static_tls into the
//     process, so that any thread created with a small fixed stack fails as
//     it does on a machine with OpenBLAS as its BLAS;
//   - records every fixed stack size requested in the process
//     (pthread_attr_setstacksize / pthread_attr_setstack, interposed and
//     forwarded to glibc), one line each, appended to the file named by
//     $SAM2_STACK_PROBE_LOG: "pthread_attr_setstacksize 102400", after a
//     first line "thread_stack_probe loaded 262144" written at load.
// Async-signal-safe enough for its purpose: no allocation, plain write(2).

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/util/large_static_tls.h"

namespace {

void Record(const char* function, size_t bytes) {
  const char* path = std::getenv("SAM2_STACK_PROBE_LOG");
  if (path == nullptr || path[0] == '\0') return;
  char line[128];
  const int n = std::snprintf(line, sizeof(line), "%s %zu\n", function, bytes);
  const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (n > 0) (void)!write(fd, line, static_cast<size_t>(n));
  close(fd);
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// At load: touches the main thread's copy (so the block cannot be dropped
// from the library) and records "thread_stack_probe loaded <TLS bytes>", so
// a test can tell that the probe was active.
__attribute__((constructor)) void AtLoad() {
  Record("thread_stack_probe loaded", sam2::TouchLargeStaticTls());
}

}  // namespace

extern "C" {

int pthread_attr_setstacksize(pthread_attr_t* attr, size_t stacksize) {
  Record("pthread_attr_setstacksize", stacksize);
  using Fn = int (*)(pthread_attr_t*, size_t);
  static const Fn next = Next<Fn>("pthread_attr_setstacksize");
  return next(attr, stacksize);
}

int pthread_attr_setstack(pthread_attr_t* attr, void* stackaddr,
                          size_t stacksize) {
  Record("pthread_attr_setstack", stacksize);
  using Fn = int (*)(pthread_attr_t*, void*, size_t);
  static const Fn next = Next<Fn>("pthread_attr_setstack");
  return next(attr, stackaddr, stacksize);
}

}  // extern "C"
