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
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
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
// With AVX-512 VNNI a row streams alone, two blocks a 512-bit register and four registers a step, each with its
// own accumulator. Measured with `bench --tests gemv --threads 2` (32 q8_0 matrices 3072 × 768 from memory, same
// minutes): four rows interleaved streamed at 0.72–0.74 of the read bandwidth when it was 45 GB/s, one row at a
// time at 0.88–0.95 (as f32.cpp found for float32). The lanes' sums differ from BlockDotSum's order, and every row
// in this build takes this path whatever its neighbours or T (batch invariance).
//
// VNNI's dot product takes unsigned × signed bytes. The weights' codes come unsigned, code + k (q8_0: the sign
// bit flipped, k = 128; q4_0: the nibbles as stored, k = 8), so Σ (w + k)·x = Σ w·x + k·Σ x, and x's share
// k·Σ x, per lane of four bytes, is subtracted before: it is the accumulator's starting value, computed once per
// x (XSide). A pair of blocks is 11 instructions, 27 before (two dot products and a subtraction, the scales
// gathered by scalar loads, a tail test in every step). Measured, one thread, a 128 × 1536 matrix in L2, five
// alternated runs of a throwaway driver: q8_0 45 → 54 GMAC/s, q4_0 31 → 48–56 (its nibbles unpacked from two
// 16-byte loads; from masked 64-byte loads, 42–45); `bench --tests tg128` (2 threads) compute_bound_tok_s q8_0
// 630–650 → 730–780.
using Floats16 = float __attribute__((vector_size(64)));

// x's side, per block of each token, in the layout one 512-bit load takes for a pair of blocks: the codes (32
// signed bytes), −k·Σ of each lane's four codes (8 int32) and d_x (8 floats, the same in each lane). Rows of
// nb rounded up to even, the padding block zero (a last odd block pairs with it and adds 0·finite = 0).
struct XSide {
  Buffer<std::int8_t> codes;
  Buffer<std::int32_t> offset;
  Buffer<float> scale;
  std::int64_t nb_padded = 0;

  void fill(const BlockQ8_0* xq, const float* xd, std::int64_t T, std::int64_t nb, std::int32_t k) {
    nb_padded = nb + nb % 2;
    const auto n = static_cast<std::size_t>(T * nb_padded);
    if (codes.size() < n * kQuantBlock) {
      codes.resize(n * kQuantBlock);
      offset.resize(n * 8);
      scale.resize(n * 8);
    }
    // a block at a time, vectorized: rounding and filling 1536 values took 0.94 µs with a scalar loop over the
    // bytes, 0.65 µs so (one thread; each thread of a decode step rounds every x it multiplies)
    const __m256i ones = _mm256_set1_epi8(1);
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t b = 0; b < nb_padded; ++b) {
        const std::int64_t i = t * nb_padded + b;
        const __m256i q = b < nb ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t * nb + b].qs))
                                 : _mm256_setzero_si256();
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes.data() + i * kQuantBlock), q);
        // Σ of each lane's four codes: a dot product with ones (unsigned 1 × signed code)
        const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, q);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(offset.data() + i * 8),
                            _mm256_mullo_epi32(sums, _mm256_set1_epi32(-k)));
        _mm256_storeu_ps(scale.data() + i * 8, _mm256_set1_ps(b < nb ? xd[t * nb + b] : 0.0f));
      }
  }
};

