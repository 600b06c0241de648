// Lanes: 16 floats handled as one value through GCC's portable vector extension — one AVX-512 register or two
// AVX2 ones; +, −, * and FMA contraction work lane by lane. For kernels whose inner dimension is a short dot
// product (a GEMV row, a scan step's n states), where what the compiler makes of the final horizontal sum matters.
#pragma once

#include <cstdint>
#include <cstring>

namespace tinymamba {

inline constexpr std::int64_t kLanes = 16;
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));

inline Lanes load_lanes(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);  // an unaligned vector load
  return v;
}

inline void store_lanes(float* p, Lanes v) { std::memcpy(p, &v, sizeof v); }

// Σ of the 16 lanes by halving: 8 + 4 + 2 + 1 adds, each one vector operation. GCC turns the plain
// `for (a : lanes) s += a` into ~35 scalar extracts and adds.
inline float sum_lanes(Lanes v) {
  using Half = float __attribute__((vector_size(kLanes / 2 * sizeof(float))));
  using Quarter = float __attribute__((vector_size(kLanes / 4 * sizeof(float))));
  const Half h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const Quarter q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
  return (q[0] + q[2]) + (q[1] + q[3]);
}

}  // namespace tinymamba
