// Tests for model/safetensors: round trips of every dtype (bit-exact), edge
// shapes, metadata and order; the golden fixtures written by the reference's
// Python safetensors; and one test per class of malformed input.

#include "model/safetensors.h"

#include <ATen/ATen.h>
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sam2 {
namespace {

constexpr char kFixtureDir[] = "tests/fixtures/sam2.1-micro/";

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteAll(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string LengthPrefix(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  return out;
}

// A safetensors file from a hand-written header and data buffer.
std::string MakeFile(absl::string_view header, absl::string_view data) {
  return absl::StrCat(LengthPrefix(header.size()), header, data);
}

float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Compares dtype, shape and raw bytes.
void ExpectBitIdentical(const at::Tensor& expected, const at::Tensor& actual,
                        const std::string& name) {
  SCOPED_TRACE(name);
  ASSERT_TRUE(actual.defined());
  EXPECT_EQ(actual.scalar_type(), expected.scalar_type());
  EXPECT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(actual.device().is_cpu());
  at::Tensor e = expected.contiguous();
  ASSERT_EQ(actual.nbytes(), e.nbytes());
  if (e.nbytes() > 0) {
    EXPECT_EQ(std::memcmp(actual.data_ptr(), e.data_ptr(), e.nbytes()), 0);
  }
}

absl::StatusOr<StateDict> RoundTrip(const StateDict& sd) {
  absl::StatusOr<std::string> bytes = SerializeSafetensors(sd);
  if (!bytes.ok()) return bytes.status();
  return ParseSafetensors(*bytes);
}

// --- Round trips ---------------------------------------------------------

TEST(SafetensorsTest, RoundTripsEveryDtypeBitExact) {
  at::manual_seed(7);
  StateDict sd;
  // Random bit patterns for the floating types: NaN payloads, infinities,
  // subnormals and negative zero must all survive.
  ASSERT_TRUE(sd.Add("f64", at::randint(-(1LL << 62), 1LL << 62, {3, 5},
                                        at::kLong)
                                .view(at::kDouble))
                  .ok());
  ASSERT_TRUE(sd.Add("f32", at::randint(-(1LL << 31), (1LL << 31) - 1, {4, 7},
                                        at::kInt)
                                .view(at::kFloat))
                  .ok());
  ASSERT_TRUE(sd.Add("f16", at::randint(-32768, 32767, {33}, at::kShort)
                                .view(at::kHalf))
                  .ok());
  ASSERT_TRUE(sd.Add("bf16", at::randint(-32768, 32767, {2, 3, 11},
                                         at::kShort)
                                 .view(at::kBFloat16))
                  .ok());
  ASSERT_TRUE(sd.Add("i64", at::randint(-(1LL << 62), 1LL << 62, {9},
                                        at::kLong))
                  .ok());
  ASSERT_TRUE(sd.Add("i32", at::randint(-100000, 100000, {9}, at::kInt)).ok());
  ASSERT_TRUE(sd.Add("i16", at::randint(-30000, 30000, {9}, at::kShort)).ok());
  ASSERT_TRUE(sd.Add("i8", at::randint(-128, 127, {9}, at::kChar)).ok());
  ASSERT_TRUE(sd.Add("u8", at::randint(0, 255, {3, 3}, at::kByte)).ok());
  ASSERT_TRUE(sd.Add("bool", at::randint(0, 2, {5}, at::kByte).to(at::kBool))
                  .ok());
  // Also values that matter numerically, as their own dtype.
  ASSERT_TRUE(sd.Add("bf16_values",
                     at::tensor({1.0f, -2.5f, 3.14159f, 1e-30f, 65504.0f})
                         .to(at::kBFloat16))
                  .ok());
  ASSERT_TRUE(sd.Add("f16_values",
                     at::tensor({1.0f, -2.5f, 3.14159f, 6e-8f, 65504.0f})
                         .to(at::kHalf))
                  .ok());

  absl::StatusOr<StateDict> back = RoundTrip(sd);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), sd.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    EXPECT_EQ(back->entries()[i].name, sd.entries()[i].name);
    ExpectBitIdentical(sd.entries()[i].tensor, back->entries()[i].tensor,
                       sd.entries()[i].name);
  }
}

TEST(SafetensorsTest, RoundTripsScalarsAndEmptyTensors) {
  StateDict sd;
  ASSERT_TRUE(sd.Add("scalar_f32", at::scalar_tensor(3.5, at::kFloat)).ok());
  ASSERT_TRUE(sd.Add("scalar_bool", at::scalar_tensor(1, at::kBool)).ok());
  ASSERT_TRUE(sd.Add("empty", at::empty({0}, at::kFloat)).ok());
  ASSERT_TRUE(sd.Add("empty_3d", at::empty({2, 0, 3}, at::kBFloat16)).ok());
  ASSERT_TRUE(sd.Add("after", at::arange(4, at::kLong)).ok());

  absl::StatusOr<StateDict> back = RoundTrip(sd);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 5u);
  const at::Tensor* scalar = back->Find("scalar_f32");
  ASSERT_NE(scalar, nullptr);
  EXPECT_EQ(scalar->dim(), 0);
  EXPECT_EQ(scalar->item<float>(), 3.5f);
  EXPECT_EQ(back->Find("scalar_bool")->dim(), 0);
  EXPECT_TRUE(back->Find("scalar_bool")->item<bool>());
  EXPECT_EQ(back->Find("empty")->sizes(), at::IntArrayRef({0}));
  EXPECT_EQ(back->Find("empty_3d")->sizes(), at::IntArrayRef({2, 0, 3}));
  EXPECT_EQ(back->Find("empty_3d")->scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(*back->Find("after"), at::arange(4, at::kLong)));
}

