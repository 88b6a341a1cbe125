// VideoPredictor states and bad input on the micro model and the fixture
// frames: object scores, propagation one frame at a time, frame sources.
// (Numerical parity: the golden video script in tests/golden.)

#include "model/video_predictor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_format.h"
#include "model/image_io.h"
#include "model/model_loader.h"
#include "model/video_frames.h"

namespace sam2 {

// Reads what the predictor stored (befriended by VideoInferenceState).
class VideoInferenceStateTestPeer {
 public:
  // The output of `obj_id` on `frame` that a result reports: a temporary
  // (prompted, not yet consolidated) one first, then the tracked ones, as
  // the consolidation looks them up. nullptr when there is none.
  static const FrameOutput* Stored(const VideoInferenceState& state,
                                   int64_t obj_id, int64_t frame) {
    for (size_t i = 0; i < state.obj_ids_.size(); ++i) {
      if (state.obj_ids_[i] != obj_id) continue;
      const VideoInferenceState::ObjectState& o = state.objects_[i];
      for (const FrameOutputMap* m :
           {&o.temp.cond_frame_outputs, &o.temp.non_cond_frame_outputs,
            &o.output.cond_frame_outputs, &o.output.non_cond_frame_outputs}) {
        if (const FrameOutput* out = m->Find(frame)) return out;
      }
    }
    return nullptr;
  }
  // The stored object score logit as a [1] tensor.
  static at::Tensor StoredScore(const VideoInferenceState& state,
                                int64_t obj_id, int64_t frame) {
    const FrameOutput* out = Stored(state, obj_id, frame);
    EXPECT_NE(out, nullptr) << "object " << obj_id << " frame " << frame;
    return out == nullptr ? at::Tensor()
                          : out->object_score_logits.reshape({-1});
  }
};

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
    state_ = OpenState();
    ASSERT_NE(state_, nullptr);
  }
  // A state over the fixture frames (nullptr on failure, reported).
  std::unique_ptr<VideoInferenceState> OpenState() {
    absl::StatusOr<std::unique_ptr<JpegFolderFrameSource>> source =
        JpegFolderFrameSource::Open("tests/fixtures/sam2.1-micro/frames");
    EXPECT_TRUE(source.ok()) << source.status();
    if (!source.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<VideoInferenceState>> state =
        predictor_->InitState(*std::move(source), {/*frame_cache_frames=*/2});
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *std::move(state) : nullptr;
  }
  absl::StatusOr<VideoFrameMasks> Click(VideoInferenceState& state,
                                        int64_t frame, int64_t obj, float x,
                                        float y) {
    return predictor_->AddNewPointsOrBox(state, frame, obj,
                                         at::tensor({x, y}).view({1, 2}),
                                         at::tensor({1}, at::kInt), at::Tensor());
  }
  absl::StatusOr<VideoFrameMasks> Click(int64_t frame, int64_t obj, float x,
                                        float y) {
    return Click(*state_, frame, obj, x, y);
  }
  // PropagateInVideo's frames.
  std::vector<VideoFrameMasks> Propagate(VideoInferenceState& state,
                                         const PropagateOptions& options) {
    std::vector<VideoFrameMasks> frames;
    absl::Status s = predictor_->PropagateInVideo(
        state, options, [&](const VideoFrameMasks& f) {
          frames.push_back(f);
          return absl::OkStatus();
        });
    EXPECT_TRUE(s.ok()) << s;
    return frames;
  }
  // BeginPropagation + PropagateFrame's frames.
  std::vector<VideoFrameMasks> PropagateByFrame(VideoInferenceState& state,
                                                const PropagateOptions& options) {
    std::vector<VideoFrameMasks> frames;
    absl::StatusOr<std::vector<int64_t>> plan =
        predictor_->BeginPropagation(state, options);
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (!plan.ok()) return frames;
    for (int64_t f : *plan) {
      absl::StatusOr<VideoFrameMasks> m =
          predictor_->PropagateFrame(state, f, options.reverse);
      EXPECT_TRUE(m.ok()) << m.status();
      if (!m.ok()) break;
      EXPECT_EQ(m->frame_idx, f);
      frames.push_back(*std::move(m));
    }
    return frames;
  }
  // The result's scores equal what the state stored for each object.
  void ExpectStoredScores(const VideoFrameMasks& m) {
    ASSERT_EQ(m.object_score_logits.sizes(),
              (std::vector<int64_t>{static_cast<int64_t>(m.obj_ids.size())}));
    EXPECT_EQ(m.object_score_logits.scalar_type(), at::kFloat);
    for (size_t i = 0; i < m.obj_ids.size(); ++i) {
      const at::Tensor stored =
          VideoInferenceStateTestPeer::StoredScore(*state_, m.obj_ids[i], m.frame_idx);
      ASSERT_TRUE(stored.defined());
      EXPECT_TRUE(at::equal(m.object_score_logits.narrow(0, i, 1), stored))
          << "frame " << m.frame_idx << " object " << m.obj_ids[i];
    }
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

TEST_F(VideoPredictorTest, ObjectScoresAreTheStoredOutputs) {
  // A prompted frame: the temporary output's score.
  absl::StatusOr<VideoFrameMasks> m = Click(2, 5, 160, 90);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->object_score_logits.sizes(), (std::vector<int64_t>{1}));
  ExpectStoredScores(*m);
  // A second object prompted on another frame: the first has no output
  // there, so the placeholder (and the no-object mask).
  at::Tensor mask = at::zeros({180, 320}, at::kBool);
  mask.slice(0, 20, 80).slice(1, 30, 120).fill_(true);
  absl::StatusOr<VideoFrameMasks> m2 = predictor_->AddNewMask(*state_, 4, 7, mask);
  ASSERT_TRUE(m2.ok()) << m2.status();
  ASSERT_EQ(m2->obj_ids, (std::vector<int64_t>{5, 7}));
  ASSERT_EQ(m2->object_score_logits.sizes(), (std::vector<int64_t>{2}));
  EXPECT_EQ(m2->object_score_logits[0].item<float>(), kMissingObjectScoreLogit);
  EXPECT_TRUE((m2->masks[0] == kNoObjScore).all().item<bool>());
  EXPECT_TRUE(at::equal(m2->object_score_logits.narrow(0, 1, 1),
                        VideoInferenceStateTestPeer::StoredScore(*state_, 7, 4)));
  // Propagation: every frame's scores are the outputs it stored (the
  // prompted frames' conditioning outputs included).
  const std::vector<VideoFrameMasks> frames = Propagate(*state_, PropagateOptions());
  ASSERT_EQ(frames.size(), 6u);  // 2..7
  for (const VideoFrameMasks& f : frames) ExpectStoredScores(f);
  // Clearing a prompt: the output moved to the tracked outputs, same score.
  absl::StatusOr<VideoFrameMasks> cleared =
      predictor_->ClearAllPromptsInFrame(*state_, 4, 7);
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  ExpectStoredScores(*cleared);
  EXPECT_TRUE(at::equal(cleared->object_score_logits, frames[2].object_score_logits));
  // Removing an object: the frames it was prompted on, without it.
  absl::StatusOr<RemoveObjectResult> removed = predictor_->RemoveObject(*state_, 5);
  ASSERT_TRUE(removed.ok()) << removed.status();
  ASSERT_EQ(removed->updated_frames.size(), 1u);
  const VideoFrameMasks& updated = removed->updated_frames[0];
  EXPECT_EQ(updated.frame_idx, 2);
  EXPECT_EQ(updated.obj_ids, std::vector<int64_t>{7});
  ExpectStoredScores(updated);
  EXPECT_TRUE(at::equal(updated.object_score_logits,
                        frames[0].object_score_logits.narrow(0, 1, 1)));
}

TEST_F(VideoPredictorTest, FrameByFramePropagationEqualsPropagateInVideo) {
  std::unique_ptr<VideoInferenceState> other = OpenState();
  ASSERT_NE(other, nullptr);
  // The same prompts in both states; state_ propagates with
  // PropagateInVideo, `other` one frame at a time.
  auto prompt = [&](VideoInferenceState& s, int64_t frame, int64_t obj,
                    float x, float y) {
    absl::StatusOr<VideoFrameMasks> m = Click(s, frame, obj, x, y);
    ASSERT_TRUE(m.ok()) << m.status();
  };
  auto expect_same = [](const std::vector<VideoFrameMasks>& a,
                        const std::vector<VideoFrameMasks>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].frame_idx, b[i].frame_idx);
      EXPECT_EQ(a[i].obj_ids, b[i].obj_ids);
      EXPECT_TRUE(at::equal(a[i].masks, b[i].masks)) << "frame " << a[i].frame_idx;
      EXPECT_TRUE(at::equal(a[i].object_score_logits, b[i].object_score_logits))
          << "frame " << a[i].frame_idx;
    }
  };
  for (VideoInferenceState* s : {state_.get(), other.get()}) {
    prompt(*s, 3, 1, 160, 90);
    prompt(*s, 3, 2, 60, 40);
  }
  // Forward from the prompted frame.
  const std::vector<VideoFrameMasks> forward = Propagate(*state_, PropagateOptions());
  ASSERT_EQ(forward.size(), 5u);  // 3..7
  expect_same(forward, PropagateByFrame(*other, PropagateOptions()));
  // A correction, then reverse from the last frame (reads the memories of
  // the forward pass and the new conditioning frame).
  for (VideoInferenceState* s : {state_.get(), other.get()}) {
    prompt(*s, 5, 1, 200, 70);
  }
  PropagateOptions back;
  back.start_frame = 7;
  back.reverse = true;
  const std::vector<VideoFrameMasks> reverse = Propagate(*state_, back);
  ASSERT_EQ(reverse.size(), 8u);  // 7..0
  expect_same(reverse, PropagateByFrame(*other, back));
}

