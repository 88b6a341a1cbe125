// gRPC server credentials from the TLS files. See the header.

#include "server/tls_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sam2 {

unsigned int GrpcReloadSeconds(absl::Duration interval) {
  const double seconds = std::ceil(absl::ToDoubleSeconds(interval));
  return static_cast<unsigned int>(std::clamp(
      seconds, 1.0,
      static_cast<double>(std::numeric_limits<unsigned int>::max())));
}

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsConfig& config) {
  const TlsMode mode = config.mode();
  if (mode == TlsMode::kPlaintext) return grpc::InsecureServerCredentials();
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          config.key_path, config.cert_path,
          mode == TlsMode::kMutualTls ? config.client_ca_path : "",
          GrpcReloadSeconds(config.reload_interval));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (mode == TlsMode::kMutualTls) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace sam2
