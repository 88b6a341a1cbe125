// ChannelPool: connects every channel, hands stubs out round-robin, and
// names the address when it cannot connect.

#include "client/loadtest/channel_pool.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "client/channel_security.h"
#include "client/routing_recorder.h"
#include "tests/util/test_certs.h"

namespace sam2::loadtest {
namespace {

// A sam2.v1 server whose GetServerInfo answers with the caller's address
// (ip:port of the client's end of the connection); every other method is
// unimplemented.
class PeerService : public v1::Sam2Service::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetServerInfoRequest*,
                                          v1::ServerInfo* info) override {
    info->set_instance_id(ctx->peer());
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class PeerServer {
 public:
  PeerServer() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    server_ = builder.BuildAndStart();
  }
  ~PeerServer() { server_->Shutdown(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  PeerService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

std::string Peer(v1::Sam2Service::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ServerInfo info;
  const grpc::Status s = stub.GetServerInfo(&ctx, {}, &info);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return info.instance_id();
}

TEST(ChannelPoolTest, ConnectsEveryChannelAndRoundRobins) {
  PeerServer server;
  ChannelPool pool(server.address(), 3);
  ASSERT_EQ(pool.size(), 3);
  ASSERT_TRUE(pool.WaitForConnected(absl::Seconds(10)).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pool.channel(i).GetState(false), GRPC_CHANNEL_READY) << i;
  }
  std::vector<v1::Sam2Service::Stub*> order;
  for (int i = 0; i < 6; ++i) order.push_back(&pool.Next());
  EXPECT_EQ(std::set<v1::Sam2Service::Stub*>(order.begin(), order.end()).size(),
            3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(order[i], order[i + 3]);
}

TEST(ChannelPoolTest, EachChannelIsItsOwnConnection) {
  PeerServer server;
  ChannelPool pool(server.address(), 3);
  ASSERT_TRUE(pool.WaitForConnected(absl::Seconds(10)).ok());
  // Channels sharing a subchannel would share one connection: one client
  // address. Each stub twice: a channel keeps its connection.
  std::set<std::string> peers;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3; ++i) peers.insert(Peer(pool.stub(i)));
  }
  EXPECT_EQ(peers.size(), 3u) << *peers.begin();
  for (const std::string& p : peers) {
    EXPECT_NE(p.find("127.0.0.1:"), std::string::npos) << p;
  }
}

TEST(ChannelPoolTest, UnreachableServerIsNamed) {
  // Port 1 on loopback: nothing listens there.
  ChannelPool pool("127.0.0.1:1", 1);
  absl::Status s = pool.WaitForConnected(absl::Milliseconds(300));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("127.0.0.1:1"), std::string::npos) << s;
}

TEST(ChannelPoolTest, EveryChannelSpeaksTlsAndSendsTheToken) {
  const TestCa ca = TestCa::Create("pool ca");
  const TestKeyPair server = ca.IssueServer();
  grpc::SslServerCredentialsOptions tls;
  tls.pem_key_cert_pairs.push_back({server.key_pem, server.cert_pem});
  RoutingRecorder recorder(grpc::SslServerCredentials(tls));
  ASSERT_GT(recorder.port(), 0);
  recorder.SetReply("GetServerInfo", v1::ServerInfo());
  ChannelPool pool(recorder.address(), 2, TlsCredentials(ca.cert_pem()),
                   "pool-token-0123456789");
  ASSERT_TRUE(pool.WaitForConnected(absl::Seconds(10)).ok());
  for (int i = 0; i < pool.size(); ++i) Peer(pool.stub(i));
  const std::vector<RoutingRecorder::Call> calls = recorder.calls();
  ASSERT_EQ(calls.size(), 2u);
  for (const RoutingRecorder::Call& call : calls) {
    EXPECT_EQ(call.authorizations,
              std::vector<std::string>{"Bearer pool-token-0123456789"});
  }
}

}  // namespace
}  // namespace sam2::loadtest
