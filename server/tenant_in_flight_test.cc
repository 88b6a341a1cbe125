#include "server/tenant_in_flight.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sam2 {
namespace {

TEST(TenantInFlightTest, CountsPerTenantAndRefusesOverTheQuota) {
  TenantInFlight in_flight;
  auto a1 = in_flight.Acquire("acme", 2);
  auto a2 = in_flight.Acquire("acme", 2);
  ASSERT_TRUE(a1.ok() && a2.ok());
  auto a3 = in_flight.Acquire("acme", 2);
  ASSERT_FALSE(a3.ok());
  EXPECT_EQ(a3.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(a3.status().message(),
            "tenant 'acme': 2 requests in flight (quota); retry when one ends");
  // Another tenant has its own count; 0 is no quota.
  auto b = in_flight.Acquire("labs", 1);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(in_flight.Acquire("free", 0).ok());
  EXPECT_EQ(in_flight.InFlight("acme"), 2);
  EXPECT_EQ(in_flight.InFlight("labs"), 1);

  (*a1)->Release();
  (*a1)->Release();  // once only
  EXPECT_EQ(in_flight.InFlight("acme"), 1);
  EXPECT_TRUE(in_flight.Acquire("acme", 2).ok());  // released at once again
  a2->reset();  // destruction releases
  EXPECT_EQ(in_flight.InFlight("acme"), 0);
}

}  // namespace
}  // namespace sam2
