// Tests for server/status_util.h: every canonical code both ways, the
// UNKNOWN → INTERNAL rule, non-canonical codes, messages, and code names.

#include "server/status_util.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace sam2 {
namespace {

struct CodeCase {
  absl::StatusCode absl_code;
  grpc::StatusCode grpc_code;
  const char* name;
};

// Every canonical code except kUnknown, which ToGrpcStatus maps differently.
const std::vector<CodeCase>& SameNameCodes() {
  static const auto* cases = new std::vector<CodeCase>{
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED, "CANCELLED"},
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT,
       "INVALID_ARGUMENT"},
      {absl::StatusCode::kDeadlineExceeded,
       grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND, "NOT_FOUND"},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS,
       "ALREADY_EXISTS"},
      {absl::StatusCode::kPermissionDenied,
       grpc::StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED"},
      {absl::StatusCode::kResourceExhausted,
       grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"},
      {absl::StatusCode::kFailedPrecondition,
       grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION"},
      {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED, "ABORTED"},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE,
       "OUT_OF_RANGE"},
      {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED,
       "UNIMPLEMENTED"},
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL, "INTERNAL"},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE,
       "UNAVAILABLE"},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS, "DATA_LOSS"},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED,
       "UNAUTHENTICATED"},
  };
  return *cases;
}

TEST(ToGrpcStatusTest, OkIsOk) {
  grpc::Status s = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(s.error_message(), "");
}

TEST(ToGrpcStatusTest, EveryCanonicalCodeKeepsCodeAndMessage) {
  for (const CodeCase& c : SameNameCodes()) {
    SCOPED_TRACE(c.name);
    const std::string message = std::string("because ") + c.name;
    grpc::Status s = ToGrpcStatus(absl::Status(c.absl_code, message));
    EXPECT_EQ(s.error_code(), c.grpc_code);
    EXPECT_EQ(s.error_message(), message);
  }
}

TEST(ToGrpcStatusTest, UnknownBecomesInternal) {
  grpc::Status s = ToGrpcStatus(absl::UnknownError("torch threw"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message(), "torch threw");
}

TEST(ToGrpcStatusTest, NonCanonicalCodeBecomesInternal) {
  for (int raw : {17, 20, 99, -1}) {
    SCOPED_TRACE(raw);
    grpc::Status s =
        ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(raw), "odd"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_EQ(s.error_message(), "odd");
  }
}

TEST(FromGrpcStatusTest, OkIsOk) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(FromGrpcStatusTest, EveryCanonicalCodeKeepsCodeAndMessage) {
  for (const CodeCase& c : SameNameCodes()) {
    SCOPED_TRACE(c.name);
    absl::Status s = FromGrpcStatus(grpc::Status(c.grpc_code, "m"));
    EXPECT_EQ(s.code(), c.absl_code);
    EXPECT_EQ(s.message(), "m");
  }
}

TEST(FromGrpcStatusTest, UnknownStaysUnknown) {
  absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNKNOWN, "x"));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(s.message(), "x");
}

TEST(FromGrpcStatusTest, NonCanonicalCodeBecomesUnknown) {
  absl::Status s = FromGrpcStatus(
      grpc::Status(static_cast<grpc::StatusCode>(42), "from the wire"));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(s.message(), "from the wire");
}

TEST(FromGrpcStatusTest, RoundTripsEveryCanonicalCode) {
  for (const CodeCase& c : SameNameCodes()) {
    SCOPED_TRACE(c.name);
    absl::Status original(c.absl_code, "round trip");
    EXPECT_EQ(FromGrpcStatus(ToGrpcStatus(original)), original);
  }
}

TEST(HttpStatusOfTest, MapsEveryCanonicalCode) {
  const std::vector<std::pair<absl::StatusCode, int>> expected = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401},
      {static_cast<absl::StatusCode>(99), 500},
  };
  for (const auto& [code, http] : expected) {
    EXPECT_EQ(HttpStatusOf(code), http) << StatusCodeName(code);
  }
}

TEST(StatusCodeNameTest, NamesEveryCanonicalCode) {
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kUnknown), "UNKNOWN");
  for (const CodeCase& c : SameNameCodes()) {
    EXPECT_EQ(StatusCodeName(c.absl_code), c.name);
  }
}

TEST(StatusCodeNameTest, AgreesWithAbseil) {
  for (int raw = 0; raw <= 16; ++raw) {
    auto code = static_cast<absl::StatusCode>(raw);
    EXPECT_EQ(StatusCodeName(code), absl::StatusCodeToString(code)) << raw;
  }
}

TEST(StatusCodeNameTest, NonCanonicalIsUnknownNeverEmpty) {
  EXPECT_EQ(StatusCodeName(static_cast<absl::StatusCode>(17)), "UNKNOWN");
  EXPECT_EQ(StatusCodeName(static_cast<absl::StatusCode>(1000)), "UNKNOWN");
}

}  // namespace
}  // namespace sam2