TEST(SafetensorsTest, RoundTripsEmptyStateDict) {
  absl::StatusOr<StateDict> back = RoundTrip(StateDict());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->empty());
}

TEST(SafetensorsTest, KeepsOrderAndMetadata) {
  StateDict sd;
  for (const char* name : {"zeta", "alpha", "mu.weight", "beta", "a"}) {
    ASSERT_TRUE(sd.Add(name, at::ones({2}) * static_cast<double>(
                                                   std::strlen(name)))
                    .ok());
  }
  std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "quotes \" and \\ and ünïcode"}, {"", ""}};
  absl::StatusOr<std::string> bytes = SerializeSafetensors(sd, metadata);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<SafetensorsContents> back =
      ParseSafetensorsWithMetadata(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->metadata, metadata);
  std::vector<std::string> names;
  for (const NamedTensor& e : back->tensors) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"zeta", "alpha", "mu.weight",
                                             "beta", "a"}));
  // No metadata written means an empty map back.
  absl::StatusOr<std::string> plain = SerializeSafetensors(sd);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(absl::StrContains(*plain, "__metadata__"));
  absl::StatusOr<SafetensorsContents> plain_back =
      ParseSafetensorsWithMetadata(*plain);
  ASSERT_TRUE(plain_back.ok());
  EXPECT_TRUE(plain_back->metadata.empty());
}

TEST(SafetensorsTest, HeaderIsPaddedToEightBytes) {
  for (int len = 1; len <= 9; ++len) {
    StateDict sd;
    ASSERT_TRUE(sd.Add(std::string(len, 'x'), at::ones({3}, at::kByte)).ok());
    absl::StatusOr<std::string> bytes = SerializeSafetensors(sd);
    ASSERT_TRUE(bytes.ok());
    uint64_t n = 0;
    std::memcpy(&n, bytes->data(), 8);
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(bytes->size(), 8 + n + 3);
    EXPECT_EQ((*bytes)[8], '{');
  }
}

