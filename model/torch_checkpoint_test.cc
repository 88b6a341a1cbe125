// Tests for ReadTorchCheckpoint: the fixture checkpoint (counts, shapes and
// exact values, checked against a pure-Python zipfile+struct reading of its
// storages), checkpoints built here with libzip and a tiny pickle writer
// (other folder names, shared and strided storages, dtypes, parameters), and
// broken checkpoints, each of which must give a clear status, never a crash.

#include "model/torch_checkpoint.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/casts.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/state_dict.h"
#include "model/zip_archive.h"

namespace sam2 {
namespace {

constexpr char kFixture[] = "tests/fixtures/sam2.1-micro/model.pt";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --- zip helpers ------------------------------------------------------------

using Entries = std::vector<std::pair<std::string, std::string>>;

// Builds a zip (stored entries, in order) in memory; "" on failure.
std::string BuildZip(const Entries& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (out == nullptr) return "";
  zip_t* archive = zip_open_from_source(out, ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    zip_source_free(out);
    return "";
  }
  zip_source_keep(out);
  for (const auto& [name, data] : entries) {
    zip_source_t* src = zip_source_buffer(archive, data.data(), data.size(), 0);
    const zip_int64_t index =
        zip_file_add(archive, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      zip_discard(archive);
      zip_source_free(out);
      return "";
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                             ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) {
    zip_discard(archive);
    zip_source_free(out);
    return "";
  }
  std::string bytes;
  zip_stat_t st;
  if (zip_source_stat(out, &st) == 0 && zip_source_open(out) == 0) {
    bytes.resize(st.size);
    if (zip_source_read(out, bytes.data(), st.size) !=
        static_cast<zip_int64_t>(st.size)) {
      bytes.clear();
    }
    zip_source_close(out);
  }
  zip_source_free(out);
  zip_error_fini(&error);
  return bytes;
}

// Every entry of the fixture, in order.
Entries FixtureEntries() {
  Entries entries;
  auto archive = ZipArchive::OpenFile(kFixture);
  if (!archive.ok()) return entries;
  for (const std::string& name : (*archive)->entry_names()) {
    auto data = (*archive)->ReadEntry(name, uint64_t{1} << 30);
    if (!data.ok()) return {};
    entries.emplace_back(name, *data);
  }
  return entries;
}

std::string* FindEntry(Entries& entries, const std::string& name) {
  for (auto& [n, data] : entries) {
    if (n == name) return &data;
  }
  return nullptr;
}

// --- a tiny pickle writer (protocol 2, the opcodes torch.save uses) ---------

class PickleWriter {
 public:
  PickleWriter() : out_("\x80\x02", 2) {}
  PickleWriter& Op(char op) {
    out_ += op;
    return *this;
  }
  PickleWriter& Global(absl::string_view module, absl::string_view name) {
    absl::StrAppend(&out_, "c", module, "\n", name, "\n");
    return *this;
  }
  PickleWriter& Str(absl::string_view s) {
    out_ += 'X';
    AppendLE32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
    return *this;
  }
  PickleWriter& Int(int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';
      out_ += static_cast<char>(v);
    } else {
      out_ += 'J';
      AppendLE32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    }
    return *this;
  }
  PickleWriter& IntTuple(const std::vector<int64_t>& values) {
    Op('(');
    for (int64_t v : values) Int(v);
    return Op('t');
  }
  PickleWriter& OrderedDict() {
    return Global("collections", "OrderedDict").Op(')').Op('R');
  }
  std::string Finish() { return out_ + "."; }

 private:
  void AppendLE32(uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    }
  }
  std::string out_;
};

struct TensorSpec {
  std::string name;
  std::string storage_key;
  int64_t numel = 0;  // of the storage
  int64_t offset = 0;
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
  std::string storage_type = "FloatStorage";
  std::string location = "cpu";
  bool parameter = false;
  bool metadata = false;  // pass the optional 7th argument (empty dict)
};

void WriteTensor(PickleWriter& w, const TensorSpec& t) {
  if (t.parameter) w.Global("torch._utils", "_rebuild_parameter").Op('(');
  w.Global("torch._utils", "_rebuild_tensor_v2").Op('(');
  w.Op('(')
      .Str("storage")
      .Global("torch", t.storage_type)
      .Str(t.storage_key)
      .Str(t.location)
      .Int(t.numel)
      .Op('t')
      .Op('Q');
  w.Int(t.offset).IntTuple(t.size).IntTuple(t.stride).Op('\x89').OrderedDict();
  if (t.metadata) w.Op('}');
  w.Op('t').Op('R');
  if (t.parameter) w.Op('\x89').OrderedDict().Op('t').Op('R');
}

// torch.save({"model": OrderedDict(tensors)}), or the bare OrderedDict.
std::string StateDictPickle(const std::vector<TensorSpec>& tensors,
                            bool wrap_in_model = true) {
  PickleWriter w;
  if (wrap_in_model) w.Op('}').Str("model");
  w.OrderedDict().Op('(');
  for (const TensorSpec& t : tensors) {
    w.Str(t.name);
    WriteTensor(w, t);
  }
  w.Op('u');
  if (wrap_in_model) w.Op('s');
  return w.Finish();
}

template <typename T>
std::string RawBytes(const std::vector<T>& values) {
  std::string s(values.size() * sizeof(T), '\0');
  if (!s.empty()) std::memcpy(s.data(), values.data(), s.size());
  return s;
}

// A checkpoint zip: <prefix>/data.pkl, <prefix>/data/<key>..., version.
std::string Checkpoint(const std::string& pickle, const Entries& storages,
                       const std::string& prefix = "archive") {
  Entries entries = {{prefix + "/data.pkl", pickle}};
  for (const auto& [key, bytes] : storages) {
    entries.emplace_back(absl::StrCat(prefix, "/data/", key), bytes);
  }
  entries.emplace_back(prefix + "/version", "3\n");
  return BuildZip(entries);
}

uint32_t Bits(float f) { return absl::bit_cast<uint32_t>(f); }

// Expects a failed status whose message contains every one of `parts`.
void ExpectError(const absl::StatusOr<StateDict>& result,
                 absl::StatusCode code,
                 const std::vector<std::string>& parts) {
  ASSERT_FALSE(result.ok());
  // Printed so the test log shows what a user would read.
  std::cout << "    " << result.status() << "\n";
  EXPECT_EQ(result.status().code(), code) << result.status();
  for (const std::string& part : parts) {
    EXPECT_TRUE(absl::StrContains(result.status().message(), part))
        << "'" << part << "' not in: " << result.status();
  }
}

// --- the fixture ------------------------------------------------------------

TEST(TorchCheckpointTest, LoadsTheFixture) {
  absl::StatusOr<StateDict> sd = ReadTorchCheckpoint(kFixture);
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->size(), 371u);
  EXPECT_EQ(sd->NumParameters(), 1156714);
  EXPECT_EQ(sd->entries().front().name, "maskmem_tpos_enc");
  EXPECT_EQ(sd->entries().back().name, "obj_ptr_tpos_proj.bias");
  for (const NamedTensor& e : *sd) {
    EXPECT_EQ(e.tensor.scalar_type(), at::kFloat) << e.name;
    EXPECT_TRUE(e.tensor.device().is_cpu()) << e.name;
    EXPECT_TRUE(e.tensor.is_contiguous()) << e.name;
    EXPECT_FALSE(e.tensor.requires_grad()) << e.name;
  }

