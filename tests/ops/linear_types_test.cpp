// linear_forward and linear_rows_accumulate for every weight type against a double-precision reference computed
// on the DEQUANTIZED weights, so what is left is the kernels' own arithmetic: T ≤ 8 takes each type's decode
// kernel (ops/matmul/<type>.cpp), T > 8 its GEMM. The decode kernels of q8_0 and q4_0 round the activations to
// q8_0 first (matmul.hpp says so); their reference does the same with quantize_row_q8_0, whose bytes
// quantize_test.cpp checks.
//
// Tolerance: every kernel sums in float32 terms that are exact or one rounding off (a widened 16-bit weight and
// its product; an exact int32 block sum times d_w·d_x, itself rounded once), so by the standard bound on a
// float sum of n terms |ŝ − s| ≤ γ_{n+3}·Σ|terms| with γ_k = k·u/(1 − k·u), u = 2^-24 (n = in + 1 with the
// bias), whatever order the kernel adds in.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <vector>

#include "tinymamba/core/dtype.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/core/rng.hpp"
#include "tinymamba/ops/linear.hpp"

namespace tinymamba {
namespace {

constexpr std::int64_t kMaxGemvTokens = 8;  // linear.cpp's switch from the decode kernel to the GEMM

bool rounds_activations_to_q8_0(WeightType t, std::int64_t T) {
  return T <= kMaxGemvTokens && (t == WeightType::q8_0 || t == WeightType::q4_0);
}

struct Case {
  WeightType type;
  std::int64_t out, in, T;
  bool bias;
};

std::string name(const Case& c) {
  return cat(weight_type_name(c.type), " out ", c.out, " in ", c.in, " T ", c.T, c.bias ? " bias" : "");
}

void PrintTo(const Case& c, std::ostream* os) { *os << name(c); }

class LinearTypes : public testing::TestWithParam<Case> {};

// w quantized to t; for the K-quants (no quantizer: they are read from files) random bytes, which are valid
// blocks once their fp16 scales are set to finite values of the weights' size.
Buffer<std::byte> stored_weights(WeightType t, const std::vector<float>& w, std::int64_t out, std::int64_t in,
                                 Rng& rng) {
  if (weight_type_has_quantizer(t)) return quantize_matrix(t, w.data(), out, in, "w");
  Buffer<std::byte> b(static_cast<std::size_t>(out * weight_row_bytes(t, in, "w")));
  for (auto& v : b) v = static_cast<std::byte>(rng.below(256));
  const auto half = [&](double scale) { return f32_to_f16(static_cast<float>(rng.uniform(0.5, 1.0) * scale)); };
  for (std::size_t i = 0; i < b.size(); i += static_cast<std::size_t>(weight_type_block_bytes(t))) {
    if (t == WeightType::q4_k) {
      auto* k = reinterpret_cast<BlockQ4_K*>(b.data() + i);
      k->d = half(2e-3);
      k->dmin = half(1e-2);
    } else {
      reinterpret_cast<BlockQ6_K*>(b.data() + i)->d = half(1e-4);
    }
  }
  return b;
}

TEST_P(LinearTypes, ForwardMatchesTheDequantizedReference) {
  const Case c = GetParam();
  const std::int64_t ldx = c.in + 5, ldy = c.out + 3;  // strided rows, as the model's slices
  Rng rng(static_cast<std::uint64_t>(c.out * 1000003 + c.in * 1009 + c.T));
  SCOPED_TRACE(name(c));
  std::vector<float> w(static_cast<std::size_t>(c.out * c.in)), x(static_cast<std::size_t>(c.T * ldx), 0.0f),
      bias(static_cast<std::size_t>(c.out));
  for (auto& v : w) v = static_cast<float>(rng.normal(0.0, 0.1));
  for (auto& v : x) v = static_cast<float>(rng.normal(0.0, 1.0));
  for (auto& v : bias) v = static_cast<float>(rng.normal(0.0, 0.5));

  const auto stored = stored_weights(c.type, w, c.out, c.in, rng);
  const WeightMatrix W = WeightMatrix::dense(c.type, stored.data(), c.out, c.in);
  std::vector<float> wd(w.size()), xd(static_cast<std::size_t>(c.in));
  for (std::int64_t o = 0; o < c.out; ++o) dequantize_row(c.type, W.row(o), c.in, wd.data() + o * c.in);

  std::vector<float> y(static_cast<std::size_t>(c.T * ldy), -7.0f);
  linear_forward({y.data(), ldy}, {x.data(), ldx}, W, c.bias ? bias.data() : nullptr, c.T);

  std::vector<BlockQ8_0> xq(static_cast<std::size_t>(c.in / 32 + 1));
  const double gamma = (c.in + 4) * 0x1p-24 / (1.0 - (c.in + 4) * 0x1p-24);
  for (std::int64_t t = 0; t < c.T; ++t) {
    const float* xt = x.data() + t * ldx;
    if (rounds_activations_to_q8_0(c.type, c.T)) {
      quantize_row_q8_0(xt, c.in, xq.data());
      dequantize_row(WeightType::q8_0, xq.data(), c.in, xd.data());
    } else {
      xd.assign(xt, xt + c.in);
    }
    for (std::int64_t o = 0; o < c.out; ++o) {
      double s = c.bias ? bias[o] : 0.0, mag = std::fabs(s);
      for (std::int64_t i = 0; i < c.in; ++i) {
        s += static_cast<double>(wd[o * c.in + i]) * xd[i];
        mag += std::fabs(static_cast<double>(wd[o * c.in + i]) * xd[i]);
      }
      const double got = y[t * ldy + o];
      ASSERT_LE(std::fabs(got - s), gamma * mag) << "token " << t << " row " << o << ": got " << got << " want " << s;
    }
    for (std::int64_t o = c.out; o < ldy; ++o) ASSERT_EQ(y[t * ldy + o], -7.0f) << "wrote past the row";
  }
}

std::vector<Case> cases() {
  std::vector<Case> cs;
  for (const WeightType t : kWeightTypes)
    for (const std::int64_t T : {1, 3, 8, 9, 40})
      for (const bool bias : {false, true}) {
        if (weight_type_block(t) == 256) {
          cs.push_back({t, 11, 512, T, bias});
          continue;
        }
        cs.push_back({t, 37, 64, T, bias});
        cs.push_back({t, 5, 32, T, bias});
        if (weight_type_block(t) == 1) cs.push_back({t, 19, 47, T, bias});  // a tail past 16 lanes
      }
  // The block kernels' paths: 5 blocks (one step of four (AVX2) or two pairs (AVX-512), then one alone); 13
  // (a step of eight, two pairs and one alone, AVX-512)
  cs.push_back({WeightType::q8_0, 7, 160, 1, false});
  for (const WeightType t : {WeightType::q8_0, WeightType::q4_0}) cs.push_back({t, 3, 416, 2, false});
  cs.push_back({WeightType::q4_0, 300, 768, 2, false});  // many blocks and rows: prefetch, the panels of the GEMM
  cs.push_back({WeightType::q8_0, 300, 768, 20, true});
  cs.push_back({WeightType::f16, 600, 160, 33, false});
  cs.push_back({WeightType::q4_k, 300, 768, 20, true});
  cs.push_back({WeightType::q6_k, 64, 768, 3, false});
  return cs;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, LinearTypes, testing::ValuesIn(cases()), [](const auto& info) {
  std::string s = name(info.param);
  for (char& ch : s)
    if (ch == ' ') ch = '_';
  return s;
});

// rows_accumulate adds into y[:, o0:o1] and leaves the other columns alone, for every type.
TEST(LinearTypes, RowsAccumulateTouchesOnlyItsRows) {
  const std::int64_t out = 20, in = 256, T = 2;
  Rng rng(3);
  std::vector<float> w(static_cast<std::size_t>(out * in)), x(static_cast<std::size_t>(T * in));
  for (auto& v : w) v = static_cast<float>(rng.normal());
  for (auto& v : x) v = static_cast<float>(rng.normal());
  for (const WeightType t : kWeightTypes) {
    const auto stored = stored_weights(t, w, out, in, rng);
    const WeightMatrix W = WeightMatrix::dense(t, stored.data(), out, in);
    std::vector<float> once(static_cast<std::size_t>(T * out), 0.0f), twice(once.size(), 1.0f);
    linear_rows_accumulate({once.data(), out}, {x.data(), in}, W, T, 0, out);
    linear_rows_accumulate({twice.data(), out}, {x.data(), in}, W, T, 5, 13);
    for (std::int64_t i = 0; i < T * out; ++i) {
      const std::int64_t o = i % out;
      if (o < 5 || o >= 13) {
        EXPECT_EQ(twice[i], 1.0f) << weight_type_name(t) << " column " << o;
      } else {
        EXPECT_EQ(twice[i], 1.0f + once[i]) << weight_type_name(t) << " column " << o;  // same kernel, same order
      }
    }
  }
}

// A row's output does not depend on which rows go with it: the decode products take rows a few at a time
// (block_gemv.hpp: four, in two pairs per 512-bit register where AVX-512 VNNI is built; f32.cpp: tiles of six or
// two), and a range's leftover rows one by one, so each row computed alone must give the bits it gets in the
// full range.
TEST(LinearTypes, RowsAccumulateIsTheSameForARowAloneOrWithOthers) {
  const std::int64_t out = 23;  // 3 × 6 + 5, 5 × 4 + 3, 11 × 2 + 1 rows
  Rng rng(4);
  for (const WeightType t : kWeightTypes) {
    const std::int64_t in = weight_type_block(t) == 1 ? 100 : 3 * weight_type_block(t);  // 100: a scalar tail
    std::vector<float> w(static_cast<std::size_t>(out * in));
    for (auto& v : w) v = static_cast<float>(rng.normal());
    const auto stored = stored_weights(t, w, out, in, rng);
    const WeightMatrix W = WeightMatrix::dense(t, stored.data(), out, in);
    for (const std::int64_t T : {3, 16}) {  // a decode step's one pass over the rows, and a batched step's tiles
      std::vector<float> x(static_cast<std::size_t>(T * in));
      for (auto& v : x) v = static_cast<float>(rng.normal());
      std::vector<float> together(static_cast<std::size_t>(T * out), 0.0f), alone(together.size(), 0.0f);
      linear_rows_accumulate({together.data(), out}, {x.data(), in}, W, T, 0, out);
      for (std::int64_t o = 0; o < out; ++o)
        linear_rows_accumulate({alone.data(), out}, {x.data(), in}, W, T, o, o + 1);
      for (std::int64_t i = 0; i < T * out; ++i)
        ASSERT_EQ(together[i], alone[i]) << weight_type_name(t) << " T " << T << " token " << i / out << " row "
                                         << i % out;
    }
  }
}

// Batch invariance at the kernel: each token's outputs from one rows_accumulate over T tokens equal, bit for bit,
// those of the token alone (T = 1), for every type and every T up to a full batch — a batched step of more than
// four tokens goes through other tiles of rows and tokens (f32.cpp) than a single decode. out = 20 is not a
// multiple of the tiles' rows; in = 100 is not a multiple of 16 or 32 lanes (a scalar tail; the block types
// need in % 32 == 0 and take 96), and the range 1..19 starts and ends off the tiles.
TEST(LinearTypes, RowsAccumulateIsTheSameForATokenAloneOrInABatch) {
  const std::int64_t out = 20;
  Rng rng(5);
  for (const WeightType t : kWeightTypes) {
    const std::int64_t in = weight_type_block(t) == 1 ? 100 : 96 * weight_type_block(t) / 32;
    std::vector<float> w(static_cast<std::size_t>(out * in));
    for (auto& v : w) v = static_cast<float>(rng.normal());
    const auto stored = stored_weights(t, w, out, in, rng);
    const WeightMatrix W = WeightMatrix::dense(t, stored.data(), out, in);
    for (const std::int64_t T : {2, 5, 11, 16}) {
      std::vector<float> x(static_cast<std::size_t>(T * in)), batch(static_cast<std::size_t>(T * out), 0.0f);
      for (auto& v : x) v = static_cast<float>(rng.normal());
      linear_rows_accumulate({batch.data(), out}, {x.data(), in}, W, T, 1, out - 1);
      for (std::int64_t k = 0; k < T; ++k) {
        std::vector<float> alone(static_cast<std::size_t>(out), 0.0f);
        linear_rows_accumulate({alone.data(), out}, {x.data() + k * in, in}, W, 1, 1, out - 1);
        for (std::int64_t o = 0; o < out; ++o)
          ASSERT_EQ(batch[k * out + o], alone[o])
              << weight_type_name(t) << " T " << T << " token " << k << " row " << o;
      }
    }
  }
}

}  // namespace
}  // namespace tinymamba
