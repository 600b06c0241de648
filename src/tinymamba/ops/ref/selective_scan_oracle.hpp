// The selective scan's double-precision oracle: the paper's recurrence with an initial state, and its analytic
// adjoint, so long cases need no finite differences. ref::selective_scan (reference_ops.hpp) defines the
// forward; this oracle must agree with it (tests/ops/selective_scan_test.cpp checks that, and checks the adjoint
// against central finite differences of the forward).
//
// Each function also has a magnitude mode (Mag = true): every term is replaced by its magnitude before it is
// summed, so the result is Σ|terms| for each output — an upper bound on every partial sum, the scale of float32
// rounding in an element whose terms cancel.
//
// Layouts as ref::selective_scan: u, delta, z, dout, out (b, l, E); B, C (b, l, N); A (E, N); D, delta_bias (E);
// h0, last_state (b, E, N). Optional inputs (D, z, delta_bias, h0) are empty when absent.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tinymamba::ref {

struct ScanProblem {
  std::int64_t batch, len, d_inner, d_state;  // b, l, E, N
  bool delta_softplus = true;
  std::vector<double> u, delta, A, B, C, D, z, delta_bias, h0;
};

// Forward outputs and gradients (of Σ out·dout), in the layouts of the inputs they belong to.
struct ScanOracleResult {
  std::vector<double> out, last_state, du, ddelta, dA, dB, dC, dD, dz, ddelta_bias;
};

namespace scan_oracle_detail {
inline double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }  // torch: threshold 20
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
template <bool Mag>
double m(double x) {
  return Mag ? std::fabs(x) : x;
}
inline double raw_step(const ScanProblem& p, std::size_t i, std::int64_t e) {  // Δ + Δ_bias
  return p.delta[i] + (p.delta_bias.empty() ? 0.0 : p.delta_bias[e]);
}
inline double step_size(const ScanProblem& p, std::size_t i, std::int64_t e) {  // δ
  const double raw = raw_step(p, i, e);
  return p.delta_softplus ? softplus(raw) : raw;
}
}  // namespace scan_oracle_detail

// out and last_state; the gradient fields stay empty.
template <bool Mag = false>
ScanOracleResult scan_oracle_forward(const ScanProblem& p) {
  using namespace scan_oracle_detail;
  const std::int64_t Bn = p.batch, L = p.len, E = p.d_inner, N = p.d_state;
  ScanOracleResult r;
  r.out.assign(Bn * L * E, 0.0);
  r.last_state.assign(Bn * E * N, 0.0);
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t e = 0; e < E; ++e) {
      std::vector<double> h(N, 0.0);
      if (!p.h0.empty())
        for (std::int64_t n = 0; n < N; ++n) h[n] = m<Mag>(p.h0[(b * E + e) * N + n]);
      for (std::int64_t t = 0; t < L; ++t) {
        const std::size_t i = (b * L + t) * E + e, row = b * L + t;
        const double dt = step_size(p, i, e);
        double y = 0;
        for (std::int64_t n = 0; n < N; ++n) {
          h[n] = std::exp(dt * p.A[e * N + n]) * h[n] + m<Mag>(dt * p.B[row * N + n] * p.u[i]);
          y += m<Mag>(h[n] * p.C[row * N + n]);
        }
        if (!p.D.empty()) y += m<Mag>(p.D[e] * p.u[i]);
        if (!p.z.empty()) y *= m<Mag>(p.z[i] * sigmoid(p.z[i]));
        r.out[i] = y;
      }
      std::copy(h.begin(), h.end(), r.last_state.begin() + (b * E + e) * N);
    }
  return r;
}

// The adjoint: g_t = ∂/∂h_t = dy_t·C_t + exp(δ_{t+1}A)·g_{t+1}, and each input's gradient from it; fills the
// gradient fields of r (the last state receives no gradient, as in the official backward).
template <bool Mag = false>
void scan_oracle_backward(const ScanProblem& p, const std::vector<double>& dout, ScanOracleResult& r) {
  using namespace scan_oracle_detail;
  const std::int64_t Bn = p.batch, L = p.len, E = p.d_inner, N = p.d_state;
  const bool has_D = !p.D.empty(), has_z = !p.z.empty(), has_bias = !p.delta_bias.empty();
  r.du.assign(Bn * L * E, 0.0), r.ddelta.assign(Bn * L * E, 0.0), r.dz.assign(has_z ? Bn * L * E : 0, 0.0);
  r.dA.assign(E * N, 0.0), r.dB.assign(Bn * L * N, 0.0), r.dC.assign(Bn * L * N, 0.0);
  r.dD.assign(has_D ? E : 0, 0.0), r.ddelta_bias.assign(has_bias ? E : 0, 0.0);
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t e = 0; e < E; ++e) {
      std::vector<double> H((L + 1) * N, 0.0);  // H[t + 1] = h_t, H[0] = h_{−1}
      if (!p.h0.empty())
        for (std::int64_t n = 0; n < N; ++n) H[n] = m<Mag>(p.h0[(b * E + e) * N + n]);
      for (std::int64_t t = 0; t < L; ++t) {
        const std::size_t i = (b * L + t) * E + e, row = b * L + t;
        const double dt = step_size(p, i, e);
        for (std::int64_t n = 0; n < N; ++n)
          H[(t + 1) * N + n] = std::exp(dt * p.A[e * N + n]) * H[t * N + n] + m<Mag>(dt * p.B[row * N + n] * p.u[i]);
      }
      std::vector<double> g(N, 0.0);
      for (std::int64_t t = L - 1; t >= 0; --t) {
        const std::size_t i = (b * L + t) * E + e, row = b * L + t;
        const double raw = raw_step(p, i, e), dt = step_size(p, i, e);
        double y = has_D ? m<Mag>(p.D[e] * p.u[i]) : 0.0;
        for (std::int64_t n = 0; n < N; ++n) y += m<Mag>(H[(t + 1) * N + n] * p.C[row * N + n]);
        double dy = m<Mag>(dout[i]);
        if (has_z) {
          const double s = sigmoid(p.z[i]);
          dy = m<Mag>(dout[i] * p.z[i] * s);
          r.dz[i] = m<Mag>(dout[i] * y * s * (1 + p.z[i] * (1 - s)));
        }
        double ddt = 0, du = has_D ? m<Mag>(p.D[e] * dy) : 0.0;
        for (std::int64_t n = 0; n < N; ++n) {
          const double a = std::exp(dt * p.A[e * N + n]), prev = H[t * N + n];
          r.dC[row * N + n] += m<Mag>(dy * H[(t + 1) * N + n]);
          g[n] += m<Mag>(dy * p.C[row * N + n]);
          ddt += m<Mag>(g[n] * p.A[e * N + n] * a * prev) + m<Mag>(g[n] * p.B[row * N + n] * p.u[i]);
          r.dA[e * N + n] += m<Mag>(g[n] * dt * a * prev);
          r.dB[row * N + n] += m<Mag>(g[n] * dt * p.u[i]);
          du += m<Mag>(g[n] * dt * p.B[row * N + n]);
          g[n] *= a;
        }
        if (has_D) r.dD[e] += m<Mag>(dy * p.u[i]);
        r.du[i] = du;
        const double draw = p.delta_softplus && raw <= 20.0 ? ddt * sigmoid(raw) : ddt;
        r.ddelta[i] = draw;
        if (has_bias) r.ddelta_bias[e] += draw;
      }
    }
}

}  // namespace tinymamba::ref
