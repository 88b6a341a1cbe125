// Authenticator: the token table, its reloading, and the bearer check. See
// authenticator.h.

#include "server/authenticator.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sam2 {

Authenticator::Authenticator(AuthOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    AuthOptions options) {
  if (options.token_file.empty()) {
    return absl::InvalidArgumentError("Authenticator needs a token file");
  }
  std::unique_ptr<Authenticator> auth(new Authenticator(std::move(options)));
  {
    std::lock_guard<std::mutex> reload(auth->reload_mu_);
    absl::StatusOr<FileVersion> version = auth->Stat();
    if (!version.ok()) return version.status();
    absl::StatusOr<TokenTable> table = ReadTokenFile(
        auth->options_.token_file, auth->options_.default_quotas);
    if (!table.ok()) return table.status();
    auth->seen_ = *version;
    std::lock_guard<std::mutex> lock(auth->mu_);
    auth->table_ = std::make_shared<const TokenTable>(*std::move(table));
  }
  if (auth->options_.reload_interval > absl::ZeroDuration()) {
    Authenticator* self = auth.get();
    auth->poller_ = std::thread([self] { self->Poll(); });
  }
  return auth;
}

Authenticator::~Authenticator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

void Authenticator::Poll() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto interval = absl::ToChronoMilliseconds(options_.reload_interval);
  while (!stop_cv_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    ReloadIfChanged().IgnoreError();  // logged there
    lock.lock();
  }
}

absl::StatusOr<Authenticator::FileVersion> Authenticator::Stat() const {
  struct stat st;
  if (stat(options_.token_file.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read the token file ",
                                            options_.token_file, ": ",
                                            std::strerror(errno)));
  }
  FileVersion v;
  v.inode = st.st_ino;
  v.device = st.st_dev;
  v.size = st.st_size;
  v.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return v;
}

absl::Status Authenticator::ReloadIfChanged() {
  std::lock_guard<std::mutex> reload(reload_mu_);
  absl::StatusOr<FileVersion> version = Stat();
  absl::Status status = version.status();
  if (status.ok()) {
    if (*version == seen_) return absl::OkStatus();
    seen_ = *version;
    absl::StatusOr<TokenTable> table =
        ReadTokenFile(options_.token_file, options_.default_quotas);
    if (table.ok()) {
      auto shared = std::make_shared<const TokenTable>(*std::move(table));
      std::lock_guard<std::mutex> lock(mu_);
      table_ = std::move(shared);
      std::cerr << "sam2_server: token file " << options_.token_file
                << " reloaded (" << table_->tenants().size() << " tenants)\n";
      return absl::OkStatus();
    }
    status = table.status();
  } else if (seen_.size < 0) {
    return status;  // still missing: logged already
  } else {
    seen_ = FileVersion{};
  }
  std::cerr << "sam2_server: keeping the previous tokens: " << status.message()
            << "\n";
  return status;
}

absl::StatusOr<Tenant> Authenticator::Authenticate(
    const std::string* authorization) {
  if (authorization == nullptr || authorization->empty()) {
    missing_.fetch_add(1, std::memory_order_relaxed);
    return absl::UnauthenticatedError(
        "missing bearer token: send the metadata/header 'authorization: "
        "Bearer <token>'");
  }
  absl::string_view value = *authorization;
  // RFC 6750: the scheme is case-insensitive, one or more spaces follow.
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    return absl::UnauthenticatedError(
        "the authorization must be 'Bearer <token>'");
  }
  const absl::string_view token =
      absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  std::shared_ptr<const TokenTable> table;
  {
    std::lock_guard<std::mutex> lock(mu_);
    table = table_;
  }
  const Tenant* tenant = table->Find(token);
  if (tenant == nullptr) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    return absl::UnauthenticatedError("the bearer token was not accepted");
  }
  return *tenant;
}

int64_t Authenticator::failures(AuthFailure reason) const {
  return (reason == AuthFailure::kMissing ? missing_ : invalid_)
      .load(std::memory_order_relaxed);
}

std::vector<std::string> Authenticator::TenantNames() const {
  std::shared_ptr<const TokenTable> table;
  {
    std::lock_guard<std::mutex> lock(mu_);
    table = table_;
  }
  std::vector<std::string> names;
  for (const Tenant& t : table->tenants()) names.push_back(t.name);
  return names;
}

}  // namespace sam2
