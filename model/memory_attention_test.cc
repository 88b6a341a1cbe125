#include "model/memory_attention.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/model_loader.h"
#include "model/safetensors.h"
#include "model/module_weights.h"
#include "model/sam2_config.h"
#include "model/state_dict.h"
#include "model/state_dict_spec.h"

namespace sam2 {
namespace {

constexpr char kMicroCheckpoint[] = "tests/fixtures/sam2.1-micro/model.pt";

// Deterministic pseudo-random values in [-1, 1) that the reference-side
// generator computes bit for bit the same way (integer hash, then an exact
// int -> float conversion and power-of-two scaling).
at::Tensor Pseudo(std::vector<int64_t> shape, int64_t seed) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  const at::Tensor i = at::arange(n, at::kLong) + seed * 1000003;
  at::Tensor x = at::remainder(i * 1103515245 + 12345, 2147483648LL);
  x = at::remainder(x * 1103515245 + 12345, 2147483648LL);
  return (x.to(at::kFloat) / 2147483648.0 * 2 - 1).reshape(shape);
}

// Outputs of the reference (facebookresearch/sam2's MemoryEncoder and
// MemoryAttention built from the micro fixture's model.yaml with its
// model.pt) on the Pseudo() inputs below.
constexpr char kReferenceOutputs[] =
    "model/testdata/memory_modules_micro.safetensors";

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// ---------------------------------------------------------------------------
// Straightforward double-precision implementations used as the oracle.

// Angle of channel pair j of token (x, y) for head dim d.
double Angle(int64_t j, int64_t x, int64_t y, int64_t d, double theta) {
  const int64_t quarter = d / 4;
  const int64_t i = j < quarter ? j : j - quarter;
  const double freq = std::pow(theta, -4.0 * i / d);
  return (j < quarter ? x : y) * freq;
}

// The d x d rotation that RoPE applies to token t of an end_x-wide grid:
// block diagonal, one 2 x 2 rotation per adjacent channel pair.
at::Tensor RotationMatrix(int64_t t, int64_t end_x, int64_t d, double theta) {
  at::Tensor r = at::zeros({d, d}, at::kDouble);
  auto acc = r.accessor<double, 2>();
  for (int64_t j = 0; j < d / 2; ++j) {
    const double a = Angle(j, t % end_x, t / end_x, d, theta);
    acc[2 * j][2 * j] = std::cos(a);
    acc[2 * j][2 * j + 1] = -std::sin(a);
    acc[2 * j + 1][2 * j] = std::sin(a);
    acc[2 * j + 1][2 * j + 1] = std::cos(a);
  }
  return r;
}

struct Lin {
  at::Tensor w, b;
  at::Tensor operator()(const at::Tensor& x) const {
    return at::matmul(x, w.to(at::kDouble).t()) + b.to(at::kDouble);
  }
};

Lin GetLin(const StateDict& s, const std::string& name) {
  return {*s.Find(name + ".weight"), *s.Find(name + ".bias")};
}

// RoPE attention for one batch element, head by head, token by token.
// q [Nq, E], k/v [Nk, kv] (double). Keys i < rotated get the rotation of
// query token i mod Nq.
at::Tensor ExplicitRoPEAttention(const StateDict& s, const std::string& p,
                                 const at::Tensor& q_in, const at::Tensor& k_in,
                                 const at::Tensor& v_in, int64_t heads,
                                 int64_t end_x, int64_t num_k_exclude,
                                 double theta) {
  const at::Tensor q = GetLin(s, p + ".q_proj")(q_in);
  const at::Tensor k = GetLin(s, p + ".k_proj")(k_in);
  const at::Tensor v = GetLin(s, p + ".v_proj")(v_in);
  const int64_t nq = q.size(0), nk = k.size(0), d = q.size(1) / heads;
  const int64_t rotated = nk - num_k_exclude;
  std::vector<at::Tensor> outs;
  for (int64_t h = 0; h < heads; ++h) {
    at::Tensor qh = q.slice(1, h * d, (h + 1) * d).clone();
    at::Tensor kh = k.slice(1, h * d, (h + 1) * d).clone();
    const at::Tensor vh = v.slice(1, h * d, (h + 1) * d);
    for (int64_t t = 0; t < nq; ++t) {
      qh[t] = at::mv(RotationMatrix(t, end_x, d, theta), qh[t]);
    }
    for (int64_t t = 0; t < rotated; ++t) {
      kh[t] = at::mv(RotationMatrix(t % nq, end_x, d, theta), kh[t]);
    }
    const at::Tensor scores = at::matmul(qh, kh.t()) / std::sqrt(double(d));
    outs.push_back(at::matmul(at::softmax(scores, -1), vh));
  }
  return GetLin(s, p + ".out_proj")(at::cat(outs, 1));
}

at::Tensor ExplicitLayerNorm(const StateDict& s, const std::string& name,
                             const at::Tensor& x) {
  const at::Tensor mean = x.mean({-1}, true);
  const at::Tensor var = (x - mean).pow(2).mean({-1}, true);
  return (x - mean) / at::sqrt(var + 1e-5) *
             s.Find(name + ".weight")->to(at::kDouble) +
         s.Find(name + ".bias")->to(at::kDouble);
}

// MemoryAttention.forward, sequence-first in and out, one batch element at a
// time.
at::Tensor ExplicitMemoryAttention(const StateDict& s,
                                   const MemoryAttentionConfig& c,
                                   const at::Tensor& curr,
                                   const at::Tensor& memory,
                                   const at::Tensor& curr_pos,
                                   const at::Tensor& memory_pos,
                                   int64_t num_obj_ptr, int64_t end_x) {
  const MemoryAttentionLayerConfig& l = c.layer;
  std::vector<at::Tensor> batch_out;
  for (int64_t b = 0; b < curr.size(1); ++b) {
    const at::Tensor qpos = curr_pos.select(1, b).to(at::kDouble);
    const at::Tensor mem = memory.select(1, b).to(at::kDouble);
    const at::Tensor mpos = memory_pos.select(1, b).to(at::kDouble);
    at::Tensor t = curr.select(1, b).to(at::kDouble);
    if (c.pos_enc_at_input) t = t + 0.1 * qpos;
    for (int i = 0; i < c.num_layers; ++i) {
      const std::string p = absl::StrCat("memory_attention.layers.", i);
      at::Tensor t2 = ExplicitLayerNorm(s, p + ".norm1", t);
      const at::Tensor qk = l.pos_enc_at_attn ? t2 + qpos : t2;
      t = t + ExplicitRoPEAttention(s, p + ".self_attn", qk, qk, t2,
                                    l.self_attention.num_heads, end_x, 0,
                                    l.self_attention.rope_theta);
      t2 = ExplicitLayerNorm(s, p + ".norm2", t);
      t = t + ExplicitRoPEAttention(
                  s, p + ".cross_attn_image",
                  l.pos_enc_at_cross_attn_queries ? t2 + qpos : t2,
                  l.pos_enc_at_cross_attn_keys ? mem + mpos : mem, mem,
                  l.cross_attention.num_heads, end_x, num_obj_ptr,
                  l.cross_attention.rope_theta);
      t2 = GetLin(s, p + ".linear1")(ExplicitLayerNorm(s, p + ".norm3", t));
      t2 = l.activation == "gelu"
               ? 0.5 * t2 * (1 + at::erf(t2 / std::sqrt(2.0)))
               : at::clamp_min(t2, 0);
      t = t + GetLin(s, p + ".linear2")(t2);
    }
    batch_out.push_back(ExplicitLayerNorm(s, "memory_attention.norm", t));
  }
  return at::stack(batch_out, 1);
}

// ---------------------------------------------------------------------------
// Weights.

void AddLinear(StateDict& s, const std::string& name, int64_t in,
               int64_t out) {
  ASSERT_TRUE(
      s.Add(name + ".weight", at::randn({out, in}) / std::sqrt(in)).ok());
  ASSERT_TRUE(s.Add(name + ".bias", 0.1 * at::randn({out})).ok());
}

void AddNorm(StateDict& s, const std::string& name, int64_t dim) {
  ASSERT_TRUE(s.Add(name + ".weight", 1 + 0.2 * at::randn({dim})).ok());
  ASSERT_TRUE(s.Add(name + ".bias", 0.2 * at::randn({dim})).ok());
}

void AddAttention(StateDict& s, const std::string& p,
                  const RoPEAttentionConfig& c) {
  AddLinear(s, p + ".q_proj", c.embedding_dim, c.InternalDim());
  AddLinear(s, p + ".k_proj", c.KvInDim(), c.InternalDim());
  AddLinear(s, p + ".v_proj", c.KvInDim(), c.InternalDim());
  AddLinear(s, p + ".out_proj", c.InternalDim(), c.embedding_dim);
}

// Random weights for every tensor of `config` under `prefix`.
StateDict RandomWeights(const Sam2Config& config, const std::string& prefix) {
  StateDict s;
  for (const TensorSpec& spec : ExpectedTensors(config)) {
    if (!absl::StartsWith(spec.name, prefix)) continue;
    EXPECT_TRUE(s.Add(spec.name, 0.1 * at::randn(spec.shape)).ok());
  }
  return s;
}

// d_model 8, 2 layers, FFN 12; 2 heads of dim 4; cross-attention from
// 4-channel memories with rope_k_repeat; a 3 x 3 grid.
Sam2Config SmallConfig() {
  Sam2Config c;
  MemoryAttentionConfig& m = c.memory_attention;
  m.d_model = 8;
  m.pos_enc_at_input = true;
  m.num_layers = 2;
  MemoryAttentionLayerConfig& l = m.layer;
  l.activation = "relu";
  l.d_model = 8;
  l.dim_feedforward = 12;
  l.pos_enc_at_cross_attn_keys = true;
  l.self_attention.embedding_dim = 8;
  l.self_attention.num_heads = 2;
  l.self_attention.feat_sizes = {3, 3};
  l.cross_attention = l.self_attention;
  l.cross_attention.kv_in_dim = 4;
  l.cross_attention.rope_k_repeat = true;
  l.cross_attention.rope_theta = 100.0;
  return c;
}

StateDict SmallWeights(const Sam2Config& c) {
  StateDict s;
  const MemoryAttentionConfig& m = c.memory_attention;
  for (int i = 0; i < m.num_layers; ++i) {
    const std::string p = absl::StrCat("memory_attention.layers.", i);
    AddAttention(s, p + ".self_attn", m.layer.self_attention);
    AddAttention(s, p + ".cross_attn_image", m.layer.cross_attention);
    AddLinear(s, p + ".linear1", m.d_model, m.layer.dim_feedforward);
    AddLinear(s, p + ".linear2", m.layer.dim_feedforward, m.d_model);
    AddNorm(s, p + ".norm1", m.d_model);
    AddNorm(s, p + ".norm2", m.d_model);
    AddNorm(s, p + ".norm3", m.d_model);
  }
  AddNorm(s, "memory_attention.norm", m.d_model);
  return s;
}

// ---------------------------------------------------------------------------
// RoPE by hand.

TEST(RopeTest, AxialCisOnA2x2GridByHand) {
  // Head dim 4: one frequency per axis, 1 / theta^0 = 1. Tokens row-major:
  // (x, y) = (0,0), (1,0), (0,1), (1,1). Pair 0 turns by x, pair 1 by y.
  const at::Tensor cis = ComputeAxialCis(4, 2, 2, 10000.0);
  ASSERT_EQ(cis.sizes(), at::IntArrayRef({4, 2, 2}));
  const double c1 = std::cos(1.0), s1 = std::sin(1.0);
  const double want[4][2][2] = {{{1, 0}, {1, 0}},
                                {{c1, s1}, {1, 0}},
                                {{1, 0}, {c1, s1}},
                                {{c1, s1}, {c1, s1}}};
  auto a = cis.accessor<float, 3>();
  for (int t = 0; t < 4; ++t) {
    for (int j = 0; j < 2; ++j) {
      EXPECT_NEAR(a[t][j][0], want[t][j][0], 1e-7) << t << " " << j;
      EXPECT_NEAR(a[t][j][1], want[t][j][1], 1e-7) << t << " " << j;
    }
  }
  // Head dim 8, theta 100: frequencies 1 and 100^(-1/2) = 0.1 per axis;
  // pairs [x, 0.1 x, y, 0.1 y]. Token 5 of a 3-wide grid is (2, 1).
  const at::Tensor cis8 = ComputeAxialCis(8, 3, 2, 100.0);
  ASSERT_EQ(cis8.sizes(), at::IntArrayRef({6, 4, 2}));
  const double angles[4] = {2.0, 0.2, 1.0, 0.1};
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(cis8[5][j][0].item<double>(), std::cos(angles[j]), 1e-6);
    EXPECT_NEAR(cis8[5][j][1].item<double>(), std::sin(angles[j]), 1e-6);
  }
}

