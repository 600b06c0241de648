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

// How the elements of a row are stored. Reduced-precision and block-quantized types join this list.
enum class WeightType : std::uint8_t { f32 };

// Where the bytes live: host memory today; a device backend adds its own.
enum class Device : std::uint8_t { cpu };

[[nodiscard]] constexpr std::string_view weight_type_name(WeightType t) {
  switch (t) {
    case WeightType::f32: return "f32";
  }
  return "?";
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
