// The session routing header. See session_routing.h.

#include "client/session_routing.h"

#include <string>

namespace sam2 {

bool CanRouteSessionName(absl::string_view session) {
  if (session.empty() || session.size() > kMaxRoutedSessionNameBytes) {
    return false;
  }
  for (char c : session) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

void AddSessionRoutingHeader(grpc::ClientContext* context,
                             absl::string_view session) {
  if (CanRouteSessionName(session)) {
    context->AddMetadata(kSessionRoutingHeader, std::string(session));
  }
}

}  // namespace sam2
