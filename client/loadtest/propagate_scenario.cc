#include "client/loadtest/propagate_scenario.h"

#include "absl/strings/str_cat.h"
#include "client/session_routing.h"

namespace sam2::loadtest {

// One PropagateVideo stream; deletes itself in OnDone.
class PropagateScenario::Call
    : public grpc::ClientReadReactor<v1::PropagateVideoResponse> {
 public:
  Call(PropagateScenario* owner, std::string session, Clock::time_point issued,
       DoneCallback done)
      : owner_(owner),
        session_(std::move(session)),
        issued_(issued),
        done_(std::move(done)) {}

  void Go() {
    SetDeadline(&ctx_, owner_->env_.timeout);
    AddSessionRoutingHeader(&ctx_, session_);
    request_.set_session(session_);
    request_.set_direction(v1::DIRECTION_FORWARD);
    request_.set_mask_format(owner_->env_.mask_format);
    if (owner_->max_frames_ > 0) request_.set_max_frames(owner_->max_frames_);
    owner_->calls_.Add(&ctx_);
    owner_->env_.channels->Next().async()->PropagateVideo(&ctx_, &request_,
                                                          this);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the status
    const Clock::time_point now = Clock::now();
    if (outcome_.frames == 0) {
      outcome_.first_frame_ms = MillisBetween(issued_, now);
    } else {
      outcome_.inter_frame_ms.push_back(MillisBetween(last_frame_, now));
    }
    ++outcome_.frames;
    last_frame_ = now;
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    owner_->calls_.Remove(&ctx_);
    outcome_.code = status.error_code();
    outcome_.message = status.error_message();
    // The session goes back before the driver hears of the end, so that
    // Cleanup (after the last `done`) finds every session free.
    owner_->Release(session_);
    DoneCallback done = std::move(done_);
    Outcome outcome = std::move(outcome_);
    delete this;
    done(std::move(outcome));
  }

 private:
  PropagateScenario* const owner_;
  const std::string session_;
  const Clock::time_point issued_;
  DoneCallback done_;
  grpc::ClientContext ctx_;
  v1::PropagateVideoRequest request_;
  v1::PropagateVideoResponse response_;
  Outcome outcome_;
  Clock::time_point last_frame_;
};

PropagateScenario::PropagateScenario(ScenarioEnv env,
                                     std::vector<std::string> frames,
                                     int sessions, int max_frames)
    : env_(env),
      frames_(std::move(frames)),
      sessions_(sessions),
      max_frames_(max_frames) {}

absl::Status PropagateScenario::SetUpOne(int index) {
  const std::string what =
      absl::StrCat("propagate setup: video session ", index + 1, " of ",
                   sessions_);
  v1::VideoSession session;
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, env_.setup_timeout);
    std::unique_ptr<grpc::ClientWriter<v1::CreateVideoSessionRequest>> writer =
        env_.channels->Next().CreateVideoSession(&ctx, &session);
    v1::CreateVideoSessionRequest message;
    message.mutable_config();
    bool open = writer->Write(message);
    for (size_t i = 0; open && i < frames_.size(); ++i) {
      message.set_frame(frames_[i]);
      open = writer->Write(message);
    }
    if (open) writer->WritesDone();
    const grpc::Status s = writer->Finish();
    if (!s.ok()) return SetupError(absl::StrCat(what, ": upload"), s);
  }
  names_.push_back(session.name());
  width_ = session.width();
  height_ = session.height();

  grpc::ClientContext ctx;
  SetDeadline(&ctx, env_.setup_timeout);
  AddSessionRoutingHeader(&ctx, session.name());
  v1::AddPromptsRequest request;
  request.set_session(session.name());
  request.set_frame_index(0);
  request.set_object_id(1);
  v1::Point* p = request.add_points();
  p->set_x(static_cast<float>(session.width()) / 2);
  p->set_y(static_cast<float>(session.height()) / 2);
  p->set_label(1);
  v1::FrameMasks masks;
  const grpc::Status s =
      env_.channels->Next().AddPrompts(&ctx, request, &masks);
  if (!s.ok()) return SetupError(absl::StrCat(what, ": AddPrompts"), s);
  return absl::OkStatus();
}

absl::Status PropagateScenario::Setup() {
  for (int i = 0; i < sessions_; ++i) {
    if (absl::Status s = SetUpOne(i); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  free_ = names_;
  return absl::OkStatus();
}

void PropagateScenario::Start(Clock::time_point issued, DoneCallback done) {
  std::string session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) {
      waiters_.push_back({issued, std::move(done)});
      return;
    }
    session = std::move(free_.back());
    free_.pop_back();
  }
  Launch(session, issued, std::move(done));
}

void PropagateScenario::Launch(const std::string& session,
                               Clock::time_point issued, DoneCallback done) {
  (new Call(this, session, issued, std::move(done)))->Go();
}

void PropagateScenario::Release(const std::string& session) {
  Waiter next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (waiters_.empty()) {
      free_.push_back(session);
      return;
    }
    next = std::move(waiters_.front());
    waiters_.pop_front();
  }
  Launch(session, next.issued, std::move(next.done));
}

void PropagateScenario::CancelAll() {
  std::deque<Waiter> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting.swap(waiters_);
  }
  for (Waiter& w : waiting) {
    Outcome outcome;
    outcome.code = grpc::StatusCode::CANCELLED;
    outcome.message = "cancelled while waiting for a free video session";
    w.done(std::move(outcome));
  }
  calls_.CancelAll();
}

CleanupResult PropagateScenario::Cleanup() {
  CleanupResult r = DeleteSessions(*env_.channels, names_, env_.setup_timeout);
  names_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  free_.clear();
  return r;
}

std::string PropagateScenario::SetupSummary() const {
  return absl::StrCat("propagate: ", names_.size(), " video sessions of ",
                      frames_.size(), " frames ", width_, "x", height_,
                      ", one object clicked on frame 0",
                      max_frames_ > 0 ? absl::StrCat(", max_frames=", max_frames_)
                                      : std::string());
}

}  // namespace sam2::loadtest
