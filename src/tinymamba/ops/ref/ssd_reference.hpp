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

// δ = clamp(softplus(dt + bias), dt_min, dt_max); M_t = exp(δA)·M_{t−1} + δ·x_t B_tᵀ;
// y_t = (M_t C_t + D·x_t)·silu(z_t).
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

// The adjoint of ssd_scan: gradients of Σ y·dy + Σ final_state·dfinal (dfinal may be empty) w.r.t. every input,
// per (b, h, p) state row: recompute the states, then G_t = ∂/∂M_t = dy_t·C_t + exp(δ_{t+1}A)·G_{t+1} backwards.
// Gradients of absent inputs come back empty; dA is w.r.t. A; ddt w.r.t. the raw dt.
// With Mag, every term is replaced by its magnitude before it is summed, so each result is Σ|terms|: the scale
// of float32 rounding in an element whose terms cancel (a sum over a long sequence), which tests use as an
// error floor.
template <class T>
struct SsdRefGrads {
  Vec<T> dx, ddt, dA, dB, dC, dD, dz, ddt_bias, dinitial;
};
template <class T, bool Mag = false>
SsdRefGrads<T> ssd_scan_backward(const SsdRefDims& d, const SsdRefInputs<T>& in, const Vec<T>& dy,
                                 const Vec<T>& dfinal) {
  const auto m = [](T v) { return Mag ? std::fabs(v) : v; };
  const std::int64_t L = d.len, H = d.nheads, P = d.headdim, G = d.ngroups, N = d.d_state;
  SsdRefGrads<T> r{Vec<T>(in.x.size()), Vec<T>(in.dt.size()), Vec<T>(H), Vec<T>(in.B.size()), Vec<T>(in.C.size()),
                   Vec<T>(in.D.size()), Vec<T>(in.z.size()), Vec<T>(in.dt_bias.size()), Vec<T>(in.initial.size())};
  for (std::int64_t b = 0; b < d.batch; ++b)
    for (std::int64_t h = 0; h < H; ++h) {
      const std::int64_t g = h / (H / G);
      Vec<T> delta(L), dd_draw(L);
      for (std::int64_t t = 0; t < L; ++t) {
        const T raw = in.dt[(b * L + t) * H + h] + (in.dt_bias.empty() ? T(0) : in.dt_bias[h]);
        const T sp = in.dt_softplus ? softplus(raw) : raw;
        delta[t] = std::min(std::max(sp, in.dt_min), in.dt_max);
        const bool passes = sp >= in.dt_min && sp <= in.dt_max;
        dd_draw[t] = passes ? (in.dt_softplus && raw <= T(20) ? sigmoid(raw) : T(1)) : T(0);
      }
      for (std::int64_t p = 0; p < P; ++p) {
        const std::int64_t state_at = ((b * H + h) * P + p) * N;
        const std::int64_t di = static_cast<std::int64_t>(in.D.size()) == H ? h : h * P + p;
        Vec<T> Ms((L + 1) * N, T(0));  // Ms[t] = M_{t−1}[p, :]
        for (std::int64_t n = 0; n < N && !in.initial.empty(); ++n) Ms[n] = m(in.initial[state_at + n]);
        for (std::int64_t t = 0; t < L; ++t) {
          const std::int64_t row = b * L + t;
          const T decay = std::exp(delta[t] * in.A[h]), x = in.x[(row * H + h) * P + p];
          for (std::int64_t n = 0; n < N; ++n)
            Ms[(t + 1) * N + n] = decay * Ms[t * N + n] + m(delta[t] * x * in.B[(row * G + g) * N + n]);
        }
        Vec<T> gM(N, T(0));
        for (std::int64_t n = 0; n < N && !dfinal.empty(); ++n) gM[n] = m(dfinal[state_at + n]);
        for (std::int64_t t = L - 1; t >= 0; --t) {
          const std::int64_t row = b * L + t, xi = (row * H + h) * P + p;
          const T decay = std::exp(delta[t] * in.A[h]), x = in.x[xi];
          T dyt = m(dy[xi]);
          if (!in.z.empty()) {
            T y = in.D.empty() ? T(0) : m(in.D[di] * x);
            for (std::int64_t n = 0; n < N; ++n) y += m(Ms[(t + 1) * N + n] * in.C[(row * G + g) * N + n]);
            const T z = in.z[xi], s = sigmoid(z);
            r.dz[xi] = m(dyt * y * s * (T(1) + z * (T(1) - s)));
            dyt = m(dyt * z * s);
          }
          T dx = in.D.empty() ? T(0) : m(in.D[di] * dyt), ddelta = 0;
          if (!in.D.empty()) r.dD[di] += m(dyt * x);
          for (std::int64_t n = 0; n < N; ++n) {
            const std::int64_t bi = (row * G + g) * N + n;
            r.dC[bi] += m(dyt * Ms[(t + 1) * N + n]);
            gM[n] += m(dyt * in.C[bi]);
            const T ddA = m(gM[n] * decay * Ms[t * N + n]);  // ∂/∂(δA)
            ddelta += m(ddA * in.A[h]) + m(gM[n] * x * in.B[bi]);
            r.dA[h] += m(ddA * delta[t]);
            r.dB[bi] += m(gM[n] * delta[t] * x);
            dx += m(gM[n] * delta[t] * in.B[bi]);
            gM[n] *= decay;
          }
          r.dx[xi] = dx;
          const T draw = m(ddelta * dd_draw[t]);
          r.ddt[row * H + h] += draw;
          if (!in.dt_bias.empty()) r.ddt_bias[h] += draw;
        }
        if (!in.initial.empty()) std::copy(gM.begin(), gM.end(), r.dinitial.begin() + state_at);
      }
    }
  return r;
}

// The gated RMSNorm of ops/gated_rmsnorm.hpp:
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
