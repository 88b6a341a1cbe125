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

TEST(CliArgsTest, LimitsPositionalArguments) {
  CliSpec none = kSpec;
  none.max_positional = 0;
  absl::StatusOr<CliArgs> a = CliArgs::Parse({"--out=x", "stray"}, none);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "unexpected argument 'stray'");
  CliSpec one = kSpec;
  one.max_positional = 1;
  EXPECT_TRUE(CliArgs::Parse({"model.pt"}, one).ok());
  EXPECT_FALSE(CliArgs::Parse({"model.pt", "other.pt"}, one).ok());
}

TEST(ParseNumberListTest, CountsAndNumbers) {
  absl::StatusOr<std::vector<double>> v = ParseNumberList("1,2.5,-3", 2, 3, "--point");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (std::vector<double>{1, 2.5, -3}));
  EXPECT_NE(ParseNumberList("1,x", 2, 3, "--point").status().message().find(
                "'x' is not a number"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseNumberList("1,nan", 2, 3, "--point").ok());
  EXPECT_NE(ParseNumberList("1", 4, 4, "--box").status().message().find(
                "expected 4 comma-separated numbers"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseNumberList("1,2,3,4", 2, 3, "--point").ok());
}

}  // namespace
}  // namespace sam2
