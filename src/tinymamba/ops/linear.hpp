// Linear layer y = x·Wᵀ (+ bias), torch layout W (out, in) = (W.rows, W.cols). Rows of x and y may be strided
// (ld = elements between consecutive rows), so slices such as the x half of in_proj's output feed a product
// without a copy. The forward dispatches on W's storage type to ops/matmul/<type>.cpp: a few tokens (a decode
// step) stream each row of W once for all of them; more tokens take the type's GEMM. The backward is float32
// only: training keeps float32 parameters.
#pragma once

#include <cstdint>

#include "tinymamba/core/weight_matrix.hpp"
#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba {

// y (T, out) = x (T, in) · Wᵀ + bias (out) [bias may be null].
void linear_forward(Mat y, ConstMat x, const WeightMatrix& W, const float* bias, std::int64_t T);

// y[:, o0:o1] += x (T, in) · W[o0:o1, :]ᵀ on the calling thread, each of those rows of W read from memory once
// for all T tokens: the product for a few tokens (a decode step), whose rows a parallel_team splits.
void linear_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0,
                            std::int64_t o1);

// y[:, o0:o1] = x (T, in) · W[o0:o1, :]ᵀ + bias[o0:o1] (bias may be null): linear_rows_accumulate from the bias
// or zero, the decode step's share of a projection.
void linear_rows_forward(Mat y, ConstMat x, const WeightMatrix& W, const float* bias, std::int64_t T, std::int64_t o0,
                         std::int64_t o1);

// dx (T, in) = dy · W (written, or accumulated when accumulate_dx); dW (out, in) += dyᵀ · x;
// dbias (out) += Σ_t dy (when dbias is not null). dx.data may be null (no input gradient needed).
// W must be float32 (Error otherwise).
void linear_backward(Mat dx, float* dW, float* dbias, ConstMat dy, ConstMat x, const WeightMatrix& W, std::int64_t T,
                     bool accumulate_dx = false);

}  // namespace tinymamba
