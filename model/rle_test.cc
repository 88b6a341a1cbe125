// Tests of rle.h. Expected strings come from pycocotools 2.0 (mask.encode on
// the same hand-made masks, Fortran order), run once outside the project.

#include "model/rle.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sam2 {
namespace {

at::Tensor Mask(const std::vector<std::vector<int>>& rows) {
  const int64_t h = static_cast<int64_t>(rows.size());
  const int64_t w = static_cast<int64_t>(rows[0].size());
  at::Tensor m = at::zeros({h, w}, at::kBool);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) m[y][x] = rows[y][x] != 0;
  }
  return m;
}

struct Known {
  std::string name;
  at::Tensor mask;
  std::string counts;  // pycocotools
  int64_t area;
  std::array<double, 4> bbox;  // pycocotools toBbox
};

std::vector<Known> KnownMasks() {
  std::vector<Known> k;
  k.push_back({"empty", at::zeros({3, 4}, at::kBool), "<", 0, {0, 0, 0, 0}});
  k.push_back({"full", at::ones({3, 4}, at::kBool), "0<", 12, {0, 0, 4, 3}});
  k.push_back({"first_pixel", Mask({{1, 0}, {0, 0}}), "013", 1, {0, 0, 1, 1}});
  k.push_back({"diagonal", at::eye(4, at::kBool), "01400000", 4, {0, 0, 4, 4}});
  k.push_back({"block",
               Mask({{0, 0, 0, 0, 0},
                     {0, 1, 1, 0, 0},
                     {0, 1, 1, 1, 0},
                     {0, 0, 0, 0, 0}}),
               "52201O2", 5, {1, 1, 3, 2}});
  k.push_back({"random",
               Mask({{1, 1, 1, 1, 0},
                     {1, 0, 1, 1, 0},
                     {1, 1, 1, 1, 0},
                     {0, 0, 1, 1, 1},
                     {1, 1, 0, 1, 0},
                     {1, 0, 1, 1, 0}}),
               "03100N0003032JO", 20, {0, 0, 5, 6}});
  {
    at::Tensor m = at::zeros({40, 50}, at::kBool);
    m.slice(0, 5, 35).slice(1, 10, 45).fill_(true);
    m.slice(0, 10, 12).slice(1, 20, 22).fill_(false);
    k.push_back({"big_with_hole", m,
                 "e<n0:000000000000000000WOHb08^OHb0870000000000000000000000000"
                 "0000000000000000000S6",
                 1046, {10, 5, 35, 30}});
  }
  {
    at::Tensor m = at::zeros({7, 300}, at::kBool);
    m.select(1, 3).fill_(true);
    m.slice(0, 2, 5).slice(1, 100, 290).fill_(true);
    // "e07Re0LR[O", 377 zeros (equal deltas), "T2".
    const std::string counts =
        "e07Re0LR[O" + std::string(377, '0') + "T2";
    k.push_back({"wide", m, counts, 577, {3, 0, 287, 7}});
  }
  return k;
}

TEST(RleTest, MatchesPycocotoolsStrings) {
  for (const Known& k : KnownMasks()) {
    SCOPED_TRACE(k.name);
    absl::StatusOr<Rle> rle = MaskToRle(k.mask);
    ASSERT_TRUE(rle.ok()) << rle.status();
    EXPECT_EQ(rle->height, k.mask.size(0));
    EXPECT_EQ(rle->width, k.mask.size(1));
    EXPECT_EQ(EncodeCocoCounts(*rle), k.counts);
    EXPECT_EQ(RleArea(*rle), k.area);
    EXPECT_EQ(RleToBbox(*rle), k.bbox);
  }
}

TEST(RleTest, WideMaskString) {
  // 7 x 300: a full column and a long 3-row band (many repeated deltas).
  at::Tensor m = at::zeros({7, 300}, at::kBool);
  m.select(1, 3).fill_(true);
  m.slice(0, 2, 5).slice(1, 100, 290).fill_(true);
  absl::StatusOr<Rle> rle = MaskToRle(m);
  ASSERT_TRUE(rle.ok());
  const std::string s = EncodeCocoCounts(*rle);
  ASSERT_GT(s.size(), 12u);
  EXPECT_EQ(s.substr(0, 10), "e07Re0LR[O");
  EXPECT_EQ(s.substr(s.size() - 2), "T2");
  EXPECT_EQ(s.find_first_not_of('0', 10), s.size() - 2);
  absl::StatusOr<Rle> back = DecodeCocoCounts(s, 7, 300);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *rle);
}

TEST(RleTest, UncompressedCountsStartWithZeros) {
  absl::StatusOr<Rle> rle = MaskToRle(Mask({{1, 0}, {1, 1}}));
  ASSERT_TRUE(rle.ok());
  // Column-major: 1, 1, 0, 1.
  EXPECT_EQ(rle->counts, (std::vector<int64_t>{0, 2, 1, 1}));
  absl::StatusOr<Rle> empty = MaskToRle(at::zeros({2, 3}, at::kBool));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->counts, (std::vector<int64_t>{6}));
}

TEST(RleTest, RoundTrips) {
  at::Tensor masks = at::rand({5, 13, 17}) > 0.6;
  masks[1].fill_(true);
  masks[2].fill_(false);
  absl::StatusOr<std::vector<Rle>> rles = MasksToRle(masks);
  ASSERT_TRUE(rles.ok());
  ASSERT_EQ(rles->size(), 5u);
  for (int64_t i = 0; i < 5; ++i) {
    const Rle& r = (*rles)[static_cast<size_t>(i)];
    absl::StatusOr<at::Tensor> back = RleToMask(r);
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(at::equal(*back, masks[i]));
    EXPECT_EQ(RleArea(r), masks[i].sum().item<int64_t>());
    absl::StatusOr<Rle> decoded = DecodeCocoCounts(EncodeCocoCounts(r), 13, 17);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, r);
  }
}

TEST(RleTest, RejectsBadInput) {
  EXPECT_FALSE(MasksToRle(at::zeros({3, 4}, at::kBool)).ok());
  EXPECT_FALSE(RleToMask(Rle{2, 2, {1, 2}}).ok());      // 3 pixels, not 4
  EXPECT_FALSE(RleToMask(Rle{2, 2, {5, -1}}).ok());     // negative
  EXPECT_FALSE(DecodeCocoCounts("0<", 3, 3).ok());      // 12 pixels, not 9
  EXPECT_FALSE(DecodeCocoCounts("0\x7f", 3, 4).ok());   // outside alphabet
  EXPECT_FALSE(DecodeCocoCounts("0R", 3, 4).ok());      // ends mid-count
  absl::StatusOr<Rle> ok = DecodeCocoCounts("013", 2, 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->counts, (std::vector<int64_t>{0, 1, 3}));
}

}  // namespace
}  // namespace sam2
