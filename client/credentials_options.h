// The connection-security options of the command-line clients, parsed once
// for both: `sam2 remote` spells them with dashes, the load tester with
// underscores (it also accepts dashes).
//   --tls                 TLS, trusting the system's root CAs
//   --ca-cert PEM         TLS, trusting this CA bundle instead
//   --client-cert PEM     mutual TLS: this certificate chain ...
//   --client-key PEM      ... and its private key (both or neither; they
//                         imply TLS)
//   --token-file FILE     a bearer token sent on every call (the file's
//                         contents, surrounding whitespace dropped); without
//                         it, $SAM2_TOKEN when set
// Files are read when the credentials are loaded, before anything connects;
// a bad one is INVALID_ARGUMENT naming the option (the tools' usage error).
// No message ever contains the token.
//
// Stateless; thread-safe.

#ifndef SAM2_CLIENT_CREDENTIALS_OPTIONS_H_
#define SAM2_CLIENT_CREDENTIALS_OPTIONS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/cli_args.h"

namespace sam2 {

// The environment variable that holds a token when --token-file is absent.
inline constexpr char kTokenEnvironmentVariable[] = "SAM2_TOKEN";

// How a tool spells multi-word option names.
enum class OptionStyle { kDashes, kUnderscores };

struct CredentialsOptions {
  bool tls = false;
  std::string ca_cert;      // paths; empty: not given
  std::string client_cert;
  std::string client_key;
  std::string token_file;
};

// The loaded credentials for a channel.
struct ClientCredentials {
  // Null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> channel;
  // Empty: no token.
  std::string bearer_token;
};

// Declares the options in `spec` (tls a switch, the others values).
void AddCredentialsOptions(OptionStyle style, CliSpec* spec);

// The options as given in `args` (nothing is read yet).
CredentialsOptions GetCredentialsOptions(const CliArgs& args, OptionStyle style);

// Reads the files and the token (`environment_token`, e.g.
// getenv(kTokenEnvironmentVariable), when there is no token file; null or
// empty: none). INVALID_ARGUMENT naming the option for a missing or bad
// file, a client certificate without its key (or the reverse), or a
// malformed token.
absl::StatusOr<ClientCredentials> LoadClientCredentials(
    const CredentialsOptions& options, OptionStyle style,
    const char* environment_token);

// Whether gRPC target `address` stays on this machine: a unix socket,
// localhost, 127.0.0.0/8 or ::1.
bool IsLoopbackTarget(absl::string_view address);

// A warning for stderr when `credentials` would send a token in clear to a
// server that is not on this machine; empty otherwise.
std::string CleartextTokenWarning(const ClientCredentials& credentials,
                                  absl::string_view address);

}  // namespace sam2

#endif  // SAM2_CLIENT_CREDENTIALS_OPTIONS_H_
