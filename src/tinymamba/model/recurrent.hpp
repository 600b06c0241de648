// Recurrent (step) mode, paper §3.4 and the official `Mamba.step`: one token per sequence through every layer,
// O(1) work and memory per token, from the state the previous tokens left:
//   conv: the state holds the last K pre-conv inputs x; it shifts by one, takes the new x, and the conv is one
//         dot product per channel (causal_conv1d_step);
//   scan: h ← exp(δ·A) ⊙ h + δ·B·u from the state's h, written back (selective_scan_step).
// Decode reads every weight once per token, so its speed is memory bandwidth ÷ weight bytes. A step runs as one
// parallel_team: each thread takes its share of every projection's output rows (and of the channels for the
// conv and the scan, which are independent per channel) and the threads meet at a barrier only where the next
// product needs all of the previous one: four per layer. A parallel_for per projection would wake the threads
// five times per layer and leave one of them idle through every elementwise step.
#pragma once

#include <cstdint>
#include <span>

#include "tinymamba/model/inference_state.hpp"
#include "tinymamba/model/mamba_lm.hpp"

namespace tinymamba {

// lm_step's buffers for a batch of b sequences, sized on the first step and reused: a step allocates nothing.
struct StepActivations {
  Buffer<float> hidden;  // (b, d)           the residual stream h
  Buffer<float> normed;  // (threads, b, d)  RMSNorm(h), one copy per thread (each computes it: no barrier)
  Buffer<float> rstd;    // (threads, b)
  Buffer<float> xz;      // (b, 2·d_in)      in_proj output: x | z
  Buffer<float> u;       // (b, d_in)        SiLU(conv(x))
  Buffer<float> x_dbl;   // (b, R + 2n)      x_proj output: Δ_low | B | C
  Buffer<float> delta;   // (b, d_in)        dt_proj(Δ_low)
  Buffer<float> y;       // (b, d_in)        scan output, gated
  Buffer<float> logits;  // (b, V)
};

// One token per sequence: ids (b) → acts.logits (b, V); the state advances by one token. The scan algorithm
// does not apply: a step has no time axis to scan.
// Row b of ids continues state slot slots[b] (distinct, in [0, state.batch)), so any subset of a pool of slots
// steps together; without slots, row b uses slot b and state.batch must be b. Each row's logits and state are
// bitwise the same whatever other rows step beside it: every output is one row's own dot products.
void lm_step(const Model& m, std::span<const std::int32_t> ids, InferenceState& state, StepActivations& acts,
             std::span<const std::int64_t> slots = {});

// Logits (b, l, V) computed the way generation computes them: the first `prefill` tokens of each sequence by
// the parallel forward with `scan` (which fills the state), the rest one token at a time by lm_step.
// prefill = 0 runs every token by step from the state given (zero for a fresh state). `state` ends after the
// last token.
[[nodiscard]] Buffer<float> lm_forward_recurrent(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch,
                                                 std::int64_t len, std::int64_t prefill, InferenceState& state,
                                                 ScanAlgorithm scan = kDefaultScan);

}  // namespace tinymamba
