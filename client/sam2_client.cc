// Sam2Client: see the header.

#include "client/sam2_client.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "model/rle.h"
#include "server/status_util.h"

namespace sam2 {
namespace {

// UNAVAILABLE after retries says how hard the client tried.
absl::Status GiveUp(const absl::Status& status, int attempts) {
  if (status.code() != absl::StatusCode::kUnavailable || attempts <= 1) {
    return status;
  }
  return absl::Status(status.code(), absl::StrCat(status.message(), " (after ",
                                                  attempts, " attempts)"));
}

absl::Status CheckOptions(const ClientOptions& o) {
  if (o.address.empty()) {
    return absl::InvalidArgumentError("ClientOptions.address is empty");
  }
  if (o.timeout <= absl::ZeroDuration() ||
      o.stream_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ClientOptions.timeout and stream_timeout must be positive");
  }
  if (o.max_retries < 0) {
    return absl::InvalidArgumentError("ClientOptions.max_retries must be >= 0");
  }
  if (o.initial_backoff < absl::ZeroDuration() ||
      o.max_backoff < absl::ZeroDuration() || !(o.backoff_multiplier >= 1.0) ||
      !(o.backoff_jitter >= 0.0 && o.backoff_jitter <= 1.0)) {
    return absl::InvalidArgumentError(
        "ClientOptions: backoffs must be >= 0, backoff_multiplier >= 1 and "
        "backoff_jitter in [0, 1]");
  }
  if (o.max_message_bytes <= 0 || o.max_message_bytes > INT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClientOptions.max_message_bytes must be in [1, ", INT_MAX, "]"));
  }
  if (!o.bearer_token.empty()) {
    if (absl::Status s =
            CheckBearerToken(o.bearer_token, "ClientOptions.bearer_token");
        !s.ok()) {
      return s;
    }
  }
  if (!o.tls_server_name.empty() && o.credentials == nullptr) {
    return absl::InvalidArgumentError(
        "ClientOptions.tls_server_name needs TLS credentials");
  }
  return absl::OkStatus();
}

// Little-endian float32 at `p`, whatever the host's byte order.
float LoadFloatLe(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  const uint32_t bits =
      static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
      static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

}  // namespace

absl::Duration RetryBackoff(const ClientOptions& options, int retry,
                            double unit_random) {
  absl::Duration d = options.initial_backoff;
  for (int i = 1; i < retry && d < options.max_backoff; ++i) {
    d *= options.backoff_multiplier;
  }
  d = std::min(d, options.max_backoff);
  const double u = std::clamp(unit_random, 0.0, 1.0);
  return d * (1.0 - options.backoff_jitter + 2.0 * options.backoff_jitter * u);
}

v1::Point MakePoint(float x, float y, int label) {
  v1::Point p;
  p.set_x(x);
  p.set_y(y);
  p.set_label(label);
  return p;
}

v1::Box MakeBox(float x0, float y0, float x1, float y1) {
  v1::Box b;
  b.set_x0(x0);
  b.set_y0(y0);
  b.set_x1(x1);
  b.set_y1(y1);
  return b;
}

// ---------------------------------------------------------------------------
// PropagateStream

struct PropagateStream::State {
  Sam2Client* client = nullptr;
  v1::PropagateVideoRequest request;
  absl::Time deadline;
  int attempt = 0;
  int64_t received = 0;
  bool finished = false;
  absl::Status status;
  // The frame the iterators point at.
  v1::PropagateVideoResponse current;
  std::unique_ptr<grpc::ClientReader<v1::PropagateVideoResponse>> reader;

  absl::Mutex mu;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  // The attempt in progress; replaced (under mu) only while no reader uses
  // it, so Cancel may reach it from another thread.
  std::unique_ptr<grpc::ClientContext> context ABSL_GUARDED_BY(mu);

  bool IsCancelled() {
    absl::MutexLock lock(&mu);
    return cancelled;
  }

