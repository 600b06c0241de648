// The Mamba mixer (paper Figure 3, the official `Mamba` module's forward), for T = b·l tokens:
//   xz = in_proj(a)                  (T, 2·d_in)      x = xz[:, :d_in], z = xz[:, d_in:]
//   u  = SiLU(conv1d(x) + conv_bias) (T, d_in)        causal depthwise conv over time, kernel K
//   Δ_low | B | C = x_proj(u)        (T, R + 2n)
//   Δ  = dt_proj(Δ_low)              (T, d_in)        its bias is the scan's delta_bias
//   y  = selective_scan(u, Δ, A = −exp(A_log), B, C, D, z, delta_bias, softplus)   (T, d_in)
//   out = out_proj(y)                (T, d)
// The backward runs the same list in reverse.
#pragma once

#include <cstdint>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/weights.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba {

// What one mixer computes on the way forward, kept for its backward.
struct MixerActivations {
  Buffer<float> xz;        // (T, 2·d_in)  in_proj output: x | z
  Buffer<float> conv_out;  // (T, d_in)    conv1d(x) + bias, before SiLU
  Buffer<float> u;         // (T, d_in)    SiLU(conv_out): the scan's input
  Buffer<float> x_dbl;     // (T, R + 2n)  x_proj output: Δ_low | B | C
  Buffer<float> delta;     // (T, d_in)    dt_proj(Δ_low): Δ before bias and softplus
  Buffer<float> A;         // (d_in, n)    −exp(A_log)
  Buffer<float> y;         // (T, d_in)    scan output, gated by SiLU(z)
  Buffer<float> conv_state_scratch;  // (b, d_in, K) used when carrying a recurrent state
  ScanSaved scan;
  void resize(const Config& c, std::int64_t batch, std::int64_t len);
};

// Scratch for the backward (reused across layers).
struct MixerGradScratch {
  Buffer<float> dxz, du, ddelta, dx_dbl, dy, dA, dD, ddelta_bias;
  void resize(const Config& c, std::int64_t batch, std::int64_t len);
};

// out (T, d) = mixer(a (T, d)). When conv_state (b, d_in, K) / ssm_state (b, d_in, n) are given, the sequence
// continues from them and they are updated to the state after its last token (prefill, chunked prefill).
void mixer_forward(float* out, const float* a, const LayerWeightsT<const float>& w, const Config& c,
                   std::int64_t batch, std::int64_t len, ScanAlgorithm scan, MixerActivations& acts,
                   ScanSaved* saved, float* conv_state, float* ssm_state);

// da (T, d) = ∂/∂a (written, =); parameter gradients accumulate (+=) into g. `acts` are the forward's.
void mixer_backward(float* da, const float* dout, const float* a, const LayerWeightsT<const float>& w,
                    const LayerWeights& g, const Config& c, std::int64_t batch, std::int64_t len, ScanAlgorithm scan,
                    const MixerActivations& acts, MixerGradScratch& s);

}  // namespace tinymamba
