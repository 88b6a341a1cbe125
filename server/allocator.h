// The process's memory allocator: gperftools' tcmalloc (Debian's
// libtcmalloc-minimal4) instead of glibc's malloc, for every program that
// runs the model (the server, the `sam2` tool, the benchmarks).
//
// Why: glibc serves every block above its mmap threshold (at most 32 MiB)
// with a fresh mmap and unmaps it on free, so each large activation the
// model allocates (Hiera's stage-1 maps and MLP hidden layers are 25-100 MB
// at 1024x1024) is page-faulted in and zeroed by the kernel again on every
// call. tcmalloc keeps freed spans for reuse (returning them to the system
// gradually). Measured: SetImage on sam2.1_hiera_tiny, 2 threads, ~12 %
// faster (README, "Performance"); jemalloc was slower than glibc here.
//
// Linking this library is all it takes: tcmalloc replaces malloc/free for
// the whole process when its shared library is linked into the executable
// (it is loaded before libc). MallocLibrary() says which library actually
// serves malloc, so a build that lost the link (e.g. to --as-needed) shows.
//
// Thread-safety: MallocLibrary is safe from any thread.

#ifndef SAM2_SERVER_ALLOCATOR_H_
#define SAM2_SERVER_ALLOCATOR_H_

#include <string>

namespace sam2 {

// The file name of the shared object that defines the `malloc` this process
// calls, e.g. "libtcmalloc_minimal.so.4" or "libc.so.6"; "unknown" when the
// dynamic loader cannot say.
std::string MallocLibrary();

}  // namespace sam2

#endif  // SAM2_SERVER_ALLOCATOR_H_
