// The sequential SSD scan: the recurrence written out one token at a time. It is the reference the chunked
// algorithm is measured against, so it favours plainness: libm exp, a float32 state (as the official kernels
// keep it), double accumulators for sums over time, rows and heads.
#include <vector>

#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/ssd/ssd_algorithms.hpp"

namespace tinymamba::ssd {
namespace {
inline float silu_ref(float v) { return v / (1.0f + std::exp(-v)); }
inline float sigmoid_ref(float v) { return 1.0f / (1.0f + std::exp(-v)); }
}  // namespace

void sequential_forward(const SsdDims& dims, const SsdInputs& in, const SsdOutputs& out) {
  const std::int64_t L = dims.len, H = dims.nheads, P = dims.headdim, N = dims.d_state;
  const std::int64_t heads_per_group = H / dims.ngroups;
  parallel_for(dims.batch * H, [&](std::int64_t i0, std::int64_t i1, int) {
    std::vector<float> M(static_cast<std::size_t>(P * N));  // the state of one (b, h): (p, n)
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t b = i / H, h = i % H, g = h / heads_per_group;
      const float A = in.A[h];
      for (std::int64_t k = 0; k < P * N; ++k) M[k] = in.initial_state ? in.initial_state[i * P * N + k] : 0.0f;
      for (std::int64_t t = 0; t < L; ++t) {
        const std::int64_t row = b * L + t;
        const float dt = discretize(in, in.dt[row * in.ld_dt + h], h).delta;
        const float decay = std::exp(dt * A);
        const float* x = in.x + row * in.ld_x + h * P;
        const float* Bt = in.B + row * in.ld_B + g * N;
        const float* Ct = in.C + row * in.ld_C + g * N;
        float* y = out.y + row * out.ld_y + h * P;
        for (std::int64_t p = 0; p < P; ++p) {
          float* m = M.data() + p * N;
          const float dx = dt * x[p];
          float acc = 0.0f;
          for (std::int64_t n = 0; n < N; ++n) {
            m[n] = decay * m[n] + dx * Bt[n];
            acc += m[n] * Ct[n];
          }
          acc += skip(in, h, p, P) * x[p];
          if (in.z) acc *= silu_ref(in.z[row * in.ld_z + h * P + p]);
          y[p] = acc;
        }
      }
      if (out.final_state)
        for (std::int64_t k = 0; k < P * N; ++k) out.final_state[i * P * N + k] = M[k];
    }
  }, grain_for(L * P * N));
}

