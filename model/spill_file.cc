#include "model/spill_file.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sam2 {

absl::StatusOr<std::unique_ptr<SpillFile>> SpillFile::Create(
    const std::string& dir) {
  std::string base = dir;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  }
  std::string path = base + "/sam2-spill-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create a spill file in ", base, ": ", std::strerror(errno)));
  }
  unlink(path.c_str());
  return std::unique_ptr<SpillFile>(new SpillFile(fd));
}

SpillFile::~SpillFile() { close(fd_); }

absl::StatusOr<SpillRef> SpillFile::Write(const at::Tensor& t) {
  if (!t.defined()) {
    return absl::InvalidArgumentError("an undefined tensor cannot be spilled");
  }
  at::Tensor c;
  try {
    c = t.to(at::kCPU).contiguous();
  } catch (const c10::Error& e) {
    return absl::InternalError(e.what_without_backtrace());
  }
  SpillRef ref;
  ref.offset = end_;
  ref.nbytes = static_cast<int64_t>(c.nbytes());
  ref.shape = c.sizes().vec();
  ref.dtype = c.scalar_type();
  const char* data = static_cast<const char*>(c.data_ptr());
  int64_t done = 0;
  while (done < ref.nbytes) {
    const ssize_t n = pwrite(fd_, data + done, ref.nbytes - done, end_ + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("writing the spill file: ", std::strerror(errno)));
    }
    done += n;
  }
  end_ += ref.nbytes;
  return ref;
}

absl::StatusOr<at::Tensor> SpillFile::Read(const SpillRef& ref) const {
  if (ref.offset < 0 || ref.nbytes < 0 || ref.offset + ref.nbytes > end_) {
    return absl::InvalidArgumentError("spill reference outside the file");
  }
  at::Tensor t;
  try {
    t = at::empty(ref.shape, at::TensorOptions().dtype(ref.dtype));
  } catch (const c10::Error& e) {
    return absl::InternalError(e.what_without_backtrace());
  }
  if (static_cast<int64_t>(t.nbytes()) != ref.nbytes) {
    return absl::InvalidArgumentError("spill reference size mismatch");
  }
  char* data = static_cast<char*>(t.data_ptr());
  int64_t done = 0;
  while (done < ref.nbytes) {
    const ssize_t n = pread(fd_, data + done, ref.nbytes - done, ref.offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(
          absl::StrCat("reading the spill file: ", std::strerror(errno)));
    }
    done += n;
  }
  return t;
}

}  // namespace sam2
