// SamHeads on the micro model with hand-made inputs. (Parity with the
// reference comes through the golden video script, which runs these heads
// on every tracked frame.)

#include "model/sam_heads.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/model_loader.h"

namespace sam2 {
namespace {

class SamHeadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    model_ = *std::move(loaded);
    absl::StatusOr<SamHeads> heads = SamHeads::Create(model_.config, model_.weights);
    ASSERT_TRUE(heads.ok()) << heads.status();
    heads_.emplace(*std::move(heads));
    const int64_t c = model_.config.HiddenDim();
    const int64_t e = model_.config.ImageEmbeddingSize();
    at::manual_seed(3);
    features_ = at::randn({1, c, e, e});
    high_res_ = {at::randn({1, c / 8, 4 * e, 4 * e}),
                 at::randn({1, c / 4, 2 * e, 2 * e})};
  }
  LoadedModel model_;
  std::optional<SamHeads> heads_;
  at::Tensor features_;
  std::vector<at::Tensor> high_res_;
};

TEST_F(SamHeadsTest, NoPromptPadsAndGivesOneMask) {
  absl::StatusOr<SamHeadsOutput> out = heads_->Forward(
      features_, at::Tensor(), at::Tensor(), at::Tensor(), high_res_, false);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->low_res_masks.sizes(), (std::vector<int64_t>{1, 1, 128, 128}));
  EXPECT_EQ(out->high_res_masks.sizes(), (std::vector<int64_t>{1, 1, 512, 512}));
  EXPECT_EQ(out->obj_ptr.sizes(), (std::vector<int64_t>{1, 32}));
  EXPECT_EQ(out->object_score_logits.sizes(), (std::vector<int64_t>{1, 1}));
}

// Runs multimask tracking-style predictions with the object-score head's
// last bias moved by `bias_shift`, and checks the gating on each.
void CheckGating(const LoadedModel& model, const at::Tensor& features,
                 const std::vector<at::Tensor>& high_res, float bias_shift,
                 bool expect_present) {
  StateDict weights;
  for (const NamedTensor& t : model.weights) {
    at::Tensor v = t.tensor;
    if (t.name == "sam_mask_decoder.pred_obj_score_head.layers.2.bias") {
      v = v + bias_shift;
    }
    ASSERT_TRUE(weights.Add(t.name, v).ok());
  }
  absl::StatusOr<SamHeads> heads = SamHeads::Create(model.config, weights);
  ASSERT_TRUE(heads.ok()) << heads.status();
  for (int i = 0; i < 4; ++i) {
    at::Tensor coords = at::rand({1, 1, 2}) * 512;
    absl::StatusOr<SamHeadsOutput> out = heads->Forward(
        features, coords, at::ones({1, 1}, at::kInt), at::Tensor(), high_res, true);
    ASSERT_TRUE(out.ok()) << out.status();
    // The best mask is the argmax-IoU one of the three.
    const int64_t best = out->ious.argmax(-1).item<int64_t>();
    EXPECT_TRUE(at::equal(out->low_res_masks[0][0], out->low_res_multimasks[0][best]));
    const bool present = out->object_score_logits.item<float>() > 0;
    ASSERT_EQ(present, expect_present);
    const at::Tensor& no_obj_ptr = *model.weights.Find("no_obj_ptr");
    if (present) {
      EXPECT_FALSE((out->low_res_masks == kNoObjScore).all().item<bool>());
      EXPECT_FALSE(at::allclose(out->obj_ptr, no_obj_ptr));
    } else {
      EXPECT_TRUE((out->low_res_multimasks == kNoObjScore).all().item<bool>());
      EXPECT_TRUE((out->high_res_masks == kNoObjScore).all().item<bool>());
      // fixed_no_obj_ptr: the pointer is exactly no_obj_ptr.
      EXPECT_TRUE(at::allclose(out->obj_ptr, no_obj_ptr));
    }
  }
}

TEST_F(SamHeadsTest, PresentObjectsKeepTheirMasks) {
  CheckGating(model_, features_, high_res_, 100.f, true);
}

TEST_F(SamHeadsTest, AbsentObjectsGetTheNoObjectScoreAndPointer) {
  CheckGating(model_, features_, high_res_, -100.f, false);
}

TEST_F(SamHeadsTest, MaskAsOutput) {
  at::Tensor empty = at::zeros({1, 1, 512, 512});
  absl::StatusOr<SamHeadsOutput> none =
      heads_->UseMaskAsOutput(features_, high_res_, empty);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FLOAT_EQ(none->object_score_logits.item<float>(), -10.f);
  EXPECT_TRUE(at::allclose(none->obj_ptr, *model_.weights.Find("no_obj_ptr")));
  EXPECT_TRUE((none->high_res_masks == -10).all().item<bool>());

  at::Tensor square = at::zeros({1, 1, 512, 512});
  square.slice(2, 100, 300).slice(3, 200, 400).fill_(1);
  absl::StatusOr<SamHeadsOutput> some =
      heads_->UseMaskAsOutput(features_, high_res_, square.to(at::kBool));
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_FLOAT_EQ(some->object_score_logits.item<float>(), 10.f);
  EXPECT_FLOAT_EQ(some->high_res_masks[0][0][150][250].item<float>(), 10.f);
  EXPECT_FLOAT_EQ(some->high_res_masks[0][0][10][10].item<float>(), -10.f);
  EXPECT_EQ(some->low_res_masks.sizes(), (std::vector<int64_t>{1, 1, 128, 128}));
  EXPECT_FLOAT_EQ(some->ious.item<float>(), 1.f);
  EXPECT_FALSE(at::allclose(some->obj_ptr, *model_.weights.Find("no_obj_ptr")));
}

TEST_F(SamHeadsTest, RejectsBadShapes) {
  EXPECT_EQ(heads_->Forward(at::randn({32, 32}), at::Tensor(), at::Tensor(),
                            at::Tensor(), high_res_, false)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(heads_->Forward(features_, at::zeros({1, 2, 2}),
                            at::zeros({1, 3}, at::kInt), at::Tensor(), high_res_,
                            false)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(heads_->UseMaskAsOutput(features_, high_res_, at::zeros({512, 512}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
