#include "server/tenant_admission.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sam2 {
namespace {

constexpr char kToken[] = "token-of-acme-0123456789";

TEST(TenantAdmissionTest, WithoutAnAuthenticatorEveryoneIsTenantEmpty) {
  TenantInFlight in_flight;
  absl::StatusOr<Admission> a = Admit(nullptr, &in_flight, nullptr);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->tenant(), "");
  EXPECT_EQ(a->owner.max_sessions, 0);
  EXPECT_EQ(a->slot, nullptr);
  EXPECT_EQ(in_flight.InFlight(""), 0);
}

TEST(TenantAdmissionTest, TokenGivesTheTenantItsQuotasAndASlot) {
  const char* dir = getenv("TEST_TMPDIR");
  const std::string path =
      absl::StrCat(dir != nullptr ? dir : "/tmp", "/admission-", getpid());
  std::ofstream(path) << "acme " << kToken
                      << " max_sessions=3 max_session_mb=1 max_in_flight=1\n";
  AuthOptions options;
  options.token_file = path;
  options.reload_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create(options);
  ASSERT_TRUE(auth.ok()) << auth.status();
  TenantInFlight in_flight;

  EXPECT_EQ(Admit(auth->get(), &in_flight, nullptr).status().code(),
            absl::StatusCode::kUnauthenticated);
  const std::string header = absl::StrCat("Bearer ", kToken);
  absl::StatusOr<Admission> a = Admit(auth->get(), &in_flight, &header);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->tenant(), "acme");
  EXPECT_EQ(a->owner.max_sessions, 3);
  EXPECT_EQ(a->owner.max_bytes, 1 << 20);
  EXPECT_EQ(in_flight.InFlight("acme"), 1);
  absl::StatusOr<Admission> b = Admit(auth->get(), &in_flight, &header);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(b.status().message(), ::testing::HasSubstr("tenant 'acme'"));
  a->Release();
  EXPECT_EQ(in_flight.InFlight("acme"), 0);
  EXPECT_TRUE(Admit(auth->get(), &in_flight, &header).ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace sam2
