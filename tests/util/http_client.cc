#include "tests/util/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sam2 {

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval timeout = {kHttpClientTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::optional<std::string> DecodeChunked(absl::string_view body) {
  std::string out;
  while (true) {
    const size_t line_end = body.find("\r\n");
    if (line_end == absl::string_view::npos) return std::nullopt;
    size_t size = 0;
    if (!absl::SimpleHexAtoi(body.substr(0, line_end), &size)) {
      return std::nullopt;
    }
    body.remove_prefix(line_end + 2);
    if (size == 0) return body == "\r\n" ? std::optional(out) : std::nullopt;
    if (body.size() < size + 2 || body.substr(size, 2) != "\r\n") {
      return std::nullopt;
    }
    out.append(body.data(), size);
    body.remove_prefix(size + 2);
  }
}

HttpReply HttpExchange(int port, absl::string_view raw) {
  HttpReply result;
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    result.error = absl::StrCat("connect to port ", port, " failed");
    return result;
  }
  size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) before reading it all
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[16384];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) reply.append(buf, n);
  close(fd);
  return ParseReply(reply);
}

HttpReply ParseReply(const std::string& reply) {
  HttpReply result;
  const size_t end_of_headers = reply.find("\r\n\r\n");
  if (end_of_headers == std::string::npos) {
    result.error = absl::StrCat("malformed reply: ", reply);
    return result;
  }
  result.body = reply.substr(end_of_headers + 4);
  std::vector<std::string> lines =
      absl::StrSplit(reply.substr(0, end_of_headers), "\r\n");
  // "HTTP/1.1 200 OK"
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (!absl::StartsWith(lines[0], "HTTP/1.") || status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &result.status)) {
    result.status = 0;
    result.error = absl::StrCat("bad status line: ", lines[0]);
    return result;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    result.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  return result;
}

HttpReply HttpGet(int port, absl::string_view path, absl::string_view method) {
  return HttpExchange(port, absl::StrCat(method, " ", path, " HTTP/1.0\r\n\r\n"));
}

namespace {

// Blocks SIGPIPE on this thread while it lives: a TLS write to a server
// that closed raises it (OpenSSL writes with write(), not send()), and the
// test must see an error, not die. A SIGPIPE raised meanwhile is consumed.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    const timespec zero = {0, 0};
    while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
};

std::string OpenSslError() {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  const char* reason = error == 0 ? nullptr : ERR_reason_error_string(error);
  return reason == nullptr ? "unknown" : reason;
}

}  // namespace

HttpReply HttpsExchange(int port, absl::string_view raw,
                        const TlsClientOptions& tls) {
  SigpipeBlocked no_sigpipe;
  HttpReply result;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  BIO* bio = BIO_new_mem_buf(tls.ca_pem.data(), static_cast<int>(tls.ca_pem.size()));
  while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, ca);
    X509_free(ca);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (!tls.cert_pem.empty()) {
    bio = BIO_new_mem_buf(tls.cert_pem.data(), static_cast<int>(tls.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    bio = BIO_new_mem_buf(tls.key_pem.data(), static_cast<int>(tls.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    SSL_CTX_free(ctx);
    result.error = absl::StrCat("connect to port ", port, " failed");
    return result;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  std::string reply;
  if (SSL_connect(ssl) != 1) {
    result.error = absl::StrCat("TLS handshake failed: ", OpenSslError());
  } else {
    size_t sent = 0;
    while (sent < raw.size()) {
      size_t n = 0;
      if (SSL_write_ex(ssl, raw.data() + sent, raw.size() - sent, &n) != 1) break;
      sent += n;
    }
    char buf[16384];
    size_t n = 0;
    while (SSL_read_ex(ssl, buf, sizeof(buf), &n) == 1) reply.append(buf, n);
    if (reply.empty()) {
      result.error = absl::StrCat("no reply over TLS: ", OpenSslError());
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  if (!result.error.empty()) return result;
  return ParseReply(reply);
}

HttpReply HttpsGet(int port, absl::string_view path,
                   const TlsClientOptions& tls) {
  return HttpsExchange(port, absl::StrCat("GET ", path, " HTTP/1.0\r\n\r\n"),
                       tls);
}

HttpReply HttpPost(int port, absl::string_view path, absl::string_view body,
                   absl::string_view content_type,
                   absl::string_view extra_headers) {
  return HttpExchange(
      port, absl::StrCat("POST ", path, " HTTP/1.0\r\nContent-Type: ",
                         content_type, "\r\nContent-Length: ", body.size(),
                         "\r\n", extra_headers, "\r\n", body));
}

}  // namespace sam2