  // The status of a stream the caller stopped: what the call ended with
  // (OK when the server had already sent everything), CANCELLED said
  // plainly otherwise.
  absl::Status Stopped(const absl::Status& finish) const {
    if (finish.ok() || finish.code() != absl::StatusCode::kCancelled) {
      return finish;
    }
    return absl::CancelledError(
        absl::StrCat("the propagation was stopped by the client after ",
                     received, " frame", received == 1 ? "" : "s"));
  }
};

PropagateStream::PropagateStream(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
PropagateStream::PropagateStream(PropagateStream&&) noexcept = default;

PropagateStream& PropagateStream::operator=(PropagateStream&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr && !state_->finished) status().IgnoreError();
    state_ = std::move(other.state_);
  }
  return *this;
}

PropagateStream::~PropagateStream() {
  if (state_ != nullptr && !state_->finished) status().IgnoreError();
}

bool PropagateStream::Next(v1::PropagateVideoResponse* frame) {
  State& s = *state_;
  if (s.finished) return false;
  while (true) {
    if (s.reader == nullptr) {
      ++s.attempt;
      s.client->NoteAttempt("PropagateVideo", s.attempt);
      auto context = std::make_unique<grpc::ClientContext>();
      context->set_deadline(absl::ToChronoTime(s.deadline));
      AddSessionRoutingHeader(context.get(), s.request.session());
      {
        absl::MutexLock lock(&s.mu);
        if (s.cancelled) {
          s.finished = true;
          s.status = s.Stopped(absl::CancelledError());
          return false;
        }
        s.context = std::move(context);
      }
      s.reader = s.client->stub_->PropagateVideo(s.context.get(), s.request);
    }
    if (s.reader->Read(frame)) {
      ++s.received;
      return true;
    }
    const absl::Status status = FromGrpcStatus(s.reader->Finish());
    s.reader.reset();
    if (s.received == 0 && !s.IsCancelled() &&
        s.client->BackOffBeforeRetry(status, s.attempt, s.deadline)) {
      continue;
    }
    s.finished = true;
    s.status = s.IsCancelled() ? s.Stopped(status) : GiveUp(status, s.attempt);
    return false;
  }
}

PropagateStream::Iterator PropagateStream::begin() {
  return Next(&state_->current) ? Iterator(this) : Iterator();
}

const v1::PropagateVideoResponse& PropagateStream::Iterator::operator*() const {
  return stream_->state_->current;
}

PropagateStream::Iterator& PropagateStream::Iterator::operator++() {
  if (!stream_->Next(&stream_->state_->current)) stream_ = nullptr;
  return *this;
}

absl::Status PropagateStream::status() {
  State& s = *state_;
  if (!s.finished) {
    Cancel();
    absl::Status finish = absl::CancelledError();
    if (s.reader != nullptr) {
      finish = FromGrpcStatus(s.reader->Finish());
      s.reader.reset();
    }
    s.finished = true;
    s.status = s.Stopped(finish);
  }
  return s.status;
}

void PropagateStream::Cancel() {
  absl::MutexLock lock(&state_->mu);
  state_->cancelled = true;
  if (state_->context != nullptr) state_->context->TryCancel();
}

int64_t PropagateStream::frames_received() const { return state_->received; }

// ---------------------------------------------------------------------------
// Sam2Client

absl::StatusOr<std::unique_ptr<Sam2Client>> Sam2Client::Connect(
    ClientOptions options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  return std::unique_ptr<Sam2Client>(new Sam2Client(std::move(options)));
}

Sam2Client::Sam2Client(ClientOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args = options_.channel_args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options_.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options_.max_message_bytes));
  // Retries are ours (counted, UNAVAILABLE only), not a service config's.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetUserAgentPrefix("sam2-client");
  if (!options_.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options_.tls_server_name);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      options_.credentials != nullptr ? options_.credentials
                                      : grpc::InsecureChannelCredentials();
  channel_ = CreateChannelWithToken(options_.address, credentials, args,
                                    options_.bearer_token);
  stub_ = v1::Sam2Service::NewStub(channel_);
}

void Sam2Client::NoteAttempt(absl::string_view method, int attempt) {
  attempts_.fetch_add(1);
  if (options_.attempt_observer) options_.attempt_observer(method, attempt);
}

