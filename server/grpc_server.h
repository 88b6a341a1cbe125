// GrpcServer: owns the gRPC server process-wide plumbing — listening port,
// the built-in health service (grpc.health.v1), server reflection, message
// size limits, keepalive enforcement — and its orderly shutdown.
//
// The application's services (GrpcServerOptions::services) are registered
// beside them. Health starts NOT_SERVING unless `serving_at_start`; the
// server application sets SERVING once the model is loaded and warmed up,
// and NOT_SERVING again when it drains. Start/Shutdown are called from one
// thread (main); port() and SetServing are safe from any thread.

#ifndef SAM2_SERVER_GRPC_SERVER_H_
#define SAM2_SERVER_GRPC_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sam2 {

struct GrpcServerOptions {
  // host:port; port 0 picks a free port (see GrpcServer::port()).
  std::string address = "127.0.0.1:50051";
  // The port's credentials (TLS: server/tls_credentials.h); null:
  // plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Largest request a client may send.
  int max_receive_message_bytes = 32 << 20;
  // Largest response we send.
  int max_send_message_bytes = 32 << 20;
  // Clients may not ping more often than this without data (keepalive
  // enforcement); abusive pingers are disconnected.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Services to serve besides health and reflection (not owned; they must
  // outlive the server).
  std::vector<grpc::Service*> services;
  // Health status right after Start().
  bool serving_at_start = true;
};

class GrpcServer {
 public:
  // Builds and starts the server; health reports SERVING once this returns.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options);

  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The bound port (resolves port 0).
  int port() const { return port_; }

  // grpc.health.v1 status of the server as a whole ("").
  void SetServing(bool serving);

  // Health goes NOT_SERVING at once (load balancers stop routing), in-flight
  // calls get until `grace` to finish, then are cancelled. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port);

  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

}  // namespace sam2

#endif  // SAM2_SERVER_GRPC_SERVER_H_
