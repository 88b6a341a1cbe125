// Sam2Tracker with hand-made inputs on the micro model: memory-bank
// bookkeeping, frame selection, and the shapes and states of a track step.
// (Numerical parity comes from the golden video script.)

#include "model/sam2_tracker.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/image_encoder.h"
#include "model/model_loader.h"

namespace sam2 {
namespace {

TEST(FrameOutputMapTest, KeepsInsertionOrderLikeADict) {
  FrameOutputMap m;
  m.Set(5, FrameOutput());
  m.Set(2, FrameOutput());
  m.Set(5, FrameOutput());  // replacing keeps the position
  m.Set(9, FrameOutput());
  EXPECT_EQ(m.frames(), (std::vector<int64_t>{5, 2, 9}));
  EXPECT_TRUE(m.Erase(2));
  EXPECT_FALSE(m.Erase(2));
  EXPECT_EQ(m.frames(), (std::vector<int64_t>{5, 9}));
  EXPECT_NE(m.Find(9), nullptr);
  EXPECT_EQ(m.Find(2), nullptr);
}

TEST(SelectClosestCondFramesTest, AllWhenUnlimitedOrFew) {
  auto [sel, unsel] = SelectClosestCondFrames(10, {30, 0, 20}, -1);
  EXPECT_EQ(sel, (std::vector<int64_t>{30, 0, 20}));
  EXPECT_TRUE(unsel.empty());
  std::tie(sel, unsel) = SelectClosestCondFrames(10, {30, 0}, 2);
  EXPECT_EQ(sel, (std::vector<int64_t>{30, 0}));
}

TEST(SelectClosestCondFramesTest, BeforeAfterThenClosest) {
  // Closest before 10 is 8, closest at/after is 10, then by distance: 13
  // (3) before 4 (6) and 30 (20).
  auto [sel, unsel] = SelectClosestCondFrames(10, {0, 4, 8, 10, 13, 30}, 3);
  EXPECT_EQ(sel, (std::vector<int64_t>{8, 10, 13}));
  EXPECT_EQ(unsel, (std::vector<int64_t>{0, 4, 30}));
  // Ties keep dict order (stable sort).
  std::tie(sel, unsel) = SelectClosestCondFrames(10, {12, 8, 14, 6}, 3);
  EXPECT_EQ(sel, (std::vector<int64_t>{8, 12, 14}));
  EXPECT_EQ(unsel, (std::vector<int64_t>{6}));
}

class Sam2TrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    config_ = loaded->config;
    absl::StatusOr<Sam2Tracker> tracker =
        Sam2Tracker::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(tracker.ok()) << tracker.status();
    tracker_.emplace(*std::move(tracker));
    absl::StatusOr<ImageEncoder> encoder =
        ImageEncoder::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(encoder.ok()) << encoder.status();
    at::manual_seed(0);
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<BackboneOutput> out = encoder->ForwardImage(
          at::randn({1, 3, config_.image_size, config_.image_size}));
      ASSERT_TRUE(out.ok()) << out.status();
      frames_.push_back({out->backbone_fpn, out->vision_pos_enc});
    }
  }
  TrackStepInput Input(int64_t frame, bool init) {
    TrackStepInput in;
    in.frame_idx = frame;
    in.is_init_cond_frame = init;
    in.features = &frames_[frame];
    in.memory = &bank_;
    in.num_frames = static_cast<int64_t>(frames_.size());
    return in;
  }
  Sam2Config config_;
  std::optional<Sam2Tracker> tracker_;
  std::vector<TrackingFeatures> frames_;
  ObjectMemoryBank bank_;
};

TEST_F(Sam2TrackerTest, PromptThenTrack) {
  TrackStepInput first = Input(0, true);
  first.point_coords = at::tensor({256.f, 256.f}).view({1, 1, 2});
  first.point_labels = at::ones({1, 1}, at::kInt);
  absl::StatusOr<FrameOutput> out0 = tracker_->TrackStep(first);
  ASSERT_TRUE(out0.ok()) << out0.status();
  const int64_t s = config_.image_size;
  const int64_t e = config_.ImageEmbeddingSize();
  EXPECT_EQ(out0->pred_masks.sizes(), (std::vector<int64_t>{1, 1, s / 4, s / 4}));
  EXPECT_EQ(out0->pred_masks_high_res.sizes(), (std::vector<int64_t>{1, 1, s, s}));
  EXPECT_EQ(out0->obj_ptr.sizes(),
            (std::vector<int64_t>{1, config_.HiddenDim()}));
  EXPECT_EQ(out0->maskmem_features.sizes(),
            (std::vector<int64_t>{1, config_.MemDim(), e, e}));
  bank_.cond_frame_outputs.Set(0, *out0);

  // Frame 1 attends to frame 0's memory and pointer; frame 2 also to frame
  // 1's (a non-conditioning memory), so the two differ from a memoryless run.
  absl::StatusOr<FrameOutput> out1 = tracker_->TrackStep(Input(1, false));
  ASSERT_TRUE(out1.ok()) << out1.status();
  bank_.non_cond_frame_outputs.Set(1, *out1);
  absl::StatusOr<FrameOutput> out2 = tracker_->TrackStep(Input(2, false));
  ASSERT_TRUE(out2.ok()) << out2.status();
  EXPECT_EQ(out2->pred_masks.sizes(), out0->pred_masks.sizes());
  ObjectMemoryBank cond_only;
  cond_only.cond_frame_outputs.Set(0, *out0);
  TrackStepInput alone = Input(2, false);
  alone.memory = &cond_only;
  absl::StatusOr<FrameOutput> out2_cond_only = tracker_->TrackStep(alone);
  ASSERT_TRUE(out2_cond_only.ok());
  EXPECT_FALSE(at::allclose(out2->pred_masks, out2_cond_only->pred_masks));

  // Without the memory encoder nothing is encoded.
  TrackStepInput no_mem = Input(1, false);
  no_mem.run_mem_encoder = false;
  absl::StatusOr<FrameOutput> out1b = tracker_->TrackStep(no_mem);
  ASSERT_TRUE(out1b.ok());
  EXPECT_FALSE(out1b->maskmem_features.defined());
  EXPECT_TRUE(at::equal(out1b->pred_masks, out1->pred_masks));
}

TEST_F(Sam2TrackerTest, MaskPromptsAreUsedAsOutput) {
  TrackStepInput in = Input(0, true);
  at::Tensor mask = at::zeros({1, 1, config_.image_size, config_.image_size});
  mask.slice(2, 10, 100).slice(3, 10, 100).fill_(1);
  in.mask_inputs = mask;
  absl::StatusOr<FrameOutput> out = tracker_->TrackStep(in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(at::equal(out->pred_masks_high_res, mask * 20 - 10));
  EXPECT_FLOAT_EQ(out->object_score_logits.item<float>(), 10.f);
}

TEST_F(Sam2TrackerTest, MultimaskFollowsTheConfig) {
  // The micro config: multimask for 0..1 points, also when tracking.
  EXPECT_TRUE(tracker_->UseMultimask(true, 0));
  EXPECT_TRUE(tracker_->UseMultimask(false, 1));
  EXPECT_FALSE(tracker_->UseMultimask(true, 2));
}

TEST_F(Sam2TrackerTest, TrackingNeedsAConditioningFrame) {
  EXPECT_EQ(tracker_->TrackStep(Input(1, false)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  TrackStepInput none;
  EXPECT_EQ(tracker_->TrackStep(none).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
