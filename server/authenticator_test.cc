#include "server/authenticator.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sam2 {
namespace {

using ::testing::HasSubstr;

constexpr char kTokenA[] = "token-of-acme-0123456789";
constexpr char kTokenB[] = "token-of-labs-abcdefghij";

std::string TempPath(absl::string_view name) {
  const char* dir = getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name, "-", getpid());
}

// Replaces `path` atomically (a new inode), as deployment tools do.
void WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::string Bearer(absl::string_view token) {
  return absl::StrCat("Bearer ", token);
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    WriteFile(path_, absl::StrCat("acme ", kTokenA, " max_sessions=2\n"));
    options_.token_file = path_;
    options_.default_quotas.max_in_flight = 5;
    options_.reload_interval = absl::ZeroDuration();
  }
  void TearDown() override { std::remove(path_.c_str()); }

  std::string path_;
  AuthOptions options_;
};

TEST_F(AuthenticatorTest, MissingMalformedWrongAndRightTokens) {
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create(options_);
  ASSERT_TRUE(auth.ok()) << auth.status();
  Authenticator& a = **auth;

  absl::StatusOr<Tenant> t = a.Authenticate(nullptr);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(t.status().message(), HasSubstr("missing bearer token"));
  const std::string empty;
  EXPECT_THAT(a.Authenticate(&empty).status().message(),
              HasSubstr("missing bearer token"));
  EXPECT_EQ(a.failures(AuthFailure::kMissing), 2);

  const std::string basic = absl::StrCat("Basic ", kTokenA);
  t = a.Authenticate(&basic);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(t.status().message(), HasSubstr("must be 'Bearer <token>'"));
  const std::string wrong = Bearer(kTokenB);
  t = a.Authenticate(&wrong);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(t.status().message(), HasSubstr("was not accepted"));
  EXPECT_THAT(t.status().message(), ::testing::Not(HasSubstr(kTokenB)));
  EXPECT_EQ(a.failures(AuthFailure::kInvalid), 2);

  const std::string right = absl::StrCat("bearer  ", kTokenA);  // any case
  t = a.Authenticate(&right);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, "acme");
  EXPECT_EQ(t->quotas.max_sessions, 2);
  EXPECT_EQ(t->quotas.max_in_flight, 5);
  EXPECT_EQ(a.failures(AuthFailure::kInvalid), 2);
}

TEST_F(AuthenticatorTest, ABadFileAtStartIsAnError) {
  WriteFile(path_, "acme short\n");
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create(options_);
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(auth.status().message(), HasSubstr("line 1"));
  options_.token_file = path_ + ".missing";
  EXPECT_FALSE(Authenticator::Create(options_).ok());
}

TEST_F(AuthenticatorTest, ReloadReplacesTheTableAndKeepsItOnABadFile) {
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create(options_);
  ASSERT_TRUE(auth.ok()) << auth.status();
  Authenticator& a = **auth;
  const std::string token_a = Bearer(kTokenA);
  const std::string token_b = Bearer(kTokenB);
  EXPECT_TRUE(a.ReloadIfChanged().ok());  // unchanged

  WriteFile(path_, absl::StrCat("labs ", kTokenB, "\n"));
  ASSERT_TRUE(a.ReloadIfChanged().ok());
  EXPECT_FALSE(a.Authenticate(&token_a).ok());
  ASSERT_TRUE(a.Authenticate(&token_b).ok());
  EXPECT_EQ(a.Authenticate(&token_b)->name, "labs");
  EXPECT_THAT(a.TenantNames(), ::testing::ElementsAre("labs"));

  WriteFile(path_, absl::StrCat("labs ", kTokenB, "\nacme ", kTokenB, "\n"));
  const absl::Status bad = a.ReloadIfChanged();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("line 2"));
  EXPECT_THAT(bad.message(), ::testing::Not(HasSubstr(kTokenB)));
  EXPECT_TRUE(a.Authenticate(&token_b).ok());  // the previous table
  EXPECT_TRUE(a.ReloadIfChanged().ok());       // same bad version: no retry

  std::remove(path_.c_str());
  EXPECT_FALSE(a.ReloadIfChanged().ok());
  EXPECT_TRUE(a.Authenticate(&token_b).ok());
}

TEST_F(AuthenticatorTest, ThePollerPicksUpAChangedFile) {
  options_.reload_interval = absl::Milliseconds(5);
  absl::StatusOr<std::unique_ptr<Authenticator>> auth =
      Authenticator::Create(options_);
  ASSERT_TRUE(auth.ok()) << auth.status();
  const std::string token_b = Bearer(kTokenB);
  WriteFile(path_, absl::StrCat("labs ", kTokenB, "\n"));
  const absl::Time limit = absl::Now() + absl::Seconds(60);
  while (!(*auth)->Authenticate(&token_b).ok() && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(5));  // polling a condition
  }
  EXPECT_TRUE((*auth)->Authenticate(&token_b).ok());
}

}  // namespace
}  // namespace sam2
