// Connection-security options of the command-line clients. See the header.

#include "client/credentials_options.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/channel_security.h"

namespace sam2 {
namespace {

// An option's name in `style` ("ca-cert" -> "ca_cert").
std::string Name(OptionStyle style, absl::string_view dashed) {
  return style == OptionStyle::kDashes
             ? std::string(dashed)
             : absl::StrReplaceAll(dashed, {{"-", "_"}});
}

absl::StatusOr<std::string> ReadPem(OptionStyle style, absl::string_view option,
                                    const std::string& path) {
  const std::string what = absl::StrCat("--", Name(style, option), " ", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": cannot read it"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (!absl::StrContains(text.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a PEM file"));
  }
  return text.str();
}

}  // namespace

void AddCredentialsOptions(OptionStyle style, CliSpec* spec) {
  spec->switch_options.insert("tls");
  for (const char* option : {"ca-cert", "client-cert", "client-key",
                             "token-file"}) {
    spec->value_options.insert(Name(style, option));
  }
}

CredentialsOptions GetCredentialsOptions(const CliArgs& args,
                                         OptionStyle style) {
  CredentialsOptions o;
  o.tls = args.Switch("tls");
  o.ca_cert = args.Get(Name(style, "ca-cert"));
  o.client_cert = args.Get(Name(style, "client-cert"));
  o.client_key = args.Get(Name(style, "client-key"));
  o.token_file = args.Get(Name(style, "token-file"));
  return o;
}

absl::StatusOr<ClientCredentials> LoadClientCredentials(
    const CredentialsOptions& options, OptionStyle style,
    const char* environment_token) {
  ClientCredentials out;
  if (options.client_cert.empty() != options.client_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", Name(style, "client-cert"), " and --", Name(style, "client-key"),
        " go together (mutual TLS needs the certificate and its key)"));
  }
  const bool tls = options.tls || !options.ca_cert.empty() ||
                   !options.client_cert.empty();
  if (tls) {
    std::string ca;
    std::string cert;
    std::string key;
    if (!options.ca_cert.empty()) {
      absl::StatusOr<std::string> pem = ReadPem(style, "ca-cert", options.ca_cert);
      if (!pem.ok()) return pem.status();
      ca = *std::move(pem);
    }
    if (!options.client_cert.empty()) {
      absl::StatusOr<std::string> pem =
          ReadPem(style, "client-cert", options.client_cert);
      if (!pem.ok()) return pem.status();
      cert = *std::move(pem);
      pem = ReadPem(style, "client-key", options.client_key);
      if (!pem.ok()) return pem.status();
      key = *std::move(pem);
    }
    out.channel = TlsCredentials(ca, cert, key);
  }
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(
        options.token_file,
        absl::StrCat("--", Name(style, "token-file"), " ", options.token_file));
    if (!token.ok()) {
      return absl::InvalidArgumentError(token.status().message());
    }
    out.bearer_token = *std::move(token);
  } else if (environment_token != nullptr && *environment_token != '\0') {
    const std::string token(absl::StripAsciiWhitespace(environment_token));
    if (absl::Status s = CheckBearerToken(
            token, absl::StrCat("$", kTokenEnvironmentVariable));
        !s.ok()) {
      return s;
    }
    out.bearer_token = token;
  }
  return out;
}

bool IsLoopbackTarget(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") ||
      absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  absl::ConsumePrefix(&address, "dns:///");
  absl::ConsumePrefix(&address, "ipv4:");
  absl::ConsumePrefix(&address, "ipv6:");
  absl::string_view host = address;
  if (absl::ConsumePrefix(&host, "[")) {
    host = host.substr(0, host.find(']'));
  } else {
    host = host.substr(0, host.rfind(':'));
  }
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, written as four numbers.
  int octets = 0;
  for (absl::string_view part : absl::StrSplit(host, '.')) {
    int value = -1;
    if (!absl::SimpleAtoi(part, &value) || value < 0 || value > 255) {
      return false;
    }
    if (octets == 0 && value != 127) return false;
    ++octets;
  }
  return octets == 4;
}

std::string CleartextTokenWarning(const ClientCredentials& credentials,
                                  absl::string_view address) {
  if (credentials.bearer_token.empty() || credentials.channel != nullptr ||
      IsLoopbackTarget(address)) {
    return "";
  }
  return absl::StrCat("warning: the token is sent to ", address,
                      " without TLS, readable by anyone on the way (add "
                      "--tls or a CA certificate)");
}

}  // namespace sam2