  const at::Tensor* tpos = sd->Find("maskmem_tpos_enc");
  ASSERT_NE(tpos, nullptr);
  EXPECT_EQ(tpos->sizes().vec(), (std::vector<int64_t>{7, 1, 1, 16}));
  const at::Tensor* no_mem = sd->Find("no_mem_embed");
  ASSERT_NE(no_mem, nullptr);
  EXPECT_EQ(no_mem->sizes().vec(), (std::vector<int64_t>{1, 1, 32}));
  const at::Tensor* patch =
      sd->Find("image_encoder.trunk.patch_embed.proj.weight");
  ASSERT_NE(patch, nullptr);
  EXPECT_EQ(patch->sizes().vec(), (std::vector<int64_t>{16, 3, 7, 7}));
  const at::Tensor* bias = sd->Find("obj_ptr_tpos_proj.bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->sizes().vec(), (std::vector<int64_t>{16}));
  EXPECT_EQ(sd->Find("sam_mask_decoder.iou_prediction_head.layers.2.bias")
                ->sizes()
                .vec(),
            (std::vector<int64_t>{4}));

  // Bit patterns from python3: struct.unpack_from('<I', zipfile.ZipFile(
  // 'model.pt').read('model/data/<key>'), 4 * index).
  const float* t = tpos->data_ptr<float>();
  EXPECT_EQ(Bits(t[0]), 0xbd0876a0u);    // -0.03331625461578369
  EXPECT_EQ(Bits(t[111]), 0xbd3ef6b4u);  // -0.04662199318408966
  EXPECT_EQ(Bits(no_mem->data_ptr<float>()[5]), 0x3c864ab0u);
  const float* p = patch->data_ptr<float>();
  EXPECT_EQ(Bits(p[0]), 0x3ca2d24bu);
  EXPECT_EQ(Bits(p[2351]), 0x3d86fd78u);
  EXPECT_EQ(Bits(bias->data_ptr<float>()[0]), 0xbcb89989u);
  EXPECT_EQ(Bits(bias->data_ptr<float>()[15]), 0x3cff5587u);
  EXPECT_FLOAT_EQ((*tpos)[0][0][0][0].item<float>(), -0.03331625461578369f);
}

TEST(TorchCheckpointTest, BufferMatchesFileAndOwnsItsMemory) {
  std::string bytes = ReadFile(kFixture);
  absl::StatusOr<StateDict> from_buffer = ReadTorchCheckpointFromBuffer(bytes);
  ASSERT_TRUE(from_buffer.ok()) << from_buffer.status();
  // The tensors must not point into the buffer.
  std::fill(bytes.begin(), bytes.end(), '\0');
  bytes = std::string();
  absl::StatusOr<StateDict> from_file = ReadTorchCheckpoint(kFixture);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  ASSERT_EQ(from_buffer->size(), from_file->size());
  for (size_t i = 0; i < from_file->size(); ++i) {
    const NamedTensor& a = from_file->entries()[i];
    const NamedTensor& b = from_buffer->entries()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_TRUE(at::equal(a.tensor, b.tensor)) << a.name;
  }
}

TEST(TorchCheckpointTest, AnyTopLevelFolderName) {
  Entries entries = FixtureEntries();
  ASSERT_EQ(entries.size(), 373u);
  for (auto& [name, data] : entries) {
    ASSERT_TRUE(absl::StartsWith(name, "model/")) << name;
    name = "sam2.1_hiera_micro/" + name.substr(6);
  }
  absl::StatusOr<StateDict> sd =
      ReadTorchCheckpointFromBuffer(BuildZip(entries));
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->size(), 371u);
  EXPECT_EQ(sd->NumParameters(), 1156714);
}