bool Sam2Client::BackOffBeforeRetry(const absl::Status& status, int attempt,
                                    absl::Time deadline) {
  if (status.code() != absl::StatusCode::kUnavailable ||
      attempt > options_.max_retries) {
    return false;
  }
  double u;
  {
    absl::MutexLock lock(&rng_mu_);
    u = absl::Uniform(rng_, 0.0, 1.0);
  }
  const absl::Duration delay = RetryBackoff(options_, attempt, u);
  if (absl::Now() + delay >= deadline) return false;
  absl::SleepFor(delay);
  return true;
}

template <typename Response, typename Invoke>
absl::StatusOr<Response> Sam2Client::CallUnary(absl::string_view method,
                                               absl::string_view session,
                                               const Invoke& invoke) {
  const absl::Time deadline = absl::Now() + options_.timeout;
  for (int attempt = 1;; ++attempt) {
    NoteAttempt(method, attempt);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    AddSessionRoutingHeader(&context, session);
    Response response;
    const grpc::Status status = invoke(&context, &response);
    if (status.ok()) return response;
    const absl::Status s = FromGrpcStatus(status);
    if (!BackOffBeforeRetry(s, attempt, deadline)) return GiveUp(s, attempt);
  }
}

absl::StatusOr<v1::ServerInfo> Sam2Client::GetServerInfo() {
  const v1::GetServerInfoRequest request;
  return CallUnary<v1::ServerInfo>(
      "GetServerInfo", /*session=*/"",
      [&](grpc::ClientContext* c, v1::ServerInfo* r) {
        return stub_->GetServerInfo(c, request, r);
      });
}

absl::StatusOr<v1::ImageSession> Sam2Client::CreateImageSession(
    absl::string_view image_bytes) {
  v1::CreateImageSessionRequest request;
  request.set_image(std::string(image_bytes));
  return CallUnary<v1::ImageSession>(
      "CreateImageSession", /*session=*/"",
      [&](grpc::ClientContext* c, v1::ImageSession* r) {
        return stub_->CreateImageSession(c, request, r);
      });
}

absl::StatusOr<v1::SegmentResponse> Sam2Client::Segment(
    absl::string_view session, const SegmentPrompt& prompt) {
  v1::SegmentRequest request;
  request.set_session(std::string(session));
  for (const v1::Point& p : prompt.points) *request.add_points() = p;
  for (const v1::Box& b : prompt.boxes) *request.add_boxes() = b;
  if (prompt.mask_input) *request.mutable_mask_input() = *prompt.mask_input;
  if (prompt.multimask_output) {
    request.set_multimask_output(*prompt.multimask_output);
  }
  request.set_mask_format(prompt.mask_format);
  return Segment(request);
}

absl::StatusOr<v1::SegmentResponse> Sam2Client::Segment(
    const v1::SegmentRequest& request) {
  return CallUnary<v1::SegmentResponse>(
      "Segment", request.session(),
      [&](grpc::ClientContext* c, v1::SegmentResponse* r) {
        return stub_->Segment(c, request, r);
      });
}

absl::StatusOr<v1::GenerateMasksResponse> Sam2Client::GenerateMasks(
    const v1::GenerateMasksRequest& request) {
  return CallUnary<v1::GenerateMasksResponse>(
      "GenerateMasks", request.session(),
      [&](grpc::ClientContext* c, v1::GenerateMasksResponse* r) {
        return stub_->GenerateMasks(c, request, r);
      });
}

absl::StatusOr<v1::ImageSession> Sam2Client::GetImageSession(
    absl::string_view name) {
  v1::GetSessionRequest request;
  request.set_name(std::string(name));
  return CallUnary<v1::ImageSession>(
      "GetImageSession", name,
      [&](grpc::ClientContext* c, v1::ImageSession* r) {
        return stub_->GetImageSession(c, request, r);
      });
}

