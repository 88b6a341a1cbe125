// End to end: image sessions through the sam2.v1 API (in-process server,
// micro model, real gRPC channel).

#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "model/image_io.h"
#include "model/image_predictor.h"
#include "model/rle.h"
#include "tests/server/test_server.h"

namespace sam2 {
namespace {

class ImageApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestServer>> server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = server_->NewStub();
  }

  v1::ImageSession Create() {
    v1::CreateImageSessionRequest request;
    request.set_image(MicroImagePng());
    v1::ImageSession session;
    grpc::Status s =
        stub_->CreateImageSession(ContextWithDeadline().get(), request, &session);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return session;
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<v1::Sam2Service::Stub> stub_;
};

TEST_F(ImageApiTest, ServerInfoSaysTheTestModelIsMeaningless) {
  v1::ServerInfo info;
  ASSERT_TRUE(stub_->GetServerInfo(ContextWithDeadline().get(), {}, &info).ok());
  EXPECT_TRUE(info.meaningless_masks());
  EXPECT_NE(info.warning().find("MEANINGLESS"), std::string::npos);
  EXPECT_EQ(info.instance_id(), server_->app().info().instance_id());
  EXPECT_EQ(info.limits().max_points(), kDefaultMaxPoints);
  EXPECT_GT(info.image_size(), 0);
}

TEST_F(ImageApiTest, SegmentMatchesTheInProcessPredictor) {
  const v1::ImageSession session = Create();
  ASSERT_FALSE(session.name().empty());
  absl::StatusOr<RgbImage> image = DecodeImage(MicroImagePng());
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(session.height(), image->height);
  EXPECT_EQ(session.width(), image->width);
  EXPECT_GT(session.bytes_held(), 0);
  EXPECT_GT(session.expire_time().seconds(), session.create_time().seconds());

  v1::SegmentRequest request;
  request.set_session(session.name());
  v1::Point* p = request.add_points();
  p->set_x(30);
  p->set_y(20);
  p->set_label(1);
  v1::SegmentResponse response;
  grpc::Status s = stub_->Segment(ContextWithDeadline().get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.prompts_size(), 1);
  ASSERT_EQ(response.prompts(0).masks_size(), 3);  // multimask by default
  ASSERT_EQ(response.prompts(0).iou_scores_size(), 3);

  // The same click in-process.
  const Sam2Model& model = *MicroImageModel();
  absl::StatusOr<std::vector<ImageFeatures>> features =
      EmbedImages(model, absl::MakeConstSpan(&image->pixels, 1));
  ASSERT_TRUE(features.ok());
  ImagePromptInput prompt;
  prompt.point_coords = at::tensor({30.0f, 20.0f}).reshape({1, 2});
  prompt.point_labels = at::tensor({1}, at::kInt);
  absl::StatusOr<Prediction> expected = PredictMasks(
      model, {}, features->front(), prompt, PredictOptions{});
  ASSERT_TRUE(expected.ok());
  for (int c = 0; c < 3; ++c) {
    const v1::Mask& m = response.prompts(0).masks(c);
    ASSERT_EQ(m.height(), image->height);
    ASSERT_EQ(m.width(), image->width);
    absl::StatusOr<Rle> rle = DecodeCocoCounts(m.rle_counts(), m.height(), m.width());
    ASSERT_TRUE(rle.ok()) << rle.status();
    absl::StatusOr<at::Tensor> mask = RleToMask(*rle);
    ASSERT_TRUE(mask.ok());
    EXPECT_TRUE(at::equal(*mask, expected->masks[c].to(at::kBool))) << c;
    EXPECT_FLOAT_EQ(response.prompts(0).iou_scores(c),
                    expected->iou_predictions[c].item<float>());
  }
}

TEST_F(ImageApiTest, SameImageAgainHitsTheEmbeddingCache) {
  const v1::ImageSession first = Create();
  const int64_t encoder_runs =
      MetricSum(server_->app(), "sam2_stage_seconds_count{stage=\"encoder\"}");
  const v1::ImageSession second = Create();
  EXPECT_NE(first.name(), second.name());
  EXPECT_EQ(second.height(), first.height());
  EXPECT_EQ(MetricSum(server_->app(),
                      "sam2_embedding_cache_lookups_total{result=\"hit\"}"),
            1);
  EXPECT_EQ(MetricSum(server_->app(),
                      "sam2_embedding_cache_lookups_total{result=\"miss\"}"),
            1);
  EXPECT_GT(MetricSum(server_->app(), "sam2_embedding_cache_bytes"), 0);
  // The second session did not run the encoder (the first did).
  EXPECT_EQ(encoder_runs, 1);
  EXPECT_EQ(MetricSum(server_->app(), "sam2_stage_seconds_count{stage=\"encoder\"}"),
            encoder_runs);
}

TEST_F(ImageApiTest, RefinesWithAPreviousResultAndReturnsLogits) {
  const v1::ImageSession session = Create();
  v1::SegmentRequest first;
  first.set_session(session.name());
  v1::Point* p = first.add_points();
  p->set_x(10);
  p->set_y(12);
  p->set_label(1);
  first.set_mask_format(v1::MASK_FORMAT_LOGITS);
  v1::SegmentResponse r1;
  ASSERT_TRUE(stub_->Segment(ContextWithDeadline().get(), first, &r1).ok());
  const int low_res = 4 * MicroImageModel()->config().ImageEmbeddingSize();
  ASSERT_EQ(r1.prompts(0).masks(0).height(), low_res);
  EXPECT_EQ(r1.prompts(0).masks(0).logits().size(),
            static_cast<size_t>(low_res * low_res * 4));

  // By reference and as data: the same answer.
  v1::SegmentRequest by_ref = first;
  by_ref.set_mask_format(v1::MASK_FORMAT_RLE);
  by_ref.set_multimask_output(false);
  by_ref.mutable_mask_input()->mutable_previous()->set_result_id(r1.result_id());
  by_ref.mutable_mask_input()->mutable_previous()->set_mask_index(2);
  v1::SegmentResponse r2;
  grpc::Status s = stub_->Segment(ContextWithDeadline().get(), by_ref, &r2);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(r2.prompts(0).masks_size(), 1);

  v1::SegmentRequest by_data = by_ref;
  *by_data.mutable_mask_input()->mutable_logits() = r1.prompts(0).masks(2);
  v1::SegmentResponse r3;
  ASSERT_TRUE(stub_->Segment(ContextWithDeadline().get(), by_data, &r3).ok());
  EXPECT_EQ(r2.prompts(0).masks(0).rle_counts(), r3.prompts(0).masks(0).rle_counts());
  EXPECT_EQ(r2.prompts(0).iou_scores(0), r3.prompts(0).iou_scores(0));
  EXPECT_NE(r2.result_id(), r3.result_id());
}

TEST_F(ImageApiTest, SeveralBoxesGiveOneResultEach) {
  const v1::ImageSession session = Create();
  v1::SegmentRequest request;
  request.set_session(session.name());
  for (int i = 0; i < 3; ++i) {
    v1::Box* b = request.add_boxes();
    b->set_x0(2 + i);
    b->set_y0(3);
    b->set_x1(20 + 5 * i);
    b->set_y1(25);
  }
  request.set_multimask_output(false);
  request.set_mask_format(v1::MASK_FORMAT_PNG);
  v1::SegmentResponse response;
  grpc::Status s = stub_->Segment(ContextWithDeadline().get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.prompts_size(), 3);
  for (const v1::PromptResult& r : response.prompts()) {
    ASSERT_EQ(r.masks_size(), 1);
    EXPECT_EQ(r.masks(0).png().substr(1, 3), "PNG");
  }
}

TEST_F(ImageApiTest, GenerateMasksGetAndDelete) {
  const v1::ImageSession session = Create();
  v1::GenerateMasksRequest gen;
  gen.set_session(session.name());
  gen.set_points_per_side(4);
  gen.set_pred_iou_thresh(0);
  gen.set_stability_score_thresh(0);
  v1::GenerateMasksResponse masks;
  grpc::Status s = stub_->GenerateMasks(ContextWithDeadline().get(), gen, &masks);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GT(masks.masks_size(), 0);
  for (const v1::GeneratedMask& m : masks.masks()) {
    absl::StatusOr<Rle> rle =
        DecodeCocoCounts(m.mask().rle_counts(), m.mask().height(), m.mask().width());
    ASSERT_TRUE(rle.ok());
    EXPECT_EQ(RleArea(*rle), m.area());
    EXPECT_EQ(m.bbox_size(), 4);
  }

  v1::GetSessionRequest get;
  get.set_name(session.name());
  v1::ImageSession got;
  ASSERT_TRUE(stub_->GetImageSession(ContextWithDeadline().get(), get, &got).ok());
  EXPECT_EQ(got.name(), session.name());
  EXPECT_EQ(got.width(), session.width());

  v1::DeleteSessionRequest del;
  del.set_name(session.name());
  v1::DeleteSessionResponse deleted;
  ASSERT_TRUE(stub_->DeleteSession(ContextWithDeadline().get(), del, &deleted).ok());
  grpc::Status gone = stub_->GetImageSession(ContextWithDeadline().get(), get, &got);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(gone.error_message().find("deleted"), std::string::npos)
      << gone.error_message();
}

}  // namespace
}  // namespace sam2
