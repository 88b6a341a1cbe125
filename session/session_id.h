// Session ids: unguessable names that also say which server instance made
// them.
//
// Form: "<instance_id>-<random>", where
//   instance_id  1..32 characters, DNS-label-like: lowercase letters,
//                digits and inner dashes, [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?
//                (generated ids are 16 hex digits; an operator may set one
//                by flag, e.g. a Kubernetes pod name such as sam2-0), and
//   random       exactly 32 lowercase hex digits = 128 bits from the kernel
//                CSPRNG.
// The id is the only credential a client needs to reach a session, so the
// random part must be unguessable (128 bits: guessing is hopeless), never a
// counter. Since the instance may contain dashes, an id splits at its last
// dash: the final 33 characters are "-<random>", the rest is the instance.
// The instance part lets a replica that receives another replica's id
// (misrouting, or a restart that lost all sessions) say so instead of a bare
// "not found", and lets session-affine routing pick the replica (the
// x-sam2-session header, client/session_routing.h).
//
// All functions are stateless and thread-safe.

#ifndef SAM2_SESSION_SESSION_ID_H_
#define SAM2_SESSION_SESSION_ID_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// Limits of the id format (see the banner).
inline constexpr int kMaxInstanceIdLength = 32;
inline constexpr int kSessionIdRandomHexLength = 32;  // 16 bytes
inline constexpr int kMaxSessionIdLength =
    kMaxInstanceIdLength + 1 + kSessionIdRandomHexLength;

// A fresh instance id: 16 lowercase hex digits from 8 random bytes.
std::string NewInstanceId();

// OK when `instance_id` may be used as an instance id
// ([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?: 1..32 characters, no leading or
// trailing dash); INVALID_ARGUMENT naming the problem otherwise. For
// validating a flag.
absl::Status ValidateInstanceId(absl::string_view instance_id);

// "<instance_id>-<32 lowercase hex digits from 16 random bytes>".
// `instance_id` must pass ValidateInstanceId (not checked here: the caller
// validated it once at start-up).
std::string NewSessionId(absl::string_view instance_id);

struct ParsedSessionId {
  std::string instance_id;
  std::string random;  // the 32 hex digits
};

// Splits an id of exactly the form above at its last dash (the random part
// is the 32 characters after it); anything else (empty, too long, no dash,
// an instance part that is not a valid instance id, upper-case hex, wrong
// random length) is INVALID_ARGUMENT with a message that says what is
// wrong. The offending id is quoted escaped and truncated, since it comes
// from a client.
absl::StatusOr<ParsedSessionId> ParseSessionId(absl::string_view id);

}  // namespace sam2

#endif  // SAM2_SESSION_SESSION_ID_H_
