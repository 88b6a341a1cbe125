// Tests for the session routing header's value check: real session names
// pass, names that metadata cannot carry (or no server issues) do not.

#include "client/session_routing.h"

#include <gtest/gtest.h>

#include <string>

namespace sam2 {
namespace {

TEST(SessionRoutingTest, HeaderName) {
  EXPECT_STREQ(kSessionRoutingHeader, "x-sam2-session");
}

TEST(SessionRoutingTest, RealNamesAreRouted) {
  const std::string hex(32, 'a');
  EXPECT_TRUE(CanRouteSessionName("sessions/replica-a-" + hex));
  EXPECT_TRUE(CanRouteSessionName("sessions/sam2-7d9f8-abcde-" + hex));
  EXPECT_TRUE(CanRouteSessionName("sessions/" + std::string(32, 'z') + "-" +
                                  hex));
  // Not a well-formed name, but printable: sent, the server answers it.
  EXPECT_TRUE(CanRouteSessionName("sessions/x"));
  EXPECT_TRUE(
      CanRouteSessionName(std::string(kMaxRoutedSessionNameBytes, 'a')));
}

TEST(SessionRoutingTest, UnsendableNamesAreNotRouted) {
  EXPECT_FALSE(CanRouteSessionName(""));
  EXPECT_FALSE(
      CanRouteSessionName(std::string(kMaxRoutedSessionNameBytes + 1, 'a')));
  EXPECT_FALSE(CanRouteSessionName("sessions/a\nb"));
  EXPECT_FALSE(CanRouteSessionName("sessions/a\rb"));
  EXPECT_FALSE(CanRouteSessionName(std::string("sessions/a\0b", 12)));
  EXPECT_FALSE(CanRouteSessionName("sessions/\x7f"));
  EXPECT_FALSE(CanRouteSessionName("sessions/caf\xc3\xa9"));
}

}  // namespace
}  // namespace sam2