TEST(RopeTest, ApplyRotaryEncLoopOn2x2Grid) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({1, 2, 4, 4});  // [B, heads, tokens, dim]
  const at::Tensor cis = ComputeAxialCis(4, 2, 2, 10000.0);
  const at::Tensor got = ApplyRotaryEnc(x, cis);
  auto in = x.accessor<float, 4>();
  auto out = got.accessor<float, 4>();
  for (int h = 0; h < 2; ++h) {
    for (int t = 0; t < 4; ++t) {
      const int px = t % 2, py = t / 2;
      for (int j = 0; j < 2; ++j) {
        const double angle = j == 0 ? px : py;
        const double re = in[0][h][t][2 * j], im = in[0][h][t][2 * j + 1];
        EXPECT_NEAR(out[0][h][t][2 * j],
                    re * std::cos(angle) - im * std::sin(angle), 1e-6);
        EXPECT_NEAR(out[0][h][t][2 * j + 1],
                    re * std::sin(angle) + im * std::cos(angle), 1e-6);
      }
    }
  }
  // Token 0 sits at the origin: unchanged.
  EXPECT_TRUE(at::allclose(got.select(2, 0), x.select(2, 0)));
  // Repeat: two frames of 4 tokens use the same angles.
  const at::Tensor two = at::cat({x, 2 * x}, 2);
  const at::Tensor rep = ApplyRotaryEnc(two, cis, 2);
  EXPECT_LT(MaxAbsDiff(rep.slice(2, 0, 4), got), 1e-6);
  EXPECT_LT(MaxAbsDiff(rep.slice(2, 4, 8), 2 * got), 1e-6);
}

