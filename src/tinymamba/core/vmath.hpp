// Elementwise float32 math written so that GCC vectorizes it (AVX2/FMA with -march=native) — no libm calls in
// hot loops, no -ffast-math. Accuracy: exp within 2 ulp; softplus and sigmoid within a few ulp relative
// (tests/unit/vmath_test.cpp measures both against double-precision libm over their whole useful range).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace tinymamba::vmath {

// exp(x) = 2^k · exp(r), k = round(x / ln2), r = x − k·ln2 (two-part ln2, Cody–Waite), exp(r) by a degree-6
// polynomial on |r| ≤ ln2/2. Results below 2^-126 flush to 0 (the true value is < 1.2e-38); NaN stays NaN.
inline float exp(float x) {
  // Written so that NaN takes the lower bound (every comparison with NaN is false): the float-to-int conversion
  // below must see a finite value (converting NaN is undefined behaviour), and the last line returns NaN anyway.
  const float clamped = x >= -87.33654f ? (x <= 88.72283f ? x : 88.72283f) : -87.33654f;
  const float magic = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer in the low mantissa bits
  const float kf = std::fma(clamped, 1.44269504088896341f, magic) - magic;
  float r = std::fma(kf, -0.693145751953125f, clamped);
  r = std::fma(kf, -1.428606765330187045e-06f, r);
  float p = 1.9875691500e-4f;  // Cephes expf coefficients
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r) + 1.0f;
  const std::int32_t k = static_cast<std::int32_t>(kf);
  // k can reach 128 at the top of the range: scale in two steps so 2^k never overflows the exponent field.
  const float half_scale = std::bit_cast<float>((k / 2 + 127) << 23);
  const float rest_scale = std::bit_cast<float>((k - k / 2 + 127) << 23);
  float result = p * half_scale * rest_scale;
  result = x < -87.33654f ? 0.0f : result;
  result = x > 88.72283f ? INFINITY : result;
  return x != x ? x : result;
}

// ln(x) for x > 0 (normal): x = m·2^e with m in [√½, √2), ln m by the odd series in s = (m−1)/(m+1).
inline float log(float x) {
  std::int32_t bits = std::bit_cast<std::int32_t>(x);
  std::int32_t e = ((bits >> 23) & 0xff) - 127;
  float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f800000);  // [1, 2)
  const bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = big ? e + 1 : e;
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  // ln m = 2·atanh(s) = 2s + s³·(2/3 + 2/5·s² + ... + 2/13·s¹⁰); |s| <= 0.1716, the next term is < 1e-12.
  float p = 2.0f / 13.0f;
  p = std::fma(p, s2, 2.0f / 11.0f);
  p = std::fma(p, s2, 2.0f / 9.0f);
  p = std::fma(p, s2, 2.0f / 7.0f);
  p = std::fma(p, s2, 2.0f / 5.0f);
  p = std::fma(p, s2, 2.0f / 3.0f);
  const float ln_m = std::fma(s * s2, p, 2.0f * s);
  return std::fma(static_cast<float>(e), 0.693147180559945f, ln_m);
}

// log(1 + y) for y >= 0, accurate also for tiny y (Goldberg: log(u)·y/(u−1) with u = 1 + y rounded).
inline float log1p_nonneg(float y) {
  const float u = 1.0f + y;
  return u == 1.0f ? y : log(u) * (y / (u - 1.0f));
}

// softplus as torch computes it (beta 1, threshold 20): x for x > 20, else log(1 + e^x), written as
// max(x, 0) + log1p(e^-|x|) so that nothing overflows.
inline float softplus(float x) {
  const float sp = (x > 0.0f ? x : 0.0f) + log1p_nonneg(exp(-std::fabs(x)));
  return x > 20.0f ? x : sp;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

// SiLU (swish): x·σ(x).
inline float silu(float x) { return x * sigmoid(x); }

// d/dx SiLU(x) = σ(x)·(1 + x·(1 − σ(x))).
inline float silu_grad(float x) {
  const float s = sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

}  // namespace tinymamba::vmath
