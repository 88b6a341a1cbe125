// Tests for session ids: format of generated ids, uniqueness, parse round
// trip (instance ids with dashes, as Kubernetes pod names have, included),
// and rejection (with a useful message) of every malformed shape.

#include "session/session_id.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

bool AllLowerHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST(SessionIdTest, InstanceIdFormat) {
  const std::string a = NewInstanceId();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_TRUE(AllLowerHex(a)) << a;
  EXPECT_TRUE(ValidateInstanceId(a).ok());
  EXPECT_NE(a, NewInstanceId());
}

TEST(SessionIdTest, SessionIdFormat) {
  const std::string instance = NewInstanceId();
  const std::string id = NewSessionId(instance);
  ASSERT_EQ(id.size(), 16u + 1 + 32);
  EXPECT_EQ(id.substr(0, 16), instance);
  EXPECT_EQ(id[16], '-');
  EXPECT_TRUE(AllLowerHex(id.substr(17))) << id;
}

TEST(SessionIdTest, UniqueOver10000Ids) {
  const std::string instance = NewInstanceId();
  absl::flat_hash_set<std::string> ids;
  absl::flat_hash_set<std::string> randoms;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewSessionId(instance);
    EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
    randoms.insert(id.substr(instance.size() + 1));
  }
  EXPECT_EQ(ids.size(), 10000u);
  EXPECT_EQ(randoms.size(), 10000u);
}

// A crude check that the random part is not, e.g., a counter or constant:
// over many ids every hex digit appears at every position.
TEST(SessionIdTest, RandomPartUsesWholeAlphabetEverywhere) {
  bool seen[32][16] = {};
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewSessionId("x");
    for (int p = 0; p < 32; ++p) {
      const char c = id[2 + p];
      seen[p][c <= '9' ? c - '0' : c - 'a' + 10] = true;
    }
  }
  for (int p = 0; p < 32; ++p) {
    for (int d = 0; d < 16; ++d) EXPECT_TRUE(seen[p][d]) << p << " " << d;
  }
}

TEST(SessionIdTest, ParseRoundTrip) {
  for (const std::string& instance :
       {NewInstanceId(), std::string("a"), std::string("pod7"),
        std::string(32, 'z'), std::string("sam2-0"),
        std::string("sam2-7d9f8-abcde"), std::string("replica-a"),
        std::string("a--b"), std::string("0-" + std::string(30, 'f')),
        std::string("deadbeefdeadbeefdeadbeefdeadbe-f")}) {
    const std::string id = NewSessionId(instance);
    absl::StatusOr<ParsedSessionId> parsed = ParseSessionId(id);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->instance_id, instance);
    EXPECT_EQ(absl::StrCat(parsed->instance_id, "-", parsed->random), id);
    EXPECT_EQ(parsed->random.size(), 32u);
  }
}

// The random part is the last 32 characters, whatever the instance holds:
// an instance whose own tail looks like "-<32 hex>" still splits right.
TEST(SessionIdTest, ParseSplitsAtTheLastDash) {
  const std::string hex(32, 'b');
  absl::StatusOr<ParsedSessionId> parsed =
      ParseSessionId("sam2-7d9f8-abcde-" + hex);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->instance_id, "sam2-7d9f8-abcde");
  EXPECT_EQ(parsed->random, hex);
  parsed = ParseSessionId("a-" + std::string(30, 'c') + "-" + hex);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->instance_id, "a-" + std::string(30, 'c'));
}

TEST(SessionIdTest, ValidateInstanceId) {
  for (const std::string& good :
       {std::string("abc123"), std::string(32, '0'), std::string("a-b"),
        std::string("sam2-0"), std::string("sam2-7d9f8-abcde"),
        std::string("a--b"), std::string("0"),
        "a" + std::string(30, '-') + "b"}) {
    EXPECT_TRUE(ValidateInstanceId(good).ok()) << good;
  }
  struct Bad {
    std::string id;
    std::string message_part;
  };
  const Bad bad[] = {
      {"", "empty"},
      {std::string(33, 'a'), "longer than 32"},
      {"a" + std::string(31, '-') + "b", "longer than 32"},
      {"ABC", "outside [a-z0-9-]"},
      {"a_b", "outside [a-z0-9-]"},
      {"a.b", "outside [a-z0-9-]"},
      {"a\nb", "outside [a-z0-9-]"},
      {"-a", "starts or ends with '-'"},
      {"a-", "starts or ends with '-'"},
      {"-", "starts or ends with '-'"},
  };
  for (const Bad& b : bad) {
    const absl::Status s = ValidateInstanceId(b.id);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << b.id;
    EXPECT_NE(s.message().find(b.message_part), std::string::npos)
        << b.id << ": " << s;
  }
  // The message quotes the id escaped.
  const absl::Status s = ValidateInstanceId("a\nb");
  EXPECT_EQ(std::string(s.message()).find('\n'), std::string::npos) << s;
  EXPECT_NE(s.message().find("a\\nb"), std::string::npos) << s;
}

struct Malformed {
  std::string id;
  std::string message_part;
};

TEST(SessionIdTest, RejectsMalformed) {
  const std::string r(32, 'a');  // a valid random part
  const Malformed cases[] = {
      {"", "empty"},
      {r, "no '-'"},
      {"abc", "no '-'"},
      {"-" + r, "empty instance"},
      {std::string(32, 'a') + "-" + std::string(31, 'a'), "31 characters"},
      {std::string(40, 'a') + "-" + r, "longer than 65"},
      {"inst-" + r + "-", "0 characters"},
      {"inst-" + r + "-a", "1 characters"},
      {"Inst-" + r, "outside [a-z0-9-]"},
      {"in_st-" + r, "outside [a-z0-9-]"},
      {"in st-" + r, "outside [a-z0-9-]"},
      {"a.b-" + r, "outside [a-z0-9-]"},
      {"--" + r, "instance part starts or ends with '-'"},
      {"-a-" + r, "instance part starts or ends with '-'"},
      {"a--" + r, "instance part starts or ends with '-'"},
      {"sessions/inst-" + r, "outside [a-z0-9-]"},
      {"inst-", "0 characters"},
      {"inst-" + std::string(31, 'a'), "31 characters"},
      {"inst-" + std::string(33, 'a'), "33 characters"},
      {"inst-" + std::string(31, 'a') + "A", "not lowercase hex"},
      {"inst-" + std::string(31, 'a') + "g", "not lowercase hex"},
      {"inst-" + std::string(31, 'a') + "\n", "not lowercase hex"},
      {std::string("inst-") + std::string(31, 'a') + std::string(1, '\0'),
       "not lowercase hex"},
      {std::string(100000, 'x'), "longer than 65"},
  };
  for (const Malformed& c : cases) {
    absl::StatusOr<ParsedSessionId> parsed = ParseSessionId(c.id);
    ASSERT_FALSE(parsed.ok()) << c.id;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << c.id;
    EXPECT_NE(parsed.status().message().find(c.message_part), std::string::npos)
        << "id " << c.id.substr(0, 80) << ": " << parsed.status();
  }
}

TEST(SessionIdTest, MessageEscapesAndTruncatesTheId) {
  absl::StatusOr<ParsedSessionId> parsed =
      ParseSessionId("a\nb-" + std::string(200, 'c'));
  ASSERT_FALSE(parsed.ok());
  const std::string message(parsed.status().message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("a\\nb"), std::string::npos) << message;
  EXPECT_LT(message.size(), 300u) << message;
}

}  // namespace
}  // namespace sam2
