// ZipArchive: libzip wrapper. See zip_archive.h.

#include "model/zip_archive.h"

#include <zip.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// Deflate cannot expand data by more than about 1032:1; anything claiming
// more is lying about its size, and the claim would otherwise drive a huge
// allocation before the lie is discovered.
constexpr uint64_t kMaxDeflateRatio = 1100;
constexpr uint64_t kDeflateSlack = 64 * 1024;
// The end-of-central-directory record alone is 22 bytes. libzip treats an
// empty input as an empty archive (useful when creating one); a reader must
// not, or a zero-byte checkpoint would look like a valid, empty one.
constexpr uint64_t kMinArchiveSize = 22;

absl::Status TooSmall(uint64_t size, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": not a zip archive (only ", size, " bytes)"));
}

// Turns a libzip error into a status. `what` says what was being done.
absl::Status ZipErrorToStatus(zip_error_t* error, absl::string_view what) {
  const int code = zip_error_code_zip(error);
  const int sys = zip_error_code_system(error);
  const std::string message =
      absl::StrCat(what, ": ", zip_error_strerror(error));
  switch (code) {
    case ZIP_ER_NOENT:
      return absl::NotFoundError(message);
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
    case ZIP_ER_TELL:
      // Some of these are plain I/O errors (errno says which); without an
      // errno the library hit the end of data, i.e. a truncated archive.
      if (zip_error_system_type(error) == ZIP_ET_SYS && sys != 0) {
        return absl::Status(absl::ErrnoToStatusCode(sys), message);
      }
      return absl::InvalidArgumentError(
          absl::StrCat(message, " (truncated archive?)"));
    case ZIP_ER_NOZIP:
      return absl::InvalidArgumentError(absl::StrCat(
          message, " (no end-of-central-directory record: truncated, or not "
                   "a zip file at all)"));
    case ZIP_ER_INCONS:
    case ZIP_ER_EOF:
    case ZIP_ER_CRC:
    case ZIP_ER_ZLIB:
    case ZIP_ER_COMPRESSED_DATA:
      return absl::InvalidArgumentError(
          absl::StrCat(message, " (truncated or corrupt archive)"));
    case ZIP_ER_MULTIDISK:
    case ZIP_ER_COMPNOTSUPP:
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_NOPASSWD:
    case ZIP_ER_WRONGPASSWD:
      return absl::InvalidArgumentError(
          absl::StrCat(message, " (unsupported zip feature)"));
    case ZIP_ER_EXISTS:
      // Raised by ZIP_CHECKCONS when two entries share a name.
      return absl::InvalidArgumentError(
          absl::StrCat(message, " (duplicate entry names)"));
    case ZIP_ER_MEMORY:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

// A failure to open an archive that is there (a file stat found, or bytes
// in memory): libzip's "No such file" (ZIP_ER_NOENT, which it also raises
// for some inconsistent central directories) then means a corrupt archive,
// not a missing one.
absl::Status OpenErrorToStatus(zip_error_t* error, absl::string_view what) {
  if (zip_error_code_zip(error) == ZIP_ER_NOENT) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": ", zip_error_strerror(error),
        " (an inconsistent central directory: truncated or corrupt archive)"));
  }
  return ZipErrorToStatus(error, what);
}

absl::Status ArchiveErrorToStatus(zip_t* archive, absl::string_view what) {
  return ZipErrorToStatus(zip_get_error(archive), what);
}

absl::Status FileErrorToStatus(zip_file_t* file, absl::string_view what) {
  return ZipErrorToStatus(zip_file_get_error(file), what);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ZipArchive>> ZipArchive::OpenFile(
    const std::string& path) {
  // stat first: it gives the archive size for the sanity checks, and a
  // clearer error than libzip for a missing file or a directory.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return absl::Status(absl::ErrnoToStatusCode(err),
                        absl::StrCat("cannot open zip archive '", path,
                                     "': ", std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) < kMinArchiveSize) {
    return TooSmall(st.st_size, absl::StrCat("'", path, "'"));
  }
  int code = 0;
  // ZIP_CHECKCONS makes libzip compare the central directory with the local
  // headers, which catches most truncation and tampering at open time.
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    absl::Status status = OpenErrorToStatus(
        &error, absl::StrCat("cannot open zip archive '", path, "'"));
    zip_error_fini(&error);
    return status;
  }
  std::unique_ptr<ZipArchive> result(
      new ZipArchive(archive, static_cast<uint64_t>(st.st_size)));
  absl::Status status = result->IndexEntries();
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("'", path, "': ", status.message()));
  }
  return result;
}

absl::StatusOr<std::unique_ptr<ZipArchive>> ZipArchive::OpenBuffer(
    absl::string_view bytes) {
  if (bytes.size() < kMinArchiveSize) {
    return TooSmall(bytes.size(), "in-memory archive");
  }
  zip_error_t error;
  zip_error_init(&error);
  // freep = 0: the source borrows the bytes; the caller keeps them alive.
  zip_source_t* source =
      zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    absl::Status status = ZipErrorToStatus(&error, "cannot wrap zip buffer");
    zip_error_fini(&error);
    return status;
  }
  zip_t* archive =
      zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive == nullptr) {
    // On failure the source is still ours to free.
    zip_source_free(source);
    absl::Status status =
        OpenErrorToStatus(&error, "cannot open in-memory zip archive");
    zip_error_fini(&error);
    return status;
  }
  zip_error_fini(&error);
  std::unique_ptr<ZipArchive> result(new ZipArchive(archive, bytes.size()));
  absl::Status status = result->IndexEntries();
  if (!status.ok()) return status;
  return result;
}

