// The sequential selective scan: the paper's recurrence written out one channel at a time. It is the reference
// the other algorithms are measured against, so it favours plainness: libm exp and log1p, a float32 state
// (as the official kernels keep it), double accumulators for sums over time and channels.
#include <array>
#include <cmath>
#include <vector>

#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/scan_algorithms.hpp"

namespace tinymamba::scan {
namespace {

// torch.nn.functional.softplus with beta 1, threshold 20.
inline float softplus_ref(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
inline float sigmoid_ref(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// δ_t for channel e at token row r: softplus(Δ + bias) or Δ + bias.
inline float discretization_step(const ScanInputs& in, std::int64_t row, std::int64_t e) {
  const float raw = in.delta[row * in.ld_delta + e] + (in.delta_bias ? in.delta_bias[e] : 0.0f);
  return in.delta_softplus ? softplus_ref(raw) : raw;
}

}  // namespace

void sequential_forward(const ScanDims& dims, const ScanInputs& in, const ScanOutputs& out) {
  const std::int64_t L = dims.len, E = dims.d_inner, N = dims.d_state;
  parallel_for(dims.batch * E, [&](std::int64_t i0, std::int64_t i1, int) {
    std::array<float, kMaxScanState> h;  // a fixed array: no allocation per call (decode runs this per token)
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t b = i / E, e = i % E;
      const float* A = in.A + e * N;
      for (std::int64_t n = 0; n < N; ++n) h[n] = in.initial_state ? in.initial_state[(b * E + e) * N + n] : 0.0f;
      for (std::int64_t t = 0; t < L; ++t) {
        const std::int64_t row = b * L + t;
        const float dt = discretization_step(in, row, e);
        const float u = in.u[row * in.ld_u + e];
        const float* Bt = in.B + row * in.ld_B;
        const float* Ct = in.C + row * in.ld_C;
        float y = 0.0f;
        for (std::int64_t n = 0; n < N; ++n) {
          h[n] = std::exp(dt * A[n]) * h[n] + dt * Bt[n] * u;
          y += h[n] * Ct[n];
        }
        if (in.D) y += in.D[e] * u;
        if (in.z) {
          const float z = in.z[row * in.ld_z + e];
          y *= z * sigmoid_ref(z);
        }
        out.out[row * out.ld_out + e] = y;
      }
      if (out.last_state)
        for (std::int64_t n = 0; n < N; ++n) out.last_state[(b * E + e) * N + n] = h[n];
    }
  }, grain_for(L * N));
}

void sequential_backward(const ScanDims& dims, const ScanInputs& in, const float* dout, std::int64_t ld_dout,
                         const ScanGrads& grads) {
  const std::int64_t Bsz = dims.batch, L = dims.len, E = dims.d_inner, N = dims.d_state;
  const int threads = num_threads();
  // dB and dC sum over channels; threads own channel ranges, so each accumulates its own (b, l, n) partial.
  std::vector<double> dB_part(static_cast<std::size_t>(threads * Bsz * L * N), 0.0);
  std::vector<double> dC_part(dB_part.size(), 0.0);

  parallel_for(E, [&](std::int64_t e0, std::int64_t e1, int thread) {
    std::vector<float> H(static_cast<std::size_t>(L * N));  // h_t for every t of one (b, e): (l, n)
    std::vector<float> g(static_cast<std::size_t>(N));       // adjoint ∂/∂h_t
    std::vector<double> dA(static_cast<std::size_t>(N));
    double* dBp = dB_part.data() + thread * Bsz * L * N;
    double* dCp = dC_part.data() + thread * Bsz * L * N;
    for (std::int64_t e = e0; e < e1; ++e) {
      const float* A = in.A + e * N;
      std::fill(dA.begin(), dA.end(), 0.0);
      double dD = 0.0, dbias = 0.0;
      for (std::int64_t b = 0; b < Bsz; ++b) {
        const float* h0 = in.initial_state ? in.initial_state + (b * E + e) * N : nullptr;
        // Recompute the forward states of this channel.
        for (std::int64_t t = 0; t < L; ++t) {
          const std::int64_t row = b * L + t;
          const float dt = discretization_step(in, row, e);
          const float u = in.u[row * in.ld_u + e];
          const float* Bt = in.B + row * in.ld_B;
          for (std::int64_t n = 0; n < N; ++n) {
            const float prev = t > 0 ? H[(t - 1) * N + n] : (h0 ? h0[n] : 0.0f);
            H[t * N + n] = std::exp(dt * A[n]) * prev + dt * Bt[n] * u;
          }
        }
        // Adjoint recurrence, t = L-1 .. 0:  g_t = ∂/∂h_t = dy_t·C_t + exp(δ_{t+1}A) ⊙ g_{t+1}.
        std::fill(g.begin(), g.end(), 0.0f);
        for (std::int64_t t = L - 1; t >= 0; --t) {
          const std::int64_t row = b * L + t;
          const float raw = in.delta[row * in.ld_delta + e] + (in.delta_bias ? in.delta_bias[e] : 0.0f);
          const float dt = in.delta_softplus ? softplus_ref(raw) : raw;
          const float u = in.u[row * in.ld_u + e];
          const float* Bt = in.B + row * in.ld_B;
          const float* Ct = in.C + row * in.ld_C;
          const float* ht = H.data() + t * N;
          const float go = dout[row * ld_dout + e];
          float dy = go;  // ∂/∂y_t where y_t = ⟨h_t, C_t⟩ + D·u_t
          if (in.z) {
            const float z = in.z[row * in.ld_z + e];
            const float sig = sigmoid_ref(z);
            float y = 0.0f;
            for (std::int64_t n = 0; n < N; ++n) y += ht[n] * Ct[n];
            if (in.D) y += in.D[e] * u;
            dy = go * z * sig;
            grads.dz[row * grads.ld_dz + e] = go * y * sig * (1.0f + z * (1.0f - sig));
          }
          double ddt = 0.0, du = 0.0;
          double* dBrow = dBp + row * N;
          double* dCrow = dCp + row * N;
          for (std::int64_t n = 0; n < N; ++n) {
            dCrow[n] += static_cast<double>(dy) * ht[n];
            g[n] += dy * Ct[n];
            const float a = std::exp(dt * A[n]);
            const float prev = t > 0 ? H[(t - 1) * N + n] : (h0 ? h0[n] : 0.0f);
            ddt += static_cast<double>(g[n]) * (A[n] * a * prev + Bt[n] * u);
            dA[n] += static_cast<double>(g[n]) * dt * a * prev;
            dBrow[n] += static_cast<double>(g[n]) * dt * u;
            du += static_cast<double>(g[n]) * dt * Bt[n];
            g[n] *= a;  // carry to h_{t-1}
          }
          if (in.D) {
            du += static_cast<double>(in.D[e]) * dy;
            dD += static_cast<double>(dy) * u;
          }
          grads.du[row * grads.ld_du + e] = static_cast<float>(du);
          // Through the softplus: dδ/dΔ = σ(Δ + bias), or 1 above the threshold.
          const double draw = in.delta_softplus && raw <= 20.0f ? ddt * sigmoid_ref(raw) : ddt;
          grads.ddelta[row * grads.ld_ddelta + e] = static_cast<float>(draw);
          dbias += draw;
        }
      }
      for (std::int64_t n = 0; n < N; ++n) grads.dA[e * N + n] = static_cast<float>(dA[n]);
      if (grads.dD) grads.dD[e] = static_cast<float>(dD);
      if (grads.ddelta_bias) grads.ddelta_bias[e] = static_cast<float>(dbias);
    }
  });

  for (std::int64_t row = 0; row < Bsz * L; ++row)
    for (std::int64_t n = 0; n < N; ++n) {
      double sb = 0, sc = 0;
      for (int th = 0; th < threads; ++th) {
        sb += dB_part[(th * Bsz * L + row) * N + n];
        sc += dC_part[(th * Bsz * L + row) * N + n];
      }
      grads.dB[row * grads.ld_dB + n] = static_cast<float>(sb);
      grads.dC[row * grads.ld_dC + n] = static_cast<float>(sc);
    }
}

}  // namespace tinymamba::scan
