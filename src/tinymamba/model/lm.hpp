// The Mamba language model (the official MambaLMHeadModel), the parallel (training / prefill) mode:
//   h_0 = embedding[ids]                                   (T, d), T = b·l
//   h_{i+1} = h_i + mixer_i(RMSNorm_i(h_i))                i = 0 .. n_layer−1 (residual stream in float32;
//                                                          the mixer of config.mixer's kind, model/<kind>/)
//   logits = RMSNorm_f(h_n) · lm_headᵀ                      (T, V), lm_head tied to the embedding by default
// and its backward: the same list reversed, every parameter's gradient under its official name.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/inference_state.hpp"
#include "tinymamba/model/mamba1/mixer.hpp"
#include "tinymamba/model/mamba2/mixer.hpp"
#include "tinymamba/model/model.hpp"

namespace tinymamba {

struct ForwardOptions {
  ScanAlgorithm scan = kDefaultScan;  // Mamba-1's selective scan
  SsdAlgorithm ssd = kDefaultSsd;     // Mamba-2's SSD scan
  bool for_backward = false;      // keep every layer's activations (else one layer's buffers are reused)
  bool last_logits_only = false;  // logits for the last token of each sequence only: (b, V) (generation)
};

// The wave of activations for one (b, l) batch.
struct Activations {
  std::int64_t batch = 0, len = 0;
  std::vector<Buffer<float>> hidden;     // per layer i: h_i (T, d), the residual stream entering layer i; [n_layer] = h_n
  std::vector<Buffer<float>> rstd;       // per layer: (T) 1/rms of h_i; [n_layer] for norm_f
  std::vector<Buffer<float>> normed;     // per layer: (T, d) RMSNorm_i(h_i), the mixer input; [n_layer] = norm_f output
  std::vector<Buffer<float>> mixer_out;  // per layer: (T, d)
  std::vector<mamba1::Activations> mamba1;  // per layer (one, reused, when not kept for the backward), Mamba-1
  std::vector<mamba2::Activations> mamba2;  // the same, Mamba-2
  Buffer<float> logits;                  // (T, V) or (b, V) with last_logits_only
  bool kept_for_backward = false;
  // The backward's scratch, kept here so that repeated training steps reuse it instead of allocating (and
  // page-faulting in) ~10 (T, d_in)-sized buffers per step: dnormed, dh, dtmp (T, d) and one mixer's.
  Buffer<float> dnormed, dh, dtmp;
  mamba1::GradScratch mamba1_grads;
  mamba2::GradScratch mamba2_grads;
};

// Throws Error naming the first id outside [0, vocab) and its position.
void check_token_ids(std::span<const std::int32_t> ids, std::int64_t vocab);

// Runs the model over ids (b·l, row-major (b, l)); ids must be in [0, V) (Error otherwise).
// With a state, each sequence continues from it and the state is updated (prefill / chunked prefill).
void lm_forward(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t len,
                Activations& acts, const ForwardOptions& opt, InferenceState* state = nullptr);

// Next-token targets for a (b, l) batch: ids[b, t+1], and −1 at t = l−1 (no target).
[[nodiscard]] std::vector<std::int32_t> next_token_targets(std::span<const std::int32_t> ids, std::int64_t batch,
                                                           std::int64_t len);

// Mean next-token cross-entropy of the forward's logits (needs the full (T, V) logits).
[[nodiscard]] double lm_loss(const Model& m, std::span<const std::int32_t> ids, const Activations& acts);

// Backward of `scale · lm_loss` (the forward must have run with for_backward). Gradients accumulate (+=) into
// `grads` (a buffer of the model's parameter layout). Overwrites acts.logits with dlogits.
// `layer_done(i)`, when given, is called as soon as layer i's gradients are final (i = n_layer−1 down to 0), e.g.
// to start sending them while the layers below run; the embedding's and norm_f's are final on return.
void lm_backward(const Model& m, std::span<const std::int32_t> ids, Activations& acts, float* grads,
                 ScanAlgorithm scan, float scale = 1.0f,
                 const std::function<void(std::int64_t)>& layer_done = {});

}  // namespace tinymamba
