// Tests for ZipArchive: the fixture checkpoint, archives built here with
// libzip, and broken archives (truncated, corrupt, not a zip), which must
// give clear statuses and never crash.

#include "model/zip_archive.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace sam2 {
namespace {

constexpr char kFixture[] = "tests/fixtures/sam2.1-micro/model.pt";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Entry {
  std::string name;
  std::string data;
  bool deflate = false;
};

// Builds a zip archive in memory with libzip. Returns "" on failure (the
// caller's expectations then fail loudly).
std::string BuildZip(const std::vector<Entry>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (out == nullptr) return "";
  zip_t* archive = zip_open_from_source(out, ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    zip_source_free(out);
    return "";
  }
  zip_source_keep(out);  // survive zip_close so the bytes can be read back
  for (const Entry& e : entries) {
    zip_source_t* src =
        zip_source_buffer(archive, e.data.data(), e.data.size(), 0);
    const zip_int64_t index =
        zip_file_add(archive, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      zip_discard(archive);
      zip_source_free(out);
      return "";
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                             e.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
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
    const zip_int64_t n = zip_source_read(out, bytes.data(), st.size);
    if (n != static_cast<zip_int64_t>(st.size)) bytes.clear();
    zip_source_close(out);
  }
  zip_source_free(out);
  zip_error_fini(&error);
  return bytes;
}

TEST(ZipArchiveTest, ReadsTheFixtureCheckpointFromAFile) {
  absl::StatusOr<std::unique_ptr<ZipArchive>> archive =
      ZipArchive::OpenFile(kFixture);
  ASSERT_TRUE(archive.ok()) << archive.status();
  ZipArchive& zip = **archive;
  EXPECT_EQ(zip.entry_names().size(), 373u);  // data.pkl, version, 371 data/N
  EXPECT_EQ(zip.entry_names().front(), "model/data.pkl");
  EXPECT_TRUE(zip.Contains("model/version"));
  EXPECT_TRUE(zip.Contains("model/data/370"));
  EXPECT_FALSE(zip.Contains("model/data/371"));

  absl::StatusOr<std::string> pickle = zip.ReadEntry("model/data.pkl", 1 << 20);
  ASSERT_TRUE(pickle.ok()) << pickle.status();
  EXPECT_EQ(pickle->size(), 48678u);
  EXPECT_EQ(pickle->substr(0, 2), "\x80\x02");
  EXPECT_EQ(pickle->back(), '.');

  absl::StatusOr<uint64_t> size = zip.EntrySize("model/data/0");
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 112u * 4);  // maskmem_tpos_enc: 7*16 float32
  std::vector<char> storage(*size);
  ASSERT_TRUE(zip.ReadEntryInto("model/data/0", storage.data(), *size).ok());
}

TEST(ZipArchiveTest, FileAndBufferAgree) {
  const std::string bytes = ReadFile(kFixture);
  ASSERT_FALSE(bytes.empty());
  auto from_file = ZipArchive::OpenFile(kFixture);
  auto from_buffer = ZipArchive::OpenBuffer(bytes);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  ASSERT_TRUE(from_buffer.ok()) << from_buffer.status();
  EXPECT_EQ((*from_file)->entry_names(), (*from_buffer)->entry_names());
  auto a = (*from_file)->ReadEntry("model/data/7", 1 << 20);
  auto b = (*from_buffer)->ReadEntry("model/data/7", 1 << 20);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(ZipArchiveTest, ReadsStoredAndDeflatedEntries) {
  const std::string big(100000, 'x');
  const std::string bytes = BuildZip({{"top/a.txt", "hello"},
                                      {"top/empty", ""},
                                      {"top/big", big, /*deflate=*/true}});
  ASSERT_FALSE(bytes.empty());
  auto archive = ZipArchive::OpenBuffer(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_EQ((*archive)->entry_names(),
            (std::vector<std::string>{"top/a.txt", "top/empty", "top/big"}));
  EXPECT_EQ(*(*archive)->ReadEntry("top/a.txt", 5), "hello");
  EXPECT_EQ(*(*archive)->ReadEntry("top/empty", 0), "");
  EXPECT_EQ(*(*archive)->EntrySize("top/big"), big.size());
  auto read = (*archive)->ReadEntry("top/big", big.size());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, big);
  EXPECT_LT(bytes.size(), big.size() / 10);  // really deflated
}

TEST(ZipArchiveTest, MissingEntryIsNotFound) {
  const std::string bytes = BuildZip({{"a", "1"}});
  auto archive = ZipArchive::OpenBuffer(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_EQ((*archive)->ReadEntry("b", 10).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*archive)->EntrySize("b").status().code(),
            absl::StatusCode::kNotFound);
  char c;
  EXPECT_EQ((*archive)->ReadEntryInto("b", &c, 1).code(),
            absl::StatusCode::kNotFound);
}

TEST(ZipArchiveTest, EntryOverTheLimitIsRefused) {
  const std::string bytes = BuildZip({{"a", std::string(1000, 'z')}});
  auto archive = ZipArchive::OpenBuffer(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status();
  absl::StatusOr<std::string> read = (*archive)->ReadEntry("a", 999);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(read.status().message().find("too large"), absl::string_view::npos)
      << read.status();
  EXPECT_TRUE((*archive)->ReadEntry("a", 1000).ok());
}

TEST(ZipArchiveTest, ReadIntoNeedsTheExactSize) {
  const std::string bytes = BuildZip({{"a", "12345"}});
  auto archive = ZipArchive::OpenBuffer(bytes);
  ASSERT_TRUE(archive.ok());
  char buf[8];
  EXPECT_EQ((*archive)->ReadEntryInto("a", buf, 4).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*archive)->ReadEntryInto("a", buf, 6).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*archive)->ReadEntryInto("a", buf, 5).ok());
  EXPECT_EQ(std::string(buf, 5), "12345");
}

TEST(ZipArchiveTest, NotAZip) {
  for (const std::string& bytes :
       {std::string(), std::string("hello world"), std::string(4096, '\0'),
        std::string("PK\x05\x06", 4)}) {
    auto archive = ZipArchive::OpenBuffer(bytes);
    EXPECT_EQ(archive.status().code(), absl::StatusCode::kInvalidArgument)
        << archive.status();
  }
}

TEST(ZipArchiveTest, TruncatedArchivesFailCleanly) {
  const std::string bytes = ReadFile(kFixture);
  ASSERT_GT(bytes.size(), 1000u);
  // First half: the central directory is gone.
  auto half = ZipArchive::OpenBuffer(absl::string_view(bytes).substr(
      0, bytes.size() / 2));
  EXPECT_EQ(half.status().code(), absl::StatusCode::kInvalidArgument)
      << half.status();
  EXPECT_NE(half.status().message().find("truncated"), absl::string_view::npos)
      << half.status();
  // Many other cut points, including inside the central directory.
  for (size_t cut : {size_t{0}, size_t{1}, size_t{22}, bytes.size() / 3,
                     bytes.size() - 23, bytes.size() - 22, bytes.size() - 1,
                     bytes.size() - 200, bytes.size() - 1000}) {
    auto archive =
        ZipArchive::OpenBuffer(absl::string_view(bytes).substr(0, cut));
    EXPECT_FALSE(archive.ok()) << "cut at " << cut;
  }
}

TEST(ZipArchiveTest, CorruptDataFailsItsCrc) {
  const std::string payload(256, 'Q');
  std::string bytes = BuildZip({{"a", payload}});
  const size_t at = bytes.find(payload);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 100] = 'R';
  auto archive = ZipArchive::OpenBuffer(bytes);
  ASSERT_TRUE(archive.ok()) << archive.status();
  absl::StatusOr<std::string> read = (*archive)->ReadEntry("a", 1000);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument)
      << read.status();
  EXPECT_NE(read.status().message().find("CRC"), absl::string_view::npos)
      << read.status();
}

