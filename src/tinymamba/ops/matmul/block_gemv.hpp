// The decode product for the 32-element block types (q8_0, q4_0), shared by q8_0.cpp and q4_0.cpp: each type
// only says how a block's 32 codes become signed bytes (`Codes`); the product is one integer dot product per
// block with the activations rounded to q8_0 (ggml's vec_dot_type for both), scaled by d_w·d_x into eight float
// lanes (AVX2), or a scalar sum (portable).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define TINYMAMBA_BLOCK_DOT_AVX2 1
#include <immintrin.h>
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define TINYMAMBA_BLOCK_DOT_AVX512 1
#endif
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
    return reduce(acc_);
#else
    return acc_;
#endif
  }
#ifdef TINYMAMBA_BLOCK_DOT_AVX2
  // Σ of 8 lanes: halves, then pairs
  static float reduce(__m256 v) {
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 h = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
  }
#endif

 private:
#ifdef TINYMAMBA_BLOCK_DOT_AVX2
  __m256 acc_ = _mm256_setzero_ps();
#else
  float acc_ = 0.0f;
#endif
};

inline constexpr std::int64_t kBlockPrefetchBytes = 8192;  // ahead of the load in W's row stream, as f32.cpp

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

#ifdef TINYMAMBA_BLOCK_DOT_AVX512
// With AVX-512 VNNI a row streams alone, four blocks a step: blocks b, b + 1 in the halves of one 512-bit
// register and b + 2, b + 3 in another, each with its own accumulator, so one row keeps four blocks in flight
// without interleaving rows. Measured with `bench --tests gemv --threads 2` (32 q8_0 matrices 3072 × 768 from
// memory, same minutes): four rows interleaved streamed at 0.72–0.74 of the read bandwidth when it was 45 GB/s,
// one row at a time at 0.88–0.95 (as f32.cpp found for float32), but one block a step capped a row at ~63 GB/s
// on the chain of FMAs into one accumulator. The lanes' sums differ from BlockDotSum's order, and every row in
// this build takes this path whatever its neighbours or T (batch invariance).
//
// AVX-512 has no byte sign instruction; VNNI's dot product takes unsigned × signed bytes, so x comes offset to
// unsigned (x + 128: its top bit flipped, xu) and the offset's share, 128·Σw per lane, comes off again: both
// dot products are exact in int32 and so is their difference, Σ w·x over each lane's four bytes.
// (Lane moves are GCC vector shuffles or zero-masked intrinsics: GCC 12's plain AVX-512 cast/insert/permute
// intrinsics start from an "undefined" register that -Wmaybe-uninitialized reports.)
using Floats16 = float __attribute__((vector_size(64)));

// Σ_j w_j·x_j per lane of four bytes for two blocks' codes (w0 in lanes 0–7, w1 in 8–15) against xu, the same
// two blocks of x + 128
inline __m512 two_block_dots(Codes w0, Codes w1, __m512i xu) {
  const auto w = reinterpret_cast<__m512i>(
      __builtin_shufflevector(w0, w1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                              23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
                              45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63));
  const __m512i zero = _mm512_setzero_si512();
  const __m512i quads =
      _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, xu, w), _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(-128), w));
  return _mm512_maskz_cvtepi32_ps(0xFFFF, quads);
}

// Σ over the row's nb blocks of (w block · x block)·d_w·d_x. w: the row; xu: x + 128, nb·32 bytes; xs: d_x per
// block.
template <class Block, class CodesOf>
float row_dot_blocks(const Block* w, const std::uint8_t* xu, const float* xs, std::int64_t nb, CodesOf codes) {
  __m512 acc01 = _mm512_setzero_ps(), acc23 = _mm512_setzero_ps();
  const Codes none = {};
  std::int64_t b = 0;
  for (; b < nb; b += 4) {
    const char* ahead = reinterpret_cast<const char*>(w + b) + kBlockPrefetchBytes;
    for (int line = 0; line < 3; ++line) __builtin_prefetch(ahead + 64 * line, 0, 0);  // 4 blocks: 136 bytes
    // d_w·d_x of the four blocks (zero past the row's end), [s0 s1 s2 s3] four times; the halves are converted
    // in one register, not through memory (a 16-byte load of 2-byte stores stalls on store forwarding)
    const int n = static_cast<int>(std::min<std::int64_t>(4, nb - b));
    std::uint64_t d = 0;
    for (int k = 0; k < n; ++k) d |= std::uint64_t{w[b + k].d} << (16 * k);
    const __m512 scales = _mm512_maskz_broadcast_f32x4(
        0xFFFF, _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(d))),
                           _mm_maskz_loadu_ps(static_cast<__mmask8>((1u << n) - 1), xs + b)));
    const auto spread = [&](int k) {  // block k's scale to lanes 0–7, block k + 1's to lanes 8–15
      const __m512i lanes =
          _mm512_set_epi32(k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k + 1, k, k, k, k, k, k, k, k);
      return _mm512_maskz_permutexvar_ps(0xFFFF, lanes, scales);
    };
    const __m512i xu01 = _mm512_maskz_loadu_epi8(n >= 2 ? ~__mmask64{0} : 0xFFFFFFFFull, xu + b * kQuantBlock);
    acc01 = _mm512_fmadd_ps(two_block_dots(codes(w[b]), n >= 2 ? codes(w[b + 1]) : none, xu01), spread(0), acc01);
    if (n > 2) {
      const __m512i xu23 = _mm512_maskz_loadu_epi8(n == 4 ? ~__mmask64{0} : 0xFFFFFFFFull, xu + (b + 2) * kQuantBlock);
      acc23 = _mm512_fmadd_ps(two_block_dots(codes(w[b + 2]), n == 4 ? codes(w[b + 3]) : none, xu23), spread(2), acc23);
    }
  }
  const auto v = reinterpret_cast<Floats16>(_mm512_add_ps(acc01, acc23));
  using Floats8 = float __attribute__((vector_size(32)));
  const Floats8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                    __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  return BlockDotSum::reduce(reinterpret_cast<__m256>(h));
}
#endif

