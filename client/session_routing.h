// The session routing header: the gRPC metadata that tells a session-affine
// proxy (deploy/proxy) which replica a call must reach.
//
// Session names are "sessions/<instance id>-<32 hex>" and a session lives on
// the replica whose instance id its name carries. A client sends
//   x-sam2-session: sessions/<instance id>-<32 hex>
// on every call that names an existing session (Segment, GenerateMasks,
// GetImageSession, AppendFrames, AddPrompts, PropagateVideo, ClearPrompts,
// RemoveObject, ResetVideoSession, GetVideoSession, DeleteSession), and no
// such header on GetServerInfo and the calls that create a session. The
// proxy reads the instance id out of the value; the server itself ignores
// the header (the session in the request is what counts).
//
// Used by the C++ client library (client/sam2_client.h) and the load tester
// (client/loadtest). Stateless and thread-safe.

#ifndef SAM2_CLIENT_SESSION_ROUTING_H_
#define SAM2_CLIENT_SESSION_ROUTING_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>

#include "absl/strings/string_view.h"

namespace sam2 {

// The metadata key (lowercase, as HTTP/2 requires).
inline constexpr char kSessionRoutingHeader[] = "x-sam2-session";

// Names longer than this are never sent as the header (a server's names are
// at most 74 bytes; the proxy's header limits are a few KiB).
inline constexpr size_t kMaxRoutedSessionNameBytes = 256;

// Whether `session` can travel as the header's value: non-empty, at most
// kMaxRoutedSessionNameBytes, printable ASCII only (what gRPC metadata
// carries). A name that fails cannot be any server's, so the server rejects
// it wherever the call lands; it is sent without the header.
bool CanRouteSessionName(absl::string_view session);

// Adds the header naming `session` to `context` when CanRouteSessionName;
// does nothing otherwise. Call once per context, before the call starts.
void AddSessionRoutingHeader(grpc::ClientContext* context,
                             absl::string_view session);

}  // namespace sam2

#endif  // SAM2_CLIENT_SESSION_ROUTING_H_
