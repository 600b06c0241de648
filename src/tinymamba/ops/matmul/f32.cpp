// float32 weights: GEMV rows streamed once per step for decode, OpenBLAS sgemm for many tokens.
#include <cblas.h>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba {
namespace {
constexpr std::int64_t kPrefetchAhead = 2048;  // floats (8 KB) ahead of the load, in W's row-major stream
}  // namespace

// One row at a time, read from memory once for all T tokens; each dot product keeps kLanes partial sums in one
// Lanes vector and ends with sum_lanes' shuffle tree, and the weights are prefetched non-temporally 8 KB ahead
// (used once per token, they must not evict the recurrent state and activations from L2/L3). Tokens go four at a
// time through the row, so each load of W feeds four FMAs (a batched decode step was bound by those loads:
// 16 streams ran at 36% of the sgemm rate); every token's sum is still taken in the same order, lane by lane
// over i, as when it runs alone, so a sequence's logits do not depend on the batch. Why each choice, with the
// measurements: docs/inference.md.
namespace {
template <int Tokens>
void row_dot(float* out, std::int64_t ldy, const float* w, ConstMat x, std::int64_t in, std::int64_t body) {
  Lanes acc[Tokens] = {};
  for (std::int64_t i = 0; i < body; i += kLanes) {
    // never faults; past the last row it only wastes a line. (0, 0): for reading, non-temporal.
    __builtin_prefetch(w + i + kPrefetchAhead, 0, 0);
    const Lanes wi = load_lanes(w + i);
    for (int t = 0; t < Tokens; ++t) acc[t] += wi * load_lanes(x.data + t * x.ld + i);
  }
  for (int t = 0; t < Tokens; ++t) {
    const float* xt = x.data + t * x.ld;
    float s = sum_lanes(acc[t]);
    for (std::int64_t i = body; i < in; ++i) s += w[i] * xt[i];
    out[t * ldy] += s;
  }
}
}  // namespace

void f32_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  const std::int64_t in = W.cols, body = in / kLanes * kLanes;
  const float* base = W.f32_data();
  const std::int64_t ldw = W.row_bytes / static_cast<std::int64_t>(sizeof(float));
  for (std::int64_t o = o0; o < o1; ++o) {
    const float* w = base + o * ldw;
    std::int64_t t = 0;
    for (; t + 4 <= T; t += 4) row_dot<4>(y.data + t * y.ld + o, y.ld, w, {x.data + t * x.ld, x.ld}, in, body);
    for (; t < T; ++t) row_dot<1>(y.data + t * y.ld + o, y.ld, w, {x.data + t * x.ld, x.ld}, in, body);
  }
}

void f32_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  const std::int64_t ldw = W.row_bytes / static_cast<std::int64_t>(sizeof(float));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W.rows, W.cols, 1.0f, x.data, x.ld, W.f32_data(), ldw, beta,
              y.data, y.ld);
}

}  // namespace tinymamba
