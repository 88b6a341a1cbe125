// Status conversion between Abseil and gRPC: the single place where an
// absl::Status becomes the grpc::Status a client sees (DESIGN.md: "exactly one
// function maps a status to a gRPC status"), its inverse for the client
// library, and the canonical upper-case code names used as metrics labels.
//
// Every code is mapped explicitly rather than by casting: absl and gRPC share
// the numbers today, but a cast would silently pass through codes that are not
// canonical, and the service promises never to answer UNKNOWN — a bug or a
// model failure must read INTERNAL. Stateless; safe from any thread.

#ifndef SAM2_SERVER_STATUS_UTIL_H_
#define SAM2_SERVER_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// absl → gRPC, message kept. Each canonical code maps to the gRPC code of the
// same name, except absl::StatusCode::kUnknown and any non-canonical code,
// which become INTERNAL (never UNKNOWN). Payloads are not carried.
grpc::Status ToGrpcStatus(const absl::Status& status);

// gRPC → absl, message kept (client side). Each canonical code maps to the
// absl code of the same name; UNKNOWN stays kUnknown (a peer may send it) and
// a non-canonical code becomes kUnknown. An OK status drops any message.
// grpc::Status::error_details() is not carried.
absl::Status FromGrpcStatus(const grpc::Status& status);

// absl → the HTTP status the HTTP side answers with (the mapping Google's
// APIs publish for gRPC codes over HTTP): OK 200, INVALID_ARGUMENT /
// FAILED_PRECONDITION / OUT_OF_RANGE 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, ABORTED / ALREADY_EXISTS 409,
// RESOURCE_EXHAUSTED 429, CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504; everything else (INTERNAL, UNKNOWN, DATA_LOSS,
// non-canonical) 500.
int HttpStatusOf(absl::StatusCode code);

// "OK", "CANCELLED", "INVALID_ARGUMENT", ... — the canonical name, stable for
// metrics labels. A non-canonical code is named "UNKNOWN" so a label is never
// empty. The view points at static storage.
absl::string_view StatusCodeName(absl::StatusCode code);

}  // namespace sam2

#endif  // SAM2_SERVER_STATUS_UTIL_H_