// ---------------------------------------------------------------------------
// RoPEAttention against per-head explicit attention.

struct AttentionCase {
  RoPEAttentionConfig config;
  int64_t nq, nk, exclude, end_x;
};

void CheckAttention(const AttentionCase& c) {
  StateDict s;
  AddAttention(s, "a", c.config);
  absl::StatusOr<RoPEAttention> attn =
      RoPEAttention::Load(ModuleWeights(s, "a."), c.config);
  ASSERT_TRUE(attn.ok()) << attn.status();
  const int64_t b = 2;
  const at::Tensor q = at::randn({b, c.nq, c.config.embedding_dim});
  const at::Tensor k = at::randn({b, c.nk, c.config.KvInDim()});
  const at::Tensor v = at::randn({b, c.nk, c.config.KvInDim()});
  absl::StatusOr<at::Tensor> got = attn->Forward(q, k, v, c.exclude);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->sizes(), at::IntArrayRef({b, c.nq, c.config.embedding_dim}));
  for (int64_t i = 0; i < b; ++i) {
    const at::Tensor want = ExplicitRoPEAttention(
        s, "a", q[i].to(at::kDouble), k[i].to(at::kDouble),
        v[i].to(at::kDouble), c.config.num_heads, c.end_x, c.exclude,
        c.config.rope_theta);
    EXPECT_LT(MaxAbsDiff((*got)[i], want), 2e-5) << i;
  }
}

