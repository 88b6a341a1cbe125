// Safetensors reader and writer; see safetensors.h for the format, the
// validation rules and the thread-safety contract.
//
// Structure: ParseHeader() turns the JSON header into validated TensorSpecs
// (no tensor memory is touched until the whole header checks out), then the
// data is copied into freshly allocated tensors, either from memory
// (ParseSafetensors*) or straight from the file with pread (ReadSafetensors*,
// so a checkpoint is never held twice in memory). The writer prepares
// contiguous CPU tensors and the padded header once, then either appends the
// bytes to a string or streams them into a temporary file that is renamed
// over the destination. nlohmann::json and LibTorch exceptions are caught in
// this file and become statuses.

#include "model/safetensors.h"

#include <ATen/ATen.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cc copies tensor bytes verbatim: little-endian hosts only"
#endif

namespace sam2 {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr absl::string_view kMetadataKey = "__metadata__";
constexpr uint64_t kHeaderLengthBytes = 8;

struct DtypeInfo {
  absl::string_view name;
  at::ScalarType type;
  int64_t itemsize;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8},   {"F32", at::kFloat, 4},
    {"F16", at::kHalf, 2},     {"BF16", at::kBFloat16, 2},
    {"I64", at::kLong, 8},     {"I32", at::kInt, 4},
    {"I16", at::kShort, 2},    {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},      {"BOOL", at::kBool, 1},
};

const DtypeInfo* DtypeByName(absl::string_view name) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const DtypeInfo* DtypeByType(at::ScalarType type) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.type == type) return &d;
  }
  return nullptr;
}

std::string SupportedDtypeNames() {
  std::vector<absl::string_view> names;
  for (const DtypeInfo& d : kDtypes) names.push_back(d.name);
  return absl::StrJoin(names, ", ");
}

// One validated header entry.
struct TensorSpec {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // Byte range [begin, end) within the data buffer.
  uint64_t end = 0;
};

struct Header {
  std::vector<TensorSpec> tensors;  // In header order.
  std::map<std::string, std::string> metadata;
};

absl::Status FormatError(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors: ", message));
}

absl::Status TensorError(absl::string_view name, absl::string_view message) {
  return FormatError(absl::StrCat("tensor '", name, "': ", message));
}

// Same code, message prefixed with `prefix: `.
absl::Status Annotate(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(prefix, ": ", status.message()));
}

// Decodes the 8-byte length prefix and checks it against the total size.
absl::StatusOr<uint64_t> HeaderLength(absl::string_view prefix,
                                      uint64_t total_size) {
  if (total_size < kHeaderLengthBytes || prefix.size() < kHeaderLengthBytes) {
    return FormatError(absl::StrCat("input of ", total_size,
                                    " bytes is too short for the 8-byte "
                                    "header length"));
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | static_cast<unsigned char>(prefix[i]);
  }
  if (n > kMaxSafetensorsHeaderBytes) {
    return FormatError(absl::StrCat("header length ", n, " exceeds the limit of ",
                                    kMaxSafetensorsHeaderBytes, " bytes"));
  }
  if (n > total_size - kHeaderLengthBytes) {
    return FormatError(absl::StrCat("header length ", n, " runs past the end "
                                    "of the input (",
                                    total_size - kHeaderLengthBytes,
                                    " bytes after the length); truncated?"));
  }
  return n;
}

absl::StatusOr<uint64_t> AsUnsigned(const OrderedJson& v,
                                    absl::string_view name,
                                    absl::string_view what) {
  if (!v.is_number_unsigned()) {
    return TensorError(name, absl::StrCat(what, " must be a non-negative "
                                          "integer, got ",
                                          v.dump()));
  }
  return v.get<uint64_t>();
}

