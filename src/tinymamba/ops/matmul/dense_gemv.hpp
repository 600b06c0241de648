// The decode product for a dense 16-bit row type (f16, bf16), shared by f16.cpp and bf16.cpp: the f32 kernel's
// loop (f32.cpp) with the weights widened to float32 as they are loaded, 16 at a time. The activations stay
// float32 (ggml rounds them to the weight type first): widening a weight is a shift or one F16C instruction,
// the product reads half the bytes of f32's either way, and rounding x would only add error.
#pragma once

#include <cstdint>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/ops/matmul/matmul.hpp"

namespace tinymamba::matmul_detail {

inline constexpr std::int64_t kPrefetchBytes = 8192;  // ahead of the load in W's row-major stream, as f32.cpp

// y[:, o0:o1] += x (T, in) · W[o0:o1]ᵀ; Widen: `Lanes operator()(const std::uint16_t* w16)` (16 weights) and
// `float operator()(std::uint16_t)` (one, for the tail).
template <class Widen>
void dense16_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0,
                             std::int64_t o1, Widen widen) {
  const std::int64_t in = W.cols, body = in / kLanes * kLanes;
  for (std::int64_t o = o0; o < o1; ++o) {
    const auto* w = reinterpret_cast<const std::uint16_t*>(W.row(o));
    for (std::int64_t t = 0; t < T; ++t) {
      const float* xt = x.data + t * x.ld;
      Lanes acc = {};
      for (std::int64_t i = 0; i < body; i += kLanes) {
        __builtin_prefetch(reinterpret_cast<const char*>(w + i) + kPrefetchBytes, 0, 0);
        acc += widen(w + i) * load_lanes(xt + i);
      }
      float s = sum_lanes(acc);
      for (std::int64_t i = body; i < in; ++i) s += widen(w[i]) * xt[i];
      y.data[t * y.ld + o] += s;
    }
  }
}

}  // namespace tinymamba::matmul_detail
