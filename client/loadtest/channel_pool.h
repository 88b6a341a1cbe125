// ChannelPool: K gRPC channels to one server, each its own TCP connection
// (GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL: channels with the same arguments
// would otherwise share one subchannel), handed out round-robin. One
// connection serializes its HTTP/2 frames; several spread the client's and
// the server's I/O the way several real clients would. Plaintext or TLS
// (mutual TLS with a client certificate), and with a bearer token every
// call on every channel carries it (client/channel_security.h).
//
// Thread-safety: Next() and stub() from any thread.

#ifndef SAM2_CLIENT_LOADTEST_CHANNEL_POOL_H_
#define SAM2_CLIENT_LOADTEST_CHANNEL_POOL_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"

namespace sam2::loadtest {

class ChannelPool {
 public:
  // `connections` >= 1 channels to `address` (host:port) with
  // `credentials` (null: plaintext) and `bearer_token` on every call
  // (empty: none), with a 64 MiB receive limit (logits and PNG masks are
  // large).
  ChannelPool(const std::string& address, int connections,
              std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
              const std::string& bearer_token = "");

  // Connects every channel; UNAVAILABLE naming the address if one is not
  // ready within `timeout`.
  absl::Status WaitForConnected(absl::Duration timeout);

  v1::Sam2Service::Stub& Next();
  v1::Sam2Service::Stub& stub(int i) { return *stubs_[static_cast<size_t>(i)]; }
  grpc::Channel& channel(int i) { return *channels_[static_cast<size_t>(i)]; }
  int size() const { return static_cast<int>(stubs_.size()); }
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::Sam2Service::Stub>> stubs_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_CHANNEL_POOL_H_
