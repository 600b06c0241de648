// float32 weights: GEMV rows streamed once per step for decode, OpenBLAS sgemm for many tokens.
#include <cblas.h>

#include <type_traits>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba {
namespace {

constexpr std::int64_t kPrefetchAhead = 2048;  // floats (8 KB) ahead of the load, in W's row-major stream
// A batched step's register tile, rows × tokens dot products at once, each one Lanes accumulator: with AVX-512's
// 32 registers (a Lanes each) 6 × 4 = 24 accumulators + 6 rows of W + x. Measured for 16 tokens on 2 threads
// (a throwaway driver, 2026-12-06): on one 3072 × 768 matrix in cache 3×4 142, 4×4 141, 4×6 157, 6×4 162, 3×8 159,
// 2×8 144 GFLOP/s; streaming 32 such matrices from memory 6×4 was best too (119 against 87–95). With AVX2's 16
// registers (two per Lanes) 2 × 2 = 8 Lanes and the loads fit without spilling (reasoned, not measured here).
#if defined(__AVX512F__)
constexpr int kTileRows = 6, kTileTokens = 4;
#else
constexpr int kTileRows = 2, kTileTokens = 2;
#endif

// How a tile's passes over its rows prefetch. stream_ahead: a decode step's one pass over each row reads it from
// memory once, prefetching the row stream kPrefetchAhead ahead, non-temporally. next_tile: a batched step passes
// over the same rows once per kTileTokens tokens, from cache after the first; pass p of P fetches the next tile's
// rows r ≡ p (mod P), so the next tile arrives spread over all of this tile's passes. (Each tile prefetching
// itself in its first pass left that pass waiting on memory and the others on nothing: perf of 16 sequences had
// the first of four passes as long as the other three together.)
enum class Prefetch { stream_ahead, next_tile };

// y[t, r] += Σ_i W[r, i]·x[t, i] for Rows rows of W (ldw apart) and Tokens tokens. Every dot product keeps kLanes
// partial sums in one Lanes vector, lane j summing i ≡ j (mod kLanes) in order, and ends with sum_lanes' shuffle
// tree and the scalar tail: the same operations in the same order whatever the tile, so a token's result does not
// depend on which rows or tokens share its tile (batch invariance). Meanwhile it prefetches ahead[j] + i for
// each of the n_ahead streams, with the hint Locality (0 non-temporal, 3 to stay cached).
template <int Rows, int Tokens, int Locality>
void tile_dot(float* y, std::int64_t ldy, const float* w, std::int64_t ldw, ConstMat x, std::int64_t in,
              std::int64_t body, const float* const* ahead, int n_ahead) {
  Lanes acc[Rows][Tokens] = {};
  for (std::int64_t i = 0; i < body; i += kLanes) {
    for (int j = 0; j < n_ahead; ++j) __builtin_prefetch(ahead[j] + i, 0, Locality);  // never faults
    Lanes wi[Rows];
    for (int r = 0; r < Rows; ++r) wi[r] = load_lanes(w + r * ldw + i);
    for (int t = 0; t < Tokens; ++t) {
      const Lanes xt = load_lanes(x.data + t * x.ld + i);
      for (int r = 0; r < Rows; ++r) acc[r][t] += wi[r] * xt;
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int t = 0; t < Tokens; ++t) {
      const float *wr = w + r * ldw, *xt = x.data + t * x.ld;
      float s = sum_lanes(acc[r][t]);
      for (std::int64_t i = body; i < in; ++i) s += wr[i] * xt[i];
      y[t * ldy + r] += s;
    }
}

// Rows rows of W against all T tokens, Tokens at a time (then one at a time), prefetching as `P` says.
template <int Rows, int Tokens, Prefetch P>
void rows_by_tiles(float* y, std::int64_t ldy, const float* w, std::int64_t ldw, ConstMat x, std::int64_t T,
                   std::int64_t in, std::int64_t body) {
  const std::int64_t passes = T / Tokens + T % Tokens;
  std::int64_t t = 0, pass = 0;
  const auto tile = [&]<int TileTokens>(std::integral_constant<int, TileTokens>) {
    const float* ahead[Rows];
    int n = 0;
    if constexpr (P == Prefetch::stream_ahead) {
      if (pass == 0) ahead[n++] = w + kPrefetchAhead;  // past the end it wastes a line
    } else {
      for (int r = 0; r < Rows; ++r)
        if (r % passes == pass) ahead[n++] = w + (Rows + r) * ldw;  // the last tile's "next" wastes its lines
    }
    tile_dot<Rows, TileTokens, P == Prefetch::stream_ahead ? 0 : 3>(y + t * ldy, ldy, w, ldw, {x.data + t * x.ld, x.ld},
                                                                    in, body, ahead, n);
    ++pass;
  };
  for (; t + Tokens <= T; t += Tokens) tile(std::integral_constant<int, Tokens>{});
  for (; t < T; ++t) tile(std::integral_constant<int, 1>{});
}

// The last `rows` (< kTileRows) of a range as one tile of that many rows, Rows being the most there can be: a
// chunk of a step is rarely a multiple of kTileRows (x_proj's chunks of 16 rows left 4), and a row alone loads W
// once per FMA of each pass over the tokens.
template <int Rows>
void last_rows_by_tiles(std::int64_t rows, float* y, std::int64_t ldy, const float* w, std::int64_t ldw, ConstMat x,
                        std::int64_t T, std::int64_t in, std::int64_t body) {
  if constexpr (Rows > 0) {
    if (rows == Rows) {
      rows_by_tiles<Rows, kTileTokens, Prefetch::next_tile>(y, ldy, w, ldw, x, T, in, body);
    } else {
      last_rows_by_tiles<Rows - 1>(rows, y, ldy, w, ldw, x, T, in, body);
    }
  }
}

}  // namespace

// A decode step of up to kOnePassTokens tokens streams one row at a time: each row is read from memory once,
// non-temporally, for all T tokens, its load feeding T FMAs (interleaving rows made one token 10–20% slower,
// docs/inference.md). A batched step of more tokens is compute-bound instead, and passes over the same rows
// kTileTokens tokens at a time: tiles of kTileRows × kTileTokens dot products reuse each load of W for
// kTileTokens tokens and each load of x for kTileRows rows, and each tile's passes prefetch the next tile to stay
// cached (non-temporal lines were evicted and fetched again from memory between passes). Measurements:
// docs/serve.md.
void f32_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  constexpr int kOnePassTokens = 4;
  if (T == 0 || W.cols == 0) return;  // nothing to add (and y or W may then have no storage to point into)
  const std::int64_t in = W.cols, body = in / kLanes * kLanes;
  const std::int64_t ldw = W.row_bytes / static_cast<std::int64_t>(sizeof(float));
  const float* w = W.f32_data() + o0 * ldw;
  float* yo = y.data + o0;
  std::int64_t o = o0;
  if (T <= kOnePassTokens) {
    for (; o < o1; ++o, w += ldw, ++yo)
      rows_by_tiles<1, kOnePassTokens, Prefetch::stream_ahead>(yo, y.ld, w, ldw, x, T, in, body);
    return;
  }
  for (; o + kTileRows <= o1; o += kTileRows, w += kTileRows * ldw, yo += kTileRows)
    rows_by_tiles<kTileRows, kTileTokens, Prefetch::next_tile>(yo, y.ld, w, ldw, x, T, in, body);
  last_rows_by_tiles<kTileRows - 1>(o1 - o, yo, y.ld, w, ldw, x, T, in, body);
}

void f32_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  const std::int64_t ldw = W.row_bytes / static_cast<std::int64_t>(sizeof(float));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W.rows, W.cols, 1.0f, x.data, x.ld, W.f32_data(), ldw, beta,
              y.data, y.ld);
}

}  // namespace tinymamba
