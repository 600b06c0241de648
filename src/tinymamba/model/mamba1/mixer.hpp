// The Mamba-1 mixer (paper Figure 3, the official `Mamba` module): its parameters, its recurrent state, its
// parallel forward/backward over T = b·l tokens and its one-token step, side by side.
// Glossary: d = d_model, E = d_in = d_inner, N = n = d_state, K = d_conv, R = dt_rank.
//   xz = in_proj(a)                  (T, 2E)        x = xz[:, :E], z = xz[:, E:]
//   u  = SiLU(conv1d(x) + conv_bias) (T, E)         causal depthwise conv over time, kernel K
//   Δ_low | B | C = x_proj(u)        (T, R + 2N)
//   Δ  = dt_proj(Δ_low)              (T, E)         its bias is the scan's delta_bias
//   y  = selective_scan(u, Δ, A = −exp(A_log), B, C, D, z, delta_bias, softplus)   (T, E)
//   out = out_proj(y)                (T, d)
// The backward runs the same list in reverse; the step (paper §3.4, the official `Mamba.step`) runs it for one
// token per sequence from the recurrent state.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/rng.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/param_views.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::mamba1 {

template <class F>  // F = float (init, load, gradients) or const float (the forward's read-only view)
struct MixerWeightsT {
  MatrixT<F> in_proj;  // (2E, d)     in_proj.weight: rows [0, E) → x, [E, 2E) → z
  F* in_proj_bias;     // (2E) or null (config.bias)
  F* conv;             // (E, 1, K)   conv1d.weight
  F* conv_bias;        // (E) or null (config.conv_bias)
  MatrixT<F> x_proj;   // (R + 2N, E) x_proj.weight: rows → [Δ_low (R), B (N), C (N)]
  MatrixT<F> dt_proj;  // (E, R)      dt_proj.weight
  F* dt_proj_bias;     // (E)         dt_proj.bias: the Δ bias, applied inside the scan
  F* A_log;            // (E, N)      A = −exp(A_log)
  // Not a parameter: A = −exp(A_log), (E, N), precomputed by a Model whose parameters can no longer change
  // (Model::rebind), so that a decode step reads it instead of computing E·N exps per layer and token; null in
  // every other view (an owned model, which training may change; gradients): A is then computed from A_log.
  F* A;
  F* D;                // (E)         skip connection
  MatrixT<F> out_proj; // (d, E)      out_proj.weight
  F* out_proj_bias;    // (d) or null
};

// The mixer's parameters under `prefix` ("backbone.layers.i.mixer."), in the official state_dict order.
void add_params(const Config& c, const std::string& prefix, const AddParam& add);
template <class F>
[[nodiscard]] MixerWeightsT<F> bind(const Config& c, const std::string& prefix, const FindParam<F>& find);
// The official initialization (mamba_simple.py's Mamba.__init__ and _init_weights).
void init(const Config& c, const MixerWeightsT<float>& w, Rng& rng);

// The recurrent state of one sequence, in floats: conv (E, K), the last K pre-conv inputs x, oldest first;
// ssm (E, N), h after the last token.
[[nodiscard]] std::int64_t conv_state_size(const Config& c);
[[nodiscard]] std::int64_t ssm_state_size(const Config& c);

// What the mixer computes for T tokens. The forward keeps it for the backward; the step reuses the same
// tensors for its T = b tokens (it fills xz, u, x_dbl, delta and y).
struct Activations {
  Buffer<float> xz;        // (T, 2E)      in_proj output: x | z
  Buffer<float> conv_out;  // (T, E)       conv1d(x) + bias, before SiLU
  Buffer<float> u;         // (T, E)       SiLU(conv_out): the scan's input
  Buffer<float> x_dbl;     // (T, R + 2N)  x_proj output: Δ_low | B | C
  Buffer<float> delta;     // (T, E)       dt_proj(Δ_low): Δ before bias and softplus
  Buffer<float> A;         // (E, N)       −exp(A_log)
  Buffer<float> y;         // (T, E)       scan output, gated by SiLU(z)
  Buffer<float> conv_state_scratch;  // (b, E, K) used when carrying a recurrent state
  ScanSaved scan;
};

// The backward's scratch (one, reused across layers): the gradient of each activation above.
struct GradScratch {
  Buffer<float> dxz, du, ddelta, dx_dbl, dy, dA, dD, ddelta_bias;
};

// out (T, d) = mixer(a (T, d)). When conv_state (b, E, K) / ssm_state (b, E, N) are given, the sequence
// continues from them and they are updated to the state after its last token (prefill, chunked prefill).
void forward(float* out, const float* a, const MixerWeightsT<const float>& w, const Config& c, std::int64_t batch,
             std::int64_t len, ScanAlgorithm scan, Activations& acts, ScanSaved* saved, float* conv_state,
             float* ssm_state);

// da (T, d) = ∂/∂a (written, =); parameter gradients accumulate (+=) into g. `acts` are the forward's.
void backward(float* da, const float* dout, const float* a, const MixerWeightsT<const float>& w,
              const MixerWeightsT<float>& g, const Config& c, std::int64_t batch, std::int64_t len, ScanAlgorithm scan,
              const Activations& acts, GradScratch& s);

// One token for each of T sequences, as this thread's share of a parallel_team: hidden (T, d) += mixer(normed
// (T, d)). Sequence b's state is slot slots[b] of conv_state (slots, E, K) and ssm_state (slots, E, N).
// Every thread must call it; it ends at a barrier, after which all of hidden is updated.
void step(const Team& team, const MixerWeightsT<const float>& w, const Config& c, std::int64_t T,
          const float* normed, float* hidden, float* conv_state, float* ssm_state,
          std::span<const std::int64_t> slots, Activations& a);
// Sizes acts for a step of T sequences (before the team starts: a step allocates nothing).
void size_for_step(const Config& c, std::int64_t T, Activations& a);

}  // namespace tinymamba::mamba1
