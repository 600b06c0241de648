#include "tinymamba/model/lm.hpp"

#include <algorithm>

#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/cross_entropy.hpp"
#include "tinymamba/ops/embedding.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/rmsnorm.hpp"

namespace tinymamba {

void check_token_ids(std::span<const std::int32_t> ids, std::int64_t vocab) {
  for (std::size_t t = 0; t < ids.size(); ++t)
    TM_CHECK(ids[t] >= 0 && ids[t] < vocab, "input ids: token id ", ids[t], " at position ", t,
             " is outside the vocabulary [0, ", vocab, ")");
}

void lm_forward(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t len,
                Activations& acts, const ForwardOptions& opt, InferenceState* state) {
  const Config& c = m.config;
  const std::int64_t T = batch * len, d = c.d_model, V = c.padded_vocab(), nl = c.n_layer;
  TM_CHECK(batch >= 1 && len >= 1 && static_cast<std::int64_t>(ids.size()) == T, "input ids: expected ", batch, " x ",
           len, " ids, got ", ids.size());
  check_token_ids(ids, V);
  TM_CHECK(!state || state->batch == batch, "inference state holds ", state ? state->batch : 0,
           " sequences, the input ", batch);
  const ConstWeights& w = m.weights();
  const bool keep = opt.for_backward;
  acts.batch = batch;
  acts.len = len;
  acts.kept_for_backward = keep;
  // With keep, every layer has its own buffers; without, layers share slot 0 (hidden ping-pongs in 0 and 1).
  const std::size_t slots = keep ? static_cast<std::size_t>(nl + 1) : 2;
  acts.hidden.resize(slots);
  acts.rstd.resize(slots);
  acts.normed.resize(slots);
  acts.mixer_out.resize(keep ? static_cast<std::size_t>(nl) : 1);
  switch (c.mixer) {
    case MixerKind::mamba1: acts.mamba1.resize(keep ? static_cast<std::size_t>(nl) : 1); break;
    case MixerKind::mamba2: acts.mamba2.resize(keep ? static_cast<std::size_t>(nl) : 1); break;
  }
  for (auto* v : {&acts.hidden, &acts.normed, &acts.mixer_out})
    for (auto& b : *v) ensure_size(b, T * d);
  for (auto& b : acts.rstd) ensure_size(b, T);

  auto slot = [&](std::int64_t i) { return keep ? static_cast<std::size_t>(i) : static_cast<std::size_t>(i % 2); };
  embedding_forward(acts.hidden[0].data(), ids.data(), w.embedding, T);
  for (std::int64_t i = 0; i < nl; ++i) {
    const std::size_t s = slot(i), mix = keep ? static_cast<std::size_t>(i) : 0;
    const float* h = acts.hidden[s].data();
    float* normed = acts.normed[keep ? s : 0].data();
    rmsnorm_forward(normed, acts.rstd[keep ? s : 0].data(), h, w.norms[i], T, d, c.norm_eps);
    float* conv_state = state ? state->conv[i].data() : nullptr;
    float* ssm_state = state ? state->ssm[i].data() : nullptr;
    switch (c.mixer) {
      case MixerKind::mamba1:
        mamba1::forward(acts.mixer_out[mix].data(), normed, w.mamba1[i], c, batch, len, opt.scan, acts.mamba1[mix],
                        keep ? &acts.mamba1[mix].scan : nullptr, conv_state, ssm_state);
        break;
      case MixerKind::mamba2:
        mamba2::forward(acts.mixer_out[mix].data(), normed, w.mamba2[i], c, batch, len, opt.ssd, acts.mamba2[mix], keep,
                        conv_state, ssm_state);
        break;
    }
    float* next = acts.hidden[slot(i + 1)].data();  // h_{i+1} = h_i + mixer_i(RMSNorm_i(h_i))
    const float* mo = acts.mixer_out[mix].data();
    for (std::int64_t k = 0; k < T * d; ++k) next[k] = h[k] + mo[k];
  }
  const std::size_t f = slot(nl);
  float* normed_f = acts.normed[keep ? f : 0].data();
  rmsnorm_forward(normed_f, acts.rstd[keep ? f : 0].data(), acts.hidden[f].data(), w.norm_f, T, d, c.norm_eps);
  if (opt.last_logits_only) {  // logits (b, V) from each sequence's last row
    ensure_size(acts.logits, batch * V);
    linear_forward({acts.logits.data(), V}, {normed_f + (len - 1) * d, len * d}, w.lm_head, nullptr, batch);
  } else {
    ensure_size(acts.logits, T * V);
    linear_forward({acts.logits.data(), V}, {normed_f, d}, w.lm_head, nullptr, T);
  }
  if (state) state->tokens_seen += len;
}

std::vector<std::int32_t> next_token_targets(std::span<const std::int32_t> ids, std::int64_t batch, std::int64_t len) {
  std::vector<std::int32_t> targets(static_cast<std::size_t>(batch * len), -1);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t + 1 < len; ++t) targets[b * len + t] = ids[b * len + t + 1];
  return targets;
}

