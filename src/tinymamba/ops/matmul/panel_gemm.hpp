// The many-token product for every stored type other than float32: no float32 copy of W is kept; each thread
// widens a panel of W's rows at a time (core/quantize.hpp's dequantize_row, exact) and multiplies it with
// OpenBLAS sgemm. The activations stay float32, so the only error beyond the weights' own is sgemm's.
#pragma once

#include <cstdint>

#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba::matmul_detail {

// y (T, out) = x (T, in) · W (out, in)ᵀ + beta · y, W of any type.
void panel_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta);

}  // namespace tinymamba::matmul_detail