// --- hand-built checkpoints -------------------------------------------------

TEST(TorchCheckpointTest, SharedStorageIsReadOnceAndShared) {
  const std::vector<float> data = {0, 1, 2, 3, 4, 5, 6, 7};
  const std::string pickle = StateDictPickle({
      {"a", "0", 8, 0, {2, 2}, {2, 1}},
      {"b", "0", 8, 4, {4}, {1}},
  });
  absl::StatusOr<StateDict> sd = ReadTorchCheckpointFromBuffer(
      Checkpoint(pickle, {{"0", RawBytes(data)}}));
  ASSERT_TRUE(sd.ok()) << sd.status();
  const at::Tensor& a = *sd->Find("a");
  const at::Tensor& b = *sd->Find("b");
  EXPECT_TRUE(at::equal(a, at::tensor({0.f, 1.f, 2.f, 3.f}).view({2, 2})));
  EXPECT_TRUE(at::equal(b, at::tensor({4.f, 5.f, 6.f, 7.f})));
  EXPECT_TRUE(a.storage().is_alias_of(b.storage()));
  EXPECT_EQ(b.storage_offset(), 4);
}

TEST(TorchCheckpointTest, StridedViewsBecomeContiguous) {
  const std::vector<float> data = {0, 1, 2, 3, 4, 5};
  // The transpose of a 2x3 matrix, and an expanded (stride 0) row.
  const std::string pickle = StateDictPickle({
      {"t", "0", 6, 0, {3, 2}, {1, 3}},
      {"e", "0", 6, 1, {2, 2}, {0, 1}},
  });
  absl::StatusOr<StateDict> sd = ReadTorchCheckpointFromBuffer(
      Checkpoint(pickle, {{"0", RawBytes(data)}}));
  ASSERT_TRUE(sd.ok()) << sd.status();
  const at::Tensor& t = *sd->Find("t");
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_TRUE(at::equal(
      t, at::tensor({0.f, 3.f, 1.f, 4.f, 2.f, 5.f}).view({3, 2})));
  const at::Tensor& e = *sd->Find("e");
  EXPECT_TRUE(e.is_contiguous());
  EXPECT_TRUE(at::equal(e, at::tensor({1.f, 2.f, 1.f, 2.f}).view({2, 2})));
}

