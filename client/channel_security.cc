// TLS credentials and bearer tokens for client channels. See the header.

#include "client/channel_security.h"

#include <grpcpp/support/client_interceptor.h>

#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

// Adds the authorization metadata before a call's headers go out.
class BearerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(std::string value)
      : value_(std::move(value)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kAuthorizationHeader, value_);
    }
    methods->Proceed();
  }

 private:
  const std::string value_;
};

class BearerTokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : value_(absl::StrCat(kBearerPrefix, token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(value_);
  }

 private:
  const std::string value_;
};

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(
    const std::string& root_certs_pem, const std::string& client_cert_pem,
    const std::string& client_key_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_certs_pem;
  ssl.pem_cert_chain = client_cert_pem;
  ssl.pem_private_key = client_key_pem;
  return grpc::SslCredentials(ssl);
}

absl::Status CheckBearerToken(absl::string_view token, absl::string_view what) {
  if (token.size() < kMinBearerTokenBytes ||
      token.size() > kMaxBearerTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": a token is ", kMinBearerTokenBytes, " to ",
        kMaxBearerTokenBytes, " characters, this one has ", token.size()));
  }
  for (const char c : token) {
    // Printable ASCII, no space: what metadata and the server accept.
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          what,
          ": a token is printable ASCII without spaces; this one is not"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(what, ": cannot read the file"));
  }
  std::vector<char> buffer(kMaxTokenFileBytes + 1);
  in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  const size_t n = static_cast<size_t>(in.gcount());
  if (in.bad()) {
    return absl::NotFoundError(absl::StrCat(what, ": cannot read the file"));
  }
  if (n > kMaxTokenFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": larger than ", kMaxTokenFileBytes, " bytes, not a token file"));
  }
  std::string token(absl::StripAsciiWhitespace(absl::string_view(buffer.data(), n)));
  if (absl::Status s = CheckBearerToken(token, what); !s.ok()) return s;
  return token;
}

std::shared_ptr<grpc::Channel> CreateChannelWithToken(
    const std::string& target,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const grpc::ChannelArguments& args, const std::string& bearer_token) {
  if (bearer_token.empty()) {
    return grpc::CreateCustomChannel(target, credentials, args);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<BearerTokenInterceptorFactory>(bearer_token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, credentials, args, std::move(interceptors));
}

}  // namespace sam2
