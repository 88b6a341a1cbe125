#include "client/cli_args.h"

#include <gtest/gtest.h>

namespace sam2 {
namespace {

const CliSpec kSpec = {{"point", "out", "image"}, {"multimask"}};

TEST(CliArgsTest, RepeatsValuesAndSwitches) {
  absl::StatusOr<CliArgs> a = CliArgs::Parse(
      {"model.pt", "--point", "1,2", "--point=3,4,0", "--multimask",
       "--out=x.png", "--", "--literal"},
      kSpec);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->GetAll("point"), (std::vector<std::string>{"1,2", "3,4,0"}));
  EXPECT_EQ(a->Get("out"), "x.png");
  EXPECT_EQ(a->Get("image", "none"), "none");
  EXPECT_TRUE(a->Switch("multimask"));
  EXPECT_EQ(a->positional(), (std::vector<std::string>{"model.pt", "--literal"}));
}

TEST(CliArgsTest, RejectsUnknownAndIncompleteOptions) {
  EXPECT_FALSE(CliArgs::Parse({"--pointt", "1,2"}, kSpec).ok());
  EXPECT_FALSE(CliArgs::Parse({"--out"}, kSpec).ok());
  EXPECT_FALSE(CliArgs::Parse({"--multimask=yes"}, kSpec).ok());
}

}  // namespace
}  // namespace sam2
