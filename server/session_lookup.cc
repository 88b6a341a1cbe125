// Typed session lookups. See session_lookup.h.

#include "server/session_lookup.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

template <typename S>
absl::StatusOr<std::shared_ptr<S>> LookupAs(SessionStore& store,
                                            absl::string_view id,
                                            absl::string_view tenant,
                                            absl::string_view is,
                                            absl::string_view wanted) {
  absl::StatusOr<std::shared_ptr<Session>> found = store.Lookup(id, tenant);
  if (!found.ok()) return found.status();
  std::shared_ptr<S> typed = std::dynamic_pointer_cast<S>(*found);
  if (typed == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", id, " is ", is, " session, not ", wanted, " one"));
  }
  return typed;
}

}  // namespace

absl::StatusOr<std::shared_ptr<ImageSession>> LookupImageSession(
    SessionStore& store, absl::string_view id, absl::string_view tenant) {
  return LookupAs<ImageSession>(store, id, tenant, "a video", "an image");
}

absl::StatusOr<std::shared_ptr<VideoSession>> LookupVideoSession(
    SessionStore& store, absl::string_view id, absl::string_view tenant) {
  return LookupAs<VideoSession>(store, id, tenant, "an image", "a video");
}

}  // namespace sam2
