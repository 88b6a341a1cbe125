#include "client/loadtest/create_image_scenario.h"

#include "absl/strings/str_cat.h"
#include "client/loadtest/run_stats.h"
#include "client/session_routing.h"

namespace sam2::loadtest {
namespace {

struct CreateCall {
  grpc::ClientContext ctx;
  v1::CreateImageSessionRequest request;
  v1::ImageSession response;
};

struct DeleteCall {
  grpc::ClientContext ctx;
  v1::DeleteSessionRequest request;
  v1::DeleteSessionResponse response;
};

}  // namespace

CreateImageScenario::CreateImageScenario(ScenarioEnv env, std::string image)
    : env_(env), image_(std::move(image)) {}

CreateImageScenario::~CreateImageScenario() {
  // Callbacks reference `this`: never leave with one pending.
  Cleanup();
}

absl::Status CreateImageScenario::Setup() { return absl::OkStatus(); }

void CreateImageScenario::Start(Clock::time_point issued, DoneCallback done) {
  (void)issued;
  auto* call = new CreateCall();
  SetDeadline(&call->ctx, env_.timeout);
  call->request.set_image(image_);
  calls_.Add(&call->ctx);
  env_.channels->Next().async()->CreateImageSession(
      &call->ctx, &call->request, &call->response,
      [this, call, done = std::move(done)](grpc::Status status) {
        calls_.Remove(&call->ctx);
        if (status.ok()) DeleteAsync(call->response.name());
        delete call;
        Outcome outcome;
        outcome.code = status.error_code();
        outcome.message = status.error_message();
        done(std::move(outcome));
      });
}

void CreateImageScenario::DeleteAsync(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pending_deletes_;
  }
  auto* call = new DeleteCall();
  SetDeadline(&call->ctx, env_.setup_timeout);
  AddSessionRoutingHeader(&call->ctx, name);
  call->request.set_name(name);
  env_.channels->Next().async()->DeleteSession(
      &call->ctx, &call->request, &call->response,
      [this, call](grpc::Status status) {
        std::lock_guard<std::mutex> lock(mu_);
        if (status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND) {
          ++deletes_.deleted;
        } else {
          ++deletes_.failed;
          if (deletes_.first_error.empty()) {
            deletes_.first_error = absl::StrCat(
                "DeleteSession ", call->request.name(), ": ",
                status.error_message(), " (",
                GrpcCodeName(status.error_code()), ")");
          }
        }
        delete call;
        if (--pending_deletes_ == 0) deletes_done_.notify_all();
      });
}

CleanupResult CreateImageScenario::Cleanup() {
  std::unique_lock<std::mutex> lock(mu_);
  // Every delete carries a deadline, so this wait ends.
  deletes_done_.wait(lock, [this] { return pending_deletes_ == 0; });
  CleanupResult r = deletes_;
  deletes_ = CleanupResult();
  return r;
}

std::string CreateImageScenario::SetupSummary() const {
  return absl::StrCat("create_image: ", image_.size(),
                      "-byte image, each session deleted after");
}

}  // namespace sam2::loadtest