absl::StatusOr<TensorSpec> ParseEntry(const std::string& name,
                                      const OrderedJson& entry,
                                      uint64_t buffer_size) {
  if (!entry.is_object()) {
    return TensorError(name, "entry is not a JSON object");
  }
  for (const auto& item : entry.items()) {
    const std::string& key = item.key();
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return TensorError(name, absl::StrCat("unexpected field '", key, "'"));
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(key)) {
      return TensorError(name, absl::StrCat("missing field '", key, "'"));
    }
  }
  TensorSpec spec;
  spec.name = name;

  const OrderedJson& dtype = entry["dtype"];
  if (!dtype.is_string()) {
    return TensorError(name, "'dtype' must be a string");
  }
  spec.dtype = DtypeByName(dtype.get_ref<const std::string&>());
  if (spec.dtype == nullptr) {
    return TensorError(
        name, absl::StrCat("unknown or unsupported dtype ", dtype.dump(),
                           " (supported: ", SupportedDtypeNames(), ")"));
  }

  const OrderedJson& shape = entry["shape"];
  if (!shape.is_array()) {
    return TensorError(name, "'shape' must be an array");
  }
  int64_t numel = 1;
  for (const OrderedJson& dim_json : shape) {
    absl::StatusOr<uint64_t> dim = AsUnsigned(dim_json, name, "shape dim");
    if (!dim.ok()) return dim.status();
    if (*dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(numel, static_cast<int64_t>(*dim), &numel)) {
      return TensorError(name, absl::StrCat("shape ", shape.dump(),
                                            " overflows the element count"));
    }
    spec.shape.push_back(static_cast<int64_t>(*dim));
  }
  int64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, spec.dtype->itemsize, &nbytes)) {
    return TensorError(name, absl::StrCat("shape ", shape.dump(),
                                          " overflows the byte count"));
  }

  const OrderedJson& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    return TensorError(name, "'data_offsets' must be an array [begin, end]");
  }
  absl::StatusOr<uint64_t> begin = AsUnsigned(offsets[0], name, "data offset");
  if (!begin.ok()) return begin.status();
  absl::StatusOr<uint64_t> end = AsUnsigned(offsets[1], name, "data offset");
  if (!end.ok()) return end.status();
  if (*end < *begin) {
    return TensorError(name, absl::StrCat("data_offsets ", offsets.dump(),
                                          " end before they begin"));
  }
  if (*end - *begin != static_cast<uint64_t>(nbytes)) {
    return TensorError(
        name, absl::StrCat("data_offsets ", offsets.dump(), " span ",
                           *end - *begin, " bytes but ", dtype.dump(),
                           " shape ", shape.dump(), " needs ", nbytes));
  }
  if (*end > buffer_size) {
    return TensorError(name, absl::StrCat("data_offsets ", offsets.dump(),
                                          " run past the data buffer of ",
                                          buffer_size, " bytes"));
  }
  spec.begin = *begin;
  spec.end = *end;
  return spec;
}

absl::Status ParseMetadata(const OrderedJson& json,
                           std::map<std::string, std::string>* metadata) {
  if (!json.is_object()) {
    return FormatError("'__metadata__' must be an object of strings");
  }
  for (const auto& item : json.items()) {
    if (!item.value().is_string()) {
      return FormatError(absl::StrCat("'__metadata__' value for '", item.key(),
                                      "' must be a string, got ",
                                      item.value().dump()));
    }
    (*metadata)[item.key()] = item.value().get<std::string>();
  }
  return absl::OkStatus();
}

