#include "client/loadtest/scenario.h"

#include "absl/strings/str_cat.h"
#include "client/loadtest/run_stats.h"
#include "client/session_routing.h"

namespace sam2::loadtest {

void CleanupResult::Add(const CleanupResult& other) {
  deleted += other.deleted;
  failed += other.failed;
  if (first_error.empty()) first_error = other.first_error;
}

void CallTracker::Add(grpc::ClientContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.insert(ctx);
}

void CallTracker::Remove(grpc::ClientContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(ctx);
}

void CallTracker::CancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (grpc::ClientContext* ctx : live_) ctx->TryCancel();
}

size_t CallTracker::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.size();
}

void SetDeadline(grpc::ClientContext* ctx, absl::Duration timeout) {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(timeout));
}

CleanupResult DeleteSessions(ChannelPool& channels,
                             const std::vector<std::string>& names,
                             absl::Duration timeout) {
  CleanupResult result;
  for (const std::string& name : names) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, timeout);
    AddSessionRoutingHeader(&ctx, name);
    v1::DeleteSessionRequest request;
    request.set_name(name);
    v1::DeleteSessionResponse response;
    const grpc::Status s = channels.Next().DeleteSession(&ctx, request, &response);
    if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) {
      ++result.deleted;
    } else {
      ++result.failed;
      if (result.first_error.empty()) {
        result.first_error = absl::StrCat(
            "DeleteSession ", name, ": ", s.error_message(), " (",
            GrpcCodeName(s.error_code()), ")");
      }
    }
  }
  return result;
}

absl::Status SetupError(absl::string_view what, const grpc::Status& status) {
  // gRPC and Abseil number their codes alike.
  return absl::Status(
      static_cast<absl::StatusCode>(status.error_code()),
      absl::StrCat(what, " failed: ", status.error_message(), " (",
                   GrpcCodeName(status.error_code()), ")"));
}

}  // namespace sam2::loadtest
