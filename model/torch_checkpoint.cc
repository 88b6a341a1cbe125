// torch.save checkpoint reader. See torch_checkpoint.h.
//
// Mirrors torch/serialization.py (_load, persistent_load) and
// torch/_utils.py (_rebuild_tensor_v2, _rebuild_parameter), minus anything
// that would run code named by the file.

#include "model/torch_checkpoint.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "model/pickle_reader.h"
#include "model/zip_archive.h"

namespace sam2 {
namespace {

// Highest zip-format version PyTorch itself reads today
// (caffe2/serialize/versions.h kMaxSupportedFileFormatVersion); torch.save
// writes 3. A higher number means a format we have never seen.
constexpr int64_t kMaxFormatVersion = 10;
// More dimensions than any real tensor; bounds the extent arithmetic.
constexpr size_t kMaxDims = 64;
// version / byteorder are a few bytes.
constexpr uint64_t kMaxSmallEntryBytes = 64;

struct DtypeInfo {
  absl::string_view storage;  // the torch.<X>Storage global's name
  at::ScalarType type;
  int64_t element_size;
};

constexpr DtypeInfo kDtypes[] = {
    {"FloatStorage", at::kFloat, 4},     {"HalfStorage", at::kHalf, 2},
    {"BFloat16Storage", at::kBFloat16, 2}, {"DoubleStorage", at::kDouble, 8},
    {"LongStorage", at::kLong, 8},       {"IntStorage", at::kInt, 4},
    {"ShortStorage", at::kShort, 2},     {"CharStorage", at::kChar, 1},
    {"ByteStorage", at::kByte, 1},       {"BoolStorage", at::kBool, 1},
};

const DtypeInfo* FindDtype(const PickleValue& storage_type) {
  if (storage_type.kind != PickleKind::kGlobal || storage_type.str != "torch") {
    return nullptr;
  }
  for (const DtypeInfo& d : kDtypes) {
    if (storage_type.name == d.storage) return &d;
  }
  return nullptr;
}

bool IsCpuOrCudaLocation(absl::string_view location) {
  if (location == "cpu") return true;
  if (!absl::ConsumePrefix(&location, "cuda:")) return false;
  if (location.empty() || location.size() > 4) return false;
  for (char c : location) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Storage keys become entry names; keep them to the plain tokens torch
// writes so a key can never reach outside <prefix>/data/.
bool IsSafeStorageKey(absl::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

std::string Describe(const PickleValue* v) {
  if (v == nullptr) return "nothing";
  return absl::StrCat(PickleKindName(v->kind), " ",
                      PickleDebugString(*v, /*max_depth=*/3, /*max_chars=*/80));
}

// The entries of a dict or of an OrderedDict() built by REDUCE; nullptr for
// anything else. An OrderedDict's BUILD state (a state dict's `_metadata`
// attribute: per-module version numbers) is dropped: it holds no tensors.
const std::vector<std::pair<const PickleValue*, const PickleValue*>>*
AsDictItems(const PickleValue* v) {
  if (v == nullptr) return nullptr;
  if (v->kind == PickleKind::kDict) return &v->dict_items;
  if (v->IsReduceOf("collections", "OrderedDict") && v->args != nullptr &&
      v->args->items.empty() && v->items.empty()) {
    return &v->dict_items;
  }
  return nullptr;
}

bool IsEmptyDict(const PickleValue* v) {
  const auto* items = AsDictItems(v);
  return items != nullptr && items->empty();
}

absl::StatusOr<int64_t> NonNegativeInt(const PickleValue* v,
                                       absl::string_view what) {
  if (v == nullptr || v->kind != PickleKind::kInt) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", Describe(v), ", not an integer"));
  }
  if (v->int_value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is negative (", v->int_value, ")"));
  }
  return v->int_value;
}

absl::StatusOr<std::vector<int64_t>> IntTuple(const PickleValue* v,
                                              absl::string_view what) {
  if (v == nullptr || v->kind != PickleKind::kTuple) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", Describe(v), ", not a tuple"));
  }
  if (v->items.size() > kMaxDims) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has ", v->items.size(), " dimensions (limit ", kMaxDims, ")"));
  }
  std::vector<int64_t> out;
  out.reserve(v->items.size());
  for (size_t i = 0; i < v->items.size(); ++i) {
    absl::StatusOr<int64_t> x =
        NonNegativeInt(v->items[i], absl::StrCat(what, "[", i, "]"));
    if (!x.ok()) return x.status();
    out.push_back(*x);
  }
  return out;
}

// Prefixes `context` to a failed status. A missing entry inside an archive
// that does exist is malformed content, not a missing file: INVALID_ARGUMENT.
absl::Status InArchive(const absl::Status& status, absl::string_view context) {
  const absl::StatusCode code = status.code() == absl::StatusCode::kNotFound
                                    ? absl::StatusCode::kInvalidArgument
                                    : status.code();
  return absl::Status(code, absl::StrCat(context, ": ", status.message()));
}

absl::Status WithTensorKey(const absl::Status& status, absl::string_view key) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat("tensor '", absl::CHexEscape(key),
                                   "': ", status.message()));
}

