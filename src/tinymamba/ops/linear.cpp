#include "tinymamba/ops/linear.hpp"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {

// Up to this many tokens (a decode step of a small batch) the product is a few GEMVs that share one pass
// over W; beyond it, sgemm's blocking wins.
constexpr std::int64_t kMaxGemvTokens = 8;
constexpr std::int64_t kRowsPerBlock = 4;

// y[t, o] += Σ_i W[o, i]·x[t, i] for rows o of W in [o0, o1): four rows of W at a time, each read once for all
// T tokens while it is in L1; the four dot products give the FMA units independent chains.
void gemv_rows(Mat y, ConstMat x, const float* W, std::int64_t T, std::int64_t in, std::int64_t o0, std::int64_t o1) {
  std::int64_t o = o0;
  for (; o + kRowsPerBlock <= o1; o += kRowsPerBlock) {
    const float* w0 = W + o * in;
    const float* w1 = w0 + in;
    const float* w2 = w1 + in;
    const float* w3 = w2 + in;
    for (std::int64_t t = 0; t < T; ++t) {
      const float* xt = x.data + t * x.ld;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (std::int64_t i = 0; i < in; ++i) {
        s0 += w0[i] * xt[i];
        s1 += w1[i] * xt[i];
        s2 += w2[i] * xt[i];
        s3 += w3[i] * xt[i];
      }
      float* yt = y.data + t * y.ld + o;
      yt[0] += s0, yt[1] += s1, yt[2] += s2, yt[3] += s3;
    }
  }
  for (; o < o1; ++o)
    for (std::int64_t t = 0; t < T; ++t) {
      const float* xt = x.data + t * x.ld;
      const float* w = W + o * in;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (std::int64_t i = 0; i < in; ++i) s += w[i] * xt[i];
      y.data[t * y.ld + o] += s;
    }
}

// y (T, out) += x · Wᵀ for a few tokens, output rows split across threads in blocks of four.
void gemv_forward(Mat y, ConstMat x, const float* W, std::int64_t T, std::int64_t in, std::int64_t out) {
  const std::int64_t blocks = (out + kRowsPerBlock - 1) / kRowsPerBlock;
  parallel_for(blocks, [&](std::int64_t b0, std::int64_t b1, int) {
    gemv_rows(y, x, W, T, in, b0 * kRowsPerBlock, std::min(out, b1 * kRowsPerBlock));
  }, grain_for(kRowsPerBlock * in * T));
}

}  // namespace

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