void sequential_backward(const SsdDims& dims, const SsdInputs& in, const float* dy, std::int64_t ld_dy,
                         const float* dfinal_state, const SsdGrads& grads) {
  const std::int64_t Bsz = dims.batch, L = dims.len, H = dims.nheads, P = dims.headdim, G = dims.ngroups,
                     N = dims.d_state;
  const std::int64_t heads_per_group = H / G, rows_bc = Bsz * L * G * N;
  const int threads = num_threads();
  // dB and dC sum over the heads of a group; threads own head ranges, so each accumulates its own partial.
  std::vector<double> dB_part(static_cast<std::size_t>(threads * rows_bc), 0.0);
  std::vector<double> dC_part(dB_part.size(), 0.0);

  parallel_for(H, [&](std::int64_t h0, std::int64_t h1, int thread) {
    std::vector<float> Ms(static_cast<std::size_t>((L + 1) * N));  // M_{t−1} of one state row at t: (l + 1, n)
    std::vector<float> delta(L), decay(L), dd_draw(L);
    std::vector<double> ddelta(L), gM(N);
    double* dBp = dB_part.data() + thread * rows_bc;
    double* dCp = dC_part.data() + thread * rows_bc;
    for (std::int64_t h = h0; h < h1; ++h) {
      const std::int64_t g = h / heads_per_group;
      const float A = in.A[h];
      double dA = 0.0, dbias = 0.0;
      std::vector<double> dD(in.D_has_hdim ? P : 1, 0.0);
      for (std::int64_t b = 0; b < Bsz; ++b) {
        for (std::int64_t t = 0; t < L; ++t) {
          const Discretized d = discretize(in, in.dt[(b * L + t) * in.ld_dt + h], h);
          delta[t] = d.delta, dd_draw[t] = d.ddelta_draw, decay[t] = std::exp(d.delta * A);
          ddelta[t] = 0.0;
        }
        for (std::int64_t p = 0; p < P; ++p) {
          const std::int64_t state_at = ((b * H + h) * P + p) * N;
          const float Dhp = skip(in, h, p, P);
          // Recompute this row's states: Ms[t] = M_{t−1}[p, :], Ms[L] = M_{L−1}[p, :].
          for (std::int64_t n = 0; n < N; ++n) Ms[n] = in.initial_state ? in.initial_state[state_at + n] : 0.0f;
          for (std::int64_t t = 0; t < L; ++t) {
            const std::int64_t row = b * L + t;
            const float dx = delta[t] * in.x[row * in.ld_x + h * P + p];
            const float* Bt = in.B + row * in.ld_B + g * N;
            for (std::int64_t n = 0; n < N; ++n) Ms[(t + 1) * N + n] = decay[t] * Ms[t * N + n] + dx * Bt[n];
          }
          // Adjoint recurrence, t = L−1 .. 0:  gM_t = ∂/∂M_t[p] = dy_t·C_t + exp(δ_{t+1}A)·gM_{t+1},
          // starting from dfinal_state.
          for (std::int64_t n = 0; n < N; ++n) gM[n] = dfinal_state ? dfinal_state[state_at + n] : 0.0;
          for (std::int64_t t = L - 1; t >= 0; --t) {
            const std::int64_t row = b * L + t;
            const float x = in.x[row * in.ld_x + h * P + p];
            const float* Bt = in.B + row * in.ld_B + g * N;
            const float* Ct = in.C + row * in.ld_C + g * N;
            const float* m = Ms.data() + (t + 1) * N;
            const float* prev = Ms.data() + t * N;
            double dyt = dy[row * ld_dy + h * P + p];  // ∂/∂y_t before the gate
            if (in.z) {
              const float z = in.z[row * in.ld_z + h * P + p];
              const float sig = sigmoid_ref(z);
              double y = static_cast<double>(Dhp) * x;
              for (std::int64_t n = 0; n < N; ++n) y += static_cast<double>(m[n]) * Ct[n];
              grads.dz[row * grads.ld_dz + h * P + p] = static_cast<float>(dyt * y * sig * (1.0f + z * (1.0f - sig)));
              dyt *= z * sig;
            }
            double dx = static_cast<double>(Dhp) * dyt, dd = 0.0, dA_t = 0.0;
            double* dBrow = dBp + (row * G + g) * N;
            double* dCrow = dCp + (row * G + g) * N;
            for (std::int64_t n = 0; n < N; ++n) {
              dCrow[n] += dyt * m[n];
              gM[n] += dyt * Ct[n];
              dA_t += gM[n] * prev[n];            // ∂/∂(δA) through exp(δA)·M_{t−1}, over exp(δA)
              dd += gM[n] * Bt[n];               // ∂/∂δ through δ·x·B, over x
              dBrow[n] += gM[n] * delta[t] * x;
              dx += gM[n] * delta[t] * Bt[n];
              gM[n] *= decay[t];  // carry to M_{t−1}
            }
            dA_t *= decay[t];
            ddelta[t] += dA_t * A + dd * x;
            dA += dA_t * delta[t];
            if (in.D) dD[in.D_has_hdim ? p : 0] += dyt * x;
            grads.dx[row * grads.ld_dx + h * P + p] = static_cast<float>(dx);
          }
          if (grads.dinitial_state)
            for (std::int64_t n = 0; n < N; ++n) grads.dinitial_state[state_at + n] = static_cast<float>(gM[n]);
        }
        for (std::int64_t t = 0; t < L; ++t) {
          const double draw = ddelta[t] * dd_draw[t];
          grads.ddt[(b * L + t) * grads.ld_ddt + h] = static_cast<float>(draw);
          dbias += draw;
        }
      }
      write_head_grads(in, grads, h, P, dA, dD, dbias);
    }
  });

  sum_bc_partials(grads, Bsz * L, G, N, threads, dB_part, dC_part);
}

}  // namespace tinymamba::ssd
