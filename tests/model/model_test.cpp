// The whole model against an independent double-precision oracle (tests/reference_model.hpp): logits, loss and
// every parameter's gradient (central finite differences), on small configs that exercise every option
// (biases on and off, untied lm_head, odd sizes, d_conv 3, expand 3).
#include <gtest/gtest.h>

#include <utility>

#include "fd.hpp"
#include "tinymamba/core/error.hpp"
#include "reference_model.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/model/lm.hpp"

namespace tinymamba {
namespace {

struct Variant {
  bool bias, conv_bias, tied;
  std::int64_t d_conv;
  double expand;
  MixerKind kind = MixerKind::mamba1;
  // Mamba-2 only: heads of `headdim`, `ngroups` groups, d_ssm (0: d_inner; less adds the gated MLP part),
  // the gated norm or the gate inside the scan, D per head or per channel, chunk size.
  std::int64_t headdim = 0, ngroups = 1, d_ssm = 0;
  bool gated_rmsnorm = true, D_has_hdim = false;
};

Config small_config(const Variant& v) {
  Config c;
  c.mixer = v.kind;
  c.d_model = 6;
  c.n_layer = 2;
  c.vocab_size = 11;  // padded to 16
  c.d_state = 3;
  c.d_conv = v.d_conv;
  c.expand = v.expand;
  c.dt_rank = 2;
  c.bias = v.bias;
  c.conv_bias = v.conv_bias;
  c.tie_embeddings = v.tied;
  c.headdim = v.headdim;
  c.ngroups = v.ngroups;
  c.d_ssm = v.d_ssm;
  c.gated_rmsnorm = v.gated_rmsnorm;
  c.D_has_hdim = v.D_has_hdim;
  c.chunk_size = 2;  // L = 5 below: two whole chunks and a partial one
  c.resolve("test config");
  return c;
}

// Official init plus a deterministic perturbation, so norms are not all 1, biases not 0 and A_log rows differ
// (as in the perturbed golden): every gradient path carries a signal.
Model perturbed_model(const Config& c, unsigned seed) {
  Model m(c);
  init_parameters(m, seed);
  const auto noise = test::random_vector<float>(m.params.size(), seed + 100, -0.3, 0.3);
  for (const auto& p : m.layout)
    for (std::int64_t i = 0; i < p.numel; ++i) m.params[p.offset + i] += noise[p.offset + i];
  return m;
}

class ModelGradients : public ::testing::TestWithParam<Variant> {};
INSTANTIATE_TEST_SUITE_P(Configs, ModelGradients,
                         ::testing::Values(Variant{false, true, true, 4, 2}, Variant{true, false, false, 3, 3},
                                           Variant{true, true, true, 2, 1.5},
                                           Variant{false, true, true, 4, 2, MixerKind::mamba2, 3, 2},
                                           Variant{true, false, false, 3, 2, MixerKind::mamba2, 2, 1, 8, false, true}));

TEST_P(ModelGradients, LogitsLossAndEveryGradientMatchTheDoubleOracle) {
  const Variant v = GetParam();
  const Config c = small_config(v);
  const Model m = perturbed_model(c, 7);
  const std::int64_t B = 2, L = 5;
  const std::vector<std::int32_t> ids = {1, 4, 10, 0, 7, 3, 3, 9, 15, 2};  // 15: a padded row, still a valid input
  const test::ReferenceModel oracle(c);
  std::vector<double> p(m.params.begin(), m.params.end());

  Activations acts;
  lm_forward(m, ids, B, L, acts, {.for_backward = true});
  // Forward: float32 vs double oracle. Tolerance 2e-5 of the largest logit: ~100x the float32 rounding a
  // layer's sums gather (a few 1e-7 relative), ~1e4x below what a wrong term gives.
  EXPECT_LE(test::max_rel_error(acts.logits, oracle.logits(p, ids, B, L)), 2e-5);
  const double loss = lm_loss(m, ids, acts);
  EXPECT_NEAR(loss, oracle.loss(p, ids, B, L), 2e-6 * loss);

  Buffer<float> grads(m.params.size(), 0.0f);
  lm_backward(m, ids, acts, grads.data(), kDefaultScan);
  const auto fd = test::finite_differences(p, [&] { return oracle.loss(p, ids, B, L); });
  for (const auto& info : m.layout) {
    const std::vector<float> got(grads.begin() + info.offset, grads.begin() + info.offset + info.numel);
    const std::vector<double> want(fd.begin() + info.offset, fd.begin() + info.offset + info.numel);
    // Gradients of a whole model accumulate float32 error through every layer: 1e-4 of the tensor's largest
    // entry is still ~100x below the error of any wrong term (which is O(1) relative).
    EXPECT_LE(test::max_rel_error(got, want), 1e-4) << info.name;
    if (getenv("DBG") && info.name.find("A_log") != std::string::npos) {
      for (std::size_t i = 0; i < got.size(); ++i) printf("%s %zu got %.9g want %.9g\n", info.name.c_str(), i, got[i], want[i]);
    }
  }
}

// Gradients accumulate (+=): two backward passes give twice one.
TEST(Model, BackwardAccumulatesIntoTheGradientBuffer) {
  const Config c = small_config({false, true, true, 4, 2});
  const Model m = perturbed_model(c, 3);
  const std::vector<std::int32_t> ids = {1, 2, 3, 4};
  Buffer<float> once(m.params.size(), 0.0f), twice(m.params.size(), 0.0f);
  for (int k = 0; k < 2; ++k) {
    Activations acts;
    lm_forward(m, ids, 1, 4, acts, {.for_backward = true});
    lm_backward(m, ids, acts, twice.data(), kDefaultScan);
    if (k == 0) std::copy(twice.begin(), twice.end(), once.begin());
  }
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_FLOAT_EQ(twice[i], 2 * once[i]);
}

TEST(Model, CausalAndBatchRowsIndependent) {
  const Config c = small_config({true, true, true, 4, 2});
  const Model m = perturbed_model(c, 5);
  const std::int64_t L = 6, V = c.padded_vocab();
  std::vector<std::int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1};
  Activations a, b;
  lm_forward(m, ids, 2, L, a, {});
  ids[3] = 9;  // change token 3 of row 0
  lm_forward(m, ids, 2, L, b, {});
  for (std::int64_t t = 0; t < 2 * L; ++t) {
    const bool may_change = t >= 3 && t < L;  // positions ≥ 3 of row 0 only
    double diff = 0;
    for (std::int64_t v = 0; v < V; ++v) diff = std::max(diff, static_cast<double>(std::fabs(a.logits[t * V + v] - b.logits[t * V + v])));
    if (may_change)
      EXPECT_GT(diff, 0.0) << "position " << t;
    else
      EXPECT_EQ(diff, 0.0) << "position " << t;
  }
}

// The forward reads weight views bound when the model is built; a copy (or copy-assigned model) must read its
// own parameters, not the original's.
TEST(Model, ACopyComputesWithItsOwnParameters) {
  const Config c = small_config({false, true, true, 4, 2});
  const Model original = perturbed_model(c, 3);
  Model copy = original;
  Model assigned(c);
  assigned = original;
  const std::vector<std::int32_t> ids = {1, 2, 3, 4};
  Activations a, b;
  lm_forward(original, ids, 1, 4, a, {});
  for (Model* m : {&copy, &assigned}) {
    ASSERT_EQ(std::as_const(*m).weights().embedding.data, m->params.data() + m->find("backbone.embedding.weight")->offset);
    lm_forward(*m, ids, 1, 4, b, {});
    EXPECT_EQ(a.logits, b.logits);  // same parameters, same numbers
    for (float& p : m->params) p *= 0.5f;  // now only the copy changes
    lm_forward(*m, ids, 1, 4, b, {});
    EXPECT_NE(a.logits, b.logits);
  }
}

TEST(Model, RejectsTokenIdsOutsideThePaddedVocabulary) {
  const Model m(small_config({false, true, true, 4, 2}));
  Activations acts;
  const std::vector<std::int32_t> bad = {1, 16};
  EXPECT_THROW(lm_forward(m, bad, 1, 2, acts, {}), Error);
  const std::vector<std::int32_t> negative = {-1, 2};
  EXPECT_THROW(lm_forward(m, negative, 1, 2, acts, {}), Error);
}

}  // namespace
}  // namespace tinymamba