absl::StatusOr<v1::VideoSession> Sam2Client::Upload(
    const VideoUploadOptions& options, int64_t total_bytes,
    const PartSource& send_parts) {
  const absl::Time deadline = absl::Now() + options_.stream_timeout;
  v1::CreateVideoSessionRequest config;
  *config.mutable_config() = options.config;
  for (int attempt = 1;; ++attempt) {
    NoteAttempt("CreateVideoSession", attempt);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    v1::VideoSession response;
    std::unique_ptr<grpc::ClientWriter<v1::CreateVideoSessionRequest>> writer =
        stub_->CreateVideoSession(&context, &response);
    if (options.on_progress) options.on_progress(0, total_bytes);
    int64_t sent = 0;
    bool open = writer->Write(config);
    absl::Status local = absl::OkStatus();
    if (open) {
      local = send_parts([&](const v1::CreateVideoSessionRequest& message,
                             int64_t payload_bytes) {
        if (!writer->Write(message)) {
          open = false;
          return false;
        }
        sent += payload_bytes;
        if (options.on_progress) options.on_progress(sent, total_bytes);
        return true;
      });
    }
    if (!local.ok()) {
      context.TryCancel();
      writer->Finish();  // the outcome is the local error
      return local;
    }
    if (open) writer->WritesDone();
    const grpc::Status status = writer->Finish();
    if (status.ok()) return response;
    const absl::Status s = FromGrpcStatus(status);
    if (!BackOffBeforeRetry(s, attempt, deadline)) return GiveUp(s, attempt);
  }
}

