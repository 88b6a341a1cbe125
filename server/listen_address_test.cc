// Tests for ParseListenAddress and DiagnoseListen (real sockets on loopback,
// port 0).

#include "server/listen_address.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

TEST(ParseListenAddressTest, AcceptsHostPortForms) {
  auto v4 = ParseListenAddress("0.0.0.0:9090");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->host, "0.0.0.0");
  EXPECT_EQ(v4->port, 9090);
  EXPECT_EQ(v4->ToString(), "0.0.0.0:9090");

  auto v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(v6->ToString(), "[::1]:0");

  auto name = ParseListenAddress("localhost:65535");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->host, "localhost");
  EXPECT_EQ(name->port, 65535);
}

TEST(ParseListenAddressTest, RejectsMalformedText) {
  for (const char* bad : {"", "9090", ":9090", "host:", "host:x", "host:-1",
                          "host:65536", "::1:9090", "[::1]", "[]:80"}) {
    auto parsed = ParseListenAddress(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    if (!parsed.ok()) {
      EXPECT_TRUE(absl::StrContains(parsed.status().message(),
                                    absl::StrCat("\"", bad, "\"")))
          << parsed.status();
    }
  }
}

TEST(DiagnoseListenTest, FreeAddressIsOk) {
  EXPECT_TRUE(DiagnoseListen({"127.0.0.1", 0}).ok());
}

TEST(DiagnoseListenTest, PortInUseNamesTheAddressAndTheErrno) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  absl::Status status = DiagnoseListen({"127.0.0.1", port});
  close(fd);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            absl::StrCat("bind 127.0.0.1:", port, ": Address already in use"));
}

TEST(DiagnoseListenTest, AddressNotOnThisMachine) {
  // 192.0.2.0/24 is reserved for documentation (RFC 5737): never local.
  absl::Status status = DiagnoseListen({"192.0.2.1", 0});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            "bind 192.0.2.1:0: Cannot assign requested address");
}

}  // namespace
}  // namespace sam2
