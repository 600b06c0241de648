// Element types of the safetensors format (and of torch storages), with size, name and conversion to float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tinymamba {

enum class DType { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

[[nodiscard]] std::size_t dtype_size(DType t);
[[nodiscard]] std::string_view dtype_name(DType t);                  // safetensors spelling: "F32", "BF16", ...
[[nodiscard]] std::optional<DType> dtype_from_name(std::string_view);  // nullopt for an unknown name
[[nodiscard]] bool dtype_is_float(DType t);

// IEEE half and bfloat16 <-> float32. Round to nearest even on the way down; NaN stays NaN.
[[nodiscard]] float f16_to_f32(std::uint16_t h);
[[nodiscard]] float bf16_to_f32(std::uint16_t h);
[[nodiscard]] std::uint16_t f32_to_f16(float f);
[[nodiscard]] std::uint16_t f32_to_bf16(float f);

// Converts `count` little-endian elements of a floating dtype (F64, F32, F16, BF16) at `src` to float32.
// Throws Error for any other dtype (the model has no use for integer or float8 parameters).
void convert_to_f32(DType t, const std::byte* src, std::size_t count, float* dst);

}  // namespace tinymamba
