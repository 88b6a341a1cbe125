#include "client/inspect_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>

namespace sam2 {
namespace {

constexpr char kMicro[] = "tests/fixtures/sam2.1-micro/model.pt";

TEST(InspectCommandTest, PrintsTheMicroModel) {
  std::ostringstream out, err;
  ASSERT_EQ(RunInspect(kMicro, "", out, err), 0) << err.str();
  const std::string text = out.str();
  EXPECT_NE(text.find("tensors:    371\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parameters: 1156714\n"), std::string::npos) << text;
  EXPECT_NE(text.find("input: 512x512"), std::string::npos) << text;
  EXPECT_NE(text.find("(SAM 2.1)"), std::string::npos) << text;
  EXPECT_TRUE(err.str().empty());
}

TEST(InspectCommandTest, ReportsUnreadableCheckpoints) {
  std::ostringstream out, err;
  EXPECT_EQ(RunInspect("tests/fixtures/missing.pt", "", out, err), 1);
  EXPECT_NE(err.str().find("missing.pt"), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty());
}

TEST(InspectCommandTest, ConvertsToSafetensorsThatInspectReads) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/micro.safetensors";
  std::ostringstream out, err;
  ASSERT_EQ(RunConvert(kMicro, "", path, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("371 tensors"), std::string::npos) << out.str();
  std::ostringstream out2, err2;
  ASSERT_EQ(RunInspect(path, "tests/fixtures/sam2.1-micro/model.yaml", out2,
                       err2),
            0)
      << err2.str();
  EXPECT_NE(out2.str().find("format:     safetensors"), std::string::npos);
  EXPECT_NE(out2.str().find("parameters: 1156714"), std::string::npos);

  std::ostringstream out3, err3;
  EXPECT_EQ(RunConvert(kMicro, "", "", out3, err3), 2);
  EXPECT_NE(err3.str().find("--out"), std::string::npos);
}

}  // namespace
}  // namespace sam2
