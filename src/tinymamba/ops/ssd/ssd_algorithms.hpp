// The SSD scan algorithms behind ssd_scan_forward/backward (see ssd_scan.hpp for the contract), and the one
// discretization step they share, so both see bitwise the same δ.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymamba/ops/ssd/ssd_scan.hpp"

namespace tinymamba::ssd {

// δ = clamp(softplus(dt + dt_bias), dt_min, dt_max) for one (token, head), and dδ/d(raw dt): the clamp passes
// the gradient where dt_min ≤ softplus ≤ dt_max (torch's clamp backward), softplus contributes σ(dt + bias)
// below its threshold (20) and 1 above. libm exp/log1p: this runs once per (token, head), not per state.
struct Discretized {
  float delta, ddelta_draw;
};
inline Discretized discretize(const SsdInputs& in, float raw_dt, std::int64_t h) {
  const float raw = raw_dt + (in.dt_bias ? in.dt_bias[h] : 0.0f);
  const bool through = in.dt_softplus && raw <= 20.0f;
  const float sp = through ? std::log1p(std::exp(raw)) : raw;
  const float delta = std::min(std::max(sp, in.dt_min), in.dt_max);
  const bool passes = sp >= in.dt_min && sp <= in.dt_max;
  return {delta, passes ? (through ? 1.0f / (1.0f + std::exp(-raw)) : 1.0f) : 0.0f};
}

// D for head h, state row p (0 when there is no D).
inline float skip(const SsdInputs& in, std::int64_t h, std::int64_t p, std::int64_t P) {
  return in.D ? in.D[in.D_has_hdim ? h * P + p : h] : 0.0f;
}

// What both backwards do with their double sums once a head is done: dA, dD (per head, or per (head, p)) and
// dΔ_bias of head h, written as float.
inline void write_head_grads(const SsdInputs& in, const SsdGrads& grads, std::int64_t h, std::int64_t P, double dA,
                             const std::vector<double>& dD, double dbias) {
  grads.dA[h] = static_cast<float>(dA);
  if (grads.dD) {
    if (in.D_has_hdim)
      for (std::int64_t p = 0; p < P; ++p) grads.dD[h * P + p] = static_cast<float>(dD[p]);
    else
      grads.dD[h] = static_cast<float>(dD[0]);
  }
  if (grads.ddt_bias) grads.ddt_bias[h] = static_cast<float>(dbias);
}

// dB, dC (rows = b·l tokens, g, n) from each thread's partial sums (threads, rows·g·n), added in thread order so
// the result does not depend on which thread took which head.
inline void sum_bc_partials(const SsdGrads& grads, std::int64_t rows, std::int64_t G, std::int64_t N, int threads,
                            const std::vector<double>& dB_part, const std::vector<double>& dC_part) {
  const std::int64_t per_thread = rows * G * N;
  for (std::int64_t r = 0; r < rows * G; ++r)
    for (std::int64_t n = 0; n < N; ++n) {
      double sb = 0, sc = 0;
      for (int th = 0; th < threads; ++th) {
        sb += dB_part[th * per_thread + r * N + n];
        sc += dC_part[th * per_thread + r * N + n];
      }
      const std::int64_t row = r / G, g = r % G;
      grads.dB[row * grads.ld_dB + g * N + n] = static_cast<float>(sb);
      grads.dC[row * grads.ld_dC + g * N + n] = static_cast<float>(sc);
    }
}

// ssd_sequential.cpp — the recurrence over t for one (b, h, p) row of the state at a time (an n-vector, as a
// Mamba-1 channel), float32 state as the official code, double accumulators for sums over time and rows. The
// backward recomputes a row's states into an (l, n) scratch and runs the adjoint recurrence backwards in time.
void sequential_forward(const SsdDims& dims, const SsdInputs& in, const SsdOutputs& out);
void sequential_backward(const SsdDims& dims, const SsdInputs& in, const float* dy, std::int64_t ld_dy,
                         const float* dfinal_state, const SsdGrads& grads);

// ssd_chunked.cpp — the paper's chunked algorithm (§6, Listing 1), one (b, h) at a time, chunk after chunk:
// the intra-chunk output as masked (C Bᵀ ∘ decay) X, the inter-chunk part from the state entering the chunk,
// and the state passed on, every product an sgemm on the inputs in place. The forward saves the chunk-entry
// states; the backward walks the chunks in reverse with the adjoint of the chunk-end state.
void chunked_forward(const SsdDims& dims, const SsdInputs& in, const SsdOutputs& out, SsdSaved* saved);
void chunked_backward(const SsdDims& dims, const SsdInputs& in, const float* dy, std::int64_t ld_dy,
                      const float* dfinal_state, const SsdSaved& saved, const SsdGrads& grads);

}  // namespace tinymamba::ssd
