// TlsConfig: the server's TLS settings as the flags give them (--tls_cert,
// --tls_key, --tls_client_ca, --tls_reload_interval), the same for the gRPC
// and the HTTP port, and the checks that make a bad setting a start-up
// error instead of a server whose every handshake fails:
//   - no half configuration: a certificate needs its key and the reverse,
//     and a client CA (mutual TLS) needs both;
//   - every file readable, at most kMaxTlsFileBytes, PEM;
//   - the key matches the certificate (checked with OpenSSL by building the
//     server context the HTTP side serves with, NewServerSslContext);
//   - the client CA bundle holds at least one certificate.
//
// Modes: no files, plaintext; certificate + key, TLS; plus a client CA,
// mutual TLS (client certificates required and verified against it).
// Certificates are re-read every reload_interval by both ports (see
// server/tls_credentials.h and server/http_tls.h), so a renewed certificate
// is served without a restart. On reload the HTTP side ignores files that
// fail these checks and keeps the previous ones; gRPC's watcher does not
// check them (see tls_credentials.h).
//
// Messages name the flag and the file, never key material. Stateless;
// thread-safe.

#ifndef SAM2_SERVER_TLS_CONFIG_H_
#define SAM2_SERVER_TLS_CONFIG_H_

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sam2 {

// How often the certificate files are checked for a change.
inline constexpr absl::Duration kDefaultTlsReloadInterval = absl::Seconds(60);
// A certificate, key or CA bundle larger than this is refused (a chain of a
// few certificates is a few KiB; a large CA bundle ~200 KiB).
inline constexpr int64_t kMaxTlsFileBytes = int64_t{1} << 20;

enum class TlsMode { kPlaintext, kTls, kMutualTls };

// "plaintext", "TLS", "mTLS".
absl::string_view TlsModeName(TlsMode mode);

struct TlsConfig {
  // PEM certificate chain, the server's certificate first.
  std::string cert_path;
  // PEM private key of that certificate (unencrypted).
  std::string key_path;
  // PEM bundle of the CAs that sign client certificates; set: mutual TLS.
  std::string client_ca_path;
  // How often the files are re-read (gRPC checks at whole seconds, at least
  // one).
  absl::Duration reload_interval = kDefaultTlsReloadInterval;

  TlsMode mode() const;
};

// The files' contents at one reading.
struct TlsMaterial {
  std::string cert_chain_pem;
  std::string key_pem;
  std::string client_ca_pem;  // empty without mutual TLS

  bool operator==(const TlsMaterial& other) const {
    return cert_chain_pem == other.cert_chain_pem &&
           key_pem == other.key_pem && client_ca_pem == other.client_ca_pem;
  }
  bool operator!=(const TlsMaterial& other) const { return !(*this == other); }
};

// INVALID_ARGUMENT for a half configuration or a non-positive
// reload_interval (the files are not read).
absl::Status CheckTlsConfig(const TlsConfig& config);

// Reads the files of a TLS or mutual-TLS config (CheckTlsConfig first):
// NOT_FOUND naming a file that cannot be read, INVALID_ARGUMENT for one over
// kMaxTlsFileBytes. The contents are checked by NewServerSslContext.
absl::StatusOr<TlsMaterial> ReadTlsMaterial(const TlsConfig& config);

// Owns an SSL_CTX (shared by the connections made from it).
std::shared_ptr<SSL_CTX> AdoptSslContext(SSL_CTX* ctx);

// A TLS 1.2+ server context serving `material`: its certificate chain and
// key, and with a client CA bundle, client certificates required and
// verified against it. INVALID_ARGUMENT naming the flag and file of
// `config` when a file holds no PEM certificate or key, an encrypted key,
// or a key that does not match the certificate.
absl::StatusOr<std::shared_ptr<SSL_CTX>> NewServerSslContext(
    const TlsConfig& config, const TlsMaterial& material);

// CheckTlsConfig, then for TLS and mutual TLS ReadTlsMaterial and
// NewServerSslContext: whether a server could start with `config`.
absl::Status ValidateTlsConfig(const TlsConfig& config);

// One line for the start-up log, e.g. "mTLS (certificate cert.pem, client
// certificates verified against ca.pem; files re-read every 1m)";
// "plaintext" without TLS. Paths only, never contents.
std::string DescribeTls(const TlsConfig& config);

}  // namespace sam2

#endif  // SAM2_SERVER_TLS_CONFIG_H_
