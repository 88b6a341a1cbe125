#include "server/listen_address.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

constexpr int kMaxPort = 65535;
// The backlog of the probe listener; it never accepts anything.
constexpr int kProbeBacklog = 1;

absl::Status InvalidAddress(absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("listen address \"", text,
                   "\" is not host:port (e.g. 0.0.0.0:9090 or [::]:9090)"));
}

struct AddrInfoFree {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

}  // namespace

std::string ListenAddress::ToString() const {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port)
                                      : absl::StrCat(host, ":", port);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return InvalidAddress(text);
  absl::string_view host = text.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  } else if (absl::StrContains(host, ':')) {
    return InvalidAddress(text);  // an IPv6 host needs its brackets
  }
  ListenAddress address;
  if (host.empty() || !absl::SimpleAtoi(text.substr(colon + 1), &address.port) ||
      address.port < 0 || address.port > kMaxPort) {
    return InvalidAddress(text);
  }
  address.host = std::string(host);
  return address;
}

absl::Status DiagnoseListen(const ListenAddress& address) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(address.port);
  const int gai = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot resolve ", address.host, ": ",
        gai == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(gai)));
  }
  std::unique_ptr<addrinfo, AddrInfoFree> list(found);
  const std::string where = address.ToString();
  // Both servers take the first resolved address that works; report the
  // first one's failure, which is where they start.
  const addrinfo* ai = list.get();
  const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("socket for ", where, ": ", std::strerror(errno)));
  }
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  absl::Status status;
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    status = absl::UnavailableError(
        absl::StrCat("bind ", where, ": ", std::strerror(errno)));
  } else if (listen(fd, kProbeBacklog) != 0) {
    status = absl::UnavailableError(
        absl::StrCat("listen ", where, ": ", std::strerror(errno)));
  }
  close(fd);
  return status;
}

}  // namespace sam2
