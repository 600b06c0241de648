#include "tinymamba/core/raw_tensor.hpp"

#include <cstring>
#include <limits>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const std::string& what) {
  TM_CHECK(a >= 0 && b >= 0, what, ": negative size");
  std::int64_t r = 0;
  TM_CHECK(!__builtin_mul_overflow(a, b, &r), what, ": size overflows 64 bits");
  return r;
}

std::int64_t checked_numel(const Shape& shape, const std::string& what) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    TM_CHECK(d >= 0, what, ": negative dimension in shape ", shape_str(shape));
    n = checked_mul(n, d, what);
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::vector<float> to_f32(const RawTensor& t, const std::string& name) {
  const auto n = static_cast<std::size_t>(checked_numel(t.shape, name));
  TM_CHECK(t.bytes.size() == n * dtype_size(t.dtype), name, ": byte size does not match its shape");
  TM_CHECK(dtype_is_float(t.dtype), name, ": dtype ", dtype_name(t.dtype), " is not a floating-point type");
  std::vector<float> out(n);
  convert_to_f32(t.dtype, t.bytes.data(), n, out.data());
  return out;
}

std::vector<std::int64_t> to_i64(const RawTensor& t, const std::string& name) {
  const auto n = static_cast<std::size_t>(checked_numel(t.shape, name));
  TM_CHECK(t.bytes.size() == n * dtype_size(t.dtype), name, ": byte size does not match its shape");
  std::vector<std::int64_t> out(n);
  const std::byte* p = t.bytes.data();
  for (std::size_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::I64: std::memcpy(&out[i], p + 8 * i, 8); break;
      case DType::I32: { std::int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = v; break; }
      case DType::I16: { std::int16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = v; break; }
      case DType::I8: out[i] = static_cast<std::int8_t>(p[i]); break;
      case DType::U8: out[i] = static_cast<std::uint8_t>(p[i]); break;
      case DType::U16: { std::uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = v; break; }
      case DType::U32: { std::uint32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = v; break; }
      case DType::U64: {
        std::uint64_t v;
        std::memcpy(&v, p + 8 * i, 8);
        TM_CHECK(v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), name,
                 ": value too large for int64");
        out[i] = static_cast<std::int64_t>(v);
        break;
      }
      default: fail(name, ": dtype ", dtype_name(t.dtype), " is not an integer type");
    }
  }
  return out;
}

namespace {
template <class T>
RawTensor make_owning(DType dtype, Shape shape, std::vector<T> values) {
  auto owner = std::make_shared<std::vector<T>>(std::move(values));
  RawTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  TM_CHECK(static_cast<std::size_t>(checked_numel(t.shape, "tensor")) == owner->size(),
           "tensor of shape ", shape_str(t.shape), " built from ", owner->size(), " values");
  t.bytes = std::as_bytes(std::span<const T>(*owner));
  t.keep_alive = owner;
  return t;
}
}  // namespace

RawTensor make_f32(Shape shape, std::vector<float> values) { return make_owning(DType::F32, std::move(shape), std::move(values)); }
RawTensor make_f64(Shape shape, std::vector<double> values) { return make_owning(DType::F64, std::move(shape), std::move(values)); }
RawTensor make_i64(Shape shape, std::vector<std::int64_t> values) {
  return make_owning(DType::I64, std::move(shape), std::move(values));
}

}  // namespace tinymamba
