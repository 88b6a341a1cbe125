// POST /api/v1/video/propagate: video propagation for the web page, as a
// streamed response of newline-delimited JSON (application/x-ndjson), one
// line per tracked frame as the worker produces it:
//   {"frame": {frame_index, objects: [...]}, "frames_done": n,
//    "frames_total": N}
// then one last line: {"done": true, "frames_done": N}, or {"error":
// {code, message}} when a frame failed (the session stays usable, as with
// gRPC's PropagateVideo).
// Request: {session, start_frame, max_frames, direction: "forward" (the
// default), "backward" or "both"}. A request that fails before the first
// frame (unknown session, busy, no prompts, bad fields) gets an ordinary
// JSON error with HttpStatusOf's status instead of a stream.
//
// Like the gRPC stream, it holds the session's exclusivity from the first
// frame to the last (other operations get ABORTED, 409), runs one worker
// task per frame, and computes the next frame only once the previous one was
// written to the client (one frame buffered at most). A client that goes
// away (the page's cancel button aborts the fetch) is seen before the next
// frame: the stream stops within one frame. Streams are capped at
// WebApiOptions::max_streams at once (429 beyond), so that they never hold
// every HTTP worker.
//
// Thread-safety: the stream runs on the HTTP worker thread that serves the
// request; model work runs on the session's worker.

#ifndef SAM2_SERVER_WEB_PROPAGATE_H_
#define SAM2_SERVER_WEB_PROPAGATE_H_

#include "server/http_server.h"
#include "server/web_api.h"

namespace sam2 {

inline constexpr char kNdjsonContentType[] = "application/x-ndjson";

HttpRoute WebPropagateRoute(const WebApiOptions& options);

}  // namespace sam2

#endif  // SAM2_SERVER_WEB_PROPAGATE_H_
