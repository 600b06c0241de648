// One token of the selective scan (paper §3.4's recurrent mode; the official `selective_state_update`, which
// `Mamba.step` runs). For one sequence and each channel e of [e0, e1):
//   δ = softplus(Δ[e] + Δ_bias[e])                              (A[e] = −exp(A_log[e]), n values, given)
//   h[e] ← exp(δ·A) ⊙ h[e] + δ·B·u[e]                           (n values, in place)
//   out[e] = (⟨h[e], C⟩ + D[e]·u[e]) · silu(z[e])
// The same recurrence as one time step of selective_scan_forward (selective_scan.hpp), for the decode step,
// which has no time axis to scan: O(d_in·n) work whatever the length so far.
#pragma once

#include <cstdint>

namespace tinymamba {

struct ScanStep {
  const float* u;           // (d_in) input
  const float* delta;       // (d_in) Δ before bias and softplus
  const float* B;           // (n)
  const float* C;           // (n)
  const float* z;           // (d_in) gate
  const float* A;           // (d_in, n) −exp(A_log): the caller's, computed once for all of a step's sequences
  const float* D;           // (d_in)
  const float* delta_bias;  // (d_in)
  float* h;                 // (d_in, n) the state, updated in place
  float* out;               // (d_in)
  std::int64_t d_state;     // n, at most kMaxScanState
};

void selective_scan_step(const ScanStep& s, std::int64_t e0, std::int64_t e1);

}  // namespace tinymamba