double lm_loss(const Model& m, std::span<const std::int32_t> ids, const Activations& acts) {
  const std::int64_t T = acts.batch * acts.len, V = m.config.padded_vocab();
  TM_CHECK(static_cast<std::int64_t>(acts.logits.size()) == T * V, "lm_loss needs the logits of every position");
  const auto targets = next_token_targets(ids, acts.batch, acts.len);
  return cross_entropy_forward(acts.logits.data(), targets.data(), T, V);
}

void lm_backward(const Model& m, std::span<const std::int32_t> ids, Activations& acts, float* grads,
                 ScanAlgorithm scan, float scale, const std::function<void(std::int64_t)>& layer_done) {
  const Config& c = m.config;
  const std::int64_t batch = acts.batch, len = acts.len, T = batch * len, d = c.d_model, V = c.padded_vocab();
  const std::int64_t nl = c.n_layer;
  TM_CHECK(acts.kept_for_backward && static_cast<std::int64_t>(acts.logits.size()) == T * V,
           "lm_backward needs a forward run with for_backward");
  TM_CHECK(m.weight_type() == WeightType::f32, "the backward needs float32 weights, the model holds ",
           weight_type_name(m.weight_type()), " (load it without --dtype)");
  const ConstWeights& w = m.weights();
  const Weights g = bind_weights(c, grads);

  // dlogits (T, V), in place over the logits
  const auto targets = next_token_targets(ids, batch, len);
  float* dlogits = acts.logits.data();
  cross_entropy_backward(dlogits, acts.logits.data(), targets.data(), T, V, scale);
  // lm_head: d(normed_f) (T, d) = dlogits · W_lm ; dW_lm += dlogitsᵀ · normed_f (the embedding's grad when tied)
  for (auto* b : {&acts.dnormed, &acts.dh, &acts.dtmp}) ensure_size(*b, T * d);  // every use below writes (=) first
  Buffer<float>& dnormed = acts.dnormed;
  Buffer<float>& dh = acts.dh;
  Buffer<float>& dtmp = acts.dtmp;
  linear_backward({dnormed.data(), d}, g.lm_head, nullptr, {dlogits, V}, {acts.normed[nl].data(), d}, w.lm_head, T);
  rmsnorm_backward(dh.data(), g.norm_f, dnormed.data(), acts.hidden[nl].data(), w.norm_f, acts.rstd[nl].data(), T, d);

  for (std::int64_t i = nl - 1; i >= 0; --i) {
    // h_{i+1} = h_i + mixer_i(RMSNorm_i(h_i)): dh flows on unchanged, plus the mixer path's contribution.
    switch (c.mixer) {
      case MixerKind::mamba1:
        mamba1::backward(dnormed.data(), dh.data(), acts.normed[i].data(), w.mamba1[i], g.mamba1[i], c, batch, len,
                         scan, acts.mamba1[i], acts.mamba1_grads);
        break;
      case MixerKind::mamba2:
        mamba2::backward(dnormed.data(), dh.data(), acts.normed[i].data(), w.mamba2[i], g.mamba2[i], c, batch, len,
                         acts.mamba2[i], acts.mamba2_grads);
        break;
    }
    rmsnorm_backward(dtmp.data(), g.norms[i], dnormed.data(), acts.hidden[i].data(), w.norms[i], acts.rstd[i].data(),
                     T, d);
    if (layer_done) layer_done(i);
    for (std::int64_t k = 0; k < T * d; ++k) dh[k] += dtmp[k];
  }
  embedding_backward(g.embedding, dh.data(), ids.data(), T, d);
}

}  // namespace tinymamba
