// Compiled with -ffp-contract=off (src/tinymamba/CMakeLists.txt): Q4_0's x·id + 8.5 must be two roundings, as in
// ggml's reference, not one fused multiply-add, or a code can land one step off ggml's.
#include "tinymamba/core/quantize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "tinymamba/core/dtype.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {

void check_blocks(WeightType t, std::int64_t n) { (void)weight_row_bytes(t, n, "quantize"); }

// roundf (ties away from zero), exactly, for finite v, without a library call: v − trunc(v) is exact, so the
// comparison with 0.5 sees the true fraction.
inline float round_half_away(float v) {
  const float t = std::trunc(v);
  return std::fabs(v - t) >= 0.5f ? t + std::copysign(1.0f, v) : t;
}

// max_j |x_j| over one block (max is exact, so the order does not matter). A NaN element is passed over, as
// std::max(acc, NaN) does (_mm256_max_ps returns its second operand when either is NaN).
#if defined(__AVX2__)
inline float block_amax(const float* x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), m);
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}
#else
inline float block_amax(const float* x) {
  float amax = 0.0f;
  for (std::int64_t j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}
#endif

void f16_row_to_f32(const std::uint16_t* h, std::int64_t n, float* y) {
  std::int64_t i = 0;
#if defined(__F16C__)  // 8 at a time in hardware (exact, like the software conversion)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
#endif
  for (; i < n; ++i) y[i] = f16_to_f32(h[i]);
}

#if defined(__AVX2__)
// A block's 32 codes round_half_away(x_j · id), eight lanes at a time through the same IEEE operations as the
// scalar function (one product, an exact truncation and difference, a comparison), so the same bytes. The decode
// product rounds every activation with it, once per matrix and thread chunk: the scalar loop (GCC leaves it
// scalar) took about a quarter of a q8_0 decode step's time (perf, bench tg128 --dtype q8_0).
inline void round_block_q8_0(const float* x, float id, std::int8_t* q) {
  const __m256 vid = _mm256_set1_ps(id), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256i codes[4];
  for (int k = 0; k < 4; ++k) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 away = _mm256_or_ps(one, _mm256_and_ps(sign, v));  // copysign(1, v)
    const __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, t)), half, _CMP_GE_OQ);
    codes[k] = _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, away)));
  }
  // the packs interleave 128-bit halves: (0..3, 8..11 | 4..7, 12..15) per pair; the permute puts them in order
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(codes[0], codes[1]), _mm256_packs_epi32(codes[2], codes[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}
#else
inline void round_block_q8_0(const float* x, float id, std::int8_t* q) {
  for (std::int64_t j = 0; j < kQuantBlock; ++j) q[j] = static_cast<std::int8_t>(round_half_away(x[j] * id));
}
#endif

}  // namespace

void quantize_row_q8_0(const float* x, std::int64_t n, BlockQ8_0* y) {
  check_blocks(WeightType::q8_0, n);
  for (std::int64_t b = 0; b < n / kQuantBlock; ++b, x += kQuantBlock) {
    const float d = block_amax(x) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;  // the float32 d, not the fp16 one: |q| ≤ 127 always
    y[b].d = f32_to_f16(d);
    round_block_q8_0(x, id, y[b].qs);
  }
}

