// HTTPS for the HTTP side (server/http_server.h): the server's TLS context,
// kept current with the certificate files, and one TLS connection over an
// accepted socket, with deadlines on every step.
//
// Why not cpp-httplib's SSLServer: its SSL_CTX is fixed when it is built,
// its handshake waits under the library's own timeouts, and its stream
// replaces the one HttpServer uses to bound requests. Here the server keeps
// its stream (deadline for the whole request, header budget) and only the
// bytes under it go through OpenSSL; the handshake runs on the worker under
// the same request deadline, so a client that connects and never finishes
// its handshake holds a worker no longer than one that never finishes its
// headers.
//
// Reload: HttpTlsContext holds the current SSL_CTX in a shared_ptr. Each
// new connection takes a reference (Current) and keeps it to its end; a
// reload builds a whole new context and swaps the pointer under a mutex,
// so connections in progress finish on the old one and nothing is changed
// under a handshake (OpenSSL contexts are not meant to be reconfigured
// while in use; a certificate callback reading shared state would need the
// same lock on every handshake). The files are looked at lazily: by the
// first connection after reload_interval has passed since the last look
// (no thread of its own; an idle server reloads when it next has work).
// Changed files that fail the checks of NewServerSslContext are logged once
// and ignored; the previous context stays.
//
// Writes go through send(MSG_NOSIGNAL) (a socket BIO of our own), as the
// plaintext path's do: a client gone mid-response must not raise SIGPIPE.
//
// Thread-safety: HttpTlsContext is thread-safe. A TlsConnection belongs to
// the one worker thread that serves its connection.

#ifndef SAM2_SERVER_HTTP_TLS_H_
#define SAM2_SERVER_HTTP_TLS_H_

#include <openssl/types.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/tls_config.h"

namespace sam2 {

class HttpTlsContext {
 public:
  // Loads and checks the files of a TLS or mutual-TLS `config` (the
  // errors of ValidateTlsConfig).
  static absl::StatusOr<std::unique_ptr<HttpTlsContext>> Create(
      TlsConfig config);

  HttpTlsContext(const HttpTlsContext&) = delete;
  HttpTlsContext& operator=(const HttpTlsContext&) = delete;

  // The context for a new connection, after reading the files again when
  // reload_interval has passed since they were last read.
  std::shared_ptr<SSL_CTX> Current();

  // Reads the files now: OK when they are unchanged or now served; the
  // reason when changed files were refused (the previous ones stay).
  absl::Status Reload();

 private:
  HttpTlsContext(TlsConfig config, TlsMaterial material,
                 std::shared_ptr<SSL_CTX> ctx);
  absl::Status ReloadLocked();

  const TlsConfig config_;
  std::mutex mu_;
  TlsMaterial material_;               // guarded by mu_: what ctx_ serves
  std::shared_ptr<SSL_CTX> ctx_;       // guarded by mu_
  std::optional<TlsMaterial> refused_;  // guarded by mu_: last logged refusal
  std::chrono::steady_clock::time_point next_check_;  // guarded by mu_
};

// One server-side TLS connection on an accepted socket (which stays the
// caller's to close, after this is destroyed). The socket is switched to
// non-blocking; every call waits at most until its deadline.
class TlsConnection {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  // Read/Write's result when the deadline passed first.
  static constexpr ssize_t kTimedOut = -2;

  // The server's handshake on `fd` with a context from HttpTlsContext;
  // DEADLINE_EXCEEDED when it is not done by `deadline`, UNAVAILABLE when
  // it fails (a plaintext client, an untrusted or missing client
  // certificate, the client left).
  static absl::StatusOr<std::unique_ptr<TlsConnection>> Accept(
      std::shared_ptr<SSL_CTX> ctx, int fd, Deadline deadline);

  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Up to `size` decrypted bytes: > 0 read, 0 the client closed, -1 an
  // error, kTimedOut.
  ssize_t Read(char* out, size_t size, Deadline deadline);
  // Writes all of `data` (> 0: `size`), or -1 / kTimedOut.
  ssize_t Write(const char* data, size_t size, Deadline deadline);
  // Decrypted bytes already received and not yet read.
  bool HasBufferedData() const;
  // Sends close_notify if the socket takes it at once; never waits.
  void Close();

 private:
  enum class Outcome { kDone, kTimedOut, kClosed, kFailed };

  TlsConnection(std::shared_ptr<SSL_CTX> ctx, SSL* ssl, int fd);
  // Calls `op` (an OpenSSL call on ssl_ that returns 1 when done) until it
  // is done, waiting for the socket whenever OpenSSL wants to read or
  // write, until `deadline`. kClosed: the client closed cleanly.
  Outcome Drive(const std::function<int()>& op, Deadline deadline);

  std::shared_ptr<SSL_CTX> ctx_;
  SSL* ssl_;
  int fd_;
  bool failed_ = false;
};

}  // namespace sam2

#endif  // SAM2_SERVER_HTTP_TLS_H_
