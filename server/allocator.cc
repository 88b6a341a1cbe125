#include "server/allocator.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace sam2 {

std::string MallocLibrary() {
  // The address the program's own calls resolve to; dladdr names the
  // object that contains it.
  void* (*const resolved)(size_t) = &std::malloc;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(resolved), &info) == 0 ||
      info.dli_fname == nullptr) {
    return "unknown";
  }
  const std::string path = info.dli_fname;
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace sam2
