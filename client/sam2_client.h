// Sam2Client: the C++ client library of the sam2.v1 service
// (protos/sam2/v1/sam2.proto) — a small layer over the generated stub that
// adds what every caller would otherwise rewrite:
//   - one channel per client, plaintext or TLS (ClientOptions::credentials,
//     TlsCredentials; mutual TLS with a client certificate), with the
//     message size limits set;
//   - a bearer token on every call when ClientOptions::bearer_token is set
//     (`authorization: Bearer <token>`, client/channel_security.h);
//   - a deadline on every call (ClientOptions::timeout for unary calls,
//     stream_timeout for the video upload and propagation streams);
//   - retries of UNAVAILABLE (server draining, connection refused) with
//     exponential backoff and jitter, and of nothing else: every other code
//     is returned at once. A stream is retried only while no response
//     message has arrived (an upload is sent again from its first byte);
//   - results as absl::StatusOr with the server's code and message
//     (FromGrpcStatus, server/status_util.h);
//   - the video upload streamed in chunks from a file (or from memory, or
//     frame by frame) with a progress callback, and propagation as a
//     callback loop or as a range-for over the streamed frames;
//   - DecodeMask / EncodeMaskRle between v1::Mask and cv::Mat;
//   - the routing header: every call on an existing session carries its
//     name as `x-sam2-session` metadata (client/session_routing.h), so that
//     a session-affine proxy in front of several replicas (deploy/proxy)
//     sends it to the replica that holds the session; GetServerInfo and the
//     calls that create a session carry none.
//
// Example:
//   ClientOptions options;
//   options.address = "localhost:50051";
//   absl::StatusOr<std::unique_ptr<Sam2Client>> client =
//       Sam2Client::Connect(options);
//   absl::StatusOr<v1::ImageSession> image =
//   (*client)->CreateImageSession(jpeg); ScopedSession session(client->get(),
//   image->name());  // deleted at exit SegmentPrompt prompt;
//   prompt.points.push_back(MakePoint(120, 80));
//   absl::StatusOr<v1::SegmentResponse> r =
//       (*client)->Segment(session.name(), prompt);
//   absl::StatusOr<cv::Mat> mask = DecodeMask(r->prompts(0).masks(0));
//
//   PropagateStream stream = (*client)->PropagateFrames(request);
//   for (const v1::PropagateVideoResponse& frame : stream) {
//     if (enough) break;                  // the call is cancelled
//   }
//   absl::Status s = stream.status();     // CANCELLED after a break
//
// Sessions are server state: each name is valid on the replica that issued
// it until it is deleted or expires (NOT_FOUND afterwards). Behind the
// session-affine proxy, a session whose replica is gone is NOT_FOUND too
// ("the session's replica is gone").
//
// Thread-safety: Sam2Client is thread-safe — every method may be called
// concurrently from any thread (the gRPC channel and stub are thread-safe;
// the client's own mutable state is an atomic counter and a mutex-guarded
// random generator). A PropagateStream and a ScopedSession belong to one
// thread, except PropagateStream::Cancel, callable from any thread. Both
// must not outlive the client that made them. The free functions are
// stateless.

#ifndef SAM2_CLIENT_SAM2_CLIENT_H_
#define SAM2_CLIENT_SAM2_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/channel_security.h"
#include "client/session_routing.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"

namespace sam2 {

// Default size of one video_chunk message of an upload.
inline constexpr int64_t kDefaultUploadChunkBytes = int64_t{1} << 20;

// Called before every attempt of every call: the RPC's name ("Segment",
// "CreateVideoSession", ...) and the attempt number (1 = the first try).
// Runs on the calling thread; must be thread-safe when the client is shared.
using AttemptObserver =
    std::function<void(absl::string_view method, int attempt)>;

struct ClientOptions {
  // A gRPC target: "host:port", "dns:///host:port", "unix:/path", ...
  std::string address;

