// ParseErrorInterceptor through a real GrpcServer: raw request bytes that do
// not parse get INVALID_ARGUMENT naming the method; parsed requests, and a
// method the service does not implement, keep their answers.

#include "server/parse_error_interceptor.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "protos/sam2/v1/sam2.grpc.pb.h"
#include "server/grpc_server.h"

namespace sam2 {
namespace {

constexpr int kCallSeconds = 10;

// GetServerInfo answers; every other method is left unimplemented.
class InfoOnlyService final : public v1::Sam2Service::CallbackService {
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetServerInfoRequest*,
                                          v1::ServerInfo* info) override {
    info->set_instance_id("info-only");
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class ParseErrorInterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GrpcServerOptions options;
    options.address = "127.0.0.1:0";
    options.services = {&service_};
    auto server = GrpcServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  }

  // A unary call with `bytes` as the request; the response bytes go to
  // `response` when given.
  grpc::Status RawCall(const std::string& method, const std::string& bytes,
                       std::string* response = nullptr) {
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials());
    grpc::GenericStub stub(channel);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer reply;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(kCallSeconds));
    absl::Notification done;
    grpc::Status result;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &reply,
                   [&](grpc::Status s) {
                     result = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    if (response != nullptr && result.ok()) {
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(reply.Dump(&slices).ok());
      response->clear();
      for (const grpc::Slice& s : slices) {
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    return result;
  }

  InfoOnlyService service_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(ParseErrorInterceptorTest, ParsedRequestIsServed) {
  std::string bytes;
  grpc::Status s =
      RawCall("/sam2.v1.Sam2Service/GetServerInfo", "", &bytes);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ServerInfo info;
  ASSERT_TRUE(info.ParseFromString(bytes));
  EXPECT_EQ(info.instance_id(), "info-only");
}

TEST_F(ParseErrorInterceptorTest, UnparseableRequestIsInvalidArgument) {
  // Field 1, length-delimited, claiming far more bytes than follow.
  const std::string lying_length("\x0a\xff\xff\xff\xff\x0f" "abc", 9);
  grpc::Status s = RawCall("/sam2.v1.Sam2Service/GetServerInfo", lying_length);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("cannot parse the request of "
                                   "/sam2.v1.Sam2Service/GetServerInfo"),
            std::string::npos)
      << s.error_message();
  // A proto3 string field (SegmentRequest.session) that is not UTF-8.
  const std::string not_utf8("\x0a\x03\xff\xfe\xc0", 5);
  s = RawCall("/sam2.v1.Sam2Service/Segment", not_utf8);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
}

TEST_F(ParseErrorInterceptorTest, UnimplementedMethodStaysUnimplemented) {
  // A valid (empty) SegmentRequest on a method the service lacks.
  grpc::Status s = RawCall("/sam2.v1.Sam2Service/Segment", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED)
      << s.error_message();
  // A method no service has.
  s = RawCall("/sam2.v1.Sam2Service/NoSuchMethod", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED)
      << s.error_message();
}

}  // namespace
}  // namespace sam2
