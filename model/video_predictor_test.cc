// VideoPredictor states and bad input on the micro model and the fixture
// frames. (Numerical parity: the golden video script in tests/golden.)

#include "model/video_predictor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/model_loader.h"

namespace sam2 {
namespace {

class VideoPredictorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<std::shared_ptr<const VideoPredictor>> p =
        VideoPredictor::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(p.ok()) << p.status();
    predictor_ = *p;
    absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>> source =
        JpegFolderFrameSource::Open("tests/fixtures/sam2.1-micro/frames");
    ASSERT_TRUE(source.ok()) << source.status();
    absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
        predictor_->InitState(*std::move(source), {/*frame_cache_frames=*/2});
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = *std::move(state);
  }
  absl::StatusOr<VideoFrameMasks> Click(int64_t frame, int64_t obj, float x,
                                        float y) {
    return predictor_->AddNewPointsOrBox(*state_, frame, obj,
                                         at::tensor({x, y}).view({1, 2}),
                                         at::tensor({1}, at::kInt), at::Tensor());
  }
  std::shared_ptr<const VideoPredictor> predictor_;
  std::unique_ptr<VideoInferenceState> state_;
};

TEST_F(VideoPredictorTest, PromptPropagateAndBytes) {
  EXPECT_EQ(state_->num_frames(), 8);
  EXPECT_EQ(state_->video_height(), 180);
  absl::StatusOr<VideoFrameMasks> m = Click(2, 5, 160, 90);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->obj_ids, std::vector<int64_t>{5});
  EXPECT_EQ(m->masks.sizes(), (std::vector<int64_t>{1, 1, 180, 320}));
  const int64_t before = state_->NumBytes();
  std::vector<int64_t> frames;
  ASSERT_TRUE(predictor_
                  ->PropagateInVideo(*state_, PropagateOptions(),
                                     [&](const VideoFrameMasks& f) {
                                       frames.push_back(f.frame_idx);
                                       return absl::OkStatus();
                                     })
                  .ok());
  EXPECT_EQ(frames, (std::vector<int64_t>{2, 3, 4, 5, 6, 7}));
  EXPECT_GT(state_->NumBytes(), before);  // memories of frames 2..7

  // Reverse from frame 2 with at most one more frame: 2, 1.
  frames.clear();
  PropagateOptions back;
  back.start_frame = 2;
  back.max_frames = 1;
  back.reverse = true;
  ASSERT_TRUE(predictor_
                  ->PropagateInVideo(*state_, back,
                                     [&](const VideoFrameMasks& f) {
                                       frames.push_back(f.frame_idx);
                                       return absl::OkStatus();
                                     })
                  .ok());
  EXPECT_EQ(frames, (std::vector<int64_t>{2, 1}));
}