absl::StatusOr<v1::VideoSession> Sam2Client::CreateVideoSessionFromFile(
    const std::string& path, const VideoUploadOptions& options) {
  if (options.chunk_bytes <= 0 ||
      options.chunk_bytes > options_.max_message_bytes - 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_bytes must be in [1, max_message_bytes - 1024], not ",
        options.chunk_bytes));
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || !std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the video file ", path));
  }
  const int64_t total = static_cast<int64_t>(size);
  return Upload(options, total, [&](const PartWriter& write) -> absl::Status {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read the video file ", path));
    }
    v1::CreateVideoSessionRequest message;
    for (int64_t done = 0; done < total;) {
      const int64_t n = std::min(options.chunk_bytes, total - done);
      std::string* chunk = message.mutable_video_chunk();
      chunk->resize(static_cast<size_t>(n));
      if (!in.read(chunk->data(), n)) {
        return absl::DataLossError(
            absl::StrCat("cannot read the video file ", path, " at byte ", done,
                         " (did it change during the upload?)"));
      }
      if (!write(message, n)) return absl::OkStatus();
      done += n;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::VideoSession> Sam2Client::CreateVideoSessionFromBytes(
    absl::string_view video_bytes, const VideoUploadOptions& options) {
  if (options.chunk_bytes <= 0 ||
      options.chunk_bytes > options_.max_message_bytes - 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_bytes must be in [1, max_message_bytes - 1024], not ",
        options.chunk_bytes));
  }
  const int64_t total = static_cast<int64_t>(video_bytes.size());
  return Upload(options, total, [&](const PartWriter& write) {
    v1::CreateVideoSessionRequest message;
    for (int64_t done = 0; done < total;) {
      const int64_t n = std::min(options.chunk_bytes, total - done);
      message.set_video_chunk(std::string(video_bytes.substr(done, n)));
      if (!write(message, n)) break;
      done += n;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::VideoSession> Sam2Client::CreateVideoSessionFromFrames(
    const std::vector<std::string>& encoded_frames,
    const VideoUploadOptions& options) {
  int64_t total = 0;
  for (const std::string& f : encoded_frames) {
    total += static_cast<int64_t>(f.size());
  }
  return Upload(options, total, [&](const PartWriter& write) {
    v1::CreateVideoSessionRequest message;
    for (const std::string& f : encoded_frames) {
      message.set_frame(f);
      if (!write(message, static_cast<int64_t>(f.size()))) break;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::VideoSession> Sam2Client::AppendFrames(
    absl::string_view session, const std::vector<std::string>& encoded_frames) {
  v1::AppendFramesRequest request;
  request.set_session(std::string(session));
  for (const std::string& f : encoded_frames) request.add_frames(f);
  return CallUnary<v1::VideoSession>(
      "AppendFrames", session,
      [&](grpc::ClientContext* c, v1::VideoSession* r) {
        return stub_->AppendFrames(c, request, r);
      });
}

absl::StatusOr<v1::FrameMasks> Sam2Client::AddPrompts(
    const v1::AddPromptsRequest& request) {
  return CallUnary<v1::FrameMasks>(
      "AddPrompts", request.session(),
      [&](grpc::ClientContext* c, v1::FrameMasks* r) {
        return stub_->AddPrompts(c, request, r);
      });
}

PropagateStream Sam2Client::PropagateFrames(
    const v1::PropagateVideoRequest& request) {
  auto state = std::make_unique<PropagateStream::State>();
  state->client = this;
  state->request = request;
  state->deadline = absl::Now() + options_.stream_timeout;
  return PropagateStream(std::move(state));
}

absl::Status Sam2Client::Propagate(const v1::PropagateVideoRequest& request,
                                   const FrameCallback& on_frame) {
  PropagateStream stream = PropagateFrames(request);
  v1::PropagateVideoResponse frame;
  while (stream.Next(&frame)) {
    if (absl::Status s = on_frame(frame); !s.ok()) {
      stream.Cancel();
      stream.status().IgnoreError();
      return s;
    }
  }
  return stream.status();
}

absl::StatusOr<v1::FrameMasks> Sam2Client::ClearPrompts(
    absl::string_view session, int32_t frame_index, int64_t object_id,
    v1::MaskFormat mask_format) {
  v1::ClearPromptsRequest request;
  request.set_session(std::string(session));
  request.set_frame_index(frame_index);
  request.set_object_id(object_id);
  request.set_mask_format(mask_format);
  return CallUnary<v1::FrameMasks>(
      "ClearPrompts", session, [&](grpc::ClientContext* c, v1::FrameMasks* r) {
        return stub_->ClearPrompts(c, request, r);
      });
}

absl::StatusOr<v1::RemoveObjectResponse> Sam2Client::RemoveObject(
    absl::string_view session, int64_t object_id, v1::MaskFormat mask_format) {
  v1::RemoveObjectRequest request;
  request.set_session(std::string(session));
  request.set_object_id(object_id);
  request.set_mask_format(mask_format);
  return CallUnary<v1::RemoveObjectResponse>(
      "RemoveObject", session,
      [&](grpc::ClientContext* c, v1::RemoveObjectResponse* r) {
        return stub_->RemoveObject(c, request, r);
      });
}

absl::StatusOr<v1::VideoSession> Sam2Client::ResetVideoSession(
    absl::string_view session) {
  v1::ResetVideoSessionRequest request;
  request.set_session(std::string(session));
  return CallUnary<v1::VideoSession>(
      "ResetVideoSession", session,
      [&](grpc::ClientContext* c, v1::VideoSession* r) {
        return stub_->ResetVideoSession(c, request, r);
      });
}

absl::StatusOr<v1::VideoSession> Sam2Client::GetVideoSession(
    absl::string_view name) {
  v1::GetSessionRequest request;
  request.set_name(std::string(name));
  return CallUnary<v1::VideoSession>(
      "GetVideoSession", name,
      [&](grpc::ClientContext* c, v1::VideoSession* r) {
        return stub_->GetVideoSession(c, request, r);
      });
}

absl::Status Sam2Client::DeleteSession(absl::string_view name) {
  v1::DeleteSessionRequest request;
  request.set_name(std::string(name));
  return CallUnary<v1::DeleteSessionResponse>(
             "DeleteSession", name,
             [&](grpc::ClientContext* c, v1::DeleteSessionResponse* r) {
               return stub_->DeleteSession(c, request, r);
             })
      .status();
}

// ---------------------------------------------------------------------------
// ScopedSession

ScopedSession::ScopedSession(Sam2Client* client, std::string name)
    : client_(client), name_(std::move(name)) {}

ScopedSession::ScopedSession(ScopedSession&& other) noexcept
    : client_(other.client_), name_(other.Release()) {}

ScopedSession& ScopedSession::operator=(ScopedSession&& other) noexcept {
  if (this != &other) {
    Delete().IgnoreError();
    client_ = other.client_;
    name_ = other.Release();
  }
  return *this;
}

ScopedSession::~ScopedSession() { Delete().IgnoreError(); }

std::string ScopedSession::Release() {
  std::string name = std::move(name_);
  name_.clear();
  return name;
}

absl::Status ScopedSession::Delete() {
  if (client_ == nullptr || name_.empty()) return absl::OkStatus();
  absl::Status s = client_->DeleteSession(Release());
  return s.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : s;
}

// ---------------------------------------------------------------------------
// Masks

absl::StatusOr<cv::Mat> DecodeMask(const v1::Mask& mask) {
  const int64_t h = mask.height();
  const int64_t w = mask.width();
  if (h < 0 || w < 0 || h > kMaxRleSide || w > kMaxRleSide) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a mask of %dx%d pixels", w, h));
  }
  const int rows = static_cast<int>(h);
  const int cols = static_cast<int>(w);
  switch (mask.data_case()) {
    case v1::Mask::kRleCounts: {
      absl::StatusOr<Rle> rle = DecodeCocoCounts(mask.rle_counts(), h, w);
      if (!rle.ok()) return rle.status();
      // Runs over the column-major pixels = rows of the transposed mask.
      cv::Mat transposed = cv::Mat::zeros(cols, rows, CV_8UC1);
      uint8_t* p = transposed.data;
      bool inside = false;
      for (int64_t run : rle->counts) {
        if (inside) std::memset(p, 255, static_cast<size_t>(run));
        p += run;
        inside = !inside;
      }
      cv::Mat out;
      cv::transpose(transposed, out);
      return out;
    }
    case v1::Mask::kPng: {
      const std::string& png = mask.png();
      cv::Mat decoded;
      try {
        decoded = cv::imdecode(cv::Mat(1, static_cast<int>(png.size()), CV_8UC1,
                                       const_cast<char*>(png.data())),
                               cv::IMREAD_GRAYSCALE);
      } catch (const cv::Exception& e) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot decode the mask PNG: ", e.what()));
      }
      if (decoded.empty()) {
        return absl::InvalidArgumentError("cannot decode the mask PNG");
      }
      if (decoded.rows != rows || decoded.cols != cols) {
        return absl::InvalidArgumentError(
            absl::StrFormat("the mask PNG is %dx%d, the mask says %dx%d",
                            decoded.cols, decoded.rows, w, h));
      }
      cv::Mat out;
      cv::compare(decoded, 0, out, cv::CMP_NE);  // 255 inside
      return out;
    }
    case v1::Mask::kLogits: {
      const std::string& bytes = mask.logits();
      if (static_cast<int64_t>(bytes.size()) != h * w * 4) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%d bytes of logits for a %dx%d mask (expected %d)",
                            bytes.size(), w, h, h * w * 4));
      }
      cv::Mat out(rows, cols, CV_32FC1);
      float* dst = out.ptr<float>();
      for (int64_t i = 0; i < h * w; ++i) dst[i] = LoadFloatLe(&bytes[4 * i]);
      return out;
    }
    case v1::Mask::DATA_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("the mask has no data");
}

absl::StatusOr<v1::Mask> EncodeMaskRle(const cv::Mat& mask) {
  if (mask.empty() || mask.type() != CV_8UC1) {
    return absl::InvalidArgumentError(
        "a mask to encode must be a non-empty 8-bit single-channel image");
  }
  cv::Mat transposed;
  cv::transpose(mask, transposed);  // rows = the original's columns
  Rle rle;
  rle.height = mask.rows;
  rle.width = mask.cols;
  bool inside = false;
  int64_t run = 0;
  for (int r = 0; r < transposed.rows; ++r) {
    const uint8_t* row = transposed.ptr<uint8_t>(r);
    for (int c = 0; c < transposed.cols; ++c) {
      if ((row[c] != 0) != inside) {
        rle.counts.push_back(run);
        run = 0;
        inside = !inside;
      }
      ++run;
    }
  }
  rle.counts.push_back(run);
  v1::Mask out;
  out.set_height(mask.rows);
  out.set_width(mask.cols);
  out.set_rle_counts(EncodeCocoCounts(rle));
  return out;
}

}  // namespace sam2
