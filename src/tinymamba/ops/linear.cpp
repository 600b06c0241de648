#include "tinymamba/ops/linear.hpp"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {

// Up to this many tokens (a decode step of a small batch) the product is a few GEMVs that share one pass
// over W; beyond it, sgemm's blocking wins.
constexpr std::int64_t kMaxGemvTokens = 8;
constexpr std::int64_t kRowsPerBlock = 4;  // rows per unit of work handed to a thread
constexpr std::int64_t kPrefetchAhead = 2048;  // floats (8 KB) ahead of the load, in W's row-major stream

// y (T, out) += x · Wᵀ for a few tokens, output rows split across threads in blocks of four.
void gemv_forward(Mat y, ConstMat x, const float* W, std::int64_t T, std::int64_t in, std::int64_t out) {
  const std::int64_t blocks = (out + kRowsPerBlock - 1) / kRowsPerBlock;
  parallel_for(blocks, [&](std::int64_t b0, std::int64_t b1, int) {
    linear_rows_accumulate(y, x, W, T, in, b0 * kRowsPerBlock, std::min(out, b1 * kRowsPerBlock));
  }, grain_for(kRowsPerBlock * in * T));
}

}  // namespace

// One row at a time, read from memory once for all T tokens (it stays in L1 for the later ones); a single
// streamed row per thread, as interleaving 2, 4 or 8 rows measured 10–20% slower here. Each dot product keeps
// 16 partial sums in one Lanes vector — plain vector FMAs, no reassociation needed — and ends with sum_lanes'
// shuffle tree: GCC's scalar horizontal sum of an array alone cost 12% of the decode's bandwidth (0.77 → 0.87
// of the read bound for the 130m shape's projections on two threads). A software prefetch gained another ~6%
// there (2 KB ahead into L1: 0.74–0.77 → 0.79–0.81 in the same runs): the hardware prefetcher alone keeps too few
// lines in flight at a row's start. It is non-temporal and 8 KB ahead now: a weight is used once per token, and
// fetched that way it no longer evicts from L2 and L3 what is used again — the recurrent state, the activations,
// x itself. On the whole decode step (130m shape, variants interleaved in one process): 80 → 87 tok/s on 2
// threads, 47.7 → 51.0 on 1; non-temporal 2 KB ahead gave half of that, 16 KB the same as 8 KB. (A plain read
// of memory does not get faster with it: the bound the benchmark divides by stays what it was.)
void linear_rows_accumulate(Mat y, ConstMat x, const float* W, std::int64_t T, std::int64_t in, std::int64_t o0,
                            std::int64_t o1) {
  const std::int64_t body = in / kLanes * kLanes;
  for (std::int64_t o = o0; o < o1; ++o) {
    const float* w = W + o * in;
    for (std::int64_t t = 0; t < T; ++t) {
      const float* xt = x.data + t * x.ld;
      Lanes acc = {};
      for (std::int64_t i = 0; i < body; i += kLanes) {
        // never faults; past the last row it only wastes a line. (0, 0): for reading, non-temporal.
        __builtin_prefetch(w + i + kPrefetchAhead, 0, 0);
        acc += load_lanes(w + i) * load_lanes(xt + i);
      }
      float s = sum_lanes(acc);
      for (std::int64_t i = body; i < in; ++i) s += w[i] * xt[i];
      y.data[t * y.ld + o] += s;
    }
  }
}

void linear_forward(Mat y, ConstMat x, const float* W, const float* bias, std::int64_t T, std::int64_t in,
                    std::int64_t out) {
  if (T == 0) return;
  float beta = 0.0f;
  if (bias) {  // start every row from the bias, then let the GEMM add x·Wᵀ
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t o = 0; o < out; ++o) y.data[t * y.ld + o] = bias[o];
    beta = 1.0f;
  }
  if (T <= kMaxGemvTokens) {  // decode: stream W once (sgemm would first copy, "pack", all of W)
    if (!bias)
      for (std::int64_t t = 0; t < T; ++t) std::fill(y.data + t * y.ld, y.data + t * y.ld + out, 0.0f);
    gemv_forward(y, x, W, T, in, out);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1.0f, x.data, x.ld, W, in, beta, y.data, y.ld);
}

void linear_backward(Mat dx, float* dW, float* dbias, ConstMat dy, ConstMat x, const float* W, std::int64_t T,
                     std::int64_t in, std::int64_t out, bool accumulate_dx) {
  if (T == 0) return;
  if (dx.data)  // (T, in) = (T, out) · (out, in)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, in, out, 1.0f, dy.data, dy.ld, W, in,
                accumulate_dx ? 1.0f : 0.0f, dx.data, dx.ld);
  // (out, in) += (T, out)ᵀ · (T, in)
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, T, 1.0f, dy.data, dy.ld, x.data, x.ld, 1.0f, dW, in);
  if (dbias) {
    std::vector<double> sum(static_cast<std::size_t>(out), 0.0);
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t o = 0; o < out; ++o) sum[o] += dy.data[t * dy.ld + o];
    for (std::int64_t o = 0; o < out; ++o) dbias[o] += static_cast<float>(sum[o]);
  }
}

}  // namespace tinymamba
