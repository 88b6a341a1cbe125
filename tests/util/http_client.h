// A minimal HTTP/1.x client on POSIX sockets (and OpenSSL, for HTTPS) for
// tests that talk to the server's HTTP side over loopback: it sends raw request bytes, reads the
// reply to EOF (the server closes every connection) and parses status line,
// headers and body. Hermetic (127.0.0.1 only) and bounded: a hung server
// fails the test after kHttpClientTimeoutSeconds instead of hanging it.
//
// Thread-safe: no shared state.

#ifndef SAM2_TESTS_UTIL_HTTP_CLIENT_H_
#define SAM2_TESTS_UTIL_HTTP_CLIENT_H_

#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sam2 {

inline constexpr int kHttpClientTimeoutSeconds = 30;

struct HttpReply {
  int status = 0;  // 0: no parseable reply (connect failed, garbage, ...)
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string error;  // why status is 0
};

// A TCP connection to 127.0.0.1:`port` with kHttpClientTimeoutSeconds send
// and receive timeouts; -1 when it fails. The caller closes it.
int ConnectLoopback(int port);

// The payload of a complete chunked body (HTTP/1.1 Transfer-Encoding:
// chunked, no trailers); nullopt when it is malformed or cut short.
std::optional<std::string> DecodeChunked(absl::string_view body);

// Sends `raw` to 127.0.0.1:`port` and parses the reply.
HttpReply HttpExchange(int port, absl::string_view raw);

// A whole reply (status line, headers, body) as HttpReply.
HttpReply ParseReply(const std::string& reply);

// `method` `path` HTTP/1.0 without a body.
HttpReply HttpGet(int port, absl::string_view path,
                  absl::string_view method = "GET");

// POST `path` HTTP/1.0 with Content-Length, `content_type` and optional
// extra header lines ("Name: value\r\n" each).
HttpReply HttpPost(int port, absl::string_view path, absl::string_view body,
                   absl::string_view content_type = "application/octet-stream",
                   absl::string_view extra_headers = "");

// HTTPS: the server's certificate must be signed by `ca_pem` and name
// 127.0.0.1; for mutual TLS the client presents `cert_pem` + `key_pem`.
struct TlsClientOptions {
  std::string ca_pem;
  std::string cert_pem;  // empty: no client certificate
  std::string key_pem;
};

// HttpExchange over TLS. A failed handshake (or a server that ends the
// connection without answering) gives status 0 and an `error` that says so.
HttpReply HttpsExchange(int port, absl::string_view raw,
                        const TlsClientOptions& tls);

// GET `path` HTTP/1.0 over TLS.
HttpReply HttpsGet(int port, absl::string_view path,
                   const TlsClientOptions& tls);

}  // namespace sam2

#endif  // SAM2_TESTS_UTIL_HTTP_CLIENT_H_
