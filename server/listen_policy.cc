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

// "no TLS", "no authentication" or "no TLS and no authentication" (only
// called when something is missing).
std::string Missing(const ListenSecurity& security) {
  if (!security.tls && !security.tokens) return "no TLS and no authentication";
  return security.tls ? "no authentication" : "no TLS";
}

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
                                const ListenSecurity& security,
                                bool insecure_listen_any) {
  absl::StatusOr<ListenAddress> parsed = ParseListenAddress(address);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " address: ", parsed.status().message()));
  }
  if (insecure_listen_any || security.secured() ||
      IsLoopbackHost(parsed->host)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the ", what, " address ", address,
      " is reachable from other machines, and this server has ",
      Missing(security),
      ": listen on 127.0.0.1 (the default), configure TLS (--tls_cert, "
      "--tls_key) and bearer tokens (--token_file), or pass ",
      kInsecureListenAnyFlag,
      " to expose it deliberately (a container behind a proxy or a network "
      "policy)"));
}

std::string DescribeListenExposure(absl::string_view what,
                                   absl::string_view address,
                                   const ListenSecurity& security) {
  absl::StatusOr<ListenAddress> parsed = ParseListenAddress(address);
  if (parsed.ok() && IsLoopbackHost(parsed->host)) {
    return absl::StrCat(what, " on ", address, " (loopback only)");
  }
  if (security.secured()) {
    return absl::StrCat(what, " on ", address,
                        ": reachable from other machines, with TLS and "
                        "bearer tokens");
  }
  const char* lacking = !security.tls && !security.tokens
                            ? "TLS OR AUTHENTICATION"
                            : (security.tls ? "AUTHENTICATION" : "TLS");
  return absl::StrCat(what, " on ", address,
                      ": reachable from other machines, WITHOUT ", lacking,
                      " (", kInsecureListenAnyFlag, ")");
}

}  // namespace sam2