// Σ over the row's nb blocks of (w block · x block)·d_w·d_x. Type: Block, kCodeOffset and
// unsigned_pair(const Block*) (two blocks' codes + k, 64 bytes).
template <class Block, class Type>
float row_dot_blocks(const Block* w, const XSide& x, std::int64_t t, std::int64_t nb, Type type) {
  const std::int8_t* xc = x.codes.data() + t * x.nb_padded * kQuantBlock;
  const std::int32_t* xo = x.offset.data() + t * x.nb_padded * 8;
  const float* xs = x.scale.data() + t * x.nb_padded * 8;
  Floats16 acc[4] = {};
  // acc[a] += (Σ w·x per lane)·d_w·d_x for blocks p[0], p[1] (x's blocks b, b + 1); d_w to lanes 0–7, 8–15 by
  // two broadcasts of 16 bits (a 64-byte load of both and a word permute measured slower: most such loads cross a
  // cache line)
  const auto pair = [&](const Block* p, std::int64_t b, int a) {
    const __m256i dw =
        _mm256_mask_set1_epi16(_mm256_set1_epi16(static_cast<short>(p[0].d)), 0xFF00, static_cast<short>(p[1].d));
    const __m512 scale = _mm512_mul_ps(_mm512_maskz_cvtph_ps(0xFFFF, dw), _mm512_loadu_ps(xs + 8 * b));
    const __m512i dots = _mm512_dpbusd_epi32(_mm512_loadu_si512(xo + 8 * b), type.unsigned_pair(p),
                                             _mm512_loadu_si512(xc + kQuantBlock * b));
    acc[a] = reinterpret_cast<Floats16>(
        _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, dots), scale, reinterpret_cast<__m512>(acc[a])));
  };
  std::int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    const char* ahead = reinterpret_cast<const char*>(w + b) + kBlockPrefetchBytes;
    for (int line = 0; line < 5; ++line) __builtin_prefetch(ahead + 64 * line, 0, 0);  // 8 blocks: ≤ 320 bytes
    for (int k = 0; k < 4; ++k) pair(w + b + 2 * k, b + 2 * k, k);
  }
  for (; b + 2 <= nb; b += 2) pair(w + b, b, 0);
  if (b < nb) {  // the last block, beside a zero one (d = 0) and x's zero padding
    const Block last[2] = {w[b], Block{}};
    pair(last, b, 1);
  }
  const Floats16 v = (acc[0] + acc[1]) + (acc[2] + acc[3]);
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
// code_offset: the weight type's k (XSide).
struct RoundedActivations {
  Buffer<float> x;       // (T, cols): the input rounded last
  Buffer<BlockQ8_0> xq;  // (T, nb): x rounded
  Buffer<float> xd;      // (T, nb): its scales as float32
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
  XSide side;  // the AVX-512 product's operand
#endif
  std::int64_t T = -1, cols = -1;

  const RoundedActivations& round(ConstMat in, std::int64_t T_in, std::int64_t cols_in,
                                  [[maybe_unused]] std::int32_t code_offset) {
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
    }
    for (std::int64_t t = 0; t < T; ++t) {
      std::memcpy(x.data() + t * cols, in.data + t * in.ld, static_cast<std::size_t>(cols) * sizeof(float));
      quantize_row_q8_0(in.data + t * in.ld, cols, xq.data() + t * nb);
      for (std::int64_t b = 0; b < nb; ++b) xd[t * nb + b] = half_to_float(xq[t * nb + b].d);
    }
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
    side.fill(xq.data(), xd.data(), T, nb, code_offset);
#endif
    return *this;
  }
};

// y[:, o0:o1] += x (T, in) · W[o0:o1]ᵀ with x rounded to q8_0 (ggml's reference quantizer) first. Block: the
// weight block struct; Type: codes(const Block&) → Codes (signed), and for AVX-512 kCodeOffset and
// unsigned_pair (row_dot_blocks).
//
// Why q8_0 activations: measured with `tinymamba bench --tests gemv --threads 1` (32 matrices 3072 × 768, the
// best of six runs each, alternated, on the project's 2-core EPYC VM), the integer dot took 2.21 ms for q8_0
// (36 GB/s of weights) and 2.91 ms for q4_0 (15 GB/s) against 3.39 ms (24 GB/s) and 4.79 ms (9 GB/s) with the
// codes widened to float32 and multiplied with float activations (4 FMAs a block): a byte product does 32
// multiply-adds in two instructions. The price is x's rounding, a relative error of at most 1/254 of the block's
// largest |x| per element, no more than the weights' own q8_0 rounding. (Those figures are from before rows went
// through the blocks kBlockRows at a time.)
template <class Block, class Type>
void block_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1,
                           Type type) {
  if (T == 0) return;  // nothing to add (and y may then have no storage to point into)
  const std::int64_t nb = W.cols / kQuantBlock;
  thread_local RoundedActivations rounded;
  const RoundedActivations& r = rounded.round(x, T, W.cols, Type::kCodeOffset);
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
  for (std::int64_t o = o0; o < o1; ++o) {
    const auto* w = reinterpret_cast<const Block*>(W.row(o));
    for (std::int64_t t = 0; t < T; ++t) y.data[t * y.ld + o] += row_dot_blocks(w, r.side, t, nb, type);
  }
#else
  std::int64_t o = o0;
  for (; o + kBlockRows <= o1; o += kBlockRows)
    rows_dot_blocks<kBlockRows, Block>(y.data + o, y.ld, W, o, r.xq.data(), r.xd.data(), T, nb, type);
  for (; o < o1; ++o) rows_dot_blocks<1, Block>(y.data + o, y.ld, W, o, r.xq.data(), r.xd.data(), T, nb, type);
#endif
}

}  // namespace tinymamba::matmul_detail
