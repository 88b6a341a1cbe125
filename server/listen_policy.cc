#include "server/listen_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/listen_address.h"

namespace sam2 {
namespace {

// 127.0.0.0/8: the first byte of the address in network order.
constexpr uint8_t kIpv4LoopbackFirstByte = 127;

}  // namespace

bool IsLoopbackHost(absl::string_view host) {
  if (absl::AsciiStrToLower(host) == "localhost") return true;
  const std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return reinterpret_cast<const uint8_t*>(&v4.s_addr)[0] ==
           kIpv4LoopbackFirstByte;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

absl::Status CheckListenAddress(absl::string_view what,
                                absl::string_view address,
                                bool insecure_listen_any) {
  absl::StatusOr<ListenAddress> parsed = ParseListenAddress(address);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " address: ", parsed.status().message()));
  }
  if (insecure_listen_any || IsLoopbackHost(parsed->host)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the ", what, " address ", address,
      " is reachable from other machines, and this server has no TLS and no "
      "authentication yet: listen on 127.0.0.1 (the default), or pass ",
      kInsecureListenAnyFlag,
      " to expose it deliberately (a container behind a proxy or a network "
      "policy)"));
}

std::string DescribeListenExposure(absl::string_view what,
                                   absl::string_view address) {
  absl::StatusOr<ListenAddress> parsed = ParseListenAddress(address);
  if (parsed.ok() && IsLoopbackHost(parsed->host)) {
    return absl::StrCat(what, " on ", address, " (loopback only)");
  }
  return absl::StrCat(what, " on ", address,
                      ": reachable from other machines, WITHOUT TLS OR "
                      "AUTHENTICATION (",
                      kInsecureListenAnyFlag, ")");
}

}  // namespace sam2
