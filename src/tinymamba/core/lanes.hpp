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

// Σ x[i]² over n floats, in double: 16 partial sums (lane j takes i ≡ j mod 16, in order), then sum_lanes' pairs,
// then the scalar tail. Each square is exact in double and each partial sum rounds at ~1e-16: RMSNorm's row
// sums, as exact as float32 storage allows, without the one chain of n dependent adds a plain loop is (GCC does
// not reorder FP sums: 768 adds at four cycles each were ~1 µs of every layer of a decode step).
inline double sum_squares(const float* x, std::int64_t n) {
  using Doubles = double __attribute__((vector_size(kLanes / 2 * sizeof(double))));
  Doubles lo = {}, hi = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Lanes v = load_lanes(x + i);
    const Doubles a = __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), Doubles);
    const Doubles b = __builtin_convertvector(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15), Doubles);
    lo += a * a;
    hi += b * b;
  }
  const Doubles h = lo + hi;
  double s = ((h[0] + h[4]) + (h[2] + h[6])) + ((h[1] + h[5]) + (h[3] + h[7]));
  for (; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

// sum_lanes of 16 vectors at once: result lane c = sum_lanes(v[c]) bit for bit (the same pairs added: lane j with
// j + 8, then j with j + 4, then (0 + 2) + (1 + 3)), as a transposing tree of 15 vector adds and 30 shuffles
// instead of 16 shuffle trees and their scalar tails.
inline Lanes sum_lanes_each(const Lanes (&v)[kLanes]) {
  // s[c] = [v[c]'s 8 half sums | v[c + 8]'s]
  Lanes s[8];
  for (int c = 0; c < 8; ++c)
    s[c] = __builtin_shufflevector(v[c], v[c + 8], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           __builtin_shufflevector(v[c], v[c + 8], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  // q[c], four lanes each: the quarter sums of v[c], v[c + 8], v[c + 4], v[c + 12]
  Lanes q[4];
  for (int c = 0; c < 4; ++c)
    q[c] = __builtin_shufflevector(s[c], s[c + 4], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
           __builtin_shufflevector(s[c], s[c + 4], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  // w[c], per four lanes k: q0 + q2 and q1 + q3 of q[c]'s group k, then of q[c + 2]'s
  Lanes w[2];
  for (int c = 0; c < 2; ++c)
    w[c] = __builtin_shufflevector(q[c], q[c + 2], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
           __builtin_shufflevector(q[c], q[c + 2], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  // (q0 + q2) + (q1 + q3): per four lanes k, the sums of v[b + 0], v[b + 2], v[b + 1], v[b + 3] with
  // b = 0, 8, 4, 12 for k = 0 … 3; then into channel order
  const Lanes r = __builtin_shufflevector(w[0], w[1], 0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30) +
                  __builtin_shufflevector(w[0], w[1], 1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31);
  return __builtin_shufflevector(r, r, 0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
}

}  // namespace tinymamba
