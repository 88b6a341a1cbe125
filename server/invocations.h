// SageMaker-style inference on the HTTP side: `POST /invocations`, the route
// a SageMaker hosted endpoint's container serves (with `GET /ping`, which the
// HTTP side already has).
//
// Requests:
//   - `application/json`: {"image": "<base64 JPEG/PNG>", "points": [[x, y],
//     ...], "point_labels": [1, 0, ...], "boxes": [[x0, y0, x1, y1], ...],
//     "multimask_output": true, "automatic": {"points_per_side": 32, ...},
//     "close_session": false}. Points/boxes → masks of those prompts as COCO
//     RLE + scores ("predictions", one per prompt set, as Segment); no
//     prompts → automatic masks ("annotations", as GenerateMasks).
//   - `image/jpeg`, `image/png` (or `application/x-image`): the body is the
//     image; automatic masks with the default options.
// Stateful sessions as SageMaker defines them (header
// `X-Amzn-SageMaker-Session-Id`):
//   - `NEW_SESSION` with an image: the image is embedded once and kept; the
//     response carries `X-Amzn-SageMaker-New-Session-Id: <id>; Expires=<UTC
//     time>`. With no prompts the request only creates the session.
//   - `<id>`: later requests prompt the kept embedding (no "image" then).
//   - `<id>` with {"close_session": true}: the session is deleted; the
//     response carries `X-Amzn-SageMaker-Closed-Session-Id: <id>`.
//   Without the header the request is stateless (embedded, answered, freed).
// Sessions are the service's image sessions: same store, TTLs, byte budget
// and workers as the gRPC API's, so the two APIs share capacity.
//
// Limits: the body ≤ 6 MB (SageMaker's; 413 beyond); each request must
// finish within 60 s (SageMaker's): work still queued then never runs and
// automatic masks stop between decoder batches, both answered 504. Errors are
// JSON {"error": {"code": "INVALID_ARGUMENT", "message": "..."}} with the
// HTTP status of HttpStatusOf; an unsupported content type is 415.
//
// Thread-safety: the route's handler runs on HTTP worker threads, possibly
// concurrently; it blocks on the session's model worker for the model work.
// Everything in InvocationsOptions must outlive the route.

#ifndef SAM2_SERVER_INVOCATIONS_H_
#define SAM2_SERVER_INVOCATIONS_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "model/sam2_model.h"
#include "server/worker_model.h"
#include "server/http_server.h"
#include "server/service_metrics.h"
#include "server/tenant_admission.h"
#include "server/worker_pool.h"
#include "session/image_session.h"
#include "session/session_store.h"

namespace sam2 {

// SageMaker's limits for a real-time endpoint: a 6 MB payload, a response
// within 60 s.
inline constexpr int64_t kInvocationsMaxBodyBytes = 6'000'000;
inline constexpr absl::Duration kInvocationsTimeout = absl::Seconds(60);

struct InvocationsOptions {
  // By worker index, as Sam2ServiceOptions::workers.
  WorkerModels workers;
  SessionStore* store = nullptr;
  WorkerPool* pool = nullptr;
  ServiceMetrics* metrics = nullptr;  // may be null
  EmbeddingCache* embedding_cache = nullptr;  // may be null
  // Bearer tokens and tenants (not owned; null: none): as the web API
  // (web_api.h), a caller without a valid token gets 401 and sessions are
  // its tenant's.
  Authenticator* authenticator = nullptr;
  TenantInFlight* tenant_in_flight = nullptr;  // may be null: not counted
  ImageSessionLimits limits;
  // True while the server drains: no new sessions (UNAVAILABLE, 503).
  std::function<bool()> draining;
  int64_t max_body_bytes = kInvocationsMaxBodyBytes;
  absl::Duration timeout = kInvocationsTimeout;
};

// The `POST /invocations` route.
HttpRoute InvocationsRoute(InvocationsOptions options);

}  // namespace sam2

#endif  // SAM2_SERVER_INVOCATIONS_H_
