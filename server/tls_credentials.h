// The gRPC port's credentials for a TlsConfig (server/tls_config.h):
// plaintext without TLS; otherwise TLS served from the files by gRPC's
// FileWatcherCertificateProvider, which re-reads them every
// reload_interval (rounded up to whole seconds, at least one) and switches
// new connections to a changed certificate without a restart (connections
// already open keep theirs). With a client CA, clients must present a
// certificate that it signs (mutual TLS).
//
// gRPC only watches: it does not refuse bad files at start (every
// handshake would then fail), so the server checks them first with
// ValidateTlsConfig. On reload gRPC 1.51 installs what it reads: it reads
// again when a file's modification time changed while it read, but a key
// that does not match the certificate is taken as it is (measured: "Invalid
// private key", new handshakes fail until the files agree again; the HTTP
// side keeps its previous pair instead). Renewals must therefore replace
// the files atomically, e.g. a directory swapped with one rename, as
// Kubernetes secret volumes do.
//
// Stateless; thread-safe.

#ifndef SAM2_SERVER_TLS_CREDENTIALS_H_
#define SAM2_SERVER_TLS_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "server/tls_config.h"

namespace sam2 {

// `config` must have passed CheckTlsConfig.
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsConfig& config);

// gRPC's file watcher period for `interval`: whole seconds, rounded up, at
// least 1.
unsigned int GrpcReloadSeconds(absl::Duration interval);

}  // namespace sam2

#endif  // SAM2_SERVER_TLS_CREDENTIALS_H_