TEST(RoPEAttentionTest, CrossAttentionTwoFramesAndFourPointerTokens) {
  at::manual_seed(6);
  AttentionCase c;
  c.config.embedding_dim = 8;
  c.config.num_heads = 2;
  c.config.kv_in_dim = 6;
  c.config.rope_k_repeat = true;
  c.config.feat_sizes = {2, 2};
  c.nq = 4;
  c.nk = 2 * 4 + 4;  // two memory frames, then 4 pointer tokens
  c.exclude = 4;
  c.end_x = 2;
  CheckAttention(c);
}

TEST(RoPEAttentionTest, SelfAttentionWithDownsampleAndOtherGrids) {
  at::manual_seed(7);
  AttentionCase c;
  c.config.embedding_dim = 16;
  c.config.num_heads = 1;
  c.config.downsample_rate = 2;  // internal dim 8: head dim 8
  c.config.feat_sizes = {4, 2};  // a 4-wide, 2-high grid
  c.config.rope_theta = 50.0;
  c.nq = c.nk = 8;
  c.exclude = 0;
  c.end_x = 4;
  CheckAttention(c);
  // A token count other than feat_sizes: a square grid is recomputed.
  c.nq = c.nk = 9;
  c.end_x = 3;
  CheckAttention(c);
}

