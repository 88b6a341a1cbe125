// ZipArchive: read-only access to a zip archive through Debian's libzip.
//
// Exists for torch.save checkpoints (zip archives of a pickle plus raw
// storages, see torch_checkpoint.h), so it reads and never writes, and treats
// the archive as untrusted: every entry is checked for size and compression
// method before any memory is reserved for it, and every libzip failure comes
// back as an absl::Status (never an exception, never an abort).
//
// Ownership: a ZipArchive owns its libzip handle. One opened from a file owns
// the file handle; one opened from a buffer BORROWS the buffer, which must
// outlive the ZipArchive (no copy, because checkpoints are gigabytes).
// Thread-safety: not thread-safe, even the read methods, because libzip keeps
// per-archive state while an entry is open. Use one ZipArchive per thread or
// guard it with a mutex.

#ifndef SAM2_MODEL_ZIP_ARCHIVE_H_
#define SAM2_MODEL_ZIP_ARCHIVE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// libzip's handle type, forward-declared so the header stays free of <zip.h>.
struct zip;

namespace sam2 {

class ZipArchive {
 public:
  // Opens the archive at `path`. NOT_FOUND when the file does not exist,
  // INVALID_ARGUMENT when it is not a zip archive or is truncated/corrupt
  // (the central directory is read and checked here), and INVALID_ARGUMENT
  // when two entries share a name (which one a reader sees would depend on
  // the library, so such archives are refused).
  static absl::StatusOr<std::unique_ptr<ZipArchive>> OpenFile(
      const std::string& path);

  // Opens an archive held in memory. `bytes` is borrowed: it must stay alive
  // and unchanged until the returned archive is destroyed. Same errors as
  // OpenFile, minus NOT_FOUND.
  static absl::StatusOr<std::unique_ptr<ZipArchive>> OpenBuffer(
      absl::string_view bytes);

  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;
  ~ZipArchive();

  // Entry names in central-directory order, exactly as stored (no encoding
  // conversion). Directory entries ("foo/") are included.
  const std::vector<std::string>& entry_names() const { return names_; }
  bool Contains(absl::string_view name) const {
    return index_.contains(name);
  }

  // Uncompressed size of an entry as the central directory states it.
  // NOT_FOUND for a missing entry; INVALID_ARGUMENT when the entry is
  // encrypted, uses a compression method other than stored/deflate, or claims
  // sizes that cannot be right for this archive (e.g. compressed data larger
  // than the whole archive), so callers can trust the number for allocation.
  absl::StatusOr<uint64_t> EntrySize(absl::string_view name);

  // Reads a whole entry. INVALID_ARGUMENT ("too large") when its size exceeds
  // `max_bytes`, checked before anything is allocated; INVALID_ARGUMENT when
  // the data is truncated or fails its CRC.
  absl::StatusOr<std::string> ReadEntry(absl::string_view name,
                                        uint64_t max_bytes);

  // Reads a whole entry into `dst`, which has room for exactly `size` bytes.
  // INVALID_ARGUMENT when the entry's size is not exactly `size`. Lets large
  // tensor storages be read straight into their final buffer.
  absl::Status ReadEntryInto(absl::string_view name, void* dst, uint64_t size);

 private:
  ZipArchive(struct zip* archive, uint64_t archive_size);
  absl::Status IndexEntries();
  absl::StatusOr<uint64_t> FindIndex(absl::string_view name) const;
  absl::StatusOr<uint64_t> CheckedSize(uint64_t index, absl::string_view name);
  absl::Status ReadIndexInto(uint64_t index, absl::string_view name, char* dst,
                             uint64_t size);

  struct zip* archive_;
  // Size of the whole archive in bytes: an upper bound for any entry's
  // compressed size.
  uint64_t archive_size_;
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, uint64_t> index_;
};

}  // namespace sam2

#endif  // SAM2_MODEL_ZIP_ARCHIVE_H_
