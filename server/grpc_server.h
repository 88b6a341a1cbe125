// GrpcServer: owns the gRPC server process-wide plumbing — listening port,
// the built-in health service (grpc.health.v1), server reflection, message
// size limits, keepalive enforcement — and its orderly shutdown.
//
// The SAM 2 services are registered here as they land (later issues); the
// model is loaded before Start() so health reports SERVING only once the
// weights are in memory. Start/Shutdown are called from one thread (main);
// port() and the health status are safe to read from any thread.

#ifndef SAM2_SERVER_GRPC_SERVER_H_
#define SAM2_SERVER_GRPC_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sam2 {

struct GrpcServerOptions {
  // host:port; port 0 picks a free port (see GrpcServer::port()).
  std::string address = "0.0.0.0:50051";
  // Largest request a client may send.
  int max_receive_message_bytes = 32 << 20;
  // Largest response we send.
  int max_send_message_bytes = 32 << 20;
  // Clients may not ping more often than this without data (keepalive
  // enforcement); abusive pingers are disconnected.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
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