TEST(SafetensorsTest, WritesNonContiguousTensorsAsContiguous) {
  at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  StateDict sd;
  ASSERT_TRUE(sd.Add("transposed", base.t()).ok());
  ASSERT_TRUE(sd.Add("strided", base.slice(1, 0, 6, 2)).ok());
  ASSERT_TRUE(sd.Add("offset_view", base[2]).ok());
  ASSERT_TRUE(sd.Add("expanded", at::ones({1, 3}).expand({4, 3})).ok());
  absl::StatusOr<StateDict> back = RoundTrip(sd);
  ASSERT_TRUE(back.ok()) << back.status();
  for (const NamedTensor& e : sd) {
    const at::Tensor* t = back->Find(e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_TRUE(t->is_contiguous());
    EXPECT_TRUE(at::equal(*t, e.tensor)) << e.name;
  }
}

TEST(SafetensorsTest, ParsedTensorsOwnTheirMemory) {
  StateDict sd;
  ASSERT_TRUE(sd.Add("x", at::arange(6, at::kInt)).ok());
  absl::StatusOr<std::string> bytes = SerializeSafetensors(sd);
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<StateDict> back = ParseSafetensors(*bytes);
  ASSERT_TRUE(back.ok());
  std::fill(bytes->begin(), bytes->end(), '\xff');
  bytes->clear();
  bytes->shrink_to_fit();
  EXPECT_TRUE(at::equal(*back->Find("x"), at::arange(6, at::kInt)));
}

TEST(SafetensorsTest, WriteAndReadFile) {
  const std::string dir = TempDir() + "/write_read";
  ASSERT_EQ(::system(("mkdir -p " + dir).c_str()), 0);
  const std::string path = dir + "/weights.safetensors";
  StateDict sd;
  ASSERT_TRUE(sd.Add("w", at::randn({3, 4})).ok());
  ASSERT_TRUE(sd.Add("b", at::randn({4}).to(at::kBFloat16)).ok());
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  absl::Status s = WriteSafetensors(sd, path, metadata);
  ASSERT_TRUE(s.ok()) << s;
  // Overwriting an existing file works too.
  s = WriteSafetensors(sd, path, metadata);
  ASSERT_TRUE(s.ok()) << s;

  absl::StatusOr<SafetensorsContents> back = ReadSafetensorsWithMetadata(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->metadata, metadata);
  ASSERT_EQ(back->tensors.size(), 2u);
  ExpectBitIdentical(sd.entries()[0].tensor, back->tensors.entries()[0].tensor,
                     "w");
  ExpectBitIdentical(sd.entries()[1].tensor, back->tensors.entries()[1].tensor,
                     "b");
  // The file on disk equals the serialized bytes; no temp file is left.
  absl::StatusOr<std::string> bytes = SerializeSafetensors(sd, metadata);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(ReadAll(path), *bytes);
  std::vector<std::string> files;
  DIR* d = ::opendir(dir.c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (name != "." && name != "..") files.push_back(name);
  }
  ::closedir(d);
  EXPECT_EQ(files, std::vector<std::string>{"weights.safetensors"});

  absl::StatusOr<StateDict> plain = ReadSafetensors(path);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->size(), 2u);
}

// --- Golden fixtures written by the reference's Python safetensors --------

TEST(SafetensorsTest, ReadsImageEmbedFixture) {
  absl::StatusOr<StateDict> sd =
      ReadSafetensors(absl::StrCat(kFixtureDir, "image_embed.safetensors"));
  ASSERT_TRUE(sd.ok()) << sd.status();
  std::vector<std::string> names;
  for (const NamedTensor& e : *sd) names.push_back(e.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"high_res_feat_s0", "high_res_feat_s1",
                                      "image_embed", "input"}));
  const std::map<std::string, std::vector<int64_t>> shapes = {
      {"input", {1, 3, 512, 512}},
      {"image_embed", {1, 32, 32, 32}},
      {"high_res_feat_s0", {1, 4, 128, 128}},
      {"high_res_feat_s1", {1, 8, 64, 64}},
  };
  for (const auto& [name, shape] : shapes) {
    const at::Tensor* t = sd->Find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->scalar_type(), at::kFloat) << name;
    EXPECT_EQ(t->sizes(), at::IntArrayRef(shape)) << name;
  }
  // Values read with a pure-Python (struct + json) reader.
  auto at_flat = [&](const char* name, int64_t i) {
    return sd->Find(name)->reshape({-1})[i].item<float>();
  };
  EXPECT_EQ(at_flat("high_res_feat_s0", 0), BitsToFloat(0xBDFF8CEFu));
  EXPECT_EQ(at_flat("high_res_feat_s1", 0), BitsToFloat(0x3E22C99Eu));
  EXPECT_EQ(at_flat("image_embed", 0), BitsToFloat(0x3F39A9ABu));
  EXPECT_EQ(at_flat("image_embed", 32 * 32 * 32 - 1),
            BitsToFloat(0xBEAE1ADCu));
  EXPECT_EQ(at_flat("input", 0), BitsToFloat(0xBF401B0Cu));
  EXPECT_EQ(at_flat("input", 3 * 512 * 512 - 1), BitsToFloat(0x3FDEC471u));
}