TEST(TorchCheckpointTest, BareStateDictParametersAndEmptyTensors) {
  TensorSpec w{"w", "k0", 2, 0, {2}, {1}};
  w.parameter = true;
  TensorSpec m{"m", "k0", 2, 1, {1}, {1}};
  m.metadata = true;
  m.location = "cuda:0";
  TensorSpec empty{"empty", "k1", 0, 0, {0, 3}, {3, 1}};
  const std::string pickle =
      StateDictPickle({w, m, empty}, /*wrap_in_model=*/false);
  absl::StatusOr<StateDict> sd = ReadTorchCheckpointFromBuffer(Checkpoint(
      pickle, {{"k0", RawBytes(std::vector<float>{1.5f, -2.f})}, {"k1", ""}}));
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_TRUE(at::equal(*sd->Find("w"), at::tensor({1.5f, -2.f})));
  EXPECT_TRUE(at::equal(*sd->Find("m"), at::tensor({-2.f})));
  EXPECT_TRUE(sd->Find("m")->device().is_cpu());
  EXPECT_EQ(sd->Find("empty")->sizes().vec(), (std::vector<int64_t>{0, 3}));
}

TEST(TorchCheckpointTest, AllDtypes) {
  struct Case {
    std::string storage;
    at::ScalarType type;
    std::string bytes;  // two elements
  };
  const std::vector<Case> cases = {
      {"FloatStorage", at::kFloat, RawBytes(std::vector<float>{1, -2})},
      {"DoubleStorage", at::kDouble, RawBytes(std::vector<double>{1, -2})},
      {"HalfStorage", at::kHalf,
       RawBytes(std::vector<uint16_t>{0x3c00, 0xc000})},
      {"BFloat16Storage", at::kBFloat16,
       RawBytes(std::vector<uint16_t>{0x3f80, 0xc000})},
      {"LongStorage", at::kLong, RawBytes(std::vector<int64_t>{1, -2})},
      {"IntStorage", at::kInt, RawBytes(std::vector<int32_t>{1, -2})},
      {"ShortStorage", at::kShort, RawBytes(std::vector<int16_t>{1, -2})},
      {"CharStorage", at::kChar, RawBytes(std::vector<int8_t>{1, -2})},
      {"ByteStorage", at::kByte, RawBytes(std::vector<uint8_t>{1, 254})},
      {"BoolStorage", at::kBool, RawBytes(std::vector<uint8_t>{1, 0})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.storage);
    TensorSpec t{"x", "0", 2, 0, {2}, {1}};
    t.storage_type = c.storage;
    absl::StatusOr<StateDict> sd = ReadTorchCheckpointFromBuffer(
        Checkpoint(StateDictPickle({t}), {{"0", c.bytes}}));
    ASSERT_TRUE(sd.ok()) << sd.status();
    const at::Tensor& x = *sd->Find("x");
    EXPECT_EQ(x.scalar_type(), c.type);
    const at::Tensor d = x.to(at::kDouble);
    EXPECT_EQ(d[0].item<double>(), 1.0);
    const double second = c.type == at::kBool ? 0.0
                          : c.type == at::kByte ? 254.0
                                                : -2.0;
    EXPECT_EQ(d[1].item<double>(), second);
  }
}

TEST(TorchCheckpointTest, ByteOrderEntry) {
  const std::string pickle = StateDictPickle({{"x", "0", 1, 0, {1}, {1}}});
  const std::string storage = RawBytes(std::vector<float>{3});
  const Entries base = {{"c/data.pkl", pickle},
                        {"c/data/0", storage},
                        {"c/version", "3\n"}};
  Entries little = base;
  little.emplace_back("c/byteorder", "little");
  EXPECT_TRUE(ReadTorchCheckpointFromBuffer(BuildZip(little)).ok());
  Entries big = base;
  big.emplace_back("c/byteorder", "big");
  ExpectError(ReadTorchCheckpointFromBuffer(BuildZip(big)),
              absl::StatusCode::kInvalidArgument, {"byte order", "big"});
}

// --- broken checkpoints -----------------------------------------------------

