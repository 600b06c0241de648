// Token embedding: out[t, :] = table[ids[t], :].  Paper symbols: table (V, d), ids (b·l,), out (b·l, d).
// V is the padded vocabulary (vocab_size rounded up to pad_vocab_size_multiple).
#pragma once

#include <cstdint>

#include "tinymamba/core/weight_matrix.hpp"

namespace tinymamba {

// out (T, d) = table[ids], d = table.cols: each looked-up row dequantized to float32 when the table is stored in
// another type; ids must be in [0, V) (checked by the caller where they come from outside).
void embedding_forward(float* out, const std::int32_t* ids, const WeightMatrix& table, std::int64_t T);
// d_table (V, d) += scatter of d_out (T, d) by ids. Accumulates (+=): the tied table also gets lm_head's grad.
void embedding_backward(float* d_table, const float* d_out, const std::int32_t* ids, std::int64_t T, std::int64_t d);

}  // namespace tinymamba
