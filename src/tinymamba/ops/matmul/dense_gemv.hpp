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
      // four accumulators, 64 weights a step: with one, each step waited on the last one's FMA (latency 4
      // cycles for 16 multiply-adds), which capped a thread at ~21 GMAC/s on cached weights. Rows shorter than
      // a step (dt_proj's, R = 48) keep one: four would only add their zeroing and sum to every row.
      Lanes acc = {};
      std::int64_t i = 0;
      if (body >= 4 * kLanes) {
        Lanes part[4] = {};
        for (; i + 4 * kLanes <= body; i += 4 * kLanes) {
          const char* ahead = reinterpret_cast<const char*>(w + i) + kPrefetchBytes;
          __builtin_prefetch(ahead, 0, 0);  // 64 weights: 128 bytes, two lines
          __builtin_prefetch(ahead + 64, 0, 0);
          for (int k = 0; k < 4; ++k) part[k] += widen(w + i + k * kLanes) * load_lanes(xt + i + k * kLanes);
        }
        acc = (part[0] + part[1]) + (part[2] + part[3]);
      }
      for (; i < body; i += kLanes) {
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