// The byte ranges must tile [0, buffer_size): no overlaps, no holes.
absl::Status CheckCoverage(const std::vector<TensorSpec>& tensors,
                           uint64_t buffer_size) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (tensors[a].begin != tensors[b].begin) {
      return tensors[a].begin < tensors[b].begin;
    }
    return tensors[a].end < tensors[b].end;
  });
  uint64_t covered = 0;  // Everything before this offset is accounted for.
  const TensorSpec* previous = nullptr;
  for (size_t i : order) {
    const TensorSpec& t = tensors[i];
    if (t.begin < covered) {
      return TensorError(
          t.name, absl::StrCat("data_offsets [", t.begin, ", ", t.end,
                               "] overlap tensor '", previous->name, "' [",
                               previous->begin, ", ", previous->end, "]"));
    }
    if (t.begin > covered) {
      return TensorError(
          t.name, absl::StrCat("hole in the data buffer: bytes [", covered,
                               ", ", t.begin, ") before this tensor belong "
                               "to no tensor"));
    }
    covered = t.end;
    previous = &t;
  }
  if (covered != buffer_size) {
    return FormatError(absl::StrCat(
        "hole in the data buffer: bytes [", covered, ", ", buffer_size,
        ") at its end belong to no tensor"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Header> ParseHeader(absl::string_view text,
                                   uint64_t buffer_size) {
  // The callback rejects duplicate top-level keys (nlohmann would silently
  // keep the last) and discards anything nested deeper than a shape array,
  // which no valid header has.
  absl::flat_hash_set<std::string> keys;
  std::string duplicate;
  bool too_deep = false;
  auto callback = [&](int depth, OrderedJson::parse_event_t event,
                      OrderedJson& parsed) {
    using Event = OrderedJson::parse_event_t;
    if (event == Event::key && depth == 1) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys.insert(key).second && duplicate.empty()) duplicate = key;
    }
    if ((event == Event::object_start || event == Event::array_start) &&
        depth >= 3) {
      too_deep = true;
      return false;
    }
    return true;
  };
  OrderedJson json;
  try {
    json = OrderedJson::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::exception& e) {
    return FormatError(absl::StrCat("header is not valid JSON: ", e.what()));
  }
  if (!json.is_object()) {
    return FormatError(absl::StrCat("header is not a JSON object but ",
                                    json.type_name()));
  }
  if (!duplicate.empty()) {
    return FormatError(absl::StrCat("header names '", duplicate, "' twice"));
  }
  if (too_deep) {
    return FormatError("header nests deeper than any valid entry");
  }
  Header header;
  for (const auto& item : json.items()) {
    if (item.key() == kMetadataKey) {
      absl::Status s = ParseMetadata(item.value(), &header.metadata);
      if (!s.ok()) return s;
      continue;
    }
    absl::StatusOr<TensorSpec> spec =
        ParseEntry(item.key(), item.value(), buffer_size);
    if (!spec.ok()) return spec.status();
    header.tensors.push_back(*std::move(spec));
  }
  absl::Status coverage = CheckCoverage(header.tensors, buffer_size);
  if (!coverage.ok()) return coverage;
  return header;
}

absl::StatusOr<at::Tensor> AllocateTensor(const TensorSpec& spec) {
  try {
    return at::empty(spec.shape, at::TensorOptions().dtype(spec.dtype->type));
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("safetensors: tensor '", spec.name,
                     "': cannot allocate ", spec.end - spec.begin,
                     " bytes: ", e.what()));
  }
}

// torch.bool must hold 0 or 1 in every byte; anything else is undefined.
absl::Status CheckBoolBytes(const TensorSpec& spec, const at::Tensor& t) {
  if (spec.dtype->type != at::kBool) return absl::OkStatus();
  const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
  for (uint64_t i = 0; i < spec.end - spec.begin; ++i) {
    if (bytes[i] > 1) {
      return TensorError(spec.name, absl::StrCat("BOOL byte ", i, " is ",
                                                 int{bytes[i]},
                                                 ", not 0 or 1"));
    }
  }
  return absl::OkStatus();
}

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the result (close can report write errors).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Reads exactly `size` bytes at `offset`; DATA_LOSS on a short file.
absl::Status PreadFully(int fd, void* out, uint64_t size, uint64_t offset,
                        absl::string_view what) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, 1u << 30));
    ssize_t got = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("reading ", what));
    }
    if (got == 0) {
      return absl::DataLossError(absl::StrCat(
          "safetensors: file ended early while reading ", what));
    }
    p += got;
    size -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return absl::OkStatus();
}

absl::Status WriteFully(int fd, const void* data, uint64_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, 1u << 30));
    ssize_t put = ::write(fd, p, chunk);
    if (put < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "write");
    }
    p += put;
    size -= static_cast<uint64_t>(put);
  }
  return absl::OkStatus();
}