  // Deadline of a unary call, every attempt and backoff included.
  absl::Duration timeout = absl::Seconds(60);
  // Deadline of the streaming calls (CreateVideoSession uploads,
  // PropagateVideo): they last as long as the video.
  absl::Duration stream_timeout = absl::Minutes(30);

  // Retries after UNAVAILABLE (so at most max_retries + 1 attempts); no
  // other code is retried. The delay before retry k (1, 2, ...) is
  // initial_backoff * backoff_multiplier^(k-1), capped at max_backoff, times
  // a random factor in [1 - backoff_jitter, 1 + backoff_jitter]. No retry
  // starts after the call's deadline.
  int max_retries = 3;
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  double backoff_multiplier = 2.0;
  double backoff_jitter = 0.2;

  // Largest message sent or received (the server's own limit is reported
  // by GetServerInfo: limits.max_message_bytes).
  int64_t max_message_bytes = int64_t{64} << 20;

  // Channel credentials; null = plaintext (insecure). TlsCredentials
  // (client/channel_security.h) makes TLS ones, with a client certificate
  // for mutual TLS.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // With TLS: the name the server's certificate must carry when it is not
  // the address's host (e.g. connecting by IP to a certificate for a DNS
  // name); empty: the host.
  std::string tls_server_name;
  // Sent on every call as `authorization: Bearer <token>` (printable ASCII
  // without spaces, 16 to 512 characters); empty: none. Without TLS it
  // travels in clear: loopback or a trusted network only.
  std::string bearer_token;
  // Extra channel arguments (keepalive, reconnect backoff, ...). The
  // client sets its message limits over them and turns gRPC's built-in
  // retries off (it retries itself).
  grpc::ChannelArguments channel_args;

  // Sees every attempt (tests, logging); may be empty.
  AttemptObserver attempt_observer;
};

// The delay before retry number `retry` (1 = the first retry) under
// `options`, with `unit_random` in [0, 1) choosing the jitter factor
// (0 -> 1 - backoff_jitter, 0.5 -> 1, 1 -> 1 + backoff_jitter).
absl::Duration RetryBackoff(const ClientOptions& options, int retry,
                            double unit_random);

// A click / a box, for SegmentPrompt and AddPromptsRequest.
v1::Point MakePoint(float x, float y, int label = 1);
v1::Box MakeBox(float x0, float y0, float x1, float y1);

// The prompts of one Segment call (v1::SegmentRequest without the session).
struct SegmentPrompt {
  std::vector<v1::Point> points;
  std::vector<v1::Box> boxes;
  std::optional<v1::MaskInput> mask_input;
  // Unset: the server's default (three candidates, as the reference).
  std::optional<bool> multimask_output;
  v1::MaskFormat mask_format = v1::MASK_FORMAT_RLE;
};

// How a video is uploaded.
struct VideoUploadOptions {
  v1::VideoSessionConfig config;
  // Bytes per video_chunk message (files and in-memory videos).
  int64_t chunk_bytes = kDefaultUploadChunkBytes;
  // Called after each message is handed to gRPC with the bytes sent so far
  // and the bytes to send (video bytes, or encoded frame bytes), and once
  // with (0, total) before the first. A retried upload starts again at 0.
  std::function<void(int64_t bytes_sent, int64_t bytes_total)> on_progress;
};

class Sam2Client;

// The frames of one PropagateVideo call, read one at a time (Next) or with
// a range-for. The call starts on the first read. Leaving the loop early
// (or calling Cancel, or destroying the stream) cancels the call on the
// server within a frame; the frames already received stay tracked and the
// session stays usable (the server may need a moment to release it: a call
// made at once can get ABORTED).
//
// status() after the end: OK when every frame arrived, the server's error
// otherwise, CANCELLED when the caller stopped early. Retries UNAVAILABLE
// only before the first frame. Movable, not copyable; iterators and the
// reference they yield are invalidated by the next read and by a move.
class PropagateStream {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = v1::PropagateVideoResponse;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    Iterator() = default;  // the end
    reference operator*() const;
    pointer operator->() const { return &**this; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const {
      return stream_ == other.stream_;
    }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    friend class PropagateStream;
    explicit Iterator(PropagateStream* stream) : stream_(stream) {}
    PropagateStream* stream_ = nullptr;  // null at the end
  };

