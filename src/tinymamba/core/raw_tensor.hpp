// A tensor as it sits in a file: dtype, shape and a view of its contiguous little-endian bytes. Loaders
// (safetensors, torch .bin) produce maps of these; the model converts what it needs to float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tinymamba/core/dtype.hpp"

namespace tinymamba {

using Shape = std::vector<std::int64_t>;

struct RawTensor {
  DType dtype = DType::F32;
  Shape shape;
  std::span<const std::byte> bytes;       // exactly numel * dtype_size bytes, row-major
  std::shared_ptr<const void> keep_alive;  // owns what `bytes` points into (an mmap or a buffer)
};

// Ordered by name, so iteration (and anything written from it) is deterministic.
using TensorMap = std::map<std::string, RawTensor>;

// Product of the dims; throws Error naming `what` if a dim is negative or the product overflows int64.
[[nodiscard]] std::int64_t checked_numel(const Shape& shape, const std::string& what);
// a * b or throws Error naming `what` on int64 overflow / negative operands.
[[nodiscard]] std::int64_t checked_mul(std::int64_t a, std::int64_t b, const std::string& what);

[[nodiscard]] std::string shape_str(const Shape& shape);  // "(2, 33, 256)"

// The tensor's values as float32 (F64/F32/F16/BF16 only; anything else throws naming `name`).
[[nodiscard]] std::vector<float> to_f32(const RawTensor& t, const std::string& name);
// Integer tensors (I64/I32/...) as int64 (floats are refused).
[[nodiscard]] std::vector<std::int64_t> to_i64(const RawTensor& t, const std::string& name);

// An owning RawTensor built from values (for writing files and for tests).
[[nodiscard]] RawTensor make_f32(Shape shape, std::vector<float> values);
[[nodiscard]] RawTensor make_f64(Shape shape, std::vector<double> values);
[[nodiscard]] RawTensor make_i64(Shape shape, std::vector<std::int64_t> values);

}  // namespace tinymamba