void quantize_row_q4_0(const float* x, std::int64_t n, BlockQ4_0* y) {
  check_blocks(WeightType::q4_0, n);
  for (std::int64_t b = 0; b < n / kQuantBlock; ++b, x += kQuantBlock) {
    float amax = 0.0f, max = 0.0f;  // the first element of largest magnitude, with its sign
    for (std::int64_t j = 0; j < kQuantBlock; ++j)
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    const float d = max / -8.0f;  // max itself maps to code 0 (−8·d); the other end reaches only +7·d
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (std::int64_t j = 0; j < kQuantBlock / 2; ++j) {
      // x·id + 8.5 ≥ 0.5 here; the conversion truncates, so this rounds half up, then clamps the +8 end to 15
      const int lo = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int hi = std::min(15, static_cast<int>(x[j + kQuantBlock / 2] * id + 8.5f));
      y[b].qs[j] = static_cast<std::uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_row(WeightType t, const float* x, std::int64_t n, void* dst) {
  switch (t) {
    case WeightType::f32:
      if (n > 0) std::memcpy(dst, x, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case WeightType::f16:
    case WeightType::bf16: {
      auto* h = static_cast<std::uint16_t*>(dst);
      for (std::int64_t i = 0; i < n; ++i) h[i] = t == WeightType::f16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
      return;
    }
    case WeightType::q8_0: return quantize_row_q8_0(x, n, static_cast<BlockQ8_0*>(dst));
    case WeightType::q4_0: return quantize_row_q4_0(x, n, static_cast<BlockQ4_0*>(dst));
    case WeightType::q4_k:
    case WeightType::q6_k: fail("quantize: ", weight_type_name(t), " weights are read from a file, not quantized here");
  }
}

void dequantize_row(WeightType t, const void* src, std::int64_t n, float* y) {
  switch (t) {
    case WeightType::f32:
      if (n > 0) std::memcpy(y, src, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case WeightType::f16: return f16_row_to_f32(static_cast<const std::uint16_t*>(src), n, y);
    case WeightType::bf16: {
      const auto* h = static_cast<const std::uint16_t*>(src);
      for (std::int64_t i = 0; i < n; ++i) y[i] = std::bit_cast<float>(static_cast<std::uint32_t>(h[i]) << 16);
      return;
    }
    case WeightType::q8_0: {
      check_blocks(t, n);
      const auto* blocks = static_cast<const BlockQ8_0*>(src);
      for (std::int64_t b = 0; b < n / kQuantBlock; ++b, y += kQuantBlock) {
        const float d = f16_to_f32(blocks[b].d);
        for (std::int64_t j = 0; j < kQuantBlock; ++j) y[j] = d * static_cast<float>(blocks[b].qs[j]);
      }
      return;
    }
    case WeightType::q4_0: {
      check_blocks(t, n);
      const auto* blocks = static_cast<const BlockQ4_0*>(src);
      for (std::int64_t b = 0; b < n / kQuantBlock; ++b, y += kQuantBlock) {
        const float d = f16_to_f32(blocks[b].d);
        for (std::int64_t j = 0; j < kQuantBlock / 2; ++j) {
          y[j] = d * static_cast<float>((blocks[b].qs[j] & 0x0F) - 8);
          y[j + kQuantBlock / 2] = d * static_cast<float>((blocks[b].qs[j] >> 4) - 8);
        }
      }
      return;
    }
    case WeightType::q4_k: {
      check_blocks(t, n);
      const auto* blocks = static_cast<const BlockQ4_K*>(src);
      for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockQ4_K& k = blocks[b];
        const float d = f16_to_f32(k.d), dmin = f16_to_f32(k.dmin);
        auto scale_min = [&](int j, float& dj, float& mj) {  // 6-bit scale and min of sub-block j
          const int sc = j < 4 ? k.scales[j] & 63 : (k.scales[j + 4] & 0x0F) | ((k.scales[j - 4] >> 6) << 4);
          const int m = j < 4 ? k.scales[j + 4] & 63 : (k.scales[j + 4] >> 4) | ((k.scales[j] >> 6) << 4);
          dj = d * static_cast<float>(sc);
          mj = dmin * static_cast<float>(m);
        };
        for (int c = 0; c < 4; ++c, y += 2 * kQuantBlock) {  // chunk c: sub-blocks 2c (low nibbles), 2c + 1 (high)
          const std::uint8_t* q = k.qs + 32 * c;
          float d1, m1, d2, m2;
          scale_min(2 * c, d1, m1);
          scale_min(2 * c + 1, d2, m2);
          for (std::int64_t l = 0; l < kQuantBlock; ++l) y[l] = d1 * static_cast<float>(q[l] & 0x0F) - m1;
          for (std::int64_t l = 0; l < kQuantBlock; ++l) y[kQuantBlock + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
      }
      return;
    }
    case WeightType::q6_k: {
      check_blocks(t, n);
      const auto* blocks = static_cast<const BlockQ6_K*>(src);
      for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockQ6_K& k = blocks[b];
        const float d = f16_to_f32(k.d);
        for (int h = 0; h < 2; ++h, y += 128) {  // two halves of 128: ql + 64h, qh + 32h, scales + 8h
          const std::uint8_t* ql = k.ql + 64 * h;
          const std::uint8_t* qh = k.qh + 32 * h;
          const std::int8_t* sc = k.scales + 8 * h;
          // quarter k: elements 32k + l of this half; low 4 bits in ql[l + 32·(k odd)] (low nibble for k < 2,
          // high for k ≥ 2), high 2 bits at bits 2k of qh[l]; scale sc[2k + l/16], as (d·scale)·q like ggml
          for (int k4 = 0; k4 < 4; ++k4)
            for (int s16 = 0; s16 < 2; ++s16) {
              const float ds = d * static_cast<float>(sc[2 * k4 + s16]);
              for (int l = 16 * s16; l < 16 * s16 + 16; ++l) {
                const int lo = k4 < 2 ? ql[l + 32 * (k4 % 2)] & 0x0F : ql[l + 32 * (k4 % 2)] >> 4;
                const int q = (lo | (((qh[l] >> (2 * k4)) & 3) << 4)) - 32;
                y[32 * k4 + l] = ds * static_cast<float>(q);
              }
            }
        }
      }
      return;
    }
  }
}

Buffer<std::byte> quantize_matrix(WeightType t, const float* w, std::int64_t rows, std::int64_t cols,
                                  std::string_view what) {
  const std::int64_t row_bytes = weight_row_bytes(t, cols, what);
  TM_CHECK(weight_type_has_quantizer(t), what, ": ", weight_type_name(t), " weights are read from a file, not quantized here");
  if (weight_type_block(t) > 1)  // a block's scale comes from its largest |x|: one inf or NaN spoils all 32
    for (std::int64_t i = 0; i < rows * cols; ++i)
      TM_CHECK(std::isfinite(w[i]), what, ": element (", i / cols, ", ", i % cols, ") is ", w[i], "; ",
               weight_type_name(t), " needs finite weights");
  Buffer<std::byte> out(static_cast<std::size_t>(rows * row_bytes));
  parallel_for(rows, [&](std::int64_t r0, std::int64_t r1, int) {
    for (std::int64_t r = r0; r < r1; ++r) quantize_row(t, w + r * cols, cols, out.data() + r * row_bytes);
  }, 64);
  return out;
}

}  // namespace tinymamba
