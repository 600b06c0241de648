#include "tinymamba/ops/ssd/ssd_step.hpp"

#include <algorithm>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/core/vmath.hpp"

namespace tinymamba {

// Per head: δ and exp(δA) once, then per state row p the n-long update and dot product in 16-lane pieces (as
// selective_scan_step); no allocation, so a decode step can call it per token.
void ssd_step(const SsdStep& s, std::int64_t h0, std::int64_t h1) {
  const std::int64_t P = s.headdim, N = s.d_state, N16 = N / kLanes * kLanes, hpg = s.nheads / s.ngroups;
  for (std::int64_t h = h0; h < h1; ++h) {
    const float raw = s.dt[h] + (s.dt_bias ? s.dt_bias[h] : 0.0f);
    const float dt = std::min(std::max(s.dt_softplus ? vmath::softplus(raw) : raw, s.dt_min), s.dt_max);
    const float decay = vmath::exp(dt * s.A[h]);
    const float* B = s.B + (h / hpg) * N;
    const float* C = s.C + (h / hpg) * N;
    for (std::int64_t p = 0; p < P; ++p) {
      const float x = s.x[h * P + p], dx = dt * x;
      float* m = s.state + (h * P + p) * N;
      Lanes acc16 = {};
      for (std::int64_t n = 0; n < N16; n += kLanes) {  // M ← exp(δA)·M + δ·x·B ;  y += M·C
        const Lanes mn = decay * load_lanes(m + n) + dx * load_lanes(B + n);
        store_lanes(m + n, mn);
        acc16 += mn * load_lanes(C + n);
      }
      float acc = sum_lanes(acc16);
      for (std::int64_t n = N16; n < N; ++n) {
        m[n] = decay * m[n] + dx * B[n];
        acc += m[n] * C[n];
      }
      if (s.D) acc += s.D[s.D_has_hdim ? h * P + p : h] * x;
      s.y[h * P + p] = s.z ? acc * vmath::silu(s.z[h * P + p]) : acc;
    }
  }
}

}  // namespace tinymamba
