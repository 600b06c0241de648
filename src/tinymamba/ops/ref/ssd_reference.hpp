// Naive references for the Mamba-2 ops, templated on the scalar type (instantiated with double in the tests):
// the SSD scan as its recurrence, one token at a time (official-mamba2.md §2), and the gated RMSNorm (§3).
// Same layouts as the fast ops (ops/ssd/ssd_scan.hpp, ops/gated_rmsnorm.hpp), contiguous; no threads, no tricks.
// Tests compare the float kernels against these and take central finite differences of them for backwards.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tinymamba/ops/ref/reference_ops.hpp"

namespace tinymamba::ref {

struct SsdRefDims {
  std::int64_t batch, len, nheads, headdim, ngroups, d_state;  // b, l, h, p, g, n
};

// Inputs: x, z (b, l, h, p); dt (b, l, h); A, dt_bias (h); B, C (b, l, g, n); D (h) or (h, p); initial (b, h, p, n).
// Empty D, z, dt_bias, initial = absent. Outputs y (b, l, h, p) and final_state (b, h, p, n).
template <class T>
struct SsdRefInputs {
  Vec<T> x, dt, A, B, C, D, z, dt_bias, initial;
  bool dt_softplus = true;
  T dt_min = 0, dt_max = INFINITY;
};
template <class T>
struct SsdRefResult {
  Vec<T> y, final_state;
};

// δ = clamp(softplus(dt + bias), dt_min, dt_max); M_t = exp(δA)·M_{t−1} + δ·x_t B_tᵀ; y_t = (M_t C_t + D·x_t)·silu(z_t).
template <class T>
SsdRefResult<T> ssd_scan(const SsdRefDims& d, const SsdRefInputs<T>& in) {
  const std::int64_t L = d.len, H = d.nheads, P = d.headdim, G = d.ngroups, N = d.d_state;
  SsdRefResult<T> r{Vec<T>(d.batch * L * H * P), Vec<T>(d.batch * H * P * N)};
  for (std::int64_t b = 0; b < d.batch; ++b)
    for (std::int64_t h = 0; h < H; ++h) {
      const std::int64_t g = h / (H / G);
      Vec<T> M(P * N, T(0));
      if (!in.initial.empty()) std::copy_n(in.initial.begin() + (b * H + h) * P * N, P * N, M.begin());
      for (std::int64_t t = 0; t < L; ++t) {
        const std::int64_t row = b * L + t;
        T dt = in.dt[row * H + h] + (in.dt_bias.empty() ? T(0) : in.dt_bias[h]);
        if (in.dt_softplus) dt = softplus(dt);
        dt = std::min(std::max(dt, in.dt_min), in.dt_max);
        const T decay = std::exp(dt * in.A[h]);
        for (std::int64_t p = 0; p < P; ++p) {
          const T x = in.x[(row * H + h) * P + p];
          T y = 0;
          for (std::int64_t n = 0; n < N; ++n) {
            T& m = M[p * N + n];
            m = decay * m + dt * x * in.B[(row * G + g) * N + n];
            y += m * in.C[(row * G + g) * N + n];
          }
          if (!in.D.empty()) y += in.D[static_cast<std::int64_t>(in.D.size()) == H ? h : h * P + p] * x;
          if (!in.z.empty()) y *= silu(in.z[(row * H + h) * P + p]);
          r.y[(row * H + h) * P + p] = y;
        }
      }
      std::copy(M.begin(), M.end(), r.final_state.begin() + (b * H + h) * P * N);
    }
  return r;
}

// out (rows, d) = v · rsqrt(mean_group(v²) + eps) · w with v = y · silu(z), per group of `group` channels.
template <class T>
Vec<T> gated_rmsnorm(const Vec<T>& y, const Vec<T>& z, const Vec<T>& w, std::int64_t d, std::int64_t group, T eps) {
  Vec<T> out(y.size());
  for (std::size_t r = 0; r < y.size() / d; ++r)
    for (std::int64_t k = 0; k < d / group; ++k) {
      T ss = 0;
      for (std::int64_t i = k * group; i < (k + 1) * group; ++i) {
        const T v = y[r * d + i] * silu(z[r * d + i]);
        ss += v * v;
      }
      const T rs = T(1) / std::sqrt(ss / T(group) + eps);
      for (std::int64_t i = k * group; i < (k + 1) * group; ++i)
        out[r * d + i] = y[r * d + i] * silu(z[r * d + i]) * rs * w[i];
    }
  return out;
}

}  // namespace tinymamba::ref