TEST(RoPEAttentionTest, RejectsTokenCountsTheReferenceCannotRun) {
  RoPEAttentionConfig config;
  config.embedding_dim = 8;
  config.num_heads = 2;
  config.feat_sizes = {2, 2};
  StateDict s;
  AddAttention(s, "a", config);
  absl::StatusOr<RoPEAttention> attn =
      RoPEAttention::Load(ModuleWeights(s, "a."), config);
  ASSERT_TRUE(attn.ok()) << attn.status();
  const at::Tensor x4 = at::randn({1, 4, 8});
  EXPECT_TRUE(attn->Forward(x4, x4, x4).ok());
  const at::Tensor x8 = at::randn({1, 8, 8});
  // Not a square and not feat_sizes.
  EXPECT_EQ(attn->Forward(x8, x8, x8).status().code(),
            absl::StatusCode::kInvalidArgument);
  // More keys than queries without rope_k_repeat.
  EXPECT_EQ(attn->Forward(x4, x8, x8).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Excluding keys leaves 3 rotated keys for 4 queries.
  EXPECT_EQ(attn->Forward(x4, x4, x4, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(attn->Forward(x4, x4, x4, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A missing weight is named.
  absl::StatusOr<RoPEAttention> none =
      RoPEAttention::Load(ModuleWeights(s, "b."), config);
  ASSERT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "b.q_proj.weight"))
      << none.status();
  // Head dim not a multiple of 4.
  RoPEAttentionConfig odd = config;
  odd.num_heads = 4;
  EXPECT_EQ(RoPEAttention::Load(ModuleWeights(s, "a."), odd).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// MemoryAttention against the explicit implementation.

void CheckMemoryAttention(const Sam2Config& config) {
  const StateDict s = SmallWeights(config);
  absl::StatusOr<MemoryAttention> ma = MemoryAttention::Create(config, s);
  ASSERT_TRUE(ma.ok()) << ma.status();
  EXPECT_EQ(ma->d_model(), 8);
  EXPECT_EQ(ma->mem_dim(), 4);
  const int64_t hw = 9, b = 2, ptr = 4, m = 2 * hw + ptr;
  const at::Tensor curr = at::randn({hw, b, 8});
  const at::Tensor curr_pos = at::randn({hw, b, 8});
  const at::Tensor memory = at::randn({m, b, 4});
  const at::Tensor memory_pos = at::randn({m, b, 4});
  absl::StatusOr<at::Tensor> got =
      ma->Forward(curr, memory, curr_pos, memory_pos, ptr);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->sizes(), at::IntArrayRef({hw, b, 8}));
  const at::Tensor want =
      ExplicitMemoryAttention(s, config.memory_attention, curr, memory,
                              curr_pos, memory_pos, ptr, /*end_x=*/3);
  EXPECT_LT(MaxAbsDiff(*got, want), 2e-5);
}

TEST(MemoryAttentionTest, MatchesExplicitImplementation) {
  at::manual_seed(8);
  CheckMemoryAttention(SmallConfig());
}

TEST(MemoryAttentionTest, OtherPositionFlagsAndGelu) {
  at::manual_seed(9);
  Sam2Config c = SmallConfig();
  c.memory_attention.pos_enc_at_input = false;
  c.memory_attention.layer.pos_enc_at_attn = true;
  c.memory_attention.layer.pos_enc_at_cross_attn_queries = true;
  c.memory_attention.layer.pos_enc_at_cross_attn_keys = false;
  c.memory_attention.layer.activation = "gelu";
  CheckMemoryAttention(c);
}

TEST(MemoryAttentionTest, MicroCheckpointShapes) {
  absl::StatusOr<LoadedModel> model = LoadModel(kMicroCheckpoint, "");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<MemoryAttention> ma =
      MemoryAttention::Create(model->config, model->weights);
  ASSERT_TRUE(ma.ok()) << ma.status();
  const int64_t c = model->config.HiddenDim();
  const int64_t mem = model->config.MemDim();
  const int64_t side = model->config.ImageEmbeddingSize();
  const int64_t hw = side * side;
  EXPECT_EQ(ma->d_model(), c);
  EXPECT_EQ(ma->mem_dim(), mem);
  EXPECT_EQ(ma->num_layers(), model->config.memory_attention.num_layers);
  // Two memory frames and two pointers split into C / mem_dim tokens each.
  const int64_t ptr_tokens = 2 * (c / mem);
  const int64_t m = 2 * hw + ptr_tokens;
  at::manual_seed(10);
  absl::StatusOr<at::Tensor> out =
      ma->Forward(at::randn({hw, 1, c}), at::randn({m, 1, mem}),
                  at::randn({hw, 1, c}), at::randn({m, 1, mem}), ptr_tokens);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->sizes(), at::IntArrayRef({hw, 1, c}));
  EXPECT_TRUE(at::isfinite(*out).all().item<bool>());
}

TEST(MemoryAttentionTest, TinyPresetShapes) {
  absl::StatusOr<Sam2Config> config = PresetConfig("sam2.1_hiera_tiny");
  ASSERT_TRUE(config.ok()) << config.status();
  at::manual_seed(11);
  const StateDict s = RandomWeights(*config, "memory_attention.");
  absl::StatusOr<MemoryAttention> ma = MemoryAttention::Create(*config, s);
  ASSERT_TRUE(ma.ok()) << ma.status();
  const int64_t c = config->HiddenDim();
  const int64_t mem = config->MemDim();
  const int64_t side = config->ImageEmbeddingSize();
  const int64_t hw = side * side;
  const int64_t ptr_tokens = c / mem;  // one pointer
  const int64_t m = hw + ptr_tokens;   // one memory frame
  absl::StatusOr<at::Tensor> out =
      ma->Forward(at::randn({hw, 1, c}), at::randn({m, 1, mem}),
                  at::randn({hw, 1, c}), at::randn({m, 1, mem}), ptr_tokens);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->sizes(), at::IntArrayRef({hw, 1, c}));
}

TEST(MemoryAttentionTest, MissingOrMisshapedWeightIsNamed) {
  const Sam2Config config = SmallConfig();
  const StateDict full = SmallWeights(config);
  const std::string victim =
      "memory_attention.layers.1.cross_attn_image.k_proj.weight";
  StateDict missing, bad;
  for (const NamedTensor& t : full) {
    if (t.name != victim) {
      ASSERT_TRUE(missing.Add(t.name, t.tensor).ok());
    }
    ASSERT_TRUE(
        bad.Add(t.name, t.name == victim ? at::zeros({8, 8}) : t.tensor).ok());
  }
  for (const StateDict* s : {&missing, &bad}) {
    absl::StatusOr<MemoryAttention> ma = MemoryAttention::Create(config, *s);
    ASSERT_EQ(ma.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(ma.status().message(), victim))
        << ma.status();
  }
  Sam2Config glu = config;
  glu.memory_attention.layer.activation = "glu";
  EXPECT_EQ(MemoryAttention::Create(glu, full).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MemoryAttentionTest, BadInputsAreInvalidArgument) {
  const Sam2Config config = SmallConfig();
  const StateDict s = SmallWeights(config);
  absl::StatusOr<MemoryAttention> ma = MemoryAttention::Create(config, s);
  ASSERT_TRUE(ma.ok()) << ma.status();
  const at::Tensor curr = at::randn({9, 1, 8});
  const at::Tensor mem = at::randn({22, 1, 4});
  ASSERT_TRUE(ma->Forward(curr, mem, curr, mem, 4).ok());
  auto code = [&](const at::Tensor& c, const at::Tensor& m,
                  const at::Tensor& cp, const at::Tensor& mp, int64_t n) {
    return ma->Forward(c, m, cp, mp, n).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const at::Tensor curr7 = at::randn({9, 1, 7});
  EXPECT_EQ(code(curr7, mem, curr7, mem, 4), kInvalid);  // channels
  const at::Tensor mem5 = at::randn({22, 1, 5});
  EXPECT_EQ(code(curr, mem5, curr, mem5, 4), kInvalid);  // memory channels
  const at::Tensor mem_b2 = at::randn({22, 2, 4});
  EXPECT_EQ(code(curr, mem_b2, curr, mem_b2, 4), kInvalid);  // batch
  EXPECT_EQ(code(curr, mem, at::Tensor(), mem, 4), kInvalid);  // no curr_pos
  EXPECT_EQ(code(curr, mem, curr, at::Tensor(), 4), kInvalid);  // no mem pos
  EXPECT_EQ(code(curr, mem, curr, mem.slice(0, 1), 4), kInvalid);
  EXPECT_EQ(code(curr, mem, curr, mem, 3), kInvalid);   // 19 rotated keys
  EXPECT_EQ(code(curr, mem, curr, mem, 23), kInvalid);  // > M
  const at::Tensor curr8 = at::randn({8, 1, 8});       // not a square grid
  const at::Tensor mem20 = at::randn({20, 1, 4});
  EXPECT_EQ(code(curr8, mem20, curr8, mem20, 4), kInvalid);
  EXPECT_EQ(code(curr.squeeze(1), mem, curr, mem, 4), kInvalid);
}


TEST(MemoryAttentionTest, MatchesReferenceOnMicroCheckpoint) {
  absl::StatusOr<LoadedModel> model = LoadModel(kMicroCheckpoint, "");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<StateDict> ref = ReadSafetensors(kReferenceOutputs);
  ASSERT_TRUE(ref.ok()) << ref.status();
  absl::StatusOr<MemoryAttention> ma =
      MemoryAttention::Create(model->config, model->weights);
  ASSERT_TRUE(ma.ok()) << ma.status();
  const int64_t c = model->config.HiddenDim();
  const int64_t mem = model->config.MemDim();
  const int64_t side = model->config.ImageEmbeddingSize();
  const int64_t hw = side * side;
  // Two memory frames and 4 object-pointer tokens.
  const int64_t ptr_tokens = 4;
  const int64_t m = 2 * hw + ptr_tokens;
  absl::StatusOr<at::Tensor> out = ma->Forward(
      Pseudo({hw, 1, c}, 3), Pseudo({m, 1, mem}, 5), Pseudo({hw, 1, c}, 4),
      Pseudo({m, 1, mem}, 6), ptr_tokens);
  ASSERT_TRUE(out.ok()) << out.status();
  const at::Tensor* want = ref->Find("memory_attention.output");
  ASSERT_NE(want, nullptr);
  ASSERT_EQ(out->sizes(), want->sizes());
  const double err = MaxAbsDiff(*out, *want);
  std::cout << "memory attention max |diff| " << err << " (max |ref| "
            << want->abs().max().item<double>() << ")\n";
  EXPECT_LT(err, 1e-5);
}

}  // namespace
}  // namespace sam2
