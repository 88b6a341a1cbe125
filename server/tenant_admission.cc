// Admission of one call: authentication, then the tenant's in-flight quota.
// See tenant_admission.h.

#include "server/tenant_admission.h"

#include <utility>

namespace sam2 {

absl::StatusOr<Admission> Admit(Authenticator* auth, TenantInFlight* in_flight,
                                const std::string* authorization) {
  Admission admission;
  if (auth == nullptr) return admission;
  absl::StatusOr<Tenant> tenant = auth->Authenticate(authorization);
  if (!tenant.ok()) return tenant.status();
  admission.owner.tenant = tenant->name;
  admission.owner.max_sessions = tenant->quotas.max_sessions;
  admission.owner.max_bytes = tenant->quotas.max_session_bytes;
  if (in_flight != nullptr) {
    absl::StatusOr<std::shared_ptr<TenantInFlight::Slot>> slot =
        in_flight->Acquire(tenant->name, tenant->quotas.max_in_flight);
    if (!slot.ok()) return slot.status();
    admission.slot = *std::move(slot);
  }
  return admission;
}

}  // namespace sam2
