// Listen policy: an address reachable from other machines needs the
// server to be secured — TLS on its ports (--tls_cert/--tls_key) AND bearer
// tokens (--token_file) — or the explicit --insecure_listen_any flag (a
// container behind a proxy that terminates TLS and authenticates, a
// Kubernetes network policy, a SageMaker endpoint). Without either, the
// server listens on the loopback interface only. CheckListenAddress says
// whether an address is allowed; DescribeListenExposure is the log line
// that says which case it is.
//
// Loopback means the name "localhost", an IPv4 literal in 127.0.0.0/8 or
// the IPv6 literal ::1. Any other host, the wildcards 0.0.0.0 and :: and
// other names included, counts as reachable from elsewhere (names are not
// resolved: what they resolve to can change).
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_SERVER_LISTEN_POLICY_H_
#define SAM2_SERVER_LISTEN_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// The flag that allows addresses off the loopback interface.
inline constexpr absl::string_view kInsecureListenAnyFlag =
    "--insecure_listen_any";

// True when `host` (no brackets) is loopback as defined above.
bool IsLoopbackHost(absl::string_view host);

// How the server protects what it serves.
struct ListenSecurity {
  bool tls = false;     // both ports serve TLS only
  bool tokens = false;  // every API call needs a bearer token
  bool secured() const { return tls && tokens; }
};

// OK when `address` ("host:port") is loopback, the server is secured, or
// `insecure_listen_any` is set; `what` names the listener ("gRPC", "HTTP")
// in messages. An unparseable address is INVALID_ARGUMENT; a non-loopback
// one otherwise is FAILED_PRECONDITION naming the address, what is missing
// and the flag.
absl::Status CheckListenAddress(absl::string_view what,
                                absl::string_view address,
                                const ListenSecurity& security,
                                bool insecure_listen_any);

// "gRPC on 127.0.0.1:50051 (loopback only)"; for another address
// "gRPC on 0.0.0.0:50051: reachable from other machines, with TLS and
// bearer tokens", or, with something missing, "...: reachable from other
// machines, WITHOUT TLS (--insecure_listen_any)" (or WITHOUT
// AUTHENTICATION, or WITHOUT TLS OR AUTHENTICATION).
std::string DescribeListenExposure(absl::string_view what,
                                   absl::string_view address,
                                   const ListenSecurity& security);

}  // namespace sam2

#endif  // SAM2_SERVER_LISTEN_POLICY_H_
