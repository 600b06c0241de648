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

inline constexpr std::int64_t kSuperBlock = 256;  // QK_K: elements per K-quant super-block

// Eight sub-blocks of 32: element l of sub-block j is d·sc_j·q − dmin·m_j, q in 0..15, with 6-bit sc_j and m_j
// packed in `scales` (j < 4: sc = scales[j] & 63, m = scales[j + 4] & 63; j ≥ 4: the low 4 bits in
// scales[j + 4], the high 2 in the top bits of scales[j − 4] (sc) and scales[j] (m)). qs is four 32-byte chunks;
// chunk c holds sub-block 2c in its low nibbles and 2c + 1 in its high ones.
struct BlockQ4_K {
  std::uint16_t d, dmin;  // fp16
  std::uint8_t scales[12];
  std::uint8_t qs[kSuperBlock / 2];
};
// Sixteen sub-blocks of 16: element e is d·scales[e / 16]·(q − 32), q in 0..63 split into 4 low bits in ql and
// 2 high bits in qh (the order: quant-formats.md §6).
struct BlockQ6_K {
  std::uint8_t ql[kSuperBlock / 2];
  std::uint8_t qh[kSuperBlock / 4];
  std::int8_t scales[kSuperBlock / 16];
  std::uint16_t d;  // fp16, last
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_K) == 144 &&
                  sizeof(BlockQ6_K) == 210, "ggml's block sizes, no padding");

// ggml's reference quantizers for n elements (n a multiple of 32: an Error otherwise). q8_0 also quantizes
// activations for the integer dot products of ops/matmul. The codes of a block holding an inf or NaN are
// unspecified (as in ggml); quantize_matrix refuses such weights.
void quantize_row_q8_0(const float* x, std::int64_t n, BlockQ8_0* y);
void quantize_row_q4_0(const float* x, std::int64_t n, BlockQ4_0* y);

// x (n) → dst, weight_row_bytes(t, n) bytes, for a type with a quantizer (weight_type_has_quantizer); an Error
// naming the type when n is not a whole number of blocks, or for the K-quants.
void quantize_row(WeightType t, const float* x, std::int64_t n, void* dst);
// src (a row of n elements of type t) → y (n), exactly: every stored value is a float32.
void dequantize_row(WeightType t, const void* src, std::int64_t n, float* y);

// A (rows, cols) float32 matrix w quantized to type t (one with a quantizer), rows dense (weight_row_bytes apart), in parallel over rows.
// View it with WeightMatrix::dense(t, bytes.data(), rows, cols). `what` names the matrix in an error (a row length
// the type cannot take; a non-finite weight for the block types).
[[nodiscard]] Buffer<std::byte> quantize_matrix(WeightType t, const float* w, std::int64_t rows, std::int64_t cols,
                                                std::string_view what);

}  // namespace tinymamba