absl::StatusOr<SafetensorsContents> ReadFromFd(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, "fstat");
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError("not a regular file");
  }
  const uint64_t total_size = static_cast<uint64_t>(st.st_size);
  char prefix[kHeaderLengthBytes] = {};
  if (total_size >= kHeaderLengthBytes) {
    absl::Status s = PreadFully(fd, prefix, kHeaderLengthBytes, 0,
                                "the header length");
    if (!s.ok()) return s;
  }
  absl::StatusOr<uint64_t> n = HeaderLength(
      absl::string_view(prefix, total_size >= kHeaderLengthBytes
                                    ? kHeaderLengthBytes
                                    : 0),
      total_size);
  if (!n.ok()) return n.status();
  std::string text(*n, '\0');
  absl::Status s = PreadFully(fd, text.data(), *n, kHeaderLengthBytes,
                              "the header");
  if (!s.ok()) return s;
  const uint64_t data_start = kHeaderLengthBytes + *n;
  absl::StatusOr<Header> header = ParseHeader(text, total_size - data_start);
  if (!header.ok()) return header.status();

  SafetensorsContents contents;
  contents.metadata = std::move(header->metadata);
  for (const TensorSpec& spec : header->tensors) {
    absl::StatusOr<at::Tensor> t = AllocateTensor(spec);
    if (!t.ok()) return t.status();
    if (spec.end > spec.begin) {
      s = PreadFully(fd, t->data_ptr(), spec.end - spec.begin,
                     data_start + spec.begin,
                     absl::StrCat("tensor '", spec.name, "'"));
      if (!s.ok()) return s;
    }
    s = CheckBoolBytes(spec, *t);
    if (!s.ok()) return s;
    s = contents.tensors.Add(spec.name, *std::move(t));
    if (!s.ok()) return s;
  }
  return contents;
}

// What the writer emits: header bytes (length prefix included) followed by
// each tensor's bytes, in order.
struct PreparedFile {
  std::string header;
  std::vector<at::Tensor> tensors;  // Contiguous, on the CPU.
  uint64_t data_size = 0;
};

absl::StatusOr<PreparedFile> Prepare(
    const StateDict& tensors,
    const std::map<std::string, std::string>& metadata) {
  PreparedFile file;
  OrderedJson json = OrderedJson::object();
  if (!metadata.empty()) {
    OrderedJson meta = OrderedJson::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    json[std::string(kMetadataKey)] = std::move(meta);
  }
  for (const NamedTensor& entry : tensors) {
    if (entry.name == kMetadataKey) {
      return TensorError(entry.name, "name is reserved for the metadata");
    }
    const at::Tensor& original = entry.tensor;
    if (!original.defined()) {
      return TensorError(entry.name, "tensor is undefined");
    }
    const DtypeInfo* dtype = DtypeByType(original.scalar_type());
    if (dtype == nullptr) {
      return TensorError(entry.name,
                         absl::StrCat("unsupported dtype ",
                                      c10::toString(original.scalar_type()),
                                      " (supported: ", SupportedDtypeNames(),
                                      ")"));
    }
    if (original.layout() != at::kStrided) {
      return TensorError(entry.name, "only dense (strided) tensors can be "
                                     "written");
    }
    at::Tensor t;
    try {
      t = original.detach();
      if (!t.device().is_cpu()) t = t.to(at::kCPU);
      t = t.contiguous();
    } catch (const std::exception& e) {
      return TensorError(entry.name, absl::StrCat("cannot copy to a "
                                                  "contiguous CPU tensor: ",
                                                  e.what()));
    }
    const uint64_t nbytes = static_cast<uint64_t>(t.nbytes());
    OrderedJson shape = OrderedJson::array();
    for (int64_t d : t.sizes()) shape.push_back(d);
    json[entry.name] = {
        {"dtype", std::string(dtype->name)},
        {"shape", std::move(shape)},
        {"data_offsets", {file.data_size, file.data_size + nbytes}},
    };
    file.data_size += nbytes;
    file.tensors.push_back(std::move(t));
  }
  std::string text;
  try {
    text = json.dump();
  } catch (const nlohmann::json::exception& e) {
    return FormatError(absl::StrCat("tensor names and metadata must be valid "
                                    "UTF-8: ",
                                    e.what()));
  }
  // Pad with spaces so the data buffer starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  file.header.reserve(kHeaderLengthBytes + text.size());
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) {
    file.header.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  file.header += text;
  return file;
}