TEST_F(VideoPredictorTest, TheCallbackCanStopPropagation) {
  ASSERT_TRUE(Click(0, 1, 160, 90).ok());
  int seen = 0;
  absl::Status s = predictor_->PropagateInVideo(
      *state_, PropagateOptions(), [&](const VideoFrameMasks&) {
        return ++seen == 3 ? absl::CancelledError("client went away")
                           : absl::OkStatus();
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 3);
  // The state stays usable.
  EXPECT_TRUE(Click(4, 1, 100, 50).ok());
}

TEST_F(VideoPredictorTest, BadRequests) {
  // Propagate with no prompts.
  EXPECT_EQ(predictor_->PropagateInVideo(*state_, PropagateOptions(),
                                         [](const VideoFrameMasks&) {
                                           return absl::OkStatus();
                                         })
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Frame out of range.
  EXPECT_EQ(Click(8, 1, 10, 10).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Click(-1, 1, 10, 10).status().code(), absl::StatusCode::kOutOfRange);
  // Off the frame.
  EXPECT_EQ(Click(0, 1, 400, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A box with clear_old_points = false.
  EXPECT_EQ(predictor_
                ->AddNewPointsOrBox(*state_, 0, 1, at::Tensor(), at::Tensor(),
                                    at::tensor({1.f, 2.f, 30.f, 40.f}),
                                    /*clear_old_points=*/false)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Inverted box, bad label, neither points nor box.
  EXPECT_FALSE(predictor_
                   ->AddNewPointsOrBox(*state_, 0, 1, at::Tensor(), at::Tensor(),
                                       at::tensor({30.f, 2.f, 1.f, 40.f}))
                   .ok());
  EXPECT_FALSE(predictor_
                   ->AddNewPointsOrBox(*state_, 0, 1,
                                       at::tensor({1.f, 1.f}).view({1, 2}),
                                       at::tensor({5}, at::kInt), at::Tensor())
                   .ok());
  EXPECT_FALSE(predictor_
                   ->AddNewPointsOrBox(*state_, 0, 1, at::Tensor(), at::Tensor(),
                                       at::Tensor())
                   .ok());
  // A mask of the wrong size.
  EXPECT_EQ(predictor_->AddNewMask(*state_, 0, 1, at::ones({100, 100}, at::kBool))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // None of these created an object.
  EXPECT_TRUE(state_->obj_ids().empty());
  // Unknown object: a no-op, or NOT_FOUND when strict.
  EXPECT_TRUE(predictor_->RemoveObject(*state_, 42).ok());
  EXPECT_EQ(predictor_->RemoveObject(*state_, 42, /*strict=*/true).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(VideoPredictorTest, RemoveClearAndReset) {
  ASSERT_TRUE(Click(0, 1, 160, 90).ok());
  at::Tensor mask = at::zeros({180, 320}, at::kBool);
  mask.slice(0, 20, 80).slice(1, 30, 120).fill_(true);
  absl::StatusOr<VideoFrameMasks> m = predictor_->AddNewMask(*state_, 1, 2, mask);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->obj_ids, (std::vector<int64_t>{1, 2}));
  // Object 1 has nothing on frame 1 yet: the no-object score.
  EXPECT_TRUE((m->masks[0] == kNoObjScore).all().item<bool>());
  EXPECT_EQ(state_->PromptedFrames(2), std::vector<int64_t>{1});

  absl::StatusOr<VideoFrameMasks> cleared =
      predictor_->ClearAllPromptsInFrame(*state_, 1, 2);
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_TRUE(state_->PromptedFrames(2).empty());
  // Object 2 has no prompts left: propagation says so.
  absl::Status s = predictor_->PropagateInVideo(
      *state_, PropagateOptions(),
      [](const VideoFrameMasks&) { return absl::OkStatus(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("object 2"), absl::string_view::npos) << s;

  absl::StatusOr<RemoveObjectResult> removed = predictor_->RemoveObject(*state_, 2);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->obj_ids, std::vector<int64_t>{1});
  predictor_->ResetState(*state_);
  EXPECT_TRUE(state_->obj_ids().empty());
}

}  // namespace
}  // namespace sam2

namespace sam2 {
namespace {

// Runs the same prompts and propagations in a state and returns every mask
// it produced, in order.
std::vector<at::Tensor> RunScript(const VideoPredictor& predictor,
                                  VideoInferenceState& state) {
  std::vector<at::Tensor> masks;
  auto keep = [&](const VideoFrameMasks& f) {
    masks.push_back(f.masks);
    return absl::OkStatus();
  };
  auto click = [&](int64_t frame, int64_t obj, float x, float y, int label) {
    absl::StatusOr<VideoFrameMasks> m = predictor.AddNewPointsOrBox(
        state, frame, obj, at::tensor({x, y}).view({1, 2}),
        at::tensor({label}, at::kInt), at::Tensor(), /*clear_old_points=*/false);
    EXPECT_TRUE(m.ok()) << m.status();
    if (m.ok()) masks.push_back(m->masks);
  };
  click(0, 1, 160, 90, 1);
  click(0, 2, 60, 40, 1);
  EXPECT_TRUE(predictor.PropagateInVideo(state, PropagateOptions(), keep).ok());
  // A correction on a tracked frame reads the memories before it.
  click(6, 1, 200, 70, 0);
  PropagateOptions back;
  back.start_frame = 7;
  back.reverse = true;
  EXPECT_TRUE(predictor.PropagateInVideo(state, back, keep).ok());
  EXPECT_TRUE(predictor.PropagateInVideo(state, PropagateOptions(), keep).ok());
  return masks;
}

TEST(LongVideoModeTest, DroppedMemoriesAreRebuiltExactly) {
  absl::StatusOr<LoadedModel> loaded =
      LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::shared_ptr<const VideoPredictor>> predictor =
      VideoPredictor::Create(loaded->config, loaded->weights);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  auto open = [&](int64_t window) {
    absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>> source =
        JpegFolderFrameSource::Open("tests/fixtures/sam2.1-micro/frames");
    EXPECT_TRUE(source.ok()) << source.status();
    VideoStateOptions options;
    options.long_video_window = window;
    absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
        (*predictor)->InitState(*std::move(source), options);
    EXPECT_TRUE(state.ok()) << state.status();
    return *std::move(state);
  };
  std::unique_ptr<VideoInferenceState> full = open(0);
  std::unique_ptr<VideoInferenceState> windowed = open(1);
  const std::vector<at::Tensor> expected = RunScript(**predictor, *full);
  const std::vector<at::Tensor> got = RunScript(**predictor, *windowed);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(at::equal(got[i], expected[i])) << "output " << i;
  }
  EXPECT_EQ(full->memories_evicted(), 0);
  EXPECT_GT(windowed->memories_evicted(), 0);
  EXPECT_GT(windowed->memories_rebuilt(), 0);
  EXPECT_GT(windowed->bytes_spilled(), 0);
  EXPECT_EQ(full->bytes_spilled(), 0);
  EXPECT_LT(windowed->NumBytes(), full->NumBytes());
}

}  // namespace
}  // namespace sam2
