#include "tinymamba/model/lm_step.hpp"

#include <algorithm>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/embedding.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/rmsnorm.hpp"

namespace tinymamba {
namespace {

// Below this many weight bytes a step is a few tens of microseconds of work and the barriers would cost more
// than a second thread saves: the step runs on one thread.
constexpr double kMinBytesForTeam = 16e6;
constexpr std::int64_t kVocabChunk = 1024;  // rows of lm_head a thread claims at a time

}  // namespace

void lm_step(const Model& m, std::span<const std::int32_t> ids, InferenceState& state, StepActivations& a,
             std::span<const std::int64_t> slots) {
  const Config& c = m.config;
  const std::int64_t T = static_cast<std::int64_t>(ids.size()), d = c.d_model, V = c.padded_vocab();
  TM_CHECK(T >= 1, "lm_step: no tokens");
  if (slots.empty()) {
    TM_CHECK(state.batch == T, "inference state holds ", state.batch, " sequences, the step ", T, " tokens");
    a.identity_slots.resize(static_cast<std::size_t>(T));
    for (std::int64_t i = 0; i < T; ++i) a.identity_slots[i] = i;
    slots = a.identity_slots;
  }
  TM_CHECK(std::ssize(slots) == T, "slots: ", slots.size(), " slots for a step of ", T, " tokens");
  for (std::int64_t i = 0; i < T; ++i) {
    TM_CHECK(slots[i] >= 0 && slots[i] < state.batch, "slots[", i, "] = ", slots[i], " is outside the state's ",
             state.batch, " slots");
    for (std::int64_t j = 0; j < i; ++j)
      TM_CHECK(slots[j] != slots[i], "slots[", j, "] and slots[", i, "] are both slot ", slots[i]);
  }
  check_token_ids(ids, V);
  const ConstWeights& w = m.weights();
  const int threads = static_cast<double>(m.weight_bytes()) >= kMinBytesForTeam ? num_threads() : 1;
  ensure_size(a.hidden, T * d);
  ensure_size(a.normed, threads * T * d);
  ensure_size(a.rstd, threads * T);
  ensure_size(a.logits, T * V);
  switch (c.mixer) {
    case MixerKind::mamba1: mamba1::size_for_step(c, T, a.mamba1); break;
    case MixerKind::mamba2: mamba2::size_for_step(c, T, a.mamba2); break;
  }

  embedding_forward(a.hidden.data(), ids.data(), w.embedding, T);
  parallel_team(threads, [&](const Team& team) {
    float* normed = a.normed.data() + team.thread() * T * d;
    float* rstd = a.rstd.data() + team.thread() * T;
    for (std::int64_t i = 0; i < c.n_layer; ++i) {
      rmsnorm_forward(normed, rstd, a.hidden.data(), w.norms[i], T, d, c.norm_eps);
      switch (c.mixer) {
        case MixerKind::mamba1:
          mamba1::step(team, w.mamba1[i], c, T, normed, a.hidden.data(), state.conv[i].data(), state.ssm[i].data(),
                       slots, a.mamba1);
          break;
        case MixerKind::mamba2:
          mamba2::step(team, w.mamba2[i], c, T, normed, a.hidden.data(), state.conv[i].data(), state.ssm[i].data(),
                       slots, a.mamba2);
          break;
      }
    }
    // logits = RMSNorm_f(h) · lm_headᵀ, this thread's rows of V
    rmsnorm_forward(normed, rstd, a.hidden.data(), w.norm_f, T, d, c.norm_eps);
    team.for_chunks(V, kVocabChunk, [&](std::int64_t v0, std::int64_t v1) {
      linear_rows_forward({a.logits.data(), V}, {normed, d}, w.lm_head, nullptr, T, v0, v1);
    });
  });
  ++state.tokens_seen;
}

Buffer<float> lm_forward_recurrent(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch,
                                   std::int64_t len, std::int64_t prefill, InferenceState& state, ScanAlgorithm scan,
                                   SsdAlgorithm ssd) {
  const std::int64_t V = m.config.padded_vocab();
  TM_CHECK(prefill >= 0 && prefill <= len, "prefill = ", prefill, " must be in [0, ", len, "] (the sequence length)");
  TM_CHECK(static_cast<std::int64_t>(ids.size()) == batch * len, "input ids: expected ", batch * len, " ids");
  Buffer<float> logits(static_cast<std::size_t>(batch * len * V));
  if (prefill > 0) {
    Activations acts;
    std::vector<std::int32_t> head(static_cast<std::size_t>(batch * prefill));
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(ids.begin() + b * len, prefill, head.begin() + b * prefill);
    lm_forward(m, head, batch, prefill, acts, {.scan = scan, .ssd = ssd}, &state);
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(acts.logits.begin() + b * prefill * V, prefill * V, logits.begin() + b * len * V);
  }
  StepActivations step;
  std::vector<std::int32_t> column(static_cast<std::size_t>(batch));
  for (std::int64_t t = prefill; t < len; ++t) {
    for (std::int64_t b = 0; b < batch; ++b) column[b] = ids[b * len + t];
    lm_step(m, column, state, step);
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(step.logits.begin() + b * V, V, logits.begin() + (b * len + t) * V);
  }
  return logits;
}

}  // namespace tinymamba
