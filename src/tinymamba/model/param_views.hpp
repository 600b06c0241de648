// What every block kind's parameter code shares: the two views of a parameter buffer and the callbacks that
// build the layout and bind views to it.
//   - Mutable views (F = float) are raw float32 pointers: initialization, loading and the gradient buffers,
//     which have the parameters' layout.
//   - Read-only views (F = const float) are what the forward passes read: small tensors stay const float*,
//     matrices become WeightMatrix (core/weight_matrix.hpp), so the products dispatch on the storage type.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>

#include "tinymamba/core/raw_tensor.hpp"
#include "tinymamba/core/weight_matrix.hpp"

namespace tinymamba {

template <class F>
struct MatrixOf {
  using type = F*;
};
template <>
struct MatrixOf<const float> {
  using type = WeightMatrix;
};
template <class F>
using MatrixT = typename MatrixOf<F>::type;

// The matrix (rows, cols) at p (null when the parameter is absent) in the view's form.
template <class F>
[[nodiscard]] MatrixT<F> matrix_view(F* p, std::int64_t rows, std::int64_t cols) {
  if constexpr (std::is_const_v<F>)
    return p ? WeightMatrix::f32(p, rows, cols) : WeightMatrix{};
  else
    return p;
}

// Appends a parameter (official name, shape, whether AdamW decays it) to the layout being built.
using AddParam = std::function<void(std::string name, Shape shape, bool weight_decay)>;

// Where the parameter with this official name starts in the buffer being bound, or null if the layout has none.
template <class F>
using FindParam = std::function<F*(const std::string& name)>;

}  // namespace tinymamba
