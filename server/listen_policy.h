// Listen policy: the server has neither TLS nor authentication yet, so by
// default it listens on the loopback interface only; an address reachable
// from other machines needs the explicit --insecure_listen_any flag (a
// container behind a proxy or a Kubernetes network policy, a SageMaker
// endpoint). CheckListenAddress says whether an address is allowed;
// DescribeListenExposure is the log line that says which it is.
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

// OK when `address` ("host:port") is loopback, or `insecure_listen_any` is
// set; `what` names the listener ("gRPC", "HTTP") in messages. An
// unparseable address is INVALID_ARGUMENT; a non-loopback one without the
// flag is FAILED_PRECONDITION naming the address and the flag.
absl::Status CheckListenAddress(absl::string_view what,
                                absl::string_view address,
                                bool insecure_listen_any);

// "gRPC on 127.0.0.1:50051 (loopback only)", or, for another address,
// "gRPC on 0.0.0.0:50051: reachable from other machines, WITHOUT TLS OR
// AUTHENTICATION (--insecure_listen_any)".
std::string DescribeListenExposure(absl::string_view what,
                                   absl::string_view address);

}  // namespace sam2

#endif  // SAM2_SERVER_LISTEN_POLICY_H_
