// Per-tenant requests in flight. See tenant_in_flight.h.

#include "server/tenant_in_flight.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {

void TenantInFlight::Slot::Release() {
  if (!held_.exchange(false)) return;
  std::lock_guard<std::mutex> lock(owner_->mu_);
  auto it = owner_->counts_.find(tenant_);
  if (it != owner_->counts_.end() && --it->second == 0) {
    owner_->counts_.erase(it);
  }
}

absl::StatusOr<std::shared_ptr<TenantInFlight::Slot>> TenantInFlight::Acquire(
    const std::string& tenant, int64_t limit) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t& count = counts_[tenant];
    if (limit > 0 && count >= limit) {
      if (count == 0) counts_.erase(tenant);
      return absl::ResourceExhaustedError(
          absl::StrCat("tenant '", tenant, "': ", limit,
                       " requests in flight (quota); retry when one ends"));
    }
    ++count;
  }
  return std::make_shared<Slot>(this, tenant);
}

int64_t TenantInFlight::InFlight(const std::string& tenant) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(tenant);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace sam2
