// ParseErrorInterceptor: a request that does not parse as its method's
// message gets INVALID_ARGUMENT, as DESIGN.md's table says for undecodable
// bytes, instead of gRPC's UNIMPLEMENTED with an empty message.
//
// gRPC's callback API parses a unary or server-streaming request before the
// service sees it; when parsing fails it finishes the call itself with
// UNIMPLEMENTED and no message (the same answer as for a method the service
// does not implement). This interceptor watches each such call: when no
// parsed request reached the service (POST_RECV_MESSAGE never carried one)
// and the status about to be sent is that UNIMPLEMENTED, it sends
// INVALID_ARGUMENT naming the method instead. Every other status passes
// unchanged, as do client-streaming calls (the upload reads raw bytes and
// parses them itself, sam2_service.cc).
//
// Thread-safety: gRPC creates one interceptor per call and runs its hooks
// one at a time; the factory is stateless.

#ifndef SAM2_SERVER_PARSE_ERROR_INTERCEPTOR_H_
#define SAM2_SERVER_PARSE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

namespace sam2 {

class ParseErrorInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace sam2

#endif  // SAM2_SERVER_PARSE_ERROR_INTERCEPTOR_H_
