#include "tinymamba/ops/matmul/panel_gemm.hpp"

#include <cblas.h>

#include <algorithm>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/quantize.hpp"

namespace tinymamba::matmul_detail {
namespace {
// Rows of W per panel, at most: sgemm's cost per call (packing x, T × in) is then spread over 256 · T · in
// multiply-adds. A thread's panel is 256 · in floats (768 KiB for in = 768), reused across calls.
constexpr std::int64_t kPanelRows = 256;
constexpr std::int64_t kPanelAlign = 16;
}  // namespace

void panel_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  const std::int64_t out = W.rows, in = W.cols;
  // as many panels as a whole number of rounds over the threads needs (every thread gets one when out is small,
  // as x_proj; and out_proj's 768 rows make 4 panels of 192, not 3 of 256 that left one of 2 threads idle for a
  // third of the product), each at most kPanelRows
  const std::int64_t threads = num_threads(), max_panels = (out + kPanelAlign - 1) / kPanelAlign;
  const std::int64_t rounds = (out + kPanelRows * threads - 1) / (kPanelRows * threads);
  const std::int64_t wanted = std::min(rounds * threads, max_panels);
  const std::int64_t rows = ((out + wanted - 1) / wanted + kPanelAlign - 1) / kPanelAlign * kPanelAlign;
  const std::int64_t panels = (out + rows - 1) / rows;
  parallel_for(panels, [&](std::int64_t p0, std::int64_t p1, int) {
    thread_local Buffer<float> panel;  // (rows, in); sized on first use, then reused
    if (panel.size() < static_cast<std::size_t>(rows * in)) panel.assign(static_cast<std::size_t>(rows * in), 0.0f);
    for (std::int64_t p = p0; p < p1; ++p) {
      const std::int64_t o0 = p * rows, n = std::min(rows, out - o0);
      for (std::int64_t r = 0; r < n; ++r) dequantize_row(W.type, W.row(o0 + r), in, panel.data() + r * in);
      // y[:, o0:o0+n] (T, n) = x (T, in) · panel (n, in)ᵀ + beta · y; inside parallel_for's threads OpenMP
      // OpenBLAS runs single-threaded, one product per thread
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, in, 1.0f, x.data, x.ld, panel.data(), in, beta,
                  y.data + o0, y.ld);
    }
  });
}

}  // namespace tinymamba::matmul_detail
