// Linear layer y = x·Wᵀ (+ bias), torch layout W (out, in). Rows of x and y may be strided (ld = elements
// between consecutive rows), so slices such as the x half of in_proj's output feed a GEMM without a copy.
// All three products are OpenBLAS sgemm calls.
#pragma once

#include <cstdint>

namespace tinymamba {

struct Mat {  // a row-major (rows, cols) view with leading dimension ld >= cols
  float* data;
  std::int64_t ld;
};
struct ConstMat {
  const float* data;
  std::int64_t ld;
};

// y (T, out) = x (T, in) · W (out, in)ᵀ + bias (out) [bias may be null].
void linear_forward(Mat y, ConstMat x, const float* W, const float* bias, std::int64_t T, std::int64_t in,
                    std::int64_t out);

// y[:, o0:o1] += x (T, in) · W[o0:o1, :]ᵀ on the calling thread, each of those rows of W read from memory once
// for all T tokens: the product for a few tokens (a decode step), whose rows a parallel_team splits.
void linear_rows_accumulate(Mat y, ConstMat x, const float* W, std::int64_t T, std::int64_t in, std::int64_t o0,
                            std::int64_t o1);

// dx (T, in) = dy · W (written, or accumulated when accumulate_dx); dW (out, in) += dyᵀ · x;
// dbias (out) += Σ_t dy (when dbias is not null). dx.data may be null (no input gradient needed).
void linear_backward(Mat dx, float* dW, float* dbias, ConstMat dy, ConstMat x, const float* W, std::int64_t T,
                     std::int64_t in, std::int64_t out, bool accumulate_dx = false);

}  // namespace tinymamba
