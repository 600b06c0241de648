// Recurrent (step) mode, paper §3.4 and the official `Mamba.step`: one token per sequence through every layer,
// O(1) work and memory per token, from the state the previous tokens left. A step is the parallel forward over a
// sequence of length 1 that continues from a state — the same code path, so the two modes cannot drift apart:
//   conv: the state holds the last K pre-conv inputs; the conv reads them as x[t<0] and the state shifts by one;
//   scan: h = exp(δ·A) ⊙ h + δ·B·u from the state's h, and the new h is written back.
#pragma once

#include <cstdint>
#include <span>

#include "tinymamba/model/inference_state.hpp"
#include "tinymamba/model/mamba_lm.hpp"

namespace tinymamba {

// One token per sequence: ids (b) → acts.logits (b, V); the state advances by one token.
void lm_step(const Model& m, std::span<const std::int32_t> ids, InferenceState& state, Activations& acts,
             ScanAlgorithm scan = kDefaultScan);

// Logits (b, l, V) computed the way generation computes them: the first `prefill` tokens of each sequence by
// the parallel forward (which fills the state), the rest one token at a time by lm_step. prefill = 0 runs every
// token by step from the state given (zero for a fresh state). `state` ends after the last token.
[[nodiscard]] Buffer<float> lm_forward_recurrent(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch,
                                                 std::int64_t len, std::int64_t prefill, InferenceState& state,
                                                 ScanAlgorithm scan = kDefaultScan);

}  // namespace tinymamba
