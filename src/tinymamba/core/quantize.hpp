// Rows of weights in the reduced-precision types of WeightType: float32 → type (quantize) and back (dequantize).
// The block formats are ggml's, byte for byte, and the quantizers are ggml's reference ones
// (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`), rounding rules included, so a row quantized here is the row
// llama.cpp's converter writes; the spec we follow: ../shared/reference/quant-formats.md §2–4.
// f16 and bf16 round to nearest even (core/dtype.hpp's conversions).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/weight_matrix.hpp"

namespace tinymamba {

inline constexpr std::int64_t kQuantBlock = 32;  // QK8_0 = QK4_0: elements per block, along a row (the input axis)

// Element j of the block = d·qs[j]; d = fp16(amax / 127), qs[j] = round-half-away(x_j · 127 / amax).
struct BlockQ8_0 {
  std::uint16_t d;  // fp16
  std::int8_t qs[kQuantBlock];
};
// Byte j holds element j in its low nibble and element j + 16 in its high nibble, each a code c in 0..15 for the
// value d·(c − 8); d = fp16(max / −8) where max is the (signed) element of largest magnitude.
struct BlockQ4_0 {
  std::uint16_t d;  // fp16
  std::uint8_t qs[kQuantBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18, "ggml's block sizes, no padding");

// ggml's reference quantizers for n elements (n a multiple of 32: an Error otherwise). q8_0 also quantizes
// activations for the integer dot products of ops/matmul.
void quantize_row_q8_0(const float* x, std::int64_t n, BlockQ8_0* y);
void quantize_row_q4_0(const float* x, std::int64_t n, BlockQ4_0* y);

// x (n) → dst, weight_row_bytes(t, n) bytes, for any type; an Error naming the type when n is not a whole number
// of blocks.
void quantize_row(WeightType t, const float* x, std::int64_t n, void* dst);
// src (a row of n elements of type t) → y (n), exactly: every stored value is a float32.
void dequantize_row(WeightType t, const void* src, std::int64_t n, float* y);

// A (rows, cols) float32 matrix w quantized to type t, rows dense (weight_row_bytes apart), in parallel over rows.
// View it with WeightMatrix::dense(t, bytes.data(), rows, cols). `what` names the matrix in an error.
[[nodiscard]] Buffer<std::byte> quantize_matrix(WeightType t, const float* w, std::int64_t rows, std::int64_t cols,
                                                std::string_view what);

}  // namespace tinymamba
