// Elementwise float32 math written so that GCC vectorizes it (AVX2/FMA with -march=native) — no libm calls in
// hot loops, no -ffast-math. Accuracy: exp within 2 ulp; softplus and sigmoid within a few ulp relative
// (tests/core/vmath_test.cpp measures both against double-precision libm over their whole useful range).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace tinymamba::vmath {

// exp(x) = 2^k · exp(r), k = round(x / ln2), r = x − k·ln2 (two-part ln2, Cody–Waite), exp(r) by a degree-6
// polynomial on |r| ≤ ln2/2: what exp and exp_nonpositive share, for x already clamped to the range.
struct ExpParts {
  float kf;  // k, as a float
  float p;   // exp(r), in [√½, √2]
};
inline ExpParts exp_parts(float clamped) {
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
  return {kf, std::fma(p, r * r, r) + 1.0f};
}

// exp(x). Results below 2^-126 flush to 0 (the true value is < 1.2e-38); NaN stays NaN.
inline float exp(float x) {
  // Written so that NaN takes the lower bound (every comparison with NaN is false): the float-to-int conversion
  // below must see a finite value (converting NaN is undefined behaviour), and the last line returns NaN anyway.
  const float clamped = x >= -87.33654f ? (x <= 88.72283f ? x : 88.72283f) : -87.33654f;
  const auto [kf, p] = exp_parts(clamped);
  const std::int32_t k = static_cast<std::int32_t>(kf);
  // k can reach 128 at the top of the range: scale in two steps so 2^k never overflows the exponent field.
  const float half_scale = std::bit_cast<float>((k / 2 + 127) << 23);
  const float rest_scale = std::bit_cast<float>((k - k / 2 + 127) << 23);
  // The out-of-range cases scale the result (by 0 or ∞) instead of replacing it: a value used on only some
  // paths gets sunk into a branch by GCC, and without AVX-512's masked instructions it then refuses to
  // if-convert the polynomial ("could trap"), so no loop calling exp vectorized on AVX2-only CPUs. A NaN x
  // (clamped to the lower bound above) comes back as the factor itself. Bitwise the same results as selecting,
  // checked over every float.
  const float special = x < -87.33654f ? 0.0f : (x > 88.72283f ? INFINITY : (x == x ? 1.0f : x));
  return p * half_scale * rest_scale * special;
}

// exp(x) for x <= 0 (or NaN): bitwise exp(x) there, in fewer operations — the decay exp(δ·A) of a recurrent
// step (δ >= 0, A < 0), computed for every state of every channel of every sequence. With k <= 0 the scale 2^k
// is one normal float (k >= -126 after the clamp), and p·2^k rounds once either way (exp's p·2^(k/2) is exact,
// normal), so one multiply replaces exp's two and the halving of k; no overflow side. Checked against exp over
// every float of its domain (tests/core/vmath_test.cpp). Measured: the scan step of 16 sequences × 24 layers of
// the 130m shape, 4.6 → 3.7 ms (one thread). x > 0 is taken as 0 (returns 1): defined, not meaningful.
inline float exp_nonpositive(float x) {
  const float clamped = x >= -87.33654f ? (x <= 0.0f ? x : 0.0f) : -87.33654f;  // NaN takes the lower bound
  const auto [kf, p] = exp_parts(clamped);
  const float scale = std::bit_cast<float>((static_cast<std::int32_t>(kf) + 127) << 23);
  const float special = x < -87.33654f ? 0.0f : (x == x ? 1.0f : x);  // as exp's: 0 below the range, NaN kept
  return p * scale * special;
}

// ln(x) for x > 0 (normal): x = m·2^e with m in [√½, √2), ln m by the odd series in s = (m−1)/(m+1).
inline float log(float x) {
  std::int32_t bits = std::bit_cast<std::int32_t>(x);
  std::int32_t e = ((bits >> 23) & 0xff) - 127;
  const std::int32_t m_bits = (bits & 0x007fffff) | 0x3f800000;
  const bool big = std::bit_cast<float>(m_bits) > 1.41421356f;  // m in [1, 2)
  // m/2 when big, by lowering the exponent field: no floating-point operation sits under a condition (GCC
  // cannot if-convert one without AVX-512's masked instructions, and folds `m * (big ? 0.5f : 1.0f)` back).
  const float m = std::bit_cast<float>(m_bits - (big ? 0x00800000 : 0));
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
// Written so that no floating-point operation sits under a condition: GCC sinks a value used in only one arm
// of a select into that arm, and (with the default -ftrapping-math) cannot if-convert a division there without
// AVX-512's masked instructions, so the loop would not vectorize on AVX2. The divisor is replaced only when
// u == 1, where log(u) = 0 exactly: r = 0 and the sum returns y. (Replacing it by 1 would be folded back into a
// branch.) Bitwise the same results as the branchy form, checked over every float.
inline float log1p_nonneg(float y) {
  const float u = 1.0f + y;
  const float du = u - 1.0f;
  const float r = log(u) * (y / (std::fabs(du) > 1.17549435e-38f ? du : 1.17549435e-38f));
  return r + (du == 0.0f ? y : 0.0f);
}

// softplus as torch computes it (beta 1, threshold 20): x for x > 20, else log(1 + e^x), written as
// max(x, 0) + log1p(e^-|x|) so that nothing overflows.
// As elsewhere here, no floating-point operation sits under a condition (AVX2 vectorization, see log1p_nonneg):
// the log1p term is computed for every x (from x clamped to 20, so it stays finite) and dropped above the
// threshold by masking its bits. Bitwise the same results as `x > 20 ? x : sp`, checked over every float.
inline float softplus(float x) {
  const bool pass = x > 20.0f;
  const float xs = pass ? 20.0f : x;
  const float sp = (xs > 0.0f ? xs : 0.0f) + log1p_nonneg(exp(-std::fabs(xs)));
  const float kept = std::bit_cast<float>(std::bit_cast<std::int32_t>(sp) & (pass ? 0 : -1));  // sp or +0
  return kept + (pass ? x : 0.0f);
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
