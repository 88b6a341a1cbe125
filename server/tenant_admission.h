// Admission of one call for the transports (gRPC service, HTTP API): who
// the caller is (bearer token -> tenant, authenticator.h) and whether its
// tenant may start one more request (tenant_in_flight.h). The result
// carries what the session layer needs, as plain values: the tenant's name
// and its session quotas (SessionOwner).
//
// Thread-safety: as Authenticator and TenantInFlight (thread-safe).

#ifndef SAM2_SERVER_TENANT_ADMISSION_H_
#define SAM2_SERVER_TENANT_ADMISSION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/authenticator.h"
#include "server/tenant_in_flight.h"
#include "session/session_store.h"

namespace sam2 {

struct Admission {
  // The tenant and its session quotas; tenant "" and no quotas without
  // authentication.
  SessionOwner owner;
  // Held until the call ends (Release); null when not counted.
  std::shared_ptr<TenantInFlight::Slot> slot;

  const std::string& tenant() const { return owner.tenant; }
  void Release() const {
    if (slot != nullptr) slot->Release();
  }
};

// `authorization`: the call's "authorization" metadata/header (nullptr:
// none). With a null `auth` every call is admitted as tenant "" (the server
// runs without authentication). UNAUTHENTICATED as Authenticate says;
// RESOURCE_EXHAUSTED when the tenant's max_in_flight requests already run
// (`in_flight` may be null: not counted).
absl::StatusOr<Admission> Admit(Authenticator* auth, TenantInFlight* in_flight,
                                const std::string* authorization);

}  // namespace sam2

#endif  // SAM2_SERVER_TENANT_ADMISSION_H_
