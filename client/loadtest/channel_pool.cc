#include "client/loadtest/channel_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/channel_security.h"

namespace sam2::loadtest {

ChannelPool::ChannelPool(const std::string& address, int connections,
                         std::shared_ptr<grpc::ChannelCredentials> credentials,
                         const std::string& bearer_token)
    : address_(address) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  for (int i = 0; i < std::max(1, connections); ++i) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // Tells the channels apart in the server's logs (and keeps gRPC from
    // ever treating them as one).
    args.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING,
                   absl::StrCat("sam2_loadtest/conn", i));
    channels_.push_back(
        CreateChannelWithToken(address, credentials, args, bearer_token));
    stubs_.push_back(v1::Sam2Service::NewStub(channels_.back()));
  }
}

absl::Status ChannelPool::WaitForConnected(absl::Duration timeout) {
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (!channels_[i]->WaitForConnected(deadline)) {
      return absl::UnavailableError(absl::StrCat(
          "cannot connect to ", address_, " (connection ", i + 1, " of ",
          channels_.size(), ") within ", absl::FormatDuration(timeout)));
    }
  }
  return absl::OkStatus();
}

v1::Sam2Service::Stub& ChannelPool::Next() {
  const uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
  return *stubs_[i % stubs_.size()];
}

}  // namespace sam2::loadtest