TEST(TorchCheckpointTest, MissingFileIsNotFound) {
  ExpectError(ReadTorchCheckpoint("tests/fixtures/no-such.pt"),
              absl::StatusCode::kNotFound, {"no-such.pt"});
}

TEST(TorchCheckpointTest, TruncatedZip) {
  const std::string bytes = ReadFile(kFixture);
  ExpectError(ReadTorchCheckpointFromBuffer(
                  absl::string_view(bytes).substr(0, bytes.size() / 2)),
              absl::StatusCode::kInvalidArgument, {"truncated"});
  ExpectError(ReadTorchCheckpointFromBuffer("not a zip at all, just text"),
              absl::StatusCode::kInvalidArgument, {"not a zip"});
}

TEST(TorchCheckpointTest, CorruptedPickle) {
  const Entries entries = FixtureEntries();
  ASSERT_FALSE(entries.empty());
  {
    Entries bad = entries;
    std::string* pickle = FindEntry(bad, "model/data.pkl");
    ASSERT_NE(pickle, nullptr);
    (*pickle)[2] = '\xff';  // EMPTY_DICT -> not an opcode
    ExpectError(ReadTorchCheckpointFromBuffer(BuildZip(bad)),
                absl::StatusCode::kInvalidArgument,
                {"data.pkl", "unknown opcode 0xff", "offset 2"});
  }
  {
    Entries bad = entries;
    std::string* pickle = FindEntry(bad, "model/data.pkl");
    pickle->resize(pickle->size() / 2);
    ExpectError(ReadTorchCheckpointFromBuffer(BuildZip(bad)),
                absl::StatusCode::kInvalidArgument, {"data.pkl"});
  }
  // Flipping bytes anywhere must never crash; most flips are errors.
  int failures = 0;
  Entries copy = entries;
  const size_t size = FindEntry(copy, "model/data.pkl")->size();
  for (size_t at = 0; at < size; at += 997) {
    Entries bad = entries;
    std::string* pickle = FindEntry(bad, "model/data.pkl");
    (*pickle)[at] = static_cast<char>((*pickle)[at] ^ 0x5a);
    absl::StatusOr<StateDict> sd = ReadTorchCheckpointFromBuffer(BuildZip(bad));
    if (!sd.ok()) {
      ++failures;
      EXPECT_NE(sd.status().code(), absl::StatusCode::kUnknown);
      EXPECT_FALSE(sd.status().message().empty());
    }
  }
  EXPECT_GT(failures, 0);
}

TEST(TorchCheckpointTest, UnknownGlobalIsRefused) {
  // {"model": os.system("ls")}
  PickleWriter w;
  w.Op('}').Str("model").Global("os", "system").Str("ls").Op('\x85').Op('R');
  w.Op('s');
  ExpectError(ReadTorchCheckpointFromBuffer(Checkpoint(w.Finish(), {})),
              absl::StatusCode::kInvalidArgument,
              {"unsupported global 'os.system'"});
}

TEST(TorchCheckpointTest, StorageFileTooShort) {
  Entries entries = FixtureEntries();
  std::string* storage = FindEntry(entries, "model/data/0");
  ASSERT_NE(storage, nullptr);
  storage->resize(storage->size() - 4);
  ExpectError(ReadTorchCheckpointFromBuffer(BuildZip(entries)),
              absl::StatusCode::kInvalidArgument,
              {"maskmem_tpos_enc", "storage '0'", "444 bytes", "448"});
}

TEST(TorchCheckpointTest, TensorExtentBeyondStorage) {
  const std::string storage = RawBytes(std::vector<float>(8, 1.f));
  ExpectError(ReadTorchCheckpointFromBuffer(Checkpoint(
                  StateDictPickle({{"too_big", "0", 8, 0, {3, 3}, {3, 1}}}),
                  {{"0", storage}})),
              absl::StatusCode::kInvalidArgument,
              {"too_big", "element 8", "8 elements"});
  ExpectError(ReadTorchCheckpointFromBuffer(Checkpoint(
                  StateDictPickle({{"offset", "0", 8, 5, {4}, {1}}}),
                  {{"0", storage}})),
              absl::StatusCode::kInvalidArgument, {"offset"});
  ExpectError(ReadTorchCheckpointFromBuffer(Checkpoint(
                  StateDictPickle({{"neg", "0", 8, 0, {2}, {-1}}}),
                  {{"0", storage}})),
              absl::StatusCode::kInvalidArgument, {"neg", "negative"});
  ExpectError(ReadTorchCheckpointFromBuffer(Checkpoint(
                  StateDictPickle({{"huge", "0", 8, 0, {2}, {2000000000}}}),
                  {{"0", storage}})),
              absl::StatusCode::kInvalidArgument, {"huge"});
  ExpectError(ReadTorchCheckpointFromBuffer(Checkpoint(
                  StateDictPickle({{"rank", "0", 8, 0, {2, 2}, {1}}}),
                  {{"0", storage}})),
              absl::StatusCode::kInvalidArgument, {"rank", "dimensions"});
}

