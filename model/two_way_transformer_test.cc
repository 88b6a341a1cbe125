// Tests for TwoWayTransformer: shapes, weight checks, and the output against
// a deliberately naive re-statement of the reference's semantics written in
// this test (per-head loops, explicit softmax, the layer-0
// skip_first_layer_pe rule), on the micro model's weights.

#include "model/two_way_transformer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/model_loader.h"
#include "model/module_weights.h"

namespace sam2 {
namespace {

class TwoWayTransformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedModel> model =
        LoadModel("tests/fixtures/sam2.1-micro/model.pt", "");
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
    absl::StatusOr<TwoWayTransformer> t =
        TwoWayTransformer::Create(model_.config, model_.weights);
    ASSERT_TRUE(t.ok()) << t.status();
    transformer_.emplace(*std::move(t));
    c_ = model_.config.HiddenDim();
  }

  at::Tensor W(const std::string& name) const {
    const at::Tensor* t =
        model_.weights.Find("sam_mask_decoder.transformer." + name);
    EXPECT_NE(t, nullptr) << name;
    return t == nullptr ? at::Tensor() : t->to(at::kDouble);
  }

  at::Tensor Lin(const std::string& p, const at::Tensor& x) const {
    return at::matmul(x, W(p + ".weight").t()) + W(p + ".bias");
  }

  at::Tensor Norm(const std::string& p, const at::Tensor& x) const {
    const at::Tensor mu = x.mean({-1}, true);
    const at::Tensor var = (x - mu).pow(2).mean({-1}, true);
    return (x - mu) / at::sqrt(var + 1e-5) * W(p + ".weight") + W(p + ".bias");
  }

  // One batch element: q [Nq, C], k/v [Nk, C].
  at::Tensor Attn(const std::string& p, const at::Tensor& q,
                  const at::Tensor& k, const at::Tensor& v) const {
    const at::Tensor qp = Lin(p + ".q_proj", q), kp = Lin(p + ".k_proj", k),
                     vp = Lin(p + ".v_proj", v);
    const int64_t d = qp.size(1) / kTwoWayNumHeads;
    std::vector<at::Tensor> heads;
    for (int64_t h = 0; h < kTwoWayNumHeads; ++h) {
      const at::Tensor qh = qp.slice(1, h * d, (h + 1) * d);
      const at::Tensor kh = kp.slice(1, h * d, (h + 1) * d);
      const at::Tensor vh = vp.slice(1, h * d, (h + 1) * d);
      const at::Tensor logits = at::matmul(qh, kh.t()) / std::sqrt(double(d));
      const at::Tensor e = at::exp(logits - std::get<0>(logits.max(1, true)));
      heads.push_back(at::matmul(e / e.sum(1, true), vh));
    }
    return Lin(p + ".out_proj", at::cat(heads, 1));
  }

  std::pair<at::Tensor, at::Tensor> Naive(const at::Tensor& image,
                                          const at::Tensor& pe,
                                          const at::Tensor& points) const {
    const at::Tensor key_pe = pe.flatten(1).t();  // [HW, C]
    at::Tensor keys = image.flatten(1).t();
    at::Tensor queries = points;
    for (int i = 0; i < kTwoWayDepth; ++i) {
      const std::string p = "layers." + std::to_string(i) + ".";
      if (i == 0) {
        queries = Attn(p + "self_attn", queries, queries, queries);
      } else {
        const at::Tensor q = queries + points;
        queries = queries + Attn(p + "self_attn", q, q, queries);
      }
      queries = Norm(p + "norm1", queries);
      queries = queries + Attn(p + "cross_attn_token_to_image",
                               queries + points, keys + key_pe, keys);
      queries = Norm(p + "norm2", queries);
      const at::Tensor hidden = at::relu(Lin(p + "mlp.layers.0", queries));
      queries = Norm(p + "norm3", queries + Lin(p + "mlp.layers.1", hidden));
      keys = keys + Attn(p + "cross_attn_image_to_token", keys + key_pe,
                         queries + points, queries);
      keys = Norm(p + "norm4", keys);
    }
    queries = queries + Attn("final_attn_token_to_image", queries + points,
                             keys + key_pe, keys);
    return {Norm("norm_final_attn", queries), keys};
  }

  LoadedModel model_;
  std::optional<TwoWayTransformer> transformer_;
  int64_t c_ = 0;
};

