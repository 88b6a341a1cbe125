// What secures a client's channel to a sam2 server: TLS credentials (the
// CA that signs the server's certificate; a client certificate and key for
// mutual TLS) and a bearer token sent on every call.
//
// The token travels as gRPC metadata `authorization: Bearer <token>` (the
// server's token check reads exactly that). It is added by a client
// interceptor on the channel, so every call made on it carries it —
// unary, client-, server-streaming — without each call site adding it.
// (gRPC's call credentials would do the same but are refused on plaintext
// channels; a token over plaintext is for loopback and tests, or behind a
// proxy that terminates TLS on the same host.)
//
// Tokens are opaque printable ASCII without whitespace, kMinBearerTokenBytes
// to kMaxBearerTokenBytes long. No message here ever contains a token.
//
// Used by the C++ client library (client/sam2_client.h), `sam2 remote` and
// the load tester (client/credentials_options.h). Stateless; thread-safe.

#ifndef SAM2_CLIENT_CHANNEL_SECURITY_H_
#define SAM2_CLIENT_CHANNEL_SECURITY_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// The metadata key (lowercase, as HTTP/2 requires) and the value's scheme.
inline constexpr char kAuthorizationHeader[] = "authorization";
inline constexpr char kBearerPrefix[] = "Bearer ";
inline constexpr size_t kMinBearerTokenBytes = 16;
inline constexpr size_t kMaxBearerTokenBytes = 512;
// A token file larger than this is not a token file.
inline constexpr size_t kMaxTokenFileBytes = 4096;

// TLS channel credentials: `root_certs_pem` the CA bundle that signs the
// server's certificate (empty: gRPC's default roots); for mutual TLS the
// client's certificate chain and private key (both empty: none).
std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(
    const std::string& root_certs_pem, const std::string& client_cert_pem = "",
    const std::string& client_key_pem = "");

// INVALID_ARGUMENT when `token` is not kMinBearerTokenBytes to
// kMaxBearerTokenBytes of printable ASCII without spaces; `what` names it
// in the message ("--token-file t.txt", "ClientOptions.bearer_token").
absl::Status CheckBearerToken(absl::string_view token, absl::string_view what);

// The token in file `path`: its contents without surrounding whitespace
// (the newline an editor adds), checked by CheckBearerToken. NOT_FOUND when
// it cannot be read; INVALID_ARGUMENT naming `what` otherwise.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          absl::string_view what);

// A channel to `target` with `credentials` and `args` whose every call
// carries `bearer_token` (empty: none, a plain custom channel).
std::shared_ptr<grpc::Channel> CreateChannelWithToken(
    const std::string& target,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const grpc::ChannelArguments& args, const std::string& bearer_token);

}  // namespace sam2

#endif  // SAM2_CLIENT_CHANNEL_SECURITY_H_
