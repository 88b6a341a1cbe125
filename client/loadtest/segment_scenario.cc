#include "client/loadtest/segment_scenario.h"

#include "absl/strings/str_cat.h"
#include "client/session_routing.h"

namespace sam2::loadtest {
namespace {

struct SegmentCall {
  grpc::ClientContext ctx;
  v1::SegmentRequest request;
  v1::SegmentResponse response;
};

}  // namespace

SegmentScenario::SegmentScenario(ScenarioEnv env, std::string image,
                                 int sessions)
    : env_(env), image_(std::move(image)), sessions_(sessions), rng_(env.seed) {}

absl::Status SegmentScenario::Setup() {
  v1::CreateImageSessionRequest request;
  request.set_image(image_);
  for (int i = 0; i < sessions_; ++i) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, env_.setup_timeout);
    v1::ImageSession session;
    grpc::Status s =
        env_.channels->Next().CreateImageSession(&ctx, request, &session);
    if (!s.ok()) {
      return SetupError(absl::StrCat("segment setup: CreateImageSession ",
                                     i + 1, " of ", sessions_),
                        s);
    }
    names_.push_back(session.name());
    targets_.push_back({session.name(), session.width(), session.height()});
  }
  return absl::OkStatus();
}

void SegmentScenario::Start(Clock::time_point issued, DoneCallback done) {
  (void)issued;
  const Target& target =
      targets_[next_.fetch_add(1, std::memory_order_relaxed) % targets_.size()];
  auto* call = new SegmentCall();
  SetDeadline(&call->ctx, env_.timeout);
  AddSessionRoutingHeader(&call->ctx, target.name);
  call->request.set_session(target.name);
  call->request.set_mask_format(env_.mask_format);
  v1::Point* p = call->request.add_points();
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    // Pixel centres, strictly inside the image.
    p->set_x(static_cast<float>(
        std::uniform_int_distribution<int>(0, target.width - 1)(rng_) + 0.5));
    p->set_y(static_cast<float>(
        std::uniform_int_distribution<int>(0, target.height - 1)(rng_) + 0.5));
  }
  p->set_label(1);
  calls_.Add(&call->ctx);
  env_.channels->Next().async()->Segment(
      &call->ctx, &call->request, &call->response,
      [this, call, done = std::move(done)](grpc::Status status) {
        calls_.Remove(&call->ctx);
        delete call;
        Outcome outcome;
        outcome.code = status.error_code();
        outcome.message = status.error_message();
        done(std::move(outcome));
      });
}

CleanupResult SegmentScenario::Cleanup() {
  CleanupResult r = DeleteSessions(*env_.channels, names_, env_.setup_timeout);
  names_.clear();
  targets_.clear();
  return r;
}

std::string SegmentScenario::SetupSummary() const {
  if (targets_.empty()) return "segment: no sessions";
  return absl::StrCat("segment: ", targets_.size(), " image sessions of ",
                      targets_[0].width, "x", targets_[0].height);
}

}  // namespace sam2::loadtest
