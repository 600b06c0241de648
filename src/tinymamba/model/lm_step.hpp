// Recurrent (step) mode of the LM, paper §3.4 and the official `MambaLMHeadModel.step`: one token per sequence
// through every layer, O(1) work and memory per token, from the state the previous tokens left. Each layer's
// mixer step is its kind's (model/<kind>/); the LM around it is here:
//   h = embedding[id];  per layer h += mixer_step(RMSNorm(h), state);  logits = RMSNorm_f(h) · lm_headᵀ
// Decode reads every weight once per token, so its speed is memory bandwidth ÷ weight bytes. A step runs as one
// parallel_team (core/parallel.hpp): every thread computes RMSNorm itself (its own copy, no barrier), then the
// threads share each projection's output rows, meeting at a barrier only where the next product needs all of the
// previous one. docs/inference.md has the measurements behind it.
#pragma once

#include <cstdint>
#include <span>

#include "tinymamba/model/inference_state.hpp"
#include "tinymamba/model/lm.hpp"

namespace tinymamba {

// lm_step's buffers for a batch of b sequences, sized on the first step and reused: a step allocates nothing.
struct StepActivations {
  Buffer<float> hidden;  // (b, d)           the residual stream h
  Buffer<float> normed;  // (threads, b, d)  RMSNorm(h), one copy per thread (each computes it: no barrier)
  Buffer<float> rstd;    // (threads, b)
  Buffer<float> logits;  // (b, V)
  mamba1::Activations mamba1;  // the mixer's tensors for T = b tokens, shared by the layers (Mamba-1)
  mamba2::Activations mamba2;  // the same for Mamba-2
  std::vector<std::int64_t> identity_slots;  // 0 .. b−1, for a step over the whole state
};

// One token per sequence: ids (b) → acts.logits (b, V); each sequence's state advances by one token.
// Sequence i uses state slot slots[i] (distinct, each < state.batch); empty slots mean slot i (then the state
// must hold exactly b sequences). The scan algorithm does not apply: a step has no time axis to scan.
void lm_step(const Model& m, std::span<const std::int32_t> ids, InferenceState& state, StepActivations& acts,
             std::span<const std::int64_t> slots = {});

// Logits (b, l, V) computed the way generation computes them: the first `prefill` tokens of each sequence by
// the parallel forward with `scan` (which fills the state), the rest one token at a time by lm_step.
// prefill = 0 runs every token by step from the state given (zero for a fresh state). `state` ends after the
// last token.
[[nodiscard]] Buffer<float> lm_forward_recurrent(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch,
                                                 std::int64_t len, std::int64_t prefill, InferenceState& state,
                                                 ScanAlgorithm scan = kDefaultScan, SsdAlgorithm ssd = kDefaultSsd);

}  // namespace tinymamba
