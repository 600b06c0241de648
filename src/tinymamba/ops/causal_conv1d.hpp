// Causal depthwise 1-D convolution over time (the Mamba block's short conv), official semantics:
//   out[b, t, c] = bias[c] + Σ_{k=0}^{K-1} w[c, k] · x[b, t − (K−1) + k, c]
// with x at t < 0 taken from `state` (the K most recent pre-conv inputs before t = 0, oldest first; the
// recurrent mode's conv_state) or zero when there is no state. w is torch's conv1d.weight (c, 1, K) squeezed
// to (c, K), so w[c, K−1] multiplies the current token. x rows may be strided (ldx) so the x half of in_proj's
// output (b, l, 2·d_in) is read in place. Shapes: x (b, l, c), out (b, l, c) contiguous, state (b, c, K).
#pragma once

#include <cstdint>

namespace tinymamba {

struct Conv1dShape {
  std::int64_t batch, len, channels, kernel;
};

void causal_conv1d_forward(float* out, const float* x, std::int64_t ldx, const float* w, const float* bias,
                           const float* state, const Conv1dShape& s);

// dx (written, =; rows strided by lddx), dw (c, K) += , dbias (c) += (when not null).
// No gradient flows into `state` (it is not a parameter).
void causal_conv1d_backward(float* dx, std::int64_t lddx, float* dw, float* dbias, const float* dout, const float* x,
                            std::int64_t ldx, const float* w, const float* state, const Conv1dShape& s);

// The K most recent inputs after the sequence, oldest first, as the recurrent mode keeps them:
// new_state (b, c, K) from the old state (or zeros) followed by x. Prompts shorter than K keep old entries.
// new_state must not alias state.
void causal_conv1d_final_state(float* new_state, const float* x, std::int64_t ldx, const float* state,
                               const Conv1dShape& s);

// One token of one sequence for channels [c0, c1) (the official `causal_conv1d_update`, what `Mamba.step` runs):
// each channel's state (c, K) shifts one place towards the oldest and takes x[c] as its newest entry, then
// out[c] = bias[c] + Σ_k w[c, k] · state[c, k]. x, out: (c).
void causal_conv1d_step(float* out, float* state, const float* x, const float* w, const float* bias, std::int64_t K,
                        std::int64_t c0, std::int64_t c1);

}  // namespace tinymamba
