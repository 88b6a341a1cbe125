// Session base class: identity, last use, exclusivity. See session.h.

#include "session/session.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sam2 {

absl::string_view SessionKindName(SessionKind kind) {
  switch (kind) {
    case SessionKind::kImage:
      return "image";
    case SessionKind::kVideo:
      return "video";
  }
  return "unknown";
}

Session::Session(SessionKind kind) : kind_(kind) {}

Session::~Session() = default;

absl::Time Session::last_used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_used_;
}

absl::Status Session::BeginExclusive(absl::string_view operation) {
  std::lock_guard<std::mutex> lock(mu_);
  // Removal first: once gone, "busy" is not the interesting answer.
  if (!removed_.ok()) return removed_;
  if (busy_) {
    return absl::AbortedError(absl::StrCat("session is busy: ", operation_));
  }
  busy_ = true;
  operation_ = operation.empty() ? "unnamed operation" : std::string(operation);
  return absl::OkStatus();
}

void Session::EndExclusive() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!busy_) return;
  busy_ = false;
  operation_.clear();
  if (clock_ != nullptr) last_used_ = clock_->Now();
}

bool Session::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

std::string Session::operation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return operation_;
}

bool Session::Attach(std::string id, int worker, absl::Time now, Clock* clock,
                     std::string tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attached_) return false;
  attached_ = true;
  id_ = std::move(id);
  tenant_ = std::move(tenant);
  worker_ = worker;
  create_time_ = now;
  last_used_ = now;
  clock_ = clock;
  return true;
}

bool Session::attached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return attached_;
}

void Session::Touch(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  // Never move backwards (an EndExclusive may have stamped a later time).
  if (now > last_used_) last_used_ = now;
}

bool Session::RetireIfIdle(const absl::Status& why,
                           absl::Time last_used_at_most) {
  std::lock_guard<std::mutex> lock(mu_);
  if (busy_ || last_used_ > last_used_at_most) return false;
  removed_ = why;
  clock_ = nullptr;
  return true;
}

void Session::Retire(const absl::Status& why) {
  std::lock_guard<std::mutex> lock(mu_);
  removed_ = why;
  clock_ = nullptr;
}

void Session::Snapshot(bool* busy, absl::Time* last_used) const {
  std::lock_guard<std::mutex> lock(mu_);
  *busy = busy_;
  *last_used = last_used_;
}

}  // namespace sam2