  PropagateStream(PropagateStream&&) noexcept;
  PropagateStream& operator=(PropagateStream&&) noexcept;
  PropagateStream(const PropagateStream&) = delete;
  PropagateStream& operator=(const PropagateStream&) = delete;
  // Cancels the call if it has not ended.
  ~PropagateStream();

  // Reads the next frame into *frame: false at the end of the stream (see
  // status()).
  bool Next(v1::PropagateVideoResponse* frame);

  // Reads the next frame (the first one, in a range-for) and points at it.
  Iterator begin();
  Iterator end() { return Iterator(); }

  // The outcome. When the stream has not ended, cancels it first (the
  // caller left the loop early) and reports CANCELLED.
  absl::Status status();

  // Cancels the call (thread-safe; the stream then ends with CANCELLED).
  void Cancel();

  // Frames received so far.
  int64_t frames_received() const;

 private:
  friend class Sam2Client;
  struct State;
  explicit PropagateStream(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

class Sam2Client {
 public:
  // Checks `options` (INVALID_ARGUMENT naming a bad one) and creates the
  // channel. Connecting is lazy: an unreachable server shows up as
  // UNAVAILABLE on the first call.
  static absl::StatusOr<std::unique_ptr<Sam2Client>> Connect(
      ClientOptions options);

  Sam2Client(const Sam2Client&) = delete;
  Sam2Client& operator=(const Sam2Client&) = delete;

  const ClientOptions& options() const { return options_; }
  // RPC attempts made so far by this client, all methods and retries.
  int64_t attempts() const { return attempts_.load(); }

  absl::StatusOr<v1::ServerInfo> GetServerInfo();

  // --- Image sessions --------------------------------------------------
  // JPEG or PNG file bytes; the image is embedded once, on the server.
  absl::StatusOr<v1::ImageSession> CreateImageSession(
      absl::string_view image_bytes);
  absl::StatusOr<v1::SegmentResponse> Segment(absl::string_view session,
                                              const SegmentPrompt& prompt);
  absl::StatusOr<v1::SegmentResponse> Segment(
      const v1::SegmentRequest& request);
  absl::StatusOr<v1::GenerateMasksResponse> GenerateMasks(
      const v1::GenerateMasksRequest& request);
  absl::StatusOr<v1::ImageSession> GetImageSession(absl::string_view name);

  // --- Video sessions --------------------------------------------------
  // Streams a video file (MP4, AVI, ... as the server's FFmpeg reads it)
  // from disk in options.chunk_bytes pieces. NOT_FOUND when `path` cannot
  // be read (no call is made).
  absl::StatusOr<v1::VideoSession> CreateVideoSessionFromFile(
      const std::string& path, const VideoUploadOptions& options = {});
  // The same from a video file's bytes in memory.
  absl::StatusOr<v1::VideoSession> CreateVideoSessionFromBytes(
      absl::string_view video_bytes, const VideoUploadOptions& options = {});
  // Encoded frames (JPEG or PNG), one message each, in order. An empty list
  // creates an empty session for AppendFrames.
  absl::StatusOr<v1::VideoSession> CreateVideoSessionFromFrames(
      const std::vector<std::string>& encoded_frames,
      const VideoUploadOptions& options = {});
  absl::StatusOr<v1::VideoSession> AppendFrames(
      absl::string_view session,
      const std::vector<std::string>& encoded_frames);
  absl::StatusOr<v1::FrameMasks> AddPrompts(
      const v1::AddPromptsRequest& request);

  // Propagation as a callback loop: `on_frame` sees every frame in order;
  // a non-OK return cancels the call and is returned. Otherwise the
  // stream's status.
  using FrameCallback =
      std::function<absl::Status(const v1::PropagateVideoResponse& frame)>;
  absl::Status Propagate(const v1::PropagateVideoRequest& request,
                         const FrameCallback& on_frame);
  // Propagation as a stream (see PropagateStream).
  PropagateStream PropagateFrames(const v1::PropagateVideoRequest& request);

  absl::StatusOr<v1::FrameMasks> ClearPrompts(
      absl::string_view session, int32_t frame_index, int64_t object_id,
      v1::MaskFormat mask_format = v1::MASK_FORMAT_RLE);
  absl::StatusOr<v1::RemoveObjectResponse> RemoveObject(
      absl::string_view session, int64_t object_id,
      v1::MaskFormat mask_format = v1::MASK_FORMAT_RLE);
  absl::StatusOr<v1::VideoSession> ResetVideoSession(absl::string_view session);
  absl::StatusOr<v1::VideoSession> GetVideoSession(absl::string_view name);

  // --- Both ------------------------------------------------------------
  absl::Status DeleteSession(absl::string_view name);

 private:
  friend class PropagateStream;

  explicit Sam2Client(ClientOptions options);

  // Counts the attempt and tells the observer.
  void NoteAttempt(absl::string_view method, int attempt);
  // After a failed attempt number `attempt` with `status`: whether to try
  // again before `deadline` (sleeps the backoff first when so).
  bool BackOffBeforeRetry(const absl::Status& status, int attempt,
                          absl::Time deadline);
  // A unary call with deadline and retries: `invoke(context, response)`
  // makes one attempt. `session`: the session the call names, sent as the
  // routing header (empty: none).
  template <typename Response, typename Invoke>
  absl::StatusOr<Response> CallUnary(absl::string_view method,
                                     absl::string_view session,
                                     const Invoke& invoke);
  // One upload with retries; `send_parts(write)` writes every message after
  // the config and returns a local error (unreadable file) or OK; `write`
  // returns false once the stream is broken.
  using PartWriter = std::function<bool(const v1::CreateVideoSessionRequest&,
                                        int64_t payload_bytes)>;
  using PartSource = std::function<absl::Status(const PartWriter& write)>;
  absl::StatusOr<v1::VideoSession> Upload(const VideoUploadOptions& options,
                                          int64_t total_bytes,
                                          const PartSource& send_parts);

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Sam2Service::Stub> stub_;
  std::atomic<int64_t> attempts_{0};
  absl::Mutex rng_mu_;
  absl::BitGen rng_ ABSL_GUARDED_BY(rng_mu_);
};

// Deletes a session when it goes out of scope (best effort: a session that
// already expired is no error). The client must outlive it. Movable.
class ScopedSession {
 public:
  ScopedSession() = default;
  ScopedSession(Sam2Client* client, std::string name);
  ScopedSession(ScopedSession&& other) noexcept;
  ScopedSession& operator=(ScopedSession&& other) noexcept;
  ~ScopedSession();

  const std::string& name() const { return name_; }
  // Keeps the session on the server; returns its name.
  std::string Release();
  // Deletes it now: DeleteSession's status, OK when there is no session or
  // the server no longer has it (NOT_FOUND).
  absl::Status Delete();

 private:
  Sam2Client* client_ = nullptr;
  std::string name_;
};

// A v1::Mask as an image: RLE and PNG masks -> CV_8UC1 with 255 inside and
// 0 outside; logits -> CV_32FC1 (the raw values). `height` x `width` is the
// result's size. INVALID_ARGUMENT for malformed data (counts that do not
// cover the mask, an undecodable PNG or one of another size, a logits
// buffer of the wrong length, no data).
absl::StatusOr<cv::Mat> DecodeMask(const v1::Mask& mask);

// A binary mask (CV_8UC1, nonzero inside) as a COCO RLE v1::Mask, e.g. for
// AddPromptsRequest.mask. INVALID_ARGUMENT for another type or an empty
// image.
absl::StatusOr<v1::Mask> EncodeMaskRle(const cv::Mat& mask);

}  // namespace sam2

#endif  // SAM2_CLIENT_SAM2_CLIENT_H_