TEST(ZipArchiveTest, DuplicateEntryNamesAreRefused) {
  // libzip will not write duplicates, so rename "a2" to "a1" in place (in
  // both the local header and the central directory).
  std::string bytes = BuildZip({{"a1", "x"}, {"a2", "y"}});
  ASSERT_FALSE(bytes.empty());
  bytes = absl::StrReplaceAll(bytes, {{"a2", "a1"}});
  auto archive = ZipArchive::OpenBuffer(bytes);
  EXPECT_EQ(archive.status().code(), absl::StatusCode::kInvalidArgument)
      << archive.status();
}

TEST(ZipArchiveTest, MissingFileIsNotFound) {
  auto archive = ZipArchive::OpenFile("tests/fixtures/no-such-file.pt");
  EXPECT_EQ(archive.status().code(), absl::StatusCode::kNotFound)
      << archive.status();
}

TEST(ZipArchiveTest, DirectoryIsNotAnArchive) {
  auto archive = ZipArchive::OpenFile("tests/fixtures");
  EXPECT_EQ(archive.status().code(), absl::StatusCode::kInvalidArgument)
      << archive.status();
}

TEST(ZipArchiveTest, TruncatedFileOnDisk) {
  const std::string bytes = ReadFile(kFixture);
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/truncated.pt");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto archive = ZipArchive::OpenFile(path);
  EXPECT_EQ(archive.status().code(), absl::StatusCode::kInvalidArgument)
      << archive.status();
  EXPECT_NE(archive.status().message().find("truncated.pt"),
            absl::string_view::npos);
}

// Found by //model:torch_checkpoint_fuzz_test: an archive whose central
// directory libzip finds inconsistent with "No such file" (ZIP_ER_NOENT)
// was NOT_FOUND, as if the checkpoint were missing.
TEST(ZipArchiveTest, InconsistentDirectoryIsInvalidArgumentNotNotFound) {
  const std::string bytes =
      ReadFile("model/testdata/zip_open_noent.pt");
  ASSERT_FALSE(bytes.empty());
  auto in_memory = ZipArchive::OpenBuffer(bytes);
  EXPECT_EQ(in_memory.status().code(), absl::StatusCode::kInvalidArgument)
      << in_memory.status();
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/inconsistent.pt");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto on_disk = ZipArchive::OpenFile(path);
  EXPECT_EQ(on_disk.status().code(), absl::StatusCode::kInvalidArgument)
      << on_disk.status();
}

}  // namespace
}  // namespace sam2