// Interprets a parsed data.pkl against its archive.
class CheckpointInterpreter {
 public:
  CheckpointInterpreter(ZipArchive* archive, std::string prefix)
      : archive_(archive), prefix_(std::move(prefix)) {}

  absl::StatusOr<StateDict> Run(const PickleValue& root) {
    const auto* root_items = AsDictItems(&root);
    if (root_items == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint root is ", Describe(&root), ", not a dict"));
    }
    const auto* state_items = root_items;
    for (const auto& [key, value] : *root_items) {
      if (key->kind == PickleKind::kString && key->str == "model") {
        state_items = AsDictItems(value);
        if (state_items == nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(
              "checkpoint['model'] is ", Describe(value), ", not a dict"));
        }
        break;
      }
    }
    StateDict result;
    for (size_t i = 0; i < state_items->size(); ++i) {
      const auto& [key, value] = (*state_items)[i];
      if (key->kind != PickleKind::kString) {
        return absl::InvalidArgumentError(
            absl::StrCat("state dict key #", i, " is ", Describe(key),
                         ", not a string"));
      }
      absl::StatusOr<at::Tensor> tensor = RebuildTensor(value, true);
      if (!tensor.ok()) return WithTensorKey(tensor.status(), key->str);
      absl::Status added = result.Add(key->str, *std::move(tensor));
      if (!added.ok()) return added;
    }
    return result;
  }

 private:
  struct Storage {
    at::ScalarType type;
    int64_t numel;
    at::Tensor flat;  // 1-D, numel elements, owns the bytes
  };

  // `allow_parameter`: one _rebuild_parameter wrapper is fine, a parameter
  // of a parameter is not something torch writes.
  absl::StatusOr<at::Tensor> RebuildTensor(const PickleValue* v,
                                           bool allow_parameter) {
    if (v == nullptr) return absl::InvalidArgumentError("missing value");
    if (allow_parameter &&
        v->IsReduceOf("torch._utils", "_rebuild_parameter")) {
      // _rebuild_parameter(data, requires_grad, backward_hooks)
      const auto& args = v->args->items;
      if (args.size() != 3) {
        return absl::InvalidArgumentError(absl::StrCat(
            "_rebuild_parameter takes 3 arguments, got ", args.size()));
      }
      if (!IsEmptyDict(args[2])) {
        return absl::InvalidArgumentError(
            "_rebuild_parameter with backward hooks (code) is not supported");
      }
      if (!v->items.empty() || !v->dict_items.empty() || v->state != nullptr) {
        return absl::InvalidArgumentError(
            "parameter carries extra state, which is not supported");
      }
      return RebuildTensor(args[0], false);
    }
    if (!v->IsReduceOf("torch._utils", "_rebuild_tensor_v2")) {
      return absl::InvalidArgumentError(
          absl::StrCat("value is ", Describe(v), ", not a tensor"));
    }
    if (!v->items.empty() || !v->dict_items.empty() || v->state != nullptr) {
      return absl::InvalidArgumentError(
          "tensor carries extra state, which is not supported");
    }
    // _rebuild_tensor_v2(storage, storage_offset, size, stride,
    //                    requires_grad, backward_hooks[, metadata])
    const auto& args = v->args->items;
    if (args.size() != 6 && args.size() != 7) {
      return absl::InvalidArgumentError(absl::StrCat(
          "_rebuild_tensor_v2 takes 6 or 7 arguments, got ", args.size()));
    }
    absl::StatusOr<const Storage*> storage = GetStorage(args[0]);
    if (!storage.ok()) return storage.status();
    absl::StatusOr<int64_t> offset = NonNegativeInt(args[1], "storage offset");
    if (!offset.ok()) return offset.status();
    absl::StatusOr<std::vector<int64_t>> size = IntTuple(args[2], "size");
    if (!size.ok()) return size.status();
    absl::StatusOr<std::vector<int64_t>> stride = IntTuple(args[3], "stride");
    if (!stride.ok()) return stride.status();
    if (size->size() != stride->size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("size has ", size->size(), " dimensions but stride has ",
                       stride->size()));
    }
    if (args[4] == nullptr || args[4]->kind != PickleKind::kBool) {
      return absl::InvalidArgumentError(absl::StrCat(
          "requires_grad is ", Describe(args[4]), ", not a bool"));
    }
    if (!IsEmptyDict(args[5])) {
      return absl::InvalidArgumentError(
          "tensor with backward hooks (code) is not supported");
    }
    if (args.size() == 7 && args[6]->kind != PickleKind::kNone &&
        !IsEmptyDict(args[6])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor metadata ", Describe(args[6]), " is not supported"));
    }
    absl::Status s = CheckExtent(**storage, *offset, *size, *stride);
    if (!s.ok()) return s;
    at::Tensor view = (*storage)->flat.as_strided(*size, *stride, *offset);
    if (!view.is_contiguous()) view = view.contiguous();
    return view;
  }

  static absl::Status CheckExtent(const Storage& storage, int64_t offset,
                                  const std::vector<int64_t>& size,
                                  const std::vector<int64_t>& stride) {
    // All values are non-negative; the builtins catch int64 overflow.
    int64_t numel = 1;
    int64_t last = offset;  // index of the last element reached
    for (size_t i = 0; i < size.size(); ++i) {
      if (__builtin_mul_overflow(numel, size[i], &numel)) {
        return absl::InvalidArgumentError("element count overflows int64");
      }
      if (size[i] == 0) continue;
      int64_t reach;
      if (__builtin_mul_overflow(size[i] - 1, stride[i], &reach) ||
          __builtin_add_overflow(last, reach, &last)) {
        return absl::InvalidArgumentError("tensor extent overflows int64");
      }
    }
    if (numel == 0) {
      if (offset > storage.numel) {
        return absl::InvalidArgumentError(
            absl::StrCat("storage offset ", offset,
                         " is beyond its storage of ", storage.numel,
                         " elements"));
      }
      return absl::OkStatus();
    }
    if (last >= storage.numel) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor reaches element ", last, " of a storage of only ",
          storage.numel, " elements"));
    }
    return absl::OkStatus();
  }

  // Resolves BINPERSID ('storage', <dtype>Storage, key, location, numel),
  // reading the storage the first time its key is seen.
  absl::StatusOr<const Storage*> GetStorage(const PickleValue* v) {
    if (v == nullptr || v->kind != PickleKind::kPersistentId) {
      return absl::InvalidArgumentError(
          absl::StrCat("storage is ", Describe(v), ", not a persistent id"));
    }
    const PickleValue* pid = v->persistent_id;
    if (pid == nullptr || pid->kind != PickleKind::kTuple ||
        pid->items.size() != 5 || pid->items[0]->kind != PickleKind::kString ||
        pid->items[0]->str != "storage") {
      return absl::InvalidArgumentError(
          absl::StrCat("persistent id ", Describe(pid),
                       " is not ('storage', type, key, location, numel)"));
    }
    const DtypeInfo* dtype = FindDtype(*pid->items[1]);
    if (dtype == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unsupported storage type ", Describe(pid->items[1])));
    }
    const PickleValue* key = pid->items[2];
    if (key->kind != PickleKind::kString || !IsSafeStorageKey(key->str)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad storage key ", Describe(key)));
    }
    const PickleValue* location = pid->items[3];
    if (location->kind != PickleKind::kString ||
        !IsCpuOrCudaLocation(location->str)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported storage location ", Describe(location),
                       " (want 'cpu' or 'cuda:N')"));
    }
    absl::StatusOr<int64_t> numel = NonNegativeInt(pid->items[4], "numel");
    if (!numel.ok()) return numel.status();

    auto it = storages_.find(key->str);
    if (it != storages_.end()) {
      if (it->second->type != dtype->type || it->second->numel != *numel) {
        return absl::InvalidArgumentError(absl::StrCat(
            "storage '", key->str,
            "' is used with two different types or sizes"));
      }
      return it->second.get();
    }

    const std::string entry = absl::StrCat(prefix_, "/data/", key->str);
    int64_t nbytes;
    if (__builtin_mul_overflow(*numel, dtype->element_size, &nbytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("storage '", key->str, "' size overflows"));
    }
    // Check the entry's size before allocating: numel comes from the file.
    absl::StatusOr<uint64_t> actual = archive_->EntrySize(entry);
    if (!actual.ok()) {
      return InArchive(actual.status(),
                       absl::StrCat("storage '", key->str, "'"));
    }
    if (*actual != static_cast<uint64_t>(nbytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "storage '", key->str, "' (", entry, ") has ", *actual,
          " bytes, but ", *numel, " elements of ", dtype->storage, " need ",
          nbytes));
    }
    auto storage = std::make_unique<Storage>();
    storage->type = dtype->type;
    storage->numel = *numel;
    storage->flat = at::empty({*numel}, at::TensorOptions().dtype(dtype->type));
    if (nbytes > 0) {
      absl::Status s = archive_->ReadEntryInto(
          entry, storage->flat.data_ptr(), static_cast<uint64_t>(nbytes));
      if (!s.ok()) {
        return InArchive(s, absl::StrCat("storage '", key->str, "'"));
      }
    }
    if (dtype->type == at::kBool) {
      // Any byte other than 0/1 is not a valid bool.
      const uint8_t* bytes =
          static_cast<const uint8_t*>(storage->flat.data_ptr());
      for (int64_t i = 0; i < nbytes; ++i) {
        if (bytes[i] > 1) {
          return absl::InvalidArgumentError(absl::StrCat(
              "storage '", key->str, "' holds a bool that is not 0 or 1"));
        }
      }
    }
    const Storage* out = storage.get();
    storages_.emplace(key->str, std::move(storage));
    return out;
  }

  ZipArchive* archive_;
  const std::string prefix_;
  absl::flat_hash_map<std::string, std::unique_ptr<Storage>> storages_;
};

