// ImagePredictor behaviour beyond the golden parity (tests/golden): states,
// batches, options and bad input, on the micro model.

#include "model/image_predictor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/image_io.h"
#include "model/model_loader.h"

namespace sam2 {
namespace {

class ImagePredictorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<LoadedModel> loaded =
        LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<std::shared_ptr<const Sam2Model>> model =
        Sam2Model::Create(loaded->config, loaded->weights);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new std::shared_ptr<const Sam2Model>(*model);
    absl::StatusOr<RgbImage> image =
        DecodeImageFile("tests/fixtures/sam2.1-micro/image.png");
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = new at::Tensor(image->pixels);
  }
  static ImagePromptInput Click(float x, float y, int label = 1) {
    ImagePromptInput p;
    p.point_coords = at::tensor({x, y}).view({1, 2});
    p.point_labels = at::tensor({label}, at::kInt);
    return p;
  }
  static std::shared_ptr<const Sam2Model>* model_;
  static at::Tensor* image_;
};
std::shared_ptr<const Sam2Model>* ImagePredictorTest::model_ = nullptr;
at::Tensor* ImagePredictorTest::image_ = nullptr;

TEST_F(ImagePredictorTest, PredictBeforeSetImageIsAPreconditionError) {
  ImagePredictor predictor(*model_);
  EXPECT_FALSE(predictor.is_image_set());
  EXPECT_EQ(predictor.Predict(Click(10, 10)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(predictor.PredictBatch({Click(10, 10)}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ImagePredictorTest, MasksAtTheOriginalSize) {
  ImagePredictor predictor(*model_);
  ASSERT_TRUE(predictor.SetImage(*image_).ok());
  absl::StatusOr<Prediction> p = predictor.Predict(Click(270, 220));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->masks.sizes(), (std::vector<int64_t>{3, 400, 600}));
  EXPECT_EQ(p->masks.scalar_type(), at::kBool);
  EXPECT_EQ(p->iou_predictions.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(p->low_res_logits.sizes(), (std::vector<int64_t>{3, 128, 128}));
  EXPECT_LE(p->low_res_logits.abs().max().item<float>(), 32.f);

  PredictOptions single;
  single.multimask_output = false;
  single.return_logits = true;
  absl::StatusOr<Prediction> s = predictor.Predict(Click(270, 220), single);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->masks.sizes(), (std::vector<int64_t>{1, 400, 600}));
  EXPECT_EQ(s->masks.scalar_type(), at::kFloat);
  EXPECT_GT(predictor.features()[0].NumBytes(), 0);

  // Refinement with the previous low-resolution logits.
  ImagePromptInput refine = Click(300, 200);
  refine.mask_input = s->low_res_logits;
  EXPECT_TRUE(predictor.Predict(refine, single).ok());
}

TEST_F(ImagePredictorTest, ClicksReuseTheImageSideOfTheDecoder) {
  absl::StatusOr<std::vector<ImageFeatures>> embedded =
      EmbedImages(**model_, {*image_});
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  const ImageFeatures& with = embedded->front();
  ASSERT_TRUE(with.decoder_image.defined());
  EXPECT_EQ(with.decoder_image.keys.size(2),
            with.image_embed.size(2) * with.image_embed.size(3));
  ImageFeatures without = with;
  without.decoder_image = TwoWayImageProjections();
  EXPECT_EQ(with.NumBytes(),
            without.NumBytes() + with.decoder_image.NumBytes());

  // Exactly the masks of computing it per click: one click, several clicks
  // on the image at once, and a click with a mask input (which the cached
  // side does not apply to).
  const auto same = [&](const ImagePromptInput& prompt) {
    PredictOptions logits;
    logits.return_logits = true;
    absl::StatusOr<Prediction> a =
        PredictMasks(**model_, {}, with, prompt, logits);
    absl::StatusOr<Prediction> b =
        PredictMasks(**model_, {}, without, prompt, logits);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_TRUE(at::equal(a->masks, b->masks));
    EXPECT_TRUE(at::equal(a->iou_predictions, b->iou_predictions));
  };
  same(Click(270, 220));
  ImagePromptInput two_boxes;
  two_boxes.box = at::tensor({10.f, 20.f, 200.f, 220.f, 300.f, 100.f, 500.f,
                              380.f})
                      .view({2, 4});
  same(two_boxes);
  ImagePromptInput refine = Click(300, 200);
  refine.mask_input = at::randn({1, 1, 128, 128});
  same(refine);

  // The cached side is what clicks use (another image's changes their
  // masks), except with a mask input.
  absl::StatusOr<std::vector<ImageFeatures>> other =
      EmbedImages(**model_, {image_->flip(1).contiguous()});
  ASSERT_TRUE(other.ok()) << other.status();
  ImageFeatures swapped = with;
  swapped.decoder_image = other->front().decoder_image;
  PredictOptions logits;
  logits.return_logits = true;
  absl::StatusOr<Prediction> right =
      PredictMasks(**model_, {}, with, Click(270, 220), logits);
  absl::StatusOr<Prediction> wrong =
      PredictMasks(**model_, {}, swapped, Click(270, 220), logits);
  ASSERT_TRUE(right.ok() && wrong.ok());
  EXPECT_FALSE(at::equal(right->masks, wrong->masks));
  absl::StatusOr<Prediction> refined =
      PredictMasks(**model_, {}, swapped, refine, logits);
  absl::StatusOr<Prediction> refined_right =
      PredictMasks(**model_, {}, with, refine, logits);
  ASSERT_TRUE(refined.ok() && refined_right.ok());
  EXPECT_TRUE(at::equal(refined->masks, refined_right->masks));

  // A batch across images stacks each image's cached side: the same
  // logits (to round-off) as computing it, different with a wrong one.
  const ImageFeatures& flipped = other->front();
  ImageFeatures flipped_without = flipped;
  flipped_without.decoder_image = TwoWayImageProjections();
  const auto batch = [&](const ImageFeatures& first,
                         const ImageFeatures& second) {
    std::vector<absl::StatusOr<Prediction>> out = PredictMasksBatch(
        **model_, {},
        {{&first, Click(270, 220), logits}, {&second, Click(120, 80), logits}});
    EXPECT_TRUE(out[0].ok() && out[1].ok());
    return at::stack({out[0]->masks, out[1]->masks});
  };
  const at::Tensor cached = batch(with, flipped);
  EXPECT_TRUE(at::allclose(cached, batch(with, flipped_without), 1e-4, 1e-4));
  EXPECT_FALSE(at::allclose(cached, batch(swapped, flipped), 1e-2, 1e-2));
}

TEST_F(ImagePredictorTest, BatchOfImages) {
  ImagePredictor predictor(*model_);
  at::Tensor small = image_->slice(0, 0, 200).slice(1, 0, 300).contiguous();
  ASSERT_TRUE(predictor.SetImageBatch({*image_, small}).ok());
  EXPECT_EQ(predictor.Predict(Click(1, 1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::vector<Prediction>> p =
      predictor.PredictBatch({Click(270, 220), Click(100, 100)});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1].masks.sizes(), (std::vector<int64_t>{3, 200, 300}));
  // Batched embedding equals one-by-one embedding.
  ImagePredictor one(*model_);
  ASSERT_TRUE(one.SetImage(small).ok());
  EXPECT_LT((one.features()[0].image_embed - predictor.features()[1].image_embed)
                .abs()
                .max()
                .item<float>(),
            1e-4);
  EXPECT_EQ(predictor.PredictBatch({Click(1, 1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A point valid for image 0 but off image 1.
  absl::StatusOr<std::vector<Prediction>> off =
      predictor.PredictBatch({Click(10, 10), Click(500, 10)});
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.status().message().find("image 1"), absl::string_view::npos);
}

TEST_F(ImagePredictorTest, HoleFillingChangesOnlySmallRegions) {
  ImagePredictorOptions fill;
  fill.max_hole_area = 1e9;  // every background component becomes foreground
  ImagePredictor predictor(*model_, fill);
  ASSERT_TRUE(predictor.SetImage(*image_).ok());
  absl::StatusOr<Prediction> p = predictor.Predict(Click(270, 220));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->masks.all().item<bool>());
}

TEST_F(ImagePredictorTest, RejectsBadPrompts) {
  ImagePredictor predictor(*model_);
  ASSERT_TRUE(predictor.SetImage(*image_).ok());
  ImagePromptInput wrong_mask = Click(10, 10);
  wrong_mask.mask_input = at::zeros({1, 64, 64});
  absl::StatusOr<Prediction> p = predictor.Predict(wrong_mask);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("128x128"), absl::string_view::npos)
      << p.status();
  EXPECT_EQ(predictor.Predict(ImagePromptInput()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor.Predict(Click(10, 10, 7)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor.Predict(Click(std::nanf(""), 10)).status().code(),
            absl::StatusCode::kInvalidArgument);
  ImagePromptInput mismatch;
  mismatch.point_coords = at::zeros({2, 2});
  mismatch.point_labels = at::ones({3}, at::kInt);
  EXPECT_EQ(predictor.Predict(mismatch).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor.SetImage(at::zeros({10, 10}, at::kByte)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(predictor.is_image_set());
}

// Dynamic batching across sessions: requests on two different images, of
// the same and of different prompt layouts, give what each gives alone (to
// float32 round-off), and one bad request fails alone.
TEST_F(ImagePredictorTest, BatchAcrossImagesEqualsEachAlone) {
  // A second image of another size: the first, cropped and mirrored.
  const at::Tensor other =
      image_->narrow(0, 20, 300).narrow(1, 50, 500).flip({1}).contiguous();
  absl::StatusOr<std::vector<ImageFeatures>> a = EmbedImages(**model_, {*image_});
  absl::StatusOr<std::vector<ImageFeatures>> b = EmbedImages(**model_, {other});
  ASSERT_TRUE(a.ok() && b.ok());
  ImagePromptInput box_and_click = Click(100, 120);
  box_and_click.box = at::tensor({40.f, 60.f, 300.f, 280.f});
  ImagePromptInput two_clicks;
  two_clicks.point_coords = at::tensor({200.f, 150.f, 90.f, 40.f}).view({2, 2});
  two_clicks.point_labels = at::tensor({1, 0}, at::kInt);
  PredictOptions single;
  single.multimask_output = false;
  std::vector<PredictRequest> requests = {
      {&(*a)[0], Click(270, 220), {}},   // three one-click requests share
      {&(*b)[0], Click(120, 80), {}},    // one decoder call
      {&(*a)[0], Click(30, 300), {}},
      {&(*b)[0], box_and_click, {}},     // a layout of its own
      {&(*a)[0], two_clicks, {}},        // and another
      {&(*b)[0], two_clicks, single},
      {&(*a)[0], Click(9999, 1), {}},    // off the image: fails alone
  };
  const std::vector<absl::StatusOr<Prediction>> batched =
      PredictMasksBatch(**model_, {}, requests);
  ASSERT_EQ(batched.size(), requests.size());
  for (size_t i = 0; i + 1 < requests.size(); ++i) {
    SCOPED_TRACE(i);
    absl::StatusOr<Prediction> alone =
        PredictMasks(**model_, {}, *requests[i].features, requests[i].prompt,
                     requests[i].options);
    ASSERT_TRUE(alone.ok()) << alone.status();
    ASSERT_TRUE(batched[i].ok()) << batched[i].status();
    EXPECT_EQ(batched[i]->masks.sizes(), alone->masks.sizes());
    EXPECT_TRUE(at::allclose(batched[i]->low_res_logits, alone->low_res_logits,
                             1e-4, 1e-4));
    EXPECT_TRUE(at::allclose(batched[i]->iou_predictions,
                             alone->iou_predictions, 1e-5, 1e-5));
    // Masks are thresholded logits: only pixels within round-off of the
    // threshold may flip.
    EXPECT_LE(at::ne(batched[i]->masks, alone->masks).sum().item<int64_t>(),
              alone->masks.numel() / 10000);
  }
  EXPECT_EQ(batched.back().status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sam2
