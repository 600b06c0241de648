#include "tinymamba/ops/linear.hpp"

#include <cblas.h>

#include <vector>

namespace tinymamba {

void linear_forward(Mat y, ConstMat x, const float* W, const float* bias, std::int64_t T, std::int64_t in,
                    std::int64_t out) {
  if (T == 0) return;
  float beta = 0.0f;
  if (bias) {  // start every row from the bias, then let the GEMM add x·Wᵀ
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t o = 0; o < out; ++o) y.data[t * y.ld + o] = bias[o];
    beta = 1.0f;
  }
  if (T == 1) {  // one token (decode): a GEMV streams W once; sgemm would first copy (pack) all of W
    cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, W, in, x.data, 1, beta, y.data, 1);
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