ZipArchive::ZipArchive(zip_t* archive, uint64_t archive_size)
    : archive_(archive), archive_size_(archive_size) {}

ZipArchive::~ZipArchive() {
  // zip_discard, not zip_close: nothing was changed and nothing may be
  // written back.
  if (archive_ != nullptr) zip_discard(archive_);
}

absl::Status ZipArchive::IndexEntries() {
  const zip_int64_t count = zip_get_num_entries(archive_, 0);
  if (count < 0) return ArchiveErrorToStatus(archive_, "cannot count entries");
  names_.reserve(static_cast<size_t>(count));
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name =
        zip_get_name(archive_, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    if (name == nullptr) {
      return ArchiveErrorToStatus(archive_,
                                  absl::StrCat("cannot read entry ", i));
    }
    auto [it, inserted] = index_.emplace(name, static_cast<uint64_t>(i));
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("zip archive has two entries named '", name, "'"));
    }
    names_.emplace_back(name);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ZipArchive::FindIndex(absl::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return absl::NotFoundError(
        absl::StrCat("zip archive has no entry '", name, "'"));
  }
  return it->second;
}

absl::StatusOr<uint64_t> ZipArchive::CheckedSize(uint64_t index,
                                                 absl::string_view name) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(archive_, index, ZIP_FL_ENC_RAW, &st) != 0) {
    return ArchiveErrorToStatus(archive_,
                                absl::StrCat("cannot stat entry '", name, "'"));
  }
  const uint64_t needed =
      ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
  if ((st.valid & needed) != needed) {
    return absl::InvalidArgumentError(
        absl::StrCat("zip entry '", name, "' has no size information"));
  }
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
      st.encryption_method != ZIP_EM_NONE) {
    return absl::InvalidArgumentError(
        absl::StrCat("zip entry '", name, "' is encrypted"));
  }
  if (st.comp_size > archive_size_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zip entry '", name, "' claims ", st.comp_size,
        " compressed bytes but the archive has only ", archive_size_,
        " (truncated or corrupt archive)"));
  }
  switch (st.comp_method) {
    case ZIP_CM_STORE:
      if (st.size != st.comp_size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "stored zip entry '", name, "' has size ", st.size,
            " but compressed size ", st.comp_size));
      }
      break;
    case ZIP_CM_DEFLATE:
      if (st.size > st.comp_size * kMaxDeflateRatio + kDeflateSlack) {
        return absl::InvalidArgumentError(absl::StrCat(
            "deflated zip entry '", name, "' claims an impossible size ",
            st.size, " for ", st.comp_size, " compressed bytes"));
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("zip entry '", name, "' uses compression method ",
                       st.comp_method, "; only stored and deflate are read"));
  }
  return st.size;
}

absl::StatusOr<uint64_t> ZipArchive::EntrySize(absl::string_view name) {
  absl::StatusOr<uint64_t> index = FindIndex(name);
  if (!index.ok()) return index.status();
  return CheckedSize(*index, name);
}

absl::StatusOr<std::string> ZipArchive::ReadEntry(absl::string_view name,
                                                  uint64_t max_bytes) {
  absl::StatusOr<uint64_t> index = FindIndex(name);
  if (!index.ok()) return index.status();
  absl::StatusOr<uint64_t> size = CheckedSize(*index, name);
  if (!size.ok()) return size.status();
  if (*size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("zip entry '", name, "' is too large: ", *size,
                     " bytes, limit ", max_bytes));
  }
  std::string data;
  data.resize(static_cast<size_t>(*size));
  absl::Status status = ReadIndexInto(*index, name, data.data(), *size);
  if (!status.ok()) return status;
  return data;
}

absl::Status ZipArchive::ReadEntryInto(absl::string_view name, void* dst,
                                       uint64_t size) {
  absl::StatusOr<uint64_t> index = FindIndex(name);
  if (!index.ok()) return index.status();
  absl::StatusOr<uint64_t> actual = CheckedSize(*index, name);
  if (!actual.ok()) return actual.status();
  if (*actual != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("zip entry '", name, "' has ", *actual,
                     " bytes, expected ", size));
  }
  return ReadIndexInto(*index, name, static_cast<char*>(dst), size);
}

absl::Status ZipArchive::ReadIndexInto(uint64_t index, absl::string_view name,
                                       char* dst, uint64_t size) {
  zip_file_t* file = zip_fopen_index(archive_, index, 0);
  if (file == nullptr) {
    return ArchiveErrorToStatus(archive_,
                                absl::StrCat("cannot open entry '", name, "'"));
  }
  absl::Status status;
  uint64_t done = 0;
  while (done < size) {
    const zip_int64_t n = zip_fread(file, dst + done, size - done);
    if (n < 0) {
      status = FileErrorToStatus(
          file, absl::StrCat("cannot read entry '", name, "'"));
      break;
    }
    if (n == 0) {
      status = absl::InvalidArgumentError(
          absl::StrCat("zip entry '", name, "' ends after ", done, " of ",
                       size, " bytes (truncated archive)"));
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  if (status.ok()) {
    // libzip verifies the CRC when the stream reaches its end; one more read
    // gets it there and also proves there is no data past the stated size.
    char extra;
    const zip_int64_t n = zip_fread(file, &extra, 1);
    if (n < 0) {
      status = FileErrorToStatus(
          file, absl::StrCat("cannot read entry '", name, "'"));
    } else if (n > 0) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "zip entry '", name, "' holds more data than its stated size"));
    }
  }
  zip_fclose(file);
  return status;
}

}  // namespace sam2
