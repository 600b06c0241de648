// float32 weights: GEMV rows streamed once per step for decode, OpenBLAS sgemm for many tokens.
#include <cblas.h>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba {
namespace {
constexpr std::int64_t kPrefetchAhead = 2048;  // floats (8 KB) ahead of the load, in W's row-major stream
}  // namespace

// One row at a time, read from memory once for all T tokens (it stays in L1 for the later ones); each dot
// product keeps kLanes partial sums in one Lanes vector and ends with sum_lanes' shuffle tree, and the weights
// are prefetched non-temporally 8 KB ahead (used once per token, they must not evict the recurrent state and
// activations from L2/L3). Why each of these choices, with the measurements: docs/inference.md.
void f32_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  const std::int64_t in = W.cols, body = in / kLanes * kLanes;
  const float* base = W.f32_data();
  const std::int64_t ldw = W.row_bytes / static_cast<std::int64_t>(sizeof(float));
  for (std::int64_t o = o0; o < o1; ++o) {
    const float* w = base + o * ldw;
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

void f32_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  const std::int64_t ldw = W.row_bytes / static_cast<std::int64_t>(sizeof(float));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W.rows, W.cols, 1.0f, x.data, x.ld, W.f32_data(), ldw, beta,
              y.data, y.ld);
}

}  // namespace tinymamba
