// A weight matrix as the products read it: its storage type, its shape in torch layout (rows = out features,
// cols = in features), the distance between rows in bytes and where it lives. The model's float32 parameters
// stay one flat buffer (AdamW updates it as one array); inference reads them through these views, so a
// product (ops/linear.hpp) dispatches on the type to one kernel file per type (ops/matmul/) and nothing above
// the ops branches on how a weight is stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

// How the elements of a row are stored: float32, IEEE half, bfloat16, or ggml's block formats, bit-identical to
// ggml's so a block means the same in both programs: Q8_0 and Q4_0 (32 elements per block with an fp16 scale),
// and the K-quants Q4_K and Q6_K (256 per super-block), which are read (from GGUF files), not made here. Layouts
// and quantizers: core/quantize.hpp, ../shared/reference/quant-formats.md.
enum class WeightType : std::uint8_t { f32, f16, bf16, q8_0, q4_0, q4_k, q6_k };
inline constexpr WeightType kWeightTypes[] = {WeightType::f32,  WeightType::f16,  WeightType::bf16, WeightType::q8_0,
                                              WeightType::q4_0, WeightType::q4_k, WeightType::q6_k};

// Where the bytes live: host memory today; a device backend adds its own.
enum class Device : std::uint8_t { cpu };

[[nodiscard]] constexpr std::string_view weight_type_name(WeightType t) {
  switch (t) {
    case WeightType::f32: return "f32";
    case WeightType::f16: return "f16";
    case WeightType::bf16: return "bf16";
    case WeightType::q8_0: return "q8_0";
    case WeightType::q4_0: return "q4_0";
    case WeightType::q4_k: return "q4_k";
    case WeightType::q6_k: return "q6_k";
  }
  return "?";
}

// The type named `name` ("f32", "f16", "bf16", "q8_0", "q4_0"); throws Error naming `what` (a flag, a file) and
// the known names otherwise.
[[nodiscard]] inline WeightType weight_type_from_name(std::string_view name, std::string_view what) {
  for (const WeightType t : kWeightTypes)
    if (weight_type_name(t) == name) return t;
  fail(what, ": unknown weight type '", name, "' (known: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)");
}

// Elements per block (1 for the plain float types) and the bytes one block takes.
[[nodiscard]] constexpr std::int64_t weight_type_block(WeightType t) {
  switch (t) {
    case WeightType::f32:
    case WeightType::f16:
    case WeightType::bf16: return 1;
    case WeightType::q8_0:
    case WeightType::q4_0: return 32;
    case WeightType::q4_k:
    case WeightType::q6_k: return 256;
  }
  return 1;
}
[[nodiscard]] constexpr std::int64_t weight_type_block_bytes(WeightType t) {
  switch (t) {
    case WeightType::f32: return 4;
    case WeightType::f16: return 2;
    case WeightType::bf16: return 2;
    case WeightType::q8_0: return 34;  // fp16 d, int8 qs[32]
    case WeightType::q4_0: return 18;  // fp16 d, qs[16] (two 4-bit codes a byte)
    case WeightType::q4_k: return 144;  // fp16 d, fp16 dmin, 6-bit scales and mins [12], qs[128]
    case WeightType::q6_k: return 210;  // ql[128], qh[64], int8 scales[16], fp16 d
  }
  return 0;
}
// Whether quantize_row makes this type (the K-quants are only read: their quantizers search per block, and a
// file's bytes are matched by reading them, not by quantizing again).
[[nodiscard]] constexpr bool weight_type_has_quantizer(WeightType t) {
  return t != WeightType::q4_k && t != WeightType::q6_k;
}

// The bytes of a dense row of `cols` elements; an Error naming `what` when cols is not a whole number of blocks
// (ggml's block types need a row length that is a multiple of 32, or 256 for the K-quants).
[[nodiscard]] inline std::int64_t weight_row_bytes(WeightType t, std::int64_t cols, std::string_view what) {
  const std::int64_t block = weight_type_block(t);
  TM_CHECK(cols >= 0 && cols % block == 0, what, ": ", weight_type_name(t),
           " needs a row length that is a multiple of ", block, ", got ", cols);
  return cols / block * weight_type_block_bytes(t);
}

struct WeightMatrix {
  WeightType type = WeightType::f32;
  const void* data = nullptr;
  std::int64_t rows = 0;       // out
  std::int64_t cols = 0;       // in
  std::int64_t row_bytes = 0;  // from one row's start to the next's
  Device device = Device::cpu;

  // A float32 (rows, cols) matrix stored densely at p.
  [[nodiscard]] static WeightMatrix f32(const float* p, std::int64_t rows, std::int64_t cols) {
    return {WeightType::f32, p, rows, cols, cols * static_cast<std::int64_t>(sizeof(float)), Device::cpu};
  }
  // A (rows, cols) matrix of type t stored densely (rows of weight_row_bytes) at p.
  [[nodiscard]] static WeightMatrix dense(WeightType t, const void* p, std::int64_t rows, std::int64_t cols) {
    return {t, p, rows, cols, weight_row_bytes(t, cols, "weight matrix"), Device::cpu};
  }
  // The elements as float32; an error for any other type (training needs float32 weights).
  [[nodiscard]] const float* f32_data() const {
    TM_CHECK(type == WeightType::f32, "this operation needs float32 weights, the matrix holds ",
             weight_type_name(type));
    return static_cast<const float*>(data);
  }
  [[nodiscard]] const std::byte* row(std::int64_t r) const { return static_cast<const std::byte*>(data) + r * row_bytes; }
  [[nodiscard]] std::int64_t bytes() const { return rows * row_bytes; }
};

}  // namespace tinymamba