TEST(TorchCheckpointTest, MissingEntries) {
  Entries entries = FixtureEntries();
  Entries no_pickle, no_version, no_storage;
  for (const auto& e : entries) {
    if (e.first != "model/data.pkl") no_pickle.push_back(e);
    if (e.first != "model/version") no_version.push_back(e);
    if (e.first != "model/data/5") no_storage.push_back(e);
  }
  ExpectError(ReadTorchCheckpointFromBuffer(BuildZip(no_pickle)),
              absl::StatusCode::kInvalidArgument, {"data.pkl"});
  ExpectError(ReadTorchCheckpointFromBuffer(BuildZip(no_version)),
              absl::StatusCode::kInvalidArgument, {"version"});
  ExpectError(ReadTorchCheckpointFromBuffer(BuildZip(no_storage)),
              absl::StatusCode::kInvalidArgument,
              {"storage '5'", "model/data/5"});
}

TEST(TorchCheckpointTest, BadStructure) {
  const std::string storage = RawBytes(std::vector<float>{1, 2});
  auto load = [&](const std::string& pickle) {
    return ReadTorchCheckpointFromBuffer(Checkpoint(pickle, {{"0", storage}}));
  };
  // Root is a list.
  ExpectError(load(PickleWriter().Op(']').Finish()),
              absl::StatusCode::kInvalidArgument, {"root", "not a dict"});
  // A value that is not a tensor.
  ExpectError(load(PickleWriter().Op('}').Str("x").Int(1).Op('s').Finish()),
              absl::StatusCode::kInvalidArgument, {"'x'", "not a tensor"});
  // "model" is not a dict.
  ExpectError(
      load(PickleWriter().Op('}').Str("model").Int(1).Op('s').Finish()),
      absl::StatusCode::kInvalidArgument, {"model", "not a dict"});
  // Duplicate names.
  ExpectError(load(StateDictPickle({{"x", "0", 2, 0, {1}, {1}},
                                    {"x", "0", 2, 1, {1}, {1}}})),
              absl::StatusCode::kInvalidArgument, {"duplicate", "'x'"});
  // Unsupported location.
  TensorSpec mps{"on_mps", "0", 2, 0, {2}, {1}};
  mps.location = "mps";
  ExpectError(load(StateDictPickle({mps})), absl::StatusCode::kInvalidArgument,
              {"on_mps", "location"});
  // A storage key that is not a plain token.
  ExpectError(load(StateDictPickle({{"k", "../0", 2, 0, {2}, {1}}})),
              absl::StatusCode::kInvalidArgument, {"'k'", "storage key"});
  // One storage claimed with two dtypes.
  TensorSpec as_int{"i", "0", 2, 0, {2}, {1}};
  as_int.storage_type = "IntStorage";
  ExpectError(load(StateDictPickle({{"f", "0", 2, 0, {2}, {1}}, as_int})),
              absl::StatusCode::kInvalidArgument, {"'i'", "two different"});
  // numel that does not match the storage file.
  ExpectError(load(StateDictPickle({{"n", "0", 3, 0, {2}, {1}}})),
              absl::StatusCode::kInvalidArgument, {"'n'", "8 bytes"});
}

TEST(TorchCheckpointTest, BoolStorageMustHoldBools) {
  TensorSpec t{"flags", "0", 2, 0, {2}, {1}};
  t.storage_type = "BoolStorage";
  ExpectError(ReadTorchCheckpointFromBuffer(Checkpoint(
                  StateDictPickle({t}),
                  {{"0", RawBytes(std::vector<uint8_t>{1, 2})}})),
              absl::StatusCode::kInvalidArgument, {"flags", "bool"});
}

}  // namespace
}  // namespace sam2