TEST_F(TwoWayTransformerTest, MatchesANaiveStatementOfTheReference) {
  at::manual_seed(0);
  const int64_t b = 2, h = 5, w = 7, n = 6;
  const at::Tensor image = at::randn({b, c_, h, w});
  const at::Tensor pe = at::randn({b, c_, h, w});
  const at::Tensor points = at::randn({b, n, c_});
  absl::StatusOr<TwoWayTransformerOutput> out =
      transformer_->Forward(image, pe, points);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->queries.sizes(), at::IntArrayRef({b, n, c_}));
  ASSERT_EQ(out->keys.sizes(), at::IntArrayRef({b, h * w, c_}));
  for (int64_t i = 0; i < b; ++i) {
    auto [q, k] = Naive(image[i].to(at::kDouble), pe[i].to(at::kDouble),
                        points[i].to(at::kDouble));
    EXPECT_LT((out->queries[i].to(at::kDouble) - q).abs().max().item<double>(),
              1e-4);
    EXPECT_LT((out->keys[i].to(at::kDouble) - k).abs().max().item<double>(),
              1e-4);
  }
}

TEST_F(TwoWayTransformerTest, SharedImageEqualsTheImageRepeated) {
  at::manual_seed(1);
  const int64_t b = 3, h = 5, w = 7, n = 6;
  const at::Tensor image = at::randn({1, c_, h, w});
  const at::Tensor pe = at::randn({1, c_, h, w});
  const at::Tensor points = at::randn({b, n, c_});
  absl::StatusOr<TwoWayTransformerOutput> shared =
      transformer_->Forward(image, pe, points);
  absl::StatusOr<TwoWayTransformerOutput> repeated = transformer_->Forward(
      image.repeat({b, 1, 1, 1}), pe.repeat({b, 1, 1, 1}), points);
  ASSERT_TRUE(shared.ok()) << shared.status();
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  ASSERT_EQ(shared->queries.sizes(), repeated->queries.sizes());
  ASSERT_EQ(shared->keys.sizes(), repeated->keys.sizes());
  EXPECT_LT((shared->queries - repeated->queries).abs().max().item<double>(),
            1e-5);
  EXPECT_LT((shared->keys - repeated->keys).abs().max().item<double>(), 1e-5);
  // Each prompt set still gets its own answer.
  EXPECT_GT((shared->keys[0] - shared->keys[1]).abs().max().item<double>(),
            1e-3);
}

TEST_F(TwoWayTransformerTest, PrecomputedImageSideGivesTheSameOutput) {
  at::manual_seed(2);
  const int64_t h = 5, w = 7, n = 6;
  const at::Tensor image = at::randn({1, c_, h, w});
  const at::Tensor pe = at::randn({1, c_, h, w});
  absl::StatusOr<TwoWayImageProjections> projected =
      transformer_->ProjectImage(image, pe);
  ASSERT_TRUE(projected.ok()) << projected.status();
  ASSERT_TRUE(projected->defined());
  for (const at::Tensor* t : {&projected->keys, &projected->values,
                              &projected->image_queries}) {
    EXPECT_EQ(t->size(0), 1);
    EXPECT_EQ(t->size(2), h * w);
  }
  EXPECT_EQ(projected->NumBytes(), 3 * projected->keys.nbytes());
  // One prompt set and a batch sharing the image: exactly the values of
  // projecting it in Forward.
  for (int64_t b : {1, 3}) {
    const at::Tensor points = at::randn({b, n, c_});
    absl::StatusOr<TwoWayTransformerOutput> fresh =
        transformer_->Forward(image, pe, points);
    absl::StatusOr<TwoWayTransformerOutput> reused =
        transformer_->Forward(image, pe, points, &*projected);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    ASSERT_TRUE(reused.ok()) << reused.status();
    EXPECT_TRUE(at::equal(fresh->queries, reused->queries)) << b;
    EXPECT_TRUE(at::equal(fresh->keys, reused->keys)) << b;
  }
  // A batch of images with their projections stacked.
  const at::Tensor second = at::randn({1, c_, h, w});
  absl::StatusOr<TwoWayImageProjections> second_projected =
      transformer_->ProjectImage(second, pe);
  ASSERT_TRUE(second_projected.ok());
  TwoWayImageProjections stacked;
  stacked.keys = at::cat({projected->keys, second_projected->keys});
  stacked.values = at::cat({projected->values, second_projected->values});
  stacked.image_queries =
      at::cat({projected->image_queries, second_projected->image_queries});
  const at::Tensor images = at::cat({image, second});
  const at::Tensor pes = pe.expand({2, -1, -1, -1});
  const at::Tensor two_sets = at::randn({2, n, c_});
  absl::StatusOr<TwoWayTransformerOutput> batch_fresh =
      transformer_->Forward(images, pes, two_sets);
  absl::StatusOr<TwoWayTransformerOutput> batch_reused =
      transformer_->Forward(images, pes, two_sets, &stacked);
  ASSERT_TRUE(batch_fresh.ok() && batch_reused.ok());
  EXPECT_TRUE(at::allclose(batch_fresh->queries, batch_reused->queries, 1e-5,
                           1e-5));
  EXPECT_TRUE(at::allclose(batch_fresh->keys, batch_reused->keys, 1e-5, 1e-5));

  // Projections of another image change the answer: they are really used.
  absl::StatusOr<TwoWayImageProjections> other =
      transformer_->ProjectImage(at::randn({1, c_, h, w}), pe);
  ASSERT_TRUE(other.ok());
  const at::Tensor points = at::randn({1, n, c_});
  absl::StatusOr<TwoWayTransformerOutput> fresh =
      transformer_->Forward(image, pe, points);
  absl::StatusOr<TwoWayTransformerOutput> wrong =
      transformer_->Forward(image, pe, points, &*other);
  ASSERT_TRUE(fresh.ok() && wrong.ok());
  EXPECT_GT((fresh->queries - wrong->queries).abs().max().item<double>(),
            1e-3);
}