TEST_F(VideoPredictorTest, PropagationPlansAndStepErrors) {
  // No prompts: the preflight's error, and no step either.
  EXPECT_EQ(predictor_->BeginPropagation(*state_, PropagateOptions()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(predictor_->PropagateFrame(*state_, 0, false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Click(0, 1, 160, 90).ok());
  // A prompt not yet consolidated: BeginPropagation must run first.
  absl::StatusOr<VideoFrameMasks> early = predictor_->PropagateFrame(*state_, 1, false);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("BeginPropagation"), absl::string_view::npos)
      << early.status();
  // Bad options.
  PropagateOptions bad;
  bad.start_frame = 8;
  EXPECT_EQ(predictor_->BeginPropagation(*state_, bad).status().code(),
            absl::StatusCode::kOutOfRange);
  bad.start_frame = -1;
  EXPECT_EQ(predictor_->BeginPropagation(*state_, bad).status().code(),
            absl::StatusCode::kOutOfRange);
  bad.start_frame.reset();
  bad.max_frames = -1;
  EXPECT_EQ(predictor_->BeginPropagation(*state_, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Plans: reverse from the earliest prompted frame (0) is empty, as in the
  // reference; max_frames counts the frames after the start.
  PropagateOptions back;
  back.reverse = true;
  absl::StatusOr<std::vector<int64_t>> plan = predictor_->BeginPropagation(*state_, back);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->empty());
  EXPECT_TRUE(Propagate(*state_, back).empty());
  PropagateOptions some;
  some.max_frames = 2;
  plan = predictor_->BeginPropagation(*state_, some);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, (std::vector<int64_t>{0, 1, 2}));
  some.start_frame = 6;
  plan = predictor_->BeginPropagation(*state_, some);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, (std::vector<int64_t>{6, 7}));
  // A step outside the video is a status, and changes nothing.
  EXPECT_EQ(predictor_->PropagateFrame(*state_, 8, false).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(predictor_->PropagateFrame(*state_, -1, true).status().code(),
            absl::StatusCode::kOutOfRange);
  absl::StatusOr<VideoFrameMasks> m = predictor_->PropagateFrame(*state_, 0, false);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->masks.sizes(), (std::vector<int64_t>{1, 1, 180, 320}));
  ExpectStoredScores(*m);
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
    masks.push_back(f.object_score_logits);
    return absl::OkStatus();
  };
  auto click = [&](int64_t frame, int64_t obj, float x, float y, int label) {
    absl::StatusOr<VideoFrameMasks> m = predictor.AddNewPointsOrBox(
        state, frame, obj, at::tensor({x, y}).view({1, 2}),
        at::tensor({label}, at::kInt), at::Tensor(), /*clear_old_points=*/false);
    EXPECT_TRUE(m.ok()) << m.status();
    if (m.ok()) {
      masks.push_back(m->masks);
      masks.push_back(m->object_score_logits);
    }
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

// RGB uint8 [H, W, 3] -> PNG bytes (lossless).
std::string EncodePng(const at::Tensor& rgb) {
  at::Tensor c = rgb.contiguous();
  cv::Mat view(static_cast<int>(c.size(0)), static_cast<int>(c.size(1)), CV_8UC3,
               c.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(".png", bgr, buf));
  return std::string(buf.begin(), buf.end());
}

TEST(EncodedFramesTest, SameMasksAsDecodedFrames) {
  absl::StatusOr<LoadedModel> loaded =
      LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::shared_ptr<const VideoPredictor>> predictor =
      VideoPredictor::Create(loaded->config, loaded->weights);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  // The fixture frames, as pixels and as PNG bytes of the same pixels.
  auto decoded = std::make_unique<InMemoryFrameSource>();
  auto encoded = std::make_unique<EncodedFrameSource>();
  int64_t pixel_bytes = 0;
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<RgbImage> img = DecodeImageFile(absl::StrFormat(
        "tests/fixtures/sam2.1-micro/frames/%05d.jpg", i));
    ASSERT_TRUE(img.ok()) << img.status();
    ASSERT_TRUE(decoded->AppendFrame(img->pixels).ok());
    ASSERT_TRUE(encoded->AppendEncodedFrame(EncodePng(img->pixels)).ok());
    pixel_bytes += static_cast<int64_t>(img->pixels.nbytes());
  }
  const int64_t encoded_bytes = encoded->encoded_bytes();
  // A frame cache smaller than the video, so frames are decoded again.
  VideoStateOptions options;
  options.frame_cache_frames = 2;
  absl::StatusOr<std::unique_ptr<VideoInferenceState>> a =
      (*predictor)->InitState(std::move(decoded), options);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<VideoInferenceState>> b =
      (*predictor)->InitState(std::move(encoded), options);
  ASSERT_TRUE(b.ok()) << b.status();
  // The states count their sources' frames: the same model state, the
  // pixels in one, the PNG bytes in the other.
  EXPECT_EQ((*a)->NumBytes() - pixel_bytes, (*b)->NumBytes() - encoded_bytes);
  const std::vector<at::Tensor> want = RunScript(**predictor, **a);
  const std::vector<at::Tensor> got = RunScript(**predictor, **b);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(at::equal(got[i], want[i])) << "output " << i;
  }
}

}  // namespace
}  // namespace sam2
