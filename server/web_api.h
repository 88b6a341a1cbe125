// The web annotation page's JSON API on the HTTP side (/api/v1/...): the
// same image and video sessions as the gRPC API — same store, limits, TTLs,
// byte budget, workers and status codes — for a browser, which cannot speak
// gRPC. The page itself is served by web_ui.h.
//
// Routes (POST unless said; JSON bodies and answers unless said; a session
// is named by the id the create call returned, "session" in the body):
//   GET  /api/v1/info            the server's GetServerInfo as JSON
//   /api/v1/image/create         body: a JPEG/PNG file (Content-Type image/*)
//                                → {session, height, width, expire_time}
//   /api/v1/image/segment        {session, points: [[x, y]...], point_labels,
//                                boxes: [[x0, y0, x1, y1]...], multimask_output,
//                                mask_input: {result_id, mask_index}}
//                                → {result_id, masks: [RLE...], scores}
//   /api/v1/image/generate       {session, automatic: {points_per_side...}}
//                                → {annotations: [COCO records]}
//   /api/v1/video/create         body: a video file (Content-Type video/* or
//                                application/octet-stream), or JSON {} (a
//                                frames session, filled by append)
//                                → the video's info (below)
//   /api/v1/video/append         body: one JPEG/PNG frame; header
//                                X-Sam2-Session → info
//   GET  /api/v1/video/frame?session=ID&index=N  frame N as JPEG, at the
//                                video's size (to show a video file the
//                                browser cannot decode)
//   /api/v1/video/get            {session} → {session, num_frames, height,
//                                width, object_ids, expire_time}
//   /api/v1/video/prompts        {session, frame_index, object_id, points,
//                                point_labels, box, clear_old_points}
//                                → {frame_index, objects: [{object_id, mask,
//                                object_score}]}
//   /api/v1/video/clear          {session, frame_index, object_id} → frame
//   /api/v1/video/remove_object  {session, object_id} → {object_ids,
//                                updated_frames}
//   /api/v1/video/reset          {session} → info
//   /api/v1/video/propagate      {session, start_frame, max_frames,
//                                direction: forward|backward|both}
//                                → NDJSON stream (web_propagate.h)
//   /api/v1/session/delete       {session} → {}
// Masks are COCO RLE {"size": [h, w], "counts": "..."}. Errors: the HTTP
// status of HttpStatusOf with {"error": {"code", "message"}}.
//
// Limits: image bodies as the server's (32 MiB, the gRPC message limit); a
// video file upload up to min(max_video_upload_bytes, kWebMaxVideoFileBytes)
// within kWebUploadTimeout (the body is held in memory while it arrives, so
// it has a cap of its own; larger videos go through gRPC's streamed
// upload); every model task must start within kWebTaskTimeout of the
// request. At most kWebMaxCalls requests (all routes but the stream and
// info together) and kWebMaxStreams streams run at once, 429 beyond: the
// server gives the HTTP side that many threads more than /metrics and
// /ping need, so the API can never take theirs.
//
// Thread-safety: handlers run on HTTP worker threads, possibly concurrently,
// and block on the session's model worker. Everything in WebApiOptions must
// outlive the routes.

#ifndef SAM2_SERVER_WEB_API_H_
#define SAM2_SERVER_WEB_API_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "model/sam2_model.h"
#include "model/video_predictor.h"
#include "server/worker_model.h"
#include "server/http_server.h"
#include "server/sam2_service.h"
#include "server/service_metrics.h"
#include "server/tenant_admission.h"
#include "server/worker_pool.h"
#include "session/embedding_cache.h"
#include "session/session_store.h"

namespace sam2 {

// Largest video file one HTTP upload may carry (also capped by
// ServiceLimits::max_video_upload_bytes). The body is in memory while it
// arrives and is written to the upload file (up to twice this, per upload;
// kWebMaxCalls uploads at once).
inline constexpr int64_t kWebMaxVideoFileBytes = int64_t{256} << 20;
// Time for a whole video upload to arrive.
inline constexpr absl::Duration kWebUploadTimeout = absl::Minutes(10);
// A request's model task must leave the worker's queue within this.
inline constexpr absl::Duration kWebTaskTimeout = absl::Seconds(120);
// Propagation streams served at once (each holds an HTTP worker thread).
inline constexpr int kWebMaxStreams = 2;
// The other /api/v1 requests served at once, all routes together (each
// holds an HTTP worker thread while its model work runs).
inline constexpr int kWebMaxCalls = 2;

struct WebApiOptions {
  // By worker index, as Sam2ServiceOptions::workers.
  WorkerModels workers;
  SessionStore* store = nullptr;              // not owned
  WorkerPool* pool = nullptr;                 // not owned
  ServiceMetrics* metrics = nullptr;          // not owned; may be null
  EmbeddingCache* embedding_cache = nullptr;  // not owned; may be null
  // Bearer tokens and tenants (not owned; null: none). With them every
  // route but /api/v1/info admits the caller as the gRPC service does
  // (tenant_admission.h): 401 without a valid token, sessions are the
  // tenant's, its quotas apply.
  Authenticator* authenticator = nullptr;
  TenantInFlight* tenant_in_flight = nullptr;  // may be null: not counted
  ServiceLimits limits;
  // True while the server drains: no new sessions (UNAVAILABLE, 503).
  std::function<bool()> draining;
  // GET /api/v1/info's body (the ServerInfo message as JSON).
  std::string info_json = "{}";
  int max_streams = kWebMaxStreams;
  int max_calls = kWebMaxCalls;
  int64_t max_video_file_bytes = kWebMaxVideoFileBytes;
  absl::Duration upload_timeout = kWebUploadTimeout;
  absl::Duration task_timeout = kWebTaskTimeout;
};

// Every /api/v1/... route.
std::vector<HttpRoute> WebApiRoutes(const WebApiOptions& options);

}  // namespace sam2

#endif  // SAM2_SERVER_WEB_API_H_