absl::Status WriteToFd(int fd, const PreparedFile& file) {
  absl::Status s = WriteFully(fd, file.header.data(), file.header.size());
  for (const at::Tensor& t : file.tensors) {
    if (!s.ok()) return s;
    if (t.nbytes() > 0) s = WriteFully(fd, t.data_ptr(), t.nbytes());
  }
  return s;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

absl::StatusOr<SafetensorsContents> ParseSafetensorsWithMetadata(
    absl::string_view bytes) {
  absl::StatusOr<uint64_t> n = HeaderLength(bytes, bytes.size());
  if (!n.ok()) return n.status();
  const uint64_t data_start = kHeaderLengthBytes + *n;
  absl::StatusOr<Header> header =
      ParseHeader(bytes.substr(kHeaderLengthBytes, *n),
                  bytes.size() - data_start);
  if (!header.ok()) return header.status();
  SafetensorsContents contents;
  contents.metadata = std::move(header->metadata);
  for (const TensorSpec& spec : header->tensors) {
    absl::StatusOr<at::Tensor> t = AllocateTensor(spec);
    if (!t.ok()) return t.status();
    if (spec.end > spec.begin) {
      std::memcpy(t->data_ptr(), bytes.data() + data_start + spec.begin,
                  spec.end - spec.begin);
    }
    absl::Status s = CheckBoolBytes(spec, *t);
    if (!s.ok()) return s;
    s = contents.tensors.Add(spec.name, *std::move(t));
    if (!s.ok()) return s;
  }
  return contents;
}

absl::StatusOr<StateDict> ParseSafetensors(absl::string_view bytes) {
  absl::StatusOr<SafetensorsContents> contents =
      ParseSafetensorsWithMetadata(bytes);
  if (!contents.ok()) return contents.status();
  return std::move(contents->tensors);
}

absl::StatusOr<SafetensorsContents> ReadSafetensorsWithMetadata(
    const std::string& path) {
  int raw_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw_fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  }
  FdCloser fd(raw_fd);
  absl::StatusOr<SafetensorsContents> contents = ReadFromFd(fd.get());
  if (!contents.ok()) return Annotate(contents.status(), path);
  return contents;
}

absl::StatusOr<StateDict> ReadSafetensors(const std::string& path) {
  absl::StatusOr<SafetensorsContents> contents =
      ReadSafetensorsWithMetadata(path);
  if (!contents.ok()) return contents.status();
  return std::move(contents->tensors);
}

absl::StatusOr<std::string> SerializeSafetensors(
    const StateDict& tensors,
    const std::map<std::string, std::string>& metadata) {
  absl::StatusOr<PreparedFile> file = Prepare(tensors, metadata);
  if (!file.ok()) return file.status();
  std::string out;
  try {
    out.reserve(file->header.size() + file->data_size);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("safetensors: cannot allocate ",
                     file->header.size() + file->data_size, " bytes"));
  }
  out += file->header;
  for (const at::Tensor& t : file->tensors) {
    if (t.nbytes() > 0) {
      out.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
    }
  }
  return out;
}

absl::Status WriteSafetensors(
    const StateDict& tensors, const std::string& path,
    const std::map<std::string, std::string>& metadata) {
  absl::StatusOr<PreparedFile> file = Prepare(tensors, metadata);
  if (!file.ok()) return Annotate(file.status(), path);

  std::string temp_path = path + ".tmp.XXXXXX";
  int raw_fd = ::mkostemp(temp_path.data(), O_CLOEXEC);
  if (raw_fd < 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("cannot create a temporary file beside ", path));
  }
  FdCloser fd(raw_fd);
  // mkstemp creates 0600; a checkpoint is ordinarily world-readable.
  (void)::fchmod(fd.get(), 0644);
  absl::Status s = WriteToFd(fd.get(), *file);
  if (s.ok() && ::fsync(fd.get()) != 0) s = absl::ErrnoToStatus(errno, "fsync");
  if (fd.Close() != 0 && s.ok()) s = absl::ErrnoToStatus(errno, "close");
  if (s.ok() && ::rename(temp_path.c_str(), path.c_str()) != 0) {
    s = absl::ErrnoToStatus(errno, absl::StrCat("rename from ", temp_path));
  }
  if (!s.ok()) {
    ::unlink(temp_path.c_str());
    return Annotate(s, absl::StrCat("writing ", path));
  }
  // Make the rename durable; best effort, the file itself is complete.
  int dir_fd = ::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY |
                                                O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace sam2
