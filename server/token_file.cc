// The bearer-token file's parser and the constant-time lookup. See
// token_file.h for the format.

#include "server/token_file.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sam2 {
namespace {

constexpr absl::string_view kSha256Prefix = "sha256:";
constexpr int64_t kMaxQuota = int64_t{1} << 40;

bool ValidTenantName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxTenantNameBytes) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool ValidRawToken(absl::string_view token) {
  if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes) {
    return false;
  }
  for (char c : token) {
    if (!absl::ascii_isgraph(c)) return false;
  }
  return true;
}

// The digest a token field stands for; the error never quotes the field.
absl::StatusOr<TokenDigest> DigestOfField(absl::string_view field) {
  if (absl::ConsumePrefix(&field, kSha256Prefix)) {
    TokenDigest digest;
    if (field.size() != 2 * digest.size()) {
      return absl::InvalidArgumentError(
          "a sha256: token needs exactly 64 hex digits");
    }
    for (size_t i = 0; i < digest.size(); ++i) {
      int value = 0;
      for (char c : field.substr(2 * i, 2)) {
        if (!absl::ascii_isxdigit(c)) {
          return absl::InvalidArgumentError(
              "a sha256: token needs exactly 64 hex digits");
        }
        value = value * 16 + (absl::ascii_isdigit(c)
                                  ? c - '0'
                                  : absl::ascii_tolower(c) - 'a' + 10);
      }
      digest[i] = static_cast<unsigned char>(value);
    }
    return digest;
  }
  if (!ValidRawToken(field)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the token must be ", kMinTokenBytes, " to ", kMaxTokenBytes,
        " printable ASCII characters (or sha256:<64 hex digits>)"));
  }
  return Sha256Of(field);
}

// Never quotes the field: a token pasted into the wrong column must not
// reach a log.
absl::Status ParseQuota(absl::string_view field, TenantQuotas& quotas) {
  const std::pair<absl::string_view, absl::string_view> kv =
      absl::StrSplit(field, absl::MaxSplits('=', 1));
  int64_t* target = kv.first == "max_sessions"     ? &quotas.max_sessions
                    : kv.first == "max_session_mb" ? &quotas.max_session_bytes
                    : kv.first == "max_in_flight"  ? &quotas.max_in_flight
                                                   : nullptr;
  if (target == nullptr) {
    return absl::InvalidArgumentError(
        "after the token only quotas may follow: max_sessions=N, "
        "max_session_mb=N, max_in_flight=N");
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(kv.second, &value) || value < 0 || value > kMaxQuota) {
    return absl::InvalidArgumentError(absl::StrCat(
        kv.first, " needs a whole number >= 0"));
  }
  *target = kv.first == "max_session_mb" ? value << 20 : value;
  return absl::OkStatus();
}

}  // namespace

TokenDigest Sha256Of(absl::string_view data) {
  TokenDigest digest;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest.data());
  return digest;
}

bool DigestsEqual(const TokenDigest& a, const TokenDigest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text,
                                             const TenantQuotas& defaults) {
  TokenTable table;
  absl::flat_hash_map<std::string, int> name_line;
  std::vector<int> lines;  // lines[i]: where tenants_[i] was defined
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const auto fail = [line_number](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", why));
    };
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    // A comment starts with a field that starts with '#' (a token may hold
    // a '#' of its own).
    for (size_t i = 0; i < fields.size(); ++i) {
      if (absl::StartsWith(fields[i], "#")) {
        fields.resize(i);
        break;
      }
    }
    if (fields.empty()) continue;
    if (fields.size() < 2) {
      return fail("expected 'tenant token [quota=N ...]'");
    }
    if (!ValidTenantName(fields[0])) {
      return fail(absl::StrCat("a tenant name is 1 to ", kMaxTenantNameBytes,
                               " of [A-Za-z0-9_.-]"));
    }
    Tenant tenant{std::string(fields[0]), defaults};
    if (auto it = name_line.find(tenant.name); it != name_line.end()) {
      return fail(absl::StrCat("tenant '", tenant.name,
                               "' was already defined on line ", it->second));
    }
    absl::StatusOr<TokenDigest> digest = DigestOfField(fields[1]);
    if (!digest.ok()) return fail(digest.status().message());
    for (size_t i = 0; i < table.digests_.size(); ++i) {
      if (DigestsEqual(table.digests_[i], *digest)) {
        return fail(absl::StrCat("tenant '", tenant.name,
                                 "' has the same token as tenant '",
                                 table.tenants_[i].name, "' (line ", lines[i],
                                 ")"));
      }
    }
    for (size_t i = 2; i < fields.size(); ++i) {
      if (absl::Status s = ParseQuota(fields[i], tenant.quotas); !s.ok()) {
        return fail(s.message());
      }
    }
    name_line[tenant.name] = line_number;
    lines.push_back(line_number);
    table.tenants_.push_back(std::move(tenant));
    table.digests_.push_back(*digest);
  }
  if (table.tenants_.empty()) {
    return absl::InvalidArgumentError("the token file names no tenant");
  }
  return table;
}

const Tenant* TokenTable::Find(absl::string_view token) const {
  const TokenDigest digest = Sha256Of(token);
  const Tenant* found = nullptr;
  for (size_t i = 0; i < digests_.size(); ++i) {
    if (DigestsEqual(digests_[i], digest)) found = &tenants_[i];
  }
  return found;
}

absl::StatusOr<TokenTable> ReadTokenFile(const std::string& path,
                                         const TenantQuotas& defaults) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read the token file ",
                                            path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text.str(), defaults);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file ", path, ": ", table.status().message()));
  }
  return table;
}

}  // namespace sam2
