// The Mamba-2 mixer (Dao & Gu 2024, arXiv 2405.21060, Figure 6; the official `Mamba2` module, mamba2.py): its
// parameters, its recurrent state, its parallel forward/backward over T = b·l tokens and its one-token step,
// side by side. Glossary: d = d_model, E = d_inner, S = d_ssm, M = E − S (the gated-MLP width, usually 0),
// H = nheads, P = headdim, G = ngroups, N = d_state, K = d_conv, C = conv_dim = S + 2GN, I = 2E + 2GN + H.
//   zxbcdt = in_proj(a)                       (T, I) = [z0 (M) | x0 (M) | z (S) | xBC (C) | dt (H)]
//   xBC = SiLU(conv1d(xBC) + conv_bias)       (T, C) = [x (S) → (H, P) | B (G·N) | C (G·N)], causal depthwise
//   y   = ssd_scan(x, dt, A = −exp(A_log), B, C, D, dt_bias, softplus, dt_limit; z when not gated_rmsnorm)
//   y   = RMSNormGated(y, z) · norm.weight    (T, S) when gated_rmsnorm: y·silu(z), RMS over groups of S/G
//   out = out_proj([silu(z0)·x0 | y])         (T, d)
// The backward runs the list in reverse; the step (official `Mamba2.step`) runs it for one token per sequence
// from the recurrent state. The norm, conv, linear and the LM around the mixer are shared with Mamba-1; what
// is Mamba-2's own is the SSD scan (ops/ssd/) and the gated norm (ops/gated_rmsnorm.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/rng.hpp"
#include "tinymamba/model/config.hpp"
#include "tinymamba/model/param_views.hpp"
#include "tinymamba/ops/ssd/ssd_scan.hpp"

namespace tinymamba::mamba2 {

template <class F>  // F = float (init, load, gradients) or const float (the forward's read-only view)
struct MixerWeightsT {
  MatrixT<F> in_proj;   // (I, d)      in_proj.weight, rows in the order above
  F* in_proj_bias;      // (I) or null (config.bias)
  F* conv;              // (C, 1, K)   conv1d.weight, over x, B and C together
  F* conv_bias;         // (C) or null (config.conv_bias)
  F* dt_bias;           // (H)
  F* A_log;             // (H)         A = −exp(A_log), one scalar per head
  F* D;                 // (H), or (S) with D_has_hdim
  F* norm;              // (S) or null (gated_rmsnorm off)
  MatrixT<F> out_proj;  // (d, E)      out_proj.weight
  F* out_proj_bias;     // (d) or null
};

// The mixer's parameters under `prefix` ("backbone.layers.i.mixer."), in the official module's order.
void add_params(const Config& c, const std::string& prefix, const AddParam& add);
template <class F>
[[nodiscard]] MixerWeightsT<F> bind(const Config& c, const std::string& prefix, const FindParam<F>& find);
// The official initialization (mamba2.py's Mamba2.__init__, mixer_seq_simple.py's _init_weights).
void init(const Config& c, const MixerWeightsT<float>& w, Rng& rng);

// The recurrent state of one sequence, in floats: conv (C, K), the last K pre-conv xBC columns, oldest first;
// ssm (H, P, N), the SSD state after the last token.
[[nodiscard]] std::int64_t conv_state_size(const Config& c);
[[nodiscard]] std::int64_t ssm_state_size(const Config& c);

// What the mixer computes for T tokens; the forward keeps it for the backward, the step reuses it for its
// T = b tokens.
struct Activations {
  Buffer<float> zxbcdt;    // (T, I)  in_proj output
  Buffer<float> conv_out;  // (T, C)  conv1d(xBC) + bias, before SiLU
  Buffer<float> xBC;       // (T, C)  SiLU(conv_out): x | B | C, the scan's inputs
  Buffer<float> A;         // (H)     −exp(A_log)
  Buffer<float> y;         // (T, S)  scan output
  Buffer<float> rstd;      // (T, G)  the gated norm's 1/rms per group
  Buffer<float> ycat;      // (T, E)  out_proj's input: silu(z0)·x0 | normed y
  Buffer<float> conv_state_scratch;  // (b, C, K) used when carrying a recurrent state
  SsdSaved scan;
  SsdAlgorithm algorithm = kDefaultSsd;  // the forward's, which its backward must use
};

// The backward's scratch (one, reused across layers).
struct GradScratch {
  Buffer<float> dzxbcdt, dxBC, dy, dycat, dA, dD, ddt_bias;
};

// out (T, d) = mixer(a (T, d)). With conv_state (b, C, K) / ssm_state (b, H, P, N) the sequence continues from
// them and they are updated to the state after its last token (prefill, chunked prefill). `keep` saves what
// the backward needs.
void forward(float* out, const float* a, const MixerWeightsT<const float>& w, const Config& c, std::int64_t batch,
             std::int64_t len, SsdAlgorithm algorithm, Activations& acts, bool keep, float* conv_state,
             float* ssm_state);

// da (T, d) = ∂/∂a (written, =); parameter gradients accumulate (+=) into g. `acts` are the forward's (keep).
void backward(float* da, const float* dout, const float* a, const MixerWeightsT<const float>& w,
              const MixerWeightsT<float>& g, const Config& c, std::int64_t batch, std::int64_t len,
              const Activations& acts, GradScratch& s);

// One token for each of T sequences as this thread's share of a parallel_team: hidden (T, d) += mixer(normed
// (T, d)); sequence b's state is slot slots[b] of conv_state (slots, C, K) and ssm_state (slots, H, P, N). Every
// thread calls it; it ends at a barrier. Like the official step, Δ is not clamped to dt_limit here.
void step(const Team& team, const MixerWeightsT<const float>& w, const Config& c, std::int64_t T,
          const float* normed, float* hidden, float* conv_state, float* ssm_state,
          std::span<const std::int64_t> slots, Activations& a);
// Sizes acts for a step of T sequences (before the team starts: a step allocates nothing).
void size_for_step(const Config& c, std::int64_t T, Activations& a);

}  // namespace tinymamba::mamba2
