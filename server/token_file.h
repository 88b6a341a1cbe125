// The bearer-token file (--token_file): which tokens are accepted and which
// tenant each one belongs to, with that tenant's quotas. Parsed into a
// TokenTable, which answers "whose token is this?" in constant time with
// respect to the token's content and length.
//
// Format: one tenant per line; fields are separated by spaces or tabs; a
// field that starts with '#' starts a comment to the end of the line (a '#'
// inside a token is part of it); blank lines are ignored:
//
//   # tenant   token                                   quotas (optional)
//   acme       4f3c2a...(16 to 512 printable chars)    max_sessions=4 max_session_mb=2048
//   labs       sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//
//   - tenant: [A-Za-z0-9_.-]{1,64}, once per file;
//   - token: 16 to 512 printable ASCII characters without whitespace, or
//     `sha256:` + 64 hex digits, the SHA-256 of the token (the file then
//     holds no secret in clear; a raw token cannot itself begin with
//     "sha256:"). A token (or digest) appears once per file;
//   - quotas: max_sessions=N (live sessions), max_session_mb=N (MiB of
//     session memory together), max_in_flight=N (requests being served at
//     once, streams included); N >= 0, 0 = no quota of its own (the
//     server's global limits still apply). Omitted ones take the defaults
//     given to the parser (the --tenant_* flags).
//
// Errors name the line and what is wrong, never the token's value.
//
// Thread-safety: a TokenTable is immutable after parsing; share it freely.

#ifndef SAM2_SERVER_TOKEN_FILE_H_
#define SAM2_SERVER_TOKEN_FILE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// Token length limits of the wire contract (raw tokens).
inline constexpr int kMinTokenBytes = 16;
inline constexpr int kMaxTokenBytes = 512;
// Tenant names.
inline constexpr int kMaxTenantNameBytes = 64;

struct TenantQuotas {
  int64_t max_sessions = 0;       // 0: none of its own
  int64_t max_session_bytes = 0;  // 0: none of its own
  int64_t max_in_flight = 0;      // 0: none of its own
};

struct Tenant {
  std::string name;
  TenantQuotas quotas;
};

using TokenDigest = std::array<unsigned char, 32>;

// SHA-256 of `data`.
TokenDigest Sha256Of(absl::string_view data);

// Whether two digests are equal, in time independent of where they differ
// (OpenSSL's CRYPTO_memcmp).
bool DigestsEqual(const TokenDigest& a, const TokenDigest& b);

class TokenTable {
 public:
  // Parses the file's text; `defaults` fill omitted quotas.
  // INVALID_ARGUMENT "line N: ..." for the first bad line; also for a file
  // with no tenant at all (a truncated file must not lock everyone out, nor
  // be mistaken for "no authentication").
  static absl::StatusOr<TokenTable> Parse(absl::string_view text,
                                          const TenantQuotas& defaults);

  // The tenant whose token `token` is, or nullptr. Hashes `token` and
  // compares the digest with every entry's (no early exit), so neither the
  // token's length nor how much of it matches shows in the time taken.
  const Tenant* Find(absl::string_view token) const;

  const std::vector<Tenant>& tenants() const { return tenants_; }

 private:
  std::vector<Tenant> tenants_;
  std::vector<TokenDigest> digests_;  // digests_[i] is tenants_[i]'s
};

// Reads and parses the file at `path` (NOT_FOUND / PERMISSION_DENIED-like
// errors name the path; parse errors are prefixed with it).
absl::StatusOr<TokenTable> ReadTokenFile(const std::string& path,
                                         const TenantQuotas& defaults);

}  // namespace sam2

#endif  // SAM2_SERVER_TOKEN_FILE_H_
