// The vectorized float32 math against double-precision libm, over the whole range each function is used on.
#include "tinymamba/core/vmath.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "sanitized.hpp"

namespace tinymamba {
namespace {

// Relative error in units of float32 epsilon (2^-23 ≈ 1.19e-7).
double ulps(float got, double want) {
  return std::fabs(static_cast<double>(got) - want) / (std::fabs(want) * std::numeric_limits<float>::epsilon());
}

TEST(VMath, ExpWithinTwoUlpOverTheNormalRange) {
  double worst = 0;
  float worst_x = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.001953125f * 3.3f) {
    const double e = ulps(vmath::exp(x), std::exp(static_cast<double>(x)));
    if (e > worst) worst = e, worst_x = x;
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_x;
}

TEST(VMath, ExpEdges) {
  EXPECT_EQ(vmath::exp(0.0f), 1.0f);
  EXPECT_EQ(vmath::exp(-100.0f), 0.0f);  // true value 3.7e-44: flushed, as documented
  EXPECT_EQ(vmath::exp(-1000.0f), 0.0f);
  EXPECT_TRUE(std::isinf(vmath::exp(100.0f)));
  EXPECT_TRUE(std::isnan(vmath::exp(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_GT(vmath::exp(88.7f), 3.0e38f);
}

// exp_nonpositive claims exp's bits on its whole domain: every float with the sign bit set (−0, the negatives,
// −∞ and the NaNs), +0 and the positive NaNs. All of them in a plain build (~2 s: in chunks, so that both
// loops vectorize); every 61st under a sanitizer, which checks memory, not arithmetic, and runs ~10× slower.
TEST(VMath, ExpNonpositiveIsExpBitwiseOnItsDomain) {
  const std::uint64_t stride = test::kSanitized ? 61 : 1;
  constexpr std::size_t kChunk = 4096;
  std::vector<float> x(kChunk), got(kChunk), want(kChunk);
  std::uint64_t mismatches = 0;
  std::uint32_t first_bad = 0;
  const auto check = [&](std::uint64_t lo, std::uint64_t hi) {  // bit patterns [lo, hi]
    for (std::uint64_t b0 = lo; b0 <= hi; b0 += kChunk * stride) {
      std::size_t n = 0;
      for (; n < kChunk && b0 + n * stride <= hi; ++n) x[n] = std::bit_cast<float>(static_cast<std::uint32_t>(b0 + n * stride));
      for (std::size_t i = 0; i < n; ++i) got[i] = vmath::exp_nonpositive(x[i]);
      for (std::size_t i = 0; i < n; ++i) want[i] = vmath::exp(x[i]);
      if (std::memcmp(got.data(), want.data(), n * sizeof(float)) == 0) continue;
      for (std::size_t i = 0; i < n; ++i)
        if (std::bit_cast<std::uint32_t>(got[i]) != std::bit_cast<std::uint32_t>(want[i]) && mismatches++ == 0)
          first_bad = std::bit_cast<std::uint32_t>(x[i]);
    }
  };
  check(0x80000000u, 0xffffffffu);  // sign bit set
  check(0x00000000u, 0x00000000u);  // +0
  check(0x7f800001u, 0x7fffffffu);  // positive NaNs
  EXPECT_EQ(mismatches, 0u) << "first at bits 0x" << std::hex << first_bad;
}

TEST(VMath, SoftplusMatchesTorchFormulaToFewUlps) {
  double worst = 0;
  float worst_x = 0;
  for (float x = -60.0f; x <= 30.0f; x += 0.0137f) {
    const double want = x > 20.0f ? x : std::log1p(std::exp(static_cast<double>(x)));
    const double e = ulps(vmath::softplus(x), want);
    if (e > worst) worst = e, worst_x = x;
  }
  EXPECT_LE(worst, 4.0) << "at x = " << worst_x;
  EXPECT_EQ(vmath::softplus(25.0f), 25.0f);  // threshold 20: identity above
}

TEST(VMath, SigmoidAndSiluGrad) {
  double worst = 0;
  for (float x = -40.0f; x <= 40.0f; x += 0.0173f) {
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
    worst = std::max(worst, ulps(vmath::sigmoid(x), s));
    const double g = s * (1.0 + x * (1.0 - s));
    if (std::fabs(g) > 1e-6) {
      EXPECT_NEAR(vmath::silu_grad(x), g, 1e-6 * std::max(1.0, std::fabs(g))) << x;
    }
  }
  EXPECT_LE(worst, 4.0);
}

TEST(VMath, LogWithinTwoUlp) {
  double worst = 0;
  for (float x = 1e-30f; x < 1e30f; x *= 1.0173f) worst = std::max(worst, ulps(vmath::log(x), std::log(static_cast<double>(x))));
  EXPECT_LE(worst, 2.0);
}

}  // namespace
}  // namespace tinymamba
