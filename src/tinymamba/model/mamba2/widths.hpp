// What mixer.cpp (forward, backward) and mixer_step.cpp (the step) share inside the Mamba-2 mixer: its widths,
// where each part of in_proj's output starts, and the tail that turns the scan's output into out_proj's input.
#pragma once

#include <cstdint>

#include "tinymamba/model/mamba2/mixer.hpp"

namespace tinymamba::mamba2 {

// The mixer's widths and where each part of in_proj's output starts (columns of zxbcdt).
struct Widths {
  std::int64_t d, E, S, M, H, P, G, N, K, C, I;
  std::int64_t z0 = 0, x0, z, xBC, dt;  // column offsets in zxbcdt
  explicit Widths(const Config& c)
      : d(c.d_model), E(c.d_inner), S(c.d_ssm), M(c.d_inner - c.d_ssm), H(c.nheads()), P(c.headdim), G(c.ngroups),
        N(c.d_state), K(c.d_conv), C(S + 2 * G * N), I(2 * E + 2 * G * N + H), x0(M), z(2 * M), xBC(2 * M + S),
        dt(2 * M + S + C) {}
};

// ycat[t] = [silu(z0)·x0 | RMSNormGated(y, z)] (or y itself when the scan gated it) for rows [t0, t1) of a.
void output_rows(Activations& a, const MixerWeightsT<const float>& w, const Config& c, const Widths& k,
                 std::int64_t t0, std::int64_t t1);

}  // namespace tinymamba::mamba2
