// TenantInFlight: counts each tenant's requests being served (unary calls
// until they finish, streams until their last message) and enforces the
// tenant's max_in_flight quota (token_file.h) at admission.
//
// Ownership: a Slot holds one unit of its tenant's count until Release()
// or its destruction; the TenantInFlight must outlive its slots.
//
// Thread-safety: thread-safe; a Slot may be released from any thread,
// once (later calls do nothing).

#ifndef SAM2_SERVER_TENANT_IN_FLIGHT_H_
#define SAM2_SERVER_TENANT_IN_FLIGHT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace sam2 {

class TenantInFlight {
 public:
  class Slot {
   public:
    Slot(TenantInFlight* owner, std::string tenant)
        : owner_(owner), tenant_(std::move(tenant)) {}
    ~Slot() { Release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    void Release();

   private:
    TenantInFlight* const owner_;
    const std::string tenant_;
    std::atomic<bool> held_{true};
  };

  // A slot of `tenant`'s count; RESOURCE_EXHAUSTED "tenant 'x': 8 requests
  // in flight (quota)" when `limit` > 0 and `limit` are already held.
  absl::StatusOr<std::shared_ptr<Slot>> Acquire(const std::string& tenant,
                                                int64_t limit);

  // Requests of `tenant` in flight now.
  int64_t InFlight(const std::string& tenant) const;

 private:
  mutable std::mutex mu_;
  // Tenants with at least one request in flight.
  absl::flat_hash_map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sam2

#endif  // SAM2_SERVER_TENANT_IN_FLIGHT_H_
