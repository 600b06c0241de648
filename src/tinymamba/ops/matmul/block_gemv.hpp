// The decode product for the 32-element block types (q8_0, q4_0), shared by q8_0.cpp and q4_0.cpp: each type
// only says how a block's 32 codes become signed bytes (`Codes`); the product is one integer dot product per
// block with the activations rounded to q8_0 (ggml's vec_dot_type for both), scaled by d_w·d_x into eight float
// lanes (AVX2), or a scalar sum (portable).
#pragma once

#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define TINYMAMBA_BLOCK_DOT_AVX2 1
#include <immintrin.h>
#endif

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/dtype.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba::matmul_detail {

using Codes = std::int8_t __attribute__((vector_size(kQuantBlock)));  // a block's 32 codes as signed integers

inline float half_to_float(std::uint16_t h) {
#ifdef TINYMAMBA_BLOCK_DOT_AVX2
  return _cvtsh_ss(h);
#else
  return f16_to_f32(h);
#endif
}

// Σ over blocks of (Σ_j w_j·x_j, exact in int32) · d_w·d_x.
class BlockDotSum {
 public:
  void add(Codes w, const std::int8_t* x, float scale) {
#ifdef TINYMAMBA_BLOCK_DOT_AVX2
    const __m256i wv = reinterpret_cast<__m256i>(w);
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
    // maddubs multiplies unsigned by signed bytes: |w| times x with w's sign; pairs of products (|each| ≤
    // 128·127) add to int16 without saturating, then madd adds pairs again into 8 int32 lanes
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
    const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
    acc_ = _mm256_fmadd_ps(_mm256_cvtepi32_ps(quads), _mm256_set1_ps(scale), acc_);
#else
    std::int32_t s = 0;
    for (std::int64_t j = 0; j < kQuantBlock; ++j) s += std::int32_t{w[j]} * std::int32_t{x[j]};
    acc_ += static_cast<float>(s) * scale;
#endif
  }
  [[nodiscard]] float sum() const {
#ifdef TINYMAMBA_BLOCK_DOT_AVX2
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(acc_), _mm256_extractf128_ps(acc_, 1));
    const __m128 h = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
#else
    return acc_;
#endif
  }

 private:
#ifdef TINYMAMBA_BLOCK_DOT_AVX2
  __m256 acc_ = _mm256_setzero_ps();
#else
  float acc_ = 0.0f;
#endif
};

inline constexpr std::int64_t kBlockPrefetchBytes = 8192;  // ahead of the load in W's row stream, as f32.cpp

// y[:, o0:o1] += x (T, in) · W[o0:o1]ᵀ with x rounded to q8_0 (ggml's reference quantizer) first. Block: the
// weight block struct; codes(const Block&) → Codes.
//
// Why q8_0 activations: measured with `tinymamba bench --tests gemv --threads 1` (32 matrices 3072 × 768, the
// best of six runs each, alternated, on the project's 2-core EPYC VM), the integer dot took 2.21 ms for q8_0
// (36 GB/s of weights) and 2.91 ms for q4_0 (15 GB/s) against 3.39 ms (24 GB/s) and 4.79 ms (9 GB/s) with the
// codes widened to float32 and multiplied with float activations (4 FMAs a block): a byte product does 32
// multiply-adds in two instructions. The price is x's rounding, a relative error of at most 1/254 of the block's
// largest |x| per element, no more than the weights' own q8_0 rounding.
// y[t, r] += Σ_blocks (W[o + r] block · x[t] block) for Rows rows of W from o: the rows go together through the
// blocks (Rows independent accumulator chains: with one row the loop waited on each block's FMA into the single
// accumulator), and each row's blocks are still summed in order, so grouping rows changes no result.
template <int Rows, class Block, class CodesOf>
void rows_dot_blocks(float* y, std::int64_t ldy, const WeightMatrix& W, std::int64_t o, const BlockQ8_0* xq,
                     const float* xd, std::int64_t T, std::int64_t nb, CodesOf codes) {
  const Block* w[Rows];
  for (int r = 0; r < Rows; ++r) w[r] = reinterpret_cast<const Block*>(W.row(o + r));
  for (std::int64_t t = 0; t < T; ++t) {
    const BlockQ8_0* xb = xq + t * nb;
    const float* xs = xd + t * nb;
    BlockDotSum acc[Rows];
    for (std::int64_t b = 0; b < nb; ++b)
      for (int r = 0; r < Rows; ++r) {
        __builtin_prefetch(reinterpret_cast<const char*>(w[r] + b) + kBlockPrefetchBytes, 0, 0);
        acc[r].add(codes(w[r][b]), xb[b].qs, half_to_float(w[r][b].d) * xs[b]);
      }
    for (int r = 0; r < Rows; ++r) y[t * ldy + r] += acc[r].sum();
  }
}

inline constexpr int kBlockRows = 4;  // rows that go through the blocks together

// y[:, o0:o1] += x (T, in) · W[o0:o1]ᵀ with x rounded to q8_0 (ggml's reference quantizer) first. Block: the
// weight block struct; codes(const Block&) → Codes.
//
// Why q8_0 activations: measured with `tinymamba bench --tests gemv --threads 1` (32 matrices 3072 × 768, the
// best of six runs each, alternated, on the project's 2-core EPYC VM), the integer dot took 2.21 ms for q8_0
// (36 GB/s of weights) and 2.91 ms for q4_0 (15 GB/s) against 3.39 ms (24 GB/s) and 4.79 ms (9 GB/s) with the
// codes widened to float32 and multiplied with float activations (4 FMAs a block): a byte product does 32
// multiply-adds in two instructions. The price is x's rounding, a relative error of at most 1/254 of the block's
// largest |x| per element, no more than the weights' own q8_0 rounding. (Those figures are from before rows went
// through the blocks kBlockRows at a time.)
template <class Block, class CodesOf>
void block_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0,
                           std::int64_t o1, CodesOf codes) {
  if (T == 0) return;  // nothing to add (and y may then have no storage to point into)
  const std::int64_t nb = W.cols / kQuantBlock;
  thread_local Buffer<BlockQ8_0> xq;  // (T, nb): x rounded, per call (sized once, then reused)
  thread_local Buffer<float> xd;      // (T, nb): its scales as float32
  if (xq.size() < static_cast<std::size_t>(T * nb)) {
    xq.resize(static_cast<std::size_t>(T * nb));
    xd.resize(static_cast<std::size_t>(T * nb));
  }
  for (std::int64_t t = 0; t < T; ++t) {
    quantize_row_q8_0(x.data + t * x.ld, W.cols, xq.data() + t * nb);
    for (std::int64_t b = 0; b < nb; ++b) xd[t * nb + b] = half_to_float(xq[t * nb + b].d);
  }
  std::int64_t o = o0;
  for (; o + kBlockRows <= o1; o += kBlockRows)
    rows_dot_blocks<kBlockRows, Block>(y.data + o, y.ld, W, o, xq.data(), xd.data(), T, nb, codes);
  for (; o < o1; ++o) rows_dot_blocks<1, Block>(y.data + o, y.ld, W, o, xq.data(), xd.data(), T, nb, codes);
}

}  // namespace tinymamba::matmul_detail