TEST(SafetensorsTest, ReadsVideoFramesFixture) {
  absl::StatusOr<SafetensorsContents> contents = ReadSafetensorsWithMetadata(
      absl::StrCat(kFixtureDir, "video_frames.safetensors"));
  ASSERT_TRUE(contents.ok()) << contents.status();
  const StateDict& sd = contents->tensors;
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd.entries()[0].name, "image0");
  EXPECT_EQ(sd.entries()[0].tensor.sizes(), at::IntArrayRef({1, 3, 512, 512}));
  const at::Tensor* u8 = sd.Find("resized_u8");
  ASSERT_NE(u8, nullptr);
  EXPECT_EQ(u8->scalar_type(), at::kByte);
  EXPECT_EQ(u8->sizes(), at::IntArrayRef({8, 512, 512, 3}));
  at::Tensor flat = u8->reshape({-1});
  EXPECT_TRUE(at::equal(flat.slice(0, 0, 8),
                        at::tensor({235, 251, 251, 236, 252, 252, 237, 253},
                                   at::kByte)));
  EXPECT_EQ(flat[-1].item<uint8_t>(), 59);
  EXPECT_EQ(u8->sum(at::kLong).item<int64_t>(), 1139953357);
  // The same bytes parse identically from memory.
  absl::StatusOr<StateDict> parsed = ParseSafetensors(
      ReadAll(absl::StrCat(kFixtureDir, "video_frames.safetensors")));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(at::equal(*parsed->Find("resized_u8"), *u8));
}

// --- Malformed input -----------------------------------------------------

void ExpectInvalid(absl::string_view bytes, absl::string_view needle) {
  absl::StatusOr<StateDict> sd = ParseSafetensors(bytes);
  ASSERT_FALSE(sd.ok()) << "parsed: " << needle;
  EXPECT_EQ(sd.status().code(), absl::StatusCode::kInvalidArgument)
      << sd.status();
  EXPECT_TRUE(absl::StrContains(sd.status().message(), needle))
      << "'" << needle << "' not in: " << sd.status();
}

std::string F32Entry(absl::string_view shape, uint64_t begin, uint64_t end) {
  return absl::StrCat(R"({"dtype":"F32","shape":)", shape,
                      R"(,"data_offsets":[)", begin, ",", end, "]}");
}

TEST(SafetensorsErrorTest, MissingFile) {
  absl::StatusOr<StateDict> sd =
      ReadSafetensors(TempDir() + "/does/not/exist.safetensors");
  ASSERT_FALSE(sd.ok());
  EXPECT_EQ(sd.status().code(), absl::StatusCode::kNotFound) << sd.status();
  EXPECT_TRUE(absl::StrContains(sd.status().message(), "exist.safetensors"));
}

TEST(SafetensorsErrorTest, Directory) {
  absl::StatusOr<StateDict> sd = ReadSafetensors(TempDir());
  ASSERT_FALSE(sd.ok());
  EXPECT_TRUE(absl::StrContains(sd.status().message(), "regular file"));
}

TEST(SafetensorsErrorTest, TruncatedFile) {
  StateDict sd;
  ASSERT_TRUE(sd.Add("first", at::ones({4})).ok());
  ASSERT_TRUE(sd.Add("last", at::ones({4})).ok());
  absl::StatusOr<std::string> bytes = SerializeSafetensors(sd);
  ASSERT_TRUE(bytes.ok());
  // Truncated data: the last tensor runs past the buffer.
  ExpectInvalid(bytes->substr(0, bytes->size() - 1), "tensor 'last'");
  // Truncated inside the header, and inside the length prefix.
  ExpectInvalid(bytes->substr(0, 20), "header length");
  ExpectInvalid(bytes->substr(0, 5), "too short");
  ExpectInvalid("", "too short");

  // The same through a file.
  const std::string path = TempDir() + "/truncated.safetensors";
  WriteAll(path, bytes->substr(0, bytes->size() - 3));
  absl::StatusOr<StateDict> read = ReadSafetensors(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(read.status().message(), path));
  EXPECT_TRUE(absl::StrContains(read.status().message(), "'last'"));
}

TEST(SafetensorsErrorTest, HeaderLengthBeyondFileOrLimit) {
  std::string bytes = MakeFile("{}", "");
  bytes[0] = 100;  // Claims a 100-byte header; there are 2.
  ExpectInvalid(bytes, "runs past the end");
  ExpectInvalid(absl::StrCat(LengthPrefix(kMaxSafetensorsHeaderBytes + 1),
                             "{}"),
                "exceeds the limit");
  ExpectInvalid(absl::StrCat(LengthPrefix(~uint64_t{0}), "{}"),
                "exceeds the limit");
}

