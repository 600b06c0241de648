#include "tinymamba/ops/linear.hpp"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {

// Up to this many tokens (a decode step of a small batch) the product is a few GEMVs that share one pass
// over W; beyond it, the GEMM's blocking wins.
constexpr std::int64_t kMaxGemvTokens = 8;
constexpr std::int64_t kRowsPerBlock = 4;  // rows per unit of work handed to a thread

// y (T, out) += x · Wᵀ for a few tokens, output rows split across threads in blocks of four.
void gemv_forward(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T) {
  const std::int64_t out = W.rows, blocks = (out + kRowsPerBlock - 1) / kRowsPerBlock;
  parallel_for(blocks, [&](std::int64_t b0, std::int64_t b1, int) {
    linear_rows_accumulate(y, x, W, T, b0 * kRowsPerBlock, std::min(out, b1 * kRowsPerBlock));
  }, grain_for(kRowsPerBlock * W.cols * T));
}

}  // namespace

void linear_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0,
                            std::int64_t o1) {
  switch (W.type) {
    case WeightType::f32: return f32_rows_accumulate(y, x, W, T, o0, o1);
    case WeightType::f16: return f16_rows_accumulate(y, x, W, T, o0, o1);
    case WeightType::bf16: return bf16_rows_accumulate(y, x, W, T, o0, o1);
    case WeightType::q8_0: return q8_0_rows_accumulate(y, x, W, T, o0, o1);
    case WeightType::q4_0: return q4_0_rows_accumulate(y, x, W, T, o0, o1);
    case WeightType::q4_k: return q4_k_rows_accumulate(y, x, W, T, o0, o1);
    case WeightType::q6_k: return q6_k_rows_accumulate(y, x, W, T, o0, o1);
  }
}

void linear_rows_forward(Mat y, ConstMat x, const WeightMatrix& W, const float* bias, std::int64_t T, std::int64_t o0,
                         std::int64_t o1) {
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t o = o0; o < o1; ++o) y.data[t * y.ld + o] = bias ? bias[o] : 0.0f;
  linear_rows_accumulate(y, x, W, T, o0, o1);
}

void linear_forward(Mat y, ConstMat x, const WeightMatrix& W, const float* bias, std::int64_t T) {
  if (T == 0) return;
  const std::int64_t out = W.rows;
  float beta = 0.0f;
  if (bias) {  // start every row from the bias, then let the product add x·Wᵀ
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t o = 0; o < out; ++o) y.data[t * y.ld + o] = bias[o];
    beta = 1.0f;
  }
  if (T <= kMaxGemvTokens) {  // decode: stream W once (a GEMM would first copy, "pack", all of W)
    if (!bias)
      for (std::int64_t t = 0; t < T; ++t) std::fill(y.data + t * y.ld, y.data + t * y.ld + out, 0.0f);
    gemv_forward(y, x, W, T);
    return;
  }
  switch (W.type) {
    case WeightType::f32: return f32_gemm(y, x, W, T, beta);
    case WeightType::f16: return f16_gemm(y, x, W, T, beta);
    case WeightType::bf16: return bf16_gemm(y, x, W, T, beta);
    case WeightType::q8_0: return q8_0_gemm(y, x, W, T, beta);
    case WeightType::q4_0: return q4_0_gemm(y, x, W, T, beta);
    case WeightType::q4_k: return q4_k_gemm(y, x, W, T, beta);
    case WeightType::q6_k: return q6_k_gemm(y, x, W, T, beta);
  }
}

void linear_backward(Mat dx, float* dW, float* dbias, ConstMat dy, ConstMat x, const WeightMatrix& W, std::int64_t T,
                     bool accumulate_dx) {
  if (T == 0) return;
  const std::int64_t out = W.rows, in = W.cols;
  const float* w = W.f32_data();
  const std::int64_t ldw = W.row_bytes / static_cast<std::int64_t>(sizeof(float));
  if (dx.data)  // (T, in) = (T, out) · (out, in)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, in, out, 1.0f, dy.data, dy.ld, w, ldw,
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