// The single "<prefix>/data.pkl" entry's prefix.
absl::StatusOr<std::string> FindPrefix(const ZipArchive& archive) {
  std::string prefix;
  int found = 0;
  for (const std::string& name : archive.entry_names()) {
    absl::string_view n = name;
    if (!absl::ConsumeSuffix(&n, "/data.pkl")) continue;
    if (n.empty() || absl::StrContains(n, '/')) continue;
    if (++found > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint has several data.pkl entries ('", prefix, "/' and '", n,
          "/')"));
    }
    prefix = std::string(n);
  }
  if (found == 0) {
    return absl::InvalidArgumentError(
        "zip archive has no '<folder>/data.pkl' entry: not a torch.save "
        "checkpoint");
  }
  return prefix;
}

absl::Status CheckVersionAndByteOrder(ZipArchive* archive,
                                      const std::string& prefix) {
  // Newer PyTorch writes .data/version as well; either will do.
  std::string version_entry = absl::StrCat(prefix, "/version");
  if (!archive->Contains(version_entry)) {
    version_entry = absl::StrCat(prefix, "/.data/version");
  }
  if (!archive->Contains(version_entry)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint has no '", prefix, "/version' entry"));
  }
  absl::StatusOr<std::string> version =
      archive->ReadEntry(version_entry, kMaxSmallEntryBytes);
  if (!version.ok()) return InArchive(version.status(), "checkpoint version");
  int64_t v = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*version), &v) || v < 1 ||
      v > kMaxFormatVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported checkpoint format version '",
                     absl::CHexEscape(*version), "'"));
  }
  const std::string byteorder_entry = absl::StrCat(prefix, "/byteorder");
  if (archive->Contains(byteorder_entry)) {
    absl::StatusOr<std::string> order =
        archive->ReadEntry(byteorder_entry, kMaxSmallEntryBytes);
    if (!order.ok()) return InArchive(order.status(), "checkpoint byte order");
    if (absl::StripAsciiWhitespace(*order) != "little") {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint byte order is '", absl::CHexEscape(*order),
                       "'; only little-endian checkpoints are read"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StateDict> ReadFromArchive(ZipArchive* archive) {
  // Storages are copied byte for byte; that is only right on a
  // little-endian host.
  const uint16_t probe = 1;
  uint8_t first_byte;
  std::memcpy(&first_byte, &probe, 1);
  if (first_byte != 1) {
    return absl::UnimplementedError(
        "reading torch checkpoints needs a little-endian host");
  }
  absl::StatusOr<std::string> prefix = FindPrefix(*archive);
  if (!prefix.ok()) return prefix.status();
  absl::Status s = CheckVersionAndByteOrder(archive, *prefix);
  if (!s.ok()) return s;
  absl::StatusOr<std::string> pickle_bytes = archive->ReadEntry(
      absl::StrCat(*prefix, "/data.pkl"), kMaxTorchPickleBytes);
  if (!pickle_bytes.ok()) return InArchive(pickle_bytes.status(), "data.pkl");
  PickleOptions options;
  options.allowed_globals = TorchCheckpointGlobals();
  absl::StatusOr<Pickle> pickle = ReadPickle(*pickle_bytes, options);
  if (!pickle.ok()) {
    return absl::Status(pickle.status().code(),
                        absl::StrCat(*prefix, "/data.pkl: ",
                                     pickle.status().message()));
  }
  return CheckpointInterpreter(archive, *prefix).Run(pickle->root());
}

// Runs `read` with every exception turned into a status.
template <typename Fn>
absl::StatusOr<StateDict> Guarded(absl::string_view source, Fn read) {
  absl::StatusOr<StateDict> result;
  try {
    result = read();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(
        "LibTorch error reading checkpoint ", source, ": ",
        e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory reading checkpoint ", source));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("error reading checkpoint ", source, ": ", e.what()));
  }
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat("checkpoint ", source, ": ",
                                     result.status().message()));
  }
  return result;
}

}  // namespace

absl::StatusOr<StateDict> ReadTorchCheckpoint(const std::string& path) {
  return Guarded(absl::StrCat("'", path, "'"),
                 [&]() -> absl::StatusOr<StateDict> {
                   absl::StatusOr<std::unique_ptr<ZipArchive>> archive =
                       ZipArchive::OpenFile(path);
                   if (!archive.ok()) return archive.status();
                   return ReadFromArchive(archive->get());
                 });
}

absl::StatusOr<StateDict> ReadTorchCheckpointFromBuffer(
    absl::string_view bytes) {
  return Guarded("(in memory)", [&]() -> absl::StatusOr<StateDict> {
    absl::StatusOr<std::unique_ptr<ZipArchive>> archive =
        ZipArchive::OpenBuffer(bytes);
    if (!archive.ok()) return archive.status();
    return ReadFromArchive(archive->get());
  });
}

}  // namespace sam2
