// Session and instance id generation and parsing. See session_id.h.
//
// Randomness comes from getrandom(2) with flags 0: the Linux kernel CSPRNG
// (the same source as /dev/urandom), which blocks only until the pool is
// first initialised at boot and never returns predictable bytes after that.
// We call it directly rather than std::random_device because what
// random_device reads is implementation-defined (libstdc++ may pick RDRAND),
// and the id is a bearer credential.

#include "session/session_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/base/internal/raw_logging.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// Fills `buf` from the kernel CSPRNG. getrandom may return fewer bytes or
// fail with EINTR; both are retried. Any other failure means the process
// cannot mint unguessable ids at all: that is a broken host, not a client
// error, so we stop rather than hand out weak credentials.
void FillRandom(unsigned char* buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n = getrandom(buf + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ABSL_RAW_LOG(FATAL, "getrandom failed: %s", std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
}

std::string RandomHex(size_t num_bytes) {
  unsigned char buf[32];
  ABSL_RAW_CHECK(num_bytes <= sizeof(buf), "RandomHex: too many bytes");
  FillRandom(buf, num_bytes);
  // BytesToHexString writes lowercase digits.
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(buf), num_bytes));
}

bool IsInstanceChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// What is wrong with `instance` as an instance id
// ([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?), or "" when nothing is. Shared by the
// flag check and the parser so that the two cannot drift apart.
std::string InstanceIdProblem(absl::string_view instance) {
  if (instance.empty()) return "is empty";
  if (instance.size() > static_cast<size_t>(kMaxInstanceIdLength)) {
    return absl::StrCat("is longer than ", kMaxInstanceIdLength,
                        " characters");
  }
  for (char c : instance) {
    if (!IsInstanceChar(c)) return "has a character outside [a-z0-9-]";
  }
  if (instance.front() == '-' || instance.back() == '-') {
    return "starts or ends with '-'";
  }
  return "";
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// The id as it may appear in a message: escaped (no control characters or
// newlines from a client reach logs) and cut to a sane length.
std::string Quote(absl::string_view id) {
  constexpr size_t kMaxShown = 80;
  std::string shown = absl::CHexEscape(id.substr(0, kMaxShown));
  if (id.size() > kMaxShown) absl::StrAppend(&shown, "...");
  return absl::StrCat("\"", shown, "\"");
}

absl::Status Malformed(absl::string_view id, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "malformed session id ", Quote(id), ": ", why,
      " (expected <instance>-<32 lowercase hex digits>, instance being 1 to ",
      kMaxInstanceIdLength,
      " of [a-z0-9-], neither starting nor ending with '-')"));
}

}  // namespace

std::string NewInstanceId() { return RandomHex(8); }

absl::Status ValidateInstanceId(absl::string_view instance_id) {
  const std::string problem = InstanceIdProblem(instance_id);
  if (problem.empty()) return absl::OkStatus();
  if (instance_id.empty()) {
    return absl::InvalidArgumentError("instance id is empty");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "instance id ", Quote(instance_id), " ", problem,
      " (an instance id is 1 to ", kMaxInstanceIdLength,
      " lowercase letters, digits and inner dashes, like a DNS label)"));
}

std::string NewSessionId(absl::string_view instance_id) {
  return absl::StrCat(instance_id, "-", RandomHex(kSessionIdRandomHexLength / 2));
}

absl::StatusOr<ParsedSessionId> ParseSessionId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("session id is empty");
  if (id.size() > static_cast<size_t>(kMaxSessionIdLength)) {
    return Malformed(id, absl::StrCat("longer than ", kMaxSessionIdLength,
                                      " characters"));
  }
  // The instance may contain dashes, the random part never does: split at
  // the last dash.
  const size_t dash = id.rfind('-');
  if (dash == absl::string_view::npos) return Malformed(id, "no '-'");
  const absl::string_view instance = id.substr(0, dash);
  const absl::string_view random = id.substr(dash + 1);
  if (instance.empty()) return Malformed(id, "empty instance part");
  if (random.size() != static_cast<size_t>(kSessionIdRandomHexLength)) {
    return Malformed(id, absl::StrCat("random part has ", random.size(),
                                      " characters, not ",
                                      kSessionIdRandomHexLength));
  }
  if (const std::string problem = InstanceIdProblem(instance);
      !problem.empty()) {
    return Malformed(id, absl::StrCat("instance part ", problem));
  }
  for (char c : random) {
    if (!IsLowerHex(c)) {
      return Malformed(id, "random part is not lowercase hex");
    }
  }
  return ParsedSessionId{std::string(instance), std::string(random)};
}

}  // namespace sam2
