// The decode product for the K-quants (q4_k, q6_k): each 256-element super-block of a row is widened to float32
// (core/quantize.hpp's dequantize_row, the values exactly as ggml defines them) into a buffer that stays in L1,
// then multiplied with every token's x in Lanes, so the row is still read from memory once for all T tokens.
// The activations stay float32. Simple, not ggml's integer K-quant dots (q8_K activations): these types are read
// from files for compatibility; q8_0 and q4_0 are the fast ones here.
#pragma once

#include <cstdint>

#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba::matmul_detail {

// y[:, o0:o1] += x (T, in) · W[o0:o1]ᵀ, W of a 256-element super-block type.
void superblock_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0,
                                std::int64_t o1);

}  // namespace tinymamba::matmul_detail
