// One token of the SSD scan (the recurrent mode; the official `selective_state_update` for Mamba-2, which
// `Mamba2.step` runs). For one sequence and each head h of [h0, h1), with g = h / (nheads / ngroups):
//   δ = clamp(softplus(dt[h] + dt_bias[h]), dt_min, dt_max)
//   M[h] ← exp(δ·A[h])·M[h] + δ·x[h] B[g]ᵀ                  ((p, n), in place)
//   y[h] = (M[h] C[g] + D·x[h]) · silu(z[h])                 (D and z optional, as in the scan)
// The same recurrence as one time step of ssd_scan_forward (ssd_scan.hpp). Note: the official step does not
// clamp dt (official-mamba2.md §4); a caller that mirrors it leaves dt_min/dt_max at their defaults.
#pragma once

#include <cmath>
#include <cstdint>

namespace tinymamba {

struct SsdStep {
  const float* x;                  // (h, p)
  const float* dt;                 // (h) before bias, softplus and clamp
  const float* A;                  // (h), negative
  const float* B;                  // (g, n)
  const float* C;                  // (g, n)
  const float* D = nullptr;        // (h), or (h, p) when D_has_hdim; optional
  bool D_has_hdim = false;
  const float* z = nullptr;        // (h, p), optional
  const float* dt_bias = nullptr;  // (h), optional
  bool dt_softplus = true;
  float dt_min = 0.0f, dt_max = INFINITY;
  float* state;                    // (h, p, n), updated in place
  float* y;                        // (h, p)
  std::int64_t nheads, headdim, ngroups, d_state;
};

void ssd_step(const SsdStep& s, std::int64_t h0, std::int64_t h1);

}  // namespace tinymamba
