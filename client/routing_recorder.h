// RoutingRecorder (tests only): a gRPC server on 127.0.0.1 that serves any
// method and records, per call, the method, every value of the session
// routing header (client/session_routing.h) and of the authorization
// header (client/channel_security.h) the client sent, and the common name
// of its TLS client certificate. A call is answered at once with the
// response set for its method (SetReply), the error set for it (SetError),
// or else NOT_FOUND "recorded". For tests that check which calls of a
// client carry which headers, with what value. It listens in plaintext, or
// with the server credentials it is given (TLS, mutual TLS).
//
// Thread-safety: every method may be called from any thread; calls are
// recorded from gRPC's threads.

#ifndef SAM2_CLIENT_ROUTING_RECORDER_H_
#define SAM2_CLIENT_ROUTING_RECORDER_H_

#include <google/protobuf/message.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/session_routing.h"

namespace sam2 {

class RoutingRecorder {
 public:
  struct Call {
    std::string method;                 // e.g. "Segment"
    std::vector<std::string> sessions;  // the header's values, in order
    std::vector<std::string> authorizations;  // "authorization" values
    // CN of the client's TLS certificate; empty without one.
    std::string client_common_name;
  };

  // Starts the server on a free port; port() is 0 when that failed.
  explicit RoutingRecorder(std::shared_ptr<grpc::ServerCredentials>
                               credentials = grpc::InsecureServerCredentials()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) port_ = 0;
  }
  ~RoutingRecorder() {
    if (server_ != nullptr) server_->Shutdown();
  }
  RoutingRecorder(const RoutingRecorder&) = delete;
  RoutingRecorder& operator=(const RoutingRecorder&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Calls of sam2.v1.Sam2Service/<method> get `response` and OK.
  void SetReply(const std::string& method,
                const google::protobuf::Message& response) {
    std::lock_guard<std::mutex> lock(service_.mu);
    service_.replies[kPrefix + method] = response.SerializeAsString();
  }

  // Calls of sam2.v1.Sam2Service/<method> fail with `error` (not OK).
  void SetError(const std::string& method, const grpc::Status& error) {
    std::lock_guard<std::mutex> lock(service_.mu);
    service_.errors[kPrefix + method] = error;
  }

  // The calls so far, in arrival order.
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(service_.mu);
    return service_.calls;
  }

 private:
  static constexpr char kPrefix[] = "/sam2.v1.Sam2Service/";

  // Writes the canned response and OK, or finishes with `error`; never
  // reads the request. Deletes itself when the call is done.
  class Reply final : public grpc::ServerGenericBidiReactor {
   public:
    Reply(const std::optional<std::string>& response,
          const grpc::Status& error) {
      if (!response.has_value()) {
        Finish(error);
        return;
      }
      grpc::Slice slice(*response);
      buffer_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&buffer_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer buffer_;
  };

  struct Service final : grpc::CallbackGenericService {
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* ctx) override {
      Call call;
      call.method = ctx->method();
      if (call.method.rfind(kPrefix, 0) == 0) {
        call.method = call.method.substr(sizeof(kPrefix) - 1);
      }
      const auto range =
          ctx->client_metadata().equal_range(kSessionRoutingHeader);
      for (auto it = range.first; it != range.second; ++it) {
        call.sessions.emplace_back(it->second.data(), it->second.size());
      }
      const auto tokens = ctx->client_metadata().equal_range("authorization");
      for (auto it = tokens.first; it != tokens.second; ++it) {
        call.authorizations.emplace_back(it->second.data(), it->second.size());
      }
      for (const grpc::string_ref& cn :
           ctx->auth_context()->FindPropertyValues("x509_common_name")) {
        call.client_common_name.assign(cn.data(), cn.size());
      }
      std::optional<std::string> response;
      grpc::Status error(grpc::StatusCode::NOT_FOUND, "recorded");
      {
        std::lock_guard<std::mutex> lock(mu);
        auto reply = replies.find(ctx->method());
        if (reply != replies.end()) response = reply->second;
        auto failure = errors.find(ctx->method());
        if (failure != errors.end()) error = failure->second;
        calls.push_back(std::move(call));
      }
      return new Reply(response, error);
    }

    mutable std::mutex mu;
    std::map<std::string, std::string> replies;  // full method -> bytes
    std::map<std::string, grpc::Status> errors;   // full method -> status
    std::vector<Call> calls;
  };

  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace sam2

#endif  // SAM2_CLIENT_ROUTING_RECORDER_H_