inline constexpr int kBlockRows = 4;  // rows that go through the blocks together

// x (T, cols) rounded to q8_0 for the block products, kept for the next call: a decode step's threads multiply
// the same x by one chunk of rows at a time (in_proj: twelve chunks a layer), and rounding it afresh for each was
// 3% of a q8_0 step. It is reused only when x is bit for bit the x rounded last (compared, never assumed).
struct RoundedActivations {
  Buffer<float> x;          // (T, cols): the input rounded last
  Buffer<BlockQ8_0> xq;     // (T, nb): x rounded
  Buffer<float> xd;         // (T, nb): its scales as float32
  Buffer<std::uint8_t> xu;  // (T, nb·32): its codes + 128, contiguous (the AVX-512 product's operand only)
  std::int64_t T = -1, cols = -1;

  const RoundedActivations& round(ConstMat in, std::int64_t T_in, std::int64_t cols_in) {
    bool same = T_in == T && cols_in == cols;
    for (std::int64_t t = 0; same && t < T; ++t)
      same = std::memcmp(x.data() + t * cols, in.data + t * in.ld, static_cast<std::size_t>(cols) * sizeof(float)) == 0;
    if (same) return *this;
    T = T_in;
    cols = cols_in;
    const std::int64_t nb = cols / kQuantBlock;
    if (x.size() < static_cast<std::size_t>(T * cols)) x.resize(static_cast<std::size_t>(T * cols));
    if (xq.size() < static_cast<std::size_t>(T * nb)) {
      xq.resize(static_cast<std::size_t>(T * nb));
      xd.resize(static_cast<std::size_t>(T * nb));
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
      xu.resize(static_cast<std::size_t>(T * nb * kQuantBlock));
#endif
    }
    for (std::int64_t t = 0; t < T; ++t) {
      std::memcpy(x.data() + t * cols, in.data + t * in.ld, static_cast<std::size_t>(cols) * sizeof(float));
      quantize_row_q8_0(in.data + t * in.ld, cols, xq.data() + t * nb);
      for (std::int64_t b = 0; b < nb; ++b) xd[t * nb + b] = half_to_float(xq[t * nb + b].d);
    }
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
    for (std::int64_t i = 0; i < T * nb; ++i)
      for (std::int64_t j = 0; j < kQuantBlock; ++j)
        xu[i * kQuantBlock + j] = static_cast<std::uint8_t>(xq[i].qs[j] ^ 0x80);
#endif
    return *this;
  }
};

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
  thread_local RoundedActivations rounded;
  const RoundedActivations& r = rounded.round(x, T, W.cols);
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
  for (std::int64_t o = o0; o < o1; ++o) {
    const auto* w = reinterpret_cast<const Block*>(W.row(o));
    for (std::int64_t t = 0; t < T; ++t)
      y.data[t * y.ld + o] += row_dot_blocks(w, r.xu.data() + t * nb * kQuantBlock, r.xd.data() + t * nb, nb, codes);
  }
#else
  std::int64_t o = o0;
  for (; o + kBlockRows <= o1; o += kBlockRows)
    rows_dot_blocks<kBlockRows, Block>(y.data + o, y.ld, W, o, r.xq.data(), r.xd.data(), T, nb, codes);
  for (; o < o1; ++o) rows_dot_blocks<1, Block>(y.data + o, y.ld, W, o, r.xq.data(), r.xd.data(), T, nb, codes);
#endif
}

}  // namespace tinymamba::matmul_detail
