// HTTPS pieces of the HTTP side. See the header.

#include "server/http_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

using SteadyClock = std::chrono::steady_clock;

bool WouldBlock(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int BioFd(BIO* bio) {
  return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
}

int BioWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n =
      send(BioFd(bio), data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && WouldBlock(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int BioRead(BIO* bio, char* out, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = recv(BioFd(bio), out, static_cast<size_t>(size), 0);
  if (n < 0 && WouldBlock(errno)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long BioCtrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

// A socket BIO that writes with MSG_NOSIGNAL (OpenSSL's own uses write(),
// which raises SIGPIPE on a closed connection). Created once; never freed.
const BIO_METHOD* SocketMethod() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sam2 socket");
    BIO_meth_set_write(m, BioWrite);
    BIO_meth_set_read(m, BioRead);
    BIO_meth_set_ctrl(m, BioCtrl);
    return m;
  }();
  return method;
}

// Waits for `events` on `fd` until `deadline`: false when it passed.
bool WaitFor(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - SteadyClock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return n > 0;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// HttpTlsContext

absl::StatusOr<std::unique_ptr<HttpTlsContext>> HttpTlsContext::Create(
    TlsConfig config) {
  if (absl::Status s = CheckTlsConfig(config); !s.ok()) return s;
  if (config.mode() == TlsMode::kPlaintext) {
    return absl::InvalidArgumentError("HTTPS needs --tls_cert and --tls_key");
  }
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(config);
  if (!material.ok()) return material.status();
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx =
      NewServerSslContext(config, *material);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<HttpTlsContext>(new HttpTlsContext(
      std::move(config), *std::move(material), *std::move(ctx)));
}

HttpTlsContext::HttpTlsContext(TlsConfig config, TlsMaterial material,
                               std::shared_ptr<SSL_CTX> ctx)
    : config_(std::move(config)),
      material_(std::move(material)),
      ctx_(std::move(ctx)),
      next_check_(SteadyClock::now() +
                  absl::ToChronoNanoseconds(config_.reload_interval)) {}

std::shared_ptr<SSL_CTX> HttpTlsContext::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (SteadyClock::now() >= next_check_) ReloadLocked().IgnoreError();
  return ctx_;
}

absl::Status HttpTlsContext::Reload() {
  std::lock_guard<std::mutex> lock(mu_);
  return ReloadLocked();
}

absl::Status HttpTlsContext::ReloadLocked() {
  next_check_ =
      SteadyClock::now() + absl::ToChronoNanoseconds(config_.reload_interval);
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(config_);
  absl::Status status = material.status();
  if (material.ok()) {
    if (*material == material_) return absl::OkStatus();
    absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx =
        NewServerSslContext(config_, *material);
    if (ctx.ok()) {
      ctx_ = *std::move(ctx);
      material_ = *std::move(material);
      refused_.reset();
      std::cerr << "sam2_server: HTTPS: serving the certificate re-read from "
                << config_.cert_path << "\n";
      return absl::OkStatus();
    }
    status = ctx.status();
    // Logged once per refused set of files, not at every look.
    if (refused_ == *material) return status;
    refused_ = *std::move(material);
  }
  std::cerr << "sam2_server: HTTPS: keeping the previous certificate: "
            << status.message() << "\n";
  return status;
}

// ---------------------------------------------------------------------------
// TlsConnection

absl::StatusOr<std::unique_ptr<TlsConnection>> TlsConnection::Accept(
    std::shared_ptr<SSL_CTX> ctx, int fd, Deadline deadline) {
  ERR_clear_error();
  const int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::UnavailableError("cannot make the socket non-blocking");
  }
  SSL* ssl = SSL_new(ctx.get());
  BIO* bio = BIO_new(SocketMethod());
  if (ssl == nullptr || bio == nullptr) {
    SSL_free(ssl);
    BIO_free(bio);
    ERR_clear_error();
    return absl::UnavailableError("cannot start a TLS connection");
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // owns `bio`
  std::unique_ptr<TlsConnection> connection(
      new TlsConnection(std::move(ctx), ssl, fd));
  switch (connection->Drive([ssl] { return SSL_accept(ssl); }, deadline)) {
    case Outcome::kDone:
      return connection;
    case Outcome::kTimedOut:
      return absl::DeadlineExceededError("TLS handshake not done in time");
    default:
      return absl::UnavailableError("TLS handshake failed");
  }
}

TlsConnection::TlsConnection(std::shared_ptr<SSL_CTX> ctx, SSL* ssl, int fd)
    : ctx_(std::move(ctx)), ssl_(ssl), fd_(fd) {}

TlsConnection::~TlsConnection() {
  SSL_free(ssl_);
  ERR_clear_error();
}

TlsConnection::Outcome TlsConnection::Drive(const std::function<int()>& op,
                                            Deadline deadline) {
  if (failed_) return Outcome::kFailed;
  while (true) {
    const int ret = op();
    if (ret == 1) return Outcome::kDone;
    const int error = SSL_get_error(ssl_, ret);
    short events = 0;
    if (error == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (error == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
      // The thread's error queue holds the failure: cleared, so that it
      // cannot be mistaken for the next connection's.
      ERR_clear_error();
      if (error == SSL_ERROR_ZERO_RETURN) return Outcome::kClosed;
      failed_ = true;
      return Outcome::kFailed;
    }
    if (!WaitFor(fd_, events, deadline)) return Outcome::kTimedOut;
  }
}

ssize_t TlsConnection::Read(char* out, size_t size, Deadline deadline) {
  size_t n = 0;
  switch (Drive([&] { return SSL_read_ex(ssl_, out, size, &n); }, deadline)) {
    case Outcome::kDone:
      return static_cast<ssize_t>(n);
    case Outcome::kTimedOut:
      return kTimedOut;
    case Outcome::kClosed:
      return 0;
    default:
      return -1;
  }
}

ssize_t TlsConnection::Write(const char* data, size_t size, Deadline deadline) {
  size_t n = 0;
  // Retried with the same arguments after WANT_*, as OpenSSL requires;
  // without partial writes it returns once all of `data` is sent.
  const Outcome outcome = Drive(
      [&] { return SSL_write_ex(ssl_, data, size, &n); }, deadline);
  if (outcome == Outcome::kDone) return static_cast<ssize_t>(n);
  failed_ = true;  // a write cut short cannot be resumed
  return outcome == Outcome::kTimedOut ? kTimedOut : -1;
}

bool TlsConnection::HasBufferedData() const {
  return !failed_ && SSL_pending(ssl_) > 0;
}

void TlsConnection::Close() {
  if (!failed_) SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace sam2
