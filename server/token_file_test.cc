#include "server/token_file.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sam2 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTokenA[] = "token-of-acme-0123456789";
constexpr char kTokenB[] = "token-of-labs-abcdefghij";

std::string HexSha256(absl::string_view token) {
  const TokenDigest d = Sha256Of(token);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

TEST(TokenFileTest, ParsesTenantsCommentsAndQuotas) {
  TenantQuotas defaults;
  defaults.max_sessions = 7;
  defaults.max_in_flight = 3;
  const std::string text = absl::StrCat(
      "# tenants\n\n", "acme\t", kTokenA,
      "  max_sessions=4 max_session_mb=2   # trailing comment\n",
      "  labs ", kTokenB, " max_in_flight=0\r\n");
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text, defaults);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->tenants().size(), 2u);
  const Tenant* acme = table->Find(kTokenA);
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->name, "acme");
  EXPECT_EQ(acme->quotas.max_sessions, 4);
  EXPECT_EQ(acme->quotas.max_session_bytes, 2 << 20);
  EXPECT_EQ(acme->quotas.max_in_flight, 3);  // the default
  const Tenant* labs = table->Find(kTokenB);
  ASSERT_NE(labs, nullptr);
  EXPECT_EQ(labs->name, "labs");
  EXPECT_EQ(labs->quotas.max_sessions, 7);
  EXPECT_EQ(labs->quotas.max_in_flight, 0);
  EXPECT_EQ(table->Find("token-of-acme-012345678"), nullptr);  // a prefix
  EXPECT_EQ(table->Find(""), nullptr);
  EXPECT_EQ(table->Find(absl::StrCat(kTokenA, "x")), nullptr);
}

TEST(TokenFileTest, AHashInsideATokenIsNoComment) {
  const std::string token = "with#hash-0123456789";
  absl::StatusOr<TokenTable> table =
      TokenTable::Parse(absl::StrCat("acme ", token, " #comment\n"), {});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_NE(table->Find(token), nullptr);
  EXPECT_EQ(table->Find("with"), nullptr);
}

TEST(TokenFileTest, Sha256FormMatchesThePresentedToken) {
  const std::string text =
      absl::StrCat("acme sha256:", HexSha256(kTokenA), "\n");
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text, {});
  ASSERT_TRUE(table.ok()) << table.status();
  const Tenant* acme = table->Find(kTokenA);
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->name, "acme");
  // The digest itself is not a token.
  EXPECT_EQ(table->Find(absl::StrCat("sha256:", HexSha256(kTokenA))), nullptr);
  // Upper-case hex is the same digest.
  std::string upper = HexSha256(kTokenA);
  for (char& c : upper) c = static_cast<char>(toupper(c));
  table = TokenTable::Parse(absl::StrCat("acme sha256:", upper), {});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_NE(table->Find(kTokenA), nullptr);
}

// Every bad line names its line number and never the token.
TEST(TokenFileTest, BadLinesNameTheLineNotTheToken) {
  const std::string ok_line = absl::StrCat("acme ", kTokenA, "\n");
  struct Case {
    std::string line;
    std::string expected;
  };
  const Case cases[] = {
      {"lonely\n", "expected 'tenant token"},
      {absl::StrCat("bad/name ", kTokenB, "\n"), "tenant name"},
      {absl::StrCat(std::string(65, 'n'), " ", kTokenB, "\n"), "tenant name"},
      {"labs short-token\n", "16 to 512"},
      {absl::StrCat("labs ", std::string(513, 'x'), "\n"), "16 to 512"},
      {absl::StrCat("labs ", kTokenB, "\x01", "\n"), "printable"},
      {"labs sha256:abcd\n", "64 hex digits"},
      {absl::StrCat("labs sha256:", std::string(63, 'a'), "g\n"),
       "64 hex digits"},
      {absl::StrCat("labs ", kTokenB, " max_sessions=-1\n"),
       "max_sessions needs a whole number"},
      {absl::StrCat("labs ", kTokenB, " max_session_mb=lots\n"),
       "max_session_mb needs"},
      {absl::StrCat("labs ", kTokenB, " ", kTokenB, "\n"),
       "only quotas may follow"},
      {absl::StrCat("acme ", kTokenB, "\n"), "already defined on line 2"},
      {absl::StrCat("labs ", kTokenA, "\n"),
       "same token as tenant 'acme' (line 2)"},
      {absl::StrCat("labs sha256:", HexSha256(kTokenA), "\n"),
       "same token as tenant 'acme'"},
  };
  for (const Case& c : cases) {
    const std::string text = absl::StrCat("# header\n", ok_line, c.line);
    absl::StatusOr<TokenTable> table = TokenTable::Parse(text, {});
    ASSERT_FALSE(table.ok()) << c.line;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(table.status().message(), HasSubstr("line 3: ")) << c.line;
    EXPECT_THAT(table.status().message(), HasSubstr(c.expected)) << c.line;
    EXPECT_THAT(table.status().message(), Not(HasSubstr(kTokenA)));
    EXPECT_THAT(table.status().message(), Not(HasSubstr(kTokenB)));
    EXPECT_THAT(table.status().message(), Not(HasSubstr("short-token")));
  }
}

TEST(TokenFileTest, AFileWithoutTenantsIsAnError) {
  absl::StatusOr<TokenTable> table = TokenTable::Parse("# nobody\n\n", {});
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("names no tenant"));
}

TEST(TokenFileTest, DigestsEqualComparesEveryByte) {
  const TokenDigest a = Sha256Of("abc");
  TokenDigest b = a;
  EXPECT_TRUE(DigestsEqual(a, b));
  b.back() ^= 1;
  EXPECT_FALSE(DigestsEqual(a, b));
  b = a;
  b.front() ^= 0x80;
  EXPECT_FALSE(DigestsEqual(a, b));
  // The well-known SHA-256 of "abc".
  EXPECT_EQ(HexSha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenFileTest, ReadTokenFileNamesAMissingFile) {
  absl::StatusOr<TokenTable> table =
      ReadTokenFile("/nonexistent/sam2-tokens", {});
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(table.status().message(), HasSubstr("/nonexistent/sam2-tokens"));
}

}  // namespace
}  // namespace sam2