TEST_F(TwoWayTransformerTest, PrecomputedImageSideMustFitTheImage) {
  const at::Tensor image = at::randn({1, c_, 4, 4});
  const at::Tensor pe = at::randn({1, c_, 4, 4});
  EXPECT_EQ(transformer_->ProjectImage(at::randn({2, c_, 4, 4}),
                                       at::randn({2, c_, 4, 4}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(transformer_->ProjectImage(image, at::randn({1, c_, 4, 5}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<TwoWayImageProjections> small =
      transformer_->ProjectImage(at::randn({1, c_, 3, 3}),
                                 at::randn({1, c_, 3, 3}));
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(transformer_->Forward(image, pe, at::randn({1, 3, c_}), &*small)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Its batch must be the image's.
  absl::StatusOr<TwoWayImageProjections> fits =
      transformer_->ProjectImage(image, pe);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(transformer_->Forward(at::randn({2, c_, 4, 4}),
                                  at::randn({2, c_, 4, 4}),
                                  at::randn({2, 3, c_}), &*fits)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  const TwoWayImageProjections empty;
  EXPECT_EQ(transformer_->Forward(image, pe, at::randn({1, 3, c_}), &empty)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TwoWayTransformerTest, RejectsMismatchedShapes) {
  const at::Tensor image = at::randn({1, c_, 4, 4});
  EXPECT_EQ(transformer_->Forward(image, at::randn({1, c_, 4, 5}),
                                  at::randn({1, 3, c_}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(transformer_->Forward(image, at::randn({1, c_, 4, 4}),
                                  at::randn({1, 3, c_ + 1}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A batch other than 1 must match the prompts'.
  EXPECT_EQ(transformer_->Forward(at::randn({2, c_, 4, 4}),
                                  at::randn({2, c_, 4, 4}),
                                  at::randn({3, 3, c_}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(transformer_->Forward(at::randn({1, c_ + 2, 4, 4}),
                                  at::randn({1, c_ + 2, 4, 4}),
                                  at::randn({1, 3, c_}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TwoWayTransformerTest, CreateNamesAMissingTensor) {
  StateDict partial;
  const std::string dropped =
      "sam_mask_decoder.transformer.layers.1.cross_attn_image_to_token.k_proj."
      "weight";
  for (const NamedTensor& t : model_.weights) {
    if (t.name != dropped) {
      ASSERT_TRUE(partial.Add(t.name, t.tensor).ok());
    }
  }
  absl::StatusOr<TwoWayTransformer> t =
      TwoWayTransformer::Create(model_.config, partial);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find(dropped), absl::string_view::npos)
      << t.status();
}

TEST(SamMlpTest, ReluBetweenLayersAndOptionalSigmoid) {
  StateDict sd;
  ASSERT_TRUE(sd.Add("m.layers.0.weight", at::tensor({1.f, -1.f}).reshape({2, 1})).ok());
  ASSERT_TRUE(sd.Add("m.layers.0.bias", at::zeros({2})).ok());
  ASSERT_TRUE(sd.Add("m.layers.1.weight", at::tensor({1.f, 1.f}).reshape({1, 2})).ok());
  ASSERT_TRUE(sd.Add("m.layers.1.bias", at::zeros({1})).ok());
  ModuleWeights w(sd, "m.");
  const SamMlp mlp = SamMlp::Load(w, 1, 2, 1, 2);
  ASSERT_TRUE(w.status().ok()) << w.status();
  // relu(3) + relu(-3) = 3.
  EXPECT_FLOAT_EQ(mlp(at::full({1, 1}, 3.f)).item<float>(), 3.f);
  ModuleWeights w2(sd, "m.");
  const SamMlp sig = SamMlp::Load(w2, 1, 2, 1, 2, /*sigmoid_output=*/true);
  EXPECT_NEAR(sig(at::full({1, 1}, 3.f)).item<float>(), 1 / (1 + std::exp(-3.0)),
              1e-6);
}

}  // namespace
}  // namespace sam2