TEST(SafetensorsErrorTest, BadJson) {
  ExpectInvalid(MakeFile(R"({"a": {"dtype": "F32",)", ""), "not valid JSON");
  ExpectInvalid(MakeFile("", ""), "not valid JSON");
  ExpectInvalid(MakeFile("{} {}", ""), "not valid JSON");
  ExpectInvalid(MakeFile(std::string("{\"\xff\": 1}"), ""), "not valid JSON");
  ExpectInvalid(MakeFile("[]", ""), "not a JSON object");
  ExpectInvalid(MakeFile("42", ""), "not a JSON object");
  ExpectInvalid(MakeFile(R"({"x": [[[1]]]})", ""), "nests deeper");
}

TEST(SafetensorsErrorTest, AcceptsSpacePaddedHeader) {
  std::string header = absl::StrCat(R"({"x":)", F32Entry("[1]", 0, 4), "}");
  header.append(8 - header.size() % 8 + 8, ' ');
  absl::StatusOr<StateDict> sd =
      ParseSafetensors(MakeFile(header, std::string(4, '\0')));
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->Find("x")->item<float>(), 0.0f);
}

TEST(SafetensorsErrorTest, EntryFields) {
  const std::string data(4, '\0');
  ExpectInvalid(MakeFile(R"({"x": 3})", data), "tensor 'x': entry is not");
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":"F32","shape":[1]}})", data),
      "tensor 'x': missing field 'data_offsets'");
  ExpectInvalid(
      MakeFile(
          R"({"x": {"dtype":"F32","shape":[1],"data_offsets":[0,4],"y":1}})",
          data),
      "tensor 'x': unexpected field 'y'");
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":1,"shape":[1],"data_offsets":[0,4]}})", data),
      "tensor 'x': 'dtype' must be a string");
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":"F32","shape":1,"data_offsets":[0,4]}})",
               data),
      "tensor 'x': 'shape' must be an array");
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":"F32","shape":[1],"data_offsets":[0]}})",
               data),
      "tensor 'x': 'data_offsets' must be");
  ExpectInvalid(MakeFile(absl::StrCat(R"({"x":)", F32Entry("[-1]", 0, 4), "}"),
                         data),
                "tensor 'x': shape dim must be a non-negative integer");
  ExpectInvalid(
      MakeFile(absl::StrCat(R"({"x":)", F32Entry("[1.0]", 0, 4), "}"), data),
      "tensor 'x': shape dim");
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}})",
               data),
      "tensor 'x': data offset");
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
               data),
      "tensor 'x': data_offsets [4,0] end before");
  ExpectInvalid(MakeFile(absl::StrCat(R"({"x":)", F32Entry("[1]", 0, 4),
                                      R"(,"x":)", F32Entry("[1]", 0, 4), "}"),
                         data),
                "names 'x' twice");
}

TEST(SafetensorsErrorTest, UnknownDtype) {
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":"F31","shape":[1],"data_offsets":[0,4]}})",
               std::string(4, '\0')),
      "tensor 'x': unknown or unsupported dtype \"F31\"");
  ExpectInvalid(
      MakeFile(R"({"x": {"dtype":"U16","shape":[2],"data_offsets":[0,4]}})",
               std::string(4, '\0')),
      "unsupported dtype \"U16\"");
}

TEST(SafetensorsErrorTest, ShapeOverflow) {
  ExpectInvalid(
      MakeFile(absl::StrCat(R"({"x":)",
                            F32Entry("[4294967296, 4294967296]", 0, 0), "}"),
               ""),
      "tensor 'x': shape [4294967296,4294967296] overflows");
  ExpectInvalid(
      MakeFile(absl::StrCat(R"({"x":)", F32Entry("[4611686018427387904]", 0, 0),
                            "}"),
               ""),
      "tensor 'x': shape [4611686018427387904] overflows the byte count");
  ExpectInvalid(
      MakeFile(absl::StrCat(R"({"x":)",
                            F32Entry("[18446744073709551615]", 0, 0), "}"),
               ""),
      "overflows");
}

TEST(SafetensorsErrorTest, OffsetsMismatchingShape) {
  ExpectInvalid(MakeFile(absl::StrCat(R"({"x":)", F32Entry("[2, 3]", 0, 20),
                                      "}"),
                         std::string(20, '\0')),
                "tensor 'x': data_offsets [0,20] span 20 bytes but \"F32\" "
                "shape [2,3] needs 24");
}

