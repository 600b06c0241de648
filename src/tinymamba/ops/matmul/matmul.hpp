// The products behind `linear` (ops/linear.hpp), one file per weight type (f32.cpp, ...): each type gives
//   <type>_rows_accumulate  y[:, o0:o1] += x (T, in) · W[o0:o1, :]ᵀ on the calling thread, each of those rows of
//                           W read from memory once for all T tokens (a decode step; a parallel_team splits rows);
//   <type>_gemm             y (T, out) = x (T, in) · W (out, in)ᵀ + beta · y, for many tokens (prefill, training).
// `linear` dispatches on WeightMatrix::type; no caller above the ops knows which kernel ran.
#pragma once

#include <cstdint>

#include "tinymamba/core/weight_matrix.hpp"

namespace tinymamba {

struct Mat {  // a row-major (rows, cols) float32 view with leading dimension ld >= cols
  float* data;
  std::int64_t ld;
};
struct ConstMat {
  const float* data;
  std::int64_t ld;
};

void f32_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1);
void f32_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);
void f16_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1);
void f16_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);
void bf16_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1);
void bf16_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);
// q8_0 and q4_0 round the activations to q8_0 blocks for the decode product (integer dot products per block,
// as ggml does; the measurement behind that choice: block_gemv.hpp); their GEMM multiplies float activations.
void q8_0_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1);
void q8_0_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);
void q4_0_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1);
void q4_0_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);
// The K-quants widen a super-block at a time to float32 for the decode product (float activations).
void q4_k_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1);
void q4_k_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);
void q6_k_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1);
void q6_k_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);

}  // namespace tinymamba
