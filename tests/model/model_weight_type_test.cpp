// Model::set_weight_type: which tensors change type, that the float32 copy is freed, that the forward reads the
// typed views (the embedding lookup included), copies, and the refusals of everything that needs float32.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/model/lm.hpp"

namespace tinymamba {
namespace {

// Rows of 32 or 64 (whole q8_0 / q4_0 blocks) except dt_proj's dt_rank = 3. Mamba-2: heads of 16, the same
// widths for in_proj (d_model) and out_proj (d_inner).
Config block_config(bool tied, MixerKind kind = MixerKind::mamba1) {
  Config c;
  c.mixer = kind;
  c.headdim = 16;
  c.chunk_size = 4;
  c.d_model = 32;
  c.n_layer = 2;
  c.vocab_size = 40;  // padded to 48
  c.d_state = 4;
  c.expand = 2;
  c.dt_rank = 3;
  c.tie_embeddings = tied;
  c.resolve("test config");
  return c;
}

Model initialized(const Config& c) {
  Model m(c);
  init_parameters(m, 5);
  return m;
}

const std::vector<std::int32_t> kIds = {1, 39, 7, 0, 22, 5};

std::vector<float> logits(const Model& m) {
  Activations a;
  lm_forward(m, kIds, 2, 3, a, {});
  return {a.logits.begin(), a.logits.end()};
}

// The float32 model whose large matrices hold what type t stores (quantized then dequantized): the typed
// model must compute with exactly these weights.
Model rounded_reference(const Model& f32, WeightType t) {
  Model r = f32;
  for (const ParamInfo& p : r.layout) {
    const bool large = p.name == "backbone.embedding.weight" || p.name == "lm_head.weight" ||
                       p.name.ends_with("_proj.weight");
    if (!large) continue;
    const std::int64_t rows = p.shape[0], cols = p.shape[1];
    const WeightType type = cols % weight_type_block(t) == 0 ? t : WeightType::f16;
    const Buffer<std::byte> q = quantize_matrix(type, r.params.data() + p.offset, rows, cols, p.name);
    const std::int64_t rb = weight_row_bytes(type, cols, p.name);
    for (std::int64_t i = 0; i < rows; ++i) dequantize_row(type, q.data() + i * rb, cols, r.params.data() + p.offset + i * cols);
  }
  return r;
}

TEST(ModelWeightType, StoresTheLargeMatricesAndFreesTheFloat32Copy) {
  for (const bool tied : {true, false}) {
    Model m = initialized(block_config(tied));
    const std::int64_t f32_bytes = m.weight_bytes();
    EXPECT_EQ(f32_bytes, static_cast<std::int64_t>(m.config.parameter_count() * 4));
    m.set_weight_type(WeightType::q8_0);
    EXPECT_TRUE(m.params.empty());
    EXPECT_EQ(m.params.capacity(), 0u);
    EXPECT_EQ(m.weight_type(), WeightType::q8_0);
    for (const auto& s : m.storage()) {
      const WeightType want = s.name.ends_with("dt_proj.weight")   ? WeightType::f16  // 3 columns: no block
                              : s.name.ends_with("_proj.weight") ||
                                      s.name == "backbone.embedding.weight" || s.name == "lm_head.weight"
                                  ? WeightType::q8_0
                                  : WeightType::f32;
      EXPECT_EQ(s.type, want) << s.name;
    }
    const ConstWeights& w = std::as_const(m).weights();
    EXPECT_EQ(w.embedding.type, WeightType::q8_0);
    EXPECT_EQ(w.lm_head.type, WeightType::q8_0);
    EXPECT_EQ(tied, w.lm_head.data == w.embedding.data);
    EXPECT_EQ(w.mamba1[1].out_proj.type, WeightType::q8_0);
    EXPECT_EQ(w.mamba1[1].dt_proj.type, WeightType::f16);
    // q8_0: 34 bytes per 32 weights instead of 128; the f32 tensors (norms, conv, A_log, D, biases) stay.
    EXPECT_LT(m.weight_bytes(), f32_bytes * 40 / 100);
  }
}

// The forward and the recurrent step read the typed views: their logits are those of the float32 model holding
// the stored (rounded) weights. f16/bf16 products are float32 arithmetic on exact weights: only the summation
// order differs (1e-5 of the largest logit, the forward's bar: tests/golden). q8_0/q4_0 kernels also round the
// activations to q8_0 (up to 1/254 of a block's largest element, quant-formats.md), which here moves the logits
// by up to 2.1e-2 of the largest (measured: q4_0, untied); the bar is 5e-2. A view bound to the wrong tensor or
// reading bytes as another type is off by the logits' own size.
TEST(ModelWeightType, TheForwardComputesWithTheStoredWeights) {
  for (const MixerKind kind : {MixerKind::mamba1, MixerKind::mamba2})
  for (const bool tied : {true, false})
    for (const WeightType t : {WeightType::f16, WeightType::bf16, WeightType::q8_0, WeightType::q4_0}) {
      const Model f32 = initialized(block_config(tied, kind));
      const std::vector<float> want = logits(rounded_reference(f32, t));
      Model m = f32;
      m.set_weight_type(t);
      const Model copy = m;  // a copy reads its own typed buffers
      double scale = 0;
      for (const float v : want) scale = std::max(scale, static_cast<double>(std::fabs(v)));
      const double bar = (weight_type_block(t) == 1 ? 1e-5 : 5e-2) * scale;
      for (const Model* x : {static_cast<const Model*>(&m), &copy}) {
        const std::vector<float> got = logits(*x);
        ASSERT_EQ(got.size(), want.size());
        double diff = 0;
        for (std::size_t i = 0; i < got.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(got[i] - want[i])));
        EXPECT_LE(diff, bar) << weight_type_name(t) << " tied " << tied;
      }
      EXPECT_NE(std::as_const(copy).weights().embedding.data, std::as_const(m).weights().embedding.data);
    }
}

TEST(ModelWeightType, TrainingAndFloat32AccessRefuseAConvertedModel) {
  Model m = initialized(block_config(true));
  m.set_weight_type(WeightType::bf16);
  EXPECT_THROW(
      {
        try {
          (void)m.weights();
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("stored as bf16"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  Activations a;
  lm_forward(m, kIds, 2, 3, a, {.for_backward = true});
  Buffer<float> grads(static_cast<std::size_t>(parameter_buffer_size(m.layout)), 0.0f);
  EXPECT_THROW(lm_backward(m, kIds, a, grads.data(), kDefaultScan), Error);
  EXPECT_THROW(m.set_weight_type(WeightType::q8_0), Error);  // conversions start from float32
  EXPECT_NO_THROW(m.set_weight_type(WeightType::f32));       // f32 changes nothing
  EXPECT_NO_THROW(m.set_weight_type(WeightType::bf16));      // nor the type it has (a bf16 GGUF with --dtype bf16)
  EXPECT_EQ(m.weight_type(), WeightType::bf16);
}

}  // namespace
}  // namespace tinymamba
