// Typed session lookups shared by the transports (the gRPC service, the
// HTTP side's /invocations and web API): a store lookup, then the session's
// kind checked, so that each transport reports a wrong kind the same way.
//
// Thread-safety: as SessionStore (thread-safe).

#ifndef SAM2_SERVER_SESSION_LOOKUP_H_
#define SAM2_SERVER_SESSION_LOOKUP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "session/image_session.h"
#include "session/session_store.h"
#include "session/video_session.h"

namespace sam2 {

// SessionStore::Lookup's errors (for `tenant`, the caller's: another
// tenant's session is "no session X"); FAILED_PRECONDITION "session X is a
// video session, not an image one" for the other kind.
absl::StatusOr<std::shared_ptr<ImageSession>> LookupImageSession(
    SessionStore& store, absl::string_view id, absl::string_view tenant);

// As LookupImageSession, for video sessions.
absl::StatusOr<std::shared_ptr<VideoSession>> LookupVideoSession(
    SessionStore& store, absl::string_view id, absl::string_view tenant);

}  // namespace sam2

#endif  // SAM2_SERVER_SESSION_LOOKUP_H_
