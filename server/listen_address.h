// Listen addresses of the server's two sides (gRPC and HTTP): parsing
// "host:port" text, and explaining why a listener could not be opened.
//
// Neither gRPC's ServerBuilder nor cpp-httplib reports why a bind failed
// (gRPC logs it, cpp-httplib returns false), so after such a failure the
// caller asks DiagnoseListen, which repeats resolve/socket/bind/listen on its
// own socket and reports the first step that fails with the system's errno
// text: "bind 127.0.0.1:9090: Address already in use".
//
// Stateless functions; thread-safe.

#ifndef SAM2_SERVER_LISTEN_ADDRESS_H_
#define SAM2_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

struct ListenAddress {
  std::string host;  // name, IPv4 literal or IPv6 literal (no brackets)
  int port = 0;      // 0: the system picks a free port

  // "host:port", with brackets around an IPv6 host.
  std::string ToString() const;
};

// Parses "host:port", "[ipv6]:port" ("0.0.0.0:9090", "localhost:0",
// "[::1]:50051"); the port is decimal in [0, 65535]. InvalidArgumentError
// naming the text otherwise.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

// Tries to open a TCP listener on `address` the way both servers do
// (SO_REUSEADDR, no SO_REUSEPORT), closes it again, and returns the first
// step that fails as UnavailableError: "cannot resolve <host>: <reason>" or
// "<step> <address>: <errno text>". OK if every step succeeded, i.e. the
// original failure was not about the address (or was transient).
absl::Status DiagnoseListen(const ListenAddress& address);

}  // namespace sam2

#endif  // SAM2_SERVER_LISTEN_ADDRESS_H_
