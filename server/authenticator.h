// Authenticator: bearer-token authentication for both transports (gRPC
// metadata and HTTP headers carry the same "authorization: Bearer <token>").
// It holds the current TokenTable (token_file.h) and keeps it in step with
// the token file: ReloadIfChanged() re-reads the file when its inode, size
// or modification time changed, and a background thread calls it every
// `reload_interval`. A file that fails to parse on reload leaves the
// previous table in force; the error is logged once per version of the file
// with its line number (never a token). At Create a bad file is an error.
//
// Ownership: owns its table (shared, immutable snapshots) and its polling
// thread, which the destructor stops.
//
// Thread-safety: all methods are thread-safe. A lookup takes a snapshot of
// the table under a mutex and hashes outside it.

#ifndef SAM2_SERVER_AUTHENTICATOR_H_
#define SAM2_SERVER_AUTHENTICATOR_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/token_file.h"

namespace sam2 {

// How often the token file is checked for changes.
inline constexpr absl::Duration kDefaultTokenReloadInterval = absl::Seconds(10);

struct AuthOptions {
  // The token file (token_file.h); empty: no authentication (Create fails).
  std::string token_file;
  // Quotas of tenants whose line omits them.
  TenantQuotas default_quotas;
  // Zero or negative: no polling thread (tests call ReloadIfChanged).
  absl::Duration reload_interval = kDefaultTokenReloadInterval;
};

// Why a call was refused, for sam2_auth_failures_total{reason}.
enum class AuthFailure { kMissing, kInvalid };

class Authenticator {
 public:
  // Reads the token file (its errors: NOT_FOUND, INVALID_ARGUMENT "token
  // file F: line N: ...") and starts the polling thread.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      AuthOptions options);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // The tenant an "authorization" value (nullptr: none was sent) belongs
  // to. UNAUTHENTICATED, never quoting what was sent:
  //   "missing bearer token: send the metadata/header
  //    'authorization: Bearer <token>'" (nullptr or empty),
  //   "the authorization must be 'Bearer <token>'" (another scheme),
  //   "the bearer token was not accepted" (no tenant has it).
  absl::StatusOr<Tenant> Authenticate(const std::string* authorization);

  // Re-reads the file if it changed since the last look. OK when unchanged
  // or reloaded; the reload's error otherwise (the previous table stays).
  absl::Status ReloadIfChanged();

  // Refusals since Create, by reason.
  int64_t failures(AuthFailure reason) const;
  // The current table's tenant names, in file order.
  std::vector<std::string> TenantNames() const;

 private:
  // What identifies a version of the file.
  struct FileVersion {
    ino_t inode = 0;
    dev_t device = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const FileVersion& o) const {
      return inode == o.inode && device == o.device && size == o.size &&
             mtime_ns == o.mtime_ns;
    }
  };
  explicit Authenticator(AuthOptions options);
  absl::StatusOr<FileVersion> Stat() const;
  void Poll();

  const AuthOptions options_;
  std::atomic<int64_t> missing_{0};
  std::atomic<int64_t> invalid_{0};

  // One reload at a time (the poller and a caller of ReloadIfChanged).
  std::mutex reload_mu_;
  // The version last read, whether or not it parsed (an error is logged
  // once per version).
  FileVersion seen_ ABSL_GUARDED_BY(reload_mu_);

  mutable std::mutex mu_;
  std::shared_ptr<const TokenTable> table_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable stop_cv_;
  std::thread poller_;
};

}  // namespace sam2

#endif  // SAM2_SERVER_AUTHENTICATOR_H_