TEST(SafetensorsErrorTest, OffsetsBeyondBuffer) {
  ExpectInvalid(MakeFile(absl::StrCat(R"({"x":)", F32Entry("[2]", 4, 12),
                                      "}"),
                         std::string(8, '\0')),
                "tensor 'x': data_offsets [4,12] run past the data buffer");
}

TEST(SafetensorsErrorTest, OverlappingRanges) {
  ExpectInvalid(MakeFile(absl::StrCat(R"({"a":)", F32Entry("[2]", 0, 8),
                                      R"(,"b":)", F32Entry("[2]", 4, 12), "}"),
                         std::string(12, '\0')),
                "tensor 'b': data_offsets [4, 12] overlap tensor 'a'");
  // The same range twice.
  ExpectInvalid(MakeFile(absl::StrCat(R"({"a":)", F32Entry("[1]", 0, 4),
                                      R"(,"b":)", F32Entry("[1]", 0, 4), "}"),
                         std::string(4, '\0')),
                "overlap");
  // An empty tensor inside another's range.
  ExpectInvalid(MakeFile(absl::StrCat(R"({"a":)", F32Entry("[2]", 0, 8),
                                      R"(,"e":)", F32Entry("[0]", 4, 4), "}"),
                         std::string(8, '\0')),
                "tensor 'e'");
}

TEST(SafetensorsErrorTest, HoleInBuffer) {
  ExpectInvalid(MakeFile(absl::StrCat(R"({"a":)", F32Entry("[1]", 0, 4),
                                      R"(,"b":)", F32Entry("[1]", 8, 12), "}"),
                         std::string(12, '\0')),
                "tensor 'b': hole in the data buffer: bytes [4, 8)");
  ExpectInvalid(MakeFile(absl::StrCat(R"({"a":)", F32Entry("[1]", 0, 4), "}"),
                         std::string(6, '\0')),
                "hole in the data buffer: bytes [4, 6) at its end");
  ExpectInvalid(MakeFile("{}", "xx"), "hole");
}

TEST(SafetensorsErrorTest, BadMetadata) {
  ExpectInvalid(MakeFile(R"({"__metadata__": {"k": 1}})", ""),
                "'__metadata__' value for 'k' must be a string");
  ExpectInvalid(MakeFile(R"({"__metadata__": ["k"]})", ""),
                "'__metadata__' must be an object");
}

TEST(SafetensorsErrorTest, BadBoolBytes) {
  ExpectInvalid(
      MakeFile(R"({"m": {"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
               std::string("\x01\x00\x02", 3)),
      "tensor 'm': BOOL byte 2 is 2");
}

TEST(SafetensorsErrorTest, UnwritableTensors) {
  StateDict reserved;
  ASSERT_TRUE(reserved.Add("__metadata__", at::ones({1})).ok());
  absl::StatusOr<std::string> bytes = SerializeSafetensors(reserved);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);

  StateDict complex;
  ASSERT_TRUE(complex.Add("c", at::ones({2}, at::kComplexFloat)).ok());
  bytes = SerializeSafetensors(complex);
  ASSERT_FALSE(bytes.ok());
  EXPECT_TRUE(absl::StrContains(bytes.status().message(), "tensor 'c'"));

  StateDict sparse;
  ASSERT_TRUE(sparse.Add("s", at::ones({2, 2}).to_sparse()).ok());
  bytes = SerializeSafetensors(sparse);
  ASSERT_FALSE(bytes.ok());
  EXPECT_TRUE(absl::StrContains(bytes.status().message(), "tensor 's'"));

  StateDict bad_utf8;
  ASSERT_TRUE(bad_utf8.Add("bad\xff", at::ones({1})).ok());
  bytes = SerializeSafetensors(bad_utf8);
  ASSERT_FALSE(bytes.ok());
  EXPECT_TRUE(absl::StrContains(bytes.status().message(), "UTF-8"));

  // A failed write leaves nothing behind.
  const std::string path = TempDir() + "/no/such/dir/out.safetensors";
  absl::Status s = WriteSafetensors(complex, path);
  EXPECT_FALSE(s.ok());
  StateDict fine;
  ASSERT_TRUE(fine.Add("x", at::ones({1})).ok());
  s = WriteSafetensors(fine, path);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
}

}  // namespace
}  // namespace sam2
